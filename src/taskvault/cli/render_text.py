"""Command results as text for people: one function per kind of result, registered with ``text``.

A new kind of result needs one ``@text.register`` function here (and one in render_json.py).
The sentences that describe a change come from commands/change_text.py; what is added here is
the layout: tables fitted to the terminal, colour, and user text made safe before it is measured.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from ..commands import change_text
from ..commands.context import local_time
from ..commands.results import (
    ContextShown,
    Declined,
    HelpText,
    HistoryList,
    Result,
    Reverted,
    SettingsTable,
    Summary,
    TaskDetail,
    TaskSaved,
    TasksChanged,
    TaskTable,
)
from ..domain.task import Task
from ..errors import TaskvaultError, typed
from .columns import column_widths, fit, fold, plain_rows, table_row, text_width
from .style import PRIORITY_STYLE, Style
from .text import bounded, one_line, terminal_safe

#: The columns a narrow terminal drops first, least useful first (ID and the cut column always stay).
#: Tags and priority are in ``show``; a done task is dimmed; the due date goes last.
_TASK_DROPS = ("Tags", "Urg", "Pri", "Status", "Flag", "Project", "Due")
#: A row state's word in the Flag column, shown when a row has one: what its colour says, said in plain text
#: too (piped, NO_COLOR). Overdue and due today have none: the Due column shows the day itself, and a
#: column that came and went with the date would change the output of a list from one day to the next;
#: a done task has none: its Status says so.
FLAG_WORDS = {"active": "active", "blocked": "blocked", "waiting": "waiting"}
#: Before the id of a task in conflict (sync): changed on two devices, both versions kept until resolved.
CONFLICT_MARK = "!"
#: A history line: revision, time, change (cut, to no less than 24 columns); the time goes first.
_HISTORY_DROPS = (1,)


class TextRenderer:
    """Renders results for one terminal (or pipe): its style, today's date, its width."""

    def __init__(self, style: Style, *, today: dt.date, width: int | None = None, date_format: str | None = None) -> None:
        self.style = style
        self.today = today
        #: The terminal's width, to clip long titles; None (a pipe) never clips.
        self.width = width
        #: How a day is shown (the config file's date_format, a strftime format); None: YYYY-MM-DD.
        self.date_format = date_format

    def day(self, text: str) -> str:
        """A stored day (YYYY-MM-DD) as the user's date_format shows it."""
        if self.date_format is None or not text:
            return text
        return dt.date.fromisoformat(text).strftime(self.date_format)

    def render(self, result: Result) -> str:
        return text(result, self)


@functools.singledispatch
def text(result: object, r: TextRenderer) -> str:
    """``result`` as text for ``r``'s terminal.

    The results about the store itself (backups, restore, salvage, doctor, stats) are registered by
    render_text_store.py, imported the first time one of them is rendered: a command about tasks never
    imports it."""
    from . import render_sync, render_text_store, render_transfer  # noqa: F401 (they register them)

    if text.dispatch(type(result)) is not _unregistered:  # (registered by that import)
        return text(result, r)
    raise TypeError(f"no text rendering for {result!r}")


_unregistered = text.dispatch(object)


def _shown(text: str, *, tabs: bool = False) -> str:
    """User text as the terminal must show it (see text.terminal_safe): escaped here, before it is
    measured for a column or styled, so that tables stay aligned; the writer escapes anything else."""
    return terminal_safe(text, lines=tabs)


# -- tasks ----------------------------------------------------------------------------------


@text.register
def _saved(result: TaskSaved, r: TextRenderer) -> str:
    return _shown(change_text.task_saved(result.verb, result.task, result.changed))


@text.register
def _changed(result: TasksChanged, r: TextRenderer) -> str:
    lines = change_text.tasks_changed(result.verb, result.changed, result.unchanged, result.unchanged_reason,
                                      result.made)
    return "\n".join(map(_shown, lines))


@text.register
def _plain(result: HelpText | Declined, r: TextRenderer) -> str:
    return result.text


def _due(r: TextRenderer, task: Task) -> tuple[str, tuple[str, ...]]:
    if task.due is None:
        return "", ()
    shown_day = r.day(task.due.isoformat())
    if task.is_open and task.due < r.today:
        return shown_day, ("overdue",)
    if task.is_open and task.due == r.today:
        return shown_day, ("due_today",)
    return shown_day, ()


