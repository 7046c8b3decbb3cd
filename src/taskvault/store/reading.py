"""A store as its readers see it: load, catch up under the lock, refresh without it, examine for salvage.

Readers take no lock. They read the journal before the snapshot: a snapshot is never older than
the journal read before it, so records it already holds are skipped, never missed. A record a
writer has not yet confirmed on disk (see StoreLock's mark) is not believed.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .. import codec
from ..codec import encrypted
from ..domain.tasklist import Change, TaskList
from ..errors import StorageError, StoreEncrypted, StoreMoved, StoreTooNew, StoreUnreadable, WrongPassphrase
from . import replay
from .advice import Advice
from .directory import DataDirectory
from .journal import Journal, Position
from .layout import JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME
from .lock import StoreLock, parse_mark
from .replay import CaughtUp, News

if TYPE_CHECKING:
    from ..domain.progress import ProgressCallback
    from .backups import BackupShelf
    from .cipher import Cipher
    from .keys import Keychain, PassphraseSource
    from .salvage import SalvageReport

#: How often a reader tries to read the store while no writer comes or goes, before it waits for the lock.
_LOCK_FREE_TRIES = 3
_T = TypeVar("_T")


def _unconfirmed(raw_mark: bytes) -> tuple[str, int, bool] | None:
    mark = parse_mark(raw_mark)
    return mark.unconfirmed() if mark is not None else None


class StoreReader:
    """The files of one store and what this session has read of them. Never prints; raises StorageError subclasses."""

    def __init__(self, directory: Path, *, lock_timeout: float, on_lock_wait: Callable[[float], None] | None,
                 clock: Callable[[], dt.datetime], while_waiting: Callable[[], None] | None = None,
                 passphrases: PassphraseSource | None = None, keychain: Keychain | None = None) -> None:
        self.directory = directory
        #: Where the key of an encrypted store comes from (store/keys.py); None: nowhere (opening one refuses).
        self.passphrases = passphrases
        self.keychain = keychain
        #: Every key this session opened, by (store, key id): asked for once, kept in memory only.
        self._opened: dict[tuple[str, str], Cipher] = {}
        self.snapshot_path = directory / SNAPSHOT_NAME
        self.journal_path = directory / JOURNAL_NAME
        self._lock = StoreLock(directory / LOCK_NAME, timeout=lock_timeout, on_wait=on_lock_wait,
                               while_waiting=while_waiting)
        self._clock = clock
        self._place = DataDirectory(directory)
        self._advice = Advice(lambda: self.backups, self.salvage_report)
        self._journal = Journal(self.journal_path, directory, self._lock, self._advice)
        self._revision = -1  # revision of the task list built up to the journal's position
        self._snapshot_size = 0
        self._snapshot_schema = codec.SCHEMA
        #: The journal as this session last left it under the lock (see refresh); None: unknown.
        self._seen: tuple[int, int, int, int] | None = None
        #: Why this store may be read but not changed (written by a newer taskvault), or None.
        self.read_only: StoreTooNew | None = None
        #: Seconds the last load took (None: not yet in this session).
        self.last_load_seconds: float | None = None

    @functools.cached_property
    def backups(self) -> BackupShelf:
        """The store's backups (store/backups.py), on first use: most commands never look at them."""
        from .backups import BackupShelf

        shelf = BackupShelf(self.directory, self._clock, unlock=self.key_for)
        shelf.cipher = self.cipher
        return shelf

    def key_for(self, header: encrypted.Header) -> Cipher:
        """The key that opens files with ``header``: one this session opened already, or opened now from its
        slots (the keyring, else a passphrase asked for) and kept in memory for the rest of the session."""
        from .cipher import unlock

        known = self._opened.get((header.store, header.key))
        if known is None:
            known = unlock(header, self.directory, self.passphrases, self.keychain)
            self._opened[known.store, known.key] = known
        return known

    @property
    def _position(self) -> Position:
        return self._journal.position

    @property
    def voided(self) -> list[int]:
        """Byte offsets of the voided records (changes reported as failed) the last read passed over."""
        return self._journal.skipped.voided

    @property
    def unfinished(self) -> int:
        """Bytes of an unfinished write after the journal's last record, left out by the last read."""
        return self._journal.skipped.unfinished

    def load(self) -> TaskList:
        """Read the store without writing or waiting. A missing store is an empty one.

        The journal is read before the snapshot: a snapshot is never older than the journal read
        before it, so records it already holds are skipped, never missed. A record a writer has
        not yet confirmed on disk (see StoreLock's mark) is not believed.
        """
        if not self._place.check(must_exist=False):
            self._journal.position, self._revision, self._snapshot_size = Position(), 0, 0
            return TaskList()
        started = time.perf_counter()

        def read() -> tuple[bytes | None, bytes | None, tuple[int, int, int, int] | None]:
            journal = self._advice.read(self.journal_path)
            seen = self._journal.stamp() if journal is not None else None
            return journal, self._advice.read(self.snapshot_path), seen

        (journal, snapshot, seen), unconfirmed = self._consistently(read)
        with replay.collector_paused():
            tasks = self._build(snapshot, journal, unconfirmed)
        self._seen = seen  # the journal as it was read: a refresh costs one stat until it changes
        self.last_load_seconds = time.perf_counter() - started
        return tasks

    def _consistently(self, read: Callable[[], _T]) -> tuple[_T, tuple[str, int, bool] | None]:
        """Run ``read`` while no writer comes or goes, and return it with the record not to believe (if any).

        Readers take no lock: the mark in the lock file is read before and after, and if a writer
        changed it meanwhile, the read is made again. A reader that keeps losing that race (a
        session saving many changes a second) takes the lock, shared, and waits its turn.
        """
        for _ in range(_LOCK_FREE_TRIES):
            before = self._read_mark()
            value = read()
            if self._read_mark() == before:
                return value, _unconfirmed(before)
        held = self._lock.acquire(shared=True)
        try:
            value = read()
            return value, _unconfirmed(self._read_mark())
        finally:
            if held:
                self._lock.release()

    def _read_mark(self) -> bytes:
        try:
            return self._lock.read_mark()
        except OSError as exc:
            raise StorageError(f"cannot read the lock file {self._lock.path}: {exc.strerror}",
                               hint="it should be a plain file of yours; move anything else aside") from None

    def recovery_advice(self) -> str:
        """What to run to get an unreadable store back (see Advice.recovery_advice)."""
        return self._advice.recovery_advice()

    def salvage_report(self, progress: ProgressCallback | None = None) -> SalvageReport | TaskList:
        """What 'salvage' recovers from this store now, or the loaded tasks if the store loads.

        Reads the files once (under the lock when this session holds it, else as a reader does),
        decides on those bytes whether they load, and if not, examines them (store/salvage.py).
        Raises StoreTooNew for a store of a newer schema, and the readers' errors for files that
        cannot be read at all (permission, a link, the disk). ``progress`` is told the tasks of the snapshot
        decoded (of a store that does not load; one that loads reads fast).
        """
        from .replacing import mentioned_numbers, salvage_source
        from .salvage import examine

        def read() -> tuple[tuple[bytes | None, str | None], tuple[bytes | None, str | None]]:
            return (salvage_source(self.journal_path, self._advice.read_failed),
                    salvage_source(self.snapshot_path, self._advice.read_failed))

        if not self._place.check(must_exist=False):
            return TaskList()  # no store yet: an empty one, which loads

        if self._lock.held:
            (journal, snapshot), unconfirmed = read(), self._journal.own_unconfirmed()
        else:
            (journal, snapshot), unconfirmed = self._consistently(read)
        problem = next(((path, why) for path, (_, why) in ((self.snapshot_path, snapshot), (self.journal_path, journal))
                        if why is not None), None)
        self._advice.withheld = True
        try:
            if problem is None:
                try:
                    with replay.collector_paused():
                        loaded = self._build(snapshot[0], journal[0], unconfirmed)
                        # Every task and step built, as strictly as list and undo build them: a store that
                        # loads only because a command has not yet read its damaged line is salvaged.
                        codec.encode_tasklist(loaded)  # every line as a compaction would copy it
                        list(loaded)
                        list(loaded.history)
                        return loaded
                except StoreTooNew:
                    raise
                except StoreUnreadable as exc:
                    refusal = exc.message
            else:
                refusal = f"cannot load {problem[0]}: {problem[1]}"
            cipher, snapshot = self._salvage_key(snapshot, journal[0])
            with replay.collector_paused():
                return examine(refusal=refusal, snapshot=snapshot[0], snapshot_problem=snapshot[1], journal=journal[0],
                               journal_problem=journal[1], unconfirmed=unconfirmed, backups=self.backups.list(),
                               read_backup=functools.partial(self._advice.decoded_backup, strict=True),
                               mentioned=mentioned_numbers((self.snapshot_path, self.journal_path),
                                                           self._advice.read_failed),
                               snapshot_name=SNAPSHOT_NAME, journal_name=JOURNAL_NAME,
                               present=self.present_files(), progress=progress, cipher=cipher)
        except codec.TooNewError as exc:
            raise StoreTooNew(f"cannot salvage {self.directory}: {exc}",
                              hint="upgrade taskvault to use this store; nothing was changed") from None
        finally:
            self._advice.withheld = False

    def _salvage_key(self, snapshot: tuple[bytes | None, str | None],
                     journal: bytes | None) -> tuple[Cipher | None, tuple[bytes | None, str | None]]:
        """For salvage: the key of an encrypted store (from its snapshot's header, else from a backup of the
        store its journal names), and the snapshot as salvage reads it: decrypted, or why it cannot be."""
        data, why = snapshot
        header = None
        if data is not None and encrypted.is_encrypted(data):
            try:
                header = encrypted.read_header(data, SNAPSHOT_NAME)
            except codec.FormatError as exc:
                data, why = None, str(exc)
        if header is None:
            header = self._backup_header(journal)
        if header is None:
            if data is None and self._journal_store(journal) is not None:
                # Its records are encrypted and its key was only in the files that are gone: salvage would
                # make a new, empty store in plain where an encrypted one was. Say so; change nothing.
                raise StorageError(f"the store in {self.directory} is encrypted, and its key is in none of the files "
                                   f"left ({SNAPSHOT_NAME} and every backup are gone or damaged): its journal cannot "
                                   "be read, so there is nothing to salvage — nothing was changed",
                                   hint=f"put back a copy of {SNAPSHOT_NAME} or of a backup from elsewhere, or move the "
                                        "data directory aside to start a new store")
            return None, (data, why)
        cipher = self.key_for(header)
        if data is not None and encrypted.is_encrypted(data):
            try:
                data = cipher.with_slots(header.slots).decrypt_file(data, "snapshot", SNAPSHOT_NAME)[0]
            except codec.FormatError as exc:
                data, why = None, str(exc)
        return cipher, (data, why)

    @staticmethod
    def _journal_store(journal: bytes | None) -> str | None:
        """The encrypted store a journal's header names (None: a plain journal, or a header that does not decode)."""
        try:
            return codec.decode_journal_header(journal[:journal.index(b"\n")]).store if journal else None
        except (ValueError, codec.FormatError):
            return None

    def _backup_header(self, journal: bytes | None) -> encrypted.Header | None:
        """The header of the newest encrypted backup of the store an encrypted journal names, if any."""
        store = self._journal_store(journal)
        if store is None:
            return None
        for backup in self.backups.list():
            if backup.encrypted:
                try:
                    header = encrypted.read_header(self.backups.read_stored(backup))
                except (codec.FormatError, StorageError):
                    continue
                if header.store == store:
                    return header
        return None

    def present_files(self) -> tuple[str, ...]:
        """The names of the store files that are there, whatever they are."""
        return tuple(p.name for p in (self.snapshot_path, self.journal_path) if os.path.lexists(p))

    @property
    def _snapshot_size(self) -> int:
        """The snapshot's size as this handle last read or wrote it (setting it notes the file's stamp too)."""
        return self._known_snapshot[0]

    @_snapshot_size.setter
    def _snapshot_size(self, size: int) -> None:
        self._known_snapshot = (size, self.file_stamps()[0] if size else None)

    def snapshot_change(self) -> str | None:
        """How the snapshot file differs from the one this handle last read or wrote: None (it does not),
        "replaced" (another file in its place, as another process's compaction puts it), or "changed" (the
        same file changed in place, or removed: never by taskvault, which replaces it whole)."""
        now, known = self.file_stamps()[0], self._known_snapshot[1]
        if now == known:
            return None
        return "replaced" if now is not None and known is not None and now[:2] != known[:2] else "changed"

    def file_stamps(self) -> tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]:
        """(device, inode, size, modification time in ns) of the snapshot and the journal now (None: absent)."""
        stamps: list[tuple[int, int, int, int] | None] = []
        for path in (self.snapshot_path, self.journal_path):
            try:
                st = os.lstat(path)
            except OSError:
                stamps.append(None)
            else:
                stamps.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
        return stamps[0], stamps[1]

    def _build(self, snapshot: bytes | None, journal: bytes | None,
               unconfirmed: tuple[str, int, bool] | None = None) -> TaskList:
        if snapshot is None:
            if journal is not None:
                raise self._advice.unreadable(self.journal_path, f"{SNAPSHOT_NAME} is missing beside it")
            if self._place.had_store:
                raise StoreMoved(self.directory, f"is gone ({SNAPSHOT_NAME} was removed or moved)")
            self._journal.position, self._revision, self._snapshot_size = Position(), 0, 0
            return TaskList()
        cipher, revision = None, None
        if encrypted.is_encrypted(snapshot):
            cipher, snapshot, revision = self._decrypted(snapshot)
        decoded = replay.decode(snapshot, journal, unconfirmed, snapshot_path=self.snapshot_path,
                                journal_path=self.journal_path, skipped=self._journal.skipped,
                                unreadable=self._advice.unreadable, cipher=cipher, revision=revision)
        self.cipher = cipher
        tasks = decoded.tasks
        if self._place.had_store and tasks.revision < self._revision:
            # An older copy put in its place: ids handed out since would be handed out again.
            raise StoreMoved(self.directory, f"went back from revision {self._revision} to {tasks.revision} "
                             "(an older copy was put in its place)")
        self._journal.position, self._revision, self._snapshot_size = decoded.position, tasks.revision, len(snapshot)
        self._place.had_store = True
        self._snapshot_schema = decoded.snapshot_schema
        newest = decoded.newest_schema
        self.read_only = None if newest <= codec.SCHEMA else StoreTooNew(
            f"{self.directory} was written by a newer taskvault (schema {newest}; this version knows up to "
            f"{codec.SCHEMA}): it can be read but not changed", hint="upgrade taskvault to change this store")
        return tasks

    def _decrypted(self, data: bytes) -> tuple[Cipher, bytes, int]:
        """(the cipher, the plain snapshot, the revision its header names) of an encrypted snapshot.

        The key this session opened is used again while the header names it; another (a store put in
        this one's place) is opened from the header's slots. The slots as the file has them are kept, so
        that a snapshot this session writes keeps another session's rekey."""
        try:
            header = encrypted.read_header(data, SNAPSHOT_NAME)
            known = self.key_for(header)
            cipher = known.with_slots(header.slots) if known.slots != header.slots else known
            plain, _ = cipher.decrypt_file(data, "snapshot", SNAPSHOT_NAME)
        except codec.FormatError as exc:
            raise self._advice.unreadable(self.snapshot_path, exc) from None
        return cipher, plain, header.revision

    def confirmed_passphrase(self) -> str:
        """This encrypted store's passphrase, asked as opening it asks, and checked against its own passphrase
        slot (sync locks an encrypted remote with it: a typing slip would lock the remote with another).
        StoreEncrypted when none can be asked; WrongPassphrase when it is not this store's."""
        from .cipher import PASSPHRASE_HINT, open_passphrase_slot

        known = self.cipher
        if known is None or self.passphrases is None:
            raise StoreEncrypted(f"the store in {self.directory} is encrypted, and no passphrase can be asked",
                                 hint=PASSPHRASE_HINT)
        passphrase = self.passphrases.passphrase(self.directory, "unlock")
        try:
            opened = open_passphrase_slot(known.header("snapshot", 0, codec.SCHEMA), passphrase)
        except codec.FormatError:
            opened = None
        if opened != known.data_key:
            raise WrongPassphrase(f"the passphrase is not the one of the store in {self.directory} — nothing was "
                                  "read or changed", hint="give this store's passphrase")
        return passphrase

    @property
    def cipher(self) -> Cipher | None:
        """The key of this encrypted store, open (None: the store is plain, or not read yet)."""
        return self._journal.cipher

    @cipher.setter
    def cipher(self, cipher: Cipher | None) -> None:
        self._journal.cipher = cipher
        if cipher is not None:
            self._opened[cipher.store, cipher.key] = cipher
        if "backups" in self.__dict__:
            self.backups.cipher = cipher

    def snapshot_head(self) -> tuple[os.stat_result, bytes]:
        """The snapshot's stat and its first bytes (as many as an encryption header may take): never through a
        link, never waiting on a pipe, whatever its size. OSError if it cannot be read (FileNotFoundError: none)."""
        fd = os.open(self.snapshot_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            return info, os.pread(fd, encrypted.MAX_HEADER_BYTES, 0) if stat.S_ISREG(info.st_mode) else b""
        finally:
            os.close(fd)

    def key_identity(self) -> tuple[tuple[int, int] | None, object]:
        """(device, inode) of the snapshot now, and how its key is kept: for an encrypted one, its store id, key
        id and slots, as its clear header says (what rekey, decrypt and encrypt change, and a compaction does
        not); None for a plain snapshot or none; the header's bytes as they are if they do not decode. Reads
        the first line only (at most its first 64 KiB), never through a link."""
        try:
            info, head = self.snapshot_head()
        except OSError:
            return None, None
        if not encrypted.is_encrypted(head):
            return (info.st_dev, info.st_ino), None
        try:
            header = encrypted.read_header(head)
        except codec.FormatError:
            return (info.st_dev, info.st_ino), head.partition(b"\n")[0]
        return (info.st_dev, info.st_ino), (header.store, header.key, header.slots)

    @property
    def plain_journal(self) -> bool:
        """True when an encrypted store's journal is still in plain form (an encrypt cut short after its rename)."""
        position = self._journal.position
        return self.cipher is not None and position.generation is not None and position.store is None

    @property
    def encrypted(self) -> bool:
        """True once the store is known to be encrypted (read, or made so by this session)."""
        return self.cipher is not None

    @property
    def needs_migration(self) -> bool:
        """True when the loaded files are of an older schema than this version writes."""
        position = self._journal.position
        return self._snapshot_schema < codec.SCHEMA or (position.generation is not None
                                                       and position.schema < codec.SCHEMA)

    def catch_up(self, tasks: TaskList) -> CaughtUp:
        """Bring ``tasks`` up to the store's latest revision, under the lock.

        Usually ``tasks`` itself comes back with the missed changes applied in place. When
        another process compacted the store (or ``tasks`` is not the list this store built),
        a freshly loaded list comes back instead.
        """
        assert self._lock.held, "catch_up needs the store lock"
        if self._place.had_store and not os.path.lexists(self.snapshot_path):
            # The journal alone continues nothing: a change appended to it would be acknowledged into
            # a store that no longer loads. (A compaction replaces tasks.json by rename: never absent.)
            raise StoreMoved(self.directory, f"is gone ({SNAPSHOT_NAME} was removed or moved)")
        # Under the lock no one else writes the journal: its size is the one read as it was opened.
        fd = self._journal.open()
        news = self._read_news(tasks, fd, self._journal.size_at_open if fd is not None else None)
        return self._apply_news(tasks, news, self._journal.own_unconfirmed())

    def _read_news(self, tasks: TaskList, fd: int | None, size: int | None = None) -> News:
        """What the journal holds beyond what ``tasks`` was built from (or all of it, if it was replaced).

        ``size``: the journal's, if known (read under the lock, where no one else writes it)."""
        end = self._journal.position.end
        try:
            if size is None:
                size = os.fstat(fd).st_size if fd is not None else 0
            if size > codec.MAX_FILE_BYTES:  # whether read whole or only what it gained since: never read it
                raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
            if fd is None or tasks.revision != self._revision or not self._journal.same(fd, size):
                journal = None if fd is None else os.pread(fd, size, 0) if size else b""
                return News(journal, self._advice.read(self.snapshot_path), reload=True)
            data = os.pread(fd, size - end, end) if size > end else b""
        except StorageError:
            raise
        except OSError as exc:  # the disk failed while reading (EIO): a storage error, not a bug
            raise self._advice.read_failed(self.journal_path, exc) from None
        return News(data, None, reload=False)

    def _apply_news(self, tasks: TaskList, news: News, unconfirmed: tuple[str, int, bool] | None) -> CaughtUp:
        before = tasks.revision
        if news.reload:
            fresh = self._build(news.snapshot, news.journal, unconfirmed)
            return CaughtUp(fresh, (), fresh.revision - before)
        missed: list[Change] = []
        if news.journal:
            self._journal.position, missed = replay.replay(
                tasks, news.journal, self._journal.position, unconfirmed=unconfirmed, journal_path=self.journal_path,
                skipped=self._journal.skipped, unreadable=self._advice.unreadable, cipher=self.cipher)
            self._revision = tasks.revision
        return CaughtUp(tasks, tuple(missed), tasks.revision - before)

    def refresh(self, tasks: TaskList) -> CaughtUp:
        """Catch ``tasks`` up with what other sessions saved since, for a read (no lock, nothing written).

        Costs two stats (the directory, the journal) when the journal did not change since this
        session last read it.
        """
        self._place.check(must_exist=False)
        current = self._journal.stamp()
        if current is None and not os.path.lexists(self.journal_path):
            before = tasks.revision
            fresh = self.load()
            return CaughtUp(fresh, (), fresh.revision - before)
        if current == self._seen and tasks.revision == self._revision:
            # Unchanged since this session last read it: one stat. (Changes never rely on this;
            # they always catch up under the lock.)
            return CaughtUp(tasks, (), 0)
        fd = self._journal.open(writable=False)
        try:
            (news, seen), unconfirmed = self._consistently(lambda: (self._read_news(tasks, fd),
                                                                    self._journal.stamp()))
        finally:
            if fd is not None:
                os.close(fd)
        caught = self._apply_news(tasks, news, unconfirmed)
        self._seen = seen
        return caught

    def close(self) -> None:
        self._lock.close()

