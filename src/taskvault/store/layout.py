"""Where taskvault keeps things, and the one safety rule every directory of it must pass.

The rule (ssh's, for its own directory): a real directory, owned by you (or root), that neither
its group nor other users can write to. Anyone who can write to a directory can rename the
files in it away and put a link or a file of their own in their place. The store, ``backups/``
and the directory of the crash log and history are all checked with it, by the program and by
``taskvault doctor`` alike.

The data directory's own path is the user's choice and is followed, links included (a data
directory may well live elsewhere, ``~/.local/share/taskvault -> /data/tasks``). Nothing inside
it is: store files, ``backups/`` and the backups themselves are never used through a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import StorageError, StoreUnsafe
from . import files

SNAPSHOT_NAME = "tasks.json"
JOURNAL_NAME = "tasks.journal"
LOCK_NAME = "tasks.lock"
BACKUPS_NAME = "backups"

_DATA_ELSEWHERE = "give --data-dir (or TASKVAULT_DATA_DIR) a directory of your own"


def quoted(path: Path | str) -> str:
    """``path`` as it must be typed in a shell command of a hint."""
    import shlex  # (a hint's alone)

    return shlex.quote(str(path))


def move_aside_hint(path: Path, then: str) -> str:
    """The exact command that moves ``path`` out of the way, and what happens next."""
    return f"move it aside with: mv {quoted(path)} {quoted(str(path) + '.aside')}; {then}"


def directory_problem(path: Path, info: os.stat_result, *, what: str, elsewhere: str) -> StorageError | None:
    """What breaks the directory rule, with the fix, for the (l)stat of ``path``; None if nothing does.

    ``what`` names the directory ("data directory"); ``elsewhere`` is the hint when the only fix is
    another directory (a link, a file, or a directory of someone else's in its place).
    """
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return StoreUnsafe(f"the {what} {path} is a symbolic link; taskvault does not follow links inside its "
                           "data directory", hint=elsewhere)
    if not stat.S_ISDIR(mode):
        return StorageError(f"the {what} {path} is not a directory (it is {files.kind_of(mode)})", hint=elsewhere)
    if info.st_uid not in (os.geteuid(), 0):
        return StoreUnsafe(f"the {what} {path} belongs to another user (uid {info.st_uid})", hint=elsewhere)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "other users" if mode & stat.S_IWOTH else "its group"
        return StoreUnsafe(f"the {what} {path} is writable by {who} (mode {stat.S_IMODE(mode):o})",
                           hint=f"run: chmod go-w {quoted(path)}")
    return None


def check_data_directory(directory: Path) -> bool:
    """Raise what is wrong with the data directory, if anything; return whether it exists."""
    return checked_data_directory(directory) is not None


def checked_data_directory(directory: Path) -> os.stat_result | None:
    """Raise what is wrong with the data directory, if anything; return its stat, or None if it does not exist."""
    try:
        info = os.stat(directory)  # the path the user gave is followed, links included
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot use the data directory {directory}: {exc.strerror}",
                           hint="check the path given by --data-dir or TASKVAULT_DATA_DIR") from None
    problem = directory_problem(directory, info, what="data directory", elsewhere=_DATA_ELSEWHERE)
    if problem is not None:
        raise problem
    return info


def open_private_file(path: Path, flags: int, *, what: str) -> int:
    """Open one of taskvault's own files outside the store (the crash log, the command history).

    Its directory is made 0700 (with any missing parents) and must pass the directory rule, so no
    one else can swap the file for a link later; the file must be a regular file, created 0600,
    never a link, and opening it never waits (see files.open_regular). Raises OSError, or a
    StorageError naming the problem.
    """
    directory = path.parent
    files.ensure_private_directory(directory)
    problem = directory_problem(directory, os.lstat(directory), what=what,
                                elsewhere=move_aside_hint(directory, "taskvault makes a private one"))
    if problem is not None:
        raise problem
    return files.open_regular(path, flags)
