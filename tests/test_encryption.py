"""Encryption at rest, the store's rules (issue 21): keys and slots, the forms a journal may be in, conversions.

tests/test_encryption_proofs.py scans every byte, tampers and crashes; spec 011 shows the commands. Here the
store is driven in-process (real files, real fsyncs, real locks) with passphrase sources and a keychain that
implement store/keys.py's protocols; tests/test_passphrase.py holds the real ones to the same protocols.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from taskvault.codec import SCHEMA, FormatError, decode_snapshot, encrypted
from taskvault.codec.journal import frame
from taskvault.domain.operations import plan_add
from taskvault.domain.tasklist import TaskList
from taskvault.errors import StoreEncrypted, StoreUnreadable, UserError, WrongPassphrase
from taskvault.store import cipher as keys
from taskvault.store.journal_store import JournalStore

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
GOOD, NEW = "correct horse battery", "another good passphrase"


class Passphrases:
    """Gives the passphrases it was given, in order, and counts the asks (a PassphraseSource)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def passphrase(self, store: Path, purpose: str) -> str:
        self.asked.append(purpose)
        if not self.answers:
            raise StoreEncrypted(f"the store in {store} is encrypted, and no more passphrases were given")
        return self.answers.pop(0)


class Keychain:
    """A keyring in a dict (a Keychain): the OS keyring is the OS boundary."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.secrets.get(name)

    def set(self, name: str, secret: str) -> None:
        self.secrets[name] = secret

    def delete(self, name: str) -> None:
        self.secrets.pop(name, None)


def _store(directory: Path, *answers: str, keychain: Keychain | None = None) -> JournalStore:
    return JournalStore(directory, passphrases=Passphrases(*answers), keychain=keychain)


def _add(store: JournalStore, tasks: TaskList, title: str) -> TaskList:
    with store.locked():
        tasks = store.catch_up(tasks).tasks
        change = plan_add(tasks, title, now=NOW)
        revision, at = store.append(tasks, change)
        tasks.apply(change, revision, at)
    return tasks


def _change(store: JournalStore, operation: str, keyring: bool | None = None) -> object:
    tasks = store.load()
    planned = store.plan_encryption(operation, keyring)  # type: ignore[arg-type]
    with store.locked():
        return store.change_encryption(store.catch_up(tasks).tasks, planned)


def _titles(store: JournalStore) -> list[str]:
    return [task.title for task in store.load()]


def _encrypted_store(tmp_path: Path, *titles: str, keychain: Keychain | None = None) -> Path:
    directory = tmp_path / "store"
    store = _store(directory, GOOD, keychain=keychain)
    _change(store, "init", keyring=keychain is not None)
    tasks = store.load()
    for title in titles:
        tasks = _add(store, tasks, title)
    return directory


def test_a_new_encrypted_store_opens_with_its_passphrase_and_no_other(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one", "two")
    assert _titles(_store(directory, GOOD)) == ["one", "two"]
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    with pytest.raises(WrongPassphrase):
        _store(directory, "not it at all").load()
    with pytest.raises(StoreEncrypted):
        JournalStore(directory).load()  # no way to ask
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == before


def test_every_record_and_the_header_say_what_a_reader_needs_and_no_more(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "Visit the dentist")
    snapshot = (directory / "tasks.json").read_bytes()
    header = encrypted.read_header(snapshot)
    assert (header.content, header.revision) == ("snapshot", 0)
    assert [slot["type"] for slot in header.slots] == ["passphrase"]
    journal = (directory / "tasks.journal").read_bytes().splitlines()
    assert json.loads(journal[0][9:])["store"] == header.store
    record = json.loads(journal[1][9:])
    assert set(record) == {"rev", "next_id", "enc"} and record["rev"] == 1 and record["next_id"] == 2
    assert b"dentist" not in snapshot + b"".join(journal)


def test_two_seals_of_the_same_record_never_share_a_nonce(tmp_path: Path) -> None:
    cipher = keys.Cipher(keys.new_data_key(), keys.new_store_id(), [])
    nonces = {cipher.seal(b"same", b"record\0001\0005")[:keys.NONCE_BYTES] for _ in range(2000)}
    assert len(nonces) == 2000


def test_a_record_moved_to_another_revision_does_not_open(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "first", "second")
    path = directory / "tasks.journal"
    lines = path.read_bytes().splitlines(keepends=True)
    # Record 2's ciphertext under record 1's revision, with a checksum that holds: only the AEAD can tell.
    second = json.loads(lines[2][9:])
    forged = frame({"rev": 1, "next_id": second["next_id"], "enc": second["enc"]})
    path.write_bytes(lines[0] + forged)
    with pytest.raises(StoreUnreadable, match="does not decrypt with this store's key"):
        _store(directory, GOOD).load()


def test_a_record_of_another_store_with_the_same_passphrase_does_not_open(tmp_path: Path) -> None:
    mine = _encrypted_store(tmp_path / "a", "mine")
    theirs = _encrypted_store(tmp_path / "b", "theirs")
    lines = (mine / "tasks.journal").read_bytes().splitlines(keepends=True)
    other = (theirs / "tasks.journal").read_bytes().splitlines(keepends=True)
    (mine / "tasks.journal").write_bytes(lines[0] + other[1])
    with pytest.raises(StoreUnreadable, match="does not decrypt"):
        _store(mine, GOOD).load()


def test_a_journal_of_another_store_is_refused_by_its_header(tmp_path: Path) -> None:
    mine = _encrypted_store(tmp_path / "a", "mine")
    theirs = _encrypted_store(tmp_path / "b", "theirs")
    shutil.copy(theirs / "tasks.journal", mine / "tasks.journal")
    with pytest.raises(StoreUnreadable, match="belongs to another encrypted store"):
        _store(mine, GOOD).load()


def test_a_plain_record_in_an_encrypted_store_is_refused_unless_the_snapshot_holds_it(tmp_path: Path) -> None:
    # A crash between encrypt's snapshot rename and its new journal leaves the old plain journal: its
    # records are all in the snapshot, so it loads, and the next change starts a new, encrypted journal.
    directory = tmp_path / "store"
    plain = _store(directory)
    tasks = _add(plain, plain.load(), "Pay the rent")
    old_journal = (directory / "tasks.journal").read_bytes()
    _change(_store(directory, GOOD), "encrypt")
    (directory / "tasks.journal").write_bytes(old_journal)
    store = _store(directory, GOOD)
    tasks = store.load()
    assert [t.title for t in tasks] == ["Pay the rent"]
    _add(store, tasks, "after the crash")
    journal = (directory / "tasks.journal").read_bytes()
    assert b"rent" not in journal and b"after the crash" not in journal
    assert _titles(_store(directory, GOOD)) == ["Pay the rent", "after the crash"]
    # A plain record beyond the snapshot, in an encrypted store, is damage: never applied.
    snapshot_revision = encrypted.read_header((directory / "tasks.json").read_bytes()).revision
    record = json.loads(old_journal.splitlines()[1][9:]) | {"rev": snapshot_revision + 1}
    header = (directory / "tasks.journal").read_bytes().splitlines(keepends=True)[0]
    (directory / "tasks.journal").write_bytes(header + frame(record))
    with pytest.raises(StoreUnreadable):
        _store(directory, GOOD).load()


def test_the_keyring_opens_the_store_without_a_passphrase_and_decrypt_forgets_it(tmp_path: Path) -> None:
    keychain = Keychain()
    directory = _encrypted_store(tmp_path, "kept in the keyring", keychain=keychain)
    asking = Passphrases()
    store = JournalStore(directory, passphrases=asking, keychain=keychain)
    assert [t.title for t in store.load()] == ["kept in the keyring"] and asking.asked == []
    # Without the keyring, the passphrase still opens it: the way back if the keyring is lost.
    assert _titles(_store(directory, GOOD)) == ["kept in the keyring"]
    # decrypt asks for the current passphrase although the keyring opened the store.
    store = JournalStore(directory, passphrases=Passphrases("wrong passphrase"), keychain=keychain)
    with pytest.raises(WrongPassphrase):
        _change(store, "decrypt")
    assert keychain.secrets
    _change(JournalStore(directory, passphrases=Passphrases(GOOD), keychain=keychain), "decrypt")
    assert keychain.secrets == {}
    assert _titles(JournalStore(directory)) == ["kept in the keyring"]


def test_a_keyring_secret_that_does_not_open_the_slot_falls_back_on_the_passphrase(tmp_path: Path) -> None:
    keychain = Keychain()
    directory = _encrypted_store(tmp_path, "x", keychain=keychain)
    (name,) = keychain.secrets
    keychain.secrets[name] = base64.b64encode(b"\0" * 32).decode()
    asking = Passphrases(GOOD)
    assert [t.title for t in JournalStore(directory, passphrases=asking, keychain=keychain).load()] == ["x"]
    assert asking.asked == ["unlock"]


def test_rekey_leaves_no_file_the_old_passphrase_opens_and_reencrypts_no_record(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one", "two")
    store = _store(directory, GOOD)
    tasks = store.load()
    with store.locked():
        store.backup(store.catch_up(tasks).tasks, "mine")
    journal_records = (directory / "tasks.journal").read_bytes().splitlines()[1:]
    _change(_store(directory, GOOD, GOOD, NEW), "rekey")
    files = [directory / "tasks.json", *sorted((directory / "backups").iterdir())]
    assert len(files) >= 3
    for path in files:
        header = encrypted.read_header(path.read_bytes())
        assert keys.open_passphrase_slot(header, GOOD) is None, path.name
        assert keys.open_passphrase_slot(header, NEW) is not None, path.name
    assert _titles(_store(directory, NEW)) == ["one", "two"]
    with pytest.raises(WrongPassphrase):
        _store(directory, GOOD).load()
    # The data key stayed: a record sealed before the rekey still opens with the store's key now.
    cipher = _store(directory, NEW)
    cipher.load()
    assert cipher.cipher is not None
    revision = json.loads(journal_records[0][9:])["rev"]
    plain = encrypted.decrypt_record(journal_records[0][9:], "record", SCHEMA, cipher.cipher.open)
    assert json.loads(plain[9:])["rev"] == revision


def test_rekey_and_decrypt_refuse_a_wrong_current_passphrase_changing_nothing(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    for operation in ("rekey", "decrypt"):
        with pytest.raises(WrongPassphrase):
            _change(_store(directory, GOOD, "not the current one", NEW), operation)
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == before
    assert not (directory / "backups").exists()


def test_encrypt_and_init_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    with pytest.raises(UserError, match="there is a store"):
        _change(_store(directory, GOOD, NEW), "init")
    plain = tmp_path / "plain"
    _add(_store(plain), TaskList(), "plain")
    with pytest.raises(UserError, match="not encrypted"):
        _change(_store(plain, GOOD), "rekey")


def test_a_plain_backup_is_sealed_as_its_bytes_are_even_when_damaged(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    store = _store(directory)
    tasks = _add(store, store.load(), "The password of the wifi is hunter2")
    with store.locked():
        backup = store.backup(store.catch_up(tasks).tasks, "mine")
    damaged = bytearray(backup.path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    backup.path.write_bytes(bytes(damaged))
    _change(_store(directory, GOOD), "encrypt")
    names = sorted(p.name for p in (directory / "backups").iterdir())
    assert all(name.endswith(".json.gz.enc") for name in names), names
    for path in (directory / "backups").iterdir():
        assert b"hunter2" not in path.read_bytes()


def test_encrypt_run_again_finishes_the_backups_an_interrupted_run_left_plain(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    store = _store(directory)
    tasks = _add(store, store.load(), "one")
    with store.locked():
        plain_backup = store.backup(store.catch_up(tasks).tasks, "before")
    kept = plain_backup.path.read_bytes()
    _change(_store(directory, GOOD), "encrypt")
    # As a crash after the snapshot's rename but before the backups were converted would leave it:
    sealed = next((directory / "backups").glob("*-before.json.gz.enc"))
    sealed.unlink()
    plain_backup.path.write_bytes(kept)
    outcome = _change(_store(directory, GOOD), "encrypt")
    assert outcome.converted == 1 and outcome.backup is None  # type: ignore[attr-defined]
    assert not list((directory / "backups").glob("*.json.gz"))


def test_restoring_over_an_unreadable_encrypted_store_keeps_it_encrypted(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "keep me secret")
    store = _store(directory, GOOD)
    tasks = store.load()
    with store.locked():
        backup = store.backup(store.catch_up(tasks).tasks, "mine")
    data = bytearray((directory / "tasks.json").read_bytes())
    data[-5] ^= 0x01  # the tag: the snapshot no longer opens
    (directory / "tasks.json").write_bytes(bytes(data))
    store = _store(directory, GOOD, GOOD)
    with pytest.raises(StoreUnreadable):
        store.load()
    snapshot = decode_snapshot(store.backups.read(backup))
    with store.locked():
        store.replace_unreadable(snapshot)
    assert encrypted.is_encrypted((directory / "tasks.json").read_bytes())
    assert _titles(_store(directory, GOOD)) == ["keep me secret"]
    assert b"secret" not in (directory / "tasks.json").read_bytes() + (directory / "tasks.journal").read_bytes()


def test_a_slot_that_asks_for_unbounded_work_is_refused_before_any(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    path = directory / "tasks.json"
    data = path.read_bytes()
    header = encrypted.read_header(data)
    header.slots[0]["n"] = 2**40
    path.write_bytes(encrypted.container(header, data[header.body_at:]))
    with pytest.raises(StoreUnreadable, match="key derivation"):
        _store(directory, GOOD).load()


def test_an_edit_through_a_compaction_keeps_everything_sealed(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "alpha secret", "beta secret")
    store = _store(directory, GOOD)
    tasks = store.load()
    with store.locked():
        tasks = store.catch_up(tasks).tasks
        change = plan_add(tasks, "gamma secret", now=NOW)
        revision, at = store.append(tasks, change)
        tasks.apply(change, revision, at)
        store.compact(tasks)
    for path in [*directory.iterdir(), *(directory / "backups").iterdir()]:
        if path.is_file():
            assert b"secret" not in path.read_bytes(), path.name
    assert _titles(_store(directory, GOOD)) == ["alpha secret", "beta secret", "gamma secret"]


def test_salvage_of_an_encrypted_store_opens_its_records_and_keeps_it_encrypted(tmp_path: Path) -> None:
    from taskvault import bootstrap
    from taskvault.store.housekeeping import Retention

    directory = _encrypted_store(tmp_path, "first secret", "second secret", "third secret")
    path = directory / "tasks.journal"
    lines = path.read_bytes().splitlines(keepends=True)
    damaged = bytearray(lines[3])
    damaged[40] ^= 0x01  # record 3's ciphertext: its checksum fails, and what follows it is lost
    path.write_bytes(b"".join(lines[:3]) + bytes(damaged))
    service = bootstrap.service(directory, lock_timeout=5, retention=Retention(), passphrases=Passphrases(GOOD))
    with pytest.raises(StoreUnreadable):
        service.tasks
    preview = service.salvage_preview()
    assert not isinstance(preview, TaskList)
    assert [t.title for t in preview.tasks] == ["first secret", "second secret"]
    service.salvage(preview)
    assert any(p.name.startswith("tasks.journal.unreadable-") for p in directory.iterdir())
    for path in directory.rglob("*"):
        if path.is_file():
            assert b"secret" not in path.read_bytes(), path.name
    assert _titles(_store(directory, GOOD)) == ["first secret", "second secret"]


def test_a_bug_in_an_encrypted_store_logs_where_it_was_never_what_it_said(tmp_path: Path) -> None:
    """The crash log of an encrypted store keeps the frames and the exception's type, not its message."""
    import sys

    from .conftest import run_raw

    data = tmp_path / "data"
    data.mkdir()
    passphrase = tmp_path / "pass"
    passphrase.write_text(GOOD + "\n", encoding="utf-8")
    passphrase.chmod(0o600)
    env = {"TASKVAULT_PASSPHRASE_FILE": str(passphrase)}
    assert run_raw(data, "init", "--encrypt", env=env).code == 0
    bug = ("import taskvault.cli.render as r\n"
           "real = r.TextRenderer.render\n"
           "def render(self, result):\n"
           "    if type(result).__name__ == 'TaskSaved':\n"
           "        raise ValueError(f'a bug quoting {result.task.title}')\n"
           "    return real(self, result)\n"
           "r.TextRenderer.render = render\n"
           "from taskvault.cli.main import main\n"
           "raise SystemExit(main())\n")
    result = run_raw(data, "add", "The combination is 1234", env=env, command=[sys.executable, "-c", bug])
    assert result.code == 4 and "crash.log" in result.err, result
    log = (tmp_path / "state" / "taskvault" / "crash.log").read_text(encoding="utf-8")
    assert "ValueError" in log and "render" in log
    assert "combination" not in log


