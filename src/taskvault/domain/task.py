"""A task and the rules its fields obey."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid

import attrs

from ..errors import InvalidValue, shown

TITLE_MAX = 500
NOTE_MAX = 10_000
TAG_MAX = 64
TAGS_MAX = 50


class Status(enum.Enum):
    OPEN = "open"
    DONE = "done"


class Priority(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Higher is more urgent; used for sorting."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}


# Unicode category Cc is exactly U+0000-001F and U+007F-009F; Cs (lone surrogates, which is
# what undecodable bytes from argv or a file become) is U+D800-DFFF. A regex checks both at C speed.
# Compiled on first use (by re's cache), not at import: these two classes cost some 0.8 ms to compile,
# and text that is printable throughout, which holds neither, never needs them.
_CONTROL = "[\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_CONTROL_BUT_NEWLINE_TAB = "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]"


def _has_control(text: str, allowed: str = "") -> bool:
    """True for control characters and lone surrogates; ``allowed`` may only be "" or "\n\t"."""
    if text.isprintable():  # neither a control character nor a surrogate is printable: at C speed, no pattern
        return False
    return re.search(_CONTROL_BUT_NEWLINE_TAB if allowed else _CONTROL, text) is not None


def normalize_title(raw: str) -> str:
    """Trim a title and check it; raise InvalidValue when it breaks a rule."""
    title = raw.strip()
    if not title:
        raise InvalidValue("a task needs a title", hint="give a title of 1 to 500 characters")
    if len(title) > TITLE_MAX:
        raise InvalidValue(
            f"the title is {len(title)} characters long; the most is {TITLE_MAX}",
            hint="shorten the title, or put the details in --note",
        )
    if _has_control(title):
        raise InvalidValue("the title contains a control character (such as a newline or tab)",
                           hint="use plain text in titles; notes may span lines")
    return title


def normalize_note(raw: str) -> str:
    """Strip trailing white space from a note and check it."""
    note = raw.strip()
    if len(note) > NOTE_MAX:
        raise InvalidValue(f"the note is {len(note)} characters long; the most is {NOTE_MAX}")
    if _has_control(note, allowed="\n\t"):
        raise InvalidValue("the note contains a control character other than newline or tab")
    return note


def normalize_tag(raw: str) -> str:
    """Lower-case a tag and check it is one word of printable characters."""
    tag = raw.strip().casefold()
    if not tag:
        raise InvalidValue("a tag cannot be empty")
    if tag[0] in "+-":
        raise InvalidValue(f"a tag cannot start with '{tag[0]}': {shown(raw)}",
                           hint="'+tag' and '-tag' add and remove tags in 'edit'")
    if len(tag) > TAG_MAX:
        raise InvalidValue(f"the tag {shown(raw)} is longer than {TAG_MAX} characters")
    if any(ch.isspace() for ch in tag) or _has_control(tag) or "," in tag:
        raise InvalidValue(f"the tag {shown(raw)} must be one word without spaces, commas or control characters")
    return tag


def normalize_tags(raw: object) -> tuple[str, ...]:
    """Normalise, de-duplicate and sort tags."""
    tags = tuple(sorted({normalize_tag(t) for t in raw}))  # type: ignore[attr-defined]
    if len(tags) > TAGS_MAX:
        raise InvalidValue(f"a task can have at most {TAGS_MAX} tags")
    return tags


# The checks below run for every task built, including each one a store loads, so each has a
# fast path for the common case that decides exactly as the full rule does, and falls back to it.


def _check_title(_inst: object, _attr: object, value: str) -> None:
    # Printable (no control, separator or surrogate, but the space) and not starting or ending in
    # a space: then strip() changes nothing and no control character is in it.
    if 0 < len(value) <= TITLE_MAX and value.isprintable() and value[0] != " " and value[-1] != " ":
        return
    if normalize_title(value) != value:
        raise InvalidValue(f"the title {value!r} is not trimmed")


def _check_note(_inst: object, _attr: object, value: str) -> None:
    if not value:
        return
    if normalize_note(value) != value:
        raise InvalidValue("the note is not trimmed")


#: Tag tuples already found normalised; most tasks share a few, so most checks are one lookup.
_NORMAL_TAGS: set[tuple[str, ...]] = set()


def _check_tags(_inst: object, _attr: object, value: tuple[str, ...]) -> None:
    if type(value) is tuple and (not value or value in _NORMAL_TAGS):
        return
    if normalize_tags(value) != value:
        raise InvalidValue(f"the tags {list(value)!r} are not normalised (lower case, sorted, unique)")
    if len(_NORMAL_TAGS) < 4096:
        _NORMAL_TAGS.add(value)


def _check_utc(_inst: object, attr: attrs.Attribute, value: dt.datetime | None) -> None:  # type: ignore[type-arg]
    if value is None or value.tzinfo is dt.UTC:
        return
    if value.utcoffset() != dt.timedelta(0):
        raise InvalidValue(f"{attr.name} must be a UTC timestamp")


def _check_id(_inst: object, _attr: object, value: int) -> None:
    if type(value) is not int or value < 1:
        raise InvalidValue(f"a task id must be a positive whole number, not {value!r}")


@attrs.frozen
class Task:
    """One task. Immutable: every change makes a new Task with ``attrs.evolve``."""

    id: int = attrs.field(validator=_check_id)
    uuid: uuid.UUID
    title: str = attrs.field(validator=_check_title)
    created: dt.datetime = attrs.field(validator=_check_utc)
    updated: dt.datetime = attrs.field(validator=_check_utc)
    note: str = attrs.field(default="", validator=_check_note)
    status: Status = Status.OPEN
    priority: Priority | None = None
    due: dt.date | None = None
    tags: tuple[str, ...] = attrs.field(default=(), validator=_check_tags)
    completed: dt.datetime | None = attrs.field(default=None, validator=_check_utc)

    def __attrs_post_init__(self) -> None:
        if (self.status is Status.DONE) != (self.completed is not None):
            raise InvalidValue("a task has a completion time exactly when it is done")
        if self.updated < self.created:
            raise InvalidValue("a task cannot be updated before it was created")

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN


def tags_known_normal(value: tuple[str, ...]) -> bool:
    """True if ``value`` passes Task's rule for tags (a tuple of tags already normalised)."""
    try:
        _check_tags(None, None, value)
    except (InvalidValue, AttributeError, TypeError):
        return False
    return True


