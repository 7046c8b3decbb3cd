"""Reports over a filter: which tasks a list or ``next`` shows, in what order, how many.

A report's words are a filter (domain/filtering.py) plus two report words Taskwarrior users type
after it: ``sort:urgency-,due+`` and ``limit:N`` (or ``limit:page``). Without a filter word a plain
``list`` keeps its fast path (codec/listing.py); with one, only the tasks that may match are built.
"""

from __future__ import annotations

import datetime as dt
import re

from ..domain.filtering import EMPTY_CONTEXT, Filter, FilterContext, parse_filter
from ..domain.query import Show
from ..domain.task import Status, Task
from ..domain.tasklist import TaskList
from ..errors import InvalidValue, shown

#: The most rows ``limit:N`` may ask for.
LIMIT_MAX = 1_000_000
_REPORT_WORD = re.compile(r"(sort|limit):(.*)", re.DOTALL)


class ReportWords:
    """A report's words, split: the filter's, and the report's own ``sort:`` and ``limit:``."""

    __slots__ = ("filter_words", "limit", "sort")

    def __init__(self, filter_words: list[str], sort: str | None, limit: int | str | None) -> None:
        self.filter_words = filter_words
        self.sort = sort
        #: A number of rows, "page" (what fits the terminal), or None (all).
        self.limit = limit


def split_report_words(words: tuple[str, ...] | list[str]) -> ReportWords:
    """Take ``sort:SPEC`` and ``limit:N|page`` out of ``words``; the rest is the filter."""
    filter_words: list[str] = []
    sort: str | None = None
    limit: int | str | None = None
    for word in words:
        match = _REPORT_WORD.fullmatch(word)
        if match is None:
            filter_words.append(word)
            continue
        name, value = match.groups()
        if name == "sort":
            if not value:
                raise InvalidValue("sort: needs fields", hint="such as sort:urgency-,due+")
            sort = value
        elif value == "page":
            limit = "page"
        elif re.fullmatch(r"[0-9]{1,7}", value) and 1 <= int(value) <= LIMIT_MAX:
            limit = int(value)
        else:
            raise InvalidValue(f"{shown(word)}: a limit is a number of rows from 1 to {LIMIT_MAX:,}, or page",
                               hint="such as limit:20 or limit:page")
    return ReportWords(filter_words, sort, limit)


#: The names of terms that ask about what a report hides by default: waiting and expired tasks.
_HIDDEN_NAMES = frozenset({"WAITING", "UNTIL", "wait", "until"})


def mentions_hidden(flt: Filter) -> bool:
    """True when the filter names what a report hides by default (+WAITING, status:waiting, wait:…, +UNTIL,
    until:…): then the report does not also hide the waiting and the expired tasks. (A word such as 'await' in a
    title names nothing.)"""
    for text in flt.term_texts():
        name, _, value = text.lstrip("+-").partition(":")
        if name.partition(".")[0] in _HIDDEN_NAMES or (name.startswith("status") and value == "waiting"):
            return True
    return False


def show_for(flt: Filter | None, asked: Show) -> Show:
    """Which tasks a report looks at: ``asked`` (by --all or --done, or the report's default, the open ones), unless
    the filter pins a status itself (status:done, +COMPLETED, +TEMPLATE): then the ones of that status."""
    if flt is None or flt.status_hint is None or asked is not Show.OPEN:
        return asked
    return {Status.OPEN: Show.OPEN, Status.DONE: Show.DONE}.get(flt.status_hint, Show.ALL)


def candidates(tasks: TaskList, flt: Filter, status: Status | None) -> list[Task]:
    """The tasks ``flt`` may match, built: only those of ``status`` (None: any) or the ids it names."""
    ids = flt.ids
    if ids is not None:
        return [tasks.get(i) for i in sorted(ids) if i in tasks]
    return list(tasks.narrowed(status, (), None))


def context_for(tasks: TaskList, flt: Filter | None, *, always: bool = False) -> FilterContext:
    """The context a filter (or urgency, ``always``) needs about the other tasks: built only when it does."""
    if always or (flt is not None and flt.needs_context):
        return FilterContext.build(tasks)
    return EMPTY_CONTEXT


def parse_report_filter(words: list[str], today: dt.date) -> Filter | None:
    """The filter ``words`` say, or None when there are none."""
    if not words:
        return None
    return parse_filter(words, today=today)
