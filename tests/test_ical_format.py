"""iCalendar VTODO (interchange/ical.py): what the icalendar package reads in the files we write, what we read in
files other programs (and the icalendar package) wrote, the round trip of every field, and one line for each kind
of bad input."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import attrs
import icalendar
import pytest
from dateutil import rrule as dateutil_rrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvault.domain.periods import normalize_period, nth_due
from taskvault.domain.task import Annotation, Priority, Status, Task, normalize_project, normalize_tag
from taskvault.errors import InvalidValue
from taskvault.interchange import ical
from taskvault.interchange.model import Batch, Source, day_of

FIXTURES = Path(__file__).parent / "fixtures" / "ical"
NOW = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)
U1 = uuid.UUID(int=1)
T0 = dt.datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=dt.UTC)

# --------------------------------------------------------------------------------------------- helpers

def as_the_model_makes_it(batch: Batch) -> Batch:
    """``batch``, each of whose tasks Task(...) makes the same of its fields (the reader builds them without
    running Task's rules again: this holds it to them)."""
    for incoming in batch.tasks:
        task = incoming.task
        assert Task(**{field.name: getattr(task, field.name) for field in attrs.fields(Task)}) == task
    return batch


def make(extra: tuple[tuple[str, Any], ...] = (), **fields: Any) -> Task:
    """A task, with these extra attributes."""
    fields.setdefault("id", 1)
    fields.setdefault("uuid", uuid.uuid4())
    fields.setdefault("title", "Buy milk")
    fields.setdefault("created", T0)
    fields.setdefault("updated", T0)
    return Task(**fields, extra=extra)


def extra_of(task: Task) -> dict[str, Any]:
    return dict(task.extra)


def written(tasks: list[Task]) -> str:
    return "".join(ical.write(tasks))


def outcome(data: bytes, name: str, *, line_by_line: bool = False) -> Batch | str:
    """What reading ``data`` gives: the batch, or the one line it is refused with. ``line_by_line``: without the
    path that reads a plain VTODO in one go (_Reading._whole_todo), which must decide exactly as this one."""
    with pytest.MonkeyPatch.context() as patch:
        if line_by_line:
            patch.setattr(ical._Reading, "_whole_todo", lambda self, *args: (0, 0))
        try:
            return ical.read([Source(data, name)], now=NOW)
        except InvalidValue as error:
            return str(error)


def read(text: str | bytes, name: str = "tasks.ics") -> Batch:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return as_the_model_makes_it(ical.read([Source(data, name)], now=NOW))


def calendar(*todos: str, head: str = "") -> str:
    """A VCALENDAR around these VTODO bodies (each a block of content lines, LF separated)."""
    parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *filter(None, [head])]
    for body in todos:
        parts += ["BEGIN:VTODO", body.strip("\n"), "END:VTODO"]
    return "\r\n".join([*parts, "END:VCALENDAR", ""]).replace("\n", "\r\n").replace("\r\r\n", "\r\n")


def only_task(text: str) -> Any:
    batch = read(text)
    assert len(batch.tasks) == 1, batch.tasks
    return batch.tasks[0].task


def notes(batch: Batch) -> list[str]:
    return [f"{note.where}: {note.field}: {note.what}" for note in batch.unmapped]


def todos_by_icalendar(text: str) -> list[icalendar.cal.Component]:
    return list(icalendar.Calendar.from_ical(text).walk("VTODO"))


def categories_of(component: icalendar.cal.Component) -> list[str]:
    value = component.get("CATEGORIES")
    if value is None:
        return []
    return [str(item) for each in (value if isinstance(value, list) else [value]) for item in each.cats]


# ------------------------------------------------------------------------------------------ strategies

_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
titles = st.text(_PRINTABLE, min_size=1, max_size=90).map(str.strip).filter(bool)
note_texts = st.text(st.one_of(_PRINTABLE, st.sampled_from("\n\t")), max_size=200).map(str.strip)
instants = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC))
days = st.dates()
periods = st.one_of(st.sampled_from(["daily", "weekdays", "weekly", "biweekly", "monthly", "quarterly", "yearly"]),
                    st.builds(lambda n, unit: normalize_period(f"{n}{unit}"), st.integers(1, 999), st.sampled_from("dwmqy")))


def _tag(text: str) -> str | None:
    try:
        return normalize_tag(text)
    except InvalidValue:
        return None


def _project(text: str) -> str | None:
    try:
        return normalize_project(text)
    except InvalidValue:
        return None


tags = st.lists(st.text(_PRINTABLE, min_size=1, max_size=12).map(_tag).filter(bool), max_size=4).map(
    lambda found: tuple(sorted(set(found))))  # type: ignore[arg-type]
projects = st.text(_PRINTABLE, min_size=1, max_size=30).map(_project).filter(bool)
extra_names = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,30}", fullmatch=True),
                        st.sampled_from(["ical.X-FOO", "ical.LOCATION", "ical.VALARM", "ical.SUMMARY", "ical.DUE",
                                         "ical.UID", "ical.RRULE", "ical.CATEGORIES", "tw.estimate", "ical.EXDATE"]))
extra_values = st.one_of(
    st.text(st.one_of(_PRINTABLE, st.sampled_from("\n\t")), max_size=80),
    st.integers(-(2**63) + 1, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["X-FOO;A=b:some value", "LOCATION:Room 4\\, second floor", "X-FOO:1\nX-FOO:2",
                     "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nEND:VALARM", "EXDATE:20260101",
                     "BEGIN:VALARM\nEND:VFOO", "BEGIN:VALARM\nBEGIN:X-A\nEND:VALARM\nEND:X-A", "END:VALARM",
                     "BEGIN:VALARM\nX-A:1\nEND:VALARM\nBEGIN:VALARM\nEND:VALARM",
                     "SUMMARY;LANGUAGE=en:Buy milk", "DUE;TZID=Europe/Berlin:20260301T120000", "RRULE:FREQ=HOURLY"]),
)


_KEPT_NAMES = ["UID", "SUMMARY", "DESCRIPTION", "DUE", "DTSTART", "PRIORITY", "CATEGORIES", "RRULE", "EXDATE",
               "RDATE", "LOCATION", "RELATED-TO", "COMMENT", "X-TASKVAULT-PROJECT", "SEQUENCE", "GEO", "DURATION",
               "TRIGGER", "X-FOO"]
_KEPT_VALUES = ["20260301", "20260301T120000", "20260301T120000Z", "Buy milk", "buy,milk", "Work,home", "home",
                "2", "5", "0", "10", "FREQ=DAILY", "FREQ=MONTHLY;COUNT=3", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
                "FREQ=HOURLY", "FREQ=YEARLY;UNTIL=20300101", "a@example.org", "00000000-0000-0000-0000-000000000001",
                "PT15M", "-P1D", "P", "1.5;-2.25", "20260301/PT1H"]


@st.composite
def kept_lines(draw: st.DrawFn) -> tuple[str, str]:
    """An extra attribute named after a property the reader maps (or keeps), holding lines much like it."""
    name = draw(st.sampled_from(_KEPT_NAMES))
    lines = []
    for _ in range(draw(st.integers(1, 2))):
        params = draw(st.sampled_from(["", ";VALUE=DATE", ";TZID=Europe/Berlin", ";LANGUAGE=de", ";RELTYPE=DEPENDS-ON",
                                       ";RELTYPE=PARENT", ";X-TASKVAULT-AT=20260301T120000.000000Z", ";VALUE=INTEGER",
                                       ";VALUE=DATE-TIME", ";VALUE=PERIOD"]))
        lines.append(f"{draw(st.sampled_from([name, name.lower(), 'X-OTHER']))}{params}:"
                     f"{draw(st.sampled_from(_KEPT_VALUES))}")
    return f"ical.{name}", "\n".join(lines)


