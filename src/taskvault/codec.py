"""The on-disk format: the snapshot envelope, journal lines, and strict conversion of tasks.

This is the only module that knows how a Task looks as JSON. Conversion is strict: no
silent coercion ("3" is not 3, true is not 1), no unknown keys, every domain rule checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import uuid
import zlib
from typing import TYPE_CHECKING, Any

import attrs

from .domain.change import Change
from .domain.history import Step
from .domain.task import Priority, Status, Task
from .errors import InvalidValue

if TYPE_CHECKING:
    import cattrs

#: The schema this version writes. It reads every schema from 1 up to this one (older files are
#: upgraded by MIGRATIONS), and a newer one whose ``min_reader`` is at most this (read-only).
SCHEMA = 2
#: The oldest taskvault schema that can read what this version writes.
MIN_READER = 2
SNAPSHOT_FORMAT = "taskvault"
JOURNAL_FORMAT = "taskvault-journal"

#: The largest snapshot, journal or backup taskvault reads or writes (about 900,000 tasks). A larger
#: file is refused before it is read, so that a damaged or hostile file cannot take unbounded memory.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: The largest journal record: one change may hold about 200,000 tasks. A longer unfinished tail
#: cannot be a record that was being written when a writer stopped, so it is damage.
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: What a journal line starts with once its change was reported as failed: the writer overwrites the
#: record's checksum with it, so that no reader applies the change and every reader knows why.
VOID_MARK = b"--void-- "

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FormatError(ValueError):
    """A document does not have the shape this schema requires; ``path`` says where."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} @ {path}" if path else message)
        self.path = path


class TooNewError(FormatError):
    """A document declares a schema newer than this version knows."""


def format_timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expect(kind: type, value: Any, what: str) -> Any:
    # bool is an int in Python; a store that says true where a number belongs is damaged.
    if type(value) is not kind:
        raise TypeError(f"expected {what}, got {type(value).__name__} {value!r:.40}")
    return value


def _structure_timestamp(value: Any, _: type) -> dt.datetime:
    text = _expect(str, value, "a UTC timestamp string")
    if not _TIMESTAMP.match(text):
        raise ValueError(f"expected a timestamp like 2026-01-31T12:00:00.000000Z, got {text!r:.40}")
    return dt.datetime.fromisoformat(text)  # the pattern above already pinned the exact form


def _structure_date(value: Any, _: type) -> dt.date:
    text = _expect(str, value, "a date string")
    if not _DATE.match(text):
        raise ValueError(f"expected a date like 2026-01-31, got {text!r:.40}")
    return dt.date.fromisoformat(text)


def _structure_tags(value: Any, _: type) -> tuple[str, ...]:
    return tuple(_expect(str, tag, "a tag string") for tag in _expect(list, value, "a list of tags"))


@functools.cache
def _explaining_converter() -> cattrs.Converter:
    """The reference converter: slower, but it says which field of which task is wrong, and how.

    Every task is first tried by the fast path below; this one runs only when that fails, to
    explain why (or, for a form the fast path does not try, such as an upper-case uuid, to
    accept it). tests/test_codec_fast.py checks that the two agree on every input.
    """
    import cattrs  # ~20 ms to import: only a store that fails the fast path pays it
    from cattrs.gen import make_dict_structure_fn

    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(int, lambda v, _: _expect(int, v, "an integer"))
    conv.register_structure_hook(str, lambda v, _: _expect(str, v, "a string"))
    conv.register_structure_hook(uuid.UUID, lambda v, _: uuid.UUID(_expect(str, v, "a uuid string")))
    conv.register_structure_hook(dt.datetime, _structure_timestamp)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(Status, lambda v, _: Status(_expect(str, v, "a status string")))
    conv.register_structure_hook(Priority, lambda v, _: Priority(_expect(str, v, "a priority string")))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_tags)
    conv.register_structure_hook(Task, make_dict_structure_fn(Task, conv, _cattrs_forbid_extra_keys=True,
                                                              _cattrs_use_linecache=False))
    return conv


_REQUIRED_TASK_KEYS = frozenset(a.name for a in attrs.fields(Task))


