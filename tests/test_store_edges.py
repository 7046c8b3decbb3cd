"""Store states the outside review found wanting: a snapshot put back, read-only media, a read that fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TASKVAULT, Session, require_tool, run_taskvault, seed_store, tmpfs


class TestASnapshotPutBack:
    def test_a_snapshot_newer_than_the_journal_takes_a_change_that_loads(self, data_dir: Path,
                                                                          tmp_path: Path) -> None:
        """tasks.json copied back from a later state than the journal's last record: it loads, an add is saved,
        and the next load has it (before the fix the next load was refused: record N follows record M)."""
        seed_store(data_dir)
        early_journal = (data_dir / "tasks.journal").read_bytes()
        assert run_taskvault(data_dir, "add", "Later").code == 0
        session = Session(data_dir)
        with session.store.locked():
            session.store.catch_up(session.service.tasks)
            session.store.compact(session.service.tasks)
        session.close()
        shutil.copy(data_dir / "tasks.json", tmp_path / "later.json")
        (data_dir / "tasks.journal").write_bytes(early_journal)  # an older journal beside a newer snapshot
        before = run_taskvault(data_dir, "list", "--all")
        assert before.code == 0 and "Later" in before.out
        assert run_taskvault(data_dir, "add", "After").code == 0
        after = run_taskvault(data_dir, "list", "--all")
        assert after.code == 0, after.err
        assert "Later" in after.out and "After" in after.out


class TestReadOnlyMedia:
    @pytest.fixture
    def read_only(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        with tmpfs(tmp_path / "mnt", "4M") as mount:
            yield mount

    @pytest.mark.parametrize("lock_file", [True, False])
    def test_reading_works_in_every_mode_and_a_change_says_read_only(self, read_only: Path,
                                                                       lock_file: bool) -> None:
        """On a file system remounted read-only, list works one-shot, from stdin and --script; a change is one line
        saying the store is read-only (exit 3); with or without a lock file."""
        data = read_only / "data"
        seed_store(data)
        (read_only / "script").write_text("list\nshow 1\n")
        if not lock_file:
            (data / "tasks.lock").unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(read_only)], check=True)
        assert run_taskvault(data, "list").code == 0
        assert run_taskvault(data, stdin="list\nshow 1\n").code == 0
        scripted = run_taskvault(data, "--script", str(read_only / "script"))
        assert scripted.code == 0, scripted.err
        change = run_taskvault(data, "add", "Nope")
        assert change.code == 3 and change.err.count("\n") == 1, change.err
        assert "read-only file system" in change.err

    def test_a_session_reads_after_the_disk_turned_read_only(self, read_only: Path) -> None:
        """A session open when the disk goes read-only keeps listing; its next change fails with one line."""
        data = read_only / "data"
        seed_store(data)
        session = Session(data)
        assert session.run("list") == 0
        assert run_taskvault(data, "add", "From elsewhere").code == 0  # so the session's next read catches up
        subprocess.run(["mount", "-o", "remount,ro", str(read_only)], check=True)
        assert session.run("list") == 0, session.err.getvalue()
        assert "From elsewhere" in session.out.getvalue()
        assert session.run("add Nope") == 3
        session.close()


class TestAReadThatFails:
    def test_an_io_error_while_catching_up_is_a_storage_error(self, data_dir: Path) -> None:
        """pread of the journal fails with EIO during an add: exit 3 with one line, not an internal error (70)."""
        seed_store(data_dir)
        proc = subprocess.run([require_tool("strace"), "-f", "-qq", "-o", "/dev/null", "-P",
                               str(data_dir / "tasks.journal"), "-e", "trace=pread64",
                               "-e", "inject=pread64:error=EIO", *TASKVAULT, "add", "X"],
                              env={"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "PATH": "/usr/bin:/bin",
                                   "TASKVAULT_RESIDENT": "off"},
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3 and proc.stderr.count("\n") == 1, proc.stderr
        assert "Input/output error" in proc.stderr and "internal error" not in proc.stderr
