"""Collect the executable scenarios of every spec (``specs/*/*.md``) as tests.

The transcript format and runner are in ``tests/transcript.py``; this file only tells pytest
that each scenario is a test, and counts them for the summary.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests import transcript

#: A scenario that injects faults or drives a real terminal is a proof for CI, not the fast tier.
_SLOW_TOOLS = {"fiu-run", "strace", "tmux"}
_COUNTS: Counter[str] = Counter()
_FEATURES: set[str] = set()


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".md" and file_path.parent.parent == Path(__file__).parent:
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFile(pytest.File):
    def collect(self):  # type: ignore[no-untyped-def]
        for scenario in transcript.parse(self.path):
            item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
            if scenario.tools & _SLOW_TOOLS:
                item.add_marker(pytest.mark.slow)
            yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: transcript.Scenario, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        reason = transcript.skip_reason(self.scenario)
        if reason:
            pytest.skip(reason)
        workdir = self.config._tmp_path_factory.mktemp("scenario")  # type: ignore[attr-defined]
        steps = transcript.run(self.scenario, workdir)
        _COUNTS["scenarios"] += 1
        _COUNTS["steps"] += steps
        _FEATURES.add(self.path.parent.name)

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, transcript.TranscriptFailed):
            return f"scenario '{self.scenario.name}' failed at {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name}"


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _COUNTS:
        terminalreporter.write_line(f"specs: {_COUNTS['scenarios']} scenarios passed "
                                    f"({_COUNTS['steps']} transcript steps) in {len(_FEATURES)} features")
