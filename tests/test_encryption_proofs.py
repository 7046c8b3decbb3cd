"""What encryption at rest promises, proved on real files (issue 21's "Done when").

* Nothing a person typed is on disk in clear: an encrypted store is built through the program (titles, notes,
  annotations, tags, projects; manual, automatic and compaction backups; undo and redo; a script; a session at a
  real terminal), and every byte of its data directory, its backups and the state directory (the history file, the
  crash log) is searched for each string.
* A wrong passphrase is refused (exit 3) and nothing is touched: every file's bytes and mtime as they were.
* Tampering is refused as damage, untouched: a flipped bit in each region of the encrypted snapshot and of an
  encrypted record (with its checksum made right again, as anyone can), a record moved to another revision, a
  record or a snapshot from another store with the same passphrase.
* encrypt, decrypt and rekey under a power cut at any point (the crash model of tests/crashsim.py, which holds the
  state a kill -9 after each call leaves and the states a lost page cache leaves): the store opens with the old key
  or the new one, never neither, and holds the same tasks; once acknowledged, only the new one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from taskvault import codec
from taskvault.errors import StorageError, StoreUnreadable, WrongPassphrase
from taskvault.store import cipher as cipher_module
from taskvault.store.journal_store import JournalStore

from . import crashsim
from .conftest import (
    FIGURES,
    PASSPHRASE,
    TASKVAULT,
    FixedPassphrase,
    Session,
    encrypted_stores,
    passphrase_file,
    require_tool,
    run_taskvault,
    seed_store,
    store_digest,
    taskvault_compacting_at,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

# -- (1) every byte of an encrypted store, its backups and its history: no title, note or tag ---------------------

#: What a person types, each string distinctive enough that finding it anywhere can only be a leak.
TITLE, NOTE, ANNOTATION = "Zanzibar quokka plan", "Mauve pelican memo", "Ochre narwhal remark"
TAG, PROJECT = "tangerinewombat", "cobaltotter.kitchen"
UNICODE_TITLE, SCRIPT_TITLE, SESSION_TITLE = "Überraschung für Grüße ✓", "Scripted heron errand", "Typed ibis chore"
SECRETS = (TITLE, NOTE, ANNOTATION, TAG, PROJECT, UNICODE_TITLE, SCRIPT_TITLE, SESSION_TITLE, "Edited lynx title",
           PASSPHRASE)


def _forms(secret: str) -> set[bytes]:
    """The ways a string may sit in a file: UTF-8 as typed and lower-cased, JSON-escaped, and each word of it
    (5 letters or more, so that no common word matches by chance), raw and lower-cased."""
    forms = {secret.encode(), secret.lower().encode(), json.dumps(secret)[1:-1].encode(),
             json.dumps(secret.lower())[1:-1].encode()}
    forms |= {word.encode() for word in secret.replace(".", " ").split() if len(word) >= 5}
    forms |= {word.lower().encode() for word in secret.replace(".", " ").split() if len(word) >= 5}
    return forms


def _every_file(*roots: Path) -> dict[str, bytes]:
    found = {}
    for root in roots:
        for parent, _, names in os.walk(root):
            for name in names:
                path = Path(parent, name)
                if path.is_file() and not path.is_symlink():
                    found[str(path)] = path.read_bytes()
    return found


def _leaks(files: dict[str, bytes]) -> list[str]:
    return [f"{secret!r} as {form!r} in {name}" for name, data in files.items() for secret in SECRETS
            for form in _forms(secret) if form in data]


class TestNothingInClear:
    def test_no_title_note_tag_or_project_anywhere_on_disk(self, tmp_path: Path) -> None:
        """An encrypted store used the ways a person uses one; then every file under the data directory (the
        backups among them) and the state directory is read whole, and none of the strings is there."""
        data_dir, state = tmp_path / "data", tmp_path / "state"
        keys = tmp_path / "keys"
        keys.mkdir(mode=0o700)
        env = {"TASKVAULT_PASSPHRASE_FILE": str(passphrase_file(keys))}
        assert run_taskvault(data_dir, "init", "--encrypt", env=env).code == 0

        def compacting(*args: str) -> None:
            full = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off",
                    "XDG_STATE_HOME": str(state), "TASKVAULT_CONFIG": "/dev/null", **env}
            done = subprocess.run([*taskvault_compacting_at(0), *args], env=full, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr

        for args in (["add", TITLE, "--tag", TAG, "--note", NOTE], ["add", UNICODE_TITLE, f"project:{PROJECT}"],
                     ["annotate", "1", ANNOTATION], ["backup"], ["edit", "2", "--title", "Edited lynx title"],
                     ["undo"], ["redo"], ["done", "1"], ["undo"]):
            result = run_taskvault(data_dir, *args, env=env)
            assert result.code == 0, (args, result)
        compacting("add", "Compacted with the lynx", "+" + TAG)  # a compaction: its own backup, a new snapshot
        compacting("modify", "3", f"project:{PROJECT}")
        script = tmp_path / "script.txt"  # (outside the directories searched: it holds the strings)
        script.write_text(f"add '{SCRIPT_TITLE}' --tag {TAG}\nannotate 4 '{ANNOTATION}'\nundo\nredo\n", encoding="utf-8")
        assert run_taskvault(data_dir, "--script", str(script), env=env).code == 0
        self._a_session_at_a_terminal(data_dir, state)
        listed = json.loads(run_taskvault(data_dir, "--json", "list", "--all", env=env).out)
        assert {TITLE, "Edited lynx title", SCRIPT_TITLE, SESSION_TITLE} <= {t["title"] for t in listed}
        backups = json.loads(run_taskvault(data_dir, "--json", "backups", env=env).out)
        assert {"manual", "compaction"} <= {b["kind"] for b in backups}, backups
        files = _every_file(data_dir, state)
        assert any("/backups/" in name for name in files) and (data_dir / "tasks.journal").exists()
        assert _leaks(files) == []
        assert _leaks({"a control file holding the strings": script.read_bytes()}) != [], "the search finds nothing"

    @staticmethod
    def _a_session_at_a_terminal(data_dir: Path, state: Path) -> None:
        """The interactive session, its passphrase typed at the prompt (no file given): a change and an undo."""
        from .tmux import Tmux

        terminal = Tmux("taskvault", columns=100, rows=30, data_dir=data_dir, state=state)
        try:
            terminal.wait_for(lambda rows: any("Passphrase for" in row for row in rows), "the passphrase prompt")
            terminal.type(PASSPHRASE, "Enter")
            terminal.wait_for(lambda rows: any(row.startswith("taskvault>") for row in rows), "the prompt")
            terminal.type(f"add {SESSION_TITLE} +{TAG}", "Enter")
            terminal.wait_for(lambda rows: any(SESSION_TITLE in row and "Added" in row for row in rows), "the add")
            terminal.type(f"annotate 1 {NOTE}", "Enter")
            terminal.wait_for(lambda rows: any("Annotated task 1" in row for row in rows), "the annotation")
            terminal.type("quit", "Enter")
            terminal.wait_for(lambda rows: any("[exit 0]" in row for row in rows), "the session's end")
        finally:
            terminal.close()


# -- (2) a wrong passphrase: exit 3, nothing touched ---------------------------------------------------------------

def _everything(data_dir: Path) -> dict[str, Any]:
    """Every file's bytes and mtime: the data directory's (the lock file aside, as store_digest) and its backups'."""
    return {"store": store_digest(data_dir), "backups": store_digest(data_dir / "backups")}


