"""Attribute words among a title (commands/attributes.py): what is a field, a tag, or title text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskvault.commands.attributes import ATTRIBUTES, attribute_named, split_modifications
from taskvault.errors import InvalidValue, UsageError


def _split(*words: str, literal_from: int | None = None, removes_tags: bool = True):  # type: ignore[no-untyped-def]
    return split_modifications(words, literal_from=len(words) if literal_from is None else literal_from,
                               command="add", removes_tags=removes_tags)


def test_known_names_and_their_unambiguous_starts_are_attributes() -> None:
    found = _split("Fix", "the", "sink", "project:home.kitchen", "+plumbing", "due:fri", "pri:H", "sched:mon",
                   "dep:3,4", "wa:tue", "until:eom")
    assert found.title == "Fix the sink"
    assert found.values == {"project": "home.kitchen", "due": "fri", "priority": "H", "scheduled": "mon",
                            "depends": "3,4", "wait": "tue", "until": "eom"}
    assert found.add_tags == ["plumbing"]
    for name in ATTRIBUTES:
        assert attribute_named(name) == name


@pytest.mark.parametrize("word, hint", [("priorty:H", "priority"), ("dependz:3", "depends"), ("projet:x", "project"),
                                        ("tags:x", "+TAG"), ("sheduled:mon", "scheduled"), ("status:done", "done")])
def test_a_word_like_a_mistyped_attribute_is_refused_with_a_hint(word: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        _split("Call", "the", "bank", word)
    assert hint in (caught.value.hint or ""), caught.value.hint
    assert "--" in (caught.value.hint or "")


@pytest.mark.parametrize("word", ["Due:fri", "PRIORITY:H", "Priorty:H"])
def test_an_attribute_name_with_a_capital_is_refused(word: str) -> None:
    with pytest.raises(UsageError, match="lower case"):
        _split("Pay", word)


@pytest.mark.parametrize("word", ["p:H", "d:fri", "pr:H"])
def test_a_start_of_several_names_is_refused_as_ambiguous(word: str) -> None:
    with pytest.raises(UsageError, match="could be"):
        _split("Pay", word)


@pytest.mark.parametrize("word", ["10:30", "http://example.com", "Re:", "Note:", "a:b", "x:", "ÿ:z", "-3", "+",
                                  "C++", "1:1", "mailto:a@b", "eta:friday", "st:x", "Mailto:x"])
def test_words_that_name_no_attribute_are_title_text(word: str) -> None:
    assert _split("Meet", word, removes_tags=False).title_words == ["Meet", word]


def test_words_after_double_dash_or_with_a_space_stay_literal() -> None:
    found = _split("Read", "priorty:H", "due:fri", literal_from=1)
    assert found.title == "Read priorty:H due:fri" and found.values == {}
    assert _split("due:next fri").values == {"due": "next fri"}, "a quoted value keeps its spaces"
    assert _split("the due:fri part").title == "the due:fri part"
    assert _split("+home and", "+x").add_tags == ["x"]


def test_minus_tag_removes_only_where_a_task_has_tags_to_remove() -> None:
    assert _split("-home", removes_tags=True).remove_tags == ["home"]
    assert _split("-home", removes_tags=False).title_words == ["-home"]


def test_an_attribute_given_twice_with_two_values_is_refused() -> None:
    assert _split("x", "due:fri", "due:fri").values == {"due": "fri"}
    with pytest.raises(UsageError, match="given twice"):
        _split("x", "due:fri", "du:mon")


@given(st.lists(st.text(max_size=12), max_size=8))
def test_every_word_lands_somewhere_or_is_refused(words: list[str]) -> None:
    """No word is lost: each is title text (in order), a tag edit, or an attribute whose value is kept; or the
    whole line is refused."""
    try:
        found = _split(*words)
    except (UsageError, InvalidValue):
        return
    title = list(found.title_words)
    for word in words:
        if title and word == title[0]:
            title.pop(0)
        elif (word[:1] == "+" and word[1:] in found.add_tags) or (word[:1] == "-" and word[1:] in found.remove_tags):
            pass
        else:
            _, colon, value = word.partition(":")
            assert colon and value in found.values.values(), (word, found)
    assert title == [], "every title word comes from the words typed, in their order"
