"""What commands return: plain values that each interface renders in its own way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ..domain.history import Step
from ..domain.query import Show
from ..domain.recovery import Dropped, RestorePlan, Reversal
from ..domain.task import Task
from ..service import Backup, SalvageReport

if TYPE_CHECKING:  # only doctor builds one; importing its module is the doctor command's cost alone
    from ..service import Finding


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


@attrs.frozen
class Reverted:
    """undo / redo: what it did, or with ``dry_run`` what it would do."""

    reversal: Reversal
    dry_run: bool = False


@attrs.frozen
class HistoryList:
    """Steps to show, oldest first; ``undone`` are the revisions currently undone (redo brings them back)."""

    steps: tuple[Step, ...]
    undone: frozenset[int]
    kept: int
    limit: int
    task_id: int | None = None


@attrs.frozen
class BackupTaken:
    backup: Backup


@attrs.frozen
class BackupList:
    backups: tuple[Backup, ...]
    directory: str


@attrs.frozen
class Restored:
    """restore: the backup, and either the plan applied to a readable store (after the safety
    backup ``kept``) or, for a store that did not load, the names its files were kept under."""

    backup: Backup
    plan: RestorePlan | None = None
    kept: Backup | None = None
    aside: tuple[str, ...] = ()
    task_count: int = 0
    dry_run: bool = False
    #: The changes after the backup that the restore leaves out: the store's own (undo brings them
    #: back), or, for a store that did not load, those salvage could have recovered.
    dropped: Dropped | None = None


@attrs.frozen
class Salvaged:
    """salvage: what it recovers (``dry_run``) or recovered, as the change ``plan`` from the base, keeping
    the damaged files as ``aside``; with no ``report``, the store loads (``loaded``: revision, tasks)."""

    report: SalvageReport | None
    plan: RestorePlan | None = None
    aside: tuple[str, ...] = ()
    dry_run: bool = False
    loaded: tuple[int, int] = (0, 0)


@attrs.frozen
class DoctorReport:
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        """3 (a storage problem) when any finding is a problem, else 0."""
        return 3 if any(f.level == "problem" for f in self.findings) else 0


@attrs.frozen
class StoreStats:
    directory: str
    open_count: int
    done_count: int
    revision: int
    next_id: int
    schema: int
    history_steps: int
    undoable: int
    redoable: int
    snapshot_bytes: int
    journal_bytes: int
    journal_records: int
    backup_count: int
    backup_bytes: int
    load_seconds: float | None
    save_seconds: float | None
    saves: int


Result = (TaskSaved | TaskDetail | TaskTable | TasksChanged | HelpText | Declined | Reverted | HistoryList
          | BackupTaken | BackupList | Restored | Salvaged | DoctorReport | StoreStats)
