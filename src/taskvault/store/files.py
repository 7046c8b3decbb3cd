"""The only code that writes store files: whole-file atomic replace and durable append.

Every function raises OSError and leaves no temp file behind; callers translate. A
failed fsync is never retried: the data it covered is treated as lost.

Nothing is opened through a symbolic link, and nothing is opened in a way that could wait: a
named pipe or a device where a store file should be is refused, checked on the open descriptor.
Functions that take ``dir_fd`` resolve a single name against a directory held open by
descriptor, so no link swapped into the path can lead them outside that directory.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_MARK = ".tmp-"


class NotRegularFile(OSError):
    """An entry that is not a regular file (a directory, a named pipe, a device, a socket) was not read."""

    def __init__(self, path: Path | str, mode: int) -> None:
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        super().__init__(code, f"it is {kind_of(mode)}, not a regular file", str(path))


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


def fsync_directory(directory: Path, *, dir_fd: int | None = None) -> None:
    """Make the directory's entries (a rename, a new file) durable; with ``dir_fd``, that directory's."""
    if dir_fd is not None:
        os.fsync(dir_fd)
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(target: Path, data: bytes, *, dir_fd: int | None = None) -> None:
    """Replace ``target`` with ``data``: exclusive 0600 temp file, write, fsync, rename, fsync dir.

    Before the rename, any failure removes the temp file and leaves ``target`` untouched.
    After it, a failed directory fsync raises too: the new content is then what every reader
    sees, but a power loss may bring the old one back. Callers must allow for both. With
    ``dir_fd``, ``target`` is a name in that directory.
    """
    install_temp(write_temp(target, data, dir_fd=dir_fd), target, dir_fd=dir_fd)


def write_temp(target: Path, data: bytes, *, dir_fd: int | None = None) -> Path:
    """Write ``data`` to a new exclusive 0600 temp file beside ``target`` and fsync it; return its path.

    Nothing is renamed: ``install_temp`` puts it in place later (or the caller removes it). With
    ``dir_fd``, ``target`` and the temp file returned are names in that directory.
    """
    temp = temp_name(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE, dir_fd=dir_fd)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _remove_quietly(temp, dir_fd)
        raise
    return temp


def install_temp(temp: Path, target: Path, *, dir_fd: int | None = None) -> None:
    """Rename a temp file written by ``write_temp`` over ``target``, and fsync the directory (see atomic_replace).

    A failed rename removes the temp file; ``dir_fd`` is the one given to ``write_temp``.
    """
    try:
        if dir_fd is None:
            os.replace(temp, target)
        else:
            os.replace(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _remove_quietly(temp, dir_fd)
        raise
    fsync_directory(target.parent, dir_fd=dir_fd)


def remove_temp(temp: Path, *, dir_fd: int | None = None) -> None:
    """Remove a temp file that will not be put in place (quietly: it may be gone already)."""
    _remove_quietly(temp, dir_fd)


class UndoFailed(OSError):
    """A durable append failed, and so did every way of taking it back: the file's content is not known.

    ``cause`` is the first failure, ``undo`` the failure that stopped the undoing.
    """

    def __init__(self, cause: OSError, undo: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.cause = cause
        self.undo = undo


def append_durably(fd: int, data: bytes, end: int, void_mark: bytes,
                   before_take_back: Callable[[], object] = lambda: None) -> int:
    """Append ``data`` at ``end`` of an open file and fsync; return the new end.

    On failure the record is taken back before the error is raised, so that no reader, now or
    after a power loss, applies a change reported as failed. The failed fsync is not retried
    (what it covered is treated as lost); instead the record's first bytes are overwritten with
    ``void_mark`` and that is fsynced, then the file is cut back to ``end`` (both ends are
    valid, so the cut needs no fsync). If the mark cannot be made durable, a cut that is
    fsynced will do. If neither can, UndoFailed is raised: the record may be on disk or not.

    ``before_take_back`` runs first: a power cut can tear the void mark itself, so the caller
    makes sure beforehand that no reader will read what lies from ``end`` on.
    """
    os.lseek(fd, end, os.SEEK_SET)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException as exc:
        before_take_back()
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
    """Overwrite the first bytes of an open file with ``mark``; make it durable only if asked.

    fdatasync is enough for that: it flushes the bytes and the file's size, all a reader needs.
    """
    if os.pwrite(fd, mark, 0) != len(mark):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if durably:
        os.fdatasync(fd)


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file (see open_regular); b"" if it is missing."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return b""
    try:
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def truncate(fd: int, end: int, *, durably: bool = False) -> None:
    """Cut an open file back to ``end`` bytes; unless ``durably``, the next fsync of that file makes it durable."""
    os.ftruncate(fd, end)
    if durably:
        os.fsync(fd)


def ensure_private_directory(directory: Path) -> list[Path]:
    """Create the directory, and each missing parent, with mode 0700; return the directories created.

    Every one is private whatever the umask: a parent left 0777 would let another user move the
    store away or plant a link in its place. Their entries are not durable yet: fsync each one's
    parent before relying on them.
    """
    created = []
    path = directory
    while not os.path.lexists(path) and path != path.parent:
        created.append(path)
        path = path.parent
    for missing in reversed(created):
        try:
            os.mkdir(missing, DIR_MODE)
        except FileExistsError:
            continue  # another process created it meanwhile; it is theirs to set up
        os.chmod(missing, DIR_MODE)  # mkdir's mode is filtered by the umask
    return created[::-1]


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = FILE_MODE, *,
                 dir_fd: int | None = None) -> int:
    """Open a regular file without following a symbolic link and without waiting.

    A named pipe would block the open (or the first read) for ever, and a device is not a file of
    ours: both are refused with NotRegularFile, checked with fstat on the descriptor itself, so
    nothing swapped in after a check can slip through. A symbolic link raises OSError(ELOOP).
    The descriptor returned is in blocking mode again.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # opened for writing, a named pipe no one reads says "no such device"
            info = os.lstat(path, dir_fd=dir_fd)
            if not stat.S_ISREG(info.st_mode):
                raise NotRegularFile(path, info.st_mode) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, info.st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path | str, *, dir_fd: int | None = None, limit: int | None = None) -> bytes | None:
    """Read a whole regular file (see open_regular); None if it does not exist.

    A file of more than ``limit`` bytes raises EFBIG before any of it is read.
    """
    try:
        fd = open_regular(path, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    try:
        if limit is not None and os.fstat(fd).st_size > limit:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        # The size it has now, read in one call, is one allocation of the file's size (no chunks to join
        # into a second copy); the loop below reads on only if it grew meanwhile.
        chunks = [os.read(fd, os.fstat(fd).st_size + 1)]
        left = limit + 1 - len(chunks[0]) if limit is not None else -1
        while chunks[-1] and left and (chunk := os.read(fd, 1 << 20 if left < 0 else min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk) if left > 0 else 0
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if limit is not None and len(data) > limit:  # it grew while being read
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        return data
    finally:
        os.close(fd)


def open_directory(path: Path | str, *, dir_fd: int | None = None, follow: bool = True) -> int:
    """Open a directory to resolve names against; with ``follow=False``, never through a link.

    Anything but a directory fails with NotADirectoryError, without opening it (so a named pipe
    cannot make this wait); so does a link when ``follow`` is False.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    return os.open(path, flags, dir_fd=dir_fd)


def open_private_subdirectory(name: str, parent_fd: int, *, create: bool) -> int:
    """Open the directory ``name`` in ``parent_fd`` (never through a link), first making it, 0700 and
    durably, if ``create`` and it is missing. Raises FileNotFoundError if it is missing otherwise."""
    try:
        return open_directory(name, dir_fd=parent_fd, follow=False)
    except FileNotFoundError:
        if not create:
            raise
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent_fd)
    except FileExistsError:
        return open_directory(name, dir_fd=parent_fd, follow=False)  # another process made it meanwhile
    fd = open_directory(name, dir_fd=parent_fd, follow=False)
    try:
        os.fchmod(fd, DIR_MODE)  # mkdir's mode is filtered by the umask
        os.fsync(parent_fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_temp_files(directory: Path, targets: list[Path]) -> list[str]:
    """Remove leftover temp files of crashed saves; call only while holding the store lock."""
    removed = []
    for entry in os.scandir(directory):
        if any(is_temp_of(entry.name, t) for t in targets) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _remove_quietly(path: Path, dir_fd: int | None = None) -> None:
    try:
        os.unlink(path, dir_fd=dir_fd)
    except OSError:
        pass


def remove_stale_locks(directory: Path, parts: tuple[str, ...]) -> None:
    """Remove every ``*.lock`` file in ``directory`` and below its subfolders ``parts`` (no link followed): the
    lock files of a git that was killed, in a repository where, under the caller's lock, no other git runs."""
    try:
        found = [Path(entry.path) for entry in os.scandir(directory) if entry.is_file(follow_symlinks=False)]
    except OSError:
        found = []
    for part in parts:
        for root, _dirs, names in os.walk(directory / part):  # (os.walk enters no link to a folder)
            found += [Path(root, name) for name in names]
    for path in found:
        if path.name.endswith(".lock") and not path.is_symlink():
            _remove_quietly(path)


def remove_durably(path: Path, *, dir_fd: int | None = None) -> None:
    """Remove a file (a link itself, never what it points to) and make its removal durable."""
    os.unlink(path, dir_fd=dir_fd)
    fsync_directory(path.parent, dir_fd=dir_fd)


def link_durably(source: Path, target: Path, *, dir_fd: int) -> None:
    """Give the file ``source`` in ``dir_fd`` the second name ``target`` there (never through a link), durably."""
    os.link(source, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    try:
        fsync_directory(target.parent, dir_fd=dir_fd)
    except BaseException:
        _remove_quietly(target, dir_fd)
        raise


def keep_aside(pairs: list[tuple[Path, Path]]) -> None:
    """Give each ``path`` a second name ``aside`` (a hard link), all durable at once; the paths are untouched.

    The names must all be in one directory: one fsync of it makes every new name durable.
    """
    for path, aside in pairs:
        os.link(path, aside, follow_symlinks=False)
    if pairs:
        fsync_directory(pairs[0][1].parent)
