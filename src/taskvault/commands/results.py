"""What commands return: plain values that each interface renders in its own way."""

from __future__ import annotations

import attrs

from ..domain.query import Show
from ..domain.task import Task


@attrs.frozen
class TaskSaved:
    """A task was added or edited (``changed`` is False when the edit changed nothing)."""

    verb: str
    task: Task
    changed: bool = True


@attrs.frozen
class TaskDetail:
    task: Task


@attrs.frozen
class TaskTable:
    tasks: tuple[Task, ...]
    show: Show
    open_count: int
    done_count: int


@attrs.frozen
class TasksChanged:
    """done / reopen / delete: ``changed`` were changed, ``unchanged`` already were so."""

    verb: str
    changed: tuple[Task, ...]
    unchanged: tuple[Task, ...] = ()
    unchanged_reason: str = ""


@attrs.frozen
class HelpText:
    text: str


@attrs.frozen
class Declined:
    """The user answered no when asked to confirm; nothing was changed."""

    text: str


Result = TaskSaved | TaskDetail | TaskTable | TasksChanged | HelpText | Declined
