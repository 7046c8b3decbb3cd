"""The sentences that describe a change (a command's, the history's, undo, another session's, a restore,
a salvage): the question before it, its preview and its result use the same words, so they never disagree.
The user's text is as typed; the interface makes it safe for a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..domain.change import Change
from ..domain.history import Step
from ..domain.task import Task
from ..errors import describe_ids, typed

if TYPE_CHECKING:  # (undo's, restore's and salvage's types: their modules are those commands' cost alone)
    from ..domain.recovery import Dropped, Effect, RestorePlan, Reversal, Skipped
    from ..service import Backup, SalvageReport

#: How many tasks a salvage lists one by one (--json lists them all).
LISTED = 20
#: What a preview (--dry-run) says after what it would do.
DRY_RUN = "(dry run: nothing was changed)"
#: How a history line marks a change that is undone now (redo brings it back).
UNDONE_MARK = " (undone)"
#: What other sessions' changes did, by the command that made them.
_DONE_BY = {"add": "added", "edit": "edited", "done": "done", "reopen": "reopened", "delete": "deleted",
            "annotate": "annotated", "denotate": "denotated", "start": "started", "stop": "stopped", "import": "imported"}
_TASKS_CHANGED = {"done": "Completed", "reopened": "Reopened", "deleted": "Deleted", "started": "Started",
                  "stopped": "Stopped", "annotated": "Annotated", "modified": "Modified"}


def plural(count: int, noun: str) -> str:
    """'1 task', '2 tasks'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def sentence(text: str) -> str:
    """``text`` as a sentence of its own: a capital first letter and a full stop."""
    return text[:1].upper() + text[1:] + "."


def quoted(title: str) -> str:
    """A title inside a sentence, between double quotes, as typed: "Pay Bob's rent" (never escaped
    Python-style as 'Pay Bob\\'s rent'). How the terminal shows its characters is the interface's concern."""
    return f'"{title}"'


def tasks(count: int) -> str:
    """'1 task', '2 tasks'."""
    return plural(count, "task")


def revisions(first: int, last: int) -> str:
    return f"revision {first}" if first == last else f"revisions {first}–{last}"


# -- one task, one command -----------------------------------------------------------------


def describe(before: Task | None, after: Task | None, *, revived: bool = False) -> str:
    """What happens to one task, in a few words: 'open', 'removed', 'added', 'title "X", due none'.

    A task that comes back (undo of a delete, redo of an add, restore) is ``revived``: 'back'.
    """
    if after is None:
        return "removed"
    if before is None:
        return "back" if revived else "added"
    parts = []
    if before.status is not after.status:
        parts.append(after.status.value)
    if before.title != after.title:
        parts.append(f"title {quoted(after.title)}")
    if before.priority != after.priority:
        parts.append(f"priority {after.priority.value if after.priority else 'none'}")
    if before.due != after.due:
        parts.append(f"due {after.due.isoformat() if after.due else 'none'}")
    if before.tags != after.tags:
        parts.append("tags " + (" ".join(after.tags) or "none"))
    if before.note != after.note:
        parts.append("note changed" if after.note else "note removed")
    if before.project != after.project:
        parts.append(f"project {after.project or 'none'}")
    for name in ("scheduled", "wait", "until"):
        value = getattr(after, name)
        if getattr(before, name) != value:
            parts.append(f"{name} {value.isoformat() if value else 'none'}")
    if before.started != after.started:
        parts.append("started" if after.started else "stopped")
    if before.index != after.index and after.is_template:
        parts.append(f"series at instance {after.index}")
    if before.depends != after.depends:
        parts.append(f"depends on {len(after.depends)} task{'' if len(after.depends) == 1 else 's'}"
                     if after.depends else "depends on none")
    if before.extra != after.extra:
        parts.append(f"{plural(len(after.extra), 'extra attribute')}" if after.extra else "extra attributes removed")
    if before.annotations != after.annotations:
        gained = len(after.annotations) - len(before.annotations)
        parts.append(f"annotation {quoted(after.annotations[-1].text)} added" if gained > 0
                     and after.annotations[:len(before.annotations)] == before.annotations
                     else f"{plural(len(after.annotations), 'annotation')}")
    return ", ".join(parts) or "unchanged"