def _describe(exc: BaseException, type_: Any) -> str:
    import cattrs

    # Our own hooks and the domain rules raise messages written for people; keep them.
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def _utc_text(value: dt.datetime) -> str:
    """A timestamp the domain already holds in UTC, as the file writes it (format_timestamp's form)."""
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def task_to_dict(task: Task) -> dict[str, Any]:
    """Every field, defaults included, so that a file always says everything it means."""
    return {
        "id": task.id,
        "uuid": str(task.uuid),
        "title": task.title,
        "created": _utc_text(task.created),
        "updated": _utc_text(task.updated),
        "note": task.note,
        "status": task.status.value,
        "priority": None if task.priority is None else task.priority.value,
        "due": None if task.due is None else task.due.isoformat(),
        "tags": list(task.tags),
        "completed": None if task.completed is None else _utc_text(task.completed),
    }


# The fast path's lookup tables: only the exact strings a file may hold.
_STATUS_OF = {s.value: s for s in Status}
_PRIORITY_OF: dict[Any, Priority | None] = {None: None, **{p.value: p for p in Priority}}
_TAGS_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}
_is_timestamp = _TIMESTAMP.match
_timestamp_of = dt.datetime.fromisoformat


def _fast_task(raw: Any) -> Task | None:
    """The Task a well-formed dict describes, or None if anything about it is off.

    Accepts only what the explaining converter accepts, and builds the same Task: every type is
    checked exactly (true is not 1), each timestamp and date against the same pattern, and
    Task() itself runs every domain rule. It is written out flat because it runs once per task
    loaded. Equal tag tuples are shared, which keeps a large store smaller in memory.
    """
    try:
        if type(raw) is not dict or raw.keys() != _REQUIRED_TASK_KEYS:
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
            if type(due) is not str or not _DATE.match(due):
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
    except Exception:  # any doubt at all: the explaining converter decides, and says why
        return None


def task_from_dict(raw: Any, path: str = "$") -> Task:
    """Build a Task from decoded JSON, or raise FormatError naming the JSON path."""
    task = _fast_task(raw)
    if task is not None:
        return task
    return _explained_task(raw, path)


def _explained_task(raw: Any, path: str) -> Task:
    import cattrs

    if type(raw) is not dict:
        raise FormatError(f"expected a task object, got {type(raw).__name__}", path)
    missing = _REQUIRED_TASK_KEYS - raw.keys()
    if missing:
        raise FormatError(f"missing field {sorted(missing)[0]!r}", path)
    try:
        return _explaining_converter().structure(raw, Task)
    except cattrs.BaseValidationError as exc:
        raise FormatError(cattrs.transform_error(exc, path=path, format_exception=_describe)[0], "") from None
    except InvalidValue as exc:
        raise FormatError(str(exc), path) from None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _loads(data: bytes, what: str) -> Any:
    if not data.strip():
        raise FormatError(f"{what} is empty", "")
    if not data.strip(b"\0"):
        raise FormatError(f"{what} holds only zero bytes, as a disk can leave a file after a crash", "")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8 (byte {exc.start})", "") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")
        raise FormatError(f"{what} is not valid JSON: {reason} at line {exc.lineno} column {exc.colno}", "") from None
    except RecursionError:
        raise FormatError(f"{what} is nested too deeply to be a taskvault file", "") from None
    except ValueError as exc:  # a number of more than 4,300 digits: no taskvault file holds one
        raise FormatError(f"{what} holds a number too long to be a taskvault value ({str(exc)[:60]})", "") from None


def _schema_of(doc: Any, expected_format: str, path: str = "$") -> int:
    """The schema a decoded document declares; TooNewError if this version may not even read it."""
    if type(doc) is not dict:
        raise FormatError(f"expected a JSON object, got {type(doc).__name__}", path)
    if doc.get("format") != expected_format:
        raise FormatError(f"not a {expected_format} file (format is {doc.get('format')!r})", f"{path}.format")
    schema = doc.get("schema")
    if type(schema) is not int or schema < 1:
        raise FormatError(f"expected a schema number, got {schema!r:.40}", f"{path}.schema")
    if schema > SCHEMA:
        min_reader = doc.get("min_reader", schema)
        if type(min_reader) is not int or min_reader > SCHEMA:
            raise TooNewError(f"written by a newer taskvault (schema {schema}; this version knows up to {SCHEMA})",
                              "")
    return schema


