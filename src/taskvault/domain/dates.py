"""Reading due dates the way people type them: calendar days, never times of day.

The named forms follow Taskwarrior's date synonyms (https://taskwarrior.org/docs/dates/ and
https://taskwarrior.org/docs/named_dates/), read as days: ``eow`` is this week's Sunday, ``sow``
the start of the next week (Monday; weeks run Monday to Sunday), ``eom`` the last day of this
month, ``som`` the first of the next, and so for quarters and years; ``someday`` is 9999-12-30.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from ..errors import InvalidValue, shown
from .vocabulary import DATE_FORMS

__all__ = ["DATE_FORMS", "MAX_COUNT", "MAX_DATE_CHARS", "SOMEDAY", "parse_date", "shifted", "unit_of"]

#: The longest date text read: nothing longer is a date, and no input makes parsing slow.
MAX_DATE_CHARS = 40
#: The largest count an offset takes (``+9999d``); beyond it nothing is meant.
MAX_COUNT = 9999
#: What ``later`` and ``someday`` mean, as Taskwarrior has it: a day far away, still in the calendar.
SOMEDAY = dt.date(9999, 12, 30)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Unit words to the one letter each stands for: d, w, m (months: the model has no minutes), q, y.
_UNITS = {
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),
    **dict.fromkeys(("m", "mo", "mos", "month", "months"), "m"),
    **dict.fromkeys(("q", "qtr", "qtrs", "quarter", "quarters"), "q"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "y"),
}
_MONTHS_IN = {"m": 1, "q": 3, "y": 12}
_FIRST, _LAST = dt.date.min.toordinal(), dt.date.max.toordinal()

# [0-9], not \d: Python's \d also matches other scripts' digits.
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMED = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:t| )[0-9]{1,2}(?::[0-9]{2}){0,2}(?:\.[0-9]+)?"
                    r"(?: ?[ap]m)?(?:z|[+-][0-9]{2}(?::?[0-9]{2})?)?")
_OFFSET = re.compile(r"([+-]?) ?([0-9]+) ?([a-z]+)")
_ARITHMETIC = re.compile(r"(.+?) ?([+-]) ?([0-9]+) ?([a-z]+)")
_NEXT_LAST = re.compile(r"(next|last) ([a-z]+)")


class _OffCalendar(Exception):
    """A form was recognised but its day falls before 0001-01-01 or after 9999-12-31."""


def unit_of(word: str) -> str | None:
    """The unit letter (d, w, m, q, y) a word such as ``weeks`` or ``mo`` names, or None."""
    return _UNITS.get(word)


def shifted(day: dt.date, count: int, unit: str) -> dt.date | None:
    """``day`` moved by ``count`` units (d, w, m, q or y; negative moves back), or None past the
    calendar's ends. A month keeps its day number, cut to the month's last day (Jan 31 + 1m is
    Feb 28 or 29); a year likewise (Feb 29 + 1y is Feb 28)."""
    if unit in ("d", "w"):
        ordinal = day.toordinal() + count * (7 if unit == "w" else 1)
        return dt.date.fromordinal(ordinal) if _FIRST <= ordinal <= _LAST else None
    index = day.year * 12 + day.month - 1 + count * _MONTHS_IN[unit]
    year, month = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return None
    return dt.date(year, month + 1, min(day.day, _days_in_month(year, month + 1)))


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _shift(day: dt.date, count: int, unit: str) -> dt.date:
    result = shifted(day, count, unit)
    if result is None:
        raise _OffCalendar
    return result


def _month_start(year: int, month: int) -> dt.date:
    """The first of a month counted from ``year``'s January (month 13 is next January)."""
    years, month = divmod(month - 1, 12)
    if year + years > dt.MAXYEAR:
        raise _OffCalendar
    return dt.date(year + years, month + 1, 1)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, _days_in_month(year, month))


def _quarter(day: dt.date) -> int:
    """The first month of ``day``'s quarter: 1, 4, 7 or 10."""
    return (day.month - 1) // 3 * 3 + 1


