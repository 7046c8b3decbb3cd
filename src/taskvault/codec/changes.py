"""A change as JSON: a journal record's fields, and a history step (the record and what it replaced)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain.change import Change, ChangeKind
from ..domain.history import Step
from ..domain.task import Task
from ..domain.timestamps import format_timestamp
from .envelope import Migrations, check_keys, upgrade
from .scalars import FormatError, structure_timestamp
from .tasks import task_to_dict, tasks_3_to_4, tasks_4_to_5, tasks_from_list

RECORD_KEYS = frozenset({"rev", "at", "cmd", "put", "del", "next_id", "undoes", "redoes"})
STEP_KEYS = RECORD_KEYS | {"was"}


def _record_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 records say which revisions an undo reverts or a redo re-applies; 1 had neither."""
    return {**doc, "undoes": [], "redoes": []}


def _record_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 changed only the snapshot: a record of schema 2 is one of schema 3."""
    return doc


def _record_3_to_4(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 added fields to every task: the tasks a record puts (and a step's, that it replaced) gain them."""
    return {**doc, **{key: tasks_3_to_4(doc[key], f"$.{key}") for key in ("put", "was") if key in doc}}


def _record_4_to_5(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 added extra attributes to every task: the tasks a record puts (and a step's, that it replaced)
    gain none. (Its new kind of change, import, is a word a reader of schema 4 refuses: min_reader 5.)"""
    return {**doc, **{key: tasks_4_to_5(doc[key], f"$.{key}") for key in ("put", "was") if key in doc}}


def _record_5_to_6(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 6 added sync's kinds of change, the only ones that carry ``sync`` (the replication state's change)."""
    if "sync" in doc:
        raise FormatError("unknown field 'sync' in a record of schema 5", "")
    return doc


RECORD_MIGRATIONS: Migrations = {1: _record_1_to_2, 2: _record_2_to_3, 3: _record_3_to_4, 4: _record_4_to_5,
                                 5: _record_5_to_6}


#: The last change whose tasks were written out, and their JSON forms: the journal record of a change and, at the
#: next compaction, its step in the history write the same tasks (an import: 100,000 of them). One tuple, read
#: once, so that a compaction in another thread never pairs one change with another's tasks.
_LAST_PUT: list[tuple[Change | None, list[dict[str, Any]]]] = [(None, [])]


def _put_dicts(change: Change) -> list[dict[str, Any]]:
    last = _LAST_PUT[0]
    if last[0] is change:
        return last[1]
    dicts = [task_to_dict(t) for t in change.put]
    _LAST_PUT[0] = (change, dicts)  # (the next change lets a large one's go: a session never holds two)
    return dicts


def change_fields(change: Change, revision: int, at: dt.datetime | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "rev": revision,
        "at": format_timestamp(at) if at is not None else None,
        "cmd": change.command,
        "put": _put_dicts(change),
        "del": list(change.delete),
        "next_id": change.next_id,
        "undoes": list(change.undoes),
        "redoes": list(change.redoes),
    }
    if change.replica is not None:  # (a sync's or a resolution's: the others stay as schema 5 wrote them)
        from .replica import replica_change_to_dict

        fields["sync"] = replica_change_to_dict(change.replica)
    return fields


def step_to_dict(step: Step) -> dict[str, Any]:
    return {**change_fields(step.change, step.revision, step.at), "was": [task_to_dict(t) for t in step.was]}


def _ids(value: Any, what: str, key: str) -> tuple[int, ...]:
    if type(value) is not list or any(type(i) is not int for i in value):
        raise FormatError(f"{what}: {key} must list integers", "")
    return tuple(value)


def _tasks(value: Any, what: str, key: str) -> tuple[Task, ...]:
    if type(value) is not list:
        raise FormatError(f"{what}: {key} must be a list", "")
    return tuple(tasks_from_list(value, f"{what} $.{key}"))


def _kind(command: str, what: str) -> tuple[ChangeKind, str]:
    """The kind of change a record's ``cmd`` names by its first word, and the words after it."""
    word, _, detail = command.partition(" ")
    try:
        return ChangeKind(word), detail
    except ValueError:
        raise FormatError(f"{what}: {word!r:.40} is not a kind of change", "") from None


def change_from_dict(doc: Any, what: str, keys: frozenset[str], schema: int) -> tuple[dict[str, Any], Change]:
    if type(doc) is not dict:
        raise FormatError(f"{what}: expected a JSON object", "")
    doc = upgrade(doc, schema, RECORD_MIGRATIONS)
    replica = None
    if "sync" in doc and schema >= 6:
        from .replica import replica_change_from_dict

        doc = dict(doc)
        replica = replica_change_from_dict(doc.pop("sync"), f"{what} $.sync")
    doc = check_keys(doc, keys, schema, what)
    if type(doc["rev"]) is not int or type(doc["next_id"]) is not int or type(doc["cmd"]) is not str:
        raise FormatError(f"{what}: rev, next_id and cmd have the wrong types", "")
    kind, detail = _kind(doc["cmd"], what)
    change = Change(kind, put=_tasks(doc["put"], what, "put"), delete=_ids(doc["del"], what, "del"),
                    next_id=doc["next_id"], undoes=_ids(doc["undoes"], what, "undoes"),
                    redoes=_ids(doc["redoes"], what, "redoes"), detail=detail, replica=replica)
    if (replica is not None and not kind.replicates) or (kind is ChangeKind.SYNC and replica is None):
        raise FormatError(f"{what}: only a sync or a resolution changes the replication state, and a sync always does",
                          "")
    return doc, change


def time_of(doc: dict[str, Any], what: str) -> dt.datetime:
    """When the change a record describes was made (its ``at``)."""
    try:
        return structure_timestamp(doc["at"], dt.datetime)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{what}: {exc}", "") from None


def step_from_dict(raw: Any, what: str, schema: int) -> Step:
    doc, change = change_from_dict(raw, what, STEP_KEYS, schema)
    at = None if doc["at"] is None else time_of(doc, what)
    was = _tasks(doc["was"], what, "was")
    touched = {t.id for t in change.put} | set(change.delete)
    if any(t.id not in touched for t in was) or len({t.id for t in was}) != len(was):
        # undo puts back what a step replaced: a task the change did not touch must never be among it
        raise FormatError(f"{what}: 'was' holds a task the change did not touch", "")
    return Step(doc["rev"], at, change, was)


def steps_in_order(steps: list[Step], what: str) -> list[Step]:
    """``steps``, refused unless their revisions rise step by step (undo reverts the newest first)."""
    for i in range(1, len(steps)):
        if steps[i].revision <= steps[i - 1].revision:
            raise FormatError(f"step of revision {steps[i].revision} follows revision {steps[i - 1].revision}",
                              f"{what}[{i}]")
    return steps
