"""Simulated power loss: every crash state a recorded save allows loads as the old or the new store.

Each kind of write is run once by the installed program under strace; tests/crashsim.py turns
the recorded calls into every state a disk may be left in when the power goes, and the real
loader runs on each. Before the acknowledgement a state must load as the store before or after
the change; once the user was told "saved", only the store after it will do. Dropping any one
fsync from a recording must make this fail, or the harness proves nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from taskvault import codec
from taskvault.errors import InvalidValue, StorageError
from taskvault.store import lock
from taskvault.store.backups import decompressed
from taskvault.store.journal_store import JournalStore

from . import crashsim
from .conftest import (
    FIGURES,
    KEYS,
    TASKVAULT,
    Session,
    encrypted_stores,
    import_held,
    require_tool,
    seed_store,
    taskvault_compacting_at,
    taskwarrior_import,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: What a kind runs as a session (script mode, whose housekeeping goes to a thread), read from standard input.
SESSION_INPUT = {"add in a session, compaction in the background": "add Compacts\n"}

#: Each kind of write the program makes: (how to prepare the data directory, the command line).
KINDS: dict[str, tuple[str, list[str]]] = {
    "add to a new store": ("none", ["add", "New"]),
    "add": ("seeded", ["add", "New", "--tag", "x"]),
    "edit": ("seeded", ["edit", "1", "--title", "Renamed", "--tag", "+y"]),
    "done": ("seeded", ["done", "1"]),
    "reopen": ("seeded", ["reopen", "2"]),
    "delete": ("seeded", ["delete", "3"]),
    "bulk done": ("seeded", ["done", "1", "3"]),
    "bulk delete": ("seeded", ["delete", "1", "2", "3", "--yes"]),
    "add with compaction": ("seeded", ["add", "Compacts"]),
    "add in a session, compaction in the background": ("seeded", []),
    "add after a crash (torn line, temp file)": ("crashed", ["add", "After"]),
    "undo of a bulk delete": ("bulk-deleted", ["undo"]),
    "restore (backup first)": ("backed-up", ["restore", "latest"]),
    "add to a schema 1 store (migration)": ("v1", ["add", "New"]),
    "salvage of a damaged snapshot": ("snapshot-damaged", ["salvage", "--yes"]),
    "salvage of a journal damaged mid-way": ("journal-damaged", ["salvage", "--yes"]),
    # Schema 4's kinds and fields: each kind of change it added, and a task that carries every new field.
    "add with every new field": ("seeded", ["add", "New", "project:home.kitchen", "due:+3d", "scheduled:+1d",
                                            "wait:+2d", "until:+30d", "depends:1,3", "+t"]),
    "modify (project, due, tag, dependency)": ("seeded", ["modify", "3", "project:x", "due:+3d", "+tag", "depends:1"]),
    "bulk modify": ("seeded", ["modify", "1,2,3", "priority:L"]),
    "annotate": ("seeded", ["annotate", "1", "Café ☕ — ünï ✓"]),
    "denotate": ("annotated", ["denotate", "1", "1"]),
    "start": ("seeded", ["start", "1"]),
    "stop": ("started", ["stop", "3"]),
    "undo of a bulk modify": ("bulk-modified", ["undo"]),
    # An import: three new tasks and an update of task 1 (its uuid, a new title and project), after a backup.
    "import (backup first)": ("seeded", ["import", "--from", "taskwarrior", "<import file>"]),
}
#: Stands in a command line for the import's file: a Taskwarrior export written, outside the data directory (the
#: crash model sees none of it), once the store is prepared, holding new tasks and an update of one it holds.
IMPORT_FILE = "<import file>"


def _with_import_file(args: list[str], data_dir: Path, outside: Path) -> list[str]:
    if IMPORT_FILE not in args:
        return args
    path = taskwarrior_import(data_dir, outside / "taskwarrior.json")
    return [str(path) if arg == IMPORT_FILE else arg for arg in args]
#: What each preparation of schema 4's kinds runs after the seed.
PREPARED = {"annotated": ("annotate 1 Café ☕ first", "annotate 1 second"), "started": ("start 3",),
            "bulk-modified": ("modify 1,3 project:p depends:2 +z",)}


@contextlib.contextmanager
def _after_reboot() -> Iterator[None]:
    """A power loss is followed by a new boot: marks the lock file holds for readers of the old boot lapse."""
    real = lock.current_boot
    lock.current_boot = lambda: b"the boot after the power loss"  # type: ignore[assignment]
    try:
        yield
    finally:
        lock.current_boot = real  # type: ignore[assignment]


def _load(directory: Path) -> Any:
    """What the real loader makes of a directory after a power loss: the store's state, or why it refused
    (the same words wherever the directory is)."""
    try:
        with _after_reboot():
            return JournalStore(directory, passphrases=KEYS).load().snapshot()
    except StorageError as exc:
        return f"refused: {exc.message}".replace(str(directory), "<data>")


def _prepare(directory: Path, how: str) -> None:
    if how == "none":
        return
    if how == "v1":
        shutil.copytree(Path(__file__).parent / "fixtures" / "v1" / "compacted", directory)
        directory.chmod(0o700)
        return
    seed_store(directory)
    if how in PREPARED:
        seed_store(directory, PREPARED[how])
    if how == "bulk-deleted":
        seed_store(directory, ("delete 1 2 3 --yes",))
    if how == "backed-up":
        seed_store(directory, ("backup", "delete 1 --yes"))
    if how.endswith("damaged"):  # a backup at revision 4, two changes after it, then damage
        seed_store(directory, ("backup", "add Fifth", "edit 1 --title Renamed"))
        if how == "snapshot-damaged":
            with (directory / "tasks.json").open("ab") as snapshot:
                snapshot.write(b"garbage")
        else:
            lines = (directory / "tasks.journal").read_bytes().splitlines(keepends=True)
            # Record 5 fails its checksum; record 6 is lost too. (An encrypted record: a byte of its sealed part.)
            lines[5] = lines[5].replace(b"Fifth", b"Fifty") if b'"enc":' not in lines[5] else _flipped_at(lines[5], 40)
            (directory / "tasks.journal").write_bytes(b"".join(lines))
    if how == "crashed":
        with (directory / "tasks.journal").open("ab") as journal:
            journal.write(b"1234abcd {\"rev\":5,\"half a rec")
        (directory / ".tasks.json.tmp-4242-0badf00d").write_bytes(b"{\"half\":")


def _flipped_at(line: bytes, at: int) -> bytes:
    return line[:at] + bytes([line[at] ^ 0x01]) + line[at + 1:]


@attrs.frozen
class Recording:
    kind: str
    data_dir: Path
    before: crashsim.Disk
    ops: list[crashsim.Op]
    old: Any
    new: Any
    #: The lowest next id the old store may show, if lower than its own (see _same_store).
    floor: int | None = None
    #: An encrypted store's key (store/cipher.py's Cipher), which opens its records for _backup_problems.
    cipher: Any = None


def _record(tmp: Path, kind: str) -> Recording:
    how, args = KINDS[kind]
    root = tmp / "root"
    root.mkdir(mode=0o700)
    data_dir = root / "data"
    _prepare(data_dir, how)
    args = _with_import_file(args, data_dir, tmp)
    before = crashsim.Disk.scan(root)
    old = _load(data_dir)
    cipher = None
    if (data_dir / "tasks.json").exists() and not isinstance(old, str):  # an encrypted store's key, to open records
        opened = JournalStore(data_dir, passphrases=KEYS)
        opened.load()
        cipher = opened.cipher
    program = taskvault_compacting_at(0) if "compaction" in kind else TASKVAULT
    trace = tmp / "trace"
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
    threads = ["-f"] if kind in SESSION_INPUT else []  # a session compacts in a thread of its own
    proc = subprocess.run([require_tool("strace"), *threads, "-qq", "-xx", "-s", "1000000", "-o", str(trace),
                           "-e", f"trace={crashsim.TRACED}", *program, *args], input=SESSION_INPUT.get(kind),
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ops = crashsim.parse(trace.read_text(), root, before)
    after = crashsim.Disk.scan(root)
    assert crashsim.final_disk(before, ops).files_under(data_dir) == after.files_under(data_dir), \
        "the recording does not explain the files the run left"
    assert sum(op.kind == "ack" for op in ops) == 1
    return Recording(kind, data_dir, before, ops, old, _load(data_dir), cipher=cipher)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    return {kind: _record(tmp_path_factory.mktemp("record"), kind) for kind in KINDS}


#: The kinds recorded on an encrypted store too: a change, a compaction (in a one-shot command and in a session's
#: background), the next writer after a crash, undo, a restore and an import (each with its encrypted backup first),
#: and a salvage of a journal whose encrypted record was damaged.
ENCRYPTED_KINDS = ("add", "add with compaction", "add in a session, compaction in the background",
                   "add after a crash (torn line, temp file)", "undo of a bulk delete", "restore (backup first)",
                   "import (backup first)", "salvage of a journal damaged mid-way")


@pytest.fixture(scope="module")
def encrypted_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """The same recordings on encrypted stores (the passphrase in TASKVAULT_PASSPHRASE_FILE for the traced run)."""
    with encrypted_stores(tmp_path_factory.mktemp("key")):
        return {kind: _record(tmp_path_factory.mktemp("encrypted"), kind) for kind in ENCRYPTED_KINDS}


@attrs.frozen
class Verdict:
    states: int  # crash states enumerated
    distinct: int  # of which different on disk
    bad: list[str]  # what went wrong, one line each
    refused_in_flight: list[str] = attrs.Factory(list)  # see _check's ``apart``


def _check(recording: Recording, ops: list[crashsim.Op], scratch: Path, *, next_writer: bool = False,
           floor: int | None = None, apart: bool = False) -> Verdict:
    """Run the loader on every crash state of ``ops``; list each one that is neither old nor new.

    ``floor``: the lowest next id the old store may show (see _same_store). With ``apart``, a state
    refused while the change was still in flight (neither acknowledged nor reported) is listed in
    ``refused_in_flight`` instead of ``bad``.
    """
    seen: dict[tuple[Any, ...], Any] = {}
    salvaged: dict[tuple[Any, ...], Any] = {}
    bad: list[str] = []
    refused_in_flight: list[str] = []
    states = 0
    for state in crashsim.crash_states(recording.before, ops, recording.data_dir):
        states += 1
        key = (state.exists, tuple(sorted((name, hashlib.sha256(data).digest())
                                          for name, data in state.files.items())))
        if key not in seen:
            directory = scratch / str(len(seen))
            if state.exists:
                directory.mkdir(mode=0o700, parents=True)
                for name, data in state.files.items():
                    (directory / name).write_bytes(data)
            seen[key] = (_load(directory), directory)
            if isinstance(seen[key][0], str) and recording.kind.startswith("salvage"):
                # Still refused: salvaging again (before anything else runs there) must end the same.
                salvaged[key] = _salvaged_again(directory, scratch / f"again-{len(seen)}")
            if next_writer and any(_same_store(seen[key][0], one, recording.new, floor)
                                   for one in (recording.old, recording.new)):
                _next_writer_works(directory, recording.new)
        loaded = seen[key][0]
        if key in salvaged and salvaged[key] != recording.new[0]:
            bad.append(f"power lost after call {state.after}: salvaging again gives other tasks; "
                       f"files {sorted(state.files)}")
        allowed = ([recording.new] if state.acknowledged else [recording.old] if state.refused
                   else [recording.old, recording.new])
        when = (f"power lost after call {state.after}{' (acknowledged)' if state.acknowledged else ''}"
                f"{' (reported as failed)' if state.refused else ''}")
        if not any(_same_store(loaded, one, recording.new, floor) for one in allowed):
            what = loaded if isinstance(loaded, str) else f"a store at revision {loaded[2]}"
            in_flight = apart and isinstance(loaded, str) and not (state.acknowledged or state.refused)
            (refused_in_flight if in_flight else bad).append(f"{when}: {what}; files {sorted(state.files)}")
        bad += [f"{when}: {problem}" for problem in _backup_problems(recording, state)]
    return Verdict(states, len(seen), bad, refused_in_flight)


def _salvaged_again(directory: Path, copy: Path) -> Any:
    """The tasks a salvage recovers from a (copy of a) store that is refused after a crash."""
    shutil.copytree(directory, copy)
    with _after_reboot():
        session = Session(copy)
        assert session.run("salvage --yes") == 0, session.err.getvalue()
        tasks = session.state()[0]
        session.close()
    return tasks


def _same_store(loaded: Any, expected: Any, new: Any, floor: int | None = None) -> bool:
    """``loaded`` is the ``expected`` store; its next id may be higher, up to the new one's, when an unfinished
    record named the ids it would have used (they are never handed out). With ``floor``, it may also be lower,
    down to ``floor``: ids named by a record that was then cut off are free again."""
    if isinstance(loaded, str) or isinstance(expected, str) or isinstance(new, str):
        return loaded == expected
    (tasks, next_id, revision), (want_tasks, want_next, want_revision) = loaded, expected
    lowest = want_next if floor is None else min(floor, want_next)
    return (tasks, revision) == (want_tasks, want_revision) and lowest <= next_id <= max(want_next, new[1])


def _backup_problems(recording: Recording, state: crashsim.CrashState) -> list[str]:
    """Every backup a crash leaves must decode in full, and a compaction may replace the snapshot only
    once its backup is durable."""
    problems = []
    for name, data in state.backups.items():
        if ".tmp-" in name:
            continue
        try:
            plain = _opened_backup(data, name) if name.endswith(".enc") else data  # (an encrypted store's: opened)
            codec.decode_snapshot(decompressed(plain) if name.endswith((".gz", ".gz.enc")) else plain)
        except (codec.FormatError, InvalidValue) as exc:
            problems.append(f"the backup {name} does not decode: {exc}")
    old_files = {name: data for name, data in recording.before.files_under(recording.data_dir).items()
                 if name in ("tasks.json", "tasks.journal")}
    old_snapshot = old_files.get("tasks.json")
    compacted = (old_snapshot is not None and state.files.get("tasks.json", old_snapshot) != old_snapshot
                 and not recording.kind.startswith("salvage"))  # a salvage keeps the old files aside instead
    names = [name.removesuffix(".enc") for name in state.backups]  # (an encrypted store's backups end in .enc)
    if compacted and not any(name.endswith(("-compaction.json.gz", "-migration.json")) for name in names):
        problems.append("the snapshot was replaced, but the backup taken before it is gone")
    journal = state.files.get("tasks.journal", b"")
    if recording.cipher is not None:  # an encrypted journal's commands are sealed: opened with the store's key
        journal = _opened_journal(journal, recording.cipher)
    restored = b'"cmd":"restore ' in journal
    if restored and not any(name.endswith("-restore.json.gz") for name in names):
        problems.append("the restore was saved, but the backup of the store before it is gone")
    imported = b'"cmd":"import ' in journal
    if imported and not any(name.endswith("-import.json.gz") for name in names):
        problems.append("the import was saved, but the backup of the store before it is gone")
    if recording.kind.startswith("salvage"):  # the damaged files survive every crash, under one name or another
        kept = set(state.files.values())
        problems += [f"the damaged {name} is gone" for name, data in old_files.items() if data not in kept]
    return problems


def _opened_backup(data: bytes, name: str) -> bytes:
    """The plain (compressed) snapshot an encrypted backup holds, opened with the tests' passphrase."""
    from taskvault.codec.encrypted import read_header
    from taskvault.store import cipher

    header = read_header(data, name)
    key = cipher.open_passphrase_slot(header, KEYS.words)
    if key is None:
        raise codec.FormatError(f"the passphrase does not open {name}", "")
    return cipher.Cipher(key, header.store, header.slots).decrypt_file(data, "backup", name)[0]


