"""What commands return: plain values that each interface renders in its own way.

Plain classes with __slots__, written out, rather than attrs classes: attrs builds each class's
methods by compiling source when the module is imported, some 0.3-0.6 ms a class, and every
one-shot command imports all of these (issue 17). Nothing compares or hashes a result: a command
makes one, and an interface renders it.
"""

from __future__ import annotations

from ..errors import StorageError

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Protocol

    from ..domain.history import Step
    from ..domain.importing import ImportPlan
    from ..domain.query import Show
    from ..domain.recovery import Dropped, RestorePlan, Reversal
    from ..domain.replica import Conflict
    from ..domain.task import Task
    from ..interchange.model import Batch
    from ..service import Backup, Finding, SalvageReport, StoreFigures

    # store/syncing.py's SyncReport and SyncStatus, as these results read them (the service does not name
    # them for the interface yet: see service.py's __all__).
    class SyncReport(Protocol):
        remote: str
        received: int
        updated: list[int]
        deleted: list[int]
        conflicts: list[int]
        merged: list[int]
        sent: int
        revision: int | None

    class SyncStatus(Protocol):
        @property
        def remote(self) -> str | None: ...
        @property
        def device(self) -> str | None: ...
        @property
        def unsynced(self) -> int: ...
        @property
        def unpushed(self) -> int: ...
        @property
        def conflicts(self) -> tuple[int, ...]: ...
        @property
        def last_sync(self) -> str | None: ...


class _Value:
    """What every result has: its fields by name, and a repr made of them."""

    __slots__ = ()
    #: The result of a command that changes the store (even when it changed nothing this time): the text
    #: acknowledges a change, so it goes straight to the terminal, never through a pager (cli/pager.py).
    acknowledges = False

    def fields(self) -> dict[str, object]:
        """Each field by name, in the order __init__ takes them (the order `stats --json` writes)."""
        code = type(self).__init__.__code__
        return {name: getattr(self, name) for name in code.co_varnames[1:code.co_argcount]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.fields().items()) + ")"


class TaskSaved(_Value):
    """A task was added or edited (``changed`` is False when the edit changed nothing)."""

    __slots__ = ("changed", "task", "verb")
    acknowledges = True

    def __init__(self, verb: str, task: Task, changed: bool = True) -> None:
        self.verb = verb
        self.task = task
        self.changed = changed


class TaskDetail(_Value):
    """One task in full; ``depends_text`` names the tasks it depends on ("3", or a uuid's start for one
    that is gone); ``conflict``: its versions, when two devices changed it without knowing of each other."""

    __slots__ = ("blocked", "conflict", "depends_text", "task")

    def __init__(self, task: Task, depends_text: tuple[str, ...] = (), *, blocked: bool = False,
                 conflict: Conflict | None = None) -> None:
        self.task = task
        self.depends_text = depends_text
        #: Whether it is open and depends on an open task.
        self.blocked = blocked
        self.conflict = conflict


class TaskTable(_Value):
    """A list: the tasks shown, each as the store writes it (task_to_dict's form, what ``--json`` prints), and
    the store's counts. Records rather than Tasks, so that a list need not build the tasks it shows."""

    __slots__ = ("blocked", "columns", "conflicted", "conflicts", "done_count", "filter_text", "more", "open_count",
                 "show", "tasks", "urgency")

    def __init__(self, tasks: tuple[dict[str, Any], ...], show: Show, open_count: int, done_count: int, *,
                 filter_text: str = "", urgency: tuple[float, ...] | None = None, more: int = 0,
                 columns: tuple[str, ...] | None = None, blocked: frozenset[str] = frozenset(),
                 conflicted: frozenset[str] = frozenset(), conflicts: tuple[int, ...] = ()) -> None:
        #: The uuids of the tasks shown that are blocked (open, and depending on an open task): a row's state.
        self.blocked = blocked
        #: The uuids of the tasks shown that are in conflict (sync: changed on two devices), and the ids of every
        #: task in conflict, shown or not (the list's last line says how many, and the way out).
        self.conflicted = conflicted
        self.conflicts = conflicts
        #: The columns a report from the config file names, in its order (None: the usual ones).
        self.columns = columns
        self.tasks = tasks
        self.show = show
        self.open_count = open_count
        self.done_count = done_count
        #: The filter the tasks were chosen by, as it reads normalised ("" for none).
        self.filter_text = filter_text
        #: Each task's urgency, in order, when the report shows it (next, sort:urgency).
        self.urgency = urgency
        #: How many more tasks matched than the limit let through.
        self.more = more