def task_saved(verb: str, task: Task, changed: bool) -> str:
    """'Added task 2: Buy milk', 'Updated task 2: …', or 'Task 2 unchanged: …' (an edit to the values it had)."""
    if verb == "added" and task.is_template and task.due is not None:
        # plan_add gives a series' first instance the id after its template's
        return (f"Added task {task.id}: {task.title} (repeats {task.recur} from {task.due.isoformat()}"
                f"{f' until {task.until.isoformat()}' if task.until else ''}; its first instance is task {task.id + 1})")
    if verb == "added":
        return f"Added task {task.id}: {task.title}"
    return f"Task {task.id} unchanged: {task.title}" if not changed else f"Updated task {task.id}: {task.title}"


def tasks_changed(verb: str, changed: Sequence[Task], unchanged: Sequence[Task], reason: str,
                  made: Sequence[Task] = ()) -> list[str]:
    """done / reopen / delete: 'Completed task 3: …' for each task changed, 'Task 4 was already done: …'.

    An instance of a series whose next one the change ``made`` says so: 'Completed task 5: Pay rent; next:
    task 7 due 2027-01-31' (on the newest instance of that series the command named).
    """
    next_of = {t.parent: t for t in made}
    newest: dict[object, Task] = {}
    for task in changed:
        if task.parent in next_of and (task.parent not in newest or task.index > newest[task.parent].index):
            newest[task.parent] = task
    lines = []
    for t in changed:
        line = f"{_TASKS_CHANGED[verb]} task {t.id}: {t.title}"
        following = next_of.get(t.parent) if newest.get(t.parent) is t else None
        if following is not None and following.due is not None:
            line += f"; next: task {following.id} due {following.due.isoformat()}"
        lines.append(line)
    return lines + [f"Task {t.id} was {reason}: {t.title}" for t in unchanged]


def saved_step(step: Step) -> str:
    """'revision 12: add task 7', a change just saved."""
    ids = step.touched
    return f"revision {step.revision}: {step.kind} task{'s' if len(ids) > 1 else ''} {describe_ids(ids)}"


def from_other_sessions(behind: int, changes: Sequence[Change]) -> str:
    """'2 changes from another session: added 7, done 3' — what another session changed."""
    noun = "change" if behind == 1 else "changes"
    if not changes:
        return f"{behind} {noun} from another session (store reloaded)"
    by_verb: dict[str, list[int]] = {}
    for change in changes:
        ids = change.delete if change.command == "delete" else tuple(t.id for t in change.put)
        by_verb.setdefault(_DONE_BY.get(change.kind.value if change.detail else change.command, change.command),
                           []).extend(ids)
    parts = [f"{verb} {describe_ids(ids, ',')}" for verb, ids in by_verb.items() if ids]
    return f"{behind} {noun} from another session: " + ", ".join(parts)


# -- the history, undo and redo --------------------------------------------------------------


def history_line(step: Step, task_id: int | None, undone: bool) -> str:
    """'add: 1 "Buy milk" → added', the change a history line shows (only ``task_id``, if given);
    ``undone`` marks it after its command (UNDONE_MARK)."""
    ids = [i for i in step.touched if task_id is None or i == task_id]
    effects = [f"{i} {quoted((step.before(i) or step.after(i)).title)} → "  # type: ignore[union-attr]
               f"{describe(step.before(i), step.after(i), revived=step.change.revives)}" for i in ids[:3]]
    more = f" (and {len(ids) - 3} more)" if len(ids) > 3 else ""
    head = f"{step.change.command}{UNDONE_MARK if undone else ''}"
    return f"{head}: " + "; ".join(effects) + more if effects else head  # (a sync that changed no task here)


def no_history(task_id: int | None) -> str:
    what = f" to task {task_id}" if task_id is not None else ""
    return f"no changes{what} in the history yet"


