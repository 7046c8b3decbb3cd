"""Decoding a store's files into a task list, and replaying the journal's records onto one.

Pure over bytes: the store reads the files (store/journal_store.py) and keeps where it read to.
A file that does not decode is refused through ``unreadable`` (the store's Advice), which names the
way back.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import codec
from ..codec import encrypted
from ..domain.history import History, Step
from ..domain.task import Status, Task
from ..domain.tasklist import Change, TaskList
from ..errors import InvalidValue, StoreUnreadable
from .journal import Position, Skipped
from .layout import SNAPSHOT_NAME
from .records import Record

if TYPE_CHECKING:
    from ..domain.replica import Replica
    from .cipher import Cipher

Unreadable = Callable[[Path, object], StoreUnreadable]


class News(Record):
    """What a catch-up read: the journal beyond what memory holds, or the whole store to build again."""

    _fields = ("journal", "snapshot", "reload")
    __slots__ = _fields

    def __init__(self, journal: bytes | None, snapshot: bytes | None, reload: bool) -> None:
        self.journal = journal
        self.snapshot = snapshot
        self.reload = reload


class CaughtUp(Record):
    """The result of catching up: the current task list and what other sessions changed."""

    _fields = ("tasks", "changes", "behind")
    __slots__ = _fields

    def __init__(self, tasks: TaskList, changes: tuple[Change, ...], behind: int) -> None:
        self.tasks = tasks
        #: The changes applied, oldest first; empty when the store had to be reloaded whole.
        self.changes = changes
        #: How many revisions the list was behind the store.
        self.behind = behind


class Decoded(Record):
    """A store's files decoded: the tasks, where the journal was read to, and the schemas the files were in."""

    _fields = ("tasks", "position", "snapshot_schema", "newest_schema")
    __slots__ = _fields

    def __init__(self, tasks: TaskList, position: Position, snapshot_schema: int, newest_schema: int) -> None:
        self.tasks = tasks
        self.position = position
        self.snapshot_schema = snapshot_schema
        self.newest_schema = newest_schema


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a store is decoded.

    Decoding allocates a few objects per task and frees none, so the collector would scan the
    growing heap again and again for nothing: at 100k tasks that more than doubles the load.
    Nothing the decoder makes is cyclic garbage, so there is nothing for it to find.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Refusing:
    """A sealed snapshot's tasks, built when first used; one that does not decode refuses the store."""

    _fields = ("_path", "_tasks", "_unreadable", "count", "highest")
    __slots__ = _fields

    def __init__(self, tasks: codec.SealedTasks, path: Path, unreadable: Unreadable) -> None:
        self._tasks, self._path, self._unreadable = tasks, path, unreadable
        self.count, self.highest = tasks.count, tasks.highest

    def find(self, task_id: int) -> Task | None:
        try:
            return self._tasks.find(task_id)
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def all(self) -> list[Task]:
        try:
            with collector_paused():
                return self._tasks.all()
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def matching(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                 skip: Container[int]) -> list[Task]:
        try:
            with collector_paused():
                return self._tasks.matching(status, tags, text, skip)
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def records(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                skip: Container[int]) -> list[dict[str, Any]]:
        try:
            with collector_paused():
                return self._tasks.records(status, tags, text, skip)
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def has(self, task_id: int) -> bool:
        try:
            return self._tasks.has(task_id)
        except codec.FormatError as exc:
            raise self._unreadable(self._path, exc) from None

    def open_count(self) -> int:
        try:
            with collector_paused():
                return self._tasks.open_count()
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def raw(self) -> Iterator[tuple[int, bytes]]:
        try:
            yield from self._tasks.raw()
        except codec.FormatError as exc:
            raise self._unreadable(self._path, exc) from None


