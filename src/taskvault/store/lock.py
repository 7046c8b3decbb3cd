"""The store's sidecar lock: a file that is never renamed or deleted, locked with flock."""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import StorageError, StoreLocked, StoreReadOnly, StoreUnsafe
from . import files
from .files import FILE_MODE, kind_of
from .layout import move_aside_hint, quoted
from .records import Record

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

#: How long to wait quietly before telling the user that someone else holds the lock.
QUIET_WAIT = 0.2
_POLL = 0.01


def _try_lock(file: BinaryIO, shared: bool) -> bool:
    """Take the lock on ``file`` without waiting (shared or exclusive); False if another process holds it.

    On POSIX this is flock(2), which is all portalocker does there; calling it directly spares
    every writing command portalocker's import (~40 ms here, most of it importlib.metadata for
    its version string), twice what Taskwarrior takes for a whole `task add` on 1k tasks.
    Elsewhere portalocker speaks the platform's own locking.
    """
    if fcntl is None:
        import portalocker

        try:
            portalocker.lock(file, (portalocker.LOCK_SH if shared else portalocker.LOCK_EX) | portalocker.LOCK_NB)
        except portalocker.AlreadyLocked:
            return False
        except portalocker.LockException as exc:
            raise OSError(str(exc)) from exc
        return True
    try:
        fcntl.flock(file.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def try_shared_lock(file: BinaryIO) -> bool:
    """Share the lock on the open lock file without waiting; False while a writer holds it.

    For a glance that must never wait (store/peek.py): closing the file lets go of it.
    """
    return _try_lock(file, shared=True)


def try_exclusive_lock(file: BinaryIO) -> bool:
    """Take the lock on the open file alone without waiting; False while another process holds it (closing the
    file lets go of it). For sync's own lock (store/syncing.py): one sync of a store at a time."""
    return _try_lock(file, shared=False)


def _unlock(file: BinaryIO) -> None:
    if fcntl is None:
        import portalocker

        portalocker.unlock(file)
    else:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


_MARK_BYTES = 160


class Mark(Record):
    _fields = ("state", "seq", "offset", "generation", "boot")
    __slots__ = _fields

    def __init__(self, state: bytes, seq: int, offset: int, generation: str, boot: bytes) -> None:
        self.state = state
        self.seq = seq
        self.offset = offset
        self.generation = generation
        self.boot = boot

    def encode(self) -> bytes:
        return b"%s%d:%d:%s:%s\n" % (self.state, self.seq, self.offset, self.generation.encode(), self.boot)

    def unconfirmed(self) -> tuple[str, int, bool] | None:
        """(generation, offset, in doubt) of a record that must not be believed, or None.

        A "w" mark of an earlier boot is no longer news: the power was lost, and what survived is on disk.
        """
        if self.state == b"-" or (self.state == b"w" and self.boot != current_boot()):
            return None
        return self.generation, self.offset, self.state == b"d"


_MARK = re.compile(rb"^([wd-])(\d{1,18}):(\d{1,18}):([0-9a-f]{1,64}):([0-9A-Za-z-]{0,64})\n")


def parse_mark(raw: bytes) -> Mark | None:
    """The mark in a lock file's first bytes; None if there is none (or it is not one taskvault wrote)."""
    found = _MARK.match(raw)
    if found is None:
        return None
    state, seq, offset, generation, boot = found.groups()
    return Mark(state, int(seq), int(offset), generation.decode(), boot)


@functools.cache
def current_boot() -> bytes:
    """This boot's id (Linux); elsewhere the boot time, from the clocks, to the minute."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as handle:
            return handle.read(64).strip()
    except OSError:
        return b"%d" % round((time.time() - time.monotonic()) / 60)


class StoreLock:
    """A lock held around one read-check-write (exclusive) or one read (shared). A dead holder frees it at once.

    Readers share it, so that no reader sees a change between its write and its fsync: a writer
    holds it exclusively until its change is durable, or taken back.
    """

    def __init__(self, path: Path, *, timeout: float, on_wait: Callable[[float], None] | None = None,
                 while_waiting: Callable[[], None] | None = None) -> None:
        self.path = path
        self.timeout = timeout
        #: Told once, with the seconds left, when a wait has lasted QUIET_WAIT.
        self._on_wait = on_wait
        #: Called at every poll of a wait; what it raises (KeyboardInterrupt) ends the wait, nothing held.
        self._while_waiting = while_waiting
        self._file: BinaryIO | None = None
        self._writable = False
        self._mark: Mark | None = None
        self._mark_durable = False  # whether self._mark is known to be on disk
        #: (st_dev, st_ino) of the open lock file: a descriptor's never changes, so it is read once, at the open.
        self._identity: tuple[int, int] | None = None
        #: The lock file's first bytes as read or written while this process holds the lock exclusively, when
        #: known: no one else writes the mark then, so it is read once per hold (None: read it).
        self._own: bytes | None = None
        self._exclusive = False
        self.held = False

    def _open(self, *, for_writing: bool) -> bool:
        """Open the lock file; False if a reader cannot, because the store is on read-only media without one."""
        if self._file is not None and (self._writable or not for_writing):
            return True
        self._drop_file()
        # O_NONBLOCK: a named pipe or device in its place must not make this wait.
        flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | flags, FILE_MODE)
            self._writable = True
        except IsADirectoryError:
            raise self._not_regular(stat.S_IFDIR) from None
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a socket (or a device with nothing behind it)
                raise self._not_regular(os.lstat(self.path).st_mode) from None
            if exc.errno == errno.ELOOP:
                raise StoreUnsafe(f"the lock file {self.path} is a symbolic link; taskvault does not follow "
                                  "links for its files", hint="remove the link (it holds no data): rm "
                                  f"{quoted(self.path)}") from exc
            if exc.errno == errno.EROFS and for_writing:
                raise StoreReadOnly(f"the store in {self.path.parent} is on a read-only file system: it can be "
                                    "read but not changed",
                                    hint="remount the file system read-write, or copy the data directory "
                                    "elsewhere and use --data-dir") from None
            if for_writing or exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise StorageError(f"cannot open the lock file {self.path}: {exc.strerror}",
                                   hint="check that the data directory is writable") from exc
            try:  # a reader on read-only media: a lock file that is there still keeps writers out
                fd = os.open(self.path, os.O_RDONLY | flags)
            except FileNotFoundError:
                return False  # and with none, no writer can be there either: it could not make one
            except OSError as again:
                raise StorageError(f"cannot open the lock file {self.path}: {again.strerror}",
                                   hint="check that the data directory is readable") from again
            self._writable = False
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):  # checked on the descriptor: a lock on a device excludes no one
            os.close(fd)
            raise self._not_regular(mode)
        self._identity = info.st_dev, info.st_ino
        os.set_blocking(fd, True)
        self._file = os.fdopen(fd, "r+b" if self._writable else "rb", buffering=0)
        return True

    def _not_regular(self, mode: int) -> StorageError:
        return StorageError(f"the lock file {self.path} is {kind_of(mode)}, not a regular file",
                            hint=move_aside_hint(self.path, "it holds no data, and taskvault makes a new one"))

    def _drop_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._identity = None

    def acquire(self, *, shared: bool = False) -> bool:
        """Wait for the lock; False only for a shared lock on read-only media that has no lock file."""
        if not self._open(for_writing=not shared):
            return False
        assert self._file is not None
        started = time.monotonic()
        deadline = started + self.timeout
        told = False
        while True:
            try:
                got = _try_lock(self._file, shared)
            except OSError as exc:
                raise StorageError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
            if got:
                if self._still_at_path():
                    self.held, self._exclusive, self._own = True, not shared, None
                    return True
                # The file we hold was deleted (with its directory) and another took its
                # place: a lock on the dead one excludes nobody. Lock the new one instead.
                self._drop_file()
                if not self._open(for_writing=not shared):
                    return False
                assert self._file is not None
                continue
            now = time.monotonic()
            if now >= deadline:
                raise StoreLocked(
                    f"the store is locked by another taskvault process (waited {self.timeout:g} s)",
                    hint="finish or close the other session and try again, "
                    "or raise TASKVAULT_LOCK_TIMEOUT",
                )
            if not told and self._on_wait is not None and now - started >= QUIET_WAIT:
                told = True
                self._on_wait(deadline - now)
            if self._while_waiting is not None:
                self._while_waiting()
            time.sleep(min(_POLL, deadline - now))

    # -- the mark: what the lock file says about the journal's last write ----------------------
    #
    # One line, rewritten in place (no fsync unless said): "<state><seq>:<offset>:<generation>:<boot>".
    # The state is "w" while a record is being written at <offset>, "-" once it is durable or
    # taken back, "d" when it failed and could not be taken back (the outcome is unknown). The
    # sequence number grows with every write, so a reader that reads the mark before and after
    # reading the journal knows whether a writer came and went meanwhile (a sequence lock).

    def mark_writing(self, generation: str, offset: int) -> None:
        """Say that a record is being written at ``offset`` of journal ``generation``.

        Until mark_done, no reader believes that record or anything after it: if the writer dies,
        or fails and cannot take the record back, its outcome was never confirmed. The mark names
        the boot and needs no fsync: after a power loss, every byte of the journal that survived
        is on disk, and a "w" mark of an earlier boot is ignored.
        """
        current = parse_mark(self._own_mark())
        self._mark = Mark(b"w", (current.seq if current else 0) + 1, offset, generation, current_boot())
        self._write_mark(self._mark)

    def mark_done(self, *, durably: bool = False) -> None:
        """The record marked was confirmed durable, or taken back: readers may believe the journal again."""
        if self._mark is None or self._mark.state == b"-":
            return  # nothing was marked (the save failed before its write)
        self._mark = self._mark.evolve(state=b"-")
        self._write_mark(self._mark, durably=durably)

    @property
    def marked_in_doubt(self) -> bool:
        """Whether this process last marked (or tried to mark) its record as in doubt."""
        return self._mark is not None and self._mark.state == b"d"

    def mark_doubt(self) -> None:
        """Mark, durably and for every boot, that the record marked failed and could not be taken back."""
        assert self._mark is not None
        if self._mark.state == b"d" and self._mark_durable:
            return
        self._mark = self._mark.evolve(state=b"d", boot=b"")
        self._write_mark(self._mark, durably=True)

    def lift_doubt(self) -> None:
        """Replace, durably, the doubt mark that stands in the lock file (whoever wrote it) with a "done" mark.

        Only once the record it names is removed for good: a doubt mark outlives a power loss, so a "-"
        that is not durable would let it come back and hide the records written after it.
        """
        current = parse_mark(self._own_mark())
        assert current is not None and current.state == b"d"
        self._mark = current.evolve(state=b"-")
        self._write_mark(self._mark, durably=True)

    def current_mark(self) -> Mark | None:
        """The mark as it stands (under the exclusive lock, where it cannot change)."""
        assert self.held
        return parse_mark(self._own_mark())

    def read_mark(self) -> bytes:
        """The mark's bytes as a reader sees them now, without locking or creating anything.

        b"" when there is no mark to read: no lock file, or something no writer can lock (a link, a
        pipe, a device; writers refuse it), so that no write can be under way either.
        """
        try:
            return files.read_head(self.path, _MARK_BYTES)
        except files.NotRegularFile:
            return b""
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return b""
            raise

    def _own_mark(self) -> bytes:
        assert self._file is not None
        if self._own is not None:
            return self._own
        raw = os.pread(self._file.fileno(), _MARK_BYTES, 0)
        if self.held and self._exclusive:  # no one else writes it until this process lets go
            self._own = raw
        return raw

    def _write_mark(self, mark: Mark, *, durably: bool = False) -> None:
        assert self.held and self._file is not None and self._writable
        self._mark_durable = False
        self._own = None  # until written whole: a failed write may leave anything there
        encoded = mark.encode()
        files.write_mark(self._file.fileno(), encoded, durably=durably)
        self._mark_durable = durably
        if self._exclusive:
            self._own = encoded  # (what parse_mark reads of the file's first bytes: the line just written)

    def _still_at_path(self) -> bool:
        assert self._file is not None
        try:
            current = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return self._identity == (current.st_dev, current.st_ino)

    def release(self) -> None:
        if self.held and self._file is not None:
            self.held, self._exclusive, self._own = False, False, None
            _unlock(self._file)

    def close(self) -> None:
        self.release()
        self._drop_file()
