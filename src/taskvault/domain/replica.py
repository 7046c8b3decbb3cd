"""Tasks replicated across devices: versions, operations, and how a replica takes in another's.

Each device that syncs is a replica. What it ships is an Operation: one task's whole content (or its
deletion) as one device made it, numbered by that device (``seq`` counts every operation the device
ever made, from 1, with no gap). An operation carries the task's version vector (its Clock): for each
device, the last of its operations the version includes. One version descends from another exactly
when its clock is at least the other's for every device, so two versions neither of which descends
from the other were made by devices that did not know of each other's change: they are concurrent,
and the task is in conflict. No timestamp decides anything; a conflict stays, with every side kept,
until the user resolves it (a resolution's clock joins every side's, so it descends from them all).

This improves on naming one parent per operation (as TaskChampion and dstask do in effect): a clock
compares two versions with nothing else at hand, so operations may arrive in any order, twice, or
from a device that took them from a third, and the answer is the same (see Replica.integrate).

Nothing here knows of files, git or the store: the store keeps a Replica beside the task list and
changes it only in the same atomic append that changes the tasks (Change.replica).
"""

from __future__ import annotations

import enum
import re
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

import attrs

from ..errors import InvalidValue, RemoteDamaged
from .task import Task

#: A device's name in the remote: its own directory of operations, so it must be safe as a file name.
DEVICE_PATTERN: Final = re.compile(r"[0-9a-f]{12}")
#: Fields that say when a version was made, not what it holds: two versions equal but for these converge.
TIME_FIELDS: Final = frozenset({"id", "updated"})
#: A fingerprint no content has: a task recorded with it is shipped at the next sync (a resolution, a merge).
MUST_SHIP: Final = "must-ship"


def check_device(device: str) -> str:
    if type(device) is not str or not DEVICE_PATTERN.fullmatch(device):
        raise InvalidValue(f"{device!r:.40} is not a device id (12 lower-case hex digits)")
    return device


@attrs.frozen(order=False)
class Clock:
    """A version vector: for each device, the last of its operations a version includes (sorted by device)."""

    entries: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, int]) -> Clock:
        for device, seq in mapping.items():
            check_device(device)
            if type(seq) is not int or seq < 1:
                raise InvalidValue(f"a clock's count must be a whole number from 1 up, not {seq!r:.40}")
        return cls(tuple(sorted(mapping.items())))

    def as_dict(self) -> dict[str, int]:
        return dict(self.entries)

    def get(self, device: str) -> int:
        for name, seq in self.entries:
            if name == device:
                return seq
        return 0

    def __le__(self, other: Clock) -> bool:
        """True if every operation this version includes, ``other`` includes too (it descends from this)."""
        theirs = dict(other.entries)
        return all(seq <= theirs.get(device, 0) for device, seq in self.entries)

    def concurrent(self, other: Clock) -> bool:
        return not self <= other and not other <= self

    def join(self, *others: Clock) -> Clock:
        """The least clock every one of these is at most: what a version that descends from all of them includes."""
        joined = dict(self.entries)
        for other in others:
            for device, seq in other.entries:
                joined[device] = max(joined.get(device, 0), seq)
        return Clock(tuple(sorted(joined.items())))

    def meet(self, other: Clock) -> Clock:
        theirs = dict(other.entries)
        return Clock(tuple((d, min(s, theirs[d])) for d, s in self.entries if theirs.get(d, 0) > 0))

    def bumped(self, device: str, seq: int) -> Clock:
        """This clock with ``device``'s entry set to ``seq`` (a new operation of that device)."""
        return self.join(Clock(((device, seq),)))

    def __str__(self) -> str:
        return ",".join(f"{d}:{s}" for d, s in self.entries)


