"""What loading a store costs, against ``json.loads`` of the same bytes (the floor), in interleaved pairs.

    python bench/load_cost.py [--size 100000] [--pairs 7] [--dir DIR] [--one-shot]

To measure another checkout the same way, run it with PYTHONPATH=OTHER/src (the one-shot commands
inherit it).

Builds a deterministic store of SIZE tasks (80% open, 20% done, some with notes, tags, due
dates and priorities), with the last 1000 changes as history and a journal of 200 more
changes, as a store between compactions holds. Then, in pairs (A B A B ...):

* the floor: ``json.loads`` of the snapshot's bytes;
* a load: ``JournalStore(dir).load()`` in this process (what a session pays once);
* a full decode: every task built (what ``list`` pays for the tasks);
* a load and the snapshot written back from it (what a compaction pays before its write), and the
  same with every task built and encoded again (as before schema 3).

With ``--one-shot`` it also times the program's one-shot ``add`` and ``list`` at 1,000 tasks and
at this size, each against ``python -c pass``, and ``add``, ``done`` and ``edit`` at this size
against the same at 1,000 tasks. Prints the median
of the per-pair ratios; absolute times only for orientation (the machine is shared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import attrs

from taskvault import codec
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.history import Step
from taskvault.domain.task import Priority, Status, Task
from taskvault.store.journal_store import JournalStore

sys.path.insert(0, str(Path(__file__).parent))
import measure  # a sibling module

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
WORDS = ["buy", "call", "write", "fix", "plan", "read", "send", "book", "clean", "review", "café", "größe"]
TAGS = ["home", "work", "errand", "health", "money"]


def _task(rng: random.Random, task_id: int) -> Task:
    created = BASE + dt.timedelta(minutes=task_id, microseconds=rng.randrange(10**6))
    done = rng.random() < 0.2
    updated = created + dt.timedelta(hours=rng.randint(0, 48)) if done or rng.random() < 0.3 else created
    return Task(id=task_id, uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
                title=" ".join(rng.choice(WORDS) for _ in range(4)) + f" #{task_id}",
                created=created, updated=updated,
                note="line one\nline two" if rng.random() < 0.1 else "",
                status=Status.DONE if done else Status.OPEN,
                priority=rng.choice([None, *Priority]),
                due=(BASE + dt.timedelta(days=rng.randint(0, 400))).date() if rng.random() < 0.5 else None,
                tags=tuple(sorted(set(rng.sample(TAGS, rng.randint(0, 2))))),
                completed=updated if done else None)


def build_store(directory: Path, size: int, history: int = 1000, journal: int = 200, seed: int = 42) -> None:
    """A snapshot of ``size`` tasks with ``history`` steps, and a journal of ``journal`` edits after it."""
    rng = random.Random(seed)
    tasks = {i: _task(rng, i) for i in range(1, size + 1)}
    steps = []
    for rev in range(1, history + 1):
        task_id = rng.randint(1, size)
        before = tasks[task_id]
        after = attrs.evolve(before, title=before.title + " !")
        tasks[task_id] = after
        steps.append(Step(rev, BASE + dt.timedelta(seconds=rev), Change(ChangeKind.EDIT, put=(after,), next_id=size + 1),
                          (before,)))
    directory.mkdir(mode=0o700, parents=True)
    ordered = tuple(tasks[i] for i in sorted(tasks))
    (directory / "tasks.json").write_bytes(codec.encode_snapshot(ordered, size + 1, history, tuple(steps)))
    lines = [codec.encode_journal_header("0123456789abcdef", history)]
    for rev in range(history + 1, history + journal + 1):
        task_id = rng.randint(1, size)
        after = attrs.evolve(tasks[task_id], title=tasks[task_id].title + " ?")
        tasks[task_id] = after
        lines.append(codec.encode_record(Change(ChangeKind.EDIT, put=(after,), next_id=size + 1), rev,
                                         BASE + dt.timedelta(seconds=rev)))
    (directory / "tasks.journal").write_bytes(b"".join(lines))
    (directory / "tasks.lock").write_bytes(b"")


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes, with the cyclic collector paused as the loader pauses it."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def one_shot(directory: Path, args: list[str]) -> Callable[[], object]:
    env = {"TASKVAULT_DATA_DIR": str(directory), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}  # to measure another checkout's src
    command = [sys.executable, "-m", "taskvault", *args]

    def run() -> None:
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        if done.returncode:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--one-shot", action="store_true")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="load-cost-", dir=options.dir))
    try:
        store = root / "store"
        build_store(store, options.size)
        data = (store / "tasks.json").read_bytes()
        print(f"store: {options.size} tasks, snapshot {len(data) / 1e6:.1f} MB, "
              f"journal {(store / 'tasks.journal').stat().st_size / 1e3:.0f} kB", flush=True)
        floor = lambda: json.loads(data)  # noqa: E731

        measures = [("load (JournalStore.load)", lambda: JournalStore(store).load()),
                    ("full decode (every task built)", lambda: codec.decode_snapshot(data))]
        if hasattr(codec, "encode_tasklist"):  # absent before schema 3: the script also measures older checkouts
            measures += [("load + write back (compaction)", lambda: codec.encode_tasklist(JournalStore(store).load()))]
        measures += [("the same, every task built", lambda: codec.encode_snapshot(*JournalStore(store).load().snapshot()))]
        for name, measured in measures:
            ratio, ref, took = measure.pairs(floor, measured, options.pairs, timed)
            print(f"{name:34} {ratio:5.2f}x json.loads   ({took * 1e3:6.0f} ms vs {ref * 1e3:5.0f} ms)", flush=True)
        if options.one_shot:
            small = root / "small"
            build_store(small, 1000, history=100, journal=20)
            bare = lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)  # noqa: E731
            for label, directory in (("1k", small), (f"{options.size // 1000}k", store)):
                for args in (["add", "Bench task"], ["list"]):
                    ratio, ref, took = measure.pairs(bare, one_shot(directory, args), options.pairs, timed)
                    print(f"one-shot {args[0]:4} at {label:5} {ratio:6.1f}x python -c pass ({took * 1e3:6.0f} ms "
                          f"vs {ref * 1e3:4.0f} ms)", flush=True)
            for args in (["add", "Bench task"], ["done", "7"], ["edit", "9", "--title", "Edited"]):
                big = one_shot(store, args)
                ratio, ref, took = measure.pairs(one_shot(small, args), big, options.pairs, timed)
                print(f"one-shot {args[0]:4} at {options.size // 1000}k {ratio:5.2f}x the same at 1k ({took * 1e3:6.0f} ms "
                      f"vs {ref * 1e3:4.0f} ms)", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