@st.composite
def task_values(draw: st.DrawFn, task_id: int = 1) -> Task:
    """Any task the model allows: each status, a series' template and instances, every field."""
    kind = draw(st.sampled_from(["open", "started", "done", "template", "instance", "recurring"]))
    created = draw(instants)
    updated = max(created, draw(instants))
    own = draw(st.uuids())
    fields: dict[str, Any] = {
        "id": task_id, "uuid": own, "title": draw(titles), "created": created, "updated": updated,
        "note": draw(note_texts), "priority": draw(st.none() | st.sampled_from(Priority)), "tags": draw(tags),
        "due": draw(st.none() | days), "project": draw(st.none() | projects), "scheduled": draw(st.none() | days),
        "wait": draw(st.none() | days), "until": draw(st.none() | days),
        "depends": tuple(sorted({u for u in draw(st.lists(st.uuids(), max_size=3)) if u != own})),
        "annotations": tuple(sorted((Annotation(at=at, text=text) for at, text in draw(
            st.lists(st.tuples(instants, titles), max_size=3))), key=lambda a: a.at)),
    }
    if kind == "started":
        fields["started"] = draw(instants)
    elif kind == "done":
        fields.update(status=Status.DONE, completed=draw(instants))
    elif kind == "template":
        fields.update(status=Status.RECURRING, recur=draw(periods), due=draw(days), index=draw(st.integers(0, 500)))
    elif kind == "instance":
        fields.update(recur=draw(periods), parent=draw(st.uuids().filter(lambda u: u != own)),
                      index=draw(st.integers(1, 500)), status=draw(st.sampled_from([Status.OPEN, Status.DONE])))
        if fields["status"] is Status.DONE:
            fields["completed"] = draw(instants)
    elif kind == "recurring":  # a period on a task that is no series (the model allows it)
        fields["recur"] = draw(periods)
    extra_entries = draw(st.dictionaries(extra_names, extra_values, max_size=4))
    extra_entries.update(draw(st.lists(kept_lines(), max_size=2)))
    return make(tuple(sorted(extra_entries.items())), **fields)


task_lists = st.lists(st.integers(), min_size=1, max_size=4).flatmap(
    lambda seeds: st.tuples(*(task_values(i + 1) for i in range(len(seeds)))))

hypothesis_settings = settings(max_examples=150, deadline=None,
                               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ------------------------------------------------------------------------- the files we write, read by icalendar


def _status(task: Any) -> str:
    if task.status is Status.DONE:
        return "COMPLETED"
    return "IN-PROCESS" if task.started is not None else "NEEDS-ACTION"


def _seconds(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


class TestWrittenFileReadByIcalendar:
    """Every file we write is iCalendar the icalendar package reads, with the tasks' values."""

    @hypothesis_settings
    @given(tasks=task_lists)
    def test_icalendar_reads_every_field_as_the_tasks_have_it(self, tasks: tuple[Any, ...]) -> None:
        """UID, SUMMARY, DESCRIPTION, STATUS, DUE, COMPLETED, PRIORITY, CATEGORIES, CREATED, LAST-MODIFIED, DTSTAMP
        and RRULE read by icalendar equal the tasks' fields."""
        text = written(list(tasks))
        components = todos_by_icalendar(text)
        assert len(components) == len(tasks)
        for task, todo in zip(tasks, components, strict=True):
            kept_uid = extra_of(task).get("ical.UID")
            if kept_uid is None:
                assert str(todo["UID"]) == str(task.uuid)
            assert str(todo["SUMMARY"]) == task.title or "ical.SUMMARY" in extra_of(task)
            assert str(todo.get("DESCRIPTION", "")) == task.note or "ical.DESCRIPTION" in extra_of(task)
            assert str(todo["STATUS"]) == _status(task)
            assert todo.decoded("CREATED") == _seconds(task.created)
            assert todo.decoded("LAST-MODIFIED") == _seconds(task.updated)
            assert todo.decoded("DTSTAMP") == _seconds(task.updated)
            if task.completed is not None:
                assert todo.decoded("COMPLETED") == _seconds(task.completed)
            else:
                assert "COMPLETED" not in todo
            priority = {None: None, Priority.HIGH: 1, Priority.MEDIUM: 5, Priority.LOW: 9}[task.priority]
            if "ical.PRIORITY" not in extra_of(task):
                assert todo.get("PRIORITY") == priority
            if "ical.CATEGORIES" not in extra_of(task):
                assert categories_of(todo) == list(task.tags)
            if "ical.DUE" not in extra_of(task):
                assert (todo.decoded("DUE") if "DUE" in todo else None) == task.due
            if task.status is Status.RECURRING:
                assert "RRULE" in todo
            elif "ical.RRULE" not in extra_of(task):
                assert "RRULE" not in todo

    @hypothesis_settings
    @given(tasks=task_lists)
    def test_lines_are_crlf_and_at_most_75_octets(self, tasks: tuple[Any, ...]) -> None:
        """Every physical line ends in CRLF and holds at most 75 octets, and each decodes as UTF-8 by itself (no
        character is cut by a fold)."""
        data = written(list(tasks)).encode("utf-8")
        assert data.endswith(b"\r\n")
        lines = data.split(b"\r\n")[:-1]
        assert all(b"\n" not in line and b"\r" not in line for line in lines)
        for line in lines:
            assert len(line) <= 75, line
            line.decode("utf-8")  # raises if a fold cut a character

    @pytest.mark.parametrize("char", ["😀", "中", "é", "👩‍👩‍👧"])
    @pytest.mark.parametrize("before", range(60, 75))
    def test_a_wide_character_at_the_fold_point(self, char: str, before: int) -> None:
        """A title whose emoji, CJK or accented letter straddles octet 75 is folded before the character, and both
        icalendar and our reader get the title back whole."""
        title = "a" * (before - len("SUMMARY:")) + char * 3 + " and more words to fold"
        task = make(title=title)
        text = written([task])
        for line in text.encode("utf-8").split(b"\r\n"):
            assert len(line) <= 75
            line.decode("utf-8")
        assert str(todos_by_icalendar(text)[0]["SUMMARY"]) == title
        assert only_task(text).title == title

    def test_text_is_escaped(self) -> None:
        """Commas, semicolons, backslashes and line breaks are escaped in TEXT, and read back as they were."""
        title = r"Call Ann, Bob; and C:\temp \n twice"
        note = "first line, still\nsecond; line \\ with a backslash\n\nafter a blank line"
        task = make(title=title, note=note, project="home.kitchen", tags=("a;b", "c\\d"))
        text = written([task])
        assert r"SUMMARY:Call Ann\, Bob\; and C:\\temp \\n twice" in text
        assert r"CATEGORIES:a\;b,c\\d" in text
        todo = todos_by_icalendar(text)[0]
        assert (str(todo["SUMMARY"]), str(todo["DESCRIPTION"])) == (title, note)
        assert categories_of(todo) == ["a;b", "c\\d"]
        back = only_task(text)
        assert (back.title, back.note, back.tags) == (title, note, ("a;b", "c\\d"))

    def test_the_calendar_says_its_version_and_maker(self) -> None:
        """The file is one VCALENDAR of VERSION 2.0 by PRODID -//taskvault//EN, each VTODO with a DTSTAMP."""
        text = written([make(), make(title="Second")])
        assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//taskvault//EN\r\n")
        assert text.endswith("END:VCALENDAR\r\n")
        parsed = icalendar.Calendar.from_ical(text)
        assert str(parsed["VERSION"]) == "2.0"
        assert all("DTSTAMP" in todo for todo in parsed.walk("VTODO"))

    def test_no_tasks_is_an_empty_calendar(self) -> None:
        """Writing no tasks gives a calendar without to-dos, which reads back as nothing."""
        text = written([])
        assert todos_by_icalendar(text) == []
        assert read(text).tasks == ()

    def test_the_writer_streams(self) -> None:
        """The text comes in pieces, a few hundred tasks each, not as one string."""
        tasks = [make(id=n, title=f"Task {n}") for n in range(1, 1001)]
        pieces = list(ical.write(tasks))
        assert len(pieces) >= 5
        assert max(len(piece) for piece in pieces) < len("".join(pieces)) / 4

    @settings(max_examples=300, deadline=None)
    @given(period=periods, first=st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)), end=st.none() | st.integers(0, 40))
    def test_the_rrule_makes_taskvaults_due_dates(self, period: str, first: dt.date, end: int | None) -> None:
        """The RRULE written for a series, expanded by dateutil from the icalendar package's reading of it, gives
        the due dates taskvault gives its instances (month ends and Feb 29 included), and stops at its until."""
        until = first + dt.timedelta(days=end * 17) if end is not None else None
        template = make(status=Status.RECURRING, recur=period, due=first, until=until, index=1)
        todo = todos_by_icalendar(written([template]))[0]
        rule = dateutil_rrule.rrulestr(todo["RRULE"].to_ical().decode(), dtstart=dt.datetime.combine(first, dt.time()))
        theirs = []
        for occurrence in rule:
            if occurrence.date() > first:
                theirs.append(occurrence.date())
            if len(theirs) == 8:
                break
        ours = []
        for n in range(2, 10):
            try:
                due = nth_due(period, first, n)
            except InvalidValue:
                break
            if until is not None and due > until:
                break
            ours.append(due)
        assert theirs == ours


