"""import's and export's results as text (registered with render_text.text, imported when one is shown)."""

from __future__ import annotations

from collections.abc import Iterable

from ..commands import change_text
from ..commands.results import Exported, Imported
from ..domain.importing import changed_fields
from ..errors import describe_ids, typed
from ..interchange.model import Note
from .render_text import TextRenderer, text
from .text import terminal_safe

#: Each format as a message names it.
_FORMAT_NAMES = {"taskwarrior": "Taskwarrior JSON", "todotxt": "todo.txt", "csv": "CSV", "ical": "iCalendar"}
#: How many skipped records, and fields not kept as they were, are listed before "and N more".
_NOTES_SHOWN = 10


def _notes(heading: str, notes: tuple[Note, ...]) -> list[str]:
    if not notes:
        return []
    lines = [f"{heading} ({len(notes):,}):"]
    lines += [terminal_safe(f"  {n.where}: {n.field}: {n.what}" if n.field else f"  {n.where}: {n.what}")
              for n in notes[:_NOTES_SHOWN]]
    if len(notes) > _NOTES_SHOWN:
        lines.append(f"  … and {len(notes) - _NOTES_SHOWN:,} more ('{typed('--json import …')}' lists them all)")
    return lines


def _ids(ids: Iterable[int]) -> str:
    """Ids as describe_ids gives them, without its count (the sentence has said how many)."""
    return describe_ids(ids).split(" (", 1)[0]


@text.register
def _imported(result: Imported, r: TextRenderer) -> str:
    plan, batch, dry = result.plan, result.batch, result.dry_run
    added, updated, unchanged = len(plan.added), len(plan.updated), len(plan.unchanged)
    source = f"{result.source} ({_FORMAT_NAMES[result.format]})"
    parts = []
    if added:
        parts.append(f"{'add' if dry else 'added'} {added:,} ({'ids' if added > 1 else 'id'} "
                     f"{_ids(t.id for t in plan.added)})")
    if updated:
        parts.append(f"{'update' if dry else 'updated'} {updated:,} ({_ids(new.id for _, new in plan.updated)})")
    if unchanged:
        parts.append(f"{'leave' if dry else 'left'} {unchanged:,} as {'it' if unchanged == 1 else 'they'} "
                     f"{'is' if dry and unchanged == 1 else 'are' if dry else 'was' if unchanged == 1 else 'were'}")
    read = f"{len(batch.tasks):,} task{'s' if len(batch.tasks) != 1 else ''}"
    if plan.change.is_empty and plan.newer:
        headline = f"Nothing to import: the store has the {read} from {source} already."
    elif plan.change.is_empty:
        headline = (f"Nothing to import: the {read} from {source} {'is' if len(batch.tasks) == 1 else 'are'} in the "
                    "store already, as the file has them." if batch.tasks else f"Nothing to import: {source} holds no tasks.")
    else:
        headline = f"{'Would import' if dry else 'Imported'} {read} from {source}: " + ", ".join(parts) + "."
    lines = [headline]
    if plan.added and dry:
        shown_tasks = plan.added[:_NOTES_SHOWN]
        lines += [terminal_safe(f"  + {t.id}  {t.title}") for t in shown_tasks]
        if len(plan.added) > len(shown_tasks):
            lines.append(f"  … and {len(plan.added) - len(shown_tasks):,} more")
    if plan.updated:
        lines += [terminal_safe(f"  ~ {new.id}  {new.title}  ({', '.join(changed_fields(old, new))})")
                  for old, new in plan.updated[:_NOTES_SHOWN]]
        if len(plan.updated) > _NOTES_SHOWN:
            lines.append(f"  … and {len(plan.updated) - _NOTES_SHOWN:,} more")
    if plan.newer:
        lines.append(f"Left as the store has {'it' if len(plan.newer) == 1 else 'them'}, changed here after the "
                     f"file's version ({len(plan.newer):,}): {_ids(t.id for t in plan.newer)}")
    lines += _notes("Skipped", batch.skipped)
    lines += _notes("Not kept as it was", batch.unmapped)
    if dry:
        lines.append(r.style(change_text.DRY_RUN, "dim"))
    elif result.backup is not None:
        lines.append(f"The store was backed up first ({result.backup.id}); '{typed('undo')}' reverses the import.")
    return "\n".join(lines)


@text.register
def _exported(result: Exported, r: TextRenderer) -> str:
    return (f"Exported {result.count:,} task{'s' if result.count != 1 else ''} to {terminal_safe(result.path or '')} "
            f"({_FORMAT_NAMES[result.format]}).")