def row_state(task: dict[str, Any], today: str, blocked: frozenset[str],
              conflicted: frozenset[str] = frozenset()) -> str | None:
    """The state a task's row is shown in (a role of the theme: ROW_STATES, highest precedence first), or None.

    ``task`` is a stored task (task_to_dict's form), ``today`` an ISO date (a date as written sorts as the
    date does), ``blocked`` the uuids of the blocked tasks among those shown (TaskTable.blocked), and
    ``conflicted`` those in conflict (TaskTable.conflicted).
    """
    if conflicted and task["uuid"] in conflicted:
        return "conflict"
    status = task["status"]
    if status != "open":
        return "done" if status == "done" else None
    if task["started"]:
        return "active"
    due = task["due"]
    if due is not None and due <= today:
        return "overdue" if due < today else "due_today"
    if blocked and task["uuid"] in blocked:
        return "blocked"
    wait = task["wait"]
    return "waiting" if wait is not None and wait > today else None


@text.register
def _table(result: TaskTable, r: TextRenderer) -> str:
    from ..domain.query import Show  # (a table's alone: the other commands never import the query)

    summary = fold(_summary(result), r.width)
    if not result.tasks:
        return "\n".join([summary, *_conflict_footer(result, r)])
    if result.columns is not None:
        return _columns_table(result, r, summary)
    with_status = result.show is not Show.OPEN
    with_project = any(t["project"] is not None for t in result.tasks)
    with_urgency = result.urgency is not None
    today = r.today.isoformat()  # a date as written sorts as the date does
    states = [row_state(t, today, result.blocked, result.conflicted) for t in result.tasks]
    with_flag = any(state in FLAG_WORDS for state in states)
    headers = ["ID", *(["Status"] if with_status else []), "Pri", "Due", *(["Flag"] if with_flag else []),
               *(["Project"] if with_project else []), "Title", "Tags", *(["Urg"] if with_urgency else [])]
    rows = _cells(result.tasks, with_status, with_project)
    if result.conflicted:  # '!' before the id: a conflict is marked whatever the width and the colours
        for cells, state in zip(rows, states, strict=True):
            if state == "conflict":
                cells[0] = CONFLICT_MARK + cells[0]
    due_at = headers.index("Due")
    if r.date_format is not None:
        for cells in rows:
            cells[due_at] = r.day(cells[due_at])
    if with_flag:
        for cells, state in zip(rows, states, strict=True):
            cells.insert(due_at + 1, FLAG_WORDS.get(state or "", ""))
    if result.urgency is not None:
        for cells, score in zip(rows, result.urgency, strict=True):
            cells.append(f"{score:.1f}")
    natural = column_widths([headers, *rows])
    layout = fit(natural, r.width, cut=headers.index("Title"),
                 drop_order=[headers.index(h) for h in _TASK_DROPS if h in headers])
    lines = [r.style(table_row(layout, headers), "header")]
    if r.style.enabled:
        codes = r.style.codes
        priority_at, tags_at = headers.index("Pri"), headers.index("Tags")
        for task, cells, state in zip(result.tasks, rows, states, strict=True):
            if state is not None and codes[state]:  # one style for the whole row: its state's
                lines.append(r.style(table_row(layout, cells), state))
                continue
            styles: list[tuple[str, ...]] = [()] * len(headers)
            if task["priority"]:
                styles[priority_at] = (PRIORITY_STYLE[task["priority"]],)
            if task["tags"]:
                styles[tags_at] = ("tags",)
            lines.append(table_row(layout, cells, styles, r.style))
    else:  # the common case of a pipe or a script: no styles to look up, one format per row
        lines += plain_rows(layout, natural, rows)
    return "\n".join([*lines, summary, *_conflict_footer(result, r)])


def _conflict_footer(result: TaskTable, r: TextRenderer) -> list[str]:
    """A line saying how many tasks are in conflict and the way out, when any is (shown or not)."""
    if not result.conflicts:
        return []
    ids = result.conflicts
    count = f"{len(ids)} task{'' if len(ids) == 1 else 's'}"
    first = ids[0]
    line = (f"{CONFLICT_MARK} {count} in conflict ({', '.join(map(str, ids[:10]))}{', …' if len(ids) > 10 else ''}): "
            f"'{typed(f'show {first}')}' shows both versions, '{typed(f'resolve {first} --take mine|theirs')}' chooses")
    return [r.style(fold(line, r.width), "warning")]


