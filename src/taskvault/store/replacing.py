"""Putting other files in place of a store that does not load (a backup, or what salvage recovered).

The unreadable files are kept aside under a second name first, and never removed. The new files
continue a revision above any the old ones mention, and hand out no id the old ones named.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

from .. import codec
from ..domain.history import History
from ..domain.tasklist import Change, TaskList
from ..errors import SaveFailed, StorageError
from . import files
from .hints import hint_for
from .salvage import SalvageReport

#: Numbers the old files of a store being replaced mention (revisions, next ids, task ids). More than
#: 15 digits is no number a store reaches: a damaged file's must not push ids beyond what can be typed.
_REVISION_NAMED = re.compile(rb'"(?:rev|revision|base)":(\d{1,15})(?!\d)')
_NEXT_ID_NAMED = re.compile(rb'"next_id":(\d{1,15})(?!\d)')
_ID_NAMED = re.compile(rb'"id":(\d{1,15})(?!\d)')

ReadFailed = Callable[[Path, OSError], StorageError]


def mentioned_numbers(paths: tuple[Path, ...], read_failed: ReadFailed) -> tuple[int, int]:
    """The highest revision and next id the store's files mention, read as leniently as possible.

    Only a file's first MAX_FILE_BYTES are read: taskvault never writes more, so nothing it handed
    out lies beyond them. A file that cannot be read (the disk failing) raises: numbers too low
    would let the new files collide with the old ones.
    """
    revision, next_id = 0, 1
    for path in paths:
        try:
            data = files.read_head(path, codec.MAX_FILE_BYTES)
        except files.NotRegularFile:
            continue  # a pipe or a device holds nothing a store wrote
        except OSError as exc:
            raise read_failed(path, exc) from None
        revision = max([revision, *map(int, _REVISION_NAMED.findall(data))])
        next_id = max([next_id, *map(int, _NEXT_ID_NAMED.findall(data)),
                       *(int(found) + 1 for found in _ID_NAMED.findall(data))])
    return revision, next_id


def salvage_source(path: Path, read_failed: ReadFailed) -> tuple[bytes | None, str | None]:
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
        raise read_failed(path, exc) from None


def keep_aside(paths: tuple[Path, ...], now: dt.datetime, directory: Path) -> tuple[str, ...]:
    """Give each store file that is there a second name, ``<name>.unreadable-<time>``, durably."""
    present = [p for p in paths if os.path.lexists(p)]
    stamp = base = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    sequence = 1
    while any(os.path.lexists(p.with_name(f"{p.name}.unreadable-{stamp}")) for p in present):
        sequence += 1  # a second restore in the same second must not skip keeping its files
        stamp = f"{base}.{sequence}"
    aside = tuple(p.with_name(f"{p.name}.unreadable-{stamp}") for p in present)
    try:
        files.keep_aside(list(zip(present, aside, strict=True)))
    except OSError as exc:
        raise SaveFailed(f"could not keep the unreadable files aside in {directory}: {exc.strerror or exc}"
                         " — nothing was changed", hint=hint_for(exc)) from None
    return tuple(p.name for p in aside)


def restored(snapshot: codec.Snapshot, mentioned: tuple[int, int]) -> TaskList:
    """A backup's tasks as the store that replaces one whose files mention ``mentioned`` (revision, next id)."""
    revision, next_id = mentioned
    revision = max(revision, snapshot.revision) + 1
    next_id = max(next_id, snapshot.next_id)
    tasks = TaskList(snapshot.tasks, next_id=next_id, revision=revision, history=History(snapshot.steps))
    if snapshot.sync is not None:  # (the backup's replication state: what it synced, the remote gives back)
        from ..codec.replica import replica_from_dict

        try:
            tasks.hold_replica(replica_from_dict(snapshot.sync, "$.sync"))
        except codec.FormatError:
            pass  # a backup that decoded whole but whose state does not: it syncs as a new device would
    return tasks


def salvaged(report: SalvageReport, change: Change, clock: Callable[[], dt.datetime]) -> TaskList:
    """What salvage recovered, as one change from ``report.base``, at a revision above any the old files mention.

    Its history ends in the salvage change itself (with the tasks of the base it replaced), so
    that 'undo' goes back to the base.
    """
    revision = report.fresh_revision
    base_tasks, _, _ = report.base.snapshot()
    history = History(list(report.base.history), limit=report.base.history.limit)
    if change.is_empty:
        return TaskList(base_tasks, next_id=max(change.next_id, report.base.next_id), revision=revision,
                        history=history)
    tasks = TaskList(base_tasks, next_id=report.base.next_id, revision=revision - 1, history=history)
    tasks.apply(change, revision, clock())
    return tasks
