"""The unit of work: plan a change on the latest state, make it durable, then publish it.

The service is the interface's one door to the store: cli/ and commands/ import this module (and the
domain and errors) and nothing below it. What they need from below, a backup, a salvage report, the
JSON form of a task, is named here (see ``__all__``); taskvault/bootstrap.py builds the store behind it.
"""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs

from .codec import SCHEMA, FormatError, Snapshot, decode_snapshot, task_to_dict
from .domain import recovery
from .domain.tasklist import Change, TaskList
from .errors import BackupDamaged, InvalidValue, StorageError, typed
from .store.backups import AUTOMATIC as AUTOMATIC_BACKUP_LABELS
from .store.backups import ID_START as BACKUP_ID_START
from .store.backups import LABEL as BACKUP_LABEL
from .store.backups import Backup, Retention
from .store.files import kind_of
from .store.journal_store import CaughtUp, JournalStore
from .store.layout import open_private_file
from .store.salvage import SalvageReport

if TYPE_CHECKING:
    from .store.doctor import Finding

#: What the interface layers take from below, through this module only.
__all__ = ["AUTOMATIC_BACKUP_LABELS", "BACKUP_ID_START", "BACKUP_LABEL", "SCHEMA", "Backup", "CaughtUp", "Finding",
           "Outcome", "Retention", "SalvageOutcome", "SalvageReport", "Snapshot", "StoreFigures", "TaskService",
           "kind_of", "open_private_file", "task_to_dict"]


def __getattr__(name: str) -> object:
    """``Finding`` on first use: the doctor's module is the doctor command's cost alone."""
    if name == "Finding":
        from .store.doctor import Finding

        return Finding
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Signals that would otherwise interrupt a change between its durable write and its publication.
_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back interrupts so that 'durable on disk' and 'applied in memory' happen together."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    except (ValueError, OSError):  # not the main thread: nothing to block
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@attrs.frozen
class Outcome:
    """What one change did: the change itself and its revision."""

    change: Change
    revision: int
    #: The backup taken before the change, when one was asked for.
    backup: Backup | None = None


