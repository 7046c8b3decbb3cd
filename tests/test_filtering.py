"""The Taskwarrior-style filter language: terms, boolean structure, errors and bounds."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault.domain.filtering import MAX_DEPTH, MAX_TERMS, VIRTUAL_TAGS, FilterContext, parse_filter
from taskvault.domain.task import Annotation, Priority, Status, Task
from taskvault.errors import InvalidValue

TODAY = dt.date(2026, 12, 2)  # a Wednesday
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def task(task_id: int, **fields: Any) -> Task:
    """A task with the given fields; a done one gets its completion time."""
    fields.setdefault("title", f"task {task_id}")
    fields["tags"] = tuple(sorted(fields.get("tags", ())))
    if fields.get("status") is Status.DONE:
        fields.setdefault("completed", NOON)
    return Task(id=task_id, uuid=fields.pop("uuid", uuid.UUID(int=task_id)), created=fields.pop("created", NOON),
                updated=fields.pop("updated", NOON), **fields)


def ids(words: list[str], tasks: list[Task], **kwargs: Any) -> list[int]:
    return [t.id for t in parse_filter(words, today=TODAY, **kwargs).select(tasks)]


PROJECTS = [task(1, project="home"), task(2, project="home.kitchen"), task(3, project="homework"),
            task(4, project="Work"), task(5)]


class TestTags:
    def test_plus_and_minus(self) -> None:
        """+tag keeps the tasks with the tag, -tag those without it."""
        tasks = [task(1, tags=("urgent",)), task(2, tags=("home", "urgent")), task(3)]
        assert ids(["+urgent"], tasks) == [1, 2]
        assert ids(["-urgent"], tasks) == [3]
        assert ids(["+urgent", "-home"], tasks) == [1]

    def test_capitalised_tag_is_the_lower_case_tag(self) -> None:
        """Tags are stored in lower case, so +Home is the tag home (only ALL-CAPS names are virtual)."""
        assert ids(["+Home"], [task(1, tags=("home",)), task(2)]) == [1]

    def test_unknown_virtual_tag_is_refused_with_the_list(self) -> None:
        """An all-caps name that is no virtual tag is an error whose hint lists them and the lower-case tag."""
        with pytest.raises(InvalidValue) as caught:
            parse_filter(["+NEXT"], today=TODAY)
        assert "+NEXT is not a virtual tag" in caught.value.message
        assert caught.value.hint is not None and "OVERDUE" in caught.value.hint and "+next" in caught.value.hint

    def test_deleted_is_explained(self) -> None:
        """+DELETED says that taskvault deletes tasks for good."""
        with pytest.raises(InvalidValue) as caught:
            parse_filter(["+DELETED"], today=TODAY)
        assert "for good" in (caught.value.hint or "")


class TestVirtualTags:
    def test_due_tags(self) -> None:
        """OVERDUE, YESTERDAY, TODAY, TOMORROW, DUE, WEEK, MONTH, QUARTER, YEAR by the due day (today is Wed 2 Dec)."""
        days = {1: -10, 2: -1, 3: 0, 4: 1, 5: 4, 6: 6, 7: 7, 8: 29, 9: 40}
        tasks = [task(i, due=TODAY + dt.timedelta(days=d)) for i, d in days.items()]
        tasks.append(task(10, due=TODAY - dt.timedelta(days=3), status=Status.DONE))
        tasks.append(task(11))
        assert ids(["+OVERDUE"], tasks) == [1, 2]
        assert ids(["+YESTERDAY"], tasks) == [2]
        assert ids(["+TODAY"], tasks) == [3]
        assert ids(["+TOMORROW"], tasks) == [4]
        assert ids(["+DUE"], tasks) == [3, 4, 5, 6]  # today … today+6
        assert ids(["+WEEK"], tasks) == [2, 3, 4, 5]  # Mon 30 Nov … Sun 6 Dec
        assert ids(["+MONTH"], tasks) == [2, 3, 4, 5, 6, 7, 8]  # December
        assert ids(["+QUARTER"], tasks) == [1, 2, 3, 4, 5, 6, 7, 8]  # October to December
        assert ids(["+YEAR"], tasks) == [1, 2, 3, 4, 5, 6, 7, 8]
        assert ids(["-OVERDUE"], tasks) == [3, 4, 5, 6, 7, 8, 9, 10, 11]

    def test_dependency_tags(self) -> None:
        """BLOCKED: depends on an open task; BLOCKING: an open task depends on it; READY: neither blocked nor waiting."""
        u = uuid.UUID
        tasks = [task(1), task(2, depends=(u(int=1),)), task(3, status=Status.DONE),
                 task(4, depends=(u(int=3),)), task(5, wait=TODAY + dt.timedelta(days=2)),
                 task(6, scheduled=TODAY + dt.timedelta(days=1)), task(7, scheduled=TODAY)]
        assert ids(["+BLOCKED"], tasks) == [2]
        assert ids(["+UNBLOCKED"], tasks) == [1, 3, 4, 5, 6, 7]
        assert ids(["+BLOCKING"], tasks) == [1]
        assert ids(["+WAITING"], tasks) == [5]
        assert ids(["+READY"], tasks) == [1, 4, 7]
        assert parse_filter(["+BLOCKED"], today=TODAY).needs_context
        assert not parse_filter(["+OVERDUE"], today=TODAY).needs_context

    def test_presence_tags(self) -> None:
        """TAGGED, ANNOTATED, PROJECT, PRIORITY, UNTIL, SCHEDULED, ACTIVE, COMPLETED, PENDING, TEMPLATE, INSTANCE."""
        series = uuid.UUID(int=99)
        tasks = [task(1, tags=("x",)), task(2, annotations=(Annotation(NOON, "a note"),)), task(3, project="p"),
                 task(4, priority=Priority.LOW), task(5, until=TODAY), task(6, scheduled=TODAY), task(7, started=NOON),
                 task(8, status=Status.DONE), task(9, status=Status.RECURRING, recur="weekly", due=TODAY),
                 task(10, parent=series, recur="weekly", index=1)]
        expected = {"TAGGED": [1], "ANNOTATED": [2], "PROJECT": [3], "PRIORITY": [4], "UNTIL": [5],
                    "SCHEDULED": [6], "ACTIVE": [7], "COMPLETED": [8], "TEMPLATE": [9], "PARENT": [9], "INSTANCE": [10],
                    "CHILD": [10], "PENDING": [1, 2, 3, 4, 5, 6, 7, 10]}
        for name, want in expected.items():
            assert ids([f"+{name}"], tasks) == want, name

    def test_every_documented_tag_parses(self) -> None:
        """Each name VIRTUAL_TAGS documents is accepted, with + and with -."""
        for name in VIRTUAL_TAGS:
            parse_filter([f"+{name}", f"-{name}"], today=TODAY)


class TestAttributes:
    def test_project_hierarchy(self) -> None:
        """project:home matches home and home.*, not homework; .is is exact; .not excludes the hierarchy."""
        assert ids(["project:home"], PROJECTS) == [1, 2]
        assert ids(["project.is:home"], PROJECTS) == [1]
        assert ids(["project.not:home"], PROJECTS) == [3, 4, 5]
        assert ids(["project:"], PROJECTS) == [5]
        assert ids(["project.any:"], PROJECTS) == [1, 2, 3, 4]
        assert ids(["project:work"], PROJECTS) == [4]  # any case
        assert ids(["proj.startswith:home"], PROJECTS) == [1, 2, 3]
        assert ids(["project.endswith:chen"], PROJECTS) == [2]

    def test_prefixes_of_names(self) -> None:
        """Unambiguous prefixes of attribute names work like the whole name."""
        tasks = [task(1, priority=Priority.HIGH), task(2, priority=Priority.LOW), task(3, title="Buy milk")]
        assert ids(["pri:H"], tasks) == [1]
        assert ids(["priority:high"], tasks) == [1]
        assert ids(["desc.has:MILK"], tasks) == [3]
        assert ids(["descr:buy"], tasks) == [3]  # '=' on text compares the start, as in Taskwarrior

    def test_ambiguous_and_unknown_names(self) -> None:
        """An ambiguous prefix names its candidates; an unknown name suggests the nearest."""
        with pytest.raises(InvalidValue, match="ambiguous: it could be depends, description, due"):
            parse_filter(["d:x"], today=TODAY)
        with pytest.raises(InvalidValue) as caught:
            parse_filter(["priorty:H"], today=TODAY)
        assert "'priorty' is not an attribute" in caught.value.message
        assert (caught.value.hint or "").startswith("did you mean 'priority'?")

    def test_unknown_and_misapplied_modifiers(self) -> None:
        """An unknown modifier suggests the nearest; a modifier that does not fit the attribute lists those that do."""
        with pytest.raises(InvalidValue) as caught:
            parse_filter(["due.befor:today"], today=TODAY)
        assert (caught.value.hint or "").startswith("did you mean 'before'?")
        with pytest.raises(InvalidValue, match=r"due cannot be compared with \.has"):
            parse_filter(["due.has:x"], today=TODAY)

    def test_priority(self) -> None:
        """Priority by value, none, and by rank with above/below (none ranks lowest)."""
        tasks = [task(1, priority=Priority.HIGH), task(2, priority=Priority.MEDIUM), task(3, priority=Priority.LOW),
                 task(4)]
        assert ids(["priority:"], tasks) == [4]
        assert ids(["priority:none"], tasks) == [4]
        assert ids(["priority.not:M"], tasks) == [1, 3, 4]
        assert ids(["priority.above:L"], tasks) == [1, 2]
        assert ids(["priority.below:M"], tasks) == [3, 4]
        assert ids(["priority.by:M"], tasks) == [2, 3, 4]
        assert ids(["priority.any:"], tasks) == [1, 2, 3]
        with pytest.raises(InvalidValue, match="'urgent' is not a priority"):
            parse_filter(["priority:urgent"], today=TODAY)

    def test_dates_compare_as_days(self) -> None:
        """due:D is that day; before/after exclude it, by includes it; an empty value is no date."""
        tasks = [task(1, due=TODAY - dt.timedelta(days=1)), task(2, due=TODAY), task(3, due=TODAY + dt.timedelta(days=1)),
                 task(4)]
        assert ids(["due:today"], tasks) == [2]
        assert ids(["due.before:today"], tasks) == [1]
        assert ids(["due.after:today"], tasks) == [3]
        assert ids(["due.by:today"], tasks) == [1, 2]
        assert ids(["due.not:today"], tasks) == [1, 3, 4]
        assert ids(["due:"], tasks) == [4]
        assert ids(["due.any:"], tasks) == [1, 2, 3]
        assert ids(["due.before:2026-12-02"], tasks) == [1]
        with pytest.raises(InvalidValue, match=r"due\.before needs a date"):
            parse_filter(["due.before:"], today=TODAY)

    def test_moments_compare_by_local_day(self) -> None:
        """created/entry and the other moments are compared by the local day they fall on."""
        morning = dt.datetime.combine(TODAY, dt.time(9)).astimezone(dt.UTC)
        tasks = [task(1, created=morning - dt.timedelta(days=3), updated=morning), task(2, created=morning, updated=morning)]
        assert ids(["entry:today"], tasks) == [2]
        assert ids(["created.before:today"], tasks) == [1]
        assert ids(["modified:today"], tasks) == [1, 2]
        assert ids(["end:"], tasks) == [1, 2]

    def test_resolve_date_is_used(self) -> None:
        """A caller's date reader reads every date value."""
        seen: list[str] = []

        def resolve(text: str) -> dt.date:
            seen.append(text)
            return TODAY

        assert ids(["due:eow"], [task(1, due=TODAY), task(2)], resolve_date=resolve) == [1]
        assert seen == ["eow"]

    def test_status(self) -> None:
        """status: open/pending, done/completed, waiting, recurring; .not negates; deleted is explained."""
        tasks = [task(1), task(2, status=Status.DONE), task(3, wait=TODAY + dt.timedelta(days=1)),
                 task(4, status=Status.RECURRING, recur="daily", due=TODAY)]
        assert ids(["status:pending"], tasks) == [1, 3]
        assert ids(["status:completed"], tasks) == [2]
        assert ids(["status:waiting"], tasks) == [3]
        assert ids(["status:recurring"], tasks) == [4]
        assert ids(["status.not:open"], tasks) == [2, 4]
        with pytest.raises(InvalidValue) as caught:
            parse_filter(["status:deleted"], today=TODAY)
        assert "for good" in (caught.value.hint or "")

    def test_text_modifiers(self) -> None:
        """is, isnt, has, hasnt, startswith, endswith on the title, any case."""
        tasks = [task(1, title="Buy milk"), task(2, title="Sell the milk cow"), task(3, title="Walk")]
        assert ids(["title.is:'buy milk'"], tasks) == [1]
        assert ids(['title.isnt:"Buy milk"'], tasks) == [2, 3]
        assert ids(["title.has:milk"], tasks) == [1, 2]
        assert ids(["title.hasnt:milk"], tasks) == [3]
        assert ids(["title.left:sell"], tasks) == [2]
        assert ids(["title.right:cow"], tasks) == [2]
        assert ids(["note:"], tasks) == [1, 2, 3]

    def test_tags_id_uuid_recur(self) -> None:
        """tags:, id:, uuid: and recur: attributes."""
        tasks = [task(1, tags=("a", "b")), task(2, tags=("a",)), task(3)]
        assert ids(["tags:a"], tasks) == [1, 2]
        assert ids(["tags.is:a"], tasks) == [2]
        assert ids(["tags.hasnt:b"], tasks) == [2, 3]
        assert ids(["tags:"], tasks) == [3]
        assert ids(["id:2-3"], tasks) == [2, 3]
        assert ids(["id.before:2"], tasks) == [1]
        assert ids(["id.not:2"], tasks) == [1, 3]
        assert ids([f"uuid:{uuid.UUID(int=2)}"], tasks) == [2]
        series = [task(1, status=Status.RECURRING, recur="weekly", due=TODAY), task(2)]
        assert ids(["recur:weekly"], series) == [1]
        assert ids(["recur:"], series) == [2]

    def test_depends_by_id_and_uuid(self) -> None:
        """depends:ID uses the context's ids; depends:PREFIX the uuid's start."""
        tasks = [task(1), task(2, depends=(uuid.UUID(int=1),)), task(3)]
        assert ids(["depends:1"], tasks) == [2]
        assert ids(["depends:00000000-0000"], tasks) == [2]
        assert ids(["depends:"], tasks) == [1, 3]
        assert ids(["depends.not:1"], tasks) == [1, 3]