def _local_day(moment: str | None) -> str:
    """A stored UTC moment as the local day it falls on ("" for none)."""
    return local_time(dt.datetime.fromisoformat(moment)).date().isoformat() if moment else ""


#: A report's columns (config file, [reports.NAME] columns): each its heading and its cell from a stored task.
_COLUMNS: dict[str, tuple[str, Any]] = {
    "id": ("ID", lambda t: str(t["id"])),
    "uuid": ("UUID", lambda t: t["uuid"]),
    "status": ("Status", lambda t: t["status"]),
    "title": ("Title", lambda t: t["title"]),
    "project": ("Project", lambda t: t["project"] or ""),
    "priority": ("Pri", lambda t: t["priority"] or ""),
    "due": ("Due", lambda t: t["due"] or ""),
    "scheduled": ("Scheduled", lambda t: t["scheduled"] or ""),
    "wait": ("Wait", lambda t: t["wait"] or ""),
    "until": ("Until", lambda t: t["until"] or ""),
    "tags": ("Tags", lambda t: " ".join(t["tags"])),
    "created": ("Created", lambda t: _local_day(t["created"])),
    "updated": ("Updated", lambda t: _local_day(t["updated"])),
    "completed": ("Completed", lambda t: _local_day(t["completed"])),
    "started": ("Started", lambda t: _local_day(t["started"])),
    "depends": ("Depends", lambda t: str(len(t["depends"])) if t["depends"] else ""),
    "annotations": ("Notes", lambda t: str(len(t["annotations"])) if t["annotations"] else ""),
    "note": ("Note", lambda t: t["note"].split("\n", 1)[0]),
    "recur": ("Recur", lambda t: t["recur"] or ""),
}


def _columns_table(result: TaskTable, r: TextRenderer, summary: str) -> str:
    """A report's own columns, in its order; the title column (else the widest) is the one cut to fit."""
    names = [name for name in result.columns or () if name in _COLUMNS or name == "urgency"]
    headers = ["Urg" if name == "urgency" else _COLUMNS[name][0] for name in names]
    scores = result.urgency or ()
    days = {"due", "scheduled", "wait", "until"}
    rows = [[f"{scores[i]:.1f}" if name == "urgency" and i < len(scores) else
             "" if name == "urgency" else r.day(task[name] or "") if name in days
             else _shown(_COLUMNS[name][1](task)) for name in names]
            for i, task in enumerate(result.tasks)]
    natural = column_widths([headers, *rows])
    cut = names.index("title") if "title" in names else max(range(len(names)), key=lambda i: natural[i])
    layout = fit(natural, r.width, cut=cut, drop_order=[i for i in reversed(range(len(names))) if i not in (0, cut)])
    if result.conflicted and "id" in names:
        at = names.index("id")
        for row, task in zip(rows, result.tasks, strict=True):
            if task["uuid"] in result.conflicted:
                row[at] = CONFLICT_MARK + row[at]
    lines = [table_row(layout, row) for row in rows]
    if r.style.enabled:  # a report's own columns: each row in its state's style (the columns are the report's)
        today = r.today.isoformat()
        for index, task in enumerate(result.tasks):
            state = row_state(task, today, result.blocked, result.conflicted)
            if state is not None:
                lines[index] = r.style(lines[index], state)
    return "\n".join([r.style(table_row(layout, headers), "header"), *lines, summary, *_conflict_footer(result, r)])


def _cells(tasks: Sequence[dict[str, Any]], with_status: bool, with_project: bool = False) -> list[list[str]]:
    """The cells of each task's row (tasks as the store writes them), user text escaped before it is measured."""
    rows = [[str(t["id"]), t["status"], t["priority"] or "", t["due"] or "", t["title"], " ".join(t["tags"])]
            for t in tasks]
    for cells in rows:
        if not cells[4].isprintable():  # (what _shown does first, at C speed, for the common case)
            cells[4] = _shown(cells[4])
        if not cells[5].isprintable():
            cells[5] = _shown(cells[5])
    if with_project:
        for cells, task in zip(rows, tasks, strict=True):
            project = task["project"] or ""
            cells.insert(4, project if project.isprintable() else _shown(project))
    if not with_status:
        for cells in rows:
            del cells[1]
    return rows


