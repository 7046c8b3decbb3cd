"""The housekeeping policy: when to compact the journal, when to take the hourly backup, which backups to keep.

The policy decides; the store does the work (compact, backup, rotate_backups). Its thresholds are
given when it is made, so a test that wants a store compacting after every change makes one with
``Housekeeping(compact_min_bytes=0)`` instead of changing a module's constants.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from ..errors import StorageError
from .records import Record

if TYPE_CHECKING:
    from ..domain.progress import ProgressCallback
    from ..domain.tasklist import TaskList
    from .backups import Backup

#: Journals smaller than this are never compacted; above it, once they outgrow their share of the snapshot.
COMPACT_MIN_BYTES = 256 * 1024
#: The journal's share of the snapshot's size past which it is folded into it (a journal is read whole on load).
JOURNAL_SHARE = 0.25
#: Past this many records the journal is folded into the snapshot whatever its size (replay is per record).
MAX_JOURNAL_RECORDS = 4096
#: Activity takes an automatic backup when the newest is older than this.
BACKUP_INTERVAL = dt.timedelta(hours=1)


class Retention(Record):
    """Which automatic backups to keep: the newest ``last``, plus the newest of each of the last
    ``daily`` days and of each of the last ``weekly`` weeks (UTC)."""

    _fields = ("last", "daily", "weekly")
    __slots__ = _fields

    def __init__(self, last: int = 10, daily: int = 7, weekly: int = 4) -> None:
        self.last = last
        self.daily = daily
        self.weekly = weekly

    def keep(self, backups: list[Backup], now: dt.datetime) -> set[str]:
        from .backups import _newest_first_key  # (rotation's: the backups module is loaded by then)

        newest_first = sorted(backups, key=_newest_first_key, reverse=True)
        kept = {b.id for b in newest_first[: self.last]}
        today = now.date()
        days: set[dt.date] = set()
        weeks: set[tuple[int, int]] = set()
        for backup in newest_first:
            day = backup.taken.date()
            if (today - day).days < self.daily and day not in days:
                days.add(day)
                kept.add(backup.id)
            week = day.isocalendar()[:2]
            if (today - day).days < 7 * self.weekly and week not in weeks:
                weeks.add(week)
                kept.add(backup.id)
        return kept


class Tidied(Protocol):
    """What housekeeping asks of a store, under its lock, once a change is durable and applied."""

    def compaction_due(self) -> bool: ...
    def housekeeping_due(self, tasks: TaskList) -> bool:
        """Under the lock of a change just saved: whether compaction or a backup may be due, from what the
        store holds in memory (no file is read); True when it cannot tell that way, so that tidy looks."""
    def compact(self, tasks: TaskList, progress: ProgressCallback | None = None) -> None: ...
    def backup_due(self, tasks: TaskList) -> bool: ...
    def backup(self, tasks: TaskList, label: str, progress: ProgressCallback | None = None) -> Backup: ...
    def rotate_backups(self) -> list[Backup]: ...


class Housekeeping(Record):
    """When a store compacts, backs up and rotates its backups."""

    _fields = ("compact_min_bytes", "backup_interval", "retention", "journal_share", "max_journal_records")
    __slots__ = _fields

    def __init__(self, compact_min_bytes: int = COMPACT_MIN_BYTES, backup_interval: dt.timedelta = BACKUP_INTERVAL,
                 retention: Retention | None = None, journal_share: float = JOURNAL_SHARE,
                 max_journal_records: int = MAX_JOURNAL_RECORDS) -> None:
        #: Journals smaller than this are never compacted; above it, once they outgrow their share of the snapshot.
        self.compact_min_bytes = compact_min_bytes
        #: Activity takes an automatic backup when the newest is older than this.
        self.backup_interval = backup_interval
        #: Which automatic backups rotation keeps.
        self.retention = Retention() if retention is None else retention
        #: The journal's share of the snapshot's size past which it is folded into it.
        self.journal_share = journal_share
        #: Past this many records (and compact_min_bytes) the journal is folded into the snapshot whatever its size.
        self.max_journal_records = max_journal_records

    def compaction_due(self, journal_bytes: int, snapshot_bytes: int, records: int = 0) -> bool:
        """True once the journal is past compact_min_bytes and past its share of the snapshot or its record count.

        A load reads the journal whole and replays it record by record, so both bound what a load costs
        beyond the snapshot; compaction runs after the acknowledgement, so bounding them costs no change a wait.
        """
        if journal_bytes <= self.compact_min_bytes:
            return False
        return journal_bytes > snapshot_bytes * self.journal_share or records > self.max_journal_records

    @staticmethod
    def activity_since(newest_automatic: Backup | None, tasks: TaskList) -> dt.datetime | None:
        """Since when activity counts towards the next automatic backup: the newest automatic backup,
        or with none yet the oldest change in the history (so a new store gets its first backup once it
        has that much work in it); None when there is nothing to count from."""
        if newest_automatic is not None:
            return newest_automatic.taken
        first = tasks.history.oldest()
        return first.at if first is not None else None

    def backup_due(self, since: dt.timedelta) -> bool:
        """True when the newest automatic backup was taken ``since`` ago, or is dated in the future.

        A backup dated in the future (taken under a clock set wrong) must not put the next one off for ever.
        """
        return since >= self.backup_interval or since < dt.timedelta(0)

    @staticmethod
    def after_change(store: Tidied, tasks: TaskList, *, backed_up: bool = False,
                     progress: ProgressCallback | None = None) -> list[StorageError]:
        """Housekeeping once a change is durable and applied: its failures are warnings, never errors.

        ``backed_up``: the change took an automatic backup first (a restore does), which rotation counts.
        ``progress``: told how far a compaction has got, when one is due (someone watches it).
        """
        warnings: list[StorageError] = []
        try:
            if store.compaction_due():
                backed_up = True  # compact takes a backup first, and a later step may still fail
                store.compact(tasks, progress)
            elif store.backup_due(tasks):
                store.backup(tasks, "hourly")
                backed_up = True
        except StorageError as exc:
            warnings.append(exc)
        if backed_up:  # rotation keeps the backups bounded even when the compaction after the backup failed
            try:
                store.rotate_backups()
            except StorageError as exc:
                warnings.append(exc)
        return warnings