@pytest.fixture(scope="module")
def encrypted_by_the_program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An encrypted store made through the program (its scrypt as users get it), with a backup; its passphrase file."""
    root = tmp_path_factory.mktemp("wrong")
    keys = root / "keys"
    keys.mkdir(mode=0o700)
    env = {"TASKVAULT_PASSPHRASE_FILE": str(passphrase_file(keys))}
    data_dir = root / "data"
    for args in (["init", "--encrypt"], ["add", "One"], ["add", "Two", "--tag", "x"], ["backup"], ["done", "1"]):
        assert run_taskvault(data_dir, *args, env=env).code == 0
    return data_dir, keys


WRONG_COMMANDS = [["list"], ["add", "Three"], ["done", "2"], ["undo"], ["backup"], ["rekey"], ["decrypt", "--yes"],
                  ["restore", "latest", "--yes"], ["salvage", "--yes"], ["export", "--to", "taskwarrior"]]


class TestWrongPassphrase:
    @pytest.mark.parametrize("args", WRONG_COMMANDS, ids=" ".join)
    def test_refused_with_exit_3_and_nothing_touched(self, encrypted_by_the_program: tuple[Path, Path],
                                                     tmp_path: Path, args: list[str]) -> None:
        """One error line saying the passphrase does not open the store; every byte and mtime as it was."""
        source, _ = encrypted_by_the_program
        data_dir = tmp_path / "data"
        shutil.copytree(source, data_dir)
        wrong = tmp_path / "keys"
        wrong.mkdir(mode=0o700)
        env = {"TASKVAULT_PASSPHRASE_FILE": str(passphrase_file(wrong, PASSPHRASE + " (but not quite)")),
               "TASKVAULT_NEW_PASSPHRASE_FILE": str(passphrase_file(tmp_path, "a new passphrase, never used"))}
        before = _everything(data_dir)
        result = run_taskvault(data_dir, *args, env=env)
        assert result.code == 3, result
        assert result.out == "" and result.err.count("\n") == 1 and "Traceback" not in result.err, result
        assert "passphrase does not open the store" in result.err, result.err
        assert _everything(data_dir) == before

    def test_in_process_the_error_is_wrong_passphrase(self, encrypted_by_the_program: tuple[Path, Path]) -> None:
        source, _ = encrypted_by_the_program
        before = _everything(source)
        with pytest.raises(WrongPassphrase):
            JournalStore(source, passphrases=FixedPassphrase("not the passphrase")).load()
        assert _everything(source) == before


# -- (3) tampering: refused as damage, untouched -------------------------------------------------------------------

@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two encrypted stores with the same passphrase and the same history (compacted once, then four changes)."""
    made = {}
    with encrypted_stores(tmp_path_factory.mktemp("key")):
        for name in ("ours", "theirs"):
            directory = tmp_path_factory.mktemp(name) / "data"
            seed_store(directory, ("add First --tag home", "add Second --priority high", "annotate 1 a note"))
            session = Session(directory)
            with session.store.locked():
                session.store.catch_up(session.service.tasks)
                session.store.compact(session.service.tasks)
            for line in ("add Third", "done 2", "edit 1 --title Renamed", "add Fourth +x"):
                assert session.run(line) == 0, session.err.getvalue()
            session.close()
            made[name] = directory
    return made


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _refused_untouched(directory: Path, what: str, *, wrong_passphrase_allowed: bool = False) -> str:
    """The store is refused as damage (StoreUnreadable) by a fresh reader, its files unchanged; the message."""
    before = store_digest(directory)
    try:
        JournalStore(directory, passphrases=FixedPassphrase()).load()
    except StoreUnreadable as exc:
        message = exc.message
    except WrongPassphrase as exc:
        assert wrong_passphrase_allowed, f"{what}: refused as a wrong passphrase, not as damage: {exc.message}"
        message = exc.message
    else:
        raise AssertionError(f"{what}: loaded")
    assert store_digest(directory) == before, what
    return message