def _summary(result: TaskTable) -> str:
    from ..domain.query import Show

    shown = len(result.tasks)
    if not result.open_count and not result.done_count:
        return f"no tasks yet; add one with: {typed('add TITLE')}"
    noun = "task" if shown == 1 else "tasks"
    counts = f"({result.open_count} open, {result.done_count} done in all)"
    if result.filter_text and not shown:
        which = "open task" if result.show is Show.OPEN else "done task" if result.show is Show.DONE else "task"
        return f"no {which} matches {_shown(result.filter_text)} {counts}"
    if result.more:
        counts = f"and {result.more} more; limit:N shows more {counts}"
    if result.show is Show.OPEN:
        return f"{shown} open {noun} shown {counts}"
    if result.show is Show.DONE:
        return f"{shown} done {noun} shown {counts}"
    return f"{shown} {noun} shown {counts}"


@text.register
def _detail(result: TaskDetail, r: TextRenderer) -> str:
    task = result.task

    def stamp(value: dt.datetime) -> str:
        return local_time(value).strftime("%Y-%m-%d %H:%M %Z")

    due, due_style = _due(r, task)
    uuid = str(task.uuid)
    record = {"status": task.status.value, "started": task.started, "due": task.due.isoformat() if task.due else None,
              "uuid": uuid, "wait": task.wait.isoformat() if task.wait else None}
    state = row_state(record, r.today.isoformat(), frozenset({uuid}) if result.blocked else frozenset())
    fields = [
        ("status", task.status.value, (state,) if state is not None else ()),
        ("priority", task.priority.value if task.priority else "", ()),
        ("due", due, due_style),
        ("tags", _shown(" ".join(task.tags)), ("tags",)),
        ("project", _shown(task.project or ""), ()),
        ("scheduled", r.day(task.scheduled.isoformat()) if task.scheduled else "", ()),
        ("wait", r.day(task.wait.isoformat()) if task.wait else "", ()),
        ("until", r.day(task.until.isoformat()) if task.until else "", ()),
        ("started", stamp(task.started) if task.started else "", ("green",)),
        ("depends", _shown(" ".join(result.depends_text)), ()),
        ("created", stamp(task.created), ()),
        ("updated", stamp(task.updated), ()),
        ("completed", stamp(task.completed) if task.completed else "", ()),
        ("uuid", str(task.uuid), ("dim",)),
    ]
    lines = [r.style(f"Task {task.id}: {_shown(task.title)}", "header")]
    lines += [f"  {name:<10} {r.style(value, *styles)}" for name, value, styles in fields if value]
    if task.annotations:
        lines.append("  annotations")
        lines += [f"    {n}. {r.style(stamp(a.at), 'dim')}  {_shown(a.text)}" for n, a in enumerate(task.annotations, 1)]
    if task.extra:  # other tools' attributes, one a line (a newline in a value shown as \n)
        lines.append("  extra")
        lines += [f"    {_shown(name)}: {_shown(str(value))}" for name, value in task.extra]
    if task.note:
        lines += ["  note"] + [f"    {_shown(line, tabs=True)}" for line in task.note.split("\n")]
    if result.conflict is not None:  # (sync's: its module is imported by a task in conflict alone)
        from .render_sync import conflict_lines

        lines += conflict_lines(result, r)
    return "\n".join(lines)


@text.register
def _settings(result: SettingsTable, r: TextRenderer) -> str:
    rows = [["Setting", "Value", "From"], *([_shown(cell) for cell in row] for row in result.rows)]
    widths = [max(text_width(row[i]) for row in rows) for i in range(2)]

    def line(row: list[str]) -> str:
        return "  ".join(cell + " " * (widths[i] - text_width(cell)) for i, cell in enumerate(row[:2])) + "  " + row[2]

    return "\n".join([r.style(line(rows[0]).rstrip(), "header"), *(line(row).rstrip() for row in rows[1:])])


