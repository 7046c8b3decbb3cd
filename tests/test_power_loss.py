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
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from taskvault import codec
from taskvault.errors import InvalidValue, StorageError
from taskvault.store import lock
from taskvault.store.journal_store import JournalStore

from . import crashsim
from .conftest import FIGURES, TASKVAULT, Session, require_tool, seed_store, taskvault_compacting_at

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
    "add after a crash (torn line, temp file)": ("crashed", ["add", "After"]),
    "undo of a bulk delete": ("bulk-deleted", ["undo"]),
    "restore (backup first)": ("backed-up", ["restore", "latest"]),
    "add to a schema 1 store (migration)": ("v1", ["add", "New"]),
}


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
    """What the real loader makes of a directory after a power loss: the store's state, or why it refused."""
    try:
        with _after_reboot():
            return JournalStore(directory).load().snapshot()
    except StorageError as exc:
        return f"refused: {exc.message}"


def _prepare(directory: Path, how: str) -> None:
    if how == "none":
        return
    if how == "v1":
        shutil.copytree(Path(__file__).parent / "fixtures" / "v1" / "compacted", directory)
        directory.chmod(0o700)
        return
    seed_store(directory)
    if how == "bulk-deleted":
        seed_store(directory, ("delete 1 2 3 --yes",))
    if how == "backed-up":
        seed_store(directory, ("backup", "delete 1 --yes"))
    if how == "crashed":
        with (directory / "tasks.journal").open("ab") as journal:
            journal.write(b"1234abcd {\"rev\":5,\"half a rec")
        (directory / ".tasks.json.tmp-4242-0badf00d").write_bytes(b"{\"half\":")


@attrs.frozen
class Recording:
    kind: str
    data_dir: Path
    before: crashsim.Disk
    ops: list[crashsim.Op]
    old: Any
    new: Any


def _record(tmp: Path, kind: str) -> Recording:
    how, args = KINDS[kind]
    root = tmp / "root"
    root.mkdir(mode=0o700)
    data_dir = root / "data"
    _prepare(data_dir, how)
    before = crashsim.Disk.scan(root)
    old = _load(data_dir)
    program = taskvault_compacting_at(0) if "compaction" in kind else TASKVAULT
    trace = tmp / "trace"
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
    proc = subprocess.run([require_tool("strace"), "-qq", "-xx", "-s", "1000000", "-o", str(trace),
                           "-e", f"trace={crashsim.TRACED}", *program, *args],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ops = crashsim.parse(trace.read_text(), root, before)
    after = crashsim.Disk.scan(root)
    assert crashsim.final_disk(before, ops).files_under(data_dir) == after.files_under(data_dir), \
        "the recording does not explain the files the run left"
    assert sum(op.kind == "ack" for op in ops) == 1
    return Recording(kind, data_dir, before, ops, old, _load(data_dir))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    return {kind: _record(tmp_path_factory.mktemp("record"), kind) for kind in KINDS}


@attrs.frozen
class Verdict:
    states: int  # crash states enumerated
    distinct: int  # of which different on disk
    bad: list[str]  # what went wrong, one line each


def _check(recording: Recording, ops: list[crashsim.Op], scratch: Path, *, next_writer: bool = False) -> Verdict:
    """Run the loader on every crash state of ``ops``; list each one that is neither old nor new."""
    seen: dict[tuple[Any, ...], Any] = {}
    bad: list[str] = []
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
            if next_writer and any(_same_store(seen[key][0], one, recording.new)
                                   for one in (recording.old, recording.new)):
                _next_writer_works(directory)
        loaded = seen[key][0]
        allowed = [recording.new] if state.acknowledged else [recording.old, recording.new]
        when = f"power lost after call {state.after}{' (acknowledged)' if state.acknowledged else ''}"
        if not any(_same_store(loaded, one, recording.new) for one in allowed):
            what = loaded if isinstance(loaded, str) else f"a store at revision {loaded[2]}"
            bad.append(f"{when}: {what}; files {sorted(state.files)}")
        bad += [f"{when}: {problem}" for problem in _backup_problems(recording, state)]
    return Verdict(states, len(seen), bad)


def _same_store(loaded: Any, expected: Any, new: Any) -> bool:
    """``loaded`` is the ``expected`` store; its next id may be higher, up to the new one's, when an unfinished
    record named the ids it would have used (they are never handed out)."""
    if isinstance(loaded, str) or isinstance(expected, str) or isinstance(new, str):
        return loaded == expected
    (tasks, next_id, revision), (want_tasks, want_next, want_revision) = loaded, expected
    return (tasks, revision) == (want_tasks, want_revision) and want_next <= next_id <= max(want_next, new[1])


def _backup_problems(recording: Recording, state: crashsim.CrashState) -> list[str]:
    """Every backup a crash leaves must decode in full, and a compaction may replace the snapshot only
    once its backup is durable."""
    problems = []
    for name, data in state.backups.items():
        if ".tmp-" in name:
            continue
        try:
            codec.decode_snapshot(data)
        except (codec.FormatError, InvalidValue) as exc:
            problems.append(f"the backup {name} does not decode: {exc}")
    old_snapshot = recording.before.files_under(recording.data_dir).get("tasks.json")
    compacted = old_snapshot is not None and state.files.get("tasks.json", old_snapshot) != old_snapshot
    if compacted and not any(name.endswith(("-compaction.json", "-migration.json")) for name in state.backups):
        problems.append("the snapshot was replaced, but the backup taken before it is gone")
    restored = b'"cmd":"restore ' in state.files.get("tasks.journal", b"")
    if restored and not any(name.endswith("-restore.json") for name in state.backups):
        problems.append("the restore was saved, but the backup of the store before it is gone")
    return problems


def _next_writer_works(directory: Path) -> None:
    """After the crash, the next change is saved and tidies what the crash left (torn line, temp files)."""
    with _after_reboot():
        session = Session(directory)
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
        verdict = _check(recording, recording.ops, tmp_path, next_writer=True)
        assert verdict.bad == []
        fsyncs = sum(op.kind in ("fsync", "fsyncdir") for op in recording.ops)
        FIGURES[f"power-loss crash states: {kind}"] = (f"{verdict.states} states ({verdict.distinct} distinct) "
                                                      f"over {len(recording.ops)} calls, {fsyncs} fsyncs; 0 bad")


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
