"""Backups: whole-store generations in ``backups/`` beside the store, verified and rotated.

Each backup is one snapshot file, named for when it was taken, the revision and task count it
holds, and why it was taken::

    backups/20261121-093000-r120-n45-hourly.json.gz

Its id is the time part (``20261121-093000``, UTC; ``.2`` is added when two fall in the same
second). Backups taken automatically are rotated by a Retention policy; ones taken by
``backup [NAME]`` are kept until the user removes them.

A backup is stored compressed (``.json.gz``: gzip, zlib of the standard library, whose trailer holds
a CRC-32 of the snapshot) unless it must stay readable by an older taskvault (a migration's, plain
``.json``, as every backup of taskvault before 0.3 was). Reading a backup gives the snapshot's bytes
exactly as they were encoded, compressed or not. A backup is verified by reading its bytes back and
comparing their CRC-32 with that of the bytes written, not by decoding it again: the snapshot was
encoded from a checked task list. Two backups of the same snapshot share one file (a hard link), so
a state is never stored twice, while each keeps its own name, label and place in rotation.
"""

from __future__ import annotations

import builtins  # BackupShelf.list hides the builtin in the class's annotations
import datetime as dt
import errno
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..codec import MAX_FILE_BYTES, SCHEMA, FormatError
from ..codec.encrypted import Header, is_encrypted, read_header
from ..errors import BackupDamaged, BackupNotFound, SaveFailed, StorageError, StoreEncrypted, typed
from . import files, layout
from .hints import hint_for
from .housekeeping import Retention  # (the policy's, named here too: rotate takes one)
from .layout import BACKUPS_NAME as DIRECTORY_NAME
from .records import Record

if TYPE_CHECKING:
    from .cipher import Cipher

#: Labels of backups taken by taskvault itself; only these are rotated.
AUTOMATIC = ("hourly", "compaction", "migration", "restore", "import", "encrypt", "decrypt", "rekey")
#: A name the user gives a backup. Match with fullmatch: ``$`` would let a final newline through.
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_FILE = re.compile(r"(?P<id>\d{8}-\d{6}(?:\.\d+)?)-r(?P<rev>\d+)-n(?P<count>\d+)-(?P<label>[A-Za-z0-9][A-Za-z0-9._-]*)"
                   r"\.json(?:(?P<gz>\.gz)(?P<enc>\.enc)?)?")
#: The suffix of a compressed backup's name; the ``compressed`` flag of a Backup.
COMPRESSED_SUFFIX = ".gz"
#: What an encrypted backup's name ends with after that: it is sealed with the store's key (store/cipher.py).
ENCRYPTED_SUFFIX = ".enc"
#: zlib's level for backups: 5x smaller than the snapshot at a third of the time level 6 takes.
COMPRESSION_LEVEL = 3
_GZIP = 16 + zlib.MAX_WBITS  # zlib's window bits for the gzip container (header, CRC-32 and size trailer)
#: What a backup id, or the start of one that restore would take as an id, looks like.
ID_START = re.compile(r"\d{1,8}|\d{8}-\d{0,6}|\d{8}-\d{6}\.\d*")
_STAMP = "%Y%m%d-%H%M%S"
#: The name a staged backup's temp file is made beside (files.temp_name): never a backup's own name.
_STAGED = "staged.json.gz"
#: How a directory is opened to look inside it: never waiting, never through a link (with O_NOFOLLOW).
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC


class Backup(Record):
    """One backup file, as its name and the file say (a plain record, not an attrs class: every change
    imports this module, to know when the last automatic backup was taken)."""

    _fields = ("id", "path", "taken", "revision", "task_count", "label", "size", "compressed", "inode", "encrypted")
    __slots__ = _fields

    def __init__(self, id: str, path: Path, taken: dt.datetime, revision: int, task_count: int, label: str,
                 size: int, compressed: bool = False, inode: int = 0, encrypted: bool = False) -> None:
        self.id = id
        self.path = path
        self.taken = taken
        self.revision = revision
        self.task_count = task_count
        self.label = label
        #: Bytes on disk (compressed, if it is).
        self.size = size
        #: Stored gzip-compressed (``.json.gz``); reading it gives the snapshot's own bytes all the same.
        self.compressed = compressed
        #: The file's inode: two backups of the same snapshot share one file (and count once on disk).
        self.inode = inode
        #: Compressed, then sealed with an encrypted store's key (``.json.gz.enc``).
        self.encrypted = encrypted

    @property
    def automatic(self) -> bool:
        return self.label in AUTOMATIC

    @property
    def revision_text(self) -> str:
        tasks = "1 task" if self.task_count == 1 else f"{self.task_count} tasks"
        return f"taken {self.taken:%Y-%m-%d %H:%M} UTC, revision {self.revision}, {tasks}"


