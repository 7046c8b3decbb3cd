"""Attacks on the resident process (resident_client / resident_server), from outside, with real processes.

Each test is one way an outside attack broke, on its first version, a promise that the same command
keeps with TASKVAULT_RESIDENT=off; each passes now. A hang is detected by a generous subprocess timeout (a hang has no other
signature); no test measures speed.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskvault.cli import resident_client as client

pytestmark = pytest.mark.slow

HANG = 30  # seconds after which a command that should answer at once is called hung


class Place:
    def __init__(self, root: Path, data: str | None = None) -> None:
        self.root = root
        self.run = root / "run"
        self.run.mkdir(mode=0o700)
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "LANG": "C.UTF-8",
                    "XDG_RUNTIME_DIR": str(self.run), "XDG_STATE_HOME": str(root / "state"),
                    "TASKVAULT_DATA_DIR": data if data is not None else str(root / "data")}

    def tv(self, *args: str, resident: bool = True, cwd: Path | None = None,
           **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = dict(self.env) if resident else {**self.env, "TASKVAULT_RESIDENT": "off"}
        return subprocess.run([sys.executable, "-m", "taskvault", *args], env=env, cwd=cwd or self.root,
                              capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL,
                              **kwargs)  # type: ignore[call-overload]

    def residents(self) -> list[int]:
        found = []
        marker = f"XDG_RUNTIME_DIR={self.run}\0".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                env = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if b"resident_server" in cmd and marker in env:
                found.append(int(pid))
        return found

    def wait_for_resident(self) -> int:
        """Poll until the resident started by a one-shot command listens (its socket is there)."""
        for _ in range(2000):
            sockets = list((self.run / "taskvault").glob("*.sock")) if (self.run / "taskvault").is_dir() else []
            pids = self.residents()
            if sockets and pids:
                return pids[0]
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(["sleep", "0.01"], timeout=1)
        raise AssertionError("no resident process started")

    def socket_path(self) -> str:
        key = client.identity(self.env)
        return os.path.join(client.runtime_directory(self.env), client.socket_name(key) + ".sock")


@pytest.fixture
def place() -> Iterator[Place]:
    root = Path(tempfile.mkdtemp(prefix="tvra", dir="/tmp"))  # (short: a socket path holds 108 bytes)
    p = Place(root)
    try:
        yield p
    finally:
        for pid in p.residents():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def started(p: Place) -> int:
    assert p.tv("add", "seed").returncode == 0
    pid = p.wait_for_resident()
    assert p.tv("add", "through the resident").returncode == 0
    return pid


def titles(p: Place, cwd: Path | None = None) -> list[str]:
    r = p.tv("--json", "list", "--all", resident=False, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return [t["title"] for t in json.loads(r.stdout)]


def test_relative_data_dir_change_goes_to_the_store_the_user_named() -> None:
    """TASKVAULT_DATA_DIR relative to the current directory: the resident (cwd /) saves elsewhere."""
    root = Path(tempfile.mkdtemp(prefix="tvra", dir="/tmp"))
    relative = f"{str(root).lstrip('/')}/store"  # from / it is ROOT/store; from ROOT/work, ROOT/work/ROOT/store
    p = Place(root, data=relative)
    work = root / "work"
    work.mkdir()
    try:
        assert p.tv("add", "first", cwd=work).returncode == 0
        assert not p.residents()  # (such a command runs in its own process and starts none)
        second = p.tv("add", "second", cwd=work)
        assert second.returncode == 0, second.stderr
        assert titles(p, cwd=work) == ["first", "second"]  # acknowledged, so in the store named
    finally:
        for pid in p.residents():
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def test_damaged_snapshot_is_refused_through_the_resident(place: Place) -> None:
    started(place)
    snapshot = Path(place.env["TASKVAULT_DATA_DIR"]) / "tasks.json"
    os.truncate(snapshot, 20)
    off = place.tv("list", resident=False)
    assert off.returncode != 0
    on = place.tv("list")
    assert (on.returncode, on.stdout) == (off.returncode, off.stdout)
    add = place.tv("add", "into a damaged store")
    assert add.returncode != 0, "a change was acknowledged into a store that no longer loads"


def test_damaged_journal_is_refused_through_the_resident(place: Place) -> None:
    started(place)
    journal = Path(place.env["TASKVAULT_DATA_DIR"]) / "tasks.journal"
    data = bytearray(journal.read_bytes())
    at = data.index(b'"seed"')
    data[at + 1] = ord("X")
    with open(journal, "r+b") as handle:  # in place, same size
        handle.write(data)
    off = place.tv("list", resident=False)
    assert off.returncode != 0
    assert place.tv("list").returncode == off.returncode


def test_store_files_removed_the_next_command_works_as_without_resident(place: Place) -> None:
    started(place)
    data = Path(place.env["TASKVAULT_DATA_DIR"])
    (data / "tasks.json").unlink()
    (data / "tasks.journal").unlink()
    place.tv("add", "after removal")  # whatever this one says, 'restart taskvault' is then done
    again = place.tv("add", "again")
    assert again.returncode == 0, again.stderr


def test_a_stopped_resident_does_not_hang_commands(place: Place) -> None:
    pid = started(place)
    os.kill(pid, signal.SIGSTOP)
    try:
        result = place.tv("list")  # TimeoutExpired: hung
    finally:
        os.kill(pid, signal.SIGCONT)
    assert result.returncode == 0


def test_a_question_in_one_terminal_does_not_hang_another_command(place: Place) -> None:
    started(place)
    main, sub = os.openpty()
    asking = subprocess.Popen([sys.executable, "-m", "taskvault", "delete", "1", "2"], env=place.env,
                              stdin=sub, stdout=sub, stderr=sub, start_new_session=True)
    try:
        seen = b""
        while b"[y/N]" not in seen:
            chunk = os.read(main, 1024)
            assert chunk
            seen += chunk
        other = place.tv("list")  # TimeoutExpired: hung behind the question
        assert other.returncode == 0
    finally:
        os.write(main, b"n\n")
        asking.wait(timeout=HANG)
        os.close(main)
        os.close(sub)


def _wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def test_ctrl_c_while_waiting_for_the_resident_prints_no_traceback(place: Place) -> None:
    pid = started(place)
    os.kill(pid, signal.SIGSTOP)
    try:
        waiting = subprocess.Popen([sys.executable, "-m", "taskvault", "list"], env=place.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while not any(w in _wchan(waiting.pid) for w in ("unix_stream", "poll")):  # blocked reading the answer
            assert waiting.poll() is None
        waiting.send_signal(signal.SIGINT)
        _, err = waiting.communicate(timeout=HANG)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert b"Traceback" not in err, err.decode()
    assert len(err.decode().strip().splitlines()) <= 2


def test_a_broken_request_leaks_no_descriptor_in_the_resident(place: Place) -> None:
    pid = started(place)
    before = len(os.listdir(f"/proc/{pid}/fd"))
    key = client.identity(place.env)
    request = client.encode_request(key, ["list"])
    broken = (len(request) + 100).to_bytes(4, "big") + request[4:]  # says more than it sends, then hangs up
    r, w = os.pipe()
    for _ in range(10):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(place.socket_path())
            sock.sendmsg([broken], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w, w]).tobytes())])
    os.close(r)
    os.close(w)
    assert place.tv("list").returncode == 0  # (served after the broken ones: one at a time)
    assert len(os.listdir(f"/proc/{pid}/fd")) == before


def _fake_resident(path: str, answer: bytes) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1 << 16)  # (the request)
            conn.sendall(answer[:1])
            if answer[:1] == client.ACCEPTED:  # (the protocol: GO comes with the caller's descriptors)
                _, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(12))
                for _, _, payload in ancillary:  # (the caller's stdin, stdout, stderr: not kept open here)
                    for fd in array.array("i", payload[: len(payload) - len(payload) % 4]):
                        os.close(fd)
            conn.sendall(answer[1:])

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_failure_status_from_the_resident_is_never_exit_0(place: Place) -> None:
    directory = place.run / "taskvault"
    directory.mkdir(mode=0o700)
    listener = _fake_resident(place.socket_path(), b"AX256\n")
    try:
        result = place.tv("list")
    finally:
        listener.close()
    assert result.returncode != 0
