"""Timing processes from outside: interleaved pairs, a session's acknowledgements, peak RSS, the fsync floor.

Nothing here imports taskvault: the benchmark drives the installed program through its command line
only, so it measures whatever the program's internals have become.
"""

from __future__ import annotations

import os
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Args = Callable[[int], list[str]]


class BenchError(SystemExit):
    """A measured command failed: the run stops, naming it."""


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank): with fewer than 100 values the p99 is the largest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_timed(args: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
              cwd: str | None = None) -> float:
    """Run ``args`` to its end, output read from pipes; the wall time from spawn to exit."""
    start = time.perf_counter()
    done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise BenchError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
    return elapsed


def interleaved(a: Callable[[int], float], b: Callable[[int], float], runs: int) -> tuple[list[float], list[float]]:
    """``runs`` pairs A B, B A, A B …: the order alternates, so neither side always runs on a warmer cache."""
    first, second = [], []
    for n in range(runs):
        if n % 2:
            tb = b(n)
            ta = a(n)
        else:
            ta = a(n)
            tb = b(n)
        first.append(ta)
        second.append(tb)
    return first, second


def pair_ratio(a: list[float], b: list[float]) -> float:
    """The median of the per-pair ratios a_i / b_i."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes, wall time."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pairs(reference: Callable[[], object], measured: Callable[[], object], count: int,
          clock: Callable[[Callable[[], object]], float] = timed) -> tuple[float, float, float]:
    """(median ratio measured/reference, median reference s, median measured s) over ``count`` A B pairs,
    each side timed by ``clock``."""
    ratios, refs, times = [], [], []
    for _ in range(count):
        ref, took = clock(reference), clock(measured)
        ratios.append(took / ref)
        refs.append(ref)
        times.append(took)
    return statistics.median(ratios), statistics.median(refs), statistics.median(times)


def write_fsynced(path: Path, data: bytes) -> None:
    """Write ``data`` to a new (or emptied) file, every byte, and fsync it: a floor's part of a durable write."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


# -- what a command's imports cost ---------------------------------------------------------------