def test_doctor_says_how_the_store_is_kept_and_what_an_interrupted_encrypt_left(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    plain = _store(directory)
    tasks = _add(plain, plain.load(), "plain-text-title")
    with plain.locked():
        backup = plain.backup(plain.catch_up(tasks).tasks, "before")
    assert [f.level for f in _store(directory).examine() if f.subject == "encryption"] == ["ok"]
    kept_journal, kept_backup = (directory / "tasks.journal").read_bytes(), backup.path.read_bytes()
    _change(_store(directory, GOOD), "encrypt")
    # As a crash right after the snapshot's rename leaves it: the old journal and a plain backup.
    (directory / "tasks.journal").write_bytes(kept_journal)
    next((directory / "backups").glob("*-before.json.gz.enc")).unlink()
    backup.path.write_bytes(kept_backup)
    findings = [f for f in _store(directory, GOOD).examine() if f.subject == "encryption"]
    assert [f.level for f in findings] == ["ok", "problem", "warning"], findings
    _change(_store(directory, GOOD), "encrypt")
    findings = [f for f in _store(directory, GOOD).examine() if f.subject == "encryption"]
    assert [f.level for f in findings] == ["ok"], findings
    assert b"plain-text-title" not in (directory / "tasks.journal").read_bytes()


def test_a_changed_byte_in_the_clear_header_is_damage_not_a_wrong_passphrase(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    path = directory / "tasks.json"
    whole = path.read_bytes()
    end = whole.index(b"\n")
    for at in range(len(b'{"format":"taskvault-encrypted",'), end, 7):
        changed = bytearray(whole)
        changed[at] ^= 0x01
        path.write_bytes(bytes(changed))
        with pytest.raises(StoreUnreadable) as refused:
            _store(directory, GOOD).load()
        assert not isinstance(refused.value, WrongPassphrase), at
    path.write_bytes(whole)
    assert _titles(_store(directory, GOOD)) == ["one"]


def test_a_second_handle_catches_up_with_the_first_ones_encrypted_records(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    first, second = _store(directory, GOOD), _store(directory, GOOD)
    mine, theirs = first.load(), second.load()
    _add(first, mine, "two")
    caught = second.refresh(theirs)
    assert [t.title for t in caught.tasks] == ["one", "two"]
    _add(second, caught.tasks, "three")  # under the lock: catch_up, then its own encrypted record
    assert _titles(_store(directory, GOOD)) == ["one", "two", "three"]


def test_a_backup_prepared_before_an_encrypt_is_sealed_when_it_goes_in(tmp_path: Path) -> None:
    """A session's hourly backup is prepared without the lock; an encrypt by another process meanwhile must not
    let it go in plain (nor a rekey let it keep the retired slots)."""
    directory = tmp_path / "store"
    session = _store(directory, GOOD)
    tasks = _add(session, session.load(), "Zqx-prepared-title")
    with session.locked():
        frozen = session.freeze_for_compaction(session.catch_up(tasks).tasks)
    assert frozen is not None
    prepared = session.prepare_compaction(frozen, snapshot=False)
    _change(_store(directory, GOOD), "encrypt")
    with session.locked():
        session.catch_up(tasks)
        backup = session.install_backup(prepared, "hourly")
    assert backup.encrypted and b"Zqx-prepared-title" not in backup.path.read_bytes()
    _change(_store(directory, GOOD, GOOD, NEW), "rekey")
    with session.locked():
        frozen = session.freeze_for_compaction(session.catch_up(session.load()).tasks)
    assert frozen is not None
    prepared = session.prepare_compaction(frozen, snapshot=False)
    _change(_store(directory, NEW, NEW, "a third passphrase"), "rekey")
    with session.locked():
        session.catch_up(session.load())
        backup = session.install_backup(prepared, "hourly")
    header = encrypted.read_header(backup.path.read_bytes())
    assert keys.open_passphrase_slot(header, NEW) is None
    assert keys.open_passphrase_slot(header, "a third passphrase") is not None


def test_a_backup_of_another_encrypted_store_is_not_this_ones(tmp_path: Path) -> None:
    mine = _encrypted_store(tmp_path / "a", "mine")
    theirs = _encrypted_store(tmp_path / "b", "theirs")
    store = _store(theirs, GOOD)
    with store.locked():
        backup = store.backup(store.catch_up(store.load()).tasks, "theirs")
    (mine / "backups").mkdir(mode=0o700)
    shutil.copy(backup.path, mine / "backups" / backup.path.name)
    store = _store(mine, GOOD)
    store.load()
    (found,) = store.backups.list()
    with pytest.raises(FormatError, match="belongs to another encrypted store"):
        store.backups.read(found)


def test_a_slot_asking_for_more_memory_than_allowed_is_damage_not_a_crash(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    path = directory / "tasks.json"
    data = path.read_bytes()
    header = encrypted.read_header(data)
    for n, r, p in ((2**20, 8, 1), (2**20, 4, 16), (2**19, 8, 4), (2**16, 8, 1_000_000)):
        header.slots[0].update(n=n, r=r, p=p)
        path.write_bytes(encrypted.container(header, data[header.body_at:]))
        with pytest.raises(StoreUnreadable, match="key derivation"):
            _store(directory, GOOD).load()


def test_doctor_does_not_call_an_encrypted_backup_it_cannot_open_damaged(tmp_path: Path) -> None:
    directory = _encrypted_store(tmp_path, "one")
    store = _store(directory, GOOD)
    with store.locked():
        backup = store.backup(store.catch_up(store.load()).tasks, "mine")
    sealed = backup.path.read_bytes()
    _change(_store(directory, GOOD, GOOD), "decrypt")
    # As a decrypt cut short before its backups were converted leaves one: sealed, beside a plain store.
    next((directory / "backups").glob("*-mine.json.gz")).unlink()
    backup.path.write_bytes(sealed)
    findings = [f for f in JournalStore(directory).examine() if f.subject in ("backups", "encryption")]
    assert [f.level for f in findings if f.subject == "encryption"] == ["warning"], findings
    assert any("was not checked" in f.text for f in findings), findings
    assert all("rm " not in f.fix for f in findings), findings


def test_passphrases_are_asked_before_the_lock_and_a_key_that_moved_meanwhile_refuses(tmp_path: Path) -> None:
    """rekey asks (and derives) without the store's lock, so nobody waits on it while someone types; if the key
    moved meanwhile (another rekey), the change is refused and nothing is changed."""
    from taskvault.errors import StorageError

    directory = _encrypted_store(tmp_path, "one")
    slow = _store(directory, GOOD, GOOD, NEW)
    slow.load()
    planned = slow.plan_encryption("rekey", None)
    other = _store(directory, GOOD)
    with other.locked():  # the lock was free the whole time the passphrases were asked
        other.catch_up(other.load())
    _change(_store(directory, GOOD, GOOD, "a third passphrase"), "rekey")
    before = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    with slow.locked(), pytest.raises(StorageError, match="while you were asked"):
        slow.change_encryption(slow.catch_up(slow.load()).tasks, planned)
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()} == before
    assert _titles(_store(directory, "a third passphrase")) == ["one"]