def _taken(backup_id: str) -> dt.datetime | None:
    """When the backup ``backup_id`` (YYYYMMDD-HHMMSS, perhaps .N) was taken, in UTC; None for no such time.

    Read by slicing, not by strptime: strptime imports _strptime, locale and calendar (some 3 ms),
    and every change lists the backups to know when the last automatic one was taken."""
    s = backup_id
    try:
        return dt.datetime(int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[9:11]), int(s[11:13]), int(s[13:15]),
                           tzinfo=dt.UTC)
    except ValueError:
        return None


class BackupShelf:
    """The backups of one store. Never prints; raises StorageError or UserError subclasses.

    ``backups/`` must pass the directory rule (store/layout.py) and is never used through a link:
    each operation opens it by descriptor, checks that descriptor, and resolves every name
    inside it against the descriptor. Nothing outside the data directory is written, renamed or
    removed, whatever is swapped into the path meanwhile, and a backup that is a link, a named
    pipe or a device is never read, listed or removed.
    """

    def __init__(self, store_directory: Path, clock: Callable[[], dt.datetime],
                 unlock: Callable[[Header], Cipher] | None = None) -> None:
        self.store_directory = store_directory
        self.directory = store_directory / DIRECTORY_NAME
        self._clock = clock
        #: The key of an encrypted store: every backup taken is sealed with it. None: a plain store.
        self.cipher: Cipher | None = None
        #: Opens the key of an encrypted backup sealed with another (or of a plain store's shelf).
        self._unlock = unlock
        #: The key the last encrypted backup read was opened with (a restore keeps the store encrypted with it).
        self.last_opened: Cipher | None = None

    @contextmanager
    def _held(self, *, create: bool = False) -> Iterator[int | None]:
        """The backups directory open by descriptor, once it passed the directory rule; None if there is none.

        Raises OSError when it cannot be opened or made, and the rule's StorageError when it breaks it.
        """
        # Looking is reading: only a backup being taken opens through the writing module (files).
        try:
            parent = os.open(self.store_directory, _DIRECTORY)  # the user's path: followed, as everywhere
        except FileNotFoundError:
            if create:
                raise
            yield None
            return
        try:
            try:
                fd = (files.open_private_subdirectory(DIRECTORY_NAME, parent, create=True) if create
                      else os.open(DIRECTORY_NAME, _DIRECTORY | os.O_NOFOLLOW, dir_fd=parent))
            except FileNotFoundError:
                fd = None
            except NotADirectoryError:  # a link, or something else that is not a directory
                raise self._problem(os.lstat(DIRECTORY_NAME, dir_fd=parent)) or StorageError(
                    f"the backups directory {self.directory} is not a directory") from None
            if fd is None:
                yield None
                return
            try:
                problem = self._problem(os.fstat(fd))
                if problem is not None:
                    raise problem
                yield fd
            finally:
                os.close(fd)
        finally:
            os.close(parent)

    def _problem(self, info: os.stat_result) -> StorageError | None:
        return layout.directory_problem(self.directory, info, what="backups directory", elsewhere=(
            layout.move_aside_hint(self.directory, "the next backup makes a private one; move into it the backups "
                                   "you want to keep")))

    def list(self) -> list[Backup]:
        """Every backup, newest first. Files that are not backups are ignored."""
        try:
            with self._held() as fd:
                return [] if fd is None else self._list(fd)
        except StorageError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot list the backups in {self.directory}: {exc.strerror}",
                               hint="check the directory's owner and mode (it should be yours, 0700)") from None

    def _list(self, fd: int) -> builtins.list[Backup]:
        found = []
        with os.scandir(fd) as entries:
            for entry in entries:
                match = _FILE.fullmatch(entry.name)
                if not match or not entry.is_file(follow_symlinks=False):
                    continue  # links, pipes, devices and directories are never backups
                taken = _taken(match["id"])
                if taken is None:
                    continue  # a name of the form with no such time (month 13) was not written by taskvault
                info = entry.stat(follow_symlinks=False)
                found.append(Backup(match["id"], self.directory / entry.name, taken, int(match["rev"]),
                                    int(match["count"]), match["label"], info.st_size, match["gz"] is not None,
                                    info.st_ino, match["enc"] is not None))
        return sorted(found, key=_newest_first_key, reverse=True)

    def leftover_temp_files(self) -> builtins.list[str]:
        """Names of temp files interrupted backups left in the directory."""
        with self._held() as fd:
            if fd is None:
                return []
            with os.scandir(fd) as entries:
                return sorted(e.name for e in entries if files.TEMP_MARK in e.name)

    def newest(self, *, automatic_only: bool = False) -> Backup | None:
        for backup in self.list():
            if backup.automatic or not automatic_only:
                return backup
        return None

    def find(self, ref: str) -> Backup:
        """A backup by id, unique id prefix, label, or ``latest``."""
        backups = self.list()
        if not backups:
            raise BackupNotFound("there are no backups yet", hint=f"take one with: {typed('backup')}")
        if ref == "latest":
            return backups[0]
        for backup in backups:
            if backup.id == ref:
                return backup
        started = [b for b in backups if b.id.startswith(ref)]
        if len(started) > 1:
            raise BackupNotFound(f"{ref!r} matches {len(started)} backups",
                                 hint=f"give more of the id; '{typed('backups')}' lists them")
        named = started or [b for b in backups if b.label == ref]  # newest first: a name means its newest
        if named:
            return named[0]
        raise BackupNotFound(f"no backup {ref!r}", hint=f"'{typed('backups')}' lists the backups and their ids")

    def read(self, backup: Backup) -> bytes:
        """The snapshot a backup holds, byte for byte as it was encoded (uncompressed if it was stored so).

        Raises BackupDamaged (a StorageError) when it cannot be read, and codec.FormatError when a
        compressed backup does not decompress whole (damage, as a snapshot that does not decode is).
        """
        return self._snapshot_of(self.read_stored(backup), backup)

    def _snapshot_of(self, stored: bytes, backup: Backup) -> bytes:
        """The snapshot a backup's bytes hold (decrypted and decompressed, as it is stored)."""
        if backup.encrypted:
            stored = self.decrypted(stored, backup)
        return decompressed(stored) if backup.compressed else stored

    def decrypted(self, stored: bytes, backup: Backup) -> bytes:
        """What an encrypted backup's bytes hold (compressed); FormatError if they do not decrypt as its own."""
        what = f"the backup {backup.id}"
        header = read_header(stored, what)
        cipher = self.cipher
        if cipher is not None and header.store != cipher.store:
            raise FormatError(f"{what} belongs to another encrypted store", "")
        if cipher is None or (cipher.store, cipher.key) != (header.store, header.key):
            if self._unlock is None:
                raise StoreEncrypted(f"{what} is encrypted", hint="open it from its store")
            cipher = self._unlock(header)
        plain, _ = cipher.decrypt_file(stored, "backup", what)
        self.last_opened = cipher
        if header.revision != backup.revision:
            raise FormatError(f"{what} holds revision {header.revision}, but its name says {backup.revision}", "")
        return plain

    def current_form(self) -> object:
        """The form this shelf's backups take now, as form_of says it."""
        cipher = self.cipher
        return None if cipher is None else (cipher.store, cipher.key, cipher.slots)

    @staticmethod
    def form_of(stored: bytes) -> object:
        """What form a backup's bytes are in (None: plain; else the store, key and slots that seal them).
        Compared, never interpreted."""
        if not is_encrypted(stored):
            return None
        try:
            header = read_header(stored)
        except FormatError:
            return stored[:64]
        return header.store, header.key, header.slots

    def stored_form(self, data: bytes, revision: int) -> bytes:
        """How the snapshot ``data`` (of ``revision``) is stored as a backup: compressed, and sealed if encrypted."""
        stored = compressed(data)
        if self.cipher is not None:
            stored = self.cipher.encrypt_file(stored, "backup", revision, SCHEMA)
        return stored

    def read_stored(self, backup: Backup) -> bytes:
        """A backup's bytes as they are on disk (compressed, if it is)."""
        try:
            with self._held() as fd:
                data = None if fd is None else self._read(fd, backup)
        except StorageError:
            raise
        except OSError as exc:
            raise BackupDamaged(f"cannot read the backup {backup.id}: {exc.strerror}",
                                hint=f"pick another with '{typed('backups')}'") from None
        if data is None:
            raise BackupNotFound(f"the backup {backup.id} is gone", hint=f"'{typed('backups')}' lists the backups")
        return data

    @staticmethod
    def _read(fd: int, backup: Backup) -> bytes | None:
        try:
            # Bounded: a backup larger than any taskvault file is not one (and must not take the memory).
            return files.read_regular(backup.path.name, dir_fd=fd, limit=MAX_FILE_BYTES)
        except OSError as exc:
            detail = (f"it is larger than the {MAX_FILE_BYTES >> 20} MiB a taskvault file can be"
                      if exc.errno == errno.EFBIG else exc.strerror)
            raise BackupDamaged(f"cannot read the backup {backup.id}: {detail}",
                                hint=f"pick another with '{typed('backups')}'") from None

    def stage(self, stored: bytes) -> Path:
        """Write a compressed backup's bytes to a temp file in the backups directory and fsync it, for take()
        to put in place by a rename (under the store's lock, which then waits for no write of megabytes).
        Its path, in that directory; a staged file never taken is the caller's to remove (see unstage)."""
        try:
            with self._held(create=True) as fd:
                assert fd is not None
                return self.directory / files.write_temp(Path(_STAGED), stored, dir_fd=fd).name
        except StorageError:
            raise
        except OSError as exc:
            raise self._take_failed(exc) from None

    def _take_failed(self, exc: OSError) -> SaveFailed:
        return SaveFailed(f"could not take a backup in {self.directory}: {exc.strerror or exc}", hint=hint_for(exc))

    def remove_abandoned(self) -> builtins.list[str]:
        """Remove the temp files of backups whose writer is gone (killed mid-compaction, or mid-encrypt, decrypt
        or rekey, whose temp file may hold a backup in plain): the process whose id their name holds runs no
        more. A live session's staging is left alone (take() writes the bytes itself if its file is gone).
        Quietly: this is tidying."""
        removed = []
        try:
            with self._held() as fd:
                if fd is None:
                    return []
                with os.scandir(fd) as entries:
                    # A staged backup, or a backup being written or converted (encrypt, decrypt, rekey).
                    names = [e.name for e in entries if e.name.startswith(".") and files.TEMP_MARK in e.name]
                for name in names:
                    if not _running(name.rpartition(files.TEMP_MARK)[2].partition("-")[0]):
                        files.remove_temp(Path(name), dir_fd=fd)
                        removed.append(name)
        except (OSError, StorageError):
            pass
        return removed

    @staticmethod
    def unstage(staged: Path | None) -> None:
        """Remove a staged backup that was not taken (quietly: it may be gone)."""
        if staged is not None:
            files.remove_temp(staged)

    def take(self, data: bytes, *, revision: int, task_count: int, label: str,
             verify: Callable[[bytes], object] | None = None, compress: bool = True,
             stored: bytes | None = None, staged: Path | None = None) -> Backup:
        """Write the snapshot ``data`` as a new backup, durably, and check that it reads back as written.

        It is stored compressed unless ``compress`` is False. A backup of the same snapshot already
        there gives the new one its file (a second name) instead of a copy. ``verify``, if given, is
        run on ``data`` too (the decode of a snapshot of another schema, say); a failure of either
        check removes the new backup and raises. ``stored``: ``compressed(data)``, if it was made already;
        ``staged``: a file stage() wrote of it, put in place if still there (else the bytes are written).
        """
        now = self._clock().astimezone(dt.UTC)
        compress = compress or self.cipher is not None  # an encrypted store's backups are all sealed
        if stored is None or not compress:
            stored = self.stored_form(data, revision) if compress else data
        try:
            with self._held(create=True) as fd:
                assert fd is not None
                return self._take(fd, data, stored, now, revision=revision, task_count=task_count, label=label,
                                  verify=verify, compress=compress, staged=staged if compress else None)
        except StorageError:
            raise
        except OSError as exc:
            raise self._take_failed(exc) from None

    def _take(self, fd: int, data: bytes, stored: bytes, now: dt.datetime, *, revision: int, task_count: int,
              label: str, verify: Callable[[bytes], object] | None, compress: bool, staged: Path | None) -> Backup:
        backup_id = now.strftime(_STAMP)
        present = self._list(fd)
        taken = {b.id for b in present}
        sequence = 1
        while backup_id in taken:
            sequence += 1
            backup_id = f"{now.strftime(_STAMP)}.{sequence}"
        same = self._same_snapshot(fd, present, data, stored, revision=revision, task_count=task_count)
        if same is not None and label == same.label == "migration":
            return same  # an upgrade tried again (the last attempt failed after its backup): that backup holds it
        if same is not None:  # one file, two names: the new one takes its form (compressed or not)
            compress, stored = same.compressed, self._read(fd, same) or b""
        sealed = is_encrypted(stored)
        name = (f"{backup_id}-r{revision}-n{task_count}-{label}.json" + (COMPRESSED_SUFFIX if compress else "")
                + (ENCRYPTED_SUFFIX if sealed else ""))
        written = zlib.crc32(stored)
        try:
            if same is not None:
                files.link_durably(Path(same.path.name), Path(name), dir_fd=fd)
            elif staged is not None and _is_file(staged.name, fd) and _installed(staged, name, fd):
                pass  # written and fsynced already: renamed into place
            else:
                files.atomic_replace(Path(name), stored, dir_fd=fd)
        except OSError:
            # In place, but not durably (the directory's fsync failed): a backup said not to be taken must not be
            # left to be listed, rotated or restored as one. Its name is taken away, without another fsync of the
            # directory that just failed one (should a power loss bring it back, it is a whole backup of the store
            # as it was: its bytes were fsynced before the rename).
            files.remove_temp(Path(name), dir_fd=fd)
            raise
        inode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_ino
        backup = Backup(backup_id, self.directory / name, now.replace(microsecond=0), revision, task_count, label,
                        len(stored), compress, inode, sealed)
        try:
            try:
                back = self._read(fd, backup)
            except BackupDamaged as exc:  # the new backup, not one the user picked: taking it failed
                raise SaveFailed(f"could not take a backup in {self.directory}: it did not read back "
                                 f"({exc.message.partition(': ')[2]})", hint="the disk may be failing; check it") from None
            if back is None or len(back) != len(stored) or zlib.crc32(back) != written:
                raise BackupDamaged(f"the backup {backup_id} did not read back as written",
                                    hint="the disk may be failing; check it")
            if verify is not None:
                verify(data)
        except BaseException:
            self._remove(fd, backup)
            raise
        return backup

    def _same_snapshot(self, fd: int, present: builtins.list[Backup], data: bytes, stored: bytes, *,
                       revision: int, task_count: int) -> Backup | None:
        """A backup already holding exactly the snapshot ``data`` (one of the same revision and count), or None."""
        for backup in present:
            if (backup.revision, backup.task_count) != (revision, task_count):
                continue
            if backup.encrypted != (self.cipher is not None):
                continue  # not in the form this store's backups take now: never a second name for it
            try:
                there = self._read(fd, backup)
                if there is None:
                    continue
                if backup.encrypted and self.cipher is not None and read_header(there).slots != self.cipher.slots:
                    continue  # sealed with slots being retired (a rekey's): a second name would keep them
                if there == (stored if backup.compressed else data) or (
                        backup.compressed and self._snapshot_of(there, backup) == data):
                    return backup
            except (StorageError, FormatError):
                continue  # a damaged or unreadable backup is no copy of anything
        return None

    def convert(self, backup: Backup, cipher: Cipher | None) -> bool:
        """Bring a backup to its store's form: sealed with ``cipher`` and its slots, or plain if None. Returns
        whether it changed. The new file replaces the old atomically (a new name, then the old one removed).

        A plain backup is sealed as its bytes are, damaged or not (it must not stay readable); a sealed one
        that does not open is left as it is (it holds nothing readable). SaveFailed if the disk refuses."""
        if cipher is None and not backup.encrypted:
            return False
        try:
            stored = self.read_stored(backup)
            if cipher is None:
                new = self.decrypted(stored, backup)
            elif not backup.encrypted:
                new = cipher.encrypt_file(stored if backup.compressed else compressed(stored), "backup",
                                          backup.revision, SCHEMA)
            elif (header := read_header(stored)) and (header.store, header.key) == (cipher.store, cipher.key):
                if header.slots == cipher.slots:
                    return False
                new = cipher.rewrapped(stored)
            else:
                new = cipher.encrypt_file(self.decrypted(stored, backup), "backup", backup.revision, SCHEMA)
        except (FormatError, BackupDamaged):
            return False
        base = f"{backup.id}-r{backup.revision}-n{backup.task_count}-{backup.label}.json{COMPRESSED_SUFFIX}"
        name = base + (ENCRYPTED_SUFFIX if cipher is not None else "")
        try:
            with self._held() as fd:
                if fd is None:
                    return False
                files.atomic_replace(Path(name), new, dir_fd=fd)
                if name != backup.path.name:
                    files.remove_durably(Path(backup.path.name), dir_fd=fd)
        except StorageError:
            raise
        except OSError as exc:
            raise SaveFailed(f"could not convert the backup {backup.id} in {self.directory}: {exc.strerror or exc}",
                             hint=hint_for(exc)) from None
        return True

    def discard(self, backup: Backup) -> None:
        """Remove a backup taken for a change that then failed (quietly: what cannot be removed stays)."""
        try:
            with self._held() as fd:
                if fd is not None:
                    self._remove(fd, backup)
        except (OSError, StorageError):
            pass

    def rotate(self, retention: Retention) -> builtins.list[Backup]:
        """Remove the automatic backups the retention policy no longer keeps; return them."""
        try:
            with self._held() as fd:
                if fd is None:
                    return []
                automatic = [b for b in self._list(fd) if b.automatic]
                kept = retention.keep(automatic, self._clock().astimezone(dt.UTC))
                removed = [b for b in automatic if b.id not in kept]
                for backup in removed:
                    self._remove(fd, backup)
                return removed
        except StorageError:
            raise
        except OSError as exc:
            raise SaveFailed(f"could not rotate the backups in {self.directory}: {exc.strerror or exc}",
                             hint=hint_for(exc)) from None

    @staticmethod
    def _remove(fd: int, backup: Backup) -> None:
        try:
            files.remove_durably(Path(backup.path.name), dir_fd=fd)
        except OSError as exc:
            raise SaveFailed(f"could not remove the old backup {backup.path}: {exc.strerror or exc}",
                             hint=hint_for(exc)) from None


