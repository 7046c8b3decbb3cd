"""An in-memory store behind the same Protocol as JournalStore (taskvault.store.port.StorePort).

What the service and the command handlers are unit-tested against: no files, no fsync, no
subprocesses. It keeps the promises the real store keeps, and no others; tests/test_store_contract.py
runs one suite over both to hold it to them.

A ``MemoryDisk`` is what a data directory is to JournalStore: the changes saved so far (each with its
revision and time), the backups, and who holds the lock. Every ``MemoryStore`` made on one disk is a
handle of its own, as a session is: it sees what another handle saved when it catches up (under the
lock) or refreshes, never before. Faults are injected where the real store meets the disk:
``disk.fail_appends`` makes the next appends raise the SaveFailed the real store raises for that
errno, with nothing of the change kept.
"""

from __future__ import annotations

import builtins
import datetime as dt
import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from taskvault import codec
from taskvault.domain.progress import ProgressCallback
from taskvault.domain.tasklist import Change, TaskList
from taskvault.errors import BackupNotFound, InvalidValue, SaveFailed, StorageError, StoreLocked, StoreTooNew, typed
from taskvault.store.advice import save_failed
from taskvault.store.backups import Backup, BackupShelf, Retention
from taskvault.store.doctor import Finding
from taskvault.store.housekeeping import Housekeeping
from taskvault.store.layout import BACKUPS_NAME, JOURNAL_NAME, SNAPSHOT_NAME
from taskvault.store.replay import CaughtUp
from taskvault.store.salvage import SalvageReport