# ------------------------------------------------------------------------------------------- round trip


class TestRoundTrip:
    """What we write reads back as the same tasks."""

    @hypothesis_settings
    @given(tasks=task_lists)
    def test_every_field_comes_back(self, tasks: tuple[Any, ...]) -> None:
        """write then read gives the same tasks, every field and extra attribute (ids are places in the file),
        whether each VTODO is read in one go or line by line."""
        text = written(list(tasks))
        batch = read(text)
        assert outcome(text.encode(), "tasks.ics", line_by_line=True) == batch
        assert [incoming.task for incoming in batch.tasks] == list(tasks)
        assert batch.skipped == ()
        assert all(incoming.where.startswith("tasks.ics line ") for incoming in batch.tasks)

    @hypothesis_settings
    @given(tasks=task_lists)
    def test_written_again_the_same_text(self, tasks: tuple[Any, ...]) -> None:
        """Reading an export and writing it again gives the same text: nothing drifts."""
        text = written(list(tasks))
        assert written([incoming.task for incoming in read(text).tasks]) == text

    @pytest.mark.parametrize(("value", "as_lines"), [
        ("BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nEND:VALARM", True),
        ("BEGIN:VALARM\nX-A:1\nEND:VALARM\nBEGIN:VALARM\nBEGIN:X-B\nEND:X-B\nEND:VALARM", True),
        ("BEGIN:VALARM\nEND:VFOO", False),
        ("BEGIN:VALARM\nBEGIN:X-A\nEND:VALARM\nEND:X-A", False),
        ("BEGIN:VALARM\nACTION:DISPLAY", False),
        ("END:VALARM", False),
        ("BEGIN:VEVENT\nEND:VEVENT", False),
        ("BEGIN:VALARM\nEND:VALARM\nX-A:1", False),
    ])
    def test_kept_components_are_written_as_lines_only_when_whole(self, value: str,
                                                                  as_lines: bool) -> None:
        """Kept component lines are written as they are only when each BEGIN has its END (and no VEVENT or the like
        goes inside a VTODO); else as X-TASKVAULT-EXTRA. Either way they read back the same."""
        task = make((("ical.VALARM", value),))
        text = written([task])
        assert ("X-TASKVAULT-EXTRA;X-KEY=ical.VALARM" not in text) is as_lines
        assert read(text).tasks[0].task == task

    def test_a_series_stays_a_series(self) -> None:
        """A template (with its period spelled as taskvault spells it) and its instances come back as they were."""
        template = make(status=Status.RECURRING, recur="quarterly", due=dt.date(2026, 1, 31), until=dt.date(2027, 6, 30),
                        index=2, title="Pay the rent")
        first = make(id=2, recur="quarterly", due=dt.date(2026, 1, 31), parent=template.uuid, index=1,
                     status=Status.DONE, completed=T0, title="Pay the rent")
        second = make(id=3, recur="quarterly", due=dt.date(2026, 4, 30), parent=template.uuid, index=2,
                      title="Pay the rent", depends=(first.uuid,))
        text = written([template, first, second])
        assert "RRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=28,29,30,31;BYSETPOS=-1;UNTIL=20270630" in text.replace("\r\n ", "")
        assert [i.task for i in read(text).tasks] == [template, first, second]


# ----------------------------------------------------------------------------- files the icalendar package made


class TestIcalendarPackageFiles:
    """Calendars the icalendar package builds import as what they say."""

    def test_a_calendar_built_with_icalendar(self) -> None:
        """Summary, description, status, priority, categories (with a comma in one), dates, a zone, a recurrence,
        a dependency and an unknown property, as icalendar writes them."""
        from zoneinfo import ZoneInfo

        cal = icalendar.Calendar()
        cal.add("prodid", "-//icalendar test//EN")
        cal.add("version", "2.0")
        first = icalendar.Todo()
        first.add("uid", "first@example.org")
        first.add("dtstamp", dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC))
        first.add("created", dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC))
        first.add("last-modified", dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC))
        first.add("summary", "Plan the trip; book rooms, trains")
        first.add("description", "Hotels:\nOne, two; three \\ four")
        first.add("status", "NEEDS-ACTION")
        first.add("priority", 5)
        first.add("categories", ["travel", "Family Stuff", "a,b"])
        first.add("due", dt.date(2026, 4, 1))
        first.add("dtstart", dt.datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")))
        first.add("x-custom", "kept as it is")
        cal.add_component(first)
        second = icalendar.Todo()
        second.add("uid", str(uuid.UUID(int=7)))
        second.add("dtstamp", dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
        second.add("summary", "Water the plants")
        second.add("due", dt.date(2026, 3, 3))
        second.add("rrule", {"freq": "weekly", "interval": 2})
        second.add("related-to", "first@example.org", parameters={"RELTYPE": "DEPENDS-ON"})
        cal.add_component(second)
        done = icalendar.Todo()
        done.add("uid", "done@example.org")
        done.add("dtstamp", dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC))
        done.add("summary", "Renew the passport")
        done.add("status", "COMPLETED")
        done.add("completed", dt.datetime(2026, 3, 3, 7, 59, tzinfo=dt.UTC))
        done.add("priority", 2)
        cal.add_component(done)

        batch = read(cal.to_ical(), "icalendar.ics")
        plan, template, instance, renewed = (incoming.task for incoming in batch.tasks)
        assert plan.uuid == uuid.uuid5(ical.UUID_NAMESPACE, "first@example.org")
        assert (plan.title, plan.note) == ("Plan the trip; book rooms, trains", "Hotels:\nOne, two; three \\ four")
        assert (plan.priority, plan.due, plan.status) == (Priority.MEDIUM, dt.date(2026, 4, 1), Status.OPEN)
        assert plan.scheduled == day_of(dt.datetime(2026, 3, 20, 11, 0, tzinfo=dt.UTC))
        assert plan.tags == ("family-stuff", "travel")
        assert (plan.created, plan.updated) == (dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC),
                                                dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC))
        assert extra_of(plan)["ical.X-CUSTOM"] == "X-CUSTOM:kept as it is"
        assert extra_of(plan)["ical.DTSTART"].startswith("DTSTART;TZID=Europe/Berlin:20260320T120000")
        assert (template.status, template.recur, template.due) == (Status.RECURRING, "biweekly", dt.date(2026, 3, 3))
        assert (instance.parent, instance.index, instance.status) == (template.uuid, 1, Status.OPEN)
        assert template.depends == instance.depends == (plan.uuid,)
        assert (renewed.status, renewed.completed, renewed.priority) == (
            Status.DONE, dt.datetime(2026, 3, 3, 7, 59, tzinfo=dt.UTC), Priority.HIGH)
        assert any("'a,b' cannot be tags" in note for note in notes(batch))

        again = written([incoming.task for incoming in batch.tasks])
        assert "UID:first@example.org" in again and "RELATED-TO;RELTYPE=DEPENDS-ON:first@example.org" in again
        assert "X-CUSTOM:kept as it is" in again and "PRIORITY:2" in again
        back = todos_by_icalendar(again)
        assert categories_of(back[0]) == ["travel", "Family Stuff", "a,b"]
        assert [i.task for i in read(again, "icalendar.ics").tasks] == [
            i.task for i in batch.tasks]


