"""The replicated-task model (domain/replica.py) against a model of several devices, held to its promises.

A Hypothesis state machine drives three replicas through random adds, edits, completions, deletions,
syncs (whole, cut part-way, delivered twice and out of order) and resolutions, each device's clock
set anywhere in a span of days (clocks a day apart either way: timestamps never decide). Whenever
every replica has synced until nothing more moves, it checks:

- nothing shipped is lost: every version any device shipped is, on every replica, either a version
  the replica holds or one a version it holds descends from;
- the replicas agree: each task holds the same versions everywhere (ids aside);
- a conflict appears exactly when two versions neither of which descends from the other hold
  different content, and on every replica; nothing resolves one but a resolution.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from taskvault.domain.replica import (
    Clock,
    Conflict,
    Merge,
    Operation,
    Replica,
    Side,
    Synced,
    integrate,
    merge_fields,
    resolution,
    same_content,
    shipped,
)
from taskvault.domain.task import Status, Task
from taskvault.errors import InvalidValue, RemoteDamaged

DEVICES = ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc")
BASE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
#: Counted by the state machine's runs, for the closing note's figures.
COUNTS = {"steps": 0, "syncs": 0, "conflicts": 0, "converged": 0, "concurrent": 0}


def fingerprint(task: Task | None) -> str:
    return "deleted" if task is None else repr(attrs.astuple(attrs.evolve(task, id=1)))


def content(task: Task | None) -> object:
    """A version's content, ids and times of change aside (what the replicas must agree on)."""
    return None if task is None else attrs.astuple(attrs.evolve(task, id=1, updated=task.created))


class Device:
    """One replica as the program holds it: the replication state and the tasks by uuid (with local ids)."""

    def __init__(self, name: str) -> None:
        self.replica = Replica(name)
        self.tasks: dict[uuid.UUID, Task] = {}
        self.next_id = 1

    def put(self, body: Task | None, task: uuid.UUID) -> None:
        if body is None:
            self.tasks.pop(task, None)
            return
        here = self.tasks.get(task)
        task_id = here.id if here is not None else self.next_id
        self.next_id += here is None
        self.tasks[task] = attrs.evolve(body, id=task_id)

    def take(self, ops: list[Operation], merge: Merge = Merge.NEVER) -> None:
        history = {}
        for op in ops:
            history.setdefault(op.task, []).append(op)
        result = integrate(self.replica, self.tasks, ops, fingerprint=fingerprint,
                           history=lambda u: history.get(u, []), merge=merge)
        for task, (body, _synced) in result.changed.items():
            self.put(body, task)
        self.replica = result.replica
        COUNTS["conflicts"] += len(result.conflicts)

    def ship(self) -> list[Operation]:
        self.replica, ops = shipped(self.replica, self.tasks, fingerprint)
        return ops

    def versions(self, task: uuid.UUID) -> list[Clock]:
        synced = self.replica.tasks[task]
        sides = synced.conflict.theirs if synced.conflict else ()
        return [synced.clock, *(s.clock for s in sides)]

    def contents(self, task: uuid.UUID) -> list[object]:
        synced = self.replica.tasks[task]
        if synced.conflict is None:
            return [content(self.tasks.get(task))]
        conflict = synced.conflict
        return sorted((content(b) for b in (conflict.mine, *(s.body for s in conflict.theirs))), key=repr)


