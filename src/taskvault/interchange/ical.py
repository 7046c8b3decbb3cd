"""iCalendar to-dos (RFC 5545 VTODO): read into tasks, and tasks written as them.

Our own small reader and writer; the ``icalendar`` package only checks them, in the tests. A file is
unfolded into content lines; each VTODO becomes a task, and one whose RRULE taskvault can follow a series
(its template and first instance). Each task is written as one VTODO.

Nothing is dropped on the way in without a note: a property a task has no field for is kept in the task's
extra attributes as the content lines it was read from (``ical.LOCATION`` holds ``LOCATION:Room 4``), and
so is a mapped property whose exact form the field cannot hold (a due time of day, PRIORITY:2, a category
with capitals, a UID that is not a uuid); the export writes each back as it was while the field still says
the same. What iCalendar has no property for is written as ``X-TASKVAULT-*``, so an export read back gives
the same tasks.
"""

from __future__ import annotations

import datetime as dt
import enum
import gc
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from ..domain.periods import normalize_period, nth_due
from ..domain.task import (
    ANNOTATIONS_MAX,
    DEPENDS_MAX,
    EXTRA_MAX,
    EXTRA_TEXT_MAX,
    TITLE_MAX,
    Annotation,
    Extra,
    ExtraValue,
    Priority,
    Status,
    Task,
    check_task,
    normalize_annotation,
    normalize_extra,
    normalize_note,
    normalize_project,
    normalize_tag,
    normalize_tags,
    normalize_title,
    trusted_task,
)
from ..errors import InvalidValue, shown
from .model import UUID_NAMESPACE, Batch, Incoming, Note, Source, day_of, refused, start_of

#: The version of taskvault's own properties (X-TASKVAULT-*); a file written by a newer one is refused.
FORMAT = 1
PRODID = "-//taskvault//EN"
#: The longest content line read (unfolded); more is not a to-do's (an inline attachment, or garbage).
MAX_LINE_CHARS = 1_000_000
#: How deep components nest (VCALENDAR > VTODO > VALARM is 3).
MAX_DEPTH = 8
FOLD_OCTETS = 75
UNTITLED = "(untitled)"
#: The extra attributes (Task.extra) that keep what a file said and no field holds: ical.NAME.
EXTRA_PREFIX = "ical."
#: One content line as read: (physical line number, NAME, parameters or None, value, the line itself).
Prop = tuple[int, str, "dict[str, str] | None", str, str]

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and line feed; CR is gone by then
_LOGICAL = re.compile(r"\n(?![ \t])")  # a line break that is not a fold
#: A BEGIN or END line (in any case) in a block of lines, "\n" before each (this form is the fastest to search).
_NESTING = re.compile(r"\n(?:[Bb][Ee][Gg][Ii][Nn]|[Ee][Nn][Dd])[:;]")
_STRUCTURE = re.compile(r"(?:[Bb][Ee][Gg][Ii][Nn]|[Ee][Nn][Dd])[:;]")
# RFC 5545 names are letters, digits and -; Synology writes PERCENT_COMPLETE, so _ is read too.
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PARAM = re.compile(r';([A-Za-z0-9_-]+)=((?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LIST_TOKEN = re.compile(r"\\.|[^\\,]+|,|\\", re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{8}")
_DATE_TIME = re.compile(r"[0-9]{8}T[0-9]{6}Z?")
_FRACTION = re.compile(r"[0-9]{6}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,3}")
_OFFSET = re.compile(r"([+-])([0-9]{2})([0-9]{2})([0-9]{2})?")

HINT_FILE = "fix that line of the file (or leave the to-do out) and import again"


# ---------------------------------------------------------------------------------------------- text


def _unescape(text: str) -> str:
    """A TEXT value as meant: \\n is a line break, \\, \\; \\\\ the character; another \\x is left as it is."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescaped, text)


def _unescaped(match: re.Match[str]) -> str:
    char = match.group(1)
    if char in "nN":
        return "\n"
    return char if char in "\\;,:" else match.group(0)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _items(value: str) -> list[str]:
    """The items of a comma list of TEXT (CATEGORIES), each unescaped; a comma escaped stays in its item."""
    if "\\" not in value:
        return value.split(",")
    items: list[str] = []
    current: list[str] = []
    for token in _LIST_TOKEN.findall(value):
        if token == ",":
            items.append(_unescape("".join(current)))
            current = []
        else:
            current.append(token)
    items.append(_unescape("".join(current)))
    return items


def _param_value(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"' and raw.count('"') == 2:
        raw = raw[1:-1]
    if "^" in raw:  # RFC 6868: ^n a line break, ^' a double quote, ^^ a caret
        raw = re.sub(r"\^([n'^])", lambda m: {"n": "\n", "'": '"', "^": "^"}[m.group(1)], raw)
    return raw


def _token(text: str) -> bool:
    """True for a name or parameter name: ASCII letters, digits, - and _."""
    return text.isascii() and (text.isalnum() or bool(_NAME.fullmatch(text)))


#: Heads of content lines (NAME;PARAM=value before the :) read before, and what they say: most repeat.
_HEADS: dict[str, tuple[str, dict[str, str] | None]] = {}


class _Malformed(ValueError):
    """A line that is not a content line: the property (or None) and what is wrong, for refused()."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


def _split(line: str) -> tuple[str, dict[str, str] | None, str]:
    """A content line's NAME (upper case), parameters (None when it has none) and value (a parameters dict
    may be shared: never change it); _Malformed if it is not one."""
    colon = line.find(":")
    head = line[:colon]
    known = _HEADS.get(head)
    if known is not None:
        return known[0], known[1], line[colon + 1:]
    split = _split_head(line, colon, head)
    if len(head) <= 100 and len(split[2]) == len(line) - colon - 1:  # the value starts after the first :
        if len(_HEADS) >= 4096:
            _HEADS.clear()
        _HEADS[head] = split[0], split[1]
    return split


def _split_head(line: str, colon: int, head: str) -> tuple[str, dict[str, str] | None, str]:
    if colon > 0 and '"' not in head:  # most lines: no quoted parameter value, so the first : ends the head
        if ";" not in head:
            if _token(head):
                return head.upper(), None, line[colon + 1:]
        else:
            name, *parts = head.split(";")
            params = {}
            for part in parts:
                key, equals, value = part.partition("=")
                if not equals or not _token(key):
                    break
                params[key.upper()] = _param_value(value) if "^" in value else value
            else:
                if _token(name):
                    return name.upper(), params, line[colon + 1:]
    match = _NAME.match(line)
    if match is None or colon == -1:
        raise _Malformed(None, f"not a content line (NAME:value): {shown(line)}")
    position, params = match.end(), {}
    while position < len(line) and line[position] == ";":
        param = _PARAM.match(line, position)
        if param is None:
            raise _Malformed(line[:match.end()].upper(), "a parameter that is not NAME=value: "
                             f"{shown(line[position:position + 60])}")
        params[param.group(1).upper()] = _param_value(param.group(2))
        position = param.end()
    if position >= len(line) or line[position] != ":":
        raise _Malformed(line[:match.end()].upper(), f"no ':' before the value: {shown(line)}")
    return line[:match.end()].upper(), params, line[position + 1:]


def _normalized(text: str, name: str) -> str:
    """The text with LF line ends; refuses control characters (a lone CR among them) but tab."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    control = _CONTROL.search(text)
    if control is not None:
        number = text.count("\n", 0, control.start()) + 1
        hint = ("lines that end in CR alone? iCalendar lines end in CRLF: export the file again" if control.group() == "\r"
                else "iCalendar text holds no control characters but tab: remove it, or export the file again")
        raise refused(f"{name} line {number}", None, f"a control character (U+{ord(control.group()):04X}) in the text",
                      hint)
    return text


def _logical_lines(text: str, name: str, first: int = 1) -> Iterator[tuple[int, str]]:
    """Each content line of a normalized text, unfolded (a line break then a space or tab continues the
    line), with the number of the physical line it starts on (the text's first is ``first``). Refuses a line
    longer than MAX_LINE_CHARS."""
    number = first
    for piece in _LOGICAL.split(text):
        span, line = 0, piece
        if "\n" in piece:
            span = piece.count("\n")
            line = piece.replace("\n ", "").replace("\n\t", "")
        if len(line) > MAX_LINE_CHARS:
            raise refused(f"{name} line {number}", None, f"a line of {len(line):,} characters; the most read is "
                          f"{MAX_LINE_CHARS:,}", "an inline attachment? remove that property and import again")
        if line:
            yield number, line
        number += span + 1


# ------------------------------------------------------------------------------------ dates and times


def _date(value: str) -> dt.date | None:
    if _DATE.fullmatch(value) is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _date_time(value: str) -> tuple[dt.datetime, bool] | None:
    """A DATE-TIME as written (naive) and whether it is UTC (ends in Z); None if it is not one."""
    if _DATE_TIME.fullmatch(value) is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value[:15])
    except ValueError:
        return None
    return moment, len(value) == 16


def _basic(moment: dt.datetime) -> str:
    """20260301T093015: a DATE-TIME's digits (isoformat writes four-digit years, and is C)."""
    return moment.isoformat()[:19].replace("-", "").replace(":", "")


def _day_text(day: dt.date) -> str:
    return day.isoformat().replace("-", "")


@attrs.define
class _Zones:
    """Time zones by TZID: the zone of that name Python knows, or one a VTIMEZONE of the file names (its
    X-LIC-LOCATION, or a fixed offset when it has one); None when neither says."""

    defined: dict[str, dt.tzinfo | str] = attrs.field(factory=dict)
    found: dict[str, dt.tzinfo | None] = attrs.field(factory=dict)

    def zone(self, tzid: str) -> dt.tzinfo | None:
        if tzid not in self.found:
            self.found[tzid] = self._resolve(tzid)
        return self.found[tzid]

    def _resolve(self, tzid: str) -> dt.tzinfo | None:
        if tzid.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
            return dt.UTC
        defined = self.defined.get(tzid)
        names = [tzid, defined if isinstance(defined, str) else ""]
        parts = tzid.strip("/").split("/")  # Thunderbird's /mozilla.org/20070129_1/Europe/Berlin
        names += ["/".join(parts[-n:]) for n in (3, 2) if len(parts) > n]
        for name in names:
            zone = _zone_named(name)
            if zone is not None:
                return zone
        return defined if isinstance(defined, dt.tzinfo) else None


def _zone_named(name: str) -> dt.tzinfo | None:
    if not name or len(name) > 64 or not _ZONE_KEY.fullmatch(name):
        return None
    import zoneinfo  # (only for a file with a TZID)

    try:
        return zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), a bad key, a directory
        return None


def _timezones(text: str, zones: _Zones, name: str) -> None:
    """Read the VTIMEZONEs of ``text`` into ``zones``: the TZID, and the zone its X-LIC-LOCATION names or
    the fixed offset of a zone whose observances all have one offset."""
    start, counted, number = text.find("BEGIN:VTIMEZONE"), 0, 1
    while start != -1:
        end = text.find("END:VTIMEZONE", start)
        if end == -1:
            return  # cut short: the main pass says where
        number += text.count("\n", counted, start)
        counted = start
        tzid, location, offsets = None, None, set()
        for _, line in _logical_lines(text[start:end], name, number):
            key, _, value = line.partition(":")
            key = key.upper()
            if key == "TZID":
                tzid = value
            elif key == "X-LIC-LOCATION":
                location = value
            elif key.startswith(("TZOFFSETTO", "TZOFFSETFROM")):
                offsets.add(value)
        if tzid is not None:
            offset = _OFFSET.fullmatch(offsets.pop()) if len(offsets) == 1 else None
            if location is not None:
                zones.defined[tzid] = location
            elif offset is not None:
                sign = -1 if offset.group(1) == "-" else 1
                delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)),
                                     seconds=int(offset.group(4) or 0))
                if delta < dt.timedelta(hours=24):
                    zones.defined[tzid] = dt.timezone(sign * delta)
        start = text.find("BEGIN:VTIMEZONE", end)


