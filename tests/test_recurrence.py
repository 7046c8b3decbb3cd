"""Recurring series: a template and its instances, each instance made exactly once (domain/recurrence.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from taskvault import codec
from taskvault.domain import operations, recovery
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.history import History
from taskvault.domain.periods import nth_due
from taskvault.domain.recurrence import instance, successors
from taskvault.domain.task import Status, Task
from taskvault.domain.tasklist import TaskList
from taskvault.errors import InvalidValue

from .conftest import TASKVAULT, Session, run_taskvault

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
JAN31 = dt.date(2027, 1, 31)


def commit(tasks: TaskList, change: Change) -> Change:
    """Apply ``change`` as the store would: checked, then as the next revision, remembered for undo."""
    tasks.ready(change)
    tasks.apply(change, tasks.revision + 1, NOW)
    return change


def add_series(tasks: TaskList, title: str = "Pay rent", due: dt.date = JAN31, recur: str = "monthly",
               until: dt.date | None = None) -> tuple[Task, Task]:
    change = commit(tasks, operations.plan_add(tasks, title, now=NOW, due=due, recur=recur, until=until,
                                               tags=("bills",), project="home", note="the landlord"))
    template, first = change.put
    return template, first


def instances(tasks: TaskList, template: Task) -> list[Task]:
    return sorted((t for t in tasks if t.parent == template.uuid), key=lambda t: t.index)


def open_instances(tasks: TaskList, template: Task) -> list[Task]:
    return [t for t in instances(tasks, template) if t.is_open]


def done(tasks: TaskList, *ids: int) -> Change:
    return commit(tasks, operations.plan_done(tasks, list(ids), now=NOW))


def delete(tasks: TaskList, *ids: int) -> Change:
    return commit(tasks, operations.plan_delete(tasks, list(ids), now=NOW))


def undo(tasks: TaskList) -> recovery.Reversal:
    reversal = recovery.plan_undo(tasks)
    commit(tasks, reversal.change)
    return reversal


def redo(tasks: TaskList) -> recovery.Reversal:
    reversal = recovery.plan_redo(tasks)
    commit(tasks, reversal.change)
    return reversal


class TestAdd:
    def test_add_makes_the_template_and_its_first_instance_in_one_change(self) -> None:
        """recur: gives a template (recurring, index 1) and instance 1 (open, same fields), ids in that order."""
        tasks = TaskList()
        change = operations.plan_add(tasks, "Pay rent", now=NOW, due=JAN31, recur="Monthly", tags=("bills",),
                                     project="home", note="the landlord", until=dt.date(2027, 12, 31))
        template, first = change.put
        assert (template.id, first.id, change.next_id) == (1, 2, 3)
        assert (template.status, template.recur, template.due, template.index) == (Status.RECURRING, "monthly", JAN31, 1)
        assert (first.status, first.parent, first.index, first.due) == (Status.OPEN, template.uuid, 1, JAN31)
        for name in ("title", "tags", "project", "note", "until", "recur", "priority"):
            assert getattr(first, name) == getattr(template, name), name

    def test_recur_without_due_is_refused_naming_the_fix(self) -> None:
        """A series needs its first due date: InvalidValue with a hint that shows due:."""
        with pytest.raises(InvalidValue) as caught:
            operations.plan_add(TaskList(), "Pay rent", now=NOW, recur="monthly")
        assert "due date" in caught.value.message and "due:" in (caught.value.hint or "")

    def test_until_before_the_first_due_is_refused(self) -> None:
        """A series that would end before it starts is refused, not made empty."""
        with pytest.raises(InvalidValue, match="before its first due date"):
            operations.plan_add(TaskList(), "Pay rent", now=NOW, due=JAN31, recur="weekly", until=dt.date(2027, 1, 1))

    def test_a_bad_period_is_refused(self) -> None:
        """A period that is not one is refused with the accepted forms."""
        with pytest.raises(InvalidValue, match="not a recurrence period"):
            operations.plan_add(TaskList(), "Pay rent", now=NOW, due=JAN31, recur="sometimes")

    def test_wait_and_scheduled_move_with_each_due_date(self) -> None:
        """An instance's wait lies as far before its due date as the template's before the first (Taskwarrior)."""
        tasks = TaskList()
        change = commit(tasks, operations.plan_add(tasks, "Rent", now=NOW, due=JAN31, recur="monthly",
                                                   wait=dt.date(2027, 1, 24), scheduled=dt.date(2027, 1, 30)))
        made = done(tasks, change.put[1].id).put[-1]
        assert (made.due, made.wait, made.scheduled) == (dt.date(2027, 2, 28), dt.date(2027, 2, 21),
                                                         dt.date(2027, 2, 27))


class TestDone:
    def test_monthly_from_january_31_does_not_drift(self) -> None:
        """Completing each instance in turn gives Feb 28, Mar 31, Apr 30: counted from the first due date."""
        tasks = TaskList()
        template, current = add_series(tasks)
        dues = [current.due]
        for _ in range(3):
            current = done(tasks, current.id).put[-1]
            dues.append(current.due)
        assert dues == [JAN31, dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30)]
        assert tasks.get(template.id).index == 4
        assert [t.index for t in open_instances(tasks, template)] == [4]

    def test_the_next_instance_is_made_in_the_same_change_with_the_next_id(self) -> None:
        """One change: the instance done, the template counting one more, the new instance with next_id."""
        tasks = TaskList()
        template, first = add_series(tasks)
        tasks_before = tasks.next_id
        change = done(tasks, first.id)
        finished, advanced, made = change.put
        assert (finished.id, finished.status) == (first.id, Status.DONE)
        assert (advanced.id, advanced.index) == (template.id, 2)
        assert (made.id, made.index, made.parent, change.next_id) == (tasks_before, 2, template.uuid, tasks_before + 1)

    def test_until_stops_the_series(self) -> None:
        """No instance is due after until: completing the last one makes nothing and leaves the template as it is."""
        tasks = TaskList()
        template, current = add_series(tasks, until=dt.date(2027, 3, 31))
        current = done(tasks, current.id).put[-1]
        current = done(tasks, current.id).put[-1]
        assert current.due == dt.date(2027, 3, 31)
        change = done(tasks, current.id)
        assert [t.id for t in change.put] == [current.id]
        assert open_instances(tasks, template) == [] and tasks.get(template.id).index == 3

    def test_done_twice_in_a_row_makes_one_instance(self) -> None:
        """The second done of the same instance finds it done: nothing changes, no second instance."""
        tasks = TaskList()
        template, first = add_series(tasks)
        done(tasks, first.id)
        again = done(tasks, first.id)
        assert again.is_empty
        assert [t.index for t in instances(tasks, template)] == [1, 2]

    def test_done_of_an_older_instance_makes_nothing(self) -> None:
        """An instance that is not the newest (reopened, then done again) makes no instance."""
        tasks = TaskList()
        template, first = add_series(tasks)
        done(tasks, first.id)
        commit(tasks, operations.plan_reopen(tasks, [first.id], now=NOW))
        change = done(tasks, first.id)
        assert [t.id for t in change.put] == [first.id]
        assert [t.index for t in instances(tasks, template)] == [1, 2]

    def test_several_instances_of_one_series_in_one_command_make_one(self) -> None:
        """Completing an old and the newest instance together makes one next instance."""
        tasks = TaskList()
        template, first = add_series(tasks)
        second = done(tasks, first.id).put[-1]
        commit(tasks, operations.plan_reopen(tasks, [first.id], now=NOW))
        change = done(tasks, first.id, second.id)
        assert sum(1 for t in change.put if t.parent == template.uuid and t.is_open) == 1
        assert [t.index for t in open_instances(tasks, template)] == [3]

    def test_two_series_in_one_command_each_go_on(self) -> None:
        """Each series is decided on its own."""
        tasks = TaskList()
        rent, rent1 = add_series(tasks)
        bins, bins1 = add_series(tasks, "Bins out", recur="weekly")
        done(tasks, rent1.id, bins1.id)
        assert [t.due for t in open_instances(tasks, rent)] == [dt.date(2027, 2, 28)]
        assert [t.due for t in open_instances(tasks, bins)] == [dt.date(2027, 2, 7)]

    def test_reopening_an_instance_makes_nothing(self) -> None:
        """reopen puts back the instance alone."""
        tasks = TaskList()
        _template, first = add_series(tasks)
        done(tasks, first.id)
        change = commit(tasks, operations.plan_reopen(tasks, [first.id], now=NOW))
        assert [t.id for t in change.put] == [first.id]

    def test_done_and_edit_of_a_template_are_refused(self) -> None:
        """A template is not a task to do, and changing it would not reach its open instance."""
        tasks = TaskList()
        template, _ = add_series(tasks)
        with pytest.raises(InvalidValue, match="template of a recurring series"):
            operations.plan_done(tasks, [template.id], now=NOW)
        with pytest.raises(InvalidValue, match="template of a recurring series"):
            operations.plan_edit(tasks, template.id, operations.TaskEdit(title="x"), now=NOW)
        with pytest.raises(InvalidValue, match="template of a recurring series"):
            operations.plan_modify(tasks, [template.id], operations.TaskEdit(title="x"), now=NOW)

    def test_the_series_ends_at_the_end_of_the_calendar(self) -> None:
        """An instance that would be due after 9999-12-31 is not made; the one before is still completed."""
        tasks = TaskList()
        _template, first = add_series(tasks, due=dt.date(9999, 12, 1), recur="monthly")
        change = done(tasks, first.id)
        assert [t.id for t in change.put] == [first.id]


class TestDelete:
    def test_deleting_the_newest_instance_makes_the_next(self) -> None:
        """A deleted instance is skipped, not the series: the next one is made in the delete's change."""
        tasks = TaskList()
        template, first = add_series(tasks)
        change = delete(tasks, first.id)
        assert change.delete == (first.id,)
        assert [(t.index, t.due) for t in open_instances(tasks, template)] == [(2, dt.date(2027, 2, 28))]

    def test_deleting_the_template_ends_the_series(self) -> None:
        """The open instance stays; completing or deleting it makes nothing more."""
        tasks = TaskList()
        template, first = add_series(tasks)
        delete(tasks, template.id)
        assert tasks.get(first.id).is_open
        change = done(tasks, first.id)
        assert [t.id for t in change.put] == [first.id] and change.next_id == tasks.next_id

    def test_deleting_template_and_instance_together_makes_nothing(self) -> None:
        """The template deleted in the same change cannot make an instance."""
        tasks = TaskList()
        template, first = add_series(tasks)
        change = delete(tasks, template.id, first.id)
        assert change.put == () and len(tasks) == 0

    def test_deleting_an_older_done_instance_makes_nothing(self) -> None:
        """Only the newest instance's end makes the next."""
        tasks = TaskList()
        _template, first = add_series(tasks)
        done(tasks, first.id)
        change = delete(tasks, first.id)
        assert change.put == ()

    def test_a_caller_without_a_clock_still_gets_a_stamped_instance(self) -> None:
        """plan_delete without now stamps the new instance with the time it is planned."""
        tasks = TaskList()
        _template, first = add_series(tasks)
        change = operations.plan_delete(tasks, [first.id])
        assert change.put[-1].created > NOW