class Replicas(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.devices = [Device(name) for name in DEVICES]
        self.remote: list[Operation] = []
        self.made = 0  # tasks made so far: each new one's uuid (the same in every run, for Hypothesis to replay)

    def _when(self, offset: int) -> dt.datetime:
        return BASE + dt.timedelta(minutes=offset)

    @rule(d=st.integers(0, 2), title=st.sampled_from(["a", "b", "c"]), at=st.integers(0, 2880))
    def add(self, d: int, title: str, at: int) -> None:
        COUNTS["steps"] += 1
        device = self.devices[d]
        self.made += 1
        task = Task(id=device.next_id, uuid=uuid.UUID(int=self.made), title=title, created=BASE, updated=self._when(at))
        device.put(task, task.uuid)

    def _editable(self, d: int, pick: int) -> tuple[Device, uuid.UUID] | None:
        device = self.devices[d]
        free = sorted(u for u in device.tasks if device.replica.conflicted(u) is None)
        return (device, free[pick % len(free)]) if free else None

    @rule(d=st.integers(0, 2), pick=st.integers(0, 50), title=st.sampled_from(["a", "b", "c", "d"]),
          priority=st.booleans(), at=st.integers(0, 2880))
    def edit(self, d: int, pick: int, title: str, priority: bool, at: int) -> None:
        COUNTS["steps"] += 1
        found = self._editable(d, pick)
        if found is None:
            return
        device, task = found
        old = device.tasks[task]
        change = {"title": title} if not priority else {"note": f"{title} note"}
        device.tasks[task] = attrs.evolve(old, **change, updated=self._when(at))

    @rule(d=st.integers(0, 2), pick=st.integers(0, 50), at=st.integers(0, 2880))
    def complete(self, d: int, pick: int, at: int) -> None:
        COUNTS["steps"] += 1
        found = self._editable(d, pick)
        if found is None:
            return
        device, task = found
        old = device.tasks[task]
        done = old.status is Status.DONE
        device.tasks[task] = attrs.evolve(old, status=Status.OPEN if done else Status.DONE,
                                          completed=None if done else self._when(at), updated=self._when(at))

    @rule(d=st.integers(0, 2), pick=st.integers(0, 50))
    def delete(self, d: int, pick: int) -> None:
        COUNTS["steps"] += 1
        found = self._editable(d, pick)
        if found is None:
            return
        device, task = found
        del device.tasks[task]

    @rule(first=st.integers(0, 2), second=st.integers(0, 2), pick=st.integers(0, 50), delete=st.booleans(),
          at=st.integers(0, 2880))
    def edit_on_two_devices(self, first: int, second: int, pick: int, delete: bool, at: int) -> None:
        """The same task changed on two devices before either syncs: the case conflicts are made of."""
        COUNTS["steps"] += 1
        a, b = self.devices[first], self.devices[second]
        shared = sorted(u for u in a.tasks.keys() & b.tasks.keys()
                        if a.replica.conflicted(u) is None and b.replica.conflicted(u) is None)
        if first == second or not shared:
            return
        task = shared[pick % len(shared)]
        COUNTS["concurrent"] += 1
        a.tasks[task] = attrs.evolve(a.tasks[task], title=f"{a.replica.device[0]}{at}", updated=self._when(at))
        if delete:
            del b.tasks[task]
        else:
            b.tasks[task] = attrs.evolve(b.tasks[task], note=f"{at}", updated=self._when(2880 - at))

    @rule(d=st.integers(0, 2), data=st.data())
    def sync(self, d: int, data: st.DataObject) -> None:
        """A sync, perhaps cut part-way (each device's operations up to some point), perhaps with operations
        delivered twice and in any order."""
        COUNTS["steps"] += 1
        COUNTS["syncs"] += 1
        device = self.devices[d]
        delivered = list(self.remote)
        if data.draw(st.booleans(), label="cut"):
            keep = data.draw(st.integers(0, len(delivered)), label="cut at")
            by_device: dict[str, int] = {}
            for op in self.remote[:keep]:
                by_device[op.device] = max(by_device.get(op.device, 0), op.seq)
            delivered = [op for op in self.remote if op.seq <= by_device.get(op.device, 0)]
        if data.draw(st.booleans(), label="twice"):
            delivered = delivered + delivered[: len(delivered) // 2]
        delivered = data.draw(st.permutations(delivered), label="order")
        device.take(delivered)
        if data.draw(st.integers(0, 3), label="cut before pushing") != 0:
            self.remote += device.ship()

    @rule(d=st.integers(0, 2), pick=st.integers(0, 50), mine=st.booleans())
    def resolve(self, d: int, pick: int, mine: bool) -> None:
        COUNTS["steps"] += 1
        device = self.devices[d]
        conflicts = sorted(device.replica.conflicts)
        if not conflicts:
            return
        task = conflicts[pick % len(conflicts)]
        conflict = device.replica.conflicts[task]
        chosen = conflict.mine if mine else conflict.theirs[0].body
        device.put(chosen, task)
        device.replica = attrs.evolve(device.replica, tasks={**device.replica.tasks,
                                                             task: resolution(device.replica, task)})

    def converge(self) -> None:
        """Every device syncs whole, round after round, until no device ships anything more."""
        for _ in range(6):
            moved = False
            for device in self.devices:
                device.take(list(self.remote))
                ops = device.ship()
                moved = moved or bool(ops)
                self.remote += ops
            if not moved:
                for device in self.devices:
                    device.take(list(self.remote))
                return
        raise AssertionError("the replicas kept shipping operations after six rounds of syncs")

    @rule()
    def everyone_syncs(self) -> None:
        COUNTS["steps"] += 1
        self.converge()
        COUNTS["converged"] += 1
        self.check_converged()

    def check_converged(self) -> None:
        ops_by_task: dict[uuid.UUID, list[Operation]] = {}
        for op in self.remote:
            ops_by_task.setdefault(op.task, []).append(op)
        for task, ops in ops_by_task.items():
            views = [device.contents(task) for device in self.devices]
            assert all(view == views[0] for view in views), f"the replicas disagree on {task}: {views}"
            for device in self.devices:
                held = device.versions(task)
                for op in ops:  # nothing shipped is lost
                    assert any(op.clock <= clock for clock in held), f"{device.replica.device} lost {op.dot}"
            latest = [o for o in ops if not any(o.clock <= p.clock and o.clock != p.clock for p in ops)]
            distinct = {repr(content(o.body)) for o in latest}
            for device in self.devices:
                conflicted = device.replica.conflicted(task) is not None
                assert conflicted == (len(distinct) > 1), (
                    f"{device.replica.device}: conflicted {conflicted}, but the latest versions hold {len(distinct)} "
                    "contents")
        for device in self.devices:  # every task here is a synced one, and the other way round
            assert set(device.tasks) <= set(device.replica.tasks)

    @invariant()
    def conflicted_tasks_are_shown(self) -> None:
        for device in self.devices:
            for task, conflict in device.replica.conflicts.items():
                shown = conflict.shown
                assert content(device.tasks.get(task)) == content(shown)


TestReplicas = Replicas.TestCase
TestReplicas.settings = settings(max_examples=300, stateful_step_count=50, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])


# -- the cases the issue names, one by one -------------------------------------------------------------------


def _task(title: str, **fields: object) -> Task:
    return Task(id=1, uuid=uuid.UUID(int=7), title=title, created=BASE, updated=BASE, **fields)  # type: ignore[arg-type]


def _two_devices_holding(task: Task) -> tuple[Device, Device, list[Operation]]:
    a, b = Device(DEVICES[0]), Device(DEVICES[1])
    a.put(task, task.uuid)
    remote = a.ship()
    b.take(remote)
    return a, b, remote


def _three_devices_holding(task: Task) -> tuple[Device, Device, Device, list[Operation]]:
    a, b, remote = _two_devices_holding(task)
    c = Device(DEVICES[2])
    c.take(remote)
    return a, b, c, remote


@pytest.mark.parametrize(("mine", "theirs"), [
    ({"title": "mine"}, {"title": "theirs"}),  # the same field
    ({"title": "mine"}, {"note": "theirs"}),  # different fields (config sync.merge=never)
    ({"title": "mine"}, None),  # an edit against a delete
    (None, {"title": "theirs"}),  # a delete against an edit
    ({"status": Status.DONE, "completed": BASE}, {"title": "theirs"}),  # done against an edit
])
def test_concurrent_changes_make_a_conflict_on_both_devices(mine: dict[str, object] | None,
                                                            theirs: dict[str, object] | None) -> None:
    task = _task("first")
    a, b, remote = _two_devices_holding(task)
    for device, change in ((a, mine), (b, theirs)):
        if change is None:
            del device.tasks[task.uuid]
        else:
            device.tasks[task.uuid] = attrs.evolve(device.tasks[task.uuid], **change,
                                                   updated=BASE + dt.timedelta(days=1))
    remote += a.ship()
    b.take(remote)
    remote += b.ship()
    a.take(remote)
    for device, own, other in ((a, mine, theirs), (b, theirs, mine)):
        conflict = device.replica.conflicted(task.uuid)
        assert conflict is not None, f"{device.replica.device} did not see the conflict"
        assert (conflict.mine is None) == (own is None)
        assert [s.body is None for s in conflict.theirs] == [other is None]
        assert conflict.ancestor is not None and same_content(conflict.ancestor, task)
        assert device.tasks[task.uuid] == attrs.evolve(conflict.shown, id=device.tasks[task.uuid].id)


@pytest.mark.parametrize("skew", [dt.timedelta(days=-1), dt.timedelta(days=1)])
def test_clocks_a_day_apart_decide_nothing(skew: dt.timedelta) -> None:
    """The later edit (by its device's clock) does not win: the two are concurrent, so they conflict."""
    task = _task("first")
    a, b, remote = _two_devices_holding(task)
    a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title="a", updated=BASE + dt.timedelta(days=2) + skew)
    b.tasks[task.uuid] = attrs.evolve(b.tasks[task.uuid], title="b", updated=BASE + dt.timedelta(days=2))
    remote += a.ship()
    b.take(remote)
    assert b.replica.conflicted(task.uuid) is not None
    assert b.tasks[task.uuid].title == "b"


