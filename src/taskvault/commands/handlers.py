"""What each command does, in terms of the service and the pure planners."""

from __future__ import annotations

from ..domain.history import HISTORY_LIMIT
from ..domain.task import Task, normalize_tag
from ..domain.tasklist import TaskList
from ..errors import (
    InvalidValue,
    StorageError,
    StoreTooNew,
    StoreUnreadable,
    UsageError,
    shown,
    typed,
)
from ..service import Snapshot
from . import change_text
from .context import Context
from .registry import ParsedArgs
from .results import (
    BackupList,
    BackupTaken,
    Declined,
    DoctorReport,
    HistoryList,
    Restored,
    Reverted,
    Salvaged,
    StoreStats,
    TaskDetail,
    TaskSaved,
    TasksChanged,
    TaskTable,
)
from .values import parse_count, parse_due, parse_id, parse_ids, parse_priority, split_tag_edits

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:  # (backups', undo's, restore's and salvage's: imported where they run)
    from ..domain import recovery
    from ..service import Backup, SalvageReport


def run_add(ctx: Context, args: ParsedArgs) -> TaskSaved:
    from ..domain import operations  # (the changes' planners: a command that reads never imports them)

    title = " ".join(args.positionals)
    tags, removed = split_tag_edits(args["tag"])  # +home means home, as in edit
    if removed:
        raise InvalidValue(f"add: --tag {shown('-' + removed[0])} would remove a tag, and a new task has none",
                           hint="give the tag without '-': home or +home")
    priority = parse_priority(args["priority"]) if args["priority"] is not None else None
    due = parse_due(args["due"], ctx.today) if args["due"] is not None else None
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_add(
        tasks, title, now=service.now(), note=args["note"] or "", priority=priority, due=due,
        tags=tags))
    return TaskSaved("added", outcome.change.put[0])


def _exclusive(args: ParsedArgs, value: str, clear: str) -> None:
    if args[value] is not None and args[clear]:
        raise UsageError(f"edit: --{value} and --{clear.replace('_', '-')} cannot be used together")


def run_edit(ctx: Context, args: ParsedArgs) -> TaskSaved:
    from ..domain import operations

    task_id = parse_id(args.positionals[0], "edit")
    for value, clear in (("note", "no_note"), ("priority", "no_priority"), ("due", "no_due")):
        _exclusive(args, value, clear)
    fields: dict[str, object] = {}
    if args["title"] is not None:
        fields["title"] = args["title"]
    if args["note"] is not None or args["no_note"]:
        fields["note"] = "" if args["no_note"] else args["note"]
    if args["priority"] is not None or args["no_priority"]:
        fields["priority"] = None if args["no_priority"] else parse_priority(args["priority"])
    if args["due"] is not None or args["no_due"]:
        fields["due"] = None if args["no_due"] else parse_due(args["due"], ctx.today)
    added, removed = split_tag_edits(args["tag"])
    edit = operations.TaskEdit(add_tags=added, remove_tags=removed, **fields)  # type: ignore[arg-type]
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_edit(tasks, task_id, edit, now=service.now()))
    if outcome.change.is_empty:
        return TaskSaved("edited", service.tasks.get(task_id), changed=False)
    return TaskSaved("edited", outcome.change.put[0])


def run_list(ctx: Context, args: ParsedArgs) -> TaskTable:
    from ..domain.query import ANY, SORT_KEYS, Show, TaskQuery  # (list's alone: a change never filters nor sorts)

    if args["all"] and args["done"]:
        raise UsageError("list: --all and --done cannot be used together")
    show = Show.ALL if args["all"] else Show.DONE if args["done"] else Show.OPEN
    sort = args["sort"] or "id"
    if sort not in SORT_KEYS:
        raise UsageError(f"list: cannot sort by {shown(sort)}", hint="use one of: " + ", ".join(SORT_KEYS))
    if args["search"] == "":  # it would match every task: no typed value may mean "no filter"
        raise UsageError("list: --search needs a non-empty value", hint="give the text to look for, or leave --search out")
    query = TaskQuery(
        show=show,
        tags=tuple(normalize_tag(t) for t in args["tag"]),
        priority=parse_priority(args["priority"]) if args["priority"] is not None else ANY,
        due_before=parse_due(args["due_before"], ctx.today) if args["due_before"] is not None else ANY,
        search=args["search"] if args["search"] is not None else ANY,
        sort=sort,
    )
    open_count, done_count = ctx.service.tasks.counts()
    return TaskTable(tuple(ctx.service.listed(query)), show, open_count, done_count)


def run_show(ctx: Context, args: ParsedArgs) -> TaskDetail:
    return TaskDetail(ctx.service.tasks.get(parse_id(args.positionals[0], "show")))


