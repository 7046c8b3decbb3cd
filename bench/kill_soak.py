"""The long kill -9 soak: the CI storm (tests/test_kill_storm.py), 5,000 kills by default.

    python bench/kill_soak.py [--kills N] [--seed S]

Prints progress every 100 kills and the figures at the end; exits 1 on the first broken promise
(the store does not load, an acknowledged change is missing, or more than the one change in
flight is there). About 0.17 s per kill on the reference machine: 5,000 kills take ~15 minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import killstorm
from tests.conftest import taskvault_compacting_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    printed = set()

    def progress(report: killstorm.StormReport) -> None:
        if report.kills % 100 == 0 and report.kills not in printed:
            printed.add(report.kills)
            print(f"  {report.summary()}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        try:
            report = killstorm.storm(Path(tmp) / "data", taskvault_compacting_at(0), args.kills, args.seed, progress)
        except AssertionError as exc:
            print(f"BROKEN PROMISE: {exc}", file=sys.stderr)
            return 1
    print(f"kill -9 soak (seed {args.seed}): {report.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
