"""What import and export cost at 100,000 tasks, against Taskwarrior's own `task import` and `task export`.

    python bench/transfer_cost.py [--size 100000] [--pairs 3] [--dir DIR] [--keep]

Issue 19 asks an import of 100,000 tasks ≤ 10 s and an export ≤ 3 s. The tasks are made the way a user
moving in has them: Taskwarrior 2.6.2 is given SIZE seeded tasks (80% pending, 20% completed; tags, due
dates, priorities; bench/stores.py) by `task import`, and `task export` writes the file taskvault imports:
Taskwarrior's own export, as a user pipes it. taskvault's store is built THROUGH THE PROGRAM with 1,000
tasks of its own (a script-mode session: journal, history, backups), copied afresh before every import.

Pairs, interleaved (A B, B A, ...), each side a new process as a user runs it:

* import: `taskvault import --from taskwarrior FILE` into a copy of the 1,000-task store, against
  `task import FILE` into an empty Taskwarrior (the same work for it: every task new);
* undo: `taskvault undo` of that import (100,000 tasks removed in one change), against the import itself;
* export: `taskvault export --to taskwarrior --output FILE` of the store that import made (101,000 tasks),
  against `task export > FILE` of Taskwarrior's;
* the other formats, in pairs against the Taskwarrior-format import and export of the same store: an
  export to todotxt, csv and ical, and the import of that export into a copy of the 1,000-task store.

Prints the median of the per-pair ratios and, for orientation only, the median seconds (the machine is
shared; only the ratios are compared between runs).
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import BenchError  # a sibling module
from stores import build_taskvault, build_taskwarrior, seeded_tasks, taskwarrior_env

FORMATS = ("todotxt", "csv", "ical")


def _run(args: list[str], env: dict[str, str], stdout: Path | None = None) -> float:
    """Seconds from spawn to exit of ``args``, its output to ``stdout`` (a file) or discarded."""
    with open(stdout, "wb") if stdout is not None else open(os.devnull, "wb") as out:
        start = time.perf_counter()
        done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
    if done.returncode:
        raise BenchError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
    return seconds


def _pairs(a, b, count: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(median ratio a/b, median a s, median b s) over ``count`` pairs, the order alternating."""
    ratios, first, second = [], [], []
    for n in range(count):
        if n % 2:
            tb = b()
            ta = a()
        else:
            ta = a()
            tb = b()
        ratios.append(ta / tb)
        first.append(ta)
        second.append(tb)
    return statistics.median(ratios), statistics.median(first), statistics.median(second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args()
    task = shutil.which("task")
    taskvault = shutil.which("taskvault") or str(Path(sys.executable).parent / "taskvault")
    if task is None:
        raise BenchError("needs Taskwarrior: apt-get install taskwarrior")
    root = Path(tempfile.mkdtemp(prefix="transfer-", dir=options.dir))
    env = {**os.environ, "TASKVAULT_RESIDENT": "off", "TASKVAULT_CONFIG": "/dev/null"}
    env.pop("TASKVAULT_DATA_DIR", None)
    try:
        print(f"building: Taskwarrior with {options.size:,} tasks, taskvault with 1,000 (through the program)…",
              flush=True)
        tw_env, _ = build_taskwarrior(task, root / "tw", seeded_tasks(options.size, seed=19))
        source = root / "tw-export.json"
        _run([task, "export"], tw_env, stdout=source)
        base = root / "base"
        build_taskvault(taskvault, base, seeded_tasks(1000, seed=7))
        print(f"  Taskwarrior's export: {source.stat().st_size / 2**20:.1f} MiB, {options.size:,} tasks", flush=True)
        work = root / "work"

        def fresh_taskvault() -> Path:
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base, work)
            return work

        def tv_import(path: Path, name: str = "taskwarrior") -> float:
            store = fresh_taskvault()
            return _run([taskvault, "--data-dir", str(store), "import", "--from", name, str(path), "--yes"], env)

        def tw_import() -> float:
            shutil.rmtree(root / "tw-fresh", ignore_errors=True)
            fresh_env = taskwarrior_env(root / "tw-fresh")
            return _run([task, "import", str(source)], fresh_env)

        tv_import(source)  # once, untimed: caches warm for both sides alike
        ratio, tv_s, tw_s = _pairs(lambda: tv_import(source), tw_import, options.pairs)
        print(f"import {options.size:,} tasks (Taskwarrior's export): taskvault {tv_s:.2f} s, "
              f"task import {tw_s:.2f} s: {ratio:.2f}x Taskwarrior", flush=True)

        def tv_undo() -> float:
            tv_import(source)
            return _run([taskvault, "--data-dir", str(work), "undo"], env)

        ratio, undo_s, import_s = _pairs(tv_undo, lambda: tv_import(source), options.pairs)
        print(f"undo of that import: {undo_s:.2f} s, {ratio:.2f}x the import itself ({import_s:.2f} s)", flush=True)

        imported = root / "imported"
        tv_import(source)
        shutil.rmtree(imported, ignore_errors=True)
        shutil.copytree(work, imported)
        out = root / "out"

        def tv_export(name: str = "taskwarrior") -> float:
            return _run([taskvault, "--data-dir", str(imported), "export", "--to", name, "--output",
                         str(out.with_suffix("." + name))], env)

        def tw_export() -> float:
            return _run([task, "export"], tw_env, stdout=root / "tw-again.json")

        tv_export()
        ratio, tv_s, tw_s = _pairs(tv_export, tw_export, options.pairs)
        print(f"export {options.size + 1000:,} tasks: taskvault {tv_s:.2f} s, task export {tw_s:.2f} s: "
              f"{ratio:.2f}x Taskwarrior", flush=True)
        back = json.loads(out.with_suffix(".taskwarrior").read_text(encoding="utf-8"))
        if len(back) != options.size + 1000:
            raise BenchError(f"the export holds {len(back):,} tasks, not {options.size + 1000:,}")

        for name in FORMATS:
            ratio_out, out_s, _ = _pairs(lambda n=name: tv_export(n), tv_export, options.pairs)
            path = out.with_suffix("." + name)
            ratio_in, in_s, _ = _pairs(lambda p=path, n=name: tv_import(p, n), lambda: tv_import(source),
                                            options.pairs)
            print(f"{name}: export {out_s:.2f} s ({ratio_out:.2f}x the Taskwarrior format's), import "
                  f"{in_s:.2f} s ({ratio_in:.2f}x the Taskwarrior format's), {path.stat().st_size / 2**20:.1f} MiB",
                  flush=True)
    finally:
        if options.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
