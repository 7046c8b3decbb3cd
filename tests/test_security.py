"""Hygiene and security: links are not followed, no descriptor leaks, unreadable files as a real user."""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from taskvault.errors import StoreUnsafe
from taskvault.store import files
from taskvault.store.backups import Retention
from taskvault.store.journal_store import JournalStore

from .conftest import (
    FIGURES,
    FaultyOs,
    Session,
    require_tool,
    run_taskvault,
    seed_store,
    store_digest,
    taskvault_compacting_at,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

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
                # Each fails once: a failing fsync every time would leave each save in doubt, and the session
                # saves nothing more after the first (tested in test_rollback).
                patch.setattr(files, "os", FaultyOs(step, errno.EIO, fail_at=position, times=1))
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
               "TASKVAULT_RESIDENT": "off",
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


def _store_with_backups(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    seed_store(data_dir)
    assert run_taskvault(data_dir, "backup", "first").code == 0
    return data_dir


def _linked_backups(tmp_path: Path) -> tuple[Path, Path]:
    """backups/ replaced by a link to a directory outside the data directory, holding the backups."""
    data_dir = _store_with_backups(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    os.rename(data_dir / "backups", elsewhere)
    (data_dir / "backups").symlink_to(elsewhere)
    # An automatic backup there too, which a rotation keeping only the newest would remove.
    (elsewhere / "20200101-000000-r1-n3-hourly.json").write_bytes(next(elsewhere.iterdir()).read_bytes())
    return data_dir, elsewhere


class TestBackupsDirectory:
    """backups/ must pass the directory rule, and nothing outside the data directory is ever written or removed."""

    @pytest.mark.parametrize("command", [["backup"], ["backups"], ["restore", "first", "--yes"], ["doctor"]])
    def test_a_linked_backups_directory_is_refused(self, tmp_path: Path, command: list[str]) -> None:
        """One line naming the link and the command that moves it aside; the link's target untouched."""
        data_dir, elsewhere = _linked_backups(tmp_path)
        before, store = _tree(elsewhere), store_digest(data_dir)
        result = run_taskvault(data_dir, *command, timeout=20)
        assert result.code == 3 and "Traceback" not in result.err
        said = result.out if command == ["doctor"] else result.err
        assert f"the backups directory {data_dir / 'backups'} is a symbolic link" in said
        assert f"mv {data_dir / 'backups'} " in said
        if command != ["doctor"]:
            assert result.err.count("\n") == 1
        assert _tree(elsewhere) == before and store_digest(data_dir) == store

    def test_compaction_writes_no_backup_through_a_link(self, tmp_path: Path) -> None:
        """The change is saved (in the journal) and a warning says why the compaction did not happen."""
        data_dir, elsewhere = _linked_backups(tmp_path)
        before = _tree(elsewhere)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
        proc = subprocess.run([*taskvault_compacting_at(0), "add", "Later"], capture_output=True, text=True,
                              timeout=20, env={**env, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"},
                              check=False)
        assert proc.returncode == 0 and "Added task 4" in proc.stdout
        assert "could not compact" in proc.stderr and "is a symbolic link" in proc.stderr
        assert _tree(elsewhere) == before
        assert "Later" in [t.title for t in Session(data_dir).service.tasks]

    def test_rotation_removes_nothing_through_a_link(self, tmp_path: Path) -> None:
        data_dir, elsewhere = _linked_backups(tmp_path)
        before = _tree(elsewhere)
        with pytest.raises(StoreUnsafe):
            JournalStore(data_dir, retention=Retention(last=1, daily=0, weekly=0)).rotate_backups()
        assert _tree(elsewhere) == before

    def test_a_link_swapped_in_after_the_check_is_not_followed(self, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
        """backups/ replaced by a link between the check and the write: the backup goes where it was checked."""
        data_dir = _store_with_backups(tmp_path)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        replace = files.atomic_replace

        def swap_then_replace(target: Path, data: bytes, **kwargs: object) -> None:
            os.rename(data_dir / "backups", data_dir / "backups.moved")
            (data_dir / "backups").symlink_to(elsewhere)
            replace(target, data, **kwargs)  # type: ignore[arg-type]

        session = Session(data_dir)
        assert session.run("add Fourth") == 0  # a state no backup holds yet: the backup is written, not linked
        monkeypatch.setattr(files, "atomic_replace", swap_then_replace)
        assert session.run("backup second") == 0
        assert list(elsewhere.iterdir()) == []
        assert len(list((data_dir / "backups.moved").glob("*-second.json.gz"))) == 1

    def test_backup_names_that_are_links_or_pipes_are_never_used(self, tmp_path: Path) -> None:
        """Listed, restored, rotated, checked: none of them, and the file a link points at is untouched."""
        data_dir = _store_with_backups(tmp_path)
        victim = _victim(tmp_path)
        victim_before = (victim.read_bytes(), victim.stat().st_mtime_ns)
        (data_dir / "backups" / "20200101-000000-r1-n1-hourly.json").symlink_to(victim)
        os.mkfifo(data_dir / "backups" / "20200102-000000-r1-n1-hourly.json")
        listed = json.loads(run_taskvault(data_dir, "--json", "backups", timeout=20).out)
        assert [b["kind"] for b in listed] == ["first"]
        assert run_taskvault(data_dir, "restore", "20200101-000000", "--yes", timeout=20).code == 1
        assert run_taskvault(data_dir, "doctor", timeout=20).code == 0
        JournalStore(data_dir, retention=Retention(last=1, daily=0, weekly=0)).rotate_backups()
        assert (data_dir / "backups" / "20200101-000000-r1-n1-hourly.json").is_symlink()
        assert (victim.read_bytes(), victim.stat().st_mtime_ns) == victim_before

    @pytest.mark.parametrize(("how", "said", "fix"), [
        ("group-writable", "is writable by its group (mode 770)", "chmod go-w"),
        ("another user's", "belongs to another user (uid 65534)", "mv "),
        ("a named pipe", "is not a directory (it is a named pipe (FIFO))", "mv "),
    ])
    def test_backups_directory_breaking_the_rule_is_refused(self, tmp_path: Path, how: str, said: str,
                                                            fix: str) -> None:
        data_dir = _store_with_backups(tmp_path)
        backups = data_dir / "backups"
        if how == "group-writable":
            backups.chmod(0o770)
        elif how == "another user's":
            os.chown(backups, NOBODY, NOBODY)
        else:
            shutil.rmtree(backups)
            os.mkfifo(backups)
        before = _tree(data_dir)
        for command in (["backup"], ["backups"]):
            result = run_taskvault(data_dir, *command, timeout=20)
            assert result.code == 3 and result.err.count("\n") == 1, result
            assert f"the backups directory {backups} {said}" in result.err and fix in result.err
        assert _tree(data_dir) == before


class TestBackupNames:
    def test_a_name_ending_in_a_newline_is_refused(self, tmp_path: Path) -> None:
        """``$`` matched before a final newline: such a backup was written, then never listed."""
        data_dir = tmp_path / "data"
        seed_store(data_dir)
        result = run_taskvault(data_dir, "backup", "mine\n", timeout=20)
        assert result.code == 1 and "cannot name a backup" in result.err
        assert not (data_dir / "backups").exists()


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


class TestStateFiles:
    """The crash log and the command history: private directories, regular files, never a link or a pipe."""

    def _run(self, tmp_path: Path, code: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state" / "deep")}
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=20,
                              preexec_fn=lambda: os.umask(umask))

    CRASH = "from taskvault.cli.crash import report_crash; print(report_crash(ValueError('boom')))"
    HISTORY = ("from pathlib import Path; from taskvault.cli.repl import history_path, open_history; "
               "history, problem = open_history(history_path()); print(type(history).__name__, problem)")

    def test_directories_made_private_under_umask_000(self, tmp_path: Path) -> None:
        for code in (self.CRASH, self.HISTORY):
            assert self._run(tmp_path, code, umask=0).returncode == 0
        for directory in ("state", "state/deep", "state/deep/taskvault"):
            assert stat.S_IMODE((tmp_path / directory).stat().st_mode) == 0o700, directory
        for name in ("crash.log", "history"):
            assert stat.S_IMODE((tmp_path / "state/deep/taskvault" / name).stat().st_mode) == 0o600

    @pytest.mark.parametrize("entry", ["pipe", "link"])
    def test_crash_log_never_waits_or_follows(self, tmp_path: Path, entry: str) -> None:
        directory = tmp_path / "state" / "deep" / "taskvault"
        directory.mkdir(parents=True, mode=0o700)
        victim = _victim(tmp_path)
        if entry == "pipe":
            os.mkfifo(directory / "crash.log")
        else:
            (directory / "crash.log").symlink_to(victim)
        result = self._run(tmp_path, self.CRASH)
        assert result.returncode == 0 and "the details could not be logged" in result.stdout
        assert victim.read_text() == "someone else's data\n"

    @pytest.mark.parametrize(("entry", "said"), [("pipe", "a named pipe (FIFO), not a regular file"),
                                                 ("link", "it is a symbolic link"),
                                                 ("group-writable directory", "chmod go-w")])
    def test_history_never_waits_or_follows(self, tmp_path: Path, entry: str, said: str) -> None:
        """The session goes on with a history kept in memory, and says why."""
        directory = tmp_path / "state" / "deep" / "taskvault"
        directory.mkdir(parents=True, mode=0o700)
        victim = _victim(tmp_path)
        if entry == "pipe":
            os.mkfifo(directory / "history")
        elif entry == "link":
            (directory / "history").symlink_to(victim)
        else:
            directory.chmod(0o770)
        result = self._run(tmp_path, self.HISTORY)
        assert result.returncode == 0 and result.stdout.startswith("InMemoryHistory history will not be kept: ")
        assert said in result.stdout
        assert victim.read_text() == "someone else's data\n"
