"""What each command does, in terms of the service and the pure planners."""

from __future__ import annotations

from ..domain.history import HISTORY_LIMIT
from ..domain.task import Task, normalize_tag
from ..domain.tasklist import TaskList
from ..errors import (
    InvalidValue,
    NoTaskMatches,
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
    ConflictList,
    ContextShown,
    Declined,
    DoctorReport,
    EncryptionChanged,
    Exported,
    HistoryList,
    Imported,
    Resolved,
    Restored,
    Reverted,
    Salvaged,
    SettingsTable,
    StoreStats,
    Summary,
    SyncDone,
    SyncShown,
    TaskDetail,
    TaskSaved,
    TasksChanged,
    TaskTable,
)
from .values import is_uuid_prefix, parse_count, parse_due, parse_id, parse_ids, parse_priority, split_tag_edits

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:  # (backups', undo's, restore's and salvage's: imported where they run)
    from collections.abc import Callable, Iterable
    from typing import Any

    from ..domain import recovery
    from ..domain.filtering import Filter
    from ..domain.query import TaskQuery
    from ..service import Backup, EncryptionOperation, SalvageReport


def run_add(ctx: Context, args: ParsedArgs) -> TaskSaved:
    from ..domain import operations  # (the changes' planners: a command that reads never imports them)
    from .attributes import split_modifications

    words = split_modifications(args.positionals, literal_from=args.literal_from, command="add", removes_tags=False)
    tags, removed = split_tag_edits(args["tag"])  # +home means home, as in edit
    if removed:
        raise InvalidValue(f"add: --tag {shown('-' + removed[0])} would remove a tag, and a new task has none",
                           hint="give the tag without '-': home or +home")
    for option in ("priority", "due"):
        if args[option] is not None and option in words.values:
            raise UsageError(f"add: --{option} and {option}: cannot be used together", hint="give it once")
    if not words.title_words:
        raise UsageError("add needs a title", hint="usage: " + typed('add TITLE... [project:P] [due:DATE] [+TAG]')
                         + "; to use an attribute word as the title, put -- before it")
    values = _typed_values(ctx, words.values, "add")
    if values.get("remove_depends"):
        raise InvalidValue("add: depends:-N would remove a dependency, and a new task has none")
    priority = parse_priority(args["priority"]) if args["priority"] is not None else values.get("priority")
    due = parse_due(args["due"], ctx.today) if args["due"] is not None else values.get("due")
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_add(
        tasks, words.title, now=service.now(), note=args["note"] or "", priority=priority, due=due,
        tags=(*tags, *words.add_tags), project=values.get("project"), scheduled=values.get("scheduled"),
        wait=values.get("wait"), until=values.get("until"), depends=values.get("add_depends", ()),
        recur=values.get("recur")))
    return TaskSaved("added", outcome.change.put[0])


def _typed_values(ctx: Context, raw: dict[str, str], command: str) -> dict[str, Any]:
    """Attribute values as typed (split_modifications), parsed: dates, priority, project, dependencies.

    An empty value clears the field (None); ``depends:3,-4`` adds a dependency on 3 and removes one on 4.
    """
    values: dict[str, Any] = {}
    for name, text in raw.items():
        try:
            if name == "recur":
                from ..domain.periods import normalize_period

                if command != "add":
                    raise InvalidValue("only add starts a series", hint="add a new task with due:DATE recur:PERIOD")
                values[name] = normalize_period(text) if text else None
            elif name == "depends":
                parts = [p for p in text.split(",") if p]
                tasks = ctx.service.tasks
                values["add_depends"] = tuple(parse_ids([p for p in parts if not p.startswith("-")], tasks=tasks))
                values["remove_depends"] = tuple(parse_ids([p[1:] for p in parts if p.startswith("-")], tasks=tasks))
                if not parts and text:
                    raise InvalidValue(f"{shown(text)} names no task", hint="such as depends:3,4 or depends:-3")
                if not text:
                    values["clear_depends"] = True
            elif not text:
                values[name] = None
            elif name == "priority":
                values[name] = parse_priority(text)
            elif name == "project":
                from ..domain.task import normalize_project

                values[name] = normalize_project(text)
            else:
                values[name] = parse_due(text, ctx.today)
        except InvalidValue as error:
            raise InvalidValue(f"{command}: {name}: {error.message}", hint=error.hint) from None
    return values


