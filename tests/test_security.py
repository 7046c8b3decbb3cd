"""Hygiene and security: links are not followed, no descriptor leaks, unreadable files as a real user."""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from taskvault.store import files

from .conftest import FIGURES, FaultyOs, Session, require_tool, run_taskvault, seed_store, store_digest

NOBODY = 65534


def _victim(tmp_path: Path) -> Path:
    """A file of another user's, which a link in the data directory points at."""
    victim = tmp_path / "victim"
    victim.write_text("someone else's data\n")
    os.chown(victim, NOBODY, NOBODY)
    return victim


class TestLinksAreNotFollowed:
    @pytest.mark.parametrize("name", ["tasks.json", "tasks.journal", "tasks.lock"])
    def test_a_store_file_linked_to_another_users_file(self, tmp_path: Path, name: str) -> None:
        """Each store file replaced by a link: refused, and the file it points at is not touched."""
        data_dir = tmp_path / "data"
        assert run_taskvault(data_dir, "add", "Mine").code == 0
        victim = _victim(tmp_path)
        (data_dir / name).unlink()
        (data_dir / name).symlink_to(victim)
        before, victim_before = store_digest(data_dir), (victim.read_bytes(), victim.stat().st_mtime_ns)
        for command in (["add", "x"], ["done", "1"], ["list"]):
            result = run_taskvault(data_dir, *command)
            assert result.code == 3 or (command == ["list"] and name == "tasks.lock"), (name, command, result)
            assert "Traceback" not in result.err
        assert (victim.read_bytes(), victim.stat().st_mtime_ns) == victim_before
        assert store_digest(data_dir) == before and (data_dir / name).is_symlink()

    def test_a_linked_data_directory_of_another_user_is_refused(self, tmp_path: Path) -> None:
        """--data-dir pointing (through a link) at a directory someone else owns is refused untouched."""
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, NOBODY, NOBODY)
        link = tmp_path / "mine"
        link.symlink_to(theirs)
        result = run_taskvault(link, "add", "x")
        assert result.code == 3 and "belongs to another user" in result.err
        assert list(theirs.iterdir()) == []


def _open_files() -> list[str]:
    """What each open descriptor of this process names, after collecting garbage from earlier tests."""
    gc.collect()
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            names.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the descriptor listdir itself used
            pass
    return sorted(names)


class TestNoLeaks:
    def test_open_files_unchanged_after_1000_failing_saves(self, data_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        """Saves failing at every step, 1,000 times in one session: not one descriptor is left open."""
        session = Session(data_dir)
        assert session.run("add First") == 0
        steps = [("fsync", 1), ("write", 1), ("lseek", 1)]
        fds_before = _open_files()
        failed = 0
        for n in range(1000):
            step, position = steps[n % len(steps)]
            with monkeypatch.context() as patch:
                patch.setattr(files, "os", FaultyOs(step, errno.EIO, fail_at=position, times=-1))
                code = session.run(f"add Attempt {n}")
            failed += code == 3
        after = _open_files()
        assert [f for f in after if str(data_dir) in f] == [f for f in fds_before if str(data_dir) in f]
        assert len(after) <= len(fds_before), "descriptors leaked"
        assert session.run("add Last") == 0
        assert failed == 1000
        assert [t.title for t in Session(data_dir).service.tasks] == ["First", "Last"]
        FIGURES["descriptor leak check"] = f"{failed} failing saves in one session, open descriptors unchanged"


class TestAsAnotherUser:
    """The tests run as root, who reads any file; these run the program as an ordinary user (nobody)."""

    def _as_nobody(self, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1",
               "HOME": str(data_dir.parent)}
        return subprocess.run([require_tool("setpriv"), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                               sys.executable, "-m", "taskvault", *args], env=env, capture_output=True, text=True,
                              timeout=60)

    def test_an_unreadable_store_is_refused(self) -> None:
        """chmod 000 on tasks.json, run as its owner: permission denied, exit 3, nothing changed."""
        home = Path(tempfile.mkdtemp(prefix="taskvault-nobody-"))  # not under root's private pytest directory
        try:
            home.chmod(0o755)
            os.chown(home, NOBODY, NOBODY)
            data_dir = home / "data"
            if self._as_nobody(data_dir, "--version").returncode != 0:
                pytest.skip("an ordinary user cannot run this interpreter here (its directories are private)")
            assert self._as_nobody(data_dir, "add", "Mine").returncode == 0
            (data_dir / "tasks.json").chmod(0)
            before = store_digest(data_dir)
            for command in (["list"], ["add", "x"]):
                result = self._as_nobody(data_dir, *command)
                assert result.returncode == 3 and "permission denied" in result.stderr, result.stderr
                assert result.stderr.count("\n") == 1 and "chmod 600" in result.stderr
            assert store_digest(data_dir) == before
            FIGURES["unreadable store, as an ordinary user"] = "refused with exit 3, bytes and mtime unchanged"
        finally:
            shutil.rmtree(home, ignore_errors=True)


def _tree(root: Path) -> dict[str, tuple[object, ...]]:
    from .test_bad_stores import _tree as tree

    return tree(root)


class TestOneDirectoryRule:
    """The store and doctor apply the same rule to the data directory, with the exact fix."""

    @pytest.mark.parametrize(("mode", "who"), [(0o770, "its group"), (0o707, "other users"), (0o777, "other users")])
    def test_writable_by_others_is_refused_by_both(self, tmp_path: Path, mode: int, who: str) -> None:
        data_dir = tmp_path / "data"
        seed_store(data_dir)
        data_dir.chmod(mode)
        before = _tree(tmp_path)
        refused = run_taskvault(data_dir, "add", "x", timeout=20)
        said = f"the data directory {data_dir} is writable by {who} (mode {mode:o})"
        assert refused.code == 3 and refused.err == f"error: {said} (run: chmod go-w {data_dir})\n"
        doctor = json.loads(run_taskvault(data_dir, "--json", "doctor", timeout=20).out)
        assert doctor["findings"][0] == {"level": "problem", "subject": "directory", "text": said,
                                         "fix": f"run: chmod go-w {data_dir}"}
        assert _tree(tmp_path) == before

    def test_a_data_directory_given_through_a_link_is_used(self, tmp_path: Path) -> None:
        """The path the user gives is followed (~/.local/share/taskvault -> /data/tasks); doctor says so."""
        real = tmp_path / "real"
        real.mkdir(mode=0o700)
        link = tmp_path / "link"
        link.symlink_to(real)
        assert run_taskvault(link, "add", "x").code == 0 and (real / "tasks.journal").is_file()
        doctor = run_taskvault(link, "doctor")
        assert f"ok       directory: {link} (mode 700), a link to {real}" in doctor.out
