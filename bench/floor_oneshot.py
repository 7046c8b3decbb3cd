"""Floors of a one-shot `add`: Python, its site, attrs and a resident process on a Unix socket, beside Taskwarrior.

    python bench/floor_oneshot.py [--sizes 1000,10000] [--runs 21] [--json FILE] [--dir DIR] [--keep]

Issue 17, target 1 asks one-shot add, done and edit ≤ 3x Taskwarrior 2.6.2 at 1,000 tasks and ≤ 1x at
10,000. The issue allows a resident process that one-shot commands talk to through a Unix socket, the
figures shown first: these are those figures, for `add`. For each size the store is built through the
program (a script-mode session; bench/stores.py) and Taskwarrior gets the same tasks by `task import`
(80% pending, 20% completed). Then every variant below is timed against `task add` (its own data dir,
confirmation=off and verbose=nothing from its taskrc) in interleaved pairs (A B, B A, A B …); the ratio is
the median of the per-pair ratios. Each command runs once, untimed, before its pairs.

* taskvault add, in-process: the installed program (TASKVAULT_RESIDENT=off): a fresh process imports
  taskvault, loads and checks the store;
* taskvault add, resident: the installed program as users run it by default, its own resident process
  (src/taskvault/cli/resident_server.py) already serving the store: started by one command, verified before
  the pairs and the same process after them, stopped at the end (bench/resident.py);
* floor -I -S: `python -I -S bench/floor_add.py FILE`: start Python without site, open a file, append a
  line, fsync, exit. No one-shot command in Python can be faster;
* floor -I: the same with site (what an installed console script pays: its venv's site-packages);
* floor -I + attrs: the same after `import attrs`, the library taskvault's domain is built on;
* thin client -I -S: a resident server, started once by this script and holding its file open, listens on
  a Unix socket; the client `python -I -S -c …` connects (with _socket, no further imports), sends its
  command line, the server appends it to the file, fsyncs and replies, the client prints the reply. The
  best a resident-process design could do: the server here parses, checks and plans nothing;
* thin client -I: the same client with site;
* thin client, console script: the same client as the installed `taskvault` script runs it (`#!` the
  interpreter, without -I, so with site; scripts/taskvault imports nothing else first), run by its path;
* python -I -S -c pass, python -I -c pass: the interpreter starting and stopping, nothing else.

Prints each as median and p99 ms (with fewer than 100 runs the p99 is the slowest run) and as its ratio to
Taskwarrior, then which of target 1's limits each could meet, and the room left under the limit: the
milliseconds a command built on that variant would have for everything the variant does not do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import BenchError, installed_taskvault, interleaved, pair_ratio, pct, run_timed
from report import ms
from run import compile_installed, ensure_taskwarrior
from stores import TAG, build_taskvault, build_taskwarrior, seeded_tasks

from resident import Resident as TaskvaultResident

BENCH = Path(__file__).resolve().parent
PY = sys.executable
#: Target 1's limit on a one-shot change, as a multiple of Taskwarrior's time, by store size.
LIMITS = {1_000: 3.0, 10_000: 1.0, 100_000: 0.5}

#: The resident process: holds the file open, and for each connection reads one command line (arguments
#: separated by NUL, ended by a newline), appends it as a JSON line, fsyncs, and replies with one line.
SERVER = r"""
import json, os, socket, sys
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(16)
sys.stdout.write("ready\n")
sys.stdout.flush()
added = 0
while True:
    conn, _ = listener.accept()
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.endswith(b"\n"):
            continue
        words = data[:-1].decode("utf-8", "surrogateescape").split("\0")
        if words == ["stop"]:
            conn.sendall(b"stopped\n")
            break
        os.write(fd, json.dumps({"op": words[0], "args": words[1:]}).encode() + b"\n")
        os.fsync(fd)
        added += 1
        conn.sendall(f"Added task {added}: {words[1] if len(words) > 1 else ''}\n".encode())
