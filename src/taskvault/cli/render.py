"""Turning command results and errors into text for people or JSON for programs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from wcwidth import wcswidth

from ..codec import task_to_dict
from ..commands.results import Declined, HelpText, Result, TaskDetail, TaskSaved, TasksChanged, TaskTable
from ..domain.query import Show
from ..domain.task import Priority, Task
from ..errors import TaskvaultError

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class Style:
    """ANSI colour when enabled (a terminal without NO_COLOR), plain text otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def _width(text: str) -> int:
    width = wcswidth(text)
    return len(text) if width < 0 else width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _clip(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


_PRIORITY_STYLE = {Priority.HIGH: ("red", "bold"), Priority.MEDIUM: ("yellow",), Priority.LOW: ("dim",)}


class TextRenderer:
    def __init__(self, style: Style, *, today: dt.date, width: int | None = None) -> None:
        self.style = style
        self.today = today
        #: The terminal's width, to clip long titles; None (a pipe) never clips.
        self.width = width

    def render(self, result: Result) -> str:
        match result:
            case TaskSaved(verb="added", task=task):
                return f"Added task {task.id}: {task.title}"
            case TaskSaved(task=task, changed=False):
                return f"Task {task.id} unchanged: {task.title}"
            case TaskSaved(task=task):
                return f"Updated task {task.id}: {task.title}"
            case TaskDetail(task=task):
                return self.detail(task)
            case TaskTable():
                return self.table(result)
            case TasksChanged():
                return self.changed(result)
            case HelpText(text=text) | Declined(text=text):
                return text
        raise TypeError(f"no text rendering for {result!r}")

    def changed(self, result: TasksChanged) -> str:
        verb = {"done": "Completed", "reopened": "Reopened", "deleted": "Deleted"}[result.verb]
        lines = [f"{verb} task {t.id}: {t.title}" for t in result.changed]
        lines += [f"Task {t.id} was {result.unchanged_reason}: {t.title}" for t in result.unchanged]
        return "\n".join(lines)

    def _due(self, task: Task) -> tuple[str, tuple[str, ...]]:
        if task.due is None:
            return "", ()
        if task.is_open and task.due < self.today:
            return task.due.isoformat(), ("red",)
        if task.is_open and task.due == self.today:
            return task.due.isoformat(), ("yellow",)
        return task.due.isoformat(), ()

    def table(self, result: TaskTable) -> str:
        summary = self._summary(result)
        if not result.tasks:
            return summary
        with_status = result.show is not Show.OPEN
        headers = ["ID", *(["Status"] if with_status else []), "Pri", "Due", "Title", "Tags"]
        rows = []
        for t in result.tasks:
            due, due_style = self._due(t)
            cells = [(str(t.id), ()), *([(t.status.value, ())] if with_status else []),
                     (t.priority.value if t.priority else "", _PRIORITY_STYLE.get(t.priority, ()) if t.priority else ()),
                     (due, due_style), (t.title, ()), (" ".join(t.tags), ("cyan",))]
            rows.append((t, cells))
        widths = [max([_width(h)] + [_width(cells[i][0]) for _, cells in rows]) for i, h in enumerate(headers)]
        title_col = headers.index("Title")
        if self.width:
            others = sum(w for i, w in enumerate(widths) if i != title_col) + 2 * (len(widths) - 1)
            widths[title_col] = max(min(10, widths[title_col]), min(widths[title_col], self.width - others))
        lines = [self.style(self._row([(h, ()) for h in headers], widths, title_col), "bold")]
        for task, cells in rows:
            line = self._row(cells, widths, title_col)
            lines.append(self.style(line, "dim") if not task.is_open and self.style.enabled else line)
        return "\n".join(lines + [summary])

    def _row(self, cells: list[tuple[str, tuple[str, ...]]], widths: list[int], title_col: int) -> str:
        parts = []
        for i, ((text, styles), width) in enumerate(zip(cells, widths, strict=True)):
            text = _clip(text, width) if i == title_col else text
            padded = text.rjust(width) if i == 0 else _pad(text, width)
            parts.append(self.style(padded, *styles) if styles else padded)
        return "  ".join(parts).rstrip()

    @staticmethod
    def _summary(result: TaskTable) -> str:
        shown = len(result.tasks)
        if not result.open_count and not result.done_count:
            return "no tasks yet; add one with: taskvault add TITLE"
        noun = "task" if shown == 1 else "tasks"
        if result.show is Show.OPEN:
            return f"{shown} open {noun} shown ({result.open_count} open, {result.done_count} done in all)"
        if result.show is Show.DONE:
            return f"{shown} done {noun} shown ({result.open_count} open, {result.done_count} done in all)"
        return f"{shown} {noun} shown ({result.open_count} open, {result.done_count} done in all)"

    def detail(self, task: Task) -> str:
        def stamp(value: dt.datetime) -> str:
            return value.astimezone().strftime("%Y-%m-%d %H:%M %Z")

        due, due_style = self._due(task)
        fields = [
            ("status", task.status.value, ()),
            ("priority", task.priority.value if task.priority else "", ()),
            ("due", due, due_style),
            ("tags", " ".join(task.tags), ("cyan",)),
            ("created", stamp(task.created), ()),
            ("updated", stamp(task.updated), ()),
            ("completed", stamp(task.completed) if task.completed else "", ()),
            ("uuid", str(task.uuid), ("dim",)),
        ]
        lines = [self.style(f"Task {task.id}: {task.title}", "bold")]
        lines += [f"  {name:<10} {self.style(value, *styles)}" for name, value, styles in fields if value]
        if task.note:
            lines += ["  note"] + [f"    {line}" for line in task.note.splitlines()]
        return "\n".join(lines)


def error_text(error: TaskvaultError) -> str:
    return f"error: {error.message}" + (f" ({error.hint})" if error.hint else "")


# -- JSON -------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_json(result: Result) -> str:
    match result:
        case TaskSaved(task=task) | TaskDetail(task=task):
            return _dumps(task_to_dict(task))
        case TaskTable(tasks=tasks):
            return _dumps([task_to_dict(t) for t in tasks])
        case TasksChanged(changed=changed, unchanged=unchanged):
            return _dumps([task_to_dict(t) for t in sorted(changed + unchanged, key=lambda t: t.id)])
        case HelpText(text=text):
            return _dumps({"help": text})
        case Declined():
            return _dumps([])
    raise TypeError(f"no JSON rendering for {result!r}")


def error_json(error: TaskvaultError, code: int, line: int | None = None) -> str:
    body: dict[str, Any] = {"error": error.kind, "message": error.message, "hint": error.hint, "code": code}
    if line is not None:
        body["line"] = line
    return _dumps(body)


__all__ = ["Style", "TextRenderer", "error_json", "error_text", "render_json"]
