"""Text at the terminal: read as the user typed it, and shown so that it cannot hide or reorder text."""

from __future__ import annotations

import re

from ..errors import InvalidValue, shown

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from typing import TextIO

#: The colour codes Style adds: the only escape sequences let through to the terminal.
_COLOUR = re.compile(r"(\x1b\[[0-9;]*m)")
_LINE_LAYOUT = re.compile("[\n\t]")
#: Control (Cc), format (Cf: bidirectional overrides, zero-width characters), surrogate (Cs) and
#: line and paragraph separator (Zl, Zp) characters: each can hide, reorder or restyle text.
_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def say(err: TextIO, text: str) -> None:
    """One line on standard error. If even that cannot be written there is no one left to tell."""
    try:
        err.write(text + "\n")
        err.flush()
    except (OSError, ValueError):
        pass


def typed(text: str, encoding: str, what: str, hint: str) -> str:
    """``text`` as the user typed it, from what Python decoded with ``encoding`` and surrogateescape.

    Under an ASCII locale (LC_ALL=C without Python's UTF-8 mode) every non-ASCII byte becomes a
    lone surrogate: the bytes are read again as UTF-8. Bytes that are not UTF-8 are refused.
    """
    try:  # lone surrogates (what Python makes of bytes it could not decode) are what UTF-8 cannot encode
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode(encoding, "surrogateescape")
        return raw.decode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{what} is not valid text", hint=hint) from None
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8", "replace")[-20:]
        where = f"after {shown(before)}" if before else "at its start"
        raise InvalidValue(f"{what} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} {where})", hint=hint) from None


def typed_arguments(words: list[str]) -> list[str]:
    """The command's words as typed (see typed()): Python decoded them with the file system encoding."""
    import sys

    encoding = sys.getfilesystemencoding()
    return [typed(word, encoding, f"word {number} of the command", "type it in UTF-8, or use a UTF-8 locale such "
                  "as LANG=C.UTF-8") for number, word in enumerate(words, 1)]


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_unsafe(text: str, keep: str) -> str:
    import unicodedata  # only text that is not plainly printable pays for it

    return "".join(_escape(ch) if ch not in keep and unicodedata.category(ch) in _UNSAFE else ch for ch in text)


def terminal_safe(text: str, *, lines: bool = False) -> str:
    """``text`` with every control, format or separator character written as an escape (``\\u202e``).

    With ``lines``, newlines and tabs are kept (the layout of a table or a note); the colour codes
    Style adds are always kept. Everything else that could move the cursor, reorder the text around
    it (right-to-left overrides) or hide it (zero-width characters) is shown, never obeyed.
    """
    if text.isprintable() or (lines and text.replace("\n", "").replace("\t", "").isprintable()):
        return text  # the common cases, at C speed (printable once the lines' layout is left out: no colour either)
    keep = "\n\t" if lines else ""
    pieces = _COLOUR.split(text)
    for index in range(0, len(pieces), 2):  # the text between colour codes
        piece = pieces[index]
        parts = _LINE_LAYOUT.split(piece) if lines else [piece]
        if not all(part.isprintable() for part in parts):
            pieces[index] = _escape_unsafe(piece, keep)
    return "".join(pieces)


def ascii_json(text: str) -> str:
    """JSON text with every non-ASCII character as a \\u escape: the same document, for an output
    whose encoding cannot hold every character (a latin-1 locale)."""
    if text.isascii():
        return text
    import json

    return re.sub(r"[^\x00-\x7f]", lambda match: json.dumps(match.group())[1:-1], text)


def one_line(text: str) -> str:
    """``text`` with every character a terminal would not show as itself escaped (``\\n``, ``\\x1b``, ...).

    Messages name files, and a file name may hold a newline or an escape sequence: shown raw, it
    would split the one error line in two, or forge a line of its own.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def bounded(text: str) -> str:
    """A message of at most MAX_MESSAGE_CHARS: the last guard for one that quotes too much."""
    from ..limits import MAX_MESSAGE_CHARS

    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    half = (MAX_MESSAGE_CHARS - 1) // 2  # the middle goes (a long path), its start and its reason stay
    return text[:half] + "…" + text[-(MAX_MESSAGE_CHARS - 1 - half):]
