"""Salvage: the newest state a damaged store can prove from what is intact in it.

A pure analysis of bytes already read (bounded by codec.MAX_FILE_BYTES): the snapshot, the
journal, the lock file's mark and the backups, which are decoded only when one could win.
Nothing here touches a file or prints; JournalStore reads and writes.

The sources: the snapshot, if it decodes; the newest good backup, and any older one the journal
continues (its next record applies to it); the journal alone, from revision 0, when it starts there.
Each is rolled forward by every journal record that verifies and follows the one before (the record
after the source's revision first), up to the first that does not.
The one that reaches the highest revision wins; on a tie the snapshot, then the newest backup.
So a backup newer than the snapshot wins when the journal is damaged between the two, and the
journal's records after it still count. Records a writer never confirmed (the mark), voided ones
and an unfinished last line are never used.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from .. import codec
from ..domain.change import Change
from ..domain.history import History
from ..domain.tasklist import TaskList
from ..errors import InvalidValue
from .backups import Backup
from .replay import decode_line

if TYPE_CHECKING:
    from ..domain.progress import ProgressCallback
    from .cipher import Cipher


@attrs.frozen
class Line:
    """One complete line of a journal: a record that verifies, a voided change, or damage."""

    offset: int
    end: int
    rev: int | None = None
    change: Change | None = None
    at: dt.datetime | None = None
    void: bool = False
    #: Why the line cannot be used; None when it verifies (or is voided).
    damage: str | None = None


@attrs.frozen
class JournalScan:
    header: codec.JournalHeader | None
    #: Why the header does not decode (the records may verify all the same).
    header_problem: str | None
    lines: tuple[Line, ...]
    #: Bytes read before the mark's cut (the records a reader may believe lie within).
    size: int
    #: Bytes from the mark on: a record its writer never confirmed, and what follows it.
    unconfirmed: int
    #: Bytes after the last newline that can only be an unfinished write, never acknowledged.
    unfinished: int


_GUESSED_REV = re.compile(rb'^[^ ]{0,8} ?\{"rev":(\d{1,15})(?!\d)')
_DECLARED_REVISION = re.compile(rb'"revision":(\d{1,15})(?!\d)')


def scan_journal(data: bytes | None, unconfirmed: tuple[str, int, bool] | None,
                 cipher: Cipher | None = None) -> JournalScan:
    """Every line of a journal, each decoded on its own: a damaged header or line spoils no other.

    ``cipher``: the key of an encrypted store, which opens its encrypted records (without it they are
    damage: nothing in them can be read)."""
    if data is None:
        return JournalScan(None, None, (), 0, 0, 0)
    if not data:
        return JournalScan(None, "the file is empty", (), 0, 0, 0)
    newline = data.find(b"\n")
    header: codec.JournalHeader | None = None
    problem: str | None = None
    if newline < 0:
        problem = "the journal header is incomplete"
    else:
        try:
            header = codec.decode_journal_header(data[:newline])
        except codec.TooNewError:
            raise
        except codec.FormatError as exc:
            problem = str(exc)
    start = newline + 1 if newline >= 0 else len(data)
    cut = len(data)
    if (unconfirmed is not None and (header is None or unconfirmed[0] == header.generation)
            and start <= unconfirmed[1] < len(data)):
        cut = unconfirmed[1]  # without a header, any mark's record is doubted: never salvage an unconfirmed one
    body = data[:cut]
    schemas = (header.schema,) if header is not None else tuple(range(codec.SCHEMA, 0, -1))
    lines: list[Line] = []
    offset = start
    while (end := body.find(b"\n", offset)) >= 0:
        raw = body[offset:end]
        lines.append(Line(offset, end + 1, void=True) if codec.is_void(raw)
                     else _decode(raw, offset, end + 1, schemas, cipher))
        offset = end + 1
    tail = body[offset:]
    unfinished = 0
    if tail:
        expected = next((line.rev for line in reversed(lines) if line.rev is not None),
                        header.base if header is not None else 0) + 1
        try:
            if not codec.is_void(tail):
                codec.check_torn_tail(tail, expected)
            unfinished = len(tail)
        except codec.FormatError as exc:
            lines.append(Line(offset, len(body), damage=str(exc)))
    return JournalScan(header, problem, tuple(lines), cut, len(data) - cut, unfinished)


def _decode(raw: bytes, offset: int, end: int, schemas: tuple[int, ...], cipher: Cipher | None) -> Line:
    first: codec.FormatError | None = None
    # Salvage takes a record in either form when the store is encrypted (a crash during encrypt leaves plain
    # ones, which the user then sees in the preview); an encrypted one only with the key.
    held = sys.maxsize if cipher is not None else -1
    for schema in schemas:  # newest first: an older schema's migration would drop what a newer record says
        try:
            rev, change, at = decode_line(raw, f"the journal line at byte {offset}", schema, cipher, held)
        except codec.FormatError as exc:
            first = first or exc
            continue
        assert change is not None and at is not None
        return Line(offset, end, rev, change, at)
    return Line(offset, end, damage=str(first))


@attrs.frozen(eq=False)
class _Rolled:
    """A source rolled forward over the journal."""

    kind: str
    backup: Backup | None
    source_revision: int
    tasks: TaskList
    applied: int
    #: Index of the line that stopped the roll (None: it ran to the end), and why.
    stop: int | None = None
    reason: str | None = None


def _copy(tasks: TaskList) -> TaskList:
    return TaskList(tasks.snapshot()[0], next_id=tasks.next_id, revision=tasks.revision,
                    history=History(list(tasks.history), limit=tasks.history.limit))


def _foreign(tasks: TaskList, change: Change) -> str | None:
    """Why ``change`` cannot be a change of the store ``tasks`` is, or None: a task's uuid never changes."""
    for task in change.put:
        if task.id in tasks and tasks.get(task.id).uuid != task.uuid:
            return f"it holds another task under id {task.id}"
    return None


