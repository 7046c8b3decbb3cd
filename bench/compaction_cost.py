"""What compaction and backups cost, and whether any acknowledgement waits for them.

1. Compaction of a store of SIZE tasks with a journal, against its floor (encode the same snapshot, write
   it to a temp file, fsync), as interleaved pairs (A B A B): the median of the per-pair ratios. Also what
   the backup taken with it costs alone, and what decoding that backup again (the old verification) cost.
2. A session of N changes through the runner (as the REPL and scripts run them) on a store of SIZE tasks
   whose policy makes them cross compaction and backup thresholds: the slowest acknowledgement (from the
   command's start to its output written and flushed) and the slowest housekeeping after one.
3. Disk: what the store keeps (snapshot, journal, backups counted once per file) against the snapshot.

    python bench/compaction_cost.py [--size 100000] [--pairs 5] [--changes 5000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from taskvault import codec
from taskvault.cli.render import Style
from taskvault.cli.runner import Runner
from taskvault.service import TaskService
from taskvault.store.housekeeping import Housekeeping
from taskvault.store.journal_store import JournalStore

sys.path.insert(0, str(Path(__file__).parent))
from load_cost import build_store  # the same deterministic store (a snapshot, and a journal after it)
from measure import write_fsynced


def floor(directory: Path, tasks: object) -> float:
    """Encode the snapshot, write it to a new file and fsync it: the least a compaction must do."""
    start = time.perf_counter()
    data = codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history))  # type: ignore[attr-defined]
    path = directory / "floor.tmp"
    write_fsynced(path, data)
    cost = time.perf_counter() - start
    path.unlink()
    return cost


def compaction(store: JournalStore, service: TaskService) -> float:
    tasks = service.tasks
    with store.locked():
        caught = store.catch_up(tasks)
        start = time.perf_counter()
        store.compact(caught.tasks)
        return time.perf_counter() - start


class Clocked(io.StringIO):
    """Standard output that notes when it was last flushed (an acknowledgement is flushed at once)."""

    flushed = 0.0

    def flush(self) -> None:
        super().flush()
        self.flushed = time.perf_counter()


def session(directory: Path, changes: int, policy: Housekeeping, *,
            background: bool = True) -> tuple[list[float], list[float]]:
    """Run ``changes`` adds and edits as a session does (``background``: as the REPL and scripts, housekeeping in
    a thread; else as one-shot commands, after the output); each one's acknowledgement time and the time
    after it before the next command can start."""
    service = TaskService(JournalStore(directory, housekeeping=policy))
    out, err = Clocked(), io.StringIO()
    runner = Runner(service, as_json=False, style=Style(False), out=out, err=err, width=None)
    assert runner.run(["stats"]) == 0, err.getvalue()  # load first: the session's start is not a change
    acks, tails = [], []
    for n in range(changes):
        tokens = ["add", f"bench {n}"] if n % 2 == 0 else ["edit", str(1 + n), "--title", f"edited {n}"]
        start = time.perf_counter()
        code = runner.run_line(" ".join(tokens), None, in_session=True) if background else runner.run(tokens)
        end = time.perf_counter()
        assert code == 0, err.getvalue()
        acks.append(out.flushed - start)
        tails.append(end - out.flushed)
        out.seek(0), out.truncate()
    if err.getvalue():
        print("warnings:", err.getvalue().strip())
    service.close()
    return acks, tails


def disk(directory: Path) -> tuple[int, int, int, int]:
    snapshot = (directory / "tasks.json").stat().st_size
    journal = (directory / "tasks.journal").stat().st_size
    seen: set[int] = set()
    backups = count = 0
    for entry in os.scandir(directory / "backups"):
        info = entry.stat(follow_symlinks=False)
        count += 1
        if info.st_ino not in seen:
            seen.add(info.st_ino)
            backups += info.st_size
    return snapshot, journal, backups, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--sessions-only", action="store_true", help="skip the compaction pairs")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="taskvault-compaction-", dir=args.dir))
    directory = root / "store"
    build_store(directory, args.size)
    print(f"{args.size} tasks, store in {directory}")

    # 1. compaction against its floor, interleaved
    store = JournalStore(directory)
    service = TaskService(store)
    load_start = time.perf_counter()
    tasks = service.tasks
    print(f"load: {time.perf_counter() - load_start:.2f} s")
    ratios, costs, floors = [], [], []
    for _ in range(0 if args.sessions_only else args.pairs):
        a = compaction(store, service)
        b = floor(root, tasks)
        costs.append(a), floors.append(b), ratios.append(a / b)
    if not args.sessions_only:
        print(f"compaction: median {statistics.median(costs):.3f} s, floor (encode+write+fsync) median "
              f"{statistics.median(floors):.3f} s; per-pair ratio median {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    data = (directory / "tasks.json").read_bytes()
    start = time.perf_counter()
    codec.decode_snapshot(data)
    print(f"the old verification (decoding the backup again): {time.perf_counter() - start:.3f} s, no longer done")
    compaction(store, service)  # (a backup to look at, in every mode)
    newest = store.backups.list()[0]
    print(f"backup: {newest.size / 1e6:.1f} MB compressed for a {len(data) / 1e6:.1f} MB snapshot "
          f"({len(data) / newest.size:.1f}x); {len(store.backups.list())} backups of one state share "
          f"{len({os.stat(b.path).st_ino for b in store.backups.list()})} file(s)")
    service.close()

    # 2. a session crossing compaction and backup thresholds, housekeeping after the output (as a one-shot
    # command runs it) and in the background (as the REPL and scripts run it), interleaved in blocks
    every_change = Housekeeping(backup_interval=dt.timedelta(0))  # a backup due after every change
    for background in (False, True):
        how = "in the background" if background else "after the output"
        acks, tails = session(directory, 50, every_change, background=background)
        print(f"backup due after every change, housekeeping {how} ({len(acks)} changes): slowest acknowledgement "
              f"{max(acks) * 1e3:.1f} ms (median {statistics.median(acks) * 1e3:.2f} ms); slowest wait before "
              f"the next command {max(tails) * 1e3:.0f} ms")
    for background in (False, True):
        how = "in the background" if background else "after the output"
        acks, tails = session(directory, args.changes, Housekeeping(), background=background)
        slow = sorted(tails)[-3:]
        print(f"default policy, housekeeping {how} ({len(acks)} changes): slowest acknowledgement "
              f"{max(acks) * 1e3:.1f} ms (median {statistics.median(acks) * 1e3:.2f} ms, p99 "
              f"{sorted(acks)[int(0.99 * len(acks))] * 1e3:.2f} ms); slowest waits before the next command: "
              f"{', '.join(f'{t * 1e3:.0f}' for t in slow)} ms")

    # 3. disk
    snapshot, journal, backups, count = disk(directory)
    print(f"disk: snapshot {snapshot / 1e6:.1f} MB, journal {journal / 1e6:.2f} MB, {count} backups in "
          f"{backups / 1e6:.1f} MB; total {(snapshot + journal + backups) / snapshot:.2f}x the snapshot")


if __name__ == "__main__":
    main()
