"""Reading a script, from a file or standard input: streamed a line at a time, within fixed limits.

A line is run before the next one is read (so a long-lived pipe works), and no more than one line
(at most MAX_LINE_BYTES) is ever held: ``--script /dev/zero`` is refused at line 1, in bounded memory.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from ..errors import InputTooLarge, UsageError
from ..limits import MAX_LINE_BYTES, MAX_SCRIPT_BYTES
from ..service import kind_of
from .text import typed

BOM = b"\xef\xbb\xbf"
_CHUNK = 64 * 1024
#: A line ends at \n, \r\n or a lone \r, as with Python's universal newlines.
_END = re.compile(rb"\r\n?|\n")


def size_text(count: int) -> str:
    """A limit in bytes as the docs give it: ``64 MiB``, or ``131,072 bytes``."""
    return f"{count // 2**20} MiB" if count % 2**20 == 0 else f"{count:,} bytes"


def line_too_long() -> InputTooLarge:
    return InputTooLarge(f"the line is longer than {MAX_LINE_BYTES:,} bytes, the most a line may hold",
                         hint="split it into several commands")


def checked_line(text: str) -> str:
    """A line to run, from a script or the interactive session: within MAX_LINE_BYTES, and as typed.

    A script's lines arrive with undecodable bytes kept as lone surrogates: under an ASCII locale
    they are read as UTF-8 here, and bytes that are not UTF-8 are refused (see text.typed).
    """
    if len(text) > MAX_LINE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
        raise line_too_long()
    return typed(text, "utf-8", "the line", "save the script as UTF-8")


def _script_too_long() -> InputTooLarge:
    return InputTooLarge(f"the script goes on past {size_text(MAX_SCRIPT_BYTES)}, the most taskvault reads in one "
                         "run; the lines before this one ran, this one and those after it did not",
                         hint="split the script, and run the rest from this line on")


def script_lines(stream: BinaryIO, encoding: str, *, what: str, hint: str) -> Iterator[str]:
    """Each line of ``stream``, without its line ending, as soon as it has been read whole.

    Lines are decoded with ``encoding`` (UTF-8 when the stream starts with a UTF-8 byte-order
    mark, which is dropped), undecodable bytes kept as lone surrogates for the runner to judge.
    A line longer than MAX_LINE_BYTES, a script longer than MAX_SCRIPT_BYTES and a read that
    fails raise a UsageError (``what`` and ``hint`` describe the source); nothing follows it.
    """
    read = getattr(stream, "read1", stream.read)
    pending, start = b"", 0  # bytes read but not yet yielded begin at pending[start]
    consumed = 0
    at_end = False
    first = True
    while True:
        found = _END.search(pending, start)
        # A \r at the end of what was read so far may be the first half of \r\n: read on to know.
        if not at_end and (found is None or (found.end() == len(pending) and found.group() == b"\r")):
            if len(pending) - start > MAX_LINE_BYTES + 1:
                raise line_too_long()
            try:
                chunk = read(_CHUNK)
            except OSError as exc:
                raise UsageError(f"cannot read {what}: {exc.strerror or exc}", hint=hint) from None
            at_end = not chunk
            pending, start = pending[start:] + chunk, 0
            continue
        if found is None and start == len(pending):
            return
        end, after = (found.start(), found.end()) if found is not None else (len(pending), len(pending))
        if end - start > MAX_LINE_BYTES:
            raise line_too_long()
        consumed += after - start
        if consumed > MAX_SCRIPT_BYTES:
            raise _script_too_long()
        raw, start = pending[start:end], after
        if first:
            first = False
            if raw.startswith(BOM):
                raw, encoding = raw[len(BOM):], "utf-8"
        yield raw.decode(encoding, "surrogateescape")


def read_script(path: str) -> Iterator[str]:
    """The lines of the script file, read as UTF-8. The file is opened now: one that cannot be is refused
    before anything runs."""
    try:
        handle = os.fdopen(_open_script(path), "rb")  # (closed when the generator is)
    except OSError as exc:
        raise UsageError(f"cannot read the script {path}: {exc.strerror}",
                         hint="check the path given to --script") from None

    def lines() -> Iterator[str]:
        with handle:
            yield from script_lines(handle, "utf-8", what=f"the script {path}", hint="check the file")
    return lines()


class _TextAsBytes:
    """A text stream read as UTF-8 bytes, for the script reader (standard input replaced by text, in tests)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def read(self, size: int) -> bytes:
        return self._stream.read(size).encode("utf-8", "surrogateescape")


def lines_of_stdin(stream: TextIO) -> Iterator[str]:
    """The script's lines from standard input, in its encoding; a failing read is a usage error."""
    hint = "give taskvault a command, a file of commands with --script, or a readable stdin"
    binary = getattr(stream, "buffer", None)
    if binary is None:
        return script_lines(_TextAsBytes(stream), "utf-8", what="commands from standard input",  # type: ignore[arg-type]
                            hint=hint)
    return script_lines(binary, stream.encoding or "utf-8", what="commands from standard input", hint=hint)


def _open_script(path: str) -> int:
    """Open the file of commands given to --script, following links: the path is the user's own.

    A regular file, a terminal, ``/dev/null`` or a pipe: a named pipe is waited on as ``cat``
    would (someone named it, so a writer is coming; ``--script <(…)`` is one). Nothing else: a
    directory, or a device that never ends (``/dev/zero``), is refused rather than read for ever.
    """
    waits = stat.S_ISFIFO(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC | (0 if waits else os.O_NONBLOCK))
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        device = stat.S_ISCHR(mode) and (os.isatty(fd) or info.st_rdev == os.stat(os.devnull).st_rdev)
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or device):
            raise OSError(errno.EINVAL, f"it is {kind_of(mode)}, not a file of commands")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
