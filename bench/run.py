"""The performance benchmark: taskvault against Taskwarrior and the disk, side by side, in one run.

    python bench/run.py [--sizes 1000,10000,100000] [--runs 9] [--changes 1000] [--plot FILE] [--json FILE]

Builds the same deterministic stores (seed 42) for taskvault and for Taskwarrior (installing it
with apt-get if it is missing), then measures on the same disk, in the same run:

* the fsync floor: a 400-byte append + fsync, and a durable replace of a 1 KB file;
* a change inside a session (add, edit, done, delete in turn, each durable), through the same
  Runner the REPL and script mode use: median and p99;
* time to ready: the REPL's prompt and its loaded task counts (in a pseudo-terminal), and a
  one-shot `list` run to its end;
* one-shot `add`, `done` and `list` against Taskwarrior's `task add`, `task UUID done`,
  `task list`;
* peak RSS of a script session of changes and of a one-shot `list`.

It prints a table with medians, p99 (with fewer than 100 runs that is the slowest run) and the
ratio to each reference, then every target, met or not. Only figures from one run are compared.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from change_cost import build_store, compaction_cost, fsync_floor, pct
from repl_startup import _time_until

from taskvault import codec
from taskvault.cli.main import Runner
from taskvault.cli.render import Style
from taskvault.service import TaskService
from taskvault.store.journal_store import JournalStore

TW_PRIORITY = {"low": "L", "medium": "M", "high": "H"}
TARGET_CHANGE_MEDIAN, TARGET_CHANGE_P99 = 0.002, 0.010
TARGET_READY = {10_000: 0.25, 100_000: 1.0}
TARGET_RSS_MB = 300


# -- references -------------------------------------------------------------------------------


def replace_floor(directory: Path, count: int) -> list[float]:
    """A durable replace of a 1 KB file: write a temp, fsync, rename, fsync the directory."""
    times = []
    target, temp = directory / "replace.bin", directory / "replace.tmp"
    for _ in range(count):
        start = time.perf_counter()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"x" * 1023 + b"\n")
        os.fsync(fd)
        os.close(fd)
        os.replace(temp, target)
        dfd = os.open(directory, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        times.append(time.perf_counter() - start)
    target.unlink()
    return times


def ensure_taskwarrior() -> str | None:
    """The path of Taskwarrior's `task`, installing the Debian package if it is missing."""
    found = shutil.which("task")
    if found:
        return found
    print("Taskwarrior is not installed: apt-get install -y taskwarrior …", flush=True)
    try:
        subprocess.run(["apt-get", "install", "-y", "taskwarrior"], check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  could not install it ({exc}); Taskwarrior's columns stay empty", flush=True)
        return None
    return shutil.which("task")


def build_taskwarrior(task: str, root: Path, store: Path) -> tuple[dict[str, str], list[str]]:
    """A Taskwarrior database holding the same tasks as ``store``: the environment to use it, and the uuids by id."""
    data = root / "data"
    data.mkdir(parents=True)
    rc = root / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\nhooks=off\nnews.version=2.6.2\n")
    snapshot = codec.decode_snapshot((store / "tasks.json").read_bytes())
    lines = []
    for t in snapshot.tasks:
        doc: dict[str, object] = {"uuid": str(t.uuid), "description": t.title, "status": "pending",
                                  "entry": t.created.strftime("%Y%m%dT%H%M%SZ"),
                                  "modified": t.updated.strftime("%Y%m%dT%H%M%SZ")}
        if t.priority:
            doc["priority"] = TW_PRIORITY[t.priority.value]
        if t.due:
            doc["due"] = t.due.strftime("%Y%m%dT000000Z")
        if t.tags:
            doc["tags"] = list(t.tags)
        lines.append(json.dumps(doc))
    (root / "import.json").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "TASKRC": str(rc)}
    subprocess.run([task, "import", str(root / "import.json")], env=env, check=True, capture_output=True)
    return env, [str(t.uuid) for t in sorted(snapshot.tasks, key=lambda t: t.id)]


