"""The snapshot: the whole store as one JSON document, tasks and recent history."""

from __future__ import annotations

from typing import Any

import attrs

from ..domain.history import Step
from ..domain.task import Task
from .changes import step_from_dict, step_to_dict
from .envelope import MIN_READER, SCHEMA, Migrations, check_envelope
from .scalars import FormatError, dumps, loads
from .tasks import task_to_dict, tasks_from_list

SNAPSHOT_FORMAT = "taskvault"
_SNAPSHOT_KEYS = frozenset({"format", "schema", "min_reader", "revision", "next_id", "history", "tasks"})


def _snapshot_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 added the minimum reader and the history of recent changes (none is known in 1)."""
    return {**doc, "schema": 2, "min_reader": 2, "history": []}


SNAPSHOT_MIGRATIONS: Migrations = {1: _snapshot_1_to_2}


@attrs.frozen
class Snapshot:
    """A decoded snapshot, whatever schema it was written in."""

    tasks: list[Task]
    next_id: int
    revision: int
    steps: list[Step]
    #: The schema the file was written in: older means it should be migrated, newer read-only.
    schema: int


def encode_snapshot(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """The whole store as one JSON document, one step and one task per line so that diffs stay readable."""
    head = dumps({"format": SNAPSHOT_FORMAT, "schema": SCHEMA, "min_reader": MIN_READER,
                  "revision": revision, "next_id": next_id})
    history = ",\n".join(dumps(step_to_dict(s)) for s in steps)
    body = ",\n".join(dumps(task_to_dict(t)) for t in tasks)
    return f'{head[:-1]},"history":[\n{history}\n],"tasks":[\n{body}\n]}}\n'.encode()


def encode_snapshot_v1(tasks: tuple[Task, ...], next_id: int, revision: int) -> bytes:
    """A snapshot exactly as schema 1 wrote it: kept so a store can be backed up as it was before a migration."""
    head = dumps({"format": SNAPSHOT_FORMAT, "schema": 1, "revision": revision, "next_id": next_id})
    body = ",\n".join(dumps(task_to_dict(t)) for t in tasks)
    return f'{head[:-1]},"tasks":[\n{body}\n]}}\n'.encode()


def decode_snapshot(data: bytes) -> Snapshot:
    """Decode a snapshot of any schema this version reads, or raise FormatError / TooNewError."""
    doc, schema = check_envelope(loads(data, "the file"), SNAPSHOT_FORMAT, _SNAPSHOT_KEYS, SNAPSHOT_MIGRATIONS)
    if type(doc["tasks"]) is not list:
        raise FormatError("expected a list of tasks", "$.tasks")
    if type(doc["history"]) is not list:
        raise FormatError("expected a list of changes", "$.history")
    tasks = tasks_from_list(doc["tasks"], "$.tasks")
    steps = [step_from_dict(raw, f"$.history[{i}]", schema) for i, raw in enumerate(doc["history"])]
    return Snapshot(tasks, doc["next_id"], doc["revision"], steps, schema)