def _upgrade(doc: dict[str, Any], schema: int, migrations: dict[int, Any]) -> dict[str, Any]:
    """Bring a document of an older schema up to SCHEMA, one migration at a time."""
    while schema < SCHEMA:
        doc = migrations[schema](doc)
        schema += 1
    return doc


def _check_keys(doc: dict[str, Any], keys: frozenset[str], schema: int, path: str = "$") -> dict[str, Any]:
    missing = keys - doc.keys()
    if missing:
        raise FormatError(f"missing field {sorted(missing)[0]!r}", path)
    extra = doc.keys() - keys
    if extra and schema > SCHEMA:  # a newer writer that lets us read: what it added is not ours to know
        return {k: doc[k] for k in keys}
    if extra:
        raise FormatError(f"unknown field {sorted(extra)[0]!r}", path)
    return doc


def _check_envelope(doc: Any, expected_format: str, keys: frozenset[str], migrations: dict[int, Any],
                    path: str = "$") -> tuple[dict[str, Any], int]:
    """Check and upgrade an envelope; return (the document at SCHEMA or newer, its original schema)."""
    schema = _schema_of(doc, expected_format, path)
    doc = _check_keys(_upgrade(doc, schema, migrations), keys, schema, path)
    for key in keys & {"revision", "next_id", "base", "min_reader"}:
        if type(doc[key]) is not int or doc[key] < 0:
            raise FormatError(f"expected a non-negative integer, got {doc[key]!r:.40}", f"{path}.{key}")
    return doc, schema


# -- migrations: each takes a document of schema N and returns it as schema N + 1 --------------


def _snapshot_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 added the minimum reader and the history of recent changes (none is known in 1)."""
    return {**doc, "schema": 2, "min_reader": 2, "history": []}


def _header_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "schema": 2, "min_reader": 2}


def _record_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 records say which revisions an undo reverts or a redo re-applies; 1 had neither."""
    return {**doc, "undoes": [], "redoes": []}


SNAPSHOT_MIGRATIONS = {1: _snapshot_1_to_2}
HEADER_MIGRATIONS = {1: _header_1_to_2}
RECORD_MIGRATIONS = {1: _record_1_to_2}


@attrs.frozen
class Snapshot:
    """A decoded snapshot, whatever schema it was written in."""

    tasks: list[Task]
    next_id: int
    revision: int
    steps: list[Step]
    #: The schema the file was written in: older means it should be migrated, newer read-only.
    schema: int


_SNAPSHOT_KEYS = frozenset({"format", "schema", "min_reader", "revision", "next_id", "history", "tasks"})