# ----------------------------------------------------------------------------------------- recurrence

_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ_UNIT = {"DAILY": "d", "WEEKLY": "w", "MONTHLY": "m", "YEARLY": "y"}
_UNIT_FREQ = {"d": ("DAILY", 1), "w": ("WEEKLY", 1), "m": ("MONTHLY", 1), "q": ("MONTHLY", 3), "y": ("YEARLY", 1)}
_NAMED_STEP = {"daily": (1, "d"), "weekly": (1, "w"), "biweekly": (2, "w"), "monthly": (1, "m"),
               "quarterly": (1, "q"), "yearly": (1, "y")}
_DAYS_OR_MONTHS = {"d": (1, "d"), "w": (7, "d"), "m": (1, "m"), "q": (3, "m"), "y": (12, "m")}


def _count_unit(period: str) -> tuple[int, str]:
    if period in _NAMED_STEP:
        return _NAMED_STEP[period]
    return int(period[:-1]), period[-1]


def _step(period: str) -> tuple[int, str]:
    """What a period steps by, as days, months or weekdays: ``biweekly`` and ``14d`` are both (14, "d"),
    ``quarterly`` and ``3m`` (3, "m"): two periods with one step make the same due dates."""
    if period == "weekdays":
        return 1, "weekdays"
    count, unit = _count_unit(period)
    factor, base = _DAYS_OR_MONTHS[unit]
    return count * factor, base


def _month_end(anchor: dt.date, freq: str) -> str:
    """The rule parts that keep a series from the 29th-31st (or Feb 29) to each month's end, as taskvault
    does, where RRULE would skip the months without that day."""
    if freq == "MONTHLY" and anchor.day >= 29:
        return ";BYMONTHDAY=" + ",".join(str(d) for d in range(28, anchor.day + 1)) + ";BYSETPOS=-1"
    if freq == "YEARLY" and (anchor.month, anchor.day) == (2, 29):
        return ";BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"
    return ""


def _rrule(period: str, anchor: dt.date, until: dt.date | None) -> str:
    """The RRULE value of a series of ``period`` first due ``anchor`` (ending at ``until``)."""
    if period == "weekdays":
        rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    else:
        count, unit = _count_unit(period)
        freq, factor = _UNIT_FREQ[unit]
        interval = count * factor
        rule = f"FREQ={freq}" + (f";INTERVAL={interval}" if interval > 1 else "") + _month_end(anchor, freq)
    return rule + (f";UNTIL={_day_text(until)}" if until is not None else "")


def _rrule_default_period(period: str) -> str | None:
    """The period an RRULE written for ``period`` reads back as (``quarterly`` reads back as ``3m``)."""
    if period == "weekdays":
        return period
    count, unit = _count_unit(period)
    freq, factor = _UNIT_FREQ[unit]
    return _period(count * factor, _FREQ_UNIT[freq])


def _period(count: int, unit: str) -> str | None:
    if not 1 <= count <= 999:
        return None
    return normalize_period(f"{count}{unit}")


@attrs.frozen
class _Rule:
    """An RRULE as taskvault can follow it: its step, the period it reads as, its end, a caveat."""

    step: tuple[int, str]
    period: str | None
    until: dt.date | None
    count: int | None
    #: Set when taskvault's series differs from the RRULE's at month ends: what to tell the user.
    caveat: str | None = None


def _rule(value: str, anchor: dt.date, zones: _Zones) -> _Rule | str:
    """The series an RRULE makes from a first due day ``anchor``, or why taskvault cannot follow it."""
    parts: dict[str, str] = {}
    for part in value.upper().split(";"):
        key, equals, item = part.partition("=")
        if not equals or key in parts:
            return f"{shown(part)} is not a rule part"
        parts[key] = item
    parts.pop("WKST", None)  # the week's start changes nothing taskvault can follow
    freq = parts.pop("FREQ", "")
    if freq not in _FREQ_UNIT:
        return f"FREQ={freq} is not daily, weekly, monthly or yearly"
    interval_text = parts.pop("INTERVAL", "1")
    if not _DIGITS.fullmatch(interval_text) or not 1 <= int(interval_text) <= 10_000:
        return f"INTERVAL={interval_text} is not a count"
    interval, unit = int(interval_text), _FREQ_UNIT[freq]
    until = count = None
    if "UNTIL" in parts and "COUNT" in parts:
        return "it has both UNTIL and COUNT"
    if "UNTIL" in parts:
        until = _rule_until(parts.pop("UNTIL"), zones)
        if until is None:
            return "its UNTIL is not a date or a date-time"
    if "COUNT" in parts:
        text = parts.pop("COUNT")
        if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= 10**9:
            return f"COUNT={text} is not a count"
        count = int(text)
    caveat = None
    by = {key: parts.pop(key) for key in ("BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH") if key in parts}
    if parts:
        return f"taskvault has no series by {', '.join(sorted(parts))}"
    weekdays = by.get("BYDAY") and sorted(by["BYDAY"].split(",")) == sorted(_WEEKDAY_CODES[:5])
    if weekdays and freq in ("DAILY", "WEEKLY") and interval == 1 and len(by) == 1:
        return _Rule((1, "weekdays"), "weekdays", until, count)
    exact = _exact_forms(freq, anchor)
    if by in exact:
        pass
    elif not by and freq in ("MONTHLY", "YEARLY"):  # from a day not in every month (or year)
        caveat = (f"RRULE skips the {'months' if freq == 'MONTHLY' else 'years'} without "
                  f"{anchor.strftime('%b %d') if freq == 'YEARLY' else 'day ' + str(anchor.day)}; taskvault keeps "
                  "to the month's end (the exact rule kept in extra as ical.RRULE)")
    else:
        return "taskvault has no series by " + ";".join(f"{key}={item}" for key, item in sorted(by.items()))
    factor, base = _DAYS_OR_MONTHS[unit]
    return _Rule((interval * factor, base), _period(interval, unit), until, count, caveat)


def _rule_read(value: str, due: dt.date | None, parent: uuid.UUID | None, recur: str | None,
               extra_names: set[str] | frozenset[str], zones: _Zones) -> _Rule | str:
    """What the reader makes of an RRULE on a to-do with this DUE, X-TASKVAULT-PARENT and -RECUR and these
    extra attributes: the series it follows, or why it follows none (one decision, for reader and writer)."""
    if parent is not None:
        return "this to-do is an instance of a series"
    if due is None:
        return "no DUE to count from"
    if {"ical.EXDATE", "ical.RDATE"} & extra_names:
        return "EXDATE or RDATE change its dates"
    rule = _rule(value, due, zones)
    if isinstance(rule, _Rule) and rule.period is None and (recur is None or _step(recur) != rule.step):
        unit = "days" if rule.step[1] == "d" else "months"
        return f"every {rule.step[0]:,} {unit} is longer than a period taskvault has"
    return rule


