"""The on-disk format: the snapshot envelope, journal lines, and strict conversion of tasks.

This is the only module that knows how a Task looks as JSON. Conversion is strict: no
silent coercion ("3" is not 3, true is not 1), no unknown keys, every domain rule checked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
import zlib
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from .domain.task import Priority, Status, Task
from .domain.tasklist import Change
from .errors import InvalidValue

#: The schema this version writes, and the newest it can read.
SCHEMA = 1
SNAPSHOT_FORMAT = "taskvault"
JOURNAL_FORMAT = "taskvault-journal"

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


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(int, lambda v, _: _expect(int, v, "an integer"))
    conv.register_structure_hook(str, lambda v, _: _expect(str, v, "a string"))
    conv.register_structure_hook(uuid.UUID, lambda v, _: uuid.UUID(_expect(str, v, "a uuid string")))
    conv.register_structure_hook(dt.datetime, _structure_timestamp)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(Status, lambda v, _: Status(_expect(str, v, "a status string")))
    conv.register_structure_hook(Priority, lambda v, _: Priority(_expect(str, v, "a priority string")))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_tags)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_unstructure_hook(dt.datetime, format_timestamp)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook_func(lambda t: t == tuple[str, ...], list)
    # Every field is written, defaults included, so a file always says everything it means.
    conv.register_structure_hook(Task, make_dict_structure_fn(Task, conv, _cattrs_forbid_extra_keys=True,
                                                              _cattrs_use_linecache=False))
    conv.register_unstructure_hook(Task, make_dict_unstructure_fn(Task, conv))
    return conv


_converter = _make_converter()
_REQUIRED_TASK_KEYS = frozenset(a.name for a in Task.__attrs_attrs__)  # type: ignore[attr-defined]


def _describe(exc: BaseException, type_: Any) -> str:
    # Our own hooks and the domain rules raise messages written for people; keep them.
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def task_to_dict(task: Task) -> dict[str, Any]:
    return _converter.unstructure(task)  # type: ignore[no-any-return]


def task_from_dict(raw: Any, path: str = "$") -> Task:
    """Build a Task from decoded JSON, or raise FormatError naming the JSON path."""
    if type(raw) is not dict:
        raise FormatError(f"expected a task object, got {type(raw).__name__}", path)
    missing = _REQUIRED_TASK_KEYS - raw.keys()
    if missing:
        raise FormatError(f"missing field {sorted(missing)[0]!r}", path)
    try:
        return _converter.structure(raw, Task)  # type: ignore[no-any-return]
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


def _check_envelope(doc: Any, expected_format: str, keys: frozenset[str], path: str = "$") -> None:
    if type(doc) is not dict:
        raise FormatError(f"expected a JSON object, got {type(doc).__name__}", path)
    if doc.get("format") != expected_format:
        raise FormatError(f"not a {expected_format} file (format is {doc.get('format')!r})", f"{path}.format")
    schema = doc.get("schema")
    if type(schema) is not int or schema < 1:
        raise FormatError(f"expected a schema number, got {schema!r:.40}", f"{path}.schema")
    if schema > SCHEMA:
        raise TooNewError(f"written by a newer taskvault (schema {schema}; this version knows up to {SCHEMA})", "")
    extra, missing = doc.keys() - keys, keys - doc.keys()
    if missing:
        raise FormatError(f"missing field {sorted(missing)[0]!r}", path)
    if extra:
        raise FormatError(f"unknown field {sorted(extra)[0]!r}", path)
    for key in keys & {"revision", "next_id", "base"}:
        if type(doc[key]) is not int or doc[key] < 0:
            raise FormatError(f"expected a non-negative integer, got {doc[key]!r:.40}", f"{path}.{key}")


_SNAPSHOT_KEYS = frozenset({"format", "schema", "revision", "next_id", "tasks"})


def encode_snapshot(tasks: tuple[Task, ...], next_id: int, revision: int) -> bytes:
    """The whole store as one JSON document, one task per line so that diffs stay readable."""
    head = _dumps({"format": SNAPSHOT_FORMAT, "schema": SCHEMA, "revision": revision, "next_id": next_id})
    body = ",\n".join(_dumps(task_to_dict(t)) for t in tasks)
    return f'{head[:-1]},"tasks":[\n{body}\n]}}\n'.encode()


def decode_snapshot(data: bytes) -> tuple[list[Task], int, int]:
    """Return (tasks, next_id, revision) or raise FormatError / TooNewError."""
    doc = _loads(data, "the file")
    _check_envelope(doc, SNAPSHOT_FORMAT, _SNAPSHOT_KEYS)
    if type(doc["tasks"]) is not list:
        raise FormatError("expected a list of tasks", "$.tasks")
    tasks = [task_from_dict(raw, f"$.tasks[{i}]") for i, raw in enumerate(doc["tasks"])]
    return tasks, doc["next_id"], doc["revision"]


# -- journal lines: "<crc32 of the JSON, 8 hex digits> <JSON>\n" ------------------------------

_HEADER_KEYS = frozenset({"format", "schema", "generation", "base"})
_RECORD_KEYS = frozenset({"rev", "at", "cmd", "put", "del", "next_id"})


def _frame(obj: dict[str, Any]) -> bytes:
    payload = _dumps(obj).encode()
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def _unframe(line: bytes, what: str) -> Any:
    if len(line) < 10 or line[8:9] != b" ":
        raise FormatError(f"{what} is not a checksummed journal line", "")
    crc, payload = line[:8], line[9:]
    try:
        expected = int(crc, 16)
    except ValueError:
        raise FormatError(f"{what} has no checksum", "") from None
    if zlib.crc32(payload) != expected:
        raise FormatError(f"{what} fails its checksum, so the file was damaged", "")
    return _loads(payload, what)


def encode_journal_header(generation: str, base: int) -> bytes:
    return _frame({"format": JOURNAL_FORMAT, "schema": SCHEMA, "generation": generation, "base": base})


def decode_journal_header(line: bytes) -> tuple[str, int]:
    """Return (generation, base revision) of a journal's first line."""
    doc = _unframe(line, "the journal header")
    _check_envelope(doc, JOURNAL_FORMAT, _HEADER_KEYS)
    if type(doc["generation"]) is not str or not doc["generation"]:
        raise FormatError("expected a generation string", "$.generation")
    return doc["generation"], doc["base"]