class TasksChanged(_Value):
    """done / reopen / delete: ``changed`` were changed, ``unchanged`` already were so; ``made`` are the
    instances of recurring series the change made (the next of each series finished)."""

    __slots__ = ("changed", "made", "unchanged", "unchanged_reason", "verb")
    acknowledges = True

    def __init__(self, verb: str, changed: tuple[Task, ...], unchanged: tuple[Task, ...] = (),
                 unchanged_reason: str = "", made: tuple[Task, ...] = ()) -> None:
        self.verb = verb
        self.changed = changed
        self.unchanged = unchanged
        self.unchanged_reason = unchanged_reason
        self.made = made


class Summary(_Value):
    """projects / tags: each name with the number of open tasks that have it, and how many have none."""

    __slots__ = ("none", "rows", "what")

    def __init__(self, what: str, rows: tuple[tuple[str, int], ...], none: int) -> None:
        self.what = what
        self.rows = rows
        self.none = none


class SettingsTable(_Value):
    """`taskvault config`: each setting, its value, and where the value came from."""

    __slots__ = ("rows",)

    def __init__(self, rows: tuple[tuple[str, str, str], ...]) -> None:
        self.rows = rows


class ContextShown(_Value):
    """`taskvault context`: the active context (None: none), and every context the config file defines."""

    __slots__ = ("active", "changed", "contexts")

    def __init__(self, active: str | None, contexts: tuple[tuple[str, str], ...], changed: bool = False) -> None:
        self.active = active
        self.contexts = contexts
        self.changed = changed


class HelpText(_Value):
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Declined(_Value):
    """The user answered no when asked to confirm; nothing was changed."""

    __slots__ = ("text",)
    acknowledges = True

    def __init__(self, text: str) -> None:
        self.text = text


class Reverted(_Value):
    """undo / redo: what it did, or with ``dry_run`` what it would do."""

    __slots__ = ("dry_run", "reversal")
    acknowledges = True

    def __init__(self, reversal: Reversal, dry_run: bool = False) -> None:
        self.reversal = reversal
        self.dry_run = dry_run


class HistoryList(_Value):
    """Steps to show, oldest first; ``undone`` are the revisions currently undone (redo brings them back)."""

    __slots__ = ("kept", "limit", "steps", "task_id", "undone")

    def __init__(self, steps: tuple[Step, ...], undone: frozenset[int], kept: int, limit: int,
                 task_id: int | None = None) -> None:
        self.steps = steps
        self.undone = undone
        self.kept = kept
        self.limit = limit
        self.task_id = task_id


class BackupTaken(_Value):
    __slots__ = ("backup",)
    acknowledges = True

    def __init__(self, backup: Backup) -> None:
        self.backup = backup


class EncryptionChanged(_Value):
    """init, encrypt, rekey, decrypt: what was done, the backup taken first, how many backups were converted."""

    __slots__ = ("backup", "converted", "directory", "encrypted", "keyring", "operation", "unconverted")
    acknowledges = True

    def __init__(self, operation: str, directory: str, *, encrypted: bool, keyring: bool, backup: Backup | None,
                 converted: int, unconverted: tuple[str, ...] = ()) -> None:
        self.operation = operation
        self.directory = directory
        self.encrypted = encrypted
        self.keyring = keyring
        self.backup = backup
        self.converted = converted
        #: Backups the disk would not let it convert (ids): the same command run again does.
        self.unconverted = unconverted


class BackupList(_Value):
    __slots__ = ("backups", "directory")

    def __init__(self, backups: tuple[Backup, ...], directory: str) -> None:
        self.backups = backups
        self.directory = directory


class Restored(_Value):
    """restore: the backup, and either the plan applied to a readable store (after the safety
    backup ``kept``) or, for a store that did not load, the names its files were kept under.

    ``dropped``: the changes after the backup that the restore leaves out: the store's own (undo
    brings them back), or, for a store that did not load, those salvage could have recovered.
    """

    __slots__ = ("aside", "backup", "dropped", "dry_run", "kept", "plan", "task_count")
    acknowledges = True

    def __init__(self, backup: Backup, plan: RestorePlan | None = None, kept: Backup | None = None,
                 aside: tuple[str, ...] = (), task_count: int = 0, dry_run: bool = False,
                 dropped: Dropped | None = None) -> None:
        self.backup = backup
        self.plan = plan
        self.kept = kept
        self.aside = aside
        self.task_count = task_count
        self.dry_run = dry_run
        self.dropped = dropped