def _roll(kind: str, backup: Backup | None, source: TaskList, lines: Sequence[Line]) -> _Rolled:
    """``source`` with every record from the one after its revision that verifies and follows on."""
    tasks = _copy(source)
    start = next((i for i, line in enumerate(lines) if line.rev == source.revision + 1), None)
    applied = 0
    for index in range(start if start is not None else len(lines), len(lines)):
        line = lines[index]
        if line.void:
            continue
        reason = line.damage
        if reason is None and line.rev != tasks.revision + 1:
            reason = f"record {line.rev} at byte {line.offset} follows record {tasks.revision}"
        if reason is None:
            assert line.change is not None and line.rev is not None
            foreign = _foreign(tasks, line.change)
            if foreign is not None:
                reason = f"record {line.rev} at byte {line.offset} does not continue revision {tasks.revision}: {foreign}"
            else:
                try:
                    tasks.apply(line.change, line.rev, line.at)
                except InvalidValue as exc:
                    reason = f"record {line.rev} at byte {line.offset}: {exc}"
        if reason is not None:
            return _Rolled(kind, backup, source.revision, tasks, applied, index, reason)
        applied += 1
    return _Rolled(kind, backup, source.revision, tasks, applied)


@attrs.frozen(eq=False)
class SalvageReport:
    """What salvage recovers from a store that does not load, what it cannot, and why."""

    #: Why the store is refused, as the loader says it.
    refusal: str
    #: The salvaged state: the source, rolled forward. Its history is the source's and the records'.
    tasks: TaskList
    #: "snapshot", "backup", "journal" (from revision 0) or "nothing".
    source: str
    source_revision: int
    #: The backup used as the source, when it is one.
    backup: Backup | None
    #: Journal records applied on the source (revisions source_revision + 1 to tasks.revision).
    replayed: int
    #: Journal lines (not voided) that cannot be used, their bytes, where they start and why.
    lost_records: int
    lost_bytes: int
    lost_at: int | None
    lost_reason: str | None
    unconfirmed_bytes: int
    unfinished_bytes: int
    voided: int
    #: Why a store file was not used: "tasks.json: …".
    unusable: tuple[str, ...]
    #: The newest revision the store's files claim to hold (their own word, damaged parts included).
    claimed_revision: int
    #: The store files that are there, which a salvage keeps aside.
    present: tuple[str, ...]
    #: The newest good backup, and the state undo returns to after a salvage: that backup's, or empty.
    newest_backup: Backup | None
    base: TaskList
    #: What the salvaged store is written as: a revision and next id above all the old files mention.
    fresh_revision: int
    fresh_next_id: int
    #: The snapshot's task lines that do not decode, left out of what the snapshot gives (its seal held).
    dropped: tuple[str, ...] = ()

    @property
    def revision(self) -> int:
        return self.tasks.revision

    @property
    def missing(self) -> int:
        """Revisions the files claim beyond what can be proven: changes that cannot be recovered."""
        return max(0, self.claimed_revision - self.revision)

    @property
    def gains(self) -> int:
        """How many revisions salvage proves beyond the newest good backup (all, with none)."""
        return self.revision - (self.newest_backup.revision if self.newest_backup is not None else 0)

    def same_outcome(self, other: SalvageReport) -> bool:
        """True when ``other`` recovers the same tasks from the same source onto the same base."""
        return ((self.source, self.backup, self.tasks.snapshot(), self.base.snapshot(), self.newest_backup)
                == (other.source, other.backup, other.tasks.snapshot(), other.base.snapshot(), other.newest_backup))


