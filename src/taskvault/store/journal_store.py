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
import gc
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from .. import codec
from ..domain.history import History
from ..domain.tasklist import Change, TaskList
from ..errors import InvalidValue, SaveFailed, StorageError, StoreTooNew, StoreUnreadable, StoreUnsafe
from . import files, layout
from .backups import Backup, BackupShelf, Retention
from .hints import hint_for
from .layout import JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME
from .lock import StoreLock

#: Journals smaller than this are never compacted; above it, once they outgrow the snapshot.
COMPACT_MIN_BYTES = 256 * 1024

_UNREADABLE_HINT = "the file was left untouched"
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

    # -- reading --------------------------------------------------------------------------

    def load(self) -> TaskList:
        """Read the store without locking or writing. A missing store is an empty one."""
        if not self._check_directory(must_exist=False):
            self._position, self._revision, self._snapshot_size = _Position(), 0, 0
            return TaskList()
        started = time.perf_counter()
        journal = self._read(self.journal_path)
        snapshot = self._read(self.snapshot_path)
        with _collector_paused():
            tasks = self._build(snapshot, journal)
        self.last_load_seconds = time.perf_counter() - started
        return tasks

    def _read(self, path: Path) -> bytes | None:
        try:
            return files.read_regular(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreUnsafe(f"{path} is a symbolic link; taskvault does not follow links for its files",
                                  hint="replace the link with the file it points to") from None
            if isinstance(exc, files.NotRegularFile):
                raise self._unreadable(path, exc.strerror) from None
            if isinstance(exc, PermissionError):
                raise StoreUnreadable(f"cannot read {path}: permission denied",
                                      hint="nothing was changed; the file should be yours with mode 0600 "
                                  "(chmod 600)") from None
            raise StoreUnreadable(f"cannot read {path}: {exc.strerror}",
                                  hint="nothing was changed; check the disk and try again") from None

    def _unreadable(self, path: Path, detail: object) -> StoreUnreadable:
        if isinstance(detail, codec.TooNewError):
            return StoreTooNew(f"cannot load {path}: {detail}",
                               hint="upgrade taskvault to use this store; the file was left untouched")
        return StoreUnreadable(f"cannot load {path}: {detail}", hint=f"{_UNREADABLE_HINT}; {self.recovery_advice()}")

    def newest_good_backup(self) -> Backup | None:
        """The newest backup that reads back and decodes as a store, or None."""
        for backup in self.backups.list():
            try:
                codec.decode_snapshot(self.backups.read(backup))
            except (codec.FormatError, InvalidValue, StorageError):
                continue
            return backup
        return None

    def recovery_advice(self) -> str:
        """What to run to get an unreadable store back: the newest good backup, if there is one."""
        try:
            backup = self.newest_good_backup()
        except StorageError:
            backup = None
        if backup is None:
            return ("there is no backup to restore; move the file aside to start an empty store, "
                    "and run 'taskvault doctor' for details")
        return f"to restore the newest good backup, {backup.revision_text}, run: taskvault restore {backup.id}"

    def _build(self, snapshot: bytes | None, journal: bytes | None) -> TaskList:
        if snapshot is None:
            if journal is not None:
                raise self._unreadable(self.journal_path, f"{SNAPSHOT_NAME} is missing beside it")
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
            position, _ = self._replay(tasks, journal, position, skip=header_end)
            schemas.append(header.schema)
        self._position, self._revision, self._snapshot_size = position, tasks.revision, len(snapshot)
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

    def _replay(self, tasks: TaskList, data: bytes, position: _Position,
                skip: int = 0) -> tuple[_Position, list[Change]]:
        """Apply the complete journal lines of ``data[skip:]`` (which start at ``position.end``).

        A final line without its newline is a write that never finished (a crash mid-append):
        it was never acknowledged, so it is left out. Any other bad line is damage. Records
        the task list already holds (a newer snapshot) are skipped.
        """
        records: list[tuple[int, Change, dt.datetime]] = []
        offset = skip
        last_line, last_rev = position.last_line, position.last_rev
        while (newline := data.find(b"\n", offset)) >= 0:
            where = position.end + offset - skip
            try:
                rev, change, at = codec.decode_record(data[offset:newline], f"the journal line at byte {where}",
                                                      position.schema)
            except codec.FormatError as exc:
                raise self._unreadable(self.journal_path, exc) from None
            if rev != last_rev + 1:
                raise self._unreadable(self.journal_path, f"record {rev} at byte {where} follows record {last_rev}")
            records.append((rev, change, at))
            last_rev, last_line, offset = rev, data[offset:newline + 1], newline + 1
        applied = []
        for rev, change, at in records:
            if rev <= tasks.revision:
                continue
            try:
                tasks.apply(change, rev, at)
            except InvalidValue as exc:
                raise self._unreadable(self.journal_path, f"record {rev}: {exc}") from None
            applied.append(change)
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
        before = tasks.revision
        fd = self._open_journal()
        size = os.fstat(fd).st_size if fd is not None else 0
        if fd is None or tasks.revision != self._revision or not self._same_journal(fd, size):
            fresh = self._reload(fd)
            return CaughtUp(fresh, (), fresh.revision - before)
        missed: list[Change] = []
        if size > self._position.end:
            data = os.pread(fd, size - self._position.end, self._position.end)
            self._position, missed = self._replay(tasks, data, self._position)
            self._revision = tasks.revision
            if size > self._position.end:
                self._cut_torn_tail(fd)
        return CaughtUp(tasks, tuple(missed), tasks.revision - before)

    def refresh(self, tasks: TaskList) -> CaughtUp:
        """Catch ``tasks`` up with what other sessions saved since, for a read.

        Takes the lock only if there is a journal and it changed since this session last held the
        lock, so a read never creates files and costs one stat when nothing happened elsewhere.
        """
        before = tasks.revision
        try:
            current = _stamp(os.lstat(self.journal_path))
        except FileNotFoundError:
            fresh = self.load()
            return CaughtUp(fresh, (), fresh.revision - before)
        if current == self._seen and tasks.revision == self._revision:
            # Unchanged since this session last held the lock: one stat, no lock. (Changes never
            # rely on this; they always catch up under the lock.)
            return CaughtUp(tasks, (), 0)
        with self.locked():
            return self.catch_up(tasks)

    def _open_journal(self) -> int | None:
        try:
            # O_NONBLOCK: a named pipe or device put in its place must not make this wait.
            fd = os.open(self.journal_path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
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

    def _reload(self, fd: int | None) -> TaskList:
        """Load everything again (under the lock). Missing files are created by the first append."""
        journal = None
        if fd is not None:
            size = os.fstat(fd).st_size
            journal = os.pread(fd, size, 0) if size else b""
        tasks = self._build(self._read(self.snapshot_path), journal)
        if fd is not None and len(journal or b"") > self._position.end:
            self._cut_torn_tail(fd)
        return tasks

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
        self._open_journal()

    def _start_journal(self, base: int) -> None:
        generation = os.urandom(8).hex()
        header = codec.encode_journal_header(generation, base)
        files.atomic_replace(self.journal_path, header)
        self._position = _Position(generation, len(header), header, base, codec.SCHEMA, base)
        self._synced_generation = generation

    def _cut_torn_tail(self, fd: int) -> None:
        """Drop the unfinished last line a crashed writer left (it was never acknowledged)."""
        try:
            files.truncate(fd, self._position.end)
        except OSError as exc:
            raise self._save_failed(self.journal_path, exc) from None

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        """Make ``change`` durable as the next revision of ``tasks``; return that revision and its time.

        ``tasks`` is not modified: the caller applies the change once this returns. On any
        failure nothing a reader can see has changed, and SaveFailed is raised.
        """
        assert self._lock.held and tasks.revision == self._revision, "append needs catch_up under the lock"
        self.check_writable()
        tasks.check(change)
        if self.needs_migration:
            self.migrate(tasks)
        if self._journal_fd is None:  # the store's first change: only now is there something to keep
            self._create_files(tasks)
        assert self._journal_fd is not None
        started = time.perf_counter()
        revision, at = tasks.revision + 1, self._clock()
        line = codec.encode_record(change, revision, at)
        try:
            if self._synced_generation != self._position.generation:
                # The journal's own directory entry must be durable before anything in it is.
                files.fsync_directory(self.directory)
                self._synced_generation = self._position.generation
            end = files.append_durably(self._journal_fd, line, self._position.end)
        except OSError as exc:
            raise self._save_failed(self.journal_path, exc) from None
        self._position = attrs.evolve(self._position, end=end, last_line=line, last_rev=revision)
        self._revision = revision
        self.last_save_seconds = time.perf_counter() - started
        return revision, at

    def check_writable(self) -> None:
        """Raise StoreTooNew if a newer taskvault wrote this store: it is read, never rewritten."""
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
        return self._clock() - self._last_automatic_backup >= BACKUP_INTERVAL

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
        present = [p for p in (self.snapshot_path, self.journal_path) if os.path.lexists(p)]
        stamp = base = self._clock().astimezone(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        sequence = 1
        while any(os.path.lexists(p.with_name(f"{p.name}.unreadable-{stamp}")) for p in present):
            sequence += 1  # a second restore in the same second must not skip keeping its files
            stamp = f"{base}.{sequence}"
        aside = tuple(p.with_name(f"{p.name}.unreadable-{stamp}") for p in present)
        try:
            for path, kept in zip(present, aside, strict=True):
                files.keep_aside(path, kept)
        except OSError as exc:
            raise SaveFailed(f"could not keep the unreadable files aside in {self.directory}: {exc.strerror or exc}"
                             " — nothing was changed", hint=hint_for(exc)) from None
        try:
            self._start_journal(revision)
            files.atomic_replace(self.snapshot_path, self._encode(tasks))
        except OSError as exc:
            raise SaveFailed(f"could not restore into {self.directory}: {exc.strerror or exc} — the store is still "
                             f"refused, and its files are kept as {', '.join(p.name for p in aside)}; "
                             "run the restore again", hint=hint_for(exc)) from None
        self._snapshot_schema = codec.SCHEMA
        self._snapshot_size = self.snapshot_path.stat().st_size
        self._revision = revision
        self.read_only = None
        self._reopen_journal()
        return tasks, tuple(p.name for p in aside)

    def _salvage_numbers(self) -> tuple[int, int]:
        """The highest revision and next id the store's files mention, read as leniently as possible."""
        revision, next_id = 0, 1
        for path in (self.snapshot_path, self.journal_path):
            try:
                data = files.read_regular(path) or b""
            except OSError:
                continue
            revision = max([revision, *map(int, re.findall(rb'"(?:rev|revision|base)":(\d{1,18})', data))])
            next_id = max([next_id, *map(int, re.findall(rb'"next_id":(\d{1,18})', data))])
        return revision, next_id

    def _save_failed(self, path: Path, exc: OSError) -> SaveFailed:
        return SaveFailed(f"could not save to {path}: {exc.strerror or exc} — nothing was changed",
                          hint=hint_for(exc))

    # -- the directory --------------------------------------------------------------------

    def _check_directory(self, *, must_exist: bool) -> bool:
        """Refuse a data directory that breaks the directory rule (store/layout.py); return whether it exists."""
        exists = layout.check_data_directory(self.directory)
        if must_exist and not exists:
            raise StorageError(f"the data directory {self.directory} does not exist")
        return exists

    def _ensure_directory(self) -> None:
        try:
            self._created_dirs += files.ensure_private_directory(self.directory)
        except OSError as exc:
            raise self._save_failed(self.directory, exc) from None

    def close(self) -> None:
        self._lock.close()
