"""The one form a moment in time is written in: UTC, to the microsecond, ending in Z.

The store writes every timestamp this way, and anything that shows a stored moment to a
program (``--json``) writes it the same way, so that the two can never drift apart.
"""

from __future__ import annotations

import datetime as dt
import re

#: A timestamp as the store writes it, and the only form it reads back: 2026-01-31T12:00:00.000000Z.
TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

_UTC = dt.UTC


def format_timestamp(value: dt.datetime) -> str:
    """``value`` in UTC, with all six digits of its fraction even when they are zero."""
    if value.tzinfo is not _UTC:  # the domain holds UTC already: converting again would only cost time
        value = value.astimezone(_UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_timestamp(text: str) -> dt.datetime:
    """The moment a string of exactly TIMESTAMP_PATTERN's form names; ValueError for any other string."""
    if not TIMESTAMP_PATTERN.match(text):
        raise ValueError(f"expected a timestamp like 2026-01-31T12:00:00.000000Z, got {text!r:.40}")
    return dt.datetime.fromisoformat(text)  # the pattern above already pinned the exact form
