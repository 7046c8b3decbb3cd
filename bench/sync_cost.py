"""What sync costs: two replicas of a store built the way users build theirs, a git server on loopback.

    python bench/sync_cost.py [--size 10000] [--changes 1000] [--rounds 5] [--pairs 11] [--dir DIR]

Issue 22 asks that syncing 1,000 new operations between two replicas of 10,000 tasks take at most 2 s, and
a sync with nothing new at most 0.3 s, on loopback. The bench builds store A THROUGH THE PROGRAM (bench/
stores.py: one script-mode session adds the seeded tasks, edits 5% and marks 20% done, so it has its
journal, history, compactions and backups), starts `git daemon --enable=receive-pack` on 127.0.0.1 at a free
port serving a new bare repository, and makes replica B by a first `taskvault sync --remote URL` into an
empty data directory after A's first sync. Then, every figure as interleaved pairs (A B, B A …):

* (a) 1,000 new operations: A changes 1,000 tasks (one script-mode session, `edit ID --title …`), then the
  time of `taskvault sync` on A (numbers and pushes them) plus `taskvault sync` on B (fetches and takes them
  in); beside it, the reference: the same bytes moved by git alone (a commit of one file of that size pushed
  from a plain clone and fetched into another), the transport's floor;
* (b) a sync with nothing new, on A: `taskvault sync`, against `git fetch` of the same remote into a plain
  clone (what any sync must at least do).

Each taskvault command runs as a user's one-shot command (its own process, the default configuration).
Prints medians, the slowest run, the targets and the ratios. Nothing here imports taskvault.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import BenchError, installed_taskvault, run_timed
from run import compile_installed
from stores import build_taskvault, seeded_tasks


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Daemon:
    """git daemon on 127.0.0.1 serving ``base``, stopped by its pid."""

    def __init__(self, base: Path) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={self.port}", f"--base-path={base}",
             "--export-all", "--enable=receive-pack", str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise BenchError("git daemon did not start") from None

    def stop(self) -> None:
        os.killpg(self.process.pid, 9)
        self.process.wait()


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--dir")
    args = parser.parse_args()
    taskvault = installed_taskvault(sys.executable)
    compile_installed()
    root = Path(args.dir or tempfile.mkdtemp(prefix="taskvault-sync-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(root), "XDG_RUNTIME_DIR": str(root / "run")}
    (root / "run").mkdir(mode=0o700, exist_ok=True)
    served = root / "served"
    served.mkdir()
    _git("init", "--quiet", "--bare", str(served / "tasks.git"))
    daemon = Daemon(served)
    try:
        url = f"git://127.0.0.1:{daemon.port}/tasks.git"
        a, b = root / "a", root / "b"
        tasks = seeded_tasks(args.size)
        began = time.perf_counter()
        build_taskvault(taskvault, a, tasks, env=env)
        print(f"store A: {args.size:,} tasks built through the program in {time.perf_counter() - began:.1f} s")
        first_a = run_timed([taskvault, "--data-dir", str(a), "sync", "--remote", url], env)
        first_b = run_timed([taskvault, "--data-dir", str(b), "sync", "--remote", url], env)
        print(f"first sync: A sends {args.size:,} tasks in {first_a:.2f} s; B, a new device, takes them in "
              f"{first_b:.2f} s")

        # The reference's two plain clones, moving a file as large as the operations taskvault moves.
        sender, receiver = root / "git-sender", root / "git-receiver"
        _git("clone", "--quiet", url, str(sender))
        _git("clone", "--quiet", url, str(receiver))
        _git("config", "user.email", "bench@localhost", cwd=sender)
        _git("config", "user.name", "bench", cwd=sender)

        def changes(round_: int) -> None:
            script = root / f"edits-{round_}"
            ids = range(1, args.changes + 1)
            script.write_text("".join(f"edit {i} --title 'Round {round_} change {i}'\n" for i in ids))
            subprocess.run([taskvault, "--data-dir", str(a), "--script", str(script)], env=env, check=True,
                           stdout=subprocess.DEVNULL)

        segment_bytes = 0

        def taskvault_round(n: int) -> float:
            nonlocal segment_bytes
            changes(n)
            took = run_timed([taskvault, "--data-dir", str(a), "sync"], env)
            took += run_timed([taskvault, "--data-dir", str(b), "sync"], env)
            listing = subprocess.run(["git", "--git-dir", str(a / "sync.git"), "ls-tree", "-r", "-l",
                                      "refs/remotes/origin/main", "ops/"], capture_output=True, text=True, check=True)
            sizes = sorted(int(line.split()[3]) for line in listing.stdout.splitlines())
            segment_bytes = sizes[-1] if sizes else 0  # (the newest segments are the largest: 1,000 operations)
            return took

        def git_round(n: int) -> float:
            payload = sender / f"ops-{n}.jsonl"
            line = '{"seq":%d,"task":"%s","clock":{"0123456789ab":%d},"body":{"title":"Round %d change %d"}}\n'
            text = "".join(line % (i, f"{i:032x}", i, n, i) for i in range(args.changes)).encode()
            payload.write_bytes((text * (segment_bytes // max(len(text), 1) + 1))[:max(segment_bytes, len(text))])
            # (up to date with taskvault's pushes first, untimed: a push that is not a fast-forward is refused)
            _git("pull", "--quiet", "--rebase", "origin", "main", cwd=sender)
            _git("pull", "--quiet", "--rebase", "origin", "main", cwd=receiver)
            start = time.perf_counter()
            _git("add", payload.name, cwd=sender)
            _git("commit", "--quiet", "-m", f"round {n}", cwd=sender)
            _git("push", "--quiet", "origin", "HEAD:main", cwd=sender)
            _git("pull", "--quiet", "--rebase", "origin", "main", cwd=receiver)
            return time.perf_counter() - start

        ours, floor = [], []
        for n in range(args.rounds):
            if n % 2:
                floor.append(git_round(n))
                ours.append(taskvault_round(n))
            else:
                ours.append(taskvault_round(n))
                floor.append(git_round(n))
        ratio = statistics.median(x / y for x, y in zip(ours, floor, strict=True))
        print(f"(a) {args.changes:,} new operations between two replicas of {args.size:,} tasks: median "
              f"{statistics.median(ours):.2f} s (slowest {max(ours):.2f} s; target ≤ 2 s); git alone moving "
              f"the same bytes {statistics.median(floor):.2f} s; ratio {ratio:.2f}×")

        quiet, fetch = [], []
        for n in range(args.pairs):
            measured = lambda: run_timed([taskvault, "--data-dir", str(a), "sync"], env)  # noqa: E731
            reference = lambda: run_timed(["git", "fetch", "--quiet", "origin"], env, cwd=str(receiver))  # noqa: E731
            if n % 2:
                fetch.append(reference())
                quiet.append(measured())
            else:
                quiet.append(measured())
                fetch.append(reference())
        ratio = statistics.median(x / y for x, y in zip(quiet, fetch, strict=True))
        print(f"(b) a sync with nothing new: median {statistics.median(quiet):.3f} s (slowest {max(quiet):.3f} s; "
              f"target ≤ 0.3 s); git fetch alone {statistics.median(fetch):.3f} s; ratio {ratio:.2f}×")
    finally:
        daemon.stop()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