@attrs.frozen
class Operation:
    """One device's change of one task: its content after the change (None: deleted), and its version."""

    device: str
    seq: int
    task: uuid_module.UUID
    clock: Clock
    #: The task as the device held it (its ``id`` is that device's own, and means nothing elsewhere).
    body: Task | None

    def __attrs_post_init__(self) -> None:
        check_device(self.device)
        if type(self.seq) is not int or self.seq < 1 or self.clock.get(self.device) != self.seq:
            raise InvalidValue(f"operation {self.device}:{self.seq!r:.20} does not carry itself in its clock")
        if self.body is not None and self.body.uuid != self.task:
            raise InvalidValue(f"operation {self.device}:{self.seq} is of task {self.task} but holds another")

    @property
    def dot(self) -> tuple[str, int]:
        return self.device, self.seq


@attrs.frozen
class Side:
    """One version of a conflicted task: who made it, its clock, its content (None: deleted there)."""

    device: str
    clock: Clock
    body: Task | None


@attrs.frozen
class Conflict:
    """A task that two or more devices changed without knowing of each other's change.

    ``mine`` is this device's version (None: deleted here); ``theirs`` the others', none of which
    descends from another or from mine; ``ancestor`` the last version they all descend from, when
    it is known (None: unknown, or the task did not exist before them).
    """

    mine: Task | None
    theirs: tuple[Side, ...]
    ancestor: Task | None = None
    #: True if ``mine`` was shipped (or came from a remote) before the conflict, False if it is an edit
    #: made here that no other device has seen: a resolution made elsewhere cannot have taken it in.
    mine_shipped: bool = True

    @property
    def shown(self) -> Task | None:
        """The content the task list holds while the conflict lasts: mine, or if deleted here, theirs."""
        if self.mine is not None:
            return self.mine
        return next((side.body for side in self.theirs if side.body is not None), None)


@attrs.frozen
class Synced:
    """What a replica knows of one task: the version its content is based on, and that content's fingerprint.

    The task's content here differs from the fingerprint exactly when it was changed here since
    (it is then shipped at the next sync, as an operation that descends from ``clock``).
    """

    clock: Clock
    fingerprint: str
    conflict: Conflict | None = None


class Merge(enum.Enum):
    """What a sync does with two concurrent versions that changed different fields (config ``sync.merge``)."""

    #: Keep both: a conflict the user resolves. The default: nothing is decided for the user.
    NEVER = "never"
    #: Take each side's changed fields, and report the merge (it can be undone like any change).
    FIELDS = "fields"


#: The fields a user chooses between when resolving, in the order ``show`` lists them. A task's
#: status, completion and start time go together (check_task), as "status".
RESOLVABLE_FIELDS: Final = ("title", "status", "priority", "due", "project", "tags", "note", "scheduled", "wait",
                            "until", "depends", "annotations", "recur", "extra")
_FIELD_GROUPS: Final = {"status": ("status", "completed", "started")}


def field_values(task: Task, name: str) -> tuple[object, ...]:
    return tuple(getattr(task, f) for f in _FIELD_GROUPS.get(name, (name,)))


def differing_fields(a: Task, b: Task) -> list[str]:
    return [name for name in RESOLVABLE_FIELDS if field_values(a, name) != field_values(b, name)]


def same_content(a: Task | None, b: Task | None) -> bool:
    """True if the two versions hold the same task but perhaps for its local id and when it was last changed."""
    if a is None or b is None:
        return a is b
    return attrs.evolve(a, id=b.id, updated=b.updated) == b


def _later_updated(a: Task, b: Task) -> Task:
    """Of two versions of the same content, one and the same whichever replica asks (their ``updated`` only
    differs): the later ``updated``. A timestamp picks here only which of two equal contents is kept."""
    return b if (b.updated, b.id) > (a.updated, a.id) else a


