"""Where an encrypted store's key comes from, as a user and a script give it: descriptors, files, the terminal
(a real pty: pexpect), the OS keyring (a real Secret Service: gnome-keyring under its own D-Bus), and the
session, which keeps no history file for an encrypted store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.history import FileHistory

from taskvault.cli import resident_client
from taskvault.cli.passphrase import MAX_PASSPHRASE_BYTES, Passphrases
from taskvault.cli.repl import PlainStoreHistory
from taskvault.errors import InvalidValue, StoreEncrypted, UsageError

from .conftest import require_tool, run_taskvault

#: Asks a Passphrases built from its arguments for each purpose named, and prints what it got: a digest of
#: the passphrase (never the passphrase: a test looks for it on the screen), or the error's class and text.
ASK = r"""
import hashlib, os, sys
from pathlib import Path
from taskvault.cli.passphrase import Passphrases
from taskvault.errors import TaskvaultError
fd, new_fd, *purposes = sys.argv[1:]
try:
    source = Passphrases(os.environ, fd=fd or None, new_fd=new_fd or None)
    for purpose in purposes:
        text = source.passphrase(Path("/the/store"), purpose)
        print(purpose, "GOT", hashlib.sha256(text.encode()).hexdigest()[:12], len(text), flush=True)
except TaskvaultError as error:
    print(type(error).__name__, error.exit_code, error.message, "|", error.hint, flush=True)
    sys.exit(error.exit_code)
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
    line = input("after: ")
    print("READ", line, flush=True)
    sys.exit(130)
"""


def digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")}
    return env | extra


def ask(*purposes: str, fd: int | None = None, new_fd: int | None = None, env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ASK in a process of its own session: no controlling terminal, so none is asked."""
    args = [sys.executable, "-c", ASK, "" if fd is None else str(fd), "" if new_fd is None else str(new_fd), *purposes]
    return subprocess.run(args, env=env if env is not None else clean_env(), pass_fds=pass_fds, capture_output=True,
                          text=True, timeout=30, start_new_session=True)