# ------------------------------------------------------------------------------- files other programs wrote


def _fixture(name: str) -> Batch:
    return as_the_model_makes_it(ical.read([Source((FIXTURES / name).read_bytes(), name)], now=NOW))


class TestOtherProgramsFiles:
    """Files as Thunderbird, Apple Reminders, Nextcloud Tasks, Synology and RFC 5545's examples have them (see
    fixtures/ical/README.md) import as what they say, and go back out with what taskvault has no field for."""

    @pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.ics")))
    def test_the_fixture_is_icalendar(self, name: str) -> None:
        """Each fixture is a calendar the icalendar package reads (so it is a fair test of ours)."""
        assert todos_by_icalendar((FIXTURES / name).read_text(encoding="utf-8"))

    @pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.ics")))
    def test_exported_and_read_again_nothing_changes(self, name: str) -> None:
        """Imported, exported and imported again, each file gives the same tasks; the export is iCalendar the
        icalendar package reads, and every line the import kept in extra is in it as it was."""
        batch = _fixture(name)
        assert outcome((FIXTURES / name).read_bytes(), name, line_by_line=True) == batch
        text = written([incoming.task for incoming in batch.tasks])
        assert len(todos_by_icalendar(text)) == len(batch.tasks)
        again = read(text, name)
        assert [i.task for i in again.tasks] == [i.task for i in batch.tasks]
        for incoming in batch.tasks:
            for key, value in extra_of(incoming.task).items():
                if key.startswith("ical.") and "\n" not in value:
                    assert value in text.replace("\r\n ", ""), (key, value)

    def test_thunderbird(self) -> None:
        """Thunderbird: a time of day in a zone given by its VTIMEZONE, a VALARM, IN-PROCESS, a weekly series, a
        completed to-do; the event beside them skipped."""
        batch = _fixture("thunderbird.ics")
        car, report, plants, plants_first, bill = (incoming.task for incoming in batch.tasks)
        assert car.title == "Book the car in for its service"
        assert car.due == day_of(dt.datetime(2026, 3, 10, 19, 0, tzinfo=dt.UTC))  # 14:00 in Chicago (CDT from Mar 8)
        assert car.note == ("Ask about the rattle on the passenger side, and whether the tyres need changing "
                            "before the trip.\nGarage: 555-0142")
        assert (car.priority, car.tags) == (Priority.HIGH, ("car", "errands"))
        assert extra_of(car)["ical.VALARM"].splitlines()[0] == "BEGIN:VALARM"
        assert extra_of(car)["ical.X-MOZ-GENERATION"] == "X-MOZ-GENERATION:3"
        assert extra_of(car)["ical.CATEGORIES"] == "CATEGORIES:Car,Errands"
        assert (report.started, report.scheduled, report.due) == (
            dt.datetime(2026, 3, 1, 10, 5, tzinfo=dt.UTC), dt.date(2026, 3, 1), dt.date(2026, 3, 31))
        assert (plants.status, plants.recur, plants.due, plants.index) == (Status.RECURRING, "weekly",
                                                                            dt.date(2026, 1, 6), 1)
        assert (plants_first.parent, plants_first.status, plants_first.due) == (plants.uuid, Status.OPEN,
                                                                               dt.date(2026, 1, 6))
        assert (bill.status, bill.completed) == (Status.DONE, dt.datetime(2025, 11, 22, 10, 10, 10, tzinfo=dt.UTC))
        assert [(n.where, n.field) for n in batch.skipped] == [("thunderbird.ics line 75", "VEVENT")]
        assert ("thunderbird.ics line 45: STATUS: IN-PROCESS: started, at LAST-MODIFIED (iCalendar gives no start "
                "time)") in notes(batch)
        text = written([incoming.task for incoming in batch.tasks])
        assert "DUE;TZID=America/Chicago:20260310T140000" in text
        assert "TRIGGER;VALUE=DURATION:-PT15M" in text and "STATUS:IN-PROCESS" in text

    def test_apple_reminders(self) -> None:
        """Apple Reminders: uuids in capitals (the same uuid, written back in capitals), the zone defined after the
        to-dos, a daily series at a time of day, X-APPLE-SORT-ORDER."""
        batch = _fixture("apple-reminders.ics")
        stamps, vitamins, vitamins_first, cables = (incoming.task for incoming in batch.tasks)
        assert stamps.uuid == uuid.UUID("8e0b5c2a-3f71-4d9a-b6c4-2a7e91d05f38")
        assert (stamps.priority, extra_of(stamps)["ical.X-APPLE-SORT-ORDER"]) == (Priority.LOW,
                                                                                  "X-APPLE-SORT-ORDER:762537827")
        assert (vitamins.status, vitamins.recur) == (Status.RECURRING, "daily")
        assert vitamins.due == day_of(dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC))  # 14:00 CST
        assert vitamins_first.parent == vitamins.uuid
        assert (cables.status, cables.note) == (Status.DONE, "Both the 2 m and the 5 m ones")
        text = written([incoming.task for incoming in batch.tasks])
        assert "UID:8E0B5C2A-3F71-4D9A-B6C4-2A7E91D05F38" in text
        assert "RRULE:FREQ=DAILY\r\n" in text
        assert "X-WR-ALARMUID:1D6E8A3C-5B2F-4E71-9A0C-3F5B7D9E1A24" in text

    def test_nextcloud_tasks(self) -> None:
        """Nextcloud Tasks: floating times (local), UIDs that are not uuids, CATEGORIES twice, PRIORITY:3, a
        subtask relation kept as it is."""
        batch = _fixture("nextcloud-tasks.ics")
        garden, seeds = (incoming.task for incoming in batch.tasks)
        assert garden.uuid == uuid.uuid5(ical.UUID_NAMESPACE, "ymv2zg9t2p")
        assert garden.created == dt.datetime(2026, 3, 3, 16, 32, 3).astimezone().astimezone(dt.UTC)
        assert (garden.due, garden.priority) == (dt.date(2026, 3, 20), Priority.HIGH)
        assert garden.tags == ("garden", "outside", "spring")
        assert extra_of(garden)["ical.PRIORITY"] == "PRIORITY:3"
        assert extra_of(seeds)["ical.RELATED-TO"] == "RELATED-TO;RELTYPE=PARENT:ymv2zg9t2p"
        assert (seeds.priority, seeds.tags, seeds.depends) == (None, ("garden",), ())
        text = written([incoming.task for incoming in batch.tasks])
        assert "UID:ymv2zg9t2p" in text and "CATEGORIES:Garden,Spring\r\nCATEGORIES:outside" in text

    def test_synology(self) -> None:
        """Synology: a non-standard name with an underscore kept, COMPLETED missing (taken as DTSTAMP)."""
        batch = _fixture("synology.ics")
        (domain,) = (incoming.task for incoming in batch.tasks)
        assert (domain.status, domain.due, domain.scheduled) == (Status.DONE, dt.date(2026, 1, 12), dt.date(2026, 1, 12))
        assert domain.completed == dt.datetime(2026, 1, 11, 8, 55, 1).astimezone().astimezone(dt.UTC)
        assert extra_of(domain)["ical.PERCENT_COMPLETE"] == "PERCENT_COMPLETE:100"
        assert extra_of(domain)["ical.LAST-MOD"] == "LAST-MOD:20260111T085501"
        assert domain.priority is None

    def test_rfc5545_examples(self) -> None:
        """RFC 5545's to-dos: capital categories, a COMPLETED on a to-do that needs action (ignored, said so), a
        VALARM with a folded ATTACH; the VJOURNAL skipped."""
        batch = _fixture("rfc5545.ics")
        taxes, draft, income = (incoming.task for incoming in batch.tasks)
        assert (taxes.tags, taxes.due) == (("family", "finance"), dt.date(2026, 5, 1))
        assert extra_of(taxes)["ical.CLASS"] == "CLASS:CONFIDENTIAL"
        assert (draft.status, draft.completed, draft.priority) == (Status.OPEN, None, Priority.HIGH)
        assert ("rfc5545.ics line 18: COMPLETED: ignored: the to-do is NEEDS-ACTION, not completed"
                in notes(batch))
        assert "ATTACH;FMTTYPE=audio/basic:http://example.com/pub/audio-files/ssbanner.aud" in extra_of(
            income)["ical.VALARM"].splitlines()
        assert income.due == dt.date(2026, 4, 15)
        assert [(n.where, n.field) for n in batch.skipped] == [("rfc5545.ics line 41", "VJOURNAL")]