class Salvaged(_Value):
    """salvage: what it recovers (``dry_run``) or recovered, as the change ``plan`` from the base, keeping
    the damaged files as ``aside``; with no ``report``, the store loads (``loaded``: revision, tasks)."""

    __slots__ = ("aside", "dry_run", "loaded", "plan", "report")
    acknowledges = True

    def __init__(self, report: SalvageReport | None, plan: RestorePlan | None = None, aside: tuple[str, ...] = (),
                 dry_run: bool = False, loaded: tuple[int, int] = (0, 0)) -> None:
        self.report = report
        self.plan = plan
        self.aside = aside
        self.dry_run = dry_run
        self.loaded = loaded


class DoctorReport(_Value):
    __slots__ = ("findings",)

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings

    @property
    def exit_code(self) -> int:
        """A storage error's (3) when any finding is a problem, else 0."""
        return StorageError.exit_code if any(f.level == "problem" for f in self.findings) else 0


class StoreStats(_Value):
    """What stats shows: the task list's counts, and the store's own figures as the service gives them."""

    __slots__ = ("done_count", "history_steps", "next_id", "open_count", "redoable", "revision", "saves", "store",
                 "undoable")

    #: The order `stats --json` writes the fields in, the store's among the task list's (``fields``).
    ORDER = ("directory", "open_count", "done_count", "revision", "next_id", "schema", "history_steps", "undoable",
             "redoable", "snapshot_bytes", "journal_bytes", "journal_records", "backup_count", "backup_bytes",
             "load_seconds", "save_seconds", "saves")

    def __init__(self, store: StoreFigures, open_count: int, done_count: int, revision: int, next_id: int,
                 history_steps: int, undoable: int, redoable: int, saves: int) -> None:
        self.store = store
        self.open_count = open_count
        self.done_count = done_count
        self.revision = revision
        self.next_id = next_id
        self.history_steps = history_steps
        self.undoable = undoable
        self.redoable = redoable
        self.saves = saves

    def fields(self) -> dict[str, object]:
        """Each field by name, the store's figures included, in ORDER."""
        return {name: getattr(self.store if hasattr(self.store, name) else self, name) for name in self.ORDER}


class Imported(_Value):
    """import: what the file held (``batch``: its tasks, what was skipped and what did not map as it was) and
    what the import did or, with ``dry_run``, would do; ``backup``: the backup taken before it."""

    __slots__ = ("backup", "batch", "dry_run", "format", "plan", "source")
    acknowledges = True

    def __init__(self, format: str, source: str, batch: Batch, plan: ImportPlan, dry_run: bool = False,
                 backup: Backup | None = None) -> None:
        self.format = format
        #: What was read: the file's name as given, or "standard input".
        self.source = source
        self.batch = batch
        self.plan = plan
        self.dry_run = dry_run
        self.backup = backup


class Exported(_Value):
    """export: how many tasks went out in which format; either ``stream``, the text in pieces for standard
    output (the interface writes each as it comes), or ``path``, the file written whole."""

    __slots__ = ("count", "format", "path", "stream")

    def __init__(self, format: str, count: int, stream: Iterator[str] | None = None, path: str | None = None) -> None:
        self.format = format
        self.count = count
        self.stream = stream
        self.path = path


class SyncDone(_Value):
    """sync: what came in and went out (``report``); ``first_new``: the first id a task new here could get,
    so that the tasks it brought are told from those it changed."""

    __slots__ = ("conflicts", "first_new", "report")
    acknowledges = True

    def __init__(self, report: SyncReport, first_new: int, conflicts: tuple[int, ...] = ()) -> None:
        self.report = report
        self.first_new = first_new
        #: The ids of the tasks this sync put in conflict that are still in conflict after it.
        self.conflicts = conflicts


class SyncShown(_Value):
    """sync --status: where sync stands, read without the network."""

    __slots__ = ("status",)

    def __init__(self, status: SyncStatus) -> None:
        self.status = status


class Resolved(_Value):
    """resolve: what a conflicted task became (``task`` None: it is deleted), and what was taken from where."""

    __slots__ = ("by_field", "take", "task", "task_id")
    acknowledges = True

    def __init__(self, task_id: int, task: Task | None, take: str, by_field: tuple[tuple[str, str], ...]) -> None:
        self.task_id = task_id
        self.task = task
        #: The version taken whole (mine, theirs, or a device id), and the fields taken from another, as typed.
        self.take = take
        self.by_field = by_field


class ConflictList(_Value):
    """resolve with no id: the ids of the tasks in conflict."""

    __slots__ = ("ids",)

    def __init__(self, ids: tuple[int, ...]) -> None:
        self.ids = ids


Result = (TaskSaved | TaskDetail | TaskTable | TasksChanged | HelpText | Declined | Reverted | HistoryList
          | BackupTaken | BackupList | Restored | Salvaged | DoctorReport | StoreStats | Imported | Exported | SyncDone
          | SyncShown | Resolved | ConflictList)
