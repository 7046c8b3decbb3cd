"""The user's own files a command reads (import) and writes (export): read whole and bounded, written
through the store's atomic replace, never into the store's own directory."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import InputTooLarge, InvalidValue, SaveFailed, UsageError, shown, typed
from ..limits import MAX_IMPORT_BYTES
from ..service import STORE_FILE_NAMES


class UserFiles:
    """Reads and replaces files for one run. ``stdin``: standard input as bytes, where a command may read it
    (a one-shot command; not a script on standard input, nor the session, whose input is the commands)."""

    def __init__(self, store_directory: Path, replace: Callable[[Path, bytes], None], stdin: BinaryIO | None) -> None:
        self._store = store_directory
        self._replace = replace
        self._stdin = stdin

    def read(self, path: str) -> tuple[bytes, str]:
        """The whole of ``path`` (- for standard input) and the name messages give it; refused past MAX_IMPORT_BYTES."""
        if path == "-":
            if self._stdin is None:
                raise UsageError("import: standard input holds the commands here, not a file to import",
                                 hint="give the file's name instead of -")
            return _bounded(self._stdin, "standard input"), "standard input"
        try:
            with open(os.path.expanduser(path), "rb") as stream:  # (a directory: IsADirectoryError)
                if self._stdin is None and _same_file(stream.fileno(), 0):
                    raise UsageError(f"import: {shown(path)} is standard input, which holds the commands here",
                                     hint="give the name of a file")
                if os.fstat(stream.fileno()).st_size > MAX_IMPORT_BYTES:
                    _too_large(path)
                return _bounded(stream, path), path
        except OSError as exc:
            raise InvalidValue(f"cannot read {shown(path)}: {exc.strerror or exc}",
                               hint="check the file's name and that you may read it") from None

    def replace(self, path: str, data: bytes) -> str:
        """Replace the file at ``path`` with ``data``, whole or not at all; the path written. A name the store
        uses for its own files is refused: the export would stand in for one of them."""
        target = Path(os.path.expanduser(path))
        if path.endswith("/") or target.is_dir():
            raise UsageError(f"export: {shown(path)} is a directory", hint="give the name of a file to write")
        if target.exists() and not target.is_file():  # a device, a pipe, a socket: a rename would put a file there
            raise UsageError(f"export: {shown(path)} is not a regular file, and an export replaces the file it names",
                             hint="leave out --output to write to standard output, and redirect that where you want")
        real = Path(os.path.realpath(target))
        store = Path(os.path.realpath(self._store))
        if store in real.parents and (real.parent != store or _owned_by_store(real.name)):
            raise UsageError(f"export: {shown(path)} is one of the store's own files, or among them",
                             hint="give the export another name, or write it elsewhere")
        try:
            self._replace(real, data)
        except OSError as exc:
            raise SaveFailed(f"could not write {path}: {exc.strerror or exc} — nothing was written; a file "
                             "that was there is as it was", hint=_hint(exc)) from None
        return path


def _owned_by_store(name: str) -> bool:
    """One of the store's files, a temp file of one, or one kept aside (its subdirectories, backups/, are the
    store's too: refused by the caller)."""
    return any(name.lstrip(".").startswith(own) for own in STORE_FILE_NAMES)


def _same_file(fd: int, other: int) -> bool:
    try:
        mine, theirs = os.fstat(fd), os.fstat(other)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _too_large(name: str) -> None:
    raise InputTooLarge(f"import: {name} is larger than {MAX_IMPORT_BYTES >> 20} MiB, the most taskvault imports "
                        "at once", hint="split it into smaller files and import each")


def _bounded(stream: BinaryIO, name: str) -> bytes:
    data = stream.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        _too_large(name)
    return data


def _hint(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space on that disk, or write the export to another one"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "write it to a directory you may write to"
    if exc.errno == errno.ENOENT:
        return "the directory must exist: create it first"
    return f"see '{typed('doctor')}' if it goes on"
