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
    ANNOTATIONS_MAX,
    DEPENDS_MAX,
    RECUR_PATTERN,
    TITLE_MAX,
    Annotation,
    Priority,
    Status,
    Task,
    check_task,
    normalize_extra,
    normalize_project,
    note_known_normal,
    tags_known_normal,
    title_known_normal,
    trusted_task,
)
from ..domain.timestamps import TIMESTAMP_PATTERN, format_timestamp
from ..errors import InvalidValue
from .explain import REQUIRED_TASK_KEYS, explained_task
from .scalars import FormatError, is_date


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
        "project": task.project,
        "scheduled": None if task.scheduled is None else task.scheduled.isoformat(),
        "wait": None if task.wait is None else task.wait.isoformat(),
        "until": None if task.until is None else task.until.isoformat(),
        "started": None if task.started is None else format_timestamp(task.started),
        "depends": [str(u) for u in task.depends],
        "annotations": [{"at": format_timestamp(a.at), "text": a.text} for a in task.annotations],
        "recur": task.recur,
        "parent": None if task.parent is None else str(task.parent),
        "index": task.index,
        "extra": dict(task.extra),
    }


#: The fields schema 4 added to a task, each with the value a task of schema 3 had in effect.
FIELDS_ADDED_IN_4 = ("project", "scheduled", "wait", "until", "started", "depends", "annotations", "recur",
                      "parent", "index")


def task_3_to_4(raw: Any, path: str) -> Any:
    """A task as schema 3 wrote it, as schema 4 writes it: the fields schema 4 added, at their defaults.

    A task of schema 3 that already has one of them was not written by taskvault: refused. Anything
    but an object is passed on as it is, for the task's own decode to refuse.
    """
    if type(raw) is not dict:
        return raw
    added = sorted(raw.keys() & set(FIELDS_ADDED_IN_4))
    if added:
        raise FormatError(f"unknown field {added[0]!r} in a task of schema 3", path)
    return {**raw, "project": None, "scheduled": None, "wait": None, "until": None, "started": None,
            "depends": [], "annotations": [], "recur": None, "parent": None, "index": 0}


def tasks_3_to_4(raws: Any, path: str) -> Any:
    """task_3_to_4 of each task in a list (anything but a list passed on, for its decode to refuse)."""
    if type(raws) is not list:
        return raws
    return [task_3_to_4(raw, f"{path}[{i}]") for i, raw in enumerate(raws)]


#: The fields schema 5 added to a task, each with the value a task of schema 4 had in effect.
FIELDS_ADDED_IN_5 = ("extra",)


def task_4_to_5(raw: Any, path: str) -> Any:
    """A task as schema 4 wrote it, as schema 5 writes it: no extra attributes.

    A task of schema 4 that already has them was not written by taskvault: refused. Anything but an
    object is passed on as it is, for the task's own decode to refuse.
    """
    if type(raw) is not dict:
        return raw
    if "extra" in raw:
        raise FormatError("unknown field 'extra' in a task of schema 4", path)
    return {**raw, "extra": {}}


def tasks_4_to_5(raws: Any, path: str) -> Any:
    """task_4_to_5 of each task in a list (anything but a list passed on, for its decode to refuse)."""
    if type(raws) is not list:
        return raws
    return [task_4_to_5(raw, f"{path}[{i}]") for i, raw in enumerate(raws)]


# The fast path's lookup tables: only the exact strings a file may hold.
_STATUS_OF = {s.value: s for s in Status}
_PRIORITY_OF: dict[Any, Priority | None] = {None: None, **{p.value: p for p in Priority}}
#: Tag tuples (and dates) already proven valid, shared between the tasks that hold them: most
#: tasks hold one of a few, so most checks are one lookup, and a large store is smaller in memory.
_TAGS_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}
_DATES_SEEN: dict[str, dt.date] = {}
_PROJECTS_SEEN: dict[str, str] = {}
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


def _day(text: Any) -> dt.date:
    """The day a stored date names (one seen before: one lookup); ValueError if it is not one."""
    day = _DATES_SEEN.get(text) if type(text) is str else None
    if day is None:
        if type(text) is not str or not is_date(text):
            raise ValueError(text)
        day = _date_of(text)
        if len(_DATES_SEEN) < _SEEN_MAX:
            _DATES_SEEN[text] = day
    return day


def _known_project(project: Any) -> bool:
    """True if ``project`` is text in the form normalize_project leaves it (a project seen before: one lookup)."""
    if project in _PROJECTS_SEEN:
        return True
    if type(project) is not str or normalize_project(project) != project:
        return False
    if len(_PROJECTS_SEEN) < _SEEN_MAX:
        _PROJECTS_SEEN[project] = project
    return True


_is_period = re.compile(RECUR_PATTERN).fullmatch


def _known_depends(raws: Any) -> tuple[uuid.UUID, ...] | None:
    """The uuids a task depends on, if ``raws`` lists them as task_to_dict writes them (sorted, each once);
    None if not."""
    if type(raws) is not list or len(raws) > DEPENDS_MAX:
        return None
    for i, text in enumerate(raws):
        if type(text) is not str or not _is_uuid(text) or (i and raws[i - 1] >= text):
            return None  # (the one written form of a uuid sorts as the uuids do)
    return tuple(map(_uuid_of, raws))


