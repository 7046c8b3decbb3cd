"""Reading due dates the way people type them."""

from __future__ import annotations

import datetime as dt
import re

from ..errors import InvalidValue, shown
from .vocabulary import DATE_FORMS

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RELATIVE = re.compile(r"^\+(\d{1,4})([dw])$")

__all__ = ["DATE_FORMS", "parse_date"]


def parse_date(text: str, *, today: dt.date) -> dt.date:
    """Parse an absolute or relative date; raise InvalidValue naming the accepted forms."""
    word = text.strip().casefold()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + dt.timedelta(days=1)
    if word == "yesterday":
        return today - dt.timedelta(days=1)
    if len(word) >= 3:
        for index, name in enumerate(_WEEKDAYS):
            if name.startswith(word):
                ahead = (index - today.weekday() - 1) % 7 + 1
                return today + dt.timedelta(days=ahead)
    relative = _RELATIVE.match(word)
    if relative:
        count, unit = int(relative.group(1)), relative.group(2)
        return today + dt.timedelta(days=count * (7 if unit == "w" else 1))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return dt.date.fromisoformat(word)
        except ValueError:
            pass
    raise InvalidValue(f"{shown(text)} is not a date", hint=f"use {DATE_FORMS}")
