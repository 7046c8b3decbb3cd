"""The installed program, run as a user runs it: one process per command, real files."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import portalocker
import pytest

from .conftest import TASKVAULT, run_taskvault, store_digest


class TestRestart:
    """What one process saved, the next one sees."""

    def test_every_kind_of_change_survives_a_restart(self, tv, data_dir: Path) -> None:
        """Each command runs in a new process; the final listing reflects all of them."""
        assert tv("add", "Buy milk", "--priority", "high", "--due", "2026-12-01", "--tag", "home",
                  "--note", "oat, 2 l").code == 0
        assert tv("add", "Call", "mum").code == 0
        assert tv("add", "Write report", "--tag", "work").code == 0
        assert tv("edit", "1", "--title", "Buy oat milk", "--priority", "low", "--no-due",
                  "--tag", "+errand", "--tag", "-home").code == 0
        assert tv("done", "1", "3").code == 0
        assert tv("reopen", "3").code == 0
        assert tv("delete", "2").code == 0
        tasks = json.loads(tv("--json", "list", "--all").out)
        assert [(t["id"], t["title"], t["status"], t["priority"], t["due"], t["tags"]) for t in tasks] == [
            (1, "Buy oat milk", "done", "low", None, ["errand"]),
            (3, "Write report", "open", None, None, ["work"]),
        ]
        assert tasks[0]["note"] == "oat, 2 l" and tasks[0]["completed"] is not None

    def test_ids_are_never_reused(self, tv) -> None:
        """Deleting the newest task does not free its id, across restarts."""
        tv("add", "one"), tv("add", "two")
        assert tv("delete", "2").code == 0
        assert tv("add", "three").out == "Added task 3: three\n"


class TestExitCodes:
    """Each documented exit code, with a one-line message and no traceback."""

    @pytest.mark.parametrize(("args", "code", "words"), [
        (["add", "x"], 0, "Added task 1"),
        (["show", "99"], 1, "no task with id 99"),
        (["done", "1", "99"], 1, "no task with id 99"),
        (["add", "x", "--priority", "urgent"], 1, "not a priority"),
        (["add", "x", "--due", "soon"], 1, "not a date"),
        (["show", "-3"], 1, "not a task id"),
        (["show", "99999999999999999999999"], 1, "not a task id"),
        (["history", "--limit", "\u00b2"], 1, "is not a number of changes"),
        (["undo", "\u0663"], 1, "is not a number of steps"),
        (["redo", "9" * 5000], 1, "is not a number of steps"),
        (["add", " "], 1, "needs a title"),
        (["add", "x" * 501], 1, "the most is 500"),
        (["edit", "1"], 1, "nothing to change"),
        (["frobnicate"], 2, "unknown command"),
        (["list", "--colour"], 2, "unknown option --colour"),
        (["add"], 2, "add needs TITLE"),
        (["show", "1", "2"], 2, "unexpected argument"),
        (["edit", "1", "--due", "2030-01-01", "--no-due"], 2, "cannot be used together"),
        (["--bogus"], 2, "unknown option"),
        (["--script", "/nonexistent/file"], 2, "cannot read the script"),
    ])
    def test_code_and_message(self, tv, args: list[str], code: int, words: str) -> None:
        """The exit code and message a user sees for each kind of outcome."""
        if args[0] in ("edit", "show", "done") and code == 1:
            tv("add", "existing")
        result = tv(*args)
        assert result.code == code, result
        assert words in (result.out + result.err)
        assert "Traceback" not in result.err
        if code:
            assert result.err.count("\n") == 1 and result.err.startswith("error: ")

    def test_storage_error_is_3(self, tv, data_dir: Path) -> None:
        """A store that cannot be read exits 3."""
        data_dir.mkdir(mode=0o700)
        (data_dir / "tasks.json").write_text("{")
        assert tv("list").code == 3

    def test_bad_environment(self, tv) -> None:
        """A malformed setting in the environment is a usage error naming the variable."""
        result = tv("list", env={"TASKVAULT_LOCK_TIMEOUT": "soon"})
        assert result.code == 2 and "TASKVAULT_LOCK_TIMEOUT" in result.err
        result = tv("list", env={"TASKVAULT_DATA_DIR": ""})
        assert result.code == 2 and "TASKVAULT_DATA_DIR is set but empty" in result.err
        for keep in ("last=\u00b2", "daily=" + "9" * 5000, "weekly=\u0661"):  # int() would refuse what isdigit() took
            result = tv("list", env={"TASKVAULT_BACKUP_KEEP": keep})
            assert result.code == 2 and result.err.startswith("error: TASKVAULT_BACKUP_KEEP must look like"), result

    def test_version_and_help(self, tv) -> None:
        """--version, help, help CMD and CMD --help all work without a store."""
        assert tv("--version").out.startswith("taskvault ")
        assert "Commands:" in tv("help").out and "Commands:" in tv("--help").out
        assert tv("help", "edit").out == tv("edit", "--help").out
        assert "--no-due" in tv("help", "edit").out


class TestScriptMode:
    """Commands on standard input or in a file, one per line."""

    def test_stdin_lines_run_in_order(self, tv) -> None:
        """Blank lines and comments are skipped; each command prints as it is saved."""
        result = tv(stdin="add A\n\n# a comment\nadd 'B with spaces' --tag x\ndone 1\nlist --all\n")
        assert result.code == 0, result
        assert result.out.startswith("Added task 1: A\nAdded task 2: B with spaces\nCompleted task 1: A\n")

    def test_first_failure_stops_with_its_line_number(self, tv) -> None:
        """The failing line's code is the exit code and later lines do not run."""
        result = tv(stdin="add A\nshow 7\nadd B\n")
        assert result.code == 1 and result.err.startswith("line 2: error: no task with id 7")
        assert "Added task 2" not in result.out

    def test_keep_going(self, tv) -> None:
        """--keep-going runs every line and exits with the first failure's code."""
        result = tv("--keep-going", stdin="add A\nfrob\nshow 9\nadd B\n")
        assert result.code == 2 and "Added task 2: B" in result.out
        assert "line 2:" in result.err and "line 3:" in result.err

    def test_script_file_and_json(self, tv, tmp_path: Path) -> None:
        """--script FILE with --json: one JSON document per command, errors included."""
        script = tmp_path / "tasks.tv"
        script.write_text("add A --tag t\nshow 5\nlist\n")
        result = tv("--json", "--keep-going", "--script", str(script))
        lines = [json.loads(line) for line in result.out.splitlines()]
        assert lines[0]["title"] == "A" and lines[0]["tags"] == ["t"]
        assert lines[1] == {"error": "not_found", "message": "no task with id 5",
                            "hint": lines[1]["hint"], "code": 1, "line": 2}
        assert [t["id"] for t in lines[2]] == [1]
        assert result.code == 1

    def test_script_from_a_pipe_or_named_pipe(self, tv, tmp_path: Path) -> None:
        """A pipe named with --script (as bash's <(…) names one) is read; a named pipe is waited on, as cat would."""
        read, write = os.pipe()
        os.write(write, b"add From a pipe\n")
        os.close(write)
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(tmp_path / "data")}
        proc = subprocess.run([*TASKVAULT, "--script", f"/dev/fd/{read}"], pass_fds=[read], env=env,
                              capture_output=True, text=True, timeout=20)
        os.close(read)
        assert proc.returncode == 0 and proc.stdout == "Added task 1: From a pipe\n", proc
        fifo = tmp_path / "commands"
        os.mkfifo(fifo)
        writer = threading.Thread(target=fifo.write_text, args=("add From a named pipe\n",))
        writer.start()  # blocks until taskvault opens the pipe to read
        try:
            assert tv("--script", str(fifo), timeout=20).out == "Added task 2: From a named pipe\n"
        finally:
            writer.join(timeout=20)

    def test_script_that_never_ends_or_is_no_file_is_refused(self, tv, tmp_path: Path) -> None:
        """/dev/zero would be read for ever, a directory cannot be read: exit 2 at once; /dev/null is empty."""
        def limited() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # were /dev/zero read, fail, not swap

        for path, what in (("/dev/zero", "a character device"), (str(tmp_path), "a directory")):
            env = {**os.environ, "TASKVAULT_DATA_DIR": str(tmp_path / "data")}
            proc = subprocess.run([*TASKVAULT, "--script", path], env=env, capture_output=True, text=True,
                                  timeout=20, preexec_fn=limited)
            assert proc.returncode == 2, proc
            assert proc.stderr == (f"error: cannot read the script {path}: it is {what}, not a file of commands "
                                   "(check the path given to --script)\n")
        assert tv("--script", "/dev/null").code == 0

    def test_unclosed_quote_is_a_usage_error(self, tv) -> None:
        result = tv(stdin="add 'oops\n")
        assert result.code == 2 and "line 1:" in result.err and "quote" in result.err

    def test_undecodable_bytes_are_refused_not_saved(self, data_dir: Path) -> None:
        """Bytes that are not UTF-8 in a title give an error; nothing garbled is stored."""
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}
        proc = subprocess.run([*TASKVAULT], input=b"add caf\xe9\nadd ok\n", capture_output=True, env=env)
        assert proc.returncode == 1 and proc.stderr.startswith(b"line 1: error: the line is not valid UTF-8")
        assert run_taskvault(data_dir, "--json", "list").out == "[]\n"


