"""Planning undo, redo and restore as pure functions of the task list and its history.

Each planner returns the Change to commit together with a readable account of it: every task
it changes (an Effect) and every task it leaves alone because another change came after the
one being reverted (Skipped). Nothing here mutates anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from ..errors import InvalidValue, NothingToUndo, typed
from .change import Change, ChangeKind
from .history import Step
from .task import Task
from .tasklist import TaskList


@attrs.frozen
class Effect:
    """One task going from ``before`` to ``after`` (None: absent) because of ``step``."""

    step: Step
    task_id: int
    before: Task | None
    after: Task | None

    @property
    def title(self) -> str:
        task = self.before or self.after
        return task.title if task is not None else ""


@attrs.frozen
class Skipped:
    """A task ``step`` touched that is left alone: it changed since, by ``later`` (None: no step kept says)."""

    step: Step
    task_id: int
    title: str
    later: Step | None


@attrs.frozen
class Reversal:
    """What an undo or redo will do (or did)."""

    verb: str
    steps: tuple[Step, ...]
    effects: tuple[Effect, ...]
    skipped: tuple[Skipped, ...]
    #: Steps that were chosen but are no longer there to revert (another session got there first).
    gone: tuple[int, ...]
    change: Change


def _choose(stack: list[Step], count: int, targets: Sequence[int] | None, verb: str) -> tuple[list[Step], list[int]]:
    if targets is not None:
        by_revision = {s.revision: s for s in stack}
        return [by_revision[r] for r in targets if r in by_revision], [r for r in targets if r not in by_revision]
    if count < 1:
        raise NothingToUndo(f"{verb} needs a number of steps of at least 1")
    if not stack:
        what = "undo" if verb == "undo" else "redo (undo something first)"
        raise NothingToUndo(f"nothing to {what}",
                            hint=f"'{typed('history')}' shows the changes kept" if verb == "undo" else None)
    if count > len(stack):
        steps = f"{len(stack)} step{'s' if len(stack) != 1 else ''}"
        raise NothingToUndo(f"only {steps} can be {verb}ne",
                            hint=f"run '{verb} {len(stack)}' for all of them")
    return list(reversed(stack[-count:])), []


def _reverse(tasks: TaskList, verb: str, steps: list[Step], gone: list[int]) -> Reversal:
    for step in steps:
        if step.change.kind is ChangeKind.RESOLVE:
            # The replication state does not go back (it records what the devices have seen): the task would
            # be out of conflict with this device's version, and the next sync would make that win everywhere.
            ids = ", ".join(map(str, sorted(step.touched)))
            raise InvalidValue(f"{verb}: change {step.revision} resolved the conflict of task {ids}, and a resolve "
                               "cannot be undone (this device's version would win on every device)",
                               hint=f"edit the task to what it should be; '{typed('history')}' shows what the "
                               "resolve changed")
    working: dict[int, Task | None] = {}
    effects: list[Effect] = []
    skipped: list[Skipped] = []
    for step in steps:
        for task_id in step.touched:
            current = working[task_id] if task_id in working else (tasks.get(task_id) if task_id in tasks else None)
            expected, target = ((step.after(task_id), step.before(task_id)) if verb == "undo"
                                else (step.before(task_id), step.after(task_id)))
            if current != expected:
                later = tasks.history.later_change_to(task_id, step.revision)
                known = current or expected or target
                skipped.append(Skipped(step, task_id, known.title if known else "", later))
                continue
            working[task_id] = target
            effects.append(Effect(step, task_id, current, target))
    put = tuple(t for i, t in sorted(working.items()) if t is not None and (i not in tasks or tasks.get(i) != t))
    delete = tuple(i for i, t in sorted(working.items()) if t is None and i in tasks)
    revisions = tuple(s.revision for s in steps)
    change = Change(ChangeKind(verb), put=put, delete=delete, next_id=tasks.next_id,
                    undoes=revisions if verb == "undo" else (), redoes=revisions if verb == "redo" else ())
    return Reversal(verb, tuple(steps), tuple(effects), tuple(skipped), tuple(gone), change)


def plan_undo(tasks: TaskList, count: int = 1, *, targets: Sequence[int] | None = None) -> Reversal:
    """Revert the newest ``count`` steps of the undo stack (or exactly the revisions ``targets``).

    A task is reverted only if it is still as the step left it; otherwise it is skipped, with the
    later change that touched it named.
    """
    undo, _ = tasks.history.stacks()
    steps, gone = _choose(undo, count, targets, "undo")
    return _reverse(tasks, "undo", steps, gone)


def plan_redo(tasks: TaskList, count: int = 1, *, targets: Sequence[int] | None = None) -> Reversal:
    """Re-apply the steps undone most recently, as long as nothing changed them since."""
    _, redo = tasks.history.stacks()
    steps, gone = _choose(redo, count, targets, "redo")
    return _reverse(tasks, "redo", steps, gone)


@attrs.frozen
class RestorePlan:
    """What restoring a backup changes: tasks added back, removed, and changed (now, then)."""

    added: tuple[Task, ...]
    removed: tuple[Task, ...]
    changed: tuple[tuple[Task, Task], ...]
    change: Change


def _replacement(tasks: TaskList, wanted_tasks: Iterable[Task], kind: ChangeKind, next_id: int,
                 detail: str = "") -> RestorePlan:
    """The change that makes ``tasks`` hold exactly ``wanted_tasks``."""
    wanted = {t.id: t for t in wanted_tasks}
    added = tuple(t for i, t in sorted(wanted.items()) if i not in tasks)
    removed = tuple(t for t in sorted(tasks, key=lambda t: t.id) if t.id not in wanted)
    changed = tuple((tasks.get(i), t) for i, t in sorted(wanted.items()) if i in tasks and tasks.get(i) != t)
    change = Change(kind, put=added + tuple(new for _, new in changed), delete=tuple(t.id for t in removed),
                    next_id=next_id, detail=detail)
    return RestorePlan(added, removed, changed, change)


def plan_restore(tasks: TaskList, backup: Sequence[Task], backup_next_id: int, label: str) -> RestorePlan:
    """Make the task list equal to a backup's, as one change. Ids are never handed out twice:
    the next id stays the higher of the two."""
    return _replacement(tasks, backup, ChangeKind.RESTORE, max(tasks.next_id, backup_next_id), label)


def plan_salvage(base: TaskList, salvaged: Iterable[Task], next_id: int) -> RestorePlan:
    """The one change a salvage is: from ``base`` (what undo returns to) to the tasks salvaged.

    ``next_id`` is above every id the damaged store, the base and the salvaged tasks ever used.
    """
    return _replacement(base, salvaged, ChangeKind.SALVAGE, max(base.next_id, next_id))


@attrs.frozen
class Dropped:
    """The changes a restore leaves out: revisions ``first`` to ``last``, after the backup's."""

    count: int
    first: int
    last: int


def dropped_by_restore(backup_revision: int, newest_revision: int) -> Dropped | None:
    """What putting back a backup of ``backup_revision`` drops from a store that reached ``newest_revision``.

    Revisions count changes, so the difference is the number of changes made after the backup (at
    most: a restore over an unreadable store or a salvage skips revisions, and those count too).
    """
    if newest_revision <= backup_revision:
        return None
    return Dropped(newest_revision - backup_revision, backup_revision + 1, newest_revision)
