"""The resident process and an encrypted store, proven against real processes, sockets and files.

A resident process opens an encrypted store only as a command in its own process could without a terminal:
from TASKVAULT_PASSPHRASE_FILE (or the OS keyring). It keeps the key in memory, as a session does, and ends
when the store's key or slots change under it (rekey, decrypt, encrypt, by another process) or the
passphrase file it was opened with changes, so that the next command runs in its own process and checks
its passphrase against the store as it is now. tests/resident.py's Place gives each test its own runtime
directory and store; "routed" and "ran here" are proven with strace as in tests/test_resident.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from taskvault.cli import resident_client as client
from taskvault.cli.passphrase import UnattendedPassphrases
from taskvault.errors import StoreEncrypted, UsageError

from .conftest import TASKVAULT, require_tool, taskvault_compacting_at
from .resident import SERVER, Place, key_of

#: Each starts several interpreters, and each of those derives a key (scrypt): out of the fast tier.
pytestmark = pytest.mark.slow

PASSPHRASE = "correct horse battery"
WRONG = "not the one at all"
OPENS_NOTHING = "the passphrase does not open the store in"


def secret(path: Path, text: str) -> Path:
    """A passphrase file as a user keeps one: its first line, mode 0600."""
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def opened_with(place: Place, passphrase_file: Path, **extra: str) -> dict[str, str]:
    """The place's environment (the resident process on) with TASKVAULT_PASSPHRASE_FILE set."""
    return place.env(TASKVAULT_PASSPHRASE_FILE=str(passphrase_file), **extra)


def off(env: dict[str, str]) -> dict[str, str]:
    return {**env, "TASKVAULT_RESIDENT": "off"}


def encrypted_store(place: Place, passphrase_file: Path, *titles: str) -> dict[str, str]:
    """A new encrypted store holding ``titles``, made by commands in their own processes; its environment."""
    env = opened_with(place, passphrase_file)
    done = place.run("init", "--encrypt", env=off(env))
    assert done.code == 0, done.err
    for title in titles:
        assert place.run("add", title, env=off(env)).code == 0
    return env


def titles(place: Place, env: dict[str, str]) -> list[tuple[int, str]]:
    """(id, title) of every task, read by a command in its own process with ``env``'s passphrase."""
    done = place.run("--json", "list", "--all", env=off(env))
    assert done.code == 0, done.err
    return [(task["id"], task["title"]) for task in json.loads(done.out)]


def store_bytes(place: Place) -> dict[str, str]:
    """The sha256 of each of the store's files (its backups too): to show that nothing changed."""
    return {str(path.relative_to(place.data)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(place.data.rglob("*")) if path.is_file() and path.name != "tasks.lock"}


# -- served --------------------------------------------------------------------------------------


def test_a_second_command_on_an_encrypted_store_is_served_by_the_resident_process(place: Place,
                                                                                  tmp_path: Path) -> None:
    """The first command runs itself (paying the key derivation) and starts one; the next ones run there
    (the trace names no file of the store), and what they save is sealed as a command's own would be."""
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE))
    first = place.ran_here("add", "first", env=env)
    assert (first.code, first.out, first.err) == (0, "Added task 1: first\n", "")
    pid = place.one_server()
    second = place.routed("add", "Call the notary", env=env)
    assert (second.code, second.out, second.err) == (0, "Added task 2: Call the notary\n", "")
    shown = place.routed("list", env=env)
    assert shown.code == 0 and "Call the notary" in shown.out
    assert place.servers() == [pid]
    assert titles(place, env) == [(1, "first"), (2, "Call the notary")]
    assert not any(b"notary" in (place.data / name).read_bytes() for name in ("tasks.json", "tasks.journal"))