def pipe_with(data: bytes) -> int:
    """The read end of a pipe that holds ``data`` and then ends."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


def secret_file(tmp_path: Path, data: bytes, mode: int = 0o600, name: str = "pass") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    path.chmod(mode)
    return path


class TestDescriptor:
    def test_one_line_is_read_and_its_newline_only_is_dropped(self) -> None:
        """--passphrase-fd N: the first line, spaces kept, the newline (and a CR before it) dropped."""
        fd = pipe_with(b" correct horse \r\nsecond line\n")
        try:
            done = ask("unlock", fd=fd, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert done.returncode == 0, done
        assert done.stdout == f"unlock GOT {digest(' correct horse ')} 15\n"

    def test_a_descriptor_is_read_once_and_its_line_kept(self) -> None:
        """A later ask of the process gets the same line: the descriptor, read once and closed, is not read again."""
        fd = pipe_with(b"correct horse\n")
        try:
            done = ask("unlock", "current", "unlock", fd=fd, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert done.returncode == 0, done
        assert done.stdout.count(f"GOT {digest('correct horse')}") == 3

    def test_a_descriptor_not_open_is_a_usage_error_naming_it(self) -> None:
        done = ask("unlock", fd=9)
        assert done.returncode == UsageError.exit_code
        assert done.stdout.startswith("UsageError 2 --passphrase-fd 9: descriptor 9 is not open | open it in the shell")

    def test_a_directory_is_refused(self, tmp_path: Path) -> None:
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            done = ask("unlock", fd=fd, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert done.returncode == 2 and f"descriptor {fd} is a directory" in done.stdout

    @pytest.mark.parametrize("data", [b"", b"\n", b"\nlater line\n"])
    def test_nothing_or_an_empty_line_is_refused(self, data: bytes) -> None:
        """An empty passphrase opens nothing: the descriptor that gives one is named, nothing else is asked."""
        fd = pipe_with(data)
        try:
            done = ask("unlock", fd=fd, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert done.returncode == 2 and f"--passphrase-fd {fd} gave no passphrase" in done.stdout

    @pytest.mark.parametrize("raw", ["x", "-1", "3.0", "٣", "1", "2"])
    def test_a_value_that_is_no_readable_descriptor_is_refused(self, raw: str) -> None:
        """Not a number, or standard output or error (a passphrase is read, not written)."""
        with pytest.raises(UsageError) as caught:
            Passphrases({}, fd=raw)
        assert str(caught.value).startswith("--passphrase-fd")

    def test_the_same_descriptor_for_both_is_refused(self) -> None:
        with pytest.raises(UsageError, match="both name descriptor 0"):
            Passphrases({}, fd="0", new_fd="0")

    def test_too_long_a_line_is_refused_without_it(self, tmp_path: Path) -> None:
        (tmp_path / "long").write_bytes(b"x" * (MAX_PASSPHRASE_BYTES + 10))  # (more than a pipe holds)
        fd = os.open(tmp_path / "long", os.O_RDONLY)
        try:
            done = ask("unlock", fd=fd, pass_fds=(fd,))
        finally:
            os.close(fd)
        assert done.returncode == 2 and "longer than 64 KiB" in done.stdout and "xxxx" not in done.stdout


class TestFile:
    def test_the_first_line_of_a_private_file(self, tmp_path: Path) -> None:
        path = secret_file(tmp_path, b"correct horse\nnot this\n")
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.stdout == f"unlock GOT {digest('correct horse')} 13\n", done

    def test_it_is_read_again_at_each_ask(self, tmp_path: Path) -> None:
        path = secret_file(tmp_path, b"correct horse\n")
        done = ask("unlock", "current", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.stdout.count(f"GOT {digest('correct horse')}") == 2, done

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
    def test_a_file_open_to_others_is_refused_with_the_chmod_hint(self, tmp_path: Path, mode: int) -> None:
        """As ssh refuses a private key others may read (or change): the mode is named, and chmod 600."""
        path = secret_file(tmp_path, b"correct horse\n", mode)
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.returncode == 2
        assert f"is open to other users (mode {mode:04o})" in done.stdout
        assert done.stdout.rstrip().endswith(f"| chmod 600 {path}")

    def test_a_symbolic_link_is_refused(self, tmp_path: Path) -> None:
        target = secret_file(tmp_path, b"correct horse\n")
        link = tmp_path / "link"
        link.symlink_to(target)
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(link)))
        assert done.returncode == 2 and "is a symbolic link" in done.stdout

    def test_a_directory_is_refused(self, tmp_path: Path) -> None:
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(tmp_path)))
        assert done.returncode == 2 and "is not a regular file" in done.stdout

    def test_a_fifo_is_refused_without_waiting_for_a_writer(self, tmp_path: Path) -> None:
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo, 0o600)
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(fifo)))
        assert done.returncode == 2 and "is not a regular file" in done.stdout

    def test_a_file_larger_than_64_kib_is_refused(self, tmp_path: Path) -> None:
        path = secret_file(tmp_path, b"correct horse\n" + b"x" * MAX_PASSPHRASE_BYTES)
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.returncode == 2 and "is larger than 64 KiB" in done.stdout

    @pytest.mark.parametrize("data", [b"", b"\n", b"\r\nsecond\n"])
    def test_an_empty_first_line_is_refused(self, tmp_path: Path, data: bytes) -> None:
        path = secret_file(tmp_path, data)
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.returncode == 2 and "gave no passphrase" in done.stdout

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        done = ask("unlock", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(tmp_path / "nowhere")))
        assert done.returncode == 2
        assert f"TASKVAULT_PASSPHRASE_FILE ({tmp_path / 'nowhere'}) cannot be read: No such file" in done.stdout

    def test_an_empty_variable_is_refused(self) -> None:
        with pytest.raises(UsageError, match="TASKVAULT_PASSPHRASE_FILE is set but empty"):
            Passphrases({"TASKVAULT_PASSPHRASE_FILE": ""})


class TestOrder:
    def test_the_descriptor_comes_before_the_file(self, tmp_path: Path) -> None:
        path = secret_file(tmp_path, b"from the file\n")
        fd = pipe_with(b"from the descriptor\n")
        try:
            done = ask("unlock", fd=fd, pass_fds=(fd,), env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        finally:
            os.close(fd)
        assert done.stdout == f"unlock GOT {digest('from the descriptor')} 19\n", done

    def test_nothing_to_be_had_is_store_encrypted_naming_the_three_ways(self) -> None:
        """No descriptor, no file, no terminal (a process with no controlling terminal, as under cron)."""
        done = ask("unlock")
        assert done.returncode == StoreEncrypted.exit_code == 3
        assert done.stdout.startswith("StoreEncrypted 3 the store in /the/store is encrypted, and there is no terminal")
        for way in ("--passphrase-fd N", "TASKVAULT_PASSPHRASE_FILE", "on a terminal"):
            assert way in done.stdout

    def test_rekey_in_a_script_reads_the_current_then_the_new(self, tmp_path: Path) -> None:
        """The new one from --new-passphrase-fd, else TASKVAULT_NEW_PASSPHRASE_FILE; the current one as always."""
        new_file = secret_file(tmp_path, b"the new file one\n", name="new")
        current, new = pipe_with(b"the current one\n"), pipe_with(b"the new descriptor one\n")
        try:
            done = ask("current", "new", fd=current, new_fd=new, pass_fds=(current, new),
                       env=clean_env(TASKVAULT_NEW_PASSPHRASE_FILE=str(new_file)))
            again = pipe_with(b"the current one\n")
            by_file = ask("current", "new", fd=again, pass_fds=(again,),
                          env=clean_env(TASKVAULT_NEW_PASSPHRASE_FILE=str(new_file)))
            os.close(again)
        finally:
            os.close(current)
            os.close(new)
        assert done.stdout == (f"current GOT {digest('the current one')} 15\n"
                               f"new GOT {digest('the new descriptor one')} 22\n"), done
        assert by_file.stdout.splitlines()[1] == f"new GOT {digest('the new file one')} 16", by_file

    def test_a_new_one_alone_comes_from_the_one_source(self, tmp_path: Path) -> None:
        """init --encrypt and encrypt ask only for a new passphrase: --passphrase-fd or the file gives it."""
        path = secret_file(tmp_path, b"a brand new one\n")
        done = ask("new", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.stdout == f"new GOT {digest('a brand new one')} 15\n", done

    def test_the_source_of_the_current_one_does_not_give_the_new_one(self, tmp_path: Path) -> None:
        """Rekey with only the current passphrase given: refused, not rekeyed to the same one."""
        path = secret_file(tmp_path, b"the current one\n")
        done = ask("current", "new", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.returncode == 2
        assert done.stdout.splitlines()[1] == (
            "UsageError 2 a new passphrase is needed, and TASKVAULT_PASSPHRASE_FILE gave the current one | give the "
            "new one with --new-passphrase-fd N or TASKVAULT_NEW_PASSPHRASE_FILE")

    def test_a_new_one_shorter_than_8_characters_is_refused_without_it(self, tmp_path: Path) -> None:
        path = secret_file(tmp_path, b"1234567\n")
        done = ask("new", env=clean_env(TASKVAULT_PASSPHRASE_FILE=str(path)))
        assert done.returncode == InvalidValue.exit_code
        assert "shorter than 8 characters" in done.stdout and "1234567" not in done.stdout


# -- the terminal: a real pty ---------------------------------------------------------------


def spawn_ask(*purposes: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-c", ASK, "", "", *purposes], env=env or clean_env(TERM="xterm"),
                          dimensions=(24, 100), timeout=10, encoding="utf-8")
    return child


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the end; the exit status and everything the terminal showed."""
    rest = child.read()
    child.close()
    status = child.exitstatus if child.exitstatus is not None else -child.signalstatus
    return status, rest