class TestBareWords:
    def test_ids_lists_and_ranges(self) -> None:
        """12, 1,3 and 2-3 select by id; ids side by side add up; .ids gives them to the caller."""
        tasks = [task(i) for i in range(1, 6)]
        assert ids(["1,4-5"], tasks) == [1, 4, 5]
        assert ids(["1", "3"], tasks) == [1, 3]
        flt = parse_filter(["1", "3-4"], today=TODAY)
        assert flt.ids == frozenset({1, 3, 4})
        assert flt.describe() == "1,3-4"
        assert parse_filter(["1", "or", "2"], today=TODAY).ids == frozenset({1, 2})
        assert parse_filter(["1", "+x"], today=TODAY).ids is None
        assert parse_filter(["id:1-2"], today=TODAY).ids == frozenset({1, 2})
        assert ids(["id:1", "2"], tasks) == []  # an attribute is joined by 'and', even to an id

    def test_uuid_prefix(self) -> None:
        """Eight or more hex digits (not all decimal) or a whole uuid select by the uuid's start."""
        tasks = [task(1), task(2, uuid=uuid.UUID("1000000a-0000-4000-8000-000000000000"))]
        assert ids(["1000000A"], tasks) == [2]
        assert ids([str(uuid.UUID(int=1))], tasks) == [1]
        assert ids(["1000000a", "1"], tasks) == [1, 2]  # side by side: either
        assert ids(["10000000"], tasks) == []  # all decimal digits: an id

    def test_words_search_title_note_and_annotations(self) -> None:
        """A bare word or /several words/ is found in the title, the note or an annotation, in any case."""
        tasks = [task(1, title="Call Anna"), task(2, note="ask anna"), task(3, annotations=(Annotation(NOON, "ANNA said"),)),
                 task(4, title="Call Bob")]
        assert ids(["anna"], tasks) == [1, 2, 3]
        assert ids(["/call anna/"], tasks) == [1]
        assert ids(["/ANNA said/"], tasks) == [3]