def test_different_fields_merge_when_asked_and_the_merge_travels() -> None:
    task = _task("first")
    a, b, remote = _two_devices_holding(task)
    a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title="new title")
    b.tasks[task.uuid] = attrs.evolve(b.tasks[task.uuid], note="a note")
    remote += a.ship()
    history = {task.uuid: list(remote)}
    result = integrate(b.replica, b.tasks, remote, fingerprint=fingerprint, history=lambda u: history.get(u, []),
                       merge=Merge.FIELDS)
    assert result.merged == (task.uuid,) and not result.conflicts
    merged = result.changed[task.uuid][0]
    assert merged is not None and (merged.title, merged.note) == ("new title", "a note")
    b.put(merged, task.uuid)
    b.replica = result.replica
    remote += b.ship()
    a.take(remote)
    assert a.replica.conflicted(task.uuid) is None
    assert (a.tasks[task.uuid].title, a.tasks[task.uuid].note) == ("new title", "a note")


def test_a_field_changed_on_both_sides_is_not_merged() -> None:
    base = _task("first")
    assert merge_fields(base, attrs.evolve(base, title="x"), attrs.evolve(base, title="y")) is None
    assert merge_fields(base, attrs.evolve(base, title="x"), attrs.evolve(base, title="x")) is not None


