"""Cost of one durable change inside a session at 1k, 10k and 100k tasks.

Prints medians and p99 against the fsync floor of the same disk, measured in the same
run, plus what a session pays once (load) and now and then (compaction).

    python bench/change_cost.py [--sizes 1000,10000,100000] [--changes 400] [--dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from taskvault import codec
from taskvault.domain import operations
from taskvault.domain.task import Priority, Task
from taskvault.service import TaskService
from taskvault.store.journal_store import JournalStore

BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def build_store(directory: Path, size: int, seed: int = 42) -> None:
    """A deterministic store of ``size`` tasks, written as a snapshot."""
    rng = random.Random(seed)
    words = ["buy", "call", "write", "fix", "plan", "read", "send", "book", "clean", "review"]
    tags = ["home", "work", "errand", "health", "money"]
    tasks = []
    for task_id in range(1, size + 1):
        created = BASE + dt.timedelta(minutes=task_id)
        tasks.append(Task(
            id=task_id, uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
            title=" ".join(rng.choice(words) for _ in range(4)) + f" #{task_id}",
            created=created, updated=created,
            priority=rng.choice([None, *Priority]),
            due=(BASE + dt.timedelta(days=rng.randint(0, 400))).date() if rng.random() < 0.5 else None,
            tags=tuple(sorted(set(rng.sample(tags, rng.randint(0, 2))))),
        ))
    directory.mkdir(mode=0o700, parents=True)
    (directory / "tasks.json").write_bytes(codec.encode_snapshot(tuple(tasks), size + 1, 0))


def fsync_floor(directory: Path, count: int) -> list[float]:
    """Append a 400-byte line and fsync, ``count`` times: the least a durable change can cost."""
    path = directory / "floor.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, b"x" * 399 + b"\n")
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return times


def session_changes(directory: Path, count: int) -> tuple[float, list[float]]:
    """Load once, then time ``count`` changes (add, edit, done, delete in turn)."""
    service = TaskService(JournalStore(directory))
    start = time.perf_counter()
    size = len(service.tasks)
    load = time.perf_counter() - start
    rng = random.Random(1)
    times = []
    for n in range(count):
        kind = n % 4
        target = rng.randint(1, size)
        while target not in service.tasks:
            target = rng.randint(1, size)
        now = service.now()
        if kind == 0:
            plan = lambda t, n=n, now=now: operations.plan_add(t, f"bench task {n}", now=now, tags=("bench",))  # noqa: E731
        elif kind == 1:
            plan = lambda t, n=n, now=now, target=target: operations.plan_edit(  # noqa: E731
                t, target, operations.TaskEdit(title=f"edited {n}"), now=now)
        elif kind == 2:
            plan = lambda t, now=now, target=target: operations.plan_done(t, [target], now=now)  # noqa: E731
        else:
            plan = lambda t, target=target: operations.plan_delete(t, [target])  # noqa: E731
        start = time.perf_counter()
        service.execute(plan)
        times.append(time.perf_counter() - start)
    service.close()
    return load, times


def compaction_cost(directory: Path) -> float:
    store = JournalStore(directory)
    service = TaskService(store)
    tasks = service.tasks
    with store.locked():
        store.catch_up(tasks)
        start = time.perf_counter()
        store.compact(tasks)
        cost = time.perf_counter() - start
    service.close()
    return cost


def one_shot_add(directory: Path) -> float:
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(directory)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "taskvault", "add", "one-shot"], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--dir", default=None, help="where to build the stores (default: a temp dir)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="taskvault-bench-", dir=args.dir))
    floor = fsync_floor(root, args.changes)
    floor_median, floor_p99 = statistics.median(floor), pct(floor, 0.99)
    print(f"machine: {os.cpu_count()} cores, store in {root}")
    print(f"fsync floor (append 400 B + fsync): median {floor_median * 1e3:.3f} ms, p99 {floor_p99 * 1e3:.3f} ms\n")
    header = (f"{'tasks':>8} {'load s':>7} {'change median ms':>17} {'p99 ms':>8} {'median/floor':>13} "
              f"{'p99/floor p99':>14} {'compaction s':>13} {'one-shot add s':>15}")
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        directory = root / f"store-{size}"
        build_store(directory, size)
        load, times = session_changes(directory, args.changes)
        median, p99 = statistics.median(times), pct(times, 0.99)
        compaction = compaction_cost(directory)
        oneshot = one_shot_add(directory)
        print(f"{size:>8} {load:>7.2f} {median * 1e3:>17.3f} {p99 * 1e3:>8.3f} {median / floor_median:>13.1f} "
              f"{p99 / floor_p99:>14.1f} {compaction:>13.2f} {oneshot:>15.2f}")
    print("\nA change is one journal append + fsync, so its cost should stay flat as the store grows.")
    print("Compaction runs when the journal outgrows the snapshot (amortised: about one per snapshot-size of changes).")


if __name__ == "__main__":
    main()
