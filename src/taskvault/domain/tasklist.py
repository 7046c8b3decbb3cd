"""The task list of one store at one revision, and the Change that moves it forward."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InvalidValue, TaskConflicted, TaskNotFound, typed
from .change import Change
from .history import History, Step
from .task import Status, Task

if TYPE_CHECKING:
    from .replica import Replica

__all__ = ["Change", "TaskList", "TaskSource"]


class TaskSource(Protocol):
    """Tasks not yet built, and how to build them (a store's snapshot): ids from 1 to ``highest``, ``count`` of them."""

    @property
    def count(self) -> int: ...

    @property
    def highest(self) -> int: ...

    def find(self, task_id: int) -> Task | None:
        """The task with this id, built; None if there is none. Raises if it is not a valid task."""

    def has(self, task_id: int) -> bool:
        """True if it holds a task with this id (which is not built)."""

    def all(self) -> list[Task]:
        """Every task, built, ordered by id."""

    def raw(self) -> Iterator[tuple[int, bytes]]:
        """Every task as the source holds it, unbuilt, ordered by id: (id, its stored form)."""

    def open_count(self) -> int:
        """How many of its tasks are open, without building them."""

    def matching(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                 skip: Container[int]) -> list[Task]:
        """Its tasks but those with ids in ``skip``, built, that may have ``status`` (None: any), every one of
        ``tags`` and ``text`` (casefolded) in their title or note; never one fewer, perhaps some more.

        The text is looked for in a task's whole stored form, so a task with ``text`` in any string field is
        kept too: a uuid finds the task it is and those that name it (recurrence finds a series' instances so).
        """

    def records(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                skip: Container[int]) -> list[dict[str, Any]]:
        """The tasks matching() gives, each in the form the store writes it (a JSON object as a dict), the same
        decisions made: for a list, which shows them without needing them built."""


class TaskList:
    """Tasks by id, the next id to hand out, and the revision they reflect.

    Ids are never reused: ``next_id`` only grows, even when the newest task is deleted.
    The only mutator is :meth:`apply`, and it is called only with a durable Change.
    """

    __slots__ = ("_count", "_counted", "_gone", "_next_id", "_replica", "_reserved", "_revision", "_source", "_tasks",
                 "history")

    def __init__(self, tasks: Iterable[Task] = (), *, next_id: int = 1, revision: int = 0,
                 history: History | None = None) -> None:
        by_id: dict[int, Task] = {}
        for task in tasks:
            if task.id in by_id:
                raise InvalidValue(f"task id {task.id} appears more than once")
            by_id[task.id] = task
        if by_id and next_id <= max(by_id):
            raise InvalidValue(f"next_id {next_id} is not above the highest task id {max(by_id)}")
        if next_id < 1 or revision < 0:
            raise InvalidValue("next_id must be at least 1 and the revision at least 0")
        #: The tasks by id; with a source (see from_source), only those built or changed so far.
        self._tasks = by_id
        self._source: TaskSource | None = None
        self._gone: set[int] = set()  # ids of the source's tasks deleted since
        self._count = 0  # with a source: how many tasks the list holds
        self._counted: tuple[int, tuple[int, int]] | None = None  # with a source: counts() at a revision
        self._next_id = next_id
        self._revision = revision
        self._reserved = 0
        #: The recent changes that led here, each with what it replaced (for undo and history).
        self.history = history if history is not None else History()
        #: The replication state (domain/replica.py) once the store has synced, or how to read it: None before.
        self._replica: Replica | Callable[[], Replica | None] | None = None

    @classmethod
    def from_source(cls, source: TaskSource, *, next_id: int, revision: int, history: History) -> TaskList:
        """A list of the tasks ``source`` holds, each built only when first used.

        So a change that touches a few tasks of a large store builds only those. Every way of
        reading the list builds what it reads; iterating it builds all the rest at once.
        """
        tasks = cls(next_id=next_id, revision=revision, history=history)
        if source.count and next_id <= source.highest:
            raise InvalidValue(f"next_id {next_id} is not above the highest task id {source.highest}")
        tasks._source, tasks._count = source, source.count
        return tasks

    def copy(self) -> TaskList:
        """A list equal to this one, which later changes to either leave the other as it is.

        Costs what was built or changed since the load, not the whole list: the source's tasks are
        shared (they never change), so a session can hand a copy to a background compaction.
        """
        other = TaskList(next_id=self._next_id, revision=self._revision, history=self.history.copy())
        other._tasks, other._gone = dict(self._tasks), set(self._gone)
        other._source, other._count, other._reserved = self._source, self._count, self._reserved
        other._replica = self._replica
        return other

    @property
    def replica(self) -> Replica | None:
        """This store's replication state (None: it never synced), read from the store when first asked for."""
        if callable(self._replica):
            self._replica = self._replica()
        return self._replica

    def hold_replica(self, replica: Replica | Callable[[], Replica | None] | None) -> None:
        """Set the replication state the store holds beside these tasks (or how to read it when asked)."""
        self._replica = replica

    @property
    def replica_read(self) -> bool:
        """False while the replication state was not yet read from the store (encode it as it was read)."""
        return not callable(self._replica)

    def by_uuid(self, task_uuid: object) -> Task | None:
        """The task with this uuid, or None (builds every task: for sync, and the few it names)."""
        return next((task for task in self if task.uuid == task_uuid), None)

    def parts(self) -> tuple[TaskSource | None, dict[int, Task], frozenset[int]]:
        """The list as it is held: the source of the tasks not yet built (None when all are), the tasks
        built or changed since (which win over the source's), and the ids of the source's tasks deleted.

        For writing the list back without building what was never used (codec.encode_tasklist).
        """
        return self._source, dict(self._tasks), frozenset(self._gone)

    @property
    def unbuilt(self) -> int:
        """How many of the tasks are not yet built (see from_source)."""
        return 0 if self._source is None else self._count - len(self._tasks)

    def _find(self, task_id: int) -> Task | None:
        """The task with this id (built now if it was not yet), or None."""
        task = self._tasks.get(task_id)
        if task is not None or self._source is None or task_id in self._gone:
            return task
        task = self._source.find(task_id)
        if task is not None:
            self._tasks[task_id] = task
        return task

    def _all(self) -> dict[int, Task]:
        """Every task by id, all built: the source's in their order, then those added since."""
        if self._source is not None:
            ordered = {task.id: task for task in self._source.all()}
            for task_id in self._gone:
                ordered.pop(task_id, None)
            ordered.update(self._tasks)  # those built or changed take their place; those added go last
            self._tasks, self._source, self._gone = ordered, None, set()
        return self._tasks

    def narrowed(self, status: Status | None, tags: tuple[str, ...], text: str | None) -> Iterable[Task]:
        """Every task that may have ``status`` (None: any), all of ``tags`` and ``text`` (casefolded) in its
        title or note, and perhaps others: the caller decides which match (see query.TaskQuery.select).

        With a source, only these are built (and not kept: a list shows many tasks a change never touches).
        """
        if self._source is None:
            return self._tasks.values()
        skip = self._tasks.keys() | self._gone
        return [*self._source.matching(status, tags, text, skip), *self._tasks.values()]

    @property
    def next_id(self) -> int:
        """The id the next new task gets: above every id the store used, and every id reserved."""
        return max(self._next_id, self._reserved)

    @property
    def revision(self) -> int:
        return self._revision

    def __len__(self) -> int:
        return len(self._tasks) if self._source is None else self._count

    def __iter__(self) -> Iterator[Task]:
        return iter(self._all().values())

    def __contains__(self, task_id: object) -> bool:
        if task_id in self._tasks:
            return True
        return (self._source is not None and type(task_id) is int and task_id not in self._gone
                and self._source.has(task_id))

    def get(self, task_id: int) -> Task:
        task = self._find(task_id)
        if task is None:
            raise TaskNotFound([task_id], self._deleted([task_id]))
        return task

    def _deleted(self, task_ids: list[int]) -> dict[int, tuple[int, dt.datetime | None, str]]:
        """For ids the history shows deleted (and not brought back since): that change's revision, time and kind."""
        wanted = set(task_ids)
        found: dict[int, tuple[int, dt.datetime | None, str]] = {}
        for step in reversed(list(self.history)):
            for task_id in wanted & set(step.touched):
                if step.after(task_id) is None:  # the newest change to it removed it
                    found[task_id] = (step.revision, step.at, step.kind)
            wanted -= set(step.touched)
            if not wanted:
                break
        return found

    def require(self, task_ids: Iterable[int]) -> list[Task]:
        """Return the tasks with these ids, in the order given; all of them or TaskNotFound."""
        ids = list(dict.fromkeys(task_ids))
        missing = [i for i in ids if self._find(i) is None]
        if missing:
            raise TaskNotFound(missing, self._deleted(missing))
        return [self._tasks[i] for i in ids]

    def snapshot(self) -> tuple[tuple[Task, ...], int, int]:
        """The whole state as plain values: (tasks ordered by id, next_id, revision)."""
        tasks = tuple(sorted(self._all().values(), key=lambda t: t.id))
        return tasks, self.next_id, self._revision

    def check(self, change: Change) -> None:
        """Raise InvalidValue unless ``change`` can be applied to this list as it is."""
        if change.next_id < self._next_id:
            raise InvalidValue(f"the change would lower next_id from {self._next_id} to {change.next_id}")
        put_ids = [t.id for t in change.put]
        if len(set(put_ids)) != len(put_ids) or set(put_ids) & set(change.delete):
            raise InvalidValue("the change names a task id twice")
        for task in change.put:
            if task.id >= change.next_id:
                raise InvalidValue(f"task id {task.id} is not below next_id {change.next_id}")
            if task.id < self._next_id and not change.revives and task.id not in self:
                raise InvalidValue(f"task id {task.id} was used before and cannot be used again")
        missing = [i for i in change.delete if i not in self]
        if missing:
            raise InvalidValue(f"the change deletes tasks that do not exist: {missing}")

    def _refuse_conflicted(self, change: Change) -> None:
        """TaskConflicted if ``change`` (not a sync's or a resolution) touches a task in conflict (only the records
        of the tasks it touches are read)."""
        replica = self.replica if not change.kind.replicates and self._replica is not None else None
        if replica is None:
            return
        touched = [*change.put, *(t for i in change.delete if (t := self._find(i)) is not None)]
        for task in touched:
            if replica.conflicted(task.uuid) is not None:
                here = self._find(task.id)
                raise TaskConflicted(f"task {task.id} was changed on two devices that did not know of each other's "
                                     "change, and both versions are kept",
                                     hint=f"see both with '{typed(f'show {task.id}')}', then choose with "
                                     f"'{typed(f'resolve {task.id}')}'" if here is not None else None)

    def ready(self, change: Change) -> None:
        """check(), and read now every task the change touches (building those not yet built), so that a
        stored task that does not decode refuses the change before it is made durable, never while the
        durable change is applied (see apply)."""
        self.check(change)
        self._refuse_conflicted(change)  # (at planning only: a change on disk was planned so)
        for task_id in [*(t.id for t in change.put), *change.delete]:
            self._find(task_id)

    def apply(self, change: Change, revision: int, at: dt.datetime | None = None, *, remember: bool = True) -> None:
        """Apply a checked, durable change as revision ``revision`` (which must be the next).

        The change joins the history with the tasks it replaces, made at ``at``; ``remember=False``
        leaves it out, for a step older ones than the history keeps will follow (a long journal
        replayed), so that what it replaced need not be built.
        """
        if revision != self._revision + 1:
            raise InvalidValue(f"revision {revision} does not follow revision {self._revision}")
        self.check(change)
        if remember:
            touched = [t.id for t in change.put] + list(change.delete)
            was = tuple(task for i in touched if (task := self._find(i)) is not None)
            self.history.record(Step(revision, at, change, was))
        for task in change.put:
            if self._source is not None:
                self._count += task.id not in self
                self._gone.discard(task.id)
            self._tasks[task.id] = task
        for task_id in change.delete:
            if self._source is None:
                del self._tasks[task_id]
            else:
                self._tasks.pop(task_id, None)
                self._gone.add(task_id)
                self._count -= 1
        self._next_id = change.next_id
        self._revision = revision
        if change.replica is not None:
            self._replica = change.replica.applied_to(self.replica)

    def reserve_ids(self, first_free: int) -> None:
        """Hand out no new id below ``first_free``: ids a change named on disk that was not (or not yet) made.

        Such a change (reported as failed, never finished, or still being written by another session)
        is not applied, but a reader or the user may have seen its ids. Only new ids are held back;
        the change itself may still be read later, and is then applied as usual. The next change
        saved carries the raised ``next_id``.
        """
        self._reserved = max(self._reserved, first_free)

    def counts(self) -> tuple[int, int]:
        """(open, done) task counts; a series' template (status recurring) is neither."""
        if self._source is None:
            open_count = sum(1 for t in self._tasks.values() if t.is_open)
            templates = sum(1 for t in self._tasks.values() if t.is_template)
            return open_count, len(self._tasks) - open_count - templates
        if self._counted is not None and self._counted[0] == self._revision:
            return self._counted[1]  # a session's status bar asks again at every key
        # The source's count, less its tasks since built, changed or deleted (as the source holds them),
        # plus those as they are now: nothing else is built (but the templates, which are few).
        open_count = self._source.open_count() + sum(1 for t in self._tasks.values() if t.is_open)
        for task_id in self._tasks.keys() | self._gone:
            held = self._source.find(task_id) if task_id <= self._source.highest else None
            open_count -= held is not None and held.is_open
        templates = sum(1 for t in self.narrowed(Status.RECURRING, (), None) if t.is_template)
        self._counted = (self._revision, (open_count, self._count - open_count - templates))
        return self._counted[1]
