"""Command results as JSON for programs (``--json``): one function per kind of result, registered with ``json_value``.

A new kind of result needs one ``@json_value.register`` function here (and one in render_text.py).
A task's JSON form is the storage format's, written by the one function that writes that format.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..commands import change_text
from ..commands.results import (
    BackupList,
    BackupTaken,
    ConflictList,
    ContextShown,
    Declined,
    DoctorReport,
    EncryptionChanged,
    Exported,
    HelpText,
    HistoryList,
    Imported,
    Resolved,
    Restored,
    Result,
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
from ..domain.history import Step
from ..domain.task import Task
from ..domain.timestamps import format_timestamp
from ..errors import TaskvaultError
from ..service import task_to_dict
from .text import bounded


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_json(result: Result) -> str:
    return _dumps(json_value(result))


@functools.singledispatch
def json_value(result: object) -> Any:
    """``result`` as the value ``--json`` prints."""
    raise TypeError(f"no JSON rendering for {result!r}")


def _task(task: Task | None) -> dict[str, Any] | None:
    return task_to_dict(task) if task is not None else None


def _stamp(step: Step) -> str | None:
    return format_timestamp(step.at) if step.at is not None else None


def _backup(b: Any) -> dict[str, Any]:
    return {"id": b.id, "taken": b.taken.isoformat().replace("+00:00", "Z"), "revision": b.revision,
            "tasks": b.task_count, "size": b.size, "kind": b.label, "automatic": b.automatic, "path": str(b.path)}


@json_value.register
def _saved(result: TaskSaved) -> Any:
    return task_to_dict(result.task) | {"changed": result.changed}  # False: an edit to the values it had


@json_value.register
def _detail(result: TaskDetail) -> Any:
    conflict = result.conflict
    if conflict is None:
        return task_to_dict(result.task)
    from ..domain.replica import RESOLVABLE_FIELDS, differing_fields

    present = [v for v in (conflict.mine, *(s.body for s in conflict.theirs)) if v is not None]
    fields = {n for i, a in enumerate(present) for b in present[i + 1:] for n in differing_fields(a, b)}
    # A task in conflict: every version, whole (null: deleted there), and the fields they differ in.
    return task_to_dict(result.task) | {"conflict": {
        "fields": [name for name in RESOLVABLE_FIELDS if name in fields],
        "ancestor": _task(conflict.ancestor), "mine": _task(conflict.mine),
        "theirs": [{"device": side.device, "task": _task(side.body)} for side in conflict.theirs]}}


@json_value.register
def _table(result: TaskTable) -> Any:
    if result.conflicted:  # (a task in conflict says so; the others are as the store writes them)
        tasks = [task | {"conflict": True} if task["uuid"] in result.conflicted else task for task in result.tasks]
    else:
        tasks = list(result.tasks)  # already as task_to_dict writes them
    if result.urgency is not None:
        return [task | {"urgency": score} for task, score in zip(tasks, result.urgency, strict=True)]
    return tasks


@json_value.register
def _changed(result: TasksChanged) -> Any:
    # Each task says whether this command changed it (False: it already was done, or open).
    marked = [(t, True) for t in result.changed] + [(t, False) for t in result.unchanged]
    return [task_to_dict(t) | {"changed": was} for t, was in sorted(marked, key=lambda m: m[0].id)]


@json_value.register
def _settings(result: SettingsTable) -> Any:
    return [{"setting": name, "value": value, "from": source} for name, value, source in result.rows]


@json_value.register
def _context(result: ContextShown) -> Any:
    return {"active": result.active, "contexts": dict(result.contexts)}


@json_value.register
def _summary(result: Summary) -> Any:
    return {result.what + "s": [{"name": name, "tasks": count} for name, count in result.rows],
            "without": result.none}


@json_value.register
def _help(result: HelpText) -> Any:
    return {"help": result.text}


@json_value.register
def _declined(result: Declined) -> Any:
    return []


@json_value.register
def _reverted(result: Reverted) -> Any:
    r = result.reversal
    return {"verb": r.verb, "dry_run": result.dry_run, "steps": [s.revision for s in r.steps],
            "changed": [{"id": e.task_id, "step": e.step.revision, "command": e.step.change.command,
                         "before": _task(e.before), "after": _task(e.after)} for e in r.effects],
            "skipped": [{"id": s.task_id, "step": s.step.revision, "reason": change_text.skip_reason(s)} for s in r.skipped],
            "gone": list(r.gone)}


@json_value.register
def _history(result: HistoryList) -> Any:
    return [{"revision": s.revision, "at": _stamp(s), "command": s.change.command,
             "undone": s.revision in result.undone, "undoes": list(s.change.undoes),
             "redoes": list(s.change.redoes),
             "tasks": [{"id": i, "before": _task(s.before(i)), "after": _task(s.after(i))} for i in s.touched]}
            for s in result.steps]


@json_value.register
def _backup_taken(result: BackupTaken) -> Any:
    return _backup(result.backup)


@json_value.register
def _encryption_changed(result: EncryptionChanged) -> Any:
    return {"operation": result.operation, "directory": result.directory, "encrypted": result.encrypted,
            "keyring": result.keyring, "backup": None if result.backup is None else _backup(result.backup),
            "converted": result.converted, "unconverted": list(result.unconverted)}


@json_value.register
def _backups(result: BackupList) -> Any:
    return [_backup(b) for b in result.backups]


@json_value.register
def _restored(result: Restored) -> Any:
    plan, kept, dropped = result.plan, result.kept, result.dropped
    body: dict[str, Any] = {"backup": _backup(result.backup), "dry_run": result.dry_run,
                            "kept": _backup(kept) if kept else None, "unreadable_kept_as": list(result.aside),
                            "drops": None if dropped is None else {
                                "changes": dropped.count, "first": dropped.first, "last": dropped.last,
                                "brought_back_by": "undo" if plan is not None else "salvage"}}
    if plan is not None:
        body |= {"added": [t.id for t in plan.added], "removed": [t.id for t in plan.removed],
                 "changed": [new.id for _, new in plan.changed]}
    return body


@json_value.register
def _imported(result: Imported) -> Any:
    plan, batch = result.plan, result.batch
    return {"format": result.format, "source": result.source, "dry_run": result.dry_run, "read": len(batch.tasks),
            "added": [t.id for t in plan.added], "updated": [new.id for _, new in plan.updated],
            "unchanged": [t.id for t in plan.unchanged], "newer_in_store": [t.id for t in plan.newer],
            "skipped": [{"where": n.where, "field": n.field, "what": n.what} for n in batch.skipped],
            "not_kept_as_it_was": [{"where": n.where, "field": n.field, "what": n.what} for n in batch.unmapped],
            "backup": _backup(result.backup) if result.backup is not None else None}


@json_value.register
def _exported(result: Exported) -> Any:
    return {"format": result.format, "tasks": result.count, "path": result.path}


@json_value.register
def _salvaged(result: Salvaged) -> Any:
    report, plan = result.report, result.plan
    if report is None:
        return {"nothing_to_salvage": True, "revision": result.loaded[0], "tasks": result.loaded[1]}
    assert plan is not None
    return {
        "nothing_to_salvage": False, "dry_run": result.dry_run, "refusal": report.refusal,
        "source": {"kind": report.source, "revision": report.source_revision,
                   "backup": _backup(report.backup) if report.backup is not None else None},
        "not_used": list(report.unusable),
        "revision": report.revision, "tasks": len(report.tasks),
        "replayed": {"records": report.replayed, "first": report.source_revision + 1 if report.replayed else None,
                     "last": report.revision if report.replayed else None},
        "lost": {"changes": report.missing, "claimed_revision": report.claimed_revision,
                 "records": report.lost_records, "bytes": report.lost_bytes, "at": report.lost_at,
                 "reason": report.lost_reason, "task_lines": list(report.dropped)},
        "left_out": {"voided": report.voided, "unfinished_bytes": report.unfinished_bytes,
                     "unconfirmed_bytes": report.unconfirmed_bytes},
        "base": {"backup": _backup(report.newest_backup) if report.newest_backup is not None else None,
                 "revision": report.base.revision, "tasks": len(report.base)},
        "added": [t.id for t in plan.added], "removed": [t.id for t in plan.removed],
        "changed": [new.id for _, new in plan.changed],
        "unreadable_kept_as": list(result.aside),
    }


@json_value.register
def _doctor(result: DoctorReport) -> Any:
    return {"ok": result.exit_code == 0,
            "findings": [{"level": f.level, "subject": f.subject, "text": f.text, "fix": f.fix}
                         for f in result.findings]}


@json_value.register
def _stats(result: StoreStats) -> Any:
    return result.fields()


@json_value.register
def _synced(result: SyncDone) -> Any:
    report = result.report
    conflicted = set(result.conflicts)
    return {"remote": report.remote, "received": report.received, "sent": report.sent,
            "new": [i for i in report.updated if i >= result.first_new and i not in conflicted],
            "changed": [i for i in report.updated if i < result.first_new and i not in conflicted],
            "removed": list(report.deleted), "conflicts": sorted(conflicted), "merged": list(report.merged),
            "revision": report.revision}


@json_value.register
def _sync_status(result: SyncShown) -> Any:
    status = result.status
    return {"remote": status.remote, "device": status.device, "unsynced": status.unsynced,
            "unsent": status.unpushed, "conflicts": list(status.conflicts), "last_sync": status.last_sync}


@json_value.register
def _resolved(result: Resolved) -> Any:
    return {"id": result.task_id, "take": result.take, "fields": dict(result.by_field),
            "deleted": result.task is None, "task": _task(result.task)}


@json_value.register
def _conflicts(result: ConflictList) -> Any:
    return {"conflicts": list(result.ids)}


def error_json(error: TaskvaultError, code: int, line: int | None = None, *, after: str | None = None) -> str:
    """The error as JSON; ``after`` says what was saved before it (then ``code`` is 4)."""
    message = bounded(error.message) + (f"; {after}" if after else "")
    body: dict[str, Any] = {"error": error.kind, "message": message,
                            "hint": bounded(error.hint) if error.hint else None, "code": code}
    if line is not None:
        body["line"] = line
    return _dumps(body)