def _exclusive(args: ParsedArgs, value: str, clear: str) -> None:
    if args[value] is not None and args[clear]:
        raise UsageError(f"edit: --{value} and --{clear.replace('_', '-')} cannot be used together")


def run_edit(ctx: Context, args: ParsedArgs) -> TaskSaved:
    from ..domain import operations

    task_id = parse_id(args.positionals[0], "edit", tasks=ctx.service.tasks)
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


def _filtered_ids(ctx: Context, args: ParsedArgs, command: str) -> list[int]:
    """The ids of the tasks the filter typed before ``command`` matches: the open ones, unless the filter names
    a status. NoTaskMatches when there are none."""
    from ..domain.query import ANY, TaskQuery
    from ..domain.task import Status
    from .reports import candidates, context_for, mentions_hidden, parse_report_filter

    flt = parse_report_filter(_with_context(ctx, list(args.filter_words)), ctx.today)
    assert flt is not None  # (only called with filter words)
    tasks = ctx.service.tasks
    status = flt.status_hint or Status.OPEN
    pool = candidates(tasks, flt, status)
    fctx = context_for(tasks, flt)
    # The tasks `list FILTER` shows: the active context applies, and waiting or expired tasks only when the filter
    # names them (TaskQuery's rule, as list's).
    shown_by_list = TaskQuery(hidden_as_of=ANY if mentions_hidden(flt) or status is not Status.OPEN else ctx.today)
    ids = [t.id for t in pool if t.status is status and flt.matches(t, fctx) and shown_by_list.matches(t)]
    if not ids:
        which = "open task" if status is Status.OPEN else f"{status.value} task"
        raise NoTaskMatches(f"{command}: no {which} matches {flt.describe()}; nothing was changed",
                            hint=f"'{typed('list ' + ' '.join(args.filter_words))}' shows what it matches")
    return sorted(ids)


def _ids(ctx: Context, args: ParsedArgs, command: str) -> list[int]:
    """The ids a command that takes only ids acts on: its own, or those its filter matches."""
    if args.filter_words:
        if args.positionals:
            raise UsageError(f"{command}: give the tasks as a filter before the command or as ids after it, not both",
                             hint=f"such as '{typed('project:home ' + command)}' or '{typed(command + ' 3,4')}'")
        return _filtered_ids(ctx, args, command)
    return parse_ids(args.positionals, tasks=ctx.service.tasks)


def _leading_ids(args: ParsedArgs, command: str, ctx: Context | None = None) -> tuple[list[int], list[str], int]:
    """The task ids a command's first word names (``3``, ``3,4``, ``3-6``), the words after it, and where the
    words typed after ``--`` begin among those; with a filter typed before the command, its tasks and every word."""
    import re

    if args.filter_words and ctx is not None:
        return _filtered_ids(ctx, args, command), list(args.positionals), args.literal_from
    # Only the first word names tasks (3, 3,4 or 3-6): a number after it is the text's (annotate 3 2 eggs).
    # (or the start of a task's uuid, 8 hex digits or more, which no title word of a modify is likely to be)
    first = args.positionals[:args.literal_from][:1]
    count = 1 if first and (re.fullmatch(r"[0-9][0-9,-]*", first[0]) or is_uuid_prefix(first[0])) else 0
    if count == 0:
        raise UsageError(f"{command} needs the ids of the tasks first",
                         hint=f"such as '{typed(command + ' 3 ...')}' or '{typed(command + ' 3,4 ...')}'")
    tasks = ctx.service.tasks if ctx is not None else None
    return parse_ids(args.positionals[:count], tasks=tasks), list(args.positionals[count:]), args.literal_from - count


def _confirmed(ctx: Context, args: ParsedArgs, ids: list[int], verb: str) -> bool:
    """True unless, on a terminal, the user declines a change to several tasks (``--yes`` does not ask)."""
    if len(ids) <= 1 or args["yes"] or ctx.confirm is None:
        return True
    named = ctx.service.tasks.require(ids)  # a missing id is an error before any question
    listed = ", ".join(f"{t.id} {t.title}" for t in named[:5]) + (", …" if len(named) > 5 else "")
    return ctx.confirm(f"{verb} {len(named)} tasks ({listed})?")