class TestTerminal:
    def test_it_is_asked_without_echo(self) -> None:
        child = spawn_ask("unlock")
        child.expect_exact("Passphrase for /the/store: ")
        child.send("hunter2 hunter2\r")
        child.expect_exact(f"unlock GOT {digest('hunter2 hunter2')} 15")
        screen = child.before + child.after
        code, rest = finish(child)
        assert code == 0
        assert "hunter2" not in screen + rest  # (never echoed: what the terminal showed holds no part of it)

    def test_a_new_one_is_asked_twice(self) -> None:
        child = spawn_ask("new")
        child.expect_exact("New passphrase for /the/store: ")
        child.send("correct horse\r")
        child.expect_exact("Repeat it: ")
        child.send("correct horse\r")
        child.expect_exact(f"new GOT {digest('correct horse')} 13")
        shown = child.before
        assert finish(child)[0] == 0 and "correct" not in shown

    def test_two_that_differ_are_refused_in_one_line(self) -> None:
        child = spawn_ask("new")
        child.expect_exact("New passphrase for /the/store: ")
        child.send("correct horse\r")
        child.expect_exact("Repeat it: ")
        child.send("correct house\r")
        code, rest = finish(child)
        assert code == InvalidValue.exit_code
        assert rest.strip() == "InvalidValue 1 the two passphrases typed differ | type the same passphrase twice"

    def test_a_short_new_one_is_refused_before_it_is_repeated(self) -> None:
        child = spawn_ask("new")
        child.expect_exact("New passphrase for /the/store: ")
        child.send("short\r")
        code, rest = finish(child)
        assert code == 1 and "shorter than 8 characters" in rest and "Repeat" not in rest and "short\r" not in rest

    def test_an_empty_one_is_refused(self) -> None:
        child = spawn_ask("unlock")
        child.expect_exact("Passphrase for /the/store: ")
        child.send("\r")
        code, rest = finish(child)
        assert code == 1 and "an empty passphrase opens nothing" in rest

    def test_ctrl_c_interrupts_and_gives_the_echo_back(self) -> None:
        """Ctrl-C is KeyboardInterrupt (the command ends as interrupted), and the terminal echoes again after."""
        child = spawn_ask("unlock")
        child.expect_exact("Passphrase for /the/store: ")
        child.send("half typ")
        child.sendintr()
        child.expect_exact("INTERRUPTED")
        child.expect_exact("after: ")
        child.send("seen again\r")
        child.expect_exact("seen again")  # (the echo, before the script's READ line)
        child.expect_exact("READ seen again")
        code, _ = finish(child)
        assert code == 130

    def test_the_descriptor_goes_before_the_terminal(self, tmp_path: Path) -> None:
        """On a terminal, --passphrase-fd 3 (opened by the shell: 3<FILE) is read, and nothing is asked."""
        path = secret_file(tmp_path, b"from the descriptor\n")
        (tmp_path / "ask.py").write_text(ASK)
        child = pexpect.spawn("sh", ["-c", f'exec "{sys.executable}" "{tmp_path}/ask.py" 3 "" unlock 3<"{path}"'],
                              env=clean_env(TERM="xterm"), timeout=10, encoding="utf-8")
        code, rest = finish(child)
        assert code == 0 and rest.strip() == f"unlock GOT {digest('from the descriptor')} 19"