class _RefusingSteps:
    """A sealed snapshot's history steps, whose damage (found when they are first read) refuses the store."""

    __slots__ = ("_path", "_steps", "_unreadable")

    def __init__(self, steps: codec.SealedSteps, path: Path, unreadable: Unreadable) -> None:
        self._steps, self._path, self._unreadable = steps, path, unreadable

    def __len__(self) -> int:
        return len(self._steps)

    def build(self) -> list[Step]:
        try:
            with collector_paused():
                return self._steps.build()
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def step(self, index: int) -> Step:
        try:
            return self._steps.step(index)
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self._path, exc) from None

    def stored(self) -> list[str]:
        return self._steps.stored()


def decode_line(line: bytes, what: str, schema: int, cipher: Cipher | None,
                held: int) -> tuple[int, Change | None, dt.datetime | None]:
    """(revision, change, time) of a journal record line, plain or encrypted; FormatError if it is neither.

    An encrypted store's records are encrypted, a plain store's plain, except records the snapshot already
    holds (revision ``held`` or before), which a crash during encrypt or decrypt may leave in the other form
    until the next change starts a new journal: they are checked as far as this store can, never applied.
    """
    # The shape of the clear frame first (cheap); a plain record's checksum is checked once, by decode_record.
    revision = encrypted.encrypted_revision(line[9:])
    if revision is None:
        rev, change, at = codec.decode_record(line, what, schema)
        if cipher is not None and rev > held:
            raise codec.FormatError(f"{what} is not encrypted, in an encrypted store", "")
        return rev, change, at
    payload = codec.checked_payload(line, what)
    if cipher is None:
        if revision > held:
            raise codec.FormatError(f"{what} is encrypted, in a store that is not", "")
        return revision, None, None  # (its checksum is all a plain store can check of it)
    plain = encrypted.decrypt_record(payload, what, schema, cipher.open)
    rev, change, at = codec.decode_record(plain, what, schema)
    if rev != revision:
        raise codec.FormatError(f"{what} holds record {rev} where record {revision} belongs", "")
    return rev, change, at


def replica_reader(raw: dict[str, Any], refused: Callable[[Exception], Exception]) -> Callable[[], Replica]:
    """How to read a snapshot's replication state when it is first asked for (a list never asks): a state that
    does not decode is the snapshot's damage, raised by ``refused``."""
    def read() -> Replica:
        from ..codec.replica import replica_from_dict

        try:
            return replica_from_dict(raw, "$.sync", lazily=refused)
        except codec.FormatError as exc:
            raise refused(exc) from None
    return read


def decode(snapshot: bytes, journal: bytes | None, unconfirmed: tuple[str, int, bool] | None, *,
           snapshot_path: Path, journal_path: Path, skipped: Skipped, unreadable: Unreadable,
           cipher: Cipher | None = None, revision: int | None = None) -> Decoded:
    """The tasks the snapshot holds with the journal's records replayed onto them (see replay).

    ``snapshot``: plain bytes (an encrypted one decrypted with ``cipher``, whose header said ``revision``)."""
    try:
        decoded = codec.open_snapshot(snapshot)
        if revision is not None and decoded.revision != revision:
            raise codec.FormatError(f"it holds revision {decoded.revision}, but its encryption header says "
                                    f"{revision}", "")
        if isinstance(decoded, codec.SealedSnapshot):  # the checksum matched: tasks are built when used
            tasks = TaskList.from_source(_Refusing(decoded.tasks, snapshot_path, unreadable),
                                         next_id=decoded.next_id, revision=decoded.revision,
                                         history=History.from_source(_RefusingSteps(decoded.steps, snapshot_path,
                                                                                    unreadable)))
        else:
            tasks = TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                             history=History(decoded.steps))
    except (codec.FormatError, InvalidValue) as exc:
        raise unreadable(snapshot_path, exc) from None
    if decoded.sync is not None:
        tasks.hold_replica(replica_reader(decoded.sync, lambda exc: unreadable(snapshot_path, exc)))
    position = Position()
    schemas = [decoded.schema]
    skipped.voided.clear()
    skipped.unfinished = 0
    if journal is not None:
        header_end = journal.find(b"\n") + 1
        try:
            if header_end == 0:
                raise codec.FormatError("the journal header is incomplete", "")
            header = codec.decode_journal_header(journal[: header_end - 1])
        except codec.FormatError as exc:
            raise unreadable(journal_path, exc) from None
        if header.base > decoded.revision:
            raise unreadable(journal_path, f"it continues revision {header.base}, but "
                             f"{SNAPSHOT_NAME} is only at revision {decoded.revision}")
        if header.store is not None and cipher is not None and header.store != cipher.store:
            raise unreadable(journal_path, f"it belongs to another encrypted store than {SNAPSHOT_NAME}")
        position = Position(header.generation, header_end, journal[:header_end], header.base, header.schema,
                            header.base, header.store)
        position, _ = replay(tasks, journal, position, skip=header_end, unconfirmed=unconfirmed,
                             journal_path=journal_path, skipped=skipped, unreadable=unreadable, cipher=cipher)
        schemas.append(header.schema)
    return Decoded(tasks, position, decoded.schema, max(schemas))


