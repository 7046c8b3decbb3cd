"""Reading the values people type: ids, priorities, dates, tags."""

from __future__ import annotations

import re

from ..errors import InvalidValue, shown, typed
from ..limits import MAX_IDS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    import datetime as dt

    from ..domain.task import Priority
    from ..domain.tasklist import TaskList

# The task model (attrs, datetime) is imported by the parsers that return its values, not here:
# the catalog reads PRIORITY_WORDS and cli/config.py parse_count, for `taskvault help` too.

PRIORITY_WORDS = ("low", "medium", "high", "none")
_ID = re.compile(r"[1-9][0-9]{0,17}")
_RANGE = re.compile(r"([1-9][0-9]{0,17})-([1-9][0-9]{0,17})")
#: A count as typed: ASCII digits only (str.isdigit() also takes '²', which int() refuses), and few of them.
_COUNT = re.compile(r"[0-9]{1,9}")
#: The start of a task's uuid, as show prints it (dashes kept or left out): at least 8 hex digits.
_UUID_PREFIX = re.compile(r"(?=(?:-?[0-9a-fA-F]){8})[0-9a-fA-F][0-9a-fA-F-]{7,35}")
#: Fewer hex digits than this name no task by its uuid: a short word is far more likely a mistyped id.
UUID_PREFIX_MIN = 8

def _id_hint() -> str:
    return (f"task ids are whole numbers from 1 up, such as 3, 3,4 or 3-6, or the start of a task's uuid, 8 hex "
            f"digits or more; '{typed('list')}' shows them")


def is_uuid_prefix(text: str) -> bool:
    """True if ``text`` may be the start of a task's uuid (8 hex digits or more; an id is tried first)."""
    return _UUID_PREFIX.fullmatch(text) is not None and "--" not in text


def by_uuid_prefix(text: str, tasks: TaskList) -> int:
    """The id, on this device, of the one task whose uuid starts with ``text``.

    Ids belong to a device and the uuid is a task's identity on every device, so a uuid (or its start, as
    another device's show printed it) names a task anywhere. NoTaskMatches if none does; InvalidValue
    naming how many if more than one does."""
    from ..errors import NoTaskMatches

    digits = text.replace("-", "").lower()
    found = [task.id for task in tasks if task.uuid.hex.startswith(digits)]
    if not found:
        raise NoTaskMatches(f"no task's uuid starts with {shown(text)}",
                            hint=f"'{typed('show ID')}' prints a task's uuid; '{typed('list --all')}' shows the ids")
    if len(found) > 1:
        raise InvalidValue(f"{shown(text)} is the start of {len(found)} tasks' uuids",
                           hint="give more of the uuid, or the task's id")
    return found[0]


def parse_id(text: str, command: str | None = None, *, tasks: TaskList | None = None) -> int:
    """One id; ``command`` names a command that takes only one, so its hint offers no lists or ranges. With
    ``tasks``, the start of a task's uuid names that task too (a number is an id, unless no task has that id
    and it is long enough to be a uuid's start that one has)."""
    if tasks is not None and is_uuid_prefix(text):
        if not (text.isascii() and text.isdigit()):
            return by_uuid_prefix(text, tasks)
        if not (_ID.fullmatch(text) and int(text) in tasks):
            try:
                return by_uuid_prefix(text, tasks)
            except (InvalidValue, LookupError):
                pass  # (digits alone: an id, said as such when it is none)
    if not _ID.fullmatch(text):
        if command is None:
            raise InvalidValue(f"{shown(text)} is not a task id", hint=_id_hint())
        several = "," in text or _RANGE.fullmatch(text) is not None
        raise InvalidValue(f"{command} takes one task id, not {shown(text)}" if several
                           else f"{shown(text)} is not a task id",
                           hint=f"give one id, a whole number from 1 up, such as 3, or the start of the task's uuid, "
                           f"8 hex digits or more; '{typed('list')}' shows them")
    return int(text)


def parse_count(text: str, what: str, *, lowest: int, highest: int) -> int:
    """A whole number from ``lowest`` to ``highest``, or InvalidValue saying ``what`` it should be."""
    if _COUNT.fullmatch(text) and lowest <= int(text) <= highest:
        return int(text)
    raise InvalidValue(f"{shown(text)} is not {what}", hint=f"give a whole number from {lowest} to {highest}")


def parse_ids(words: tuple[str, ...] | list[str], *, tasks: TaskList | None = None) -> list[int]:
    """Ids given as ``3 4``, ``3,4`` or ``3-6``; duplicates dropped, order kept. With ``tasks``, the start of
    a task's uuid names it too (see parse_id)."""
    ids: list[int] = []
    for word in words:
        for part in word.split(","):
            if not part and "," in word:
                continue
            span = _RANGE.fullmatch(part)
            if span and tasks is not None and is_uuid_prefix(part):  # (12345678-1234: a uuid's start, or ids?)
                try:
                    ids.append(by_uuid_prefix(part, tasks))
                    continue
                except (InvalidValue, LookupError):
                    pass
            if span:
                low, high = int(span.group(1)), int(span.group(2))
                if high < low:
                    raise InvalidValue(f"{shown(part)} is not a usable range of ids: it ends before it starts",
                                       hint=_id_hint())
                if high - low >= MAX_IDS:
                    raise InvalidValue(f"the range {shown(part)} names {high - low + 1:,} ids; a command takes at "
                                       f"most {MAX_IDS:,}", hint="split the change into several commands")
                ids.extend(range(low, high + 1))
            else:
                ids.append(parse_id(part, tasks=tasks))
            if len(ids) > MAX_IDS:
                raise InvalidValue(f"a command takes at most {MAX_IDS:,} task ids at once",
                                   hint="split the change into several commands")
    return list(dict.fromkeys(ids))


def parse_priority(text: str) -> Priority | None:
    from ..domain.task import Priority

    word = text.strip().casefold()
    if word == "none":
        return None
    for priority in Priority:
        if priority.value == word or priority.value[0] == word:
            return priority
    raise InvalidValue(f"{shown(text)} is not a priority", hint="use low, medium, high or none; l, m and h also work")


def parse_due(text: str, today: dt.date) -> dt.date:
    from ..domain.dates import parse_date

    return parse_date(text, today=today)


def split_tag_edits(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``+tag`` or ``tag`` adds, ``-tag`` removes; returns (added, removed)."""
    added, removed = [], []
    for word in words:
        if word.startswith("-"):
            removed.append(word[1:])
        else:
            added.append(word.removeprefix("+"))
    return tuple(added), tuple(removed)