class TestFilesOnDisk:
    """Where the store lives and who may read it."""

    @pytest.mark.parametrize("umask", [0o000, 0o077, 0o022])
    def test_private_modes_under_any_umask(self, tmp_path: Path, umask: int) -> None:
        """The directory is 0700 and every file 0600, whatever the umask."""
        data_dir = tmp_path / "nested" / "deeper" / "data"
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}
        subprocess.run([*TASKVAULT, "add", "x"], env=env, check=True, capture_output=True,
                       preexec_fn=lambda: os.umask(umask))
        subprocess.run([*TASKVAULT, "backup"], env=env, check=True, capture_output=True,
                       preexec_fn=lambda: os.umask(umask))
        # Every directory taskvault made: a parent open to others would let them move the store away.
        for made in (tmp_path / "nested", tmp_path / "nested" / "deeper", data_dir, data_dir / "backups"):
            assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
        names = sorted(p.name for p in data_dir.iterdir() if p.is_file())
        assert names == ["tasks.journal", "tasks.json", "tasks.lock"]
        assert all(stat.S_IMODE((data_dir / n).stat().st_mode) == 0o600 for n in names)

    def test_data_dir_option_beats_environment(self, tmp_path: Path) -> None:
        """--data-dir wins over TASKVAULT_DATA_DIR."""
        run_taskvault(tmp_path / "env", "--data-dir", str(tmp_path / "flag"), "add", "x")
        assert (tmp_path / "flag" / "tasks.journal").exists() and not (tmp_path / "env").exists()

    def test_default_is_the_user_data_directory(self, tmp_path: Path) -> None:
        """With neither, the store lives in $XDG_DATA_HOME/taskvault."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        subprocess.run([*TASKVAULT, "add", "x"], env=env, check=True, capture_output=True)
        assert (tmp_path / "xdg" / "taskvault" / "tasks.json").exists()

    def test_reads_never_write(self, tv, data_dir: Path) -> None:
        """list and show leave every byte and mtime alone and create nothing."""
        tv("add", "x")
        before = store_digest(data_dir)
        assert tv("list").code == 0 and tv("show", "1").code == 0
        assert store_digest(data_dir) == before
        assert tv("list").code == 0 and not (data_dir.parent / "fresh").exists()
        assert run_taskvault(data_dir.parent / "fresh", "list").code == 0
        assert not (data_dir.parent / "fresh").exists()

    @pytest.mark.parametrize("args", [["add", "   "], ["done", "1"], ["edit", "1", "--title", "x"]])
    def test_a_refused_change_creates_no_store(self, tv, data_dir: Path, args: list[str]) -> None:
        """A change that is refused has nothing to keep: no snapshot or journal appears."""
        assert tv(*args).code == 1
        assert sorted(p.name for p in data_dir.iterdir()) in ([], ["tasks.lock"])

    def test_console_script_is_installed(self, data_dir: Path) -> None:
        """`pip install .` gives a taskvault command next to the interpreter."""
        command = shutil.which("taskvault", path=os.path.dirname(sys.executable))
        assert command is not None
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}
        proc = subprocess.run([command, "add", "from the script"], env=env, capture_output=True, text=True)
        assert proc.stdout == "Added task 1: from the script\n"


class TestLocking:
    """A lock held elsewhere: a visible wait, then a clean error; Ctrl-C while waiting."""

    def _hold_lock(self, data_dir: Path):  # type: ignore[no-untyped-def]
        run_taskvault(data_dir, "add", "existing")
        handle = open(data_dir / "tasks.lock", "a")  # noqa: SIM115 (the caller holds the lock, then closes it)
        portalocker.lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
        return handle

    def test_timeout_exits_3_and_changes_nothing(self, tv, data_dir: Path) -> None:
        """The user is told about the wait, then gets exit 3; the store is unchanged."""
        handle = self._hold_lock(data_dir)
        try:
            before = store_digest(data_dir)
            result = tv("add", "blocked", env={"TASKVAULT_LOCK_TIMEOUT": "0.6"})
            assert result.code == 3
            assert "busy in another session" in result.err and "locked by another taskvault process" in result.err
            assert store_digest(data_dir) == before
            assert tv("list").code == 0, "reads need no lock"
        finally:
            handle.close()
        assert tv("add", "free").code == 0

    def test_interrupt_while_waiting_exits_130(self, data_dir: Path) -> None:
        """Ctrl-C during the wait ends the process with 130 and changes nothing."""
        handle = self._hold_lock(data_dir)
        try:
            before = store_digest(data_dir)
            env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_LOCK_TIMEOUT": "60"}
            # A job started in the background by a non-interactive shell inherits SIGINT ignored, and
            # Python then keeps ignoring it: give the child the default disposition a terminal gives.
            proc = subprocess.Popen([*TASKVAULT, "add", "waiting"], env=env, stderr=subprocess.PIPE, text=True,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            assert proc.stderr is not None
            assert "busy" in proc.stderr.readline()  # the process is now waiting for the lock
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 130
            assert "interrupted" in proc.stderr.read()
            assert store_digest(data_dir) == before
        finally:
            handle.close()


class TestUnreadableInput:
    def test_a_failing_standard_input_is_a_usage_error(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
        """Reading the script from stdin fails part-way (EIO from a hung-up terminal): exit 2, one line."""
        import io

        from taskvault.cli.main import main

        class FailingTerminal(io.RawIOBase):
            """Gives one line, then fails as a hung-up terminal does."""

            def __init__(self) -> None:
                self.given = False

            def readable(self) -> bool:
                return True

            def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
                if self.given:
                    raise OSError(5, "Input/output error")
                self.given = True
                line = b"add Before the failure\n"
                buffer[:len(line)] = line
                return len(line)

        class FailingStdin(io.TextIOWrapper):
            def isatty(self) -> bool:
                return False

        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(data_dir))
        monkeypatch.setattr("sys.stdin", FailingStdin(io.BufferedReader(FailingTerminal()), encoding="utf-8"))
        assert main([]) == 2
        captured = capsys.readouterr()
        assert captured.out == "Added task 1: Before the failure\n"
        assert captured.err.count("\n") == 1 and "cannot read commands from standard input" in captured.err
