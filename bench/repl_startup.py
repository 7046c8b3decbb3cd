"""Time to prompt of the interactive session, and time until its store is loaded.

    python bench/repl_startup.py [--sizes 1000,10000,100000] [--repl-runs 5] [--quick]

The session part of bench/run.py on its own: for each size it builds the store through the
program, then runs `taskvault` in a pseudo-terminal (answering prompt_toolkit's cursor-position
requests as a terminal does) and times from spawn until 'taskvault>' and then the toolbar's
task counts are on the screen. The output is played into a small terminal screen
(bench/screen.py), because prompt_toolkit redraws only the cells that change: the old pattern
on the raw bytes missed the counts with longer data-dir paths, so the stores here sit under a
long path on purpose, and the run says how often the old pattern would have matched.
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
        bench.repl(size)
    bench.finish(began, every_target=False)


if __name__ == "__main__":
    main()
