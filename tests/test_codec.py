"""The on-disk format: exact round trips and strict reading."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import codec
from taskvault.codec.journal import frame
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.task import EXTRA_NAME_PATTERN, TAG_MAX, Annotation, Priority, Status, Task, normalize_extra

_text_chars = st.characters(blacklist_categories=("Cc", "Cs"))
_titles = st.text(_text_chars, min_size=1, max_size=60).map(str.strip).filter(bool)
_notes = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f"] + [chr(c) for c in range(0x80, 0xa0)]),
    max_size=80).map(str.strip)
_tags = st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1,
                         max_size=TAG_MAX).filter(lambda t: t.casefold() == t and t.strip() == t and t[0] not in "+-"
                                                  and "," not in t and not any(c.isspace() for c in t)
                                                  and len(t.casefold()) <= TAG_MAX),
                 max_size=5, unique=True).map(lambda ts: tuple(sorted(ts)))
_dates = st.dates(dt.date(1990, 1, 1), dt.date(2200, 1, 1))
_uuids = st.integers(0, 2**128 - 1).map(lambda n: uuid.UUID(int=n, version=4))
_periods = st.sampled_from(["daily", "weekdays", "weekly", "biweekly", "monthly", "quarterly", "yearly", "3d", "2w",
                            "1m", "999y"])
#: Schema 5's extra attributes: names as the rule allows them, values of each kind (text kept as it is, spaces and
#: newlines included; whole numbers to 63 bits; finite numbers, -0.0 among them).
_extra_names = st.from_regex(EXTRA_NAME_PATTERN, fullmatch=True) | st.sampled_from(["estimate", "jira.id", "x-wr-uid"])
_extra_values = (st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f"] + [chr(c) for c in range(0x80, 0xa0)]), max_size=40)
    | st.integers(-(2**63) + 1, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["3h", " padded ", "", 0, -0.0, 1.0, 1, 2**63 - 1, -(2**63) + 1, 1e300]))
extras = st.dictionaries(_extra_names, _extra_values, max_size=6).map(normalize_extra)
_stamps = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                       timezones=st.just(dt.UTC))


@st.composite
def tasks(draw: st.DrawFn, task_id: int | None = None) -> Task:
    created = draw(_stamps)
    updated = created + dt.timedelta(seconds=draw(st.integers(0, 10**8)))
    status = draw(st.sampled_from([Status.OPEN, Status.DONE, Status.OPEN, Status.DONE, Status.RECURRING]))
    own = uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4)
    due = draw(st.none() | _dates)
    # The fields of schema 4, each usually at its default (as most tasks have them), sometimes set.
    recur, parent, index = None, None, 0
    if status is Status.RECURRING:
        recur, due, index = draw(_periods), due or draw(_dates), draw(st.integers(0, 500))
    elif draw(st.integers(0, 4)) == 0:
        recur, parent, index = draw(_periods), draw(_uuids.filter(lambda u: u != own)), draw(st.integers(1, 500))
    notes = sorted(draw(st.lists(_stamps, max_size=3)))
    return Task(
        id=task_id or draw(st.integers(1, 10**9)),
        uuid=own,
        title=draw(_titles), note=draw(_notes), created=created, updated=updated,
        status=status,
        priority=draw(st.sampled_from([None, *Priority])),
        due=due,
        tags=draw(_tags), completed=updated if status is Status.DONE else None,
        project=draw(st.none() | st.none() | st.sampled_from(["home", "home.kitchen", "Work", "a.b.c", "ünï"])),
        scheduled=draw(st.none() | st.none() | _dates), wait=draw(st.none() | st.none() | _dates),
        until=draw(st.none() | st.none() | _dates),
        started=draw(st.none() | st.none() | _stamps) if status is Status.OPEN else None,
        depends=tuple(sorted(set(draw(st.lists(_uuids.filter(lambda u: u != own), max_size=3)))))
        if draw(st.integers(0, 3)) == 0 else (),
        annotations=tuple(Annotation(at, draw(st.sampled_from(["called", "ñ x", "a" * 1000])))
                          for at in notes) if draw(st.integers(0, 3)) == 0 else (),
        recur=recur, parent=parent, index=index,
        extra=draw(extras) if draw(st.integers(0, 3)) == 0 else (),
    )


class TestRoundTrip:
    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.integers(1, 10**6), unique=True, max_size=8).flatmap(
        lambda ids: st.tuples(*[tasks(task_id=i) for i in sorted(ids)])), st.integers(0, 10**6))
    def test_snapshot_round_trips_exactly(self, task_tuple: tuple[Task, ...], revision: int) -> None:
        """Any valid task list is read back equal, field for field."""
        next_id = max((t.id for t in task_tuple), default=0) + 1
        data = codec.encode_snapshot(task_tuple, next_id, revision)
        decoded = codec.decode_snapshot(data)
        assert (decoded.tasks, decoded.next_id, decoded.revision) == (list(task_tuple), next_id, revision)
        assert decoded.schema == codec.SCHEMA and decoded.steps == []

    @settings(max_examples=200, deadline=None)
    @given(st.lists(tasks(), max_size=3, unique_by=lambda t: t.id), st.lists(st.integers(1, 10**6), max_size=3),
           st.integers(1, 10**9))
    def test_journal_record_round_trips(self, put: list[Task], delete: list[int], revision: int) -> None:
        """A journal line decodes to the change and revision it was made from."""
        change = Change(ChangeKind.EDIT, put=tuple(put), delete=tuple(delete), next_id=10**9 + 1)
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        line = codec.encode_record(change, revision, at)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert codec.decode_record(line[:-1], "x") == (revision, change, at)


class TestStrictness:
    def test_an_old_task_gains_the_new_fields_and_one_that_has_them_already_is_refused(self) -> None:
        """A task of schema 1 to 3 is read with schema 4's fields at their defaults, in a snapshot and in a
        journal record; one of those schemas that holds a field of schema 4 was not written by taskvault."""
        import json

        task = {"id": 1, "uuid": str(uuid.uuid4()), "title": "t", "created": "2026-01-01T00:00:00.000000Z",
                "updated": "2026-01-01T00:00:00.000000Z", "note": "", "status": "open", "priority": None,
                "due": None, "tags": [], "completed": None}
        for schema in (1, 2):
            doc = {"format": "taskvault", "schema": schema, "revision": 1, "next_id": 2, "tasks": [task],
                   **({"min_reader": 2, "history": []} if schema == 2 else {})}
            (read,) = codec.decode_snapshot(json.dumps(doc).encode()).tasks
            assert (read.project, read.depends, read.annotations, read.index, read.recur) == (None, (), (), 0, None)
            doc["tasks"] = [{**task, "project": "home"}]
            with pytest.raises(codec.FormatError, match="unknown field 'project' in a task of schema 3"):
                codec.decode_snapshot(json.dumps(doc).encode())
        record = {"rev": 1, "at": "2026-01-01T00:00:00.000000Z", "cmd": "add", "put": [task], "del": [], "next_id": 2,
                  "undoes": [], "redoes": []}
        line = frame(record)[:-1]
        assert codec.decode_record(line, "r", schema=3)[1].put[0].annotations == ()
        with pytest.raises(codec.FormatError, match="unknown field 'index'"):
            codec.decode_record(frame({**record, "put": [{**task, "index": 0}]})[:-1], "r", schema=3)
        with pytest.raises(codec.FormatError, match="missing field 'annotations'"):
            codec.decode_record(line, "r", schema=4)

    def test_no_coercion(self) -> None:
        """'3' is not 3 and true is not 1: both are reported with their JSON path."""
        import json

        task = {"id": 1, "uuid": str(uuid.uuid4()), "title": "t", "created": "2026-01-01T00:00:00.000000Z",
                "updated": "2026-01-01T00:00:00.000000Z", "note": "", "status": "open", "priority": None,
                "due": None, "tags": [], "completed": None}
        doc = {"format": "taskvault", "schema": 1, "revision": 1, "next_id": 2, "tasks": [task]}
        assert len(codec.decode_snapshot(json.dumps(doc).encode()).tasks) == 1
        for field, value in (("id", "1"), ("id", True), ("tags", "a"), ("note", None)):
            bad = {**task, field: value}
            try:
                codec.decode_snapshot(json.dumps({**doc, "tasks": [bad]}).encode())
            except codec.FormatError as exc:
                assert "$.tasks[0]" in str(exc)
            else:
                raise AssertionError(f"{field}={value!r} was accepted")


class TestBoundedHistory:
    def test_a_snapshot_keeps_only_the_newest_history_that_fits_and_reads_back(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        """Bulk changes to many tasks make big steps: the snapshot keeps the newest that fit its history budget,
        so taskvault never writes a file larger than it reads (an outside review filled one past 256 MiB)."""
        from taskvault.codec import snapshot
        from taskvault.domain.history import History
        from taskvault.domain.tasklist import TaskList

        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        tasks = TaskList([Task(id=i, uuid=uuid.UUID(int=i), title=f"t{i}", created=now, updated=now)
                          for i in range(1, 201)], next_id=201, revision=0, history=History())
        for revision in range(1, 21):  # twenty bulk changes, each of every task
            put = tuple(Task(id=i, uuid=uuid.UUID(int=i), title=f"t{i} ü{revision}", created=now, updated=now)
                        for i in range(1, 201))
            tasks.apply(Change(ChangeKind.EDIT, put=put, next_id=201), revision, now)
        whole = codec.encode_tasklist(tasks)
        assert len(codec.decode_snapshot(whole).steps) == 20
        monkeypatch.setattr(snapshot, "HISTORY_MAX_BYTES", len(whole) // 4)
        cut = codec.encode_tasklist(tasks)
        decoded = codec.decode_snapshot(cut)
        assert 0 < len(decoded.steps) < 20 and [s.revision for s in decoded.steps] == list(
            range(21 - len(decoded.steps), 21)), "the newest steps, in order"
        assert decoded.tasks == list(tasks.snapshot()[0])
        monkeypatch.setattr(snapshot, "MAX_FILE_BYTES", 1000)
        with pytest.raises(codec.FormatError, match="more than"):
            codec.encode_tasklist(tasks)
