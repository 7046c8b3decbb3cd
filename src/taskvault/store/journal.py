"""The journal file: where this session has read to, and the durable append of one record.

A record is appended and fsynced before its change is acknowledged. A record that failed is taken
back (voided in place, or cut off); one that could not be taken back is left in doubt, named by the
lock file's mark so that no reader believes it, and this session then saves nothing more.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from .. import codec
from ..errors import SaveFailed, SaveInDoubt, StorageError, typed
from . import files
from .advice import Advice, save_failed
from .lock import StoreLock
from .records import MutableRecord

if TYPE_CHECKING:
    from .cipher import Cipher


def stamp(info: os.stat_result) -> tuple[int, int, int, int]:
    """What changes when a journal is appended to, cut back or replaced by another file."""
    return info.st_dev, info.st_ino, info.st_size, info.st_ctime_ns


class Position(MutableRecord):
    """How far into which journal the in-memory task list has read."""

    _fields = ("generation", "end", "last_line", "last_rev", "schema", "base", "store")
    __slots__ = _fields

    def __init__(self, generation: str | None = None, end: int = 0, last_line: bytes = b"", last_rev: int = 0,
                 schema: int = codec.SCHEMA, base: int = 0, store: str | None = None) -> None:
        self.generation = generation
        self.end = end
        self.last_line = last_line
        #: Revision of ``last_line`` (the header's base revision when no record was read yet).
        self.last_rev = last_rev
        #: The schema the journal was written in.
        self.schema = schema
        #: The revision of the snapshot the journal continues.
        self.base = base
        #: The encrypted store its header names (None: a plain journal).
        self.store = store


class Skipped(MutableRecord):
    """What the last read of the journal passed over."""

    _fields = ("voided", "unfinished")
    __slots__ = _fields

    def __init__(self, voided: list[int] | None = None, unfinished: int = 0) -> None:
        #: Byte offsets of the voided records (changes reported as failed).
        self.voided: list[int] = [] if voided is None else voided
        #: Bytes of an unfinished write after the journal's last record.
        self.unfinished = unfinished


class Journal:
    """One store's journal file as this session knows it; the writer's descriptor while it holds the lock."""

    def __init__(self, path: Path, directory: Path, lock: StoreLock, advice: Advice) -> None:
        self.path = path
        self._directory = directory
        self._lock = lock
        self._advice = advice
        self.position = Position()
        self.skipped = Skipped()
        #: The writer's descriptor, open while this session holds the lock and the journal exists.
        self.fd: int | None = None
        #: The journal's size when ``fd`` was opened (read with its kind, in the same fstat).
        self.size_at_open = 0
        self._synced_generation: str | None = None
        #: Set once a save failed and could not be taken back: this store then saves nothing more.
        self.in_doubt: SaveInDoubt | None = None
        #: The key of an encrypted store (its records are sealed with it); None: a plain store.
        self.cipher: Cipher | None = None

    def check_not_in_doubt(self) -> None:
        if self.in_doubt is not None:
            raise SaveInDoubt("an earlier change in this session could not be saved or taken back, so it may or may "
                              "not be on disk; this session saves nothing more", hint=self.in_doubt.hint)

    def stamp(self) -> tuple[int, int, int, int] | None:
        try:
            return stamp(os.lstat(self.path))
        except OSError:
            return None

    def open(self, *, writable: bool = True) -> int | None:
        """Open the journal; for writing (the writer's, kept as ``fd``), or for one read."""
        try:
            # O_NONBLOCK: a named pipe or device put in its place must not make this wait.
            fd = os.open(self.path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._advice.read(self.path)  # raises the same error a reader would see
            raise save_failed(self.path, exc) from None
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise self._advice.unreadable(self.path, f"it is {files.kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        if writable:
            self.fd, self.size_at_open = fd, info.st_size
        return fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def reopen(self) -> None:
        """Open the journal anew after it was replaced (the open descriptor is the old file)."""
        self.close()
        self.open()

    def same(self, fd: int, size: int) -> bool:
        """True if the open journal is the one we read, with our last line still in place.

        The last line we consumed identifies the journal: if we read no record yet it is the
        header, with its random generation; otherwise it is a record whose revision a journal
        started anew cannot hold (its records all come after what we read). It also catches a
        record that was cut back after a failed fsync and replaced by another.
        """
        position = self.position
        if position.generation is None or size < position.end:
            return False
        length = len(position.last_line)
        return os.pread(fd, length, position.end - length) == position.last_line

    def start(self, base: int) -> None:
        """Replace the journal by an empty one continuing revision ``base``."""
        self.start_carrying(base, b"", 0, b"", base)

    def start_carrying(self, base: int, carried: bytes, read: int, last_line: bytes, last_rev: int) -> None:
        """Replace the journal by one continuing revision ``base`` and holding ``carried``: whole record lines
        after ``base``, already checked. This session had read the first ``read`` bytes of them, the last of
        which is ``last_line`` (revision ``last_rev``)."""
        generation, store = os.urandom(8).hex(), self.cipher.store if self.cipher is not None else None
        header = codec.encode_journal_header(generation, base, store)
        files.atomic_replace(self.path, header + carried)
        if read == 0:
            last_line, last_rev = header, base
        self.position = Position(generation, len(header) + read, last_line, last_rev, codec.SCHEMA, base, store)
        self._synced_generation = generation
        self.skipped = Skipped()

    def own_unconfirmed(self) -> tuple[str, int, bool] | None:
        """The record not to believe, read by the writer that holds the lock (so the mark cannot change)."""
        try:
            mark = self._lock.current_mark()
        except OSError as exc:
            raise self._advice.read_failed(self._lock.path, exc) from None
        return mark.unconfirmed() if mark is not None else None

    def append(self, line: bytes, revision: int) -> None:
        """Append ``line``, the record of ``revision``, durably; on failure take it back, or leave it in doubt.

        On any failure nothing a reader can see has changed, and SaveFailed is raised -- or
        SaveInDoubt when the write could not be taken back, after which this store saves nothing more.
        """
        assert self.fd is not None
        if len(line) > codec.MAX_RECORD_BYTES or self.position.end + len(line) > codec.MAX_FILE_BYTES:
            raise SaveFailed(f"could not save to {self.path}: the change is {len(line) >> 20} MiB, more than "
                             f"one change or the journal may hold — nothing was changed",
                             hint="change fewer tasks at once")
        try:
            if self._synced_generation != self.position.generation:
                # The journal's own directory entry must be durable before anything in it is.
                files.fsync_directory(self._directory)
                self._synced_generation = self.position.generation
            self._settle_doubt()
            if os.fstat(self.fd).st_size != self.position.end:
                # An unfinished write a crashed writer left (never acknowledged): cut it off. This
                # change's fsync makes the cut durable together with the change.
                files.truncate(self.fd, self.position.end)
            assert self.position.generation is not None
            self._lock.mark_writing(self.position.generation, self.position.end)
            end = files.append_durably(self.fd, line, self.position.end, codec.VOID_MARK,
                                       before_take_back=self._guard_take_back)
        except files.UndoFailed as exc:
            raise self._doubt(exc.cause, exc.undo) from None
        except StorageError:
            self._unmark_writing()
            raise
        except OSError as exc:
            self._taken_back()
            raise save_failed(self.path, exc) from None
        try:
            self._lock.mark_done()
        except OSError as exc:
            # Readers would not believe the record: so it must not count as saved. Take it back.
            self._guard_take_back()
            undo = files.take_back(self.fd, self.position.end, codec.VOID_MARK)
            if undo is not None:
                raise self._doubt(exc, undo) from None
            self._taken_back()
            raise save_failed(self._lock.path, exc) from None
        self.position = self.position.evolve(end=end, last_line=line, last_rev=revision)

    def _doubt(self, cause: OSError, undo: OSError) -> SaveInDoubt:
        """A save failed and taking it back failed too: say so, and save nothing more in this session.

        The lock file's mark stays, so no reader believes the record; made durable, it outlives a crash too,
        until the next writer has removed the record for good (see _settle_doubt).
        """
        try:
            self._lock.mark_doubt()
        except OSError:
            pass  # the mark written before the record still keeps this boot's readers from believing it
        self.in_doubt = SaveInDoubt(
            f"could not save to {self.path}: {cause.strerror or cause}, and taking the write back failed too "
            f"({undo.strerror or undo}) — the change may or may not be on disk",
            hint="this session saves nothing more; no reader applies the change, and the next change removes it; "
            f"run '{typed('doctor')}' once the disk works")
        return self.in_doubt

    def _settle_doubt(self) -> None:
        """Remove for good a record an earlier save left in doubt, before this change may reuse its place.

        The doubt mark holds across a power loss, so it may be lifted only once the journal is cut
        back durably: otherwise a later record at the same offset could be hidden by a stale mark.
        """
        assert self.fd is not None
        mark = self.own_unconfirmed()
        if mark is None or not mark[2] or mark[0] != self.position.generation:
            return
        files.truncate(self.fd, self.position.end, durably=True)
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