def merge_fields(ancestor: Task, mine: Task, theirs: Task) -> Task | None:
    """Each side's changed fields taken, if no field was changed by both to different values; else None."""
    merged = mine
    for name in RESOLVABLE_FIELDS:
        base, ours, other = (field_values(t, name) for t in (ancestor, mine, theirs))
        if other != base and ours != other:
            if ours != base:
                return None
            merged = attrs.evolve(merged, **dict(zip(_FIELD_GROUPS.get(name, (name,)), other, strict=True)))  # type: ignore[arg-type]
    try:
        return attrs.evolve(merged, updated=max(mine.updated, theirs.updated))
    except InvalidValue:
        return None


class Records(Mapping[uuid_module.UUID, Synced]):
    """The records of a replica's tasks as a store holds them: read one by one when asked for, and able to say
    which may hold a conflict without reading each (a store's state holds thousands of records; a command
    that changes one task reads one). Subclassed by the codec's reader; Overlay lays changes over one."""

    def conflicted_uuids(self) -> set[uuid_module.UUID]:
        """The uuids whose record may hold a conflict (at least every one that does)."""
        return set(self)


class Overlay(Records):
    """Records changed by appends (``top``) over those read from the store (``base``), nothing copied."""

    #: How many overlays may lie on one another before one is made a plain dict (a long session of syncs).
    DEPTH = 16

    def __init__(self, top: Mapping[uuid_module.UUID, Synced], base: Mapping[uuid_module.UUID, Synced]) -> None:
        self._top, self._base = dict(top), base
        self.depth: int = base.depth + 1 if isinstance(base, Overlay) else 1

    def __getitem__(self, key: uuid_module.UUID) -> Synced:
        found = self._top.get(key)
        return found if found is not None else self._base[key]

    def __contains__(self, key: object) -> bool:
        return key in self._top or key in self._base

    def __iter__(self) -> Iterator[uuid_module.UUID]:
        yield from self._top
        yield from (key for key in self._base if key not in self._top)

    def __len__(self) -> int:
        return len(self._top) + sum(1 for key in self._base if key not in self._top)

    def conflicted_uuids(self) -> set[uuid_module.UUID]:
        below = self._base.conflicted_uuids() if isinstance(self._base, Records) else set(self._base)
        return {u for u in below if u not in self._top} | {u for u, s in self._top.items() if s.conflict is not None}


def laid_over(top: Mapping[uuid_module.UUID, Synced], base: Mapping[uuid_module.UUID, Synced]
              ) -> Mapping[uuid_module.UUID, Synced]:
    """``base`` with the records of ``top`` in place of its own: records read on demand are laid over, not read
    whole (until overlays lie DEPTH deep); plain ones are copied."""
    if isinstance(base, Records):
        overlay = Overlay(top, base)
        return overlay if overlay.depth < Overlay.DEPTH else dict(overlay)
    return {**base, **top}


@attrs.frozen
class Replica:
    """One device's replication state: who it is, what it has numbered and taken in, and each synced task."""

    device: str
    #: This device's last operation's number (0: none yet).
    seq: int = 0
    #: For each device, the last of its operations taken in here (this device's own included).
    frontier: Clock = Clock()
    tasks: Mapping[uuid_module.UUID, Synced] = attrs.field(factory=dict)
    #: A store revision at which every task held here was as last synced (nothing to ship): while the store is
    #: still at it, a sync need not look at each task (0: not known).
    clean_at: int = 0
    #: An encrypted remote's key as the store keeps it (store/sync_key.py; within the store's own encryption),
    #: "" for a plain remote or none yet.
    remote_key: str = ""

    def __attrs_post_init__(self) -> None:
        check_device(self.device)

    @property
    def conflicts(self) -> dict[uuid_module.UUID, Conflict]:
        """The conflicted tasks. A mapping the store reads on demand (``conflicted_uuids``) says which they may be
        without reading every record: a list of a large synced store reads only those."""
        candidates = self.tasks.conflicted_uuids() if isinstance(self.tasks, Records) else self.tasks.keys()
        return {u: c for u in candidates if (c := self.tasks[u].conflict) is not None}

    def conflicted(self, task: uuid_module.UUID) -> Conflict | None:
        synced = self.tasks.get(task)
        return None if synced is None else synced.conflict

    def unsynced(self, local: Mapping[uuid_module.UUID, Task], fingerprint: Callable[[Task | None], str]
                 ) -> list[uuid_module.UUID]:
        """The tasks changed here since they were last synced (added, edited, deleted), conflicts aside: those
        here in the order of ``local``, then those deleted here."""
        def changed(u: uuid_module.UUID, task: Task | None) -> bool:
            synced = self.tasks.get(u)
            return synced is None or (synced.conflict is None and fingerprint(task) != synced.fingerprint)

        here = [u for u, task in local.items() if changed(u, task)]
        gone = [u for u in self.tasks if u not in local and changed(u, None)]  # (a record read only if gone)
        return here + gone