def _exact_forms(freq: str, anchor: dt.date) -> list[dict[str, str]]:
    """The BY-parts with which a rule of ``freq`` from ``anchor`` gives exactly taskvault's due dates."""
    if freq == "DAILY":
        return [{}]
    if freq == "WEEKLY":
        return [{}, {"BYDAY": _WEEKDAY_CODES[anchor.weekday()]}]
    if freq == "MONTHLY":
        if anchor.day <= 28:
            return [{}, {"BYMONTHDAY": str(anchor.day)}]
        return [_by_parts(_month_end(anchor, freq))] + ([{"BYMONTHDAY": "-1"}] if anchor.day == 31 else [])
    if (anchor.month, anchor.day) == (2, 29):
        return [_by_parts(_month_end(anchor, freq))]
    month, day = str(anchor.month), str(anchor.day)
    return [{}, {"BYMONTH": month}, {"BYMONTHDAY": day}, {"BYMONTH": month, "BYMONTHDAY": day}]


def _by_parts(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.strip(";").split(";"))


def _rule_until(text: str, zones: _Zones) -> dt.date | None:
    day = _date(text)
    if day is not None:
        return day
    timed = _date_time(text)
    if timed is None:
        return None
    moment, utc = timed
    return day_of(moment.replace(tzinfo=dt.UTC)) if utc else moment.date()


# ------------------------------------------------------------------------------------------- reading

#: The properties a VTODO may hold once, that the reader maps (a second one is refused).
_SINGLE = frozenset({
    "UID", "SUMMARY", "DESCRIPTION", "STATUS", "DUE", "DTSTART", "COMPLETED", "PRIORITY", "CREATED",
    "LAST-MODIFIED", "DTSTAMP", "RRULE", "RECURRENCE-ID", "X-TASKVAULT-PROJECT", "X-TASKVAULT-WAIT",
    "X-TASKVAULT-UNTIL", "X-TASKVAULT-STARTED", "X-TASKVAULT-PARENT", "X-TASKVAULT-INDEX", "X-TASKVAULT-RECUR",
})
#: Mapped properties that may come more than once.
_MULTIPLE = frozenset({"CATEGORIES", "X-TASKVAULT-EXTRA"})
#: Mapped properties whose exact form, when the field cannot hold it, is kept in extra and written back.
_KEPT_FORMS = ("UID", "SUMMARY", "DESCRIPTION", "DUE", "DTSTART", "PRIORITY", "CATEGORIES", "RRULE")
_PRIORITY_OF = {**dict.fromkeys(range(1, 5), Priority.HIGH), 5: Priority.MEDIUM,
                **dict.fromkeys(range(6, 10), Priority.LOW)}
_PRIORITY_NUMBER = {Priority.HIGH: 1, Priority.MEDIUM: 5, Priority.LOW: 9}
_SKIPPED_KINDS = {"VEVENT": "an event", "VJOURNAL": "a journal entry", "VFREEBUSY": "free/busy time",
                  "VAVAILABILITY": "availability"}
_CALENDAR_KNOWN = frozenset({"VERSION", "PRODID", "CALSCALE", "METHOD", "X-TASKVAULT-FORMAT"})


class _Kind(enum.Enum):
    SINGLE = "once"  # mapped, at most once in a VTODO
    MANY = "many"  # mapped, any number of times
    SOME = "some"  # mapped or kept, by its parameters (RELATED-TO, COMMENT)


#: taskvault's own properties (the fields iCalendar has no property for).
_OURS = frozenset(name for name in _SINGLE if name.startswith("X-TASKVAULT-"))
_KINDS = {**dict.fromkeys(_SINGLE, _Kind.SINGLE), **dict.fromkeys(_MULTIPLE, _Kind.MANY),
          "RELATED-TO": _Kind.SOME, "COMMENT": _Kind.SOME}


def _mapped(name: str, params: dict[str, str] | None) -> bool:
    """True for a property of a VTODO the reader turns into a field (else it is kept in extra as it is)."""
    if name in _SINGLE or name in _MULTIPLE:
        return True
    if name == "RELATED-TO":
        return params is not None and params.get("RELTYPE", "").upper() == "DEPENDS-ON"
    if name == "COMMENT":
        return params is not None and "X-TASKVAULT-AT" in params
    return False


def _extra_key(name: str) -> str:
    """The extra attribute a property or component of this NAME is kept in."""
    return (EXTRA_PREFIX + name.upper())[:64]


def _as_uuid(uid: str) -> uuid.UUID | None:
    """The uuid a UID is (in any of the ways a uuid is written: capitals, braces, urn:uuid:), or None."""
    if 32 <= len(uid) <= 45:
        try:
            return uuid.UUID(uid)
        except ValueError:
            pass
    return None


def _uuid_of(uid: str) -> uuid.UUID:
    """The uuid a UID names: itself when it is one, else one made from it (the same every time)."""
    return _as_uuid(uid) or uuid.uuid5(UUID_NAMESPACE, uid)


def _title_of(text: str) -> str:
    """The title a SUMMARY gives: one trimmed line of at most TITLE_MAX characters (line breaks and tabs become
    spaces, a longer one is cut with …), ``(untitled)`` for none."""
    title = text.strip()
    if not title:
        return UNTITLED
    if "\n" in title or "\t" in title:
        title = re.sub(r" *[\n\t][\n\t ]*", " ", title)
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX - 1].rstrip() + "…"
    return title


def _tag_of(category: str) -> str | None:
    """The tag a category gives (lower case; spaces become -), or None when it cannot be one."""
    try:
        return normalize_tag(category)
    except InvalidValue:
        pass
    try:
        return normalize_tag("-".join(category.split()))
    except InvalidValue:
        return None


def _categories(lines: Sequence[Prop]) -> tuple[list[str], list[str]]:
    """The tags CATEGORIES lines give, and the categories that give none."""
    tags, lost = [], []
    for _, _, _, value, _ in lines:
        for item in _items(value):
            category = item.strip()
            if category:
                tag = _tag_of(category)
                if tag is not None:
                    tags.append(tag)
                else:
                    lost.append(category)
    return tags, lost


def _categories_kept(lines: Sequence[Prop]) -> bool:
    """True when CATEGORIES lines say more than the tags: a category that is not a tag as it is written."""
    for _, _, params, value, _ in lines:
        if params:
            return True
        for item in _items(value):
            category = item.strip()
            if category and _tag_of(category) != category:
                return True
    return False


@attrs.define
class _Todo:
    """One VTODO while it is read: its properties by name, what is kept for extra, and the notes on it."""

    begin: int
    #: Mapped properties that come once, by name; those that may come more than once; the lines kept as they
    #: were, by the extra attribute that keeps them, and the line each was first seen on (-1: kept as a field's
    #: exact form, whose own note says so).
    one: dict[str, Prop] = attrs.field(factory=dict)
    many: dict[str, list[Prop]] = attrs.field(factory=dict)
    kept: dict[str, list[str]] = attrs.field(factory=dict)
    first_line: dict[str, int] = attrs.field(factory=dict)
    notes: list[tuple[int, str, str]] = attrs.field(factory=list)

    def note(self, at: Prop | int, field: str, what: str) -> None:
        self.notes.append((at if isinstance(at, int) else at[0], field, what))

    def keep(self, prop: Prop) -> str:
        """Keep this property's line in extra as it was (a field cannot hold all it says): the attribute's name."""
        key = _extra_key(prop[1])
        self.kept.setdefault(key, []).append(prop[4])
        self.first_line.setdefault(key, -1)
        return key