def test_a_resolution_made_elsewhere_ends_the_conflict_everywhere() -> None:
    task = _task("first")
    a, b, c, remote = _three_devices_holding(task)
    a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title="a")
    b.tasks[task.uuid] = attrs.evolve(b.tasks[task.uuid], title="b")
    remote += a.ship()
    remote += (b.take(remote), b.ship())[1]
    c.take(remote)
    assert c.replica.conflicted(task.uuid) is not None  # c, which changed nothing, sees it too
    conflict = c.replica.conflicts[task.uuid]
    assert {conflict.shown.title if conflict.shown else None, *(s.body.title for s in conflict.theirs if s.body)} == {"a", "b"}
    b.put(attrs.evolve(b.tasks[task.uuid], title="both"), task.uuid)
    b.replica = attrs.evolve(b.replica, tasks={**b.replica.tasks, task.uuid: resolution(b.replica, task.uuid)})
    remote += b.ship()
    for device in (a, c):
        device.take(remote)
        assert device.replica.conflicted(task.uuid) is None
        assert device.tasks[task.uuid].title == "both"


def test_an_edit_made_here_during_a_conflict_elsewhere_is_never_lost() -> None:
    """A resolution made on another device, which never saw an edit made here, does not end the conflict here."""
    task = _task("first")
    a, b, c, remote = _three_devices_holding(task)
    a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title="a")
    c.tasks[task.uuid] = attrs.evolve(c.tasks[task.uuid], title="c")
    remote += a.ship()
    b.tasks[task.uuid] = attrs.evolve(b.tasks[task.uuid], title="b")
    b.take(remote)  # b: its unsynced edit against a's
    b.put(b.replica.conflicts[task.uuid].mine, task.uuid)
    b.replica = attrs.evolve(b.replica, tasks={**b.replica.tasks, task.uuid: resolution(b.replica, task.uuid)})
    remote += b.ship()
    c.take(remote)  # c's unsynced edit was seen by nobody: the resolution does not take it in
    conflict = c.replica.conflicted(task.uuid)
    assert conflict is not None and conflict.mine is not None and conflict.mine.title == "c"