#: What each changed task becomes: its content here (None: deleted) and what the replica records of it.
Outcome = dict[uuid_module.UUID, tuple[Task | None, Synced]]


@attrs.frozen
class Integration:
    """What taking in a batch of operations does: the tasks it changes, the replica after, what it reports."""

    replica: Replica
    changed: Outcome
    #: Tasks brought in or changed here, deleted here, newly in conflict, merged field by field.
    updated: tuple[uuid_module.UUID, ...] = ()
    deleted: tuple[uuid_module.UUID, ...] = ()
    conflicts: tuple[uuid_module.UUID, ...] = ()
    merged: tuple[uuid_module.UUID, ...] = ()
    #: Operations taken in, and those of them that changed nothing (the replica held a version descending from them).
    taken: int = 0
    known: int = 0


def new_operations(replica: Replica, operations: Iterable[Operation]) -> Iterator[Operation]:
    """The operations not yet taken in, each device's in order; RemoteDamaged for a gap in a device's numbers,
    or two different operations under one number."""
    by_device: dict[str, dict[int, Operation]] = {}
    for op in operations:
        seen = by_device.setdefault(op.device, {})
        if op.seq in seen and seen[op.seq] != op:
            raise RemoteDamaged(f"device {op.device} has two different operations numbered {op.seq}",
                                hint="the remote was changed by hand or by another program; put it back from a copy")
        seen[op.seq] = op
    for device in sorted(by_device):
        ops = by_device[device]
        start = replica.frontier.get(device)
        for seq in range(start + 1, start + 1 + len([s for s in ops if s > start])):
            if seq not in ops:
                raise RemoteDamaged(f"device {device}'s operation {seq} is missing from the remote, though later "
                                    "ones are there", hint="the remote lost a file; put it back from a copy")
            yield ops[seq]


def integrate(replica: Replica, local: Mapping[uuid_module.UUID, Task], operations: Iterable[Operation], *,
              fingerprint: Callable[[Task | None], str],
              history: Callable[[uuid_module.UUID], Iterable[Operation]] = lambda _: (),
              merge: Merge = Merge.NEVER) -> Integration:
    """Take in ``operations`` (any order; those already held are skipped) against the tasks held here.

    ``local`` holds at least every task the operations name that exists here; ``history`` gives the
    known operations of a task (for the common ancestor a conflict shows). Pure: the caller makes the
    result durable in one append, then applies it.
    """
    tasks = dict(replica.tasks)
    frontier = replica.frontier.as_dict()
    changed: Outcome = {}
    report: dict[str, list[uuid_module.UUID]] = {"updated": [], "deleted": [], "conflicts": [], "merged": []}
    known = taken = 0

    def content(u: uuid_module.UUID) -> Task | None:
        return changed[u][0] if u in changed else local.get(u)

    for op in new_operations(replica, operations):
        frontier[op.device] = op.seq
        taken += 1
        outcome = _take(tasks.get(op.task), content(op.task), op, fingerprint, history, merge)
        if outcome is None:
            known += 1
            continue
        body, synced, what = outcome
        tasks[op.task] = synced
        changed[op.task] = (body, synced)
        if what:
            report[what].append(op.task)
    after = attrs.evolve(replica, seq=max(replica.seq, frontier.get(replica.device, 0)), frontier=Clock.of(frontier),
                         tasks=tasks)
    listed = {k: tuple(dict.fromkeys(v)) for k, v in report.items()}
    return Integration(after, changed, listed["updated"], listed["deleted"], listed["conflicts"], listed["merged"],
                       taken=taken, known=known)