@attrs.define
class _Reading:
    """One read: what it has made so far, and where."""

    now: dt.datetime
    progress: Callable[[int], None] | None
    tasks: list[Incoming] = attrs.field(factory=list)
    skipped: list[Note] = attrs.field(factory=list)
    unmapped: list[Note] = attrs.field(factory=list)
    #: Each uuid read so far, and where: a second to-do with it is refused.
    seen: dict[uuid.UUID, str] = attrs.field(factory=dict)
    #: How many to-dos without a UID had each content so far (their uuids are made from it).
    anonymous: dict[str, int] = attrs.field(factory=dict)
    name: str = ""
    zones: _Zones = attrs.field(factory=_Zones)
    method: bool = False
    todos: int = 0
    #: The tags each set of CATEGORIES values gives (most to-dos share a few): tags, categories lost, kept.
    categories: dict[tuple[tuple[bool, str], ...], tuple[tuple[str, ...], list[str], bool]] = attrs.field(factory=dict)

    def at(self, line: int) -> str:
        return f"{self.name} line {line}"

    def _split(self, line: str, number: int) -> tuple[str, dict[str, str] | None, str]:
        try:
            return _split(line)
        except _Malformed as error:
            raise refused(self.at(number), error.field, error.problem, HINT_FILE) from None

    def source(self, source: Source) -> None:
        self.name, self.zones = source.name, _Zones()
        data = source.data[3:] if source.data.startswith(b"\xef\xbb\xbf") else source.data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise refused(self.at(line), None, "not UTF-8 text", "save the file as UTF-8 (iCalendar is UTF-8) "
                          "and import again") from None
        text = _normalized(text, self.name)
        if "VTIMEZONE" in text:
            _timezones(text, self.zones, self.name)
        self._components(text)

    def _components(self, text: str) -> None:
        stack: list[tuple[str, int]] = []
        todo: tuple[int, list[tuple[int, str]], list[tuple[int, str, list[str]]]] | None = None
        version: str | None = None
        calendars, last, following = 0, 0, 1
        properties: list[tuple[int, str]] | None = None  # the open VTODO's own lines, while they come
        pieces = _LOGICAL.split(text)
        at, count = 0, len(pieces)
        while at < count:  # (_logical_lines, inline: this loop runs for every line)
            piece = pieces[at]
            at += 1
            if piece == "BEGIN:VTODO" and todo is None and len(stack) == 1:
                ended, lines = self._whole_todo(pieces, at, following, version)
                if ended:  # the to-do was read whole, to its END line (see _whole_todo)
                    following += lines
                    last, at = following - 1, ended
                    continue
            number = following
            if "\n" in piece:
                following += piece.count("\n") + 1
                line = piece.replace("\n ", "").replace("\n\t", "")
            else:
                following += 1
                line = piece
            if not line:
                continue
            if len(line) > MAX_LINE_CHARS:
                raise refused(self.at(number), None, f"a line of {len(line):,} characters; the most read is "
                              f"{MAX_LINE_CHARS:,}", "an inline attachment? remove that property and import again")
            last = number
            if properties is not None and (line[0] not in "BbEe" or _STRUCTURE.match(line) is None):
                properties.append((number, line))  # most lines: a VTODO's property (_todo reads it, in order)
                continue
            name, _, value = self._split(line, number)
            if name in ("BEGIN", "END"):
                kind = value.upper()
                if not _NAME.fullmatch(kind):
                    raise refused(self.at(number), name, f"not a component name: {shown(value)}", HINT_FILE)
                if name == "BEGIN":
                    if len(stack) >= MAX_DEPTH:
                        raise refused(self.at(number), name, f"components nested more than {MAX_DEPTH} deep",
                                      "this is not a calendar a program wrote: check the file")
                    if not stack:
                        if kind != "VCALENDAR":
                            raise refused(self.at(number), name, f"BEGIN:{kind} outside a VCALENDAR",
                                          "an iCalendar file starts with BEGIN:VCALENDAR")
                        calendars, version, self.method = calendars + 1, None, False
                    elif len(stack) == 1:
                        if version is not None:
                            self._check_version(version, number)
                        if kind == "VTODO":
                            todo = (number, [], [])
                            properties = todo[1]
                        elif kind != "VTIMEZONE":
                            self.skipped.append(Note(self.at(number), kind, f"{_SKIPPED_KINDS.get(kind, 'a ' + kind)}, "
                                                     "not a to-do: not imported"))
                    elif todo is not None:
                        if len(stack) == 2:
                            todo[2].append((number, _extra_key(kind), []))
                            properties = None
                        todo[2][-1][2].append(line)
                    stack.append((kind, number))
                    continue
                if not stack or stack[-1][0] != kind:
                    opened = f"BEGIN:{stack[-1][0]} (line {stack[-1][1]})" if stack else "nothing"
                    raise refused(self.at(number), name, f"END:{kind} closes {opened}",
                                  "each BEGIN needs its END, in order: is the file cut or edited?")
                stack.pop()
                if todo is not None and len(stack) >= 2:
                    todo[2][-1][2].append(line)
                    if len(stack) == 2:
                        properties = todo[1]
                elif todo is not None and len(stack) == 1:
                    self._todo(*todo)
                    todo = properties = None
                elif not stack and version is None:
                    raise refused(self.at(number), "VERSION", "the calendar has no VERSION",
                                  "an iCalendar 2.0 file says VERSION:2.0; taskvault reads no other")
                continue
            depth = len(stack)
            if depth == 0:
                raise refused(self.at(number), name, "a property outside BEGIN:VCALENDAR … END:VCALENDAR",
                              "is this an iCalendar (.ics) file?")
            if depth == 1:
                if name == "VERSION":
                    version = value
                    self._check_version(version, number)
                else:
                    self._calendar_property(number, name, value)
            elif todo is not None:
                if depth == 2:
                    todo[1].append((number, line))
                else:
                    todo[2][-1][2].append(line)
        if stack:
            inside, since = stack[-1]
            raise refused(self.at(last), None, f"the file ends inside BEGIN:{inside} (line {since})",
                          "the file is cut short: export it again")
        if not calendars:
            raise refused(f"{self.name} line 1", None, "no BEGIN:VCALENDAR: not an iCalendar file",
                          "give a .ics file (iCalendar 2.0)")

    def _whole_todo(self, pieces: list[str], at: int, begin: int, version: str | None) -> tuple[int, int]:
        """Read a VTODO whose lines are ``pieces[at:]`` up to its END:VTODO, ``begin`` the line of its BEGIN, in one
        go: when nothing in it needs the line-by-line reading (no component inside, no empty or overlong line).
        The index after its END line and the physical lines from BEGIN to END; (0, 0) when it was left for the
        line-by-line reading."""
        try:
            end = pieces.index("END:VTODO", at)
        except ValueError:
            return 0, 0
        block = pieces[at:end]
        joined = "\n".join(block)
        if not block or _NESTING.search("\n" + joined) or "" in block or len(joined) > MAX_LINE_CHARS:
            return 0, 0
        if version is not None:
            self._check_version(version, begin)
        if "\n " in joined or "\n\t" in joined:  # folded lines: each starts where the pieces before it end
            numbers, lines, number = [], [], begin + 1
            for piece in block:
                numbers.append(number)
                number += piece.count("\n") + 1
                lines.append(piece.replace("\n ", "").replace("\n\t", ""))
            self._todo(begin, list(zip(numbers, lines, strict=True)), [])
        else:
            self._todo(begin, list(zip(range(begin + 1, begin + 1 + len(block)), block, strict=True)), [])
        return end + 1, joined.count("\n") + 3  # BEGIN, the block, END

    def _check_version(self, version: str, number: int) -> None:
        newest = version.rpartition(";")[2].strip()  # VERSION:minver;maxver
        if newest != "2.0":
            raise refused(self.at(number), "VERSION", f"iCalendar version {shown(version)}; taskvault reads 2.0",
                          "export the calendar as iCalendar 2.0 (.ics); vCalendar 1.0 is not read")

    def _calendar_property(self, number: int, name: str, value: str) -> None:
        if name == "CALSCALE" and value.upper() != "GREGORIAN":
            raise refused(self.at(number), name, f"the calendar scale {shown(value)}; taskvault reads GREGORIAN",
                          "export the calendar with Gregorian dates")
        if name == "METHOD":
            self.method = True
        elif name == "X-TASKVAULT-FORMAT":
            if not _DIGITS.fullmatch(value) or int(value) > FORMAT:
                raise refused(self.at(number), name, f"written by a newer taskvault (its format {shown(value)}; this "
                              f"one reads {FORMAT})", "import it with that version of taskvault, or upgrade")
        elif name not in _CALENDAR_KNOWN:
            self.unmapped.append(Note(self.at(number), name, "a property of the calendar, not of a to-do: not "
                                      "imported"))

    # ------------------------------------------------------------------------------------ one VTODO

    def _todo(self, begin: int, lines: list[tuple[int, str]], components: list[tuple[int, str, list[str]]]) -> None:
        """One VTODO (its property lines, numbered, and the components inside it) into the batch."""
        todo = self._parse(begin, lines, components)
        one, where = todo.one, self.at(begin)
        if "RECURRENCE-ID" in one:
            self.skipped.append(Note(where, "RECURRENCE-ID", "a changed occurrence of a recurring to-do: not imported "
                                     "(taskvault keeps the series)"))
            return
        status_prop = one.get("STATUS")
        status_text = status_prop[3].strip().upper() if status_prop else None
        if status_text == "CANCELLED":
            self.skipped.append(Note(where, "STATUS", "cancelled: taskvault has no cancelled tasks: not imported"))
            return
        if status_text not in (None, "NEEDS-ACTION", "IN-PROCESS", "COMPLETED"):
            assert status_prop is not None
            raise refused(self.at(status_prop[0]), "STATUS", f"not a to-do's status: {shown(status_prop[3])}",
                          "a VTODO's STATUS is NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED")
        fields: dict[str, Any] = {"uuid": self._identity(one.get("UID"), begin, where, lines, todo)}
        self._text(todo, fields)
        self._state(todo, status_text, fields)
        if "PRIORITY" in one:
            fields["priority"] = self._priority(todo, one["PRIORITY"])
        if "CATEGORIES" in todo.many:
            fields["tags"] = self._categories(todo, todo.many["CATEGORIES"])
        self._ours(todo, fields)
        extra = self._links(todo, fields)
        instance = self._series(todo, fields) if "RRULE" in one else None
        fields["index"] = fields["index"] or 0
        extra_pairs = self._extra(todo, extra)
        if instance is None:
            self._add(where, extra_pairs, fields)
        else:  # another program's recurring to-do: a series and its first instance
            self._add(where, extra_pairs, fields)
            self._add(where, (), {**fields, **instance})
        if todo.notes:
            self.unmapped.extend(Note(self.at(line), field, what) for line, field, what in sorted(todo.notes))
        self.todos += 1
        if self.progress is not None and self.todos % 1000 == 0:
            self.progress(self.todos)

    def _parse(self, begin: int, lines: list[tuple[int, str]], components: list[tuple[int, str, list[str]]]) -> _Todo:
        """A VTODO's lines by what they are: mapped once, mapped several times, or kept as they are."""
        todo = _Todo(begin)
        one, many, kept, first_line = todo.one, todo.many, todo.kept, todo.first_line
        heads, kinds = _HEADS, _KINDS
        for number, line in lines:
            colon = line.find(":")
            known = heads.get(line[:colon])
            if known is not None:
                name, params = known
                value = line[colon + 1:]
            else:
                name, params, value = self._split(line, number)
            kind = kinds.get(name)
            if kind is _Kind.SINGLE and name not in one:
                one[name] = (number, name, params, value, line)
            elif kind is _Kind.SINGLE:
                raise refused(self.at(number), name, f"a second {name} in one VTODO (the first is on line "
                              f"{one[name][0]})", "a to-do has one of these: keep one and import again")
            elif kind is not None and (kind is _Kind.MANY or _mapped(name, params)):
                many.setdefault(name, []).append((number, name, params, value, line))
            else:
                key = _extra_key(name)
                kept.setdefault(key, []).append(line)
                first_line.setdefault(key, number)
        for number, key, block in components:
            kept.setdefault(key, []).extend(block)
            first_line.setdefault(key, number)
        return todo

    def _text(self, todo: _Todo, fields: dict[str, Any]) -> None:
        """Title and note: SUMMARY (one line of at most 500 characters: a longer or several-line one kept whole in
        extra) and DESCRIPTION; either with parameters kept as it is."""
        summary = todo.one.get("SUMMARY")
        raw_title = _unescape(summary[3]) if summary else ""
        title = self._checked(summary or todo.begin, "SUMMARY", normalize_title, _title_of(raw_title))
        if summary is None or title != raw_title.strip():
            what = ("none: titled " + shown(UNTITLED) if not raw_title.strip() else
                    "longer than a title or more than one line: the title is its start on one line")
            if summary is not None and raw_title.strip():
                what += f"; the whole kept in extra as {todo.keep(summary)}"
            todo.note(summary or todo.begin, "SUMMARY", what)
        elif summary[2]:
            todo.note(summary, "SUMMARY", f"its parameters kept in extra as {todo.keep(summary)}")
        fields["title"], fields["note"] = title, ""
        description = todo.one.get("DESCRIPTION")
        if description is not None:
            fields["note"] = self._checked(description, "DESCRIPTION", normalize_note, _unescape(description[3]))
            if description[2]:
                todo.note(description, "DESCRIPTION", f"its parameters kept in extra as {todo.keep(description)}")

    def _state(self, todo: _Todo, status_text: str | None, fields: dict[str, Any]) -> None:
        """Created, updated, due, scheduled, status, completed and started."""
        one, note = todo.one, todo.note
        created = self._instant(one.get("CREATED"))
        updated = self._instant(one.get("LAST-MODIFIED"))
        if updated is None and not self.method:  # without METHOD, DTSTAMP is when it last changed (RFC 5545)
            updated = self._instant(one.get("DTSTAMP"))
        created = created or updated or self.now
        updated = updated or created
        if updated < created:
            note(one.get("LAST-MODIFIED") or one.get("DTSTAMP") or todo.begin, "LAST-MODIFIED",
                 "earlier than CREATED: taken as CREATED")
            updated = created
        fields["created"], fields["updated"] = created, updated
        fields["due"] = self._day(one["DUE"], todo) if "DUE" in one else None
        fields["scheduled"] = self._day(one["DTSTART"], todo) if "DTSTART" in one else None
        status_prop, completed_prop = one.get("STATUS"), one.get("COMPLETED")
        completed = self._instant(completed_prop)
        status, started = Status.OPEN, None
        if status_text == "COMPLETED" or (status_text is None and completed is not None):
            status = Status.DONE
            if completed is None:
                completed = updated
                note(status_prop or todo.begin, "COMPLETED",
                     "none: taken as when it last changed (LAST-MODIFIED or DTSTAMP)")
        elif completed_prop is not None:
            note(completed_prop, "COMPLETED", f"ignored: the to-do is {status_text}, not completed")
            completed = None
        if status_text == "IN-PROCESS":
            started = self._instant(one.get("X-TASKVAULT-STARTED"))
            if started is None:
                started = updated
                assert status_prop is not None
                note(status_prop, "STATUS", "IN-PROCESS: started, at LAST-MODIFIED (iCalendar gives no start time)")
        fields.update(status=status, completed=completed, started=started, priority=None, tags=())

    def _priority(self, todo: _Todo, prop: Prop) -> Priority | None:
        """PRIORITY as RFC 5545 3.8.1.9 has it: 1-4 high, 5 medium, 6-9 low, 0 none; a number but 1, 5 and 9 kept."""
        text = prop[3].strip()
        if not _DIGITS.fullmatch(text) or int(text) > 9:
            raise refused(self.at(prop[0]), "PRIORITY", f"not a priority from 0 to 9: {shown(text)}",
                          "RFC 5545 priorities: 1-4 high, 5 medium, 6-9 low, 0 none")
        priority = _PRIORITY_OF.get(int(text))
        if int(text) not in (0, 1, 5, 9):
            todo.note(prop, "PRIORITY", f"{text}: priority {priority.value if priority else 'none'}; the number kept "
                      f"in extra as {todo.keep(prop)}")
        return priority

    def _ours(self, todo: _Todo, fields: dict[str, Any]) -> None:
        """The fields iCalendar has no property for, as taskvault writes them (X-TASKVAULT-*)."""
        one = todo.one
        project = wait = until = parent = index = recur = None
        if not one.keys().isdisjoint(_OURS):
            if "X-TASKVAULT-PROJECT" in one:
                prop = one["X-TASKVAULT-PROJECT"]
                project = self._checked(prop, prop[1], normalize_project, _unescape(prop[3]))
            wait = self._day(one["X-TASKVAULT-WAIT"], todo) if "X-TASKVAULT-WAIT" in one else None
            until = self._day(one["X-TASKVAULT-UNTIL"], todo) if "X-TASKVAULT-UNTIL" in one else None
            if "X-TASKVAULT-PARENT" in one:
                prop = one["X-TASKVAULT-PARENT"]
                try:
                    parent = uuid.UUID(prop[3])
                except ValueError:
                    raise refused(self.at(prop[0]), prop[1], f"not a uuid: {shown(prop[3])}", HINT_FILE) from None
            if "X-TASKVAULT-INDEX" in one:
                prop = one["X-TASKVAULT-INDEX"]
                if not _DIGITS.fullmatch(prop[3]) or len(prop[3]) > 9:
                    raise refused(self.at(prop[0]), prop[1], f"not a number in a series: {shown(prop[3])}", HINT_FILE)
                index = int(prop[3])
            if "X-TASKVAULT-RECUR" in one:
                prop = one["X-TASKVAULT-RECUR"]
                recur = self._checked(prop, prop[1], normalize_period, prop[3])
        fields.update(project=project, wait=wait, until=until, parent=parent, index=index, recur=recur)

    def _links(self, todo: _Todo, fields: dict[str, Any]) -> dict[str, ExtraValue]:
        """Depends (RELATED-TO;RELTYPE=DEPENDS-ON), annotations (COMMENT;X-TASKVAULT-AT) and the extra attributes
        taskvault wrote (X-TASKVAULT-EXTRA)."""
        many = todo.many
        depends: tuple[uuid.UUID, ...] = ()
        if "RELATED-TO" in many:
            depends = tuple(sorted({_uuid_of(_unescape(prop[3])) for prop in many["RELATED-TO"]}))
        annotations: list[Annotation] = []
        for prop in many.get("COMMENT", ()):
            assert prop[2] is not None
            at = self._stamp(prop, prop[2]["X-TASKVAULT-AT"])
            annotations.append(Annotation(at=at, text=self._checked(prop, "COMMENT", normalize_annotation,
                                                                    _unescape(prop[3]))))
        annotations.sort(key=lambda a: a.at)
        fields["depends"], fields["annotations"] = depends, tuple(annotations)
        extra: dict[str, ExtraValue] = {}
        for prop in many.get("X-TASKVAULT-EXTRA", ()):
            extra_name, extra_value = self._extra_value(prop)
            if extra_name in extra:
                raise refused(self.at(prop[0]), prop[1], f"a second value for the extra attribute {extra_name}",
                              HINT_FILE)
            extra[extra_name] = extra_value
        return extra

    def _series(self, todo: _Todo, fields: dict[str, Any]) -> dict[str, Any] | None:
        """RRULE: a series when taskvault can follow it (the fields become its template's), else kept. Another
        program's recurring to-do: the fields of its first instance, to add after the template."""
        rrule_prop = todo.one["RRULE"]
        due, recur, index, parent = fields["due"], fields["recur"], fields["index"], fields["parent"]
        rule = _rule_read(rrule_prop[3], due, parent, recur, set(todo.kept), self.zones)
        if not isinstance(rule, _Rule):
            todo.note(rrule_prop, "RRULE", f"not mapped ({rule}): imported without recurrence; kept in extra as "
                      f"{todo.keep(rrule_prop)}")
            if index is not None and parent is None:
                todo.note(todo.one["X-TASKVAULT-INDEX"], "X-TASKVAULT-INDEX", "ignored: the to-do is no series")
                fields["index"] = None
            return None
        if recur is None or _step(recur) != rule.step:
            if recur is not None:
                todo.note(todo.one["X-TASKVAULT-RECUR"], "X-TASKVAULT-RECUR", "does not say what RRULE says: RRULE taken")
            assert rule.period is not None
            recur = rule.period
        until = rule.until
        if rule.count is not None:
            try:
                until = nth_due(recur, due, rule.count)
            except InvalidValue:  # past the end of the calendar: no end before it
                until = None
        if rule.caveat is not None:
            todo.note(rrule_prop, "RRULE", rule.caveat)
        if rrule_prop[3] != _rrule(recur, due, until):
            todo.keep(rrule_prop)
        instance = {"uuid": uuid.uuid5(UUID_NAMESPACE, f"ical instance\n{fields['uuid']}\n1"),
                    "status": fields["status"], "completed": fields["completed"], "started": fields["started"],
                    "parent": fields["uuid"], "index": 1}
        if index is not None and (fields["status"] is not Status.OPEN or fields["started"] is not None):
            todo.note(todo.one.get("STATUS") or todo.begin, "STATUS", f"{fields['status'].value}: ignored, for the "
                      "template of a series")
        fields.update(status=Status.RECURRING, completed=None, started=None, recur=recur, until=until,
                      index=1 if index is None else index)
        if index is not None:  # taskvault's own template: its instances are to-dos of their own
            return None
        todo.note(rrule_prop, "RRULE", f"a series ({recur}): its template and its first instance")
        return instance

    def _extra(self, todo: _Todo, extra: dict[str, ExtraValue]) -> Extra:
        """The task's extra attributes: those taskvault wrote, and the lines kept as they were read."""
        for key, kept_lines in todo.kept.items():
            value = "\n".join(kept_lines)
            line = todo.first_line[key]
            first = line if line > 0 else todo.begin
            if key in extra:
                raise refused(self.at(first), key[len(EXTRA_PREFIX):],
                              f"kept twice: as itself and as X-TASKVAULT-EXTRA {key}", HINT_FILE)
            if len(value) > EXTRA_TEXT_MAX or len(extra) >= EXTRA_MAX:
                why = (f"{len(value):,} characters, more than an extra attribute holds ({EXTRA_TEXT_MAX:,})"
                       if len(value) > EXTRA_TEXT_MAX else f"the to-do has more than {EXTRA_MAX} of them")
                todo.note(first, key[len(EXTRA_PREFIX):], f"no field for it, and {why}: not imported")
                continue
            extra[key] = value
            if line > 0:
                todo.note(first, key[len(EXTRA_PREFIX):], f"no field for it: kept in extra as {key}")
        return tuple(sorted(extra.items())) if extra else ()

    def _identity(self, prop: Prop | None, begin: int, where: str, lines: list[tuple[int, str]],
                  todo: _Todo) -> uuid.UUID:
        """The uuid of the to-do at line ``begin``: its UID's (see _uuid_of), or without one a uuid made from its
        content and how many identical to-dos came before. A second to-do with it is refused."""
        uid = _unescape(prop[3]) if prop else ""
        if _CANONICAL_UUID.fullmatch(uid):  # most: a uuid as str(uuid) writes it
            task_uuid = uuid.UUID(uid)
        elif uid:
            task_uuid = _uuid_of(uid)
            if uid != str(task_uuid):
                assert prop is not None
                how = ("a uuid, written otherwise" if _as_uuid(uid) is not None else
                       f"not a uuid: the task's uuid is {task_uuid}, made from it")
                todo.note(prop, "UID", f"{how}; the UID kept in extra as {todo.keep(prop)}, for the export")
        else:
            content = "\n".join(line for _, line in lines)
            repeat = self.anonymous.get(content, 0)
            self.anonymous[content] = repeat + 1
            task_uuid = uuid.uuid5(UUID_NAMESPACE, f"ical\n{content}\n{repeat}")
            todo.note(begin, "UID", f"none: the task's uuid is {task_uuid}, made from the to-do's content")
        if task_uuid in self.seen:
            raise refused(self.at(prop[0] if prop else begin), "UID", f"{shown(uid or str(task_uuid))} is the "
                          f"UID of the to-do at {self.seen[task_uuid]} too",
                          "each to-do needs a UID of its own: remove or change one")
        self.seen[task_uuid] = where
        return task_uuid

    def _categories(self, todo: _Todo, props: list[Prop]) -> tuple[str, ...]:
        """The tags CATEGORIES give (most to-dos share a few sets: each read once); the lines kept when the tags
        cannot say all they say."""
        cache_key = tuple((prop[2] is not None, prop[3]) for prop in props)
        if cache_key not in self.categories:
            tag_list, lost = _categories(props)
            tags = self._checked(props[0], "CATEGORIES", normalize_tags, tag_list)
            if len(self.categories) >= 4096:
                self.categories.clear()
            self.categories[cache_key] = (tags, lost, _categories_kept(props))
        tags, lost, categories_kept = self.categories[cache_key]
        if categories_kept:
            key = ""
            for prop in props:
                key = todo.keep(prop)
            what = f"not tags as written (tags are lower case, one word): the categories kept in extra as {key}"
            if lost:
                what = f"{', '.join(shown(c) for c in lost)} cannot be tags: kept in extra as {key}"
            todo.note(props[0], "CATEGORIES", what)
        return tags

    def _add(self, where: str, extra: Extra, fields: dict[str, Any]) -> None:
        """A task read at ``where`` into the batch; its id a placeholder, its place in the batch."""
        fields["id"] = len(self.tasks) + 1
        try:
            task = _new_task(extra, fields)
        except InvalidValue as error:
            raise refused(where, None, error.message, error.hint or HINT_FILE) from None
        self.tasks.append(Incoming(task, where))

    def _checked(self, at: Prop | int | None, field: str, check: Callable[[Any], Any], value: Any) -> Any:
        try:
            return check(value)
        except InvalidValue as error:
            line = at if isinstance(at, int) else at[0] if at is not None else 0
            raise refused(self.at(line), field, error.message, error.hint or HINT_FILE) from None

    def _value_error(self, prop: Prop, what: str) -> InvalidValue:
        return refused(self.at(prop[0]), prop[1], f"not {what}: {shown(prop[3])}",
                       f"{prop[1]} is a date (20261231) or a date-time (20261231T170000Z); {HINT_FILE}")

    def _day(self, prop: Prop | None, todo: _Todo) -> dt.date | None:
        """The day a DATE or DATE-TIME value falls on (a time of day: the local day, the exact value kept)."""
        if prop is None:
            return None
        day = _day_of(prop[3], prop[2], self.zones)
        if day is None:
            raise self._value_error(prop, "a date")
        if isinstance(day, tuple):
            day, unresolved = day
            what = f"a time of day: the day {day.isoformat()}; the exact value kept in extra as {todo.keep(prop)}"
            if unresolved:
                what += f" (its TZID {shown(unresolved)} names no zone known here: read as local time)"
            todo.note(prop, prop[1], what)
        return day

    def _instant(self, prop: Prop | None) -> dt.datetime | None:
        """The UTC instant of a DATE-TIME (a floating one in local time; a DATE: the day's start)."""
        if prop is None:
            return None
        moment = _instant_of(prop[3], prop[2], self.zones)
        if moment is None:
            raise self._value_error(prop, "a date-time")
        return moment

    def _stamp(self, prop: Prop, text: str) -> dt.datetime:
        """The instant of an X-TASKVAULT-AT parameter: 20261122T080000.123456Z."""
        body, dot, fraction = text.rstrip("Z").partition(".")
        timed = _date_time(body + "Z")
        if timed is None or not text.endswith("Z") or (dot and not re.fullmatch(r"[0-9]{6}", fraction)):
            raise refused(self.at(prop[0]), "COMMENT", f"X-TASKVAULT-AT is not a UTC time: {shown(text)}", HINT_FILE)
        return timed[0].replace(tzinfo=dt.UTC, microsecond=int(fraction or 0))

    def _extra_value(self, prop: Prop) -> tuple[str, ExtraValue]:
        """An extra attribute as taskvault writes it: X-TASKVAULT-EXTRA;X-KEY=name[;VALUE=INTEGER|FLOAT]:value."""
        params = prop[2] or {}
        name = params.get("X-KEY", "")
        kind = params.get("VALUE", "TEXT").upper()
        value: ExtraValue | None = None
        if kind == "TEXT":
            value = _unescape(prop[3])
        elif kind == "INTEGER" and re.fullmatch(r"[+-]?[0-9]{1,19}", prop[3]):
            value = int(prop[3])
        elif kind == "FLOAT" and re.fullmatch(r"[+-]?[0-9]{1,400}(?:\.[0-9]{1,400})?", prop[3]):
            value = float(prop[3])
        if value is None:
            what = {"INTEGER": "a whole number", "FLOAT": "a number"}.get(kind, f"text, a whole number or a number "
                                                                                f"(VALUE={kind})")
            raise refused(self.at(prop[0]), prop[1], f"not {what}: {shown(prop[3])}", HINT_FILE)
        try:
            normalize_extra([(name, value)])  # the rule of Task.extra, for each one
        except InvalidValue as error:
            raise refused(self.at(prop[0]), prop[1], error.message, error.hint or HINT_FILE) from None
        return name, value


