"""Urgency as Taskwarrior 2.6 computes it, its coefficients from configuration, and sort specs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault.domain.filtering import EMPTY_CONTEXT, FilterContext
from taskvault.domain.task import Annotation, Priority, Status, Task
from taskvault.domain.urgency import Coefficients, due_factor, sort_key, urgency
from taskvault.errors import InvalidValue

TODAY = dt.date(2026, 12, 2)
#: Twelve days before TODAY, at noon UTC: the same calendar day in any zone from UTC-11 to UTC+11.
CREATED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
AGE = 2.0 * 12 / 365  # the age term of a task created on CREATED: coefficient 2 × 12 days / 365
DEFAULT = Coefficients()


def task(task_id: int, **fields: Any) -> Task:
    fields.setdefault("title", f"task {task_id}")
    fields["tags"] = tuple(sorted(fields.get("tags", ())))
    if fields.get("status") is Status.DONE:
        fields.setdefault("completed", CREATED)
    return Task(id=task_id, uuid=uuid.UUID(int=task_id), created=fields.pop("created", CREATED),
                updated=fields.pop("updated", CREATED), **fields)


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def note(text: str) -> Annotation:
    return Annotation(CREATED, text)


class TestHandComputed:
    def test_bare_task_has_only_its_age(self) -> None:
        """A task with nothing set: 2 × 12/365 = 0.0658 for its age alone."""
        assert urgency(task(1), EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(0.065753, abs=1e-6)

    def test_priority_project_tags_due_today(self) -> None:
        """H 6 + project 1 + two tags 0.9 + due today 12 × (14 × 0.8/21 + 0.2 = 0.7333) = 8.8 + age 0.0658 = 16.7658."""
        t = task(1, priority=Priority.HIGH, project="home", tags=("a", "b"), due=TODAY)
        assert urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(6 + 1 + 0.9 + 8.8 + AGE)
        assert urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(16.765753, abs=1e-6)

    def test_next_overdue_active_annotated(self) -> None:
        """next 15 + one tag 0.8 + ten days overdue 12 × 1.0 + active 4 + three annotations 1.0 + age = 32.8658."""
        t = task(1, tags=("next",), due=days(-10), started=CREATED, annotations=(note("a"), note("b"), note("c")))
        assert urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(15 + 0.8 + 12 + 4 + 1 + AGE)

    def test_blocked_waiting_scheduled_and_blocking(self) -> None:
        """Blocked -5, waiting -3, scheduled yesterday +5 (so -3 + age); the task it waits for gains blocking +8."""
        first = task(1)
        second = task(2, depends=(first.uuid,), wait=days(3), scheduled=days(-1))
        ctx = FilterContext.build([first, second])
        assert urgency(second, ctx, DEFAULT, TODAY) == pytest.approx(-5 - 3 + 5 + AGE)
        assert urgency(first, ctx, DEFAULT, TODAY) == pytest.approx(8 + AGE)

    def test_due_and_age_edges(self) -> None:
        """Due 7 days ahead: 12 × (7 × 0.8/21 + 0.2) = 5.6; 30 days ahead: 12 × 0.2 = 2.4; 400 days old: age 2."""
        assert urgency(task(1, due=days(7)), EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(5.6 + AGE)
        assert urgency(task(1, due=days(30)), EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(2.4 + AGE)
        old = CREATED - dt.timedelta(days=400)
        assert urgency(task(1, created=old, updated=old), EMPTY_CONTEXT, DEFAULT, TODAY) == pytest.approx(2.0)

    def test_age_max_zero_and_future_creation(self) -> None:
        """age.max 0 makes the age term whole (2.0); a task created after today has age 0."""
        zero = Coefficients.from_mapping({"age.max": 0})
        assert urgency(task(1), EMPTY_CONTEXT, zero, TODAY) == pytest.approx(2.0)
        assert urgency(task(1), EMPTY_CONTEXT, DEFAULT, CREATED.date() - dt.timedelta(days=3)) == 0.0

    def test_done_task_neither_waits_nor_blocks(self) -> None:
        """A done task with a future wait date and a dependency gets neither the waiting nor the blocked term."""
        first = task(1)
        done = task(2, status=Status.DONE, depends=(first.uuid,), wait=days(3))
        ctx = FilterContext.build([first, done])
        assert urgency(done, ctx, DEFAULT, TODAY) == pytest.approx(AGE)
        assert urgency(first, ctx, DEFAULT, TODAY) == pytest.approx(AGE)  # only an open task's dependency blocks

    @pytest.mark.parametrize(("offset", "factor"), [(-30, 1.0), (-7, 1.0), (-6, 20 * 0.8 / 21 + 0.2), (0, 14 * 0.8 / 21 + 0.2),
                                                    (14, 0.2), (15, 0.2), (100, 0.2)])
    def test_due_factor_is_taskwarriors(self, offset: int, factor: float) -> None:
        """urgency_due: 1.0 from a week overdue, 0.2 from two weeks ahead, linear between."""
        assert due_factor(days(offset), TODAY) == pytest.approx(factor)
        assert due_factor(None, TODAY) == 0.0

    def test_user_tag_and_project_coefficients(self) -> None:
        """project.home counts for home and home.kitchen, not homework; tag.X for the tag X."""
        k = Coefficients.from_mapping({"project.home": 2.5, "tag.later": -1, "age": 0})
        base = 1 + 0.8  # project 1 + one tag 0.8
        assert urgency(task(1, project="home.kitchen", tags=("later",)), EMPTY_CONTEXT, k, TODAY) == pytest.approx(
            base + 2.5 - 1)
        assert urgency(task(1, project="homework", tags=("x",)), EMPTY_CONTEXT, k, TODAY) == pytest.approx(base)


class TestCoefficients:
    def test_defaults_are_taskwarriors(self) -> None:
        """The defaults are Taskwarrior 2.6's."""
        k = Coefficients()
        assert (k.due, k.blocking, k.priority_high, k.priority_medium, k.priority_low, k.scheduled, k.active, k.age,
                k.age_max, k.annotations, k.tags, k.project, k.waiting, k.blocked) == (
            12.0, 8.0, 6.0, 3.9, 1.8, 5.0, 4.0, 2.0, 365.0, 1.0, 1.0, 1.0, -3.0, -5.0)
        assert dict(k.tag_coefficients) == {"next": 15.0}

    def test_overrides_from_a_mapping(self) -> None:
        """Plain keys, Taskwarrior's spellings and numbers as text are read; the rest stay default."""
        k = Coefficients.from_mapping({"due": "10", "priority.H": 7, "priority.low": 0.5, "age.max": 30,
                                       "urgency.user.tag.next.coefficient": 0, "urgency.blocked.coefficient": -1,
                                       "urgency.uda.priority.M.coefficient": "2"})
        assert (k.due, k.priority_high, k.priority_medium, k.priority_low, k.age_max, k.blocked) == (10, 7, 2, 0.5, 30, -1)
        assert dict(k.tag_coefficients) == {"next": 0.0}
        assert k.blocking == 8.0
        assert k == Coefficients.from_mapping(dict(reversed(list({"due": "10", "priority.H": 7, "priority.low": 0.5,
                                                                    "age.max": 30, "tag.next": 0, "blocked": -1,
                                                                    "priority.M": 2}.items()))))

    @pytest.mark.parametrize(("key", "value", "message"), [
        ("dew", 1, "'dew' is not an urgency coefficient"),
        ("due", "soon", "must be a number"),
        ("due", float("inf"), "must be a number"),
        ("due", True, "must be a number"),
        ("age.max", -1, "0 or more days"),
        ("tag.Has Space", 1, "must be one word"),
    ])
    def test_bad_overrides(self, key: str, value: object, message: str) -> None:
        """A key that is no coefficient, or a value that is no finite number, is refused."""
        with pytest.raises(InvalidValue, match=message):
            Coefficients.from_mapping({key: value})

    def test_unknown_key_hint(self) -> None:
        """The hint for an unknown key suggests the nearest one."""
        with pytest.raises(InvalidValue) as caught:
            Coefficients.from_mapping({"blockin": 1})
        assert (caught.value.hint or "").startswith("did you mean 'blocking'?")


