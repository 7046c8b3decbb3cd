"""The unit of work: one change, from the store lock to the task list in memory.

A change runs in this order, and only here: take the store lock; catch up with what other
sessions saved; plan the change on that latest state; append it durably; publish it to memory.
Nothing is published unless the append succeeded, so a failure anywhere leaves memory as the store
is: rollback is the default, and there is no step to forget.

The store's housekeeping (its policy says whether to compact, back up, rotate) is never part of a
change: a change only notes, under its own lock and from what the store holds in memory (the
journal's length, the snapshot's size, the time of the last automatic backup), whether any is due,
and ``tidy`` does it once the change has been acknowledged (the interface calls it after the output
is written), under the lock taken again. A change with nothing due takes the lock once.
In a session (``background``), the slow part of a compaction or backup, encoding a state frozen
under the lock and writing it, runs in a thread without the lock, while the session goes on
saving changes; the thread then takes the lock briefly to put it in place if the store still
continues that state. An in-process lock (``_mutex``) keeps the thread and the session's changes
apart: the store lock is an flock, which a second holder in the same process would not wait for.

The unit of work holds the session's task list. It is set, and a saved change applied to it, in
one place (_publish); the records other sessions saved are applied by the store's catch-up, inside
the lock, before the plan sees the list.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import codec
from ..domain.tasklist import Change, TaskList
from ..errors import StorageError, typed
from .port import StorePort
from .replay import CaughtUp

if TYPE_CHECKING:  # (what only backup and salvage use: their modules are those commands' cost alone)
    from ..domain import recovery
    from ..domain.progress import ProgressCallback
    from .backups import Backup
    from .encryption import Operation
    from .encryption import Outcome as EncryptionOutcome
    from .salvage import SalvageReport

@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back interrupts so that 'durable on disk' and 'applied in memory' happen together."""
    import signal  # (a change's: a command that only reads never imports it)

    #: Signals that would otherwise interrupt a change between its durable write and its publication.
    deferred = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    except (ValueError, OSError):  # not the main thread: nothing to block
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Committed:
    """What one change did: the change, its revision (the current one if it changed nothing), and the
    backup taken before it, when one was asked for. (A plain class, as commands/results.py says why.)"""

    __slots__ = ("backup", "change", "revision")

    def __init__(self, change: Change, revision: int, backup: Backup | None = None) -> None:
        self.change = change
        self.revision = revision
        self.backup = backup

    def __repr__(self) -> str:
        return f"Committed(change={self.change!r}, revision={self.revision!r}, backup={self.backup!r})"


class Salvaged:
    """A salvage made: what was examined, the change from the base it is, the tasks now, the files kept aside."""

    __slots__ = ("aside", "plan", "report", "tasks")

    def __init__(self, report: SalvageReport, plan: recovery.RestorePlan, tasks: TaskList,
                 aside: tuple[str, ...]) -> None:
        self.report = report
        self.plan = plan
        self.tasks = tasks
        self.aside = aside

    def __repr__(self) -> str:
        return (f"Salvaged(report={self.report!r}, plan={self.plan!r}, tasks={self.tasks!r}, "
                f"aside={self.aside!r})")