def _day_of(value: str, params: dict[str, str] | None, zones: _Zones) -> dt.date | tuple[dt.date, str] | None:
    """A DATE's day, or for a DATE-TIME (day, unresolved TZID or "")."""
    kind = params.get("VALUE", "").upper() if params else ""
    if kind != "DATE-TIME" and len(value) == 8:
        return _date(value)
    timed = _date_time(value) if kind != "DATE" else None
    if timed is None:
        return None
    moment, utc = timed
    tzid = params.get("TZID") if params else None
    if utc:
        return day_of(moment.replace(tzinfo=dt.UTC)), ""
    if tzid:
        zone = zones.zone(tzid)
        if zone is None:
            return moment.date(), tzid
        return day_of(moment.replace(tzinfo=zone)), ""
    return moment.date(), ""


def _instant_of(value: str, params: dict[str, str] | None, zones: _Zones) -> dt.datetime | None:
    if params is None and len(value) == 16 and _DATE_TIME.fullmatch(value):  # most: UTC, as RFC 5545 asks
        try:
            return dt.datetime.fromisoformat(value)  # (its tzinfo is dt.UTC itself)
        except ValueError:
            return None
    fraction = params.get("X-TASKVAULT-MICROSECOND") if params else None
    if fraction is not None and len(value) == 16 and _DATE_TIME.fullmatch(value) and _FRACTION.fullmatch(fraction):
        try:  # as taskvault writes its times
            return dt.datetime.fromisoformat(f"{value[:15]}.{fraction}Z")
        except ValueError:
            return None
    timed = _date_time(value)
    if timed is None:
        day = _date(value) if len(value) == 8 else None
        return start_of(day) if day is not None else None
    moment, utc = timed
    if utc:
        return moment.replace(tzinfo=dt.UTC)
    zone = zones.zone(params["TZID"]) if params and "TZID" in params else None
    if zone is not None:
        return moment.replace(tzinfo=zone).astimezone(dt.UTC)
    try:
        return moment.astimezone().astimezone(dt.UTC)  # floating: local time
    except (OverflowError, ValueError, OSError):
        return moment.replace(tzinfo=dt.UTC)