def title_known_normal(value: str) -> bool:
    """True if the string ``value`` passes Task's rule for titles."""
    try:
        _check_title(None, None, value)
    except InvalidValue:
        return False
    return True


def note_known_normal(value: str) -> bool:
    """True if the string ``value`` passes Task's rule for notes."""
    try:
        _check_note(None, None, value)
    except InvalidValue:
        return False
    return True


_new_task = object.__new__
_SLOT_SETTERS = tuple(Task.__dict__[a.name].__set__ for a in attrs.fields(Task))
(_set_id, _set_uuid, _set_title, _set_created, _set_updated, _set_note, _set_status, _set_priority, _set_due,
 _set_tags, _set_completed) = _SLOT_SETTERS


def trusted_task(id: int, uuid: uuid.UUID, title: str, created: dt.datetime,
                 updated: dt.datetime, note: str, status: Status, priority: Priority | None, due: dt.date | None,
                 tags: tuple[str, ...], completed: dt.datetime | None) -> Task:
    """The Task these values make, built without running its rules.

    Only for values already proven to obey every rule Task checks: the codec's fast path, which
    checks each one itself while it reads a store (tests/test_codec_fast.py holds it to the same
    decisions as Task and the explaining converter). It costs a third of Task(...).
    """
    task = _new_task(Task)
    _set_id(task, id)
    _set_uuid(task, uuid)
    _set_title(task, title)
    _set_created(task, created)
    _set_updated(task, updated)
    _set_note(task, note)
    _set_status(task, status)
    _set_priority(task, priority)
    _set_due(task, due)
    _set_tags(task, tags)
    _set_completed(task, completed)
    return task