def replay(tasks: TaskList, data: bytes, position: Position, *, skip: int = 0,
           unconfirmed: tuple[str, int, bool] | None = None, journal_path: Path, skipped: Skipped,
           unreadable: Unreadable, cipher: Cipher | None = None) -> tuple[Position, list[Change]]:
    """Apply the complete journal lines of ``data[skip:]`` (which start at ``position.end``).

    A line whose change was reported as failed is voided: it is skipped (its offset is added to
    ``skipped.voided``). After the last newline, only the unfinished write of the next record may
    stand (codec.check_torn_tail): it was never acknowledged, so it is left out (the next writer
    cuts it off). Anything else is damage. A record its writer marked as being written and never
    confirmed nor took back (``unconfirmed``: the journal's generation and the record's offset) is
    not believed, nor anything after it. Ids named by a voided, unfinished or unconfirmed record are
    never handed out. Records the task list already holds (a newer snapshot) are skipped.
    """
    records: list[tuple[int, Change | None, dt.datetime | None]] = []
    doubtful = b""
    if unconfirmed is not None and unconfirmed[0] == position.generation and unconfirmed[1] >= position.end:
        cut = skip + unconfirmed[1] - position.end
        data, doubtful = data[:cut], data[cut:]
    offset = skip
    last_line, last_rev = position.last_line, position.last_rev
    first_free = 0
    while (newline := data.find(b"\n", offset)) >= 0:
        where = position.end + offset - skip
        line = data[offset:newline]
        if codec.is_void(line):
            first_free = max(first_free, codec.first_unnamed_id(line))
            skipped.voided.append(where)
        else:
            try:
                rev, change, at = decode_line(line, f"the journal line at byte {where}", position.schema, cipher,
                                              tasks.revision)
            except codec.FormatError as exc:
                raise unreadable(journal_path, exc) from None
            if rev != last_rev + 1:
                raise unreadable(journal_path, f"record {rev} at byte {where} follows record {last_rev}")
            records.append((rev, change, at))
            last_rev = rev
        last_line, offset = data[offset:newline + 1], newline + 1
    tail = data[offset:]
    skipped.unfinished = len(tail) + len(doubtful)
    first_free = max(first_free, codec.first_unnamed_id(doubtful))
    if tail:
        if not codec.is_void(tail):
            try:
                codec.check_torn_tail(tail, last_rev + 1)
            except codec.FormatError as exc:
                raise unreadable(journal_path, exc) from None
        first_free = max(first_free, codec.first_unnamed_id(tail))
    applied = []
    # Only the newest steps stay in the history: older ones need not say what they replaced.
    remembered = len(records) - tasks.history.limit
    for i, (rev, change, at) in enumerate(records):
        if rev <= tasks.revision:
            continue
        assert change is not None and at is not None  # (decode_line gives both beyond what tasks holds)
        try:
            tasks.apply(change, rev, at, remember=i >= remembered)
        except InvalidValue as exc:
            raise unreadable(journal_path, f"record {rev}: {exc}") from None
        applied.append(change)
    tasks.reserve_ids(first_free)
    end = position.end + offset - skip
    return position.evolve(end=end, last_line=last_line, last_rev=last_rev), applied