# --- properties --------------------------------------------------------------------------------------------


@st.composite
def _tasks(draw: st.DrawFn) -> Task:
    return task(
        1, tags=tuple(draw(st.sets(st.sampled_from(["a", "b", "next", "c"])))),
        project=draw(st.sampled_from([None, "home", "work.x"])),
        priority=draw(st.sampled_from([None, *Priority])),
        due=draw(st.none() | st.integers(-60, 60).map(days)),
        scheduled=draw(st.none() | st.integers(-5, 5).map(days)),
        wait=draw(st.none() | st.integers(-5, 5).map(days)),
        annotations=tuple(note(str(i)) for i in range(draw(st.integers(0, 4)))),
        created=(at := CREATED - dt.timedelta(days=draw(st.integers(0, 800)))), updated=at,
    )


_COEFFICIENTS = st.builds(Coefficients, due=st.floats(0, 50), age=st.floats(-5, 5), priority_high=st.floats(0, 20),
                          priority_medium=st.floats(0, 10), priority_low=st.floats(0, 5))


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(_tasks(), st.integers(-60, 60), st.integers(0, 60), _COEFFICIENTS)
    def test_a_closer_due_never_lowers_urgency(self, t: Task, due: int, later: int, k: Coefficients) -> None:
        """Moving the due date earlier (with a due coefficient of 0 or more) never lowers urgency."""
        sooner = urgency(attrs.evolve(t, due=days(due)), EMPTY_CONTEXT, k, TODAY)
        farther = urgency(attrs.evolve(t, due=days(due + later)), EMPTY_CONTEXT, k, TODAY)
        assert sooner >= farther - 1e-9

    @settings(max_examples=150, deadline=None)
    @given(_tasks())
    def test_priority_high_raises_urgency(self, t: Task) -> None:
        """Giving a task without a priority priority H raises its urgency by 6."""
        t = attrs.evolve(t, priority=None)
        before = urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY)
        after = urgency(attrs.evolve(t, priority=Priority.HIGH), EMPTY_CONTEXT, DEFAULT, TODAY)
        assert after == pytest.approx(before + 6)
        assert after > before

    @settings(max_examples=100, deadline=None)
    @given(_tasks())
    def test_urgency_is_bounded(self, t: Task) -> None:
        """With the defaults, urgency lies between the sum of the negative and of the positive coefficients."""
        value = urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY)
        assert -8 <= value <= 15 + 12 + 8 + 6 + 5 + 4 + 2 + 1 + 1 + 1