@attrs.frozen
class SalvageOutcome:
    """A salvage made: what was examined, the change from the base it is, the tasks now, the files kept aside."""

    report: SalvageReport
    plan: recovery.RestorePlan
    tasks: TaskList
    aside: tuple[str, ...]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TaskService:
    """Holds the task list of one session and changes it only through the store."""

    def __init__(self, store: JournalStore, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        self._tasks: TaskList | None = None
        #: Problems after a change was already saved (a failed compaction); the interface shows them.
        self.warnings: list[StorageError] = []
        #: How many changes this session has saved (catching up with others does not count).
        self.saves = 0
        #: The backup taken before this session upgraded an older store, if it did.
        self.migrated: Backup | None = None

    @property
    def tasks(self) -> TaskList:
        """The current task list, loaded on first use. Read it; never change it directly.

        A store of an older schema is upgraded right after it is loaded; if that cannot be done
        now (a read-only disk), it is read as it is, with a warning, and upgraded by the next change.
        """
        if self._tasks is None:
            self._tasks = self._store.load()
            if self._store.needs_migration and self._store.read_only is None:
                try:
                    with self._store.locked():
                        self._tasks = tasks = self._store.catch_up(self._tasks).tasks
                        if self._store.needs_migration:
                            self.migrated = self._store.migrate(tasks)
                except StorageError as exc:
                    self.warnings.append(exc)
        return self._tasks

    @property
    def loaded(self) -> bool:
        return self._tasks is not None

    def refresh(self) -> CaughtUp | None:
        """Bring a loaded task list up to date with other sessions; None if nothing was loaded yet."""
        if self._tasks is None:
            return None
        caught = self._store.refresh(self._tasks)
        self._tasks = caught.tasks
        return caught

    def now(self) -> dt.datetime:
        return self._clock()

    def execute(self, plan: Callable[[TaskList], Change], *, backup_first: str | None = None) -> Outcome:
        """Run ``plan`` on the latest state under the store lock and commit what it returns.

        The change is appended durably first and applied to memory only afterwards; if the
        append fails, memory is exactly as it was and the StorageError propagates. With
        ``backup_first``, a verified backup of the state before the change is taken first, and
        a failure to take it leaves everything as it was.
        """
        tasks = self.tasks
        with self._store.locked():
            caught = self._store.catch_up(tasks)
            self._tasks = tasks = caught.tasks
            change = plan(tasks)
            if change.is_empty:
                return Outcome(change, tasks.revision)
            self._store.check_writable()
            backup = self._store.backup(tasks, backup_first) if backup_first is not None else None
            with _signals_deferred():
                revision, at = self._store.append(tasks, change)
                tasks.apply(change, revision, at)
                self.saves += 1
            self._after_change(tasks)
        return Outcome(change, revision, backup)

    def _after_change(self, tasks: TaskList) -> None:
        """Housekeeping once a change is durable and applied: its failures are warnings, never errors."""
        backed_up = False
        try:
            if self._store.compaction_due():
                backed_up = True  # compact takes a backup first, and a later step may still fail
                self._store.compact(tasks)
            elif self._store.backup_due(tasks):
                self._store.backup(tasks, "hourly")
                backed_up = True
        except StorageError as exc:
            self.warnings.append(exc)
        if backed_up:  # rotation keeps the backups bounded even when the compaction after the backup failed
            try:
                self._store.rotate_backups()
            except StorageError as exc:
                self.warnings.append(exc)

    def backup(self, label: str) -> Backup:
        """Take a backup of the latest state now."""
        tasks = self.tasks
        with self._store.locked():
            self._tasks = tasks = self._store.catch_up(tasks).tasks
            return self._store.backup(tasks, label)

    def replace_unreadable(self, snapshot: Snapshot) -> tuple[TaskList, tuple[str, ...]]:
        """Restore a backup over a store that does not load; return the tasks and the names the
        unreadable files were kept under."""
        with self._store.locked():
            self._tasks, aside = self._store.replace_unreadable(snapshot)
            self.saves += 1  # the store was written: a failure after this must not say nothing was saved
        return self._tasks, aside

    def store_files(self) -> tuple[str, ...]:
        """The names of the store's files that are there (what a restore or salvage keeps aside)."""
        return self._store.present_files()

    def salvage_preview(self) -> SalvageReport | TaskList:
        """What 'salvage' would recover now, read as a reader does; the tasks instead if the store loads."""
        return self._store.salvage_report()

    @staticmethod
    def plan_salvage(report: SalvageReport) -> recovery.RestorePlan:
        """The one change a salvage is: from the base (the newest good backup, or empty) to what it recovers."""
        return recovery.plan_salvage(report.base, report.tasks, report.fresh_next_id)

    def salvage(self, previewed: SalvageReport) -> SalvageOutcome | TaskList:
        """Salvage the store under the lock, if it recovers what ``previewed`` showed; the tasks if it loads now.

        Raises StorageError, changing nothing, when another session changed the store since the
        preview: the user agreed to that outcome, not to another one.
        """
        with self._store.locked():
            found = self._store.salvage_report()
            if isinstance(found, TaskList):
                return found
            if not found.same_outcome(previewed):
                raise StorageError("the store changed while salvage was being decided — nothing was changed",
                                   hint=f"run '{typed('salvage')}' again to see what it recovers now")
            plan = self.plan_salvage(found)
            with _signals_deferred():
                tasks, aside = self._store.replace_with_salvage(found, plan.change)
                self._tasks = tasks
                self.saves += 1
        return SalvageOutcome(found, plan, tasks, aside)

    def close(self) -> None:
        self._store.close()

    # -- what commands read of the store, through the one door -----------------------------------

    def backups(self) -> list[Backup]:
        """Every backup, newest first."""
        return self._store.backups.list()

    def backup_directory(self) -> str:
        """Where the backups are kept."""
        return str(self._store.backups.directory)

    def find_backup(self, ref: str) -> Backup:
        """A backup by id, unique id prefix, name, or ``latest``; BackupNotFound if there is none."""
        return self._store.backups.find(ref)

    def read_backup(self, backup: Backup) -> Snapshot:
        """Read and check a backup in full before anything is done with it; BackupDamaged if it does not pass."""
        try:
            return decode_snapshot(self._store.backups.read(backup))
        except (FormatError, InvalidValue) as exc:
            raise BackupDamaged(f"the backup {backup.id} is damaged: {exc}",
                                hint=f"nothing was changed; pick another with '{typed('backups')}'") from None

    def examine(self) -> list[Finding]:
        """What the doctor finds: the store, journal, backups, permissions, disk space, lock and temp files."""
        from .store import doctor  # only the doctor command needs it

        return doctor.examine(self._store)

    def figures(self) -> StoreFigures:
        """The store's sizes and timings, for stats (the task list itself is ``tasks``)."""
        shelf = self._store.backups.list()
        snapshot_bytes, journal_bytes = self._store.file_sizes()
        return StoreFigures(str(self._store.directory), SCHEMA, snapshot_bytes, journal_bytes,
                            self._store.journal_records, len(shelf), sum(b.size for b in shelf),
                            self._store.last_load_seconds, self._store.last_save_seconds)


@attrs.frozen
class StoreFigures:
    """What stats shows of the store beside its tasks."""

    directory: str
    schema: int
    snapshot_bytes: int
    journal_bytes: int
    journal_records: int
    backup_count: int
    backup_bytes: int
    load_seconds: float | None
    save_seconds: float | None