# -- the command line -------------------------------------------------------------------------


class TestCommandLine:
    def test_a_bad_descriptor_is_refused_before_anything_runs(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "--passphrase-fd", "9", "add", "never")
        assert result.code == 2
        assert result.err == ("error: --passphrase-fd 9: descriptor 9 is not open "
                              "(open it in the shell: --passphrase-fd 9 9<FILE)\n")
        assert not data_dir.exists()

    def test_a_plain_store_never_reads_the_descriptor(self, data_dir: Path, tmp_path: Path) -> None:
        """The descriptor is read only when an encrypted store asks: here it is left as it was."""
        read, write = os.pipe()
        os.write(write, b"unused\n")
        try:
            done = subprocess.run([sys.executable, "-m", "taskvault", "--passphrase-fd", str(read), "add", "Plain"],
                                  env=clean_env(TASKVAULT_DATA_DIR=str(data_dir), TASKVAULT_RESIDENT="off"),
                                  pass_fds=(read,), capture_output=True, text=True, timeout=30, start_new_session=True)
            assert done.returncode == 0 and done.stdout == "Added task 1: Plain\n", done
            assert os.read(read, 100) == b"unused\n"
        finally:
            os.close(read)
            os.close(write)

    @pytest.mark.parametrize("flag", ["--passphrase-fd", "--new-passphrase-fd"])
    def test_the_resident_process_never_runs_a_command_that_carries_one(self, flag: str) -> None:
        """A descriptor is this process's: the command runs here, never in the resident process."""
        assert resident_client.routed_command([flag, "3", "list"]) is None
        assert resident_client.routed_command([f"{flag}=3", "list"]) is None
        assert resident_client.routed_command(["--json", flag, "3", "list"]) is None
        assert not {"--passphrase-fd", "--new-passphrase-fd"} & (resident_client.ROUTED_FLAGS
                                                                 | resident_client.ROUTED_VALUED)

    def test_keyring_takes_on_or_off(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "list", env={"TASKVAULT_KEYRING": "maybe"})
        assert (result.code, result.err) == (2, "error: TASKVAULT_KEYRING must be on or off, not 'maybe'\n")
        assert run_taskvault(data_dir, "list", env={"TASKVAULT_KEYRING": "off"}).code == 0