def _opened_journal(journal: bytes, cipher: Any) -> bytes:
    """An encrypted journal with each record that opens with ``cipher`` in clear (its command line shows), for the
    checks above; what does not open is left as it is."""
    import base64
    import json

    from taskvault.codec.encrypted import record_context

    opened = []
    for line in journal.splitlines(keepends=True):
        try:
            doc = json.loads(line[9:])
            plain = cipher.open(base64.b64decode(doc["enc"]), record_context(doc["rev"], codec.SCHEMA))
        except (ValueError, KeyError, TypeError, IndexError, codec.FormatError):
            opened.append(line)
            continue
        opened.append(plain + b"\n")
    return b"".join(opened)


def _next_writer_works(directory: Path, new: Any) -> None:
    """After the crash, the next change is saved and tidies what the crash left (torn line, temp files).

    A store still refused after a salvage was cut short is salvaged again, to the same tasks.
    """
    with _after_reboot():
        session = Session(directory)
        if isinstance(_load(directory), str):
            assert session.run("salvage --yes") == 0, session.err.getvalue()
            assert session.state()[0] == new[0], "salvaging again after the crash recovers other tasks"
        assert session.run("add After the power came back") == 0, session.err.getvalue()
        assert Session(directory).state() == session.state()
    assert not [p for p in directory.iterdir() if ".tmp-" in p.name]
    session.close()


