"""Files put back by hand (issue 14, item 5): any state of the store's files that loads also takes a change, and
that change then loads.

A person restores tasks.json from a copy, drops a journal, puts an older journal back. The store may refuse such a
mix (with a message), but whatever it loads, it must also be able to change -- a snapshot ahead of its whole
journal once made every later change unloadable.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from taskvault.errors import StorageError
from taskvault.store.journal_store import JournalStore

from .conftest import Session, run_taskvault, taskvault_compacting_at

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow


def _titles(directory: Path) -> list[str]:
    return [task.title for task in JournalStore(directory).load()]


class TestASnapshotAheadOfItsJournal:
    def test_a_later_snapshot_copied_back_beside_an_older_journal(self, tmp_path: Path) -> None:
        """tasks.json from a later state (after a compaction) beside the journal of an earlier one: the store loads
        as that snapshot, takes a change through the installed program, and the change then loads, also after
        the next change and in a new process."""
        directory = tmp_path / "data"
        for title in ("A", "B"):
            assert run_taskvault(directory, "add", title).code == 0
        old_journal = (directory / "tasks.journal").read_bytes()  # records 1-2, continuing revision 0
        compacting = run_taskvault_with(taskvault_compacting_at(0), directory, "add", "C")
        assert compacting.returncode == 0 and "Added task 3: C" in compacting.stdout, compacting.stderr
        assert run_taskvault(directory, "add", "D").code == 0
        (directory / "tasks.journal").write_bytes(old_journal)  # the snapshot (revision 3) is ahead of all of it
        store = JournalStore(directory)
        assert [t.title for t in store.load()] == ["A", "B", "C"]
        added = run_taskvault(directory, "add", "E")
        # D (task 4) went with the journal the person replaced: nothing on disk names 4 any more.
        assert (added.code, added.out, added.err) == (0, "Added task 4: E\n", ""), added
        assert _titles(directory) == ["A", "B", "C", "E"]
        assert run_taskvault(directory, "done", "4").code == 0
        listed = run_taskvault(directory, "list", "--all")
        assert listed.code == 0 and "E" in listed.out, listed
        tasks = JournalStore(directory).load()
        assert tasks.revision == 5 and tasks.get(4).status.value == "done"

    def test_a_journal_as_old_as_the_snapshot_and_an_older_one(self, tmp_path: Path) -> None:
        """In process: the journal put back ends exactly at the snapshot's revision, or long before it; both take
        a change that the next reader sees."""
        directory = tmp_path / "data"
        session = Session(directory)
        journals = []
        for line in ("add One", "add Two", "done 1", "add Three"):
            assert session.run(line) == 0
            journals.append((directory / "tasks.journal").read_bytes())
        _compact(session)
        assert session.run("add Four") == 0
        session.close()
        snapshot = (directory / "tasks.json").read_bytes()  # revision 4
        for journal in (journals[-1], journals[0]):
            (directory / "tasks.json").write_bytes(snapshot)
            (directory / "tasks.journal").write_bytes(journal)
            before = JournalStore(directory).load()
            assert [t.title for t in before] == ["One", "Two", "Three"] and before.revision == 4
            other = Session(directory)
            assert other.run("add Five") == 0, other.err.getvalue()
            other.close()
            assert _titles(directory) == ["One", "Two", "Three", "Five"]


def run_taskvault_with(program: list[str], directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``program`` (a variant of the installed one) against ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
    env.update({"TASKVAULT_DATA_DIR": str(directory), "NO_COLOR": "1"})
    return subprocess.run([*program, *args], env=env, capture_output=True, text=True, timeout=60)


def _compact(session: Session) -> None:
    store = session.store
    with store.locked():
        store.catch_up(session.service.tasks)  # one session: memory is the store, caught up in place
        store.compact(session.service.tasks)


# -- the property: random stores, perturbed by hand, then changed ---------------------------------------------------

STEP = st.one_of(
    st.builds(lambda n: f"add 'Task {n}'", st.integers(0, 99)),
    st.builds(lambda i, n: f"edit {i} --title 'Edited {n}'", st.integers(1, 6), st.integers(0, 99)),
    st.builds(lambda i: f"done {i}", st.integers(1, 6)),
    st.builds(lambda i: f"reopen {i}", st.integers(1, 6)),
    st.builds(lambda i: f"delete {i} --yes", st.integers(1, 6)),
    st.just("undo"),
    st.just("compact"),
)


@attrs.frozen
class Files:
    snapshot: bytes | None
    journal: bytes | None


def _files(directory: Path) -> Files:
    def read(name: str) -> bytes | None:
        path = directory / name
        return path.read_bytes() if path.exists() else None
    return Files(read("tasks.json"), read("tasks.journal"))


#: One thing a person may do to the files by hand, given every version the store went through.
Perturb = Callable[[list[Files], Any], Files]


def _mix(versions: list[Files], data: Any) -> Files:
    """The snapshot of one version beside the journal of another (older, newer or the same)."""
    return Files(data.draw(st.sampled_from(versions)).snapshot, data.draw(st.sampled_from(versions)).journal)


def _no_journal(versions: list[Files], data: Any) -> Files:
    return Files(data.draw(st.sampled_from(versions)).snapshot, None)


def _journal_cut_at_a_line(versions: list[Files], data: Any) -> Files:
    """Records dropped from the journal's end (a journal from a copy taken earlier), with any snapshot."""
    journal = data.draw(st.sampled_from(versions)).journal or b""
    lines = journal.splitlines(keepends=True)
    keep = data.draw(st.integers(1, max(1, len(lines))))
    return Files(data.draw(st.sampled_from(versions)).snapshot, b"".join(lines[:keep]) or None)


