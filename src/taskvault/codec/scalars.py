"""The smallest pieces of the on-disk format: errors that say where, exact JSON values, bytes to JSON.

Conversion is strict everywhere in the codec: no silent coercion ("3" is not 3, true is not 1).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ..domain.timestamps import parse_timestamp

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FormatError(ValueError):
    """A document does not have the shape this schema requires; ``path`` says where."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} @ {path}" if path else message)
        self.path = path


class TooNewError(FormatError):
    """A document declares a schema newer than this version knows."""


def expect(kind: type, value: Any, what: str) -> Any:
    """``value`` if it is exactly of type ``kind``; TypeError naming ``what`` was expected otherwise."""
    # bool is an int in Python; a store that says true where a number belongs is damaged.
    if type(value) is not kind:
        raise TypeError(f"expected {what}, got {type(value).__name__} {value!r:.40}")
    return value


def structure_timestamp(value: Any, _: type) -> dt.datetime:
    return parse_timestamp(expect(str, value, "a UTC timestamp string"))


def is_date(text: str) -> bool:
    """True if ``text`` has the form of a stored date (whether the day exists is for fromisoformat)."""
    return _DATE.match(text) is not None


def structure_date(value: Any, _: type) -> dt.date:
    text = expect(str, value, "a date string")
    if not is_date(text):
        raise ValueError(f"expected a date like 2026-01-31, got {text!r:.40}")
    return dt.date.fromisoformat(text)


def structure_tags(value: Any, _: type) -> tuple[str, ...]:
    return tuple(expect(str, tag, "a tag string") for tag in expect(list, value, "a list of tags"))


def dumps(obj: Any) -> str:
    """Compact JSON, with text as itself rather than escaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def loads(data: bytes, what: str) -> Any:
    """Decode the JSON in ``data``, or raise FormatError saying what is wrong with ``what``."""
    if not data.strip():
        raise FormatError(f"{what} is empty", "")
    if not data.strip(b"\0"):
        raise FormatError(f"{what} holds only zero bytes, as a disk can leave a file after a crash", "")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not valid UTF-8 (byte {exc.start})", "") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")
        raise FormatError(f"{what} is not valid JSON: {reason} at line {exc.lineno} column {exc.colno}", "") from None
    except RecursionError:
        raise FormatError(f"{what} is nested too deeply to be a taskvault file", "") from None
    except ValueError as exc:  # a number of more than 4,300 digits: no taskvault file holds one
        raise FormatError(f"{what} holds a number too long to be a taskvault value ({str(exc)[:60]})", "") from None