#: The words that name one day relative to today. s- is the start of the next period, e- the end
#: of this one (Taskwarrior's reading); soc-/eoc- name the current period's start and end.
_NAMED: dict[str, Callable[[dt.date], dt.date]] = {
    "today": lambda t: t,
    "now": lambda t: t,
    "eod": lambda t: t,
    "tomorrow": lambda t: _shift(t, 1, "d"),
    "yesterday": lambda t: _shift(t, -1, "d"),
    "eow": lambda t: _shift(t, 6 - t.weekday(), "d"),
    "eocw": lambda t: _shift(t, 6 - t.weekday(), "d"),
    "sow": lambda t: _shift(t, 7 - t.weekday(), "d"),
    "socw": lambda t: _shift(t, -t.weekday(), "d"),
    "eom": lambda t: _month_end(t.year, t.month),
    "eocm": lambda t: _month_end(t.year, t.month),
    "som": lambda t: _month_start(t.year, t.month + 1),
    "socm": lambda t: t.replace(day=1),
    "eoq": lambda t: _month_end(t.year, _quarter(t) + 2),
    "eocq": lambda t: _month_end(t.year, _quarter(t) + 2),
    "soq": lambda t: _month_start(t.year, _quarter(t) + 3),
    "socq": lambda t: dt.date(t.year, _quarter(t), 1),
    "eoy": lambda t: dt.date(t.year, 12, 31),
    "eocy": lambda t: dt.date(t.year, 12, 31),
    "soy": lambda t: _month_start(t.year, 13),
    "socy": lambda t: dt.date(t.year, 1, 1),
    "later": lambda _t: SOMEDAY,
    "someday": lambda _t: SOMEDAY,
}
#: ``next week`` and its kin: the start of the next period.
_NEXT_PERIOD = {"week": "sow", "month": "som", "quarter": "soq", "year": "soy"}


def _weekday(word: str) -> int | None:
    """0 for monday … 6 for sunday, from the name or a prefix of it of three letters or more."""
    if len(word) >= 3:
        for index, name in enumerate(_WEEKDAYS):
            if name.startswith(word):
                return index
    return None


def _base(word: str, today: dt.date) -> dt.date | None:
    """The day a named, weekday or ISO form means, or None when ``word`` is none of them."""
    named = _NAMED.get(word)
    if named is not None:
        return named(today)
    weekday = _weekday(word)
    if weekday is not None:  # the next such day strictly after today
        return _shift(today, (weekday - today.weekday() - 1) % 7 + 1, "d")
    relative = _NEXT_LAST.fullmatch(word)
    if relative:
        direction, what = relative.groups()
        if direction == "next" and what in _NEXT_PERIOD:
            return _NAMED[_NEXT_PERIOD[what]](today)
        weekday = _weekday(what)
        if weekday is None:
            return None
        if direction == "next":
            return _shift(today, (weekday - today.weekday() - 1) % 7 + 1, "d")
        return _shift(today, -((today.weekday() - weekday - 1) % 7 + 1), "d")
    if _ISO.fullmatch(word):
        try:
            return dt.date.fromisoformat(word)
        except ValueError:
            return None
    return None


def _offset(text: str, sign: str, digits: str, unit_word: str) -> tuple[int, str] | None:
    """A signed count and its unit letter, or None when the word is not a unit."""
    unit = unit_of(unit_word)
    if unit is None:
        return None
    count = int(digits)
    if count > MAX_COUNT:
        raise InvalidValue(f"{shown(text)} is not a date: an offset counts at most {MAX_COUNT:,} units",
                           hint=f"use {DATE_FORMS}")
    return (-count if sign == "-" else count), unit


def parse_date(text: str, *, today: dt.date) -> dt.date:
    """Parse an absolute or relative date; raise InvalidValue naming the accepted forms.

    ``today`` is the day relative forms count from. The result is always a real calendar day.
    """
    if len(text) > MAX_DATE_CHARS or not text.isascii():
        why = (f"at most {MAX_DATE_CHARS} characters" if len(text) > MAX_DATE_CHARS
               else "written in ASCII (letters a-z, digits, + and -)")
        raise InvalidValue(f"{shown(text)} is not a date: a date is {why}", hint=f"use {DATE_FORMS}")
    word = " ".join(text.lower().split())
    try:
        day = _parse(text, word, today)
    except _OffCalendar:
        raise InvalidValue(f"{shown(text)} falls outside the calendar (0001-01-01 to 9999-12-31)",
                           hint="give a nearer date") from None
    if day is None:
        timed = _TIMED.fullmatch(word)
        if timed and _base(timed.group(1), today) is not None:
            raise InvalidValue(f"due dates are days; times of day are not kept — give {timed.group(1)}")
        raise InvalidValue(f"{shown(text)} is not a date", hint=f"use {DATE_FORMS}")
    return day


def _parse(text: str, word: str, today: dt.date) -> dt.date | None:
    day = _base(word, today)
    if day is not None:
        return day
    alone = _OFFSET.fullmatch(word)
    if alone:
        offset = _offset(text, *alone.groups())
        return None if offset is None else _shift(today, *offset)
    arithmetic = _ARITHMETIC.fullmatch(word)
    if arithmetic:
        base_word, sign, digits, unit_word = arithmetic.groups()
        base = _base(base_word, today)
        offset = None if base is None else _offset(text, sign, digits, unit_word)
        if base is not None and offset is not None:
            return _shift(base, *offset)
    return None