# -- the session's history ----------------------------------------------------------------------


class TestHistory:
    def test_lines_wait_until_the_store_is_known_and_reach_the_file_only_for_a_plain_store(self, tmp_path: Path) -> None:
        path = tmp_path / "history"
        state: list[bool | None] = [None]
        history = PlainStoreHistory(FileHistory(str(path)), lambda: state[0])
        history.append_string("add typed while loading")
        assert not path.exists()  # (not known yet: kept in memory)
        state[0] = True
        history.append_string("list")
        assert path.read_text().count("\n+") == 2 and "typed while loading" in path.read_text()
        assert history.get_strings() == ["add typed while loading", "list"]

    def test_an_encrypted_stores_lines_never_reach_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "history"
        state: list[bool | None] = [None]
        history = PlainStoreHistory(FileHistory(str(path)), lambda: state[0])
        history.append_string("add Secret plan")
        state[0] = False
        history.append_string("add Another secret")
        history.flush()
        assert not path.exists() or "ecret" not in path.read_text()
        assert history.get_strings() == ["add Secret plan", "add Another secret"]  # (in memory: Up still works)

    def test_a_real_session_on_an_encrypted_store_writes_no_history(self, data_dir: Path, tmp_path: Path) -> None:
        """A terminal session (pexpect) on an encrypted store: the history file gains nothing."""
        encrypted_store(data_dir, tmp_path)
        child = spawn_session(data_dir, tmp_path)
        child.expect_exact(f"Passphrase for {data_dir}: ")
        child.send("open sesame\r")
        child.expect_exact("taskvault>")
        child.send("add Secret plan\r")
        child.expect_exact("Added task 1: Secret plan")
        child.expect_exact("taskvault>")
        child.send("\x04")
        code, _ = finish(child)
        assert code == 0
        history = tmp_path / "state" / "taskvault" / "history"
        assert not history.exists() or "Secret" not in history.read_text()

    def test_a_real_session_on_a_plain_store_keeps_its_history(self, data_dir: Path, tmp_path: Path) -> None:
        """The same session, its store plain: the line is in the history file (so the test above can fail)."""
        child = spawn_session(data_dir, tmp_path)
        child.expect_exact("taskvault>")
        child.send("add Plain plan\r")
        child.expect_exact("Added task 1: Plain plan")
        child.expect_exact("taskvault>")
        child.send("\x04")
        assert finish(child)[0] == 0
        assert "+add Plain plan" in (tmp_path / "state" / "taskvault" / "history").read_text()


    def test_lines_typed_after_another_process_encrypts_never_reach_the_file(self, data_dir: Path,
                                                                              tmp_path: Path) -> None:
        """A session opened on a plain store; another process encrypts it: what is typed from then on (the line
        that asks for the passphrase, and one whose question is cancelled) stays out of the history file."""
        child = spawn_session(data_dir, tmp_path)
        child.expect_exact("taskvault>")
        child.send("add Plain before\r")
        child.expect_exact("Added task 1: Plain before")
        child.expect_exact("taskvault>")
        path = secret_file(tmp_path, b"open sesame\n", name="encrypt-pass")
        done = run_taskvault(data_dir, "encrypt", "--yes", env={"TASKVAULT_PASSPHRASE_FILE": str(path),
                                                               "TASKVAULT_KEYRING": "off"})
        assert done.code == 0, done
        child.send("add Zqx typed after\r")
        child.expect_exact(f"Passphrase for {data_dir}: ")
        child.send("\x03")
        child.expect_exact("taskvault>")
        child.send("add Zqx second line\r")
        child.expect_exact(f"Passphrase for {data_dir}: ")
        child.send("open sesame\r")
        child.expect_exact("Added task 2: Zqx second line")
        child.expect_exact("taskvault>")
        child.send("\x04")
        assert finish(child)[0] == 0
        history = (tmp_path / "state" / "taskvault" / "history").read_text()
        assert "+add Plain before" in history and "Zqx" not in history


