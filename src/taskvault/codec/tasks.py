"""A Task as JSON: the one function that writes it, and the fast path that reads it back.

This is the only code that knows how a Task looks as JSON. Reading is strict: no unknown keys,
no coercion, every domain rule checked; what the fast path does not accept goes to the
explaining converter (codec/explain.py), which accepts it too or says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..domain.task import Priority, Status, Task
from ..domain.timestamps import TIMESTAMP_PATTERN, format_timestamp
from .explain import REQUIRED_TASK_KEYS, explained_task
from .scalars import is_date


def task_to_dict(task: Task) -> dict[str, Any]:
    """Every field, defaults included, so that a file always says everything it means."""
    return {
        "id": task.id,
        "uuid": str(task.uuid),
        "title": task.title,
        "created": format_timestamp(task.created),
        "updated": format_timestamp(task.updated),
        "note": task.note,
        "status": task.status.value,
        "priority": None if task.priority is None else task.priority.value,
        "due": None if task.due is None else task.due.isoformat(),
        "tags": list(task.tags),
        "completed": None if task.completed is None else format_timestamp(task.completed),
    }


# The fast path's lookup tables: only the exact strings a file may hold.
_STATUS_OF = {s.value: s for s in Status}
_PRIORITY_OF: dict[Any, Priority | None] = {None: None, **{p.value: p for p in Priority}}
_TAGS_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}
_is_timestamp = TIMESTAMP_PATTERN.match
_timestamp_of = dt.datetime.fromisoformat


def fast_task(raw: Any) -> Task | None:
    """The Task a well-formed dict describes, or None if anything about it is off.

    Accepts only what the explaining converter accepts, and builds the same Task: every type is
    checked exactly (true is not 1), each timestamp and date against the same pattern, and
    Task() itself runs every domain rule. It is written out flat because it runs once per task
    loaded. Equal tag tuples are shared, which keeps a large store smaller in memory.
    """
    try:
        if type(raw) is not dict or raw.keys() != REQUIRED_TASK_KEYS:
            return None
        task_id, title, note, tags = raw["id"], raw["title"], raw["note"], raw["tags"]
        created, updated, completed, due = raw["created"], raw["updated"], raw["completed"], raw["due"]
        if (type(task_id) is not int or type(title) is not str or type(note) is not str or type(tags) is not list
                or type(created) is not str or not _is_timestamp(created)):
            return None
        created_at = _timestamp_of(created)
        if updated == created:
            updated_at = created_at
        elif type(updated) is str and _is_timestamp(updated):
            updated_at = _timestamp_of(updated)
        else:
            return None
        if completed is not None:
            if type(completed) is not str or not _is_timestamp(completed):
                return None
            completed = _timestamp_of(completed)
        if due is not None:
            if type(due) is not str or not is_date(due):
                return None
            due = dt.date.fromisoformat(due)
        tag_tuple = tuple(tags)
        for tag in tag_tuple:
            if type(tag) is not str:
                return None
        if len(_TAGS_SEEN) < 4096:
            tag_tuple = _TAGS_SEEN.setdefault(tag_tuple, tag_tuple)
        task_uuid, status, priority = raw["uuid"], raw["status"], raw["priority"]
        if type(task_uuid) is not str or type(status) is not str or (priority is not None and type(priority) is not str):
            return None
        return Task(task_id, uuid.UUID(task_uuid), title, created_at, updated_at, note, _STATUS_OF[status],
                    _PRIORITY_OF[priority], due, tag_tuple, completed)
    except Exception:  # noqa: BLE001 -- any doubt at all: the explaining converter decides, and says why
        return None


def task_from_dict(raw: Any, path: str = "$") -> Task:
    """Build a Task from decoded JSON, or raise FormatError naming the JSON path."""
    task = fast_task(raw)
    if task is not None:
        return task
    return explained_task(raw, path)
