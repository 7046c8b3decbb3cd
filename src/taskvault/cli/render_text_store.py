"""Results about the store itself as text: backups, restore, salvage, doctor and stats.

Each is registered with render_text.text, as the results about tasks are there.
"""

from __future__ import annotations

from ..commands import change_text
from ..commands.context import local_time
from ..commands.results import (
    BackupList,
    BackupTaken,
    DoctorReport,
    EncryptionChanged,
    Restored,
    Salvaged,
    StoreStats,
)
from ..errors import typed
from .columns import fit, fold, table_row, text_width
from .render_text import TextRenderer, text
from .style import LEVEL_STYLE
from .text import one_line, terminal_safe

#: A backup's id already says when it was taken; its size and revision matter less than its count.
_BACKUP_DROPS = ("Taken", "Size", "Rev", "Tasks")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 2**20:.1f} MiB"


@text.register
def _backup_taken(result: BackupTaken, r: TextRenderer) -> str:
    b = result.backup
    return f"Backed up {change_text.plural(b.task_count, 'task')} at revision {b.revision} as {b.id} ({_size(b.size)}, verified)"


_KEEP_IT_SAFE = "Keep the passphrase safe: without it the tasks cannot be read, by anyone."
#: What each operation did to the other backups, by what the store is now.
_CONVERTED = {"encrypt": "encrypted", "init": "encrypted", "rekey": "given the new passphrase", "decrypt": "decrypted"}


@text.register
def _encryption_changed(result: EncryptionChanged, r: TextRenderer) -> str:
    where, op = result.directory, result.operation
    converted = (f"{change_text.plural(result.converted, 'backup')} {_CONVERTED[op]}" if result.converted
                 else "")
    if op == "create":
        line = f"Made a store in {where}."
    elif op == "init":
        line = f"Made an encrypted store in {where}. {_KEEP_IT_SAFE}"
    elif result.backup is None:  # run again: nothing to change but backups a cut-short run left
        state = "encrypted" if result.encrypted else "not encrypted"
        line = f"The store in {where} is {state} already" + (f"; {converted} now." if converted else ".")
    else:
        first = f"backup {result.backup.id} taken first" + (f"; {converted}" if converted else "")
        line = {"encrypt": f"Encrypted the store in {where} ({first}). {_KEEP_IT_SAFE}",
                "rekey": f"Changed the passphrase of the store in {where} ({first})" + (
                    "." if result.unconverted else "; the old one opens none of them now."),
                "decrypt": f"Decrypted the store in {where} ({first}): its tasks are stored in plain."}[op]
    if result.keyring and op != "decrypt":
        line += " Its key is kept in the system keyring too."
    if result.unconverted:
        line += " " + _unfinished(result)
    return fold(terminal_safe(line), r.width)


def _unfinished(result: EncryptionChanged) -> str:
    """What the disk would not let the change finish (its own change is made), and the command that does."""
    parts = []
    if "tasks.journal" in result.unconverted:
        parts.append("the old journal could not be replaced yet (its records are all in the snapshot; the next "
                     "change replaces it)")
    backups = [name for name in result.unconverted if name != "tasks.journal"]
    if backups:
        shown_ids = ", ".join(backups[:3]) + (", …" if len(backups) > 3 else "")
        parts.append(f"{change_text.plural(len(backups), 'backup')} ({shown_ids}) could not be "
                     f"{_CONVERTED[result.operation]} now")
    finisher = "decrypt" if result.operation == "decrypt" else "encrypt"  # (encrypt run again re-wraps too)
    return f"But {' and '.join(parts)}: run '{typed(finisher)}' to finish."


