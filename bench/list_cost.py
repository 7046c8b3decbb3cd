"""What a one-shot ``list`` costs, against the floor of a parse-and-print list in Python, in interleaved pairs.

    python bench/list_cost.py [--size 100000] [--pairs 7] [--store DIR] [--taskwarrior]

To measure another checkout the same way, run it with PYTHONPATH=OTHER/src (the one-shot commands
inherit it).

Builds the deterministic store of bench/load_cost.py (SIZE tasks, 80% open and 20% done, the last
1000 changes as history and a journal of 200 more), or uses the one at ``--store``. Then, for
``list``, ``list --tag work`` and ``list --search fix``, in pairs (A B A B ...):

* the floor: a tiny script (``python -I``) that json-parses the snapshot and prints the open
  tasks that match, one formatted line each, and a count;
* the program's one-shot command, its output to a pipe.

With ``--taskwarrior`` the same tasks are imported into a Taskwarrior 2.6 store (once, in a
temporary directory) and its ``task list`` (with ``+work`` / ``/fix/``) is paired with the
program's too. Prints the median of the per-pair ratios; absolute times only for orientation
(the machine is shared).
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from load_cost import build_store  # a sibling script

FLOOR = """\
import json, sys
with open(sys.argv[1], "rb") as source:
    tasks = json.load(source)["tasks"]
mode, wanted = sys.argv[2], sys.argv[3].casefold()
rows = []
for t in tasks:
    if t["status"] != "open":
        continue
    if mode == "tag" and wanted not in t["tags"]:
        continue
    if mode == "search" and wanted not in t["title"].casefold() and wanted not in t["note"].casefold():
        continue
    rows.append(f"{t['id']:>6}  {t['priority'] or '':<6}  {t['due'] or '':<10}  {t['title']}  {' '.join(t['tags'])}")
rows.append(f"{len(rows)} open tasks shown")
sys.stdout.write("\\n".join(rows) + "\\n")
"""
#: (name, taskvault's arguments, the floor's mode and word, Taskwarrior's filter)
FORMS = [("list", ["list"], ("all", "-"), []),
         ("list --tag work", ["list", "--tag", "work"], ("tag", "work"), ["+work"]),
         ("list --search fix", ["list", "--search", "fix"], ("search", "fix"), ["/fix/"])]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pairs(reference: Callable[[], object], measured: Callable[[], object], count: int) -> tuple[float, float, float]:
    """(median ratio measured/reference, median reference s, median measured s) over ``count`` A B pairs."""
    ratios, refs, times = [], [], []
    for _ in range(count):
        ref, took = timed(reference), timed(measured)
        ratios.append(took / ref)
        refs.append(ref)
        times.append(took)
    return statistics.median(ratios), statistics.median(refs), statistics.median(times)


def process(command: list[str], env: dict[str, str]) -> Callable[[], object]:
    def run() -> None:
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        if done.returncode or not done.stdout:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return run


def taskwarrior_store(snapshot: Path, root: Path) -> dict[str, str]:
    """The snapshot's tasks imported into a Taskwarrior store under ``root``; the environment that uses it."""
    (root / "tw").mkdir()
    (root / "taskrc").write_text(f"data.location={root / 'tw'}\nconfirmation=off\nverbose=nothing\n"
                                 "recurrence=off\ngc=off\n")
    env = {"TASKRC": str(root / "taskrc"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC", "HOME": str(root)}
    tasks = json.loads(snapshot.read_bytes())["tasks"]
    letters = {"low": "L", "medium": "M", "high": "H"}

    def stamp(text: str) -> str:
        return text[:19].replace("-", "").replace(":", "") + "Z"
    out = []
    for t in tasks:
        item = {"uuid": t["uuid"], "description": t["title"], "entry": stamp(t["created"]),
                "modified": stamp(t["updated"]), "status": "pending" if t["status"] == "open" else "completed"}
        if t["completed"]:
            item["end"] = stamp(t["completed"])
        if t["priority"]:
            item["priority"] = letters[t["priority"]]
        if t["due"]:
            item["due"] = t["due"].replace("-", "") + "T000000Z"
        if t["tags"]:
            item["tags"] = t["tags"]
        out.append(item)
    (root / "import.json").write_text("\n".join(map(json.dumps, out)))
    subprocess.run(["task", "import", str(root / "import.json")], env=env, check=True, capture_output=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--store", type=Path, default=None, help="an existing store to list (not changed)")
    parser.add_argument("--taskwarrior", action="store_true")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="list-cost-"))
    try:
        store = options.store
        if store is None:
            store = root / "store"
            build_store(store, options.size)
        snapshot = store / "tasks.json"
        (root / "floor.py").write_text(FLOOR)
        env = {"TASKVAULT_DATA_DIR": str(store), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
               **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
        tw_env = taskwarrior_store(snapshot, root) if options.taskwarrior else None
        print(f"store {store} ({snapshot.stat().st_size / 1e6:.1f} MB snapshot); {options.pairs} pairs each")
        for name, args, (mode, word), tw_filter in FORMS:
            ours = process([sys.executable, "-m", "taskvault", *args], env)
            floor = process([sys.executable, "-I", str(root / "floor.py"), str(snapshot), mode, word], env)
            ratio, ref, took = pairs(floor, ours, options.pairs)
            print(f"{name:<20} {ratio:5.2f}x the floor   ({took * 1000:6.0f} ms vs {ref * 1000:4.0f} ms)")
            if tw_env is not None:
                # Case-insensitive, as taskvault's --search and the floor are: else /fix/ finds none of "Fix …"
                # and task exits 1.
                tw = process(["task", "rc.search.case.sensitive=no", "rc.report.list.columns=id,priority,due,description,tags",
                              "rc.report.list.labels=ID,Pri,Due,Title,Tags", *tw_filter, "list"], tw_env)
                ratio, ref, took = pairs(tw, ours, options.pairs)
                print(f"{'':<20} {ratio:5.2f}x Taskwarrior ({took * 1000:6.0f} ms vs {ref * 1000:4.0f} ms)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
