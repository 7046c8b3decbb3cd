"""A Change: what one command does to the task list, planned before it is made durable."""

from __future__ import annotations

import attrs

from .task import Task


@attrs.frozen
class Change:
    """One atomic change: the tasks it writes, the ids it removes, the id counter after it.

    A Change is planned from a TaskList without touching it; the store makes it durable,
    and only then is it applied. Applying a checked Change cannot fail halfway.
    """

    #: What made it: the command's name, then any words that say more ("restore 20261121-093000").
    command: str
    put: tuple[Task, ...] = ()
    delete: tuple[int, ...] = ()
    next_id: int = 1
    #: Revisions this change reverts (an undo) or re-applies (a redo).
    undoes: tuple[int, ...] = ()
    redoes: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.put and not self.delete

    @property
    def revives(self) -> bool:
        """True for changes that may bring back a task id that was deleted (undo, redo, restore, salvage)."""
        return bool(self.undoes or self.redoes) or self.command.split(" ", 1)[0] in ("restore", "salvage")