def _new_task(extra: Extra, fields: dict[str, Any]) -> Task:
    """A Task with these fields and extra attributes; InvalidValue for a rule it breaks.

    The reader passes every field as the rule Task applies to it made it (normalize_title, normalize_note,
    normalize_tags, normalize_project, normalize_period, Annotation, sorted unique depends): then the task is
    built without running those rules again (trusted_task, a third of the cost), its instants checked to be
    UTC, its counts bounded, its extra attributes put through normalize_extra, and the rules between its
    fields checked (check_task). tests/test_ical_format.py holds every task read to be the one Task(...)
    makes of its fields."""
    utc, completed, started = dt.UTC, fields["completed"], fields["started"]
    if (fields["created"].tzinfo is utc and fields["updated"].tzinfo is utc
            and (completed is None or completed.tzinfo is utc) and (started is None or started.tzinfo is utc)
            and len(fields["depends"]) <= DEPENDS_MAX and len(fields["annotations"]) <= ANNOTATIONS_MAX
            and (not extra or normalize_extra(extra) == extra)):
        task = trusted_task(**fields, extra=extra)
        check_task(task)
        return task
    return Task(**fields, extra=extra)


def read(sources: Sequence[Source], *, now: dt.datetime, progress: Callable[[int], None] | None = None) -> Batch:
    """The to-dos of iCalendar files, as tasks: one VTODO a task (another program's recurring one, a series:
    its template and first instance), in the order of the files; events, journal entries and cancelled
    to-dos skipped, each with a note. InvalidValue (one line naming the file, line and property) for bad
    input, a version other than 2.0, or a file a newer taskvault wrote."""
    reading = _Reading(now=now.astimezone(dt.UTC), progress=progress)
    # Reading allocates a few objects a line and frees few: the cyclic collector would scan the growing heap
    # again and again for nothing (at 100k to-dos it doubles the time), as store/replay.py found for a store.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for source in sources:
            reading.source(source)
    finally:
        if collecting:
            gc.enable()
    return Batch(tasks=tuple(reading.tasks), skipped=tuple(reading.skipped), unmapped=tuple(reading.unmapped))


