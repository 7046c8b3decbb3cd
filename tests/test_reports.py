"""Which tasks a report looks at (commands/reports.py): the filter decides by what it names, not by its text."""

from __future__ import annotations

import datetime as dt

import pytest

from taskvault.commands.reports import mentions_hidden, show_for, split_report_words
from taskvault.domain.filtering import parse_filter
from taskvault.domain.query import Show
from taskvault.errors import InvalidValue

_TODAY = dt.date(2026, 12, 2)


@pytest.mark.parametrize("words, named", [
    (["+WAITING"], True), (["-WAITING"], True), (["status:waiting"], True), (["wait.before:eom"], True),
    (["wa:"], True), (["until:"], True), (["+UNTIL"], True), (["not +WAITING and +home"], True),
    (["await"], False), (["/wait here/"], False), (["title.has:until"], False), (["+waiting"], False),
    (["status:open"], False), (["project:waitlist"], False),
])
def test_only_a_term_about_waiting_or_expiry_unhides_them(words: list[str], named: bool) -> None:
    """A title word such as 'await' or a tag 'waiting' must not show the tasks a list hides (it did, when the
    description's text was searched for 'wait')."""
    assert mentions_hidden(parse_filter(words, today=_TODAY)) is named


@pytest.mark.parametrize("words, asked, show", [
    (["status:done"], Show.OPEN, Show.DONE), (["+COMPLETED"], Show.OPEN, Show.DONE), (["+OVERDUE"], Show.OPEN, Show.OPEN),
    (["+TEMPLATE"], Show.OPEN, Show.ALL), (["+home"], Show.OPEN, Show.OPEN), (["status:done"], Show.ALL, Show.ALL),
])
def test_a_status_the_filter_pins_decides_unless_an_option_did(words: list[str], asked: Show, show: Show) -> None:
    assert show_for(parse_filter(words, today=_TODAY), asked) is show
    assert show_for(None, asked) is asked


def test_report_words_are_taken_out_of_the_filter() -> None:
    words = split_report_words(["+home", "sort:due+", "limit:5", "fix"])
    assert (words.filter_words, words.sort, words.limit) == (["+home", "fix"], "due+", 5)
    assert split_report_words(["limit:page"]).limit == "page"
    for bad in ("limit:0", "limit:x", "sort:", "limit:99999999"):
        with pytest.raises(InvalidValue):
            split_report_words([bad])