class TestEveryCrashState:
    @pytest.mark.parametrize("kind", KINDS)
    def test_old_or_new_and_new_once_acknowledged(self, recordings: dict[str, Recording], kind: str,
                                                  tmp_path: Path) -> None:
        """Every crash state of this write loads as before or after it; after the ack, only after."""
        recording = recordings[kind]
        assert recording.old != recording.new and not isinstance(recording.new, str)
        assert kind.startswith("salvage") == isinstance(recording.old, str), "only a salvage starts from a refusal"
        if kind.startswith("import"):  # old and new are the store without any of it and with all of it
            assert (import_held(recording.old[0]), import_held(recording.new[0])) == ("none", "all")
        verdict = _check(recording, recording.ops, tmp_path, next_writer=True)
        assert verdict.bad == []
        fsyncs = sum(op.kind in ("fsync", "fsyncdir") for op in recording.ops)
        FIGURES[f"power-loss crash states: {kind}"] = (f"{verdict.states} states ({verdict.distinct} distinct) "
                                                      f"over {len(recording.ops)} calls, {fsyncs} fsyncs; 0 bad")


class TestEveryCrashStateEncrypted:
    @pytest.mark.parametrize("kind", ENCRYPTED_KINDS)
    def test_old_or_new_and_new_once_acknowledged(self, encrypted_recordings: dict[str, Recording], kind: str,
                                                  tmp_path: Path) -> None:
        """The same proof on an encrypted store: its snapshot, records and backups sealed."""
        recording = encrypted_recordings[kind]
        assert recording.old != recording.new and not isinstance(recording.new, str)
        assert b"taskvault-encrypted" in recording.before.files_under(recording.data_dir).get("tasks.json", b"")
        verdict = _check(recording, recording.ops, tmp_path, next_writer=True)
        assert verdict.bad == []
        fsyncs = sum(op.kind in ("fsync", "fsyncdir") for op in recording.ops)
        FIGURES[f"power-loss crash states, encrypted: {kind}"] = (
            f"{verdict.states} states ({verdict.distinct} distinct) over {len(recording.ops)} calls, {fsyncs} fsyncs; "
            "0 bad")


