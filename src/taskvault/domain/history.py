"""The recent past of a task list: each change with the tasks it replaced, and the undo stack.

A Step is one committed change together with what the tasks it touched were before it, so
it can be reverted (undo) or re-applied (redo) exactly. The history is bounded: it keeps the
newest ``limit`` steps, and undo reaches as far back as the history does.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Protocol

import attrs

from .change import Change, ChangeKind
from .task import Task
from .vocabulary import HISTORY_LIMIT

__all__ = ["HISTORY_LIMIT", "History", "Step", "StepSource"]


@attrs.frozen
class Step:
    """One committed change: its revision, when it was made, and the tasks as they were before."""

    revision: int
    at: dt.datetime | None
    change: Change
    #: The tasks the change replaced or deleted, as they were just before it.
    was: tuple[Task, ...] = ()
    #: ``was`` and the change's tasks by id, made on first use: an undo asks both of every task a step touched,
    #: and a scan of them for each was quadratic (an undo of an import of 10,000 tasks took 19 s).
    _by_id: tuple[dict[int, Task], dict[int, Task]] | None = attrs.field(default=None, init=False, eq=False,
                                                                        repr=False, hash=False)

    @property
    def kind(self) -> ChangeKind:
        return self.change.kind

    @property
    def touched(self) -> tuple[int, ...]:
        return tuple(t.id for t in self.change.put) + self.change.delete

    def _index(self) -> tuple[dict[int, Task], dict[int, Task]]:
        index = self._by_id
        if index is None:
            index = ({t.id: t for t in self.was}, {t.id: t for t in self.change.put})
            object.__setattr__(self, "_by_id", index)  # (a cache: the step itself does not change)
        return index

    def before(self, task_id: int) -> Task | None:
        return self._index()[0].get(task_id)

    def after(self, task_id: int) -> Task | None:
        return self._index()[1].get(task_id)


class StepSource(Protocol):
    """Steps not yet built, oldest first, and how to build them (a store's snapshot)."""

    def __len__(self) -> int: ...

    def build(self) -> list[Step]:
        """Every step, built. Raises if one is not a valid step."""

    def step(self, index: int) -> Step:
        """One step, built. Raises if it is not a valid step."""

    def stored(self) -> list[str]:
        """Every step as the source holds it, unbuilt, oldest first."""


class History:
    """The newest steps of a task list, oldest first.

    A history read from a store may keep its steps unbuilt (a StepSource) until one is used: most
    commands only add a step, and building a thousand steps costs more than the rest of a small
    command. Counting and recording a step build nothing; reading any step builds them all.
    """

    __slots__ = ("_skip", "_source", "_steps", "limit")

    def __init__(self, steps: Iterable[Step] = (), *, limit: int = HISTORY_LIMIT) -> None:
        self.limit = limit
        self._steps: deque[Step] = deque(steps, maxlen=limit)
        self._source: StepSource | None = None
        self._skip = 0  # the source's oldest steps dropped since (the newest ``limit`` are kept)

    @classmethod
    def from_source(cls, source: StepSource, *, limit: int = HISTORY_LIMIT) -> History:
        """The steps ``source`` holds (its newest ``limit``), each built only when the history is read."""
        history = cls(limit=limit)
        history._source, history._skip = source, max(0, len(source) - limit)
        return history

    def copy(self) -> History:
        """A history equal to this one, which later steps recorded in either leave the other as it is."""
        other = History(self._steps, limit=self.limit)
        other._source, other._skip = self._source, self._skip
        return other

    def parts(self) -> tuple[list[str], list[Step]]:
        """The history as it is held: the stored form of the source's steps kept (oldest first), then
        the steps built or recorded since. For writing it back without building it (codec)."""
        if self._source is None:
            return [], list(self._steps)
        return self._source.stored()[self._skip:], list(self._steps)

    def _built(self) -> deque[Step]:
        if self._source is not None:
            built = self._source.build()[self._skip:]
            self._steps = deque([*built, *self._steps], maxlen=self.limit)
            self._source, self._skip = None, 0
        return self._steps

    def __iter__(self) -> Iterator[Step]:
        return iter(self._built())

    def __len__(self) -> int:
        unbuilt = len(self._source) - self._skip if self._source is not None else 0
        return unbuilt + len(self._steps)

    def record(self, step: Step) -> None:
        if self._source is not None:
            self._steps.append(step)
            if len(self) > self.limit:  # the oldest step goes: the source's while it has any
                if self._skip < len(self._source):
                    self._skip += 1
                else:
                    self._steps.popleft()
            return
        self._steps.append(step)  # the deque drops the oldest step beyond the limit

    def newest(self) -> Step | None:
        """The newest step, building no other."""
        if self._steps:
            return self._steps[-1]
        if self._source is not None and self._skip < len(self._source):
            return self._source.step(len(self._source) - 1)
        return None

    def oldest(self) -> Step | None:
        """The oldest step, building no other."""
        if self._source is not None and self._skip < len(self._source):
            return self._source.step(self._skip)
        return self._steps[0] if self._steps else None

    def stacks(self) -> tuple[list[Step], list[Step]]:
        """(undo stack, redo stack), each with its next step last.

        Ordinary changes push onto the undo stack and clear the redo stack. An undo moves the
        steps it reverted onto the redo stack; a redo moves its step back. Undo and redo are
        changes too, but they move along the stacks rather than onto them. A sync that changed no task (it
        only sent, or found nothing) is bookkeeping: on neither stack, and it clears no redo.
        """
        undo: list[Step] = []
        redo: list[Step] = []
        for step in self._built():
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
            elif step.change.kind is ChangeKind.SYNC and not step.change.put and not step.change.delete:
                continue
            else:
                undo.append(step)
                redo.clear()
        return undo, redo

    def later_change_to(self, task_id: int, after: int) -> Step | None:
        """The newest step after revision ``after`` that touched ``task_id``."""
        for step in reversed(self._built()):
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
