"""Where the keys of an encrypted store come from: what the store asks of the interface and of the OS.

The store never prompts or prints (the storage layer's rule), so opening an encrypted store takes a
PassphraseSource from the interface (a terminal, a file named by TASKVAULT_PASSPHRASE_FILE, a
descriptor given by --passphrase-fd) and, optionally, a Keychain: the OS keyring (store/keychain.py),
or anything that passes the same tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

#: Why a passphrase is asked for: to open the store ("unlock"); a new one, for init --encrypt, encrypt
#: and rekey ("new": a terminal asks twice); the current one, which decrypt and rekey confirm ("current").
Purpose = Literal["unlock", "new", "current"]


class PassphraseSource(Protocol):
    """Gives the passphrase of the store in ``store`` (its data directory).

    Raises StoreEncrypted when none can be had (no terminal, no file, no descriptor), with a hint
    naming the ways to give one. Never caches: the store keeps the key it opened, not the passphrase.
    """

    def passphrase(self, store: Path, purpose: Purpose) -> str: ...


class Keychain(Protocol):
    """A place outside the store for a secret per name (the OS keyring: Secret Service, Keychain, ...).

    ``get`` returns None when there is no such secret or no keyring at all; ``set`` and ``delete``
    raise StorageError when the keyring refuses.
    """

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, secret: str) -> None: ...

    def delete(self, name: str) -> None: ...
