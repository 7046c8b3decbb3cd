"""Schema 5: a task's extra attributes (other tools' fields with no home here) and the import kind of change.

The rule for extra attributes at each of its limits, their exact round trip through the store (text,
whole numbers and numbers stay what they were: 1 is not 1.0, 0.0 is not -0.0), the strict reading of
them on both load paths, the migration of schema 4 documents, and an import-shaped change kept,
shown, undone and redone by the installed program.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

from taskvault import codec
from taskvault.codec import explain
from taskvault.codec import tasks as task_json
from taskvault.codec.journal import frame
from taskvault.commands import change_text
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.task import (
    EXTRA_INT_LIMIT,
    EXTRA_MAX,
    EXTRA_NAME_MAX,
    EXTRA_TEXT_MAX,
    Task,
    normalize_extra,
)
from taskvault.domain.tasklist import TaskList
from taskvault.errors import InvalidValue
from taskvault.store.journal_store import JournalStore

from .conftest import Session, run_taskvault, seed_store
from .test_codec import extras

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def _task(task_id: int = 1, **fields: Any) -> Task:
    return Task(task_id, uuid.UUID(int=task_id), f"task {task_id}", NOW, NOW, **fields)


class TestTheRule:
    def test_names_are_sorted_and_values_kept_as_they_are(self) -> None:
        """normalize_extra sorts by name and changes no value: text keeps its spaces, newlines and tabs."""
        assert normalize_extra({"b": " x\n\ty ", "a": 1, "_c.d-e": -0.0}) == (("_c.d-e", -0.0), ("a", 1),
                                                                              ("b", " x\n\ty "))
        assert normalize_extra([("z", 1.5), ("y", "")]) == (("y", ""), ("z", 1.5))
        assert normalize_extra({}) == ()

    @pytest.mark.parametrize("extra", [
        {"a" * EXTRA_NAME_MAX: 1}, {"_": 1}, {"A9_.-": 1}, {f"n{i}": i for i in range(EXTRA_MAX)},
        {"t": "x" * EXTRA_TEXT_MAX}, {"t": "a\nb\tc"}, {"i": EXTRA_INT_LIMIT - 1}, {"i": -EXTRA_INT_LIMIT + 1},
        {"f": 1e308}, {"f": -0.0}, {"f": 5e-324}, {"t": "ünï ✓ 日本語"}])
    def test_every_limit_reached_is_taken(self, extra: dict[str, Any]) -> None:
        """The largest name, count, text and number the rule allows are kept, and a Task holds them."""
        normal = normalize_extra(extra)
        assert _task(extra=normal).extra == normal and dict(normal) == extra

    @pytest.mark.parametrize(("extra", "words"), [
        ({"a" * (EXTRA_NAME_MAX + 1): 1}, "not the name"), ({"": 1}, "not the name"), ({"9a": 1}, "not the name"),
        ({"-a": 1}, "not the name"), ({"a b": 1}, "not the name"), ({"é": 1}, "not the name"),
        ({"a:b": 1}, "not the name"), ({"a\n": 1}, "not the name"),
        ({f"n{i}": i for i in range(EXTRA_MAX + 1)}, "at most 100"),
        ({"t": "x" * (EXTRA_TEXT_MAX + 1)}, "10001 characters"), ({"t": "a\x00b"}, "control character"),
        ({"t": "a\rb"}, "control character"), ({"t": "\x1b[2J"}, "control character"),
        ({"t": "\ud800"}, "control character"), ({"t": "\x85"}, "control character"),
        ({"i": EXTRA_INT_LIMIT}, "too large"), ({"i": -EXTRA_INT_LIMIT}, "too large"),
        ({"f": math.inf}, "not a finite"), ({"f": -math.inf}, "not a finite"), ({"f": math.nan}, "not a finite"),
        ({"b": True}, "not bool"), ({"b": False}, "not bool"), ({"n": None}, "not NoneType"),
        ({"l": [1]}, "not list"), ({"d": {}}, "not dict"), ({"bytes": b"x"}, "not bytes")])
    def test_every_limit_passed_is_refused(self, extra: dict[str, Any], words: str) -> None:
        """One more than a limit, a name out of the pattern, a control character, true, null, nan: InvalidValue."""
        with pytest.raises(InvalidValue, match=words):
            normalize_extra(extra)

    def test_a_name_given_twice_is_refused(self) -> None:
        with pytest.raises(InvalidValue, match="given twice"):
            normalize_extra([("a", 1), ("a", 1)])

    @pytest.mark.parametrize("extra", [(("b", 1), ("a", 1)), (("a", 1), ("a", 2)), [("a", 1)], (["a", 1],),
                                       (("a", 1, 2),), (("a", True),), {"a": 1}, "ab", ((1, 1),)])
    def test_a_task_refuses_extra_attributes_not_as_normalize_extra_leaves_them(self, extra: Any) -> None:
        """Task's own rule: a tuple of (name, value) pairs, sorted, each name once, each value allowed."""
        with pytest.raises(InvalidValue):
            _task(extra=extra)

    def test_tasks_differing_only_in_a_value_s_type_or_sign_are_different(self) -> None:
        """1, 1.0 and true compare equal in Python, and 0.0 equals -0.0: a task's extra attributes do not."""
        one, one_float, zero, minus_zero = (_task(extra=((("a", v),))) for v in (1, 1.0, 0.0, -0.0))
        assert one != one_float and zero != minus_zero
        assert one == _task(extra=(("a", 1),)) and hash(one) == hash(_task(extra=(("a", 1),)))
        assert minus_zero == _task(extra=(("a", -0.0),))


