"""The import plan (domain/importing.py) on its own: matching by uuid, ids in order, what counts as a change,
and a series' next instance when the file finishes one."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskvault.domain.change import ChangeKind
from taskvault.domain.importing import changed_fields, plan_import
from taskvault.domain.operations import plan_add
from taskvault.domain.task import Status, Task
from taskvault.domain.tasklist import TaskList
from taskvault.errors import InvalidValue

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)


def incoming(title: str, n: int = 1, **fields: object) -> Task:
    defaults: dict[str, object] = {"created": NOW, "updated": NOW}
    return Task(id=n, uuid=uuid.uuid5(uuid.NAMESPACE_DNS, title), title=title, **(defaults | fields))


def store_with(*changes_of: object) -> TaskList:
    tasks = TaskList()
    for n, title in enumerate(changes_of, 1):
        tasks.apply(plan_add(tasks, str(title), now=NOW), n)
    return tasks


@given(st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=6), unique=True, max_size=12),
       st.integers(min_value=0, max_value=5))
def test_new_tasks_take_the_next_ids_in_order_and_a_second_import_changes_nothing(titles: list[str],
                                                                                  held: int) -> None:
    tasks = store_with(*[f"held {n}" for n in range(held)])
    batch = [incoming(t, n) for n, t in enumerate(titles, 1)]
    plan = plan_import(tasks, batch, now=NOW)
    assert [t.id for t in plan.added] == list(range(held + 1, held + 1 + len(titles)))
    assert [t.title for t in plan.added] == titles
    assert plan.change.kind is ChangeKind.IMPORT and plan.change.next_id == held + 1 + len(titles)
    if plan.change.is_empty:
        return
    tasks.apply(plan.change, tasks.revision + 1)
    again = plan_import(tasks, batch, now=LATER)
    assert again.change.is_empty and len(again.unchanged) == len(titles) and not again.added


def test_an_update_keeps_the_id_and_creation_time_and_a_file_that_differs_only_in_times_is_no_change() -> None:
    tasks = TaskList()
    tasks.apply(plan_import(tasks, [incoming("Call Anna")], now=NOW).change, 1)
    only_times = incoming("Call Anna", created=LATER, updated=LATER)
    assert plan_import(tasks, [only_times], now=LATER).change.is_empty
    moved = incoming("Call Anna", project="work", created=LATER, updated=LATER)
    plan = plan_import(tasks, [moved], now=LATER)
    ((old, new),) = plan.updated
    assert (new.id, new.created, new.updated, new.project) == (1, NOW, LATER, "work")
    assert changed_fields(old, new) == ("project",)


def test_the_same_uuid_twice_is_refused() -> None:
    with pytest.raises(InvalidValue, match="twice"):
        plan_import(TaskList(), [incoming("A", 1), incoming("A", 2)], now=NOW)


def test_finishing_a_series_instance_in_the_file_makes_the_next_unless_the_file_brings_it() -> None:
    tasks = TaskList()
    tasks.apply(plan_add(tasks, "Water plants", now=NOW, due=dt.date(2027, 1, 4), recur="weekly"), 1)
    template, first = tasks.get(1), tasks.get(2)
    done = attrs.evolve(first, status=Status.DONE, completed=LATER, updated=LATER)
    plan = plan_import(tasks, [template, done], now=LATER)
    made = [t for t in plan.change.put if t.id == 3]
    assert made and made[0].due == dt.date(2027, 1, 11) and made[0].index == 2
    assert {t.id: t.index for t in plan.change.put}[1] == 2
    brought = attrs.evolve(first, id=9, uuid=uuid.uuid4(), index=2, due=dt.date(2027, 1, 11))
    plan = plan_import(tasks, [done, brought], now=LATER)
    assert sorted(t.id for t in plan.change.put) == [2, 3] and plan.change.next_id == 4