class TestUndo:
    def test_undo_of_a_generating_done_reverts_all_of_it_in_one_step(self) -> None:
        """Instance open again, template index back, the new instance removed; done again makes exactly one."""
        tasks = TaskList()
        template, first = add_series(tasks)
        made = done(tasks, first.id).put[-1]
        reversal = undo(tasks)
        assert reversal.skipped == ()
        assert made.id not in tasks and tasks.get(first.id).is_open and tasks.get(template.id).index == 1
        again = done(tasks, first.id).put[-1]
        assert again.id != made.id and again.index == 2
        assert [t.index for t in instances(tasks, template)] == [1, 2]

    def test_redo_brings_back_the_same_instance(self) -> None:
        """redo re-applies the done: the same instance, id and uuid, and the template's count."""
        tasks = TaskList()
        template, first = add_series(tasks)
        made = done(tasks, first.id).put[-1]
        undo(tasks)
        redo(tasks)
        assert tasks.get(made.id) == made and tasks.get(template.id).index == 2
        assert [t.index for t in open_instances(tasks, template)] == [2]

    def test_an_undo_that_leaves_a_changed_instance_causes_no_duplicate(self) -> None:
        """Another session edits the new instance between an undo's preview and its plan: undo leaves that
        instance as it is and puts back the template's count; completing the old instance again then makes
        no second instance 2, and the series goes on from the edited one."""
        tasks = TaskList()
        template, first = add_series(tasks)
        generating = done(tasks, first.id)
        made = generating.put[-1]
        commit(tasks, operations.plan_edit(tasks, made.id, operations.TaskEdit(title="Pay rent (Feb)"), now=NOW))
        reversal = recovery.plan_undo(tasks, targets=[tasks.revision - 1])  # the preview chose the done
        commit(tasks, reversal.change)
        assert [s.task_id for s in reversal.skipped] == [made.id]
        assert tasks.get(template.id).index == 1 and tasks.get(first.id).is_open and made.id in tasks
        change = done(tasks, first.id)
        assert [t.index for t in instances(tasks, template)] == [1, 2], "no second instance 2"
        assert tasks.get(template.id).index == 2, "the template's count is mended in the same change"
        assert {t.id for t in change.put} == {first.id, template.id}
        following = done(tasks, made.id).put[-1]
        assert (following.index, following.due) == (3, dt.date(2027, 3, 31))

    def test_the_newer_instance_completed_past_until_is_not_made_again(self) -> None:
        """The same race with the newer instance completed (the series' last): done of the old one makes none."""
        tasks = TaskList()
        template, first = add_series(tasks, until=dt.date(2027, 2, 28))
        made = done(tasks, first.id).put[-1]
        done(tasks, made.id)  # the last one: nothing more
        reversal = recovery.plan_undo(tasks, targets=[tasks.revision - 1])
        commit(tasks, reversal.change)
        assert [s.task_id for s in reversal.skipped] == [made.id]
        done(tasks, first.id)
        assert [t.index for t in instances(tasks, template)] == [1, 2]

    def test_finishing_the_instance_an_undo_left_goes_on(self) -> None:
        """The template behind the instance an undo left (count 1, instance 2 open): completing 2 makes 3."""
        tasks = TaskList()
        template, first = add_series(tasks)
        made = done(tasks, first.id).put[-1]
        commit(tasks, operations.plan_edit(tasks, made.id, operations.TaskEdit(title="Pay rent (Feb)"), now=NOW))
        commit(tasks, recovery.plan_undo(tasks, targets=[tasks.revision - 1]).change)
        following = done(tasks, made.id).put[-1]
        assert following.index == 3 and tasks.get(template.id).index == 3


