"""The errors a store raises when its files cannot be read or written, with what the user can do about them.

An unreadable store's error says how to get it back: salvage, when that recovers more than the
newest good backup holds; else that backup, if there is one.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from .. import codec
from ..domain.history import History
from ..domain.tasklist import TaskList
from ..errors import InvalidValue, SaveFailed, StorageError, StoreTooNew, StoreUnreadable, StoreUnsafe, typed
from . import files
from .hints import hint_for

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from .backups import Backup, BackupShelf
    from .salvage import SalvageReport

UNREADABLE_HINT = "the file was left untouched"


def save_failed(path: Path, exc: OSError) -> SaveFailed:
    return SaveFailed(f"could not save to {path}: {exc.strerror or exc} — nothing was changed",
                      hint=hint_for(exc))


class Advice:
    """Builds a store's errors; an unreadable file's names the way back (see recovery_advice)."""

    def __init__(self, backups: Callable[[], BackupShelf],
                 salvage_report: Callable[[], SalvageReport | TaskList]) -> None:
        #: The store's backups, asked for only when an error names one (the shelf is made on first use).
        self._backups = backups
        self._salvage_report = salvage_report
        #: True while salvage looks at the store: its own refusals need no advice (it is working it out).
        self.withheld = False

    def read(self, path: Path) -> bytes | None:
        """A store file's bytes (None if it is not there), or the error a reader sees."""
        try:
            return files.read_regular(path, limit=codec.MAX_FILE_BYTES)
        except OSError as exc:
            raise self.read_failed(path, exc) from None

    def read_failed(self, path: Path, exc: OSError) -> StorageError:
        if exc.errno == errno.ELOOP:
            return StoreUnsafe(f"{path} is a symbolic link; taskvault does not follow links for its files",
                               hint="replace the link with the file it points to")
        if isinstance(exc, files.NotRegularFile):
            return self.unreadable(path, exc.strerror)
        if exc.errno == errno.EFBIG:
            return self.unreadable(path, f"it is larger than the {codec.MAX_FILE_BYTES >> 20} MiB a taskvault "
                                         "file can be")
        if isinstance(exc, PermissionError):
            return StoreUnreadable(f"cannot read {path}: permission denied",
                                   hint="nothing was changed; the file should be yours with mode 0600 (chmod 600)")
        return StoreUnreadable(f"cannot read {path}: {exc.strerror}",
                               hint="nothing was changed; check the disk and try again")

    def unreadable(self, path: Path, detail: object) -> StoreUnreadable:
        if isinstance(detail, codec.TooNewError):
            return StoreTooNew(f"cannot load {path}: {detail}",
                               hint="upgrade taskvault to use this store; the file was left untouched")
        if self.withheld:
            return StoreUnreadable(f"cannot load {path}: {detail}", hint=UNREADABLE_HINT)
        return StoreUnreadable(f"cannot load {path}: {detail}", hint=f"{UNREADABLE_HINT}; {self.recovery_advice()}")

    def newest_good_backup(self) -> Backup | None:
        """The newest backup that reads back and decodes as a store, or None."""
        for backup in self._backups().list():
            if self.decoded_backup(backup) is not None:
                return backup
        return None

    def decoded_backup(self, backup: Backup, *, strict: bool = False) -> TaskList | None:
        """A backup's tasks, or None if it does not read back or decode as a store.

        ``strict``: a backup that cannot be read (the disk failing, not a file too large to be a backup)
        raises instead, so that a salvage never settles for an older backup because of a passing fault.
        """
        try:
            data = self._backups().read(backup)
        except StorageError:
            if strict and backup.size <= codec.MAX_FILE_BYTES:
                raise
            return None
        except codec.FormatError:  # a compressed backup that does not decompress: damaged, as one that does not decode
            return None
        try:
            decoded = codec.decode_snapshot(data)
            return TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                            history=History(decoded.steps))
        except (codec.FormatError, InvalidValue):
            return None

    def recovery_advice(self) -> str:
        """What to run to get an unreadable store back: salvage, when it recovers more than the newest
        good backup holds; else that backup, if there is one."""
        try:
            found = self._salvage_report()
        except (StorageError, codec.FormatError):
            found = None
        from .salvage import SalvageReport  # (an unreadable store's alone)

        report = found if isinstance(found, SalvageReport) else None
        try:
            backup = report.newest_backup if report is not None else self.newest_good_backup()
        except StorageError:
            backup = None
        if report is not None and (report.gains > 0 or (backup is None and len(report.tasks) > 0)):
            more = (f"{report.gains} change{'s' if report.gains != 1 else ''} more than the newest good backup "
                    "holds" if backup is not None else "there is no backup to restore")
            return f"to recover revision {report.revision} from what is intact ({more}), run: {typed('salvage')}"
        if backup is None:
            return ("there is no backup to restore; move the file aside to start an empty store, "
                    f"and run '{typed('doctor')}' for details")
        return f"to restore the newest good backup, {backup.revision_text}, run: {typed('restore ' + backup.id)}"
