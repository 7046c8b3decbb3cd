"""How an encrypted store looks on disk (no cryptography here: store/cipher.py seals and opens).

An encrypted snapshot or backup is one line of JSON, in clear, then the sealed body::

    {"format":"taskvault-encrypted","version":1,"content":"snapshot","store":"<id>","key":"<key id>",
     "revision":12,"schema":5,"slots":[...]}\\n<nonce><ciphertext and tag>

The header says what the file is, whose store it belongs to, which key sealed it and how that key is
kept (the slots: store/cipher.py). The body's associated data binds it to all but the slots, so a body
moved to another file, store, revision or schema does not open; the slots change when the passphrase
does (rekey), and the body need not.

An encrypted journal record keeps the journal's framing -- a checksum, a space, one JSON object, a
newline -- so that voiding, torn tails and id reservation work as they do for plain records::

    <crc32> {"rev":13,"next_id":40,"enc":"<base64 of nonce, ciphertext and tag>"}

``rev`` and ``next_id`` are in clear (the revision's place and the ids a voided or torn record
reserves); the record's own line, as a plain journal holds it, is what the ciphertext holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .envelope import SCHEMA
from .scalars import FormatError

ENCRYPTED_FORMAT = "taskvault-encrypted"
VERSION = 1
#: What an encrypted file starts with (json.dumps writes the keys in this order: see container()).
MAGIC = b'{"format":"taskvault-encrypted",'
#: The longest header a reader looks for: the slots of a few ways to open the key.
MAX_HEADER_BYTES = 64 * 1024
#: What each kind of encrypted file holds: the snapshot (tasks.json) or a backup (its compressed snapshot).
CONTENTS = ("snapshot", "backup")
_ID = re.compile(r"[0-9a-f]{16,64}")
_HEADER_KEYS = frozenset({"format", "version", "content", "store", "key", "revision", "schema", "slots", "crc"})

#: seal(plain, context) -> blob; open(blob, context) -> plain (raising FormatError if it does not open).
Seal = Callable[[bytes, bytes], bytes]
Open = Callable[[bytes, bytes], bytes]


class Header:
    """The clear first line of an encrypted snapshot or backup, decoded."""

    __slots__ = ("body_at", "content", "key", "revision", "schema", "slots", "store")

    def __init__(self, content: str, store: str, key: str, revision: int, schema: int,
                 slots: list[dict[str, Any]], body_at: int = 0) -> None:
        self.content, self.store, self.key = content, store, key
        self.revision, self.schema, self.slots = revision, schema, slots
        #: Where the sealed body starts in the file (after the header's newline).
        self.body_at = body_at

    @property
    def context(self) -> bytes:
        """The body's associated data beyond the store and key: what it is, its revision and its schema."""
        return content_context(self.content, self.revision, self.schema)

    def __repr__(self) -> str:
        return (f"Header(content={self.content!r}, store={self.store!r}, key={self.key!r}, "
                f"revision={self.revision!r}, schema={self.schema!r}, {len(self.slots)} slots)")


def content_context(content: str, revision: int, schema: int) -> bytes:
    return b"%s\0%d\0%d" % (content.encode(), revision, schema)


def record_context(revision: int, schema: int) -> bytes:
    return b"record\0%d\0%d" % (revision, schema)


def is_encrypted(data: bytes) -> bool:
    """True if ``data`` is (or starts like) an encrypted snapshot or backup."""
    return data.startswith(MAGIC)