class TestCounting:
    def _list(self, sealed: bool) -> TaskList:
        tasks = TaskList()
        _template, first = add_series(tasks)
        done(tasks, first.id)
        commit(tasks, operations.plan_add(tasks, "Plain", now=NOW))
        if not sealed:
            return tasks
        stored, next_id, revision = tasks.snapshot()
        source = codec.open_snapshot(codec.encode_snapshot(stored, next_id, revision))
        assert isinstance(source, codec.SealedSnapshot)
        return TaskList.from_source(source.tasks, next_id=next_id, revision=revision, history=History())

    @pytest.mark.parametrize("sealed", [False, True])
    def test_a_template_is_neither_open_nor_done(self, sealed: bool) -> None:
        """counts() (the list summary and the status bar): 2 open (instance 2, Plain), 1 done; the template is neither."""
        tasks = self._list(sealed)
        assert tasks.counts() == (2, 1)

    def test_a_sealed_store_counts_templates_without_building_its_tasks(self) -> None:
        """The open count and the templates are found by byte search: only the template is built."""
        tasks = self._list(sealed=True)
        assert tasks.counts() == (2, 1)
        assert tasks.unbuilt == 4

    def test_the_sealed_template_search_finds_what_the_line_scan_finds(self) -> None:
        """matching(RECURRING)'s byte search agrees with the line-by-line scan (forced by a line with an escape)."""
        tasks = TaskList()
        for title in ("A", "B"):
            add_series(tasks, title)
        commit(tasks, operations.plan_add(tasks, "Quote \" in it", now=NOW))
        stored, next_id, revision = tasks.snapshot()
        sealed = codec.open_snapshot(codec.encode_snapshot(stored, next_id, revision))
        assert isinstance(sealed, codec.SealedSnapshot)
        fast = sealed.tasks.matching(Status.RECURRING, (), None, ())
        slow = sealed.tasks.matching(Status.RECURRING, (), "", ())  # a text forces the scan of every line
        assert [t.id for t in fast] == [1, 3]
        assert [t.id for t in fast] == [t.id for t in slow if t.is_template]
        assert [t.id for t in sealed.tasks.matching(Status.RECURRING, (), None, (3,))] == [1]

    def test_a_uuid_finds_the_instances_that_name_it(self) -> None:
        """TaskSource.matching looks for the text in the whole stored task: a template's uuid finds its instances."""
        tasks = self._list(sealed=True)
        template = next(t for t in tasks.narrowed(Status.RECURRING, (), None) if t.is_template)
        found = {t.id for t in tasks.narrowed(None, (), str(template.uuid))}
        assert found >= {template.id, 2, 3}

    def test_list_done_leaves_templates_out(self) -> None:
        """A template is not done: list --done does not show it, list --all does."""
        from taskvault.domain.query import Show, TaskQuery

        for sealed in (False, True):
            tasks = self._list(sealed)
            assert [t.status for t in TaskQuery(show=Show.DONE).select(tasks)] == [Status.DONE]
            assert Status.RECURRING in {t.status for t in TaskQuery(show=Show.ALL).select(tasks)}


