"""Turning command results and errors into text for people or JSON for programs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs

from ..commands import recovery_text
from ..commands.context import local_time
from ..commands.results import (
    BackupList,
    BackupTaken,
    Declined,
    DoctorReport,
    HelpText,
    HistoryList,
    Restored,
    Result,
    Reverted,
    Salvaged,
    StoreStats,
    TaskDetail,
    TaskSaved,
    TasksChanged,
    TaskTable,
)
from ..domain.history import Step
from ..domain.query import Show
from ..domain.recovery import describe, effect_line, quoted
from ..domain.task import Priority, Task
from ..domain.timestamps import format_timestamp
from ..errors import TaskvaultError, typed
from ..limits import MAX_MESSAGE_CHARS
from ..service import task_to_dict
from .columns import Layout, fit, fold, pad, text_width
from .text import terminal_safe

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


_PRIORITY_STYLE = {Priority.HIGH: ("red", "bold"), Priority.MEDIUM: ("yellow",), Priority.LOW: ("dim",)}

#: The columns a narrow terminal drops first, least useful first (ID and the cut column always stay).
#: Tags and priority are in ``show``; a done task is dimmed; the due date goes last.
_TASK_DROPS = ("Tags", "Pri", "Status", "Due")
#: A backup's id already says when it was taken; its size and revision matter less than its count.
_BACKUP_DROPS = ("Taken", "Size", "Rev", "Tasks")
#: A history line: revision, time, change (cut, to no less than 24 columns); the time goes first.
_HISTORY_DROPS = (1,)


def _row(layout: Layout, cells: list[str], styles: list[tuple[str, ...]] | None = None,
         style: Style | None = None, *, right: int = 0) -> str:
    """One line of a table: the columns ``layout`` keeps, each cut and padded to its width
    (column ``right`` aligned right), styled after it is measured."""
    parts = []
    for i, text, width in layout.cells(cells):
        if i == right:
            padded = text.rjust(width) if text.isascii() else " " * (width - text_width(text)) + text
        else:
            padded = text.ljust(width) if text.isascii() else pad(text, width)
        parts.append(style(padded, *styles[i]) if style and styles and styles[i] else padded)
    return "  ".join(parts).rstrip()


class TextRenderer:
    def __init__(self, style: Style, *, today: dt.date, width: int | None = None) -> None:
        self.style = style
        self.today = today
        #: The terminal's width, to clip long titles; None (a pipe) never clips.
        self.width = width

    def render(self, result: Result) -> str:
        match result:
            case TaskSaved(verb="added", task=task):
                return f"Added task {task.id}: {_shown(task.title)}"
            case TaskSaved(task=task, changed=False):
                return f"Task {task.id} unchanged: {_shown(task.title)}"
            case TaskSaved(task=task):
                return f"Updated task {task.id}: {_shown(task.title)}"
            case TaskDetail(task=task):
                return self.detail(task)
            case TaskTable():
                return self.table(result)
            case TasksChanged():
                return self.changed(result)
            case HelpText(text=text) | Declined(text=text):
                return text
            case Reverted():
                return self.reverted(result)
            case HistoryList():
                return self.history(result)
            case BackupTaken(backup=b):
                return f"Backed up {b.task_count} tasks at revision {b.revision} as {b.id} ({_size(b.size)}, verified)"
            case BackupList():
                return self.backups(result)
            case Restored():
                return self.restored(result)
            case Salvaged():
                return self.salvaged(result)
            case DoctorReport():
                return self.doctor(result)
            case StoreStats():
                return self.stats(result)
        raise TypeError(f"no text rendering for {result!r}")

    def reverted(self, result: Reverted) -> str:
        r = result.reversal
        lines = [f"{r.verb}: {effect_line(e)}" for e in r.effects]
        lines += [self.style(f"{r.verb}: skipped {s.step.kind} {s.task_id} {quoted(s.title)}: {s.reason}", "yellow")
                  for s in r.skipped]
        lines += [self.style(f"{r.verb}: skipped revision {rev}: another session already {r.verb}ne it", "yellow")
                  for rev in r.gone]
        if not r.effects:
            lines.append(f"Nothing {r.verb}ne.")
        if result.dry_run:
            lines.append(self.style("(dry run: nothing was changed)", "dim"))
        return "\n".join(lines)

    def _when(self, step: Step) -> str:
        return local_time(step.at).strftime("%Y-%m-%d %H:%M") if step.at is not None else "(before 0.2)"

    def history(self, result: HistoryList) -> str:
        if not result.steps:
            what = f" to task {result.task_id}" if result.task_id is not None else ""
            return fold(f"no changes{what} in the history yet", self.width)
        rows, marks = [], []
        for step in result.steps:
            ids = [i for i in step.touched if result.task_id is None or i == result.task_id]
            effects = [f"{i} {quoted((step.before(i) or step.after(i)).title)} → "  # type: ignore[union-attr]
                       f"{describe(step.before(i), step.after(i), revived=step.change.revives)}" for i in ids[:3]]
            more = f" (and {len(ids) - 3} more)" if len(ids) > 3 else ""
            mark = " (undone)" if step.revision in result.undone else ""
            rows.append([str(step.revision), self._when(step),
                         _shown(f"{step.change.command}{mark}: " + "; ".join(effects) + more)])
            marks.append(len(_shown(step.change.command)) if mark else -1)
        layout = fit([max(5, *(len(r[0]) for r in rows)), max(len(r[1]) for r in rows),
                      max(text_width(r[2]) for r in rows)], self.width, cut=2, drop_order=_HISTORY_DROPS,
                     least=24)
        lines = []
        for row, at in zip(rows, marks, strict=True):
            line = _row(layout, row)
            if at >= 0 and self.style.enabled:  # the mark is styled once the line is cut: it may be cut too
                start = len(line) - len(layout.cells(row)[-1][1]) + at
                mark = line[start:start + len(" (undone)")]
                line = line[:start] + self.style(mark, "yellow") + line[start + len(mark):]
            lines.append(line)
        shown = len(result.steps)
        lines.append(self.style(fold(f"{shown} change{'s' if shown != 1 else ''} shown; the history keeps the last "
                                     f"{result.limit} ({result.kept} now)", self.width), "dim"))
        return "\n".join(lines)

    def backups(self, result: BackupList) -> str:
        if not result.backups:
            return fold(f"no backups yet in {result.directory}; take one with: {typed('backup')}", self.width)
        header = ["ID", "Taken", "Rev", "Tasks", "Size", "Kind"]
        rows = [[b.id, local_time(b.taken).strftime("%Y-%m-%d %H:%M"), str(b.revision), str(b.task_count),
                 _size(b.size), _shown(b.label if b.automatic else f"{b.label} (kept)")] for b in result.backups]
        layout = fit([max(text_width(r[i]) for r in [header, *rows]) for i in range(len(header))], self.width,
                     cut=header.index("Kind"), drop_order=[header.index(h) for h in _BACKUP_DROPS])
        lines = [self.style(_row(layout, header, right=-1), "bold")]
        lines += [_row(layout, r, right=-1) for r in rows]
        lines.append(fold(f"{len(rows)} backup{'s' if len(rows) != 1 else ''} in {result.directory}", self.width))
        return "\n".join(lines)

    def restored(self, result: Restored) -> str:
        b = result.backup
        drops = ""
        if result.dropped is not None:
            drops = "\n" + recovery_text.sentence(recovery_text.dropped_sentence(
                b, result.dropped, unreadable=result.plan is None, done=not result.dry_run))
        if result.plan is None:
            aside = ", ".join(result.aside) or "nothing"
            if result.dry_run:
                return (f"Would put backup {b.id} ({b.revision_text}) in place of the unreadable store, keeping "
                        f"{aside} aside.{drops}\n" + self.style("(dry run: nothing was changed)", "dim"))
            return (f"Restored backup {b.id}: {result.task_count} tasks. The unreadable files are kept as: {aside}"
                    f"{drops}")
        plan = result.plan
        lines = [f"  + {t.id} {_shown(t.title)}" for t in plan.added]
        lines += [f"  - {t.id} {_shown(t.title)}" for t in plan.removed]
        lines += [f"  ~ {new.id} {_shown(new.title)}: {describe(old, new)}" for old, new in plan.changed]
        summary = f"{len(plan.added)} added, {len(plan.removed)} removed, {len(plan.changed)} changed"
        if plan.change.is_empty:
            return f"The store already equals backup {b.id}; nothing to restore."
        if result.dry_run:
            return "\n".join([f"Restoring backup {b.id} would {recovery_text.plan_effects(plan)}:", *lines]) + drops + "\n" + \
                self.style("(dry run: nothing was changed)", "dim")
        kept = f"; the store before it is backup {result.kept.id}" if result.kept else ""
        return "\n".join([f"Restored backup {b.id}: {summary}{kept} ('undo' reverses it)", *lines]) + drops

    def salvaged(self, result: Salvaged) -> str:
        report, plan = result.report, result.plan
        if report is None or plan is None:
            revision, count = result.loaded
            return (f"The store loads (revision {revision}, {count} task{'s' if count != 1 else ''}): there is "
                    f"nothing to salvage; '{typed('doctor')}' checks it.")
        account = recovery_text.salvage_account(report, plan)
        if result.dry_run:
            return "\n".join([recovery_text.salvage_headline(report, done=False), *account,
                              recovery_text.salvage_keeping(report, plan),
                              self.style("(dry run: nothing was changed)", "dim")])
        lost = recovery_text.lost_line(report)
        headline = (f"{recovery_text.salvage_headline(report, done=True)}, from "
                    f"{recovery_text.salvage_source(report)} and {report.replayed} journal "
                    f"record{'s' if report.replayed != 1 else ''}; the damaged files are kept as: "
                    f"{', '.join(result.aside) or 'nothing'}")
        undo = (f"{len(plan.added)} added, {len(plan.removed)} removed, {len(plan.changed)} changed compared with "
                f"{recovery_text.base_name(report)} ('undo' goes back to it)" if not plan.change.is_empty
                else f"nothing intact goes beyond {recovery_text.base_name(report)}, so the store is now exactly that")
        return "\n".join([headline, undo, self.style(lost, "yellow") if report.lost_records or report.missing
                          else lost])

    def doctor(self, result: DoctorReport) -> str:
        marks = {"ok": ("ok", "green"), "warning": ("warning", "yellow"), "problem": ("PROBLEM", "red")}
        lines = []
        for f in result.findings:
            word, colour = marks[f.level]
            lines.append(f"{self.style(word.ljust(7), colour)}  {f.subject}: {one_line(f.text)}")
            if f.fix and f.level != "ok":
                lines.append(f"         → {one_line(f.fix)}")
        problems = sum(f.level == "problem" for f in result.findings)
        warnings = sum(f.level == "warning" for f in result.findings)
        lines.append(f"{problems} problem{'s' if problems != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
        return "\n".join(lines)

    @staticmethod
    def stats(r: StoreStats) -> str:
        def seconds(value: float | None, none: str) -> str:
            return f"{value * 1000:.1f} ms" if value is not None else none
        rows = [
            ("store", r.directory),
            ("tasks", f"{r.open_count + r.done_count} ({r.open_count} open, {r.done_count} done); next id {r.next_id}"),
            ("revision", f"{r.revision} (schema {r.schema})"),
            ("history", f"{r.history_steps} changes kept; {r.undoable} can be undone, {r.redoable} redone"),
            ("snapshot", _size(r.snapshot_bytes)),
            ("journal", f"{_size(r.journal_bytes)}, {r.journal_records} change{'s' if r.journal_records != 1 else ''} "
                        "since the last compaction"),
            ("backups", f"{r.backup_count}, {_size(r.backup_bytes)} in all"),
            # One-shot, script or session: each is one run of taskvault, and times only its own saves.
            ("last load", seconds(r.load_seconds, "not loaded from disk since taskvault started")),
            ("last save", seconds(r.save_seconds, "none since taskvault started") + (
                f" ({r.saves} save{'s' if r.saves != 1 else ''} since taskvault started)" if r.saves else "")),
        ]
        return "\n".join(f"{name:<10} {value}" for name, value in rows)

    def changed(self, result: TasksChanged) -> str:
        verb = {"done": "Completed", "reopened": "Reopened", "deleted": "Deleted"}[result.verb]
        lines = [f"{verb} task {t.id}: {_shown(t.title)}" for t in result.changed]
        lines += [f"Task {t.id} was {result.unchanged_reason}: {_shown(t.title)}" for t in result.unchanged]
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
        summary = fold(self._summary(result), self.width)
        if not result.tasks:
            return summary
        with_status = result.show is not Show.OPEN
        headers = ["ID", *(["Status"] if with_status else []), "Pri", "Due", "Title", "Tags"]
        rows = [self._cells(t, with_status) for t in result.tasks]
        layout = fit([max(map(text_width, column)) for column in zip(headers, *rows, strict=True)], self.width,
                     cut=headers.index("Title"), drop_order=[headers.index(h) for h in _TASK_DROPS if h in headers])
        lines = [self.style(_row(layout, headers), "bold")]
        if self.style.enabled:
            for task, cells in zip(result.tasks, rows, strict=True):
                line = _row(layout, cells, self._styles(task, with_status), self.style)
                lines.append(line if task.is_open else self.style(line, "dim"))
        else:  # the common case of a pipe or a script: no styles to look up, one join per row
            lines += [_row(layout, cells) for cells in rows]
        return "\n".join(lines + [summary])

    def _cells(self, task: Task, with_status: bool) -> list[str]:
        priority = task.priority.value if task.priority else ""
        due = "" if task.due is None else task.due.isoformat()
        title, tags = _shown(task.title), _shown(" ".join(task.tags))  # escaped before they are measured
        if with_status:
            return [str(task.id), task.status.value, priority, due, title, tags]
        return [str(task.id), priority, due, title, tags]

    def _styles(self, task: Task, with_status: bool) -> list[tuple[str, ...]]:
        priority = _PRIORITY_STYLE[task.priority] if task.priority else ()
        return [(), *([()] if with_status else []), priority, self._due(task)[1], (), ("cyan",)]

    @staticmethod
    def _summary(result: TaskTable) -> str:
        shown = len(result.tasks)
        if not result.open_count and not result.done_count:
            return f"no tasks yet; add one with: {typed('add TITLE')}"
        noun = "task" if shown == 1 else "tasks"
        if result.show is Show.OPEN:
            return f"{shown} open {noun} shown ({result.open_count} open, {result.done_count} done in all)"
        if result.show is Show.DONE:
            return f"{shown} done {noun} shown ({result.open_count} open, {result.done_count} done in all)"
        return f"{shown} {noun} shown ({result.open_count} open, {result.done_count} done in all)"

    def detail(self, task: Task) -> str:
        def stamp(value: dt.datetime) -> str:
            return local_time(value).strftime("%Y-%m-%d %H:%M %Z")

        due, due_style = self._due(task)
        fields = [
            ("status", task.status.value, ()),
            ("priority", task.priority.value if task.priority else "", ()),
            ("due", due, due_style),
            ("tags", _shown(" ".join(task.tags)), ("cyan",)),
            ("created", stamp(task.created), ()),
            ("updated", stamp(task.updated), ()),
            ("completed", stamp(task.completed) if task.completed else "", ()),
            ("uuid", str(task.uuid), ("dim",)),
        ]
        lines = [self.style(f"Task {task.id}: {_shown(task.title)}", "bold")]
        lines += [f"  {name:<10} {self.style(value, *styles)}" for name, value, styles in fields if value]
        if task.note:
            lines += ["  note"] + [f"    {_shown(line, tabs=True)}" for line in task.note.split("\n")]
        return "\n".join(lines)


def _shown(text: str, *, tabs: bool = False) -> str:
    """User text as the terminal must show it (see text.terminal_safe): escaped here, before it is
    measured for a column or styled, so that tables stay aligned; the writer escapes anything else."""
    return terminal_safe(text, lines=tabs)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 2**20:.1f} MiB"


def one_line(text: str) -> str:
    """``text`` with every character a terminal would not show as itself escaped (``\\n``, ``\\x1b``, ...).

    Messages name files, and a file name may hold a newline or an escape sequence: shown raw, it
    would split the one error line in two, or forge a line of its own.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _bounded(text: str) -> str:
    """A message of at most MAX_MESSAGE_CHARS: the last guard for one that quotes too much."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    half = (MAX_MESSAGE_CHARS - 1) // 2  # the middle goes (a long path), its start and its reason stay
    return text[:half] + "…" + text[-(MAX_MESSAGE_CHARS - 1 - half):]


def error_text(error: TaskvaultError) -> str:
    """``error: WHAT (WHAT TO DO)``, on one line whatever the message quotes."""
    return one_line(f"error: {_bounded(error.message)}" + (f" ({_bounded(error.hint)})" if error.hint else ""))


# -- JSON -------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_json(result: Result) -> str:
    match result:
        case TaskSaved(task=task, changed=changed):
            return _dumps(task_to_dict(task) | {"changed": changed})  # False: an edit to the values it had
        case TaskDetail(task=task):
            return _dumps(task_to_dict(task))
        case TaskTable(tasks=tasks):
            return _dumps([task_to_dict(t) for t in tasks])
        case TasksChanged(changed=changed, unchanged=unchanged):
            # Each task says whether this command changed it (False: it already was done, or open).
            marked = [(t, True) for t in changed] + [(t, False) for t in unchanged]
            return _dumps([task_to_dict(t) | {"changed": was} for t, was in sorted(marked, key=lambda m: m[0].id)])
        case HelpText(text=text):
            return _dumps({"help": text})
        case Declined():
            return _dumps([])
        case Reverted(reversal=r, dry_run=dry_run):
            return _dumps({"verb": r.verb, "dry_run": dry_run, "steps": [s.revision for s in r.steps],
                           "changed": [{"id": e.task_id, "step": e.step.revision, "command": e.step.change.command,
                                        "before": _task(e.before), "after": _task(e.after)} for e in r.effects],
                           "skipped": [{"id": s.task_id, "step": s.step.revision, "reason": s.reason}
                                       for s in r.skipped], "gone": list(r.gone)})
        case HistoryList(steps=steps, undone=undone):
            return _dumps([{"revision": s.revision, "at": _stamp(s), "command": s.change.command,
                            "undone": s.revision in undone, "undoes": list(s.change.undoes),
                            "redoes": list(s.change.redoes),
                            "tasks": [{"id": i, "before": _task(s.before(i)), "after": _task(s.after(i))}
                                      for i in s.touched]} for s in steps])
        case BackupTaken(backup=b):
            return _dumps(_backup(b))
        case BackupList(backups=backups):
            return _dumps([_backup(b) for b in backups])
        case Restored(backup=b, plan=plan, kept=kept, aside=aside, dry_run=dry_run, dropped=dropped):
            body: dict[str, Any] = {"backup": _backup(b), "dry_run": dry_run, "kept": _backup(kept) if kept else None,
                                    "unreadable_kept_as": list(aside), "drops": None if dropped is None else {
                                        "changes": dropped.count, "first": dropped.first, "last": dropped.last,
                                        "brought_back_by": "undo" if plan is not None else "salvage"}}
            if plan is not None:
                body |= {"added": [t.id for t in plan.added], "removed": [t.id for t in plan.removed],
                         "changed": [new.id for _, new in plan.changed]}
            return _dumps(body)
        case Salvaged(report=report, plan=plan, aside=aside, dry_run=dry_run, loaded=loaded):
            return _dumps(_salvaged(report, plan, aside, dry_run, loaded))
        case DoctorReport(findings=findings):
            return _dumps({"ok": result.exit_code == 0,
                           "findings": [{"level": f.level, "subject": f.subject, "text": f.text, "fix": f.fix}
                                        for f in findings]})
        case StoreStats():
            return _dumps(attrs.asdict(result))
    raise TypeError(f"no JSON rendering for {result!r}")


def _salvaged(report: Any, plan: Any, aside: tuple[str, ...], dry_run: bool, loaded: tuple[int, int]) -> dict[str, Any]:
    if report is None:
        return {"nothing_to_salvage": True, "revision": loaded[0], "tasks": loaded[1]}
    return {
        "nothing_to_salvage": False, "dry_run": dry_run, "refusal": report.refusal,
        "source": {"kind": report.source, "revision": report.source_revision,
                   "backup": _backup(report.backup) if report.backup is not None else None},
        "not_used": list(report.unusable),
        "revision": report.revision, "tasks": len(report.tasks),
        "replayed": {"records": report.replayed, "first": report.source_revision + 1 if report.replayed else None,
                     "last": report.revision if report.replayed else None},
        "lost": {"changes": report.missing, "claimed_revision": report.claimed_revision,
                 "records": report.lost_records, "bytes": report.lost_bytes, "at": report.lost_at,
                 "reason": report.lost_reason},
        "left_out": {"voided": report.voided, "unfinished_bytes": report.unfinished_bytes,
                     "unconfirmed_bytes": report.unconfirmed_bytes},
        "base": {"backup": _backup(report.newest_backup) if report.newest_backup is not None else None,
                 "revision": report.base.revision, "tasks": len(report.base)},
        "added": [t.id for t in plan.added], "removed": [t.id for t in plan.removed],
        "changed": [new.id for _, new in plan.changed],
        "unreadable_kept_as": list(aside),
    }


def _task(task: Task | None) -> dict[str, Any] | None:
    return task_to_dict(task) if task is not None else None


def _stamp(step: Step) -> str | None:
    return format_timestamp(step.at) if step.at is not None else None


def _backup(b: Any) -> dict[str, Any]:
    return {"id": b.id, "taken": b.taken.isoformat().replace("+00:00", "Z"), "revision": b.revision,
            "tasks": b.task_count, "size": b.size, "kind": b.label, "automatic": b.automatic, "path": str(b.path)}


def error_json(error: TaskvaultError, code: int, line: int | None = None, *, after: str | None = None) -> str:
    """The error as JSON; ``after`` says what was saved before it (then ``code`` is 4)."""
    message = _bounded(error.message) + (f"; {after}" if after else "")
    body: dict[str, Any] = {"error": error.kind, "message": message,
                            "hint": _bounded(error.hint) if error.hint else None, "code": code}
    if line is not None:
        body["line"] = line
    return _dumps(body)


__all__ = ["Style", "TextRenderer", "error_json", "error_text", "render_json"]