def test_operations_twice_and_out_of_order_are_taken_once() -> None:
    task = _task("first")
    a, _b, remote = _two_devices_holding(task)
    for title in ("x", "y", "z"):
        a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title=title)
        remote += a.ship()
    c = Device(DEVICES[2])
    c.take([*reversed(remote), *remote])
    assert c.tasks[task.uuid].title == "z" and c.replica.conflicted(task.uuid) is None
    assert c.replica.frontier.get(DEVICES[0]) == a.replica.seq


def test_a_gap_or_two_operations_under_one_number_is_damage() -> None:
    task = _task("first")
    a, _b, remote = _two_devices_holding(task)
    for title in ("x", "y"):
        a.tasks[task.uuid] = attrs.evolve(a.tasks[task.uuid], title=title)
        remote += a.ship()
    c = Device(DEVICES[2])
    with pytest.raises(RemoteDamaged, match="operation 2 is missing"):
        c.take([remote[0], remote[2]])
    forged = attrs.evolve(remote[1], body=attrs.evolve(remote[1].body, title="forged"))
    with pytest.raises(RemoteDamaged, match="two different operations numbered 2"):
        c.take([*remote, forged])
    assert c.tasks == {} and c.replica == Replica(DEVICES[2])


def test_an_operation_must_carry_itself_in_its_clock() -> None:
    with pytest.raises(InvalidValue):
        Operation(DEVICES[0], 2, uuid.UUID(int=1), Clock.of({DEVICES[0]: 1}), None)
    with pytest.raises(InvalidValue):
        Clock.of({"Not-A-Device": 1})


def test_the_same_task_made_on_two_devices_is_one_task() -> None:
    """An import of the same Taskwarrior file on two devices gives tasks of the same uuids and content."""
    task = _task("imported")
    a, b = Device(DEVICES[0]), Device(DEVICES[1])
    a.put(task, task.uuid)
    b.put(attrs.evolve(task, updated=BASE + dt.timedelta(hours=1)), task.uuid)
    remote = a.ship()
    b.take(remote)
    assert b.replica.conflicted(task.uuid) is None


def test_conflict_sides_are_kept_whole() -> None:
    side = Side(DEVICES[1], Clock.of({DEVICES[1]: 1}), None)
    conflict = Conflict(mine=None, theirs=(side,))
    assert conflict.shown is None
    assert Synced(Clock(), "x", conflict).conflict is conflict


def test_an_edit_here_that_equals_theirs_is_still_shipped() -> None:
    """Found by the state machine: b ships "done", then deletes; a, which deleted it before seeing "done",
    ships its delete. b's delete equals a's, but only b knows it came after "done": unless b ships it, a and
    c keep "done" against the delete as a conflict that b never sees."""
    machine = Replicas()
    machine.add(0, "a", 0)
    machine.converge()
    a, b, _c = machine.devices
    task = next(iter(a.tasks))
    del a.tasks[task]
    b.tasks[task] = attrs.evolve(b.tasks[task], status=Status.DONE, completed=BASE)
    machine.remote += b.ship()
    del b.tasks[task]
    machine.converge()
    machine.check_converged()
    assert all(device.replica.conflicted(task) is None and task not in device.tasks for device in machine.devices)