@text.register
def _backups(result: BackupList, r: TextRenderer) -> str:
    if not result.backups:
        return fold(f"no backups yet in {result.directory}; take one with: {typed('backup')}", r.width)
    header = ["ID", "Taken", "Rev", "Tasks", "Size", "Kind"]
    rows = [[b.id, local_time(b.taken).strftime("%Y-%m-%d %H:%M"), str(b.revision), str(b.task_count),
             _size(b.size), terminal_safe(b.label if b.automatic else f"{b.label} (kept)")] for b in result.backups]
    layout = fit([max(text_width(cells[i]) for cells in [header, *rows]) for i in range(len(header))], r.width,
                 cut=header.index("Kind"), drop_order=[header.index(h) for h in _BACKUP_DROPS])
    lines = [r.style(table_row(layout, header, right=-1), "header")]
    lines += [table_row(layout, cells, right=-1) for cells in rows]
    lines.append(fold(f"{len(rows)} backup{'s' if len(rows) != 1 else ''} in {result.directory}", r.width))
    return "\n".join(lines)


@text.register
def _restored(result: Restored, r: TextRenderer) -> str:
    b, plan = result.backup, result.plan
    drops = ""
    if result.dropped is not None:
        drops = "\n" + change_text.sentence(change_text.dropped_sentence(
            b, result.dropped, unreadable=plan is None, done=not result.dry_run))
    dry_run = "\n" + r.style(change_text.DRY_RUN, "dim") if result.dry_run else ""
    if plan is None:
        return change_text.restore_over_unreadable(b, result.aside, result.task_count, dry_run=result.dry_run) + \
            drops + dry_run
    headline = change_text.restore_headline(b, plan, dry_run=result.dry_run, kept=result.kept)
    if plan.change.is_empty:
        return headline
    return "\n".join([headline, *map(terminal_safe, change_text.plan_lines(plan))]) + drops + dry_run


@text.register
def _salvaged(result: Salvaged, r: TextRenderer) -> str:
    report, plan = result.report, result.plan
    if report is None or plan is None:
        revision, count = result.loaded
        return (f"The store loads (revision {revision}, {count} task{'s' if count != 1 else ''}): there is "
                f"nothing to salvage; '{typed('doctor')}' checks it.")
    if result.dry_run:
        return "\n".join([change_text.salvage_headline(report, done=False),
                          *map(terminal_safe, change_text.salvage_account(report, plan)),
                          change_text.salvage_keeping(report, plan), r.style(change_text.DRY_RUN, "dim")])
    lost = change_text.lost_line(report)
    return "\n".join([*change_text.salvage_done(report, plan, result.aside),
                      r.style(lost, "warning") if report.lost_records or report.missing or report.dropped else lost])


@text.register
def _doctor(result: DoctorReport, r: TextRenderer) -> str:
    lines = []
    for f in result.findings:
        word, colour = LEVEL_STYLE[f.level]
        lines.append(f"{r.style(word.ljust(7), colour)}  {f.subject}: {one_line(f.text)}")
        if f.fix and f.level != "ok":
            lines.append(f"         → {one_line(f.fix)}")
    problems = sum(f.level == "problem" for f in result.findings)
    warnings = sum(f.level == "warning" for f in result.findings)
    lines.append(f"{problems} problem{'s' if problems != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
    return "\n".join(lines)


@text.register
def _stats(s: StoreStats, r: TextRenderer) -> str:
    def seconds(value: float | None, none: str) -> str:
        return f"{value * 1000:.1f} ms" if value is not None else none
    store = s.store
    rows = [
        ("store", store.directory),
        ("tasks", f"{s.open_count + s.done_count} ({s.open_count} open, {s.done_count} done); next id {s.next_id}"),
        ("revision", f"{s.revision} (schema {store.schema})"),
        ("history", f"{s.history_steps} changes kept; {s.undoable} can be undone, {s.redoable} redone"),
        ("snapshot", _size(store.snapshot_bytes)),
        ("journal", (f"{_size(store.journal_bytes)}, {store.journal_records} "
                     f"change{'s' if store.journal_records != 1 else ''} since the last compaction")),
        ("backups", f"{store.backup_count}, {_size(store.backup_bytes)} in all"),
        # One-shot, script or session: each is one run of taskvault, and times only its own saves.
        ("last load", seconds(store.load_seconds, "not loaded from disk since taskvault started")),
        ("last save", seconds(store.save_seconds, "none since taskvault started") + (
            f" ({s.saves} save{'s' if s.saves != 1 else ''} since taskvault started)" if s.saves else "")),
    ]
    return "\n".join(f"{name:<10} {value}" for name, value in rows)
