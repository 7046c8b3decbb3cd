"""A glance at a store's tasks for shell completion: read as it stands, or not at all.

Completion runs at every Tab a user presses, in whatever directory and state the store is: it must
never create, migrate or repair anything, never wait for another session, and never say anything.
So this reader takes no lock that a writer waits on for more than the read, opens nothing for writing,
creates nothing (not even the lock file), and gives up, with None, on anything but a store of this
version's schema that loads: missing, busy, damaged, unsafe, older or newer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from .. import codec
from ..domain.tasklist import TaskList
from ..errors import StoreUnreadable, TaskvaultError
from . import files, replay
from .journal import Skipped
from .layout import JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME, checked_data_directory
from .lock import parse_mark, try_shared_lock

#: Bytes of the lock file's mark (as store/lock.py reads it).
_MARK_BYTES = 160


def _refused(path: Path, detail: object) -> StoreUnreadable:
    """A file that does not decode: no advice is worked out (that would read the backups), it is only refused."""
    return StoreUnreadable(f"cannot load {path}: {detail}")


def peek_tasks(directory: Path) -> TaskList | None:
    """The tasks of the store in ``directory``, or None when they cannot be had at once and as they are."""
    try:
        if checked_data_directory(directory) is None:
            return None
        return _read(directory)
    except (OSError, TaskvaultError, codec.FormatError, ValueError):
        return None


def _read(directory: Path) -> TaskList | None:
    try:
        lock: BinaryIO | None = os.fdopen(files.open_regular(directory / LOCK_NAME), "rb", buffering=0)
    except FileNotFoundError:  # (opened read-only: never created)
        lock = None  # no writer has been here (one makes the lock file first): read without it
    try:
        if lock is not None and not try_shared_lock(lock):
            return None  # a change is being saved: busy, so nothing
        before = os.pread(lock.fileno(), _MARK_BYTES, 0) if lock is not None else b""
        journal = files.read_regular(directory / JOURNAL_NAME, limit=codec.MAX_FILE_BYTES)
        snapshot = files.read_regular(directory / SNAPSHOT_NAME, limit=codec.MAX_FILE_BYTES)
        if lock is None and os.path.lexists(directory / LOCK_NAME):
            return None  # a writer came while it was read
    finally:
        if lock is not None:
            lock.close()  # (and with it the shared lock)
    if snapshot is None:
        return None
    mark = parse_mark(before)
    with replay.collector_paused():
        decoded = replay.decode(snapshot, journal, mark.unconfirmed() if mark is not None else None,
                                snapshot_path=directory / SNAPSHOT_NAME, journal_path=directory / JOURNAL_NAME,
                                skipped=Skipped(), unreadable=_refused)
    if decoded.snapshot_schema != codec.SCHEMA or decoded.newest_schema != codec.SCHEMA:
        return None  # another version's store: that version (or the next command) decides what it holds
    return decoded.tasks