@st.composite
def _mixed_task(draw: st.DrawFn, task_id: int) -> Task:
    status = draw(st.sampled_from(list(Status)))
    title = draw(st.sampled_from(["Rent", 'Say "hi"', "back\\slash", "café", "status recurring"]))
    template = status is Status.RECURRING
    return Task(id=task_id, uuid=uuid.UUID(int=task_id), title=title,
                created=NOW, updated=NOW, status=status, completed=NOW if status is Status.DONE else None,
                due=JAN31 if template else None, recur="monthly" if template else None, index=1 if template else 0,
                note=draw(st.sampled_from(["", '"status":"recurring"', "two\nlines"])))


class TestSealedAgrees:
    @settings(max_examples=80, deadline=None)
    @given(st.lists(st.integers(1, 40), unique=True, max_size=15).flatmap(
        lambda ids: st.tuples(*[_mixed_task(i) for i in sorted(ids)])), st.data())
    def test_sealed_counts_and_templates_equal_the_built_ones(self, stored: tuple[Task, ...], data: st.DataObject) -> None:
        """With templates, quotes, escapes and a note spelling a status: the sealed list counts and finds templates
        as the list of built tasks does, also after changes since the load."""
        next_id = max((t.id for t in stored), default=0) + 1
        sealed = codec.open_snapshot(codec.encode_snapshot(stored, next_id, 0))
        assert isinstance(sealed, codec.SealedSnapshot)
        lazy = TaskList.from_source(sealed.tasks, next_id=next_id, revision=0, history=History())
        whole = TaskList(stored, next_id=next_id)
        gone = data.draw(st.lists(st.sampled_from([t.id for t in stored]), unique=True, max_size=2)) if stored else []
        for tasks in (lazy, whole):
            commit(tasks, Change(ChangeKind.DELETE, delete=tuple(gone), next_id=next_id))
        assert lazy.counts() == whole.counts()
        open_count = sum(t.is_open for t in whole)
        assert whole.counts() == (open_count, sum(t.status is Status.DONE for t in whole))
        def templates(tasks: TaskList) -> list[int]:
            return sorted(t.id for t in tasks.narrowed(Status.RECURRING, (), None) if t.is_template)
        assert templates(lazy) == templates(whole)


