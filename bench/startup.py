"""Start-up: `taskvault --version`, `help` and one-shot commands on a small store against a bare Python.

Each pair runs the reference (`python -I -c pass`, the interpreter the program is installed in) and the
command back to back, in alternating order (A B, B A, ...), so that a busy moment of the shared machine
touches both; the figure is the median of the per-pair ratios. The installed console script is run
as a user runs it.

What a command's imports cost (the target's figure) is measured by the wall clock: `-X importtime`
names the modules the command imports beyond a bare interpreter, in order, and then
`python -c "import m1; import m2 …"` (exactly those imports) and `python -c pass` run in interleaved
pairs; the figure is the median of the per-pair differences (`imports cpu`: the same of the CPU time the
two processes used, which moves less when other work shares the machine; `least`: the least time of
one side less the least of the other, the runs the machine disturbed least). That counts all a module
costs the process (tearing it down at exit too) and nothing the command does after importing. Beside it, as a diagnostic,
the sum of the modules' own times from `-X importtime` (the least of 7 runs), which times each import
from inside and leaves out the rest: on the machine it was written on it reads some 10-20 % lower than
the wall clock, not higher. The row `attrs` is `import attrs` alone, measured the same ways: the part of
every command's imports that the domain's library costs.

The program runs with its bytecode cached, as an installed program does: PYTHONDONTWRITEBYTECODE is
removed from its environment (set, it compiles every module from source on every run: ~40 ms more),
and each command runs once before it is timed. The bare interpreter's -I ignores PYTHON* variables.
The command is scripts/taskvault as the wheel installs it (not pip's console-script wrapper, which imports `re`).

    python bench/startup.py [--pairs 40] [--tasks 20] [--src DIR] [--modules] [--only add,list] [--resident]
                            [--against DIR]

--resident measures the default configuration instead of TASKVAULT_RESIDENT=off: the store's resident
process started by one command (in an XDG_RUNTIME_DIR of this run's own), verified serving, and the same
process after the pairs, then stopped (bench/resident.py). The commands it serves (list, add, show, done,
edit) are then the thin client's start-up and imports; the interpreter is the one the script's #! names,
with site, as a user's shell runs it (it is part of the resident process's identity). --version and help
always run in-process.

--src DIR measures the taskvault package found in DIR instead (an export of another commit, say
`git archive main src | tar -x -C /tmp/main`), through the same console script, by PYTHONPATH.

--against DIR puts another commit's package (an export, as for --src) beside this one instead of the bare
interpreter: each command runs in interleaved pairs, this package and that one, on the same store, and the
figure is the median of the per-pair ratios (this / that): whether a change made start-up slower (issue 20).

Targets (issue 17, target 3): --version and help ≤ 2.5× the bare interpreter; a one-shot command's imports ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import imports_beyond, importtime, importtime_ms, wall_import_ms

from resident import Resident, interpreter

BARE = [sys.executable, "-I", "-c", "pass"]
VERSION_AND_HELP_TARGET = 2.5
IMPORTS_TARGET_MS = 30.0


def program() -> str:
    """The installed console script beside this interpreter (as a user runs it), else the one on PATH."""
    beside = Path(sys.executable).parent / "taskvault"
    found = str(beside) if beside.exists() else shutil.which("taskvault")
    if found is None:
        raise SystemExit("taskvault is not installed: pip install -e . first")
    return found


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def paired_ratios(command: list[str], env: dict[str, str], pairs: int) -> tuple[float, float, float]:
    """Median of command/bare over ``pairs`` interleaved pairs, and the median times of each (s)."""
    ratios, mine, bare = [], [], []
    for pair in range(pairs):
        if pair % 2:
            b, m = _run(BARE, env), _run(command, env)
        else:
            m, b = _run(command, env), _run(BARE, env)
        ratios.append(m / b)
        mine.append(m)
        bare.append(b)
    return statistics.median(ratios), statistics.median(mine), statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--modules", action="store_true", help="list the modules each command imports")
    parser.add_argument("--src", help="a directory holding the taskvault package to measure instead")
    parser.add_argument("--only", help="measure only these commands (comma-separated names of the table)")
    parser.add_argument("--against", help="a directory holding another taskvault package: the ratio of each command "
                        "against it, in interleaved pairs, instead of the table")
    parser.add_argument("--resident", action="store_true", help="through the store's resident process (the default "
                        "for users), not with TASKVAULT_RESIDENT=off")
    options = parser.parse_args()
    taskvault = program()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["TASKVAULT_RESIDENT"] = "off"
    if options.src:
        env["PYTHONPATH"] = str(Path(options.src).resolve())
    resident: Resident | None = None
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="tv-startup-") as scratch:  # (short: a socket's path fits 107 bytes)
        env["TASKVAULT_DATA_DIR"] = str(Path(scratch) / "data")
        if options.resident:
            resident = Resident("the store", Path(scratch) / "data", Path(scratch) / "run", env)
            env = resident.env
            python = interpreter(taskvault)
        try:
            if options.against:
                measure_against(options, taskvault, env, Path(options.against).resolve())
                return
            measure_all(options, taskvault, env, python, resident)
        finally:
            if resident is not None:
                left = resident.stop()
                if left:
                    print(f"WARNING: resident process(es) {left} did not exit within 30 s of SIGTERM")


def measure_against(options: argparse.Namespace, taskvault: str, env: dict[str, str], other: Path) -> None:
    """Each command, this package against ``other``'s, in interleaved pairs on the same store."""
    theirs = {**env, "PYTHONPATH": str(other)}
    for n in range(options.tasks):
        _run([taskvault, "add", f"Task {n}", "--tag", "bench"], env)
    commands = {"--version": ["--version"], "help": ["help"], "list": ["list"], "show": ["show", "1"],
                "add": ["add", "One more task"], "next": ["next"]}
    if options.only:
        commands = {name: commands[name] for name in options.only.split(",")}
    print(f"this package against {other}; {options.pairs} interleaved pairs each; {options.tasks} tasks in the store")
    print(f"{'command':<10} {'ratio':>6} {'this ms':>8} {'that ms':>8}")
    for name, words in commands.items():
        _run([taskvault, *words], env)  # (bytecode caches written, for each side)
        _run([taskvault, *words], theirs)
        ratios, mine, other_times = [], [], []
        for pair in range(options.pairs):
            if pair % 2:
                b, m = _run([taskvault, *words], theirs), _run([taskvault, *words], env)
            else:
                m, b = _run([taskvault, *words], env), _run([taskvault, *words], theirs)
            ratios.append(m / b)
            mine.append(m)
            other_times.append(b)
        print(f"{name:<10} {statistics.median(ratios):>6.3f} {statistics.median(mine) * 1000:>8.1f} "
              f"{statistics.median(other_times) * 1000:>8.1f}", flush=True)


