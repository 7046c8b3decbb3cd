"""The service and the command handlers, in-process, against the in-memory store (tests/memory_store.py).

No files, no fsync, no subprocesses: each test builds a TaskService over a MemoryStore and runs
command lines through the handlers (commands/dispatch.py), as the interface does, then looks at the
results, the service's task list and what the store saved. The fake keeps the real store's promises
(tests/test_store_contract.py), so what holds here is the service's own doing.
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
from collections.abc import Callable

import pytest

from taskvault.commands.context import Context
from taskvault.commands.dispatch import run_tokens
from taskvault.commands.results import BackupTaken, Declined, Restored, Reverted, TaskSaved, TasksChanged
from taskvault.domain.change import ChangeKind
from taskvault.domain.task import Status
from taskvault.domain.tasklist import Change
from taskvault.errors import InvalidValue, SaveFailed, TaskNotFound
from taskvault.service import TaskService
from taskvault.store.housekeeping import Housekeeping

from .memory_store import MemoryDisk, MemoryStore


def ticking(start: dt.datetime = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
            step: dt.timedelta = dt.timedelta(minutes=1)) -> Callable[[], dt.datetime]:
    """A clock that moves on by ``step`` each time it is read."""
    moments = itertools.count()
    return lambda: start + next(moments) * step


class Session:
    """A service over one handle on ``disk``, and a way to run command lines through the handlers."""

    def __init__(self, disk: MemoryDisk, *, confirm: Callable[[str], bool] | None = None,
                 housekeeping: Housekeeping | None = None) -> None:
        clock = ticking()
        self.store = MemoryStore(disk, clock=clock, housekeeping=housekeeping)
        self.service = TaskService(self.store, clock=clock)
        self.ctx = Context(self.service, confirm)

    def __call__(self, line: str) -> object:
        return run_tokens(self.ctx, line.split())

    def titles(self) -> dict[int, str]:
        return {t.id: t.title for t in self.service.tasks}


@pytest.fixture
def disk() -> MemoryDisk:
    return MemoryDisk()


@pytest.fixture
def session(disk: MemoryDisk) -> Session:
    return Session(disk)


def test_add_saves_one_change_and_shows_it_in_memory(session: Session, disk: MemoryDisk) -> None:
    result = session("add Buy milk --tag home --priority high")
    assert isinstance(result, TaskSaved) and result.verb == "added"
    assert (result.task.id, result.task.title, result.task.tags) == (1, "Buy milk", ("home",))
    assert session.service.tasks.get(1) == result.task
    assert [(change.put, revision) for change, revision, _ in disk.records] == [((result.task,), 1)]
    assert (session.service.saves, session.service.tasks.revision) == (1, 1)


def test_edit_changes_the_task_and_an_edit_to_the_same_value_saves_nothing(session: Session,
                                                                           disk: MemoryDisk) -> None:
    session("add Draft")
    edited = session("edit 1 --title Final --note checked")
    assert isinstance(edited, TaskSaved) and edited.changed
    assert (edited.task.title, edited.task.note) == ("Final", "checked")
    same = session("edit 1 --title Final")
    assert isinstance(same, TaskSaved) and not same.changed
    assert len(disk.records) == 2 and session.service.saves == 2


def test_done_marks_the_task_done_and_says_which_were_done_already(session: Session) -> None:
    session("add One")
    session("add Two")
    first = session("done 1")
    assert isinstance(first, TasksChanged) and [t.id for t in first.changed] == [1]
    again = session("done 1 2")
    assert isinstance(again, TasksChanged)
    assert ([t.id for t in again.changed], [t.id for t in again.unchanged]) == ([2], [1])
    assert {t.status for t in session.service.tasks} == {Status.DONE}


def test_a_bulk_change_is_one_revision(session: Session, disk: MemoryDisk) -> None:
    for title in ("One", "Two", "Three"):
        session(f"add {title}")
    result = session("done 1 2 3")
    assert isinstance(result, TasksChanged) and len(result.changed) == 3
    assert session.service.tasks.revision == 4 and len(disk.records) == 4


def test_delete_asks_first_for_several_and_ids_are_never_handed_out_again(disk: MemoryDisk) -> None:
    questions: list[str] = []

    def refuse(question: str) -> bool:
        questions.append(question)
        return False

    session = Session(disk, confirm=refuse)
    session("add One")
    session("add Two")
    declined = session("delete 1 2")
    assert isinstance(declined, Declined) and questions == ["Delete 2 tasks (1 One, 2 Two)?"]
    assert len(disk.records) == 2
    deleted = session("delete 2")
    assert isinstance(deleted, TasksChanged) and [t.title for t in deleted.changed] == ["Two"]
    added = session("add Three")
    assert isinstance(added, TaskSaved) and added.task.id == 3
    assert session.titles() == {1: "One", 3: "Three"}


def test_undo_brings_back_a_deleted_task_under_its_own_id(session: Session) -> None:
    session("add Keep")
    session("delete 1")
    result = session("undo")
    assert isinstance(result, Reverted) and not result.dry_run
    assert session.titles() == {1: "Keep"}
    assert session.service.tasks.revision == 3
    with pytest.raises(TaskNotFound):
        session("show 2")


def test_a_failed_save_leaves_memory_and_the_store_as_they_were(session: Session, disk: MemoryDisk) -> None:
    session("add Kept")
    before, saves = session.service.tasks.snapshot(), session.service.saves
    disk.fail_appends, disk.fail_errno = 1, errno.ENOSPC
    with pytest.raises(SaveFailed, match="No space left on device — nothing was changed"):
        session("add Lost")
    assert session.service.tasks.snapshot() == before and session.service.saves == saves
    assert len(disk.records) == 1 and Session(disk).service.tasks.snapshot() == before
    retried = session("add Next")
    assert isinstance(retried, TaskSaved) and retried.task.id == 2  # the failed add used no id


def test_a_change_the_store_refuses_leaves_everything_as_it_was(session: Session, disk: MemoryDisk) -> None:
    session("add Only")
    before = session.service.tasks.snapshot()
    with pytest.raises(InvalidValue):
        session.service.execute(lambda tasks: Change(ChangeKind.DELETE, delete=(7,), next_id=tasks.next_id))
    assert session.service.tasks.snapshot() == before and len(disk.records) == 1


def test_an_empty_change_saves_nothing(session: Session, disk: MemoryDisk) -> None:
    session("add One")
    outcome = session.service.execute(lambda tasks: Change(ChangeKind.EDIT, next_id=tasks.next_id))
    assert (outcome.revision, len(disk.records), session.service.saves) == (1, 1, 1)


def test_a_change_is_planned_on_what_another_session_saved(disk: MemoryDisk) -> None:
    mine, theirs = Session(disk), Session(disk)
    mine("add Mine")
    theirs("add Theirs")  # loaded after mine was saved
    mine("add Mine again")  # plans on the latest state: id 3, not 2
    assert mine.titles() == {1: "Mine", 2: "Theirs", 3: "Mine again"}
    caught = theirs.service.refresh()
    assert caught is not None and caught.behind == 1 and [c.put[0].title for c in caught.changes] == ["Mine again"]
    assert theirs.titles() == mine.titles()


def test_refresh_before_anything_is_loaded_loads_nothing(session: Session) -> None:
    assert session.service.refresh() is None and not session.service.loaded


def test_a_backup_first_is_taken_of_the_state_before_the_change(session: Session) -> None:
    session("add One")
    taken = session("backup before")
    assert isinstance(taken, BackupTaken) and taken.backup.label == "before"
    session("add Two")
    restored = session("restore before --yes")
    assert isinstance(restored, Restored) and restored.kept is not None and restored.kept.label == "restore"
    assert session.titles() == {1: "One"}
    assert [b.label for b in session.service.backups()] == ["restore", "before"]
    assert session.service.read_backup(restored.kept).revision == 2


def test_housekeeping_runs_once_a_change_is_acknowledged_never_inside_it(disk: MemoryDisk) -> None:
    """A change returns with its housekeeping owed, not done; tidy (which the interface calls once the change's
    output is written) does it, once for however many changes came before."""
    session = Session(disk, housekeeping=Housekeeping(backup_interval=dt.timedelta(0)))
    session("add One")
    assert session.service.backups() == [], "no backup inside the change"
    session.service.tidy()
    session("add Two")
    session("add Three")
    session.service.tidy()
    session.service.tidy()  # nothing owed: nothing done
    hourly = [b for b in session.service.backups() if b.label == "hourly"]
    assert [b.revision for b in hourly] == [3, 1] and session.service.warnings == []
