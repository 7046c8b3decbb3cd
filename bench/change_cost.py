"""Cost of one durable change inside a session, against the fsync floor measured beside it.

    python bench/change_cost.py [--sizes 1000,10000,100000] [--changes 2000] [--acks 10000] [--quick]

The session part of bench/run.py on its own: for each size it builds the store through the
program (a script-mode session), then sends changes (add, edit, done, delete in turn) to one
session reading a pipe, timing each from the line sent to its acknowledgement line, in blocks
that alternate with blocks of fsync-floor appends on the same disk. Prints medians, p99, the
median of the per-block ratios and the slowest acknowledgement, and the compactions seen while
building (each beside its serialise-write-fsync floor).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Bench, options_parser, parse_options


def main() -> None:
    args = parse_options(options_parser(__doc__.splitlines()[0]))
    bench = Bench(args)
    began = time.perf_counter()
    for size in bench.sizes:
        bench.build(size)
        bench.session(size, args.acks if size == bench.sizes[-1] else args.changes)
    bench.compaction()
    bench.finish(began, every_target=False)


if __name__ == "__main__":
    main()