def encrypted_store(data_dir: Path, tmp_path: Path, passphrase: str = "open sesame") -> None:
    """An encrypted store in ``data_dir``, made by the real program (init --encrypt, its passphrase from a file)."""
    path = secret_file(tmp_path, passphrase.encode() + b"\n", name="init-pass")
    made = run_taskvault(data_dir, "init", "--encrypt", env={"TASKVAULT_PASSPHRASE_FILE": str(path),
                                                            "TASKVAULT_KEYRING": "off"})
    assert made.code == 0, made
    path.unlink()


def spawn_session(data_dir: Path, tmp_path: Path) -> pexpect.spawn:
    """The real program's interactive session on a real terminal, with no passphrase file or descriptor."""
    return pexpect.spawn(sys.executable, ["-m", "taskvault", "--data-dir", str(data_dir)], env=clean_env(
        TERM="xterm", XDG_STATE_HOME=str(tmp_path / "state"), TASKVAULT_RESIDENT="off", TASKVAULT_KEYRING="off",
        TASKVAULT_CONFIG="/dev/null", PROMPT_TOOLKIT_NO_CPR="1"), dimensions=(24, 100), timeout=10, encoding="utf-8")


class TestSessionUnlock:
    def test_the_passphrase_is_asked_before_the_first_command_and_not_shown(self, data_dir: Path,
                                                                           tmp_path: Path) -> None:
        """The background load may not ask under the prompt: the prompt is left, the passphrase asked, the prompt back."""
        encrypted_store(data_dir, tmp_path)
        child = spawn_session(data_dir, tmp_path)
        child.expect_exact(f"Passphrase for {data_dir}: ")
        child.send("open sesame\r")
        child.expect_exact("taskvault>")
        child.send("add After unlock\r")
        child.expect_exact("Added task 1: After unlock")
        child.expect_exact("taskvault>")
        shown = child.before
        child.send("\x04")
        code, rest = finish(child)
        assert code == 0 and "sesame" not in shown + rest

    def test_ctrl_c_at_the_passphrase_leaves_the_session_running(self, data_dir: Path, tmp_path: Path) -> None:
        encrypted_store(data_dir, tmp_path)
        child = spawn_session(data_dir, tmp_path)
        child.expect_exact(f"Passphrase for {data_dir}: ")
        child.sendintr()
        child.expect_exact("interrupted: the store is not open; the next command asks again")
        child.expect_exact("taskvault>")
        child.send("list\r")
        child.expect_exact(f"Passphrase for {data_dir}: ")  # (asked again, by the command)
        child.send("open sesame\r")
        child.expect_exact("taskvault>")
        child.send("\x04")
        assert finish(child)[0] == 0


