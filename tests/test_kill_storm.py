"""kill -9 at random moments never costs an acknowledged change and never leaves a store that won't load."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import killstorm
from .conftest import FIGURES, taskvault_compacting_at

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: At least 200 in CI; bench/kill_soak.py runs the same storm 5,000 times.
KILLS = 200


def test_kill_storm(data_dir: Path) -> None:
    """Every kill: the store loads, holds every acknowledged change and at most the one in flight.

    The child compacts whenever its journal outgrows the snapshot, so kills land in compactions too;
    temp files a kill leaves are gone once the next process has saved a change.
    """
    report = killstorm.storm(data_dir, taskvault_compacting_at(0), kills=KILLS, seed=20261121)
    assert report.kills == KILLS
    assert report.mid_save > 0, "no kill landed inside a save: the storm did not test what it claims"
    FIGURES["kill -9 storm"] = report.summary()
