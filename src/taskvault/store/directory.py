"""The data directory this session opened: refused when it breaks the directory rule, or is another one now.

Once a session has seen its data directory, a directory gone from the path, or another one in its
place (moved, deleted, replaced), raises StoreMoved: the session never goes on with, or creates, a
store that is not the one it opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StorageError, StoreMoved
from . import files, layout
from .advice import save_failed


class DataDirectory:
    """One store's directory, as this session first saw it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: (st_dev, st_ino) of the data directory this session first saw; None until it existed.
        self._identity: tuple[int, int] | None = None
        #: True once this session read or made a store here: from then on it never makes another one.
        self.had_store = False
        #: The directories this session created (the data directory and any missing parents).
        self.created: list[Path] = []

    def check(self, *, must_exist: bool) -> bool:
        """Refuse a data directory that breaks the directory rule (store/layout.py); return whether it exists."""
        info = layout.checked_data_directory(self.path)  # (one stat: the rule's, and the identity's)
        exists = info is not None
        if self._identity is not None:
            if info is None:
                raise StoreMoved(self.path, "was moved or deleted")
            if (info.st_dev, info.st_ino) != self._identity:
                raise StoreMoved(self.path, "was replaced by another directory")
        elif info is not None:
            self._identity = info.st_dev, info.st_ino
        if must_exist and not exists:
            raise StorageError(f"the data directory {self.path} does not exist")
        return exists

    def _identity_now(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def ensure(self) -> None:
        """Make the data directory (and its missing parents), private; never where this session's store was."""
        if self.had_store:  # never make a store where the one this session opened was
            raise StoreMoved(self.path, "was moved or deleted")
        try:
            self.created += files.ensure_private_directory(self.path)
        except OSError as exc:
            raise save_failed(self.path, exc) from None
        self._identity = self._identity_now()

    def sync_parents(self) -> None:
        """Make the directories this session created, and the data directory itself (perhaps made by an
        attempt that failed, or by hand), durable in their parents. Raises OSError."""
        for parent in dict.fromkeys([*(made.parent for made in self.created), self.path.parent]):
            files.fsync_directory(parent)