def _known_annotations(raws: Any) -> tuple[Annotation, ...] | None:
    """The annotations ``raws`` lists as task_to_dict writes them, each checked by Annotation's own rules;
    None if not (or InvalidValue, which the caller takes as None too)."""
    if type(raws) is not list or len(raws) > ANNOTATIONS_MAX:
        return None
    notes = []
    for raw in raws:
        if type(raw) is not dict or len(raw) != 2 or type(raw["at"]) is not str or not _is_timestamp(raw["at"]):
            return None
        notes.append(Annotation(_timestamp_of(raw["at"]), raw["text"]))
    if any(notes[i].at > notes[i + 1].at for i in range(len(notes) - 1)):
        return None
    return tuple(notes)


def _known_extra(raw: Any) -> tuple[tuple[str, Any], ...] | None:
    """The extra attributes ``raw`` holds as task_to_dict writes them (an object of name: value), sorted and
    checked by normalize_extra; None if not."""
    if type(raw) is not dict:
        return None
    if not raw:
        return ()
    try:
        return normalize_extra(raw)
    except InvalidValue:
        return None


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
        # As many keys as a task has, and each found: exactly a task's keys (a missing one is a KeyError).
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
            if state is not _OPEN and state is not _RECURRING:
                return None
        elif state is not _DONE or type(completed) is not str or not _is_timestamp(completed):
            return None
        else:
            completed = _timestamp_of(completed)
        if due is not None:
            due = _day(due)
        # The fields of schema 4. Most tasks hold the defaults of the rarer ones; a task that does not has
        # each checked here by its field's rule, and the rules between fields by check_task itself.
        project, scheduled, wait, until = raw["project"], raw["scheduled"], raw["wait"], raw["until"]
        if project is not None and not _known_project(project):
            return None
        if scheduled is not None:
            scheduled = _day(scheduled)
        if wait is not None:
            wait = _day(wait)
        if until is not None:
            until = _day(until)
        started, depends, annotations = raw["started"], raw["depends"], raw["annotations"]
        recur, parent, index = raw["recur"], raw["parent"], raw["index"]
        rare = (started is not None or depends != [] or annotations != [] or recur is not None or parent is not None
                or index != 0 or type(index) is not int or type(depends) is not list or type(annotations) is not list)
        if rare:
            if type(index) is not int or index < 0 or (recur is not None and not _is_period(recur)):
                return None
            if started is not None:
                if type(started) is not str or not _is_timestamp(started):
                    return None
                started = _timestamp_of(started)
            if parent is not None:
                if type(parent) is not str or not _is_uuid(parent):
                    return None
                parent = _uuid_of(parent)
            depends = _known_depends(depends)
            annotations = _known_annotations(annotations)
            if depends is None or annotations is None:
                return None
        else:
            depends = annotations = ()
        if state is _RECURRING and not rare:
            return None
        if type(tags) is not list:
            return None
        tag_tuple = _known_tags(tags)
        if tag_tuple is None:
            return None
        if priority is not None and type(priority) is not str:
            return None
        # The field of schema 5: extra attributes, usually none.
        extra = raw["extra"]
        if type(extra) is not dict:
            return None
        if extra:
            extra = _known_extra(extra)
            if extra is None:
                return None
        else:
            extra = ()
        task = trusted_task(task_id, _uuid_of(task_uuid), title, created_at, updated_at, note, state,
                            _PRIORITY_OF[priority], due, tag_tuple, completed, project, scheduled, wait, until,
                            started, depends, annotations, recur, parent, index, extra)
        if rare:
            check_task(task)  # raises InvalidValue (so None, below) for a rule between fields it breaks
        return task
    except Exception:  # noqa: BLE001 -- any doubt at all: the explaining converter decides, and says why
        return None


_KEY_COUNT = len(REQUIRED_TASK_KEYS)
_OPEN, _DONE, _RECURRING = Status.OPEN, Status.DONE, Status.RECURRING


#: The keys of a task in the order task_to_dict writes them.
_KEYS = ("id", "uuid", "title", "created", "updated", "note", "status", "priority", "due", "tags", "completed",
         *FIELDS_ADDED_IN_4, *FIELDS_ADDED_IN_5)
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
    if raw["project"] is not None:
        raw["project"] = _PROJECTS_SEEN.get(raw["project"], raw["project"])


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
        for day in (raw["due"], raw["scheduled"], raw["wait"], raw["until"]):
            if day is not None and day not in _WRITTEN_DATES:
                if type(day) is not str or not _is_written_date(day):
                    return False
                _date_of(day)  # ValueError for a day that does not exist
                if len(_WRITTEN_DATES) < _SEEN_MAX:
                    _WRITTEN_DATES[day] = day
        project = raw["project"]
        if (raw["started"] is not None or type(raw["depends"]) is not list or raw["depends"]
                or type(raw["annotations"]) is not list or raw["annotations"] or raw["recur"] is not None
                or raw["parent"] is not None or type(raw["index"]) is not int or raw["index"] != 0
                or type(raw["extra"]) is not dict or raw["extra"]
                or (project is not None and not _known_project(project))):
            return False
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
