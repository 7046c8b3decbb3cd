"""Recurrence periods: reading them as typed, and the due dates of a series' instances.

A series is anchored on its first due date: its n-th instance is computed from that day, never from
the instance before, so a monthly series begun on Jan 31 is due Jan 31, Feb 28, Mar 31, Apr 30 …
and does not drift to the 28th.
"""

from __future__ import annotations

import datetime as dt
import re

from ..errors import InvalidValue, shown
from .dates import shifted, unit_of

__all__ = ["PERIOD_FORMS", "PERIOD_PATTERN", "next_due", "normalize_period", "nth_due"]

#: Every period normalize_period returns matches this (and the task model checks stored ones with it).
PERIOD_PATTERN = r"(?:daily|weekdays|weekly|biweekly|monthly|quarterly|yearly|[1-9][0-9]{0,2}[dwmqy])"
#: The forms a period may be typed in, for hints.
PERIOD_FORMS = ("daily, weekdays, weekly, biweekly (or fortnight), monthly, quarterly, yearly (or annual), "
                "or a count from 1 to 999 and d, w, m, q or y (3d, 2w, 6m)")
MAX_PERIOD_CHARS = 40
MAX_PERIOD_COUNT = 999

_WORDS = {
    "daily": "daily", "weekdays": "weekdays", "weekly": "weekly", "biweekly": "biweekly",
    "fortnight": "biweekly", "fortnightly": "biweekly", "monthly": "monthly", "quarterly": "quarterly",
    "yearly": "yearly", "annual": "yearly", "annually": "yearly",
}
#: Each named period (but weekdays) as a count of a unit; a count form equal to one of these is
#: written as the word, so that each period has one spelling.
_STEPS = {"daily": (1, "d"), "weekly": (1, "w"), "biweekly": (2, "w"), "monthly": (1, "m"),
          "quarterly": (1, "q"), "yearly": (1, "y")}
_NAME_OF = {step: name for name, step in _STEPS.items()}
_COUNTED = re.compile(r"([0-9]+) ?([a-z]+)")


def normalize_period(text: str) -> str:
    """The canonical form of a period as typed (``Fortnight`` → ``biweekly``, ``3 days`` → ``3d``,
    ``1w`` → ``weekly``); raise InvalidValue naming the accepted forms."""
    word = " ".join(text.lower().split()) if len(text) <= MAX_PERIOD_CHARS and text.isascii() else ""
    if word in _WORDS:
        return _WORDS[word]
    counted = _COUNTED.fullmatch(word)
    unit = unit_of(counted.group(2)) if counted else None
    if counted and unit is not None:
        count = int(counted.group(1))
        if not 1 <= count <= MAX_PERIOD_COUNT:
            raise InvalidValue(f"{shown(text)} is not a recurrence period: the count is from 1 to {MAX_PERIOD_COUNT}",
                               hint=f"use {PERIOD_FORMS}")
        return _NAME_OF.get((count, unit), f"{count}{unit}")
    raise InvalidValue(f"{shown(text)} is not a recurrence period", hint=f"use {PERIOD_FORMS}")


def nth_due(period: str, first_due: dt.date, n: int) -> dt.date:
    """The due date of a series' ``n``-th instance (the first is ``first_due``), counted from
    ``first_due`` so that month ends do not drift; InvalidValue past 9999-12-31."""
    if n < 1:
        raise ValueError(f"instances are counted from 1, not {n}")
    canonical = normalize_period(period)
    if canonical == "weekdays":
        result = _weekdays_after(first_due, n - 1)
    else:
        count, unit = _STEPS.get(canonical) or (int(canonical[:-1]), canonical[-1])
        result = shifted(first_due, count * (n - 1), unit)
    if result is None:
        raise InvalidValue(f"instance {n:,} of a {canonical} series from {first_due.isoformat()} would be due after "
                           "9999-12-31, the end of the calendar", hint="give the series an end (until) before then")
    return result


def next_due(period: str, due: dt.date) -> dt.date:
    """The due date of the instance after one due on ``due``. For a series, prefer nth_due from its
    first due date: a month end cut short (Feb 28) stays short here."""
    return nth_due(period, due, 2)


def _weekdays_after(day: dt.date, count: int) -> dt.date | None:
    """The ``count``-th Monday-to-Friday day after ``day`` (``day`` itself when count is 0), or None
    past the calendar's end."""
    if count == 0:
        return day
    weekday = day.weekday()
    if weekday >= 5:  # from a weekend, the first weekday after is Monday
        day, weekday, count = day + dt.timedelta(days=7 - weekday), 0, count - 1
        # 9999-12-31 is a Friday, so the Monday after a weekend day is always in the calendar.
    weeks, rest = divmod(count, 5)
    days = weeks * 7 + rest + (2 if weekday + rest >= 5 else 0)
    return shifted(day, days, "d")
