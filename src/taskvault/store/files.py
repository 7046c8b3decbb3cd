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


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISLNK, "a symbolic link"), (stat.S_ISREG, "a regular file"))


def kind_of(mode: int) -> str:
    """What a file of this st_mode is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "a file of an unknown kind")


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


def append_durably(fd: int, data: bytes, end: int) -> int:
    """Append ``data`` at ``end`` of an open file and fsync; return the new end.

    On failure the file is cut back to ``end`` so that no reader sees the partial or
    unconfirmed record, and the error is raised. The fsync is not retried.
    """
    os.lseek(fd, end, os.SEEK_SET)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        try:
            if os.fstat(fd).st_size != end:
                os.ftruncate(fd, end)
        except OSError:
            pass  # The torn tail is ignored by readers and cut by the next writer.
        raise
    return end + len(data)


def truncate(fd: int, end: int) -> None:
    """Cut an open file back to ``end`` bytes (the next fsync of that file makes it durable)."""
    os.ftruncate(fd, end)


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


def read_regular(path: Path) -> bytes | None:
    """Read a whole regular file without following a symlink; None if it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
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
