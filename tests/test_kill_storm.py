"""kill -9 at random moments never costs an acknowledged change and never leaves a store that won't load."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from taskvault.store.journal_store import JournalStore

from . import killstorm
from .conftest import (
    FIGURES,
    KEYS,
    TASKVAULT,
    encrypted_stores,
    import_args,
    import_held,
    new_store,
    require_tool,
    seed_store,
    taskvault_compacting_at,
    taskwarrior_import,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: At least 200 in CI; bench/kill_soak.py runs the same storm 5,000 times.
KILLS = 200


def test_kill_storm(data_dir: Path) -> None:
    """Every kill: the store loads, holds every acknowledged change and at most the one in flight.

    The child compacts whenever its journal outgrows the snapshot, so kills land in compactions too;
    temp files a kill leaves are gone once the next process has saved a change. Imports (three new tasks and an update,
    after a backup) are among the changes: each acknowledged one is there whole, one in flight whole or not at all.
    """
    report = killstorm.storm(data_dir, taskvault_compacting_at(0), kills=KILLS, seed=20261121)
    assert report.kills == KILLS
    assert report.mid_save > 0, "no kill landed inside a save: the storm did not test what it claims"
    assert report.imports > 0, "no import was acknowledged: the storm did not test what it claims"
    FIGURES["kill -9 storm"] = report.summary()


#: On an encrypted store (its journal records sealed, its compactions writing an encrypted snapshot and backup).
ENCRYPTED_KILLS = 30


def test_kill_storm_on_an_encrypted_store(tmp_path: Path) -> None:
    """The same storm, fewer kills, on an encrypted store (made first, as init --encrypt does): every kill leaves a
    store that opens with its passphrase and holds every acknowledged change and at most the one in flight."""
    directory = tmp_path / "data"
    with encrypted_stores(tmp_path):
        new_store(directory)
        report = killstorm.storm(directory, taskvault_compacting_at(0), kills=ENCRYPTED_KILLS, seed=20261207)
    store = JournalStore(directory, passphrases=KEYS)
    store.load()
    assert store.encrypted and (directory / "tasks.json").read_bytes().startswith(b'{"format":"taskvault-encrypted"')
    landed = report.mid_save + report.outcomes[killstorm.RESERVED]  # (fewer kills: either kind of mid-save will do)
    assert report.kills == ENCRYPTED_KILLS and landed > 0 and report.compacting_runs > 0, report.summary()
    FIGURES["kill -9 storm, encrypted store"] = report.summary()


#: Kills of a one-shot import, each at a random moment of its run; every fsync is held 150 ms (strace), so the moments
#: spread over its backup and its append too, not only over the interpreter's start.
IMPORT_KILLS = 30


def test_kill_during_an_import(tmp_path: Path) -> None:
    """An import killed at any moment: the store loads and holds the whole import (three new tasks and the update of
    task 1) or none of it; all of it once it printed its acknowledgement; and the next import works."""
    directory = tmp_path / "data"
    seed_store(directory)
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(directory), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off"}
    rng = random.Random(20261207)
    outcomes: dict[str, int] = {}
    duration = None
    for round_ in range(IMPORT_KILLS + 1):
        new = tuple(f"Imported {round_}{letter}" for letter in "abc")
        title = f"Updated in round {round_}"
        source = taskwarrior_import(directory, tmp_path / f"import-{round_}.json", new=new, title=title,
                                    project=f"round{round_}")
        started = time.monotonic()
        child = subprocess.Popen([require_tool("strace"), "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync",
                                  "-e", "inject=fsync:delay_enter=150000", *TASKVAULT, *import_args(source)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if duration is None:  # the first round runs whole: how long an import takes here
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            duration = time.monotonic() - started
            assert import_held(JournalStore(directory).load(), new=new, title=title, project=f"round{round_}") == "all"
            continue
        # Not synchronisation: a random moment of the run, as long as a whole one took.
        time.sleep(rng.uniform(0, duration))
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode()
        held = import_held(JournalStore(directory).load(), new=new, title=title, project=f"round{round_}")
        acknowledged = b"Imported 4 tasks" in out
        assert held in ("all", "none"), f"round {round_}: the store holds {held}"
        assert held == "all" or not acknowledged, f"round {round_}: an acknowledged import is not there"
        outcome = ("acknowledged" if acknowledged else "durable, not yet acknowledged" if held == "all"
                   else "none of it")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("none of it", 0) > 0 and outcomes.get("durable, not yet acknowledged", 0) + outcomes.get(
        "acknowledged", 0) > 0, outcomes
    FIGURES["kill -9 during an import"] = f"{IMPORT_KILLS} kills: " + ", ".join(
        f"{name}: {count}" for name, count in sorted(outcomes.items()))
