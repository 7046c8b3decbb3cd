"""What a filter costs: one-shot ``list FILTER`` and ``next`` against a plain one-shot ``list``, in interleaved pairs.

    python bench/filter_cost.py [--size 100000] [--pairs 7] [--store DIR]

Issue 18 asks that filtering 100k tasks be as fast as ``list``. The reference is the program's own
plain ``list`` (the open tasks, by its fast path over the records as written), measured in the same
run, paired A B A B with each form below; the ratio is the median of the per-pair ratios. The store
is bench/load_cost.py's (SIZE tasks, 80% open, tags work/home/errand/urgent, priorities, due dates,
1000 steps of history and a journal of 200 changes), or the one at ``--store``. Output goes to a
pipe; the resident process is off, so each run loads the store itself.

To measure another checkout the same way, run it with PYTHONPATH=OTHER/src.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from list_cost import process  # sibling scripts
from load_cost import build_store
from measure import pairs

#: (name, the command's words): each paired with a plain `list`.
FORMS = [
    ("list +work", ["list", "+work"]),
    ("list pri:H", ["list", "pri:H"]),
    ("list due.before:eow", ["list", "due.before:eow"]),
    ("list (+work or +home) and not +urgent", ["list", "(+work or +home) and not +urgent"]),
    ("list fix (a word)", ["list", "fix"]),
    ("list +OVERDUE sort:due+", ["list", "+OVERDUE", "sort:due+"]),
    ("next (urgency, all rows)", ["next"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--store", type=Path, default=None, help="an existing store to list (not changed)")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="filter-cost-"))
    try:
        store = options.store
        if store is None:
            store = root / "store"
            build_store(store, options.size)
        env = {"TASKVAULT_DATA_DIR": str(store), "TASKVAULT_RESIDENT": "off", "TASKVAULT_CONFIG": "/dev/null",
               "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
               **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
        print(f"store {store} ({(store / 'tasks.json').stat().st_size / 1e6:.1f} MB snapshot); "
              f"{options.pairs} pairs each, against a plain one-shot `list`")
        plain = process([sys.executable, "-m", "taskvault", "list"], env)
        for name, args in FORMS:
            ours = process([sys.executable, "-m", "taskvault", *args], env)
            ratio, ref, took = pairs(plain, ours, options.pairs)
            print(f"{name:<40} {ratio:5.2f}x list   ({took * 1000:6.0f} ms vs {ref * 1000:5.0f} ms)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