_STAMP = "%Y%m%d-%H%M%S"  # a backup's id, as BackupShelf names them


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MemoryShelf:
    """The backups of a MemoryDisk: the bytes each was taken with, by id, named as BackupShelf names them.

    Times come from the handle that takes or rotates them, as each JournalStore's shelf has its store's clock.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._kept: dict[str, tuple[Backup, bytes]] = {}

    def list(self) -> builtins.list[Backup]:
        """Every backup, newest first (by revision, then time, then sequence, as BackupShelf orders them)."""
        return sorted((backup for backup, _ in self._kept.values()),
                      key=lambda b: (b.revision, b.taken, int(b.id.split(".")[1]) if "." in b.id else 1),
                      reverse=True)

    def newest(self, *, automatic_only: bool = False) -> Backup | None:
        return next((b for b in self.list() if b.automatic or not automatic_only), None)

    #: A backup by id, unique id prefix, label or ``latest``: the real shelf's rule, over this shelf's list.
    find = BackupShelf.find

    def read(self, backup: Backup) -> bytes:
        kept = self._kept.get(backup.id)
        if kept is None:
            raise BackupNotFound(f"the backup {backup.id} is gone", hint=f"'{typed('backups')}' lists the backups")
        return kept[1]

    def take(self, data: bytes, *, revision: int, task_count: int, label: str, now: dt.datetime) -> Backup:
        now = now.astimezone(dt.UTC)
        backup_id, sequence = now.strftime(_STAMP), 1
        while backup_id in self._kept:
            sequence += 1
            backup_id = f"{now.strftime(_STAMP)}.{sequence}"
        name = f"{backup_id}-r{revision}-n{task_count}-{label}.json"
        backup = Backup(backup_id, self.directory / name, now.replace(microsecond=0), revision, task_count, label,
                        len(data))
        self._kept[backup_id] = (backup, data)
        return backup

    def rotate(self, retention: Retention, now: dt.datetime) -> builtins.list[Backup]:
        automatic = [b for b in self.list() if b.automatic]
        kept = retention.keep(automatic, now.astimezone(dt.UTC))
        removed = [b for b in automatic if b.id not in kept]
        for backup in removed:
            del self._kept[backup.id]
        return removed


class MemoryDisk:
    """What every handle on one in-memory store shares, as sessions share a data directory."""

    def __init__(self, directory: Path = Path("/memory/taskvault")) -> None:
        self.directory = directory
        #: Every change saved, oldest first, with its revision and time: the journal, never compacted.
        self.records: list[tuple[Change, int, dt.datetime]] = []
        self.backups = MemoryShelf(directory / BACKUPS_NAME)
        #: The handle holding the lock, if one does.
        self.holder: MemoryStore | None = None
        #: Fault injection: how many of the next appends fail, and with which errno.
        self.fail_appends = 0
        self.fail_errno = errno.ENOSPC

    @property
    def revision(self) -> int:
        """The store's latest revision: the last change's, or 0 for a store nothing was saved in."""
        return self.records[-1][1] if self.records else 0


class MemoryStore:
    """One handle on a MemoryDisk, implementing StorePort. Never prints; raises StorageError subclasses."""

    def __init__(self, disk: MemoryDisk, *, clock: Callable[[], dt.datetime] = utcnow,
                 housekeeping: Housekeeping | None = None) -> None:
        self.disk = disk
        self._clock = clock
        self.housekeeping = housekeeping or Housekeeping()
        self._revision = -1  # the revision this handle last read or wrote
        self._last_automatic_backup: dt.datetime | None = None
        self.read_only: StoreTooNew | None = None
        self.last_load_seconds: float | None = None
        self.last_save_seconds: float | None = None

    @property
    def directory(self) -> Path:
        return self.disk.directory

    @property
    def backups(self) -> MemoryShelf:
        return self.disk.backups

    @property
    def needs_migration(self) -> bool:
        return False  # an in-memory store is always of the current schema

    @property
    def journal_records(self) -> int:
        return len(self.disk.records)

    @property
    def _held(self) -> bool:
        return self.disk.holder is self

    # -- reading --------------------------------------------------------------------------

    def load(self) -> TaskList:
        tasks = TaskList()
        for change, revision, at in self.disk.records:
            tasks.apply(change, revision, at)
        self._revision = tasks.revision
        self.last_load_seconds = 0.0
        return tasks

    def _caught_up(self, tasks: TaskList) -> CaughtUp:
        before = tasks.revision
        if before > self.disk.revision:
            raise AssertionError("an in-memory store never goes back a revision")
        missed = [record for record in self.disk.records if record[1] > before]
        for change, revision, at in missed:
            tasks.apply(change, revision, at)
        self._revision = tasks.revision
        return CaughtUp(tasks, tuple(change for change, _, _ in missed), tasks.revision - before)

    def refresh(self, tasks: TaskList) -> CaughtUp:
        return self._caught_up(tasks)

    # -- one change, under the lock -------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        if self.disk.holder is not None:
            # One thread, so waiting could never end: the real store's answer once its wait is over.
            raise StoreLocked("the store is locked by another taskvault process (waited 0 s)",
                              hint="finish or close the other session and try again, "
                                   "or raise TASKVAULT_LOCK_TIMEOUT")
        self.disk.holder = self
        try:
            yield
        finally:
            self.disk.holder = None

    def catch_up(self, tasks: TaskList) -> CaughtUp:
        assert self._held, "catch_up needs the store lock"
        return self._caught_up(tasks)

    def check_writable(self) -> None:
        if self.read_only is not None:
            raise self.read_only

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        assert self._held and tasks.revision == self.disk.revision, "append needs catch_up under the lock"
        self.check_writable()
        tasks.check(change)
        if self.disk.fail_appends:
            self.disk.fail_appends -= 1
            code = self.disk.fail_errno
            raise save_failed(self.directory / JOURNAL_NAME, OSError(code, os.strerror(code)))
        revision, at = tasks.revision + 1, self._clock()
        self.disk.records.append((change, revision, at))
        self._revision = revision
        self.last_save_seconds = 0.0
        return revision, at

    def migrate(self, tasks: TaskList, progress: ProgressCallback | None = None) -> Backup:
        raise AssertionError("an in-memory store is never of an older schema")

    # -- housekeeping (Tidied) ------------------------------------------------------------

    def compaction_due(self) -> bool:
        return False  # there is no journal file to fold into a snapshot

    def compact(self, tasks: TaskList, progress: ProgressCallback | None = None) -> None:
        assert self._held and tasks.revision == self.disk.revision

    def backup(self, tasks: TaskList, label: str, progress: ProgressCallback | None = None) -> Backup:
        assert self._held and tasks.revision == self.disk.revision
        data = codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history))
        if progress is not None:
            progress(len(tasks), len(tasks))
        try:
            codec.decode_snapshot(data)
        except (codec.FormatError, InvalidValue) as exc:
            raise SaveFailed(f"the new backup does not decode: {exc}") from None
        backup = self.backups.take(data, revision=tasks.revision, task_count=len(tasks), label=label, now=self._clock())
        if backup.automatic:
            self._last_automatic_backup = backup.taken
        return backup

    def backup_due(self, tasks: TaskList) -> bool:
        """As JournalStore.backup_due: the policy's interval since the newest automatic backup (or the first change)."""
        if self._last_automatic_backup is None:
            self._last_automatic_backup = self.housekeeping.activity_since(
                self.backups.newest(automatic_only=True), tasks)
            if self._last_automatic_backup is None:
                return False
        return self.housekeeping.backup_due(self._clock() - self._last_automatic_backup)

    def housekeeping_due(self, tasks: TaskList) -> bool:
        """As JournalStore.housekeeping_due: from memory alone, True until the newest automatic backup was looked up."""
        if self.compaction_due() or self._last_automatic_backup is None:
            return True
        return self.housekeeping.backup_due(self._clock() - self._last_automatic_backup)

    def rotate_backups(self) -> builtins.list[Backup]:
        return self.backups.rotate(self.housekeeping.retention, self._clock())

    # -- a store that does not load (an in-memory one always does) -------------------------

    def salvage_report(self, progress: ProgressCallback | None = None) -> SalvageReport | TaskList:
        return self.load()

    def replace_unreadable(self, snapshot: codec.Snapshot,
                           progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        raise AssertionError("an in-memory store always loads: there is nothing unreadable to replace")

    def replace_with_salvage(self, report: SalvageReport, change: Change,
                             progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        raise AssertionError("an in-memory store always loads: there is nothing to salvage")

    def present_files(self) -> tuple[str, ...]:
        return (SNAPSHOT_NAME, JOURNAL_NAME) if self.disk.records else ()

    def snapshot_change(self) -> str | None:
        return None  # (no files)

    def file_stamps(self) -> tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]:
        return None, None  # (no files: what the resident process compares is a real store's)

    # -- what stats and doctor show -------------------------------------------------------

    def file_sizes(self) -> tuple[int, int]:
        return 0, 0  # nothing is on a disk

    #: Memory is not at rest: there is nothing to encrypt (the port's encryption members refuse).
    encrypted = False

    def key_identity(self) -> tuple[tuple[int, int] | None, object]:
        return None, None

    def confirmed_passphrase(self) -> str:
        raise StorageError("an in-memory store is not encrypted, so it has no passphrase", hint="use a store on disk")

    def plan_encryption(self, operation: str, keyring: bool | None) -> object:
        raise StorageError("an in-memory store is not kept on disk, so it is not encrypted",
                           hint="use a store on disk")

    def change_encryption(self, tasks: TaskList, planned: object) -> object:
        raise StorageError("an in-memory store is not kept on disk, so it is not encrypted",
                           hint="use a store on disk")

    def examine(self) -> builtins.list[Finding]:
        tasks = self.load()
        return [Finding("ok", "store", f"loads: {len(tasks)} tasks at revision {tasks.revision} (in memory)")]

    def close(self) -> None:
        if self._held:
            self.disk.holder = None
