"""Operations as a sync remote holds them: segment files, each one device's consecutive operations.

Each device ships its operations to ``ops/<device>/<first seq, 12 digits>.jsonl``, a file that is
added once and never changed, with one writer, so git never meets a conflict in it. Its lines are
checksummed as the journal's are ("<crc32 of the JSON, 8 hex digits> <JSON>\\n"):

- a header: ``{"format":"taskvault-ops","schema":1,"device":D,"first":N,"count":K,"name":H}``,
  ``name`` being the device's human name (a host name; may be empty);
- K operations, numbered N, N+1, …: ``{"seq":N,"task":U,"clock":{D:n,…},"body":B}``, the body the
  task as codec.tasks writes it but for its ``id`` (that device's own, meaning nothing elsewhere),
  or null for a deletion.

The header says how many operations follow, so a file cut at a line's end is told from a whole one.
Ops schema 1 holds bodies in the task form of store schema 5: a change of a task's form changes both.

Reading is strict, since a remote is written by other machines and may be damaged in between: a file
is taken only if it is byte for byte what encode_segment writes for the operations it decodes to (so a
key given twice, a space, an escape or a number written another way are refused too), each body obeys
every rule a stored task does, and its name matches its path. Anything else is RemoteDamaged, one
line naming the file and what is wrong: never a traceback, never a part of a file taken.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any, Final

import attrs

from ..domain.replica import DEVICE_PATTERN, Clock, Operation, check_device
from ..errors import InvalidValue, RemoteDamaged, shown
from .journal import checked_payload, frame
from .scalars import FormatError, loads
from .tasks import task_from_dict, task_to_dict

SEGMENT_FORMAT: Final = "taskvault-ops"
SEGMENT_SCHEMA: Final = 1
#: The largest segment read or written: a larger file is refused before it is parsed (a damaged or hostile
#: remote must not take unbounded memory). encode_segments splits a device's operations to stay below it.
MAX_SEGMENT_BYTES: Final = 64 * 1024 * 1024
#: The largest operation number: a segment's path holds its first in 12 digits. No device makes that many.
MAX_SEQ: Final = 10**12 - 1
#: The longest device name (a host name is at most 253 characters).
NAME_MAX: Final = 255

_PATH = re.compile(r"ops/([0-9a-f]{12})/([0-9]{12})\.jsonl")
#: A uuid in the one form str(uuid.UUID) writes.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEADER_KEYS = ("format", "schema", "device", "first", "count", "name")
_OP_KEYS = ("seq", "task", "clock", "body")
_BOM = b"\xef\xbb\xbf"
_MESSAGE_MAX = 300
_DAMAGED = ("the file is not as taskvault wrote it (changed by hand or by another program, or damaged); "
            "put it back from another copy of the remote, such as a clone on another device")
_NEWER = "a newer taskvault wrote it: upgrade taskvault on this device"
_LINE_ENDS = ("git changed its line ends (core.autocrlf, or a .gitattributes in the remote): turn that off for "
              "the remote, and put the file back from another copy of it")


@attrs.frozen
class Segment:
    """One segment file decoded: whose operations, from which number, and the operations."""

    device: str
    first: int
    #: The device's human name, as it was when it wrote the segment (may be empty).
    name: str
    ops: tuple[Operation, ...]

    @property
    def last(self) -> int:
        return self.first + len(self.ops) - 1

    @property
    def path(self) -> str:
        return segment_path(self.device, self.first)


def segment_path(device: str, first: int) -> str:
    """The path in the remote of ``device``'s segment that starts at operation ``first``."""
    check_device(device)
    if type(first) is not int or not 1 <= first <= MAX_SEQ:
        raise InvalidValue(f"a segment starts at an operation from 1 to {MAX_SEQ}, not {first!r:.40}")
    return f"ops/{device}/{first:012d}.jsonl"