def _take(synced: Synced | None, here: Task | None, op: Operation, fingerprint: Callable[[Task | None], str],
          history: Callable[[uuid_module.UUID], Iterable[Operation]], merge: Merge
          ) -> tuple[Task | None, Synced, str] | None:
    """One operation against one task's record and content here: what the task becomes, or None if it changes
    nothing (the replica held it, or a version that descends from it)."""
    theirs = op.body
    if synced is None:
        if here is None or same_content(here, theirs):  # new here, or the same task made on both (an import)
            body = theirs if here is None or theirs is None else _later_updated(here, theirs)
            return body, Synced(op.clock, fingerprint(body)), "updated" if theirs is not None else ""
        return _conflict(None, here, op, None, shipped=False, fingerprint=fingerprint)
    if op.clock <= synced.clock or (synced.conflict and any(op.clock <= s.clock for s in synced.conflict.theirs)):
        return None
    if synced.conflict is not None:
        return _into_conflict(synced, here, op, fingerprint)
    clean = fingerprint(here) == synced.fingerprint
    if synced.clock <= op.clock and clean:  # it descends from what is here, and nothing changed here since
        what = "deleted" if theirs is None and here is not None else "updated" if theirs is not None else ""
        return theirs, Synced(op.clock, fingerprint(theirs)), what
    if same_content(here, theirs):  # both made the same change: nothing to choose
        body = None if here is None or theirs is None else _later_updated(here, theirs)
        # An edit made here descends from this task's synced version, which the others may hold as a side
        # against theirs: it is shipped, so that they learn both are one.
        return body, Synced(synced.clock.join(op.clock), fingerprint(body) if clean else MUST_SHIP), ""
    if synced.clock <= op.clock:  # it descends from this task's synced version, which was changed here since
        ancestor = _version_at(synced.clock, op, history)
    else:
        ancestor = _ancestor(synced.clock, op.clock, op, history)
    if merge is Merge.FIELDS and ancestor is not None and here is not None and theirs is not None:
        merged = merge_fields(ancestor, here, theirs)
        if merged is not None:  # shipped at the next sync as a change made here, descending from both
            return merged, Synced(synced.clock.join(op.clock), MUST_SHIP), "merged"
    return _conflict(synced, here, op, ancestor, shipped=clean, fingerprint=fingerprint)


def _conflict(synced: Synced | None, here: Task | None, op: Operation, ancestor: Task | None, *, shipped: bool,
              fingerprint: Callable[[Task | None], str]) -> tuple[Task | None, Synced, str]:
    conflict = Conflict(here, (Side(op.device, op.clock, op.body),), ancestor, mine_shipped=shipped)
    base = synced.clock if synced is not None else Clock()
    record = Synced(base, synced.fingerprint if synced is not None else fingerprint(None), conflict)
    return conflict.shown, record, "conflicts"


def _into_conflict(synced: Synced, here: Task | None, op: Operation, fingerprint: Callable[[Task | None], str]
                   ) -> tuple[Task | None, Synced, str]:
    """An operation for a task already in conflict: it takes the place of the sides it descends from (mine too,
    if mine was shipped); a side that holds what another holds is one with it; when no side is left (a
    resolution made elsewhere, or every side made the same), the conflict ends."""
    conflict = synced.conflict
    assert conflict is not None
    sides = tuple(s for s in conflict.theirs if not s.clock <= op.clock)
    if conflict.mine_shipped and synced.clock <= op.clock:  # the new version stands for this device's side
        conflict, synced = attrs.evolve(conflict, mine=op.body), Synced(op.clock, fingerprint(op.body))
    else:
        sides = (*sides, Side(op.device, op.clock, op.body))
    body, record = _settled(synced.clock, synced.fingerprint, attrs.evolve(conflict, theirs=sides), fingerprint)
    if record.conflict is not None:
        return body, record, "conflicts" if len(sides) > len(conflict.theirs) else ""
    return body, record, "deleted" if body is None and here is not None else "updated" if body != here else ""


