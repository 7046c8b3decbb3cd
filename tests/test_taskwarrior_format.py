"""Taskwarrior's JSON (interchange/taskwarrior.py), proven against the real Taskwarrior 2.6.2: its export read
with no field lost, our export taken by `task import` and given back by `task export` unchanged, every field
of generated tasks surviving write then read, and bad input refused in one line naming the record and field."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvault.domain.periods import PERIOD_PATTERN, normalize_period
from taskvault.domain.task import Annotation, Priority, Status, Task
from taskvault.domain.timestamps import format_timestamp
from taskvault.errors import InvalidValue
from taskvault.interchange import taskwarrior as tw
from taskvault.interchange.model import Batch, Source, start_of

from .conftest import require_tool

FIXTURES = Path(__file__).parent / "fixtures" / "taskwarrior"
EXPORT = FIXTURES / "export-2.6.2.json"
NOW = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
STATUS = {"pending": Status.OPEN, "waiting": Status.OPEN, "completed": Status.DONE, "recurring": Status.RECURRING}
PRIORITY = {"H": Priority.HIGH, "M": Priority.MEDIUM, "L": Priority.LOW}


@contextlib.contextmanager
def zone(name: str) -> Iterator[None]:
    """Run the block with the local time zone set to ``name`` (the days a format reads depend on it)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(autouse=True, scope="module")
def _utc() -> Iterator[None]:
    """Every test here runs in UTC unless it says otherwise: the fixture was made with TZ=UTC."""
    with zone("UTC"):
        yield


def read(data: bytes | str, name: str = "tw.json") -> Batch:
    return tw.read([Source(data.encode() if isinstance(data, str) else data, name)], now=NOW)


def tasks_of(batch: Batch) -> list[Task]:
    return [incoming.task for incoming in batch.tasks]


def written(tasks: list[Task]) -> str:
    return "".join(tw.write(tasks))


def extra(task: Task) -> dict[str, object]:
    return dict(task.extra)