def examine(*, refusal: str, snapshot: bytes | None, snapshot_problem: str | None, journal: bytes | None,
            journal_problem: str | None, unconfirmed: tuple[str, int, bool] | None, backups: Sequence[Backup],
            read_backup: Callable[[Backup], TaskList | None], mentioned: tuple[int, int],
            snapshot_name: str, journal_name: str, present: tuple[str, ...],
            progress: ProgressCallback | None = None, cipher: Cipher | None = None) -> SalvageReport:
    """Find the best source and roll it forward; see the module's docstring.

    ``read_backup`` decodes a backup (None if it does not); ``mentioned`` is the highest revision
    and next id anything in the old files names. Raises codec.TooNewError for a newer schema.
    ``progress`` is told the snapshot's tasks decoded.
    """
    unusable = [f"{name}: {problem}" for name, problem in ((snapshot_name, snapshot_problem),
                                                          (journal_name, journal_problem)) if problem]
    if snapshot is None and snapshot_problem is None and journal is not None:
        unusable.append(f"{snapshot_name}: it is missing")
    own: TaskList | None = None
    dropped: list[str] = []  # the snapshot's task lines that do not decode, when its seal holds
    if snapshot is not None:
        try:
            decoded = codec.decode_snapshot(snapshot, progress)
            own = TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                           history=History(decoded.steps))
        except codec.TooNewError:
            raise
        except (codec.FormatError, InvalidValue) as exc:
            own = _intact_lines(snapshot, snapshot_name, dropped)
            if own is None:
                unusable.append(f"{snapshot_name}: {exc}")
    scan = scan_journal(journal, unconfirmed, cipher)
    if scan.header_problem is not None:
        unusable.append(f"{journal_name}: {scan.header_problem}")
    lines = scan.lines
    best: _Rolled | None = _roll("snapshot", None, own, lines) if own is not None else None
    reach = max((line.rev for line in lines if line.rev is not None), default=0)
    newest: tuple[Backup, TaskList] | None = None
    for backup in backups:  # newest first
        if newest is not None and best is not None and max(backup.revision, reach) <= best.tasks.revision:
            continue  # it cannot win: not worth decoding
        state = read_backup(backup)
        if state is None:
            continue
        rolled = _roll("backup", backup, state, lines)
        if newest is not None and not rolled.applied:
            continue  # an older backup counts only if the journal continues it (it may be of another store)
        newest = newest or (backup, state)
        if best is None or rolled.tasks.revision > best.tasks.revision:
            best = rolled
    starts = scan.header is None or scan.header.base == 0
    if starts and any(line.rev == 1 for line in lines):
        rolled = _roll("journal", None, TaskList(), lines)
        if best is None or rolled.tasks.revision > best.tasks.revision:
            best = rolled
    if best is None:
        best = _Rolled("nothing", None, 0, TaskList(), 0)

    guessed = _guessed(lines, journal)
    lost = _lost(best, lines, guessed)
    base = _copy(newest[1]) if newest is not None else TaskList()
    claimed = max([best.tasks.revision, scan.header.base if scan.header is not None else 0,
                   *(line.rev for line in lines if line.rev is not None), *guessed.values(),
                   *_declared(snapshot)])
    fresh_revision = max(mentioned[0], best.tasks.revision, base.revision, claimed) + 1
    fresh_next_id = max(mentioned[1], best.tasks.next_id, base.next_id)
    return SalvageReport(refusal, best.tasks, best.kind, best.source_revision, best.backup, best.applied,
                         len(lost), sum(line.end - line.offset for line in lost),
                         lost[0].offset if lost else None, best.reason or _why_lost(lost, best),
                         scan.unconfirmed, scan.unfinished, sum(line.void for line in lines), tuple(unusable),
                         claimed, present, newest[0] if newest is not None else None, base, fresh_revision,
                         fresh_next_id, tuple(dropped) if best.kind == "snapshot" else ())


