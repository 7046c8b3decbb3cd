"""A task store kept as a snapshot plus an append-only journal of changes.

Files in the data directory:

* ``tasks.json``    -- the snapshot: every task as of one revision (written by atomic replace);
* ``tasks.journal`` -- a header naming the revision it continues, then one checksummed line per
  change (appended and fsynced before the change is acknowledged);
* ``tasks.lock``    -- the sidecar lock, held for the read-check-write of one change.

A change costs one append and one fsync, whatever the number of tasks. When the journal
outgrows the snapshot, the two are folded into a new snapshot (compaction). No rename ever
changes what the store means -- creating the files and compacting them leave the same tasks --
so a rename whose directory fsync fails can never make memory and disk disagree.

Readers take no lock (store/reading.py). This module is the writer: under the lock it appends a
change (store/journal.py), compacts, backs up and migrates, and puts a backup or what salvage
recovered in place of a store that does not load (store/replacing.py). When it compacts and backs
up is its Housekeeping policy's to say (store/housekeeping.py).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .. import codec
from ..codec import encrypted
from ..domain.tasklist import Change, TaskList
from ..errors import InvalidValue, SaveFailed, StorageError, typed
from . import files
from .advice import save_failed
from .hints import hint_for
from .housekeeping import BACKUP_INTERVAL, COMPACT_MIN_BYTES, Housekeeping, Retention
from .journal import stamp
from .reading import StoreReader
from .replay import CaughtUp, decode_line

if TYPE_CHECKING:  # (backups, restore and salvage import their modules where they run)
    from ..domain.progress import ProgressCallback
    from .backups import Backup
    from .doctor import Finding
    from .encryption import Operation
    from .encryption import Outcome as EncryptionOutcome
    from .encryption import Plan as EncryptionPlan
    from .keys import Keychain, PassphraseSource
    from .salvage import SalvageReport

__all__ = ["BACKUP_INTERVAL", "COMPACT_MIN_BYTES", "CaughtUp", "Frozen", "Housekeeping", "JournalStore", "Prepared"]


#: What a compaction that fails says the journal keeps: the change just made (compact, right after it) or
#: every change so far (install_compaction, a session's compaction put in place later).
_CHANGE_SAVED = "your change was saved"
_CHANGES_SAVED = "your changes are saved"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Frozen:
    """A state to compact, copied under the lock: its tasks, and where in which journal it ends.

    (Plain classes with __slots__, as commands/results.py says why: every command imports this module.)"""

    __slots__ = ("generation", "last_line", "next_id", "read", "revision", "tasks")

    def __init__(self, tasks: TaskList, next_id: int, revision: int, generation: str, read: int,
                 last_line: bytes) -> None:
        self.tasks = tasks
        self.next_id = next_id
        self.revision = revision
        self.generation = generation
        #: The journal's length up to and including the record of ``revision``.
        self.read = read
        #: That record's line (or the header's), which must still end there for the compaction to go in.
        self.last_line = last_line

    def __repr__(self) -> str:
        return (f"Frozen(revision={self.revision!r}, next_id={self.next_id!r}, generation={self.generation!r}, "
                f"read={self.read!r})")


class Prepared:
    """A compaction ready to go in: its snapshot written (to a temp file) and fsynced, its backup compressed."""

    __slots__ = ("data", "frozen", "staged", "stored", "temp")

    def __init__(self, frozen: Frozen, temp: Path | None, data: bytes, stored: bytes, staged: Path | None) -> None:
        self.frozen = frozen
        #: The new snapshot, written and fsynced under a temp name; None when only a backup was prepared.
        self.temp = temp
        self.data = data
        self.stored = stored
        #: Its backup, compressed, written and fsynced under a temp name in the backups directory.
        self.staged = staged

    def __repr__(self) -> str:
        return f"Prepared(frozen={self.frozen!r}, temp={self.temp!r}, {len(self.data)} bytes)"


class JournalStore(StoreReader):
    """The durable home of one task list. Never prints; raises StorageError subclasses."""

    def __init__(
        self,
        directory: Path,
        *,
        lock_timeout: float = 10.0,
        on_lock_wait: Callable[[float], None] | None = None,
        while_waiting: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        retention: Retention | None = None,
        housekeeping: Housekeeping | None = None,
        passphrases: PassphraseSource | None = None,
        keychain: Keychain | None = None,
    ) -> None:
        super().__init__(directory, lock_timeout=lock_timeout, on_lock_wait=on_lock_wait, clock=clock,
                         while_waiting=while_waiting, passphrases=passphrases, keychain=keychain)
        #: When this store compacts, backs up and rotates (``retention``, if given, says which backups it keeps).
        self.housekeeping = housekeeping or Housekeeping()
        if retention is not None:
            self.housekeeping = self.housekeeping.evolve(retention=retention)
        self._cleaned = False
        #: Names of leftover temp files removed on the first write of this session.
        self.removed_temp_files: list[str] = []
        self._last_automatic_backup: dt.datetime | None = None
        #: Seconds the last durable append took (None: not yet in this session).
        self.last_save_seconds: float | None = None

    @property
    def retention(self) -> Retention:
        return self.housekeeping.retention

    # -- writing --------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock; inside it, catch_up, append and compact may be called."""
        if not self._place.check(must_exist=False):
            self._place.ensure()
        self._lock.acquire()
        self._seen = None
        try:
            if not self._cleaned:
                self.removed_temp_files = files.remove_temp_files(self.directory,
                                                                  [self.snapshot_path, self.journal_path])
                self.removed_temp_files += [f"backups/{name}" for name in self.backups.remove_abandoned()]
                self._cleaned = True
            yield
            if self._journal.fd is not None:  # all went well: memory is the journal as it is now
                self._seen = stamp(os.fstat(self._journal.fd))
        finally:
            self._journal.close()
            self._lock.release()

    def _create_files(self, tasks: TaskList) -> None:
        """Start a store: an empty snapshot if there is none, then an empty journal after it."""
        try:
            # The directories this session created, and the data directory itself, must be durable
            # in their parents before a store inside them is acknowledged.
            self._place.sync_parents()
            if not os.path.lexists(self.snapshot_path):
                files.atomic_replace(self.snapshot_path, self.stored(self._encode(tasks), tasks.revision))
                self._snapshot_size = self.snapshot_path.stat().st_size
            self._journal.start(tasks.revision)
        except OSError as exc:
            raise save_failed(self.directory, exc) from None
        self._place.had_store = True
        self._journal.open()

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        """Make ``change`` durable as the next revision of ``tasks``; return that revision and its time.

        ``tasks`` is not modified: the caller applies the change once this returns. On any
        failure nothing a reader can see has changed, and SaveFailed is raised -- or SaveInDoubt
        when the write could not be taken back, after which this store saves nothing more.
        """
        assert self._lock.held and tasks.revision == self._revision, "append needs catch_up under the lock"
        self.check_writable()
        tasks.ready(change)  # every task it touches read now: a stored one that does not decode refuses it here
        if self.needs_migration:
            self.migrate(tasks)
        if self._journal.fd is None:  # the store's first change: only now is there something to keep
            self._create_files(tasks)
        elif self._journal.position.last_rev != tasks.revision or self._journal.position.store != self._store_id:
            self.restart_journal(tasks)
        assert self._journal.fd is not None
        started = time.perf_counter()
        revision, at = tasks.revision + 1, self._clock()
        line = codec.encode_record(change, revision, at)
        if self.cipher is not None:
            line = encrypted.encrypt_record(line, revision, codec.first_unnamed_id(line), self.cipher.seal)
        self._journal.append(line, revision)
        self._revision = revision
        self.last_save_seconds = time.perf_counter() - started
        return revision, at

    @property
    def _store_id(self) -> str | None:
        """The encrypted store's id, as its journal's header names it (None: a plain store)."""
        return self.cipher.store if self.cipher is not None else None

    def stored(self, data: bytes, revision: int) -> bytes:
        """The snapshot ``data`` (of ``revision``) as tasks.json holds it: encrypted, if the store is."""
        return data if self.cipher is None else self.cipher.encrypt_file(data, "snapshot", revision, codec.SCHEMA)

    # -- encryption (store/encryption.py) ----------------------------------------------------

    def plan_encryption(self, operation: Operation, keyring: bool | None) -> EncryptionPlan:
        """Ask what an encryption change needs (passphrases; the key derived) of the loaded store, without the
        lock: nobody waits on it while someone types."""
        from . import encryption

        return encryption.plan(self, operation, keyring)

    def change_encryption(self, tasks: TaskList, planned: EncryptionPlan) -> EncryptionOutcome:
        """Encrypt, decrypt or rekey the store, or make a new encrypted one, as planned (under the lock, caught
        up); refused, changing nothing, if the store's key moved since the plan."""
        from . import encryption

        assert self._lock.held and tasks.revision == self._revision
        self.check_writable()
        if self.needs_migration:
            self.migrate(tasks)
        return encryption.change(self, tasks, planned)

    def start_files(self, tasks: TaskList) -> None:
        """Make the store's files now (a new store made encrypted), not at its first change."""
        if self._journal.fd is None:
            self._create_files(tasks)

    def remove_new_files(self) -> None:
        """Take away the files a new store's start wrote when it failed part-way (there was no store before):
        so that a failed init leaves nothing behind, as it says. Quietly: what cannot be removed stays, a store
        that loads (an empty one) or is refused whole."""
        self._journal.close()
        for path in (self.journal_path, self.snapshot_path):
            try:
                files.remove_durably(path)
            except OSError:
                pass
        self._place.had_store = False

    def backup_of(self, data: bytes, tasks: TaskList, label: str) -> Backup:
        """A verified backup of the snapshot ``data`` of ``tasks``."""
        return self._backup(data, (tasks.revision, len(tasks)), label)

    def now_replaced(self, tasks: TaskList) -> bool:
        """After the snapshot was replaced in a new form: a new journal after it, in that form too.

        The change is made already: if the new journal cannot be started, the old one (whose records the
        snapshot all holds) stays, and the next change starts it (see append). Returns whether it was started."""
        self._snapshot_size = self.snapshot_path.stat().st_size
        try:
            self._journal.start(tasks.revision)
            self._journal.reopen()
        except (OSError, StorageError):
            return False
        return True

    def restart_journal(self, tasks: TaskList) -> None:
        """Start the journal anew when the snapshot is ahead of all it holds (a snapshot put back by hand),
        or when it is not in the snapshot's form (plain beside an encrypted one: a crash during encrypt).

        The loader already skipped every record the snapshot holds; appending after them would
        leave a gap in the revisions that the next load refuses. The new journal continues the
        snapshot, so the store means what it meant before, and takes the change after it.
        """
        try:
            self._journal.start(tasks.revision)
        except OSError as exc:
            raise save_failed(self.journal_path, exc) from None
        self._journal.reopen()

    def check_writable(self) -> None:
        """Raise StoreTooNew if a newer taskvault wrote this store, SaveInDoubt after a save that could not be undone."""
        self._journal.check_not_in_doubt()
        if self.read_only is not None:
            raise self.read_only

    @property
    def journal_records(self) -> int:
        """How many changes the journal holds beyond the snapshot."""
        return max(0, self._journal.position.last_rev - self._journal.position.base)

    def file_sizes(self) -> tuple[int, int]:
        """(snapshot bytes, journal bytes) as this session last read or wrote them."""
        return self._snapshot_size, self._journal.position.end

    def examine(self) -> list[Finding]:
        """What the doctor finds: the store, journal, backups, permissions, disk space, lock and temp files."""
        from . import doctor  # only the doctor command needs it

        return doctor.examine(self)

    # -- compaction and migration ---------------------------------------------------------

    def compaction_due(self) -> bool:
        return self.housekeeping.compaction_due(self._journal.position.end, self._snapshot_size, self.journal_records)

    def compact(self, tasks: TaskList, progress: ProgressCallback | None = None) -> None:
        """Fold the journal into a new snapshot. The tasks mean the same before and after.

        ``progress`` is told the tasks encoded (the backup and the renames that follow take a moment more)."""
        assert self._lock.held and tasks.revision == self._revision
        data = self._encode(tasks, progress)
        self._backup_before_compaction(data, (tasks.revision, len(tasks)), _CHANGE_SAVED)
        try:
            # The snapshot's rename must be durable before the journal that follows it is
            # replaced, or a power loss could pair an old snapshot with a newer journal.
            stored = self.stored(data, tasks.revision)
            files.atomic_replace(self.snapshot_path, stored)
            self._snapshot_size = len(stored)
            self._journal.start(tasks.revision)
        except OSError as exc:
            raise self._not_compacted(exc, _CHANGE_SAVED) from None

    def _backup_before_compaction(self, data: bytes, counted: tuple[int, int], saved: str,
                                  stored: bytes | None = None, staged: Path | None = None) -> None:
        """Take the backup a compaction takes before it replaces anything (see _backup); SaveFailed if it fails.

        ``saved`` says what the journal keeps: the change just made, or the session's changes.
        """
        try:
            self._backup(data, counted, "compaction", stored=stored, staged=staged)
        except StorageError as exc:
            raise SaveFailed(f"could not compact the journal into {self.snapshot_path}, because the backup taken "
                             f"first failed ({exc.message}) — {saved}, in the journal", hint=exc.hint) from None

    def _not_compacted(self, exc: OSError, saved: str) -> SaveFailed:
        """The error of a compaction whose snapshot or journal could not be replaced (``saved``: as above)."""
        return SaveFailed(f"could not compact the journal into {self.snapshot_path}: {exc.strerror} — {saved}, "
                          "in the journal", hint=hint_for(exc))

    # -- compaction in the background (a session) -----------------------------------------------

    def freeze_for_compaction(self, tasks: TaskList) -> Frozen | None:
        """What a compaction of ``tasks`` (caught up, under the lock) needs, copied so that it can be encoded
        without the lock while the session goes on changing ``tasks``; None if this store should not."""
        assert self._lock.held and tasks.revision == self._revision
        position = self._journal.position
        if (self.needs_migration or self.read_only is not None or self._journal.in_doubt is not None
                or position.generation is None or position.last_rev != tasks.revision):
            return None
        # A copy costs what changed since the load (a sealed list's unused tasks are shared, never built).
        return Frozen(tasks.copy(), tasks.next_id, tasks.revision, position.generation, position.end,
                      position.last_line)

    def prepare_compaction(self, frozen: Frozen, *, snapshot: bool = True) -> Prepared:
        """Encode the frozen state, write it to a temp file beside the snapshot and fsync it (unless only a
        backup is wanted), and compress its backup: the slow part, done without the lock. Raises OSError."""
        data = codec.encode_tasklist(frozen.tasks)
        temp = files.write_temp(self.snapshot_path, self.stored(data, frozen.revision)) if snapshot else None
        stored = self.backups.stored_form(data, frozen.revision)
        try:
            staged = self.backups.stage(stored)
        except BaseException as exc:
            if temp is not None:
                files.remove_temp(temp)
            if isinstance(exc, StorageError):
                what = "compact the journal" if snapshot else "take the hourly backup"
                raise SaveFailed(f"could not {what}, because its backup could not be written ({exc.message}) — "
                                 f"{_CHANGES_SAVED}, in the journal", hint=exc.hint) from None
            raise
        return Prepared(frozen, temp, data, stored, staged)

    def unprepare(self, prepared: Prepared) -> None:
        """Remove what a prepared compaction wrote that was not put in place."""
        if prepared.temp is not None:
            files.remove_temp(prepared.temp)
        self.backups.unstage(prepared.staged)

    def install_backup(self, prepared: Prepared, label: str) -> Backup:
        """Take the backup of a prepared state (under the lock): written, fsynced, read back and checked.

        Prepared without the lock, it may be in a form the store left meanwhile (plain before an encrypt, or
        sealed with slots a rekey retired): then it is written again in the store's form now, never as it was."""
        assert self._lock.held
        if self.backups.form_of(prepared.stored) != self.backups.current_form():
            self.backups.unstage(prepared.staged)
            return self._backup(prepared.data, (prepared.frozen.revision, len(prepared.frozen.tasks)), label)
        return self._backup(prepared.data, (prepared.frozen.revision, len(prepared.frozen.tasks)), label,
                            stored=prepared.stored, staged=prepared.staged)

    def install_compaction(self, prepared: Prepared) -> bool:
        """Put a prepared compaction in place (under the lock) if the store still continues its revision.

        The journal's records after that revision (this session's and other sessions' changes made
        meanwhile) are carried into the new journal, each checked by its CRC and revision. The order is
        a compaction's: the backup durable, then the snapshot's rename durable, then the journal replaced;
        a crash between any two leaves the same tasks. Returns False, changing nothing, when the store
        moved on another way (another session compacted, a save is unconfirmed or in doubt, the temp file
        was removed as a crash's leftover); the next housekeeping tries again.
        """
        assert self._lock.held and prepared.temp is not None
        frozen = prepared.frozen
        position = self._journal.position
        fd = self._journal.fd if self._journal.fd is not None else self._journal.open()
        if (fd is None or not os.path.lexists(prepared.temp)  # removed as a crash's leftover by another session
                or position.generation != frozen.generation or self._journal.in_doubt is not None
                or self._journal.own_unconfirmed() is not None or position.end < frozen.read
                or not self._still_in_place(fd, frozen)):
            files.remove_temp(prepared.temp)
            return False
        carried = self._carried(fd, frozen)
        if carried is None:
            files.remove_temp(prepared.temp)
            return False
        try:
            self._backup_before_compaction(prepared.data, (frozen.revision, len(frozen.tasks)), _CHANGES_SAVED,
                                           stored=prepared.stored, staged=prepared.staged)
        except SaveFailed:
            files.remove_temp(prepared.temp)
            raise
        read = position.end - frozen.read
        try:
            files.install_temp(prepared.temp, self.snapshot_path)
            self._snapshot_size = self.snapshot_path.stat().st_size
            self._journal.start_carrying(frozen.revision, carried, read, position.last_line, position.last_rev)
        except OSError as exc:
            raise self._not_compacted(exc, _CHANGES_SAVED) from None
        # Closed, so that the lock's release leaves this session's view unconfirmed: the next read reads what
        # was carried beyond what this session had read, rather than taking the new journal as read.
        self._journal.close()
        return True

    @staticmethod
    def _still_in_place(fd: int, frozen: Frozen) -> bool:
        """True if the journal open on ``fd`` still holds, ending at ``frozen.read``, the line read last at the freeze."""
        length = len(frozen.last_line)
        return os.pread(fd, length, frozen.read - length) == frozen.last_line

    def _carried(self, fd: int, frozen: Frozen) -> bytes | None:
        """The whole lines after the frozen revision, if each is a voided line or the next record; else None."""
        size = os.fstat(fd).st_size
        tail = os.pread(fd, size - frozen.read, frozen.read) if size > frozen.read else b""
        tail = tail[: tail.rfind(b"\n") + 1]  # an unfinished last line was never acknowledged: not carried
        revision = frozen.revision
        for line in tail.splitlines():
            if codec.is_void(line):
                continue
            try:
                rev, _, _ = decode_line(line, "a journal record", codec.SCHEMA, self.cipher, revision)
            except (codec.FormatError, InvalidValue):
                return None
            if rev != revision + 1:
                return None
            revision = rev
        return tail

    @staticmethod
    def _encode(tasks: TaskList, progress: ProgressCallback | None = None) -> bytes:
        return codec.encode_tasklist(tasks, progress)

    def migrate(self, tasks: TaskList, progress: ProgressCallback | None = None) -> Backup:
        """Rewrite an older store in the current schema, after backing it up as it was (under the lock).

        Each step leaves a store that loads with the same tasks: the backup is taken first; the
        new snapshot holds everything the old journal did; the journal is replaced last. ``progress``
        is told the tasks written of twice their number: the backup as it was, then the new snapshot.
        """
        assert self._lock.held and tasks.revision == self._revision
        self.check_writable()
        count = len(tasks)
        if progress is not None:
            progress(0, 2 * count)
        old = codec.encode_snapshot_as(self._snapshot_schema, *tasks.snapshot(), tuple(tasks.history))
        backup = self._backup(old, (tasks.revision, count), "migration", verify=codec.decode_snapshot)
        second = None if progress is None else (lambda done, _total: progress(count + done, 2 * count))
        try:
            files.atomic_replace(self.snapshot_path, self.stored(self._encode(tasks, second), tasks.revision))
            self._snapshot_schema = codec.SCHEMA
            self._snapshot_size = self.snapshot_path.stat().st_size
            self._journal.start(tasks.revision)
        except OSError as exc:
            raise SaveFailed(f"could not upgrade the store in {self.directory} to schema {codec.SCHEMA}: "
                             f"{exc.strerror or exc} — it still loads as it was, and backup {backup.id} holds it",
                             hint=hint_for(exc)) from None
        self._journal.reopen()
        return backup

    # -- backups --------------------------------------------------------------------------

    def backup(self, tasks: TaskList, label: str, progress: ProgressCallback | None = None) -> Backup:
        """Take a verified backup of ``tasks`` (under the lock, caught up); ``progress``: the tasks encoded."""
        assert self._lock.held and tasks.revision == self._revision
        return self._backup(self._encode(tasks, progress), (tasks.revision, len(tasks)), label)

    def _backup(self, data: bytes, counted: tuple[int, int], label: str,
                verify: Callable[[bytes], object] | None = None, stored: bytes | None = None,
                staged: Path | None = None) -> Backup:
        """Back up the snapshot ``data`` (``counted``: its revision and task count): compressed, and checked
        by the CRC-32 of the bytes read back. ``verify`` (a decode) is for a snapshot not encoded in the
        current schema from a checked task list: such a backup is also kept plain, for the older taskvault
        that can read it. ``stored``: the compressed bytes, if they were made already; ``staged``: written
        to a temp file already (Backups.stage), to put in place by a rename."""
        def checked(data: bytes) -> None:
            assert verify is not None
            try:
                verify(data)
            except (codec.FormatError, InvalidValue) as exc:
                raise SaveFailed(f"the new backup does not decode: {exc}") from None
        if not self._place.check(must_exist=False):
            self._place.ensure()
        backup = self.backups.take(data, revision=counted[0], task_count=counted[1], label=label,
                                   verify=None if verify is None else checked, compress=verify is None,
                                   stored=stored, staged=staged)
        if backup.automatic:
            self._last_automatic_backup = backup.taken
        return backup

    def backup_due(self, tasks: TaskList) -> bool:
        """True once the housekeeping policy's interval of activity passed without an automatic backup.

        With no automatic backup yet, the interval counts from the oldest change in the history, so a
        new store gets its first backup once it has that much work in it.
        """
        if self._last_automatic_backup is None:  # looked up once per session, then kept up to date
            self._last_automatic_backup = self.housekeeping.activity_since(
                self.backups.newest(automatic_only=True), tasks)
            if self._last_automatic_backup is None:
                return False
        return self.housekeeping.backup_due(self._clock() - self._last_automatic_backup)

    def housekeeping_due(self, tasks: TaskList) -> bool:
        """Whether compaction or a backup may be due, from memory alone: the journal's length and record count,
        the snapshot's size, the time of the newest automatic backup (or of the first change) as this session
        knows it. Until that time was looked up (the first tidy of a session lists the backups), True."""
        if self.compaction_due():
            return True
        if self._last_automatic_backup is None:
            return True  # not looked up yet: tidy looks, after the acknowledgement
        return self.housekeeping.backup_due(self._clock() - self._last_automatic_backup)

    def rotate_backups(self) -> list[Backup]:
        """Remove the automatic backups the retention policy no longer keeps."""
        return self.backups.rotate(self.housekeeping.retention)

    # -- replacing a store that does not load ---------------------------------------------

    def replace_unreadable(self, snapshot: codec.Snapshot,
                           progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Put a backup in place of a store that does not load, keeping the unreadable files aside.

        The unreadable files get a second name (``tasks.json.unreadable-<time>``) before anything
        else happens and are never removed. The new journal goes in first, continuing a revision
        above any the old files reached, so that a crash before the snapshot is replaced still
        leaves a store that is refused, never one that mixes the two. Returns the restored tasks
        and the names the unreadable files were kept under. ``progress``: the tasks encoded.
        """
        from . import replacing  # (restore's and salvage's alone)

        assert self._lock.held
        tasks = replacing.restored(snapshot, self._mentioned_numbers())
        self._keep_encrypted()
        aside = replacing.keep_aside((self.snapshot_path, self.journal_path), self._clock(), self.directory)
        try:
            self._journal.start(tasks.revision)
            files.atomic_replace(self.snapshot_path, self.stored(self._encode(tasks, progress), tasks.revision))
        except OSError as exc:
            raise SaveFailed(f"could not restore into {self.directory}: {exc.strerror or exc} — the store is still "
                             f"refused, and its files are kept as {', '.join(aside)}; "
                             "run the restore again", hint=hint_for(exc)) from None
        self._now_holds(tasks)
        return tasks, aside

    def replace_with_salvage(self, report: SalvageReport, change: Change,
                             progress: ProgressCallback | None = None) -> tuple[TaskList, tuple[str, ...]]:
        """Put what salvage recovered in place of a store that does not load, as one change from ``report.base``.

        The damaged files are kept aside first, as by replace_unreadable. Then the new snapshot goes
        in: the salvaged tasks at a revision above any the old files mention, whose history ends in
        the salvage change itself (with the tasks of the base it replaced), so that 'undo' goes back
        to the base. Last, a new journal continues it. The snapshot holds everything on its own:
        beside the old journal, whose records are all of lower revisions, it loads as the salvaged
        store if that journal still decodes, and is refused as before if it does not, and a second
        salvage then recovers the same tasks from it. (The other order would pair the old snapshot
        with a new journal: refused too, but the old journal's records would be out of reach.)
        Returns the salvaged tasks and the names the damaged files were kept under. ``progress``: the
        tasks encoded.
        """
        from . import replacing

        assert self._lock.held
        tasks = replacing.salvaged(report, change, self._clock)
        self._keep_encrypted()
        data = self.stored(self._encode(tasks, progress), tasks.revision)
        aside = replacing.keep_aside((self.snapshot_path, self.journal_path), self._clock(), self.directory)
        try:
            files.atomic_replace(self.snapshot_path, data)
            self._journal.start(tasks.revision)
        except OSError as exc:
            raise SaveFailed(f"could not salvage into {self.directory}: {exc.strerror or exc} — the damaged files "
                             f"are kept as {', '.join(aside)}; run '{typed('salvage')}' again", hint=hint_for(exc)) from None
        self._now_holds(tasks)
        return tasks, aside

    def _keep_encrypted(self) -> None:
        """Before a store that does not load is replaced: an encrypted one stays encrypted, with its own key.

        Its key is the one this session opened, or the one its snapshot's header still names (asked for
        now), or the one the backup put in its place was sealed with. Never written in plain."""
        if self.cipher is not None:
            return
        header = self._readable_header()
        if header is not None:
            self.cipher = self.key_for(header)
        elif "backups" in self.__dict__ and self.backups.last_opened is not None:
            self.cipher = self.backups.last_opened

    def _readable_header(self) -> encrypted.Header | None:
        try:
            _, head = self.snapshot_head()
        except FileNotFoundError:
            return None
        except OSError as exc:  # the disk failing now (or a link in its place): nothing was replaced yet
            if exc.errno == errno.ELOOP:
                return None
            raise self._advice.read_failed(self.snapshot_path, exc) from None
        try:
            return encrypted.read_header(head) if encrypted.is_encrypted(head) else None
        except codec.FormatError:
            return None

    def _mentioned_numbers(self) -> tuple[int, int]:
        from . import replacing

        return replacing.mentioned_numbers((self.snapshot_path, self.journal_path), self._advice.read_failed)

    def _now_holds(self, tasks: TaskList) -> None:
        """After the store's files were replaced whole: this session's view is the new files."""
        self._snapshot_schema = codec.SCHEMA
        self._snapshot_size = self.snapshot_path.stat().st_size
        self._revision = tasks.revision
        self.read_only = None
        self._journal.reopen()
