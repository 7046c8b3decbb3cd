"""The composition root: the one place that builds the store, its policies and the service in front of it.

The interface never constructs a store: cli/main.py asks this module for a service, having read its
settings (the data directory, the lock timeout, which backups to keep) from the command line and the
environment. As in cosmicpython's bootstrap.py (Percival and Gregory, "Architecture Patterns with
Python", chapter 13), wiring lives here, so that swapping a part (another store, a fake in tests)
changes this module and nothing that uses the service.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .service import TaskService
from .store.housekeeping import Housekeeping, Retention
from .store.journal_store import JournalStore

if TYPE_CHECKING:
    from .store.keys import Keychain, PassphraseSource


def service(directory: Path, *, lock_timeout: float, retention: Retention,
            on_lock_wait: Callable[[float], None] | None = None,
            while_waiting: Callable[[], None] | None = None,
            housekeeping: Housekeeping | None = None,
            upgrade_progress: Callable[[int, int | None], None] | None = None,
            passphrases: PassphraseSource | None = None, keychain: Keychain | None = None) -> TaskService:
    """The service of one session, over the store in ``directory`` (nothing is read until it is used).

    ``on_lock_wait`` is told once when a change waits for another session's; ``while_waiting`` is called
    at every poll of such a wait, and may end it by raising KeyboardInterrupt (the resident process, when
    its client is interrupted). ``housekeeping``: when the store compacts and backs up (the default policy
    unless given); ``retention`` says which automatic backups it keeps. ``upgrade_progress``: told how far
    the upgrade of an older store has got, if its first load makes one (domain/progress.py).
    ``passphrases`` and ``keychain``: where the key of an encrypted store comes from (store/keys.py).
    """
    store = JournalStore(directory, lock_timeout=lock_timeout, on_lock_wait=on_lock_wait, retention=retention,
                         housekeeping=housekeeping, while_waiting=while_waiting, passphrases=passphrases,
                         keychain=keychain)
    return TaskService(store, upgrade_progress=upgrade_progress)


def os_keychain() -> Keychain:
    """The user's OS keyring (store/keychain.py), for the interface to hand to ``service`` unless told not to
    (TASKVAULT_KEYRING=off); keyring itself is imported only when a store asks it for a key."""
    from .store.keychain import OsKeychain

    return OsKeychain()


def replace_file(path: Path, data: bytes) -> None:
    """Replace the file at ``path`` with ``data``, whole or not at all (temp, fsync, rename, fsync of the
    directory: store/files.py, the one module that writes the disk); OSError if it cannot. For the user's
    config file, which `taskvault context NAME` changes (its directory exists: the file defines the context)."""
    from .store.files import atomic_replace

    atomic_replace(path, data)