def read_header(data: bytes, what: str = "the file") -> Header:
    """The header of an encrypted file; FormatError if it is not one as taskvault writes them."""
    import json  # (this module is imported by every command; only an encrypted store's read this)

    end = data.find(b"\n", 0, MAX_HEADER_BYTES)
    if not is_encrypted(data) or end < 0:
        raise FormatError(f"{what} has no complete encryption header", "")
    try:
        doc = json.loads(data[:end])
    except ValueError:
        raise FormatError(f"{what} has a damaged encryption header", "") from None
    if type(doc) is not dict or doc.keys() != _HEADER_KEYS:
        raise FormatError(f"{what} has an encryption header of another shape", "")
    # The header's own checksum: a changed id or slot is damage, which a passphrase that no longer opens the
    # slot could not tell from a wrong one.
    crc = doc.pop("crc")
    if type(crc) is not str or not _CRC.fullmatch(crc) or int(crc, 16) != _crc32(_line(doc)):
        raise FormatError(f"{what} has a damaged encryption header (it fails its checksum)", "")
    if doc["version"] != VERSION:
        raise FormatError(f"{what} is encrypted in a format this taskvault does not know (version "
                          f"{doc['version']!r:.20})", "")
    if doc["content"] not in CONTENTS:
        raise FormatError(f"{what} holds {doc['content']!r:.20}, not a snapshot or a backup", "")
    for key in ("store", "key"):
        if type(doc[key]) is not str or not _ID.fullmatch(doc[key]):
            raise FormatError(f"{what} has no valid {key} id in its encryption header", "")
    for key in ("revision", "schema"):
        if type(doc[key]) is not int or doc[key] < 0:
            raise FormatError(f"{what} has no valid {key} in its encryption header", "")
    slots = doc["slots"]
    if type(slots) is not list or not slots or any(type(slot) is not dict for slot in slots):
        raise FormatError(f"{what} names no way to open its key", "")
    return Header(doc["content"], doc["store"], doc["key"], doc["revision"], doc["schema"], slots, end + 1)


def container(header: Header, body: bytes) -> bytes:
    """An encrypted file: ``header`` as its clear first line, then ``body`` (already sealed)."""
    fields = {"format": ENCRYPTED_FORMAT, "version": VERSION, "content": header.content, "store": header.store,
              "key": header.key, "revision": header.revision, "schema": header.schema, "slots": header.slots}
    return _line({**fields, "crc": f"{_crc32(_line(fields)):08x}"}) + b"\n" + body


_CRC = re.compile(r"[0-9a-f]{8}")


def _line(fields: dict[str, Any]) -> bytes:
    """The header's JSON as written (keys in the order given, no spaces, ASCII only): read back and written
    again, the same bytes, so that its checksum can be checked."""
    import json

    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


def _crc32(data: bytes) -> int:
    import zlib

    return zlib.crc32(data)


def _framed(obj: dict[str, Any]) -> bytes:
    from .journal import frame  # (journal imports this module's record helpers)

    return frame(obj)


def encrypt_record(line: bytes, revision: int, next_free: int, seal: Seal) -> bytes:
    """The encrypted journal line of ``line`` (a plain record line, newline included)."""
    import base64
    blob = seal(line[:-1], record_context(revision, SCHEMA))
    return _framed({"rev": revision, "next_id": next_free, "enc": base64.b64encode(blob).decode("ascii")})


_ENCRYPTED_RECORD = re.compile(rb'\{"rev":(0|[1-9][0-9]{0,17}),"next_id":(0|[1-9][0-9]{0,17}),"enc":"')


def encrypted_revision(payload: bytes) -> int | None:
    """The revision of an encrypted record's JSON (checked by its checksum), or None if it is a plain record."""
    found = _ENCRYPTED_RECORD.match(payload)
    return None if found is None else int(found.group(1))


def decrypt_record(payload: bytes, what: str, schema: int, open_: Open) -> bytes:
    """The plain record line (without its newline) an encrypted record's JSON holds."""
    found = _ENCRYPTED_RECORD.match(payload)
    if found is None or not payload.endswith(b'"}'):
        raise FormatError(f"{what} is not an encrypted record as taskvault writes them", "")
    import base64
    import binascii

    try:
        blob = base64.b64decode(payload[found.end():-2], validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} holds no valid ciphertext", "") from None
    try:
        return open_(blob, record_context(int(found.group(1)), schema))
    except FormatError as exc:
        raise FormatError(f"{what}: {exc}", "") from None


__all__ = ["CONTENTS", "ENCRYPTED_FORMAT", "MAGIC", "MAX_HEADER_BYTES", "VERSION", "Header", "container",
           "content_context", "decrypt_record", "encrypt_record", "encrypted_revision", "is_encrypted",
           "read_header", "record_context"]
