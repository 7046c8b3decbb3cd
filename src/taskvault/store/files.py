"""The only code that writes store files: whole-file atomic replace and durable append.

Every function raises OSError and leaves no temp file behind; callers translate. A
failed fsync is never retried: the data it covered is treated as lost.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_MARK = ".tmp-"


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}")


def is_temp_of(name: str, target: Path) -> bool:
    return name.startswith(f".{target.name}{TEMP_MARK}")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, looping over short writes; a write that makes no progress is ENOSPC."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (a rename, a new file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data``: exclusive 0600 temp file, write, fsync, rename, fsync dir.

    Before the rename, any failure removes the temp file and leaves ``target`` untouched.
    After it, a failed directory fsync raises too: the new content is then what every reader
    sees, but a power loss may bring the old one back. Callers must allow for both.
    """
    temp = temp_name(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        _remove_quietly(temp)
        raise
    fsync_directory(target.parent)


class UndoFailed(OSError):
    """A durable append failed, and so did every way of taking it back: the file's content is not known.

    ``cause`` is the first failure, ``undo`` the failure that stopped the undoing.
    """

    def __init__(self, cause: OSError, undo: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.cause = cause
        self.undo = undo


def append_durably(fd: int, data: bytes, end: int, void_mark: bytes) -> int:
    """Append ``data`` at ``end`` of an open file and fsync; return the new end.

    On failure the record is taken back before the error is raised, so that no reader, now or
    after a power loss, applies a change reported as failed. The failed fsync is not retried
    (what it covered is treated as lost); instead the record's first bytes are overwritten with
    ``void_mark`` and that is fsynced, then the file is cut back to ``end`` (both ends are
    valid, so the cut needs no fsync). If the mark cannot be made durable, a cut that is
    fsynced will do. If neither can, UndoFailed is raised: the record may be on disk or not.
    """
    os.lseek(fd, end, os.SEEK_SET)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException as exc:
        undo = take_back(fd, end, void_mark)
        if undo is not None and isinstance(exc, OSError):
            raise UndoFailed(exc, undo) from exc
        if undo is not None:  # interrupted (signals are deferred around saves, so this is a bug's path)
            raise UndoFailed(OSError(errno.EINTR, os.strerror(errno.EINTR)), undo) from exc
        raise
    return end + len(data)


def take_back(fd: int, end: int, void_mark: bytes) -> OSError | None:
    """Make sure what was written from ``end`` on can never be read as a record; the error if that failed."""
    try:
        if os.fstat(fd).st_size <= end:
            return None  # nothing reached the file
        os.pwrite(fd, void_mark, end)
        os.fsync(fd)
    except OSError as void_error:
        try:
            os.ftruncate(fd, end)
            os.fsync(fd)
        except OSError:
            return void_error
        return None
    try:
        os.ftruncate(fd, end)  # tidy: the voided line is harmless if this never reaches the disk
    except OSError:
        pass
    return None


def write_mark(fd: int, mark: bytes, *, durably: bool = False) -> None:
    """Overwrite the first bytes of an open file with ``mark``; fsync it only if asked."""
    if os.pwrite(fd, mark, 0) != len(mark):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if durably:
        os.fsync(fd)


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file, without following a link or blocking; b"" if it is missing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def truncate(fd: int, end: int, *, durably: bool = False) -> None:
    """Cut an open file back to ``end`` bytes; unless ``durably``, the next fsync of that file makes it durable."""
    os.ftruncate(fd, end)
    if durably:
        os.fsync(fd)


def ensure_private_directory(directory: Path) -> list[Path]:
    """Create the directory with mode 0700 if it is missing; return the directories created.

    Their entries are not durable yet: fsync each one's parent before relying on them.
    """
    created = []
    path = directory
    while not os.path.lexists(path) and path != path.parent:
        created.append(path)
        path = path.parent
    if created:
        try:
            os.makedirs(directory, mode=DIR_MODE)
        except FileExistsError:
            pass  # another process created it meanwhile
        os.chmod(directory, DIR_MODE)  # makedirs' mode is filtered by the umask
    return created[::-1]


def read_regular(path: Path, *, limit: int | None = None) -> bytes | None:
    """Read a whole regular file without following a symlink; None if it does not exist.

    A file of more than ``limit`` bytes raises EFBIG before any of it is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        if limit is not None and info.st_size > limit:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        chunks = []
        left = limit + 1 if limit is not None else -1
        while left and (chunk := os.read(fd, 1 << 20 if left < 0 else min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk) if left > 0 else 0
        data = b"".join(chunks)
        if limit is not None and len(data) > limit:  # it grew while being read
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        return data
    finally:
        os.close(fd)


def remove_temp_files(directory: Path, targets: list[Path]) -> list[str]:
    """Remove leftover temp files of crashed saves; call only while holding the store lock."""
    removed = []
    for entry in os.scandir(directory):
        if any(is_temp_of(entry.name, t) for t in targets) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_durably(path: Path) -> None:
    """Remove a file and make its removal durable."""
    os.unlink(path)
    fsync_directory(path.parent)


def keep_aside(path: Path, aside: Path) -> None:
    """Give ``path`` a second name ``aside`` (a hard link), durably; ``path`` itself is untouched."""
    os.link(path, aside, follow_symlinks=False)
    fsync_directory(aside.parent)


def make_private_directory(directory: Path) -> None:
    """Create one private directory inside an existing one, durably (nothing if it exists)."""
    try:
        os.mkdir(directory, DIR_MODE)
    except FileExistsError:
        return
    os.chmod(directory, DIR_MODE)
    fsync_directory(directory.parent)
