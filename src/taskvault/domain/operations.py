"""Plan each kind of change as a pure function of the current task list.

Nothing here mutates anything: every function returns a Change (possibly empty) or
raises a UserError, so a failed plan leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import attrs

from ..errors import InvalidValue, UnknownTag
from .change import ChangeKind
from .task import Priority, Status, Task, normalize_note, normalize_tag, normalize_tags, normalize_title
from .tasklist import Change, TaskList


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: Marks an edit field the user did not mention.
UNCHANGED: Final = _Unchanged()


@attrs.frozen
class TaskEdit:
    """What ``edit`` should change; fields left UNCHANGED keep their value."""

    title: str | _Unchanged = UNCHANGED
    note: str | _Unchanged = UNCHANGED
    priority: Priority | _Unchanged | None = UNCHANGED
    due: dt.date | _Unchanged | None = UNCHANGED
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self == TaskEdit()


def plan_add(
    tasks: TaskList,
    title: str,
    *,
    now: dt.datetime,
    note: str = "",
    priority: Priority | None = None,
    due: dt.date | None = None,
    tags: tuple[str, ...] = (),
    task_uuid: uuid.UUID | None = None,
) -> Change:
    task = Task(
        id=tasks.next_id,
        uuid=task_uuid or uuid.uuid4(),
        title=normalize_title(title),
        note=normalize_note(note),
        priority=priority,
        due=due,
        tags=normalize_tags(tags),
        created=now,
        updated=now,
    )
    return Change(ChangeKind.ADD, put=(task,), next_id=tasks.next_id + 1)


def plan_edit(tasks: TaskList, task_id: int, edit: TaskEdit, *, now: dt.datetime) -> Change:
    task = tasks.get(task_id)
    if edit.is_empty:
        raise InvalidValue("nothing to change", hint="give at least one of --title, --note, --priority, --due, --tag")
    changes: dict[str, object] = {}
    if not isinstance(edit.title, _Unchanged):
        changes["title"] = normalize_title(edit.title)
    if not isinstance(edit.note, _Unchanged):
        changes["note"] = normalize_note(edit.note)
    if not isinstance(edit.priority, _Unchanged):
        changes["priority"] = edit.priority
    if not isinstance(edit.due, _Unchanged):
        changes["due"] = edit.due
    removed = {normalize_tag(t) for t in edit.remove_tags}
    added = {normalize_tag(t) for t in edit.add_tags}
    if removed & added:
        raise InvalidValue(f"tag {min(removed & added)!r} is both added and removed")
    absent = sorted(removed - set(task.tags))
    if absent:
        raise UnknownTag(task.id, absent[0], task.tags)
    changes["tags"] = normalize_tags((set(task.tags) - removed) | added)
    edited = attrs.evolve(task, **changes)  # type: ignore[arg-type]
    if edited == task:
        return Change(ChangeKind.EDIT, next_id=tasks.next_id)
    return Change(ChangeKind.EDIT, put=(attrs.evolve(edited, updated=max(now, task.created)),), next_id=tasks.next_id)


def _plan_status(tasks: TaskList, kind: ChangeKind, task_ids: list[int], status: Status, now: dt.datetime) -> Change:
    put = []
    for task in tasks.require(task_ids):
        if task.status is status:
            continue
        stamp = max(now, task.created)
        completed = stamp if status is Status.DONE else None
        put.append(attrs.evolve(task, status=status, completed=completed, updated=stamp))
    return Change(kind, put=tuple(put), next_id=tasks.next_id)


def plan_done(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark tasks done; ones already done are left as they are. All ids must exist."""
    return _plan_status(tasks, ChangeKind.DONE, task_ids, Status.DONE, now)


def plan_reopen(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark done tasks open again; ones already open are left as they are."""
    return _plan_status(tasks, ChangeKind.REOPEN, task_ids, Status.OPEN, now)


def plan_delete(tasks: TaskList, task_ids: list[int]) -> Change:
    """Remove tasks for good. All ids must exist; their ids are never handed out again."""
    doomed = tasks.require(task_ids)
    return Change(ChangeKind.DELETE, delete=tuple(t.id for t in doomed), next_id=tasks.next_id)