os.close(fd)
"""

#: The client: nothing imported but _socket. Sends its arguments, prints the reply; exit 1 unless it says Added.
CLIENT = r"""
import _socket, sys
s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall("\0".join(sys.argv[2:]).encode("utf-8", "surrogateescape") + b"\n")
reply = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
s.close()
sys.stdout.write(reply.decode())
sys.exit(0 if reply.startswith(b"Added") else 1)
"""


class Resident:
    """The thin client's server: one process for the whole run, its socket and its file in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.socket = str(directory / "tv.sock")
        self.log = directory / "resident.log"
        self.process = subprocess.Popen([PY, "-I", "-S", "-c", SERVER, self.socket, str(self.log)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout
        if self.process.stdout.readline() != "ready\n":
            raise BenchError(f"the resident server did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        done = subprocess.run([PY, "-I", "-S", "-c", CLIENT, self.socket, "stop"], capture_output=True)
        if done.stdout != b"stopped\n":
            self.process.kill()
        self.process.wait(timeout=30)


class FloorOneShot:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = [int(s) for s in args.sizes.split(",")]
        self.taskvault = installed_taskvault(PY)
        task = ensure_taskwarrior()
        if task is None:
            raise SystemExit("Taskwarrior is needed: every figure here is a ratio to its `task add`")
        self.task = task
        compile_installed()
        # Short: a Unix socket's path must fit in 108 bytes.
        self.base = Path(tempfile.mkdtemp(prefix="tv-floor-", dir=args.dir))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
        self.rows: list[dict[str, Any]] = []

    def variants(self, size: int, store: Path, resident: Resident,
                 real: TaskvaultResident) -> list[tuple[str, Callable[[int], list[str]], dict[str, str]]]:
        floor_file = str(self.base / f"floor-{size}.log")
        with_attrs = "import attrs\n" + (BENCH / "floor_add.py").read_text()
        client = [PY, "-I", "-S", "-c", CLIENT, resident.socket]
        client_site = [PY, "-I", "-c", CLIENT, resident.socket]
        # The client as the installed scripts/taskvault runs: the interpreter's path as its #! line (no -I,
        # so site is imported), nothing else imported first; run by its path, as a user runs `taskvault`.
        script = self.base / "thin-client"
        script.write_text(f"#!{PY}\nimport sys\n{CLIENT}")
        script.chmod(0o755)
        client_script = [str(script), resident.socket]
        env = self.env
        return [
            ("taskvault add, in-process", lambda n: [self.taskvault, "--data-dir", str(store), "add", f"Bench one-shot {n}",
                                         "--tag", TAG, "--priority", "high", "--due", "2027-03-01"], env),
            ("taskvault add, resident", lambda n: [self.taskvault, "add", f"Bench one-shot {n}", "--tag", TAG,
                                                   "--priority", "high", "--due", "2027-03-01"], real.env),
            ("floor -I -S (add+fsync)", lambda n: [PY, "-I", "-S", str(BENCH / "floor_add.py"), floor_file], env),
            ("floor -I (site)", lambda n: [PY, "-I", str(BENCH / "floor_add.py"), floor_file], env),
            ("floor -I + import attrs", lambda n: [PY, "-I", "-c", with_attrs, floor_file], env),
            ("thin client -I -S", lambda n: [*client, "add", f"Bench one-shot {n}", "--tag", TAG, "--priority", "high",
                                             "--due", "2027-03-01"], env),
            ("thin client -I (site)", lambda n: [*client_site, "add", f"Bench one-shot {n}", "--tag", TAG,
                                                 "--priority", "high", "--due", "2027-03-01"], env),
            ("thin client, console script", lambda n: [*client_script, "add", f"Bench one-shot {n}", "--tag", TAG,
                                                       "--priority", "high", "--due", "2027-03-01"], env),
            ("python -I -S -c pass", lambda n: [PY, "-I", "-S", "-c", "pass"], env),
            ("python -I -c pass", lambda n: [PY, "-I", "-c", "pass"], env),
        ]

    def measure(self, size: int) -> None:
        runs = self.args.runs
        tasks = seeded_tasks(size)
        store = self.base / f"taskvault-{size}"
        print(f"{size:,} tasks: building the store through a script-mode session …", flush=True)
        build = build_taskvault(self.taskvault, store, tasks)
        print(f"  {build.lines:,} commands in {build.seconds:.1f} s", flush=True)
        tw_env, seconds = build_taskwarrior(self.task, self.base / f"taskwarrior-{size}", tasks)
        print(f"  Taskwarrior: task import of the same tasks in {seconds:.1f} s", flush=True)
        resident_dir = self.base / f"resident-{size}"
        resident_dir.mkdir()
        resident = Resident(resident_dir)
        real = TaskvaultResident(f"the {size:,} store", store, self.base / f"run-{size}", self.env)
        try:
            pid = real.start([self.taskvault, "list", "--tag", "bench-warm-up-no-such-tag"])
            print(f"  taskvault's resident process {pid} serves {real.runtime}", flush=True)
            theirs = lambda n: [self.task, "add", f"Bench one-shot {n}", f"+{TAG}", "priority:H", "due:2027-03-01"]  # noqa: E731
            run_timed(theirs(-1), tw_env)
            for name, ours, env in self.variants(size, store, resident, real):
                print(f"  {name}: {runs} interleaved pairs with task add …", flush=True)
                run_timed(ours(-1), env)
                a, b = interleaved(lambda n, c=ours, e=env: run_timed(c(n), e),
                                   lambda n: run_timed(theirs(n), tw_env), runs)
                self.rows.append({"what": name, "size": size, "runs": runs, "median": statistics.median(a),
                                  "p99": pct(a, 0.99), "ref_median": statistics.median(b), "ref_p99": pct(b, 0.99),
                                  "ratio": pair_ratio(a, b), "times": a, "ref_times": b})
            real.check_same("the pairs")
        finally:
            resident.stop()
            left = real.stop()
            if left:
                print(f"  WARNING: taskvault's resident process(es) {left} did not exit within 30 s of SIGTERM", flush=True)
        # Each variant that writes must have written every time: a floor that silently did nothing is no floor.
        appended = {"resident": resident.log, "floors": self.base / f"floor-{size}.log"}
        expected = {"resident": 3 * (runs + 1), "floors": 3 * (runs + 1)}
        for what, path in appended.items():
            lines = len(path.read_bytes().splitlines())
            if lines != expected[what]:
                raise BenchError(f"{path}: {lines} lines, {expected[what]} adds were acknowledged")

    def print(self) -> None:
        header = (f"{'variant':<28} {'tasks':>7} {'runs':>5} {'median ms':>9} {'p99 ms':>8}  {'task add ms':>11} "
                  f"{'p99 ms':>8} {'ratio':>7}  {'limit':>5} {'verdict':<12} {'room ms':>8}")
        print("\n" + header)
        print("-" * len(header))
        for r in self.rows:
            size = r["size"]
            limit = LIMITS.get(size)
            line = (f"{r['what']:<28} {size:>7,} {r['runs']:>5} {ms(r['median']):>9} {ms(r['p99']):>8}  "
                    f"{ms(r['ref_median']):>11} {ms(r['ref_p99']):>8} {r['ratio']:>6.2f}x")
            if limit:
                ok = r["ratio"] <= limit
                room = limit * r["ref_median"] - r["median"]
                r["limit"], r["could_meet"], r["room"] = limit, ok, room
                line += f"  {limit:>4g}x {'could meet' if ok else 'cannot':<12} {room * 1000:>8.1f}"
            print(line)
        print("\nratio: the median of the per-pair ratios (variant / task add, interleaved pairs). limit: target 1's, "
              "at that size. room: the limit times task add's median, less the variant's median: what a command built "
              "on the variant would have left for its own work (negative: the variant alone is over the limit).")
        print("\ntarget 1 (one-shot add, done, edit ≤ 3x Taskwarrior at 1,000 and ≤ 1x at 10,000), by variant:")
        for name in dict.fromkeys(r["what"] for r in self.rows):
            judged = [r for r in self.rows if r["what"] == name and "could_meet" in r]
            if not judged:
                continue
            parts = [f"{r['size']:,}: {r['ratio']:.2f}x "
                     f"({'within' if r['could_meet'] else 'over'} {r['limit']:g}x)" for r in judged]
            every = all(r["could_meet"] for r in judged)
            print(f"  {name:<28} {'could meet every size measured' if every else 'cannot meet it':<31} "
                  + "; ".join(parts))

    def run(self) -> None:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, under {self.base}", flush=True)
        version = subprocess.run([self.taskvault, "--version"], capture_output=True, text=True).stdout.strip()
        theirs = subprocess.run([self.task, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"{version}; Taskwarrior {theirs}", flush=True)
        try:
            for size in self.sizes:
                self.measure(size)
            self.print()
            if self.args.json:
                Path(self.args.json).write_text(json.dumps({"options": vars(self.args), "rows": self.rows}, indent=1)
                                                + "\n")
                print(f"figures written to {self.args.json}")
        finally:
            if not self.args.keep:
                shutil.rmtree(self.base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="store sizes, smallest first")
    parser.add_argument("--runs", type=int, default=21, help="interleaved pairs per variant and size")
    parser.add_argument("--json", default=None, help="write every figure as JSON here")
    parser.add_argument("--dir", default=None, help="where to build the stores (default: a temp dir; keep it short, "
                        "a Unix socket's path must fit in 108 bytes)")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    FloorOneShot(parser.parse_args()).run()


if __name__ == "__main__":
    main()