def instant(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def fixture_records() -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(EXPORT.read_text(encoding="utf-8"))
    return records


def taskwarrior(home: Path, *args: str) -> str:
    """Run the real `task` in its own store under ``home`` (made on first use, with the fixture's taskrc)."""
    task = require_tool("task")
    if not (home / "rc").exists():
        (home / "data").mkdir(parents=True)
        shutil.copy(FIXTURES / "taskrc", home / "rc")
    env = {**os.environ, "TASKRC": str(home / "rc"), "TZ": "UTC"}
    proc = subprocess.run([task, f"rc.data.location={home / 'data'}", "rc.confirmation=off", "rc.verbose=nothing",
                           "rc.hooks=off", *args], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def through_taskwarrior(home: Path, tasks: list[Task]) -> list[Task]:
    """``tasks`` written, imported into a fresh Taskwarrior, exported by it and read again."""
    (home.parent / "import.json").write_text(written(tasks), encoding="utf-8")
    taskwarrior(home, "import", str(home.parent / "import.json"))
    return tasks_of(read(taskwarrior(home, "export")))


def by_uuid(tasks: list[Task]) -> dict[uuid.UUID, Task]:
    """The tasks by uuid, each with id 1: ids are places in a batch, and Taskwarrior exports in its own order."""
    return {t.uuid: attrs.evolve(t, id=1) for t in tasks}


class TestTheRealExport:
    """tests/fixtures/taskwarrior/export-2.6.2.json, made by MAKE.sh with the real Taskwarrior 2.6.2."""

    def test_it_covers_what_the_issue_asks(self) -> None:
        """The fixture holds every kind of field the mapping names, so the walk below is not vacuous."""
        records = fixture_records()
        keys = {key for record in records for key in record}
        assert keys >= {"uuid", "description", "status", "entry", "modified", "end", "start", "due", "wait",
                        "scheduled", "until", "project", "tags", "priority", "annotations", "depends", "recur",
                        "parent", "imask", "mask", "rtype", "estimate", "client", "urgency", "id"}
        assert {r["status"] for r in records} == {"pending", "completed", "deleted", "recurring"}
        assert {r.get("priority") for r in records} >= {"H", "M", "L", "X"}
        assert any(t != t.lower() for r in records for t in r.get("tags", ()))  # type: ignore[attr-defined]
        assert any(not str(r.get("due", "T000000Z")).endswith("T000000Z") for r in records)  # a due with a time
        assert {type(r["estimate"]) for r in records if "estimate" in r} == {int, float}
        assert sorted(r["imask"] for r in records if "imask" in r) == [0, 1, 2]  # done, pending, deleted
        assert [r["mask"] for r in records if "mask" in r] == ["+-X"]

    def test_every_record_is_read_or_skipped_with_a_note(self) -> None:
        """Each record becomes a task in order, but the deleted ones, each skipped with a note naming it."""
        records = fixture_records()
        batch = read(EXPORT.read_bytes(), "export-2.6.2.json")
        kept = [n for n, r in enumerate(records, 1) if r["status"] != "deleted"]
        assert [i.where for i in batch.tasks] == [f"export-2.6.2.json record {n}" for n in kept]
        assert [i.task.id for i in batch.tasks] == list(range(1, len(kept) + 1))
        assert [(n.where, n.field, n.what) for n in batch.skipped] == [
            (f"export-2.6.2.json record {n}", "status", "deleted in Taskwarrior: not imported")
            for n, r in enumerate(records, 1) if r["status"] == "deleted"]

    def test_every_key_of_every_record_is_mapped_or_kept(self) -> None:
        """Walking every key of every record: it is a field of the task with the same value, or kept in extra
        exactly, or it is urgency or id; and the task holds nothing the record did not say."""
        records = [r for r in fixture_records() if r["status"] != "deleted"]
        tasks = tasks_of(read(EXPORT.read_bytes()))
        for record, task in zip(records, tasks, strict=True):
            kept = extra(task)
            for key, value in record.items():
                assert _landed(key, value, record, task, kept), (key, value, task)
            assert set(kept) <= set(record) | {"tw.due", "tw.wait", "tw.scheduled", "tw.until", "tw.tags"}
            assert task.note == ""

    def test_what_did_not_map_as_it_was_is_reported(self) -> None:
        """Each attribute kept in extra, and each field changed on the way in, has a note naming it."""
        batch = read(EXPORT.read_bytes())
        notes = {(n.where, n.field) for n in batch.unmapped}
        for incoming in batch.tasks:
            for name in extra(incoming.task):
                field = name.removeprefix("tw.")
                assert (incoming.where, field) in notes, (incoming.where, name)
        plumber = next(n for n in batch.unmapped if n.field == "due")
        assert plumber.what == "the day 2030-02-01; the instant 20300201T143000Z kept in extra as tw.due"

    def test_the_same_export_read_again_gives_the_same_tasks(self) -> None:
        """Reading is deterministic: an import of the same export matches the same tasks."""
        assert read(EXPORT.read_bytes()) == read(EXPORT.read_bytes())

    def test_a_day_read_in_another_zone_keeps_the_instant(self) -> None:
        """West of UTC, Taskwarrior's midnight UTC is the evening before: the local day is taken, and the
        exact instant kept and written back while the day is unchanged."""
        with zone("America/New_York"):
            tasks = tasks_of(read(EXPORT.read_bytes()))
            milk = next(t for t in tasks if t.title == "Buy oat milk")
            assert milk.due == dt.date(2030, 3, 14)
            assert extra(milk)["tw.due"] == "20300315T000000Z"
            assert json.loads(written([milk]))[0]["due"] == "20300315T000000Z"
            moved = attrs.evolve(milk, due=dt.date(2030, 3, 20))
            assert json.loads(written([moved]))[0]["due"] == "20300320T040000Z"  # (its start in New York, EDT)


def _landed(key: str, value: object, record: dict[str, object], task: Task, kept: dict[str, object]) -> bool:
    """True when a record's attribute is where the mapping puts it (an oracle written apart from the reader)."""
    if key in ("id", "urgency"):
        return key not in kept
    if key in ("due", "wait", "scheduled", "until"):
        moment = instant(value)  # type: ignore[arg-type]
        exact = kept.get(f"tw.{key}")
        return getattr(task, key) == moment.date() and exact == (None if moment.time() == dt.time() else value)
    if key == "tags":
        spelled = kept.get("tw.tags")
        lower = [t.lower() for t in value]  # type: ignore[attr-defined]
        as_set = sorted(set(value))  # type: ignore[call-overload]
        return task.tags == tuple(sorted(set(lower))) and spelled == (
            None if as_set == list(task.tags) else json.dumps(as_set, ensure_ascii=False))
    if key == "priority":
        return task.priority is PRIORITY[value] if value in PRIORITY else (kept["priority"] == value)  # type: ignore[index]
    if key == "annotations":
        return [(a.at, a.text) for a in task.annotations] == [(instant(a["entry"]), a["description"]) for a in value]  # type: ignore[attr-defined]
    if key == "rtype" and value == "periodic" and (task.status is Status.RECURRING or task.parent is not None):
        return "rtype" not in kept  # (implied: Taskwarrior 2.6 gives each series periodic unless told otherwise)
    if key == "mask":
        return task.status is Status.RECURRING and task.index == len(value)  # type: ignore[arg-type]
    if key == "imask":
        return task.parent == uuid.UUID(record["parent"]) and task.index == value + 1  # type: ignore[arg-type, operator]
    mapped = {
        "uuid": lambda: task.uuid == uuid.UUID(value),  # type: ignore[arg-type]
        "description": lambda: task.title == value,
        "status": lambda: task.status is STATUS[value],  # type: ignore[index]
        "entry": lambda: task.created == instant(value),  # type: ignore[arg-type]
        "modified": lambda: task.updated == instant(value),  # type: ignore[arg-type]
        "end": lambda: task.completed == instant(value),  # type: ignore[arg-type]
        "start": lambda: task.started == instant(value),  # type: ignore[arg-type]
        "project": lambda: task.project == value,
        "depends": lambda: set(task.depends) == {uuid.UUID(u) for u in value},  # type: ignore[attr-defined]
        "recur": lambda: task.recur == value,
        "parent": lambda: task.parent == uuid.UUID(value),  # type: ignore[arg-type]
    }
    if key in mapped:
        return mapped[key]()
    return key in kept and kept[key] == value and type(kept[key]) is type(value)


class TestTheRealTool:
    """The real Taskwarrior 2.6.2: the fixture rebuilt, and our export taken and given back."""

    @pytest.mark.slow
    def test_make_sh_rebuilds_the_committed_export(self, tmp_path: Path) -> None:
        """MAKE.sh run now against the installed `task` makes an export of the same shape as the committed one
        (only the clock's times and the uuids differ), and it reads as the committed one does."""
        require_tool("task")
        env = {**os.environ, "TZ": "UTC"}
        proc = subprocess.run(["sh", str(FIXTURES / "MAKE.sh"), str(tmp_path / "store")], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        fresh = json.loads(proc.stdout)
        assert _shape(fresh) == _shape(fixture_records())
        assert len(read(proc.stdout).tasks) == len(read(EXPORT.read_bytes()).tasks)

    def test_the_real_export_round_trips_through_taskwarrior(self, tmp_path: Path) -> None:
        """The fixture read, written, imported into a fresh Taskwarrior and exported again reads as the same
        tasks: same uuids, every field, every extra attribute."""
        tasks = tasks_of(read(EXPORT.read_bytes()))
        assert by_uuid(through_taskwarrior(tmp_path / "tw", tasks)) == by_uuid(tasks)

    def test_taskvault_tasks_round_trip_through_taskwarrior(self, tmp_path: Path) -> None:
        """Tasks as taskvault makes them (times to the microsecond, a note over lines, every field, extra
        attributes of each kind and with names Taskwarrior uses itself) come back from Taskwarrior the same."""
        tasks = _every_kind_of_task()
        back = through_taskwarrior(tmp_path / "tw", tasks)
        assert by_uuid(back) == by_uuid(tasks)

    def test_our_export_is_what_task_import_takes_as_is(self, tmp_path: Path) -> None:
        """Taskwarrior exports what it imported from us attribute for attribute (it adds id and urgency, and
        writes imask as a number of its own form)."""
        tasks = _every_kind_of_task()
        ours = json.loads(written(tasks))
        (tmp_path / "in.json").write_text(written(tasks), encoding="utf-8")
        taskwarrior(tmp_path / "tw", "import", str(tmp_path / "in.json"))
        theirs = {r["uuid"]: r for r in json.loads(taskwarrior(tmp_path / "tw", "export"))}
        for record in ours:
            again = theirs[record["uuid"]]
            assert again.get("imask") == record.get("imask")  # (1.0 == 1: Taskwarrior writes 1.000000)
            assert again.pop("estimate", None) == _number(record.pop("estimate", None))  # (declared numeric)
            assert {k: v for k, v in again.items() if k not in ("id", "urgency", "imask")} == {
                k: v for k, v in record.items() if k != "imask"}

    def test_one_object_a_line_as_json_array_off_writes(self, tmp_path: Path) -> None:
        """`task export rc.json.array=off` (objects one a line, no brackets) reads as the array does."""
        home = tmp_path / "tw"
        (tmp_path / "in.json").write_text(written(tasks_of(read(EXPORT.read_bytes()))), encoding="utf-8")
        taskwarrior(home, "import", str(tmp_path / "in.json"))
        lines = taskwarrior(home, "export", "rc.json.array=off")
        assert not lines.startswith("[")
        assert by_uuid(tasks_of(read(lines))) == by_uuid(tasks_of(read(taskwarrior(home, "export"))))

    def test_an_empty_taskwarrior_exports_an_empty_batch(self, tmp_path: Path) -> None:
        """`task export` of an empty store is "[\\n]\\n": no tasks, and ours for no tasks is the same text."""
        text = taskwarrior(tmp_path / "tw", "export")
        assert read(text) == Batch()
        assert written([]) == text

    def test_a_number_taskwarrior_does_not_know_comes_back_as_text(self, tmp_path: Path) -> None:
        """Documented limit: an attribute the receiving taskrc does not declare numeric comes back from task
        export as text; taskvault_numbers, which Taskwarrior keeps, turns it back into the number."""
        task = attrs.evolve(_plain(1), extra=(("size", 3), ("weight", 0.1)))
        back = through_taskwarrior(tmp_path / "tw", [task])
        assert extra(back[0]) == {"size": 3, "weight": 0.1}
        raw = json.loads(taskwarrior(tmp_path / "tw", "export"))[0]
        assert (raw["size"], raw["weight"], raw[tw.NUMBERS_KEY]) == ("3", "0.1", "size weight")

    def test_taskwarrior_reads_its_own_escapes_in_text(self, tmp_path: Path) -> None:
        """Documented limit: Taskwarrior stores [ and ] as &open; and &close; and turns those back into brackets
        wherever they are, so a text holding "&open;" itself comes back with "[" in its place."""
        task = _plain(1, title="a &open;x&close; b", note="c &open; d")
        back = through_taskwarrior(tmp_path / "tw", [task])[0]
        assert (back.title, back.note) == ("a [x] b", "c [ d")

    def test_taskwarrior_cannot_show_a_time_before_1980(self, tmp_path: Path) -> None:
        """Why write refuses one: Taskwarrior 2.6 given a due date in 1979 crashes on the import, or takes it
        and then fails task export."""
        (tmp_path / "in.json").write_text(json.dumps([_record(due="19791231T000000Z")]), encoding="utf-8")
        home = tmp_path / "tw"
        taskwarrior(home, "export")  # (a fresh store and its taskrc)
        env = {**os.environ, "TASKRC": str(home / "rc"), "TZ": "UTC"}
        runs = [subprocess.run([require_tool("task"), f"rc.data.location={home / 'data'}", "rc.verbose=nothing", *args],
                               capture_output=True, text=True, env=env, timeout=60)
                for args in (["rc.confirmation=off", "import", str(tmp_path / "in.json")], ["export"])]
        assert runs[0].returncode != 0 or (runs[1].returncode != 0 and "is not a valid date" in runs[1].stderr)

    def test_annotations_in_one_second_come_back_a_second_apart(self, tmp_path: Path) -> None:
        """Documented limit: Taskwarrior keys annotations by the second, and moves a second one made in the
        same second one second on; the first keeps its exact time."""
        at = dt.datetime(2030, 1, 1, 12, 0, 0, 250_000, tzinfo=dt.UTC)
        task = attrs.evolve(_plain(1), annotations=(Annotation(at, "one"), Annotation(at.replace(microsecond=750_000), "two")))
        back = through_taskwarrior(tmp_path / "tw", [task])[0]
        assert [(a.at, a.text) for a in back.annotations] == [(at, "one"), (at.replace(second=1, microsecond=0), "two")]


def _number(text: object) -> object:
    return None if text is None else json.loads(text)  # type: ignore[arg-type]


#: Attributes whose values come from the clock or are uuids, in _shape.
_CLOCK = {"modified", "end", "start"}


def _shape(records: list[dict[str, object]]) -> list[str]:
    """Each record with what the clock and the random uuids decide taken out (uuids named by description)."""
    name_of = {r["uuid"]: f"{r['description']}/{r['status']}/{r.get('imask')}" for r in records}
    shapes = []
    for record in records:
        shape: dict[str, object] = {}
        for key, value in record.items():
            if key in _CLOCK or (key == "entry" and "parent" in record):  # (an instance's entry is when it was made)
                shape[key] = "(clock)"
            elif key == "parent":
                shape[key] = name_of[value]
            elif key == "depends":
                shape[key] = sorted(name_of[u] for u in value)  # type: ignore[attr-defined]
            elif key == "annotations":
                shape[key] = [a["description"] for a in value]  # type: ignore[attr-defined]
            elif key not in ("uuid", "urgency"):
                shape[key] = value
        shapes.append(json.dumps(shape, sort_keys=True, ensure_ascii=False))
    return sorted(shapes)


def _plain(n: int, **fields: object) -> Task:
    stamp = dt.datetime(2029, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    values: dict[str, object] = {"id": n, "uuid": uuid.UUID(int=n, version=4), "title": f"Task {n}",
                                 "created": stamp, "updated": stamp}
    return Task(**{**values, **fields})  # type: ignore[arg-type]


def _every_kind_of_task() -> list[Task]:
    """A batch with every field of the model and extra attributes of every kind, as taskvault would export it."""
    t0 = dt.datetime(2028, 2, 29, 23, 59, 58, 123_456, tzinfo=dt.UTC)
    later = t0 + dt.timedelta(days=3, microseconds=1)
    template = _plain(1, title="Water the plants", status=Status.RECURRING, recur="weekdays", due=dt.date(2030, 1, 7),
                      wait=dt.date(2030, 1, 6), until=dt.date(2031, 1, 1), index=3, tags=("home",), created=t0,
                      updated=later, extra=(("tw.due", "20300107T083000Z"),))
    first = _plain(2, title="Water the plants", status=Status.DONE, recur="weekdays", due=dt.date(2030, 1, 7),
                   parent=template.uuid, index=1, completed=later, created=t0, updated=later)
    second = _plain(3, title="Water the plants", recur="weekdays", due=dt.date(2030, 1, 8), wait=dt.date(2030, 1, 7),
                    parent=template.uuid, index=2, created=t0, updated=later, extra=(("rtype", "periodic"),))
    note = "Line one\n\tindented \"quoted\" back\\slash\n\nafter a blank line: ☃ 😀 [brackets] {braces} , : & ;"
    full = _plain(4, title="Éclair \"order\" [x] \\ 😀", note=note, priority=Priority.LOW, due=dt.date(2030, 2, 1),
                  scheduled=dt.date(2030, 1, 20), wait=dt.date(2030, 1, 15), until=dt.date(2030, 3, 1),
                  tags=("café", "errand", "urgent"), project="home.kitchen", started=later,
                  depends=tuple(sorted((template.uuid, second.uuid))), created=t0, updated=later,
                  annotations=(Annotation(t0, "first: ☃"), Annotation(later, "second \"one\"")),
                  extra=(("client", "ACME\nsecond line"), ("estimate", 2.5),
                         ("id", "an id of another tool"), ("priority", "X"), ("rtype", "chained"), ("size", 3),
                         ("taskvault.own", "nested escape"), ("tw.scheduled", "20300120T120000Z"),
                         ("tw.tags", '["Café", "URGENT", "errand", "urgent"]'), ("weight", -0.0)))
    done = _plain(5, title="Done long ago", status=Status.DONE, completed=later, priority=Priority.HIGH, recur="2y",
                  created=t0, updated=later, extra=(("description", "the other tool's own"), ("start", "20300101T000000Z")))
    biyearly = _plain(6, title="Renew the passport", recur="3y", due=dt.date(2030, 6, 30), priority=Priority.MEDIUM,
                      extra=(("estimate", 8), ("priority", "H")))
    return [template, first, second, full, done, biyearly]


class TestWriteThenRead:
    """What write gives, read gives back: every field of the model, and every extra attribute."""

    def test_every_kind_of_task(self) -> None:
        """The hand-made batch with every field and extra attributes of every kind reads back the same."""
        tasks = _every_kind_of_task()
        assert tasks_of(read(written(tasks))) == tasks

    def test_extra_names_taskwarrior_uses_are_escaped(self) -> None:
        """An extra attribute named as a field the reader takes (description, id, start on an open task,
        priority H) is written as taskvault.NAME, and one already so named gets a second prefix."""
        record = {r["uuid"]: r for r in json.loads(written(_every_kind_of_task()))}
        full, done, passport = (record[str(uuid.UUID(int=n, version=4))] for n in (4, 5, 6))
        assert (full["taskvault.id"], full["priority"], full["taskvault.priority"]) == ("an id of another tool", "L", "X")
        assert full["taskvault.taskvault.own"] == "nested escape"
        assert (done["taskvault.description"], done["start"]) == ("the other tool's own", "20300101T000000Z")
        assert (passport["priority"], passport["taskvault.priority"]) == ("M", "H")

    def test_the_layout_is_task_exports(self) -> None:
        """An array, one task a line, attributes in name order and then annotations, tags and depends, with no
        id or urgency (Taskwarrior gives ids)."""
        tasks = _every_kind_of_task()
        lines = written(tasks).split("\n")
        assert lines[0] == "[" and lines[-2:] == ["]", ""] and len(lines) == len(tasks) + 3
        for line in lines[1:-2]:
            record = json.loads(line.removesuffix(","))
            keys = list(record)
            tail = [k for k in ("annotations", "tags", "depends") if k in record]
            assert keys == sorted(set(keys) - set(tail)) + tail
            assert "id" not in record and "urgency" not in record
        assert written([]) == "[\n]\n"

    def test_a_day_with_no_time_is_the_start_of_the_local_day(self) -> None:
        """A due day is written as the instant it starts locally (UTC here); the exact instant kept from a read
        is written back only while it falls on the task's day."""
        task = _every_kind_of_task()[0]
        assert json.loads(written([task]))[0]["due"] == "20300107T083000Z"
        moved = attrs.evolve(task, due=dt.date(2030, 1, 9))
        assert json.loads(written([moved]))[0]["due"] == "20300109T000000Z"

    def test_the_mask_is_made_from_the_instances_given(self) -> None:
        """A template's mask has one mark a made instance: + done, W open with a wait, - open, X absent."""
        template, first, second, *_ = _every_kind_of_task()
        record = json.loads(written([template, first, second]))[0]
        assert record["mask"] == "+WX"
        assert json.loads(written([template]))[0]["mask"] == "XXX"
        assert json.loads(written([template, attrs.evolve(second, wait=None)]))[0]["mask"] == "X-X"

    def test_tags_spelled_in_taskwarrior_are_restored_while_unchanged(self) -> None:
        """The spelling kept in tw.tags goes back out while the tags lower-case to the same; else the tags."""
        full = _every_kind_of_task()[3]
        assert json.loads(written([full]))[0]["tags"] == ["Café", "URGENT", "errand", "urgent"]
        assert json.loads(written([attrs.evolve(full, tags=("errand",))]))[0]["tags"] == ["errand"]

    def test_periods_go_out_as_taskwarrior_counts_them(self) -> None:
        """2y is written as biyearly (Taskwarrior's 2y is 730 days); the rest as taskvault spells them."""
        for period, out in [("2y", "biyearly"), ("3y", "3y"), ("weekdays", "weekdays"), ("6m", "6m"), ("2q", "2q")]:
            task = _plain(1, recur=period, status=Status.RECURRING, due=dt.date(2030, 1, 1))
            assert json.loads(written([task]))[0]["recur"] == out
            assert tasks_of(read(written([task])))[0].recur == period

    def test_write_streams(self) -> None:
        """write yields its text in pieces, never the whole of a large export in one string."""
        tasks = [_plain(n) for n in range(1, 5001)]
        pieces = list(tw.write(tasks))
        assert len(pieces) > 4 and max(len(p) for p in pieces) < len("".join(pieces)) / 4
        assert tasks_of(read("".join(pieces))) == tasks

    def test_the_sub_second_form_is_the_stores(self) -> None:
        """taskvault_times holds each time in the one form the store writes (domain/timestamps.py), and the
        instants Taskwarrior is given are its own form, cut from the same text."""
        moment = dt.datetime(2030, 1, 2, 3, 4, 5, 120, tzinfo=dt.UTC)
        times = json.loads(written([_plain(1, created=moment, updated=moment)]))[0][tw.TIMES_KEY]
        assert times == f"entry={format_timestamp(moment)} modified={format_timestamp(moment)}"
        for moment in (dt.datetime(5, 1, 2, 3, 4, 5, 120, tzinfo=dt.UTC), dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                       dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC)):
            compact, exact = tw._stamps(moment)
            assert compact == moment.strftime("%Y%m%dT%H%M%SZ").rjust(16, "0")
            assert exact == (format_timestamp(moment) if moment.microsecond else "")

    def test_a_time_before_1980_is_refused_before_any_output(self) -> None:
        """Taskwarrior takes a time before 1980 but then fails every export showing it: write refuses the
        export with one line naming the task and field, before it yields anything."""
        cases = [(_plain(7, due=dt.date(1979, 12, 31)), "task 7: due: 19791231T000000Z is before 1980"),
                 (_plain(8, created=dt.datetime(1975, 1, 1, tzinfo=dt.UTC)), "task 8: entry: 19750101T000000Z"),
                 (_plain(9, annotations=(Annotation(dt.datetime(1979, 1, 1, tzinfo=dt.UTC), "old"),)),
                  "task 9: annotations: 19790101T000000Z")]
        for task, message in cases:
            pieces = tw.write([_plain(1), task])
            with pytest.raises(InvalidValue) as caught:
                next(pieces)
            assert str(caught.value).startswith(message) and caught.value.hint
        assert tasks_of(read(written([_plain(1, due=dt.date(1980, 1, 3))])))[0].due == dt.date(1980, 1, 3)


# Generated tasks -------------------------------------------------------------------------------------------

_TEXT = st.characters(categories=("L", "M", "N", "P", "S"))
_titles = st.text(_TEXT, min_size=1, max_size=30) | st.text(st.sampled_from("ab \"\\/é😀&;"), min_size=1, max_size=10)
_notes = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")) | st.sampled_from("\n\t"), max_size=40)
# (Taskwarrior cannot read back a time before 1980: write refuses one, see TestWriteThenRead.)
_moments = st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(9997, 12, 31),
                        timezones=st.just(dt.UTC)) | st.datetimes(min_value=dt.datetime(2020, 1, 1),
                                                                  max_value=dt.datetime(2040, 1, 1),
                                                                  timezones=st.just(dt.UTC)).map(
    lambda m: m.replace(microsecond=0))
_days = st.dates(min_value=dt.date(1980, 1, 3), max_value=dt.date(9998, 12, 30))
_future = st.dates(min_value=dt.date(2100, 1, 1), max_value=dt.date(9998, 12, 30))
_words = st.builds(str.__add__, st.sampled_from("abcxyz019_é"), st.text(st.sampled_from("abcxyz019_-é"), max_size=7))
_periods = st.from_regex(PERIOD_PATTERN, fullmatch=True).map(normalize_period)  # (the store holds the canonical forms)
#: Extra names the reader would take as a field (so they are escaped), and names of Taskwarrior's own attributes.
_NAMED = ["start", "end", "priority", "mask", "imask", "description", "uuid", "due", "id", "urgency", "status", "tags",
          "annotations", "depends", "parent", "recur", "entry", "modified", "rtype", "estimate", "client", tw.NOTE_KEY,
          tw.TIMES_KEY, tw.NUMBERS_KEY, tw.RECUR_KEY, "taskvault.x", "taskvault.tw.due", "tw.other"]
#: Names Taskwarrior gives a type of its own to, written as they are when the task has no such field: it drops
#: end on a pending task, reads start and mask as its own, checks estimate is a number (TestTheRealTool has them).
_TYPED_THERE = {"start", "end", "priority", "mask", "imask", "estimate"}
_extra_names = (st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True).filter(lambda n: n not in tw.BOOKKEEPING)
                | st.sampled_from(_NAMED))
_extra_values = (st.text(st.characters(categories=("L", "N", "P", "S", "Zs")) | st.sampled_from("\n\t"), max_size=20)
                 | st.sampled_from(["H", "M", "L", "20300101T000000Z", "8", "2.5", "", " padded "])
                 | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
                 | st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def task_batches(draw: st.DrawFn, *, for_taskwarrior: bool = False) -> list[Task]:
    """Valid tasks with every field drawn (a series among them), ids their places from 1.

    ``for_taskwarrior``: only what Taskwarrior keeps as it is given (its documented limits left out): a template
    due later than now that has made its first instance (else task export makes instances), nothing expiring
    (until) before 2100, annotations in different seconds, no extra text that is empty, no extra attribute
    named as one of its own typed ones, no "&open;" or "&close;" in text."""
    count = draw(st.integers(1, 6))
    uuids = draw(st.lists(st.uuids(version=4), min_size=count + 1, max_size=count + 1, unique=True))
    template_uuid = uuids[-1]
    titles = _titles.filter(lambda t: "&open;" not in t and "&close;" not in t) if for_taskwarrior else _titles
    tasks = []
    for n in range(1, count + 1):
        created = draw(_moments)
        kind = draw(st.sampled_from(["open", "done", "template", "instance"]))
        fields: dict[str, object] = {
            "id": n, "uuid": uuids[n - 1], "title": draw(titles).strip() or "x", "created": created,
            "updated": created + draw(st.just(dt.timedelta(0)) | st.timedeltas(dt.timedelta(0), dt.timedelta(days=365))),
            "note": draw(_notes).strip(), "priority": draw(st.none() | st.sampled_from(Priority)),
            "due": draw(st.none() | _days), "scheduled": draw(st.none() | _days), "wait": draw(st.none() | _days),
            "until": draw(st.none() | (_future if for_taskwarrior else _days)),
            "project": draw(st.none() | st.lists(_words, min_size=1, max_size=3).map(".".join)),
            "tags": tuple(sorted(set(draw(st.lists(_words, max_size=4))))),
            "depends": tuple(sorted(set(draw(st.lists(st.sampled_from(uuids), max_size=3))) - {uuids[n - 1]})),
            "recur": draw(st.none() | _periods),
        }
        ats = sorted(draw(st.lists(_moments, max_size=3, unique_by=lambda m: m.replace(microsecond=0)) if for_taskwarrior
                          else st.lists(_moments, max_size=3)))
        fields["annotations"] = tuple(Annotation(at, draw(titles).strip() or "a") for at in ats)
        if kind == "done":
            fields.update(status=Status.DONE, completed=draw(_moments))
        elif kind == "template":
            fields.update(status=Status.RECURRING, recur=draw(_periods), due=draw(_future if for_taskwarrior else _days),
                          index=draw(st.integers(1 if for_taskwarrior else 0, 9)),
                          uuid=template_uuid if template_uuid not in [t.uuid for t in tasks] else uuids[n - 1])
            if for_taskwarrior:
                fields["until"] = None
        else:
            fields["started"] = draw(st.none() | _moments)
        if kind == "instance" or (kind == "done" and draw(st.booleans())):
            fields.update(parent=template_uuid, recur=draw(_periods), index=draw(st.integers(1, 9)))
        if fields["uuid"] == template_uuid:
            fields["depends"] = tuple(u for u in fields["depends"] if u != template_uuid)  # type: ignore[attr-defined]
        kept = dict(draw(st.lists(st.tuples(_extra_names, _extra_values), max_size=6)))
        kept = {k: v for k, v in kept.items() if k not in tw.BOOKKEEPING}
        if for_taskwarrior:
            kept = {k: v for k, v in kept.items() if k not in _TYPED_THERE and v != ""}
        for field in tw.DAY_FIELDS:  # an exact instant kept from Taskwarrior, within its day
            seconds = draw(st.integers(0, 86_399))
            if fields[field] is not None and seconds:
                moment = start_of(fields[field]) + dt.timedelta(seconds=seconds)  # type: ignore[arg-type]
                kept[tw.EXACT[field]] = moment.strftime("%Y%m%dT%H%M%SZ")
        tags: tuple[str, ...] = fields["tags"]  # type: ignore[assignment]
        if tags and draw(st.booleans()):  # the tags as Taskwarrior spelled them
            spelled = [draw(st.sampled_from([t, t.upper(), t.title()])) for t in tags] + draw(
                st.lists(st.sampled_from(tags).map(str.upper), max_size=2))
            if sorted(set(spelled)) != list(tags):
                kept[tw.TAGS_KEPT] = json.dumps(sorted(set(spelled)), ensure_ascii=False)
        fields["extra"] = tuple(sorted(kept.items()))
        tasks.append(Task(**fields))  # type: ignore[arg-type]
    return tasks


class TestGenerated:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(task_batches())
    def test_write_then_read_gives_the_same_tasks(self, tasks: list[Task]) -> None:
        """For generated tasks, every field and every extra attribute survives write then read."""
        assert tasks_of(read(written(tasks))) == tasks

    @settings(max_examples=100, deadline=None)
    @given(task_batches())
    def test_write_then_read_then_write_gives_the_same_text(self, tasks: list[Task]) -> None:
        """What was read from our export is written back as the same text (an export is stable)."""
        text = written(tasks)
        assert written(tasks_of(read(text))) == text

    @pytest.mark.slow
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(task_batches(for_taskwarrior=True))
    def test_generated_tasks_round_trip_through_taskwarrior(self, tmp_path_factory: pytest.TempPathFactory,
                                                             tasks: list[Task]) -> None:
        """Generated tasks, within Taskwarrior's documented limits, come back from a fresh Taskwarrior's
        task import and task export the same: every field, every extra attribute."""
        home = tmp_path_factory.mktemp("tw") / "tw"
        assert by_uuid(through_taskwarrior(home, tasks)) == by_uuid(tasks)


# Reading the forms Taskwarrior (2.x, 3.x) writes -------------------------------------------------------------

_UUID = "5f571017-8b9e-4002-b6ee-236e4172ca39"
_OTHER = "6d037588-ff44-4ce5-8cf0-4c1efd67eacd"


def _record(**fields: object) -> dict[str, object]:
    return {"uuid": _UUID, "description": "Buy milk", "status": "pending", "entry": "20300101T000000Z", **fields}


def _array(*records: dict[str, object]) -> str:
    return json.dumps(list(records))


def _one(**fields: object) -> Task:
    return tasks_of(read(json.dumps([_record(**fields)])))[0]


class TestForms:
    def test_empty_input_and_an_empty_array_are_empty_batches(self) -> None:
        """Nothing, white space, [] and [ ] are batches of no tasks."""
        for text in ("", "  \n", "[]", "[ ]\n", "\ufeff[]"):
            assert read(text) == Batch()

    def test_objects_one_a_line_and_a_bom(self) -> None:
        """Objects one after another (one a line, or spread over lines) read as the array; a BOM is ignored."""
        records = [_record(), _record(uuid=_OTHER, description="Two")]
        as_array = read(json.dumps(records))
        assert read("\n".join(json.dumps(r) for r in records) + "\n") == as_array
        assert read("\ufeff" + "\r\n".join(json.dumps(r, indent=2) for r in records)) == as_array

    def test_waiting_is_open_with_its_wait(self) -> None:
        """Status waiting (before 2.6) is an open task with its wait day."""
        task = _one(status="waiting", wait="20300105T000000Z")
        assert (task.status, task.wait) == (Status.OPEN, dt.date(2030, 1, 5))

    def test_iso_8601_dates_as_3x_may_write_them(self) -> None:
        """Dates in ISO 8601's extended form, with a zone, read as the compact form does."""
        task = _one(entry="2030-01-01T00:00:00Z", modified="2030-01-02T03:04:05.250+01:00", due="2030-03-15T00:00:00Z")
        assert task.created == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        assert task.updated == dt.datetime(2030, 1, 2, 2, 4, 5, 250_000, tzinfo=dt.UTC)
        assert task.due == dt.date(2030, 3, 15) and "tw.due" not in extra(task)

    def test_depends_in_each_form_taskwarrior_wrote(self) -> None:
        """depends as an array (2.6, 3.x), a comma-separated string (before 2.6), or that string in brackets."""
        expected = tuple(sorted(uuid.UUID(u) for u in (_OTHER, "11111111-1111-4111-8111-111111111111")))
        for depends in ([_OTHER, "11111111-1111-4111-8111-111111111111"], f"{_OTHER},11111111-1111-4111-8111-111111111111",
                        f'["{_OTHER}","11111111-1111-4111-8111-111111111111"]'):
            assert _one(depends=depends).depends == expected

    def test_tags_as_a_comma_separated_string(self) -> None:
        """tags as one string (Taskwarrior before 2.1) read as the list."""
        assert _one(tags="home,Work").tags == ("home", "work")

    def test_numbers_in_taskwarriors_forms(self) -> None:
        """imask as 1, 1.0 or "1.000000" (what task import makes of a number) is the same instance."""
        for imask in (1, 1.0, "1.000000", "1"):
            task = _one(parent=_OTHER, recur="weekly", imask=imask, due="20300101T000000Z")
            assert (task.parent, task.index) == (uuid.UUID(_OTHER), 2)

    def test_taskwarrior_periods(self) -> None:
        """Taskwarrior's period names and ISO 8601 periods map to taskvault's."""
        for period, expected in [("weekly", "weekly"), ("fortnight", "biweekly"), ("semiannual", "6m"),
                                 ("P1M", "monthly"), ("P2W", "biweekly"), ("P3W", "3w"), ("biyearly", "2y"),
                                 ("3days", "3d"), ("3wks", "3w"), ("annual", "yearly"), ("week", "weekly"),
                                 ("bimonthly", "2m"), ("P1Y", "yearly"), ("quarterly", "quarterly")]:
            assert _one(recur=period).recur == expected, period

    def test_modified_before_entry_is_entry_and_noted(self) -> None:
        """A modified time before the entry time is taken as the entry time, and said so."""
        batch = read(json.dumps([_record(modified="20291231T000000Z")]))
        task = tasks_of(batch)[0]
        assert task.updated == task.created
        assert [(n.field, n.what) for n in batch.unmapped] == [
            ("modified", "earlier than entry: set to entry (20300101T000000Z)")]

    def test_what_the_source_lacks(self) -> None:
        """No entry: the import's time; no modified: the entry; a completed task with no end: its modified
        time; no uuid: one derived from the record, the same each time, another for an identical record."""
        record = {"description": "x", "status": "completed", "modified": "20300101T000000Z"}
        batch = read(json.dumps([record, record, _record()]))
        first, second, _ = tasks_of(batch)
        assert first.created == NOW and first.updated == NOW and first.completed == NOW
        assert first.uuid != second.uuid and tasks_of(read(json.dumps([record, record]))) == [first, second]
        assert {n.field for n in batch.unmapped} == {"uuid", "entry", "modified", "end"}

    def test_start_and_end_where_taskvault_has_no_room(self) -> None:
        """start on a done task and end on an open one stay in extra, and go back out as they came."""
        done = _one(status="completed", end="20300102T000000Z", start="20300101T120000Z")
        assert done.started is None and extra(done) == {"start": "20300101T120000Z"}
        opened = _one(end="20300102T000000Z")
        assert opened.completed is None and extra(opened) == {"end": "20300102T000000Z"}
        assert json.loads(written([opened]))[0]["end"] == "20300102T000000Z"

    def test_a_description_with_spaces_at_its_ends_is_trimmed_and_noted(self) -> None:
        """Spaces around a description are trimmed (a title has none), and the note says so."""
        batch = read(json.dumps([_record(description="  Buy milk ")]))
        assert tasks_of(batch)[0].title == "Buy milk"
        assert [(n.field, n.what) for n in batch.unmapped] == [("description", "white space at its ends removed")]

    def test_a_series_instance_is_its_templates(self) -> None:
        """parent and imask make an instance: its template's uuid and its number in the series from 1."""
        task = _one(parent=_OTHER, imask=0, recur="weekly", due="20300101T000000Z")
        assert (task.parent, task.index, task.recur) == (uuid.UUID(_OTHER), 1, "weekly")

    def test_progress_is_told_every_thousand_records(self) -> None:
        """progress is called with the count read, every 1,000 records."""
        records = [_record(uuid=str(uuid.UUID(int=n, version=4))) for n in range(2500)]
        counts: list[int] = []
        tw.read([Source(json.dumps(records).encode(), "x")], now=NOW, progress=counts.append)
        assert counts == [1000, 2000]

    def test_several_sources_are_one_batch_in_order(self) -> None:
        """Two sources read as one batch, in order, each task named by its own source and record."""
        batch = tw.read([Source(json.dumps([_record()]).encode(), "a.json"),
                         Source(json.dumps([_record(uuid=_OTHER)]).encode(), "b.json")], now=NOW)
        assert [(i.where, i.task.id) for i in batch.tasks] == [("a.json record 1", 1), ("b.json record 1", 2)]


# Bad input ---------------------------------------------------------------------------------------------------

_BAD = [
    (_array(_record(description="x" * 501)), "tw.json record 1: description: the title is 501 characters long"),
    (_array(_record(description="two\nlines")), "tw.json record 1: description: the title contains a control"),
    (_array(_record(description=None)), "tw.json record 1: description: missing"),
    (_array(_record(due="20301301T000000Z")), "tw.json record 1: due: not a date: '20301301T000000Z'"),
    (_array(_record(due="2030-03-15")), "tw.json record 1: due: not a date: '2030-03-15'"),
    (_array(_record(entry="2030-03-15T10:00:00")), "tw.json record 1: entry: not a date"),
    (_array(_record(entry=20300101)), "tw.json record 1: entry: not a date: 20300101"),
    ("[" + json.dumps(_record()) + ", 7]", "tw.json record 2: not a JSON object but a number"),
    ("[" + json.dumps(_record()) + ', "text"]', "tw.json record 2: not a JSON object but text"),
    (_array(_record(uuid="not-a-uuid")), "tw.json record 1: uuid: not a uuid: 'not-a-uuid'"),
    (_array(_record(uuid="{" + _UUID + "}")), "tw.json record 1: uuid: not a uuid"),
    (_array(_record(), _record(status="deleted")),
     f"tw.json record 2: uuid: {_UUID} is also the uuid of tw.json record 1"),
    ('[{"uuid": "' + _UUID + '", "description": "a", "description": "b", "status": "pending"}]',
     "tw.json record 1: description: named twice in one record"),
    (_array(_record(status="archived")), "tw.json record 1: status: not a Taskwarrior status: archived"),
    ("[" + json.dumps({"uuid": _UUID, "description": "x"}) + "]", "tw.json record 1: status: missing"),
    (_array(_record(status=["pending"])), "tw.json record 1: status: not a Taskwarrior status: ['pending']"),
    (_array(_record(tags=[1])), "tw.json record 1: tags: not a list of text"),
    (_array(_record(tags=["two words"])), "tw.json record 1: tags: the tag 'two words' must be one word"),
    (_array(_record(project="My project")), "tw.json record 1: project: the project 'My project' must be"),
    (_array(_record(annotations=[{"entry": "20300101T000000Z"}])),
     "tw.json record 1: annotations[1].description: missing"),
    (_array(_record(annotations=[{"entry": "x", "description": "y"}])),
     "tw.json record 1: annotations[1].entry: not a date: 'x'"),
    (_array(_record(annotations=[{"entry": None, "description": "y"}])),
     "tw.json record 1: annotations[1].entry: not a date: null"),
    (_array(_record(annotations="a note")), "tw.json record 1: annotations: not a list but text"),
    (_array(_record(annotations=[{"entry": "20300101T000000Z", "description": "d"}] * 101)),
     "tw.json record 1: annotations: 101 annotations; a task holds at most 100"),
    (_array(_record(depends=["nope"])), "tw.json record 1: depends: not a uuid: 'nope'"),
    (_array(_record(depends=[_UUID])), "tw.json record 1: depends: the task depends on itself"),
    (_array(_record(recur="2h")), "tw.json record 1: recur: '2h' is not a recurrence period"),
    (_array(_record(status="recurring", recur="weekly")), "tw.json record 1: due: missing on a recurring template"),
    (_array(_record(parent=_OTHER, recur="weekly")), "tw.json record 1: imask: missing on an instance"),
    (_array(_record(parent=_OTHER, imask=0)), "tw.json record 1: recur: missing on an instance"),
    (_array(_record(parent=_OTHER, imask=-1, recur="weekly")), "tw.json record 1: imask: not a whole number"),
    (_array(_record(parent=_UUID, imask=0, recur="weekly")), "tw.json record 1: parent: the task is its own series"),
    (_array(_record(estimate={"a": 1})), "tw.json record 1: estimate: an object, which taskvault cannot keep"),
    (_array(_record(estimate=[1])), "tw.json record 1: estimate: a list, which taskvault cannot keep"),
    (_array(_record(flag=True)), "tw.json record 1: flag: true or false, which taskvault cannot keep"),
    (_array(_record(gone=None)), "tw.json record 1: gone: null, which taskvault cannot keep"),
    ('[{"uuid": "' + _UUID + '", "description": "a", "status": "pending", "size": NaN}]',
     "tw.json record 1: size: not a finite number"),
    ('[{"uuid": "' + _UUID + '", "description": "a", "status": "pending", "size": 1e400}]',
     "tw.json record 1: size: not a finite number"),
    (_array(_record(size=2**63)), "tw.json record 1: size: a whole number too large to keep"),
    (_array(_record(blob="x" * 10_001)), "tw.json record 1: blob: 10,001 characters long"),
    (_array(_record(bell="ring\a")), "tw.json record 1: bell: contains a control character"),
    (_array(_record(**{"weird key": 1})), "tw.json record 1: weird key: a name taskvault cannot keep"),
    (_array(_record(**{"tw.due": "x"})), "tw.json record 1: tw.due: a name taskvault keeps for itself"),
    (_array(_record(**{"taskvault.tw.tags": "x"})), "tw.json record 1: taskvault.tw.tags: a name taskvault keeps"),
    (_array(_record(priority="X", **{"taskvault.priority": "Y"})),
     "tw.json record 1: taskvault.priority: kept in extra as priority, which another attribute"),
    (_array(_record(**{f"uda{n}": n for n in range(101)})),
     "tw.json record 1: 101 attributes with no field of their own; taskvault keeps at most 100"),
    ("[" + json.dumps(_record()) + ",\n{oops}]", "tw.json line 2: not valid JSON: Expecting property name"),
    ("[" + json.dumps(_record()), "tw.json line 1: not valid JSON"),
    (json.dumps(_record()) + "\n" + json.dumps(_record(uuid=_OTHER))[:-1], "tw.json line 2: not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "tw.json: JSON nested too deeply"),
    ('[{"n": ' + "9" * 5000 + "}]", "tw.json: not valid JSON"),
    (b"[\xff]", "tw.json: not UTF-8 text (byte 1)"),
]


class TestBadInput:
    @pytest.mark.parametrize(("data", "message"), _BAD, ids=[m.split(": ", 1)[1][:50] for _, m in _BAD])
    def test_refused_in_one_line_naming_record_and_field(self, data: str | bytes, message: str) -> None:
        """Input a task cannot hold is refused with one line naming the file, the record and the field, and a
        hint; nothing is read (read raises)."""
        with pytest.raises(InvalidValue) as caught:
            read(data)
        assert str(caught.value).startswith(message), str(caught.value)
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
        assert caught.value.hint

    def test_a_ten_megabyte_description_is_refused_quickly(self) -> None:
        """A huge value is refused in linear time, quoting only its start."""
        started = time.perf_counter()
        with pytest.raises(InvalidValue) as caught:
            read(json.dumps([_record(description="y" * 10_000_000)]))
        assert time.perf_counter() - started < 5
        assert "10000000 characters" in str(caught.value) and len(str(caught.value)) < 300

    def test_a_deleted_record_is_skipped_whatever_else_it_holds(self) -> None:
        """A deleted task is never imported, so only its uuid (which names it) is checked."""
        batch = read(json.dumps([_record(status="deleted", due="garbage", description=None)]))
        assert batch.tasks == () and len(batch.skipped) == 1
