"""Helpers for tests/test_resident.py: a private runtime directory per test, the resident processes
started there (found through their environment, stopped at the end), and proofs that a command ran there."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from taskvault.cli import resident_client as client

from .conftest import TASKVAULT, Completed, require_tool, resident_processes

#: The resident process, started as resident_client.start_server starts it.
SERVER = [sys.executable, "-P", "-m", "taskvault.cli.resident_server"]
#: The longest any state polled for may take to appear (a deadline, never a measure).
DEADLINE = 30.0
UNKNOWN = ("taskvault: the resident taskvault process ended before it said how the command ended; "
           "a change it was making was saved whole or not at all: 'taskvault history' shows which")


def poll(what: str, check: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something true; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {deadline:g} s")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid: int, deadline: float = DEADLINE) -> None:
    poll(f"process {pid} to end", lambda: not alive(pid), deadline)


class Lines:
    """A stream read line by line in a thread, so that a test can wait for a line with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[str] = []
        self.ended = False
        self._queue: queue.Queue[None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        self.ended = True

    def wait_for(self, text: str) -> None:
        poll(f"{text!r} in {self.lines}", lambda: any(text in line for line in self.lines))

    def wait_end(self) -> list[str]:
        poll("the end of the stream", lambda: self.ended)
        return self.lines


class Place:
    """One test's runtime directory (mode 0700), store, and environment; the resident processes found there."""

    def __init__(self, root: Path, runtime: Path | None = None) -> None:
        self.root = root
        self.runtime = runtime or root / "run"
        self.runtime.mkdir(mode=0o700, exist_ok=runtime is not None)
        self.runtime.chmod(0o700)
        self.sockets = self.runtime / "taskvault"
        self.data = root / "data"
        self.started: list[subprocess.Popen[bytes]] = []

    def env(self, resident: str = "60", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TASKVAULT_", "XDG_")) and k not in ("COLUMNS", "LINES", "NO_COLOR", "TZ")}
        env.update(TASKVAULT_DATA_DIR=str(self.data), NO_COLOR="1", TASKVAULT_RESIDENT=resident,
                   XDG_RUNTIME_DIR=str(self.runtime), XDG_STATE_HOME=str(self.root / "state"))
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args: str, resident: bool = True, env: dict[str, str] | None = None, stdin: bytes | int | None = None,
            stdout: int | None = None, preexec_fn: Callable[[], None] | None = None,
            command: list[str] | None = None) -> Completed:
        """Run taskvault (a fresh interpreter) with this place's environment; off unless ``resident``."""
        full = env if env is not None else self.env(**({} if resident else {"resident": "off"}))
        feed = stdin if isinstance(stdin, int) else (subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        proc = subprocess.Popen([*(command or []), *TASKVAULT, *args], stdin=feed,
                                stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
                                env=full, preexec_fn=preexec_fn)
        out, err = proc.communicate(stdin if isinstance(stdin, bytes) else None, timeout=60)
        return Completed(proc.returncode, (out or b"").decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def traced(self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> tuple[Completed, str]:
        """Run a command under strace (every call naming a file, and connect): its result and the trace.
        Its own process only (no -f): a resident process it starts is not followed (strace would wait for it)."""
        log = self.root / f"strace-{time.monotonic_ns()}.log"
        tracer = [require_tool("strace"), "-qq", "-s", "200", "-o", str(log), "-e", "trace=%file,connect"]
        done = self.run(*args, env=env, stdin=stdin, command=tracer)
        return done, log.read_text(encoding="utf-8", errors="replace")

    def routed(self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Completed:
        """Run a command that must run in the resident process: the trace shows it connected to the
        socket of this place and opened, read or even looked at no file of the store."""
        done, trace = self.traced(*args, env=env, stdin=stdin)
        assert_routed(trace, self.sockets, self.data)
        return done

    def ran_here(self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Completed:
        """Run a command that must run in its own process: the trace shows it opened the store."""
        done, trace = self.traced(*args, env=env, stdin=stdin)
        assert str(self.data) in trace, trace[-3000:]
        return done

    # -- the resident processes -----------------------------------------------------------

    def servers(self) -> list[int]:
        """Every resident process whose environment names this place's runtime directory."""
        mark = f"XDG_RUNTIME_DIR={self.runtime}".encode()
        return [pid for pid in resident_processes(lambda environ: mark in environ) if alive(pid)]

    def listening(self) -> set[str]:
        """The sockets of this place's directory on which a process listens (from /proc/net/unix)."""
        found = set()
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and int(fields[3], 16) & 0x10000 and fields[7].startswith(f"{self.sockets}/"):
                found.add(fields[7])
        return found

    def socket_path(self, env: dict[str, str] | None = None) -> str:
        """Where the resident process for ``env`` listens, as the client finds it."""
        return str(self.sockets / (client.socket_name(key_of(env or self.env())) + ".sock"))

    def serve(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a resident process here, as a command does, and wait until it listens."""
        full = env or self.env()
        proc = subprocess.Popen(SERVER, cwd="/", env=full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.started.append(proc)
        path = self.socket_path(full)
        poll(f"a resident process listening on {path}", lambda: path in self.listening() or proc.poll() is not None)
        assert proc.poll() is None, f"the resident process ended at once ({proc.returncode})"
        return proc

    def one_server(self) -> int:
        """The one resident process here, once it listens."""
        pids = poll("one resident process listening", lambda: (len(self.servers()) == 1 and self.listening()
                                                                 and self.servers()))
        return int(pids[0])

    def stop_all(self) -> None:
        """SIGTERM every resident process of this place and wait for each to end (SIGKILL at the deadline)."""
        for pid in self.servers():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                wait_gone(pid, 10)
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 10)
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def key_of(env: dict[str, str]) -> str:
    """The identity a command run with ``env`` (by this interpreter) gives its resident process."""
    return client.identity(env)


def assert_routed(trace: str, sockets: Path, data: Path) -> None:
    connected = [line for line in trace.splitlines() if "connect(" in line and str(sockets) in line]
    assert connected and all(line.rstrip().endswith("= 0") for line in connected), trace[-3000:]
    touched = [line for line in trace.splitlines() if str(data) in line]
    assert not touched, touched


def normalised(text: str, *paths: tuple[Path, str]) -> str:
    """Output with what must differ between two runs made alike: times, uuids, load and save durations."""
    for path, name in paths:
        text = text.replace(str(path), name)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?Z?)?", "TIME", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", text)
    text = re.sub(r"(?m)^(last load|last save) .*$", r"\1 …", text)
    return re.sub(r"waiting up to [0-9.]+ s", "waiting up to N s", text)


def copy_package(destination: Path) -> Path:
    """A copy of the installed taskvault package under ``destination``/src (for PYTHONPATH); returns src."""
    import taskvault

    source = Path(taskvault.__file__).resolve().parent
    src = destination / "src"
    shutil.copytree(source, src / "taskvault", ignore=shutil.ignore_patterns("__pycache__"))
    return src
