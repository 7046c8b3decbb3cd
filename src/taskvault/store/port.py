"""What the service and its unit of work ask of a store: the one interface a store implements.

JournalStore (store/journal_store.py) is the store of the program; tests/memory_store.py keeps the same
promises in memory, so the service and the command handlers can be tested without files, and
tests/test_store_contract.py holds both to them. The Protocol is structural: a store implements it
by having these members, and ``mypy --strict`` checks that JournalStore does where bootstrap.py hands
it to the service.

The promises, besides the types: a change is appended only under ``locked()`` and after
``catch_up``; ``append`` makes it durable as the next revision and does not touch the list it was
given (the unit of work applies it after), and on failure raises SaveFailed with nothing of it
kept; a second handle on the same store sees the first one's changes on its next ``catch_up`` or
``refresh``; ids are never handed out twice.
"""

from __future__ import annotations

import builtins
import datetime as dt
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .. import codec
from ..domain.tasklist import Change, TaskList
from ..errors import StoreTooNew
from .housekeeping import Housekeeping, Tidied
from .replay import CaughtUp

if TYPE_CHECKING:
    from ..domain.progress import ProgressCallback
    from .backups import Backup
    from .doctor import Finding
    from .encryption import Operation
    from .encryption import Outcome as EncryptionOutcome
    from .encryption import Plan as EncryptionPlan
    from .salvage import SalvageReport


#: (device, inode, size, modification time in ns) of a file.
Stamp = tuple[int, int, int, int]

class BackupsPort(Protocol):
    """The backups of a store, as the service reads them (taking them is the store's: ``backup``)."""

    @property
    def directory(self) -> Path: ...
    def list(self) -> builtins.list[Backup]: ...
    def find(self, ref: str) -> Backup: ...
    def read(self, backup: Backup) -> bytes: ...


class StorePort(Tidied, Protocol):
    """The durable home of one task list, as the unit of work and the service use it.

    Never prints; raises StorageError subclasses. The housekeeping members (compaction_due,
    compact, backup_due, backup, rotate_backups) come from Tidied.
    """

    @property
    def directory(self) -> Path: ...
    @property
    def backups(self) -> BackupsPort: ...
    @property
    def housekeeping(self) -> Housekeeping: ...
    @property
    def read_only(self) -> StoreTooNew | None:
        """Why the store may be read but not changed (a newer taskvault wrote it), or None."""
    @property
    def needs_migration(self) -> bool: ...
    @property
    def journal_records(self) -> int: ...
    @property
    def last_load_seconds(self) -> float | None: ...
    @property
    def last_save_seconds(self) -> float | None: ...

    # -- reading --------------------------------------------------------------------------
    def load(self) -> TaskList:
        """The tasks as the store holds them now, read without the lock; a missing store is an empty one."""
    def refresh(self, tasks: TaskList) -> CaughtUp:
        """``tasks`` caught up with what other handles saved since, without the lock."""

    # -- one change, under the lock -------------------------------------------------------
    def locked(self) -> AbstractContextManager[None]:
        """Hold the store lock; inside it catch_up, append, backup, compact and migrate may be called."""
    def catch_up(self, tasks: TaskList) -> CaughtUp:
        """``tasks`` brought up to the store's latest revision, under the lock."""
    def check_writable(self) -> None:
        """Raise if this store may not be changed now (a newer schema, a save in doubt)."""
    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        """Make ``change`` durable as revision ``tasks.revision + 1``; return that revision and its time."""
    def migrate(self, tasks: TaskList, progress: ProgressCallback | None = None) -> Backup:
        """Rewrite an older store in the current schema, after backing it up; return that backup.
        (Each ``progress`` of this Protocol is told (done, total) as the work goes: domain/progress.py.)"""

    # -- encryption at rest (store/encryption.py) -----------------------------------------
    @property
    def encrypted(self) -> bool:
        """True once the store is known to be encrypted (read, or made so by this handle)."""
    def key_identity(self) -> tuple[tuple[int, int] | None, object]:
        """(device, inode) of the snapshot now, and how its key is kept (None: plain)."""
    def plan_encryption(self, operation: Operation, keyring: bool | None) -> EncryptionPlan:
        """Ask what an encryption change needs (passphrases) of the loaded store, without the lock."""
    def change_encryption(self, tasks: TaskList, planned: EncryptionPlan) -> EncryptionOutcome:
        """Encrypt, decrypt or rekey the store, or make a new encrypted one (under the lock, caught up)."""

    def confirmed_passphrase(self) -> str:
        """This encrypted store's passphrase, asked and checked against its own slot (sync locks an encrypted
        remote with it); StoreEncrypted when none can be asked, WrongPassphrase when it is not this store's."""

    # -- a store that does not load -------------------------------------------------------
    def salvage_report(self, progress: ProgressCallback | None = None) -> SalvageReport | TaskList:
        """What salvage recovers now, or the loaded tasks if the store loads."""
    def replace_unreadable(self, snapshot: codec.Snapshot,
                           progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Put a backup in place of a store that does not load; the tasks and the names kept aside."""
    def replace_with_salvage(self, report: SalvageReport, change: Change,
                             progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Put what salvage recovered in place of a store that does not load; the tasks and the names kept aside."""
    def present_files(self) -> tuple[str, ...]:
        """The names of the store's files that are there."""
    def snapshot_change(self) -> str | None:
        """How the snapshot file differs from the one this handle last read or wrote (None, "replaced", "changed")."""
    def file_stamps(self) -> tuple[Stamp | None, Stamp | None]:
        """(device, inode, size, modification time in ns) of the snapshot and the journal now (None: absent)."""

    # -- what stats and doctor show -------------------------------------------------------
    def file_sizes(self) -> tuple[int, int]:
        """(snapshot bytes, journal bytes) as this handle last read or wrote them."""
    def examine(self) -> builtins.list[Finding]:
        """What the doctor finds, changing nothing."""

    def close(self) -> None: ...