def test_a_resident_process_with_no_passphrase_file_does_not_open_an_encrypted_store(place: Place,
                                                                                     tmp_path: Path) -> None:
    """Started for an encrypted store with no passphrase file (and no keyring key), it cannot load it, and
    ends at once without listening: it asks no terminal (it has none) and reads no descriptor."""
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    bare = {k: v for k, v in env.items() if k != "TASKVAULT_PASSPHRASE_FILE"}
    proc = subprocess.Popen(SERVER, cwd="/", env=bare, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.wait(timeout=60) == 1
    assert place.listening() == set()


# -- never served with a passphrase that does not open the store as it is ------------------------


def test_a_wrong_passphrase_file_is_never_served(place: Place, tmp_path: Path) -> None:
    """Another passphrase file is other settings: no resident process of its own, so the command runs
    itself, is refused (exit 3) and starts none; the one serving the right file is untouched."""
    right = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    pid = place.serve(right).pid
    wrong = opened_with(place, secret(tmp_path / "wrong", WRONG))
    before = store_bytes(place)
    done = place.ran_here("add", "never", env=wrong)
    assert (done.code, done.out) == (3, "") and OPENS_NOTHING in done.err
    assert store_bytes(place) == before
    assert place.servers() == [pid]
    assert place.routed("list", env=right).code == 0


@pytest.mark.parametrize(("change", "code"), [("another passphrase", 3), ("open to others", 2), ("removed", 2),
                                              ("the same passphrase again", 0)])
def test_a_changed_passphrase_file_ends_it_and_the_command_runs_itself(place: Place, tmp_path: Path, change: str,
                                                                       code: int) -> None:
    """The passphrase file it opened the store with changes (or goes): the next command is refused there and
    runs itself, reading the file as it is now (a wrong passphrase: exit 3, nothing changed; a file others
    may read or none: exit 2), and the resident process ends."""
    passphrase_file = secret(tmp_path / "pass", PASSPHRASE)
    env = encrypted_store(place, passphrase_file, "one")
    proc = place.serve(env)
    assert place.routed("list", env=env).code == 0
    if change == "another passphrase":
        secret(passphrase_file, WRONG)
    elif change == "open to others":
        passphrase_file.chmod(0o644)
    elif change == "removed":
        passphrase_file.unlink()
    else:  # (rewritten with the same words: it ends all the same, and the command runs and saves)
        secret(passphrase_file.with_suffix(".new"), PASSPHRASE).replace(passphrase_file)
    before = store_bytes(place)
    done = place.ran_here("add", "after the change", env=env)
    assert done.code == code, done.err
    assert proc.wait(timeout=30) == 0
    if code:
        assert done.out == "" and store_bytes(place) == before
        assert place.servers() == []  # (a failed command starts none)
    else:
        assert done.out == "Added task 2: after the change\n"
    if change == "another passphrase":
        assert OPENS_NOTHING in done.err


# -- the store's key or slots changed by another process ---------------------------------------------


def test_after_rekey_the_old_passphrase_file_opens_nothing(place: Place, tmp_path: Path) -> None:
    """rekey (in its own process) gives the store a new passphrase slot: the resident process that opened it
    with the old one ends, and the old file gets exit 3 from a command run in its own process."""
    old_file = secret(tmp_path / "pass", PASSPHRASE)
    new_file = secret(tmp_path / "new", "a new passphrase")
    env = encrypted_store(place, old_file, "one")
    proc = place.serve(env)
    assert place.routed("add", "two", env=env).code == 0
    rekeyed = place.run("rekey", env={**env, "TASKVAULT_NEW_PASSPHRASE_FILE": str(new_file)})
    assert rekeyed.code == 0, rekeyed.err
    before = store_bytes(place)
    done = place.ran_here("add", "with the old passphrase", env=env)
    assert (done.code, done.out) == (3, "") and OPENS_NOTHING in done.err
    assert proc.wait(timeout=30) == 0
    assert store_bytes(place) == before
    assert titles(place, opened_with(place, new_file)) == [(1, "one"), (2, "two")]


def test_decrypt_ends_it(place: Place, tmp_path: Path) -> None:
    """decrypt by another process: the resident process holding the key ends; the next command runs itself
    against the plain store (and starts a resident process for it)."""
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    proc = place.serve(env)
    assert place.routed("list", env=env).code == 0
    assert place.run("decrypt", "--yes", env=env).code == 0
    done = place.ran_here("add", "plain now", env=env)
    assert (done.code, done.out, done.err) == (0, "Added task 2: plain now\n", "")
    assert proc.wait(timeout=30) == 0
    assert b"plain now" in (place.data / "tasks.journal").read_bytes()


def test_encrypt_by_another_process_ends_one_serving_the_plain_store(place: Place, tmp_path: Path) -> None:
    env = opened_with(place, secret(tmp_path / "pass", PASSPHRASE))
    assert place.run("add", "one", env=off(env)).code == 0
    proc = place.serve(env)
    assert place.routed("list", env=env).code == 0
    assert place.run("encrypt", "--yes", env=env).code == 0
    done = place.ran_here("add", "sealed now", env=env)
    assert (done.code, done.out, done.err) == (0, "Added task 2: sealed now\n", "")
    assert proc.wait(timeout=30) == 0
    assert b"sealed now" not in (place.data / "tasks.journal").read_bytes()


def test_a_compaction_that_keeps_the_key_does_not_end_it(place: Place, tmp_path: Path) -> None:
    """Another process compacts (the snapshot and the journal replaced, the same key and slots): it serves
    on, and what it serves includes the change that process made."""
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    proc = place.serve(env)
    assert place.routed("add", "two", env=env).code == 0
    snapshot = (place.data / "tasks.json").stat().st_ino
    compacting = subprocess.run([*taskvault_compacting_at(0), "add", "three"], env=off(env), capture_output=True,
                                text=True, timeout=60)
    assert compacting.returncode == 0, compacting.stderr
    assert (place.data / "tasks.json").stat().st_ino != snapshot
    done = place.routed("add", "four", env=env)
    assert (done.code, done.out) == (0, "Added task 4: four\n")
    assert proc.poll() is None
    assert titles(place, env) == [(1, "one"), (2, "two"), (3, "three"), (4, "four")]


# -- a passphrase a resident process could not have --------------------------------------------------


def test_a_passphrase_on_a_descriptor_leaves_no_resident_process(place: Place, tmp_path: Path) -> None:
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    bare = {k: v for k, v in env.items() if k != "TASKVAULT_PASSPHRASE_FILE"}
    done = place.ran_here("--passphrase-fd", "0", "add", "two", env=bare, stdin=PASSPHRASE.encode() + b"\n")
    assert (done.code, done.out) == (0, "Added task 2: two\n"), done.err
    assert place.servers() == []  # (start_server returns once the process exists: it would be found)


def test_a_passphrase_typed_at_the_terminal_leaves_no_resident_process(place: Place, tmp_path: Path) -> None:
    """Typed at the terminal: the command runs and succeeds, but a resident process (no terminal, no passphrase
    file) could not open the store, so none is started (it would die at once, at every command)."""
    pexpect = pytest.importorskip("pexpect")
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    bare = {k: v for k, v in env.items() if k != "TASKVAULT_PASSPHRASE_FILE"}
    child = pexpect.spawn(TASKVAULT[0], [*TASKVAULT[1:], "add", "typed"], env=bare, dimensions=(24, 100),
                          timeout=30, encoding="utf-8")
    try:
        child.expect_exact("Passphrase for ")
        child.sendline(PASSPHRASE)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "Added task 2: typed" in (child.before or "")
    assert place.servers() == []
    assert titles(place, env) == [(1, "one"), (2, "typed")]


def test_a_store_the_keyring_opens_is_served_without_a_passphrase_file(place: Place, tmp_path: Path) -> None:
    """The keyring holds the store's key: the first command opens the store with it (no passphrase asked) and
    starts a resident process, which opens it the same way and serves the next; TASKVAULT_KEYRING=off is
    another setting, never served by it: its command runs itself and, with no passphrase to be had, exit 3."""
    keyring_env = {"PYTHONPATH": str(Path(__file__).parent / "fixtures" / "keyring"),
                   "PYTHON_KEYRING_BACKEND": "taskvault_test_keyring.FileKeyring",
                   "TASKVAULT_TEST_KEYRING": str(tmp_path / "keyring.json")}
    with_file = opened_with(place, secret(tmp_path / "pass", PASSPHRASE), **keyring_env)
    made = place.run("init", "--encrypt", "--keyring", env=off(with_file))
    assert made.code == 0, made.err
    env = {k: v for k, v in with_file.items() if k != "TASKVAULT_PASSPHRASE_FILE"}
    first = place.ran_here("add", "first", env=env)
    assert (first.code, first.out, first.err) == (0, "Added task 1: first\n", "")
    pid = place.one_server()
    second = place.routed("add", "second", env=env)
    assert (second.code, second.out, second.err) == (0, "Added task 2: second\n", "")
    refused = place.ran_here("list", env={**env, "TASKVAULT_KEYRING": "off"})
    assert (refused.code, refused.out) == (3, "") and "encrypted" in refused.err
    assert place.servers() == [pid]
    assert titles(place, with_file) == [(1, "first"), (2, "second")]


# -- which settings pick one ------------------------------------------------------------------------


@pytest.mark.parametrize("setting", [
    {"TASKVAULT_PASSPHRASE_FILE": "/elsewhere/pass"}, {"TASKVAULT_KEYRING": "off"},
    {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1/other"}, {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
])
def test_where_the_key_comes_from_picks_the_resident_process(setting: dict[str, str]) -> None:
    """The passphrase file, the keyring switch and which keyring (its bus, its backend) are settings a
    resident process serves: a command with others never reaches it."""
    base = {"HOME": "/root", "TASKVAULT_PASSPHRASE_FILE": "/home/pass", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1/bus"}
    assert key_of(base) != key_of({**base, **setting})


@pytest.mark.parametrize(("value", "relative"), [("pass", True), ("./pass", True), ("~/pass", False),
                                                 ("/etc/taskvault/pass", False)])
@pytest.mark.parametrize("name", ["TASKVAULT_PASSPHRASE_FILE", "TASKVAULT_NEW_PASSPHRASE_FILE"])
def test_a_relative_passphrase_file_is_never_routed(name: str, value: str, relative: bool) -> None:
    """A resident process runs in /, where a relative passphrase file names another file."""
    assert client.depends_on_directory({"HOME": "/root", "TASKVAULT_DATA_DIR": "/tmp/x", name: value}) is relative


def test_a_relative_passphrase_file_runs_itself(place: Place, tmp_path: Path) -> None:
    env = encrypted_store(place, secret(tmp_path / "pass", PASSPHRASE), "one")
    relative = {**env, "TASKVAULT_PASSPHRASE_FILE": "pass"}
    log = tmp_path / "trace.log"
    tracer = [require_tool("strace"), "-qq", "-o", str(log), "-e", "trace=%file,connect"]
    proc = subprocess.run([*tracer, *TASKVAULT, "add", "two"], cwd=tmp_path, env=relative, capture_output=True,
                          text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "Added task 2: two\n"), proc.stderr
    assert str(place.sockets) not in log.read_text(encoding="utf-8", errors="replace")
    assert place.servers() == []


@pytest.mark.parametrize("command", ["encrypt", "decrypt", "rekey", "init"])
def test_the_commands_that_change_the_key_are_never_routed(command: str) -> None:
    assert client.routed_command([command]) is None
    assert client.routed_command(["--json", command]) is None
    assert client.routed_command(["--passphrase-fd", "3", "list"]) is None


# -- the resident process's passphrase source -------------------------------------------------------------


def test_the_unattended_source_reads_only_the_passphrase_file_to_open(tmp_path: Path) -> None:
    store = tmp_path / "data"
    passphrase_file = secret(tmp_path / "pass", PASSPHRASE)
    source = UnattendedPassphrases({"TASKVAULT_PASSPHRASE_FILE": str(passphrase_file)})
    assert source.passphrase(store, "unlock") == PASSPHRASE
    for purpose in ("new", "current"):  # (encrypt, decrypt and rekey run in their own process)
        with pytest.raises(StoreEncrypted):
            source.passphrase(store, purpose)
    with pytest.raises(StoreEncrypted):
        UnattendedPassphrases({}).passphrase(store, "unlock")
    passphrase_file.chmod(0o640)
    with pytest.raises(UsageError, match="open to other users"):  # (cli/passphrase.py's own checks)
        source.passphrase(store, "unlock")


def test_the_unattended_source_notices_its_file_change(tmp_path: Path) -> None:
    passphrase_file = secret(tmp_path / "pass", PASSPHRASE)
    source = UnattendedPassphrases({"TASKVAULT_PASSPHRASE_FILE": str(passphrase_file)})
    stamp = source.file_stamp()
    assert stamp is not None and source.file_stamp() == stamp
    os.utime(passphrase_file, ns=(0, 0))
    assert source.file_stamp() != stamp
    passphrase_file.unlink()
    assert source.file_stamp() is None
    assert UnattendedPassphrases({}).file_stamp() is None