# ------------------------------------------------------------------------------------------------ mapping


class TestIdentity:
    """UID is the task's identity: the same file read twice gives the same uuids."""

    def test_a_uid_that_is_a_uuid(self) -> None:
        """A UID that is a uuid is the task's uuid, and nothing is kept."""
        own = uuid.uuid4()
        task = only_task(calendar(f"UID:{own}\nSUMMARY:x"))
        assert task.uuid == own

    def test_a_uid_that_is_not_a_uuid(self) -> None:
        """Another UID gives a uuid made from it (the same every time), and is kept so the export writes it."""
        text = calendar("UID:20260313T123432Z-456553@example.com\nSUMMARY:x")
        task = only_task(text)
        assert task.uuid == uuid.uuid5(ical.UUID_NAMESPACE, "20260313T123432Z-456553@example.com")
        assert only_task(text).uuid == task.uuid
        assert "UID:20260313T123432Z-456553@example.com\r\n" in written([task])

    def test_a_uuid_in_capitals_keeps_its_capitals(self) -> None:
        """A uuid written in capitals is that uuid; the export writes it in capitals again."""
        task = only_task(calendar("UID:8E0B5C2A-3F71-4D9A-B6C4-2A7E91D05F38\nSUMMARY:x"))
        assert task.uuid == uuid.UUID("8e0b5c2a-3f71-4d9a-b6c4-2a7e91d05f38")
        assert "UID:8E0B5C2A-3F71-4D9A-B6C4-2A7E91D05F38\r\n" in written([task])

    def test_no_uid(self) -> None:
        """Without a UID the uuid is made from the to-do's content and its place among identical ones: a second
        read gives the same uuids, and two identical to-dos get two."""
        text = calendar("SUMMARY:Same", "SUMMARY:Same", "SUMMARY:Other")
        first = [incoming.task.uuid for incoming in read(text).tasks]
        assert len(set(first)) == 3
        assert [incoming.task.uuid for incoming in read(text).tasks] == first
        assert "tasks.ics line 4: UID: none: the task's uuid is" in notes(read(text))[0]

    def test_a_dependency_by_uid(self) -> None:
        """RELATED-TO;RELTYPE=DEPENDS-ON (RFC 9253) names the task it depends on by its UID, also one that is not
        a uuid; the export names it by that UID again."""
        text = calendar("UID:a@example.org\nSUMMARY:First", "UID:b@example.org\nSUMMARY:Second\n"
                        "RELATED-TO;RELTYPE=DEPENDS-ON:a@example.org\nRELATED-TO;RELTYPE=PARENT:a@example.org")
        first, second = (incoming.task for incoming in read(text).tasks)
        assert second.depends == (first.uuid,)
        assert extra_of(second)["ical.RELATED-TO"] == "RELATED-TO;RELTYPE=PARENT:a@example.org"
        out = written([first, second])
        assert "RELATED-TO;RELTYPE=DEPENDS-ON:a@example.org\r\n" in out
        assert "RELATED-TO;RELTYPE=PARENT:a@example.org\r\n" in out