class TestStored:
    @settings(max_examples=300, deadline=None)
    @given(extras)
    def test_extra_attributes_round_trip_exactly_through_a_snapshot_and_a_record(self, extra: Any) -> None:
        """Whatever the rule allows comes back with the same names, values and types (1 stays 1, 1.0 stays 1.0)."""
        task = _task(extra=extra)
        (read,) = codec.decode_snapshot(codec.encode_snapshot((task,), 2, 1)).tasks
        assert read == task and [(n, type(v), repr(v)) for n, v in read.extra] == [
            (n, type(v), repr(v)) for n, v in extra]
        change = Change(ChangeKind.IMPORT, put=(task,), next_id=2, detail="taskwarrior tw.json")
        assert codec.decode_record(codec.encode_record(change, 1, NOW)[:-1], "r") == (1, change, NOW)

    def test_written_as_an_object_always_empty_when_there_are_none(self) -> None:
        assert codec.task_to_dict(_task())["extra"] == {}
        written = codec.task_to_dict(_task(extra=(("a", 1.0), ("b", 1), ("c", "x"))))
        assert list(written)[-1] == "extra" and json.dumps(written["extra"]) == '{"a": 1.0, "b": 1, "c": "x"}'

    @pytest.mark.parametrize(("value", "words"), [
        ([], "expected an object of extra attributes, got list"), (None, "expected an object"),
        ("a", "expected an object"), ({"a": True}, "not bool True"), ({"a": None}, "not NoneType"),
        ({"a": [1]}, "not list"), ({"a": {"b": 1}}, "not dict"), ({"9": 1}, "not the name"),
        ({"a": 2**63}, "too large"), ({"a": math.nan}, "not a finite"), ({"a": "\x07"}, "control character"),
        ({f"n{i}": 1 for i in range(101)}, "at most 100")])
    def test_a_bad_value_is_refused_on_both_paths_naming_the_field(self, value: Any, words: str) -> None:
        """The fast path leaves it to the converter, which refuses it with the task's JSON path and the field."""
        raw = {**codec.task_to_dict(_task()), "extra": value}
        assert task_json.fast_task(raw) is None and not task_json.plain_record(raw)
        with pytest.raises(codec.FormatError, match=words) as refused:
            codec.task_from_dict(raw, "$.tasks[3]")
        assert str(refused.value).endswith("@ $.tasks[3].extra")

    def test_a_missing_or_unknown_key_is_still_refused(self) -> None:
        raw = codec.task_to_dict(_task())
        del raw["extra"]
        with pytest.raises(codec.FormatError, match="missing field 'extra'"):
            codec.task_from_dict(raw)
        with pytest.raises(codec.FormatError, match="extras"):
            codec.task_from_dict({**codec.task_to_dict(_task()), "extras": {}})

    def test_an_object_in_another_order_is_read_sorted_on_both_paths(self) -> None:
        """The order of names in the file means nothing: both paths read the same sorted attributes."""
        raw = {**codec.task_to_dict(_task()), "extra": {"b": 1, "a": "x"}}
        assert task_json.fast_task(raw) == explain.explained_task(raw, "$") == _task(extra=(("a", "x"), ("b", 1)))

    def test_only_a_task_without_extra_attributes_is_a_plain_record(self) -> None:
        """A list's fast path stands a record in for its task only when the record has no extra attributes."""
        assert task_json.plain_record(codec.task_to_dict(_task()))
        assert not task_json.plain_record(codec.task_to_dict(_task(extra=(("a", 1),))))


