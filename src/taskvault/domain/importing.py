"""Planning an import: tasks read from another tool's file, matched to the store's by uuid, as one change.

A task whose uuid the store does not hold is added, with the store's next id (in the order the file
gives them: ids are never taken from the source). One it holds is updated to what the file says, keeping
its id, or left alone when the file says what the store already holds: importing the same file again
changes nothing. When and by whom a task was made does not change: an update keeps the store's creation
time, and a file that differs from the store only in its times (a format that has none says "now") is
no change. A task the store changed after the file's version of it (its update time is later than the
file's) is kept as the store has it, and listed as newer: an older file never undoes a later change.
An instance the import finishes (done in the file, open in the store) makes its series' next instance, as
finishing it here would, unless the file brings a later instance of that series itself.
Nothing is ever deleted by an import. Pure: nothing here reads a file or changes a list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from ..errors import InvalidValue
from . import recurrence
from .change import Change, ChangeKind
from .operations import refuse_cycle
from .task import Status, Task, renumbered
from .tasklist import TaskList


@attrs.frozen
class ImportPlan:
    """What an import does: the tasks it adds (with their new ids), those it updates (before, after), those
    it leaves as they are, and the one change that does it."""

    added: tuple[Task, ...]
    updated: tuple[tuple[Task, Task], ...]
    unchanged: tuple[Task, ...]
    change: Change
    #: The store's tasks changed after the file's version of them: left as the store has them.
    newer: tuple[Task, ...] = ()


def plan_import(tasks: TaskList, incoming: Sequence[Task], *, now: dt.datetime, detail: str = "") -> ImportPlan:
    """The change that brings ``incoming`` (ids are placeholders) into ``tasks``; InvalidValue if two of them
    have the same uuid (a reader refuses that first, naming the records; this keeps the plan sound alone)."""
    held = {task.uuid: task for task in tasks} if incoming else {}
    seen: set[object] = set()
    added: list[Task] = []
    updated: list[tuple[Task, Task]] = []
    unchanged: list[Task] = []
    newer: list[Task] = []
    next_id = tasks.next_id
    for task in incoming:
        if task.uuid in seen:
            raise InvalidValue(f"the import holds the task {task.uuid} twice", hint="keep one of the two and import again")
        seen.add(task.uuid)
        old = held.get(task.uuid)
        if old is None:
            added.append(renumbered(task, next_id))
            next_id += 1
            continue
        if attrs.evolve(task, id=old.id, created=old.created, updated=old.updated) == old:
            unchanged.append(old)
        elif old.updated > task.updated:
            newer.append(old)
        else:
            updated.append((old, attrs.evolve(task, id=old.id, created=old.created,
                                              updated=max(task.updated, old.created))))
    change = Change(ChangeKind.IMPORT, put=(*added, *(new for _, new in updated)), next_id=next_id, detail=detail)
    made = _next_instances(tasks, change, incoming, [old for old, new in updated if _finished(old, new)], now)
    if made:
        put = {task.id: task for task in change.put} | {task.id: task for task in made}
        change = Change(ChangeKind.IMPORT, put=tuple(put.values()), next_id=max(t.id for t in made) + 1, detail=detail)
        added += [task for task in made if task.id >= next_id]
        touched = {new.id for _, new in updated}
        updated = [(old, put[new.id]) for old, new in updated]
        updated += [(tasks.get(t.id), t) for t in made if t.id < next_id and t.id not in touched]
        unchanged = [task for task in unchanged if task.id not in put]
    try:
        refuse_cycle(tasks, [task for task in change.put if task.depends])
    except InvalidValue as error:
        raise InvalidValue(f"the file's dependencies: {error.message}",
                           hint="remove one of those dependencies in the file, and import again") from None
    return ImportPlan(tuple(added), tuple(updated), tuple(unchanged), change, tuple(newer))


def _finished(old: Task, new: Task) -> bool:
    return old.parent is not None and old.status is Status.OPEN and new.status is Status.DONE


def _next_instances(tasks: TaskList, change: Change, incoming: Sequence[Task], finished: list[Task],
                    now: dt.datetime) -> tuple[Task, ...]:
    """The templates and next instances of the series whose newest instance the import finishes (as the list
    stands after it), but for series the file brings a newer instance of."""
    newest: dict[object, int] = {}
    for task in incoming:
        if task.parent is not None:
            newest[task.parent] = max(newest.get(task.parent, 0), task.index)
    finished = [task for task in finished if newest.get(task.parent, 0) <= task.index]
    if not finished:
        return ()
    after = tasks.copy()
    after.apply(change, tasks.revision + 1, remember=False)
    made, _ = recurrence.successors(after, finished, next_id=change.next_id, now=now)
    return made


def changed_fields(old: Task, new: Task) -> tuple[str, ...]:
    """The names of the fields an update changes, in the task's order (``updated`` aside: every update moves it)."""
    return tuple(field.name for field in attrs.fields(Task)
                 if field.name != "updated" and getattr(old, field.name) != getattr(new, field.name))