def history_shown(shown: int, limit: int, kept: int) -> str:
    return f"{plural(shown, 'change')} shown; the history keeps the last {limit} ({kept} now)"


def effect_line(effect: Effect) -> str:
    """'done 3 "Buy milk" → open': the step's command, the task, and what it becomes."""
    return f"{effect.step.kind} {effect.task_id} {quoted(effect.title)} → {describe(effect.before, effect.after, revived=True)}"


def reverted_line(verb: str, effect: Effect) -> str:
    return f"{verb}: {effect_line(effect)}"


def skip_reason(skipped: Skipped) -> str:
    """Why an undo or redo left a task alone: 'changed since, by revision 7 (edit 3 --title …)'."""
    later = skipped.later
    if later is None:
        return "changed since"
    return f"changed since, by revision {later.revision} ({later.change.command})"


def skipped_line(verb: str, skipped: Skipped) -> str:
    return f"{verb}: skipped {skipped.step.kind} {skipped.task_id} {quoted(skipped.title)}: {skip_reason(skipped)}"


def gone_line(verb: str, revision: int) -> str:
    return f"{verb}: skipped revision {revision}: another session already {verb}ne it"


def nothing_reverted(verb: str) -> str:
    """'Nothing undone.', 'Nothing redone.'"""
    return f"Nothing {verb}ne."


def reversal_question(reversal: Reversal) -> str:
    """The question before an undo or redo of more than one task: each task and what it becomes."""
    verb, steps = reversal.verb.capitalize(), len(reversal.steps)
    lines = "\n".join(f"  {effect_line(e)}" for e in reversal.effects)
    return f"{verb} {steps} step{'s' if steps != 1 else ''}:\n{lines}\n{verb} this?"


# -- restore -----------------------------------------------------------------------------------


def plan_effects(plan: RestorePlan) -> str:
    """What a plan does, as verbs: 'remove 1 task', 'add 2 tasks, remove 1 and change 3'."""
    counts = [(verb, count) for verb, count in (("add", len(plan.added)), ("remove", len(plan.removed)),
                                                ("change", len(plan.changed))) if count]
    parts = [f"{verb} {tasks(count) if i == 0 else count}" for i, (verb, count) in enumerate(counts)]
    if not parts:
        return "change nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def plan_counts(plan: RestorePlan) -> str:
    return f"{len(plan.added)} added, {len(plan.removed)} removed, {len(plan.changed)} changed"


def plan_lines(plan: RestorePlan, indent: str = "  ") -> list[str]:
    """'  + 4 Buy milk', '  - 5 …', '  ~ 6 …: done': each task a plan adds, removes or changes."""
    lines = [f"{indent}+ {t.id} {t.title}" for t in plan.added]
    lines += [f"{indent}- {t.id} {t.title}" for t in plan.removed]
    return lines + [f"{indent}~ {new.id} {new.title}: {describe(old, new)}" for old, new in plan.changed]


def restore_headline(backup: Backup, plan: RestorePlan, *, dry_run: bool, kept: Backup | None = None) -> str:
    """'Restoring backup X would add 2 tasks:' before, 'Restored backup X: 2 added, …' after."""
    if plan.change.is_empty:
        return f"The store already equals backup {backup.id}; nothing to restore."
    if dry_run:
        return f"Restoring backup {backup.id} would {plan_effects(plan)}:"
    before = f"; the store before it is backup {kept.id}" if kept else ""
    return f"Restored backup {backup.id}: {plan_counts(plan)}{before} ('undo' reverses it)"


def restore_over_unreadable(backup: Backup, aside: Sequence[str], task_count: int, *, dry_run: bool) -> str:
    names = ", ".join(aside) or "nothing"
    if dry_run:
        return (f"Would put backup {backup.id} ({backup.revision_text}) in place of the unreadable store, keeping "
                f"{names} aside.")
    return f"Restored backup {backup.id}: {task_count} tasks. The unreadable files are kept as: {names}"


