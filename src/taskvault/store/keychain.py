"""The OS keyring as a Keychain (store/keys.py): the Secret Service (GNOME Keyring, KWallet), the macOS
Keychain or the Windows Credential Locker, through the keyring package.

An encrypted store may keep the key of its keyring slot here, so that a user logged in to their
desktop is not asked for the passphrase. The keyring is a convenience, never the only way in (the
passphrase slot always is), so a machine without one, or one that is locked or refuses, reads as "no
secret": ``get`` gives None and the passphrase is asked. Keeping or removing a secret is what a user
asked for (``--keyring``), so there a refusal is an error.

keyring is imported inside each method: it costs tens of milliseconds and most commands never ask.
"""

from __future__ import annotations

from ..errors import StorageError

#: The keyring's service name for every taskvault secret (the user name says which store's).
SERVICE = "taskvault"
#: What to do when the keyring refuses: it may be locked, or absent (a server, a session without D-Bus).
_HINT = ("unlock your desktop's keyring (the Secret Service: GNOME Keyring, KWallet) and try again, "
         "or use the passphrase alone (TASKVAULT_KEYRING=off)")


class OsKeychain:
    """The user's OS keyring, through the keyring package; secrets are kept under the service ``taskvault``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def get(self, name: str) -> str | None:
        """The secret kept as ``name``, or None when there is none, no keyring, or a keyring that will not say."""
        import keyring
        from keyring.errors import KeyringError

        try:
            if _is_null(keyring.get_keyring()):
                return None
            return keyring.get_password(self.service, name)
        except KeyringError:  # (NoKeyringError, a locked keyring, an unlock refused)
            return None
        except Exception:  # noqa: BLE001 (a backend's own error, such as D-Bus's: no keyring to be had, the passphrase is the way in)
            return None

    def set(self, name: str, secret: str) -> None:
        """Keep ``secret`` as ``name``, then read it back: StorageError unless the keyring holds it."""
        import keyring
        from keyring import errors

        try:
            if _is_null(keyring.get_keyring()):
                raise StorageError("there is no OS keyring to keep the store's key in", hint=_HINT)
            keyring.set_password(self.service, name, secret)
            kept = keyring.get_password(self.service, name)
        except errors.KeyringError as exc:
            raise StorageError(f"the OS keyring did not keep the store's key: {_reason(exc)}", hint=_HINT) from None
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 (a backend's own error, such as D-Bus's: said in one line)
            raise StorageError(f"the OS keyring did not keep the store's key: {_reason(exc)}", hint=_HINT) from None
        if kept != secret:
            raise StorageError("the OS keyring did not keep the store's key (it reads back otherwise)", hint=_HINT)

    def delete(self, name: str) -> None:
        """Remove the secret kept as ``name`` (none there is no error); StorageError if the keyring keeps it."""
        import keyring
        from keyring import errors

        try:
            if _is_null(keyring.get_keyring()):
                return
            try:
                keyring.delete_password(self.service, name)
            except errors.PasswordDeleteError:
                pass  # (none there, or the keyring refused: which, the read below tells)
            left = keyring.get_password(self.service, name)
        except errors.NoKeyringError:
            return
        except errors.KeyringError as exc:
            raise StorageError(f"the OS keyring did not remove the store's key: {_reason(exc)}", hint=_HINT) from None
        except Exception as exc:  # noqa: BLE001 (a backend's own error, such as D-Bus's: said in one line)
            raise StorageError(f"the OS keyring did not remove the store's key: {_reason(exc)}", hint=_HINT) from None
        if left is not None:
            raise StorageError("the OS keyring did not remove the store's key (it is still there)", hint=_HINT)


def _is_null(backend: object) -> bool:
    """True for keyring's stand-ins for no keyring: the fail backend (it raises) and the null one (keeps nothing)."""
    from keyring.backends import fail, null

    return isinstance(backend, fail.Keyring | null.Keyring)


def _reason(exc: BaseException) -> str:
    """One line of what the keyring said (never a secret: the keyring's messages name no password)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"
