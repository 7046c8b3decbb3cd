"""Sync's guarantees against a model (issue 22, requirement 1): a Hypothesis state machine over three REAL stores
and one real bare repository, driven through the program's own commands (add, edit, done, delete, undo, resolve)
and whole syncs.

The model knows no more of the engine than its promises. Each device's change to a task is an event; an event
has seen exactly the events of that task its device had taken in (or made) when it made it, so causality is
tracked by the model itself, not read from the engine's clocks. A device ships what changed here since its last
sync (the model's pending event, made at that sync, before what came in is taken in), and a sync takes in all the
remote holds, then puts all this device holds on the remote. From that the model predicts, on every device:

- every change it acknowledged is in its store after a reload (checked after every step, on the device that
  moved: a new Session reads it from disk);
- a task is in conflict exactly when the newest events of it the device knows (those no other known event has
  seen) hold two or more different contents — two edits neither of which saw the other — with those contents
  as its versions; otherwise it holds the one content they agree on;
- at the end, once every device has synced until nothing moves, all hold the same tasks and conflicts by uuid.

``TASKVAULT_SYNC_MODEL_EXAMPLES`` / ``TASKVAULT_SYNC_MODEL_STEPS`` raise the default of 16 examples of 20 steps (~27 s):
a long run of 150 x 30 took 400 s.
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from taskvault.errors import RemoteUnreachable, SyncFailed

from .conftest import FIGURES, Session, require_tool
from .gitserver import branch_of, make_bare
from .syncproofs import View, content, remote_operations, view

DEVICES = 3
EXAMPLES = int(os.environ.get("TASKVAULT_SYNC_MODEL_EXAMPLES", "16"))
STEPS = int(os.environ.get("TASKVAULT_SYNC_MODEL_STEPS", "20"))
#: Counted over the runs, for the closing note: rules run, syncs, conflicts the model saw raised and resolved,
#: conflicts still standing when the replicas converged, and acknowledged changes checked (lost: must stay 0).
COUNTS = {"examples": 0, "steps": 0, "syncs": 0, "faults": 0, "conflicts raised": 0, "resolved": 0, "conflicts at the end": 0,
          "acknowledged checked": 0, "lost": 0}

_ids = itertools.count(1)


@attrs.frozen
class Event:
    """One device's version of one task: its content (None: deleted), and every event of the task it had seen."""

    name: tuple[int, int]
    task: uuid.UUID
    content: Any
    seen: frozenset[tuple[int, int]]


@attrs.define
class Device:
    """What the model says a device holds."""

    directory: Path
    known: set[tuple[int, int]] = attrs.field(factory=set)
    #: Each task's content here as the user last saw it acknowledged (None: gone), conflicted ones aside.
    local: dict[uuid.UUID, Any] = attrs.field(factory=dict)
    #: Each task's content as of the last sync (what the device ships a difference from).
    base: dict[uuid.UUID, Any] = attrs.field(factory=dict)
    #: Conflicted tasks: their versions' contents, sorted.
    conflicts: dict[uuid.UUID, list[Any]] = attrs.field(factory=dict)
    #: Tasks resolved here since the last sync: shipped whatever their content.
    must_ship: set[uuid.UUID] = attrs.field(factory=set)
    made: int = 0
    #: True after a sync whose push was refused, until one is not.
    unpushed: bool = False


