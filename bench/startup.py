"""Start-up: `taskvault --version`, `help` and one-shot commands on a small store against a bare Python.

Each pair runs the reference (`python -I -c pass`, the interpreter the program is installed in) and the
command back to back, in alternating order (A B, B A, ...), so that a busy moment of the shared machine
touches both; the figure is the median of the per-pair ratios. The installed console script is run
as a user runs it. Then `-X importtime` says what each command imports beyond the bare interpreter:
the milliseconds of those imports (each module's own time, summed, the fewest of 7 runs: -X importtime
slows imports by some 10-30 %, so this is an upper bound) and how many of taskvault's own modules there are.

The program runs with its bytecode cached, as an installed program does: PYTHONDONTWRITEBYTECODE is
removed from its environment (set, it compiles every module from source on every run: ~40 ms more),
and each command runs once before it is timed. The bare interpreter's -I ignores PYTHON* variables.
`re` is imported by pip's console-script wrapper itself, so it counts against every command here.

    python bench/startup.py [--pairs 40] [--tasks 20] [--src DIR] [--modules]

--src DIR measures the taskvault package found in DIR instead (an export of another commit, say
`git archive main src | tar -x -C /tmp/main`), through the same console script, by PYTHONPATH.

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


def _importtime(args: list[str], env: dict[str, str]) -> dict[str, int]:
    """Each module imported and its own import time (µs), from -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    found = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        found[name.strip()] = found.get(name.strip(), 0) + int(own)
    return found


def imports_beyond_bare(args: list[str], env: dict[str, str], runs: int = 7) -> tuple[float, list[str]]:
    """Milliseconds of the imports ``args`` makes that a bare interpreter does not, and those modules' names.

    The fewest of ``runs``: the same modules are imported every run, so the fastest run is the one the
    shared machine disturbed least (a median moves with the other work on the machine)."""
    bare = set(_importtime(["-I", "-c", "pass"], env))
    totals, names = [], []
    for _ in range(runs):
        modules = _importtime(args, env)
        extra = {name: own for name, own in modules.items() if name not in bare}
        totals.append(sum(extra.values()) / 1000)
        names = sorted(extra)
    return min(totals), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--modules", action="store_true", help="list the modules each command imports")
    parser.add_argument("--src", help="a directory holding the taskvault package to measure instead")
    options = parser.parse_args()
    taskvault = program()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_") and k != "PYTHONDONTWRITEBYTECODE"}
    if options.src:
        env["PYTHONPATH"] = str(Path(options.src).resolve())
    with tempfile.TemporaryDirectory() as scratch:
        env["TASKVAULT_DATA_DIR"] = str(Path(scratch) / "data")
        for n in range(options.tasks):
            _run([taskvault, "add", f"Task {n}", "--tag", "bench"], env)
        commands = {
            "--version": ["--version"],
            "help": ["help"],
            "list": ["list"],
            "add": ["add", "One more task"],
            "show": ["show", "1"],
            "done": ["done", "1"],  # (after the first pair, "already done": it loads the store and saves nothing)
        }
        print(f"reference: {' '.join(BARE)}; {options.pairs} interleaved pairs each; {options.tasks} tasks in the store")
        print(f"{'command':<10} {'ratio':>6} {'ms':>6} {'bare ms':>8} {'imports ms':>11} {'own modules':>12} {'modules':>8}")
        results = {}
        for name, words in commands.items():
            _run([taskvault, *words], env)  # (writes its bytecode cache, if it was not there)
            ratio, mine, bare = paired_ratios([taskvault, *words], env, options.pairs)
            imports_ms, modules = imports_beyond_bare([taskvault, *words], env)
            own = [m for m in modules if m.split(".")[0] == "taskvault"]
            results[name] = (ratio, imports_ms, modules)
            print(f"{name:<10} {ratio:>6.2f} {mine * 1000:>6.1f} {bare * 1000:>8.1f} {imports_ms:>11.1f} "
                  f"{len(own):>12} {len(modules):>8}")
        print()
        for name in ("--version", "help"):
            ratio = results[name][0]
            mark = "met" if ratio <= VERSION_AND_HELP_TARGET else "NOT met"
            print(f"target: {name} ≤ {VERSION_AND_HELP_TARGET}× bare python: {ratio:.2f}× ({mark})")
        worst = max(results, key=lambda n: results[n][1])
        imports_ms = results[worst][1]
        mark = "met" if imports_ms <= IMPORTS_TARGET_MS else "NOT met"
        print(f"target: a one-shot command's imports ≤ {IMPORTS_TARGET_MS:.0f} ms: worst {worst} {imports_ms:.1f} ms ({mark})")
        if options.modules:
            for name, (_, _, modules) in results.items():
                print(f"\n{name}: {' '.join(modules)}")


if __name__ == "__main__":
    main()