def parse_segment_path(path: str) -> tuple[str, int] | None:
    """(device, first) of a segment's path; None for any other path (which the caller reports as damage
    if it lies under ops/: only taskvault writes there)."""
    found = _PATH.fullmatch(path) if type(path) is str else None
    if found is None or int(found[2]) < 1:
        return None
    return found[1], int(found[2])


def check_name(name: str) -> str:
    """``name`` if it may name a device in a segment (printable text, at most NAME_MAX characters); else
    InvalidValue."""
    if type(name) is not str or len(name) > NAME_MAX or not name.isprintable():
        raise InvalidValue(f"{shown(name) if type(name) is str else repr(name)[:40]} cannot name a device: at most "
                           f"{NAME_MAX} printable characters")
    return name


def _header_line(device: str, first: int, count: int, name: str) -> bytes:
    return frame({"format": SEGMENT_FORMAT, "schema": SEGMENT_SCHEMA, "device": device, "first": first,
                  "count": count, "name": name})


def _op_line(op: Operation) -> bytes:
    body = None
    if op.body is not None:
        body = task_to_dict(op.body)
        del body["id"]
    return frame({"seq": op.seq, "task": str(op.task), "clock": op.clock.as_dict(), "body": body})


def _op_lines(device: str, ops: Sequence[Operation]) -> list[bytes]:
    """Each operation's line; InvalidValue unless they are ``device``'s, numbered on without a gap."""
    lines = []
    for i, op in enumerate(ops):
        if type(op) is not Operation or op.device != device or op.seq != ops[0].seq + i:
            raise InvalidValue(f"a segment holds operations of device {device} numbered on without a gap, "
                               f"not {op!r:.60}")
        if op.seq > MAX_SEQ or any(seq > MAX_SEQ for _, seq in op.clock.entries):
            raise InvalidValue(f"operation {op.device}:{op.seq} holds a number over {MAX_SEQ}")
        lines.append(_op_line(op))
    return lines


def encode_segment(device: str, name: str, ops: Sequence[Operation]) -> bytes:
    """The segment file holding ``ops``: one or more of ``device``'s operations, numbered on without a gap.

    InvalidValue for no operations, another device's, a gap, a name check_name refuses, or a file over
    MAX_SEGMENT_BYTES (encode_segments splits one).
    """
    check_device(device)
    check_name(name)
    if not ops:
        raise InvalidValue("a segment holds at least one operation")
    lines = _op_lines(device, ops)
    data = b"".join([_header_line(device, ops[0].seq, len(ops), name), *lines])
    if len(data) > MAX_SEGMENT_BYTES:
        raise InvalidValue(f"{len(ops)} operations take {len(data):,} bytes, more than a segment holds")
    return data


def encode_segments(device: str, name: str, ops: Sequence[Operation], max_bytes: int = MAX_SEGMENT_BYTES
                    ) -> list[tuple[str, bytes]]:
    """(path, content) of the segments holding ``ops`` in order, each at most ``max_bytes`` long (an operation
    longer than that alone in its own); refused as encode_segment refuses."""
    check_device(device)
    check_name(name)
    if not ops:
        return []
    lines = _op_lines(device, ops)
    header_max = len(_header_line(device, MAX_SEQ, MAX_SEQ, name))
    segments: list[tuple[str, bytes]] = []
    start, size = 0, header_max
    for i, line in enumerate(lines):
        if i > start and size + len(line) > max_bytes:
            segments.append(_assembled(device, name, ops[start].seq, lines[start:i]))
            start, size = i, header_max
        size += len(line)
    segments.append(_assembled(device, name, ops[start].seq, lines[start:]))
    return segments


def _assembled(device: str, name: str, first: int, lines: list[bytes]) -> tuple[str, bytes]:
    data = b"".join([_header_line(device, first, len(lines), name), *lines])
    if len(data) > MAX_SEGMENT_BYTES:
        raise InvalidValue(f"operation {device}:{first} takes {len(data):,} bytes, more than a segment holds")
    return segment_path(device, first), data