def measure_all(options: argparse.Namespace, taskvault: str, env: dict[str, str], python: str,
                resident: Resident | None) -> None:
    for n in range(options.tasks):
        _run([taskvault, "add", f"Task {n}", "--tag", "bench"], env)
    commands = {
        "--version": ["--version"],
        "help": ["help"],
        "list": ["list"],
        "add": ["add", "One more task"],
        "show": ["show", "1"],
        "done": ["done", "1"],  # (after the first pair, "already done": it loads the store and saves nothing)
        "edit": ["edit", "2", "--title", "Renamed"],  # (the same: after the first, an edit to the same values)
    }
    if options.only:
        commands = {name: commands[name] for name in options.only.split(",")}
    if resident is not None:
        pid = resident.start([taskvault, "list"])
        print(f"through the resident process {pid} (serving {resident.runtime}); {python} runs the script")
    print(f"reference: {' '.join(BARE)}; {options.pairs} interleaved pairs each; {options.tasks} tasks in the store")
    print(f"{'command':<10} {'ratio':>6} {'ms':>6} {'bare ms':>8} {'imports ms':>11} {'imports cpu':>12} "
          f"{'least':>6} {'importtime':>11} {'own modules':>12} {'modules':>8}")
    results = {}
    for name, words in commands.items():
        _run([taskvault, *words], env)  # (writes its bytecode cache, if it was not there)
        ratio, mine, bare = paired_ratios([taskvault, *words], env, options.pairs)
        modules = imports_beyond([taskvault, *words], env, python)
        imports_ms, imports_cpu, imports_least = wall_import_ms(modules, env, options.pairs, python)
        diagnostic = importtime_ms([taskvault, *words], env, 7, python)
        everything = sorted(m for m, _, _ in _all_imports([taskvault, *words], env, python))
        own = [m for m in everything if m.split(".")[0] == "taskvault"]
        results[name] = (ratio, imports_ms, everything)
        print(f"{name:<10} {ratio:>6.2f} {mine * 1000:>6.1f} {bare * 1000:>8.1f} {imports_ms:>11.1f} {imports_cpu:>12.1f} "
              f"{imports_least:>6.1f} {diagnostic:>11.1f} {len(own):>12} {len(everything):>8}", flush=True)
    if resident is not None:
        resident.check_same("the pairs")
    floor, floor_cpu, floor_least = wall_import_ms(["attrs"], env, options.pairs)
    print(f"{'attrs':<10} {'':>6} {'':>6} {'':>8} {floor:>11.1f} {floor_cpu:>12.1f} {floor_least:>6.1f} "
          f"{importtime_ms(['-c', 'import attrs'], env, 7):>11.1f}"
          "   (import attrs alone: the domain library's share)")
    print()
    for name in ("--version", "help"):
        if name in results:
            ratio = results[name][0]
            mark = "met" if ratio <= VERSION_AND_HELP_TARGET else "NOT met"
            print(f"target: {name} ≤ {VERSION_AND_HELP_TARGET}× bare python: {ratio:.2f}× ({mark})")
    one_shots = [n for n in results if n not in ("--version", "help")]
    if one_shots:
        worst = max(one_shots, key=lambda n: results[n][1])
        imports_ms = results[worst][1]
        mark = "met" if imports_ms <= IMPORTS_TARGET_MS else "NOT met"
        print(f"target: a one-shot command's imports ≤ {IMPORTS_TARGET_MS:.0f} ms (wall clock): worst {worst} "
              f"{imports_ms:.1f} ms ({mark}; import attrs alone {floor:.1f} ms)")
    if options.modules:
        for name, (_, _, modules) in results.items():
            print(f"\n{name}: {' '.join(modules)}")


def _all_imports(args: list[str], env: dict[str, str], python: str = sys.executable) -> list[tuple[str, int, int]]:
    """Every module ``args`` imports that ``python -c pass`` does not, at any depth."""
    bare = {name for name, _, _ in importtime(["-c", "pass"], env, python)}
    return [row for row in importtime(args, env, python) if row[0] not in bare]


if __name__ == "__main__":
    main()
