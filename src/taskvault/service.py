"""The service: what a session can do with its tasks. Each change runs as a unit of work (store/unit_of_work.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from .codec import Snapshot
from .domain import recovery
from .domain.tasklist import Change, TaskList
from .errors import StorageError
from .store.backups import Backup
from .store.journal_store import CaughtUp, JournalStore
from .store.salvage import SalvageReport
from .store.unit_of_work import Salvaged, UnitOfWork


@attrs.frozen
class Outcome:
    """What one change did: the change itself, its revision, and what it caught up first."""

    change: Change
    revision: int
    caught_up: tuple[Change, ...] = ()
    behind: int = 0
    #: The backup taken before the change, when one was asked for.
    backup: Backup | None = None


#: A salvage made: what was examined, the change from the base it is, the tasks now, the files kept aside.
SalvageOutcome = Salvaged


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TaskService:
    """Holds the task list of one session and changes it only through the store, one unit of work at a time."""

    def __init__(self, store: JournalStore, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        self._work = UnitOfWork(store)

    @property
    def store(self) -> JournalStore:
        return self._store

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

    def execute(self, plan: Callable[[TaskList], Change], *, backup_first: str | None = None) -> Outcome:
        """Run ``plan`` on the latest state under the store lock and commit what it returns.

        The change is appended durably first and applied to memory only afterwards; if the
        append fails, memory is exactly as it was and the StorageError propagates. With
        ``backup_first``, a verified backup of the state before the change is taken first, and
        a failure to take it leaves everything as it was.
        """
        done = self._work.change(plan, backup_first=backup_first)
        return Outcome(done.change, done.revision, done.caught.changes, done.caught.behind, done.backup)

    def backup(self, label: str) -> Backup:
        """Take a backup of the latest state now."""
        return self._work.backup(label)

    def replace_unreadable(self, snapshot: Snapshot) -> tuple[TaskList, tuple[str, ...]]:
        """Restore a backup over a store that does not load; return the tasks and the names the
        unreadable files were kept under."""
        return self._work.replace_unreadable(snapshot)

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
        return self._work.salvage(previewed, self.plan_salvage)

    def close(self) -> None:
        self._store.close()