# ------------------------------------------------------------------------------------------- writing


def _fold(line: str) -> str:
    """A content line folded into lines of at most 75 octets (a break, then a space, continues it), never
    inside a UTF-8 character."""
    if len(line) <= FOLD_OCTETS and line.isascii():
        return line
    if line.isascii():
        return "\r\n ".join([line[:FOLD_OCTETS]] + [line[i:i + FOLD_OCTETS - 1]
                                                    for i in range(FOLD_OCTETS, len(line), FOLD_OCTETS - 1)])
    data = line.encode("utf-8")
    if len(data) <= FOLD_OCTETS:
        return line
    pieces, start, room = [], 0, FOLD_OCTETS
    while len(data) - start > room:
        end = start + room
        while data[end] & 0xC0 == 0x80:  # a continuation byte: the character started before it
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start, room = end, FOLD_OCTETS - 1
    pieces.append(data[start:].decode("utf-8"))
    return "\r\n ".join(pieces)


def _instant_line(name: str, moment: dt.datetime, basic: str | None = None) -> str:
    """NAME:20260301T093015Z, the microseconds (which iCalendar has no room for) in a parameter of ours."""
    fraction = f";X-TASKVAULT-MICROSECOND={moment.microsecond:06d}" if moment.microsecond else ""
    return f"{name}{fraction}:{basic or _basic(moment)}Z"


def _float_text(value: float) -> str:
    text = repr(value)
    if "e" in text or "n" in text:  # RFC 5545 floats have no exponent: the same number written out
        import decimal  # (only for such a number)

        text = format(decimal.Decimal(text), "f")
    return text


def _extra_line(name: str, value: ExtraValue) -> str:
    if type(value) is int:
        return f"X-TASKVAULT-EXTRA;X-KEY={name};VALUE=INTEGER:{value}"
    if type(value) is float:
        return f"X-TASKVAULT-EXTRA;X-KEY={name};VALUE=FLOAT:{_float_text(value)}"
    return f"X-TASKVAULT-EXTRA;X-KEY={name}:{_escape(str(value))}"


def _parsed(lines: list[str]) -> list[tuple[str, dict[str, str] | None, str]] | None:
    """Kept content lines, split; None if one is not a content line the reader would take."""
    parsed = []
    for line in lines:
        if not line or len(line) > MAX_LINE_CHARS or _CONTROL.search(line) or "\r" in line:
            return None
        try:
            parsed.append(_split(line))
        except _Malformed:
            return None
    return parsed


# The value types of RFC 5545's properties that are not TEXT (or a URI or an address, which take any text), and
# the form of each: a kept line is written as it is only when its value has the form its type asks (so that a
# line a program or a person got wrong makes no file a stricter reader refuses).
_CLOCK_FORM = r"T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?"
_DURATION_FORM = rf"[+-]?P(?:[0-9]+W|[0-9]+D(?:{_CLOCK_FORM})?|{_CLOCK_FORM})"
_TIME_FORM = r"[0-9]{8}(?:T[0-9]{6}Z?)?"
_NUMBERS = r"[+-]?[0-9]{1,4}(?:,[+-]?[0-9]{1,4})*"
_RECUR_PART = (r"(?:FREQ=(?:SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)|UNTIL=" + _TIME_FORM
               + r"|(?:COUNT|INTERVAL)=[0-9]{1,9}|BY(?:SECOND|MINUTE|HOUR|MONTHDAY|YEARDAY|WEEKNO|MONTH|SETPOS)="
               + _NUMBERS + r"L?|BYDAY=[+-]?[0-9]{0,2}(?:SU|MO|TU|WE|TH|FR|SA)(?:,[+-]?[0-9]{0,2}(?:SU|MO|TU|WE|TH|FR|SA))*"
               + r"|WKST=(?:SU|MO|TU|WE|TH|FR|SA)|RSCALE=[A-Za-z0-9-]+|SKIP=(?:OMIT|BACKWARD|FORWARD))")
_VALUE_FORMS = {
    "DATE": re.compile(r"[0-9]{8}"),
    "DATE-TIME": re.compile(_TIME_FORM),  # (a DATE where a DATE-TIME is asked: RFC 5545 says VALUE=DATE, many omit it)
    "DURATION": re.compile(_DURATION_FORM),
    "PERIOD": re.compile(_TIME_FORM + "/(?:" + _TIME_FORM + "|" + _DURATION_FORM + ")"),
    "DATES": re.compile(f"(?:{_TIME_FORM}(?:/(?:{_TIME_FORM}|{_DURATION_FORM}))?)(?:,{_TIME_FORM}"
                        f"(?:/(?:{_TIME_FORM}|{_DURATION_FORM}))?)*"),
    "INTEGER": re.compile(r"[+-]?[0-9]{1,18}"),
    "FLOAT": re.compile(r"[+-]?[0-9]{1,300}(?:\.[0-9]{1,300})?"),
    "GEO": re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,20})?;[+-]?[0-9]{1,3}(?:\.[0-9]{1,20})?"),
    "RECUR": re.compile(f"{_RECUR_PART}(?:;{_RECUR_PART})*", re.IGNORECASE),
    "UTC-OFFSET": re.compile(r"[+-][0-9]{4}(?:[0-9]{2})?"),
    "BOOLEAN": re.compile(r"TRUE|FALSE", re.IGNORECASE),
    "TIME": re.compile(r"[0-9]{6}Z?"),
}
_DEFAULT_TYPE = {
    "GEO": "GEO", "PERCENT-COMPLETE": "INTEGER", "PRIORITY": "INTEGER", "REPEAT": "INTEGER", "SEQUENCE": "INTEGER",
    "COMPLETED": "DATE-TIME", "DTEND": "DATE-TIME", "DUE": "DATE-TIME", "DTSTART": "DATE-TIME",
    "RECURRENCE-ID": "DATE-TIME", "ACKNOWLEDGED": "DATE-TIME", "CREATED": "DATE-TIME", "DTSTAMP": "DATE-TIME",
    "LAST-MODIFIED": "DATE-TIME", "DURATION": "DURATION", "TRIGGER": "DURATION", "REFRESH-INTERVAL": "DURATION",
    "FREEBUSY": "PERIOD", "TZOFFSETFROM": "UTC-OFFSET", "TZOFFSETTO": "UTC-OFFSET", "RRULE": "RECUR",
    "EXRULE": "RECUR", "EXDATE": "DATES", "RDATE": "DATES",
}


def _value_fits(name: str, params: dict[str, str] | None, value: str) -> bool:
    """True when a property's value has the form of its type: its VALUE parameter's, or RFC 5545's default
    (EXDATE and RDATE: dates, whatever VALUE says)."""
    kind = _DEFAULT_TYPE.get(name)
    if kind != "DATES" and params is not None and params.get("VALUE", "").upper() in _VALUE_FORMS:
        kind = params["VALUE"].upper()
    form = _VALUE_FORMS.get(kind) if kind is not None else None
    return form is None or form.fullmatch(value) is not None