def encode_record(change: Change, revision: int, at: dt.datetime) -> bytes:
    return _frame({
        "rev": revision,
        "at": format_timestamp(at),
        "cmd": change.command,
        "put": [task_to_dict(t) for t in change.put],
        "del": list(change.delete),
        "next_id": change.next_id,
    })


def decode_record(line: bytes, what: str) -> tuple[int, Change]:
    """Return (revision, change) of one journal record line (without its newline)."""
    doc = _unframe(line, what)
    if type(doc) is not dict:
        raise FormatError(f"{what}: expected a JSON object", "")
    extra, missing = doc.keys() - _RECORD_KEYS, _RECORD_KEYS - doc.keys()
    if missing or extra:
        raise FormatError(f"{what}: {'missing' if missing else 'unknown'} field "
                          f"{sorted(missing or extra)[0]!r}", "")
    if type(doc["rev"]) is not int or type(doc["next_id"]) is not int or type(doc["cmd"]) is not str:
        raise FormatError(f"{what}: rev, next_id and cmd have the wrong types", "")
    if type(doc["put"]) is not list or type(doc["del"]) is not list:
        raise FormatError(f"{what}: put and del must be lists", "")
    if any(type(i) is not int for i in doc["del"]):
        raise FormatError(f"{what}: del must list task ids", "")
    put = tuple(task_from_dict(raw, f"{what} $.put[{i}]") for i, raw in enumerate(doc["put"]))
    return doc["rev"], Change(doc["cmd"], put=put, delete=tuple(doc["del"]), next_id=doc["next_id"])