# -- the OS keyring: a real Secret Service ------------------------------------------------------


KEYCHAIN = r"""
import sys
from taskvault.store.keychain import OsKeychain
from taskvault.errors import TaskvaultError
keychain = OsKeychain()
for step in sys.argv[1:]:
    verb, _, rest = step.partition(":")
    name, _, secret = rest.partition("=")
    try:
        if verb == "get":
            print("get", name, repr(keychain.get(name)))
        elif verb == "set":
            keychain.set(name, secret)
            print("set", name)
        else:
            keychain.delete(name)
            print("delete", name)
    except TaskvaultError as error:
        print(type(error).__name__, error.message, "|", error.hint)
"""


class SecretService:
    """gnome-keyring-daemon's Secret Service on a D-Bus session bus of its own, in a home of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = clean_env(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(home),
                             XDG_CONFIG_HOME=str(home / "config"))
        for name in ("PYTHON_KEYRING_BACKEND", "DISPLAY", "WAYLAND_DISPLAY"):  # (no prompt window: a locked keyring stays locked)
            self.env.pop(name, None)
        self.bus: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None

    def start(self, *, unlock: str | None) -> None:
        self.bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                                     f"--address=unix:path={self.home}/bus"], stdout=subprocess.PIPE, env=self.env)
        assert self.bus.stdout is not None
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.stdout.readline().decode().strip()
        args = ["gnome-keyring-daemon", "--foreground", "--components=secrets"] + (["--unlock"] if unlock else [])
        self.daemon = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, env=self.env)
        assert self.daemon.stdin is not None
        if unlock:
            self.daemon.stdin.write(unlock.encode())
        self.daemon.stdin.close()
        deadline = time.monotonic() + 20
        while not self._owned():  # (poll the bus until the Secret Service is on it)
            assert time.monotonic() < deadline, "the Secret Service did not come up"
            assert self.daemon.poll() is None, "gnome-keyring-daemon ended"
            time.sleep(0.05)

    def _owned(self) -> bool:
        asked = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                                "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                                "string:org.freedesktop.secrets"], env=self.env, capture_output=True, text=True)
        return "boolean true" in asked.stdout

    def stop(self) -> None:
        for process in (self.daemon, self.bus):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.daemon = self.bus = None

    def run(self, *steps: str, env: dict[str, str] | None = None) -> list[str]:
        done = subprocess.run([sys.executable, "-c", KEYCHAIN, *steps], env=env or self.env, capture_output=True,
                              text=True, timeout=60, start_new_session=True)
        assert done.returncode == 0, done
        return done.stdout.splitlines()


@pytest.fixture
def secret_service() -> Iterator[SecretService]:
    for tool in ("gnome-keyring-daemon", "dbus-daemon", "dbus-send"):
        require_tool(tool, "gnome-keyring dbus")
    home = Path(tempfile.mkdtemp(prefix="taskvault-keyring-"))
    home.chmod(0o700)
    service = SecretService(home)
    try:
        service.start(unlock="login password")
        yield service
    finally:
        service.stop()
        shutil.rmtree(home)


class TestKeychain:
    def test_a_secret_is_kept_read_and_removed(self, secret_service: SecretService) -> None:
        assert secret_service.run("get:store-ab12", "set:store-ab12=a key in base64==", "get:store-ab12",
                                  "get:store-other", "delete:store-ab12", "get:store-ab12") == [
            "get store-ab12 None", "set store-ab12", "get store-ab12 'a key in base64=='", "get store-other None",
            "delete store-ab12", "get store-ab12 None"]

    def test_it_is_kept_under_the_service_taskvault(self, secret_service: SecretService) -> None:
        """Another program (secret-tool, Seahorse) finds it as service taskvault, user name store-ID."""
        secret_service.run("set:store-ab12=kek")
        found = subprocess.run([sys.executable, "-c", ("import keyring; print(keyring.get_password('taskvault', "
                                "'store-ab12'))")], env=secret_service.env, capture_output=True, text=True, timeout=60)
        assert found.stdout == "kek\n", found

    def test_it_outlives_the_daemon(self, secret_service: SecretService) -> None:
        """Kept on disk by the keyring: a new login (the daemon started again, unlocked) still has it."""
        secret_service.run("set:store-ab12=kek")
        secret_service.stop()
        secret_service.start(unlock="login password")
        assert secret_service.run("get:store-ab12") == ["get store-ab12 'kek'"]

    def test_removing_what_is_not_there_is_no_error(self, secret_service: SecretService) -> None:
        assert secret_service.run("delete:store-none") == ["delete store-none"]

    def test_a_locked_keyring_gives_nothing_and_refuses_to_keep(self, secret_service: SecretService) -> None:
        """Locked (the daemon started without the login password; no prompt can be shown here): get says None,
        set is a one-line StorageError with the hint, and no secret is in the message."""
        secret_service.run("set:store-ab12=kek")
        secret_service.stop()
        secret_service.start(unlock=None)
        got, kept = secret_service.run("get:store-ab12", "set:store-cd34=the secret")
        assert got == "get store-ab12 None"
        assert kept.startswith("StorageError the OS keyring did not keep the store's key: ")
        assert "unlock your desktop's keyring" in kept and "the secret" not in kept

    def test_no_keyring_at_all_gives_nothing_and_refuses_to_keep(self, secret_service: SecretService) -> None:
        """No D-Bus session (a server, ssh): the fail backend. get None, set a StorageError, delete nothing to do."""
        env = {k: v for k, v in secret_service.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        env["XDG_RUNTIME_DIR"] = str(secret_service.home / "nothing")
        assert secret_service.run("get:store-ab12", "set:store-ab12=kek", "delete:store-ab12", env=env) == [
            "get store-ab12 None",
            ("StorageError there is no OS keyring to keep the store's key in | unlock your desktop's keyring (the "
            "Secret Service: GNOME Keyring, KWallet) and try again, or use the passphrase alone (TASKVAULT_KEYRING=off)"),
            "delete store-ab12"]

    def test_the_null_backend_keeps_nothing_and_says_so(self, secret_service: SecretService) -> None:
        env = secret_service.env | {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        lines = secret_service.run("get:a", "set:a=kek", env=env)
        assert lines[0] == "get a None" and lines[1].startswith("StorageError there is no OS keyring")

    def test_a_one_shot_command_does_not_import_keyring(self, data_dir: Path) -> None:
        """Start-up: keyring is imported only when a store asks the keychain (a plain store never does)."""
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "taskvault", "add", "x"], env=clean_env(
            TASKVAULT_DATA_DIR=str(data_dir), TASKVAULT_RESIDENT="off"), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0
        imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "taskvault.cli.passphrase" in imported and not {"keyring", "secretstorage", "jeepney"} & imported