class TestPhrases:
    TASKS: ClassVar[list[Task]] = [task(1, title="Buy milk"), task(2, title="milk to buy", tags=("x",)),
                                   task(3, title="Buy bread")]

    def test_a_shell_quoted_phrase_is_one_term(self) -> None:
        """'buy milk' as one word searches the phrase; 'title.is:buy milk' compares the whole value."""
        assert ids(["buy milk"], self.TASKS) == [1]
        assert ids(["title.is:buy milk"], self.TASKS) == [1]
        assert parse_filter(["title.is:buy milk"], today=TODAY).describe() == "title.is:'buy milk'"

    def test_a_word_with_operators_or_terms_is_split(self) -> None:
        """A word holding an operator, a tag, an id or an attribute is cut into terms."""
        assert ids(["buy or +x"], self.TASKS) == [1, 2, 3]
        assert ids(["milk +x"], self.TASKS) == [2]
        assert ids(["(title.is:'buy milk' or +x)"], self.TASKS) == [1, 2]


class TestBoolean:
    TASKS: ClassVar[list[Task]] = [task(1, project="home", tags=("urgent",)), task(2, project="home", tags=("someday",)),
             task(3, tags=("urgent", "someday")), task(4)]

    def test_one_word_with_parentheses(self) -> None:
        """A single shell word holding parentheses and operators is tokenised inside."""
        assert ids(["(project:home or +urgent) and not +someday"], self.TASKS) == [1]

    def test_precedence(self) -> None:
        """not binds tighter than and, and than xor, xor than or."""
        assert ids(["+urgent", "or", "project:home", "+someday"], self.TASKS) == [1, 2, 3]
        assert ids(["not", "+urgent", "+someday"], self.TASKS) == [2]
        assert ids(["+urgent", "xor", "+someday"], self.TASKS) == [1, 2]
        assert ids(["+urgent", "xor", "+someday", "or", "project:home"], self.TASKS) == [1, 2]
        assert ids(["project:home", "or", "+urgent", "xor", "+someday"], self.TASKS) == [1, 2]

    def test_not_not(self) -> None:
        """not not X is X."""
        assert ids(["not", "not", "+urgent"], self.TASKS) == [1, 3]

    def test_describe_normalises(self) -> None:
        """describe() gives canonical names, explicit 'and', and parentheses only where needed."""
        flt = parse_filter(["pri:H", "(proj:home", "or", "+urgent)", "desc.contains:x"], today=TODAY)
        assert flt.describe() == "priority:H and (project:home or +urgent) and title.has:x"
        assert parse_filter([], today=TODAY).describe() == ""

    def test_status_hint(self) -> None:
        """A status pinned by a top-level 'and' term is hinted; under 'or' or 'not' it is not."""
        assert parse_filter(["status:done", "+x"], today=TODAY).status_hint is Status.DONE
        assert parse_filter(["+OVERDUE"], today=TODAY).status_hint is Status.OPEN
        assert parse_filter(["status:done", "or", "+x"], today=TODAY).status_hint is None
        assert parse_filter(["not", "status:done"], today=TODAY).status_hint is None
        assert parse_filter(["status.not:done"], today=TODAY).status_hint is None

    def test_empty_filter_matches_all(self) -> None:
        """No words, or only white space: every task."""
        assert ids([], self.TASKS) == [1, 2, 3, 4]
        assert ids(["", " \r\n"], self.TASKS) == [1, 2, 3, 4]


