"""A Task as JSON: the one function that writes it, and the fast path that reads it back.

This is the only code that knows how a Task looks as JSON. Reading is strict: no unknown keys,
no coercion, every domain rule checked; what the fast path does not accept goes to the
explaining converter (codec/explain.py), which accepts it too or says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from ..domain.task import (
    TITLE_MAX,
    Priority,
    Status,
    Task,
    note_known_normal,
    tags_known_normal,
    title_known_normal,
    trusted_task,
)
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
#: Tag tuples (and dates) already proven valid, shared between the tasks that hold them: most
#: tasks hold one of a few, so most checks are one lookup, and a large store is smaller in memory.
_TAGS_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}
_DATES_SEEN: dict[str, dt.date] = {}
_SEEN_MAX = 4096
_is_timestamp = TIMESTAMP_PATTERN.match
_timestamp_of = dt.datetime.fromisoformat
_date_of = dt.date.fromisoformat
#: The one form of a uuid the fast path reads (as str(uuid.UUID) writes it); any other goes to the converter.
_is_uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch
_new_uuid = object.__new__
_UUID = uuid.UUID
_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_safe = uuid.UUID.__dict__["is_safe"].__set__
_UUID_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_of(text: str) -> uuid.UUID:
    """uuid.UUID(text) for a string _is_uuid matched, without parsing it again."""
    value = _new_uuid(_UUID)
    _set_uuid_int(value, int(text.replace("-", ""), 16))
    _set_uuid_safe(value, _UUID_UNKNOWN)
    return value


def _known_tags(tags: list[Any]) -> tuple[str, ...] | None:
    """``tags`` as the one tuple kept for that set (a list's rows share it), if they are text in the form
    taskvault writes them (tags_known_normal); None if not (the full decode then says why)."""
    tag_tuple = tuple(tags)
    known = _TAGS_SEEN.get(tag_tuple)
    if known is not None:
        return known
    if tag_tuple:
        for tag in tag_tuple:
            if type(tag) is not str:
                return None
        if not tags_known_normal(tag_tuple):
            return None
        if len(_TAGS_SEEN) < _SEEN_MAX:
            _TAGS_SEEN[tag_tuple] = tag_tuple
    return tag_tuple


def fast_task(raw: Any) -> Task | None:
    """The Task a well-formed dict describes, or None if anything about it is off.

    Accepts only what the explaining converter accepts, and builds the same Task: every type is
    checked exactly (true is not 1), each timestamp, date and uuid against its one written form,
    and every rule Task checks is checked here, so the Task is built without checking them again
    (trusted_task). Anything unusual (a title that is not plainly printable, tags not seen
    before) is checked by the domain's own rule. It is written out flat because it runs once per
    task loaded.
    """
    try:
        if type(raw) is not dict or len(raw) != _KEY_COUNT:
            return None
        # Eleven keys, and each of the eleven found: exactly the keys a task has (a missing one is a KeyError).
        task_id, task_uuid, title, created, updated = raw["id"], raw["uuid"], raw["title"], raw["created"], raw["updated"]
        note, status, priority, due, tags, completed = (raw["note"], raw["status"], raw["priority"], raw["due"],
                                                        raw["tags"], raw["completed"])
        if (type(task_id) is not int or task_id < 1 or type(title) is not str
                or (not (0 < len(title) <= TITLE_MAX and title.isprintable() and title[0] != " " and title[-1] != " ")
                    and not title_known_normal(title))
                or type(note) is not str or (note and not note_known_normal(note))
                or type(task_uuid) is not str or not _is_uuid(task_uuid)
                or type(created) is not str or not _is_timestamp(created)):
            return None
        created_at = _timestamp_of(created)
        if updated == created:
            updated_at = created_at
        elif type(updated) is str and _is_timestamp(updated):
            updated_at = _timestamp_of(updated)
            if updated_at < created_at:
                return None
        else:
            return None
        state = _STATUS_OF[status] if type(status) is str else None
        if completed is None:
            if state is not _OPEN:
                return None
        elif state is not _DONE or type(completed) is not str or not _is_timestamp(completed):
            return None
        else:
            completed = _timestamp_of(completed)
        if due is not None:
            day = _DATES_SEEN.get(due) if type(due) is str else None
            if day is None:
                if type(due) is not str or not is_date(due):
                    return None
                day = _date_of(due)
                if len(_DATES_SEEN) < _SEEN_MAX:
                    _DATES_SEEN[due] = day
            due = day
        if type(tags) is not list:
            return None
        tag_tuple = _known_tags(tags)
        if tag_tuple is None:
            return None
        if priority is not None and type(priority) is not str:
            return None
        return trusted_task(task_id, _uuid_of(task_uuid), title, created_at, updated_at, note, state,
                            _PRIORITY_OF[priority], due, tag_tuple, completed)
    except Exception:  # noqa: BLE001 -- any doubt at all: the explaining converter decides, and says why
        return None


_KEY_COUNT = len(REQUIRED_TASK_KEYS)
_OPEN, _DONE = Status.OPEN, Status.DONE


#: The keys of a task in the order task_to_dict writes them.
_KEYS = ("id", "uuid", "title", "created", "updated", "note", "status", "priority", "due", "tags", "completed")
#: A timestamp and a date as format_timestamp and date.isoformat write them (ASCII digits only).
_is_written_timestamp = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z").fullmatch
_is_written_date = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
#: Dates already proven to be written as date.isoformat writes a real day (each to itself: see share_values).
_WRITTEN_DATES: dict[str, str] = {}
_PRIORITY_TEXT = frozenset(p.value for p in Priority)
#: One string object for each value of a field that takes few (see share_values).
_SHARED_TEXT = {text: text for text in (*(s.value for s in Status), *_PRIORITY_TEXT)}


def share_values(raw: dict[str, Any]) -> None:
    """Give a plain record (plain_record) one string object for each value many records hold alike: its
    status, priority and due date, and its updated time when it is its created time. The values stay
    equal, so the record does; at 80,000 records held at once (a list) it is some 15 MB less."""
    raw["status"] = _SHARED_TEXT[raw["status"]]
    if raw["updated"] == raw["created"]:
        raw["updated"] = raw["created"]
    if raw["priority"] is not None:
        raw["priority"] = _SHARED_TEXT[raw["priority"]]
    if raw["due"] is not None:
        raw["due"] = _WRITTEN_DATES.get(raw["due"], raw["due"])


def _written_timestamp(text: Any) -> bool:
    """True if ``text`` is a moment exactly as format_timestamp writes it."""
    if type(text) is not str or not _is_written_timestamp(text):
        return False
    _timestamp_of(text)  # a day or a time that does not exist raises ValueError: the caller says False
    return True


def plain_record(raw: Any) -> bool:
    """True only if ``raw`` is a task exactly as task_to_dict writes one: fast_task builds a Task from it, and
    task_to_dict of that Task is ``raw`` again, key order included.

    So ``raw`` can stand for its Task where only its JSON form is used (a list), without building it.
    False for anything else, valid or not: the caller then builds the Task, which accepts it or says what
    is wrong. It checks what fast_task checks, by the same rules, and each value's one written form.
    """
    try:
        if type(raw) is not dict or tuple(raw) != _KEYS:
            return False
        task_id, title, created, updated, note = raw["id"], raw["title"], raw["created"], raw["updated"], raw["note"]
        if (type(task_id) is not int or task_id < 1 or type(title) is not str
                or (not (0 < len(title) <= TITLE_MAX and title.isprintable() and title[0] != " " and title[-1] != " ")
                    and not title_known_normal(title))
                or type(note) is not str or (note and not note_known_normal(note))
                or type(raw["uuid"]) is not str or not _is_uuid(raw["uuid"])
                or type(created) is not str or not _is_written_timestamp(created)
                or (updated != created and (not _written_timestamp(updated) or updated < created))):
            return False
        _timestamp_of(created)  # a day or a time that does not exist raises ValueError: False
        status, completed = raw["status"], raw["completed"]
        if status == "open":
            if completed is not None:
                return False
        elif status != "done" or not _written_timestamp(completed):
            return False
        due = raw["due"]
        if due is not None and due not in _WRITTEN_DATES:
            if type(due) is not str or not _is_written_date(due):
                return False
            _date_of(due)  # ValueError for a day that does not exist
            if len(_WRITTEN_DATES) < _SEEN_MAX:
                _WRITTEN_DATES[due] = due
        tags = raw["tags"]
        if type(tags) is not list:
            return False
        if tags and _known_tags(tags) is None:
            return False
        priority = raw["priority"]
        return priority is None or (type(priority) is str and priority in _PRIORITY_TEXT)
    except Exception:  # noqa: BLE001 -- any doubt at all: the caller builds the Task, which decides
        return False


def fast_tasks(raws: list[Any]) -> list[Task | None]:
    """fast_task of each of ``raws``, in order (None for each it does not accept)."""
    return list(map(fast_task, raws))


def task_from_dict(raw: Any, path: str = "$") -> Task:
    """Build a Task from decoded JSON, or raise FormatError naming the JSON path."""
    task = fast_task(raw)
    if task is not None:
        return task
    return explained_task(raw, path)


def tasks_from_list(raws: list[Any], path: str, first: int = 0) -> list[Task]:
    """task_from_dict of each of ``raws`` (the list at JSON path ``path``, from its index ``first``), the first
    refusal raised."""
    tasks = fast_tasks(raws)
    for i, task in enumerate(tasks):
        if task is None:
            tasks[i] = explained_task(raws[i], f"{path}[{first + i}]")
    return tasks  # type: ignore[return-value]  # every None was replaced
