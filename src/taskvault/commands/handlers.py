"""What each command does, in terms of the service and the pure planners."""

from __future__ import annotations

from ..domain import operations
from ..domain.query import SORT_KEYS, Show, TaskQuery
from ..domain.task import normalize_tag
from ..errors import UsageError
from .context import Context
from .registry import ParsedArgs
from .results import Declined, TaskDetail, TaskSaved, TasksChanged, TaskTable
from .values import parse_due, parse_id, parse_ids, parse_priority, split_tag_edits


def run_add(ctx: Context, args: ParsedArgs) -> TaskSaved:
    title = " ".join(args.positionals)
    priority = parse_priority(args["priority"]) if args["priority"] is not None else None
    due = parse_due(args["due"], ctx.today) if args["due"] is not None else None
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_add(
        tasks, title, now=service.now(), note=args["note"] or "", priority=priority, due=due,
        tags=tuple(args["tag"])))
    return TaskSaved("added", outcome.change.put[0])


def _exclusive(args: ParsedArgs, value: str, clear: str) -> None:
    if args[value] is not None and args[clear]:
        raise UsageError(f"edit: --{value} and --{clear.replace('_', '-')} cannot be used together")


def run_edit(ctx: Context, args: ParsedArgs) -> TaskSaved:
    task_id = parse_id(args.positionals[0])
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
    if args["all"] and args["done"]:
        raise UsageError("list: --all and --done cannot be used together")
    show = Show.ALL if args["all"] else Show.DONE if args["done"] else Show.OPEN
    sort = args["sort"] or "id"
    if sort not in SORT_KEYS:
        raise UsageError(f"list: cannot sort by {sort!r}", hint="use one of: " + ", ".join(SORT_KEYS))
    query = TaskQuery(
        show=show,
        tags=tuple(normalize_tag(t) for t in args["tag"]),
        priority=parse_priority(args["priority"]) if args["priority"] is not None else None,
        due_before=parse_due(args["due_before"], ctx.today) if args["due_before"] is not None else None,
        search=args["search"],
        sort=sort,
    )
    tasks = ctx.service.tasks
    open_count, done_count = tasks.counts()
    return TaskTable(tuple(query.select(tasks)), show, open_count, done_count)


def run_show(ctx: Context, args: ParsedArgs) -> TaskDetail:
    return TaskDetail(ctx.service.tasks.get(parse_id(args.positionals[0])))


def _run_status(ctx: Context, args: ParsedArgs, done: bool) -> TasksChanged:
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
    ids = parse_ids(args.positionals)
    service = ctx.service
    if len(ids) > 1 and not args["yes"] and ctx.confirm is not None:
        named = service.tasks.require(ids)  # a missing id is an error before any question
        listed = ", ".join(f"{t.id} {t.title}" for t in named[:5]) + (", …" if len(named) > 5 else "")
        if not ctx.confirm(f"Delete {len(named)} tasks ({listed})?"):
            return Declined("Nothing deleted.")
    doomed: list = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        doomed[:] = tasks.require(ids)  # the tasks as they were when the delete was decided
        return operations.plan_delete(tasks, ids)

    service.execute(plan)
    return TasksChanged("deleted", tuple(doomed))