def _installed(staged: Path, name: str, fd: int) -> bool:
    """Rename a staged backup to ``name``; False if it is gone meanwhile (the caller then writes the bytes)."""
    try:
        files.install_temp(Path(staged.name), Path(name), dir_fd=fd)
    except FileNotFoundError:
        return False
    return True


def _running(pid: str) -> bool:
    """True if a process with this id (decimal text) may be running; False only when surely none is."""
    if not pid.isdigit() or int(pid) <= 0:
        return True  # not a name this program made: left for doctor to name
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _is_file(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def compressed(data: bytes) -> bytes:
    """``data`` in the gzip format (no name, no time in its header: the same bytes give the same file)."""
    packer = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, _GZIP)
    return packer.compress(data) + packer.flush()


def decompressed(stored: bytes) -> bytes:
    """What a compressed backup holds: FormatError unless it is one whole gzip stream whose CRC-32 and
    size check, holding no more than a taskvault file can be (a small file must not fill the memory)."""
    if len(stored) >= 4 and int.from_bytes(stored[-4:], "little") > MAX_FILE_BYTES:
        # The trailer's size (modulo 4 GiB): an honest bomb is refused before anything is decompressed;
        # one whose trailer lies is still stopped at the cap below.
        # (A file cut short ends in other bytes than its trailer, which may read as any size: say both.)
        raise FormatError(f"the compressed backup is cut short or damaged, or holds more than the "
                          f"{MAX_FILE_BYTES >> 20} MiB a taskvault file can be (its size field says "
                          f"{int.from_bytes(stored[-4:], 'little') >> 20} MiB)")
    unpacker = zlib.decompressobj(_GZIP)
    try:
        data = unpacker.decompress(stored, MAX_FILE_BYTES + 1)
    except zlib.error as exc:
        raise FormatError(f"the compressed backup is damaged ({exc})") from None
    if len(data) > MAX_FILE_BYTES or unpacker.unconsumed_tail:
        raise FormatError(f"the compressed backup holds more than the {MAX_FILE_BYTES >> 20} MiB a taskvault "
                          "file can be")
    if not unpacker.eof:
        raise FormatError("the compressed backup is cut short")
    if unpacker.unused_data:
        raise FormatError("the compressed backup has bytes after its end")
    return data


def _newest_first_key(backup: Backup) -> tuple[int, dt.datetime, int]:
    """Newest means the latest revision of the store, then the latest time: a clock set wrong (a backup
    dated 2030) must not make an old backup "the latest" that restore picks and rotation always keeps."""
    return backup.revision, backup.taken, _sequence(backup.id)


def _sequence(backup_id: str) -> int:
    return int(backup_id.split(".")[1]) if "." in backup_id else 1