class TestFields:
    """Each property becomes the field it names, as RFC 5545 defines it."""

    @pytest.mark.parametrize(("number", "priority"), [(0, None), (1, Priority.HIGH), (2, Priority.HIGH),
                                                      (4, Priority.HIGH), (5, Priority.MEDIUM), (6, Priority.LOW),
                                                      (9, Priority.LOW)])
    def test_priority(self, number: int, priority: Priority | None) -> None:
        """PRIORITY 1-4 is high, 5 medium, 6-9 low, 0 none (RFC 5545 3.8.1.9); a number other than 1, 5 or 9 is kept
        and written back while the priority says the same."""
        task = only_task(calendar(f"UID:{uuid.UUID(int=1)}\nSUMMARY:x\nPRIORITY:{number}"))
        assert task.priority is priority
        out = written([task])
        expected = {0: "", 1: "PRIORITY:1", 5: "PRIORITY:5", 9: "PRIORITY:9"}.get(number, f"PRIORITY:{number}")
        assert (expected in out) if expected else "PRIORITY" not in out
        other = Priority.MEDIUM if priority is not Priority.MEDIUM else Priority.HIGH
        assert f"PRIORITY:{5 if other is Priority.MEDIUM else 1}\r\n" in written([attrs.evolve(task, priority=other)])

    def test_categories(self) -> None:
        """CATEGORIES, once or more, comma lists with escaped commas: tags in lower case, spaces as -, a category no
        tag can hold (a comma in it) kept with the others in extra."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:x\nCATEGORIES:Work,Home Office\nCATEGORIES:a\\,b,,work\nCATEGORIES:"))
        task = batch.tasks[0].task
        assert task.tags == ("home-office", "work")
        assert extra_of(task)["ical.CATEGORIES"] == "CATEGORIES:Work,Home Office\nCATEGORIES:a\\,b,,work\nCATEGORIES:"
        assert any("CATEGORIES: 'a,b' cannot be tags" in note for note in notes(batch))

    def test_categories_already_tags_are_not_kept(self) -> None:
        """Categories that are tags as written leave nothing in extra."""
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x\nCATEGORIES:home,work\nCATEGORIES:errand"))
        assert task.tags == ("errand", "home", "work")
        assert "ical.CATEGORIES" not in extra_of(task)

    @pytest.mark.parametrize(("lines", "status", "done", "started"), [
        ("STATUS:NEEDS-ACTION", Status.OPEN, False, False),
        ("", Status.OPEN, False, False),
        ("STATUS:IN-PROCESS", Status.OPEN, False, True),
        ("STATUS:COMPLETED\nCOMPLETED:20260302T100000Z", Status.DONE, True, False),
        ("COMPLETED:20260302T100000Z", Status.DONE, True, False),
        ("STATUS:COMPLETED", Status.DONE, True, False),
        ("status:completed\ncompleted:20260302T100000Z", Status.DONE, True, False),
    ])
    def test_status(self, lines: str, status: Status, done: bool, started: bool) -> None:
        """NEEDS-ACTION (or none) is open, IN-PROCESS open and started (at LAST-MODIFIED), COMPLETED (or a COMPLETED
        time alone) done, at COMPLETED or else at LAST-MODIFIED; names and values in any case."""
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x\nLAST-MODIFIED:20260301T080000Z\n{lines}"))
        assert task.status is status
        assert (task.completed is not None) is done
        if lines.startswith(("STATUS:COMPLETED\nCOMPLETED", "COMPLETED")):
            assert task.completed == dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
        assert (task.started == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)) is started

    def test_cancelled_is_skipped(self) -> None:
        """A CANCELLED to-do is not imported, and the skipped notes say so."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:x\nSTATUS:CANCELLED", "UID:y\nSUMMARY:y"))
        assert [incoming.task.title for incoming in batch.tasks] == ["y"]
        assert [(n.where, n.field, n.what) for n in batch.skipped] == [
            ("tasks.ics line 4", "STATUS", "cancelled: taskvault has no cancelled tasks: not imported")]

    def test_times(self) -> None:
        """CREATED and LAST-MODIFIED are the task's; without LAST-MODIFIED, DTSTAMP (RFC 5545: when it changed);
        without any, the time of the import; LAST-MODIFIED before CREATED is taken as CREATED, said so."""
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x\nCREATED:20260101T100000Z\nDTSTAMP:20260201T100000Z"))
        assert (task.created, task.updated) == (dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC),
                                                dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC))
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x"))
        assert task.created == task.updated == NOW
        batch = read(calendar(f"UID:{U1}\nSUMMARY:x\nCREATED:20260101T100000Z\nLAST-MODIFIED:20251201T100000Z"))
        assert batch.tasks[0].task.updated == batch.tasks[0].task.created
        assert "LAST-MODIFIED: earlier than CREATED: taken as CREATED" in notes(batch)[0]

    def test_dates(self) -> None:
        """DUE and DTSTART as DATE are the days themselves (VALUE=DATE or not); with a time, the day of it, the
        exact value kept and written back while the day is the same, and a day of its own once it is changed."""
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x\nDUE;VALUE=DATE:20260310\nDTSTART:20260305"))
        assert (task.due, task.scheduled) == (dt.date(2026, 3, 10), dt.date(2026, 3, 5))
        assert not extra_of(task)
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:x\nDUE:20260310T170000"))  # floating: the day as written
        assert task.due == dt.date(2026, 3, 10)
        assert extra_of(task)["ical.DUE"] == "DUE:20260310T170000"
        assert "DUE:20260310T170000\r\n" in written([task])
        out = written([attrs.evolve(task, due=dt.date(2026, 3, 11))])
        assert "DUE;VALUE=DATE:20260311\r\n" in out
        assert "\r\nDUE:20260310" not in out  # (kept, as X-TASKVAULT-EXTRA, should the day come back)

    def test_title(self) -> None:
        """No SUMMARY: titled (untitled); a SUMMARY of several lines or longer than a title: its start on one line,
        the whole kept and written back."""
        assert only_task(calendar(f"UID:{U1}")).title == "(untitled)"
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:First line\\nsecond line"))
        assert task.title == "First line second line"
        assert "SUMMARY:First line\\nsecond line\r\n" in written([task])
        long = "word " * 150
        task = only_task(calendar(f"UID:{U1}\nSUMMARY:{long}"))
        assert len(task.title) == 500 and task.title.endswith("…")
        assert todos_by_icalendar(written([task]))[0]["SUMMARY"] == long

    def test_parameters_are_kept(self) -> None:
        """A SUMMARY or DESCRIPTION with parameters (a language) is written back with them."""
        task = only_task(calendar(f"UID:{U1}\nSUMMARY;LANGUAGE=de:Milch kaufen\nDESCRIPTION;LANGUAGE=de:Zwei Liter"))
        assert (task.title, task.note) == ("Milch kaufen", "Zwei Liter")
        out = written([task])
        assert "SUMMARY;LANGUAGE=de:Milch kaufen\r\n" in out and "DESCRIPTION;LANGUAGE=de:Zwei Liter\r\n" in out

    def test_other_properties_and_alarms_are_kept(self) -> None:
        """A property with no field (X- or not) and a VALARM are kept in extra as their lines (several of one name
        together, in order) and written back as they were."""
        text = calendar(f"UID:{U1}\nSUMMARY:x\nLOCATION:Room 4\\, second floor\nX-APPLE-SORT-ORDER:12\nATTENDEE;CN=Ann:"
                        "mailto:ann@example.org\nATTENDEE;CN=\"Bob: the builder\":mailto:bob@example.org\n"
                        "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nEND:VALARM")
        batch = read(text)
        task = batch.tasks[0].task
        assert extra_of(task) == {
            "ical.ATTENDEE": 'ATTENDEE;CN=Ann:mailto:ann@example.org\nATTENDEE;CN="Bob: the builder":mailto:bob@example.org',
            "ical.LOCATION": "LOCATION:Room 4\\, second floor",
            "ical.VALARM": "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nEND:VALARM",
            "ical.X-APPLE-SORT-ORDER": "X-APPLE-SORT-ORDER:12",
        }
        assert "tasks.ics line 7: LOCATION: no field for it: kept in extra as ical.LOCATION" in notes(batch)
        out = written([task])
        todo = todos_by_icalendar(out)[0]
        assert str(todo["LOCATION"]) == "Room 4, second floor"
        assert [a.params["CN"] for a in todo["ATTENDEE"]] == ["Ann", "Bob: the builder"]
        assert todo.subcomponents[0].name == "VALARM"

    def test_what_a_calendar_has_no_field_for(self) -> None:
        """A property of the calendar (its name) is not a to-do's: noted; events and journal entries skipped."""
        text = calendar(f"UID:{U1}\nSUMMARY:x", head="X-WR-CALNAME:Home").replace(
            "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:e\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT"
                             "\r\nEND:VCALENDAR")
        batch = read(text)
        assert notes(batch) == [("tasks.ics line 4: X-WR-CALNAME: a property of the calendar, not of a to-do: not "
                                 "imported")]
        assert [(n.where, n.field) for n in batch.skipped] == [("tasks.ics line 9", "VEVENT")]

    def test_a_changed_occurrence_is_skipped(self) -> None:
        """A VTODO with RECURRENCE-ID (one changed occurrence of a series) is skipped, said so."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:x\nDUE;VALUE=DATE:20260301\nRRULE:FREQ=DAILY",
                              f"UID:{U1}\nSUMMARY:x moved\nRECURRENCE-ID;VALUE=DATE:20260303\nDUE;VALUE=DATE:20260304"))
        assert len(batch.tasks) == 2  # the series: its template and first instance
        assert batch.skipped[0].field == "RECURRENCE-ID"

    def test_forms_of_the_file(self) -> None:
        """A BOM, LF line ends, folds with a tab, names in lower case and several calendars in one file are read."""
        body = ("begin:vcalendar\nversion:2.0\nbegin:vtodo\nuid:x\nsummary:Long\n\ttitle\nend:vtodo\nend:vcalendar\n"
                "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:y\nSUMMARY:Second\nEND:VTODO\nEND:VCALENDAR\n")
        batch = read(b"\xef\xbb\xbf" + body.encode())
        assert [incoming.task.title for incoming in batch.tasks] == ["Longtitle", "Second"]
        assert [incoming.where for incoming in batch.tasks] == ["tasks.ics line 3", "tasks.ics line 11"]

    def test_progress(self) -> None:
        """progress is told the count read every 1,000 to-dos."""
        told: list[int] = []
        text = calendar(*(f"UID:{n}\nSUMMARY:Task {n}" for n in range(2500)))
        ical.read([Source(text.encode(), "many.ics")], now=NOW, progress=told.append)
        assert told == [1000, 2000]

    def test_several_files(self) -> None:
        """Several files are read in order, line numbers each their own; a UID in two of them is refused."""
        one, two = calendar("UID:a\nSUMMARY:A"), calendar("UID:b\nSUMMARY:B")
        batch = ical.read([Source(one.encode(), "one.ics"), Source(two.encode(), "two.ics")], now=NOW)
        assert [incoming.where for incoming in batch.tasks] == ["one.ics line 4", "two.ics line 4"]
        with pytest.raises(InvalidValue, match=r"^two\.ics line 5: UID: 'a' is the UID of the to-do at one\.ics line 4"):
            ical.read([Source(one.encode(), "one.ics"), Source(one.encode(), "two.ics")], now=NOW)


class TestRecurrence:
    """RRULE is a series where taskvault can follow it; else the task comes without one, the rule kept."""

    @pytest.mark.parametrize(("rule", "due", "recur", "until"), [
        ("FREQ=DAILY", "20260302", "daily", None),
        ("FREQ=DAILY;INTERVAL=3", "20260302", "3d", None),
        ("FREQ=WEEKLY", "20260302", "weekly", None),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "20260302", "biweekly", None),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "20260302", "weekdays", None),
        ("FREQ=DAILY;BYDAY=FR,TH,WE,TU,MO", "20260302", "weekdays", None),
        ("FREQ=MONTHLY", "20260315", "monthly", None),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", "20260315", "3m", None),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "20260131", "monthly", None),
        ("FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", "20260330", "monthly", None),
        ("FREQ=YEARLY", "20260704", "yearly", None),
        ("FREQ=YEARLY;INTERVAL=2;BYMONTH=7;BYMONTHDAY=4", "20260704", "2y", None),
        ("FREQ=WEEKLY;UNTIL=20260601", "20260302", "weekly", dt.date(2026, 6, 1)),
        ("FREQ=MONTHLY;COUNT=3", "20260131", "monthly", dt.date(2026, 3, 31)),
        ("FREQ=WEEKLY;WKST=SU", "20260302", "weekly", None),
    ])
    def test_rules_taskvault_follows(self, rule: str, due: str, recur: str,
                                     until: dt.date | None) -> None:
        """Each becomes a series (template and first instance) of that period and end; a rule written otherwise
        than taskvault would write it is kept and written back."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:Series\nDUE;VALUE=DATE:{due}\nRRULE:{rule}"))
        template, first = (incoming.task for incoming in batch.tasks)
        assert (template.status, template.recur, template.until, template.index) == (Status.RECURRING, recur, until, 1)
        assert (first.parent, first.index, first.recur, first.due) == (template.uuid, 1, recur, template.due)
        out = written([template, first])
        assert f"RRULE:{rule}\r\n" in out.replace("\r\n ", "")
        assert [i.task for i in read(out).tasks] == [template, first]

    def test_a_month_end_rrule_skips_that_taskvault_does_not(self) -> None:
        """FREQ=MONTHLY from the 31st skips short months where taskvault keeps to their end: monthly, said so."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:Series\nDUE;VALUE=DATE:20260131\nRRULE:FREQ=MONTHLY"))
        assert batch.tasks[0].task.recur == "monthly"
        assert any("RRULE: RRULE skips the months without day 31" in note for note in notes(batch))

    @pytest.mark.parametrize(("rule", "extra_line", "why"), [
        ("FREQ=MONTHLY;BYDAY=2TU", "", "taskvault has no series by BYDAY=2TU"),
        ("FREQ=HOURLY", "", "FREQ=HOURLY is not daily, weekly, monthly or yearly"),
        ("FREQ=DAILY;BYHOUR=9", "", "taskvault has no series by BYHOUR"),
        ("FREQ=DAILY", "EXDATE;VALUE=DATE:20260305", "EXDATE or RDATE change its dates"),
        ("FREQ=WEEKLY;INTERVAL=5000", "", "every 35,000 days is longer than a period taskvault has"),
    ])
    def test_rules_taskvault_cannot_follow(self, rule: str, extra_line: str, why: str) -> None:
        """Another rule leaves the task without recurrence, the rule kept in extra (written back), said so."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:Series\nDUE;VALUE=DATE:20260302\nRRULE:{rule}\n{extra_line}".strip()))
        (incoming,) = batch.tasks
        assert (incoming.task.status, incoming.task.recur) == (Status.OPEN, None)
        assert extra_of(incoming.task)["ical.RRULE"] == f"RRULE:{rule}"
        assert (f"tasks.ics line 8: RRULE: not mapped ({why}): imported without recurrence; kept in extra as "
                "ical.RRULE") in notes(batch)
        assert f"RRULE:{rule}\r\n" in written([incoming.task])
        assert read(written([incoming.task])).tasks[0].task == incoming.task

    def test_no_due_no_series(self) -> None:
        """An RRULE without a DUE to count from is no series: kept, said so."""
        batch = read(calendar(f"UID:{U1}\nSUMMARY:Series\nRRULE:FREQ=DAILY"))
        assert batch.tasks[0].task.recur is None
        assert "not mapped (no DUE to count from)" in notes(batch)[0]