# -- measuring --------------------------------------------------------------------------------


def timed_runs(make_args: Callable[[int], list[str]], env: dict[str, str], runs: int) -> list[float]:
    """Run a command ``runs`` times, its output read from a pipe to the end; return the wall times."""
    times = []
    for n in range(runs):
        start = time.perf_counter()
        done = subprocess.run(make_args(n), env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"{' '.join(make_args(n))} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return times


def peak_rss_kb(args: list[str], env: dict[str, str], stdin: bytes = b"") -> int:
    """The peak resident set of one run of ``args``, from the kernel's accounting of the child."""
    child = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    assert child.stdin is not None
    child.stdin.write(stdin)
    child.stdin.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode})")
    return usage.ru_maxrss


def session_changes(directory: Path, count: int, first_id: int) -> list[float]:
    """Time ``count`` command lines that change the store, through the Runner the REPL uses.

    Each task it edits, completes and deletes in turn is one no earlier step touched (ids from
    ``first_id`` on), spread over the whole store.
    """
    service = TaskService(JournalStore(directory))
    runner = Runner(service, as_json=False, style=Style(False), out=io.StringIO(), err=io.StringIO(), width=None)
    if runner.run_line("stats", None):
        raise SystemExit("the store does not load")
    untouched = sorted(t.id for t in service.tasks if t.id >= first_id)
    ids = untouched[:: max(1, len(untouched) // (count // 4 + 1))]
    if len(ids) < count // 4 + 1:
        raise SystemExit(f"{count} changes need a store of at least {count // 4 + first_id} tasks")
    times = []
    for n in range(count):
        target = ids[n // 4]
        line = [f"add bench task {n} --tag bench", f"edit {target} --title 'edited in the bench {n}'",
                f"done {target}", f"delete {target}"][n % 4]
        runner.out = io.StringIO()
        start = time.perf_counter()
        code = runner.run_line(line, None)
        times.append(time.perf_counter() - start)
        if code:
            raise SystemExit(f"{line!r} failed: {runner.err.getvalue()[-300:]}")
    service.close()
    return times


def repl_ready(taskvault: str, directory: Path, runs: int) -> tuple[list[float], list[float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")}
    env.update(TERM="xterm", TASKVAULT_DATA_DIR=str(directory), XDG_STATE_HOME=str(directory.parent / "state"))
    prompt, loaded = [], []
    for _ in range(runs):
        first, second = _time_until([taskvault], env, ["taskvault>", r"\d+ open[^\n]{0,12}done"])
        prompt.append(first)
        loaded.append(second)
    return prompt, loaded


# -- reporting --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.verdicts: list[tuple[bool, str]] = []
        self.rss: dict[str, object] = {}

    def row(self, what: str, size: int | None, times: list[float], ref_name: str = "",
            ref: list[float] | None = None) -> dict[str, object]:
        row: dict[str, object] = {"what": what, "size": size, "median": statistics.median(times),
                                  "p99": pct(times, 0.99), "runs": len(times), "ref_name": ref_name}
        if ref:
            row.update(ref_median=statistics.median(ref), ref_p99=pct(ref, 0.99))
        self.rows.append(row)
        return row

    def target(self, ok: bool, text: str) -> None:
        self.verdicts.append((ok, text))

    def print(self) -> None:
        header = (f"{'measure':<26} {'tasks':>7} {'runs':>5} {'median ms':>10} {'p99 ms':>8} "
                  f"{'reference':<22} {'ref median':>10} {'ref p99':>8} {'ratio':>7}")
        print("\n" + header)
        print("-" * len(header))
        for r in self.rows:
            size = f"{r['size']:,}" if r["size"] else ""
            line = (f"{r['what']:<26} {size:>7} {r['runs']:>5} {ms(r['median']):>10} "  # type: ignore[arg-type]
                    f"{ms(r['p99']):>8} {r['ref_name']:<22}")  # type: ignore[arg-type]
            if "ref_median" in r:
                ratio = r["median"] / r["ref_median"]  # type: ignore[operator]
                line += f" {ms(r['ref_median']):>10} {ms(r['ref_p99']):>8} {ratio:>6.2f}x"  # type: ignore[arg-type]
            print(line)
        print("\ntargets:")
        for ok, text in self.verdicts:
            print(f"  {'met    ' if ok else 'NOT MET'}  {text}")


def plot(report: Report, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"\nno plot: matplotlib is not installed (pip install '.[bench]'); {path} not written")
        return
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    series = [("one-shot add", "C0"), ("one-shot done", "C1"), ("one-shot list", "C2"),
              ("change in a session", "C3")]
    for name, colour in series:
        rows = [r for r in report.rows if r["what"] == name]
        if not rows:
            continue
        sizes = [r["size"] for r in rows]
        ax.plot(sizes, [r["median"] * 1000 for r in rows], "o-", color=colour, label=f"taskvault {name}")
        if all("ref_median" in r and r["ref_name"].startswith("task") for r in rows):  # type: ignore[union-attr]
            ax.plot(sizes, [r["ref_median"] * 1000 for r in rows], "s--", color=colour,
                    label=f"Taskwarrior {name.removeprefix('one-shot ')}")
    floor = [r for r in report.rows if r["what"] == "fsync floor (append)"]
    if floor:
        ax.axhline(floor[0]["median"] * 1000, color="grey", linestyle=":", label="fsync floor (append)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tasks in the store")
    ax.set_ylabel("median latency (ms, log scale)")
    ax.set_title("taskvault and Taskwarrior 2.6 on the same disk, same tasks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    print(f"\nplot written to {path}")


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=9, help="one-shot runs per command and size (fewer at 100k)")
    parser.add_argument("--changes", type=int, default=1000, help="changes timed in a session, per size")
    parser.add_argument("--plot", default=None, help="write a PNG of latency against store size here")
    parser.add_argument("--json", default=None, help="write every figure as JSON here")
    parser.add_argument("--dir", default=None, help="where to build the stores (default: a temp dir)")
    args = parser.parse_args()
    began = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    taskvault = str(Path(sys.executable).with_name("taskvault"))
    if not Path(taskvault).exists():
        raise SystemExit(f"{taskvault} is missing: install the project into this Python first (pip install '.[bench]')")
    # As pip leaves an installed package: compiled. An editable install run with
    # PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start (+75 ms here).
    compileall.compile_dir(Path(codec.__file__).parents[1], quiet=1)  # the whole taskvault package
    root = Path(tempfile.mkdtemp(prefix="taskvault-bench-", dir=args.dir))
    task = ensure_taskwarrior()
    report = Report()

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, stores in {root}", flush=True)
    append, replace = fsync_floor(root, 400), replace_floor(root, 200)
    report.row("fsync floor (append)", None, append)
    report.row("fsync floor (replace)", None, replace)
    report.row("python -I -c pass", None, timed_runs(lambda n: [sys.executable, "-I", "-c", "pass"],
                                                      dict(os.environ), 15))

    for size in sizes:
        runs = max(3, args.runs // 2) if size >= 100_000 else args.runs
        print(f"{size:,} tasks: building stores …", flush=True)
        store = root / f"taskvault-{size}"
        build_store(store, size)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")}
        env["TASKVAULT_DATA_DIR"] = str(store)
        tw_env, uuids = build_taskwarrior(task, root / f"taskwarrior-{size}", store) if task else (None, [])

        print(f"{size:,} tasks: one-shot commands …", flush=True)
        for name, ours, theirs in [
            ("add", lambda n: [taskvault, "add", f"bench one-shot {n}", "--tag", "bench"],
             lambda n: [task, "add", f"bench one-shot {n}", "+bench"]),
            # The same task in both: Taskwarrior renumbers its ids, so it is named by its uuid there.
            ("done", lambda n: [taskvault, "done", str(n + 1)], lambda n, uuids=uuids: [task, uuids[n], "done"]),
            ("list", lambda n: [taskvault, "list"], lambda n: [task, "list"]),
        ]:
            mine = timed_runs(ours, env, runs)
            ref = timed_runs(theirs, tw_env, runs) if tw_env else None
            row = report.row(f"one-shot {name}", size, mine, "task " + name if ref else "", ref)
            if ref:
                limit = 3.0 if size < 10_000 else 1.0
                ratio = row["median"] / row["ref_median"]  # type: ignore[operator]
                report.target(ratio <= limit, f"one-shot {name} at {size:,}: {ratio:.2f}x Taskwarrior "
                              f"(target ≤ {limit:g}x)")
            if name == "list" and size in TARGET_READY:
                report.target(row["median"] <= TARGET_READY[size],  # type: ignore[operator]
                              f"time to ready, one-shot list at {size:,}: {ms(row['median'])} ms "  # type: ignore[arg-type]
                              f"(target ≤ {TARGET_READY[size] * 1000:.0f} ms)")

        print(f"{size:,} tasks: the interactive session …", flush=True)
        prompt, loaded = repl_ready(taskvault, store, runs)
        report.row("REPL to prompt", size, prompt)
        row = report.row("REPL to loaded counts", size, loaded)
        if size in TARGET_READY:
            report.target(row["median"] <= TARGET_READY[size],  # type: ignore[operator]
                          f"time to ready, REPL with its tasks loaded at {size:,}: {ms(row['median'])} ms "  # type: ignore[arg-type]
                          f"(target ≤ {TARGET_READY[size] * 1000:.0f} ms)")

        print(f"{size:,} tasks: {args.changes} changes in a session …", flush=True)
        changes = session_changes(store, min(args.changes, 4 * (size - runs) // 2), first_id=runs + 1)
        row = report.row("change in a session", size, changes, "fsync floor (append)", append)
        report.target(row["median"] <= TARGET_CHANGE_MEDIAN and row["p99"] <= TARGET_CHANGE_P99,  # type: ignore[operator]
                      f"change in a session at {size:,}: median {ms(row['median'])} ms, "  # type: ignore[arg-type]
                      f"p99 {ms(row['p99'])} ms (targets ≤ 2 ms, ≤ 10 ms)")  # type: ignore[arg-type]
        report.row("compaction (once per ~snapshot size of changes)", size, [compaction_cost(store)])

        if size == max(sizes):
            script = ("".join(f"add rss {n}\n" for n in range(100)) + "list\n").encode()
            session_rss = peak_rss_kb([taskvault], env, script) / 1024
            list_rss = peak_rss_kb([taskvault, "list"], env) / 1024
            tw_rss = peak_rss_kb([task, "list"], tw_env) / 1024 if tw_env else None
            print(f"\npeak RSS at {size:,} tasks: script session of 100 adds and a list {session_rss:.0f} MB, one-shot list "
                  f"{list_rss:.0f} MB" + (f"; Taskwarrior's task list {tw_rss:.0f} MB" if tw_rss else ""))
            report.rss = {"size": size, "session": session_rss, "list": list_rss, "taskwarrior_list": tw_rss}
            report.target(max(session_rss, list_rss) <= TARGET_RSS_MB,
                          f"peak RSS at {size:,}: {max(session_rss, list_rss):.0f} MB (target ≤ {TARGET_RSS_MB} MB)")

    report.print()
    elapsed = time.perf_counter() - began
    print(f"\nthe whole run took {elapsed / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": report.rows, "peak_rss_mb": report.rss,
                                               "targets": report.verdicts}, indent=1) + "\n")
    if args.plot:
        plot(report, Path(args.plot))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
