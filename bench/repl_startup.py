"""Time to prompt of the interactive session, and time until its store is loaded, at 0–100k tasks.

Runs the installed program in a pseudo-terminal (pexpect), answering prompt_toolkit's
cursor-position request, and measures from spawn to the first 'taskvault>' on screen, and to
the toolbar's task counts (the store loads in a thread behind the prompt). The reference is a
bare `python -c pass` started the same way in the same run; figures are medians of --runs.

    python bench/repl_startup.py [--sizes 0,10000,100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).parent))
from change_cost import build_store

CPR = re.escape("\x1b[6n")


def _time_until(args: list[str], env: dict[str, str], marks: list[str]) -> list[float]:
    """Seconds from spawn until each of ``marks`` (regexes, in order) has appeared."""
    started = time.perf_counter()
    child = pexpect.spawn(args[0], args[1:], env=env, dimensions=(30, 120), encoding="utf-8", timeout=60)
    found = []
    try:
        for mark in marks:
            while child.expect([CPR, mark]) == 0:
                child.send("\x1b[1;1R")
            found.append(time.perf_counter() - started)
    finally:
        child.terminate(force=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")}
    env.update(TERM="xterm")
    reference = statistics.median(
        _time_until([sys.executable, "-c", "print('ready')"], env, ["ready"])[0] for _ in range(options.runs))
    print(f"reference: python -c print() in a pty: {reference * 1000:.0f} ms")
    print(f"{'tasks':>7}  {'to prompt':>10}  {'ratio':>6}  {'to loaded':>10}  {'ratio':>6}")
    for size in (int(s) for s in options.sizes.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            data = Path(scratch) / "data"
            if size:
                build_store(data, size)
            else:
                data.mkdir(mode=0o700)
            env.update(TASKVAULT_DATA_DIR=str(data), XDG_STATE_HOME=str(Path(scratch) / "state"))
            prompt, loaded = [], []
            for _ in range(options.runs):
                first, second = _time_until([sys.executable, "-m", "taskvault"], env,
                                            ["taskvault>", r"\d+ open[^\n]{0,12}done"])
                prompt.append(first)
                loaded.append(second)
            p, ld = statistics.median(prompt), statistics.median(loaded)
            print(f"{size:>7}  {p * 1000:>8.0f} ms  {p / reference:>5.1f}x  {ld * 1000:>8.0f} ms  "
                  f"{ld / reference:>5.1f}x")


if __name__ == "__main__":
    main()
