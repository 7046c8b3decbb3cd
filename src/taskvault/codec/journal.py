"""The journal's lines: "<crc32 of the JSON, 8 hex digits> <JSON>\\n", a header and then one record per change.

Also what a reader may make of a line that is not a whole record: a voided change, or the
unfinished tail a writer that stopped part-way leaves.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from typing import Any

from ..domain.change import Change
from .changes import RECORD_KEYS, change_fields, change_from_dict, time_of
from .envelope import MIN_READER, SCHEMA, Migrations, check_envelope
from .scalars import FormatError, dumps, loads

JOURNAL_FORMAT = "taskvault-journal"

#: The largest journal record: one change may hold about 200,000 tasks. A longer unfinished tail
#: cannot be a record that was being written when a writer stopped, so it is damage.
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: What a journal line starts with once its change was reported as failed: the writer overwrites the
#: record's checksum with it, so that no reader applies the change and every reader knows why.
VOID_MARK = b"--void-- "

_HEADER_KEYS = frozenset({"format", "schema", "min_reader", "generation", "base"})


def _header_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "schema": 2, "min_reader": 2}


def _header_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 changed only the snapshot: a journal's header says the schema, and nothing else changes."""
    return {**doc, "schema": 3}


def _header_3_to_4(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 changed the tasks in the records (their own migration adds the new fields), not the header."""
    return {**doc, "schema": 4, "min_reader": 4}


def _header_4_to_5(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 changed the tasks in the records (their own migration adds extra attributes), not the header."""
    return {**doc, "schema": 5, "min_reader": 5}


def _header_5_to_6(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 6 added sync's changes, which may carry the replication state's change, not the header."""
    return {**doc, "schema": 6, "min_reader": 6}


HEADER_MIGRATIONS: Migrations = {1: _header_1_to_2, 2: _header_2_to_3, 3: _header_3_to_4, 4: _header_4_to_5,
                                 5: _header_5_to_6}


def frame(obj: dict[str, Any]) -> bytes:
    """One journal line: the checksum of the JSON, a space, the JSON, a newline."""
    payload = dumps(obj).encode()
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


_CHECKSUM = re.compile(rb"[0-9a-f]{8}")


def _unframe(line: bytes, what: str) -> Any:
    return loads(checked_payload(line, what), what)


def checked_payload(line: bytes, what: str) -> bytes:
    """The JSON of a journal line (without its newline) whose checksum holds; FormatError if it does not."""
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
    return payload


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


def encode_journal_header(generation: str, base: int, store: str | None = None) -> bytes:
    """A journal's first line; ``store``: the id of the encrypted store whose records it holds (None: plain)."""
    fields: dict[str, Any] = {"format": JOURNAL_FORMAT, "schema": SCHEMA, "min_reader": MIN_READER,
                              "generation": generation, "base": base}
    if store is not None:
        fields["store"] = store
    return frame(fields)


class JournalHeader:
    """A journal's first line, decoded. (A plain class: attrs would compile its methods on every start-up.)"""

    __slots__ = ("base", "generation", "schema", "store")

    def __init__(self, generation: str, base: int, schema: int, store: str | None = None) -> None:
        self.generation = generation
        #: The revision of the snapshot this journal continues.
        self.base = base
        self.schema = schema
        #: The encrypted store whose records it holds (None: a plain journal).
        self.store = store

    def _values(self) -> tuple[str, int, int, str | None]:
        return self.generation, self.base, self.schema, self.store

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, JournalHeader) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"JournalHeader(generation={self.generation!r}, base={self.base!r}, schema={self.schema!r}, "
                f"store={self.store!r})")


def decode_journal_header(line: bytes) -> JournalHeader:
    """Decode a journal's first line."""
    raw = _unframe(line, "the journal header")
    store = raw.pop("store", None) if type(raw) is dict else None
    if store is not None and (type(store) is not str or not _STORE_ID.fullmatch(store)):
        raise FormatError("expected the id of an encrypted store", "$.store")
    doc, schema = check_envelope(raw, JOURNAL_FORMAT, _HEADER_KEYS, HEADER_MIGRATIONS)
    if type(doc["generation"]) is not str or not doc["generation"]:
        raise FormatError("expected a generation string", "$.generation")
    return JournalHeader(doc["generation"], doc["base"], schema, store)


_STORE_ID = re.compile(r"[0-9a-f]{16,64}")


def encode_record(change: Change, revision: int, at: dt.datetime) -> bytes:
    return frame(change_fields(change, revision, at))


def decode_record(line: bytes, what: str, schema: int = SCHEMA) -> tuple[int, Change, dt.datetime]:
    """Return (revision, change, time) of one journal record line (without its newline)."""
    doc, change = change_from_dict(_unframe(line, what), what, RECORD_KEYS, schema)
    return doc["rev"], change, time_of(doc, what)
