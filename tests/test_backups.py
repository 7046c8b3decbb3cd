"""Backups are compressed, stored once per state, verified by a checksum of what was written, and the
backups of taskvault before compression keep working everywhere (listing, doctor, restore, salvage's advice,
rotation)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from taskvault import codec
from taskvault.store.backups import Retention
from taskvault.store.housekeeping import Housekeeping
from taskvault.store.journal_store import JournalStore

from .conftest import Session, run_taskvault, seed_store, store_bytes


def _backups(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "backups").iterdir())


def test_a_compressed_backup_holds_the_snapshot_byte_for_byte(tmp_path: Path) -> None:
    """A compaction writes the snapshot once and backs up those very bytes, compressed: gzip gives them back
    exactly, and so does taskvault, which restores the tasks they hold."""
    data_dir = tmp_path / "data"
    session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0))
    for line in ("add First --tag home", "add Second --priority high", "done 1"):
        assert session.run(line) == 0, session.err.getvalue()
    snapshot = (data_dir / "tasks.json").read_bytes()
    newest = max(_backups(data_dir), key=lambda p: p.name)
    assert newest.name.endswith("-compaction.json.gz")
    assert newest.stat().st_size < len(snapshot)
    assert gzip.decompress(newest.read_bytes()) == snapshot
    if shutil.which("gzip"):
        assert subprocess.run(["gzip", "-dc", str(newest)], capture_output=True, check=True).stdout == snapshot
    (backup,) = [b for b in session.store.backups.list() if b.path == newest]
    assert backup.compressed and session.store.backups.read(backup) == snapshot
    state = session.state()
    session.close()
    (data_dir / "tasks.json").write_bytes(b"{damaged")
    restored = run_taskvault(data_dir, "restore", backup.id, "--yes")
    assert restored.code == 0, restored.err
    after = JournalStore(data_dir).load().snapshot()
    assert after[0] == state[0] and after[1] == state[1]


@pytest.mark.parametrize("damage", ["a byte changed", "cut short", "cut in half", "bytes after its end",
                                    "not gzip at all"])
def test_a_damaged_compressed_backup_is_refused_as_a_plain_one_is(data_dir: Path, damage: str) -> None:
    """restore refuses it in one line and changes nothing; doctor names it and the rm that removes it."""
    seed_store(data_dir)
    assert run_taskvault(data_dir, "backup", "b").code == 0
    (path,) = _backups(data_dir)
    stored = bytearray(path.read_bytes())
    if damage == "a byte changed":
        stored[len(stored) // 2] ^= 0x40
    elif damage == "cut short":
        del stored[-5:]
    elif damage == "cut in half":  # its last four bytes, read as the size field, may say anything
        del stored[len(stored) // 2:]
    elif damage == "bytes after its end":
        stored += b"\n"
    else:
        stored = bytearray(b'{"format":"taskvault"}')
    path.write_bytes(bytes(stored))
    before = store_bytes(data_dir)
    refused = run_taskvault(data_dir, "restore", "b", "--yes")
    assert refused.code == 3 and "is damaged" in refused.err and refused.err.count("\n") == 1, refused.err
    if damage.startswith("cut"):
        assert "cut short" in refused.err, refused.err
    assert store_bytes(data_dir) == before
    doctor = run_taskvault(data_dir, "doctor")
    assert doctor.code == 3 and "is damaged" in doctor.out and f"rm {path}" in doctor.out, doctor.out


def test_two_backups_of_one_state_share_one_file(data_dir: Path) -> None:
    """A second backup of a state already backed up is a second name of the same file: one copy of the data,
    two backups listed, each restorable, and removing one leaves the other whole."""
    seed_store(data_dir)
    assert run_taskvault(data_dir, "backup", "first").code == 0
    assert run_taskvault(data_dir, "backup", "second").code == 0
    first, second = sorted(_backups(data_dir), key=lambda p: p.name.endswith("-second.json.gz"))
    assert first.stat().st_ino == second.stat().st_ino and first.stat().st_nlink == 2
    listed = json.loads(run_taskvault(data_dir, "--json", "backups").out)
    assert sorted(b["kind"] for b in listed) == ["first", "second"]
    stats = json.loads(run_taskvault(data_dir, "--json", "stats").out)
    assert (stats["backup_count"], stats["backup_bytes"]) == (2, first.stat().st_size), "stats counts the file once"
    assert run_taskvault(data_dir, "add", "Later").code == 0
    assert run_taskvault(data_dir, "backup", "third").code == 0, "a new state"
    assert len({p.stat().st_ino for p in _backups(data_dir)}) == 2
    first.unlink()
    assert run_taskvault(data_dir, "restore", "second", "--yes").code == 0
    assert "Later" not in run_taskvault(data_dir, "list", "--all").out


def _plain_backup(data_dir: Path, label: str = "hourly") -> Path:
    """A backup as taskvault wrote them before they were compressed: the snapshot itself, named ``.json``."""
    store = JournalStore(data_dir)
    tasks = store.load()
    store.close()
    path = data_dir / "backups" / f"20200101-000000-r{tasks.revision}-n{len(tasks)}-{label}.json"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history)))
    path.chmod(0o600)
    return path


def test_backups_from_before_compression_list_verify_restore_and_rotate(data_dir: Path) -> None:
    seed_store(data_dir)
    plain = _plain_backup(data_dir)
    state = JournalStore(data_dir).load().snapshot()
    listed = json.loads(run_taskvault(data_dir, "--json", "backups").out)
    assert [(b["id"], b["kind"], b["path"]) for b in listed] == [("20200101-000000", "hourly", str(plain))]
    doctor = run_taskvault(data_dir, "doctor")
    assert "1 of 1 verified" in doctor.out, doctor.out
    # What a damaged store's error advises: the plain backup is the newest good one.
    damaged = data_dir.parent / "damaged"
    shutil.copytree(data_dir, damaged)
    (damaged / "tasks.json").write_bytes(b"{damaged")
    (damaged / "tasks.journal").unlink()
    refused = run_taskvault(damaged, "list")
    assert refused.code == 3 and "run: taskvault restore 20200101-000000)" in refused.err, refused.err
    assert run_taskvault(damaged, "restore", "20200101-000000", "--yes").code == 0
    assert JournalStore(damaged).load().snapshot()[0] == state[0]
    assert run_taskvault(data_dir, "add", "After the backup").code == 0
    restored = run_taskvault(data_dir, "restore", "20200101-000000", "--yes")
    assert restored.code == 0, restored.err
    assert JournalStore(data_dir).load().snapshot()[0] == state[0]
    # Rotation removes plain automatic backups as it does compressed ones.
    store = JournalStore(data_dir, retention=Retention(last=1, daily=0, weekly=0))
    assert plain in [b.path for b in store.backups.list()]
    removed = store.rotate_backups()
    kept = store.backups.list()
    store.close()
    assert plain in [b.path for b in removed] and not plain.exists() and len(kept) == 1



def test_an_upgrade_tried_again_reuses_the_backup_its_failed_attempt_took(tmp_path: Path) -> None:
    """On a full disk an upgrade fails after its backup, and every command tries it again: each retry finds
    the backup of that same state and takes no second name for it (the outside review counted six)."""
    import datetime as dt

    from taskvault.store.backups import BackupShelf

    (tmp_path / "data").mkdir(mode=0o700)
    clock = iter(dt.datetime(2026, 12, 5, 10, minute, tzinfo=dt.UTC) for minute in range(10))
    shelf = BackupShelf(tmp_path / "data", lambda: next(clock))
    old = codec.encode_snapshot_v1((), 1, 0)
    first = shelf.take(old, revision=0, task_count=0, label="migration", compress=False)
    again = shelf.take(old, revision=0, task_count=0, label="migration", compress=False)
    assert again.id == first.id and len(_backups(tmp_path / "data")) == 1
    hourly = shelf.take(old, revision=0, task_count=0, label="hourly")
    assert hourly.id != first.id and len(_backups(tmp_path / "data")) == 2, "another kind still gets its own name"


def test_a_file_named_as_a_backup_of_a_time_that_never_was_is_not_a_backup(data_dir: Path) -> None:
    """Backups are listed by reading their names (not by strptime, which every change would pay ~3 ms to
    import): a name of the form with no such time (month 13, hour 24) is one taskvault never wrote, and is
    left alone as other files there are: every command works, and it is never listed, restored or rotated."""
    seed_store(data_dir)
    assert run_taskvault(data_dir, "backup", "real").code == 0
    (real,) = _backups(data_dir)
    for impossible in ("20261399-000000", "20261206-240000", "20260230-120000"):
        shutil.copy(real, real.with_name(real.name.replace(real.name[:15], impossible)))
    assert run_taskvault(data_dir, "add", "After").code == 0
    listed = json.loads(run_taskvault(data_dir, "--json", "backups").out)
    assert [b["id"] for b in listed] == [real.name[:15]]
    assert run_taskvault(data_dir, "restore", "latest", "--yes").code == 0
    assert len(_backups(data_dir)) >= 4, "the three other files are where they were"


def test_a_staged_backup_a_killed_session_left_is_removed_by_the_next_change(data_dir: Path) -> None:
    """A session killed while its compaction staged a backup leaves `backups/.staged.json.gz.tmp-PID-…`: the next
    process that saves removes it once that process is gone, and leaves a live session's staging alone."""
    seed_store(data_dir)
    assert run_taskvault(data_dir, "backup", "b").code == 0
    ended = subprocess.Popen(["true"])  # a process id that ran and ended
    ended.wait()
    backups = data_dir / "backups"
    dead = backups / f".staged.json.gz.tmp-{ended.pid}-0badf00d"
    alive = backups / f".staged.json.gz.tmp-{os.getpid()}-0badf00d"  # this test's own process runs
    for path in (dead, alive):
        path.write_bytes(b"\x1f\x8b half a backup")
    assert run_taskvault(data_dir, "add", "after the kill").code == 0
    assert not dead.exists(), "the dead session's staging was removed"
    assert alive.exists(), "a live session's staging is left alone"
    doctor = run_taskvault(data_dir, "doctor")
    assert dead.name not in doctor.out and alive.name in doctor.out, doctor.out