# -------------------------------------------------------------------------------------------- bad input

GOOD = calendar(f"UID:{uuid.UUID(int=1)}\nSUMMARY:Buy milk\nDUE;VALUE=DATE:20260310")


def _bad(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD_INPUTS = [
    # (what, data, where and field, the problem's start)
    ("not UTF-8", GOOD.encode().replace(b"Buy milk", b"Buy \xff milk"), "bad.ics line 6: ", "not UTF-8 text"),
    ("a control character", _bad("Buy milk", "Buy\x07milk"), "bad.ics line 6: ", "a control character (U+0007)"),
    ("a lone CR", _bad("Buy milk", "Buy\rmilk"), "bad.ics line 6: ", "a control character (U+000D)"),
    ("empty", "", "bad.ics line 1: ", "no BEGIN:VCALENDAR"),
    ("not iCalendar", "hello world\n", "bad.ics line 1: ", "not a content line"),
    ("a property outside", "X-FOO:1\r\n" + GOOD, "bad.ics line 1: X-FOO: ", "a property outside BEGIN:VCALENDAR"),
    ("version 1.0", _bad("VERSION:2.0", "VERSION:1.0"), "bad.ics line 2: VERSION: ", "iCalendar version '1.0'"),
    ("no version", _bad("VERSION:2.0\r\n", ""), "bad.ics line 8: VERSION: ", "the calendar has no VERSION"),
    ("a newer taskvault", _bad("PRODID:-//test//EN", "X-TASKVAULT-FORMAT:2"), "bad.ics line 3: X-TASKVAULT-FORMAT: ",
     "written by a newer taskvault"),
    ("another calendar scale", _bad("PRODID:-//test//EN", "CALSCALE:ISLAMIC-CIVIL"), "bad.ics line 3: CALSCALE: ",
     "the calendar scale"),
    ("cut short", GOOD[:GOOD.index("END:VTODO")], "bad.ics line 7: ", "the file ends inside BEGIN:VTODO (line 4)"),
    ("END out of order", _bad("END:VTODO", "END:VALARM"), "bad.ics line 8: END: ", "END:VALARM closes BEGIN:VTODO (line 4)"),
    ("too deep", _bad("DUE", "BEGIN:A\r\nBEGIN:B\r\nBEGIN:C\r\nBEGIN:D\r\nBEGIN:E\r\nBEGIN:F\r\nBEGIN:G\r\nDUE"),
     "bad.ics line 13: BEGIN: ", "components nested more than 8 deep"),
    ("no colon", _bad("SUMMARY:Buy milk", "SUMMARY Buy milk"), "bad.ics line 6: ", "not a content line"),
    ("a bad parameter", _bad("DUE;VALUE=DATE", 'DUE;VALUE"=DATE'), "bad.ics line 7: DUE: ",
     "a parameter that is not NAME=value"),
    ("a bad date", _bad("20260310", "20261310"), "bad.ics line 7: DUE: ", "not a date: '20261310'"),
    ("a bad date-time", _bad("DUE;VALUE=DATE:20260310", "CREATED:2026-03-10 10:00"), "bad.ics line 7: CREATED: ",
     "not a date-time"),
    ("a bad priority", _bad("DUE;VALUE=DATE:20260310", "PRIORITY:10"), "bad.ics line 7: PRIORITY: ",
     "not a priority from 0 to 9: '10'"),
    ("a bad status", _bad("DUE;VALUE=DATE:20260310", "STATUS:TENTATIVE"), "bad.ics line 7: STATUS: ",
     "not a to-do's status: 'TENTATIVE'"),
    ("two summaries", _bad("DUE;VALUE=DATE:20260310", "SUMMARY:Again"), "bad.ics line 7: SUMMARY: ",
     "a second SUMMARY in one VTODO (the first is on line 6)"),
    ("a UID twice", _bad("END:VCALENDAR", f"BEGIN:VTODO\r\nUID:{uuid.UUID(int=1)}\r\nEND:VTODO\r\nEND:VCALENDAR"),
     "bad.ics line 10: UID: ", "'00000000-0000-0000-0000-000000000001' is the UID of the to-do at bad.ics line 4 too"),
    ("a note too long", _bad("DUE;VALUE=DATE:20260310", "DESCRIPTION:" + "x" * 10_001), "bad.ics line 7: DESCRIPTION: ",
     "the note is 10001 characters long"),
    ("too many tags", _bad("DUE;VALUE=DATE:20260310", "CATEGORIES:" + ",".join(f"t{n}" for n in range(51))),
     "bad.ics line 7: CATEGORIES: ", "a task can have at most 50 tags"),
    ("a bad project", _bad("DUE;VALUE=DATE:20260310", "X-TASKVAULT-PROJECT:a..b"), "bad.ics line 7: X-TASKVAULT-PROJECT: ",
     "the project 'a..b' has an empty part"),
    ("a bad extra", _bad("DUE;VALUE=DATE:20260310", "X-TASKVAULT-EXTRA;X-KEY=1bad:v"), "bad.ics line 7: X-TASKVAULT-EXTRA: ",
     "'1bad' is not the name of an extra attribute"),
    ("a bad period", _bad("DUE;VALUE=DATE:20260310", "X-TASKVAULT-RECUR:sometimes"), "bad.ics line 7: X-TASKVAULT-RECUR: ",
     "'sometimes' is not a recurrence period"),
    ("a bad parent", _bad("DUE;VALUE=DATE:20260310", "X-TASKVAULT-PARENT:nobody"), "bad.ics line 7: X-TASKVAULT-PARENT: ",
     "not a uuid: 'nobody'"),
    ("a rule the task breaks", _bad("DUE;VALUE=DATE:20260310", "X-TASKVAULT-INDEX:3"), "bad.ics line 4: ",
     "only a series and its instances are numbered"),
    ("a line too long", _bad("Buy milk", "x" * 1_000_001), "bad.ics line 6: ", "a line of 1,000,009 characters"),
]


class TestBadInput:
    """Bad input is refused with one line naming the file, the physical line and the property, and a hint."""

    @pytest.mark.parametrize(("what", "data", "where", "problem"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
    def test_one_line(self, what: str, data: str | bytes, where: str, problem: str) -> None:
        """Each kind of bad input gets its one line."""
        with pytest.raises(InvalidValue) as caught:
            ical.read([Source(data.encode() if isinstance(data, str) else data, "bad.ics")], now=NOW)
        message = str(caught.value)
        assert message.startswith(where + problem), message
        assert "\n" not in message
        assert caught.value.hint
        if what == "a lone CR":
            assert "CR alone" in caught.value.hint

    @settings(max_examples=300, deadline=None)
    @given(data=st.data())
    def test_any_damage_is_refused_in_one_line_or_read(self, data: st.DataObject) -> None:
        """A file (ours, or as Thunderbird or Apple write them) cut, with bytes changed, lost or repeated, is read or
        refused with one line, never another error; and the same whether a VTODO is read in one go or line by
        line."""
        ours = written([make(title=("Buy milk, eggs " * 8).strip(), note="two\nlines", tags=("a",), due=dt.date(2026, 3, 1),
                             annotations=(Annotation(at=T0, text="asked"),)),
                        make(status=Status.RECURRING, recur="monthly", due=dt.date(2026, 1, 31), index=1)]).encode()
        good = data.draw(st.sampled_from([ours, (FIXTURES / "thunderbird.ics").read_bytes(),
                                          (FIXTURES / "apple-reminders.ics").read_bytes()]))
        start = data.draw(st.integers(0, len(good)))
        end = data.draw(st.integers(start, min(len(good), start + 40)))
        insert = data.draw(st.binary(max_size=12) | st.sampled_from([b"\r\n", b"\r\n ", b":", b";", b"\\", b"BEGIN:X",
                                                                       b"END:VTODO\r\n", b"\xe2\x82"]))
        damaged = good[:start] + insert + good[end:]
        result = outcome(damaged, "damaged.ics")
        if isinstance(result, str):
            assert "\n" not in result and result.startswith("damaged.ics line ")
        assert outcome(damaged, "damaged.ics", line_by_line=True) == result


class TestBounds:
    """Big or hostile input is refused or read in time that grows with its size, not faster."""

    def test_a_ten_megabyte_line(self) -> None:
        """A line of 10 MB is refused, naming it, at once."""
        text = _bad("Buy milk", "x" * 10_000_000)
        started = time.perf_counter()
        with pytest.raises(InvalidValue, match=r"^big\.ics line 6: a line of 10,000,008 characters"):
            ical.read([Source(text.encode(), "big.ics")], now=NOW)
        assert time.perf_counter() - started < 10

    def test_a_parameter_of_many_values(self) -> None:
        """A parameter with 200,000 empty values is read (kept as too long for extra: said so), in time."""
        text = _bad("DUE;VALUE=DATE:20260310", "X-A;P=" + "," * 200_000 + ":v")
        started = time.perf_counter()
        batch = read(text)
        assert time.perf_counter() - started < 10
        assert "X-A: no field for it, and 200,008 characters, more than an extra attribute holds" in notes(batch)[0]

    def test_a_line_folded_many_times(self) -> None:
        """A DESCRIPTION folded into 2,000 lines is one note."""
        folded = "DESCRIPTION:" + "\r\n ".join(["word"] * 2000)
        task = only_task(_bad("DUE;VALUE=DATE:20260310", folded))
        assert task.note == "word" * 2000


# --------------------------------------------------------------------------------------------- local days

_LOCAL_DAY_SCRIPT = """
import datetime as dt, json, sys
from taskvault.interchange import ical
from taskvault.interchange.model import Source
text = sys.stdin.read()
batch = ical.read([Source(text.encode(), "zone.ics")], now=dt.datetime(2026, 3, 6, tzinfo=dt.UTC))
print(json.dumps([incoming.task.due.isoformat() for incoming in batch.tasks]))
"""


@pytest.mark.parametrize(("zone", "days"), [
    ("UTC", ["2026-03-10", "2026-03-09", "2026-03-10", "2026-03-10"]),
    ("Pacific/Kiritimati", ["2026-03-11", "2026-03-10", "2026-03-10", "2026-03-10"]),  # UTC+14
    ("America/Los_Angeles", ["2026-03-10", "2026-03-09", "2026-03-10", "2026-03-10"]),
])
def test_a_time_of_day_is_the_local_day(zone: str, days: list[str]) -> None:
    """A DUE at a time of day (UTC, or in a TZID) is the day it falls on where taskvault runs (TZ); a floating time
    and a DATE are the day as written, everywhere."""
    text = calendar("UID:a\nSUMMARY:a\nDUE:20260310T120000Z", "UID:b\nSUMMARY:b\nDUE;TZID=Asia/Tokyo:20260310T080000",
                    "UID:c\nSUMMARY:c\nDUE:20260310T235900", "UID:d\nSUMMARY:d\nDUE;VALUE=DATE:20260310")
    result = subprocess.run([sys.executable, "-c", _LOCAL_DAY_SCRIPT], input=text, capture_output=True, text=True,
                            env={**os.environ, "TZ": zone}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.findall(r"\d{4}-\d{2}-\d{2}", result.stdout) == days


def test_an_unknown_zone_is_read_as_local_time_and_said_so() -> None:
    """A TZID no zone is known by (nor any VTIMEZONE resolves) is read as the time as written, and the note says
    so; a VTIMEZONE of one fixed offset resolves one."""
    batch = read(calendar(f"UID:{U1}\nSUMMARY:a\nDUE;TZID=Mars Standard Time:20260310T120000"))
    assert batch.tasks[0].task.due == dt.date(2026, 3, 10)
    assert "its TZID 'Mars Standard Time' names no zone known here: read as local time" in notes(batch)[0]
    fixed = ("BEGIN:VTIMEZONE\r\nTZID:Far East\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+1400\r\n"
             "TZOFFSETTO:+1400\r\nEND:STANDARD\r\nEND:VTIMEZONE")
    batch = read(calendar("UID:a\nSUMMARY:a\nDUE;TZID=Far East:20260310T010000", head=fixed))
    assert batch.tasks[0].task.due == day_of(dt.datetime(2026, 3, 9, 11, 0, tzinfo=dt.UTC))
