"""Backups: whole-store generations in ``backups/`` beside the store, verified and rotated.

Each backup is one snapshot file, named for when it was taken, the revision and task count it
holds, and why it was taken::

    backups/20261121-093000-r120-n45-hourly.json

Its id is the time part (``20261121-093000``, UTC; ``.2`` is added when two fall in the same
second). Backups taken automatically are rotated by a Retention policy; ones taken by
``backup [NAME]`` are kept until the user removes them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

import attrs

from ..errors import BackupDamaged, BackupNotFound, SaveFailed, StorageError
from . import files
from .hints import hint_for

DIRECTORY_NAME = "backups"
#: Labels of backups taken by taskvault itself; only these are rotated.
AUTOMATIC = ("hourly", "compaction", "migration", "restore")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_FILE = re.compile(r"^(?P<id>\d{8}-\d{6}(?:\.\d+)?)-r(?P<rev>\d+)-n(?P<count>\d+)-(?P<label>[A-Za-z0-9][A-Za-z0-9._-]*)"
                   r"\.json$")
_STAMP = "%Y%m%d-%H%M%S"


@attrs.frozen
class Backup:
    id: str
    path: Path
    taken: dt.datetime
    revision: int
    task_count: int
    label: str
    size: int

    @property
    def automatic(self) -> bool:
        return self.label in AUTOMATIC

    @property
    def revision_text(self) -> str:
        tasks = "1 task" if self.task_count == 1 else f"{self.task_count} tasks"
        return f"taken {self.taken:%Y-%m-%d %H:%M} UTC, revision {self.revision}, {tasks}"


@attrs.frozen
class Retention:
    """Which automatic backups to keep: the newest ``last``, plus the newest of each of the last
    ``daily`` days and of each of the last ``weekly`` weeks (UTC)."""

    last: int = 10
    daily: int = 7
    weekly: int = 4

    def keep(self, backups: list[Backup], now: dt.datetime) -> set[str]:
        newest_first = sorted(backups, key=lambda b: b.taken, reverse=True)
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


class BackupShelf:
    """The backups of one store. Never prints; raises StorageError or UserError subclasses."""

    def __init__(self, store_directory: Path, clock: Callable[[], dt.datetime]) -> None:
        self.directory = store_directory / DIRECTORY_NAME
        self._clock = clock

    def list(self) -> list[Backup]:
        """Every backup, newest first. Files that are not backups are ignored."""
        found = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot list the backups in {self.directory}: {exc.strerror}",
                                 hint="check the directory's owner and mode (it should be yours, 0700)") from None
        for entry in entries:
            match = _FILE.match(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue
            taken = dt.datetime.strptime(match["id"].split(".")[0], _STAMP).replace(tzinfo=dt.timezone.utc)
            found.append(Backup(match["id"], Path(entry.path), taken, int(match["rev"]), int(match["count"]),
                                match["label"], entry.stat(follow_symlinks=False).st_size))
        return sorted(found, key=lambda b: (b.taken, _sequence(b.id)), reverse=True)

    def newest(self, *, automatic_only: bool = False) -> Backup | None:
        for backup in self.list():
            if backup.automatic or not automatic_only:
                return backup
        return None

    def find(self, ref: str) -> Backup:
        """A backup by id, unique id prefix, label, or ``latest``."""
        backups = self.list()
        if not backups:
            raise BackupNotFound("there are no backups yet", hint="take one with: taskvault backup")
        if ref == "latest":
            return backups[0]
        for backup in backups:
            if backup.id == ref:
                return backup
        started = [b for b in backups if b.id.startswith(ref)]
        if len(started) > 1:
            raise BackupNotFound(f"{ref!r} matches {len(started)} backups",
                                 hint="give more of the id; 'taskvault backups' lists them")
        named = started or [b for b in backups if b.label == ref]  # newest first: a name means its newest
        if named:
            return named[0]
        raise BackupNotFound(f"no backup {ref!r}", hint="'taskvault backups' lists the backups and their ids")

    def read(self, backup: Backup) -> bytes:
        try:
            data = files.read_regular(backup.path)
        except OSError as exc:
            raise BackupDamaged(f"cannot read the backup {backup.id}: {exc.strerror}",
                                hint="pick another with 'taskvault backups'") from None
        if data is None:
            raise BackupNotFound(f"the backup {backup.id} is gone", hint="'taskvault backups' lists the backups")
        return data

    def take(self, data: bytes, *, revision: int, task_count: int, label: str,
             verify: Callable[[bytes], object]) -> Backup:
        """Write ``data`` as a new backup, durably, and check it reads back and decodes with ``verify``."""
        now = self._clock().astimezone(dt.timezone.utc)
        backup_id = now.strftime(_STAMP)
        taken = {b.id for b in self.list()}
        sequence = 1
        while backup_id in taken:
            sequence += 1
            backup_id = f"{now.strftime(_STAMP)}.{sequence}"
        path = self.directory / f"{backup_id}-r{revision}-n{task_count}-{label}.json"
        try:
            files.make_private_directory(self.directory)
            files.atomic_replace(path, data)
        except OSError as exc:
            raise SaveFailed(f"could not take a backup in {self.directory}: {exc.strerror or exc}",
                             hint=hint_for(exc)) from None
        backup = Backup(backup_id, path, now.replace(microsecond=0), revision, task_count, label, len(data))
        try:
            if self.read(backup) != data:
                raise BackupDamaged(f"the backup {backup_id} did not read back as written",
                                    hint="the disk may be failing; check it")
            verify(data)
        except BaseException:
            self._remove(backup)
            raise
        return backup

    def rotate(self, retention: Retention) -> list[Backup]:
        """Remove the automatic backups the retention policy no longer keeps; return them."""
        automatic = [b for b in self.list() if b.automatic]
        kept = retention.keep(automatic, self._clock().astimezone(dt.timezone.utc))
        removed = [b for b in automatic if b.id not in kept]
        for backup in removed:
            self._remove(backup)
        return removed

    def _remove(self, backup: Backup) -> None:
        try:
            files.remove_durably(backup.path)
        except OSError as exc:
            raise SaveFailed(f"could not remove the old backup {backup.path}: {exc.strerror or exc}",
                             hint=hint_for(exc)) from None


def _sequence(backup_id: str) -> int:
    return int(backup_id.split(".")[1]) if "." in backup_id else 1
