"""What a session can do with its tasks; each change runs as one unit of work (store/unit_of_work.py).

The service is the interface's one door to the store: cli/ and commands/ import this module (and the
domain and errors) and nothing below it. What they need from below, a backup, a salvage report, the
JSON form of a task, is named here (see ``__all__``); taskvault/bootstrap.py builds the store behind it.
The service knows that store only as a StorePort (store/port.py), so a test can put a fake in its place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .codec import SCHEMA, FormatError, Snapshot, decode_snapshot, task_to_dict
from .domain.change import ChangeKind
from .domain.tasklist import Change, TaskList
from .errors import BackupDamaged, InvalidValue, StorageError, typed
from .store.files import kind_of
from .store.layout import BACKUPS_NAME, JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME, open_private_file
from .store.port import StorePort
from .store.replay import CaughtUp
from .store.unit_of_work import Salvaged, UnitOfWork

if TYPE_CHECKING:
    from pathlib import Path

    from .domain import recovery
    from .domain.progress import ProgressCallback
    from .domain.query import TaskQuery
    from .domain.task import Task
    from .store.backups import AUTOMATIC as AUTOMATIC_BACKUP_LABELS
    from .store.backups import ID_START as BACKUP_ID_START
    from .store.backups import LABEL as BACKUP_LABEL
    from .store.backups import Backup
    from .store.doctor import Finding
    from .store.encryption import Operation as EncryptionOperation
    from .store.encryption import Outcome as EncryptionOutcome
    from .store.housekeeping import Retention
    from .store.salvage import SalvageReport
    from .store.syncing import Syncer, SyncReport, SyncStatus

#: What the interface layers take from below, through this module only.
__all__ = [
    "AUTOMATIC_BACKUP_LABELS",
    "BACKUPS_NAME",
    "BACKUP_ID_START",
    "BACKUP_LABEL",
    "SCHEMA",
    "STORE_FILE_NAMES",
    "Backup",
    "CaughtUp",
    "EncryptionOperation",
    "Finding",
    "Outcome",
    "Retention",
    "SalvageOutcome",
    "SalvageReport",
    "Snapshot",
    "StoreFigures",
    "TaskService",
    "kind_of",
    "open_private_file",
    "peek_tasks",
    "task_to_dict",
]

#: The names of the store's own files in its directory (their temp files and the copies kept aside as unreadable
#: start with them, after a dot for a temp file): what an export may never be written over.
STORE_FILE_NAMES = (SNAPSHOT_NAME, JOURNAL_NAME, LOCK_NAME)


#: Names taken from below on first use (module, name there): backups, salvage and the doctor are the cost
#: of the commands that use them alone, not of every command's start-up.
_ON_FIRST_USE = {
    "AUTOMATIC_BACKUP_LABELS": ("backups", "AUTOMATIC"),
    "BACKUP_ID_START": ("backups", "ID_START"),
    "BACKUP_LABEL": ("backups", "LABEL"),
    "Backup": ("backups", "Backup"),
    "Retention": ("housekeeping", "Retention"),
    "SalvageReport": ("salvage", "SalvageReport"),
    "Finding": ("doctor", "Finding"),
    "EncryptionOperation": ("encryption", "Operation"),
}


def __getattr__(name: str) -> object:
    """The names of ``_ON_FIRST_USE``, imported when a command first asks for one."""
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _ON_FIRST_USE[name]
    if module == "backups":
        from .store import backups

        value = getattr(backups, attribute)
    elif module == "housekeeping":
        from .store import housekeeping

        value = getattr(housekeeping, attribute)
    elif module == "salvage":
        from .store import salvage

        value = getattr(salvage, attribute)
    else:
        from .store import doctor

        value = getattr(doctor, attribute)
    globals()[name] = value  # (asked once)
    return value


class Outcome:
    """What one change did: the change itself and its revision (a plain class: see commands/results.py)."""

    __slots__ = ("backup", "change", "revision")

    def __init__(self, change: Change, revision: int, backup: Backup | None = None) -> None:
        self.change = change
        self.revision = revision
        #: The backup taken before the change, when one was asked for.
        self.backup = backup

    def __repr__(self) -> str:
        return f"Outcome({self.change!r}, {self.revision!r}, {self.backup!r})"


#: A salvage made: what was examined, the change from the base it is, the tasks now, the files kept aside.
SalvageOutcome = Salvaged


def peek_tasks(directory: Path) -> TaskList | None:
    """The tasks of the store in ``directory`` for shell completion: read at once, as they stand, with
    nothing written, waited for or said; None when the store is missing, busy, damaged or of another
    schema (store/peek.py)."""
    from .store.peek import peek_tasks as peek

    return peek(directory)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TaskService:
    """Holds the task list of one session and changes it only through the store, one unit of work at a time."""

    def __init__(self, store: StorePort, *, clock: Callable[[], dt.datetime] = utcnow,
                 upgrade_progress: ProgressCallback | None = None) -> None:
        """``upgrade_progress``: told how far the upgrade of an older store has got, when the first load
        makes one (the interface gives it where someone watches a terminal; the upgrade happens wherever the
        tasks are first read, so it is given here rather than to one call)."""
        self._store = store
        self._clock = clock
        self._work = UnitOfWork(store, upgrade_progress=upgrade_progress)

    @property
    def warnings(self) -> list[StorageError]:
        """Problems after a change was already saved (a failed compaction); the interface shows them."""
        return self._work.warnings

    @property
    def saves(self) -> int:
        """How many changes this session has saved (catching up with others does not count)."""
        return self._work.saves

    @property
    def migrated(self) -> Backup | None:
        """The backup taken before this session upgraded an older store, if it did."""
        return self._work.migrated

    @property
    def tasks(self) -> TaskList:
        """The current task list, loaded on first use. Read it; never change it directly.

        A store of an older schema is upgraded right after it is loaded; if that cannot be done
        now (a read-only disk), it is read as it is, with a warning, and upgraded by the next change.
        """
        return self._work.tasks

    def listed(self, query: TaskQuery) -> list[dict[str, Any]]:
        """The tasks ``query`` selects, in its order, each as the store writes it (``--json`` shows that form):
        what ``query.select(self.tasks)`` gives, with only the tasks that must be built built (codec/listing.py)."""
        from .codec.listing import listed

        return listed(query, self.tasks)

    @staticmethod
    def records(tasks: Iterable[Task]) -> list[dict[str, Any]]:
        """Each of ``tasks`` as the store writes it (the form ``listed`` gives, and ``--json`` shows)."""
        return [task_to_dict(task) for task in tasks]

    @property
    def loaded(self) -> bool:
        return self._work.loaded

    @property
    def _tasks(self) -> TaskList | None:
        """The task list if loaded, else None (the session's prompt looks without loading; see cli/repl.py)."""
        return self._work.current

    def refresh(self) -> CaughtUp | None:
        """Bring a loaded task list up to date with other sessions; None if nothing was loaded yet."""
        return self._work.refresh()

    def now(self) -> dt.datetime:
        return self._clock()

    def execute(self, plan: Callable[[TaskList], Change], *, backup_first: str | None = None,
                progress: ProgressCallback | None = None) -> Outcome:
        """Run ``plan`` on the latest state under the store lock and commit what it returns.

        The change is appended durably first and applied to memory only afterwards; if the
        append fails, memory is exactly as it was and the StorageError propagates. With
        ``backup_first``, a verified backup of the state before the change is taken first, and
        a failure to take it leaves everything as it was; ``progress`` is told how far that backup got.
        """
        done = self._work.change(plan, backup_first=backup_first, progress=progress)
        return Outcome(done.change, done.revision, done.backup)

    # -- sync (issue 22): store/syncing.py, imported only by these -------------------------------------------

    def _syncer(self, merge_fields: bool = False) -> Syncer:
        from .domain.replica import Merge
        from .store.syncing import Syncer

        encrypted = self._store.encrypted
        return Syncer(self._store.directory, self._work, encrypted=encrypted,
                      merge=Merge.FIELDS if merge_fields else Merge.NEVER, now=self._clock,
                      passphrase=self._store.confirmed_passphrase if encrypted else None)

    def sync(self, remote: str | None = None, *, merge_fields: bool = False) -> SyncReport:
        """Fetch, take in, ship and push (see store/syncing.py); ``remote`` names the remote, remembered after."""
        self.tasks  # noqa: B018 - (loaded, and an older store upgraded, before sync reads it)
        return self._syncer(merge_fields).sync(remote)

    def sync_status(self) -> SyncStatus:
        """Where sync stands: the remote, changes not yet synced, conflicts, the last sync (no network)."""
        return self._syncer().status()

    def sync_counts(self) -> tuple[int, int] | None:
        """(tasks changed here since the last sync, tasks in conflict), from memory alone (no git, no file): for
        a session's toolbar. None if the store never synced. Cheap while nothing changed since the last sync."""
        tasks = self.tasks
        replica = tasks.replica
        if replica is None:
            return None
        conflicts = len(replica.conflicts)
        if replica.clean_at == tasks.revision:
            return 0, conflicts
        from .codec.replica import fingerprint

        return len(replica.unsynced({task.uuid: task for task in tasks}, fingerprint)), conflicts

    def resolve(self, task_id: int, take: str | None, fields: dict[str, str]) -> Outcome:
        """Settle a conflicted task: the version ``take`` names, with ``fields`` taken field by field (domain/
        replica.py ``resolved``); shipped as an operation that descends from every version at the next sync."""
        from .domain.replica import ReplicaChange, resolution, resolved

        def plan(tasks: TaskList) -> Change:
            task = tasks.get(task_id)
            replica = tasks.replica
            conflict = replica.conflicted(task.uuid) if replica is not None else None
            if replica is None or conflict is None:
                raise InvalidValue(f"task {task_id} is not in conflict",
                                   hint=f"'{typed('sync --status')}' lists the tasks that are")
            chosen = resolved(conflict, take, fields)
            record = resolution(replica, task.uuid)
            change = ReplicaChange(replica.device, replica.seq, replica.frontier, {task.uuid: record})
            if chosen is None:
                return Change(ChangeKind.RESOLVE, delete=(task.id,), next_id=tasks.next_id, replica=change)
            import attrs

            return Change(ChangeKind.RESOLVE, put=(attrs.evolve(chosen, id=task.id, updated=self._clock()),),
                          next_id=tasks.next_id, replica=change)

        return self.execute(plan)

    def tidy(self, *, background: bool = False, progress: ProgressCallback | None = None) -> None:
        """Compact, back up and rotate as the store's policy says, once the changes saved are acknowledged;
        ``background`` (a session): the slow part in a thread, while the next changes are saved; else
        ``progress`` is told how far a compaction due has got."""
        self._work.tidy(background=background, progress=progress)

    @property
    def housekeeping_owed(self) -> bool:
        """True when a change saved since the last tidy found compaction or a backup (perhaps) due."""
        return self._work.untidy

    def backup(self, label: str) -> Backup:
        """Take a backup of the latest state now."""
        return self._work.backup(label)

    @property
    def encrypted(self) -> bool:
        """True once the store is known to be encrypted (it is read when it is first used)."""
        return self._store.encrypted

    def key_identity(self) -> tuple[tuple[int, int] | None, object]:
        """(device, inode) of the snapshot now and how its key is kept (None: plain): the resident process
        compares it before each command, so that it ends once the store's key or passphrase changed."""
        return self._store.key_identity()

    def change_encryption(self, operation: EncryptionOperation, keyring: bool | None = None) -> EncryptionOutcome:
        """``init`` (a new store, encrypted), ``encrypt``, ``decrypt`` or ``rekey``: one durable change each,
        with a backup first (docs/encryption.md). ``keyring``: keep the key in the OS keyring too, or not
        (None: as it is). The passphrases are asked through the store's PassphraseSource."""
        return self._work.change_encryption(operation, keyring)

    def replace_unreadable(self, snapshot: Snapshot,
                           progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Restore a backup over a store that does not load; return the tasks and the names the
        unreadable files were kept under. ``progress``: how far writing the restored snapshot got."""
        return self._work.replace_unreadable(snapshot, progress)

    def snapshot_change(self) -> str | None:
        """How the snapshot file differs from the one this session last read or wrote: None, "replaced"
        (another file in its place) or "changed" (in place, or removed). The resident process asks before
        each command: see file_stamps."""
        return self._store.snapshot_change()

    def file_stamps(self) -> tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]:
        """(device, inode, size, modification time) of the snapshot and the journal now (None: absent): the
        resident process compares them before each command, so that a file another hand changed in place
        or removed is read again (by a command in its own process) rather than trusted from memory."""
        return self._store.file_stamps()

    def store_files(self) -> tuple[str, ...]:
        """The names of the store's files that are there (what a restore or salvage keeps aside)."""
        return self._store.present_files()

    def salvage_preview(self, progress: ProgressCallback | None = None) -> SalvageReport | TaskList:
        """What 'salvage' would recover now, read as a reader does; the tasks instead if the store loads.
        ``progress``: how far decoding the damaged snapshot got."""
        return self._store.salvage_report(progress)

    @staticmethod
    def plan_salvage(report: SalvageReport) -> recovery.RestorePlan:
        """The one change a salvage is: from the base (the newest good backup, or empty) to what it recovers."""
        from .domain import recovery  # (salvage's alone)

        return recovery.plan_salvage(report.base, report.tasks, report.fresh_next_id)

    def salvage(self, previewed: SalvageReport, progress: ProgressCallback | None = None) -> SalvageOutcome | TaskList:
        """Salvage the store under the lock, if it recovers what ``previewed`` showed; the tasks if it loads now.

        Raises StorageError, changing nothing, when another session changed the store since the
        preview: the user agreed to that outcome, not to another one. ``progress``: how far writing
        the salvaged snapshot got.
        """
        return self._work.salvage(previewed, self.plan_salvage, progress)

    def close(self) -> None:
        self._work.finish()  # a compaction or backup at work in the background goes in first
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

    def read_backup(self, backup: Backup, progress: ProgressCallback | None = None) -> Snapshot:
        """Read and check a backup in full before anything is done with it; BackupDamaged if it does not pass.
        ``progress``: how far decoding its tasks got."""
        try:
            return decode_snapshot(self._store.backups.read(backup), progress)
        except (FormatError, InvalidValue) as exc:
            raise BackupDamaged(f"the backup {backup.id} is damaged: {exc}",
                                hint=f"nothing was changed; pick another with '{typed('backups')}'") from None

    def examine(self) -> list[Finding]:
        """What the doctor finds: the store, journal, backups, permissions, disk space, lock and temp files."""
        return self._store.examine()

    def figures(self) -> StoreFigures:
        """The store's sizes and timings, for stats (the task list itself is ``tasks``)."""
        shelf = self._store.backups.list()
        files = {b.inode or str(b.path): b.size for b in shelf}  # backups of one snapshot share a file
        snapshot_bytes, journal_bytes = self._store.file_sizes()
        return StoreFigures(str(self._store.directory), SCHEMA, snapshot_bytes, journal_bytes,
                            self._store.journal_records, len(shelf), sum(files.values()),
                            self._store.last_load_seconds, self._store.last_save_seconds)


class StoreFigures:
    """What stats shows of the store beside its tasks."""

    __slots__ = ("backup_bytes", "backup_count", "directory", "journal_bytes", "journal_records", "load_seconds",
                 "save_seconds", "schema", "snapshot_bytes")

    def __init__(self, directory: str, schema: int, snapshot_bytes: int, journal_bytes: int, journal_records: int,
                 backup_count: int, backup_bytes: int, load_seconds: float | None, save_seconds: float | None) -> None:
        self.directory = directory
        self.schema = schema
        self.snapshot_bytes = snapshot_bytes
        self.journal_bytes = journal_bytes
        self.journal_records = journal_records
        self.backup_count = backup_count
        self.backup_bytes = backup_bytes
        self.load_seconds = load_seconds
        self.save_seconds = save_seconds