def _intact_lines(snapshot: bytes, name: str, dropped: list[str]) -> TaskList | None:
    """The tasks of a sealed snapshot whose lines decode, when its seal holds but a line breaks a rule (only a
    program that computes the checksum leaves one): each other line is named in ``dropped``; None when the seal
    does not hold (then no line can be trusted alone)."""
    found = codec.intact_tasks(snapshot)
    if found is None:
        return None
    sealed, tasks, problems = found
    dropped.extend(f"{name}: {problem}" for problem in problems)
    # Its header's numbers are its writer's word, no more: the next id stays above every task kept.
    return TaskList(tasks, next_id=max(sealed.next_id, tasks[-1].id + 1 if tasks else 1, 1),
                    revision=max(sealed.revision, 0))


def _lost(best: _Rolled, lines: Sequence[Line], guessed: dict[int, int]) -> list[Line]:
    """The lines (not voided) a salvage from ``best`` leaves out: from the one that stopped it on, or,
    when it took none, every record beyond its revision and every damaged line not known to be older."""
    if best.stop is not None:
        return [line for line in lines[best.stop:] if not line.void]
    if best.applied:
        return []
    newest = best.tasks.revision
    return [line for line in lines if (line.rev or 0) > newest
            or (line.damage is not None and guessed.get(line.offset, newest + 1) > newest)]


def _why_lost(lost: list[Line], best: _Rolled) -> str | None:
    if not lost:
        return None
    damaged = next((line.damage for line in lost if line.damage is not None), None)
    if damaged is not None:
        return damaged
    first = min(line.rev or 0 for line in lost)
    return f"they continue revision {first - 1}, which no intact file holds"


def _guessed(lines: Sequence[Line], journal: bytes | None) -> dict[int, int]:
    """The revisions damaged lines seem to be (their own first bytes say), by offset, for counting what is lost."""
    found: dict[int, int] = {}
    for line in lines:
        if line.damage is not None and journal is not None:
            match = _GUESSED_REV.match(journal[line.offset:line.offset + 40])
            if match:
                found[line.offset] = int(match.group(1))
    return found


def _declared(snapshot: bytes | None) -> list[int]:
    """The revision a snapshot declares in its first bytes, even when the rest does not decode."""
    match = _DECLARED_REVISION.search(snapshot[:256]) if snapshot else None
    return [int(match.group(1))] if match else []