class TestTheHarnessHasTeeth:
    def test_dropping_any_fsync_is_caught(self, recordings: dict[str, Recording], tmp_path: Path) -> None:
        """Remove any one fsync (by what it makes durable) from the recordings: some crash state goes bad."""
        labels = sorted({op.label for r in recordings.values() for op in r.ops if op.kind in ("fsync", "fsyncdir")})
        assert len(labels) >= 5, labels
        caught: dict[str, int] = {}
        for label in labels:
            caught[label] = 0
            for recording in recordings.values():
                for index, op in enumerate(recording.ops):
                    if op.label != label:
                        continue
                    without = recording.ops[:index] + recording.ops[index + 1:]
                    verdict = _check(recording, without, tmp_path / f"{len(caught)}-{recording.kind}-{index}")
                    caught[label] += bool(verdict.bad)
        assert all(caught.values()), f"fsyncs whose removal no crash state notices: {caught}"
        counts = ", ".join(f"{label} (in {n} of {len(recordings)} recordings)" for label, n in caught.items())
        FIGURES["power-loss harness teeth"] = (f"each of the {len(labels)} kinds of fsync, removed, gives bad "
                                               f"crash states: {counts}")


# -- saves that fail: a change reported as failed never becomes visible, whatever the power does --------------

#: The journal's calls that fail in each recording, as strace injections counted over the whole run. The first
#: fsync of an add to a seeded store is its directory's, the second the journal's; the first pwrite64 is the
#: lock file's mark ("a record is being written"), the second the void mark over the failed record.
#: (injections, what the user is told)
FAILED_SAVES: dict[str, tuple[list[str], str]] = {
    "fsync fails once (voided)": (["fsync:error=EIO:when=2"], "nothing was changed"),
    "every fsync of the journal fails (in doubt)": (["fsync:error=EIO:when=2..4"], "may or may not be on disk"),
    "fsync and ftruncate fail (void line left)": (["fsync:error=EIO:when=2", "ftruncate:error=EIO"],
                                                  "nothing was changed"),
    "every journal fsync and ftruncate fail (in doubt)": (["fsync:error=EIO:when=2..3", "ftruncate:error=EIO"],
                                                          "may or may not be on disk"),
    "fsync and pwrite64 fail (cut back)": (["fsync:error=EIO:when=2", "pwrite64:error=EIO:when=3"],
                                           "nothing was changed"),
    "fsync, pwrite64 and ftruncate fail (record left whole, in doubt)": (
        ["fsync:error=EIO:when=2", "pwrite64:error=EIO:when=3", "ftruncate:error=EIO"], "may or may not be on disk"),
}
#: The title of the change that fails; no crash state may show it once the user was told.
FAILED_TITLE = "Reported as failed"


