"""Plan each kind of change as a pure function of the current task list.

Nothing here mutates anything: every function returns a Change (possibly empty) or
raises a UserError, so a failed plan leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Final

import attrs

from ..errors import InvalidValue, UnknownTag
from . import recurrence
from .change import ChangeKind
from .periods import normalize_period
from .task import (
    DEPENDS_MAX,
    Annotation,
    Priority,
    Status,
    Task,
    normalize_annotation,
    normalize_note,
    normalize_project,
    normalize_tag,
    normalize_tags,
    normalize_title,
)
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
    project: str | _Unchanged | None = UNCHANGED
    scheduled: dt.date | _Unchanged | None = UNCHANGED
    wait: dt.date | _Unchanged | None = UNCHANGED
    until: dt.date | _Unchanged | None = UNCHANGED
    #: Ids of tasks to depend on, and to depend on no more.
    add_depends: tuple[int, ...] = ()
    remove_depends: tuple[int, ...] = ()
    #: Depend on no task any more (``depends:`` with nothing after it).
    clear_depends: bool = False

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
    project: str | None = None,
    scheduled: dt.date | None = None,
    wait: dt.date | None = None,
    until: dt.date | None = None,
    depends: tuple[int, ...] = (),
    recur: str | None = None,
) -> Change:
    """A new task; with ``recur`` (a period, see periods.normalize_period) a new series instead: its template
    (status recurring, first due date ``due``) and its first instance, the next id, in one change."""
    own = task_uuid or uuid.uuid4()
    if recur is not None:
        if due is None:
            raise InvalidValue("a recurring task needs a due date: the first one of the series",
                               hint="add due:DATE, such as due:2027-01-31 recur:monthly")
        recur = normalize_period(recur)
        if until is not None and until < due:
            raise InvalidValue(f"the series would end (until {until.isoformat()}) before its first due date "
                               f"{due.isoformat()}", hint="give an until on or after the due date")
    task = Task(
        id=tasks.next_id,
        uuid=own,
        title=normalize_title(title),
        note=normalize_note(note),
        priority=priority,
        due=due,
        tags=normalize_tags(tags),
        created=now,
        updated=now,
        project=None if project is None else normalize_project(project),
        scheduled=scheduled,
        wait=wait,
        until=until,
        depends=_uuids_of(tasks, depends),
    )
    if recur is None:
        return Change(ChangeKind.ADD, put=(task,), next_id=tasks.next_id + 1)
    template = attrs.evolve(task, status=Status.RECURRING, recur=recur, index=1)
    first = recurrence.instance(template, 1, task_id=tasks.next_id + 1, now=now)
    return Change(ChangeKind.ADD, put=(template, first), next_id=tasks.next_id + 2)


def _uuids_of(tasks: TaskList, task_ids: tuple[int, ...]) -> tuple[uuid.UUID, ...]:
    """The uuids of the tasks with these ids, sorted and each once (TaskNotFound if one does not exist)."""
    found = sorted({t.uuid for t in tasks.require(task_ids)})
    if len(found) > DEPENDS_MAX:
        raise InvalidValue(f"a task can depend on at most {DEPENDS_MAX} tasks")
    return tuple(found)


def refuse_cycle(tasks: TaskList, edited: list[Task]) -> None:
    """InvalidValue if, with the ``edited`` tasks' dependencies as they now are, some task would wait, through
    any chain of dependencies, for itself. One walk over the graph (each task looked at once), however many
    tasks a change edits."""
    if not edited:
        return
    by_uuid = {t.uuid: t for t in tasks}
    by_uuid.update((t.uuid, t) for t in edited)
    state: dict[uuid.UUID, int] = {}  # 1: on the current path, 2: finished (no cycle through it)
    for start in edited:
        if state.get(start.uuid):
            continue
        path = [(start.uuid, iter(start.depends))]
        state[start.uuid] = 1
        while path:
            current, pending = path[-1]
            after = next(pending, None)
            if after is None:
                state[current] = 2
                path.pop()
                continue
            if state.get(after) == 1:
                ring = [u for u, _ in path][[u for u, _ in path].index(after):]
                first, second = by_uuid[ring[0]], by_uuid[ring[1]] if len(ring) > 1 else None
                if second is None:
                    raise InvalidValue(f"task {first.id} cannot depend on itself")
                if len(ring) == 2 or first.uuid == start.uuid:
                    raise InvalidValue(f"task {first.id} cannot depend on task {second.id}: task {second.id} already "
                                       f"waits, through its dependencies, for task {first.id}",
                                       hint="remove one of those dependencies first, with modify ID depends:-ID")
                chain = " → ".join(str(by_uuid[u].id) for u in [*ring, ring[0]])
                raise InvalidValue(f"these tasks would wait for each other: {chain}",
                                   hint="leave out one of the dependencies that closes the ring")
            if after not in state and after in by_uuid:
                state[after] = 1
                path.append((after, iter(by_uuid[after].depends)))


def plan_edit(tasks: TaskList, task_id: int, edit: TaskEdit, *, now: dt.datetime) -> Change:
    task = tasks.get(task_id)
    if edit.is_empty:
        raise InvalidValue("nothing to change", hint="give at least one of --title, --note, --priority, --due, --tag")
    _refuse_template(task)
    edited = _edited(tasks, task, edit, now)
    refuse_cycle(tasks, [edited] if edited is not None and edited.depends != task.depends else [])
    return Change(ChangeKind.EDIT, put=() if edited is None else (edited,), next_id=tasks.next_id)


def plan_modify(tasks: TaskList, task_ids: list[int], edit: TaskEdit, *, now: dt.datetime) -> Change:
    """The same edit to each task (all ids must exist): one change, all or nothing. Tasks it would leave as
    they are are left out of it."""
    if edit.is_empty:
        raise InvalidValue("nothing to change")
    put = []
    for task in tasks.require(task_ids):
        _refuse_template(task)
        edited = _edited(tasks, task, edit, now)
        if edited is not None:
            put.append(edited)
    if edit.add_depends:
        refuse_cycle(tasks, put)
    return Change(ChangeKind.EDIT, put=tuple(put), next_id=tasks.next_id)


def _refuse_template(task: Task) -> None:
    if task.status is Status.RECURRING:  # its instances copy it when made: a change would not reach the open one
        raise InvalidValue(f"task {task.id} is the template of a recurring series: it cannot be changed",
                           hint="change its open instance; delete the template to end the series")


def _edited(tasks: TaskList, task: Task, edit: TaskEdit, now: dt.datetime) -> Task | None:
    """``task`` with ``edit`` made to it, stamped now; None if the edit leaves it as it is."""
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
    if not isinstance(edit.project, _Unchanged):
        changes["project"] = None if edit.project is None else normalize_project(edit.project)
    for name in ("scheduled", "wait", "until"):
        value = getattr(edit, name)
        if not isinstance(value, _Unchanged):
            changes[name] = value
    if edit.add_depends or edit.remove_depends or edit.clear_depends:
        drop = set(task.depends) if edit.clear_depends else set(_uuids_of(tasks, edit.remove_depends))
        gain = set(_uuids_of(tasks, edit.add_depends))
        if drop & gain:
            raise InvalidValue("a dependency is both added and removed")
        depends = tuple(sorted((set(task.depends) - drop) | gain))
        if task.uuid in depends:
            raise InvalidValue(f"task {task.id} cannot depend on itself")
        if len(depends) > DEPENDS_MAX:
            raise InvalidValue(f"a task can depend on at most {DEPENDS_MAX} tasks")
        changes["depends"] = depends
    edited = attrs.evolve(task, **changes)  # type: ignore[arg-type]
    if edited == task:
        return None
    return attrs.evolve(edited, updated=max(now, task.created))


def _plan_status(tasks: TaskList, kind: ChangeKind, task_ids: list[int], status: Status, now: dt.datetime) -> Change:
    put = []
    finished = []
    for task in tasks.require(task_ids):
        if task.status is status:
            continue
        if task.status is Status.RECURRING:
            raise InvalidValue(f"task {task.id} is the template of a recurring series, not a task to do",
                               hint="complete its instances; delete it to end the series")
        stamp = max(now, task.created)
        completed = stamp if status is Status.DONE else None
        put.append(attrs.evolve(task, status=status, completed=completed, updated=stamp, started=None))
        finished.append(task)
    if status is not Status.DONE:  # reopening an instance makes nothing
        return Change(kind, put=tuple(put), next_id=tasks.next_id)
    made, next_id = recurrence.successors(tasks, finished, next_id=tasks.next_id, now=now)
    return Change(kind, put=(*put, *made), next_id=next_id)


def plan_done(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark tasks done; ones already done are left as they are. All ids must exist.

    Completing the newest instance of a series makes its next one, in the same change (recurrence.successors).
    """
    return _plan_status(tasks, ChangeKind.DONE, task_ids, Status.DONE, now)