def run_modify(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    from ..domain import operations
    from .attributes import split_modifications

    ids, words, literal_from = _leading_ids(args, "modify", ctx)
    found = split_modifications(words, literal_from=literal_from, command="modify", removes_tags=True)
    values = _typed_values(ctx, found.values, "modify")
    fields: dict[str, Any] = {name: values[name] for name in ("priority", "due", "project", "scheduled", "wait",
                                                                 "until") if name in values}
    if found.title_words:
        fields["title"] = found.title
    edit = operations.TaskEdit(add_tags=tuple(found.add_tags), remove_tags=tuple(found.remove_tags),
                               add_depends=values.get("add_depends", ()), remove_depends=values.get("remove_depends", ()),
                               clear_depends=bool(values.get("clear_depends")), **fields)
    if edit.is_empty:
        raise InvalidValue("modify: nothing to change",
                           hint="give words for a new title, attributes such as due:fri or project:home, +TAG or -TAG")
    if not _confirmed(ctx, args, ids, "Modify"):
        return Declined("Nothing modified.")
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_modify(tasks, ids, edit, now=service.now()))
    changed = {t.id for t in outcome.change.put}
    tasks = service.tasks
    return TasksChanged("modified", tuple(tasks.get(i) for i in ids if i in changed),
                        tuple(tasks.get(i) for i in ids if i not in changed), "already so")


def _run_each(ctx: Context, args: ParsedArgs, verb: str, kind: str, planner_name: str,
              unchanged_reason: str) -> TasksChanged | Declined:
    from ..domain import operations

    ids = _ids(ctx, args, kind.lower())
    if not _confirmed(ctx, args, ids, kind):
        return Declined("Nothing changed.")
    service = ctx.service
    planner = getattr(operations, planner_name)
    outcome = service.execute(lambda tasks: planner(tasks, ids, now=service.now()))
    changed = {t.id for t in outcome.change.put}
    tasks = service.tasks
    return TasksChanged(verb, tuple(tasks.get(i) for i in ids if i in changed),
                        tuple(tasks.get(i) for i in ids if i not in changed), unchanged_reason)


