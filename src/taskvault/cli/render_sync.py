"""sync's, resolve's and a conflicted task's results as text (registered with render_text.text, imported when
one is shown: a command that never syncs never imports this).

A sync is read at a glance: one line of what came and went, then one line for each task that needs the
user (a conflict, a merge). A conflict is shown as the fields its versions differ in, each version a
column beside their common ancestor; on a terminal too narrow for that, each field's versions one a line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..commands.context import local_time
from ..commands.results import ConflictList, Resolved, SyncDone, SyncShown, TaskDetail
from ..domain.replica import RESOLVABLE_FIELDS, Conflict, differing_fields, field_values
from ..domain.task import Task
from ..errors import describe_ids, typed
from .columns import clip, column_widths, fold, pad, text_width
from .render_text import TextRenderer, text
from .text import terminal_safe

#: How a resolve is typed, named in every hint that leads to one.
_CHOOSE = "--take mine|theirs"


def _tasks(ids: Iterable[int]) -> str:
    """'task 4' or 'tasks 4, 7' (runs as ranges, as describe_ids gives them, without its count)."""
    listed = sorted(set(ids))
    return ("task " if len(listed) == 1 else "tasks ") + describe_ids(listed).split(" (", 1)[0]


def conflict_hint(task_id: int | str) -> str:
    return (f"'{typed(f'show {task_id}')}' shows both versions, '{typed(f'resolve {task_id} {_CHOOSE}')}' "
            "chooses")


@text.register
def _synced(result: SyncDone, r: TextRenderer) -> str:
    report = result.report
    conflicted = set(result.conflicts)
    new = [i for i in report.updated if i >= result.first_new and i not in conflicted]
    changed = [i for i in report.updated if i < result.first_new and i not in conflicted]
    what = [f"{_tasks(new)} new" if new else "", f"{_tasks(changed)} changed" if changed else "",
            f"{_tasks(report.deleted)} removed" if report.deleted else "",
            f"{_tasks(conflicted)} in conflict" if conflicted else ""]
    details = "; ".join(part for part in what if part)
    count = f"{report.received} change{'' if report.received == 1 else 's'} in" if report.received else "nothing in"
    if report.received and not details:
        count += " (this device had them all)"
    elif details:
        count += f" ({details})"
    went = f"{report.sent} out"
    head = (f"Synced with {terminal_safe(report.remote)}: nothing new either way." if not report.received and not report.sent
            else f"Synced with {terminal_safe(report.remote)}: {count}, {went}.")
    lines = [head]
    for task_id in sorted(conflicted):
        lines.append(r.style(f"task {task_id} is in conflict: changed here and on another device, and both versions "
                             f"are kept ({conflict_hint(task_id)})", "warning"))
    for task_id in sorted(set(report.merged)):
        lines.append(f"task {task_id}: merged the fields changed on one device with those changed on the other "
                     f"(sync.merge = fields; '{typed(f'history --task {task_id}')}' shows it)")
    return "\n".join(lines)


def _when(stamp: str | None) -> str:
    if stamp is None:
        return "never"
    try:
        return local_time(dt.datetime.fromisoformat(stamp)).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return terminal_safe(stamp)


@text.register
def _status(result: SyncShown, r: TextRenderer) -> str:
    status = result.status
    remote = (terminal_safe(status.remote) if status.remote is not None
              else f"none yet (the first sync names one: {typed('sync --remote URL')})")
    device = status.device if status.device is not None else "none yet (the first sync gives this device one)"
    conflicts = (f"{_tasks(status.conflicts)} ({conflict_hint('ID')})" if status.conflicts else "none")
    tasks = f"{status.unsynced} task{'' if status.unsynced == 1 else 's'}"
    unsynced = f"{tasks} changed here since the last sync" if status.device is not None else f"{tasks}, none synced yet"
    unsent = f"{status.unpushed} change{'' if status.unpushed == 1 else 's'} of this device's not yet on the remote"
    rows = [("remote", remote), ("device", device), ("not synced", unsynced), ("not sent", unsent),
            ("conflicts", conflicts), ("last sync", _when(status.last_sync))]
    return "\n".join(f"{name:<10}  {value}" for name, value in rows)


@text.register
def _resolved(result: Resolved, r: TextRenderer) -> str:
    chosen = result.take + "".join(f"; {name} from {word}" for name, word in result.by_field)
    if result.task is None:
        line = f"Resolved task {result.task_id} ({terminal_safe(chosen)}): it is deleted, as that version had it"
    else:
        line = f"Resolved task {result.task_id} ({terminal_safe(chosen)}): {terminal_safe(result.task.title)}"
    return line + "\n" + r.style("the next sync sends this choice to the other devices", "dim")


@text.register
def _conflict_list(result: ConflictList, r: TextRenderer) -> str:
    if not result.ids:
        return "No task is in conflict."
    return f"{_tasks(result.ids)} in conflict ({conflict_hint('ID')})"


# -- a conflicted task, in show ---------------------------------------------------------------


def _value(task: Task | None, name: str, r: TextRenderer) -> str:
    """One field of one version, as a cell: "deleted" for a version that deleted the task, "none" for no value."""
    if task is None:
        return "deleted"
    values = field_values(task, name)
    value = values[0]
    if name == "status":
        return str(getattr(value, "value", value))
    if value is None or value == () or value == "":
        return "none"
    if name == "tags":
        return terminal_safe(" ".join(task.tags))
    if name in ("due", "scheduled", "wait", "until"):
        return r.day(value.isoformat()) if isinstance(value, dt.date) else str(value)
    if name == "note":
        first = task.note.split("\n", 1)
        return terminal_safe(first[0] + (" …" if len(first) > 1 else ""))
    if name == "depends":
        return " ".join(str(u)[:8] for u in task.depends)
    if name == "annotations":
        return f"{len(task.annotations)} annotation{'' if len(task.annotations) == 1 else 's'}: " + terminal_safe(
            task.annotations[-1].text)
    if name == "extra":
        return terminal_safe(", ".join(f"{key}={val}" for key, val in task.extra))
    return terminal_safe(str(getattr(value, "value", value)))


def _fields(conflict: Conflict) -> list[str]:
    """The fields the versions differ in, in RESOLVABLE_FIELDS order; with a side deleted, those the other holds."""
    versions = [conflict.mine, *(side.body for side in conflict.theirs)]
    present = [v for v in versions if v is not None]
    differ: set[str] = set()
    for index, first in enumerate(present):
        for second in present[index + 1:]:
            differ.update(differing_fields(first, second))
    if len(present) < len(versions) and present:  # deleted on one side: what the other version holds
        differ.update(name for name in RESOLVABLE_FIELDS if any(v not in (None, (), "") for v in
                                                               field_values(present[0], name)))
    return [name for name in RESOLVABLE_FIELDS if name in differ]


def conflict_lines(result: TaskDetail, r: TextRenderer) -> list[str]:
    """The versions of a conflicted task where they differ, against their common ancestor, fitted to the width."""
    conflict = result.conflict
    assert conflict is not None
    task_id = result.task.id
    heads = [*(["ancestor"] if conflict.ancestor is not None else []), "mine",
             *(f"theirs ({side.device})" if len(conflict.theirs) == 1 else side.device for side in conflict.theirs)]
    versions = [*([conflict.ancestor] if conflict.ancestor is not None else []), conflict.mine,
                *(side.body for side in conflict.theirs)]
    names = _fields(conflict)
    rows = [[name, *(_value(v, name, r) for v in versions)] for name in names]
    lines = [r.style(_indented("conflict: changed here and on another device without either knowing; both "
                               "versions are kept", r.width), "warning")]
    if conflict.ancestor is None:
        lines.append(_indented("(the version they both came from is not known here)", r.width))
    table = [["field", *heads], *rows]
    widths = column_widths(table)
    if r.width is None or sum(widths) + 2 * len(widths) + 2 <= r.width:
        for index, row in enumerate(table):
            line = "    " + "  ".join(pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
            lines.append(r.style(line, "header") if index == 0 else line)
    else:  # too narrow for columns: each field, then its versions one a line
        label = max(text_width(head) for head in heads)
        short = [head if text_width(head) <= 14 else head.split(" (", 1)[0] for head in heads]
        label = min(label, max(map(text_width, short)))
        for row in rows:
            lines.append("    " + r.style(row[0], "header"))
            for head, cell in zip(short, row[1:], strict=True):
                lines.append(clip(f"      {pad(head, label)}  {cell}", r.width))
        if len(conflict.theirs) == 1:
            lines.append(clip(f"    theirs: device {conflict.theirs[0].device}", r.width))
    lines.append(_indented(f"choose with '{typed(f'resolve {task_id} {_CHOOSE}')}', or field by field with "
                           "--field NAME=mine|theirs", r.width))
    return lines


def _indented(line: str, width: int | None) -> str:
    """A line of prose under show's fields: two spaces in, folded to the width."""
    return "\n".join("  " + part for part in fold(line, None if width is None else max(width - 2, 20)).split("\n"))
