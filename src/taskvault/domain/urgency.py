"""Urgency: one number that orders tasks by how pressing they are, as Taskwarrior 2.6 computes it.

Urgency is a sum of terms, each a coefficient times a factor from 0 to 1 that one quality of the task
decides (Taskwarrior's src/Task.cpp, ``Task::urgency_c`` and the ``urgency_*`` functions; its defaults
in src/Context.cpp). Days are whole days: ``today`` stands for the start of the day.

=====================  =======  =====================================================================
coefficient (key)      default  factor
=====================  =======  =====================================================================
``tag.next``           15.0     1 if the task has the tag ``next`` (a user tag coefficient, below)
``due``                12.0     0 without a due date; else by days overdue, ``d = today - due``:
                                1.0 when d >= 7; ``0.2 + 0.8 * (d + 14) / 21`` when -14 <= d < 7
                                (0.733 due today, 0.2 two weeks ahead); 0.2 when d < -14
``blocking``           8.0      1 if the task is open and an open task depends on it
``priority.H``         6.0      1 if the priority is high
``priority.M``         3.9      1 if the priority is medium
``priority.L``         1.8      1 if the priority is low
``scheduled``          5.0      1 if it has a scheduled date on or before today
``active``             4.0      1 if it was started
``age``                2.0      the days since it was created over ``age.max``, at most 1
                                (and 1 when ``age.max`` is 0)
``age.max``            365      not a coefficient: the age, in days, at which the age factor is full
``annotations``        1.0      0, 0.8, 0.9, 1.0 for 0, 1, 2, 3 or more annotations
``tags``               1.0      0, 0.8, 0.9, 1.0 for 0, 1, 2, 3 or more tags
``project``            1.0      1 if it has a project
``waiting``            -3.0     1 if it is open and its wait date is after today
``blocked``            -5.0     1 if it is open and depends on an open task
``tag.NAME``           (none)   1 if it has the tag NAME (``tag.next`` is the one set by default)
``project.NAME``       (none)   1 if its project is NAME or below it (NAME.sub)
=====================  =======  =====================================================================

``Coefficients.from_mapping`` reads these keys (Taskwarrior's own spellings too, such as
``urgency.due.coefficient`` or ``urgency.user.tag.next.coefficient``), so a configuration file can
change any of them. Taskwarrior's ``urgency.inherit`` and keyword and UDA coefficients are not kept.

``sort_key("urgency-,due+,project")`` orders by fields: ``+`` ascending, ``-`` descending, and each
field's own direction when neither is given (urgency and priority descending, the rest ascending).
A task without the field's value comes last either way, and the id breaks ties.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..errors import InvalidValue, shown
from .filtering import EMPTY_CONTEXT, FilterContext
from .task import Priority, Status, Task, normalize_project, normalize_tag

_SCALARS = ("due", "blocking", "scheduled", "active", "age", "age.max", "annotations", "tags", "project", "waiting",
            "blocked")
_PRIORITY_KEYS = {"h": "priority_high", "high": "priority_high", "m": "priority_medium", "medium": "priority_medium",
                  "l": "priority_low", "low": "priority_low"}


def _pairs(value: Mapping[str, float] | tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), float(v)) for k, v in items))


@attrs.frozen
class Coefficients:
    """The weight of each urgency term; the defaults are Taskwarrior 2.6's."""

    due: float = 12.0
    blocking: float = 8.0
    priority_high: float = 6.0
    priority_medium: float = 3.9
    priority_low: float = 1.8
    scheduled: float = 5.0
    active: float = 4.0
    age: float = 2.0
    age_max: float = 365.0
    annotations: float = 1.0
    tags: float = 1.0
    project: float = 1.0
    waiting: float = -3.0
    blocked: float = -5.0
    #: Per tag: added when the task has the tag.
    tag_coefficients: tuple[tuple[str, float], ...] = attrs.field(default=(("next", 15.0),), converter=_pairs)
    #: Per project: added when the task's project is it or below it.
    project_coefficients: tuple[tuple[str, float], ...] = attrs.field(default=(), converter=_pairs)

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any]) -> Coefficients:
        """The defaults with ``overrides`` applied: keys such as ``due``, ``priority.H``, ``tag.next``,
        ``project.home``, ``age.max`` (or Taskwarrior's ``urgency.due.coefficient``); values numbers."""
        changes: dict[str, float] = {}
        tags = dict(cls().tag_coefficients)
        projects: dict[str, float] = {}
        for raw_key, raw_value in overrides.items():
            key = _plain_key(str(raw_key))
            value = _number(raw_key, raw_value)
            head, _, rest = key.partition(".")
            if key in _SCALARS:
                if key == "age.max" and value < 0:
                    raise InvalidValue(f"urgency age.max must be 0 or more days, not {raw_value!r}")
                changes[key.replace(".", "_")] = value
            elif head == "priority" and rest.casefold() in _PRIORITY_KEYS:
                changes[_PRIORITY_KEYS[rest.casefold()]] = value
            elif head == "tag" and rest:
                tags[normalize_tag(rest)] = value
            elif head == "project" and rest:
                projects[normalize_project(rest)] = value
            else:
                import difflib  # only for this message: an import costs every command

                known = [*_SCALARS, "priority.H", "priority.M", "priority.L", "tag.NAME", "project.NAME"]
                close = difflib.get_close_matches(key, known, n=1)
                raise InvalidValue(f"{shown(str(raw_key))} is not an urgency coefficient",
                                   hint=(f"did you mean {close[0]!r}? " if close else "") + "use one of " + ", ".join(known))
        return attrs.evolve(cls(), **changes, tag_coefficients=tags, project_coefficients=projects)


