"""The key of an encrypted remote: what keeps a sync host from reading the tasks of encrypted stores.

A remote that an encrypted store syncs with holds, besides its segments, ``keys/sync.json``: a random 256-bit
key (the remote's own, shared by every device) wrapped by the passphrase as a store's key is (store/cipher.py:
scrypt, a slot per way in), under a random remote id. Each segment is then sealed whole with it (AES-256-GCM,
a fresh 96-bit nonce), the associated data binding it to the remote, the key and the segment's path, so a
segment moved to another path, another remote, or changed in a byte, does not open:

    taskvault-sealed-ops 1 <key id>\\n<nonce><ciphertext and tag>

The path (whose device id and first operation number it names) and the size stay in clear, as git must see
them. A device opens the key once with the passphrase and keeps it in its own store, which is encrypted too.
Only stores that are encrypted use an encrypted remote, and only they: a plain store refuses one, and an
encrypted store a remote that holds tasks in clear.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any

from ..codec.encrypted import Header
from ..codec.envelope import SCHEMA
from ..errors import RemoteDamaged, WrongPassphrase
from . import cipher

KEY_FILE = "keys/sync.json"
KEY_FORMAT = "taskvault-sync-key"
_SEALED_HEAD = re.compile(rb"taskvault-sealed-ops 1 ([0-9a-f]{16,64})\n")
_CONTEXT = b"taskvault sync\0"
_ID = re.compile(r"[0-9a-f]{16,64}")
_DAMAGED = "the remote's key file is not as taskvault wrote it; put it back from another copy of the remote"


def sealed_by(data: bytes) -> str | None:
    """The id of the key that sealed the remote file ``data``, or None if it is not sealed."""
    head = _SEALED_HEAD.match(data)
    return head.group(1).decode() if head is not None else None


class SyncKey:
    """The open key of one encrypted remote."""

    __slots__ = ("_key", "key_id", "remote_id")

    def __init__(self, key: bytes, remote_id: str) -> None:
        self._key = key
        self.remote_id = remote_id
        self.key_id = cipher.key_id(key)

    def __repr__(self) -> str:  # never the key
        return f"SyncKey(remote={self.remote_id!r}, key={self.key_id!r})"

    def _ad(self, path: str) -> bytes:
        return _CONTEXT + self.remote_id.encode() + b"\0" + self.key_id.encode() + b"\0" + path.encode()

    def seal(self, path: str, plain: bytes) -> bytes:
        return b"taskvault-sealed-ops 1 %s\n" % self.key_id.encode() + cipher.seal_with(self._key, plain, self._ad(path))

    def open(self, path: str, data: bytes) -> bytes:
        """The segment ``data`` (at ``path``) holds; RemoteDamaged if it is not one sealed with this key there."""
        head = _SEALED_HEAD.match(data)
        if head is None:
            raise RemoteDamaged(f"the remote's file {path!r} is not sealed, though the remote is encrypted",
                                hint="a device that does not encrypt wrote it, or it was changed; put it back from "
                                     "another copy of the remote")
        if head.group(1).decode() != self.key_id:
            raise RemoteDamaged(f"the remote's file {path!r} is sealed with another key than the remote's",
                                hint="put it back from another copy of the remote")
        plain = cipher.open_with(self._key, data[head.end():], self._ad(path))
        if plain is None:
            raise RemoteDamaged(f"the remote's file {path!r} does not open with the remote's key: it was changed, "
                                "cut, or moved from another place", hint="put it back from another copy of the remote")
        return plain

    def kept(self) -> str:
        """The key as a store keeps it (inside its own encryption): remote id, key id, the key."""
        return f"{self.remote_id}:{self.key_id}:{base64.b64encode(self._key).decode()}"

    @classmethod
    def from_kept(cls, text: str) -> SyncKey | None:
        remote_id, _, rest = text.partition(":")
        key_id, _, encoded = rest.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(key) != cipher.KEY_BYTES or not _ID.fullmatch(remote_id) or cipher.key_id(key) != key_id:
            return None
        return cls(key, remote_id)


def _header(remote_id: str, key_id: str, slots: list[dict[str, Any]]) -> Header:
    return Header("sync-key", remote_id, key_id, 0, SCHEMA, slots)


def new_key_file(passphrase: str) -> tuple[SyncKey, bytes]:
    """A new remote key and its file, wrapped by ``passphrase``."""
    key, remote_id = cipher.new_data_key(), os.urandom(8).hex()
    slot = cipher.passphrase_slot(key, remote_id, passphrase)
    doc = {"format": KEY_FORMAT, "version": 1, "remote": remote_id, "key": cipher.key_id(key), "slots": [slot]}
    return SyncKey(key, remote_id), (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()


def key_file_ids(data: bytes) -> tuple[str, str, list[dict[str, Any]]]:
    """(remote id, key id, slots) of a key file; RemoteDamaged if it is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise RemoteDamaged("the remote's key file is not JSON", hint=_DAMAGED) from None
    if (type(doc) is not dict or doc.get("format") != KEY_FORMAT or doc.get("version") != 1
            or type(doc.get("remote")) is not str or not _ID.fullmatch(doc["remote"])
            or type(doc.get("key")) is not str or not _ID.fullmatch(doc["key"])
            or type(doc.get("slots")) is not list or not all(type(s) is dict for s in doc["slots"])):
        raise RemoteDamaged("the remote's key file is not one taskvault wrote", hint=_DAMAGED)
    return doc["remote"], doc["key"], doc["slots"]


def open_key_file(data: bytes, passphrase: str) -> SyncKey:
    """The remote's key, opened with ``passphrase``; WrongPassphrase if it does not open it."""
    from ..codec import FormatError

    remote_id, key_id, slots = key_file_ids(data)
    try:
        key = cipher.open_passphrase_slot(_header(remote_id, key_id, slots), passphrase)
    except FormatError as exc:
        raise RemoteDamaged(f"the remote's key file: {exc}", hint=_DAMAGED) from None
    if key is None:
        raise WrongPassphrase("the passphrase does not open the remote's key — nothing was read or changed",
                              hint="every device syncs an encrypted remote with the passphrase of the store that "
                                   "first synced with it")
    return SyncKey(key, remote_id)
