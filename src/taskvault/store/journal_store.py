"""A task store kept as a snapshot plus an append-only journal of changes.

Files in the data directory:

* ``tasks.json``    -- the snapshot: every task as of one revision (written by atomic replace);
* ``tasks.journal`` -- a header naming the revision it continues, then one checksummed line per
  change (appended and fsynced before the change is acknowledged);
* ``tasks.lock``    -- the sidecar lock, held for the read-check-write of one change.

A change costs one append and one fsync, whatever the number of tasks. When the journal
outgrows the snapshot, the two are folded into a new snapshot (compaction). No rename ever
changes what the store means -- creating the files and compacting them leave the same tasks --
so a rename whose directory fsync fails can never make memory and disk disagree.

Readers take no lock. They read the journal before the snapshot: a snapshot is never older
than the journal read before it, so records it already holds are skipped, never missed.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import gc
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import attrs

from .. import codec
from ..domain.history import History
from ..domain.tasklist import Change, TaskList
from ..errors import (
    InvalidValue,
    SaveFailed,
    SaveInDoubt,
    StorageError,
    StoreMoved,
    StoreTooNew,
    StoreUnreadable,
    StoreUnsafe,
    typed,
)
from . import files, layout
from .backups import Backup, BackupShelf, Retention
from .hints import hint_for
from .layout import JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME
from .lock import StoreLock, parse_mark
from .salvage import SalvageReport, examine

#: Journals smaller than this are never compacted; above it, once they outgrow the snapshot.
COMPACT_MIN_BYTES = 256 * 1024

_UNREADABLE_HINT = "the file was left untouched"
#: Numbers the old files of a store being replaced mention (revisions, next ids, task ids). More than
#: 15 digits is no number a store reaches: a damaged file's must not push ids beyond what can be typed.
_REVISION_NAMED = re.compile(rb'"(?:rev|revision|base)":(\d{1,15})(?!\d)')
_NEXT_ID_NAMED = re.compile(rb'"next_id":(\d{1,15})(?!\d)')
_ID_NAMED = re.compile(rb'"id":(\d{1,15})(?!\d)')
#: Activity takes an automatic backup when the newest is older than this.
BACKUP_INTERVAL = dt.timedelta(hours=1)


def _stamp(info: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a journal is appended to, cut back or replaced by another file."""
    return info.st_dev, info.st_ino, info.st_size, info.st_ctime_ns


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.define
class _Position:
    """How far into which journal the in-memory task list has read."""

    generation: str | None = None
    end: int = 0
    last_line: bytes = b""
    #: Revision of ``last_line`` (the header's base revision when no record was read yet).
    last_rev: int = 0
    #: The schema the journal was written in.
    schema: int = codec.SCHEMA
    #: The revision of the snapshot the journal continues.
    base: int = 0


#: How often a reader tries to read the store while no writer comes or goes, before it waits for the lock.
_LOCK_FREE_TRIES = 3
_T = TypeVar("_T")


def _unconfirmed(raw_mark: bytes) -> tuple[str, int, bool] | None:
    mark = parse_mark(raw_mark)
    return mark.unconfirmed() if mark is not None else None


@attrs.frozen
class _News:
    """What a catch-up read: the journal beyond what memory holds, or the whole store to build again."""

    journal: bytes | None
    snapshot: bytes | None
    reload: bool


@attrs.frozen
class CaughtUp:
    """The result of catching up: the current task list and what other sessions changed."""

    tasks: TaskList
    #: The changes applied, oldest first; empty when the store had to be reloaded whole.
    changes: tuple[Change, ...]
    #: How many revisions the list was behind the store.
    behind: int


@contextmanager
def _collector_paused() -> Iterator[None]:
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


