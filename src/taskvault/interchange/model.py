"""What reading another tool's file gives: the tasks it holds, what was skipped, what did not map as it was."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs

from ..domain.task import ExtraValue, Task
from ..errors import InvalidValue

#: The namespace of the uuids taskvault derives for a task that comes without one (uuid5 of what identifies
#: it in its file), so that importing the same file again finds the same tasks. Never to change.
UUID_NAMESPACE = uuid.UUID("6f1c0c4e-8a53-4f5e-9d6a-7a3c2b1e0f19")


@attrs.frozen
class Source:
    """One input: its bytes and the name a message gives it (a path, or "standard input")."""

    data: bytes
    name: str


@attrs.frozen
class Incoming:
    """A task read from a source. Its id is a placeholder (its place in the batch, from 1): the import gives
    it the store's next id, or the id of the task with its uuid."""

    task: Task
    #: Where it was read, for a message: "todo.txt line 12", "tw.json record 3".
    where: str


@attrs.frozen
class Note:
    """Something not imported exactly as it was: a record skipped, or a field kept elsewhere or changed."""

    where: str
    field: str
    #: What happened, for the report: "deleted in Taskwarrior: not imported", "kept in extra as tw.due".
    what: str


@attrs.frozen
class Batch:
    """Everything one import read, in the order of the source."""

    tasks: tuple[Incoming, ...] = ()
    #: Records left out, each with why (a task deleted in Taskwarrior).
    skipped: tuple[Note, ...] = ()
    #: Fields changed on the way in, or kept in the task's extra attributes rather than a field of their own.
    unmapped: tuple[Note, ...] = ()


def refused(where: str, field: str | None, problem: str, hint: str) -> InvalidValue:
    """The one-line error for bad input: ``tw.json record 3: due: not a date: '2026-13-01'`` (exit 1).

    ``where`` names the file and the line or record, ``field`` the field (None: the record as a whole)."""
    place = f"{where}: {field}: " if field else f"{where}: "
    return InvalidValue(place + problem, hint=hint)


def day_of(moment: dt.datetime) -> dt.date:
    """The calendar day an instant falls on in the local time zone (taskvault's due dates are days)."""
    return moment.astimezone().date()


def start_of(day: dt.date) -> dt.datetime:
    """The instant a local calendar day starts, in UTC (how tools that keep instants store a day)."""
    return dt.datetime(day.year, day.month, day.day).astimezone().astimezone(dt.UTC)


def with_extra(task: Task, extra: dict[str, ExtraValue], where: str, field: str = "extra") -> Task:
    """``task`` with the extra attributes ``extra`` (a reader has checked each); the refusal, naming ``where``
    and ``field``, if they still break a rule of the model."""
    if not extra:
        return task
    changes: dict[str, Any] = {"extra": tuple(sorted(extra.items()))}
    try:
        return attrs.evolve(task, **changes)
    except InvalidValue as error:
        raise refused(where, field, error.message, error.hint or "correct it") from None