def _settled(clock: Clock, shipped_fingerprint: str, conflict: Conflict, fingerprint: Callable[[Task | None], str]
             ) -> tuple[Task | None, Synced]:
    """A conflict with sides that hold the same content made one: a side holding what mine holds joins mine
    (mine descends from it then), two sides holding the same are one side; with no side left, it ends."""
    sides: list[Side] = []
    mine = conflict.mine
    for side in conflict.theirs:
        if same_content(side.body, mine):
            clock = clock.join(side.clock)
            mine = None if mine is None or side.body is None else _later_updated(mine, side.body)
            continue
        for i, other in enumerate(sides):
            if same_content(other.body, side.body):
                body = None if other.body is None or side.body is None else _later_updated(other.body, side.body)
                sides[i] = Side(other.device, other.clock.join(side.clock), body)
                break
        else:
            sides.append(side)
    if not sides:  # the same content on every side: shipped if mine was an edit here no one saw
        return mine, Synced(clock, fingerprint(mine) if conflict.mine_shipped else MUST_SHIP)
    settled = attrs.evolve(conflict, mine=mine, theirs=tuple(sides))
    return settled.shown, Synced(clock, shipped_fingerprint, settled)


def _version_at(clock: Clock, op: Operation, history: Callable[[uuid_module.UUID], Iterable[Operation]]
                ) -> Task | None:
    """The content of the task's version with exactly ``clock``, if a known operation made it."""
    return next((o.body for o in history(op.task) if o.clock == clock), None)


def _ancestor(mine: Clock, theirs: Clock, op: Operation,
              history: Callable[[uuid_module.UUID], Iterable[Operation]]) -> Task | None:
    """The latest known version both sides descend from (None if none is known)."""
    common = [o for o in history(op.task) if o.clock <= mine and o.clock <= theirs]
    latest = [o for o in common if not any(o.clock <= p.clock and o.clock != p.clock for p in common)]
    return latest[0].body if len(latest) == 1 else None


def resolution(replica: Replica, task: uuid_module.UUID) -> Synced:
    """The record of a conflicted task once the user chose ``chosen``: based on every side (so the operation
    the next sync ships descends from them all), and changed here (so that sync ships it)."""
    synced = replica.tasks.get(task)
    if synced is None or synced.conflict is None:
        raise InvalidValue(f"task {task} is not in conflict")
    return Synced(synced.clock.join(*(s.clock for s in synced.conflict.theirs)), MUST_SHIP)


def shipped(replica: Replica, local: Mapping[uuid_module.UUID, Task], fingerprint: Callable[[Task | None], str]
            ) -> tuple[Replica, list[Operation]]:
    """This device's operations for every task changed here since its last sync, numbered on from ``seq``,
    and the replica once they are recorded as shipped. Conflicted tasks wait for their resolution."""
    changed: dict[uuid_module.UUID, Synced] = {}  # (only the records that change: the rest are not copied)
    seq = replica.seq
    ops = []
    for task in replica.unsynced(local, fingerprint):  # (in the order of ``local``: a new device numbers them so)
        body = local.get(task)
        synced = replica.tasks.get(task)
        seq += 1
        clock = (synced.clock if synced is not None else Clock()).bumped(replica.device, seq)
        ops.append(Operation(replica.device, seq, task, clock, body))
        changed[task] = Synced(clock, fingerprint(body))
    for task, conflict in sorted(replica.conflicts.items()):
        if not conflict.mine_shipped:  # an edit here the other sides never saw
            synced = replica.tasks[task]
            seq += 1
            clock = synced.clock.bumped(replica.device, seq)
            ops.append(Operation(replica.device, seq, task, clock, conflict.mine))
            changed[task] = Synced(clock, synced.fingerprint, attrs.evolve(conflict, mine_shipped=True))
    if not ops:
        return replica, []
    frontier = replica.frontier.bumped(replica.device, seq)
    return attrs.evolve(replica, seq=seq, frontier=frontier, tasks=laid_over(changed, replica.tasks)), ops


