"""Choosing and ordering tasks for display."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .task import Priority, Status, Task
from .tasklist import TaskList


class _Any(enum.Enum):
    """A filter that is not given: no value a user can type parses to it."""

    ANY = "any"

    def __repr__(self) -> str:
        return "ANY"


#: "No filter", distinct from every value a filter can hold: ``priority=None`` means *without* a priority.
ANY = _Any.ANY


class Show(enum.Enum):
    OPEN = "open"
    DONE = "done"
    ALL = "all"


def _by_due(t: Task) -> tuple[Any, ...]:
    return (t.due is None, t.due or dt.date.min, t.id)


def _by_priority(t: Task) -> tuple[Any, ...]:
    return (-(t.priority.rank if t.priority else 0), t.id)


SORT_KEYS: dict[str, Callable[[Task], Any]] = {
    "id": lambda t: t.id,
    "due": _by_due,
    "priority": _by_priority,
    "created": lambda t: (t.created, t.id),
    "updated": lambda t: (t.updated, t.id),
    "title": lambda t: (t.title.casefold(), t.id),
}


@attrs.frozen
class TaskQuery:
    """A filter and an order. Tags must all be present; search matches title or note.

    A filter left at ANY selects every task; ``priority=None`` selects the tasks without one.
    """

    show: Show = Show.OPEN
    tags: tuple[str, ...] = ()
    priority: Priority | _Any | None = ANY
    due_before: dt.date | _Any = ANY
    search: str | _Any = ANY
    sort: str = "id"
    #: Hide the tasks waiting past this day (their ``wait`` is after it) and those expired before it (their
    #: ``until`` is before it): a default list hides a task until its wait date, and from the day after its until.
    hidden_as_of: dt.date | _Any = ANY

    def matches(self, task: Task) -> bool:
        if self.show is Show.OPEN and not task.is_open:
            return False
        if self.hidden_as_of is not ANY and ((task.wait is not None and task.wait > self.hidden_as_of)
                                             or (task.until is not None and task.until < self.hidden_as_of)):
            return False
        if self.show is Show.DONE and task.status is not Status.DONE:  # (a series' template is not done)
            return False
        if self.tags and not set(self.tags) <= set(task.tags):
            return False
        if self.priority is not ANY and task.priority is not self.priority:
            return False
        if self.due_before is not ANY and (task.due is None or task.due >= self.due_before):
            return False
        if self.search is not ANY:
            needle = self.search.casefold()
            return needle in task.title.casefold() or needle in task.note.casefold()
        return True

    def select(self, tasks: Iterable[Task]) -> list[Task]:
        if isinstance(tasks, TaskList):  # it need build only the tasks that may match
            status = Status.OPEN if self.show is Show.OPEN else Status.DONE if self.show is Show.DONE else None
            tasks = tasks.narrowed(status, self.tags, None if self.search is ANY else self.search.casefold())
        return sorted((t for t in tasks if self.matches(t)), key=SORT_KEYS[self.sort])