def run_start(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    return _run_each(ctx, args, "started", "Start", "plan_start", "already active")


def run_stop(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    return _run_each(ctx, args, "stopped", "Stop", "plan_stop", "not active")


def run_annotate(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    from ..domain import operations

    ids, words, _ = _leading_ids(args, "annotate", ctx)
    if not words:
        raise UsageError("annotate needs the text to add", hint=f"such as '{typed('annotate 3 called the plumber')}'")
    text = " ".join(words)
    if not _confirmed(ctx, args, ids, "Annotate"):
        return Declined("Nothing changed.")
    service = ctx.service
    service.execute(lambda tasks: operations.plan_annotate(tasks, ids, text, now=service.now()))
    tasks = service.tasks
    return TasksChanged("annotated", tuple(tasks.get(i) for i in ids))


def run_denotate(ctx: Context, args: ParsedArgs) -> TaskSaved:
    from ..domain import operations

    task_id = parse_id(args.positionals[0], "denotate", tasks=ctx.service.tasks)
    which = " ".join(args.positionals[1:])
    service = ctx.service
    outcome = service.execute(lambda tasks: operations.plan_denotate(tasks, task_id, which, now=service.now()))
    return TaskSaved("edited", outcome.change.put[0])


def run_config(ctx: Context, args: ParsedArgs) -> SettingsTable:
    describe = ctx.preferences.describe
    return SettingsTable(tuple(describe()) if describe is not None else ())


def run_context(ctx: Context, args: ParsedArgs) -> ContextShown:
    """Show the active context, or make NAME (or none) the active one, in the config file."""
    prefs = ctx.preferences
    listed = tuple(sorted(prefs.contexts.items()))
    if not args.positionals:
        return ContextShown(prefs.context, listed)
    name = args.positionals[0]
    wanted = None if name == "none" else name
    if wanted is not None and wanted not in prefs.contexts:
        known = ", ".join(prefs.contexts) or "none defined yet"
        raise InvalidValue(f"context: no context named {shown(name)} (contexts: {known})",
                           hint=f"define it in {prefs.path or 'the config file'} under [contexts], as "
                                f'{name} = "project:{name}"; \'context none\' turns contexts off')
    if prefs.set_context is None:
        raise UsageError("context: the config file cannot be changed here")
    prefs.set_context(wanted)
    prefs.context, prefs.context_filter = wanted, prefs.contexts.get(wanted) if wanted is not None else None
    return ContextShown(wanted, listed, changed=True)  # (a session goes on with it: the file is read once)


def _open_counts(tasks: TaskList, names_of: Callable[[Task], Iterable[str]]) -> tuple[dict[str, int], int]:
    """How many open tasks have each name ``names_of`` gives them, and how many have none."""
    counts: dict[str, int] = {}
    none = 0
    for task in tasks:
        if task.is_open:
            names = tuple(names_of(task))
            none += not names
            for name in names:
                counts[name] = counts.get(name, 0) + 1
    return counts, none


def _project_and_parents(task: Task) -> Iterable[str]:
    """home.kitchen's project and the ones it is part of: home, home.kitchen."""
    parts = task.project.split(".") if task.project is not None else []
    return (".".join(parts[:depth]) for depth in range(1, len(parts) + 1))


def run_projects(ctx: Context, args: ParsedArgs) -> Summary:
    """Each project of the open tasks, with its sub-projects, and how many open tasks each holds."""
    counts, none = _open_counts(ctx.service.tasks, _project_and_parents)
    return Summary("project", tuple(sorted(counts.items(), key=lambda item: item[0].casefold())), none)


def run_tags(ctx: Context, args: ParsedArgs) -> Summary:
    """Each tag of the open tasks, and how many open tasks have it."""
    counts, none = _open_counts(ctx.service.tasks, lambda task: task.tags)
    return Summary("tag", tuple(sorted(counts.items())), none)


def run_list(ctx: Context, args: ParsedArgs) -> TaskTable:
    from ..domain.query import ANY, SORT_KEYS, Show, TaskQuery  # (list's alone: a change never filters nor sorts)
    from .reports import mentions_hidden, parse_report_filter, show_for, split_report_words

    if args["all"] and args["done"]:
        raise UsageError("list: --all and --done cannot be used together")
    report = split_report_words(args.positionals)
    flt = parse_report_filter(_with_context(ctx, report.filter_words), ctx.today)
    show = show_for(flt, Show.ALL if args["all"] else Show.DONE if args["done"] else Show.OPEN)
    sort = args["sort"] or "id"
    if args["sort"] is not None and report.sort is not None:
        raise UsageError("list: --sort and sort: cannot be used together", hint="give one of them")
    if sort not in SORT_KEYS:
        raise UsageError(f"list: cannot sort by {shown(sort)}", hint="use one of: " + ", ".join(SORT_KEYS))
    if args["search"] == "":  # it would match every task: no typed value may mean "no filter"
        raise UsageError("list: --search needs a non-empty value", hint="give the text to look for, or leave --search out")
    hide = show is Show.OPEN and not args["waiting"] and (flt is None or not mentions_hidden(flt))
    query = TaskQuery(
        show=show,
        tags=tuple(normalize_tag(t) for t in args["tag"]),
        priority=parse_priority(args["priority"]) if args["priority"] is not None else ANY,
        due_before=parse_due(args["due_before"], ctx.today) if args["due_before"] is not None else ANY,
        search=args["search"] if args["search"] is not None else ANY,
        sort=sort,
        hidden_as_of=ctx.today if hide else ANY,
    )
    open_count, done_count = ctx.service.tasks.counts()
    if flt is None and report.sort is None and report.limit is None:
        records = tuple(ctx.service.listed(query))
        return TaskTable(records, show, open_count, done_count, blocked=_blocked(ctx.service.tasks, records),
                         **_conflicted(ctx.service.tasks, records))
    return _report(ctx, query, flt, report.sort, report.limit, with_urgency=False)


def _with_context(ctx: Context, words: list[str]) -> list[str]:
    """A report's filter words, with the active context's filter (from the config file) and-ed before them."""
    context = ctx.preferences.context_filter
    return [f"({context})", *words] if context else words


def _report(ctx: Context, query: TaskQuery, flt: Filter | None, sort: str | None, limit: int | str | None, *,
            with_urgency: bool, columns: tuple[str, ...] | None = None) -> TaskTable:
    """The tasks ``query`` and ``flt`` both choose, in the order ``sort`` says (else the query's), cut to ``limit``."""
    from ..domain.query import SORT_KEYS, Show
    from ..domain.task import Status
    from ..domain.urgency import Coefficients, sort_key, urgency_of
    from .reports import candidates, context_for

    tasks = ctx.service.tasks
    status = Status.OPEN if query.show is Show.OPEN else Status.DONE if query.show is Show.DONE else (
        flt.status_hint if flt is not None else None)
    pool = candidates(tasks, flt, status) if flt is not None else list(tasks.narrowed(status, (), None))
    with_urgency = with_urgency or (columns is not None and "urgency" in columns)
    needs_urgency = with_urgency or (sort is not None and "urg" in sort)
    fctx = context_for(tasks, flt, always=needs_urgency)
    chosen = [t for t in pool if query.matches(t) and (flt is None or flt.matches(t, fctx))]
    coefficients = Coefficients.from_mapping(ctx.preferences.urgency)
    chosen.sort(key=sort_key(sort, today=ctx.today, ctx=fctx, coefficients=coefficients) if sort is not None
                else SORT_KEYS[query.sort])
    rows = ctx.page_rows if limit == "page" else limit
    more = max(0, len(chosen) - rows) if isinstance(rows, int) else 0
    if isinstance(rows, int):
        chosen = chosen[:rows]
    urgency = None
    if with_urgency:
        score = urgency_of(fctx, coefficients, ctx.today)
        urgency = tuple(round(score(t), 2) for t in chosen)
    open_count, done_count = tasks.counts()
    records = tuple(ctx.service.records(chosen))
    return TaskTable(records, query.show, open_count, done_count,
                     filter_text=flt.describe() if flt is not None else "", urgency=urgency, more=more, columns=columns,
                     blocked=_blocked(tasks, records), **_conflicted(tasks, records))


def _blocked(tasks: TaskList, records: tuple[dict[str, Any], ...]) -> frozenset[str]:
    """The uuids of the open tasks of ``records`` that depend on an open task (their rows are highlighted
    and flagged "blocked"). The open tasks are looked at only when a task shown depends on another."""
    from ..domain.task import Status

    depending = [r for r in records if r["depends"] and r["status"] == Status.OPEN.value]
    if not depending:
        return frozenset()
    open_uuids = {str(t.uuid) for t in tasks.narrowed(Status.OPEN, (), None)}
    return frozenset(r["uuid"] for r in depending if not open_uuids.isdisjoint(r["depends"]))


def _conflicted(tasks: TaskList, records: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The uuids of the tasks of ``records`` in conflict (changed on two devices; their rows are marked), and the
    ids of every task in conflict: nothing is read for a store that never synced."""
    replica = tasks.replica
    if replica is None:
        return {}
    conflicts = {str(u) for u in replica.conflicts}
    if not conflicts:
        return {}
    ids = sorted(t.id for t in tasks if str(t.uuid) in conflicts)
    return {"conflicted": frozenset(r["uuid"] for r in records if r["uuid"] in conflicts), "conflicts": tuple(ids)}


def run_next(ctx: Context, args: ParsedArgs) -> TaskTable:
    """The open tasks that are not waiting, most urgent first, as many as fit the terminal."""
    from ..domain.query import ANY, Show, TaskQuery
    from .reports import mentions_hidden, parse_report_filter, split_report_words

    report = split_report_words(args.positionals)
    flt = parse_report_filter(_with_context(ctx, report.filter_words), ctx.today)
    hidden_named = flt is not None and mentions_hidden(flt)
    query = TaskQuery(show=Show.OPEN, hidden_as_of=ANY if hidden_named else ctx.today)
    return _report(ctx, query, flt, report.sort or "urgency-,due+", report.limit or "page", with_urgency=True)


def run_report(ctx: Context, args: ParsedArgs) -> TaskTable:
    """A report the config file defines: its filter (and the words given), its order, limit and columns."""
    from ..domain.query import ANY, Show, TaskQuery
    from .reports import mentions_hidden, parse_report_filter, show_for, split_report_words

    name = args.positionals[0]
    spec = ctx.preferences.reports.get(name)
    if spec is None:
        known = ", ".join(sorted(ctx.preferences.reports)) or "none defined yet"
        raise InvalidValue(f"report: no report named {shown(name)} (reports: {known})",
                           hint="define one in the config file as [reports.NAME] with filter, sort, columns, limit")
    report = split_report_words(args.positionals[1:])
    own = [spec.filter] if spec.filter else []
    flt = parse_report_filter(_with_context(ctx, [*(f"({w})" for w in own), *report.filter_words]), ctx.today)
    show = show_for(flt, Show.OPEN)
    hidden_named = flt is not None and mentions_hidden(flt)
    query = TaskQuery(show=show, hidden_as_of=ANY if hidden_named or show is not Show.OPEN else ctx.today)
    columns = tuple(spec.columns) if spec.columns else None
    return _report(ctx, query, flt, report.sort or spec.sort, report.limit or spec.limit, with_urgency=False,
                   columns=columns)


def run_show(ctx: Context, args: ParsedArgs) -> TaskDetail:
    tasks = ctx.service.tasks
    task = tasks.get(parse_id(args.positionals[0], "show", tasks=tasks))
    replica = tasks.replica  # (None, and nothing read, for a store that never synced)
    conflict = replica.conflicted(task.uuid) if replica is not None else None
    if not task.depends:
        return TaskDetail(task, conflict=conflict)
    ids = {t.uuid: t.id for t in tasks}
    open_uuids = {t.uuid for t in tasks if t.is_open}
    return TaskDetail(task, tuple(str(ids[u]) if u in ids else str(u)[:8] for u in task.depends),
                      blocked=task.is_open and not open_uuids.isdisjoint(task.depends), conflict=conflict)


def _run_status(ctx: Context, args: ParsedArgs, done: bool) -> TasksChanged | Declined:
    from ..domain import operations

    ids = _ids(ctx, args, "done" if done else "reopen")
    if args.filter_words and not _confirmed(ctx, args, ids, "Complete" if done else "Reopen"):
        return Declined("Nothing changed.")
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
        _made(outcome.change.put, ids),
    )


def _made(put: tuple[Task, ...], ids: list[int]) -> tuple[Task, ...]:
    """The instances of series a change made: the tasks it put that are new instances, not ones named."""
    named = set(ids)
    return tuple(t for t in put if t.parent is not None and t.is_open and t.id not in named)


def run_done(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    return _run_status(ctx, args, done=True)


def run_reopen(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    return _run_status(ctx, args, done=False)


def run_delete(ctx: Context, args: ParsedArgs) -> TasksChanged | Declined:
    from ..domain import operations

    ids = _ids(ctx, args, "delete")
    service = ctx.service
    if len(ids) > 1 and not args["yes"] and ctx.confirm is not None:
        named = service.tasks.require(ids)  # a missing id is an error before any question
        listed = ", ".join(f"{t.id} {t.title}" for t in named[:5]) + (", …" if len(named) > 5 else "")
        if not ctx.confirm(f"Delete {len(named)} tasks ({listed})?"):
            return Declined("Nothing deleted.")
    doomed: list[Task] = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        doomed[:] = tasks.require(ids)  # the tasks as they were when the delete was decided
        return operations.plan_delete(tasks, ids, now=service.now())

    outcome = service.execute(plan)
    return TasksChanged("deleted", tuple(doomed), made=_made(outcome.change.put, ids))


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
    task_id = parse_id(args["task"], tasks=ctx.service.tasks) if args["task"] is not None else None
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


def run_init(ctx: Context, args: ParsedArgs) -> EncryptionChanged:
    if args["keyring"] and not args["encrypt"]:
        raise UsageError("init: --keyring keeps the key of an encrypted store", hint="add --encrypt")
    return _encryption(ctx, "init" if args["encrypt"] else "create", keyring=args["keyring"])


def run_encrypt(ctx: Context, args: ParsedArgs) -> EncryptionChanged | Declined:
    ctx.service.tasks  # noqa: B018 — loaded first: a store encrypted already is not asked about again
    if ctx.confirm is not None and not args["yes"] and not ctx.service.encrypted:
        ctx.quiet()
        if not ctx.confirm("Encrypt the store? Its tasks, journal, backups and undo history will open only with "
                           "the passphrase you choose next (or the system keyring's key). If you lose the "
                           "passphrase, the tasks are gone: no one can recover them."):
            return Declined("Nothing encrypted.")
    return _encryption(ctx, "encrypt", keyring=args["keyring"])


def run_rekey(ctx: Context, args: ParsedArgs) -> EncryptionChanged:
    if args["keyring"] and args["no_keyring"]:
        raise UsageError("rekey: --keyring and --no-keyring contradict each other", hint="give one of them")
    return _encryption(ctx, "rekey", keyring=True if args["keyring"] else False if args["no_keyring"] else None)


def run_decrypt(ctx: Context, args: ParsedArgs) -> EncryptionChanged | Declined:
    ctx.service.tasks  # noqa: B018 (loaded first, as for encrypt)
    if ctx.confirm is not None and not args["yes"] and ctx.service.encrypted:
        ctx.quiet()
        if not ctx.confirm("Decrypt the store? Its tasks and backups will be stored in plain, readable by anyone "
                           "who can read the files."):
            return Declined("Nothing decrypted.")
    return _encryption(ctx, "decrypt", keyring=False)


def _encryption(ctx: Context, operation: EncryptionOperation, *, keyring: bool | None) -> EncryptionChanged:
    ctx.service.tasks  # noqa: B018 — the store as it is, opened with its key (asked for now, if it is encrypted)
    outcome = ctx.service.change_encryption(operation, keyring)
    return EncryptionChanged(operation, outcome.directory, encrypted=outcome.encrypted, keyring=outcome.keyring,
                             backup=outcome.backup, converted=outcome.converted, unconverted=outcome.unconverted)


def run_backups(ctx: Context, args: ParsedArgs) -> BackupList:
    service = ctx.service
    return BackupList(tuple(service.backups()), service.backup_directory())


def run_restore(ctx: Context, args: ParsedArgs) -> Restored | Declined:
    from ..domain import recovery

    service = ctx.service
    backup = service.find_backup(args.positionals[0])
    # checked in full before anything is done with it
    snapshot = service.read_backup(backup, ctx.counting(f"reading backup {backup.id}"))
    try:
        service.refresh()
        current = service.tasks
    except StoreTooNew:
        raise
    except StoreUnreadable as error:
        return _restore_unreadable(ctx, args, backup, snapshot, error)
    ctx.counting(f"comparing backup {backup.id} with the store")
    preview = recovery.plan_restore(current, snapshot.tasks, snapshot.next_id, backup.id)
    dropped = recovery.dropped_by_restore(backup.revision, current.revision)
    if args["dry_run"] or preview.change.is_empty:
        return Restored(backup, preview, dry_run=True, dropped=dropped)
    if ctx.confirm is not None and not args["yes"]:
        drops = f" {change_text.sentence(change_text.dropped_sentence(backup, dropped, unreadable=False))}" if dropped else ""
        question = (f"Restore backup {backup.id} ({backup.revision_text})? It adds {len(preview.added)}, "
                    f"removes {len(preview.removed)} and changes {len(preview.changed)} tasks; "
                    f"the current store is backed up first and 'undo' reverses it.{drops}")
        ctx.quiet()
        if not ctx.confirm(question):
            return Declined("Nothing restored.")
    done: list[recovery.RestorePlan] = []

    def plan(tasks):  # type: ignore[no-untyped-def]
        done[:] = [recovery.plan_restore(tasks, snapshot.tasks, snapshot.next_id, backup.id)]
        return done[0].change

    outcome = service.execute(plan, backup_first="restore",
                              progress=ctx.counting("backing up the store before the restore"))
    dropped = recovery.dropped_by_restore(backup.revision, outcome.revision - 1)
    return Restored(backup, done[0], kept=outcome.backup, dropped=dropped)


def _restore_unreadable(ctx: Context, args: ParsedArgs, backup: Backup, snapshot: Snapshot,
                        error: StoreUnreadable) -> Restored | Declined:
    from ..domain import recovery

    try:
        found: SalvageReport | TaskList | None = ctx.service.salvage_preview(ctx.counting("reading the damaged store"))
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
        ctx.quiet()
        if not ctx.confirm(question):
            return Declined("Nothing restored.")
    tasks, aside = ctx.service.replace_unreadable(snapshot, ctx.counting(f"restoring backup {backup.id}"))
    return Restored(backup, aside=aside, task_count=len(tasks), dropped=dropped)


def run_salvage(ctx: Context, args: ParsedArgs) -> Salvaged | Declined:
    service = ctx.service
    found = service.salvage_preview(ctx.counting("reading the damaged store"))
    if isinstance(found, TaskList):
        return Salvaged(None, loaded=(found.revision, len(found)))
    preview = service.plan_salvage(found)
    if args["dry_run"]:
        return Salvaged(found, preview, dry_run=True)
    if ctx.confirm is not None and not args["yes"]:
        lines = "\n".join(change_text.salvage_account(found, preview))
        question = (f"The store does not load ({found.refusal}).\n{change_text.salvage_headline(found, done=False)}"
                    f"\n{lines}\n{change_text.salvage_keeping(found, preview)}\nSalvage it?")
        ctx.quiet()
        if not ctx.confirm(question):
            return Declined("Nothing salvaged.")
    done = service.salvage(found, ctx.counting("salvaging the store"))
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


def run_import(ctx: Context, args: ParsedArgs) -> Imported | Declined:
    from .transfer import run_import as run  # (import's and export's module: the formats, read when used)

    return run(ctx, args)


def run_export(ctx: Context, args: ParsedArgs) -> Exported:
    from .transfer import run_export as run

    return run(ctx, args)


# -- sync (issue 22) ------------------------------------------------------------------------


def run_sync(ctx: Context, args: ParsedArgs) -> SyncDone | SyncShown:
    """Fetch, take in, ship and push through the remote (the engine: the service's sync); --status says where it
    stands without the network."""
    if args["status"]:
        if args["remote"] is not None:
            raise UsageError("sync: --status and --remote cannot be used together",
                             hint=f"'{typed('sync --remote URL')}' syncs and remembers the remote")
        return SyncShown(ctx.service.sync_status())
    remote = args["remote"]
    if remote is not None and not remote.strip():
        raise UsageError("sync: --remote needs the address of a git repository",
                         hint="such as ssh://host/~/tasks.git, https://forge.example/me/tasks.git or /mnt/disk/tasks.git")
    service = ctx.service
    first_new = service.tasks.next_id  # (a task brought in gets an id from here: told apart from one changed)
    if ctx.progress is not None:
        ctx.progress("syncing…")
    report = service.sync(remote, merge_fields=ctx.preferences.sync_merge == "fields")
    # A conflict that came in and was settled in the same sync (a resolution made elsewhere came after it) is
    # no longer one: only those still open are said to be.
    still = set(_conflict_ids(service.tasks)) if report.conflicts else set()
    return SyncDone(report, first_new, tuple(i for i in dict.fromkeys(report.conflicts) if i in still))


def _conflict_ids(tasks: TaskList) -> tuple[int, ...]:
    """The ids of the tasks in conflict, from memory (the network and the remote's mirror are not asked)."""
    replica = tasks.replica
    conflicts = replica.conflicts if replica is not None else {}
    return tuple(sorted(t.id for t in tasks if t.uuid in conflicts)) if conflicts else ()


def run_resolve(ctx: Context, args: ParsedArgs) -> Resolved | ConflictList:
    """Choose what a conflicted task becomes: one version whole, and field by field from the others."""
    service = ctx.service
    if not args.positionals:
        if args["take"] is not None or args["field"]:
            raise UsageError("resolve needs the id of the task in conflict",
                             hint=f"usage: {typed('resolve ID --take mine|theirs')}")
        return ConflictList(_conflict_ids(service.tasks))
    tasks = service.tasks
    task_id = parse_id(args.positionals[0], "resolve", tasks=tasks)
    take = args["take"]
    if take is None:
        raise UsageError("resolve: say which version to take with --take mine, --take theirs or --take DEVICE",
                         hint=f"'{typed(f'show {task_id}')}' shows the versions, field by field")
    by_field: dict[str, str] = {}
    for given in args["field"]:
        name, equals, word = given.partition("=")
        if not equals or not name or not word:
            raise UsageError(f"resolve: --field takes NAME=VERSION, not {shown(given)}",
                             hint="such as --field title=theirs or --field due=mine")
        if name in by_field:
            raise UsageError(f"resolve: --field {shown(name, quote=False)} was given twice")
        by_field[name] = word
    outcome = service.resolve(task_id, take, by_field)
    task = outcome.change.put[0] if outcome.change.put else None
    return Resolved(task_id, task, take, tuple(by_field.items()))