@attrs.frozen
class ReplicaChange:
    """What one append changes of a replica: who it is, its last number, what it took in, and the records of
    the tasks it changed (the rest stay as they were). Made from the replica before and after."""

    device: str
    seq: int
    frontier: Clock
    tasks: Mapping[uuid_module.UUID, Synced] = attrs.field(factory=dict)
    #: Replica.clean_at's and remote_key's new values (None: as they were).
    clean_at: int | None = None
    remote_key: str | None = None

    @classmethod
    def between(cls, before: Replica | None, after: Replica) -> ReplicaChange:
        old = before.tasks if before is not None else {}
        changed = {u: s for u, s in after.tasks.items() if old.get(u) != s}
        clean_at = after.clean_at if before is None or before.clean_at != after.clean_at else None
        remote_key = after.remote_key if before is None or before.remote_key != after.remote_key else None
        return cls(after.device, after.seq, after.frontier, changed, clean_at, remote_key)

    def applied_to(self, replica: Replica | None) -> Replica:
        if replica is not None and replica.device != self.device:
            raise InvalidValue(f"a change of device {self.device}'s replication state met device {replica.device}'s")
        if replica is None:
            tasks: Mapping[uuid_module.UUID, Synced] = dict(self.tasks)
        else:
            tasks = laid_over(self.tasks, replica.tasks)
        clean_at = self.clean_at if self.clean_at is not None else replica.clean_at if replica is not None else 0
        remote_key = (self.remote_key if self.remote_key is not None
                      else replica.remote_key if replica is not None else "")
        return Replica(self.device, self.seq, self.frontier, tasks, clean_at, remote_key)


def resolved(conflict: Conflict, take: str | None, fields: Mapping[str, str] | None = None) -> Task | None:
    """The content a conflicted task becomes when the user takes ``take`` ("mine", "theirs", or a device id
    of one of theirs, or its start) and, field by field, ``fields`` (name -> the same words) over it.

    InvalidValue when the words name no side, or more than one, or a field of a side that deleted the task.
    """
    def side(word: str) -> Task | None:
        if word == "mine":
            return conflict.mine
        matching = [s for s in conflict.theirs if word == "theirs" or (len(word) >= 4 and s.device.startswith(word))]
        if len(matching) != 1:
            devices = ", ".join(s.device for s in conflict.theirs)
            raise InvalidValue(f"{word!r:.40} names {'none' if not matching else 'more than one'} of the versions "
                               f"(mine, or theirs: {devices})",
                               hint="name one by its device id, as show lists them" if matching else None)
        return matching[0].body

    chosen = side(take) if take is not None else conflict.mine
    for name, word in (fields or {}).items():
        if name not in RESOLVABLE_FIELDS:
            raise InvalidValue(f"{name!r:.40} is not a field a conflict is resolved by",
                               hint=f"one of {', '.join(RESOLVABLE_FIELDS)}")
        source = side(word)
        if chosen is None or source is None:
            raise InvalidValue(f"the {word} version deleted the task, so its {name} cannot be taken",
                               hint="take a whole version instead: --take mine or --take theirs")
        chosen = attrs.evolve(chosen, **dict(zip(_FIELD_GROUPS.get(name, (name,)), field_values(source, name),
                                                 strict=True)))  # type: ignore[arg-type]
    return chosen