def _run_status(ctx: Context, args: ParsedArgs, done: bool) -> TasksChanged:
    from ..domain import operations

    ids = parse_ids(args.positionals)
    service = ctx.service
    planner = operations.plan_done if done else operations.plan_reopen
    outcome = service.execute(lambda tasks: planner(tasks, ids, now=service.now()))
    changed_ids = {t.id for t in outcome.change.put}
    tasks = service.tasks
    return TasksChanged(
        "done" if done else "reopened",
        tuple(tasks.get(i) for i in ids if i in changed_ids),
        tuple(tasks.get(i) for i in ids if i not in changed_ids),
        "already done" if done else "already open",
    )


def run_done(ctx: Context, args: ParsedArgs) -> TasksChanged:
    return _run_status(ctx, args, done=True)


def run_reopen(ctx: Context, args: ParsedArgs) -> TasksChanged:
    return _run_status(ctx, args, done=False)


def run_delete(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    from ..domain import operations

    ids = parse_ids(args.positionals)
    service = ctx.service
    if len(ids) > 1 and not args["yes"] and ctx.confirm is not None:
        named = service.tasks.require(ids)  # a missing id is an error before any question
        listed = ", ".join(f"{t.id} {t.title}" for t in named[:5]) + (", …" if len(named) > 5 else "")
        if not ctx.confirm(f"Delete {len(named)} tasks ({listed})?"):
            return Declined("Nothing deleted.")
    doomed: list[Task] = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        doomed[:] = tasks.require(ids)  # the tasks as they were when the delete was decided
        return operations.plan_delete(tasks, ids)

    service.execute(plan)
    return TasksChanged("deleted", tuple(doomed))


# -- recovery -----------------------------------------------------------------------------


def _count(args: ParsedArgs, verb: str) -> int:
    if not args.positionals:
        return 1
    try:
        return parse_count(args.positionals[0], "a number of steps", lowest=1, highest=HISTORY_LIMIT)
    except InvalidValue as error:
        raise InvalidValue(f"{verb}: {error.message}",
                           hint=f"give a whole number from 1 to {HISTORY_LIMIT}, or nothing for one step") from None


def _run_reversal(ctx: Context, args: ParsedArgs, verb: str) -> Reverted | Declined:
    from ..domain import recovery

    planner = recovery.plan_undo if verb == "undo" else recovery.plan_redo
    service = ctx.service
    preview = planner(service.tasks, _count(args, verb))
    if args["dry_run"]:
        return Reverted(preview, dry_run=True)
    confirm = ctx.confirm if not args["yes"] and len(preview.effects) + len(preview.skipped) > 1 else None
    if confirm is not None and not confirm(change_text.reversal_question(preview)):
        return Declined(change_text.nothing_reverted(verb))
    targets = [s.revision for s in preview.steps]
    done: list[recovery.Reversal] = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        done[:] = [planner(tasks, targets=targets)]  # the same steps, against the store as it is now
        return done[0].change

    service.execute(plan)
    return Reverted(done[0])


def run_undo(ctx: Context, args: ParsedArgs) -> Reverted | Declined:
    return _run_reversal(ctx, args, "undo")


def run_redo(ctx: Context, args: ParsedArgs) -> Reverted | Declined:
    return _run_reversal(ctx, args, "redo")


def run_history(ctx: Context, args: ParsedArgs) -> HistoryList:
    limit = 20
    if args["limit"] is not None:
        try:
            limit = parse_count(args["limit"], "a number of changes", lowest=1, highest=HISTORY_LIMIT)
        except InvalidValue as error:
            raise InvalidValue(f"history: --limit {error.message}", hint=error.hint) from None
    task_id = parse_id(args["task"]) if args["task"] is not None else None
    tasks = ctx.service.tasks
    steps = [s for s in tasks.history if task_id is None or task_id in s.touched]
    _, redo = tasks.history.stacks()
    return HistoryList(tuple(steps[-limit:]), frozenset(s.revision for s in redo), len(tasks.history),
                       tasks.history.limit, task_id)


def run_backup(ctx: Context, args: ParsedArgs) -> BackupTaken:
    from ..service import AUTOMATIC_BACKUP_LABELS, BACKUP_ID_START, BACKUP_LABEL

    label = args.positionals[0] if args.positionals else "manual"
    if not BACKUP_LABEL.fullmatch(label) or label in AUTOMATIC_BACKUP_LABELS:
        raise InvalidValue(f"backup: {shown(label)} cannot name a backup",
                           hint="use up to 40 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                                "and not one of " + ", ".join(AUTOMATIC_BACKUP_LABELS))
    if args.positionals:  # a name restore finds: it must mean this backup and no other
        if label == "latest" or BACKUP_ID_START.fullmatch(label):
            raise InvalidValue(f"backup: {shown(label)} cannot name a backup: restore reads it as "
                               f"{'the newest backup' if label == 'latest' else 'a backup id'}",
                               hint="choose a name that starts with a letter, such as before-cleanup")
        if any(b.label == label for b in ctx.service.backups()):
            raise InvalidValue(f"backup: there is already a backup named {shown(label)}",
                               hint=f"choose another name; '{typed('backups')}' lists the backups")
    return BackupTaken(ctx.service.backup(label))


def run_backups(ctx: Context, args: ParsedArgs) -> BackupList:
    service = ctx.service
    return BackupList(tuple(service.backups()), service.backup_directory())


def run_restore(ctx: Context, args: ParsedArgs) -> Restored | Declined:
    from ..domain import recovery

    service = ctx.service
    backup = service.find_backup(args.positionals[0])
    snapshot = service.read_backup(backup)  # checked in full before anything is done with it
    try:
        service.refresh()
        current = service.tasks
    except StoreTooNew:
        raise
    except StoreUnreadable as error:
        return _restore_unreadable(ctx, args, backup, snapshot, error)
    preview = recovery.plan_restore(current, snapshot.tasks, snapshot.next_id, backup.id)
    dropped = recovery.dropped_by_restore(backup.revision, current.revision)
    if args["dry_run"] or preview.change.is_empty:
        return Restored(backup, preview, dry_run=True, dropped=dropped)
    if ctx.confirm is not None and not args["yes"]:
        drops = f" {change_text.sentence(change_text.dropped_sentence(backup, dropped, unreadable=False))}" if dropped else ""
        question = (f"Restore backup {backup.id} ({backup.revision_text})? It adds {len(preview.added)}, "
                    f"removes {len(preview.removed)} and changes {len(preview.changed)} tasks; "
                    f"the current store is backed up first and 'undo' reverses it.{drops}")
        if not ctx.confirm(question):
            return Declined("Nothing restored.")
    done: list[recovery.RestorePlan] = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        done[:] = [recovery.plan_restore(tasks, snapshot.tasks, snapshot.next_id, backup.id)]
        return done[0].change

    outcome = service.execute(plan, backup_first="restore")
    dropped = recovery.dropped_by_restore(backup.revision, outcome.revision - 1)
    return Restored(backup, done[0], kept=outcome.backup, dropped=dropped)


def _restore_unreadable(ctx: Context, args: ParsedArgs, backup: Backup, snapshot: Snapshot,
                        error: StoreUnreadable) -> Restored | Declined:
    from ..domain import recovery

    try:
        found: SalvageReport | TaskList | None = ctx.service.salvage_preview()
    except StorageError:
        found = None  # salvage cannot read it either (permission, the disk): the restore does not need to
    if isinstance(found, TaskList):  # another session mended it meanwhile: restore it as a store that loads
        return run_restore(ctx, args)
    dropped = recovery.dropped_by_restore(backup.revision, found.revision) if found is not None else None
    names = found.present if found is not None else ctx.service.store_files()
    if args["dry_run"]:
        return Restored(backup, aside=names, task_count=len(snapshot.tasks), dry_run=True, dropped=dropped)
    if ctx.confirm is not None and not args["yes"]:
        drops = f" {change_text.sentence(change_text.dropped_sentence(backup, dropped, unreadable=True))}" if dropped else ""
        question = (f"The store does not load ({error.message}). Put backup {backup.id} ({backup.revision_text}) "
                    f"in its place?{drops} The unreadable files are kept aside, never deleted.")
        if not ctx.confirm(question):
            return Declined("Nothing restored.")
    tasks, aside = ctx.service.replace_unreadable(snapshot)
    return Restored(backup, aside=aside, task_count=len(tasks), dropped=dropped)


def run_salvage(ctx: Context, args: ParsedArgs) -> Salvaged | Declined:
    service = ctx.service
    found = service.salvage_preview()
    if isinstance(found, TaskList):
        return Salvaged(None, loaded=(found.revision, len(found)))
    preview = service.plan_salvage(found)
    if args["dry_run"]:
        return Salvaged(found, preview, dry_run=True)
    if ctx.confirm is not None and not args["yes"]:
        lines = "\n".join(change_text.salvage_account(found, preview))
        question = (f"The store does not load ({found.refusal}).\n{change_text.salvage_headline(found, done=False)}"
                    f"\n{lines}\n{change_text.salvage_keeping(found, preview)}\nSalvage it?")
        if not ctx.confirm(question):
            return Declined("Nothing salvaged.")
    done = service.salvage(found)
    if isinstance(done, TaskList):
        return Salvaged(None, loaded=(done.revision, len(done)))
    return Salvaged(done.report, done.plan, aside=done.aside)


def run_doctor(ctx: Context, args: ParsedArgs) -> DoctorReport:
    return DoctorReport(tuple(ctx.service.examine()))


def run_stats(ctx: Context, args: ParsedArgs) -> StoreStats:
    service = ctx.service
    tasks = service.tasks
    open_count, done_count = tasks.counts()
    undo, redo = tasks.history.stacks()
    return StoreStats(service.figures(), open_count, done_count, tasks.revision, tasks.next_id, len(tasks.history),
                      len(undo), len(redo), service.saves)
