"""The recent past of a task list: each change with the tasks it replaced, and the undo stack.

A Step is one committed change together with what the tasks it touched were before it, so
it can be reverted (undo) or re-applied (redo) exactly. The history is bounded: it keeps the
newest ``limit`` steps, and undo reaches as far back as the history does.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator

import attrs

from .change import Change, ChangeKind
from .task import Task
from .vocabulary import HISTORY_LIMIT

__all__ = ["HISTORY_LIMIT", "History", "Step"]


@attrs.frozen
class Step:
    """One committed change: its revision, when it was made, and the tasks as they were before."""

    revision: int
    at: dt.datetime | None
    change: Change
    #: The tasks the change replaced or deleted, as they were just before it.
    was: tuple[Task, ...] = ()

    @property
    def kind(self) -> ChangeKind:
        return self.change.kind

    @property
    def touched(self) -> tuple[int, ...]:
        return tuple(t.id for t in self.change.put) + self.change.delete

    def before(self, task_id: int) -> Task | None:
        for task in self.was:
            if task.id == task_id:
                return task
        return None

    def after(self, task_id: int) -> Task | None:
        for task in self.change.put:
            if task.id == task_id:
                return task
        return None


class History:
    """The newest steps of a task list, oldest first."""

    __slots__ = ("_steps", "limit")

    def __init__(self, steps: Iterable[Step] = (), *, limit: int = HISTORY_LIMIT) -> None:
        self.limit = limit
        self._steps: deque[Step] = deque(steps, maxlen=limit)

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def record(self, step: Step) -> None:
        self._steps.append(step)  # the deque drops the oldest step beyond the limit

    def stacks(self) -> tuple[list[Step], list[Step]]:
        """(undo stack, redo stack), each with its next step last.

        Ordinary changes push onto the undo stack and clear the redo stack. An undo moves the
        steps it reverted onto the redo stack; a redo moves its step back. Undo and redo are
        changes too, but they move along the stacks rather than onto them.
        """
        undo: list[Step] = []
        redo: list[Step] = []
        for step in self._steps:
            if step.change.undoes:
                for revision in step.change.undoes:
                    moved = _take(undo, revision)
                    if moved is not None:
                        redo.append(moved)
            elif step.change.redoes:
                for revision in step.change.redoes:
                    moved = _take(redo, revision)
                    if moved is not None:
                        undo.append(moved)
            else:
                undo.append(step)
                redo.clear()
        return undo, redo

    def later_change_to(self, task_id: int, after: int) -> Step | None:
        """The newest step after revision ``after`` that touched ``task_id``."""
        for step in reversed(self._steps):
            if step.revision <= after:
                return None
            if task_id in step.touched:
                return step
        return None


def _take(stack: list[Step], revision: int) -> Step | None:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].revision == revision:
            return stack.pop(index)
    return None