class _Refused(Exception):
    """Why a segment is not taken (decode_segment adds which file)."""

    def __init__(self, reason: str, hint: str = _DAMAGED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def decode_segment(data: bytes, path: str) -> Segment:
    """The segment ``data`` holds, read from ``path`` in the remote; RemoteDamaged, naming the file and what is
    wrong, unless it is exactly what encode_segment writes for that path."""
    try:
        return _decoded(data, path)
    except _Refused as refused:
        raise RemoteDamaged(_one_line(f"the remote's file {shown(str(path))}: {refused.reason}"),
                            hint=refused.hint) from None


def segment_last(data: bytes, path: str) -> int:
    """The number of the last operation in the segment ``data`` at ``path``, from its first line alone (checked as
    decode_segment checks it): how far a device's own segments go, without decoding each operation."""
    try:
        named = parse_segment_path(path)
        if named is None:
            raise _Refused("is not where taskvault puts operations (ops/<12 hex digits>/<12 digits>.jsonl)")
        device, first = named
        _, count = _header(data.split(b"\n", 1)[0], device, first)
    except _Refused as refused:
        raise RemoteDamaged(_one_line(f"the remote's file {shown(str(path))}: {refused.reason}"),
                            hint=refused.hint) from None
    return first + count - 1


def _decoded(data: bytes, path: str) -> Segment:
    named = parse_segment_path(path)
    if named is None:
        raise _Refused("is not where taskvault puts operations (ops/<12 hex digits>/<12 digits>.jsonl)")
    device, first = named
    if type(data) is not bytes:
        raise _Refused(f"was read as {type(data).__name__}, not bytes")
    if len(data) > MAX_SEGMENT_BYTES:
        raise _Refused(f"is {len(data):,} bytes long, more than a segment holds ({MAX_SEGMENT_BYTES:,})")
    if not data:
        raise _Refused("is empty")
    if data.startswith(_BOM):
        raise _Refused("starts with a byte-order mark, which taskvault never writes (an editor saved it)")
    lines = data.split(b"\n")
    if lines[-1]:
        raise _Refused(f"ends part-way through its line {len(lines)}: the file was cut")
    del lines[-1]
    for number, line in enumerate(lines, start=1):
        if line.endswith(b"\r"):
            raise _Refused(f"line {number} ends in CR LF, not LF", hint=_LINE_ENDS)
    name, count = _header(lines[0], device, first)
    if len(lines) - 1 != count:
        raise _Refused(f"holds {len(lines) - 1} operation lines, but its header says {count}: lines were "
                       + ("cut off" if len(lines) - 1 < count else "added"))
    ops = tuple(_operation(line, number, device, first + number - 2) for number, line in enumerate(lines[1:], 2))
    return Segment(device, first, name, ops)


def _json(line: bytes, number: int) -> Any:
    """The JSON of line ``number``, its checksum checked."""
    if not line.strip(b"\0"):
        raise _Refused(f"line {number} is empty" if not line else f"line {number} holds only zero bytes")
    try:
        return loads(checked_payload(line, f"line {number}"), f"line {number}")
    except FormatError as exc:
        raise _Refused(str(exc)) from None


def _header(line: bytes, device: str, first: int) -> tuple[str, int]:
    """The name and count the header on line 1 gives, checked against the path's device and first number."""
    raw = _json(line, 1)
    if type(raw) is not dict or raw.get("format") != SEGMENT_FORMAT:
        raise _Refused("is not a segment of taskvault operations (its first line does not say so)")
    schema = raw.get("schema")
    if type(schema) is int and schema > SEGMENT_SCHEMA:
        raise _Refused(f"is of ops schema {schema}; this taskvault reads up to {SEGMENT_SCHEMA}", hint=_NEWER)
    if tuple(raw) != _HEADER_KEYS or schema != SEGMENT_SCHEMA:
        raise _Refused(f"has a header of another shape (its keys: {', '.join(map(str, raw))})")
    count, name = raw["count"], raw["name"]
    if raw["device"] != device or type(raw["first"]) is not int or raw["first"] != first:
        raise _Refused(f"has the header of the segment of device {_brief(raw['device'])} from {_brief(raw['first'])}: "
                       f"its name says device {device}'s from {first}")
    if type(count) is not int or not 1 <= count <= MAX_SEQ - first + 1:
        raise _Refused(f"says it holds {_brief(count)} operations from {first}, which cannot be")
    try:
        check_name(name)
    except InvalidValue as exc:
        raise _Refused(f"has a header whose device name is refused: {exc}") from None
    if _header_line(device, first, count, name) != line + b"\n":
        raise _Refused("line 1 is not written as taskvault writes it (a key given twice, a space, an escape or "
                       "a number written another way)")
    return name, count


def _operation(line: bytes, number: int, device: str, seq: int) -> Operation:
    """The operation on line ``number``, which must be ``device``'s operation ``seq``."""
    raw = _json(line, number)
    what = f"line {number} (operation {seq})"
    if type(raw) is not dict or tuple(raw) != _OP_KEYS:
        keys = ", ".join(map(str, raw)) if type(raw) is dict else type(raw).__name__
        raise _Refused(f"{what} is not an operation (it holds: {keys})")
    if type(raw["seq"]) is not int or raw["seq"] != seq:
        raise _Refused(f"{what} is numbered {_brief(raw['seq'])}: a segment's operations are numbered on "
                       "from its first without a gap")
    task, clock, body = raw["task"], raw["clock"], raw["body"]
    if type(task) is not str or not _UUID.fullmatch(task):
        raise _Refused(f"{what} names no task (expected a uuid, got {_brief(task)})")
    try:
        op = Operation(device, seq, uuid.UUID(task), _clock(clock), _body(body, task))
    # FormatError and InvalidValue say which rule a body breaks; the others are what a converter may raise for a
    # value no rule foresaw: damage all the same, never a traceback.
    except (ValueError, TypeError, LookupError, ArithmeticError, RecursionError) as exc:
        raise _Refused(f"{what}: {exc}") from None
    if _op_line(op) != line + b"\n":
        raise _Refused(f"{what} is not written as taskvault writes it (a key given twice, a space, an escape, "
                       "a number or a field written another way)")
    return op


def _clock(raw: Any) -> Clock:
    if type(raw) is not dict or not raw:
        raise InvalidValue("its clock is not an object of device: number")
    for device, seq in raw.items():
        if not DEVICE_PATTERN.fullmatch(device):
            raise InvalidValue(f"its clock names {shown(device)}, which is not a device id")
        if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
            raise InvalidValue(f"its clock gives device {device} the count {_brief(seq)}, which cannot be")
    return Clock(tuple(sorted(raw.items())))  # (what Clock.of checks, checked above)


def _body(raw: Any, task: str) -> Any:
    """The task a body holds (with the placeholder id 1: the receiver gives it its own), or None."""
    if raw is None:
        return None
    if type(raw) is not dict or "id" in raw:
        raise InvalidValue("its body is not a task without an id")
    if raw.get("uuid") != task:
        raise InvalidValue(f"its body is of task {_brief(raw.get('uuid'))}, not {task}")
    raw["id"] = 1
    return task_from_dict(raw, "$.body")


def _brief(value: Any) -> str:
    """A value read from a file, for a message: a string quoted, a number's first digits, else its type."""
    if type(value) is str:
        return shown(value)
    if type(value) is int:
        text = str(value)
        return text if len(text) <= 20 else f"{text[:20]}… ({len(text)} digits)"
    return "null" if value is None else type(value).__name__


def _one_line(message: str) -> str:
    """``message`` with every character that is not printable escaped, and only its start when it is long."""
    if not message.isprintable():
        message = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)
    return message if len(message) <= _MESSAGE_MAX else message[:_MESSAGE_MAX] + "…"
