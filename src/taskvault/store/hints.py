"""What a user can do about an OSError that stopped a save."""

from __future__ import annotations

import errno

SAVE_HINTS = {
    errno.ENOSPC: "free some disk space and try again",
    errno.EDQUOT: "you are over your disk quota; free some space and try again",
    errno.EACCES: "check that you own the data directory and its files and can write to them",
    errno.EPERM: "check that you own the data directory and its files and can write to them",
    errno.EROFS: "the file system is mounted read-only; remount it read-write or use --data-dir",
    errno.EIO: "the disk reported an I/O error; check it, and copy your data directory somewhere safe",
}


def hint_for(exc: OSError) -> str | None:
    return SAVE_HINTS.get(exc.errno or 0)