def _regions(data: bytes) -> dict[str, range]:
    """Where each part of an encrypted snapshot or backup lies: the clear header (its slots apart), the nonce, the
    ciphertext and the tag."""
    body = data.index(b"\n") + 1
    slots = data.index(b'"slots":')
    return {"header": range(slots), "slots": range(slots, body), "nonce": range(body, body + 12),
            "ciphertext": range(body + 12, len(data) - 16), "tag": range(len(data) - 16, len(data))}


def _flipped(data: bytes, at: int, bit: int = 0x01) -> bytes:
    return data[:at] + bytes([data[at] ^ bit]) + data[at + 1:]


def _framed(payload: dict[str, Any]) -> bytes:
    """A journal line as the program writes it, its checksum right (a CRC: anyone can compute it)."""
    text = json.dumps(payload, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(text) + text + b"\n"


def _records(directory: Path) -> list[bytes]:
    return (directory / "tasks.journal").read_bytes().splitlines(keepends=True)


def _reseal_blob(line: bytes, change: Any) -> bytes:
    """The record line with its sealed blob changed by ``change`` (bytes -> bytes), re-encoded and re-checksummed."""
    doc = json.loads(line[9:])
    doc["enc"] = base64.b64encode(change(base64.b64decode(doc["enc"]))).decode()
    return _framed(doc)


class TestTampering:
    @pytest.mark.parametrize("region", ["header", "slots", "nonce", "ciphertext", "tag"])
    def test_a_flipped_bit_in_the_snapshot(self, stores: dict[str, Path], tmp_path: Path, region: str) -> None:
        """Every byte of the region (a sample of 64 in the ciphertext), its lowest bit flipped: refused as damage,
        the files untouched; the program says so with exit 3."""
        directory = _copy(stores["ours"], tmp_path / "data")
        whole = (directory / "tasks.json").read_bytes()
        offsets = list(_regions(whole)[region])
        if region == "ciphertext":
            offsets = offsets[:: max(1, len(offsets) // 64)]
        for at in offsets:
            (directory / "tasks.json").write_bytes(_flipped(whole, at))
            _refused_untouched(directory, f"{region} byte {at}")
        (directory / "tasks.json").write_bytes(_flipped(whole, offsets[len(offsets) // 2]))
        before = store_digest(directory)
        with encrypted_stores(tmp_path):
            result = run_taskvault(directory, "list")
        assert result.code == 3 and result.err.count("\n") == 1 and "tasks.json" in result.err, result
        assert store_digest(directory) == before

    def test_the_snapshot_cut_short(self, stores: dict[str, Path], tmp_path: Path) -> None:
        """Cut at 64 offsets spread over the file and at each region's edges: refused, never read as fewer tasks."""
        directory = _copy(stores["ours"], tmp_path / "data")
        whole = (directory / "tasks.json").read_bytes()
        edges = {at + delta for where in _regions(whole).values() for at in (where.start, where.stop)
                 for delta in (-1, 0, 1)}
        for cut in sorted({*range(0, len(whole), max(1, len(whole) // 64)), *edges} & set(range(len(whole)))):
            (directory / "tasks.json").write_bytes(whole[:cut])
            _refused_untouched(directory, f"cut at {cut}")

    @pytest.mark.parametrize("region", ["nonce", "ciphertext", "tag"])
    def test_a_flipped_bit_in_a_record(self, stores: dict[str, Path], tmp_path: Path, region: str) -> None:
        """A record's sealed blob with one bit flipped in each byte of the region (64 of the ciphertext's), its
        checksum made right again:
        refused (a CRC is no protection; the AEAD tag is)."""
        directory = _copy(stores["ours"], tmp_path / "data")
        lines = _records(directory)
        blob = base64.b64decode(json.loads(lines[2][9:])["enc"])
        where = {"nonce": range(12), "ciphertext": range(12, len(blob) - 16), "tag": range(len(blob) - 16, len(blob))}
        for at in list(where[region])[:: max(1, len(where[region]) // 64)]:
            changed = [*lines[:2], _reseal_blob(lines[2], lambda b, at=at: _flipped(b, at)), *lines[3:]]
            (directory / "tasks.journal").write_bytes(b"".join(changed))
            assert "tasks.journal" in _refused_untouched(directory, f"record 2, {region} byte {at}")

    def test_a_record_moved_to_another_revision(self, stores: dict[str, Path], tmp_path: Path) -> None:
        """Two records swap their sealed parts (each keeping its clear revision), or one is copied over the next:
        refused, as the revision is bound into each seal."""
        directory = _copy(stores["ours"], tmp_path / "data")
        lines = _records(directory)
        first, second = json.loads(lines[1][9:]), json.loads(lines[2][9:])
        swapped = [lines[0], _framed({**first, "enc": second["enc"]}), _framed({**second, "enc": first["enc"]}),
                   *lines[3:]]
        (directory / "tasks.journal").write_bytes(b"".join(swapped))
        _refused_untouched(directory, "two records swapped")
        replayed = [*lines[:2], _framed({**second, "enc": first["enc"]}), *lines[3:]]
        (directory / "tasks.journal").write_bytes(b"".join(replayed))
        _refused_untouched(directory, "a record replayed at the next revision")

    def test_a_record_whose_clear_next_id_was_changed(self, stores: dict[str, Path], tmp_path: Path) -> None:
        """The ids a record reserves are in clear (a torn or voided record must still reserve them): changed, with
        the checksum made right, the store loads as it was (a whole record's sealed ids are believed) or is
        refused; it never hands out an id twice."""
        directory = _copy(stores["ours"], tmp_path / "data")
        lines = _records(directory)
        doc = json.loads(lines[-1][9:])
        truth = JournalStore(directory, passphrases=FixedPassphrase()).load().snapshot()
        for next_id in (doc["next_id"] - 1, 1, doc["next_id"] + 1000):
            (directory / "tasks.journal").write_bytes(b"".join([*lines[:-1], _framed({**doc, "next_id": next_id})]))
            try:
                loaded = JournalStore(directory, passphrases=FixedPassphrase()).load().snapshot()
            except StoreUnreadable:
                continue
            assert loaded == truth, f"next_id {doc['next_id']} made {next_id}: loads as another store"

    def test_a_record_from_another_store_with_the_same_passphrase(self, stores: dict[str, Path],
                                                                  tmp_path: Path) -> None:
        """The other store's record of the same revision (and the same change), framed right: refused."""
        directory = _copy(stores["ours"], tmp_path / "data")
        ours, theirs = _records(directory), _records(stores["theirs"])
        assert json.loads(ours[2][9:])["rev"] == json.loads(theirs[2][9:])["rev"]
        (directory / "tasks.journal").write_bytes(b"".join([*ours[:2], theirs[2], *ours[3:]]))
        _refused_untouched(directory, "a record of another store")
        (directory / "tasks.journal").write_bytes(b"".join([ours[0], *theirs[1:]]))
        _refused_untouched(directory, "every record of another store under our header")

    def test_a_snapshot_from_another_store_with_the_same_passphrase(self, stores: dict[str, Path],
                                                                    tmp_path: Path) -> None:
        """The other store's snapshot (which the passphrase opens) in place of ours, with our journal: refused;
        with our journal emptied by a compaction as well."""
        directory = _copy(stores["ours"], tmp_path / "data")
        shutil.copy2(stores["theirs"] / "tasks.json", directory / "tasks.json")
        _refused_untouched(directory, "their snapshot, our records")
        header = _records(directory)[0]
        (directory / "tasks.journal").write_bytes(header)
        _refused_untouched(directory, "their snapshot, our journal header and no record")

    def test_the_program_refuses_tampering_with_exit_3_untouched(self, stores: dict[str, Path],
                                                                 tmp_path: Path) -> None:
        """Through the program: a record from another store; every file (backups too) as it was."""
        directory = _copy(stores["ours"], tmp_path / "data")
        ours, theirs = _records(directory), _records(stores["theirs"])
        (directory / "tasks.journal").write_bytes(b"".join([*ours[:2], theirs[2], *ours[3:]]))
        before = _everything(directory)
        with encrypted_stores(tmp_path):
            for args in (["list"], ["add", "More"], ["undo"]):
                result = run_taskvault(directory, *args)
                assert result.code == 3 and "tasks.journal" in result.err and "Traceback" not in result.err, result
        assert _everything(directory) == before


# -- (4) encrypt, decrypt and rekey under a power cut at any point -------------------------------------------------

NEW_PASSPHRASE = "the new passphrase ✓ after rekey"
#: Each operation: the passphrase the store opens with before (None: plain), after, and the command line.
OPERATIONS: dict[str, tuple[str | None, str | None, list[str]]] = {
    "encrypt": (None, PASSPHRASE, ["encrypt", "--yes"]),
    "decrypt": (PASSPHRASE, None, ["decrypt", "--yes"]),
    "rekey": (PASSPHRASE, NEW_PASSPHRASE, ["rekey"]),
}


def _opened(directory: Path, passphrase: str | None) -> Any:
    """The store as a fresh reader with ``passphrase`` (None: none at all) loads it, or why it refused."""
    from .test_power_loss import _after_reboot

    try:
        with _after_reboot():
            store = JournalStore(directory, passphrases=None if passphrase is None else FixedPassphrase(passphrase))
            state = store.load().snapshot()
            return state, store.encrypted
    except StorageError as exc:
        return f"refused: {type(exc).__name__}: {exc.message}".replace(str(directory), "<data>")


def _backups_open(files: dict[str, bytes], passphrase: str | None, scratch: Path) -> list[str]:
    """Which of the backups (name -> bytes) ``passphrase`` opens (None: which are plain and whole)."""
    from taskvault.codec.encrypted import is_encrypted, read_header
    from taskvault.store.backups import decompressed

    opened = []
    for name, data in files.items():
        if ".tmp-" in name:
            continue
        try:
            if is_encrypted(data):
                if passphrase is None:
                    continue
                header = read_header(data)
                key = cipher_module.open_passphrase_slot(header, passphrase)
                if key is None:
                    continue
                plain = cipher_module.Cipher(key, header.store, header.slots).decrypt_file(data, "backup", name)[0]
            elif passphrase is None:
                plain = data
            else:
                continue
            codec.decode_snapshot(decompressed(plain) if name.endswith((".gz", ".gz.enc")) else plain)
        except (codec.FormatError, ValueError) as exc:
            raise AssertionError(f"the backup {name} does not open whole: {exc}") from exc
        opened.append(name)
    return opened


def _record_operation(tmp: Path, operation: str) -> tuple[crashsim.Disk, list[crashsim.Op], Path, Any]:
    before_key, after_key, args = OPERATIONS[operation]
    root = tmp / "root"
    root.mkdir(mode=0o700)
    data_dir = root / "data"
    keys = tmp / "keys"  # (outside the root: the crash model sees only the store)
    keys.mkdir(mode=0o700)
    if before_key is None:
        seed_store(data_dir, ("add First --tag home", "add Second", "backup", "done 1"))
    else:
        with encrypted_stores(keys):
            seed_store(data_dir, ("add First --tag home", "add Second", "backup", "done 1"))
    state = _opened(data_dir, before_key)
    assert not isinstance(state, str), state
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")},
           "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off", "TASKVAULT_KEYRING": "off",
           "TASKVAULT_PASSPHRASE_FILE": str(passphrase_file(keys, before_key or PASSPHRASE)),
           "TASKVAULT_NEW_PASSPHRASE_FILE": str(passphrase_file(tmp, after_key or PASSPHRASE))}
    before = crashsim.Disk.scan(root)
    trace = tmp / "trace"
    proc = subprocess.run([require_tool("strace"), "-f", "-qq", "-xx", "-s", "1000000", "-o", str(trace),
                           "-e", f"trace={crashsim.TRACED}", *TASKVAULT, *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ops = crashsim.parse(trace.read_text(), root, before)
    assert crashsim.final_disk(before, ops).files_under(data_dir) == crashsim.Disk.scan(root).files_under(data_dir)
    assert sum(op.kind == "ack" for op in ops) >= 1
    first_ack = next(i for i, op in enumerate(ops) if op.kind == "ack")
    ops = [op for i, op in enumerate(ops) if op.kind != "ack" or i == first_ack]
    after = _opened(data_dir, after_key)
    assert not isinstance(after, str) and after[0] == state[0], after
    return before, ops, data_dir, state[0][0]


@pytest.fixture(scope="module")
def operation_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {operation: _record_operation(tmp_path_factory.mktemp(operation), operation) for operation in OPERATIONS}


def _bad_states(recording: Any, ops: list[crashsim.Op], operation: str, scratch: Path, *,
                teeth: bool = False) -> tuple[list[str], int, int]:
    """Each crash state of ``ops`` that does not open with the old key or the new one holding the same tasks (once
    acknowledged: the new one), or whose backups do not each open whole with one of them (once acknowledged: every
    backup in the new form only); with how many states there were, and how many distinct. ``teeth``: stop at the
    first bad state, and run no next change (all a harness-has-teeth check needs)."""
    before_key, after_key, _ = OPERATIONS[operation]
    before, _, data_dir, tasks = recording
    seen: dict[Any, Any] = {}
    bad: list[str] = []
    states = 0
    for state in crashsim.crash_states(before, ops, data_dir):
        states += 1
        key = tuple(sorted((name, hashlib.sha256(data).digest()) for name, data in state.files.items())) + tuple(
            sorted(("backups/" + name, hashlib.sha256(data).digest()) for name, data in state.backups.items()))
        if key not in seen:
            directory = scratch / str(len(seen))
            (directory / "backups").mkdir(mode=0o700, parents=True)
            directory.chmod(0o700)
            for name, data in state.files.items():
                (directory / name).write_bytes(data)
            for name, data in state.backups.items():
                (directory / "backups" / name).write_bytes(data)
            old, new = _opened(directory, before_key), _opened(directory, after_key)
            backups = {name for name in state.backups if ".tmp-" not in name}
            with_old = set(_backups_open(state.backups, before_key, directory))
            with_new = set(_backups_open(state.backups, after_key, directory))
            seen[key] = (old, new, sorted(backups - with_old - with_new), sorted(with_old - with_new))
            opened = new if not isinstance(new, str) else old
            if not isinstance(opened, str) and not teeth:  # the next change works there, with the key it opened with
                session = Session(directory, passphrases=FixedPassphrase(
                    (after_key if not isinstance(new, str) else before_key) or PASSPHRASE))
                assert session.run("add After the power came back") == 0, session.err.getvalue()
                session.close()
        old, new, neither, only_old = seen[key]
        when = f"power lost after call {state.after}{' (acknowledged)' if state.acknowledged else ''}"
        # Opened, holding the same tasks, and in the form that key gives (encrypted, or plain for None).
        opens = [name for name, result, passphrase in (("old", old, before_key), ("new", new, after_key))
                 if not isinstance(result, str) and result[0][0] == tasks and result[1] == (passphrase is not None)]
        if not opens or (state.acknowledged and "new" not in opens):
            bad.append(f"{when}: opens with {opens or 'neither'} ({old!s:.100} / {new!s:.100}); "
                       f"files {sorted(state.files)}")
        if neither:
            bad.append(f"{when}: backups that open whole with neither key: {neither}")
        if state.acknowledged and only_old:
            bad.append(f"{when}: backups still in the old form after the acknowledgement: {only_old}")
        if teeth and bad:
            break
    return bad, states, len(seen)


class TestOneDurableChange:
    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_a_power_cut_anywhere_leaves_the_old_key_or_the_new(self, operation_recordings: dict[str, Any],
                                                                operation: str, tmp_path: Path) -> None:
        """Every crash state opens with the old key or the new one (never neither) and holds the same tasks, and
        every backup opens whole with one of them; once the change was acknowledged, only the new form will do (no
        plain backup left after encrypt, none the old passphrase opens after rekey). The next change works there."""
        recording = operation_recordings[operation]
        ops = recording[1]
        bad, states, distinct = _bad_states(recording, ops, operation, tmp_path)
        assert bad == [], "\n".join(bad[:20])
        FIGURES[f"power-loss crash states, encryption: {operation}"] = (
            f"{states} states ({distinct} distinct) over {len(ops)} calls; 0 bad")

    def test_dropping_the_snapshots_fsync_is_caught(self, operation_recordings: dict[str, Any],
                                                    tmp_path: Path) -> None:
        """The harness has teeth: without the fsync of the new snapshot's temp file, or of the directory after its
        rename, some crash state of encrypt opens with neither key or loses the change after the acknowledgement."""
        recording = operation_recordings["encrypt"]
        ops = recording[1]
        caught = {}
        for label in ("temp file of tasks.json", "directory data"):
            index = next(i for i, op in enumerate(ops) if op.label == label)
            bad, _, _ = _bad_states(recording, ops[:index] + ops[index + 1:], "encrypt", tmp_path / str(index),
                                   teeth=True)
            caught[label] = bool(bad)
        assert caught == {"temp file of tasks.json": True, "directory data": True}

    def test_after_rekey_the_old_passphrase_opens_nothing(self, operation_recordings: dict[str, Any]) -> None:
        """Once rekey is done, neither the store nor any backup opens with the old passphrase."""
        _, _, data_dir, _ = operation_recordings["rekey"]
        assert "WrongPassphrase" in _opened(data_dir, PASSPHRASE)
        backups = {p.name: p.read_bytes() for p in (data_dir / "backups").iterdir()}
        assert backups and _backups_open(backups, PASSPHRASE, data_dir) == []
        assert sorted(_backups_open(backups, NEW_PASSPHRASE, data_dir)) == sorted(backups)