def dropped_sentence(backup: Backup, dropped: Dropped, *, unreadable: bool, done: bool = False) -> str:
    """'restoring backup X (revision 46) drops 34 later changes (revisions 47–80); …'"""
    verb = "dropped" if done else "drops"
    if unreadable:
        remedy = (f"'{typed('salvage')}' would have kept them; they are in the files kept aside" if done
                  else f"'{typed('salvage')}' keeps them")
    else:
        remedy = "'undo' brings them back"
    return (f"restoring backup {backup.id} (revision {backup.revision}) {verb} {plural(dropped.count, 'later change')} "
            f"({revisions(dropped.first, dropped.last)}); {remedy}")


# -- salvage -----------------------------------------------------------------------------------


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
        parts.append(f"{plural(report.missing, 'change')} ({revisions(report.revision + 1, report.claimed_revision)})")
    if report.lost_records:
        parts.append(f"{plural(report.lost_records, 'journal line')} ({_size(report.lost_bytes)}) from byte "
                     f"{report.lost_at}")
    said = [f"{', in '.join(parts)}: {report.lost_reason or 'no intact file holds them'}"] if parts else []
    if report.dropped:
        more = len(report.dropped) - 3
        shown = "; ".join(report.dropped[:3]) + (f"; and {more} more" if more > 0 else "")
        said.append(f"{plural(len(report.dropped), 'task line')} not decodable ({shown})")
    return f"lost: {'; '.join(said)}" if said else "lost: nothing"


def salvage_account(report: SalvageReport, plan: RestorePlan, listed: int = LISTED) -> list[str]:
    """Where the recovered store comes from, what is lost and why, and how it differs from the base."""
    lines = [f"  source: {salvage_source(report)}"]
    lines += [f"  not used: {why}" for why in report.unusable]
    if report.replayed:
        lines.append(f"  journal: {plural(report.replayed, 'record')} replayed "
                     f"({revisions(report.source_revision + 1, report.revision)})")
    else:
        lines.append("  journal: no record replayed")
    skipped = []
    if report.voided:
        skipped.append(f"{plural(report.voided, 'change')} reported as failed")
    if report.unfinished_bytes:
        skipped.append(f"{report.unfinished_bytes} bytes of an unfinished write")
    if report.unconfirmed_bytes:
        skipped.append(f"{report.unconfirmed_bytes} bytes of a change never confirmed")
    if skipped:
        lines.append(f"  left out, as every reader does: {', '.join(skipped)}")
    lines.append(f"  {lost_line(report)}")
    lines.append(f"  compared with {base_name(report)}: {plan_counts(plan)}")
    listing = plan_lines(plan, "    ")
    lines += listing[:listed]
    if len(listing) > listed:
        lines.append(f"    … and {len(listing) - listed} more (--json lists them all)")
    return lines


def salvage_headline(report: SalvageReport, *, done: bool) -> str:
    if done:
        return f"Salvaged the store: revision {report.revision}, {tasks(len(report.tasks))}"
    return f"Salvage would recover revision {report.revision}, {tasks(len(report.tasks))}:"


def salvage_done(report: SalvageReport, plan: RestorePlan, aside: Sequence[str]) -> tuple[str, str]:
    """After a salvage: where the store came from and where the damaged files are; what undo returns to."""
    headline = (f"{salvage_headline(report, done=True)}, from {salvage_source(report)} and "
                f"{plural(report.replayed, 'journal record')}; the damaged files are kept as: "
                f"{', '.join(aside) or 'nothing'}")
    undo = (f"{plan_counts(plan)} compared with {base_name(report)} ('undo' goes back to it)" if not plan.change.is_empty
            else f"nothing intact goes beyond {base_name(report)}, so the store is now exactly that")
    return headline, undo


def salvage_keeping(report: SalvageReport, plan: RestorePlan) -> str:
    names = ", ".join(f"{name}.unreadable-TIME" for name in report.present) or "nothing"
    if plan.change.is_empty:
        return (f"The damaged files are kept aside as {names}, never deleted; nothing intact goes beyond "
                f"{base_name(report)}, so the store becomes exactly that.")
    return f"The damaged files are kept aside as {names}, never deleted; 'undo' then goes back to {base_name(report)}."
