"""Encrypting a store, decrypting it, and changing its passphrase: each one durable change.

What it asks (the current passphrase, a new one) is asked first, and the new key derived, without the
store's lock (Plan): nobody waits on the lock while someone types, and Ctrl-C works. Then, under the
lock, caught up, and refused if the store's key moved meanwhile:

1. a verified backup of the store as it is: sealed with the key the store will have for encrypt and
   rekey (no plaintext backup beside a store being encrypted, none sealed with slots being retired),
   and in its old form for decrypt (no plaintext beside a store still encrypted); a failure removes
   a backup sealed with a key that never took effect;
2. the snapshot, replaced in its new form by rename: the one step that changes what the store is;
3. a new journal continuing it (its records are all in the snapshot), in the new form;
4. every other backup brought to the new form (sealed, opened, or its slots re-wrapped), each by
   its own atomic replace.

A crash before step 2's rename leaves the store as it was, opening with the old key (or none); after
it, with the new one. A journal left in the old form by a crash between 2 and 3 holds only records
the snapshot holds: readers check them and skip them, and the next change starts a new journal. A
crash during step 4 leaves some backups in the old form, each still whole and openable (a sealed
backup carries its own slots); running the same command again finishes them.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Literal

from .. import codec
from ..codec import encrypted
from ..errors import SaveFailed, StorageError, UserError, typed
from . import cipher as keys
from . import files
from .hints import hint_for

if TYPE_CHECKING:
    from ..domain.tasklist import TaskList
    from .backups import Backup, BackupShelf
    from .journal_store import JournalStore

#: init: a new store, encrypted; create: a new store, plain (made now rather than by its first change).
Operation = Literal["create", "init", "encrypt", "decrypt", "rekey"]


class Outcome:
    """What an encryption change did: the backup taken first (None for a new store), the backups converted."""

    __slots__ = ("backup", "converted", "directory", "encrypted", "keyring", "operation", "unconverted")

    def __init__(self, operation: Operation, store: JournalStore, backup: Backup | None, converted: int = 0,
                 unconverted: tuple[str, ...] = ()) -> None:
        self.operation = operation
        self.directory = str(store.directory)
        #: The store's form now, and whether the OS keyring keeps its key.
        self.encrypted = store.cipher is not None
        self.keyring = store.cipher is not None and keys.slot_of(store.cipher.slots, "keyring") is not None
        self.backup = backup
        self.converted = converted
        #: The backups that could not be converted (ids): the same command run again converts them.
        self.unconverted = unconverted

    def __repr__(self) -> str:
        return (f"Outcome({self.operation!r}, encrypted={self.encrypted!r}, backup={self.backup!r}, "
                f"converted={self.converted!r})")


class Plan:
    """What an encryption change will do, settled before the store's lock is taken: the passphrases are asked
    (and the key derived) first, so that nobody waits on the lock while someone types."""

    __slots__ = ("base", "new", "operation")

    def __init__(self, operation: Operation, base: keys.Cipher | None, new: keys.Cipher | None) -> None:
        self.operation = operation
        #: The store's key when the passphrases were asked (None: plain); the change is refused if it moved.
        self.base = base
        #: The key the store will have (None: plain).
        self.new = new

    def __repr__(self) -> str:
        return f"Plan({self.operation!r}, base={self.base!r}, new={self.new!r})"


def plan(store: JournalStore, operation: Operation, keyring: bool | None) -> Plan:
    """Ask what ``operation`` needs (the current passphrase, a new one) of the loaded store, without its lock.
    ``keyring``: keep the key in the OS keyring too (True), not (False), or as it is (None, rekey only)."""
    current = store.cipher
    if operation in ("create", "init"):
        _refuse_a_second_store(store, operation)
    if operation == "create" or (operation in ("init", "encrypt") and current is not None):
        return Plan(operation, current, current)  # (encrypt run again: finish one cut short, or say it is done)
    if operation in ("init", "encrypt"):
        return Plan(operation, None, _new_cipher(store, keyring=bool(keyring)))
    if current is None:
        if operation == "decrypt":
            return Plan(operation, None, None)  # as for encrypt
        raise UserError(f"the store in {store.directory} is not encrypted", hint=f"'{typed('encrypt')}' encrypts it")
    _confirm_passphrase(store, current)
    return Plan(operation, current, None if operation == "decrypt" else _rekeyed(store, current, keyring))


def change(store: JournalStore, tasks: TaskList, planned: Plan) -> Outcome:
    """Make the planned change (under the store's lock, ``tasks`` caught up): one durable change, or none."""
    operation, current, new = planned.operation, store.cipher, planned.new
    try:
        if _identity(current) != _identity(planned.base):
            raise StorageError(f"the store in {store.directory} was encrypted, decrypted or given another "
                               "passphrase while you were asked — nothing was changed",
                               hint=f"run '{typed(operation)}' again")
        if operation in ("create", "init"):
            _refuse_a_second_store(store, operation)
    except BaseException:
        if new is not current:
            _forget_keyring(store, new, current)
        raise
    if operation == "create":
        store.start_files(tasks)
        return Outcome(operation, store, None)  # (a failure says what it left, as a first change does)
    if new is current:  # run again on a store in the form asked for: finish what an interrupted run left
        if store.plain_journal:
            store.restart_journal(tasks)
        return Outcome(operation, store, None, *_convert_backups(store.backups, current))
    if operation == "init":
        store.cipher = new
        try:
            store.start_files(tasks)
        except BaseException:
            store.cipher = None
            _forget_keyring(store, new, current)
            store.remove_new_files()  # (there was no store: what this began is taken away, whole)
            raise
        return Outcome(operation, store, None)
    return Outcome(operation, store, *_replace(store, tasks, current, new, operation))


def _identity(cipher: keys.Cipher | None) -> object:
    return None if cipher is None else (cipher.store, cipher.key, cipher.slots)


def _refuse_a_second_store(store: JournalStore, operation: Operation) -> None:
    if store.present_files():
        raise UserError(f"there is a store in {store.directory} already", hint=(
            f"'{typed('encrypt')}' encrypts it" if operation == "init" and store.cipher is None else
            "give --data-dir (or TASKVAULT_DATA_DIR) another directory for a new one"))


def _replace(store: JournalStore, tasks: TaskList, old: keys.Cipher | None, new: keys.Cipher | None,
             operation: Operation) -> tuple[Backup, int, tuple[str, ...]]:
    data = codec.encode_tasklist(tasks)
    # The backup first, never in plain while the store is encrypted: encrypt and rekey take it in the new
    # form (no plain copy, none the retired passphrase opens), decrypt in the old (step 4 decrypts it).
    backup: Backup | None = None
    try:
        if new is None:
            backup = store.backup_of(data, tasks, operation)
        store.cipher = new  # from here on, every file written is in the new form
        if new is not None:
            backup = store.backup_of(data, tasks, operation)
        files.atomic_replace(store.snapshot_path, store.stored(data, tasks.revision))
    except BaseException as exc:
        if isinstance(exc, OSError) and _in_new_form(store, new):
            # Renamed into place, but its directory's fsync failed: the store is in the new form now, and a
            # power cut before the disk works again could bring the old one back. Either opens.
            store.now_replaced(tasks)
            raise SaveFailed(f"could not make the {operation} of the store in {store.directory} durable: "
                             f"{exc.strerror or exc} — tasks.json is {_form(new)} now, but a power cut could bring "
                             f"back the store as it was", hint=f"run '{typed(operation)}' again once the disk works"
                             ) from None
        store.cipher = old
        _forget_keyring(store, new, old)
        if backup is not None and new is not None:
            # Sealed with a key or passphrase that never took effect: it would open with nothing the store does.
            store.backups.discard(backup)
        if isinstance(exc, OSError):
            raise SaveFailed(f"could not {operation} the store in {store.directory}: {exc.strerror or exc} — "
                             "nothing was changed", hint=hint_for(exc)) from None
        raise
    journal_started = store.now_replaced(tasks)
    if old is not None and (new is None or keys.slot_of(new.slots, "keyring") is None):
        _forget_keyring(store, old, new)
    converted, unconverted = _convert_backups(store.backups, new)
    if not journal_started:
        unconverted = ("tasks.journal", *unconverted)
    assert backup is not None
    return backup, converted, unconverted


def _form(cipher: keys.Cipher | None) -> str:
    return "plain" if cipher is None else "encrypted"


def _in_new_form(store: JournalStore, new: keys.Cipher | None) -> bool:
    """True if tasks.json is already in the form ``new`` gives it (plain, or sealed with its key and slots)."""
    try:
        _, head = store.snapshot_head()
    except OSError:
        return False
    if not encrypted.is_encrypted(head):
        return new is None
    try:
        header = encrypted.read_header(head)
    except codec.FormatError:
        return False
    return new is not None and (header.store, header.key, header.slots) == (new.store, new.key, new.slots)


def _new_cipher(store: JournalStore, *, keyring: bool) -> keys.Cipher:
    passphrase = _ask(store, "new")
    data_key, store_id = keys.new_data_key(), keys.new_store_id()
    slots = [keys.passphrase_slot(data_key, store_id, passphrase)]
    cipher = keys.Cipher(data_key, store_id, slots)
    return _with_keyring(store, cipher) if keyring else cipher


def _rekeyed(store: JournalStore, current: keys.Cipher, keyring: bool | None) -> keys.Cipher:
    passphrase = _ask(store, "new")
    slots = [keys.passphrase_slot(current.data_key, current.store, passphrase)]
    had = keys.slot_of(current.slots, "keyring")
    if keyring is None and had is not None:
        slots.append(had)
    cipher = current.with_slots(slots)
    return _with_keyring(store, cipher) if keyring else cipher


def _with_keyring(store: JournalStore, cipher: keys.Cipher) -> keys.Cipher:
    """``cipher`` with a keyring slot: a new random secret, kept in the OS keyring before any file names it."""
    if store.keychain is None:
        raise StorageError("there is no system keyring to keep the key in (or TASKVAULT_KEYRING is off)",
                           hint="leave out --keyring: the passphrase alone opens the store")
    secret = keys.new_keyring_secret()
    store.keychain.set(keys.keyring_name(cipher.store), base64.b64encode(secret).decode("ascii"))
    slots = [slot for slot in cipher.slots if slot.get("type") != "keyring"]
    return cipher.with_slots([*slots, keys.keyring_slot(cipher.data_key, cipher.store, secret)])


def _forget_keyring(store: JournalStore, retired: keys.Cipher | None, kept: keys.Cipher | None) -> None:
    """Remove the secret ``retired`` kept in the OS keyring, unless ``kept`` (the store's key now) uses it."""
    if retired is None or store.keychain is None or keys.slot_of(retired.slots, "keyring") is None:
        return
    if kept is not None and kept.store == retired.store and keys.slot_of(kept.slots, "keyring") == keys.slot_of(
            retired.slots, "keyring"):
        return
    try:
        store.keychain.delete(keys.keyring_name(retired.store))
    except StorageError:
        pass  # a secret left behind opens nothing once no slot names it


def _ask(store: JournalStore, purpose: Literal["new", "current"]) -> str:
    if store.passphrases is None:
        raise StorageError("no passphrase can be asked for here", hint=keys.PASSPHRASE_HINT)
    return store.passphrases.passphrase(store.directory, purpose)


def _confirm_passphrase(store: JournalStore, current: keys.Cipher) -> None:
    """decrypt and rekey ask for the current passphrase even when the keyring opened the store: whoever
    runs them must know it (a session left open must not be enough to take the protection away)."""
    from ..errors import WrongPassphrase

    header = current.header("snapshot", 0, codec.SCHEMA)
    if keys.open_passphrase_slot(header, _ask(store, "current")) is None:
        raise WrongPassphrase(f"the passphrase does not open the store in {store.directory} — nothing was changed",
                              hint="give the store's current passphrase")


def _convert_backups(shelf: BackupShelf, cipher: keys.Cipher | None) -> tuple[int, tuple[str, ...]]:
    """Bring every backup to the store's form: sealed with ``cipher`` (its slots too), or plain if None.

    Returns how many changed, and the ids of those that could not be (the disk refused): the store's own
    change is made by then, so they are said, not raised; the same command run again converts them."""
    converted, failed = 0, []
    try:
        backups = shelf.list()
    except StorageError:
        return 0, ("(the backups could not be listed)",)
    for backup in backups:
        try:
            converted += shelf.convert(backup, cipher)
        except StorageError:
            failed.append(backup.id)
    return converted, tuple(failed)