class JournalStore:
    """The durable home of one task list. Never prints; raises StorageError subclasses."""

    def __init__(
        self,
        directory: Path,
        *,
        lock_timeout: float = 10.0,
        on_lock_wait: Callable[[float], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        retention: Retention | None = None,
    ) -> None:
        self.directory = directory
        self.snapshot_path = directory / SNAPSHOT_NAME
        self.journal_path = directory / JOURNAL_NAME
        self._lock = StoreLock(directory / LOCK_NAME, timeout=lock_timeout, on_wait=on_lock_wait)
        self._clock = clock
        self._position = _Position()
        self._revision = -1  # revision of the task list built up to _position
        self._snapshot_size = 0
        self._synced_generation: str | None = None
        self._cleaned = False
        self._created_dirs: list[Path] = []
        self._journal_fd: int | None = None
        #: The journal as this session last left it under the lock (see refresh); None: unknown.
        self._seen: tuple[int, int, int, int] | None = None
        #: Names of leftover temp files removed on the first write of this session.
        self.removed_temp_files: list[str] = []
        self.backups = BackupShelf(directory, clock)
        self.retention = retention or Retention()
        self._snapshot_schema = codec.SCHEMA
        #: Why this store may be read but not changed (written by a newer taskvault), or None.
        self.read_only: StoreTooNew | None = None
        self._last_automatic_backup: dt.datetime | None = None
        #: Seconds the last load and the last durable append took (None: not yet in this session).
        self.last_load_seconds: float | None = None
        self.last_save_seconds: float | None = None
        #: Set once a save failed and could not be taken back: this store then saves nothing more.
        self._in_doubt: SaveInDoubt | None = None
        #: Byte offsets of the voided records (changes reported as failed) the last read passed over.
        self.voided: list[int] = []
        #: Bytes of an unfinished write after the journal's last record, left out by the last read.
        self.unfinished = 0
        #: True while salvage looks at the store: its own refusals need no advice (it is working it out).
        self._advice_withheld = False
        #: (st_dev, st_ino) of the data directory this session first saw; None until it existed.
        self._identity: tuple[int, int] | None = None
        #: True once this session read or made a store here: from then on it never makes another one.
        self._had_store = False

    # -- reading --------------------------------------------------------------------------

    def load(self) -> TaskList:
        """Read the store without writing or waiting. A missing store is an empty one.

        The journal is read before the snapshot: a snapshot is never older than the journal read
        before it, so records it already holds are skipped, never missed. A record a writer has
        not yet confirmed on disk (see StoreLock's mark) is not believed.
        """
        if not self._check_directory(must_exist=False):
            self._position, self._revision, self._snapshot_size = _Position(), 0, 0
            return TaskList()
        started = time.perf_counter()

        def read() -> tuple[bytes | None, bytes | None, tuple[int, int, int, int] | None]:
            journal = self._read(self.journal_path)
            seen = self._stamp_of_journal() if journal is not None else None
            return journal, self._read(self.snapshot_path), seen

        (journal, snapshot, seen), unconfirmed = self._consistently(read)
        with _collector_paused():
            tasks = self._build(snapshot, journal, unconfirmed)
        self._seen = seen  # the journal as it was read: a refresh costs one stat until it changes
        self.last_load_seconds = time.perf_counter() - started
        return tasks

    def _stamp_of_journal(self) -> tuple[int, int, int, int] | None:
        try:
            return _stamp(os.lstat(self.journal_path))
        except OSError:
            return None

    def _consistently(self, read: Callable[[], _T]) -> tuple[_T, tuple[str, int, bool] | None]:
        """Run ``read`` while no writer comes or goes, and return it with the record not to believe (if any).

        Readers take no lock: the mark in the lock file is read before and after, and if a writer
        changed it meanwhile, the read is made again. A reader that keeps losing that race (a
        session saving many changes a second) takes the lock, shared, and waits its turn.
        """
        for _ in range(_LOCK_FREE_TRIES):
            before = self._read_mark()
            value = read()
            if self._read_mark() == before:
                return value, _unconfirmed(before)
        held = self._lock.acquire(shared=True)
        try:
            value = read()
            return value, _unconfirmed(self._read_mark())
        finally:
            if held:
                self._lock.release()

    def _read_mark(self) -> bytes:
        try:
            return self._lock.read_mark()
        except OSError as exc:
            raise StorageError(f"cannot read the lock file {self._lock.path}: {exc.strerror}",
                               hint="it should be a plain file of yours; move anything else aside") from None

    def _own_unconfirmed(self) -> tuple[str, int, bool] | None:
        """The record not to believe, read by the writer that holds the lock (so the mark cannot change)."""
        try:
            mark = self._lock.current_mark()
        except OSError as exc:
            raise self._read_failed(self._lock.path, exc) from None
        return mark.unconfirmed() if mark is not None else None

    def _read(self, path: Path) -> bytes | None:
        try:
            return files.read_regular(path, limit=codec.MAX_FILE_BYTES)
        except OSError as exc:
            raise self._read_failed(path, exc) from None

    def _read_failed(self, path: Path, exc: OSError) -> StorageError:
        if exc.errno == errno.ELOOP:
            return StoreUnsafe(f"{path} is a symbolic link; taskvault does not follow links for its files",
                               hint="replace the link with the file it points to")
        if isinstance(exc, files.NotRegularFile):
            return self._unreadable(path, exc.strerror)
        if exc.errno == errno.EFBIG:
            return self._unreadable(path, f"it is larger than the {codec.MAX_FILE_BYTES >> 20} MiB a taskvault "
                                          "file can be")
        if isinstance(exc, PermissionError):
            return StoreUnreadable(f"cannot read {path}: permission denied",
                                   hint="nothing was changed; the file should be yours with mode 0600 (chmod 600)")
        return StoreUnreadable(f"cannot read {path}: {exc.strerror}",
                               hint="nothing was changed; check the disk and try again")

    def _unreadable(self, path: Path, detail: object) -> StoreUnreadable:
        if isinstance(detail, codec.TooNewError):
            return StoreTooNew(f"cannot load {path}: {detail}",
                               hint="upgrade taskvault to use this store; the file was left untouched")
        if self._advice_withheld:
            return StoreUnreadable(f"cannot load {path}: {detail}", hint=_UNREADABLE_HINT)
        return StoreUnreadable(f"cannot load {path}: {detail}", hint=f"{_UNREADABLE_HINT}; {self.recovery_advice()}")

    def newest_good_backup(self) -> Backup | None:
        """The newest backup that reads back and decodes as a store, or None."""
        for backup in self.backups.list():
            if self._decoded_backup(backup) is not None:
                return backup
        return None

    def _decoded_backup(self, backup: Backup, *, strict: bool = False) -> TaskList | None:
        """A backup's tasks, or None if it does not read back or decode as a store.

        ``strict``: a backup that cannot be read (the disk failing, not a file too large to be a backup)
        raises instead, so that a salvage never settles for an older backup because of a passing fault.
        """
        try:
            data = self.backups.read(backup)
        except StorageError:
            if strict and backup.size <= codec.MAX_FILE_BYTES:
                raise
            return None
        try:
            decoded = codec.decode_snapshot(data)
            return TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                            history=History(decoded.steps))
        except (codec.FormatError, InvalidValue):
            return None

    def recovery_advice(self) -> str:
        """What to run to get an unreadable store back: salvage, when it recovers more than the newest
        good backup holds; else that backup, if there is one."""
        try:
            found = self.salvage_report()
        except (StorageError, codec.FormatError):
            found = None
        report = found if isinstance(found, SalvageReport) else None
        try:
            backup = report.newest_backup if report is not None else self.newest_good_backup()
        except StorageError:
            backup = None
        if report is not None and report.gains > 0:
            more = (f"{report.gains} change{'s' if report.gains != 1 else ''} more than the newest good backup "
                    "holds" if backup is not None else "there is no backup to restore")
            return f"to recover revision {report.revision} from what is intact ({more}), run: {typed('salvage')}"
        if backup is None:
            return ("there is no backup to restore; move the file aside to start an empty store, "
                    f"and run '{typed('doctor')}' for details")
        return f"to restore the newest good backup, {backup.revision_text}, run: {typed('restore ' + backup.id)}"

    def salvage_report(self) -> SalvageReport | TaskList:
        """What 'salvage' recovers from this store now, or the loaded tasks if the store loads.

        Reads the files once (under the lock when this session holds it, else as a reader does),
        decides on those bytes whether they load, and if not, examines them (store/salvage.py).
        Raises StoreTooNew for a store of a newer schema, and the readers' errors for files that
        cannot be read at all (permission, a link, the disk).
        """
        def read() -> tuple[tuple[bytes | None, str | None], tuple[bytes | None, str | None]]:
            return self._salvage_source(self.journal_path), self._salvage_source(self.snapshot_path)

        if not self._check_directory(must_exist=False):
            return TaskList()  # no store yet: an empty one, which loads

        if self._lock.held:
            (journal, snapshot), unconfirmed = read(), self._own_unconfirmed()
        else:
            (journal, snapshot), unconfirmed = self._consistently(read)
        problem = next(((path, why) for path, (_, why) in ((self.snapshot_path, snapshot), (self.journal_path, journal))
                        if why is not None), None)
        self._advice_withheld = True
        try:
            if problem is None:
                try:
                    with _collector_paused():
                        return self._build(snapshot[0], journal[0], unconfirmed)
                except StoreTooNew:
                    raise
                except StoreUnreadable as exc:
                    refusal = exc.message
            else:
                refusal = f"cannot load {problem[0]}: {problem[1]}"
            with _collector_paused():
                return examine(refusal=refusal, snapshot=snapshot[0], snapshot_problem=snapshot[1], journal=journal[0],
                               journal_problem=journal[1], unconfirmed=unconfirmed, backups=self.backups.list(),
                               read_backup=functools.partial(self._decoded_backup, strict=True),
                               mentioned=self._salvage_numbers(),
                               snapshot_name=SNAPSHOT_NAME, journal_name=JOURNAL_NAME,
                               present=self.present_files())
        except codec.TooNewError as exc:
            raise StoreTooNew(f"cannot salvage {self.directory}: {exc}",
                              hint="upgrade taskvault to use this store; nothing was changed") from None
        finally:
            self._advice_withheld = False

    def present_files(self) -> tuple[str, ...]:
        """The names of the store files that are there, whatever they are."""
        return tuple(p.name for p in (self.snapshot_path, self.journal_path) if os.path.lexists(p))

    def _salvage_source(self, path: Path) -> tuple[bytes | None, str | None]:
        """A store file's bytes for salvage, or why it cannot be one: not a file, or too large to be a store.

        A file that cannot be read at all (permission, a link, the disk) is not damage: that error is raised.
        """
        try:
            return files.read_regular(path, limit=codec.MAX_FILE_BYTES), None
        except files.NotRegularFile as exc:
            return None, exc.strerror
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                return None, f"it is larger than the {codec.MAX_FILE_BYTES >> 20} MiB a taskvault file can be"
            raise self._read_failed(path, exc) from None

    def _build(self, snapshot: bytes | None, journal: bytes | None,
               unconfirmed: tuple[str, int, bool] | None = None) -> TaskList:
        if snapshot is None:
            if journal is not None:
                raise self._unreadable(self.journal_path, f"{SNAPSHOT_NAME} is missing beside it")
            if self._had_store:
                raise StoreMoved(self.directory, f"is gone ({SNAPSHOT_NAME} was removed or moved)")
            self._position, self._revision, self._snapshot_size = _Position(), 0, 0
            return TaskList()
        try:
            decoded = codec.decode_snapshot(snapshot)
            tasks = TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                             history=History(decoded.steps))
        except (codec.FormatError, InvalidValue) as exc:
            raise self._unreadable(self.snapshot_path, exc) from None
        position = _Position()
        schemas = [decoded.schema]
        self.voided, self.unfinished = [], 0
        if journal is not None:
            header_end = journal.find(b"\n") + 1
            try:
                if header_end == 0:
                    raise codec.FormatError("the journal header is incomplete", "")
                header = codec.decode_journal_header(journal[: header_end - 1])
            except codec.FormatError as exc:
                raise self._unreadable(self.journal_path, exc) from None
            if header.base > decoded.revision:
                raise self._unreadable(self.journal_path, f"it continues revision {header.base}, but "
                                       f"{SNAPSHOT_NAME} is only at revision {decoded.revision}")
            position = _Position(header.generation, header_end, journal[:header_end], header.base, header.schema,
                                 header.base)
            position, _ = self._replay(tasks, journal, position, skip=header_end, unconfirmed=unconfirmed)
            schemas.append(header.schema)
        if self._had_store and tasks.revision < self._revision:
            # An older copy put in its place: ids handed out since would be handed out again.
            raise StoreMoved(self.directory, f"went back from revision {self._revision} to {tasks.revision} "
                             "(an older copy was put in its place)")
        self._position, self._revision, self._snapshot_size = position, tasks.revision, len(snapshot)
        self._had_store = True
        self._snapshot_schema = decoded.schema
        newest = max(schemas)
        self.read_only = None if newest <= codec.SCHEMA else StoreTooNew(
            f"{self.directory} was written by a newer taskvault (schema {newest}; this version knows up to "
            f"{codec.SCHEMA}): it can be read but not changed", hint="upgrade taskvault to change this store")
        return tasks

    @property
    def needs_migration(self) -> bool:
        """True when the loaded files are of an older schema than this version writes."""
        return self._snapshot_schema < codec.SCHEMA or (self._position.generation is not None
                                                       and self._position.schema < codec.SCHEMA)

    def _replay(self, tasks: TaskList, data: bytes, position: _Position, skip: int = 0,
                unconfirmed: tuple[str, int, bool] | None = None) -> tuple[_Position, list[Change]]:
        """Apply the complete journal lines of ``data[skip:]`` (which start at ``position.end``).

        A line whose change was reported as failed is voided: it is skipped. After the last
        newline, only the unfinished write of the next record may stand (codec.check_torn_tail):
        it was never acknowledged, so it is left out (the next writer cuts it off). Anything else
        is damage. A record its writer marked as being written and never confirmed nor took back
        (``unconfirmed``: the journal's generation and the record's offset) is not believed, nor
        anything after it. Ids named by a voided, unfinished or unconfirmed record are never handed
        out. Records the task list already holds (a newer snapshot) are skipped.
        """
        records: list[tuple[int, Change, dt.datetime]] = []
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
                self.voided.append(where)
            else:
                try:
                    rev, change, at = codec.decode_record(line, f"the journal line at byte {where}", position.schema)
                except codec.FormatError as exc:
                    raise self._unreadable(self.journal_path, exc) from None
                if rev != last_rev + 1:
                    raise self._unreadable(self.journal_path, f"record {rev} at byte {where} follows record {last_rev}")
                records.append((rev, change, at))
                last_rev = rev
            last_line, offset = data[offset:newline + 1], newline + 1
        tail = data[offset:]
        self.unfinished = len(tail) + len(doubtful)
        first_free = max(first_free, codec.first_unnamed_id(doubtful))
        if tail:
            if not codec.is_void(tail):
                try:
                    codec.check_torn_tail(tail, last_rev + 1)
                except codec.FormatError as exc:
                    raise self._unreadable(self.journal_path, exc) from None
            first_free = max(first_free, codec.first_unnamed_id(tail))
        applied = []
        for rev, change, at in records:
            if rev <= tasks.revision:
                continue
            try:
                tasks.apply(change, rev, at)
            except InvalidValue as exc:
                raise self._unreadable(self.journal_path, f"record {rev}: {exc}") from None
            applied.append(change)
        tasks.reserve_ids(first_free)
        end = position.end + offset - skip
        return attrs.evolve(position, end=end, last_line=last_line, last_rev=last_rev), applied

    # -- writing --------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock; inside it, catch_up, append and compact may be called."""
        if not self._check_directory(must_exist=False):
            self._ensure_directory()
        self._lock.acquire()
        self._seen = None
        try:
            if not self._cleaned:
                self.removed_temp_files = files.remove_temp_files(self.directory,
                                                                  [self.snapshot_path, self.journal_path])
                self._cleaned = True
            yield
            if self._journal_fd is not None:  # all went well: memory is the journal as it is now
                self._seen = _stamp(os.fstat(self._journal_fd))
        finally:
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            self._lock.release()

    def catch_up(self, tasks: TaskList) -> CaughtUp:
        """Bring ``tasks`` up to the store's latest revision, under the lock.

        Usually ``tasks`` itself comes back with the missed changes applied in place. When
        another process compacted the store (or ``tasks`` is not the list this store built),
        a freshly loaded list comes back instead.
        """
        assert self._lock.held, "catch_up needs the store lock"
        news = self._read_news(tasks, self._open_journal())
        return self._apply_news(tasks, news, self._own_unconfirmed())

    def _read_news(self, tasks: TaskList, fd: int | None) -> _News:
        """What the journal holds beyond what ``tasks`` was built from (or all of it, if it was replaced)."""
        try:
            size = os.fstat(fd).st_size if fd is not None else 0
            if size > codec.MAX_FILE_BYTES:  # whether read whole or only what it gained since: never read it
                raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
            if fd is None or tasks.revision != self._revision or not self._same_journal(fd, size):
                journal = None if fd is None else os.pread(fd, size, 0) if size else b""
                return _News(journal, self._read(self.snapshot_path), reload=True)
            data = os.pread(fd, size - self._position.end, self._position.end) if size > self._position.end else b""
        except StorageError:
            raise
        except OSError as exc:  # the disk failed while reading (EIO): a storage error, not a bug
            raise self._read_failed(self.journal_path, exc) from None
        return _News(data, None, reload=False)

    def _apply_news(self, tasks: TaskList, news: _News, unconfirmed: tuple[str, int, bool] | None) -> CaughtUp:
        before = tasks.revision
        if news.reload:
            fresh = self._build(news.snapshot, news.journal, unconfirmed)
            return CaughtUp(fresh, (), fresh.revision - before)
        missed: list[Change] = []
        if news.journal:
            self._position, missed = self._replay(tasks, news.journal, self._position, unconfirmed=unconfirmed)
            self._revision = tasks.revision
        return CaughtUp(tasks, tuple(missed), tasks.revision - before)

    def refresh(self, tasks: TaskList) -> CaughtUp:
        """Catch ``tasks`` up with what other sessions saved since, for a read (no lock, nothing written).

        Costs two stats (the directory, the journal) when the journal did not change since this
        session last read it.
        """
        self._check_directory(must_exist=False)
        current = self._stamp_of_journal()
        if current is None and not os.path.lexists(self.journal_path):
            before = tasks.revision
            fresh = self.load()
            return CaughtUp(fresh, (), fresh.revision - before)
        if current == self._seen and tasks.revision == self._revision:
            # Unchanged since this session last read it: one stat. (Changes never rely on this;
            # they always catch up under the lock.)
            return CaughtUp(tasks, (), 0)
        fd = self._open_journal(writable=False)
        try:
            (news, seen), unconfirmed = self._consistently(lambda: (self._read_news(tasks, fd),
                                                                    self._stamp_of_journal()))
        finally:
            if fd is not None:
                os.close(fd)
        caught = self._apply_news(tasks, news, unconfirmed)
        self._seen = seen
        return caught

    def _open_journal(self, *, writable: bool = True) -> int | None:
        """Open the journal; for writing (the writer's, kept as ``_journal_fd``), or for one read."""
        try:
            # O_NONBLOCK: a named pipe or device put in its place must not make this wait.
            fd = os.open(self.journal_path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._read(self.journal_path)  # raises the same error a reader would see
            raise self._save_failed(self.journal_path, exc) from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise self._unreadable(self.journal_path, f"it is {files.kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        if writable:
            self._journal_fd = fd
        return fd

    def _same_journal(self, fd: int, size: int) -> bool:
        """True if the open journal is the one we read, with our last line still in place.

        The last line we consumed identifies the journal: if we read no record yet it is the
        header, with its random generation; otherwise it is a record whose revision a journal
        started anew cannot hold (its records all come after what we read). It also catches a
        record that was cut back after a failed fsync and replaced by another.
        """
        position = self._position
        if position.generation is None or size < position.end:
            return False
        length = len(position.last_line)
        return os.pread(fd, length, position.end - length) == position.last_line

    def _create_files(self, tasks: TaskList) -> None:
        """Start a store: an empty snapshot if there is none, then an empty journal after it."""
        try:
            # The directories this session created, and the data directory itself (perhaps made
            # by an attempt that failed, or by hand), must be durable in their parents before a
            # store inside them is acknowledged.
            for parent in dict.fromkeys([*(made.parent for made in self._created_dirs), self.directory.parent]):
                files.fsync_directory(parent)
            if not os.path.lexists(self.snapshot_path):
                files.atomic_replace(self.snapshot_path, self._encode(tasks))
                self._snapshot_size = self.snapshot_path.stat().st_size
            self._start_journal(tasks.revision)
        except OSError as exc:
            raise self._save_failed(self.directory, exc) from None
        self._had_store = True
        self._open_journal()

    def _start_journal(self, base: int) -> None:
        generation = os.urandom(8).hex()
        header = codec.encode_journal_header(generation, base)
        files.atomic_replace(self.journal_path, header)
        self._position = _Position(generation, len(header), header, base, codec.SCHEMA, base)
        self._synced_generation = generation
        self.voided, self.unfinished = [], 0

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        """Make ``change`` durable as the next revision of ``tasks``; return that revision and its time.

        ``tasks`` is not modified: the caller applies the change once this returns. On any
        failure nothing a reader can see has changed, and SaveFailed is raised -- or SaveInDoubt
        when the write could not be taken back, after which this store saves nothing more.
        """
        assert self._lock.held and tasks.revision == self._revision, "append needs catch_up under the lock"
        self.check_writable()
        tasks.check(change)
        if self.needs_migration:
            self.migrate(tasks)
        if self._journal_fd is None:  # the store's first change: only now is there something to keep
            self._create_files(tasks)
        elif self._position.last_rev != tasks.revision:
            self._restart_stale_journal(tasks)
        assert self._journal_fd is not None
        started = time.perf_counter()
        revision, at = tasks.revision + 1, self._clock()
        line = codec.encode_record(change, revision, at)
        if len(line) > codec.MAX_RECORD_BYTES or self._position.end + len(line) > codec.MAX_FILE_BYTES:
            raise SaveFailed(f"could not save to {self.journal_path}: the change is {len(line) >> 20} MiB, more than "
                             f"one change or the journal may hold — nothing was changed",
                             hint="change fewer tasks at once")
        try:
            if self._synced_generation != self._position.generation:
                # The journal's own directory entry must be durable before anything in it is.
                files.fsync_directory(self.directory)
                self._synced_generation = self._position.generation
            self._settle_doubt()
            if os.fstat(self._journal_fd).st_size != self._position.end:
                # An unfinished write a crashed writer left (never acknowledged): cut it off. This
                # change's fsync makes the cut durable together with the change.
                files.truncate(self._journal_fd, self._position.end)
            assert self._position.generation is not None
            self._lock.mark_writing(self._position.generation, self._position.end)
            end = files.append_durably(self._journal_fd, line, self._position.end, codec.VOID_MARK,
                                       before_take_back=self._guard_take_back)
        except files.UndoFailed as exc:
            raise self._doubt(exc.cause, exc.undo) from None
        except StorageError:
            self._unmark_writing()
            raise
        except OSError as exc:
            self._taken_back()
            raise self._save_failed(self.journal_path, exc) from None
        try:
            self._lock.mark_done()
        except OSError as exc:
            # Readers would not believe the record: so it must not count as saved. Take it back.
            self._guard_take_back()
            undo = files.take_back(self._journal_fd, self._position.end, codec.VOID_MARK)
            if undo is not None:
                raise self._doubt(exc, undo) from None
            self._taken_back()
            raise self._save_failed(self._lock.path, exc) from None
        self._position = attrs.evolve(self._position, end=end, last_line=line, last_rev=revision)
        self._revision = revision
        self.last_save_seconds = time.perf_counter() - started
        return revision, at

    def _doubt(self, cause: OSError, undo: OSError) -> SaveInDoubt:
        """A save failed and taking it back failed too: say so, and save nothing more in this session.

        The lock file's mark stays, so no reader believes the record; made durable, it outlives a crash too,
        until the next writer has removed the record for good (see _settle_doubt).
        """
        try:
            self._lock.mark_doubt()
        except OSError:
            pass  # the mark written before the record still keeps this boot's readers from believing it
        self._in_doubt = SaveInDoubt(
            f"could not save to {self.journal_path}: {cause.strerror or cause}, and taking the write back failed too "
            f"({undo.strerror or undo}) — the change may or may not be on disk",
            hint="this session saves nothing more; no reader applies the change, and the next change removes it; "
            f"run '{typed('doctor')}' once the disk works")
        return self._in_doubt

    def _settle_doubt(self) -> None:
        """Remove for good a record an earlier save left in doubt, before this change may reuse its place.

        The doubt mark holds across a power loss, so it may be lifted only once the journal is cut
        back durably: otherwise a later record at the same offset could be hidden by a stale mark.
        """
        assert self._journal_fd is not None
        mark = self._own_unconfirmed()
        if mark is None or not mark[2] or mark[0] != self._position.generation:
            return
        files.truncate(self._journal_fd, self._position.end, durably=True)
        self._lock.lift_doubt()  # not mark_done: this process may never have marked anything

    def _guard_take_back(self) -> None:
        """Before a failed record is voided in place: mark it durably, so that a power cut tearing the
        void mark leaves a record that no reader, in any boot, believes (or refuses as damage).

        If even this mark cannot be made durable, the take-back goes on without it.
        """
        try:
            self._lock.mark_doubt()
        except OSError:
            pass

    def _taken_back(self) -> None:
        """The failed record is gone for good (voided or cut, durably): lift the mark that named it.

        A doubt mark must be lifted durably, or a power cut could bring it back over the records
        written after it. If that fails, the mark stays and the next change settles it first.
        """
        try:
            self._lock.mark_done(durably=self._lock.marked_in_doubt)
        except OSError:
            pass

    def _unmark_writing(self) -> None:
        try:
            self._lock.mark_done()
        except OSError:
            pass  # then readers ignore the record at the mark: one change is reported as failed after all

    def _restart_stale_journal(self, tasks: TaskList) -> None:
        """Start the journal anew when the snapshot is ahead of all it holds (a snapshot put back by hand).

        The loader already skipped every record the snapshot holds; appending after them would
        leave a gap in the revisions that the next load refuses. The new journal continues the
        snapshot, so the store means what it meant before, and takes the change after it.
        """
        try:
            self._start_journal(tasks.revision)
        except OSError as exc:
            raise self._save_failed(self.journal_path, exc) from None
        self._reopen_journal()

    def check_writable(self) -> None:
        """Raise StoreTooNew if a newer taskvault wrote this store, SaveInDoubt after a save that could not be undone."""
        if self._in_doubt is not None:
            raise SaveInDoubt("an earlier change in this session could not be saved or taken back, so it may or may "
                              "not be on disk; this session saves nothing more", hint=self._in_doubt.hint)
        if self.read_only is not None:
            raise self.read_only

    @property
    def journal_records(self) -> int:
        """How many changes the journal holds beyond the snapshot."""
        return max(0, self._position.last_rev - self._position.base)

    def file_sizes(self) -> tuple[int, int]:
        """(snapshot bytes, journal bytes) as this session last read or wrote them."""
        return self._snapshot_size, self._position.end

    def compaction_due(self) -> bool:
        return self._position.end > max(COMPACT_MIN_BYTES, self._snapshot_size)

    def compact(self, tasks: TaskList) -> None:
        """Fold the journal into a new snapshot. The tasks mean the same before and after."""
        assert self._lock.held and tasks.revision == self._revision
        data = self._encode(tasks)
        try:
            self._backup(data, tasks, "compaction")
        except StorageError as exc:
            raise SaveFailed(f"could not compact the journal into {self.snapshot_path}, because the backup taken "
                             f"first failed ({exc.message}) — your change was saved, in the journal",
                             hint=exc.hint) from None
        try:
            # The snapshot's rename must be durable before the journal that follows it is
            # replaced, or a power loss could pair an old snapshot with a newer journal.
            files.atomic_replace(self.snapshot_path, data)
            self._snapshot_size = len(data)
            self._start_journal(tasks.revision)
        except OSError as exc:
            raise SaveFailed(f"could not compact the journal into {self.snapshot_path}: "
                             f"{exc.strerror} — your change was saved, in the journal",
                             hint=hint_for(exc)) from None

    @staticmethod
    def _encode(tasks: TaskList) -> bytes:
        return codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history))

    def migrate(self, tasks: TaskList) -> Backup:
        """Rewrite an older store in the current schema, after backing it up as it was (under the lock).

        Each step leaves a store that loads with the same tasks: the backup is taken first; the
        new snapshot holds everything the old journal did; the journal is replaced last.
        """
        assert self._lock.held and tasks.revision == self._revision
        self.check_writable()
        old = codec.encode_snapshot_v1(*tasks.snapshot())
        backup = self._backup(old, tasks, "migration", verify=codec.decode_snapshot)
        try:
            files.atomic_replace(self.snapshot_path, self._encode(tasks))
            self._snapshot_schema = codec.SCHEMA
            self._snapshot_size = self.snapshot_path.stat().st_size
            self._start_journal(tasks.revision)
        except OSError as exc:
            raise SaveFailed(f"could not upgrade the store in {self.directory} to schema {codec.SCHEMA}: "
                             f"{exc.strerror or exc} — it still loads as it was, and backup {backup.id} holds it",
                             hint=hint_for(exc)) from None
        self._reopen_journal()
        return backup

    def _reopen_journal(self) -> None:
        """Open the journal anew after it was replaced (the open descriptor is the old file)."""
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        self._open_journal()

    # -- backups --------------------------------------------------------------------------

    def backup(self, tasks: TaskList, label: str) -> Backup:
        """Take a verified backup of ``tasks`` (under the lock, caught up)."""
        assert self._lock.held and tasks.revision == self._revision
        return self._backup(self._encode(tasks), tasks, label)

    def _backup(self, data: bytes, tasks: TaskList, label: str,
                verify: Callable[[bytes], object] = codec.decode_snapshot) -> Backup:
        def checked(data: bytes) -> None:
            try:
                verify(data)
            except (codec.FormatError, InvalidValue) as exc:
                raise SaveFailed(f"the new backup does not decode: {exc}") from None
        if not self._check_directory(must_exist=False):
            self._ensure_directory()
        backup = self.backups.take(data, revision=tasks.revision, task_count=len(tasks), label=label,
                                   verify=checked)
        if backup.automatic:
            self._last_automatic_backup = backup.taken
        return backup

    def backup_due(self, tasks: TaskList) -> bool:
        """True after an hour of activity without an automatic backup.

        With no automatic backup yet, the hour counts from the oldest change in the history, so a
        new store gets its first backup once it has an hour of work in it.
        """
        if self._last_automatic_backup is None:  # looked up once per session, then kept up to date
            newest = self.backups.newest(automatic_only=True)
            first = next(iter(tasks.history), None)
            if newest is not None:
                self._last_automatic_backup = newest.taken
            elif first is not None and first.at is not None:
                self._last_automatic_backup = first.at
            else:
                return False
        since = self._clock() - self._last_automatic_backup
        # A backup dated in the future (taken under a clock set wrong) must not put the next one off for ever.
        return since >= BACKUP_INTERVAL or since < dt.timedelta(0)

    def rotate_backups(self) -> list[Backup]:
        """Remove the automatic backups the retention policy no longer keeps."""
        return self.backups.rotate(self.retention)

    def replace_unreadable(self, snapshot: codec.Snapshot) -> tuple[TaskList, tuple[str, ...]]:
        """Put a backup in place of a store that does not load, keeping the unreadable files aside.

        The unreadable files get a second name (``tasks.json.unreadable-<time>``) before anything
        else happens and are never removed. The new journal goes in first, continuing a revision
        above any the old files reached, so that a crash before the snapshot is replaced still
        leaves a store that is refused, never one that mixes the two. Returns the restored tasks
        and the names the unreadable files were kept under.
        """
        assert self._lock.held
        revision, next_id = self._salvage_numbers()
        revision = max(revision, snapshot.revision) + 1
        next_id = max(next_id, snapshot.next_id)
        tasks = TaskList(snapshot.tasks, next_id=next_id, revision=revision, history=History(snapshot.steps))
        aside = self._keep_aside()
        try:
            self._start_journal(revision)
            files.atomic_replace(self.snapshot_path, self._encode(tasks))
        except OSError as exc:
            raise SaveFailed(f"could not restore into {self.directory}: {exc.strerror or exc} — the store is still "
                             f"refused, and its files are kept as {', '.join(aside)}; "
                             "run the restore again", hint=hint_for(exc)) from None
        self._now_holds(tasks)
        return tasks, aside

    def replace_with_salvage(self, report: SalvageReport, change: Change) -> tuple[TaskList, tuple[str, ...]]:
        """Put what salvage recovered in place of a store that does not load, as one change from ``report.base``.

        The damaged files are kept aside first, as by replace_unreadable. Then the new snapshot goes
        in: the salvaged tasks at a revision above any the old files mention, whose history ends in
        the salvage change itself (with the tasks of the base it replaced), so that 'undo' goes back
        to the base. Last, a new journal continues it. The snapshot holds everything on its own:
        beside the old journal, whose records are all of lower revisions, it loads as the salvaged
        store if that journal still decodes, and is refused as before if it does not, and a second
        salvage then recovers the same tasks from it. (The other order would pair the old snapshot
        with a new journal: refused too, but the old journal's records would be out of reach.)
        Returns the salvaged tasks and the names the damaged files were kept under.
        """
        assert self._lock.held
        revision = report.fresh_revision
        base_tasks, _, _ = report.base.snapshot()
        history = History(list(report.base.history), limit=report.base.history.limit)
        if change.is_empty:
            tasks = TaskList(base_tasks, next_id=max(change.next_id, report.base.next_id), revision=revision,
                             history=history)
        else:
            tasks = TaskList(base_tasks, next_id=report.base.next_id, revision=revision - 1, history=history)
            tasks.apply(change, revision, self._clock())
        data = self._encode(tasks)
        aside = self._keep_aside()
        try:
            files.atomic_replace(self.snapshot_path, data)
            self._start_journal(revision)
        except OSError as exc:
            raise SaveFailed(f"could not salvage into {self.directory}: {exc.strerror or exc} — the damaged files "
                             f"are kept as {', '.join(aside)}; run '{typed('salvage')}' again", hint=hint_for(exc)) from None
        self._now_holds(tasks)
        return tasks, aside

    def _keep_aside(self) -> tuple[str, ...]:
        """Give each store file that is there a second name, ``<name>.unreadable-<time>``, durably."""
        present = [p for p in (self.snapshot_path, self.journal_path) if os.path.lexists(p)]
        stamp = base = self._clock().astimezone(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        sequence = 1
        while any(os.path.lexists(p.with_name(f"{p.name}.unreadable-{stamp}")) for p in present):
            sequence += 1  # a second restore in the same second must not skip keeping its files
            stamp = f"{base}.{sequence}"
        aside = tuple(p.with_name(f"{p.name}.unreadable-{stamp}") for p in present)
        try:
            files.keep_aside(list(zip(present, aside, strict=True)))
        except OSError as exc:
            raise SaveFailed(f"could not keep the unreadable files aside in {self.directory}: {exc.strerror or exc}"
                             " — nothing was changed", hint=hint_for(exc)) from None
        return tuple(p.name for p in aside)

    def _now_holds(self, tasks: TaskList) -> None:
        """After the store's files were replaced whole: this session's view is the new files."""
        self._snapshot_schema = codec.SCHEMA
        self._snapshot_size = self.snapshot_path.stat().st_size
        self._revision = tasks.revision
        self.read_only = None
        self._reopen_journal()

    def _salvage_numbers(self) -> tuple[int, int]:
        """The highest revision and next id the store's files mention, read as leniently as possible.

        Only a file's first MAX_FILE_BYTES are read: taskvault never writes more, so nothing it handed
        out lies beyond them. A file that cannot be read (the disk failing) raises: numbers too low
        would let the new files collide with the old ones.
        """
        revision, next_id = 0, 1
        for path in (self.snapshot_path, self.journal_path):
            try:
                data = files.read_head(path, codec.MAX_FILE_BYTES)
            except files.NotRegularFile:
                continue  # a pipe or a device holds nothing a store wrote
            except OSError as exc:
                raise self._read_failed(path, exc) from None
            revision = max([revision, *map(int, _REVISION_NAMED.findall(data))])
            next_id = max([next_id, *map(int, _NEXT_ID_NAMED.findall(data)),
                           *(int(found) + 1 for found in _ID_NAMED.findall(data))])
        return revision, next_id

    def _save_failed(self, path: Path, exc: OSError) -> SaveFailed:
        return SaveFailed(f"could not save to {path}: {exc.strerror or exc} — nothing was changed",
                          hint=hint_for(exc))

    # -- the directory --------------------------------------------------------------------

    def _check_directory(self, *, must_exist: bool) -> bool:
        """Refuse a data directory that breaks the directory rule (store/layout.py); return whether it exists.

        Once this session has seen its data directory, a directory gone from the path, or another
        one in its place (moved, deleted, replaced), raises StoreMoved: the session never goes on
        with, or creates, a store that is not the one it opened.
        """
        exists = layout.check_data_directory(self.directory)
        if self._identity is not None:
            if not exists:
                raise StoreMoved(self.directory, "was moved or deleted")
            if self._directory_identity() != self._identity:
                raise StoreMoved(self.directory, "was replaced by another directory")
        elif exists:
            self._identity = self._directory_identity()
        if must_exist and not exists:
            raise StorageError(f"the data directory {self.directory} does not exist")
        return exists

    def _directory_identity(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.directory)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _ensure_directory(self) -> None:
        if self._had_store:  # never make a store where the one this session opened was
            raise StoreMoved(self.directory, "was moved or deleted")
        try:
            self._created_dirs += files.ensure_private_directory(self.directory)
        except OSError as exc:
            raise self._save_failed(self.directory, exc) from None
        self._identity = self._directory_identity()

    def close(self) -> None:
        self._lock.close()
