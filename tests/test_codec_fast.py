"""The fast load path against the explaining (cattrs) converter: same Task, same refusals.

A store is decoded by a hand-written fast path, and only what it does not accept goes to the
cattrs converter, which either accepts it too (an unusual but valid form) or says what is
wrong. So the fast path must never accept what the converter refuses, and must build exactly
the Task the converter builds. The domain's validators have fast paths too; each must decide
exactly as the full rule does.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvault import codec
from taskvault.codec import explain
from taskvault.codec import tasks as task_json
from taskvault.domain.task import Priority, Status, Task, normalize_note, normalize_tags, normalize_title
from taskvault.errors import InvalidValue

from .test_codec import tasks

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["open", "done", "low", "high", "2026-01-31", "2025-12-31T12:00:00.000000Z",
                       "2025-12-31T12:00:00.000000+00:00", "2025-12-31T12:00:00.000000Z\n", "2026-02-30",
                       "BDD640FB-0667-4AD1-9C80-317FA3B1799D", "{bdd640fb-0667-4ad1-9c80-317fa3b1799d}",
                       " padded", "padded ", "Home", "a b", "", "-x", "daily", "0d", "1000d", "home.kitchen",
                       "home..x", ".home", "00000000-0000-0000-0000-000000000001", "recurring", 0, 1]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    | st.fixed_dictionaries({"at": children, "text": children}),
    max_leaves=6,
)


def _explained(raw: Any) -> Task | None:
    """What the cattrs converter makes of ``raw``: a Task, or None when it refuses it."""
    try:
        return explain.explained_task(raw, "$")
    except codec.FormatError:
        return None


@settings(max_examples=300, deadline=None)
@given(tasks())
def test_a_valid_task_takes_the_fast_path_and_decodes_as_the_converter_does(task: Task) -> None:
    raw = json.loads(json.dumps(codec.task_to_dict(task)))
    fast = task_json.fast_task(raw)
    assert fast is not None, raw
    assert fast == task == _explained(raw)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks(), st.sampled_from(sorted(explain.REQUIRED_TASK_KEYS)), _json_values,
       st.sampled_from(["replace", "drop", "extra"]))
def test_the_fast_path_never_accepts_what_the_converter_refuses(task: Task, key: str, value: object,
                                                                how: str) -> None:
    raw = codec.task_to_dict(task)
    if how == "replace":
        raw[key] = value
    elif how == "drop":
        del raw[key]
    else:
        raw[f"{key}_extra"] = value
    fast = task_json.fast_task(raw)
    explained = _explained(raw)
    if fast is not None:
        assert explained is not None, f"the fast path accepted what the converter refuses: {raw!r}"
        assert fast == explained
    # Whichever path decides, task_from_dict agrees with the converter.
    if explained is None:
        with pytest.raises(codec.FormatError):
            codec.task_from_dict(raw)
    else:
        assert codec.task_from_dict(raw) == explained


_NEAR_MISSES = [None, True, False, 0, 1, -1, 2**70, 1.0, "", " ", "x", "open", "done", "OPEN", "low", "Low", "none",
                "2026-01-31", "2026-1-31", "2026-02-30", "2026-01-31\n", "20260131", "2026-W05-6", "2025-12-31T12:00:00.000000Z",
                "2025-12-31T12:00:00Z", "2025-12-31T12:00:00.000000+00:00", "2025-12-31T12:00:00.000000Z\n",
                "2025-12-31 12:00:00.000000Z", "bdd640fb-0667-4ad1-9c80-317fa3b1799d",
                "BDD640FB-0667-4AD1-9C80-317FA3B1799D", "{bdd640fb-0667-4ad1-9c80-317fa3b1799d}",
                "bdd640fb06674ad19c80317fa3b1799d", "bdd640fb-0667-4ad1-9c80-317fa3b1799", " padded", "padded ",
                "tab\tin", "a\u00a0b", [], ["home"], ["Home"], ["b", "a"], ["a", "a"], ["a b"], [1], [None], ["+x"],
                {}, {"a": 1}, {"a": 1.0}, {"a": -0.0}, {"a": "x"}, {"a": True}, {"a": None}, {"a": [1]}, {"a": {}},
                {"9": 1}, {"a b": 1}, {"a": 2**63}, {"a": 2**63 - 1}, {"a": float("nan")}, {"a": float("inf")},
                {"a": "x\x00"}, {"a": "x\ny"}, {"b": 1, "a": 2}, {"a" * 65: 1}]


@pytest.mark.parametrize("key", sorted(explain.REQUIRED_TASK_KEYS))
def test_near_misses_in_every_field_are_decided_as_the_converter_decides(key: str) -> None:
    for value in _NEAR_MISSES:
        for base in (_task(), _task(status=Status.DONE, completed=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
                                    tags=("home",), due=dt.date(2026, 3, 1), priority=Priority.LOW, note="n")):
            raw = codec.task_to_dict(base)
            raw[key] = value
            fast, explained = task_json.fast_task(raw), _explained(raw)
            assert fast is None or fast == explained, f"{key}={value!r}: fast {fast!r}, converter {explained!r}"


def test_forms_the_fast_path_leaves_to_the_converter_still_load() -> None:
    raw = codec.task_to_dict(_task())
    raw["uuid"] = "BDD640FB-0667-4AD1-9C80-317FA3B1799D"
    assert codec.task_from_dict(raw).uuid == uuid.UUID("bdd640fb-0667-4ad1-9c80-317fa3b1799d")


def test_true_is_not_an_id_on_either_path() -> None:
    raw = codec.task_to_dict(_task())
    raw["id"] = True
    assert task_json.fast_task(raw) is None
    with pytest.raises(codec.FormatError, match="expected an integer"):
        codec.task_from_dict(raw)


@given(tasks())
def test_timestamps_are_written_as_format_timestamp_writes_them(task: Task) -> None:
    raw = codec.task_to_dict(task)
    assert raw["created"] == codec.format_timestamp(task.created)
    assert raw["updated"] == codec.format_timestamp(task.updated)


# -- the domain validators' fast paths decide as the full rules do ------------------------------

_awkward_text = st.text(st.sampled_from(["a", "Z", " ", "\u00a0", "\t", "\n", "\x00", "\x7f", "\x85", "\u2028",
                                         "\u3000", "\ud800", "é", "中", "\u200b"]), max_size=8)


def _task(**fields: Any) -> Task:
    stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    values: dict[str, Any] = {"id": 1, "uuid": uuid.UUID(int=1), "title": "t", "created": stamp,
                              "updated": stamp} | fields
    return Task(**values)


def _rule_holds(rule: Any, text: str) -> bool:
    try:
        return bool(rule(text) == text)
    except InvalidValue:
        return False


@pytest.mark.parametrize(("field", "rule"), [("title", normalize_title), ("note", normalize_note)])
@settings(max_examples=400)
@given(text=_awkward_text)
def test_a_title_or_note_is_accepted_exactly_when_it_is_already_normal(field: str, rule: Any, text: str) -> None:
    try:
        _task(**{field: text})
        accepted = True
    except InvalidValue:
        accepted = False
    assert accepted == _rule_holds(rule, text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["home", "Home", "work", " x", "a,b", "+t", "über", "ß"]), max_size=3))
def test_tags_are_accepted_exactly_when_already_normal_even_after_their_normal_form_was_seen(tags: list[str]) -> None:
    value = tuple(tags)
    try:
        normal = normalize_tags(value) == value
    except InvalidValue:
        normal = False
    _task(tags=tuple(sorted({t.strip().casefold() for t in tags} - {"a,b", "+t"})))  # the normal form, seen
    try:
        _task(tags=value)
        accepted = True
    except InvalidValue:
        accepted = False
    assert accepted == normal


def test_a_timestamp_at_offset_zero_but_another_zone_object_is_still_utc() -> None:
    other_utc = dt.timezone(dt.timedelta(0), "UTC+0")
    stamp = dt.datetime(2026, 1, 1, tzinfo=other_utc)
    assert _task(created=stamp, updated=stamp).created == stamp
    with pytest.raises(InvalidValue, match="UTC"):
        _task(updated=dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))))


# -- the trusted constructor the fast path builds with ------------------------------------------


@settings(max_examples=300, deadline=None)
@given(tasks())
def test_the_fast_path_builds_the_very_task_task_itself_builds(task: Task) -> None:
    """Built without re-running the rules, a Task is still equal, hashed and shaped as one Task() built."""
    fast = task_json.fast_task(json.loads(json.dumps(codec.task_to_dict(task))))
    assert fast is not None
    assert type(fast) is Task and type(fast.uuid) is uuid.UUID
    assert attrs.astuple(fast, recurse=False) == attrs.astuple(task, recurse=False)
    assert hash(fast) == hash(task) and fast.uuid.is_safe == task.uuid.is_safe
    assert fast.created.tzinfo is dt.UTC and fast.updated.tzinfo is dt.UTC


_OTHER_VALUES = ["2025-12-31T12:00:00.000000Z", "2027-01-01T00:00:00.000000Z", "done", "open", None, 0, "", [],
                 "x ", "2026-01-31"]


@pytest.mark.parametrize("keys", [("status", "completed"), ("created", "updated"), ("updated", "completed"),
                                  ("status", "updated"), ("id", "title"), ("tags", "note")])
def test_every_pair_of_changed_fields_is_refused_by_the_fast_path_whenever_the_converter_refuses_it(
        keys: tuple[str, str]) -> None:
    """Rules across two fields (done exactly when completed, updated not before created) hold on both paths."""
    for first in _OTHER_VALUES:
        for second in _OTHER_VALUES:
            for base in (_task(), _task(status=Status.DONE, completed=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))):
                raw = codec.task_to_dict(base)
                raw[keys[0]], raw[keys[1]] = first, second
                fast, explained = task_json.fast_task(raw), _explained(raw)
                if explained is None:
                    assert fast is None, f"the fast path accepted what the converter refuses: {raw!r}"
                else:
                    assert fast is None or fast == explained


def test_a_list_of_tasks_is_refused_at_the_first_bad_one_with_its_path() -> None:
    """Decoding a whole list in bulk names the same JSON path as decoding the tasks one by one."""
    good = codec.task_to_dict(_task())
    bad = {**codec.task_to_dict(_task(id=2)), "title": "x "}
    worse = {**codec.task_to_dict(_task(id=3)), "id": True}
    with pytest.raises(codec.FormatError, match=r"\$\.tasks\[1\]") as refused:
        task_json.tasks_from_list([good, bad, worse], "$.tasks")
    with pytest.raises(codec.FormatError) as one_by_one:
        codec.task_from_dict(bad, "$.tasks[1]")
    assert str(refused.value) == str(one_by_one.value)
    assert task_json.tasks_from_list([good, good], "$.tasks") == [_task(), _task()]


def test_tags_and_dates_proven_once_do_not_let_a_near_miss_through_later() -> None:
    """The fast path's caches of valid tags and dates hold only what the rules accepted."""
    valid = codec.task_to_dict(_task(tags=("home", "work"), due=dt.date(2026, 3, 1)))
    assert task_json.fast_task(valid) is not None
    for key, value in (("tags", ["work", "home"]), ("tags", ["home", "home"]), ("tags", ["Home", "work"]),
                       ("due", "2026-03-01\n"), ("due", "2026-3-01")):
        raw = {**valid, key: value}
        assert task_json.fast_task(raw) is None and _explained(raw) is None, raw
