"""Recurring series: a template (status recurring) and its instances, each instance made exactly once.

Taskwarrior 2.x keeps on its template a ``mask``, one character per instance made, and makes the
instances a date calls for whenever any command runs; two replicas (or a lost mask update) each make
the "same" instance under a new uuid, and users see it twice (GothenburgBitFactory/taskwarrior#1538,
#1649, #1962; taskserver#46). Here, as the recurrence RFC proposes (its ``last`` in place of ``mask``),
the template keeps only how many instances it has made (``index``), and instance n+1 is made in the
same Change that completes or deletes instance n: one atomic journal append, planned under the store's
lock on the latest state, so a crash, another session or a retry cannot make it twice.

Instance n is due ``nth_due(period, template.due, n)``: counted from the series' first due date, so
month ends do not drift (Jan 31, Feb 28, Mar 31). No instance is made past the template's ``until``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable

import attrs

from ..errors import InvalidValue
from .periods import nth_due
from .task import Status, Task
from .tasklist import TaskList

__all__ = ["instance", "successors"]


def _shifted(day: dt.date | None, offset: dt.timedelta) -> dt.date | None:
    if day is None:
        return None
    try:
        return day + offset
    except OverflowError:
        raise InvalidValue("an instance's wait or scheduled day would fall outside the calendar",
                           hint="give the series an end (until) before then") from None


def instance(template: Task, n: int, *, task_id: int, now: dt.datetime, task_uuid: uuid.UUID | None = None) -> Task:
    """The ``n``-th instance of ``template``: its title, note, tags, project, priority, period, until and extra
    attributes (as Taskwarrior's instances inherit its template's user-defined attributes), due
    on the series' n-th due date; its wait and scheduled days (if the template has them) as far before or
    after that date as the template's are before or after its due date (as Taskwarrior shifts wait)."""
    assert template.due is not None and template.recur is not None
    due = nth_due(template.recur, template.due, n)
    offset = due - template.due
    stamp = max(now, template.created)
    return Task(id=task_id, uuid=task_uuid or uuid.uuid4(), title=template.title, note=template.note,
                priority=template.priority, due=due, tags=template.tags, project=template.project,
                scheduled=_shifted(template.scheduled, offset), wait=_shifted(template.wait, offset),
                until=template.until, recur=template.recur, parent=template.uuid, index=n,
                created=stamp, updated=stamp, extra=template.extra)


def _next_due(template: Task, n: int) -> dt.date | None:
    """Instance ``n``'s due date, or None when the series ends before it (its until, or the calendar's end)."""
    assert template.due is not None and template.recur is not None
    try:
        due = nth_due(template.recur, template.due, n)
    except InvalidValue:  # past 9999-12-31: the series ends there, the instance being finished is still finished
        return None
    return None if template.until is not None and due > template.until else due


def _index_trusted(tasks: TaskList, template: Task) -> bool:
    """True when the history shows that ``template.index`` is the highest index of its instances.

    Only a change that makes an instance sets a template's index, and it makes that instance too; an undo,
    redo, restore or salvage may put back an older template and leave a newer instance (one changed since:
    undo's rule). So the index is trusted when the newest change to the template that set its index is an
    ordinary one and no undo, redo, restore or salvage touched the template after it.
    """
    for step in reversed(list(tasks.history)):
        if template.id not in step.touched:
            continue
        if step.change.revives:
            return False
        before, after = step.before(template.id), step.after(template.id)
        if after is not None and (before is None or before.index != after.index):
            return True
    return False  # not in the history kept: look


def _highest_made(tasks: TaskList, template: Task) -> int:
    """The highest index among the existing instances of ``template`` (0 if none).

    A sealed store keeps every task whose stored form holds the text (see TaskSource.matching), so
    searching for the template's uuid finds its instances without building the others.
    """
    found = [t.index for t in tasks.narrowed(None, (), str(template.uuid)) if t.parent == template.uuid]
    return max(found, default=0)


def successors(tasks: TaskList, finished: Iterable[Task], *, next_id: int, now: dt.datetime,
               removed: Collection[int] = ()) -> tuple[tuple[Task, ...], int]:
    """What finishing (completing or deleting) the tasks ``finished`` (as they were) adds: for each series
    whose newest instance is among them, its template counting one more and that next instance, with ids
    from ``next_id``; and the next id after them.

    Nothing for a series whose template is gone (or ``removed`` by the same change: deleting the template
    ends the series), whose newest instance is not among them (an older one), or which ends before its
    next due date. Several instances of one series finished at once make one instance.
    """
    newest: dict[uuid.UUID, int] = {}
    for task in finished:
        if task.parent is not None and task.status is not Status.RECURRING:
            newest[task.parent] = max(newest.get(task.parent, 0), task.index)
    if not newest:
        return (), next_id
    templates = {t.uuid: t for t in tasks.narrowed(Status.RECURRING, (), None)
                 if t.status is Status.RECURRING and t.uuid in newest and t.id not in removed}
    put: list[Task] = []
    for template in sorted(templates.values(), key=lambda t: t.id):
        k = newest[template.uuid]
        if k < template.index or _next_due(template, k + 1) is None:
            continue
        stamp = max(now, template.updated)
        if k > template.index or not _index_trusted(tasks, template):
            highest = _highest_made(tasks, template)
            if highest > k:  # an undo left a newer instance in place: it is the series' next, not a new one
                if highest > template.index:
                    put.append(attrs.evolve(template, index=highest, updated=stamp))
                continue
        put.append(attrs.evolve(template, index=k + 1, updated=stamp))
        put.append(instance(template, k + 1, task_id=next_id, now=now))
        next_id += 1
    return tuple(put), next_id