class UnitOfWork:
    """The task list of one session, changed only through its store."""

    def __init__(self, store: StorePort, *, upgrade_progress: ProgressCallback | None = None) -> None:
        self._store = store
        #: Told how far the upgrade of an older store has got, when the first load makes one (None: nobody watches).
        self._upgrade_progress = upgrade_progress
        self._tasks: TaskList | None = None
        #: Problems after a change was already saved (a failed compaction); the interface shows them.
        self.warnings: list[StorageError] = []
        #: How many changes each thread has saved (see ``saves``).
        self._saved = threading.local()
        #: The backup taken before this session upgraded an older store, if it did.
        self.migrated: Backup | None = None
        #: Housekeeping owed by the changes saved since the last tidy: None (none owed), or whether one of
        #: them took an automatic backup first (which rotation then counts).
        self._untidy: bool | None = None
        #: Held by whoever uses the store: this session's thread, or its housekeeping thread.
        self._mutex = threading.RLock()
        #: The housekeeping thread at work, if one is.
        self._worker: threading.Thread | None = None

    @property
    def tasks(self) -> TaskList:
        """The current task list, loaded on first use. Read it; never change it directly.

        A store of an older schema is upgraded right after it is loaded; if that cannot be done
        now (a read-only disk), it is read as it is, with a warning, and upgraded by the next change.
        """
        if self._tasks is None:
            with self._mutex:
                self._publish(self._store.load())
            if self._store.needs_migration and self._store.read_only is None:
                try:
                    with self._caught_up() as caught:
                        if self._store.needs_migration:
                            self.migrated = self._store.migrate(caught.tasks, self._upgrade_progress)
                except StorageError as exc:
                    self.warnings.append(exc)
        assert self._tasks is not None
        return self._tasks

    @property
    def loaded(self) -> bool:
        return self._tasks is not None

    @property
    def saves(self) -> int:
        """How many changes this session has saved in the calling thread (catching up with others does
        not count): a session's commands run in one thread; the resident process runs each in its own,
        so that a command never takes another's save for its own."""
        return getattr(self._saved, "count", 0)

    def _count_save(self) -> None:
        self._saved.count = self.saves + 1

    @property
    def current(self) -> TaskList | None:
        """The task list if one was loaded, else None: a look that neither loads nor raises."""
        return self._tasks

    def refresh(self) -> CaughtUp | None:
        """Bring a loaded task list up to date with other sessions; None if nothing was loaded yet."""
        if self._tasks is None:
            return None
        with self._mutex:
            caught = self._store.refresh(self._tasks)
            self._publish(caught.tasks)
        return caught

    @contextmanager
    def _caught_up(self) -> Iterator[CaughtUp]:
        """Hold the store lock, with the task list caught up with what other sessions saved."""
        tasks = self.tasks
        with self._mutex, self._store.locked():
            caught = self._store.catch_up(tasks)
            self._publish(caught.tasks)
            yield caught

    @contextmanager
    def reading(self) -> Iterator[TaskList]:
        """The latest tasks, held still: under the store lock, caught up with what other sessions saved (for a
        read that must see one state, such as sync numbering the changes it ships). Change nothing in it."""
        with self._caught_up() as caught:
            yield caught.tasks

    def change(self, plan: Callable[[TaskList], Change], *, backup_first: str | None = None,
               progress: ProgressCallback | None = None) -> Committed:
        """Run ``plan`` on the latest state under the store lock and commit what it returns.

        The change is appended durably first and applied to memory only afterwards; if the
        append fails, memory is exactly as it was and the StorageError propagates. With
        ``backup_first``, a verified backup of the state before the change is taken first, and
        a failure to take it leaves everything as it was; ``progress`` is told how far that backup got.
        """
        with self._caught_up() as caught:
            tasks = caught.tasks
            change = plan(tasks)
            if change.is_empty:
                return Committed(change, tasks.revision)
            self._store.check_writable()
            backup = self._store.backup(tasks, backup_first, progress) if backup_first is not None else None
            with _signals_deferred():
                revision, at = self._store.append(tasks, change)
                self._publish(tasks, (change, revision, at))
                self._count_save()
            # What is due is decided here, under the change's own lock, from what the store holds in memory:
            # a change with nothing due costs one lock round, and tidy takes the lock again only for work.
            automatic = backup is not None and backup.automatic
            if automatic or self._untidy is not None or self._store.housekeeping_due(tasks):
                self._untidy = bool(self._untidy) or automatic
        return Committed(change, revision, backup)

    @property
    def untidy(self) -> bool:
        """True when a change saved since the last tidy found compaction, a backup or rotation (perhaps) due."""
        return self._untidy is not None

    def tidy(self, *, background: bool = False, progress: ProgressCallback | None = None) -> None:
        """The housekeeping the changes saved since the last call owe, once they are acknowledged.

        Nothing, without the lock, when none of them found any due. Otherwise takes the store lock again
        and catches up first (another session may have saved or compacted
        since). Its failures are warnings, never errors: every change it follows is already durable.
        ``background`` (a session): a compaction or backup due is encoded and written by a thread,
        and this returns at once; while one is at work, what is owed waits for the next call. ``progress``
        (not in the background): told how far a compaction due has got.
        """
        if self._untidy is None or self._tasks is None:
            return
        with self._mutex:  # (the resident process's commands call this from threads of their own)
            if self._untidy is None or (self._worker is not None and self._worker.is_alive()):
                return
            backed_up, self._untidy = self._untidy, None
            self._tidy(background, backed_up, progress)

    def _tidy(self, background: bool, backed_up: bool, progress: ProgressCallback | None) -> None:
        try:
            with self._caught_up() as caught:
                if background and self._store.read_only is None and self._begin_in_background(caught.tasks,
                                                                                             backed_up):
                    return
                self.warnings += self._store.housekeeping.after_change(self._store, caught.tasks,
                                                                       backed_up=backed_up, progress=progress)
        except StorageError as exc:
            self.warnings.append(exc)

    def _begin_in_background(self, tasks: TaskList, backed_up: bool) -> bool:
        """Start a thread on the compaction or backup due, if one is and this store can; True if one started."""
        store = self._store
        freeze = getattr(store, "freeze_for_compaction", None)  # a store with files: JournalStore
        if freeze is None:
            return False
        compacting = store.compaction_due()
        if not compacting and not store.backup_due(tasks):
            return False
        frozen = freeze(tasks)
        if frozen is None:
            return False
        self._worker = threading.Thread(target=self._housekeep, args=(frozen, compacting, backed_up),
                                        name="taskvault housekeeping")
        self._worker.start()
        return True

    def _housekeep(self, frozen: object, compacting: bool, backed_up: bool) -> None:
        """The housekeeping thread: prepare without the lock, then put in place under it, then rotate.

        Whatever goes wrong is a warning the session shows after its next command: every change is
        durable in the journal already, and what was not put in place is owed again.
        """
        store: Any = self._store
        prepared = None
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, 0.0005))  # hand the session the interpreter often while encoding
        try:
            try:
                prepared = store.prepare_compaction(frozen, snapshot=compacting)
            finally:
                sys.setswitchinterval(interval)
            with self._mutex, store.locked():
                done = store.install_compaction(prepared) if compacting else bool(
                    store.install_backup(prepared, "hourly"))
                if not done:  # the store moved on meanwhile: owed again, for the next tidy to look at
                    self._untidy = bool(self._untidy) or backed_up
                if done or backed_up:
                    store.rotate_backups()
        except StorageError as exc:
            self.warnings.append(exc)
        except Exception as exc:  # noqa: BLE001 (a thread's failure must reach the user as a warning, not a traceback)
            what = "compact the journal" if compacting else "take the hourly backup"
            self.warnings.append(StorageError(f"could not {what}: {getattr(exc, 'strerror', None) or exc} — "
                                              "your changes are saved, in the journal"))
        finally:
            if prepared is not None:
                store.unprepare(prepared)  # what was never put in place: a leftover no one needs

    def finish(self) -> None:
        """Wait for the housekeeping thread, if one is at work (before the store is closed)."""
        worker = self._worker
        if worker is not None:
            worker.join()

    def change_encryption(self, operation: Operation, keyring: bool | None) -> EncryptionOutcome:
        """Encrypt, decrypt or rekey the store, or make it a new encrypted one: one durable change
        (store/encryption.py), under the lock, on the latest state. The tasks stay as they are. What it asks
        (passphrases) is asked first, without the lock and with Ctrl-C working."""
        self.tasks  # noqa: B018 (loaded: its key, if it has one, is what the passphrases are checked against)
        planned = self._store.plan_encryption(operation, keyring)
        with self._caught_up() as caught, _signals_deferred():
            outcome = self._store.change_encryption(caught.tasks, planned)
            if outcome.backup is not None or operation == "init":
                self._count_save()
            return outcome

    def backup(self, label: str) -> Backup:
        """Take a backup of the latest state now."""
        with self._caught_up() as caught:
            return self._store.backup(caught.tasks, label)

    def replace_unreadable(self, snapshot: codec.Snapshot,
                           progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Restore a backup over a store that does not load; return the tasks and the names the
        unreadable files were kept under. ``progress``: told how far writing the new snapshot got."""
        with self._mutex, self._store.locked():
            tasks, aside = self._store.replace_unreadable(snapshot, progress)
            self._publish(tasks)
            self._count_save()  # the store was written: a failure after this must not say nothing was saved
        return tasks, aside

    def salvage(self, previewed: SalvageReport, plan_for: Callable[[SalvageReport], recovery.RestorePlan],
                progress: ProgressCallback | None = None) -> Salvaged | TaskList:
        """Salvage the store under the lock, if it recovers what ``previewed`` showed; the tasks if it loads now.

        Raises StorageError, changing nothing, when another session changed the store since the
        preview: the user agreed to that outcome, not to another one. ``progress``: told (0, None) as the
        files are read again, then how far writing the salvaged snapshot got.
        """
        if progress is not None:
            progress(0, None)
        with self._mutex, self._store.locked():
            found = self._store.salvage_report()
            if isinstance(found, TaskList):
                return found
            if not found.same_outcome(previewed):
                raise StorageError("the store changed while salvage was being decided — nothing was changed",
                                   hint=f"run '{typed('salvage')}' again to see what it recovers now")
            plan = plan_for(found)
            with _signals_deferred():
                tasks, aside = self._store.replace_with_salvage(found, plan.change, progress)
                self._publish(tasks)
                self._count_save()
        return Salvaged(found, plan, tasks, aside)

    def _publish(self, tasks: TaskList, saved: tuple[Change, int, dt.datetime] | None = None) -> None:
        """Make ``tasks`` the session's task list, with ``saved`` (a change now durable, its revision and
        time) applied: the one place the list in memory is set or changed by this session."""
        if saved is not None:
            change, revision, at = saved
            tasks.apply(change, revision, at)
        self._tasks = tasks