def _journal_fd(trace: str, data_dir: Path) -> int:
    """The descriptor the traced run wrote the journal through."""
    name = "".join(f"\\x{b:02x}" for b in str(data_dir / "tasks.journal").encode())
    fds = {int(m) for m in re.findall(rf'^openat\(AT_FDCWD, "{re.escape(name)}", O_RDWR[^)]*\)\s+= (\d+)', trace,
                                      re.MULTILINE)}
    assert len(fds) == 1, fds
    return fds.pop()


def _strace_run(data_dir: Path, trace: Path, injects: list[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
    return subprocess.run([require_tool("strace"), "-qq", "-xx", "-s", "1000000", "-o", str(trace),
                           "-e", f"trace={crashsim.TRACED}", *(f"--inject={i}" for i in injects), *TASKVAULT, *args],
                          env=env, capture_output=True, text=True, timeout=60)


def _the_change_applied(before: crashsim.Disk, ops: list[crashsim.Op], data_dir: Path, scratch: Path) -> Any:
    """The store as it would load had the failed record reached the disk whole and been believed."""
    files_before = before.files_under(data_dir)
    journal_inode = before.names[str(data_dir / "tasks.journal")]
    record = next(op.data for op in ops if op.kind == "write" and op.inode == journal_inode)  # then the void mark
    assert re.match(rb'[0-9a-f]{8} \{"rev":', record), record[:40]
    scratch.mkdir(mode=0o700)
    for name, data in files_before.items():
        if name != "tasks.lock":
            (scratch / name).write_bytes(data + record if name == "tasks.journal" else data)
    return _load(scratch)


#: Schema 4's kinds (and an import) failing as the add does above: (how the store is prepared, the command, whether a
#: loaded store shows the failed change). Each meets the compound faults named in FAILED_KIND_FAULTS.
FAILED_KINDS: dict[str, tuple[str, list[str], Callable[[Any], bool]]] = {
    "annotate": ("seeded", ["annotate", "1", FAILED_TITLE],
                 lambda store: any(a.text == FAILED_TITLE for t in store[0] for a in t.annotations)),
    "bulk modify": ("seeded", ["modify", "1,3", "project:failed", "depends:2", "+failed"],
                    lambda store: any(t.project == "failed" for t in store[0])),
    "start": ("seeded", ["start", "1", "3"], lambda store: any(t.started is not None for t in store[0])),
    "denotate": ("annotated", ["denotate", "1", "1"], lambda store: len(store[0][0].annotations) == 1),
    # Any of it shows (all of it must, in the store with the failed change applied: see _record_failed_save).
    "import": ("seeded", ["import", "--from", "taskwarrior", IMPORT_FILE], lambda store: import_held(store[0]) != "none"),
}
#: The fsyncs an import makes before the journal's, which the injections above count from: the data directory's,
#: then the backup's own (its temp file, the backups directory, the data directory again).
FSYNCS_BEFORE_THE_JOURNAL = {"import": 3}


def _shifted(injects: list[str], kind: str) -> list[str]:
    """The injections counted for an add, counted for ``kind``: its fsyncs before the journal's come first."""
    shift = FSYNCS_BEFORE_THE_JOURNAL.get(kind, 0)
    shifted = []
    for inject in injects:
        call, _, when = inject.partition(":when=")
        later = re.sub(r"\d+", lambda number: str(int(number[0]) + shift), when)
        shifted.append(f"{call}:when={later}" if call.startswith("fsync:") and when else inject)
    return shifted


FAILED_KIND_FAULTS = ("fsync and ftruncate fail (void line left)", "every journal fsync and ftruncate fail (in doubt)",
                      "fsync, pwrite64 and ftruncate fail (record left whole, in doubt)")
#: name -> (fault, kind): every new kind under every one of those faults.
FAILED_NEW_KINDS = {f"{kind}: {fault}": (fault, kind) for kind in FAILED_KINDS for fault in FAILED_KIND_FAULTS}


def _record_failed_save(tmp: Path, name: str) -> Recording:
    """Run a failing add (or a change of one of schema 4's kinds) under strace and record it; ``new`` is the store
    with the failed change applied."""
    fault, kind = FAILED_NEW_KINDS.get(name, (name, "add"))
    injects, told = FAILED_SAVES[fault]
    how, args, shows = FAILED_KINDS.get(kind, ("seeded", ["add", FAILED_TITLE],
                                               lambda store: FAILED_TITLE in [t.title for t in store[0]]))
    root = tmp / "root"
    root.mkdir(mode=0o700)
    data_dir = root / "data"
    _prepare(data_dir, how)
    args = _with_import_file(args, data_dir, tmp)
    injects = _shifted(injects, kind)
    before = crashsim.Disk.scan(root)
    old = _load(data_dir)
    assert not shows(old)
    trace = tmp / "trace"
    proc = _strace_run(data_dir, trace, injects, args)
    assert proc.returncode == 3 and told in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    log = trace.read_text()
    journal_fd = _journal_fd(log, data_dir)
    injected = [line for line in log.splitlines() if "(INJECTED)" in line]
    assert len(injected) >= len(injects) and all(re.match(rf"\w+\({journal_fd}[,)]", line)
                                                  for line in injected), \
        "the injected faults must hit the journal, and only it:\n" + "\n".join(injected)
    ops = crashsim.parse(log, root, before, refusals=True)
    after = crashsim.Disk.scan(root)
    assert crashsim.final_disk(before, ops).files_under(data_dir) == after.files_under(data_dir), \
        "the recording does not explain the files the run left"
    assert not any(op.kind == "ack" for op in ops) and any(op.kind == "refusal" for op in ops)
    new = _the_change_applied(before, ops, data_dir, tmp / "applied")
    assert not isinstance(new, str) and shows(new)
    assert kind != "import" or import_held(new[0]) == "all", "the failed record holds only part of the import"
    assert _same_store(_load(data_dir), old, new), "a failed save changed the store"
    return Recording(name, data_dir, before, ops, old, new)


def _record_settling(tmp: Path) -> Recording:
    """A store left in doubt (the record whole in the journal, a durable "d" mark), then the next writer's add,
    which cuts the record off durably and lifts the mark before it appends: recorded."""
    root = tmp / "root"
    root.mkdir(mode=0o700)
    data_dir = root / "data"
    _prepare(data_dir, "seeded")
    seeded_next_id = _load(data_dir)[1]
    injects, told = FAILED_SAVES["fsync, pwrite64 and ftruncate fail (record left whole, in doubt)"]
    proc = _strace_run(data_dir, tmp / "failing-trace", injects, ["add", FAILED_TITLE])
    assert proc.returncode == 3 and told in proc.stderr, proc.stderr
    assert FAILED_TITLE.encode() in (data_dir / "tasks.journal").read_bytes()
    assert (data_dir / "tasks.lock").read_bytes().startswith(b"d")
    before = crashsim.Disk.scan(root)
    old = _load(data_dir)
    trace = tmp / "trace"
    proc = _strace_run(data_dir, trace, [], ["add", "After the doubt"])
    assert proc.returncode == 0, proc.stderr
    ops = crashsim.parse(trace.read_text(), root, before)
    assert crashsim.final_disk(before, ops).files_under(data_dir) == crashsim.Disk.scan(root).files_under(data_dir)
    assert not (data_dir / "tasks.lock").read_bytes().startswith(b"d")
    # The in-doubt record reserved its id while it was on disk; once cut off (durably, before the mark is
    # lifted) it reserves nothing, as a failed save that was cut back does not.
    return Recording("the next writer settles a save in doubt", data_dir, before, ops, old, _load(data_dir),
                     floor=seeded_next_id)


@pytest.fixture(scope="module")
def failed_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    recorded = {name: _record_failed_save(tmp_path_factory.mktemp("failed"), name)
                for name in [*FAILED_SAVES, *FAILED_NEW_KINDS]}
    settling = _record_settling(tmp_path_factory.mktemp("settle"))
    return {**recorded, settling.kind: settling}


def _brief(op: crashsim.Op) -> str:
    """One recorded call, short enough to read in a failure message."""
    where = Path(op.target or op.path).name if (op.target or op.path) else f"inode {op.inode}"
    return f"  {op.kind} {where} @{op.offset} {op.data[:24]!r}" if op.data else f"  {op.kind} {where}"


SETTLING = "the next writer settles a save in doubt"


class TestFailedSavesUnderPowerLoss:
    """A save that fails (strace injection) and a power cut at any point of it: once the user was told the change
    failed, or that its outcome is unknown, every crash state loads as the old store (after a reboot)."""

    @pytest.mark.parametrize("name", [*FAILED_SAVES, *FAILED_NEW_KINDS, SETTLING])
    def test_a_change_reported_as_failed_never_becomes_visible(self, failed_recordings: dict[str, Recording],
                                                              name: str, tmp_path: Path) -> None:
        """Every crash state of a failing save (or of the writer that settles one in doubt) loads as the old store
        once the error was printed, and as old or new before; each such state then takes the next change."""
        recording = failed_recordings[name]
        verdict = _check(recording, recording.ops, tmp_path, next_writer=True, floor=recording.floor, apart=True)
        assert verdict.bad == [], "\n".join([*verdict.bad, "calls:", *map(_brief, recording.ops)])
        told = sum(op.kind == "refusal" for op in recording.ops)
        assert told == (0 if name == SETTLING else 1)
        failed_fsyncs = sum(op.kind == "fsync-failed" for op in recording.ops)
        FIGURES[f"power-loss crash states, failed saves: {name}"] = (
            f"{verdict.states} states ({verdict.distinct} distinct) over {len(recording.ops)} calls, "
            f"{failed_fsyncs} failed fsyncs; 0 bad")

    def test_a_power_cut_while_the_void_mark_is_written_leaves_a_store_that_loads(
            self, failed_recordings: dict[str, Recording], tmp_path: Path) -> None:
        """While the change is still in flight (nothing printed yet), every crash state loads: none is refused."""
        refused = {name: _check(recording, recording.ops, tmp_path / str(index), floor=recording.floor,
                                apart=True).refused_in_flight
                   for index, (name, recording) in enumerate(failed_recordings.items())}
        assert {name: states for name, states in refused.items() if states} == {}

    def test_dropping_the_fsync_that_takes_a_change_back_is_caught(self, failed_recordings: dict[str, Recording],
                                                                 tmp_path: Path) -> None:
        """The harness has teeth here too: remove the fsync of the void mark or of the cut (the journal's), of the
        "d" mark (the lock file's), or of the settling cut, and some crash state shows the failed change."""
        caught: dict[str, set[str]] = {}
        for number, (name, recording) in enumerate(failed_recordings.items()):
            for index, op in enumerate(recording.ops):
                if op.kind != "fsync" or op.label not in ("tasks.journal", "tasks.lock"):
                    continue
                without = recording.ops[:index] + recording.ops[index + 1:]
                verdict = _check(recording, without, tmp_path / f"{number}-{index}", floor=recording.floor,
                                 apart=True)
                if verdict.bad:
                    caught.setdefault(name, set()).add(op.label)
        expected = {
            "fsync fails once (voided)": {"tasks.journal"},
            "every fsync of the journal fails (in doubt)": {"tasks.lock"},
            "fsync and ftruncate fail (void line left)": {"tasks.journal"},
            "every journal fsync and ftruncate fail (in doubt)": {"tasks.lock"},
            "fsync and pwrite64 fail (cut back)": {"tasks.journal"},
            "fsync, pwrite64 and ftruncate fail (record left whole, in doubt)": {"tasks.lock"},
            SETTLING: {"tasks.journal", "tasks.lock"},
        }
        assert caught == {**expected, **{name: expected[fault] for name, (fault, _) in FAILED_NEW_KINDS.items()}}


def _hex(data: str | bytes) -> str:
    """A string as strace -xx prints it."""
    return "".join(f"\\x{b:02x}" for b in (data.encode() if isinstance(data, str) else data))


class TestTheModelOfFailedCalls:
    """crashsim itself: a failed call changes nothing, and a failed fsync is no durability barrier."""

    @staticmethod
    def _final_states(tmp_path: Path, calls: list[str]) -> tuple[list[crashsim.Op], set[bytes]]:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        (data_dir / "f").write_bytes(b"old")
        before = crashsim.Disk.scan(tmp_path)
        trace = "\n".join([f'openat(AT_FDCWD, "{_hex(str(data_dir / "f"))}", O_RDWR|O_CLOEXEC) = 3', *calls])
        ops = crashsim.parse(trace, tmp_path, before)
        finals = {state.files["f"] for state in crashsim.crash_states(before, ops, data_dir)
                  if state.after == len(ops)}
        return ops, finals

    def test_a_failed_fsync_makes_nothing_durable(self, tmp_path: Path) -> None:
        """A write followed only by a failed fsync may still be lost, whole or in part."""
        _, finals = self._final_states(tmp_path, [f'pwrite64(3, "{_hex(b"-new")}", 4, 3) = 4',
                                                  "fsync(3) = -1 EIO (Input/output error) (INJECTED)"])
        assert finals == {b"old", b"old-n", b"old-new"}

    def test_what_a_failed_fsync_covered_stays_in_doubt_after_a_later_one(self, tmp_path: Path) -> None:
        """Linux drops the dirty state of pages whose writeback failed: a later fsync that succeeds does not make
        the earlier write durable (fsyncgate), though it does make the writes after the failure durable."""
        _, finals = self._final_states(tmp_path, [
            f'pwrite64(3, "{_hex(b"-new")}", 4, 3) = 4', "fsync(3) = -1 EIO (Input/output error) (INJECTED)",
            f'pwrite64(3, "{_hex(b"O")}", 1, 0) = 1', "fsync(3) = 0"])
        assert finals == {b"Old", b"Old-n", b"Old-new"}

    def test_a_failed_write_or_truncate_changes_nothing(self, tmp_path: Path) -> None:
        """strace's injection skips the call itself: the model keeps no trace of it."""
        ops, finals = self._final_states(tmp_path, [
            f'write(3, "{_hex(b"-new")}", 4) = -1 EIO (Input/output error) (INJECTED)',
            "ftruncate(3, 0) = -1 EIO (Input/output error) (INJECTED)", "fsync(3) = 0"])
        assert [op.kind for op in ops] == ["fsync"] and finals == {b"old"}
