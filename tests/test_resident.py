"""The resident process, proven against real processes, sockets, files and locks.

Each test has its own runtime directory (so its own sockets and resident processes, found through their
environment and stopped at its end) and its own store. A command said to run in the resident process is
run under strace, whose trace must show it connected to the socket and named no file of the store; one
said to run in its own process must have opened the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskvault.cli import resident_client as client
from taskvault.commands.catalog import COMMANDS
from taskvault.exits import EXIT_OUTCOME_UNKNOWN

from .conftest import TASKVAULT, Completed, require_tool, seed_store
from .resident import (
    SERVER,
    UNKNOWN,
    Lines,
    Place,
    assert_routed,
    copy_package,
    key_of,
    normalised,
    poll,
    wait_gone,
)

#: Most of these start several interpreters and resident processes: out of the fast tier.
pytestmark = pytest.mark.slow


def titles(place: Place, directory: Path | None = None) -> list[tuple[int, str]]:
    """(id, title) of every task of the store, read by a command run in its own process."""
    env = place.env(resident="off", TASKVAULT_DATA_DIR=str(directory or place.data))
    done = place.run("--json", "list", "--all", env=env)
    assert done.code == 0, done.err
    return [(task["id"], task["title"]) for task in json.loads(done.out)]


def lock_holder(directory: Path) -> subprocess.Popen[bytes]:
    """Another process holding the store's lock (flock(1) on tasks.lock) until its standard input closes."""
    proc = subprocess.Popen([require_tool("flock"), str(directory / "tasks.lock"), "-c", "echo held; exec cat"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
    return proc


def release(holder: subprocess.Popen[bytes]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


def started(place: Place, *args: str, resident: bool = True) -> tuple[subprocess.Popen[bytes], Lines]:
    """A command started in the background; its standard error read line by line."""
    env = place.env(**({} if resident else {"resident": "off"}), TASKVAULT_LOCK_TIMEOUT="600")
    proc = subprocess.Popen([*TASKVAULT, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    return proc, Lines(proc.stderr)


@contextlib.contextmanager
def waiting_on_the_lock(place: Place, title: str, *,
                        resident: bool = True) -> Iterator[tuple[subprocess.Popen[bytes], Lines]]:
    """``add TITLE`` started while another process holds the store's lock, once it says it waits; the
    lock is released when the block ends."""
    holder = lock_holder(place.data)
    try:
        proc, err = started(place, "add", title, resident=resident)
        err.wait_for("the store is busy")
        yield proc, err
    finally:
        release(holder)


# -- 1. the same command, the same answer ----------------------------------------------------

SEQUENCE: list[tuple[str, ...]] = [
    ("add", "Buy milk", "--tag", "home", "--priority", "high", "--due", "2030-01-02"),
    ("add", "Call", "mum", "--tag", "family", "--tag", "phone"),
    ("add", "Third", "--note", "a longer note"),
    ("list",),
    ("--json", "list"),
    ("show", "1"),
    ("edit", "1", "--title", "Buy oat milk", "--tag", "-home", "--tag", "+errand", "--priority", "low"),
    ("done", "2"),
    ("list", "--all"),
    ("reopen", "2"),
    ("add", "Four"),
    ("add", "Five"),
    ("delete", "3", "--yes"),
    ("delete", "4", "5"),
    ("undo",),
    ("redo",),
    ("undo", "2"),
    ("history",),
    ("--json", "list", "--all"),
    ("stats",),
    ("show", "99"),
    ("done", "abc"),
    ("list", "--bogus"),
    ("--no-color", "list", "--sort", "due", "--all"),
    ("delete", "1-2", "--yes"),
    ("history", "--limit", "3"),
]


def test_a_command_answers_alike_in_the_resident_process_and_in_its_own(place: Place, tmp_path: Path) -> None:
    """Each command of a sequence prints the same, on the same streams, with the same exit code, through
    the resident process as in its own process, against a store built the same way at the same path; and
    each ran in the resident process (its trace named no file of the store)."""
    pristine = tmp_path / "pristine"
    seed_store(pristine)
    shutil.copytree(pristine, place.data)
    place.serve()
    through: list[Completed] = [place.routed(*args) for args in SEQUENCE]
    place.stop_all()
    shutil.rmtree(place.data)
    shutil.copytree(pristine, place.data)  # (the same path: the store's name in the output is the same)
    own = [place.run(*args, resident=False) for args in SEQUENCE]
    assert place.servers() == []
    for args, there, here in zip(SEQUENCE, through, own, strict=True):
        assert (there.code, normalised(there.out), normalised(there.err)) == (
            here.code, normalised(here.out), normalised(here.err)), args
    assert {r.code for r in own} >= {0, 1, 2}  # (the sequence holds failures as well as successes)


def test_the_routed_commands_are_the_catalog_s_commands_that_load_the_store() -> None:
    names = {command.name for command in COMMANDS}
    assert names >= client.ROUTED
    for name in client.ROUTED:
        assert COMMANDS.get(name).loads_store, name  # type: ignore[attr-defined]
    assert "help" not in client.ROUTED
    assert not {command.name for command in COMMANDS if not command.loads_store} & client.ROUTED


# -- 2. its life ------------------------------------------------------------------------------


def test_a_successful_command_starts_one_and_the_next_command_runs_there(place: Place) -> None:
    assert place.run("add", "first").code == 0  # no resident process: run here, then one is started
    pid = place.one_server()
    assert place.listening() == {place.socket_path()}
    done = place.routed("add", "second")
    assert (done.code, done.out) == (0, "Added task 2: second\n")
    assert place.servers() == [pid]
    assert titles(place) == [(1, "first"), (2, "second")]


def test_a_failed_command_starts_none(place: Place) -> None:
    done = place.run("show", "1")
    assert done.code == 1
    assert place.servers() == []  # (start_server returns once the process exists: it would be found)


def test_a_second_resident_process_for_the_same_settings_ends_at_once(place: Place) -> None:
    first = place.serve()
    second = subprocess.Popen(SERVER, cwd="/", env=place.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert second.wait(timeout=30) == 0
    assert place.servers() == [first.pid]
    assert place.routed("add", "still served").code == 0


def test_it_ends_after_its_idle_time(place: Place) -> None:
    proc = place.serve(place.env(resident="2"))
    assert proc.wait(timeout=60) == 0
    assert not Path(place.socket_path(place.env(resident="2"))).exists()


def test_sigterm_ends_it_and_removes_its_socket(place: Place) -> None:
    proc = place.serve()
    assert Path(place.socket_path()).exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not Path(place.socket_path()).exists()
    assert place.run("add", "after").code == 0  # (and a new one is started: the fixture stops it)


def test_a_socket_left_by_a_killed_one_is_replaced_by_the_next(place: Place) -> None:
    assert place.run("add", "one").code == 0
    killed = place.one_server()
    os.kill(killed, signal.SIGKILL)
    wait_gone(killed)
    assert Path(place.socket_path()).exists() and not place.listening()  # the stale socket
    done = place.run("add", "two")  # (refused at the socket: runs here, starts another)
    assert (done.code, done.err) == (0, "")
    pid = place.one_server()
    assert pid != killed
    assert place.routed("add", "three").code == 0
    assert titles(place) == [(1, "one"), (2, "two"), (3, "three")]


def test_a_changed_program_file_ends_it_and_the_command_runs_here(place: Place, tmp_path: Path) -> None:
    """An upgrade (here, a copy of the package on PYTHONPATH, edited): the resident process refuses the
    next command, which runs in its own process, once, and then it ends."""
    src = copy_package(tmp_path / "copy")
    env = place.env(PYTHONPATH=str(src))
    assert place.run("add", "first", env={**env, "TASKVAULT_RESIDENT": "off"}).code == 0
    proc = place.serve(env)
    assert place.routed("add", "before", env=env).code == 0
    assert place.routed("list", env=env).code == 0  # (the program unchanged: it serves on)
    with open(src / "taskvault" / "domain" / "vocabulary.py", "a", encoding="utf-8") as edited:
        edited.write("\n# edited\n")
    done = place.ran_here("add", "after", env=env)
    assert (done.code, done.out, done.err) == (0, "Added task 3: after\n", "")
    assert proc.wait(timeout=30) == 0
    assert titles(place) == [(1, "first"), (2, "before"), (3, "after")]


def test_a_replaced_store_directory_ends_it_and_the_command_runs_against_the_new_one(place: Place,
                                                                                       tmp_path: Path) -> None:
    assert place.run("add", "old store", resident=False).code == 0
    proc = place.serve()
    assert place.routed("add", "old again").code == 0
    place.data.rename(tmp_path / "moved")
    assert place.run("add", "new store", resident=False).code == 0  # a new store where the old one was
    done = place.ran_here("add", "new again")
    assert (done.code, done.out, done.err) == (0, "Added task 2: new again\n", "")
    assert proc.wait(timeout=30) == 0
    assert titles(place) == [(1, "new store"), (2, "new again")]
    assert titles(place, tmp_path / "moved") == [(1, "old store"), (2, "old again")]


def test_a_relative_data_directory_is_never_served_from_elsewhere(place: Place, tmp_path: Path) -> None:
    """TASKVAULT_DATA_DIR=data means ./data of the command's directory; a resident process (which runs in /)
    would read it elsewhere, and two directories' commands would share it: such a command runs here."""
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    env = place.env(TASKVAULT_DATA_DIR="data")

    def add(where: str, title: str) -> Completed:
        proc = subprocess.run([*TASKVAULT, "add", title], cwd=tmp_path / where, env=env, capture_output=True,
                              text=True, timeout=60)
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    assert add("one", "in one").code == 0
    assert place.servers() == []  # (none is started for a command it could not serve)
    place.serve(env)  # (one started by hand would not be used either)
    assert add("one", "in one again").out == "Added task 2: in one again\n"
    assert add("two", "in two").out == "Added task 1: in two\n"
    assert titles(place, tmp_path / "one" / "data") == [(1, "in one"), (2, "in one again")]
    assert titles(place, tmp_path / "two" / "data") == [(1, "in two")]
    assert not Path("/data").exists() or Path("/data").is_dir()


@pytest.mark.parametrize(("setting", "relative"), [
    ({"TASKVAULT_DATA_DIR": "data"}, True), ({"TASKVAULT_DATA_DIR": "./data"}, True),
    ({"TASKVAULT_DATA_DIR": "~/data"}, False), ({"TASKVAULT_DATA_DIR": "/srv/data"}, False),
    ({"HOME": "home"}, True), ({"XDG_DATA_HOME": "share"}, True), ({"XDG_DATA_HOME": "~/share"}, True),
    ({"XDG_STATE_HOME": "state"}, True), ({"TZDIR": "zoneinfo"}, True), ({"PYTHONPATH": "/a::/b"}, True),
    ({"PYTHONPATH": "src"}, True), ({"PYTHONPATH": "/a:/b"}, False), ({"PYTHONPATH": ""}, False),
    ({"XDG_DATA_HOME": ""}, False), ({}, False),
])
def test_a_setting_naming_a_relative_path_is_never_routed(setting: dict[str, str], relative: bool) -> None:
    env = {"HOME": "/root", "TASKVAULT_DATA_DIR": "/tmp/x", **setting}
    assert client.depends_on_directory(env) is relative


# -- 3. faults --------------------------------------------------------------------------------


def test_killing_it_while_a_command_waits_gives_one_unknown_outcome_line(place: Place) -> None:
    assert place.run("add", "acknowledged", resident=False).code == 0
    server = place.serve(place.env(TASKVAULT_LOCK_TIMEOUT="600"))
    with waiting_on_the_lock(place, "never acknowledged") as (proc, err):
        server.kill()
        proc.wait(timeout=30)
        lines = err.wait_end()
    assert proc.returncode == EXIT_OUTCOME_UNKNOWN
    assert lines[-1] == UNKNOWN
    assert not any("Traceback" in line for line in lines)
    assert titles(place) == [(1, "acknowledged")]


def test_killing_it_mid_save_gives_an_unknown_outcome_and_a_store_that_loads(place: Place) -> None:
    """kill -9 of the resident process between a change's write and its fsync (held open by strace): the
    client says the outcome is unknown; the store loads, with what was acknowledged, and the change
    whole or not at all; the next command works."""
    assert place.run("add", "acknowledged", resident=False).code == 0
    tracer = [require_tool("strace"), "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync,fdatasync",
              "-e", "inject=fsync:delay_enter=3000000", "-e", "inject=fdatasync:delay_enter=3000000"]
    server = subprocess.Popen([*tracer, *SERVER], cwd="/", env=place.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    place.started.append(server)
    poll("the resident process to listen", lambda: place.socket_path() in place.listening())
    python = [pid for pid in place.servers()
              if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(sys.executable.encode())]
    assert len(python) == 1
    journal = place.data / "tasks.journal"
    before = journal.stat().st_size
    proc = subprocess.Popen([*TASKVAULT, "add", "in flight"], env=place.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    poll("the change's bytes in the journal", lambda: journal.stat().st_size > before)
    os.kill(python[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err.decode()) == (EXIT_OUTCOME_UNKNOWN, b"", UNKNOWN + "\n")
    assert titles(place) in ([(1, "acknowledged")], [(1, "acknowledged"), (2, "in flight")])
    done = place.run("add", "next", resident=False)
    assert done.code == 0, done.err
    assert titles(place)[-1][1] == "next"


def test_killing_the_client_interrupts_its_command_there_and_it_serves_on(place: Place) -> None:
    assert place.run("add", "acknowledged", resident=False).code == 0
    server = place.serve(place.env(TASKVAULT_LOCK_TIMEOUT="600"))
    with waiting_on_the_lock(place, "abandoned") as (proc, err):
        proc.kill()
        proc.wait(timeout=30)
        lines = err.wait_end()  # (the resident process closed the standard error it was lent)
        assert "taskvault: interrupted" in lines
    assert server.poll() is None
    done = place.routed("add", "next", env=place.env(TASKVAULT_LOCK_TIMEOUT="600"))
    assert (done.code, done.out) == (0, "Added task 2: next\n")
    assert titles(place) == [(1, "acknowledged"), (2, "next")]


@pytest.mark.parametrize("resident", [True, False], ids=["resident", "own-process"])
def test_ctrl_c_during_a_lock_wait_saves_nothing(place: Place, resident: bool) -> None:
    assert place.run("add", "acknowledged", resident=False).code == 0
    if resident:
        server = place.serve(place.env(TASKVAULT_LOCK_TIMEOUT="600"))
    with waiting_on_the_lock(place, "interrupted one", resident=resident) as (proc, err):
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        lines = err.wait_end()
    assert [normalised(line) for line in lines] == [
        "taskvault: the store is busy in another session; waiting up to N s…", "", "taskvault: interrupted"]
    assert titles(place) == [(1, "acknowledged")]
    if resident:
        assert server.poll() is None
        assert place.routed("add", "next", env=place.env(TASKVAULT_LOCK_TIMEOUT="600")).code == 0


def test_ctrl_c_before_it_has_taken_the_command_runs_nothing(place: Place) -> None:
    """Ctrl-C at a command the resident process has not taken yet (it is stopped, SIGSTOP): the command
    ends as an interrupted command does, with no traceback, and never runs, not even once it goes on;
    its standard error ends with it (its descriptors were never sent)."""
    assert place.run("add", "acknowledged", resident=False).code == 0
    place.serve(place.env(TASKVAULT_LOCK_TIMEOUT="600"))  # (the settings started() runs with)
    pid = place.one_server()
    os.kill(pid, signal.SIGSTOP)
    try:
        second, second_err = started(place, "add", "never taken")
        poll("the command to wait for its answer",
             lambda: any(w in Path(f"/proc/{second.pid}/wchan").read_text() for w in ("unix_stream_read", "poll")))
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=30) == 130
        assert second_err.wait_end() == ["", "taskvault: interrupted"]
    finally:
        os.kill(pid, signal.SIGCONT)
    assert place.routed("add", "next", env=place.env(TASKVAULT_LOCK_TIMEOUT="600")).code == 0  # (it serves on)
    assert titles(place) == [(1, "acknowledged"), (2, "next")]


def test_a_stopped_resident_process_holds_up_no_command(place: Place) -> None:
    """A resident process that does not take a command (stopped) leaves it to run in its own process after
    ACCEPT_TIMEOUT, its output complete (a pipe reading it ends), and it never runs it as well."""
    assert place.run("add", "acknowledged", resident=False).code == 0
    place.serve(place.env())
    pid = place.one_server()
    os.kill(pid, signal.SIGSTOP)
    try:
        done = place.run("add", "while it is stopped")
        assert (done.code, done.out) == (0, "Added task 2: while it is stopped\n"), done
    finally:
        os.kill(pid, signal.SIGCONT)
    assert place.routed("list").code == 0
    assert titles(place) == [(1, "acknowledged"), (2, "while it is stopped")]


def _dead_pipe() -> int:
    """The writing end of a pipe nobody reads (``| head -0``)."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize("output", ["closed pipe", "/dev/full"])
@pytest.mark.parametrize("args", [("list", "--all"), ("add", "written"), ("show", "99")])
def test_output_that_fails_fails_alike(place: Place, output: str, args: tuple[str, ...]) -> None:
    results = {}
    for resident in (True, False):
        if place.data.exists():
            shutil.rmtree(place.data)
        assert place.run("add", "first", resident=False).code == 0
        if resident:
            place.serve()
        fd = os.open("/dev/full", os.O_WRONLY) if output == "/dev/full" else _dead_pipe()
        try:
            done = place.run(*args, resident=resident, stdout=fd)
        finally:
            os.close(fd)
        results[resident] = (done.code, normalised(done.err), titles(place))
        if resident:
            assert len(place.servers()) == 1
            place.stop_all()
    assert results[True] == results[False]


@pytest.mark.parametrize("closed", [0, 1, 2])
@pytest.mark.parametrize("args", [("delete", "1"), ("show", "99"), ("add", "x")])
def test_a_closed_standard_stream_is_met_alike(place: Place, closed: int, args: tuple[str, ...]) -> None:
    results = {}
    for resident in (True, False):
        if place.data.exists():
            shutil.rmtree(place.data)
        assert place.run("add", "first", resident=False).code == 0
        if resident:
            place.serve()
        done = place.run(*args, resident=resident, preexec_fn=lambda: os.close(closed))
        results[resident] = (done.code, normalised(done.out), normalised(done.err), titles(place))
        place.stop_all()
    assert results[True] == results[False]


# -- 4. many at once --------------------------------------------------------------------------


def test_commands_through_it_and_in_their_own_processes_at_once_lose_nothing(place: Place) -> None:
    processes, adds = 6, 8
    assert place.run("add", "seed", resident=False).code == 0
    server = place.serve(place.env(TASKVAULT_LOCK_TIMEOUT="120"))
    loop = "for i in $(seq {adds}); do {cmd} add p{p}-$i || exit 1; done"
    command = " ".join(TASKVAULT)
    procs = []
    for p in range(processes):
        env = place.env(**({} if p % 2 else {"resident": "off"}), TASKVAULT_LOCK_TIMEOUT="120")
        procs.append(subprocess.Popen(["bash", "-c", loop.format(adds=adds, cmd=command, p=p)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    session = subprocess.Popen(TASKVAULT, env=place.env(resident="off", TASKVAULT_LOCK_TIMEOUT="120"),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    script = "".join(f"add s-{i}\n" for i in range(adds))
    session_out, session_err = session.communicate(script, timeout=300)
    assert session.returncode == 0, session_err
    acknowledged = session_out.splitlines()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        acknowledged += out.splitlines()
    assert server.poll() is None
    said = sorted((int(line.split()[2].rstrip(":")), line.split(": ", 1)[1]) for line in acknowledged)
    assert len(said) == (processes + 1) * adds
    assert titles(place) == [(1, "seed"), *said]


# -- 5. who may connect -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mode 0755", "symlink", "another user's"])
def test_a_socket_directory_others_may_enter_is_never_used(place: Place, tmp_path: Path, kind: str) -> None:
    if kind == "mode 0755":
        place.sockets.mkdir(mode=0o755)
        place.sockets.chmod(0o755)
    elif kind == "symlink":
        target = tmp_path / "elsewhere"
        target.mkdir(mode=0o700)
        place.sockets.symlink_to(target)
    else:
        if os.getuid() != 0:
            pytest.skip("needs root to give a directory to another user")
        place.sockets.mkdir(mode=0o700)
        os.chown(place.sockets, 65534, 65534)
    for title in ("one", "two", "three"):
        done = place.ran_here("add", title)
        assert (done.code, done.err) == (0, "")
        poll("the resident processes it started to end", lambda: place.servers() == [])
    assert not list(place.sockets.glob("*.sock")) and not place.listening()
    assert titles(place) == [(1, "one"), (2, "two"), (3, "three")]


@pytest.mark.parametrize("mode", [0o755, 0o701, 0o770])
def test_a_socket_directory_opened_to_others_later_is_no_longer_used(place: Place, mode: int) -> None:
    """The client checks the directory too: a resident process that listens there when it no longer is
    private is not sent a command."""
    assert place.run("add", "one", resident=False).code == 0
    place.serve()
    place.sockets.chmod(mode)
    done = place.ran_here("add", "two")
    assert (done.code, done.out, done.err) == (0, "Added task 2: two\n", "")
    assert titles(place) == [(1, "one"), (2, "two")]


def _send(path: str, payload: bytes, fds: list[int], shut: bool = True) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        if fds:
            sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(__import__("array").array("i", fds)))])
        else:
            sock.sendall(payload)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(64):
                answer += chunk
        except ConnectionResetError:  # (it closed with the rest of the request unread)
            pass
        return answer


def _send_then_go(path: str, payload: bytes, fds: list[int]) -> bytes:
    """A request, then (if it is accepted) GO with ``fds``, as the client sends them; what comes back."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(payload)
        answer = sock.recv(1)
        if answer == client.ACCEPTED:
            sock.sendmsg([client.GO], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(__import__("array").array("i", fds)))])
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(64):
                answer += chunk
        return answer


def _files_open(pid: int) -> int:
    """How many descriptors ``pid`` holds, sockets left out (a connection is closed just after its answer,
    which the caller may have read first; a descriptor kept from a caller is its terminal, pipe or file)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return count


def test_requests_that_are_not_its_own_are_refused_and_it_serves_on(place: Place) -> None:
    assert place.run("add", "first", resident=False).code == 0
    server = place.serve()
    path = place.socket_path()
    key = key_of(place.env())
    fds_before = _files_open(server.pid)
    with open(os.devnull, "rb") as null:
        three = [null.fileno()] * 3
        assert _send(path, client.encode_request(key + "x", ["add", "wrong key"]), three) == client.REFUSED
        assert _send(path, b"\0\0\0\x05hello", three) == client.REFUSED
        assert _send(path, b"\0\0\0\x01", three) == client.REFUSED  # (a body that never comes)
        assert _send(path, (client.MAX_REQUEST + 1).to_bytes(4, "big") + b"x" * 100, three) in (client.REFUSED, b"")
        # Accepted, but no GO (the caller gave up, or was interrupted): nothing is run.
        assert _send(path, client.encode_request(key, ["add", "never said go"]), three) == client.ACCEPTED
        # GO without its three descriptors: refused after all (the caller runs it itself).
        assert _send_then_go(path, client.encode_request(key, ["add", "no descriptors"]), []) == b"AN"
        assert _send_then_go(path, client.encode_request(key, ["add", "two descriptors"]), three[:2]) == b"AN"
        assert _send(path, client.encode_request(key, ["add", "cut"])[:-3], three) == client.REFUSED  # ends early
        assert _send(path, b"", []) == client.REFUSED
        fake_count = client.encode_request(key, ["add", "x"]).replace(b"\x002\x00", b"\x005\x00")
        assert _send(path, fake_count, three) == client.REFUSED
    assert server.poll() is None
    poll("every descriptor sent to be closed", lambda: _files_open(server.pid) == fds_before)
    done = place.routed("add", "real")
    assert (done.code, done.out) == (0, "Added task 2: real\n")
    assert titles(place) == [(1, "first"), (2, "real")]
    assert place.routed("list").code == 0
    settled = _files_open(server.pid)  # (with the store's, now)
    for _ in range(3):
        assert place.routed("list").code == 0
        assert place.routed("show", "99").code == 1
    poll("no command to leave a descriptor behind", lambda: _files_open(server.pid) == settled)


def _as_nobody(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([require_tool("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                             "/usr/bin/python3", "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd="/")


@pytest.fixture
def open_place(tmp_path: Path) -> Iterator[Place]:
    """A place whose runtime directory is in /tmp itself (the way to it open to every user, as
    $XDG_RUNTIME_DIR's is): another user is stopped by that directory's mode alone."""
    if os.getuid() != 0:
        pytest.skip("needs root to run a process as another user")
    runtime = Path(tempfile.mkdtemp(prefix="taskvault-test-run-", dir="/tmp"))
    here = Place(tmp_path, runtime=runtime)
    try:
        yield here
    finally:
        here.stop_all()
        shutil.rmtree(runtime)
        assert here.servers() == []


def test_another_user_cannot_use_it(open_place: Place) -> None:
    place = open_place
    server = place.serve()
    path = place.socket_path()
    connect = ("import socket, sys\n"
               "s = socket.socket(socket.AF_UNIX)\n"
               "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(type(e).__name__)\n"
               "else:\n    print('connected')\n")
    out, _ = _as_nobody(connect, path).communicate(timeout=30)
    assert out == "PermissionError\n"
    # Let it in (the directory and the socket open to all): the resident process still refuses it.
    place.runtime.chmod(0o711)
    place.sockets.chmod(0o711)
    os.chmod(path, 0o666)
    send = ("import socket, sys, os\n"
            "s = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
            "body = bytes.fromhex(sys.argv[2])\n"
            "s.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(__import__('array').array('i', [0, 1, 2])))])\n"
            "print(s.recv(64))\n")
    request = client.encode_request(key_of(place.env()), ["add", "from nobody"]).hex()
    out, err = _as_nobody(send, path, request).communicate(timeout=30)
    assert out == "b'N'\n", err
    assert server.poll() is None
    assert not place.data.exists() or titles(place) == []


def test_a_socket_of_another_user_is_never_sent_a_command(open_place: Place) -> None:
    """Another user's process listening where the resident process would: the command sends it nothing,
    runs here, and starts no resident process."""
    place = open_place
    theirs = place.runtime / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    place.runtime.chmod(0o711)
    listen = ("import socket, sys\n"
              "s = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(1)\nprint('ready', flush=True)\n"
              "c, _ = s.accept()\ndata = c.recv(1 << 16)\nprint(len(data), flush=True)\n")
    listener = _as_nobody(listen, str(theirs / "s.sock"))
    assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
    place.sockets.mkdir(mode=0o700)
    os.rename(theirs / "s.sock", place.socket_path())
    done = place.ran_here("add", "mine")
    assert (done.code, done.out, done.err) == (0, "Added task 1: mine\n", "")
    out, _ = listener.communicate(timeout=30)
    assert out == "0\n"  # it was connected to, and sent nothing
    assert place.servers() == []


# -- 6. settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["banana", "0.5", "-1", "1e9", "nan"])
@pytest.mark.parametrize("args", [("add", "x"), ("list",), ("help",), ("help", "add")])
def test_a_resident_setting_that_is_not_one_is_refused_before_anything_runs(place: Place, value: str,
                                                                               args: tuple[str, ...]) -> None:
    done = place.run(*args, env=place.env(resident=value))
    assert done.code == 2
    assert done.out == ""
    assert len(done.err.splitlines()) == 1 and "TASKVAULT_RESIDENT=" in done.err and value in done.err, done.err
    assert not place.data.exists()
    assert place.servers() == [] and not place.sockets.exists()


@pytest.mark.parametrize("value", ["off", "OFF", "0", "no", "false"])
def test_off_runs_every_command_here_and_starts_none(place: Place, value: str) -> None:
    done = place.ran_here("add", "x", env=place.env(resident=value))
    assert done.code == 0
    assert place.servers() == [] and not place.sockets.exists()


@pytest.mark.parametrize("setting", [{"TZ": "Asia/Tokyo"}, {"NO_COLOR": ""}, {"TASKVAULT_LOCK_TIMEOUT": "3"}])
def test_other_settings_have_a_resident_process_of_their_own(place: Place, setting: dict[str, str]) -> None:
    plain, other = place.env(), place.env(**setting)
    assert place.run("add", "x", resident=False).code == 0
    assert place.socket_path(plain) != place.socket_path(other)
    first, second = place.serve(plain), place.serve(other)
    assert place.listening() == {place.socket_path(plain), place.socket_path(other)}
    for env in (plain, other):
        there = place.routed("show", "1", env=env)
        here = place.run("show", "1", env={**env, "TASKVAULT_RESIDENT": "off"})
        assert (there.code, normalised(there.out), there.err) == (here.code, normalised(here.out), here.err)
    assert first.poll() is None and second.poll() is None


# -- a question on the caller's terminal ------------------------------------------------------


@pytest.mark.parametrize("answer", ["y", "n", "ctrl-c"])
def test_a_question_is_asked_and_answered_on_the_caller_s_terminal(place: Place, tmp_path: Path, answer: str) -> None:
    """`delete 1 2` on a terminal asks first: through the resident process, the question is written to the
    caller's terminal and the answer (or Ctrl-C) read from it, as in the command's own process."""
    pexpect = pytest.importorskip("pexpect")
    results = {}
    for resident in (True, False):
        if place.data.exists():
            shutil.rmtree(place.data)
        for title in ("one", "two", "three"):
            assert place.run("add", title, resident=False).code == 0
        env = place.env(**({} if resident else {"resident": "off"}), TERM="dumb")
        if resident:
            place.serve(env)
        log = tmp_path / f"trace-{resident}.log"
        child = pexpect.spawn(require_tool("strace"), ["-qq", "-o", str(log), "-e", "trace=%file,connect",
                                                       *TASKVAULT, "delete", "1", "2"],
                              env=env, dimensions=(24, 100), timeout=30, encoding="utf-8")
        try:
            child.expect_exact("[y/N] ")
            if answer == "ctrl-c":
                child.sendintr()
            else:
                child.sendline(answer)
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        trace = log.read_text(encoding="utf-8", errors="replace")
        if resident:
            assert_routed(trace, place.sockets, place.data)
            place.stop_all()
        else:
            assert str(place.data) in trace
        results[resident] = (child.exitstatus, child.signalstatus, normalised(child.before or ""), titles(place))
    assert results[True] == results[False]
    assert results[True][3] == ([(3, "three")] if answer == "y" else [(1, "one"), (2, "two"), (3, "three")])
    if answer == "ctrl-c":  # a no that stops the command, as any interrupted command stops
        assert results[True][0] == 130 and "interrupted" in results[True][2]
    else:
        assert results[True][0] == 0


@pytest.mark.parametrize("columns", [40, 120])
def test_a_table_fits_the_caller_s_terminal_in_colour(place: Place, tmp_path: Path, columns: int) -> None:
    """The width and the colours are the caller's terminal's (the resident process has none of its own)."""
    pexpect = pytest.importorskip("pexpect")
    for title in ("a rather long title that a narrow terminal has to cut somewhere", "short"):
        assert place.run("add", title, "--tag", "home", "--priority", "high", resident=False).code == 0
    screens = {}
    for resident in (True, False):
        env = {k: v for k, v in place.env(**({} if resident else {"resident": "off"}), TERM="xterm").items()
               if k != "NO_COLOR"}
        if resident:
            place.serve(env)
        log = tmp_path / f"trace-{resident}.log"
        child = pexpect.spawn(require_tool("strace"), ["-qq", "-o", str(log), "-e", "trace=%file,connect",
                                                       *TASKVAULT, "list"],
                              env=env, dimensions=(24, columns), timeout=30, encoding="utf-8")
        child.expect(pexpect.EOF)
        child.close()
        trace = log.read_text(encoding="utf-8", errors="replace")
        if resident:
            assert_routed(trace, place.sockets, place.data)
        else:
            assert str(place.data) in trace
        screens[resident] = (child.exitstatus, child.before)
    assert screens[True] == screens[False]
    assert "\x1b[" in screens[True][1]  # (in colour: a terminal)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", screens[True][1]).splitlines()
    assert max(len(line) for line in shown) <= columns
    assert any("somewhere" in line for line in shown) is (columns == 120)  # (cut to fit 40 columns)