def _plain_key(key: str) -> str:
    """``urgency.user.tag.next.coefficient`` → ``tag.next``; ``urgency.uda.priority.H.coefficient`` → ``priority.H``."""
    for prefix in ("urgency.user.", "urgency.uda.", "urgency."):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return key.removesuffix(".coefficient")


def _number(key: object, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidValue(f"the urgency coefficient {shown(str(key))} must be a number, not {shown(str(value))}",
                           hint="such as 5, -3 or 1.5")
    return number


def _day_start(today: dt.date) -> dt.datetime:
    return dt.datetime.combine(today, dt.time()).astimezone()


def due_factor(due: dt.date | None, today: dt.date) -> float:
    """Taskwarrior's urgency_due: 1.0 a week overdue, 0.2 two weeks ahead, linear between."""
    if due is None:
        return 0.0
    overdue = (today - due).days
    if overdue >= 7:
        return 1.0
    if overdue >= -14:
        return (overdue + 14) * 0.8 / 21 + 0.2
    return 0.2


def urgency(task: Task, ctx: FilterContext, coefficients: Coefficients, today: dt.date) -> float:
    """The task's urgency (see the module's table)."""
    return urgency_of(ctx, coefficients, today)(task)


def urgency_of(ctx: FilterContext, coefficients: Coefficients, today: dt.date) -> Callable[[Task], float]:
    """``urgency`` with its arguments but the task fixed: for many tasks, the work that does not depend
    on the task is done once."""
    k = coefficients
    start = _day_start(today)
    age_days, age_max = (k.age_max, k.age_max) if k.age_max > 0 else (-1.0, 1.0)
    HIGH, MEDIUM = Priority.HIGH, Priority.MEDIUM  # locals: faster to read than the enum's attributes
    high_k, medium_k, low_k = k.priority_high, k.priority_medium, k.priority_low
    start_seconds = start.timestamp()
    counted = (0.0, 0.8, 0.9)
    open_uuids, depended_on = ctx.open_uuids, ctx.depended_on
    OPEN = Status.OPEN  # a local: faster to read than the enum's attribute
    tag_weights, project_weights = k.tag_coefficients, k.project_coefficients
    due_k, annotations_k, tags_k, age_k = k.due, k.annotations, k.tags, k.age

    def of(task: Task) -> float:
        value = 0.0
        if (p := task.priority) is not None:  # by identity: an enum's hash is computed in Python
            value = high_k if p is HIGH else medium_k if p is MEDIUM else low_k
        if task.project is not None:
            value += k.project
            for name, weight in project_weights:
                if task.project == name or task.project.startswith(name + "."):
                    value += weight
        if task.started is not None:
            value += k.active
        if task.scheduled is not None and task.scheduled <= today:
            value += k.scheduled
        is_open = task.status is OPEN
        if is_open and task.wait is not None and task.wait > today:
            value += k.waiting
        if task.depends and is_open and not open_uuids.isdisjoint(task.depends):
            value += k.blocked
        if depended_on and is_open and task.uuid in depended_on:
            value += k.blocking
        if task.annotations:
            n = len(task.annotations)
            value += annotations_k * (counted[n] if n < 3 else 1.0)
        if task.tags:
            n = len(task.tags)
            value += tags_k * (counted[n] if n < 3 else 1.0)
            for tag, weight in tag_weights:
                if tag in task.tags:
                    value += weight
        if task.due is not None:
            value += due_k * due_factor(task.due, today)
        if age_k:
            days = -((task.created.timestamp() - start_seconds) // 86400)  # whole days, rounded up
            value += age_k * (1.0 if days > age_days else max(days, 0) / age_max)
        return value

    return of


# --- sorting ---------------------------------------------------------------------------------------------


class _Descending:
    """A value that sorts in the reverse of its own order (for text sorted descending)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def _date(value: dt.date | None) -> int | None:
    return None if value is None else value.toordinal()


def _moment(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


_PRIORITY_RANK = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}
_STATUS_RANK = {Status.OPEN: 0, Status.RECURRING: 1, Status.DONE: 2}

#: Each sort field: whether its value is text, its default direction ("+" or "-"), and its value of a task.
_FIELDS: dict[str, tuple[bool, str, Callable[[Task], Any]]] = {
    "id": (False, "+", lambda t: t.id),
    "due": (False, "+", lambda t: _date(t.due)),
    "scheduled": (False, "+", lambda t: _date(t.scheduled)),
    "wait": (False, "+", lambda t: _date(t.wait)),
    "until": (False, "+", lambda t: _date(t.until)),
    "created": (False, "+", lambda t: _moment(t.created)),
    "updated": (False, "+", lambda t: _moment(t.updated)),
    "completed": (False, "+", lambda t: _moment(t.completed)),
    "started": (False, "+", lambda t: _moment(t.started)),
    "priority": (False, "-", lambda t: _PRIORITY_RANK.get(t.priority) if t.priority else None),
    "status": (False, "+", lambda t: _STATUS_RANK[t.status]),
    "project": (True, "+", lambda t: t.project.casefold() if t.project else None),
    "title": (True, "+", lambda t: t.title.casefold()),
}
_SORT_ALIASES = {"entry": "created", "modified": "updated", "end": "completed", "start": "started",
                 "description": "title", "urgency": "urgency"}
SORT_FIELDS = (*_FIELDS, "urgency")


def sort_key(spec: str, *, today: dt.date, ctx: FilterContext = EMPTY_CONTEXT,
             coefficients: Coefficients | None = None) -> Callable[[Task], tuple[Any, ...]]:
    """A key for ``sorted`` from a spec such as ``urgency-,due+,project``; InvalidValue for a field it does not know.

    ``today``, ``ctx`` and ``coefficients`` are what urgency is computed with.
    """
    weights = coefficients or Coefficients()
    parts: list[Callable[[Task], tuple[Any, ...]]] = []
    for raw in spec.split(","):
        word = raw.strip()
        direction = word[-1] if word[-1:] in ("+", "-") else ""
        name = word[:-1] if direction else word
        field = _SORT_ALIASES.get(name.casefold(), name.casefold())
        if field == "urgency":
            parts.append(_urgency_key(urgency_of(ctx, weights, today), descending=direction != "+"))
            continue
        if field not in _FIELDS:
            import difflib  # only for this message

            known = [*SORT_FIELDS, *_SORT_ALIASES]
            close = difflib.get_close_matches(field, known, n=1)
            raise InvalidValue(f"{shown(name)} is not a field to sort by",
                               hint=(f"did you mean {close[0]!r}? " if close else "")
                               + f"use {', '.join(SORT_FIELDS)}, each with + or - after it, joined by commas")
        is_text, default, get = _FIELDS[field]
        descending = (direction or default) == "-"
        parts.append(_field_key(get, is_text, descending))
    if len(parts) == 1:
        (a,) = parts
        return lambda t: (*a(t), t.id)
    if len(parts) == 2:
        a, b = parts
        return lambda t: (*a(t), *b(t), t.id)
    return lambda t: (*(item for part in parts for item in part(t)), t.id)


def _urgency_key(of: Callable[[Task], float], *, descending: bool) -> Callable[[Task], tuple[Any, ...]]:
    return (lambda t: (False, -of(t))) if descending else (lambda t: (False, of(t)))


def _field_key(get: Callable[[Task], Any], is_text: bool, descending: bool) -> Callable[[Task], tuple[Any, ...]]:
    """(missing, value): a task without the value after every task with one, in either direction."""
    if not descending:
        return lambda t: (True, 0) if (v := get(t)) is None else (False, v)
    if is_text:
        return lambda t: (True, 0) if (v := get(t)) is None else (False, _Descending(v))
    return lambda t: (True, 0) if (v := get(t)) is None else (False, -v)
