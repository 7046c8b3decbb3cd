"""import and export: tasks moving in from another tool's file, and out to one (interchange/ has the formats).

An import is one change (all or nothing), with a backup first, undone by one undo: the file is read and
checked whole before anything is planned, and a bad record stops it with one line that names the file, the
record and the field. An export writes the tasks a filter picks (all of them without one) in a format:
to standard output as it goes, or to a file whole or not at all (the interface replaces it atomically).
"""

from __future__ import annotations

from ..domain.importing import ImportPlan, plan_import
from ..domain.task import renumbered
from ..errors import InputTooLarge, StorageError, UsageError, shown, typed
from ..interchange.formats import FORMATS, reader, writer
from ..interchange.model import Batch, Source
from ..limits import MAX_IMPORT_TASKS
from .context import Context
from .registry import ParsedArgs
from .results import Declined, Exported, Imported

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from ..domain.task import Task
    from ..domain.tasklist import Change, TaskList

#: What --from and --to accept, in the order help shows them.
FORMAT_NAMES = tuple(FORMATS)


def _format(command: str, option: str, value: str | None) -> str:
    if value is None:
        raise UsageError(f"{command}: say which format with {option} FORMAT",
                         hint="one of: " + ", ".join(FORMAT_NAMES))
    if value not in FORMATS:
        raise UsageError(f"{command}: {shown(value)} is not a format taskvault knows",
                         hint="one of: " + ", ".join(FORMAT_NAMES))
    return value


def _read(ctx: Context, path: str) -> Source:
    if ctx.read_file is None:
        raise UsageError("import: files cannot be read here", hint=f"run '{typed('import')}' in a shell")
    data, name = ctx.read_file(path)
    return Source(data, name)


def read_batch(ctx: Context, args: ParsedArgs) -> tuple[str, Batch]:
    """The format asked for and everything its file (and done file) holds, read and checked whole."""
    name = _format("import", "--from", args["from"])
    if not args.positionals:
        raise UsageError("import: give the file to import, or - for standard input",
                         hint=f"such as '{typed('import --from ' + name + ' tasks.json')}'")
    if args["done_file"] is not None and name != "todotxt":
        raise UsageError("import: --done-file goes with --from todotxt (todo.txt's done.txt)")
    sources = [_read(ctx, args.positionals[0])]
    if args["done_file"] is not None:
        sources.append(_read(ctx, args["done_file"]))
    progress = None
    if ctx.progress is not None:
        show = ctx.progress
        label = f"reading {sources[0].name}"

        def progress(count: int) -> None:
            show(f"{label}: {count:,} tasks")

    batch = reader(name)(sources, now=ctx.service.now(), progress=progress)
    return name, batch


def run_import(ctx: Context, args: ParsedArgs) -> Imported | Declined:
    name, batch = read_batch(ctx, args)
    detail = f"{name} {args.positionals[0]}"
    incoming = [item.task for item in batch.tasks]
    service = ctx.service
    if ctx.progress is not None and incoming:
        ctx.progress(f"matching {len(incoming):,} tasks to the store")
    planned_on = service.tasks.revision
    preview = plan_import(service.tasks, incoming, now=service.now(), detail=detail)
    if len(preview.change.put) > MAX_IMPORT_TASKS:
        raise InputTooLarge(f"import: the file would add or change {len(preview.change.put):,} tasks; one import "
                            f"takes at most {MAX_IMPORT_TASKS:,}", hint="split the file (by project, or pending "
                            "and completed tasks) and import each part")
    if args["dry_run"] or preview.change.is_empty:
        return Imported(name, batch_source(args), batch, preview, dry_run=bool(args["dry_run"]))
    if ctx.confirm is not None and not args["yes"]:
        added, updated, kept = len(preview.added), len(preview.updated), len(preview.unchanged)
        doing = ", ".join(part for n, part in ((added, f"add {added:,}"), (updated, f"update {updated:,}"),
                                               (kept, f"leave {kept:,} as {'it is' if kept == 1 else 'they are'}"))
                          if n)
        question = (f"Import {len(incoming):,} task{'s' if len(incoming) != 1 else ''} from {batch_source(args)} "
                    f"({doing})? The store is backed up first and 'undo' reverses it.")
        if ctx.progress is not None:
            ctx.progress("")
        if not ctx.confirm(question):
            return Declined("Nothing imported.")
    done: list[ImportPlan] = []

    asked = ctx.confirm is not None and not args["yes"]

    def plan(tasks: TaskList) -> Change:
        # Under the lock, on the newest state: the preview's plan, unless another session changed the store since.
        fresh = tasks.revision == planned_on
        done[:] = [preview if fresh else plan_import(tasks, incoming, now=service.now(), detail=detail)]
        if asked and not fresh and _what(done[0]) != _what(preview):
            raise StorageError("another session changed the store while you were asked, and the import would now "
                               "do something else than it said — nothing was imported",
                               hint=f"run '{typed('import')}' again to see what it would do now")
        return done[0].change

    if ctx.progress is not None:
        ctx.progress(f"saving {len(preview.change.put):,} tasks")
    outcome = service.execute(plan, backup_first="import")
    return Imported(name, batch_source(args), batch, done[0], backup=outcome.backup)


def _what(plan: ImportPlan) -> list[tuple[object, Task]]:
    """What a plan does, its ids aside (another session's add meanwhile moves the ids, not what is done)."""
    return [(task.uuid, renumbered(task, 1)) for task in plan.change.put]


def batch_source(args: ParsedArgs) -> str:
    path = args.positionals[0]
    return "standard input" if path == "-" else path


def run_export(ctx: Context, args: ParsedArgs) -> Exported:
    from .reports import context_for, parse_report_filter

    name = _format("export", "--to", args["to"])
    tasks = ctx.service.tasks
    flt = parse_report_filter(list(args.positionals) + list(args.filter_words), ctx.today)
    chosen: list[Task] = sorted(tasks, key=_by_id)
    if flt is not None:
        chosen = flt.select(chosen, context_for(tasks, flt))
    pieces = writer(name)(chosen)
    output = args["output"]
    if output is None or output == "-":
        return Exported(name, len(chosen), stream=pieces)
    if ctx.replace_file is None:
        raise UsageError("export: files cannot be written here", hint=f"run '{typed('export')}' in a shell")
    if ctx.progress is not None:
        ctx.progress(f"writing {len(chosen):,} tasks to {output}")
    written = ctx.replace_file(output, "".join(pieces).encode("utf-8"))
    return Exported(name, len(chosen), path=written)


def _by_id(task: Task) -> int:
    return task.id
