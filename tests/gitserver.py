"""A real git server on loopback for sync's tests: ``git daemon`` started and stopped by pid, and a TCP
proxy in front of it that cuts the connection after a chosen number of bytes (a network partition).

Plain context managers, usable from any test module (``from .gitserver import GitDaemon, PartitionProxy``);
nothing waits by sleeping: readiness is polled, with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

#: How long a server may take to start accepting before the fixture gives up.
START_DEADLINE = 10.0
TO_SERVER = "to_server"
TO_CLIENT = "to_client"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (the caller retries if another process takes it first)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def accepts(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:port."""
    with socket.socket() as client:
        client.settimeout(1.0)
        return client.connect_ex(("127.0.0.1", port)) == 0


def git_environment(home: Path) -> dict[str, str]:
    """An environment in which git reads no configuration but an empty one of ``home``'s."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    environment.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
                        "LC_ALL": "C"})
    return environment


def make_bare(path: Path) -> Path:
    """A new, empty bare repository at ``path`` whose default branch is main."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], check=True,
                   env=git_environment(path.parent))
    return path


def git_in(repository: Path, *args: str) -> str:
    """Run git on a bare repository and return its output (for tests to look at what the server holds)."""
    return subprocess.run(["git", "--git-dir", str(repository), *args], check=True, capture_output=True, text=True,
                          env=git_environment(repository.parent)).stdout


def branch_of(repository: Path) -> str | None:
    """The commit the repository's main points at, or None."""
    found = subprocess.run(["git", "--git-dir", str(repository), "rev-parse", "--quiet", "--verify", "refs/heads/main"],
                           capture_output=True, text=True, env=git_environment(repository.parent))
    return found.stdout.strip() if found.returncode == 0 else None


class GitDaemon:
    """``git daemon`` serving ``base`` (and the bare repository ``base/tasks.git``) on 127.0.0.1, pushes allowed.

    Restartable on the same port and directory; ``kill9`` is the server dying (its whole process group,
    the connection handlers too).
    """

    def __init__(self, base: Path, *, name: str = "tasks.git") -> None:
        self.base = base
        self.repository = base / name
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        if not self.repository.exists():
            make_bare(self.repository)

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/{self.repository.name}"

    def start(self) -> GitDaemon:
        """Start the daemon (on its old port if it had one) and return once it accepts connections."""
        for _attempt in range(5):
            port = self.port or free_port()
            log = (self.base / "daemon.log").open("ab")
            with log:
                self.process = subprocess.Popen(
                    ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}", f"--base-path={self.base}",
                     "--export-all", "--enable=receive-pack", "--informative-errors", str(self.base)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                    env=git_environment(self.base))
            deadline = time.monotonic() + START_DEADLINE
            while self.process.poll() is None and time.monotonic() < deadline:
                if accepts(port):
                    self.port = port
                    return self
            self._signal(signal.SIGKILL)
            if self.port:  # a fixed port that will not come back is an error, not a reason to move
                break
        raise RuntimeError(f"git daemon did not start; see {self.base / 'daemon.log'}")

    def stop(self) -> None:
        """Stop the daemon and every connection it serves; the port is kept for a restart."""
        self._signal(signal.SIGTERM)

    def kill9(self) -> None:
        """SIGKILL the daemon's whole process group, as a crash would."""
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.kill9()


class PartitionProxy:
    """A TCP proxy on 127.0.0.1 in front of ``upstream`` that forwards both ways, counting bytes.

    ``cut_after=(direction, n)``: once ``n`` bytes have passed that way (over the proxy's life), both
    sockets are closed, and connections made after that are closed at once: a partition.
    ``hold_after=(direction, n)``: after ``n`` bytes that way, forwarding stops and ``held`` is set until
    ``release()`` — time for a test to kill the server in the middle of a transfer.
    """

    def __init__(self, upstream_port: int, *, cut_after: tuple[str, int] | None = None,
                 hold_after: tuple[str, int] | None = None) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.hold_after = hold_after
        self.passed = {TO_SERVER: 0, TO_CLIENT: 0}
        self.cut = threading.Event()
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop_reader, self._stop_writer = socket.socketpair()
        self._threads: list[threading.Thread] = []

    def url(self, name: str = "tasks.git") -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> Self:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stop_writer.send(b"x")
        self._release.set()
        for thread in list(self._threads):
            thread.join(10)
        self._listener.close()
        self._stop_reader.close()
        self._stop_writer.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._stop_reader, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._stop_reader in ready:
                    return
                client, _ = self._listener.accept()
                if self.cut.is_set():
                    client.close()
                    continue
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
                self._spawn(self._pump, client, server)

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: (server, TO_SERVER), server: (client, TO_CLIENT)}
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ)
                selector.register(server, selectors.EVENT_READ)
                selector.register(self._stop_reader, selectors.EVENT_READ)
                while len(selector.get_map()) > 1:
                    for key, _ in selector.select():
                        if key.fileobj is self._stop_reader:
                            return
                        source = key.fileobj
                        assert isinstance(source, socket.socket)
                        target, direction = peer[source]
                        try:
                            data = source.recv(65536)
                        except OSError:
                            return
                        if not data:  # one side finished sending: pass the end on, keep the other way open
                            selector.unregister(source)
                            with contextlib.suppress(OSError):
                                target.shutdown(socket.SHUT_WR)
                            continue
                        if not self._forward(data, target, direction):
                            return
        finally:
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _forward(self, data: bytes, target: socket.socket, direction: str) -> bool:
        """Send what may pass of ``data``, holding or cutting at the chosen byte; False once the connection ends."""
        hold = self.hold_after
        if hold is not None and hold[0] == direction and not self.held.is_set():
            room = self._room(direction, hold[1], len(data))
            if room is not None:
                if not self._send(target, data[:room], direction):
                    return False
                self.held.set()
                self._release.wait()
                data = data[room:]
        cut = self.cut_after
        if cut is not None and cut[0] == direction:
            room = self._room(direction, cut[1], len(data))
            if room is not None:
                self._send(target, data[:room], direction)
                self.cut.set()
                return False
        return self._send(target, data, direction)

    def _room(self, direction: str, limit: int, size: int) -> int | None:
        """How many of ``size`` bytes pass before ``limit`` is reached that way; None if it is not reached."""
        with self._lock:
            room = max(limit - self.passed[direction], 0)
        return room if size >= room else None

    def _send(self, target: socket.socket, data: bytes, direction: str) -> bool:
        with self._lock:
            self.passed[direction] += len(data)
        try:
            target.sendall(data)
        except OSError:
            return False
        return True