def _journal_cut_anywhere(versions: list[Files], data: Any) -> Files:
    """The journal cut at any byte (a crash, or a copy of a file being written)."""
    version = data.draw(st.sampled_from(versions))
    journal = version.journal or b""
    return Files(version.snapshot, journal[: data.draw(st.integers(0, len(journal)))] or None)


def _should_load(state: Files) -> bool:
    """Whole lines of one history: they load unless the journal continues a revision the snapshot has not reached
    (the one mix the loader must refuse, since the changes between would be missing)."""
    if state.journal is None:
        return True
    assert state.snapshot is not None
    header = json.loads(state.journal.split(b"\n", 1)[0][9:])
    return bool(header["base"] <= json.loads(state.snapshot)["revision"])


PERTURBATIONS: dict[str, Perturb] = {"mix": _mix, "no journal": _no_journal, "cut at a line": _journal_cut_at_a_line,
                                     "cut anywhere": _journal_cut_anywhere}


class TestAnyStateThatLoadsTakesAChange:
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
    @given(steps=st.lists(STEP, max_size=12), how=st.sampled_from(sorted(PERTURBATIONS)),
           drop_lock=st.booleans(), data=st.data())
    def test_put_back_files_load_then_change_then_load(self, steps: list[str], how: str, drop_lock: bool,
                                                       data: Any) -> None:
        """A store built through the program, its files then mixed, dropped or cut by hand: if it loads, a change
        is saved, and the store then loads with exactly that change on top of what it loaded."""
        with tempfile.TemporaryDirectory() as scratch:
            built, probe = Path(scratch) / "built", Path(scratch) / "probe"
            session = Session(built)
            assert session.run("add First") == 0
            versions = [_files(built)]
            for step in steps:
                if step == "compact":
                    if session.store.journal_records:
                        _compact(session)
                else:
                    session.run(step)
                if (built / "tasks.json").exists():
                    versions.append(_files(built))
            session.close()
            state = PERTURBATIONS[how](versions, data)
            probe.mkdir(mode=0o700)
            for name, content in (("tasks.json", state.snapshot), ("tasks.journal", state.journal)):
                if content is not None:
                    (probe / name).write_bytes(content)
            if not drop_lock and (built / "tasks.lock").exists():
                (probe / "tasks.lock").write_bytes((built / "tasks.lock").read_bytes())
            try:
                before = JournalStore(probe).load()
            except StorageError as exc:
                event(f"{how}: refused")
                assert how == "cut anywhere" or not _should_load(state), exc.message
                return  # refused, with a message: allowed
            event(f"{how}: loaded, then changed")
            changer = Session(probe)
            code = changer.run("add Probe")
            changer.close()
            assert code == 0, changer.err.getvalue()
            after = JournalStore(probe).load()  # raises if the change made the store unloadable
            assert before.next_id in after and before.next_id not in before
            probe_task = after.get(before.next_id)
            assert probe_task.title == "Probe"
            assert after.revision == before.revision + 1
            assert [t for t in after if t.id != probe_task.id] == list(before)
            again = Session(probe)
            assert again.run(f"done {probe_task.id}") == 0, again.err.getvalue()
            again.close()
            assert JournalStore(probe).load().revision == before.revision + 2