def plan_reopen(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark done tasks open again; ones already open are left as they are."""
    return _plan_status(tasks, ChangeKind.REOPEN, task_ids, Status.OPEN, now)


def plan_delete(tasks: TaskList, task_ids: list[int], *, now: dt.datetime | None = None) -> Change:
    """Remove tasks for good. All ids must exist; their ids are never handed out again.

    Deleting the newest instance of a series makes its next one, in the same change (stamped ``now``);
    deleting a template ends its series, and leaves its instances as they are.
    """
    doomed = tasks.require(task_ids)
    gone = tuple(t.id for t in doomed)
    if not any(t.parent is not None for t in doomed):
        return Change(ChangeKind.DELETE, delete=gone, next_id=tasks.next_id)
    if now is None:  # (a caller that predates series: the service's clock is better, pass it)
        now = dt.datetime.now(dt.UTC)
    made, next_id = recurrence.successors(tasks, doomed, next_id=tasks.next_id, now=now, removed=gone)
    return Change(ChangeKind.DELETE, put=made, delete=gone, next_id=next_id)


def _plan_each(tasks: TaskList, kind: ChangeKind, task_ids: list[int], now: dt.datetime,
               change: Callable[[Task, dt.datetime], Task | None]) -> Change:
    """A change of ``kind`` putting ``change(task, stamp)`` for each task it does not leave as it is (None)."""
    put = []
    for task in tasks.require(task_ids):
        stamp = max(now, task.created)
        changed = change(task, stamp)
        if changed is not None:
            put.append(attrs.evolve(changed, updated=stamp))
    return Change(kind, put=tuple(put), next_id=tasks.next_id)


def _start(task: Task, stamp: dt.datetime) -> Task | None:
    if task.status is not Status.OPEN:
        raise InvalidValue(f"task {task.id} is {task.status.value}: only an open task can be started",
                           hint=f"reopen it first: reopen {task.id}" if task.status is Status.DONE else None)
    return None if task.started is not None else attrs.evolve(task, started=stamp)


def plan_start(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark open tasks active (started now); ones already active are left as they are. All ids must exist."""
    return _plan_each(tasks, ChangeKind.START, task_ids, now, _start)


def plan_stop(tasks: TaskList, task_ids: list[int], *, now: dt.datetime) -> Change:
    """Mark active tasks inactive; ones not active are left as they are."""
    return _plan_each(tasks, ChangeKind.STOP, task_ids, now,
                      lambda task, _: None if task.started is None else attrs.evolve(task, started=None))


def plan_annotate(tasks: TaskList, task_ids: list[int], text: str, *, now: dt.datetime) -> Change:
    """Add a line of text, stamped now, to each task (after its earlier annotations)."""
    line = normalize_annotation(text)

    def annotate(task: Task, stamp: dt.datetime) -> Task:
        if task.status is Status.RECURRING:
            raise InvalidValue(f"task {task.id} is the template of a recurring series: it cannot be changed",
                               hint="annotate its open instance; delete the template to end the series")
        at = max(stamp, task.annotations[-1].at) if task.annotations else stamp
        return attrs.evolve(task, annotations=(*task.annotations, Annotation(at, line)))

    return _plan_each(tasks, ChangeKind.ANNOTATE, task_ids, now, annotate)


def plan_denotate(tasks: TaskList, task_id: int, which: str, *, now: dt.datetime) -> Change:
    """Remove one annotation of a task: by its number (1 is the oldest), or the one whose text is ``which``,
    else the one text containing it (any case). InvalidValue when none does, or several do."""
    task = tasks.get(task_id)
    notes = task.annotations
    if task.status is Status.RECURRING:
        raise InvalidValue(f"task {task_id} is the template of a recurring series: it cannot be changed",
                           hint="change its open instance; delete the template to end the series")
    if not notes:
        raise InvalidValue(f"task {task_id} has no annotations")
    wanted = which.strip()
    if wanted.isascii() and wanted.isdecimal() and 1 <= int(wanted) <= len(notes):  # (٣ and ２ are text)
        index = int(wanted) - 1
    else:
        exact = [i for i, a in enumerate(notes) if a.text == wanted]
        found = exact or [i for i, a in enumerate(notes) if wanted.casefold() in a.text.casefold()]
        if not found or not wanted:
            raise InvalidValue(f"task {task_id} has no annotation matching {wanted!r:.60}",
                               hint=f"give its number (1 to {len(notes)}) or words of its text; "
                                    f"'show {task_id}' lists them")
        if len(found) > 1:
            raise InvalidValue(f"{len(found)} annotations of task {task_id} match {wanted!r:.60}",
                               hint=f"give its number (1 to {len(notes)}); 'show {task_id}' lists them")
        index = found[0]
    kept = notes[:index] + notes[index + 1:]
    stamp = max(now, task.created)
    return Change(ChangeKind.DENOTATE, put=(attrs.evolve(task, annotations=kept, updated=stamp),),
                  next_id=tasks.next_id)