#: Components never written inside a VTODO (a file that had one there keeps it as X-TASKVAULT-EXTRA).
_NOT_INSIDE = frozenset({"VCALENDAR", "VTODO", "VEVENT", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VAVAILABILITY"})


#: What _verbatim decided for each (name, value) seen lately: many tasks of one program hold the same lines.
_VERBATIM: dict[tuple[str, str], bool] = {}


def _verbatim(key: str, value: str) -> bool:
    """True when kept lines (``value``), written into a VTODO, read back as this same extra attribute:
    properties the reader keeps as they are, named by ``key``, or whole components named by it, each BEGIN with
    its END, each value of the form its type asks."""
    known = _VERBATIM.get((key, value))
    if known is None:
        if len(_VERBATIM) >= 4096:
            _VERBATIM.clear()
        known = _VERBATIM[key, value] = _lines_verbatim(key, value.split("\n"))
    return known


def _lines_verbatim(key: str, lines: list[str]) -> bool:
    parsed = _parsed(lines)
    if parsed is None:
        return False
    opened: list[str] = []  # the components open, as the reader's stack has them
    for name, params, value in parsed:
        if name == "BEGIN":
            kind = value.upper()
            if (not _NAME.fullmatch(kind) or kind in _NOT_INSIDE or len(opened) >= MAX_DEPTH - 2
                    or (not opened and _extra_key(kind) != key)):
                return False
            opened.append(kind)
        elif name == "END":
            if not opened or opened.pop() != value.upper():
                return False
        elif (not opened and (_mapped(name, params) or _extra_key(name) != key)) or not _value_fits(
                name, params, value):
            return False
    return not opened


def _kept_form_fits(name: str, lines: list[str], task: Task) -> bool:
    """True when the exact form of a mapped property kept in extra still says what the task says, and the
    reader would keep it again: then it is written in place of the task's own form."""
    parsed = _parsed(lines)
    if (not parsed or any(p[0] != name or not _value_fits(*p) for p in parsed)
            or (name != "CATEGORIES" and len(parsed) != 1)):
        return False
    _, params, value = parsed[0]
    zones = _Zones()
    if name == "UID":
        uid = _unescape(value)
        return bool(uid) and _uuid_of(uid) == task.uuid and uid != str(task.uuid)
    if name == "SUMMARY":
        text = _unescape(value)
        return _title_of(text) == task.title and (bool(params) or task.title != text.strip()) and bool(text.strip())
    if name == "DESCRIPTION":
        return bool(params) and _unescape(value).strip() == task.note
    if name in ("DUE", "DTSTART"):
        day = _day_of(value, params, zones)
        return isinstance(day, tuple) and day[0] == (task.due if name == "DUE" else task.scheduled)
    if name == "PRIORITY":
        text = value.strip()
        return bool(_DIGITS.fullmatch(text)) and int(text) <= 9 and int(text) not in (0, 1, 5, 9) \
            and _PRIORITY_OF.get(int(text)) == task.priority
    if name == "CATEGORIES":
        props = [(0, n, p, v, "") for n, p, v in parsed]
        tags, _ = _categories(props)
        return _categories_kept(props) and tuple(sorted(set(tags))) == task.tags
    if name == "RRULE":
        return _rrule_fits(value, task, zones)
    return False


def _rrule_fits(value: str, task: Task, zones: _Zones) -> bool:
    names = {key for key, kept in task.extra if key in ("ical.EXDATE", "ical.RDATE") and type(kept) is str
             and task.status is not Status.RECURRING and _verbatim(key, kept)}  # as _vtodo writes them
    rule = _rule_read(value, task.due, task.parent, task.recur, names, zones)
    if task.status is not Status.RECURRING:  # written as it is only where the reader will not follow it either
        return not isinstance(rule, _Rule)
    assert task.due is not None and task.recur is not None
    if not isinstance(rule, _Rule) or rule.step != _step(task.recur):
        return False
    until = rule.until
    if rule.count is not None:
        try:
            until = nth_due(task.recur, task.due, rule.count)
        except InvalidValue:
            until = None
    return until == task.until and value != _rrule(task.recur, task.due, task.until)


def _vtodo(task: Task, uids: dict[uuid.UUID, str]) -> str:
    """One task as a VTODO: its content lines, folded, each ending in CRLF. (Lines whose length is fixed and
    short are not given to _fold: that is most lines, and this runs for every task.)"""
    own: dict[str, list[str]] = {}
    kept_properties: list[str] = []
    kept_components: list[str] = []
    extras: list[str] = []
    for key, value in task.extra:
        name = key[len(EXTRA_PREFIX):] if key.startswith(EXTRA_PREFIX) else None
        if name is not None and type(value) is str:
            kept = value.split("\n")
            if name == "UID" and task.uuid in uids:  # (write() found it fits)
                own[name] = kept
                continue
            if name in _KEPT_FORMS and name != "UID" and _kept_form_fits(name, kept, task):
                own[name] = kept
                continue
            if name not in _KEPT_FORMS and _verbatim(key, value) and not (
                    name in ("EXDATE", "RDATE") and task.status is Status.RECURRING):  # they would unmake the series
                (kept_components if kept[0][:6].upper() == "BEGIN:" else kept_properties).extend(kept)
                continue
        extras.append(_extra_line(key, value))
    if ("DUE" in own) != ("DTSTART" in own) and task.due is not None and task.scheduled is not None:
        # RFC 5545: DUE and DTSTART have one value type; a day for one and a time for the other would break it.
        for name in ("DUE", "DTSTART"):
            if name in own:
                extras.append(_extra_line(_extra_key(name), "\n".join(own.pop(name))))
    fold = _fold
    updated = _basic(task.updated)
    lines = [
        "BEGIN:VTODO",
        fold(own["UID"][0]) if "UID" in own else f"UID:{task.uuid}",
        f"DTSTAMP:{updated}Z",
        _instant_line("CREATED", task.created, updated if task.created == task.updated else None),
        _instant_line("LAST-MODIFIED", task.updated, updated),
        fold(own["SUMMARY"][0] if "SUMMARY" in own else "SUMMARY:" + _escape(task.title)),
    ]
    if "DESCRIPTION" in own:
        lines += map(fold, own["DESCRIPTION"])
    elif task.note:
        lines.append(fold("DESCRIPTION:" + _escape(task.note)))
    if task.status is Status.DONE:
        assert task.completed is not None
        lines += ("STATUS:COMPLETED", _instant_line("COMPLETED", task.completed))
    else:
        lines.append("STATUS:IN-PROCESS" if task.started is not None else "STATUS:NEEDS-ACTION")
    if "PRIORITY" in own:
        lines += map(fold, own["PRIORITY"])
    elif task.priority is not None:
        lines.append(f"PRIORITY:{_PRIORITY_NUMBER[task.priority]}")
    if "CATEGORIES" in own:
        lines += map(fold, own["CATEGORIES"])
    elif task.tags:
        lines.append(fold("CATEGORIES:" + ",".join(_escape(tag) for tag in task.tags)))
    if task.scheduled is not None:
        lines += map(fold, own["DTSTART"]) if "DTSTART" in own else (f"DTSTART;VALUE=DATE:{_day_text(task.scheduled)}",)
    if task.due is not None:
        lines += map(fold, own["DUE"]) if "DUE" in own else (f"DUE;VALUE=DATE:{_day_text(task.due)}",)
    template = task.status is Status.RECURRING and task.recur is not None and task.due is not None
    if template:
        assert task.recur is not None and task.due is not None
        lines += map(fold, own.get("RRULE") or ["RRULE:" + _rrule(task.recur, task.due, task.until)])
    elif "RRULE" in own:
        lines += map(fold, own["RRULE"])
    for other in task.depends:
        lines.append(fold("RELATED-TO;RELTYPE=DEPENDS-ON:" + _escape(uids.get(other) or str(other))))
    for annotation in task.annotations:
        at = annotation.at
        lines.append(fold(f"COMMENT;X-TASKVAULT-AT={_basic(at)}.{at.microsecond:06d}Z:{_escape(annotation.text)}"))
    if task.project is not None:
        lines.append(fold("X-TASKVAULT-PROJECT:" + _escape(task.project)))
    if task.wait is not None:
        lines.append(f"X-TASKVAULT-WAIT;VALUE=DATE:{_day_text(task.wait)}")
    if task.until is not None and not template:
        lines.append(f"X-TASKVAULT-UNTIL;VALUE=DATE:{_day_text(task.until)}")
    if task.started is not None:
        lines.append(_instant_line("X-TASKVAULT-STARTED", task.started))
    if task.recur is not None and (not template or _rrule_default_period(task.recur) != task.recur):
        lines.append("X-TASKVAULT-RECUR:" + task.recur)
    if task.parent is not None:
        lines.append(f"X-TASKVAULT-PARENT:{task.parent}")
    if task.parent is not None or task.status is Status.RECURRING:
        lines.append(f"X-TASKVAULT-INDEX:{task.index}")
    if extras or kept_properties or kept_components:
        lines += map(fold, extras + kept_properties + kept_components)
    lines.append("END:VTODO\r\n")
    return "\r\n".join(lines)


def write(tasks: Sequence[Task]) -> Iterator[str]:
    """``tasks`` as an iCalendar 2.0 file of VTODOs, one a task, in pieces as it goes (CRLF line ends, lines
    folded at 75 octets): what iCalendar has no property for as X-TASKVAULT-*, and what was read from
    another program's file and kept in extra written back as it was."""
    uids: dict[uuid.UUID, str] = {}  # a task read with a UID that is not a uuid is referred to by that UID
    for task in tasks:
        for key, value in task.extra:
            if key == "ical.UID" and type(value) is str and _kept_form_fits("UID", [value], task):
                uids[task.uuid] = _unescape(value.partition(":")[2])
    yield f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nX-TASKVAULT-FORMAT:{FORMAT}\r\n"
    batch: list[str] = []
    for task in tasks:
        batch.append(_vtodo(task, uids))
        if len(batch) == 200:
            yield "".join(batch)
            batch.clear()
    batch.append("END:VCALENDAR\r\n")
    yield "".join(batch)