class TestErrors:
    @pytest.mark.parametrize(("words", "message"), [
        (["(+a"], "'(' at position 1 is never closed"),
        (["+a)"], "')' without its '(': ')' at position 2"),
        (["+a", "and"], "ends with the operator 'and' at position 2"),
        (["or", "+a"], "operator with nothing before it: 'or' at position 1"),
        (["+a", "and", "or", "+b"], "'or' at position 3"),
        (["not"], "ends with the operator 'not' at position 1"),
        (["()"], "empty or unclosed '(' at position 1"),
        (["(''"], "empty or unclosed '(' at position 1"),
        (["+"], "needs a tag after it"),
        (["//"], "an empty // searches for nothing"),
        (["0"], "is not a usable id"),
        (["5-3"], "is not a usable id"),
    ])
    def test_malformed_filters(self, words: list[str], message: str) -> None:
        """Each malformed filter is refused with a message that names what and where."""
        with pytest.raises(InvalidValue, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_filter(words, today=TODAY)

    def test_too_many_terms(self) -> None:
        """More than MAX_TERMS terms is refused, not slow."""
        parse_filter(["+a"] * MAX_TERMS, today=TODAY)
        with pytest.raises(InvalidValue, match=f"more than {MAX_TERMS} terms"):
            parse_filter(["+a"] * (MAX_TERMS + 1), today=TODAY)

    def test_too_deep(self) -> None:
        """Parentheses nested deeper than MAX_DEPTH are refused without a RecursionError."""
        parse_filter(["(" * MAX_DEPTH + "+a" + ")" * MAX_DEPTH], today=TODAY)
        with pytest.raises(InvalidValue, match=f"more than {MAX_DEPTH} deep"):
            parse_filter(["(" * (MAX_DEPTH + 1) + "+a" + ")" * (MAX_DEPTH + 1)], today=TODAY)
        for deep in ("(" * 5000 + "+a" + ")" * 5000, "not " * 5000 + "+a", "not (" * 300 + "+a" + ")" * 300):
            with pytest.raises(InvalidValue):
                parse_filter([deep], today=TODAY)

    def test_huge_id_range(self) -> None:
        """An id range wider than the limit is refused before it is built."""
        with pytest.raises(InvalidValue, match="at most 10,000 ids"):
            parse_filter(["1-99999999999"], today=TODAY)


# --- properties -------------------------------------------------------------------------------------------

_TAGS = ("a", "b", "c")
_ATOMS = ["+a", "-b", "+c", "project:home", "project.is:home", "priority:H", "priority:", "due.before:today", "due:",
          "+OVERDUE", "+BLOCKED", "+READY", "status:done", "title.has:x", "2-4", "+TAGGED", "depends:1"]


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(st.sampled_from(_ATOMS))
    kind = draw(st.sampled_from(["and", "or", "xor", "not", "implicit"]))
    left = draw(_expressions(depth + 1))
    if kind == "not":
        return f"not ({left})"
    right = draw(_expressions(depth + 1))
    return f"({left}) {right}" if kind == "implicit" else f"({left}) {kind} ({right})"


@st.composite
def _tasks(draw: st.DrawFn) -> list[Task]:
    count = draw(st.integers(1, 8))
    tasks = []
    for i in range(1, count + 1):
        done = draw(st.booleans())
        tasks.append(task(
            i, title=draw(st.sampled_from(["x", "y", "box"])),
            tags=tuple(sorted(draw(st.sets(st.sampled_from(_TAGS))))),
            project=draw(st.sampled_from([None, "home", "home.a", "homes"])),
            priority=draw(st.sampled_from([None, *Priority])),
            due=draw(st.sampled_from([None, TODAY - dt.timedelta(days=2), TODAY, TODAY + dt.timedelta(days=3)])),
            status=Status.DONE if done else Status.OPEN,
            depends=(uuid.UUID(int=1),) if i > 1 and draw(st.booleans()) else (),
        ))
    return tasks


class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(_expressions(), _tasks())
    def test_describe_round_trips(self, text: str, tasks: list[Task]) -> None:
        """Parsing describe()'s text again selects exactly the same tasks."""
        first = parse_filter([text], today=TODAY)
        again = parse_filter([first.describe()], today=TODAY)
        assert again.describe() == first.describe()
        assert again.select(tasks) == first.select(tasks)

    @settings(max_examples=200, deadline=None)
    @given(_expressions(), _expressions(), _tasks())
    def test_boolean_laws(self, a: str, b: str, tasks: list[Task]) -> None:
        """not is the complement, or the union, and the intersection, xor the symmetric difference."""
        ctx = FilterContext.build(tasks)

        def chosen(text: str) -> set[int]:
            return {t.id for t in parse_filter([text], today=TODAY).select(tasks, ctx)}

        every = {t.id for t in tasks}
        left, right = chosen(a), chosen(b)
        assert chosen(f"not ({a})") == every - left
        assert chosen(f"({a}) or ({b})") == left | right
        assert chosen(f"({a}) and ({b})") == left & right
        assert chosen(f"({a}) xor ({b})") == left ^ right

    @settings(max_examples=100, deadline=None)
    @given(_expressions(), _tasks())
    def test_status_hint_is_sound(self, text: str, tasks: list[Task]) -> None:
        """Every task a filter selects has the status its status_hint names."""
        flt = parse_filter([text], today=TODAY)
        if flt.status_hint is not None:
            assert all(t.status is flt.status_hint for t in flt.select(tasks))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text(max_size=12), max_size=6))
    def test_any_words_parse_or_fail_cleanly(self, words: list[str]) -> None:
        """Any words either parse or raise InvalidValue: never another exception."""
        try:
            flt = parse_filter(words, today=TODAY)
        except InvalidValue:
            return
        flt.select([task(1), task(2, tags=("a",))])
