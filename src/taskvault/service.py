"""The unit of work: plan a change on the latest state, make it durable, then publish it."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs

from .domain.tasklist import Change, TaskList
from .errors import StorageError
from .store.journal_store import CaughtUp, JournalStore

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
    """What one change did: the change itself, its revision, and what it caught up first."""

    change: Change
    revision: int
    caught_up: tuple[Change, ...] = ()
    behind: int = 0


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

    @property
    def store(self) -> JournalStore:
        return self._store

    @property
    def tasks(self) -> TaskList:
        """The current task list, loaded on first use. Read it; never change it directly."""
        if self._tasks is None:
            self._tasks = self._store.load()
        return self._tasks

    def refresh(self) -> CaughtUp | None:
        """Bring a loaded task list up to date with other sessions; None if nothing was loaded yet."""
        if self._tasks is None:
            return None
        caught = self._store.refresh(self._tasks)
        self._tasks = caught.tasks
        return caught

    def now(self) -> dt.datetime:
        return self._clock()

    def execute(self, plan: Callable[[TaskList], Change]) -> Outcome:
        """Run ``plan`` on the latest state under the store lock and commit what it returns.

        The change is appended durably first and applied to memory only afterwards; if the
        append fails, memory is exactly as it was and the StorageError propagates.
        """
        tasks = self.tasks
        with self._store.locked():
            caught = self._store.catch_up(tasks)
            self._tasks = tasks = caught.tasks
            change = plan(tasks)
            if change.is_empty:
                return Outcome(change, tasks.revision, caught.changes, caught.behind)
            with _signals_deferred():
                revision = self._store.append(tasks, change)
                tasks.apply(change, revision)
                self.saves += 1
            if self._store.compaction_due():
                try:
                    self._store.compact(tasks)
                except StorageError as exc:
                    self.warnings.append(exc)
        return Outcome(change, revision, caught.changes, caught.behind)

    def close(self) -> None:
        self._store.close()
