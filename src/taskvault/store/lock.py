"""The store's sidecar lock: a file that is never renamed or deleted, locked with flock."""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import StorageError, StoreLocked, StoreUnsafe
from .files import FILE_MODE, kind_of
from .layout import move_aside_hint, quoted

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

#: How long to wait quietly before telling the user that someone else holds the lock.
QUIET_WAIT = 0.2
_POLL = 0.01


def _try_lock(file: BinaryIO) -> bool:
    """Take an exclusive lock on ``file`` without waiting; False if another process holds it.

    On POSIX this is flock(2), which is all portalocker does there; calling it directly spares
    every writing command portalocker's import (~40 ms here, most of it importlib.metadata for
    its version string), twice what Taskwarrior takes for a whole `task add` on 1k tasks.
    Elsewhere portalocker speaks the platform's own locking.
    """
    if fcntl is None:
        import portalocker

        try:
            portalocker.lock(file, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except portalocker.AlreadyLocked:
            return False
        except portalocker.LockException as exc:
            raise OSError(str(exc)) from exc
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(file: BinaryIO) -> None:
    if fcntl is None:
        import portalocker

        portalocker.unlock(file)
    else:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


class StoreLock:
    """An exclusive lock held around one read-check-write. A dead holder frees it at once."""

    def __init__(self, path: Path, *, timeout: float, on_wait: Callable[[float], None] | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self._on_wait = on_wait
        self._file: BinaryIO | None = None
        self.held = False

    def _open(self) -> None:
        if self._file is None:
            try:
                # O_NONBLOCK: a named pipe or device in its place must not make this wait.
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
                             | os.O_CLOEXEC, FILE_MODE)
            except IsADirectoryError:
                raise self._not_regular(stat.S_IFDIR) from None
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # a socket (or a device with nothing behind it)
                    raise self._not_regular(os.lstat(self.path).st_mode) from None
                if exc.errno == errno.ELOOP:
                    raise StoreUnsafe(f"the lock file {self.path} is a symbolic link; taskvault does not follow "
                                      "links for its files", hint="remove the link (it holds no data): rm "
                                      f"{quoted(self.path)}") from exc
                raise StorageError(f"cannot open the lock file {self.path}: {exc.strerror}",
                                   hint="check that the data directory is writable") from exc
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):  # checked on the descriptor: a lock on a device excludes no one
                os.close(fd)
                raise self._not_regular(mode)
            os.set_blocking(fd, True)
            self._file = os.fdopen(fd, "r+b", buffering=0)

    def _not_regular(self, mode: int) -> StorageError:
        return StorageError(f"the lock file {self.path} is {kind_of(mode)}, not a regular file",
                            hint=move_aside_hint(self.path, "it holds no data, and taskvault makes a new one"))

    def acquire(self) -> None:
        self._open()
        assert self._file is not None
        started = time.monotonic()
        deadline = started + self.timeout
        told = False
        while True:
            try:
                got = _try_lock(self._file)
            except OSError as exc:
                raise StorageError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
            if got:
                if self._still_at_path():
                    self.held = True
                    return
                # The file we hold was deleted (with its directory) and another took its
                # place: a lock on the dead one excludes nobody. Lock the new one instead.
                self._file.close()
                self._file = None
                self._open()
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
            time.sleep(min(_POLL, deadline - now))

    def _still_at_path(self) -> bool:
        assert self._file is not None
        try:
            current = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(self._file.fileno())
        return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)

    def release(self) -> None:
        if self.held and self._file is not None:
            self.held = False
            _unlock(self._file)

    def close(self) -> None:
        self.release()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
