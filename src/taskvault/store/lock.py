"""The store's sidecar lock: a file that is never renamed or deleted, locked with flock."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import portalocker

from ..errors import StorageError, StoreLocked
from .files import FILE_MODE

#: How long to wait quietly before telling the user that someone else holds the lock.
QUIET_WAIT = 0.2
_POLL = 0.01


class StoreLock:
    """An exclusive lock held around one read-check-write. A dead holder frees it at once."""

    def __init__(self, path: Path, *, timeout: float, on_wait: Callable[[float], None] | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self._on_wait = on_wait
        self._fd: int | None = None
        self._file = None
        self.held = False

    def _open(self) -> None:
        if self._file is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
            except OSError as exc:
                raise StorageError(f"cannot open the lock file {self.path}: {exc.strerror}",
                                   hint="check that the data directory is writable") from exc
            self._file = os.fdopen(fd, "r+b", buffering=0)

    def acquire(self) -> None:
        self._open()
        assert self._file is not None
        started = time.monotonic()
        deadline = started + self.timeout
        told = False
        while True:
            try:
                portalocker.lock(self._file, portalocker.LOCK_EX | portalocker.LOCK_NB)
                self.held = True
                return
            except portalocker.AlreadyLocked:
                pass
            except portalocker.LockException as exc:
                raise StorageError(f"cannot lock {self.path}: {exc}") from exc
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

    def release(self) -> None:
        if self.held and self._file is not None:
            self.held = False
            portalocker.unlock(self._file)

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