class SyncModel(RuleBasedStateMachine):
    """Three devices, one bare remote; see the module's docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.events: dict[tuple[int, int], Event] = {}
        self.remote: set[tuple[int, int]] = set()
        self.devices: list[Device] = []
        self.url = ""
        self.synced_once = [False] * DEVICES
        COUNTS["examples"] += 1

    @initialize()
    def setup(self) -> None:
        base = Path(BASE_DIRECTORY[0]) / f"run{next(_ids)}"
        base.mkdir(parents=True)
        self.url = str(make_bare(base / "tasks.git"))
        self.devices = [Device(base / f"device{i}") for i in range(DEVICES)]
        # Two tasks every device holds to begin with: the edits that follow meet each other soon.
        self._command(0, "add first", None)
        self._command(0, "add second", None)
        for number in range(DEVICES):
            self._sync(number)

    # -- the model ---------------------------------------------------------------------------------------------

    def _newest(self, device: Device, task: uuid.UUID) -> list[Event]:
        mine = [self.events[e] for e in device.known if self.events[e].task == task]
        seen = set().union(*(e.seen for e in mine)) if mine else set()
        return [e for e in mine if e.name not in seen]

    def _settle(self, device: Device, task: uuid.UUID) -> None:
        """What the device holds of ``task`` from the events it knows."""
        newest = self._newest(device, task)
        contents = sorted({repr(e.content): e.content for e in newest}.items())
        if len(contents) > 1:
            if task not in device.conflicts:
                COUNTS["conflicts raised"] += 1
            device.conflicts[task] = [c for _, c in contents]
            device.local.pop(task, None)
            device.base.pop(task, None)
        else:
            device.conflicts.pop(task, None)
            device.local[task] = device.base[task] = contents[0][1] if contents else None

    def _sync_model(self, number: int, *, pushed: bool = True) -> None:
        device = self.devices[number]
        # 1. what changed here since the last sync is an event, made before what comes in is taken in
        for task in sorted(set(device.local) | device.must_ship, key=str):
            if task in device.conflicts:
                continue
            if device.local.get(task) != device.base.get(task) or task in device.must_ship:
                device.made += 1
                seen = frozenset(e for e in device.known if self.events[e].task == task)
                event = Event((number, device.made), task, device.local.get(task), seen)
                self.events[event.name] = event
                device.known.add(event.name)
                device.base[task] = event.content
        device.must_ship.clear()
        # 2. take in all the remote holds; 3. put all this device holds there
        arriving = self.remote - device.known
        device.known |= self.remote
        for task in {self.events[e].task for e in arriving}:
            self._settle(device, task)
        if pushed:
            self.remote |= device.known
            device.unpushed = False

    # -- the real stores ---------------------------------------------------------------------------------------

    def _check(self, number: int) -> None:
        """The device's store, read from disk by a new session, holds what the model says."""
        device = self.devices[number]
        held = view(device.directory)
        wanted = View({u: c for u, c in device.local.items() if c is not None}, dict(device.conflicts))
        COUNTS["acknowledged checked"] += len(wanted.tasks)
        if held.tasks != wanted.tasks:
            COUNTS["lost"] += len(set(wanted.tasks.items()) - set(held.tasks.items()))
        assert held.tasks == wanted.tasks, f"device {number} holds other tasks than it acknowledged or took in"
        assert held.conflicts == wanted.conflicts, f"device {number}'s conflicts are not the concurrent edits"

    def _command(self, number: int, line: str, task: uuid.UUID | None) -> None:
        """Run ``line`` on a device; what it leaves acknowledged is what the model expects from now on."""
        device = self.devices[number]
        session = Session(device.directory)
        try:
            before = next((content(t) for t in session.service.tasks if t.uuid == task), None)
            code = session.run(line)
            after = {t.uuid: content(t) for t in session.service.tasks}
            replica = session.service.tasks.replica
            conflicted = set(replica.conflicts) if replica is not None else set()
        finally:
            session.close()
        if task is not None and task in device.conflicts and code == 0:  # (allowed only as a change of nothing)
            assert after.get(task) == before, f"{line!r} changed a task in conflict on device {number}"
        changed = {u for u in set(after) | set(device.local)
                   if u not in conflicted and after.get(u) != device.local.get(u)}
        if line != "undo":
            assert changed <= ({task} if task is not None else set(after) - set(device.local)), (line, changed)
        assert conflicted == set(device.conflicts), f"{line!r} changed which tasks are in conflict"
        for u in changed:
            device.local[u] = after.get(u)
        self._check(number)

    def _task(self, number: int, data: st.DataObject) -> tuple[int, uuid.UUID] | None:
        """A task the device shows (by its id here), conflicted ones included; None if it shows none."""
        session = Session(self.devices[number].directory)
        try:
            shown = sorted((t.id, t.uuid) for t in session.service.tasks)
        finally:
            session.close()
        return data.draw(st.sampled_from(shown)) if shown else None

    # -- the rules -----------------------------------------------------------------------------------------------

    devices_st = st.integers(0, DEVICES - 1)

    @rule(number=devices_st)
    def add(self, number: int) -> None:
        COUNTS["steps"] += 1
        self._command(number, f"add t{next(_ids)}", None)

    @rule(number=devices_st, data=st.data(),
          change=st.sampled_from(["--title e{n}", "--priority H", "--priority L", "--project p{n}"]))
    def edit(self, number: int, data: st.DataObject, change: str) -> None:
        COUNTS["steps"] += 1
        found = self._task(number, data)
        if found is not None:
            self._command(number, f"edit {found[0]} " + change.format(n=next(_ids)), found[1])

    @rule(number=devices_st, data=st.data(), change=st.sampled_from(["--title f{n}", "--priority M", "+tag{n}"]))
    def edit_again(self, number: int, data: st.DataObject, change: str) -> None:
        self.edit(number, data, change)

    @rule(number=devices_st, data=st.data(), verb=st.sampled_from(["done", "delete"]))
    def done_or_delete(self, number: int, data: st.DataObject, verb: str) -> None:
        COUNTS["steps"] += 1
        found = self._task(number, data)
        if found is not None:
            self._command(number, f"{verb} {found[0]}", found[1])

    @rule(number=devices_st)
    def undo(self, number: int) -> None:
        COUNTS["steps"] += 1
        self._command(number, "undo", None)

    @rule(number=devices_st)
    def sync(self, number: int) -> None:
        COUNTS["steps"] += 1
        self._sync(number)

    def _sync(self, number: int) -> None:
        COUNTS["syncs"] += 1
        session = Session(self.devices[number].directory)
        try:
            session.service.sync(None if self.synced_once[number] else self.url)
        finally:
            session.close()
        self.synced_once[number] = True
        self._sync_model(number)
        self._check(number)

    @rule(number=devices_st, fault=st.sampled_from(["push refused", "remote unreachable"]))
    def sync_with_a_fault(self, number: int, fault: str) -> None:
        """A sync that fails: the remote's branch locked, so its push is refused after it took in and numbered
        (what it did is kept, and the next sync pushes it); or the remote gone, so nothing at all happens."""
        COUNTS["steps"] += 1
        COUNTS["faults"] += 1
        repository = Path(self.url)
        lock = repository / "refs" / "heads" / "main.lock"
        away = repository.with_name("away.git")
        if fault == "push refused":
            lock.parent.mkdir(parents=True, exist_ok=True)
            lock.write_bytes(b"")
        else:
            repository.rename(away)
        device = self.devices[number]
        outgoing = device.unpushed or bool(device.must_ship) or any(
            device.local.get(u) != device.base.get(u) for u in device.local if u not in device.conflicts)
        session = Session(device.directory)
        error: SyncFailed | None = None
        try:
            session.service.sync()
        except SyncFailed as caught:
            error = caught
        finally:
            session.close()
            if fault == "push refused":
                lock.unlink()
            else:
                away.rename(repository)
        if fault == "remote unreachable":
            assert type(error) is RemoteUnreachable, f"{type(error).__name__}: {error}"
        elif error is None:  # (nothing to push: the refusal never came into play)
            assert not outgoing, "a sync with changes to send finished while the remote refused every push"
            self._sync_model(number)
        else:
            assert type(error) is SyncFailed and "refused the change" in str(error), f"{type(error).__name__}: {error}"
            self._sync_model(number, pushed=False)
            device.unpushed = True
        self._check(number)

    @precondition(lambda self: any(d.conflicts for d in self.devices))
    @rule(data=st.data(), take=st.sampled_from(["mine", "theirs"]))
    def resolve(self, data: st.DataObject, take: str) -> None:
        COUNTS["steps"] += 1
        number = data.draw(st.sampled_from([i for i, d in enumerate(self.devices) if d.conflicts]))
        task = data.draw(st.sampled_from(sorted(self.devices[number].conflicts, key=str)))
        self._resolve(number, task, take)

    def _resolve(self, number: int, task: uuid.UUID, take: str) -> None:
        """resolve ID --take mine|theirs (theirs by device id when there are several) on a conflicted task."""
        device = self.devices[number]
        session = Session(device.directory)
        try:
            tasks = session.service.tasks
            task_id = next(t.id for t in tasks if t.uuid == task)
            conflict = tasks.replica.conflicted(task)  # type: ignore[union-attr]
            assert conflict is not None
            word = take if take == "mine" or len(conflict.theirs) == 1 else conflict.theirs[0].device
            session.service.resolve(task_id, word, {})
            after = next((content(t) for t in session.service.tasks if t.uuid == task), None)
        finally:
            session.close()
        assert after in device.conflicts[task], "a resolution made a version that none of the sides holds"
        del device.conflicts[task]
        device.local[task] = after
        device.base.pop(task, None)
        device.must_ship.add(task)
        COUNTS["resolved"] += 1
        self._check(number)

    def _converge(self) -> View:
        """Every device syncs, round after round, until a whole round moves nothing: all agree with the model
        (each sync checked against it) and with each other."""
        for _ in range(4):
            before = (set(self.remote), [set(d.known) for d in self.devices])
            for number in range(DEVICES):
                self._sync(number)
            if before == (set(self.remote), [set(d.known) for d in self.devices]):
                break
        else:
            raise AssertionError("the model kept moving")
        views = [view(d.directory) for d in self.devices]
        assert all(v == views[0] for v in views), "the devices disagree once all synced until quiet"
        return views[0]

    def teardown(self) -> None:
        if not self.devices:
            return
        held = self._converge()
        COUNTS["conflicts at the end"] += len(held.conflicts)
        # Each conflict left resolved on one device (they take turns, and mine or theirs in turn): once all have
        # synced again, none is left anywhere, and all still agree.
        for turn, task in enumerate(sorted(held.conflicts, key=str)):
            self._resolve(turn % DEVICES, task, ("mine", "theirs")[turn // DEVICES % 2])
        if held.conflicts:
            assert self._converge().conflicts == {}
        if branch_of(Path(self.url)) is not None:
            remote_operations(Path(self.url))  # every device's numbers from 1, no gap, none twice


BASE_DIRECTORY: list[str] = []


@pytest.mark.slow
def test_sync_model(tmp_path: Path) -> None:
    require_tool("git", "git")
    BASE_DIRECTORY[:] = [str(tmp_path)]
    run = SyncModel.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                            suppress_health_check=list(HealthCheck))
    run().runTest()
    FIGURES["sync stateful model"] = (f"{COUNTS['steps']} steps, {COUNTS['syncs']} syncs ({COUNTS['faults']} faulty), "
                                      f"{COUNTS['conflicts raised']} conflicts raised, {COUNTS['lost']} acknowledged "
                                      "changes lost")


def test_zz_counts() -> None:
    """Print what the model ran (for the closing note)."""
    print(f"\nsync model: {COUNTS}")