class TestMigration:
    def test_a_task_of_schema_4_gains_no_extra_attributes_and_one_that_has_them_is_refused(self) -> None:
        """In a snapshot and in a journal record (put and a step's was) of schema 4; older ones go all the way."""
        task4 = {key: value for key, value in codec.task_to_dict(_task()).items() if key != "extra"}
        doc = {"format": "taskvault", "schema": 4, "min_reader": 4, "revision": 1, "next_id": 2, "counts": None,
               "crc32": None, "history": [], "tasks": [task4]}
        assert codec.decode_snapshot(codec.encode_snapshot_as(4, (_task(),), 2, 1)).tasks == [_task()]
        with pytest.raises(codec.FormatError, match=r"unknown field 'extra' in a task of schema 4 @ \$.tasks\[0\]"):
            codec.decode_snapshot(json.dumps({**doc, "tasks": [{**task4, "extra": {}}]}).encode())
        record = {"rev": 1, "at": "2026-01-01T00:00:00.000000Z", "cmd": "add", "put": [task4], "del": [],
                  "next_id": 2, "undoes": [], "redoes": []}
        assert codec.decode_record(frame(record)[:-1], "r", schema=4)[1].put[0] == _task()
        with pytest.raises(codec.FormatError, match="unknown field 'extra' in a task of schema 4"):
            codec.decode_record(frame({**record, "put": [{**task4, "extra": {}}]})[:-1], "r", schema=4)
        with pytest.raises(codec.FormatError, match="missing field 'extra'"):
            codec.decode_record(frame(record)[:-1], "r", schema=5)
        task3 = {k: v for k, v in task4.items() if k not in task_json.FIELDS_ADDED_IN_4}
        assert codec.decode_record(frame({**record, "put": [task3]})[:-1], "r", schema=3)[1].put[0] == _task()

    def test_a_backup_as_schema_4_has_no_extra_attributes(self) -> None:
        data = codec.encode_snapshot_as(4, (_task(),), 2, 1)
        assert data.startswith(b'{"format":"taskvault","schema":4,"min_reader":4,') and b'"extra"' not in data
        decoded = codec.decode_snapshot(data)
        assert decoded.schema == 4 and decoded.tasks == [_task()]

    def test_this_version_writes_schema_6_and_only_a_reader_of_6_may_read_it(self) -> None:
        assert (codec.SCHEMA, codec.MIN_READER) == (6, 6)
        assert codec.encode_snapshot((), 1, 0).startswith(b'{"format":"taskvault","schema":6,"min_reader":6,')
        assert b'"schema":6,"min_reader":6,' in codec.encode_journal_header("g", 0)


def _import(tasks: TaskList) -> Change:
    """An import as the import command plans one: an update of task 1 (its title and extra attributes) and two new
    tasks, in one change."""
    first = tasks.get(1)
    new = tuple(Task(tasks.next_id + n, uuid.UUID(int=100 + n), f"Imported {n}", NOW, NOW,
                     extra=normalize_extra({"estimate": "3h", "jira.id": 1234 + n, "weight": 0.5}))
                for n in range(2))
    updated = attrs.evolve(first, title="First, imported", extra=(("estimate", "1h"),),
                           updated=dt.datetime.now(dt.UTC))
    return Change(ChangeKind.IMPORT, put=(updated, *new), next_id=tasks.next_id + 2, detail="taskwarrior tw.json")


class TestAnImportChange:
    def test_kept_shown_undone_and_redone_by_the_installed_program(self, data_dir: Path) -> None:
        """history names it, show lists the extra attributes (and --json has them), undo and redo work in a
        process of their own."""
        seed_store(data_dir)
        session = Session(data_dir)
        session.service.execute(_import)
        session.close()
        history = run_taskvault(data_dir, "history", "--limit", "1")
        assert history.code == 0 and ('import taskwarrior tw.json: 1 "First" → title "First, imported", 1 extra '
                                      'attribute; 4 "Imported 0" → added; 5 "Imported 1" → added') in history.out, history
        shown = run_taskvault(data_dir, "show", "4")
        assert shown.code == 0 and "  extra\n    estimate: 3h\n    jira.id: 1234\n    weight: 0.5\n" in shown.out, shown
        as_json = json.loads(run_taskvault(data_dir, "--json", "show", "5").out)
        assert as_json["extra"] == {"estimate": "3h", "jira.id": 1235, "weight": 0.5}
        listed = json.loads(run_taskvault(data_dir, "--json", "list").out)
        assert [t["extra"] for t in listed if t["id"] in (1, 3)] == [{"estimate": "1h"}, {}]
        undo = run_taskvault(data_dir, "undo", "--yes")
        assert undo.code == 0 and 'undo: import 1 "First, imported" → title "First", extra attributes removed' \
            in undo.out, undo
        after_undo = JournalStore(data_dir).load()
        assert 4 not in after_undo and 5 not in after_undo and after_undo.get(1).extra == ()
        redo = run_taskvault(data_dir, "redo", "--yes")
        assert redo.code == 0, redo
        again = JournalStore(data_dir).load()
        assert again.get(4).extra == (("estimate", "3h"), ("jira.id", 1234), ("weight", 0.5))
        assert again.get(1).title == "First, imported" and run_taskvault(data_dir, "add", "Next").out == \
            "Added task 6: Next\n", "the ids the import used are never handed out again"

    def test_another_session_is_told_what_an_import_did(self) -> None:
        """The REPL's line for another session's changes names an import by its kind, not by its detail."""
        tasks = TaskList([_task(1)], next_id=2)
        change = _import(tasks)
        assert change_text.from_other_sessions(1, [change]) == "1 change from another session: imported 1-3 (3 in all)"


class TestSeries:
    def test_an_instance_inherits_its_template_s_extra_attributes(self) -> None:
        """As Taskwarrior's instances inherit their template's user-defined attributes."""
        from taskvault.domain import recurrence
        from taskvault.domain.task import Status

        template = _task(1, status=Status.RECURRING, recur="weekly", due=dt.date(2026, 12, 1),
                         extra=(("estimate", "1h"),))
        made = recurrence.instance(template, 2, task_id=2, now=NOW)
        assert made.extra == template.extra and made.due == dt.date(2026, 12, 8)
