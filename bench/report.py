"""The benchmark's figures: a table of measures and every target of issue 17, met or not."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from measure import pair_ratio, pct

TARGETS = {
    1: "one-shot add, done, edit: ≤ 0.5x Taskwarrior at 100k, ≤ 1x at 10k, ≤ 3x at 1k; 100k ≤ 2x 1k",
    2: "one-shot list, --tag, --search at 100k: ≤ 0.25x Taskwarrior and ≤ 1.5x the Python floor; at 10k ≤ 0.5x",
    3: "start-up: --version and help ≤ 2.5x python -I -c pass; any one-shot command's imports ≤ 30 ms",
    4: "no stalls: slowest of 10,000 acknowledgements at 100k ≤ 50 ms; a compaction ≤ 2x its floor",
    5: "session: prompt ≤ 0.15 s; loaded at 100k ≤ 0.6 s; a change ≤ 3x the fsync floor, p99 ≤ 5x its p99",
    6: "peak RSS at 100k ≤ 200 MB, one-shot list and a session",
    7: "disk at 100k: everything the store keeps ≤ 3x the tasks' own data",
}


def ms(seconds: Any) -> str:
    value = float(seconds)
    return f"{value * 1000:.2f}" if value < 0.01 else f"{value * 1000:.1f}" if value < 0.1 else f"{value * 1000:.0f}"


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.verdicts: list[dict[str, Any]] = []
        self.builds: dict[int, dict[str, Any]] = {}
        self.facts: dict[str, Any] = {}
        self.prompts: list[float] = []
        self.wall = 0.0

    def row(self, what: str, size: int | None, times: list[float], ref_name: str = "",
            ref: list[float] | None = None, *, ratio: float | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {"what": what, "size": size, "runs": len(times), "median": statistics.median(times),
                               "p99": pct(times, 0.99), "ref_name": ref_name, "times": times}
        if ref:
            row.update(ref_median=statistics.median(ref), ref_p99=pct(ref, 0.99), ref_times=ref,
                       ratio=ratio if ratio is not None else statistics.median(times) / statistics.median(ref))
        self.rows.append(row)
        return row

    def pair(self, what: str, size: int | None, times: list[float], ref_name: str, ref: list[float]) -> dict[str, Any]:
        """A row of interleaved pairs: its ratio is the median of the per-pair ratios."""
        return self.row(what, size, times, ref_name, ref, ratio=pair_ratio(times, ref))

    def target(self, number: int, ok: bool | None, text: str) -> None:
        """``ok`` None: not judged (the size the target names was not measured, or the figure cannot be had)."""
        self.verdicts.append({"target": number, "met": ok, "text": text})

    def print(self, *, every_target: bool = True) -> None:
        header = (f"{'measure':<36} {'tasks':>7} {'runs':>5} {'median ms':>9} {'p99 ms':>8}  {'reference':<28} "
                  f"{'median ms':>9} {'p99 ms':>8} {'ratio':>7}")
        print("\n" + header)
        print("-" * len(header))
        for r in self.rows:
            size = f"{r['size']:,}" if r["size"] else ""
            line = f"{r['what']:<36} {size:>7} {r['runs']:>5} {ms(r['median']):>9} {ms(r['p99']):>8}  {r['ref_name']:<28}"
            if "ref_median" in r:
                line += f" {ms(r['ref_median']):>9} {ms(r['ref_p99']):>8} {r['ratio']:>6.2f}x"
            print(line.rstrip())
        print("\nratio: the median of per-pair ratios for interleaved pairs (one-shot rows); for a session's changes, "
              "the median of per-block ratios (blocks of changes alternating with blocks of floor appends).")
        print("(resident): the default configuration, the store's resident process already running and verified "
              "serving; (in-process): TASKVAULT_RESIDENT=off, the whole command in its own process. Targets are "
              "judged on the resident rows, the in-process figure beside. cold start: the first command after the "
              "resident process has gone (in-process, then starting it), informational.")
        print("\ntargets (issue 17):")
        for number, text in TARGETS.items():
            mine = [v for v in self.verdicts if v["target"] == number]
            if not mine and not every_target:
                continue
            print(f"  {number}. {text}")
            if not mine:
                print("       NOT MEASURED  (the sizes it names were not in this run)")
            for v in mine:
                word = "MET" if v["met"] else "NOT JUDGED" if v["met"] is None else "NOT MET"
                print(f"       {word:<11} {v['text']}")
        if any(v["met"] is None for v in self.verdicts):
            print("  NOT JUDGED: the size the target names was not in this run, or the figure cannot be had from outside.")

    def as_json(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"options": vars(args), "wall_seconds": self.wall, "rows": self.rows, "targets": self.verdicts,
                "builds": self.builds, **self.facts}


def plot(report: Report, path: str) -> None:
    """Median latency against store size: taskvault's one-shot commands beside Taskwarrior's, and a session's change."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"\nno plot: matplotlib is not installed (pip install '.[bench]'); {path} not written")
        return
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    names = ["one-shot add (resident)", "one-shot add (in-process)", "one-shot list (resident)",
             "one-shot list (in-process)", "change in a session"]
    for n, name in enumerate(names):
        rows = [r for r in report.rows if r["what"] == name and r["size"] and
                (r["ref_name"].startswith("task") or name == "change in a session")]
        if not rows:
            continue
        colour = f"C{n}"
        sizes = [r["size"] for r in rows]
        ax.plot(sizes, [r["median"] * 1000 for r in rows], "o-", color=colour, label=f"taskvault {name}")
        if name.endswith("(in-process)"):  # (Taskwarrior once per command: its pairs with the in-process rows)
            ax.plot(sizes, [r["ref_median"] * 1000 for r in rows], "s--", color=colour,
                    label=f"Taskwarrior {name.removeprefix('one-shot ').removesuffix(' (in-process)')}")
        elif name == "change in a session":
            ax.plot(sizes, [r["ref_median"] * 1000 for r in rows], ":", color="grey", label="fsync floor (append)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tasks in the store")
    ax.set_ylabel("median latency (ms, log scale)")
    ax.set_title("taskvault and Taskwarrior 2.6 on the same disk, same tasks (interleaved pairs)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    print(f"\nplot written to {path}")
