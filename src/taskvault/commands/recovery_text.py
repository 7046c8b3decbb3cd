"""The words for what a restore drops and what a salvage recovers: one home for the question asked
before the change, the preview and the result, so that the three never say different things."""

from __future__ import annotations

from ..domain.recovery import Dropped, RestorePlan, describe
from ..errors import typed
from ..service import Backup, SalvageReport

#: How many tasks a salvage lists one by one (--json lists them all).
LISTED = 20


def sentence(text: str) -> str:
    """``text`` as a sentence of its own: a capital first letter and a full stop."""
    return text[:1].upper() + text[1:] + "."


def revisions(first: int, last: int) -> str:
    return f"revision {first}" if first == last else f"revisions {first}–{last}"


def _changes(count: int) -> str:
    return f"{count} later change" + ("" if count == 1 else "s")


def tasks(count: int) -> str:
    """'1 task', '2 tasks'."""
    return f"{count} task" + ("" if count == 1 else "s")


def plan_effects(plan: RestorePlan) -> str:
    """What a plan does, as verbs: 'remove 1 task', 'add 2 tasks, remove 1 and change 3'."""
    counts = [(verb, count) for verb, count in (("add", len(plan.added)), ("remove", len(plan.removed)),
                                                ("change", len(plan.changed))) if count]
    parts = [f"{verb} {tasks(count) if i == 0 else count}" for i, (verb, count) in enumerate(counts)]
    if not parts:
        return "change nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def dropped_sentence(backup: Backup, dropped: Dropped, *, unreadable: bool, done: bool = False) -> str:
    """'restoring backup X (revision 46) drops 34 later changes (revisions 47–80); …'"""
    verb = "dropped" if done else "drops"
    if unreadable:
        remedy = (f"'{typed('salvage')}' would have kept them; they are in the files kept aside" if done
                  else f"'{typed('salvage')}' keeps them")
    else:
        remedy = "'undo' brings them back"
    return (f"restoring backup {backup.id} (revision {backup.revision}) {verb} {_changes(dropped.count)} "
            f"({revisions(dropped.first, dropped.last)}); {remedy}")


def salvage_source(report: SalvageReport) -> str:
    if report.source == "snapshot":
        return f"tasks.json (revision {report.source_revision})"
    if report.source == "backup":
        assert report.backup is not None
        return f"backup {report.backup.id} (revision {report.source_revision})"
    if report.source == "journal":
        return "tasks.journal from its start (revision 0)"
    return "nothing intact: an empty store"


def base_name(report: SalvageReport) -> str:
    """What undo goes back to after a salvage."""
    backup = report.newest_backup
    return f"backup {backup.id} (revision {backup.revision})" if backup is not None else "an empty store"


def _size(size: int) -> str:
    return f"{size} bytes" if size < 10_240 else f"{size / 1024:.0f} KiB"


def lost_line(report: SalvageReport) -> str:
    """What cannot be recovered, and why: 'lost: nothing' when nothing is."""
    parts = []
    if report.missing:
        parts.append(f"{report.missing} change{'s' if report.missing != 1 else ''} "
                     f"({revisions(report.revision + 1, report.claimed_revision)})")
    if report.lost_records:
        parts.append(f"{report.lost_records} journal line{'s' if report.lost_records != 1 else ''} "
                     f"({_size(report.lost_bytes)}) from byte {report.lost_at}")
    if not parts:
        return "lost: nothing"
    why = report.lost_reason or "no intact file holds them"
    return f"lost: {', in '.join(parts)}: {why}"


def salvage_account(report: SalvageReport, plan: RestorePlan, listed: int = LISTED) -> list[str]:
    """Where the recovered store comes from, what is lost and why, and how it differs from the base."""
    lines = [f"  source: {salvage_source(report)}"]
    lines += [f"  not used: {why}" for why in report.unusable]
    if report.replayed:
        lines.append(f"  journal: {report.replayed} record{'s' if report.replayed != 1 else ''} replayed "
                     f"({revisions(report.source_revision + 1, report.revision)})")
    else:
        lines.append("  journal: no record replayed")
    skipped = []
    if report.voided:
        skipped.append(f"{report.voided} change{'s' if report.voided != 1 else ''} reported as failed")
    if report.unfinished_bytes:
        skipped.append(f"{report.unfinished_bytes} bytes of an unfinished write")
    if report.unconfirmed_bytes:
        skipped.append(f"{report.unconfirmed_bytes} bytes of a change never confirmed")
    if skipped:
        lines.append(f"  left out, as every reader does: {', '.join(skipped)}")
    lines.append(f"  {lost_line(report)}")
    lines.append(f"  compared with {base_name(report)}: {len(plan.added)} added, {len(plan.removed)} removed, "
                 f"{len(plan.changed)} changed")
    tasks = [f"    + {t.id} {t.title}" for t in plan.added]
    tasks += [f"    - {t.id} {t.title}" for t in plan.removed]
    tasks += [f"    ~ {new.id} {new.title}: {describe(old, new)}" for old, new in plan.changed]
    lines += tasks[:listed]
    if len(tasks) > listed:
        lines.append(f"    … and {len(tasks) - listed} more (--json lists them all)")
    return lines


def salvage_headline(report: SalvageReport, *, done: bool) -> str:
    count = len(report.tasks)
    tasks = f"{count} task{'s' if count != 1 else ''}"
    if done:
        return f"Salvaged the store: revision {report.revision}, {tasks}"
    return f"Salvage would recover revision {report.revision}, {tasks}:"


def salvage_keeping(report: SalvageReport, plan: RestorePlan) -> str:
    names = ", ".join(f"{name}.unreadable-TIME" for name in report.present) or "nothing"
    if plan.change.is_empty:
        return (f"The damaged files are kept aside as {names}, never deleted; nothing intact goes beyond "
                f"{base_name(report)}, so the store becomes exactly that.")
    return f"The damaged files are kept aside as {names}, never deleted; 'undo' then goes back to {base_name(report)}."
