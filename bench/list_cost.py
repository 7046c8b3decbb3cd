"""What a one-shot ``list`` costs, against the floor of a parse-and-print list in Python, in interleaved pairs.

    python bench/list_cost.py [--size 100000] [--pairs 7] [--store DIR] [--taskwarrior]

To measure another checkout the same way, run it with PYTHONPATH=OTHER/src (the one-shot commands
inherit it).

Builds the deterministic store of bench/load_cost.py (SIZE tasks, 80% open and 20% done, the last
1000 changes as history and a journal of 200 more), or uses the one at ``--store``. Then, for
``list``, ``list --tag work`` and ``list --search fix``, in pairs (A B A B ...):

* the floor: bench/floor_list.py (``python -I``), which json-parses the snapshot and prints the open
  tasks that match, one formatted line each, and a count (its search looks at titles only: notes
  would make it slower, and a floor must not be);
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
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from load_cost import build_store  # a sibling script
from measure import pairs
from stores import taskwarrior_document

BENCH = Path(__file__).parent

#: (name, taskvault's arguments, the floor's (bench/floor_list.py's) arguments after the file, Taskwarrior's filter)
FORMS = [("list", ["list"], [], []),
         ("list --tag work", ["list", "--tag", "work"], ["tag", "work"], ["+work"]),
         ("list --search fix", ["list", "--search", "fix"], ["search", "fix"], ["/fix/"])]


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

    def stamp(text: str) -> str:
        return text[:19].replace("-", "").replace(":", "") + "Z"
    out = [taskwarrior_document(t["uuid"], t["title"], entry=stamp(t["created"]), modified=stamp(t["updated"]),
                                end=stamp(t["completed"]) if t["completed"] else None,  # done exactly when completed
                                priority=t["priority"], due=t["due"], tags=t["tags"]) for t in tasks]
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
        env = {"TASKVAULT_DATA_DIR": str(store), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
               **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
        tw_env = taskwarrior_store(snapshot, root) if options.taskwarrior else None
        print(f"store {store} ({snapshot.stat().st_size / 1e6:.1f} MB snapshot); {options.pairs} pairs each")
        for name, args, floor_args, tw_filter in FORMS:
            ours = process([sys.executable, "-m", "taskvault", *args], env)
            floor = process([sys.executable, "-I", str(BENCH / "floor_list.py"), str(snapshot), *floor_args], env)
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
