"""A Change: what one command does to the task list, planned before it is made durable."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from .task import Task

if TYPE_CHECKING:
    from .replica import ReplicaChange


class ChangeKind(enum.StrEnum):
    """What made a change. Each value is the word the store writes for it, so it must never change."""

    ADD = "add"
    EDIT = "edit"
    DONE = "done"
    REOPEN = "reopen"
    DELETE = "delete"
    UNDO = "undo"
    REDO = "redo"
    RESTORE = "restore"
    SALVAGE = "salvage"
    # Schema 4's kinds (a reader of schema 3 refuses them as damage; min_reader 4 keeps it from trying).
    ANNOTATE = "annotate"
    DENOTATE = "denotate"
    START = "start"
    STOP = "stop"
    # Schema 5's kind (min_reader 5 keeps a reader of schema 4 from refusing it as damage): an import from another
    # tool's file, every task it adds or updates in one change; ``detail`` says from what ("taskwarrior tw.json").
    IMPORT = "import"
    # Schema 6's kinds (sync, issue 22): what a sync took in from other devices, or recorded as shipped; and the
    # user's choice for a conflicted task. Only these change a conflicted task or the replication state.
    SYNC = "sync"
    RESOLVE = "resolve"

    @property
    def replicates(self) -> bool:
        """True for the changes sync makes (sync, resolve): only they may change a conflicted task."""
        return self in (ChangeKind.SYNC, ChangeKind.RESOLVE)

    @property
    def replaces_the_list(self) -> bool:
        """True for a restore or a salvage: it makes the list equal to another one, so it may bring back any
        id that was deleted (an undo or redo names the revisions it brings back instead)."""
        return self in (ChangeKind.RESTORE, ChangeKind.SALVAGE)


@attrs.frozen
class Change:
    """One atomic change: the tasks it writes, the ids it removes, the id counter after it.

    A Change is planned from a TaskList without touching it; the store makes it durable,
    and only then is it applied. Applying a checked Change cannot fail halfway.
    """

    kind: ChangeKind
    put: tuple[Task, ...] = ()
    delete: tuple[int, ...] = ()
    next_id: int = 1
    #: Revisions this change reverts (an undo) or re-applies (a redo).
    undoes: tuple[int, ...] = ()
    redoes: tuple[int, ...] = ()
    #: Words that say more about it, shown after its kind: the backup a restore put back ("20261121-093000").
    detail: str = ""
    #: What a sync or a resolution changes of the replication state (domain/replica.py), in the same append.
    replica: ReplicaChange | None = None

    @property
    def command(self) -> str:
        """What made it, as the store writes it and history shows it: its kind, then any detail."""
        return f"{self.kind.value} {self.detail}" if self.detail else self.kind.value

    @property
    def is_empty(self) -> bool:
        return not self.put and not self.delete and self.replica is None

    @property
    def revives(self) -> bool:
        """True for changes that may bring back a task id that was deleted (undo, redo, restore, salvage)."""
        return bool(self.undoes or self.redoes) or self.kind.replaces_the_list
