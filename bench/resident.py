"""The resident taskvault process as the benchmark sees it: started by a command, found, verified, stopped.

Users get the resident process by default (src/taskvault/cli/resident_client.py): a one-shot command
first offers itself to the resident process of its user, program and settings over a Unix socket in
$XDG_RUNTIME_DIR/taskvault, and only when none answers runs in its own process, starting one for the
next command. The benchmark measures both paths, so for each store it keeps one resident process of
its own:

* its environment names the store by TASKVAULT_DATA_DIR (``--data-dir`` is never routed to a resident
  process) and gives it an XDG_RUNTIME_DIR of its own, so the servers of two stores, or of another
  program on the machine, never mix;
* it is started the way a user starts it, by running one command, and then verified before anything is
  timed: its socket exists, and a live process whose command line is taskvault's resident server, whose
  environment has this XDG_RUNTIME_DIR, holds that very socket (its inode in /proc/net/unix);
* after the timed runs the same process must still be the one serving (a run that found none would have
  run in-process and started another: the figures would mix the two paths, so the run stops);
* every server it started is stopped at the end and on error: SIGTERM, then its exit is awaited with a
  deadline (a server that outlives it is reported, never killed by name).

The console script runs under the interpreter its ``#!`` line names (``.venv/bin/python3``), which is part
of the resident process's identity: anything run "as the console script" with another spelling of the
interpreter (``.venv/bin/python``) would not be served, so ``interpreter`` gives that exact path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from measure import BenchError

SERVER_MODULE = "taskvault.cli.resident_server"


def interpreter(console_script: str) -> str:
    """The interpreter a console script's ``#!`` line names, exactly as written (the resident identity uses it)."""
    with open(console_script, "rb") as script:
        first = script.readline().decode().strip()
    if not first.startswith("#!"):
        raise BenchError(f"{console_script} has no #! line")
    return first[2:].split()[0]


def _socket_inodes() -> dict[str, int]:
    """Path → inode of every bound Unix socket the kernel lists."""
    found: dict[str, int] = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("/"):
            found[fields[7]] = int(fields[6])
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, waiting for init to reap it, has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _servers_for(runtime: Path) -> list[int]:
    """Pids of this user's resident taskvault processes whose XDG_RUNTIME_DIR is ``runtime``."""
    pids = []
    marker = f"XDG_RUNTIME_DIR={runtime}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if SERVER_MODULE.encode() not in (entry / "cmdline").read_bytes():
                continue
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
        except OSError:
            continue  # (ended meanwhile, or another user's)
        pids.append(int(entry.name))
    return pids


def _holds(pid: int, inode: int) -> bool:
    target = f"socket:[{inode}]"
    try:
        return any(os.readlink(fd) == target for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


class Resident:
    """The resident process of one store: its environment, and the process once verified."""

    def __init__(self, name: str, store: Path, runtime: Path, base_env: dict[str, str]) -> None:
        self.name = name
        self.runtime = runtime
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        env = {k: v for k, v in base_env.items() if not k.startswith("TASKVAULT_")}
        #: The default configuration: TASKVAULT_RESIDENT unset; the store by environment, not --data-dir.
        self.env = env | {"TASKVAULT_DATA_DIR": str(store), "XDG_RUNTIME_DIR": str(runtime)}
        self.pid: int | None = None
        self.started: set[int] = set()

    def serving(self) -> int | None:
        """The pid of the process verified to serve this store's socket now, or None."""
        directory = self.runtime / "taskvault"
        sockets = list(directory.glob("*.sock")) if directory.is_dir() else []
        if not sockets:
            return None
        inodes = _socket_inodes()
        for pid in _servers_for(self.runtime):
            if _alive(pid) and any(str(s) in inodes and _holds(pid, inodes[str(s)]) for s in sockets):
                return pid
        return None

    def start(self, command: list[str], deadline: float = 120.0) -> int:
        """Run ``command`` (a routed command, in this environment) until a resident process serves, and
        return its pid; the command runs in-process and starts it, as a user's first command does."""
        self.started.update(_servers_for(self.runtime))
        pid = self.serving()
        if pid is not None:
            self.pid = pid
            return pid
        done = subprocess.run(command, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        if done.returncode:
            raise BenchError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
        pid = self.wait_serving(deadline)
        self.pid = pid
        return pid

    def wait_serving(self, deadline: float = 120.0) -> int:
        """Poll (every 20 ms) until a resident process serves this store; BenchError after ``deadline`` s."""
        end = time.monotonic() + deadline
        while True:
            self.started.update(_servers_for(self.runtime))
            pid = self.serving()
            if pid is not None:
                self.pid = pid
                return pid
            if time.monotonic() > end:
                raise BenchError(f"{self.name}: no resident process served {self.runtime} within {deadline:.0f} s")
            time.sleep(0.02)

    def check_same(self, what: str) -> None:
        """After timed runs: the process verified before them must still be the one serving."""
        now = self.serving()
        if self.pid is None or now != self.pid:
            raise BenchError(f"{self.name}: the resident process changed during {what} (pid {self.pid} before, "
                             f"{now} after): some runs were not served by it, so their figures mix the two paths")

    def peak_rss_kb(self) -> tuple[int, int]:
        """(VmHWM, VmRSS) of the serving process, in kB, from /proc/PID/status."""
        if self.pid is None or not _alive(self.pid):
            raise BenchError(f"{self.name}: no resident process to measure")
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.split()
        return int(fields["VmHWM"][0]), int(fields["VmRSS"][0])

    def stop(self, deadline: float = 30.0) -> list[int]:
        """SIGTERM every resident process this store's environment ran, and wait (polling every 20 ms,
        at most ``deadline`` s) until each has exited; the pids still running then (none, normally)."""
        self.started.update(_servers_for(self.runtime))
        for pid in self.started:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + deadline
        while any(_alive(pid) for pid in self.started) and time.monotonic() < end:
            time.sleep(0.02)
        left = sorted(pid for pid in self.started if _alive(pid))
        self.pid = None
        if not left:
            self.started.clear()
        return left