class TestSuccessors:
    def test_nothing_finished_makes_nothing(self) -> None:
        """Tasks that are not instances make nothing, and build no template."""
        tasks = TaskList()
        commit(tasks, operations.plan_add(tasks, "Plain", now=NOW))
        assert successors(tasks, list(tasks), next_id=tasks.next_id, now=NOW) == ((), tasks.next_id)

    def test_instance_n_is_due_on_the_nth_due_date(self) -> None:
        """instance() uses nth_due from the template's first due date."""
        tasks = TaskList()
        template, _ = add_series(tasks, recur="weekdays", due=dt.date(2027, 1, 29))
        made = instance(template, 3, task_id=99, now=NOW)
        assert made.due == nth_due("weekdays", dt.date(2027, 1, 29), 3) == dt.date(2027, 2, 2)


# -- random sequences -------------------------------------------------------------------------


class SeriesMachine(RuleBasedStateMachine):
    """done / delete / undo / redo in any order on two series: never two open instances of one series, and a
    series whose template lives and whose end is not reached always has one open instance."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks = TaskList()
        self.templates = [add_series(self.tasks, "Rent", until=dt.date(2027, 8, 31))[0],
                          add_series(self.tasks, "Bins", recur="weekly")[0]]

    def _instances(self) -> list[int]:
        return sorted(t.id for t in self.tasks if t.parent is not None)

    @precondition(lambda self: bool(self._instances()))
    @rule(data=st.data(), count=st.integers(1, 2))
    def complete(self, data: st.DataObject, count: int) -> None:
        ids = data.draw(st.lists(st.sampled_from(self._instances()), min_size=1, max_size=count))
        done(self.tasks, *ids)

    @precondition(lambda self: bool(self._instances()))
    @rule(data=st.data())
    def delete_instance(self, data: st.DataObject) -> None:
        delete(self.tasks, data.draw(st.sampled_from(self._instances())))

    @rule(which=st.integers(0, 1))
    def delete_template(self, which: int) -> None:
        template = self.templates[which]
        if template.id in self.tasks and self.tasks.get(template.id).is_template:
            delete(self.tasks, template.id)

    @precondition(lambda self: bool(self.tasks.history.stacks()[0]))
    @rule()
    def undo(self) -> None:
        assert undo(self.tasks).skipped == ()

    @precondition(lambda self: bool(self.tasks.history.stacks()[1]))
    @rule()
    def redo(self) -> None:
        assert redo(self.tasks).skipped == ()

    @invariant()
    def one_open_instance_per_live_series(self) -> None:
        for template in self.templates:
            current = self.tasks.get(template.id) if template.id in self.tasks else None
            opened = [t for t in self.tasks if t.parent == template.uuid and t.is_open]
            assert len(opened) <= 1, f"two open instances of {template.title}: {opened}"
            if current is None or not current.is_template:
                continue
            made = [t.index for t in self.tasks if t.parent == template.uuid]
            assert max(made, default=0) <= current.index, "an instance beyond the template's count"
            assert len(made) == len(set(made)), "an instance made twice"
            assert current.due is not None and current.recur is not None
            ended = current.until is not None and nth_due(current.recur, current.due, current.index + 1) > current.until
            assert opened or ended, f"{template.title} stopped at instance {current.index} before its end"


TestSeriesMachine = SeriesMachine.TestCase
TestSeriesMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])


# -- real processes ----------------------------------------------------------------------------


def _series_store(data_dir: Path) -> None:
    out = run_taskvault(data_dir, "add", "Pay rent", "due:2027-01-31", "recur:monthly")
    assert out.code == 0, out.err


def _tasks_json(data_dir: Path) -> list[dict[str, object]]:
    return json.loads(run_taskvault(data_dir, "--json", "list", "--all").out)  # type: ignore[no-any-return]


class TestProcesses:
    def test_processes_racing_done_on_one_instance_make_one_next_instance(self, data_dir: Path) -> None:
        """Four processes complete instance 2 at once: one completes it, the others find it done; one instance 3."""
        _series_store(data_dir)
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_LOCK_TIMEOUT": "60",
               "TASKVAULT_RESIDENT": "off"}
        procs = [subprocess.Popen([*TASKVAULT, "done", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, text=True) for _ in range(4)]
        outputs = [proc.communicate(timeout=120) for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), outputs
        assert sum(out.count("Completed task 2") for out, _ in outputs) == 1, outputs
        tasks = _tasks_json(data_dir)
        assert [(t["id"], t["status"], t["index"]) for t in tasks] == [(1, "recurring", 2), (2, "done", 1),
                                                                       (3, "open", 2)]

    def test_a_torn_journal_record_holds_all_of_a_generating_done_or_none(self, data_dir: Path, tmp_path: Path) -> None:
        """A crash cut anywhere through the done's journal record: the store loads with the instance open and
        no next one, or with all of the change (a crash writes no half of a change)."""
        _series_store(data_dir)
        journal = data_dir / "tasks.journal"
        before = journal.stat().st_size
        assert run_taskvault(data_dir, "done", "2").code == 0
        whole = journal.read_bytes()
        seen = set()
        # (A cut just before the final newline leaves a whole record the loader refuses as changed since: a
        # crash never leaves that, as the record and its newline are one write.)
        for cut in sorted({*range(before, len(whole) - 1, max(1, (len(whole) - before) // 40)), len(whole) - 2,
                           len(whole)}):
            copy = tmp_path / f"cut{cut}"
            shutil.copytree(data_dir, copy)
            (copy / "tasks.journal").write_bytes(whole[:cut])
            session = Session(copy)
            state = sorted((t.id, t.status.value, t.index) for t in session.service.tasks)
            session.close()
            assert state in ([(1, "recurring", 1), (2, "open", 1)],
                             [(1, "recurring", 2), (2, "done", 1), (3, "open", 2)]), (cut, state)
            seen.add((cut == len(whole), len(state)))
        assert seen == {(False, 2), (True, 3)}, "a cut short of the whole record keeps the store as it was"


def test_the_instance_is_an_attrs_value_the_codec_round_trips() -> None:
    """A template and an instance survive the store's JSON exactly."""
    tasks = TaskList()
    template, first = add_series(tasks)
    for task in (template, first):
        assert codec.task_from_dict(codec.task_to_dict(task)) == task
    assert attrs.evolve(first, index=2).index == 2
    assert isinstance(first.uuid, uuid.UUID)


class TestWording:
    def test_a_done_that_makes_an_instance_names_it_once(self) -> None:
        """'Completed task 5: Pay rent; next: task 7 due …' on the newest instance named; an older one plainly."""
        from taskvault.commands.change_text import tasks_changed

        tasks = TaskList()
        _template, first = add_series(tasks)
        second = done(tasks, first.id).put[-1]
        commit(tasks, operations.plan_reopen(tasks, [first.id], now=NOW))
        change = done(tasks, first.id, second.id)
        finished = [t for t in change.put if t.status is Status.DONE]
        made = tuple(t for t in change.put if t.is_open)
        assert tasks_changed("done", finished, [], "already done", made) == [
            f"Completed task {first.id}: Pay rent",
            f"Completed task {second.id}: Pay rent; next: task {made[0].id} due 2027-03-31"]