_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(args: list[str], env: dict[str, str] | None = None,
               python: str = sys.executable) -> list[tuple[str, int, int]]:
    """Every module ``python -X importtime ARGS`` imports, in order: (name, depth, own µs). ``python`` is the
    interpreter (a console script's own, as its ``#!`` spells it, to run exactly what a user runs)."""
    done = subprocess.run([python, "-X", "importtime", *args], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise BenchError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-400:]}")
    found = []
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            found.append((match.group(4), (len(match.group(3)) - 1) // 2, int(match.group(1))))
    return found


def imports_beyond(args: list[str], env: dict[str, str] | None = None, python: str = sys.executable) -> list[str]:
    """The modules ``args`` imports that ``python -c pass`` does not, top-level imports only, in the order
    the program imports them (a module that a lazy import brings in a function counts where it happens)."""
    bare = {name for name, _, _ in importtime(["-c", "pass"], env, python)}
    return [name for name, depth, _ in importtime(args, env, python) if depth == 0 and name not in bare]


def wall_import_ms(modules: list[str], env: dict[str, str] | None, pairs: int,
                   python: str = sys.executable) -> tuple[float, float, float]:
    """The cost of importing ``modules`` (in that order), in ms: the median, over ``pairs`` interleaved
    pairs, of ``python -c "import m1; import m2 …"`` minus ``python -c pass`` (the same interpreter, flags
    and environment), by the wall clock and by the CPU time (user + system) the child used. Unlike
    ``-X importtime`` it counts everything a module costs the process (its unmarshalling, memory and
    tearing it down at exit) and adds no timing of its own; it counts nothing the command does after its
    imports. The CPU figure moves less than the wall clock when other work shares the machine; the third
    figure, the least time of one side less the least of the other (the runs the machine disturbed least),
    moves less still on a busy machine."""
    code = "; ".join(f"import {name}" for name in modules) or "pass"
    walls: list[float] = []
    cpus: list[float] = []
    least = {"importing": float("inf"), "bare": float("inf")}
    with tempfile.TemporaryDirectory() as empty:  # python -c puts the current directory first on sys.path
        importing = [python, "-c", code]
        bare = [python, "-c", "pass"]
        _timed_cpu(importing, env, empty)  # (fails loudly if one of them does not import on its own)
        for n in range(pairs):
            order = (importing, bare) if n % 2 == 0 else (bare, importing)
            times = {id(args): _timed_cpu(args, env, empty) for args in order}
            (wall_a, cpu_a), (wall_b, cpu_b) = times[id(importing)], times[id(bare)]
            walls.append(wall_a - wall_b)
            cpus.append(cpu_a - cpu_b)
            least["importing"] = min(least["importing"], wall_a)
            least["bare"] = min(least["bare"], wall_b)
    return (statistics.median(walls) * 1000, statistics.median(cpus) * 1000,
            (least["importing"] - least["bare"]) * 1000)


def _timed_cpu(args: list[str], env: dict[str, str] | None, cwd: str) -> tuple[float, float]:
    """Run ``args``: its wall time from spawn to exit, and the CPU time (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_timed(args, env, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def importtime_ms(args: list[str], env: dict[str, str] | None, runs: int, python: str = sys.executable) -> float:
    """The diagnostic figure: the own times ``-X importtime`` gives the modules ``args`` imports beyond
    ``python -c pass``, summed; the least of ``runs`` runs. It times each import from inside (adding its
    own clock reads) and leaves out what a module costs outside its import (tearing it down at exit)."""
    bare = {name for name, _, _ in importtime(["-c", "pass"], env, python)}
    return min(sum(own for name, _, own in importtime(args, env, python) if name not in bare) for _ in range(runs)) / 1000


# -- peak RSS of the measured process itself ----------------------------------------------------

#: A launcher small enough not to matter: Linux carries a process's high-water RSS across exec, so a
#: child forked straight from the (large) bench would report at least the bench's own size.
_LAUNCHER = ("import os, resource, sys\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    os.execv(sys.argv[1], sys.argv[1:])\n"
             "_, status = os.waitpid(pid, 0)\n"
             "sys.stderr.write('\\nRSS_KB %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(os.waitstatus_to_exitcode(status))\n")


def rss_method() -> str:
    return "GNU time -f %M" if Path("/usr/bin/time").exists() else "a small fork/exec launcher's RUSAGE_CHILDREN"


def peak_rss_kb(args: list[str], env: dict[str, str] | None = None, stdin: bytes = b"") -> int:
    """The peak resident set (VmHWM) of the process ``args`` starts, measured by a small process that starts it.

    GNU time (``/usr/bin/time -f %M``) when installed, else a tiny Python launcher: either way the measured
    process is forked from a process of a few MB, never from the benchmark.
    """
    with tempfile.NamedTemporaryFile(prefix="rss-", suffix=".txt") as report:
        if Path("/usr/bin/time").exists():
            wrapped = ["/usr/bin/time", "-f", "%M", "-o", report.name, *args]
        else:
            wrapped = [sys.executable, "-I", "-S", "-c", _LAUNCHER, shutil.which(args[0]) or args[0], *args[1:]]
        done = subprocess.run(wrapped, env=env, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode:
            raise BenchError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
        if Path("/usr/bin/time").exists():
            return int(Path(report.name).read_text().split()[-1])
        return int(done.stderr.decode().rsplit("RSS_KB", 1)[1].split()[0])


def naive_rss_kb(args: list[str]) -> int:
    """What the old method reported: the child's ru_maxrss from wait4, forked from the bench itself."""
    child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    return usage.ru_maxrss


# -- the fsync floor -----------------------------------------------------------------------------


class FsyncFloor:
    """Appending 400 bytes to a file and fsyncing it: the least a durable change can cost on this disk."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "fsync-floor.bin"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def block(self, count: int) -> list[float]:
        times = []
        line = b"x" * 399 + b"\n"
        for _ in range(count):
            start = time.perf_counter()
            os.write(self.fd, line)
            os.fsync(self.fd)
            times.append(time.perf_counter() - start)
        return times

    def close(self) -> None:
        os.close(self.fd)
        self.path.unlink()


# -- a session in script mode, one acknowledgement at a time --------------------------------------


class Session:
    """The program reading commands from a pipe: send one line, time until its output line arrives.

    Every command sent must print exactly one line on standard output (the changes do: ``Added task
    7: …``). A line on standard error, an exit, or no answer within ``deadline`` seconds stops the run:
    a program that does not flush each acknowledgement is reported rather than timed wrongly.
    """

    def __init__(self, args: list[str], env: dict[str, str] | None = None, deadline: float = 120.0) -> None:
        self.args = args
        self.deadline = deadline
        self.process = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, bufsize=0)
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        self._err = self.process.stderr.fileno()
        self._pending = b""

    def ack(self, line: str) -> tuple[float, str]:
        """Send ``line``; the seconds until its one output line has arrived, and that line."""
        data = line.encode() + b"\n"
        start = time.perf_counter()
        os.write(self._in, data)
        while b"\n" not in self._pending:
            left = self.deadline - (time.perf_counter() - start)
            ready, _, _ = select.select([self._out, self._err], [], [], max(0.0, left))
            if not ready:
                raise BenchError(f"no answer to {line!r} within {self.deadline:.0f} s: the program does not flush "
                                 "each acknowledgement in script mode, or it hangs")
            if self._err in ready:
                error = os.read(self._err, 65536).decode(errors="replace")
                if error:
                    raise BenchError(f"{' '.join(self.args)}: {line!r} failed: {error.strip()[:400]}")
            if self._out in ready:
                chunk = os.read(self._out, 65536)
                if not chunk:
                    raise BenchError(f"{' '.join(self.args)} exited while {line!r} was waiting for its answer")
                self._pending += chunk
        elapsed = time.perf_counter() - start
        answer, self._pending = self._pending.split(b"\n", 1)
        if self._pending:
            raise BenchError(f"{line!r} printed more than one line: {self._pending[:200]!r}")
        return elapsed, answer.decode(errors="replace").rstrip("\r")

    def pipelined(self, lines: list[str]) -> list[tuple[float, str]]:
        """Send ``lines`` at once (keep them under the pipe's 64 KB); for each, the seconds from the previous
        answer (or from the send, for the first) to its answer, and the answer. The program reads its input a
        line at a time and answers each before the next, so the gap between answers is what a command took."""
        data = "".join(line + "\n" for line in lines).encode()
        start = last = time.perf_counter()
        os.write(self._in, data)
        found: list[tuple[float, str]] = []
        while len(found) < len(lines):
            ready, _, _ = select.select([self._out, self._err], [], [], max(0.0, self.deadline - (time.perf_counter() - start)))
            if not ready:
                raise BenchError(f"no answer to {lines[len(found)]!r} within {self.deadline:.0f} s")
            if self._err in ready:
                error = os.read(self._err, 65536).decode(errors="replace")
                if error:
                    raise BenchError(f"{' '.join(self.args)}: {lines[len(found)]!r} failed: {error.strip()[:400]}")
            if self._out in ready:
                chunk = os.read(self._out, 65536)
                if not chunk:
                    raise BenchError(f"{' '.join(self.args)} exited while {lines[len(found)]!r} was waiting")
                now = time.perf_counter()
                complete = chunk.count(b"\n") + self._pending.count(b"\n")
                self._pending += chunk
                # The first answer completed by this read took the time since the last one; any others
                # that arrived in the same read took (as far as can be seen) no time.
                for k in range(min(complete, len(lines) - len(found))):
                    answer, self._pending = self._pending.split(b"\n", 1)
                    found.append((now - last if k == 0 else 0.0, answer.decode(errors="replace").rstrip("\r")))
                last = now
        if self._pending:
            raise BenchError(f"more answers than lines: {self._pending[:200]!r}")
        return found

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        code = self.process.wait(timeout=self.deadline)
        if code:
            assert self.process.stderr
            raise BenchError(f"{' '.join(self.args)} ended with {code}: {self.process.stderr.read()[-400:]!r}")


def installed_taskvault(python: str) -> str:
    """The ``taskvault`` command installed beside ``python``; exits saying how to install it if it is not."""
    taskvault = str(Path(python).with_name("taskvault"))
    if not Path(taskvault).exists():
        raise SystemExit(f"{taskvault} is missing: install the project into this Python first (pip install '.[bench]')")
    return taskvault
