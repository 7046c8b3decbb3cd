"""The key of an encrypted store, how it is kept, and the sealing of files and records with it.

* The **data key** is 32 random bytes. It seals everything (AES-256-GCM, from ``cryptography``) and
  never changes while the store stays encrypted; its id (a hash of it) is in every file's header.
* It is kept **wrapped** in slots, in the clear header of the snapshot and of every backup: a
  passphrase slot (the key wrapped by one derived from the passphrase with scrypt, whose parameters
  and salt the slot holds, so they can be raised later) and, if asked for, a keyring slot (wrapped by
  a random secret kept in the OS keyring). A slot that does not open is a wrong passphrase.
* Every seal takes a fresh random 96-bit nonce: a store would need about 2^32 writes before the
  chance of any two nonces being equal reached 2^-32. The associated data binds each body or record
  to the store, the key, what it is, its revision and its schema (codec/encrypted.py).

Only this module imports ``cryptography``, and only when a store is encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..codec import FormatError
from ..codec.encrypted import Header, container, read_header
from ..errors import StoreEncrypted, WrongPassphrase

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from .keys import Keychain, PassphraseSource

#: scrypt's cost, as a new passphrase slot is made: 2^15 rounds of 8 blocks (32 MiB, about 0.1 s here).
#: Every one-shot command pays it once, a session once; the slot keeps its own figures.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
#: The most a slot may ask scrypt for: 256 MiB of memory (128 * n * r), and as much work again with p (eight
#: times what a new slot asks, about a second here), so that a hostile header takes neither without bound.
MAX_SCRYPT_COST = 256 * 1024 * 1024
_SCRYPT_MAX_MEMORY = MAX_SCRYPT_COST + (1 << 20)
KEY_BYTES, NONCE_BYTES, SALT_BYTES = 32, 12, 16
_SLOT_CONTEXT = b"taskvault-slot/1\0"
_SEAL_CONTEXT = b"taskvault/1\0"


def key_id(data_key: bytes) -> str:
    """The name of a data key in headers: a hash of it (which says nothing of the key)."""
    return hashlib.sha256(b"taskvault key id\0" + data_key).hexdigest()[:16]


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_store_id() -> str:
    return os.urandom(16).hex()


def _aead(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # (only an encrypted store's commands)

    return AESGCM(key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, size: int | None = None) -> bytes:
    if type(value) is not str:
        raise FormatError("a slot holds a value that is not base64 text", "")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("a slot holds a value that is not base64 text", "") from None
    if size is not None and len(data) != size:
        raise FormatError("a slot holds a value of the wrong size", "")
    return data


def seal_with(key: bytes, plain: bytes, associated: bytes) -> bytes:
    """``nonce || ciphertext and tag`` of ``plain`` under ``key`` (a fresh random nonce), for a key not a store's
    (an encrypted remote's: store/sync_key.py)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, plain, associated)


def open_with(key: bytes, blob: bytes, associated: bytes) -> bytes | None:
    """The plain bytes of a seal_with blob; None if it does not open (changed, cut, or sealed for another place)."""
    from cryptography.exceptions import InvalidTag

    if len(blob) < NONCE_BYTES + 16:
        return None
    try:
        return _aead(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
    except InvalidTag:
        return None


def _slot_context(kind: str, store: str, key: str) -> bytes:
    return _SLOT_CONTEXT + kind.encode() + b"\0" + store.encode() + b"\0" + key.encode()


def _passphrase_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    normal = unicodedata.normalize("NFC", passphrase).encode("utf-8", "surrogatepass")
    return hashlib.scrypt(normal, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAX_MEMORY, dklen=KEY_BYTES)


def _wrap(wrapping_key: bytes, data_key: bytes, context: bytes) -> dict[str, Any]:
    nonce = os.urandom(NONCE_BYTES)
    return {"nonce": _b64(nonce), "wrapped": _b64(_aead(wrapping_key).encrypt(nonce, data_key, context))}


def _unwrap(wrapping_key: bytes, slot: dict[str, Any], context: bytes) -> bytes | None:
    from cryptography.exceptions import InvalidTag

    try:
        data_key = _aead(wrapping_key).decrypt(_unb64(slot.get("nonce"), NONCE_BYTES),
                                               _unb64(slot.get("wrapped"), KEY_BYTES + 16), context)
    except InvalidTag:
        return None
    return data_key


def passphrase_slot(data_key: bytes, store: str, passphrase: str) -> dict[str, Any]:
    salt = os.urandom(SALT_BYTES)
    wrapping = _passphrase_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return {"type": "passphrase", "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt),
            **_wrap(wrapping, data_key, _slot_context("passphrase", store, key_id(data_key)))}


def keyring_slot(data_key: bytes, store: str, secret: bytes) -> dict[str, Any]:
    return {"type": "keyring", **_wrap(secret, data_key, _slot_context("keyring", store, key_id(data_key)))}


def slot_of(slots: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((slot for slot in slots if slot.get("type") == kind), None)


def open_passphrase_slot(header: Header, passphrase: str) -> bytes | None:
    """The data key the header's passphrase slot holds, or None if ``passphrase`` does not open it."""
    slot = slot_of(header.slots, "passphrase")
    if slot is None:
        raise FormatError("the encryption header has no passphrase slot", "")
    n, r, p = slot.get("n"), slot.get("r"), slot.get("p")
    if (slot.get("kdf") != "scrypt" or type(n) is not int or type(r) is not int or type(p) is not int
            or not (n >= 2 and n & (n - 1) == 0 and r >= 1 and p >= 1 and 128 * n * r * p <= MAX_SCRYPT_COST)):
        raise FormatError("the passphrase slot names a key derivation this taskvault does not use (or one that "
                          f"would take more than {MAX_SCRYPT_COST >> 20} MiB)", "")
    try:
        wrapping = _passphrase_key(passphrase, _unb64(slot.get("salt"), SALT_BYTES), n, r, p)
    except (ValueError, MemoryError):  # (OpenSSL refusing figures within the bounds: not a key of ours)
        raise FormatError("the passphrase slot names a key derivation this machine cannot run", "") from None
    return _checked(_unwrap(wrapping, slot, _slot_context("passphrase", header.store, header.key)), header)


def open_keyring_slot(header: Header, secret: bytes) -> bytes | None:
    """The data key the header's keyring slot holds, or None if there is none or ``secret`` does not open it."""
    slot = slot_of(header.slots, "keyring")
    if slot is None or len(secret) != KEY_BYTES:
        return None
    return _checked(_unwrap(secret, slot, _slot_context("keyring", header.store, header.key)), header)


def _checked(data_key: bytes | None, header: Header) -> bytes | None:
    if data_key is not None and not hmac.compare_digest(key_id(data_key), header.key):
        raise FormatError("a slot opened to a key that is not the one the header names", "")
    return data_key


def new_keyring_secret() -> bytes:
    return os.urandom(KEY_BYTES)


def keyring_name(store: str) -> str:
    """The name of a store's secret in the OS keyring."""
    return f"store-{store}"


class Cipher:
    """The open data key of one encrypted store, and its slots as the snapshot's header holds them."""

    __slots__ = ("_aead", "data_key", "key", "slots", "store")

    def __init__(self, data_key: bytes, store: str, slots: list[dict[str, Any]]) -> None:
        self.data_key = data_key
        self.store = store
        self.key = key_id(data_key)
        self.slots = slots
        self._aead = _aead(data_key)

    def __repr__(self) -> str:  # never the key
        return f"Cipher(store={self.store!r}, key={self.key!r}, {len(self.slots)} slots)"

    def with_slots(self, slots: list[dict[str, Any]]) -> Cipher:
        return Cipher(self.data_key, self.store, slots)

    def _ad(self, context: bytes) -> bytes:
        return _SEAL_CONTEXT + self.store.encode() + b"\0" + self.key.encode() + b"\0" + context

    def seal(self, plain: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, self._ad(context))

    def open(self, blob: bytes, context: bytes) -> bytes:
        """The plain bytes ``blob`` holds; FormatError if it was changed, or sealed elsewhere or for another place."""
        from cryptography.exceptions import InvalidTag

        if len(blob) < NONCE_BYTES + 16:
            raise FormatError("its ciphertext is cut short", "")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._ad(context))
        except InvalidTag:
            raise FormatError("its ciphertext does not decrypt with this store's key: it was changed, cut, or "
                              "written for another store or place", "") from None

    def header(self, content: str, revision: int, schema: int) -> Header:
        return Header(content, self.store, self.key, revision, schema, self.slots)

    def encrypt_file(self, plain: bytes, content: str, revision: int, schema: int) -> bytes:
        """An encrypted snapshot or backup of ``plain``."""
        header = self.header(content, revision, schema)
        return container(header, self.seal(plain, header.context))

    def decrypt_file(self, data: bytes, content: str, what: str) -> tuple[bytes, Header]:
        """The plain bytes of an encrypted snapshot or backup of this store, and its header."""
        header = read_header(data, what)
        if header.content != content:
            raise FormatError(f"{what} is an encrypted {header.content}, not a {content}", "")
        if header.store != self.store or header.key != self.key:
            raise FormatError(f"{what} belongs to another encrypted store (or was sealed with another key)", "")
        try:
            return self.open(data[header.body_at:], header.context), header
        except FormatError as exc:
            raise FormatError(f"{what}: {exc}", "") from None

    def rewrapped(self, data: bytes) -> bytes:
        """An encrypted file of this store with its header's slots replaced by this cipher's (body unchanged)."""
        header = read_header(data)
        header.slots = self.slots
        return container(header, data[header.body_at:])



def unlock(header: Header, directory: Path, passphrases: PassphraseSource | None,
           keychain: Keychain | None) -> Cipher:
    """The cipher of the store whose file has ``header``: from the OS keyring if it holds the key, else from
    the passphrase. StoreEncrypted if there is no way to ask for one; WrongPassphrase if it does not open."""
    if keychain is not None and slot_of(header.slots, "keyring") is not None:
        secret = keychain.get(keyring_name(header.store))
        if secret is not None:
            try:
                data_key = open_keyring_slot(header, base64.b64decode(secret, validate=True))
            except (binascii.Error, ValueError):
                data_key = None  # not a secret taskvault put there: fall back on the passphrase
            if data_key is not None:
                return Cipher(data_key, header.store, header.slots)
    if passphrases is None:
        raise StoreEncrypted(f"the store in {directory} is encrypted, and no passphrase was given",
                             hint=PASSPHRASE_HINT)
    data_key = open_passphrase_slot(header, passphrases.passphrase(directory, "unlock"))
    if data_key is None:
        raise WrongPassphrase(f"the passphrase does not open the store in {directory} — nothing was read or changed",
                              hint="check it and try again; without it (or the keyring's key) the tasks cannot be read")
    return Cipher(data_key, header.store, header.slots)


#: How to give a passphrase when no terminal can be asked.
PASSPHRASE_HINT = "type it at a terminal, set TASKVAULT_PASSPHRASE_FILE to a file holding it, or give --passphrase-fd N"
