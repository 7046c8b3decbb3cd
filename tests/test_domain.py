"""The task model's rules and the pure planners, without any files."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest

from taskvault.commands.values import parse_ids, parse_priority, split_tag_edits
from taskvault.domain import operations
from taskvault.domain.change import ChangeKind
from taskvault.domain.dates import parse_date
from taskvault.domain.query import Show, TaskQuery
from taskvault.domain.task import (
    Annotation,
    Priority,
    Status,
    Task,
    normalize_annotation,
    normalize_project,
    normalize_tags,
    normalize_title,
)
from taskvault.domain.tasklist import Change, TaskList
from taskvault.errors import InvalidValue, TaskNotFound

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


def _list(*titles: str) -> TaskList:
    tasks = TaskList()
    for title in titles:
        tasks.apply(operations.plan_add(tasks, title, now=NOW), tasks.revision + 1)
    return tasks


class TestTaskRules:
    def test_title_is_trimmed(self) -> None:
        """Titles lose surrounding white space."""
        assert normalize_title("  Buy milk \t") == "Buy milk"

    @pytest.mark.parametrize("bad", ["", "   ", "a\nb", "a\x00b", "x" * 501, "caf\udce9"])
    def test_bad_titles_are_refused(self, bad: str) -> None:
        """Empty, too long, control characters and undecodable bytes are refused."""
        with pytest.raises(InvalidValue):
            normalize_title(bad)

    def test_500_characters_is_allowed(self) -> None:
        assert len(normalize_title("é" * 500)) == 500

    def test_tags_are_normalised(self) -> None:
        """Lower case, unique, sorted."""
        assert normalize_tags(["Home", "home", " work ", "Ärger"]) == ("home", "work", "ärger")

    @pytest.mark.parametrize("bad", ["", "two words", "+plus", "-minus", "a,b", "x" * 65])
    def test_bad_tags_are_refused(self, bad: str) -> None:
        with pytest.raises(InvalidValue):
            normalize_tags([bad])

    def test_done_needs_a_completion_time(self) -> None:
        """status and completed agree, or the task cannot exist."""
        task = _list("x").get(1)
        with pytest.raises(InvalidValue):
            attrs.evolve(task, status=Status.DONE)

    def test_timestamps_are_utc(self) -> None:
        task = _list("x").get(1)
        with pytest.raises(InvalidValue):
            attrs.evolve(task, updated=dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))))


class TestTaskList:
    def test_ids_count_up_and_are_never_reused(self) -> None:
        """Deleting the highest id does not hand it out again."""
        tasks = _list("a", "b")
        tasks.apply(operations.plan_delete(tasks, [2]), 3)
        tasks.apply(operations.plan_add(tasks, "c", now=NOW), 4)
        assert [t.id for t in tasks] == [1, 3]

    def test_planning_does_not_change_the_list(self) -> None:
        """A plan is pure: the list only changes when the change is applied."""
        tasks = _list("a", "b")
        before = tasks.snapshot()
        operations.plan_done(tasks, [1, 2], now=LATER)
        operations.plan_delete(tasks, [1])
        operations.plan_edit(tasks, 1, operations.TaskEdit(title="z"), now=LATER)
        assert tasks.snapshot() == before

    def test_bulk_is_all_or_nothing(self) -> None:
        """One missing id fails the whole command and names every missing id."""
        tasks = _list("a", "b")
        with pytest.raises(TaskNotFound) as caught:
            operations.plan_done(tasks, [1, 7, 9], now=LATER)
        assert caught.value.task_ids == [7, 9]

    def test_a_change_that_does_not_fit_is_refused_before_applying(self) -> None:
        """apply checks first, so a bad change leaves the list untouched."""
        tasks = _list("a")
        before = tasks.snapshot()
        for change in (Change(ChangeKind.EDIT, delete=(5,), next_id=2), Change(ChangeKind.EDIT, next_id=1),
                       Change(ChangeKind.EDIT, put=(attrs.evolve(tasks.get(1), id=9),), next_id=2)):
            with pytest.raises(InvalidValue):
                tasks.apply(change, 2)
            assert tasks.snapshot() == before
        with pytest.raises(InvalidValue):
            tasks.apply(Change(ChangeKind.EDIT, next_id=2), 5)

    def test_duplicate_ids_are_refused(self) -> None:
        task = _list("a").get(1)
        with pytest.raises(InvalidValue):
            TaskList([task, task], next_id=2)


class TestOperations:
    def test_done_and_reopen(self) -> None:
        """done sets the completion time; reopen clears it; repeats change nothing."""
        tasks = _list("a", "b")
        change = operations.plan_done(tasks, [1], now=LATER)
        tasks.apply(change, tasks.revision + 1)
        assert tasks.get(1).completed == LATER and tasks.get(1).updated == LATER
        assert operations.plan_done(tasks, [1], now=LATER).is_empty
        tasks.apply(operations.plan_reopen(tasks, [1], now=LATER), tasks.revision + 1)
        assert tasks.get(1).status is Status.OPEN and tasks.get(1).completed is None

    def test_edit_tags_and_fields(self) -> None:
        tasks = _list("a")
        tasks.apply(operations.plan_edit(tasks, 1, operations.TaskEdit(add_tags=("home", "x")), now=LATER), 2)
        edit = operations.TaskEdit(title=" b ", priority=Priority.HIGH, due=dt.date(2030, 1, 1),
                                   add_tags=("errand",), remove_tags=("home",))
        tasks.apply(operations.plan_edit(tasks, 1, edit, now=LATER), 3)
        task = tasks.get(1)
        assert (task.title, task.priority, task.due, task.tags) == ("b", Priority.HIGH, dt.date(2030, 1, 1),
                                                                    ("errand", "x"))

    def test_edit_that_changes_nothing_is_empty(self) -> None:
        tasks = _list("a")
        assert operations.plan_edit(tasks, 1, operations.TaskEdit(title="a"), now=LATER).is_empty

    def test_edit_with_nothing_asked_is_an_error(self) -> None:
        with pytest.raises(InvalidValue):
            operations.plan_edit(_list("a"), 1, operations.TaskEdit(), now=LATER)


class TestQuery:
    def test_filters_and_sorts(self) -> None:
        tasks = TaskList()
        for title, prio, due, tags in [("a", Priority.LOW, dt.date(2026, 12, 5), ("home",)),
                                       ("b", Priority.HIGH, None, ("home", "work")),
                                       ("c", None, dt.date(2026, 12, 1), ())]:
            tasks.apply(operations.plan_add(tasks, title, now=NOW, priority=prio, due=due, tags=tags),
                        tasks.revision + 1)
        tasks.apply(operations.plan_done(tasks, [3], now=LATER), tasks.revision + 1)
        titles = lambda **kw: [t.title for t in TaskQuery(**kw).select(tasks)]  # noqa: E731
        assert titles() == ["a", "b"]
        assert titles(show=Show.ALL, sort="due") == ["c", "a", "b"]
        assert titles(show=Show.DONE) == ["c"]
        assert titles(tags=("home",), sort="priority") == ["b", "a"]
        assert titles(show=Show.ALL, due_before=dt.date(2026, 12, 2)) == ["c"]
        assert titles(search="B") == ["b"]


class TestValues:
    def test_ids_lists_and_ranges(self) -> None:
        assert parse_ids(["3", "1,2", "5-7", "3"]) == [3, 1, 2, 5, 6, 7]

    @pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", "7-3", "1-99999", "１"])
    def test_bad_ids(self, bad: str) -> None:
        with pytest.raises(InvalidValue):
            parse_ids([bad])

    def test_priorities(self) -> None:
        assert [parse_priority(w) for w in ("h", "Medium", "none")] == [Priority.HIGH, Priority.MEDIUM, None]

    def test_tag_edits(self) -> None:
        assert split_tag_edits(["+a", "b", "-c"]) == (("a", "b"), ("c",))

    def test_dates(self) -> None:
        """Absolute dates and the relative words people type."""
        today = dt.date(2026, 11, 21)  # a Saturday
        assert parse_date("2026-12-01", today=today) == dt.date(2026, 12, 1)
        assert parse_date("tomorrow", today=today) == dt.date(2026, 11, 22)
        assert parse_date("Yesterday", today=today) == dt.date(2026, 11, 20)
        assert parse_date("mon", today=today) == dt.date(2026, 11, 23)
        assert parse_date("saturday", today=today) == dt.date(2026, 11, 28)
        assert parse_date("+2w", today=today) == dt.date(2026, 12, 5)
        for bad in ("2026-02-30", "soon", "12/01/2026", "+99999d"):
            with pytest.raises(InvalidValue):
                parse_date(bad, today=today)


class TestControlCharacters:
    def test_fast_check_agrees_with_unicode_on_every_code_point(self) -> None:
        """The regex used for speed rejects exactly categories Cc and Cs (newline and tab allowed in notes)."""
        import unicodedata

        from taskvault.domain.task import _has_control

        for code_point in range(0x110000):
            char = chr(code_point)
            bad = unicodedata.category(char) in ("Cc", "Cs")
            assert _has_control(char) == bad
            assert _has_control(char, "\n\t") == (bad and char not in "\n\t")


class TestSchema4Fields:
    """The fields a Taskwarrior user expects, each with its rule, and the rules between them."""

    _NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)

    def _task(self, **fields: object) -> Task:
        return Task(id=1, uuid=uuid.UUID(int=1), title="t", created=self._NOW, updated=self._NOW,
                    **fields)  # type: ignore[arg-type]

    def test_projects_are_dotted_words(self) -> None:
        assert normalize_project("  home.kitchen ") == "home.kitchen"
        for bad, says in (("", "empty"), ("home..kitchen", "empty part"), (".home", "empty part"),
                          ("home kitchen", "without spaces"), ('a"b', "quotes"), ("a\tb", "without spaces"),
                          ("x" * 101, "longer than 100")):
            with pytest.raises(InvalidValue, match=says):
                normalize_project(bad)
        with pytest.raises(InvalidValue, match="not trimmed"):
            self._task(project=" home")

    def test_annotations_are_single_lines_in_the_order_made(self) -> None:
        first, second = Annotation(self._NOW, "called"), Annotation(self._NOW + dt.timedelta(1), "again")
        assert self._task(annotations=(first, second)).annotations == (first, second)
        with pytest.raises(InvalidValue, match="order"):
            self._task(annotations=(second, first))
        with pytest.raises(InvalidValue, match="control character"):
            normalize_annotation("two\nlines")
        with pytest.raises(InvalidValue, match="1000"):
            normalize_annotation("a" * 1001)
        with pytest.raises(InvalidValue, match="at most 100"):
            self._task(annotations=(first,) * 101)

    def test_dependencies_are_sorted_unique_and_never_the_task_itself(self) -> None:
        a, b = uuid.UUID(int=2), uuid.UUID(int=3)
        assert self._task(depends=(a, b)).depends == (a, b)
        for bad in ((b, a), (a, a)):
            with pytest.raises(InvalidValue, match="sorted"):
                self._task(depends=bad)
        with pytest.raises(InvalidValue, match="itself"):
            self._task(depends=(uuid.UUID(int=1),))

    def test_only_an_open_task_is_started(self) -> None:
        assert self._task(started=self._NOW).started == self._NOW
        with pytest.raises(InvalidValue, match="only an open task"):
            self._task(started=self._NOW, status=Status.DONE, completed=self._NOW)

    def test_a_series_has_a_template_with_a_period_and_due_date_and_numbered_instances(self) -> None:
        day = dt.date(2026, 12, 31)
        template = self._task(status=Status.RECURRING, recur="monthly", due=day, index=2)
        assert template.is_template and not template.is_open
        instance = self._task(recur="monthly", due=day, parent=uuid.UUID(int=9), index=2)
        assert instance.is_open
        for fields in ({"status": Status.RECURRING, "due": day}, {"status": Status.RECURRING, "recur": "weekly"},
                       {"status": Status.RECURRING, "recur": "weekly", "due": day, "parent": uuid.UUID(int=9)},
                       {"parent": uuid.UUID(int=9), "index": 1}, {"parent": uuid.UUID(int=9), "recur": "daily"},
                       {"index": 3}, {"parent": uuid.UUID(int=1), "recur": "daily", "index": 1}):
            with pytest.raises(InvalidValue):
                self._task(**fields)
        for period in ("fortnightly", "0d", "1000d", "Weekly"):
            with pytest.raises(InvalidValue, match="not a recurrence period"):
                self._task(recur=period)