def encode_snapshot(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """The whole store as one JSON document, one step and one task per line so that diffs stay readable."""
    head = _dumps({"format": SNAPSHOT_FORMAT, "schema": SCHEMA, "min_reader": MIN_READER,
                   "revision": revision, "next_id": next_id})
    history = ",\n".join(_dumps(_step_to_dict(s)) for s in steps)
    body = ",\n".join(_dumps(task_to_dict(t)) for t in tasks)
    return f'{head[:-1]},"history":[\n{history}\n],"tasks":[\n{body}\n]}}\n'.encode()


def encode_snapshot_v1(tasks: tuple[Task, ...], next_id: int, revision: int) -> bytes:
    """A snapshot exactly as schema 1 wrote it: kept so a store can be backed up as it was before a migration."""
    head = _dumps({"format": SNAPSHOT_FORMAT, "schema": 1, "revision": revision, "next_id": next_id})
    body = ",\n".join(_dumps(task_to_dict(t)) for t in tasks)
    return f'{head[:-1]},"tasks":[\n{body}\n]}}\n'.encode()


def decode_snapshot(data: bytes) -> Snapshot:
    """Decode a snapshot of any schema this version reads, or raise FormatError / TooNewError."""
    doc, schema = _check_envelope(_loads(data, "the file"), SNAPSHOT_FORMAT, _SNAPSHOT_KEYS, SNAPSHOT_MIGRATIONS)
    if type(doc["tasks"]) is not list:
        raise FormatError("expected a list of tasks", "$.tasks")
    if type(doc["history"]) is not list:
        raise FormatError("expected a list of changes", "$.history")
    tasks = [task_from_dict(raw, f"$.tasks[{i}]") for i, raw in enumerate(doc["tasks"])]
    steps = [_step_from_dict(raw, f"$.history[{i}]", schema) for i, raw in enumerate(doc["history"])]
    return Snapshot(tasks, doc["next_id"], doc["revision"], steps, schema)


# -- journal lines: "<crc32 of the JSON, 8 hex digits> <JSON>\n" ------------------------------

_HEADER_KEYS = frozenset({"format", "schema", "min_reader", "generation", "base"})
_RECORD_KEYS = frozenset({"rev", "at", "cmd", "put", "del", "next_id", "undoes", "redoes"})
_STEP_KEYS = _RECORD_KEYS | {"was"}


def _frame(obj: dict[str, Any]) -> bytes:
    payload = _dumps(obj).encode()
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


_CHECKSUM = re.compile(rb"[0-9a-f]{8}")


def _unframe(line: bytes, what: str) -> Any:
    if len(line) < 10 or line[8:9] != b" ":
        raise FormatError(f"{what} is not a checksummed journal line", "")
    crc, payload = line[:8], line[9:]
    # Exactly as written: int() would also take upper case, a sign, spaces or underscores, so a changed
    # byte in the checksum could pass unnoticed.
    if not _CHECKSUM.fullmatch(crc):
        raise FormatError(f"{what} has no checksum", "")
    expected = int(crc, 16)
    if zlib.crc32(payload) != expected:
        raise FormatError(f"{what} fails its checksum, so the file was damaged", "")
    return _loads(payload, what)


def is_void(line: bytes) -> bool:
    """True for a journal line (or unfinished tail) whose change was reported as failed and voided."""
    return line.startswith(VOID_MARK)


_TORN_HEAD = re.compile(rb"^[0-9a-f]{0,8}$|^[0-9a-f]{8} ")
_NOT_IN_A_RECORD = re.compile(rb"[\x00-\x1f]")


def check_torn_tail(tail: bytes, revision: int) -> None:
    """Raise FormatError unless ``tail`` can be the unfinished write of record ``revision``.

    Only a strict prefix of that record can be left by a writer that stopped part-way: its
    checksum's hex digits, a space, then the start of ``{"rev":<revision>,`` and what follows,
    with no byte a record never holds, and shorter than the longest record. Anything else --
    a complete record missing only its newline, zero bytes, a tail longer than any record -- was
    changed after it was written, and is damage: never dropped as if it had been torn.
    """
    where = f"the journal's last {len(tail)} bytes (after its last complete line)"
    for whole in (tail, tail[:-1]):  # a complete record, its newline missing or changed into another byte
        if len(whole) > 9 and _TORN_HEAD.match(whole[:9]) and zlib.crc32(whole[9:]) == int(whole[:8], 16):
            raise FormatError(f"record {revision} is complete but its line does not end in a newline, so the file "
                              "was changed after it was written", "")
    if len(tail) > MAX_RECORD_BYTES:
        raise FormatError(f"{where} are longer than any record, so they are not an unfinished write", "")
    bad = _NOT_IN_A_RECORD.search(tail)
    if bad:
        raise FormatError(f"{where} hold byte 0x{tail[bad.start()]:02x} at {bad.start()}, which no record holds, "
                          "so they are not an unfinished write", "")
    expected = b'{"rev":%d,' % revision
    payload = tail[9:]
    if not _TORN_HEAD.match(tail[:9]) or payload[:len(expected)] != expected[:len(payload)]:
        raise FormatError(f"{where} are not the start of record {revision}, so they are not an unfinished write", "")


_TASK_ID_NAMED = re.compile(rb'"id":(\d{1,18})')
_NEXT_ID_NAMED = re.compile(rb'"next_id":(\d{1,18})')


def first_unnamed_id(data: bytes) -> int:
    """The lowest task id that ``data`` (an unfinished or voided record) neither uses nor reserves (1 if none).

    The loader reserves these ids (TaskList.reserve_ids) while such a record lies in the journal, so
    that an id that reached the disk, even in a change never acknowledged, is not handed out again
    while a user may have been told its fate was unknown. The writer that cuts the record off does so
    just before its own append, whose record carries ``next_id`` past the reservation: from then on
    the journal itself keeps it. Ids of a record that was cut back before its save was reported are
    not reserved: no reader ever believed it, and the user was told it failed.
    """
    used = [int(found) + 1 for found in _TASK_ID_NAMED.findall(data)]
    reserved = [int(found) for found in _NEXT_ID_NAMED.findall(data)]
    return max([1, *used, *reserved])


def encode_journal_header(generation: str, base: int) -> bytes:
    return _frame({"format": JOURNAL_FORMAT, "schema": SCHEMA, "min_reader": MIN_READER,
                   "generation": generation, "base": base})


@attrs.frozen
class JournalHeader:
    generation: str
    #: The revision of the snapshot this journal continues.
    base: int
    schema: int


def decode_journal_header(line: bytes) -> JournalHeader:
    """Decode a journal's first line."""
    doc, schema = _check_envelope(_unframe(line, "the journal header"), JOURNAL_FORMAT, _HEADER_KEYS,
                                  HEADER_MIGRATIONS)
    if type(doc["generation"]) is not str or not doc["generation"]:
        raise FormatError("expected a generation string", "$.generation")
    return JournalHeader(doc["generation"], doc["base"], schema)


def _change_fields(change: Change, revision: int, at: dt.datetime | None) -> dict[str, Any]:
    return {
        "rev": revision,
        "at": format_timestamp(at) if at is not None else None,
        "cmd": change.command,
        "put": [task_to_dict(t) for t in change.put],
        "del": list(change.delete),
        "next_id": change.next_id,
        "undoes": list(change.undoes),
        "redoes": list(change.redoes),
    }


def encode_record(change: Change, revision: int, at: dt.datetime) -> bytes:
    return _frame(_change_fields(change, revision, at))


def _step_to_dict(step: Step) -> dict[str, Any]:
    return {**_change_fields(step.change, step.revision, step.at), "was": [task_to_dict(t) for t in step.was]}


def _ids(value: Any, what: str, key: str) -> tuple[int, ...]:
    if type(value) is not list or any(type(i) is not int for i in value):
        raise FormatError(f"{what}: {key} must list integers", "")
    return tuple(value)


def _tasks(value: Any, what: str, key: str) -> tuple[Task, ...]:
    if type(value) is not list:
        raise FormatError(f"{what}: {key} must be a list", "")
    return tuple(task_from_dict(raw, f"{what} $.{key}[{i}]") for i, raw in enumerate(value))


def _change_from_dict(doc: Any, what: str, keys: frozenset[str], schema: int) -> tuple[dict[str, Any], Change]:
    if type(doc) is not dict:
        raise FormatError(f"{what}: expected a JSON object", "")
    doc = _check_keys(_upgrade(doc, schema, RECORD_MIGRATIONS), keys, schema, what)
    if type(doc["rev"]) is not int or type(doc["next_id"]) is not int or type(doc["cmd"]) is not str:
        raise FormatError(f"{what}: rev, next_id and cmd have the wrong types", "")
    change = Change(doc["cmd"], put=_tasks(doc["put"], what, "put"), delete=_ids(doc["del"], what, "del"),
                    next_id=doc["next_id"], undoes=_ids(doc["undoes"], what, "undoes"),
                    redoes=_ids(doc["redoes"], what, "redoes"))
    return doc, change


def decode_record(line: bytes, what: str, schema: int = SCHEMA) -> tuple[int, Change, dt.datetime]:
    """Return (revision, change, time) of one journal record line (without its newline)."""
    doc, change = _change_from_dict(_unframe(line, what), what, _RECORD_KEYS, schema)
    try:
        at = _structure_timestamp(doc["at"], dt.datetime)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{what}: {exc}", "") from None
    return doc["rev"], change, at


def _step_from_dict(raw: Any, what: str, schema: int) -> Step:
    doc, change = _change_from_dict(raw, what, _STEP_KEYS, schema)
    try:
        at = None if doc["at"] is None else _structure_timestamp(doc["at"], dt.datetime)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{what}: {exc}", "") from None
    return Step(doc["rev"], at, change, _tasks(doc["was"], what, "was"))
