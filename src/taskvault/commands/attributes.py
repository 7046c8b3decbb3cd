"""Words that set a task's attributes, typed as Taskwarrior users type them: ``due:fri``, ``+home``.

``add`` and ``modify`` take a task's fields from words among the title: a known attribute name (or
an unambiguous start of one, as Taskwarrior allows: ``pri:H``) followed by a colon sets that field,
``+tag`` adds a tag and, in ``modify``, ``-tag`` removes one. Every other word is title text. A
word that looks like a mistyped attribute (``priorty:H``, ``dew:fri``) is refused with a hint rather
than saved in the title where nobody would notice, as is a known name with a capital (``Due:fri``). A
quoted word with a space in it is an attribute when it starts with one (``due:"next fri"``), else title
text; a word after ``--`` is always title text.
"""

from __future__ import annotations

import re

from ..errors import InvalidValue, UsageError, shown

#: The attributes a word may set, by their full names.
ATTRIBUTES = ("depends", "due", "priority", "project", "recur", "scheduled", "until", "wait")
#: Names a Taskwarrior user may type that are not attributes here, with what to type instead.
_OTHER_NAMES = {
    "tag": "add a tag with +TAG, remove one with -TAG",
    "tags": "add a tag with +TAG, remove one with -TAG",
    "description": "the words that are not attributes are the title",
    "status": "use done, reopen or delete",
    "annotation": "use annotate ID TEXT",
    "start": "use start ID",
    "end": "use done ID",
    "entry": "a task's creation time is set when it is added",
}
#: Taskwarrior's shortest abbreviation of an attribute name (rc.abbreviation.minimum).
_SHORTEST = 2
_ATTRIBUTE_WORD = re.compile(r"([a-z][a-z_]*):(.*)", re.DOTALL)
#: A name with a capital letter: an attribute typed with one is refused (Due:fri), other words are title text.
_UPPER_ATTRIBUTE_WORD = re.compile(r"([A-Za-z][A-Za-z_]*):(.*)", re.DOTALL)
_TAG_WORD = re.compile(r"([+-])(\S+)")


class Modifications:
    """What the words of an ``add`` or ``modify`` said: title words, attribute values as typed, tag edits."""

    __slots__ = ("add_tags", "remove_tags", "title_words", "values")

    def __init__(self) -> None:
        self.title_words: list[str] = []
        #: Each attribute named, by its full name, with its value as typed ("" to clear it).
        self.values: dict[str, str] = {}
        self.add_tags: list[str] = []
        self.remove_tags: list[str] = []

    @property
    def title(self) -> str:
        return " ".join(self.title_words)

    def __repr__(self) -> str:
        return (f"Modifications(title_words={self.title_words!r}, values={self.values!r}, "
                f"add_tags={self.add_tags!r}, remove_tags={self.remove_tags!r})")


def attribute_named(name: str) -> str | None:
    """The attribute ``name`` names, in full or by an unambiguous start of two letters or more; None if it
    starts none. InvalidValue when it starts several, or is one letter that starts one (too short to be sure)."""
    if name in ATTRIBUTES:
        return name
    starting = [a for a in ATTRIBUTES if a.startswith(name)]
    if len(starting) > 1 or (starting and len(name) < _SHORTEST):
        raise InvalidValue(f"{name} could be {' or '.join(starting)}", hint="type more of the attribute's name")
    return starting[0] if starting else None


def _typo_of(name: str) -> str | None:
    """The attribute (or other field name) ``name`` is probably a mistyping of, if any: one within one edit of it
    (two for names of six letters or more), letters swapped counting as one. ``dew`` is due; ``mailto`` and
    ``eta`` are nothing."""
    for known in (*ATTRIBUTES, *_OTHER_NAMES):
        if _edits(name, known) <= (2 if len(known) >= 6 else 1) and len(name) >= 3:
            return known
    return None


def _edits(a: str, b: str) -> int:
    """The optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    if abs(len(a) - len(b)) > 2:
        return 3
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def split_modifications(words: tuple[str, ...] | list[str], *, literal_from: int, command: str,
                        removes_tags: bool) -> Modifications:
    """Sort ``words`` into title words, attribute values and tag edits (see the module's docstring).

    ``literal_from`` is where the words given after ``--`` begin; ``removes_tags`` says whether ``-tag``
    removes a tag (modify) or is title text (add, where a new task has no tag to remove).
    """
    found = Modifications()
    for index, word in enumerate(words):
        if index >= literal_from:
            found.title_words.append(word)
            continue
        if any(ch.isspace() for ch in word):  # quoted: an attribute's value (due:"next fri"), else title text
            match = _ATTRIBUTE_WORD.fullmatch(word)
            attribute = _known_or_none(match.group(1)) if match is not None else None
            if match is None or attribute is None:
                found.title_words.append(word)
            else:
                _put(found, attribute, match.group(2), command)
            continue
        tag = _TAG_WORD.fullmatch(word)
        if tag is not None and (tag.group(1) == "+" or removes_tags):
            (found.add_tags if tag.group(1) == "+" else found.remove_tags).append(tag.group(2))
            continue
        match = _ATTRIBUTE_WORD.fullmatch(word)
        if match is None:
            upper = _UPPER_ATTRIBUTE_WORD.fullmatch(word)
            if upper is not None and (upper.group(1).lower() in ATTRIBUTES or _typo_of(upper.group(1).lower())):
                lower = upper.group(1).lower()
                raise UsageError(f"{command}: {shown(word)}: attribute names are lower case",
                                 hint=f"write {_typo_of(lower) or lower}:…; to keep the word in the title, put -- "
                                      "before it")
            found.title_words.append(word)
            continue
        name, value = match.group(1), match.group(2)
        try:
            attribute = attribute_named(name)
        except InvalidValue as error:
            raise UsageError(f"{command}: {shown(word)}: {error.message}",
                             hint=f"{error.hint}; to keep the word in the title, put -- before it") from None
        if attribute is None:
            if name in _OTHER_NAMES:
                raise UsageError(f"{command}: {shown(word)}: {name} is not set this way",
                                 hint=f"{_OTHER_NAMES[name]}; to keep the word in the title, put -- before it")
            typo = _typo_of(name)
            if typo is not None:
                raise UsageError(f"{command}: {shown(word)} looks like a mistyped attribute",
                                 hint=f"did you mean {typo}:? To keep the word in the title, put -- before it "
                                      "or quote it with other words")
            found.title_words.append(word)
            continue
        _put(found, attribute, value, command)
    return found


def _known_or_none(name: str) -> str | None:
    """The attribute ``name`` names (attribute_named), or None when it names none or several."""
    try:
        return attribute_named(name)
    except InvalidValue:
        return None


def _put(found: Modifications, attribute: str, value: str, command: str) -> None:
    if attribute in found.values and found.values[attribute] != value:
        raise UsageError(f"{command}: {attribute} is given twice ({shown(found.values[attribute])} and "
                         f"{shown(value)})", hint="give it once")
    found.values[attribute] = value