@text.register
def _context(result: ContextShown, r: TextRenderer) -> str:
    if result.changed:
        return (f"Context {_shown(result.active)} is active: list and next show what it matches"
                if result.active is not None else "No context is active.")
    lines = [f"active context: {_shown(result.active) if result.active is not None else 'none'}"]
    if not result.contexts:
        lines.append("no contexts defined: add them to the config file under [contexts], as NAME = \"FILTER\"")
    for name, filter_text in result.contexts:
        mark = "*" if name == result.active else " "
        lines.append(f"{mark} {_shown(name)}  {_shown(filter_text)}")
    return "\n".join(lines)


@text.register
def _project_or_tag_summary(result: Summary, r: TextRenderer) -> str:
    if not result.rows:
        return f"no open task has a {result.what}"
    nested = result.what == "project"  # a sub-project is shown by its last part, under its parent
    labels = [("  " * name.count(".") + _shown(name.rsplit(".", 1)[-1])) if nested else _shown(name)
              for name, _ in result.rows]
    heading = result.what.capitalize()
    width = max(len(heading), *map(text_width, labels))
    lines = [r.style(f"{heading:<{width}}  Tasks", "header")]
    for label, (_, count) in zip(labels, result.rows, strict=True):
        lines.append(f"{label}{' ' * (width - text_width(label))}  {count:>5}")
    noun = "projects" if result.what == "project" else "tags"
    lines.append(f"{len(result.rows)} {noun if len(result.rows) != 1 else result.what}; "
                 f"{change_text.tasks(result.none)} without one")
    return "\n".join(lines)


# -- history, undo and redo -------------------------------------------------------------------


#: How many tasks an undo or redo names one a line before it gives the count of the rest.
_EFFECTS_SHOWN = 50

@text.register
def _reverted(result: Reverted, r: TextRenderer) -> str:
    rev, verb = result.reversal, result.reversal.verb
    lines = [_shown(change_text.reverted_line(verb, e)) for e in rev.effects[:_EFFECTS_SHOWN]]
    if len(rev.effects) > _EFFECTS_SHOWN:  # (an import of 100,000 tasks undone: the count, not every line)
        lines.append(f"{verb}: … and {len(rev.effects) - _EFFECTS_SHOWN:,} more tasks ({len(rev.effects):,} in all)")
    lines += [r.style(_shown(change_text.skipped_line(verb, s)), "warning") for s in rev.skipped]
    lines += [r.style(change_text.gone_line(verb, revision), "warning") for revision in rev.gone]
    if not rev.effects:
        lines.append(change_text.nothing_reverted(verb))
    if result.dry_run:
        lines.append(r.style(change_text.DRY_RUN, "dim"))
    return "\n".join(lines)


@text.register
def _history(result: HistoryList, r: TextRenderer) -> str:
    if not result.steps:
        return fold(change_text.no_history(result.task_id), r.width)
    rows, marks = [], []
    for step in result.steps:
        undone = step.revision in result.undone
        when = local_time(step.at).strftime("%Y-%m-%d %H:%M") if step.at is not None else "(before 0.2)"
        rows.append([str(step.revision), when, _shown(change_text.history_line(step, result.task_id, undone))])
        marks.append(len(_shown(step.change.command)) if undone else -1)
    layout = fit([max(5, *(len(cells[0]) for cells in rows)), max(len(cells[1]) for cells in rows),
                  max(text_width(cells[2]) for cells in rows)], r.width, cut=2, drop_order=_HISTORY_DROPS, least=24)
    lines = []
    for cells, at in zip(rows, marks, strict=True):
        line = table_row(layout, cells)
        if at >= 0 and r.style.enabled:  # the mark is styled once the line is cut: it may be cut too
            start = len(line) - len(layout.cells(cells)[-1][1]) + at
            mark = line[start:start + len(change_text.UNDONE_MARK)]
            line = line[:start] + r.style(mark, "yellow") + line[start + len(mark):]
        lines.append(line)
    lines.append(r.style(fold(change_text.history_shown(len(result.steps), result.limit, result.kept), r.width),
                         "dim"))
    return "\n".join(lines)


def error_text(error: TaskvaultError) -> str:
    """``error: WHAT (WHAT TO DO)``, on one line whatever the message quotes."""
    return one_line(f"error: {bounded(error.message)}" + (f" ({bounded(error.hint)})" if error.hint else ""))