# --- sorting ---------------------------------------------------------------------------------------------


SORTABLE = [task(1, due=days(5), project="b", priority=Priority.LOW), task(2, project="a", priority=Priority.HIGH),
            task(3, due=days(1), title="Zed"), task(4, due=days(1), project="A", title="alpha"),
            task(5, due=days(-3), tags=("next",))]


def order(spec: str, tasks: list[Task] = SORTABLE) -> list[int]:
    return [t.id for t in sorted(tasks, key=sort_key(spec, today=TODAY))]


class TestSortKey:
    def test_urgency_descending_by_default(self) -> None:
        """'urgency' sorts the most urgent first, as 'urgency-' does; 'urgency+' the least urgent first."""
        by_hand = sorted(SORTABLE, key=lambda t: -urgency(t, EMPTY_CONTEXT, DEFAULT, TODAY))
        assert order("urgency") == [t.id for t in by_hand] == order("urgency-")
        assert order("urgency+") == list(reversed(order("urgency")))
        assert order("urgency")[0] == 5  # next 15 + overdue

    def test_ascending_puts_missing_values_last(self) -> None:
        """due+ orders by date, tasks without one after, then by id."""
        assert order("due+") == [5, 3, 4, 1, 2]
        assert order("due") == order("due+")

    def test_descending_keeps_missing_values_last(self) -> None:
        """due- orders the latest first and still puts tasks without a due date last."""
        assert order("due-") == [1, 3, 4, 5, 2]

    def test_several_keys(self) -> None:
        """due+,project: ties on the date are broken by project (any case), then by id."""
        assert order("due+,project") == [5, 4, 3, 1, 2]
        assert order("project+,title-") == [2, 4, 1, 3, 5]  # 'a' and 'A' tie, so 'task 2' before 'alpha'; no project last

    def test_text_descending(self) -> None:
        """title- orders titles from Z to A, ignoring case."""
        assert order("title-") == [3, 5, 2, 1, 4]  # Zed, task 5, task 2, task 1, alpha

    def test_priority_high_first_by_default(self) -> None:
        """priority sorts H, M, L, then none."""
        assert order("priority") == [2, 1, 3, 4, 5]
        assert order("priority+") == [1, 2, 3, 4, 5]

    def test_aliases(self) -> None:
        """Taskwarrior's names: entry, modified, end, start, description."""
        assert order("description") == order("title")
        assert order("entry-,id") == order("created,id")

    def test_unknown_field(self) -> None:
        """An unknown field is refused with the nearest name and the list."""
        with pytest.raises(InvalidValue) as caught:
            sort_key("urgncy-", today=TODAY)
        assert "'urgncy' is not a field to sort by" in caught.value.message
        assert (caught.value.hint or "").startswith("did you mean 'urgency'?")
        with pytest.raises(InvalidValue):
            sort_key("", today=TODAY)
