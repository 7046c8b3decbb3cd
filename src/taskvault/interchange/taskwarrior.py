"""Taskwarrior's JSON: what ``task export`` writes (2.6 and 3.x) read into tasks, and tasks written for ``task import``.

Input is a JSON array of objects, or objects one after another (``rc.json.array=off`` writes one a line);
empty input or ``[]`` is an empty batch. Output is what ``task export`` writes: an array, one task a line.

What maps to what (both ways; the report of issue 19 has the table for the docs):

- uuid, description (title), entry (created), modified (updated), end (completed, done tasks only), start
  (started, open tasks only), project, annotations, depends, recur, parent, imask (index - 1) and mask (a
  template's index is its length) are fields of the task. pending and waiting are open, completed done,
  recurring a series' template; a deleted task is skipped with a note. id and urgency are left out.
- due, wait, scheduled and until are days: the local day of the instant. An instant that is not the start of
  its local day keeps its exact value in extra as ``tw.due`` (``tw.wait`` …), written back while the day is
  the same.
- tags are lower-cased; when that changes one, the tags as written (a JSON array) are kept in extra as
  ``tw.tags``, and written back while the lower-cased tags are the same.
- priority H, M, L are high, medium, low; any other value stays in extra as ``priority``.
- What Taskwarrior has no attribute for goes in attributes of taskvault's own, which it keeps as it keeps any
  other: the note as ``taskvault_note`` (newlines and tabs survive); the sub-second parts of the times, which it
  drops, as ``taskvault_times`` (``entry=2026-01-31T12:00:00.250000Z annotation.0=…``), applied on reading
  while the second is the same; the names of extra numbers as ``taskvault_numbers`` (they are written as text,
  which it keeps exactly); a period on a task that is not in a series as ``taskvault_recur`` (it would refuse a
  recur without a due date, or make a template of a pending task with both).
- rtype periodic on a template or an instance is implied (Taskwarrior 2.6 gives every series one).
- Every other attribute (user-defined, 3.x-only, unknown) is kept in extra under its own name. One whose name
  the reader would take as a field of the task is written as ``taskvault.NAME``, and read back as NAME.
- write refuses a time before 1980 (Taskwarrior 2.6 takes it, then fails every export that shows it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator, Sequence

import attrs

from ..domain.periods import normalize_period
from ..domain.task import (
    ANNOTATIONS_MAX,
    DEPENDS_MAX,
    EXTRA_INT_LIMIT,
    EXTRA_MAX,
    EXTRA_NAME_PATTERN,
    EXTRA_TEXT_MAX,
    Annotation,
    ExtraValue,
    Priority,
    Status,
    Task,
    normalize_annotation,
    normalize_note,
    normalize_project,
    normalize_tags,
    normalize_title,
)
from ..domain.timestamps import parse_timestamp
from ..errors import InvalidValue, shown
from .model import UUID_NAMESPACE, Batch, Incoming, Note, Source, day_of, refused, start_of

__all__ = ["NOTE_KEY", "NUMBERS_KEY", "RECUR_KEY", "TIMES_KEY", "read", "write"]

#: The attribute that carries a task's note (Taskwarrior has none), and the one that carries sub-second times.
NOTE_KEY = "taskvault_note"
TIMES_KEY = "taskvault_times"
#: The extra attributes whose values are numbers. They are written as JSON text ("8", "2.5"): Taskwarrior reads a
#: JSON number as a double and keeps it as "8.000000" (0.1e-6 as "0.000000"), but keeps text as it is, and a
#: numeric user-defined attribute given as text comes back from task export as that number, exactly.
NUMBERS_KEY = "taskvault_numbers"
#: A period on a task that is neither a series' template nor one of its instances (or has no due day): Taskwarrior
#: refuses a recur without a due date, and makes a pending task with both into a template, so it is written here.
RECUR_KEY = "taskvault_recur"
#: An extra attribute whose name the reader would take as a field is written under this prefix.
ESCAPE = "taskvault."
#: The days, and the names in extra of their exact Taskwarrior instants.
DAY_FIELDS = ("due", "wait", "scheduled", "until")
EXACT = {field: f"tw.{field}" for field in DAY_FIELDS}
TAGS_KEPT = "tw.tags"
BOOKKEEPING = frozenset({*EXACT.values(), TAGS_KEPT})
#: Keys the reader always takes as fields of the task (or leaves out: id, urgency), whatever their value.
TAKEN = frozenset({"uuid", "description", "status", "entry", "modified", *DAY_FIELDS, "project", "tags", "annotations",
                   "depends", "recur", "parent", NOTE_KEY, TIMES_KEY, NUMBERS_KEY, RECUR_KEY, "id", "urgency"})

_STATUS_IN = {"pending": Status.OPEN, "waiting": Status.OPEN, "completed": Status.DONE, "recurring": Status.RECURRING}
_STATUS_OUT = {Status.OPEN: "pending", Status.DONE: "completed", Status.RECURRING: "recurring"}
_PRIORITY_IN = {"H": Priority.HIGH, "M": Priority.MEDIUM, "L": Priority.LOW}
_PRIORITY_OUT = {v: k for k, v in _PRIORITY_IN.items()}
_EXTRA_NAME = re.compile(EXTRA_NAME_PATTERN)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_COMPACT = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_ISO = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}[T ][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
                  r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Taskwarrior's period names that taskvault spells another way; ISO 8601 periods are read by _ISO_PERIOD.
_PERIODS_IN = {"semiannual": "6m", "bimonthly": "2m", "biannual": "2y", "biyearly": "2y", "sennight": "weekly",
               "senight": "weekly", "day": "daily", "week": "weekly", "wk": "weekly", "month": "monthly",
               "mo": "monthly", "quarter": "quarterly", "qtr": "quarterly", "year": "yearly", "yr": "yearly"}
_ISO_PERIOD = re.compile(r"P([0-9]{1,4})([DWMY])")
_TIMED = frozenset({"entry", "modified", "end", "start"})
#: An annotation's time in taskvault_times: annotation.N, N its place from 0 (two may share a second).
_NUMBERED = re.compile(r"annotation\.[0-9]{1,3}")
_HINT = "correct it in Taskwarrior (task UUID modify …) and export again"
_MISSING = object()


def read(sources: Sequence[Source], *, now: dt.datetime,
         progress: Callable[[int], None] | None = None) -> Batch:
    """The tasks of Taskwarrior exports, in their order; InvalidValue (one line) for anything they cannot hold."""
    reader = _Reader(now.astimezone(dt.UTC))
    for source in sources:
        for where, record in _records(source):
            reader.add(where, record)
            if progress is not None and reader.count % 1000 == 0:
                progress(reader.count)
    return Batch(tasks=tuple(reader.tasks), skipped=tuple(reader.skipped), unmapped=tuple(reader.unmapped))


def write(tasks: Sequence[Task]) -> Iterator[str]:
    """``tasks`` as ``task export`` writes them (a JSON array, one task a line), in pieces as it goes.

    Raises InvalidValue, before the first piece, for a time Taskwarrior cannot read back (before 1980)."""
    _check_times(tasks)
    marks = _instance_marks(tasks)
    days: dict[dt.date, str] = {}
    tag_texts: dict[tuple[tuple[str, ...], object], str] = {}
    yield "["
    pieces: list[str] = []
    separator = "\n"
    for task in tasks:
        pieces += (separator, _line(task, marks, days, tag_texts))
        separator = ",\n"
        if len(pieces) >= 2000:
            yield "".join(pieces)
            pieces = []
    pieces.append("\n]\n")
    yield "".join(pieces)


# Reading ---------------------------------------------------------------------------------------------------


class _Duplicated(dict):  # type: ignore[type-arg]
    """A JSON object that named a key twice (json keeps the last silently; we refuse it)."""

    key = ""


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    duplicated = _Duplicated(result)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            duplicated.key = key
            break
        seen.add(key)
    return duplicated


_DECODER = json.JSONDecoder(object_pairs_hook=_object)
_SPACE = re.compile(r"[ \t\r\n]*")


def _records(source: Source) -> Iterator[tuple[str, object]]:
    """Each record of one source with where it is: ``tw.json record 3``."""
    name = source.name
    try:
        text = source.data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise refused(name, None, f"not UTF-8 text (byte {error.start:,})",
                      "give the file task export wrote, unchanged") from None
    position = _SPACE.match(text).end()  # type: ignore[union-attr]
    if position == len(text):
        return
    try:
        if text[position] == "[":
            records: list[object] = _DECODER.decode(text)  # (a list: the text starts with '[')
            for number, record in enumerate(records, 1):
                yield f"{name} record {number}", record
            return
        number = 0
        while position < len(text):  # objects one after another: rc.json.array=off, one a line
            record, position = _DECODER.raw_decode(text, position)
            number += 1
            yield f"{name} record {number}", record
            position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
    except json.JSONDecodeError as error:
        raise refused(f"{name} line {error.lineno}", None, f"not valid JSON: {error.msg} (column {error.colno})",
                      "give the file task export wrote, unchanged") from None
    except RecursionError:
        raise refused(name, None, "JSON nested too deeply for a Taskwarrior export",
                      "give the file task export wrote, unchanged") from None
    except ValueError as error:  # an integer of over 4,300 digits
        raise refused(name, None, f"not valid JSON: {error}", "give the file task export wrote, unchanged") from None


@attrs.define
class _Reader:
    now: dt.datetime
    tasks: list[Incoming] = attrs.Factory(list)
    skipped: list[Note] = attrs.Factory(list)
    unmapped: list[Note] = attrs.Factory(list)
    count: int = 0
    #: Each uuid read, and where: the same uuid twice is refused.
    seen: dict[uuid.UUID, str] = attrs.Factory(dict)
    #: How many records without a uuid had each text (their uuid is derived from the text and this count).
    texts: dict[str, int] = attrs.Factory(dict)
    #: Day fields already read: a date text to its local day and the exact instant kept (None: the day's start).
    days: dict[str, tuple[dt.date, str | None]] = attrs.Factory(dict)
    #: Projects already read, and tag lists with their tags and the spelling kept (most tasks share a few).
    known: set[str] = attrs.Factory(set)
    tag_lists: dict[tuple[object, ...], tuple[tuple[str, ...], str | None]] = attrs.Factory(dict)

    def add(self, where: str, record: object) -> None:
        self.count += 1
        if not isinstance(record, dict):
            raise refused(where, None, f"not a JSON object but {_kind(record)}",
                          "each task of a Taskwarrior export is an object: {\"uuid\": …, \"description\": …}")
        if isinstance(record, _Duplicated):
            raise refused(where, record.key, "named twice in one record", "keep one of them")
        task_uuid = self._uuid(where, record)
        status = record.get("status")
        status = status if type(status) is str else repr(status)  # (a list or an object is no status either)
        if status == "deleted":
            self.skipped.append(Note(where, "status", "deleted in Taskwarrior: not imported"))
            return
        if status not in _STATUS_IN:
            raise refused(where, "status", "missing" if "status" not in record else f"not a Taskwarrior status: {status}",
                          "use pending, waiting, completed, deleted or recurring")
        task = _RecordReader(where, record, self.now, self.unmapped, self.days, self.known, self.tag_lists).task(
            len(self.tasks) + 1, task_uuid, _STATUS_IN[status])
        self.tasks.append(Incoming(task, where))

    def _uuid(self, where: str, record: dict[str, object]) -> uuid.UUID:
        value = record.get("uuid")
        if value is None:
            text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            repeat = self.texts[text] = self.texts.get(text, -1) + 1
            task_uuid = uuid.uuid5(UUID_NAMESPACE, f"taskwarrior\n{text}\n{repeat}")
            self.unmapped.append(Note(where, "uuid", f"missing: {task_uuid} derived from the record"))
        else:
            task_uuid = _uuid_of(where, "uuid", value)
        earlier = self.seen.get(task_uuid)
        if earlier is not None:
            raise refused(where, "uuid", f"{task_uuid} is also the uuid of {earlier}",
                          "a uuid names one task: remove one of the two records")
        self.seen[task_uuid] = where
        return task_uuid


@attrs.define
class _RecordReader:
    """One record into one task (its fields, then its extra attributes)."""

    where: str
    record: dict[str, object]
    now: dt.datetime
    notes: list[Note]
    days: dict[str, tuple[dt.date, str | None]]
    known: set[str]
    tag_lists: dict[tuple[object, ...], tuple[tuple[str, ...], str | None]]
    extra: dict[str, ExtraValue] = attrs.Factory(dict)
    #: The names taskvault_numbers lists: extra attributes written as text that were numbers.
    numbers: frozenset[str] = frozenset()

    def task(self, position: int, task_uuid: uuid.UUID, status: Status) -> Task:
        record = self.record
        title = self._text("description", normalize_title, required=True)
        created = self._instant("entry") if "entry" in record else None
        if created is None:
            created = self.now
            self.note("entry", "missing: set to the time of the import")
        updated = self._instant("modified") if "modified" in record else created
        if updated < created:
            self.note("modified", f"earlier than entry: set to entry ({_compact(created)})")
            updated = created
        fields: dict[str, object] = {"id": position, "uuid": task_uuid, "title": title, "status": status}
        numbers = record.get(NUMBERS_KEY)
        if type(numbers) is str and len(numbers) <= EXTRA_TEXT_MAX:
            self.numbers = frozenset(numbers.split())
        elif numbers is not None:
            self.note(NUMBERS_KEY, "not the text taskvault writes: left out")
        for field in DAY_FIELDS:
            if field in record:
                fields[field] = self._day(field)
        project = record.get("project")
        if project is not None:
            if type(project) is str and project in self.known:  # (a project read before, as it was: one look-up)
                fields["project"] = project
            else:
                fields["project"] = known = self._text("project", normalize_project)
                if known is not None and known == project and len(self.known) < 4096:
                    self.known.add(known)
        note = self._text(NOTE_KEY, normalize_note)
        if note:
            fields["note"] = note
        if "tags" in record:
            fields["tags"] = self._tags()
        priority = record.get("priority")
        if type(priority) is str and priority in _PRIORITY_IN:
            fields["priority"] = _PRIORITY_IN[priority]
        elif priority is not None:
            self._keep("priority", priority, "not H, M or L")
        annotations = self._annotations() if "annotations" in record else ()
        if "depends" in record:
            fields["depends"] = self._depends(task_uuid)
        if "recur" in record or RECUR_KEY in record:
            fields["recur"] = self._period()
        completed = self._moment_for("end", status is Status.DONE, "only a completed task has an end")
        started = self._moment_for("start", status is Status.OPEN, "only an open task can be started")
        if status is Status.DONE and completed is None:
            completed = updated
            self.note("end", "missing on a completed task: its modified time is used")
        self._series(fields, task_uuid, status)
        in_series = status is Status.RECURRING or "parent" in fields
        for key, value in record.items():
            if key not in TAKEN and key not in _CONDITIONAL and not (key == "rtype" and value == "periodic" and in_series):
                self._other(key, value)  # (rtype periodic is implied: Taskwarrior gives it every series without one)
        created, updated, completed, started, annotations = self._exact_times(
            created, updated, completed, started, annotations)
        fields.update(created=created, updated=updated, completed=completed, started=started,
                      annotations=annotations)
        return self._build(fields)

    # Fields ----------------------------------------------------------------------------------------------

    def _text(self, key: str, normalize: Callable[[str], str], *, required: bool = False) -> str | None:
        value = self.record.get(key)
        if value is None:
            if required:
                raise refused(self.where, key, "missing", "every Taskwarrior task has a description")
            return None
        if type(value) is not str:
            raise refused(self.where, key, f"not text but {_kind(value)}", _HINT)
        try:
            text = normalize(value)
        except InvalidValue as error:
            raise refused(self.where, key, error.message, error.hint or _HINT) from None
        if text != value:
            self.note(key, "white space at its ends removed")
        return text

    def _instant(self, key: str, value: object = _MISSING) -> dt.datetime:
        """The instant of a date attribute (the record's ``key``, or ``value`` when given, named ``key``)."""
        value = self.record.get(key) if value is _MISSING else value
        moment = _parse_instant(value)
        if moment is None:
            raise refused(self.where, key, f"not a date: {_shown(value)}",
                          "Taskwarrior writes dates as 20300315T000000Z (UTC)")
        return moment

    def _day(self, key: str) -> dt.date:
        text = self.record[key]
        found = self.days.get(text) if type(text) is str else None
        if found is None:
            moment = self._instant(key).replace(microsecond=0)  # (Taskwarrior keeps seconds)
            try:
                day = day_of(moment)
            except (OverflowError, ValueError):
                day = moment.date()
            found = (day, None if _start_of(day) == moment else _compact(moment))
            if len(self.days) < 65_536:
                self.days[text] = found  # type: ignore[index]
        day, exact = found
        if exact is not None:
            self.extra[EXACT[key]] = exact
            self.note(key, f"the day {day.isoformat()}; the instant {exact} kept in extra as {EXACT[key]}")
        return day

    def _tags(self) -> tuple[str, ...]:
        value = self.record["tags"]
        key: tuple[object, ...] | None = None
        if type(value) is list and len(value) < 8:  # (a plain list of a few tags, read before: one look-up)
            try:
                key = tuple(value)
                known = self.tag_lists.get(key)
            except TypeError:  # (an object or a list in the list)
                key = known = None
            if known is not None:
                if known[1] is not None:
                    self._keep_spelling(*known)  # type: ignore[arg-type]
                return known[0]
        if type(value) is str:  # (before 2.1: one comma-separated string)
            value = value.split(",") if value else []
        if type(value) is not list or any(type(t) is not str for t in value):
            raise refused(self.where, "tags", f"not a list of text but {_shown(value)}", _HINT)
        try:
            tags = normalize_tags(value)
        except InvalidValue as error:
            raise refused(self.where, "tags", error.message, error.hint or _HINT) from None
        spelled = sorted(set(value))  # (in Taskwarrior's order: it keeps tags as a set, sorted)
        kept = None
        if spelled != list(tags):  # (a tag lower-cased or trimmed)
            kept = json.dumps(spelled, ensure_ascii=False)
            if len(kept) > EXTRA_TEXT_MAX:
                raise refused(self.where, "tags", f"{len(value):,} tags spelled in too many ways to keep",
                              "remove the tags that differ only in case, then export again")
            self._keep_spelling(tags, kept)
        if key is not None and len(self.tag_lists) < 4096:
            self.tag_lists[key] = (tags, kept)
        return tags

    def _keep_spelling(self, tags: tuple[str, ...], kept: str) -> None:
        self.extra[TAGS_KEPT] = kept
        self.note("tags", f"lower-cased to {' '.join(tags)}; the spelling kept in extra as {TAGS_KEPT}")

    def _annotations(self) -> tuple[Annotation, ...]:
        value = self.record["annotations"]
        if type(value) is not list:
            raise refused(self.where, "annotations", f"not a list but {_kind(value)}", _HINT)
        if len(value) > ANNOTATIONS_MAX:
            raise refused(self.where, "annotations", f"{len(value):,} annotations; a task holds at most {ANNOTATIONS_MAX}",
                          "put the oldest in a note of their own task, or remove them, and export again")
        annotations = []
        for number, item in enumerate(value, 1):
            field = f"annotations[{number}]"
            if not isinstance(item, dict) or isinstance(item, _Duplicated) or set(item) - {"entry", "description"}:
                raise refused(self.where, field, f"not an object of entry and description: {_shown(item)}", _HINT)
            text = item.get("description")
            if type(text) is not str:
                raise refused(self.where, f"{field}.description", "missing" if text is None else "not text", _HINT)
            try:
                normal = normalize_annotation(text)
            except InvalidValue as error:
                raise refused(self.where, f"{field}.description", error.message, error.hint or _HINT) from None
            if normal != text:
                self.note(field, "white space at its ends removed")
            if "entry" in item:
                at = self._instant(f"{field}.entry", item["entry"])
            else:
                at = self.now
                self.note(f"{field}.entry", "missing: set to the time of the import")
            annotations.append(Annotation(at=at, text=normal))
        annotations.sort(key=lambda a: a.at)
        return tuple(annotations)

    def _depends(self, task_uuid: uuid.UUID) -> tuple[uuid.UUID, ...]:
        value = self.record["depends"]
        if type(value) is str:  # (before 2.6: one comma-separated string, sometimes in brackets and quotes)
            value = [part.strip(' "\\[]') for part in value.split(",")] if value.strip(' "\\[]') else []
        if type(value) is not list:
            raise refused(self.where, "depends", f"not a list of uuids but {_kind(value)}", _HINT)
        if len(value) > DEPENDS_MAX:
            raise refused(self.where, "depends", f"{len(value):,} dependencies; a task holds at most {DEPENDS_MAX}",
                          "remove some (task UUID modify depends:-UUID) and export again")
        depends = tuple(sorted({_uuid_of(self.where, "depends", item) for item in value}))
        if task_uuid in depends:
            raise refused(self.where, "depends", "the task depends on itself", "remove that dependency and export again")
        return depends

    def _period(self) -> str:
        key = "recur" if "recur" in self.record else RECUR_KEY
        if key == "recur" and RECUR_KEY in self.record:
            raise refused(self.where, RECUR_KEY, "a second period beside recur", f"remove {RECUR_KEY}")
        value = self.record[key]
        if type(value) is not str:
            raise refused(self.where, key, f"not a period but {_kind(value)}", _HINT)
        try:
            return _period_in(value)
        except InvalidValue as error:
            raise refused(self.where, key, error.message,
                          "taskvault repeats by days, weeks, months, quarters or years: change the period in "
                          "Taskwarrior (task UUID modify recur:daily) and export again") from None

    def _moment_for(self, key: str, mapped: bool, why: str) -> dt.datetime | None:
        """end or start: a time of the task when its status has one, else kept in extra."""
        if key not in self.record:
            return None
        if mapped:
            return self._instant(key)
        self._keep(key, self.record[key], why)
        return None

    def _series(self, fields: dict[str, object], task_uuid: uuid.UUID, status: Status) -> None:
        record = self.record
        mask = record.get("mask")
        if status is Status.RECURRING:
            if "parent" in record:
                raise refused(self.where, "parent", "a recurring template cannot belong to another series", _HINT)
            for key in ("recur", "due"):
                if key not in fields:
                    raise refused(self.where, key, "missing on a recurring template", _HINT)
            if mask is not None:
                if type(mask) is not str:
                    raise refused(self.where, "mask", f"not text but {_kind(mask)}", _HINT)
                fields["index"] = len(mask)
        elif mask is not None:
            self._keep("mask", mask, "only a recurring template has a mask")
        imask = record.get("imask")
        if "parent" not in record:
            if imask is not None:
                self._keep("imask", imask, "only an instance of a series has one")
            return
        fields["parent"] = parent = _uuid_of(self.where, "parent", record["parent"])
        if parent == task_uuid:
            raise refused(self.where, "parent", "the task is its own series", _HINT)
        if "recur" not in fields:
            raise refused(self.where, "recur", "missing on an instance of a series (it has a parent)", _HINT)
        if imask is None:
            raise refused(self.where, "imask", "missing on an instance of a series (it has a parent)", _HINT)
        number = _whole(imask)
        if number is None or number < 0:
            raise refused(self.where, "imask", f"not a whole number from 0: {_shown(imask)}", _HINT)
        fields["index"] = number + 1

    def _other(self, key: str, value: object) -> None:
        if key.startswith(ESCAPE) and key[len(ESCAPE):] not in BOOKKEEPING:
            self._keep(key, value, "written by taskvault", name=key[len(ESCAPE):])
        elif key in BOOKKEEPING or key.startswith(ESCAPE):
            raise refused(self.where, key, "a name taskvault keeps for itself",
                          "rename the attribute (taskvault keeps tw.due, tw.wait, tw.scheduled, tw.until, tw.tags)")
        else:
            self._keep(key, value, "no field of its own")

    def _keep(self, key: str, value: object, why: str, *, name: str | None = None) -> None:
        """Keep an attribute in extra, as it is, and say so."""
        name = key if name is None else name
        if not _EXTRA_NAME.fullmatch(name):
            raise refused(self.where, _shown(key, quote=False), "a name taskvault cannot keep (letters, digits and _ . -, "
                          "from a letter or _, up to 64)", "rename the attribute in Taskwarrior and export again")
        if type(value) is str and name in self.numbers:
            number = _number(value)
            if number is None:
                self.note(key, f"not a number, as {NUMBERS_KEY} says it was: kept as text")
            else:
                value = number
        problem = _extra_problem(value)
        if problem:
            raise refused(self.where, _shown(key, quote=False), problem, "change it in Taskwarrior and export again")
        if name in self.extra:
            raise refused(self.where, key, f"kept in extra as {name}, which another attribute of the record is too",
                          f"remove {name} or {ESCAPE}{name} from the record")
        self.extra[name] = value  # type: ignore[assignment]
        self.note(key, f"{why}: kept in extra as {name}")

    def _exact_times(self, created: dt.datetime, updated: dt.datetime, completed: dt.datetime | None,
                     started: dt.datetime | None, annotations: tuple[Annotation, ...],
                     ) -> tuple[dt.datetime, dt.datetime, dt.datetime | None, dt.datetime | None,
                                tuple[Annotation, ...]]:
        """The times with the sub-second parts taskvault_times holds, each while its second is unchanged."""
        value = self.record.get(TIMES_KEY)
        if value is None:
            return created, updated, completed, started, annotations
        exact: dict[str, dt.datetime] = {}
        if type(value) is not str or len(value) > EXTRA_TEXT_MAX:
            self.note(TIMES_KEY, "not the text taskvault writes: left out")
            value = ""
        for part in value.split(" ") if value else ():
            name, equals, text = part.partition("=")
            try:
                moment = parse_timestamp(text) if equals and (name in _TIMED or _NUMBERED.fullmatch(name)) else None
            except ValueError:
                moment = None
            if moment is None:
                self.note(TIMES_KEY, f"{_shown(part)} is not name=time: left out")
            else:
                exact[name] = moment

        def refined(name: str, moment: dt.datetime) -> dt.datetime:
            candidate = exact.get(name)
            return candidate if candidate is not None and candidate.replace(microsecond=0) == moment else moment

        created = refined("entry", created)
        updated = max(refined("modified", updated), created)
        completed = None if completed is None else refined("end", completed)
        started = None if started is None else refined("start", started)
        if annotations and any(name.startswith("annotation.") for name in exact):
            ats = [refined(f"annotation.{n}", a.at) for n, a in enumerate(annotations)]
            if ats == sorted(ats):
                annotations = tuple(Annotation(at=at, text=a.text) for at, a in zip(ats, annotations, strict=True))
        return created, updated, completed, started, annotations

    def _build(self, fields: dict[str, object]) -> Task:
        if len(self.extra) > EXTRA_MAX:
            raise refused(self.where, None, f"{len(self.extra):,} attributes with no field of their own; taskvault "
                          f"keeps at most {EXTRA_MAX}", "remove some in Taskwarrior and export again")
        if self.extra:
            fields["extra"] = tuple(sorted(self.extra.items()))
        try:
            return Task(**fields)  # type: ignore[arg-type]
        except InvalidValue as error:
            raise refused(self.where, None, error.message, error.hint or _HINT) from None

    def note(self, field: str, what: str) -> None:
        self.notes.append(Note(self.where, field, what))


#: Keys taken as a field only for some records (end, start, priority, mask, imask): else kept in extra.
_CONDITIONAL = frozenset({"end", "start", "priority", "mask", "imask"})


def _extra_problem(value: object) -> str | None:
    """Why a value cannot be kept in extra (None: it can): extra holds text and finite numbers."""
    if type(value) is str:
        if len(value) > EXTRA_TEXT_MAX:
            return f"{len(value):,} characters long; taskvault keeps at most {EXTRA_TEXT_MAX:,}"
        if not value.isprintable() and _CONTROL.search(value):
            return "contains a control character other than newline and tab"
        return None
    if type(value) is int:
        return None if -EXTRA_INT_LIMIT < value < EXTRA_INT_LIMIT else "a whole number too large to keep (over 63 bits)"
    if type(value) is float:
        return None if math.isfinite(value) else "not a finite number"
    return f"{_kind(value)}, which taskvault cannot keep (only text and numbers)"


def _parse_instant(value: object) -> dt.datetime | None:
    """A Taskwarrior date (20300315T000000Z, or ISO 8601 with a zone), in UTC; None if it is not one."""
    if type(value) is not str:
        return None
    try:
        if len(value) == 16 and _COMPACT.fullmatch(value):
            return _fromiso(value)  # (Python reads this basic form of ISO 8601 too, in C)
        if len(value) <= 40 and _ISO.fullmatch(value):
            return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    return None


_fromiso = dt.datetime.fromisoformat


def _start_of(day: dt.date) -> dt.datetime:
    try:
        return start_of(day)
    except (OverflowError, ValueError):  # the first or last day of the calendar, east or west of UTC
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _compact(moment: dt.datetime) -> str:
    """Taskwarrior's form of a UTC instant: 20300315T143000Z (it keeps whole seconds)."""
    return "%04d%02d%02dT%02d%02d%02dZ" % (moment.year, moment.month, moment.day,  # noqa: UP031 (the fastest here)
                                          moment.hour, moment.minute, moment.second)


def _uuid_of(where: str, field: str, value: object) -> uuid.UUID:
    if type(value) is not str or len(value) != 36 or not _UUID.fullmatch(value):
        raise refused(where, field, f"not a uuid: {_shown(value)}", "a uuid looks like 5f571017-8b9e-4002-b6ee-236e4172ca39")
    return uuid.UUID(value)


def _whole(value: object) -> int | None:
    """A whole number Taskwarrior may write as 2, 2.0, "2" or "2.000000"; None for anything else."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and re.fullmatch(r"[0-9]{1,9}(?:\.0*)?", value):
        return int(value.split(".")[0])
    return None


def _period_in(text: str) -> str:
    """A Taskwarrior recurrence period as taskvault spells it; InvalidValue for one it has no period for."""
    word = text.strip().lower()
    iso = _ISO_PERIOD.fullmatch(text.strip())
    if iso:
        word = f"{int(iso.group(1))}{iso.group(2).lower()}"
    return normalize_period(_PERIODS_IN.get(word, word))


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true or false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), "a value")


def _shown(value: object, *, quote: bool = True) -> str:
    if type(value) is str:
        return shown(value, quote=quote)
    return shown(json.dumps(value, ensure_ascii=False)[:200], quote=False)


# Writing ---------------------------------------------------------------------------------------------------


#: Taskwarrior 2.6 takes an earlier time from task import, but then fails every export and report that shows it
#: ("'315446400' is not a valid date"): it reads an epoch before 1980 as another form of date. 3.1 refuses them.
EARLIEST = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
_SAFE_DAY = dt.date(1980, 1, 3)  # (a day from this one on starts after EARLIEST in every time zone)


def _check_times(tasks: Sequence[Task]) -> None:
    """InvalidValue for the first task with a time Taskwarrior cannot read back (it would break its store)."""
    floor, safe_day = EARLIEST, _SAFE_DAY
    for task in tasks:
        early = [("entry", task.created)] if task.created < floor else []
        for field, moment in (("end", task.completed), ("start", task.started),
                              ("annotations", task.annotations[0].at if task.annotations else None)):
            if moment is not None and moment < floor:
                early.append((field, moment))
        for field in DAY_FIELDS:
            day = getattr(task, field)
            if day is not None and day < safe_day:
                moment = _parse_instant(_day_out(day, dict(task.extra), field, {})[1:-1])
                if moment is not None and moment < floor:
                    early.append((field, moment))
        if early:
            field, moment = early[0]
            raise refused(f"task {task.id}", field, f"{_compact(moment)} is before 1980, which Taskwarrior cannot read "
                          "back (it would fail every report that shows it)",
                          "change that date, or leave the task out of the export with a filter")


def _instance_marks(tasks: Sequence[Task]) -> dict[uuid.UUID, dict[int, str]]:
    """For each template's uuid, its instances' places in its mask: - open, W open with a wait, + done."""
    marks: dict[uuid.UUID, dict[int, str]] = {}
    for task in tasks:
        if task.parent is not None:
            mark = "+" if task.status is Status.DONE else ("W" if task.wait is not None else "-")
            marks.setdefault(task.parent, {})[task.index] = mark
    return marks


def _line(task: Task, marks: dict[uuid.UUID, dict[int, str]], days: dict[dt.date, str],
          tag_texts: dict[tuple[tuple[str, ...], object], str]) -> str:
    """One task as one line of ``task export``: its attributes in name order, then annotations, tags, depends.
    ``days`` and ``tag_texts`` remember the texts of days and of tags already written (most tasks share a few)."""
    extra = dict(task.extra) if task.extra else None
    created, exact_created = _stamps(task.created)
    updated, exact_updated = (created, exact_created) if task.updated == task.created else _stamps(task.updated)
    times = [exact_created and "entry=" + exact_created, exact_updated and "modified=" + exact_updated]
    # Each '"key":value', sorted at the end: Taskwarrior writes attributes in name order, and a '"' sorts
    # before every character of a name, so these texts sort as their keys do.
    parts = ['"description":' + _text(task.title), f'"entry":"{created}"', f'"modified":"{updated}"',
             _STATUS_PART[task.status.value], f'"uuid":"{task.uuid}"']
    if task.due is not None:
        parts.append('"due":' + _day_out(task.due, extra, "due", days))
    if task.completed is not None:
        end, exact = _stamps(task.completed)
        parts.append(f'"end":"{end}"')
        times.append(exact and "end=" + exact)
    in_series = False
    if task.parent is not None:
        in_series = True
        parts += (f'"imask":{task.index - 1}', f'"parent":"{task.parent}"')
    elif task.status is Status.RECURRING:
        in_series = True
        made = marks.get(task.uuid, {})
        parts.append('"mask":"' + "".join([made.get(n, "X") for n in range(1, task.index + 1)]) + '"')
    if task.priority is not None:
        parts.append(_PRIORITY_PART[task.priority.value])
    if task.project is not None:
        parts.append('"project":' + _text(task.project))
    if task.recur is not None:
        key = "recur" if in_series and task.due is not None else RECUR_KEY
        parts.append(f'"{key}":"{_period_out(task.recur)}"')
    if in_series and not (extra and "rtype" in extra):
        parts.append('"rtype":"periodic"')
    if task.scheduled is not None:
        parts.append('"scheduled":' + _day_out(task.scheduled, extra, "scheduled", days))
    if task.started is not None:
        start, exact = _stamps(task.started)
        parts.append(f'"start":"{start}"')
        times.append(exact and "start=" + exact)
    if task.note:
        parts.append(f'"{NOTE_KEY}":' + _text(task.note))
    if task.until is not None:
        parts.append('"until":' + _day_out(task.until, extra, "until", days))
    if task.wait is not None:
        parts.append('"wait":' + _day_out(task.wait, extra, "wait", days))
    annotations = [(_stamps(a.at), a.text) for a in task.annotations]
    if annotations:
        times += [exact and f"annotation.{n}={exact}" for n, ((_, exact), _) in enumerate(annotations)]
    if any(times):
        parts.append(f'"{TIMES_KEY}":"' + " ".join(filter(None, times)) + '"')
    if extra:
        numbers = []
        for name, value in extra.items():
            if name in BOOKKEEPING:
                continue
            key = ESCAPE + name if _taken(name, value, task) else name
            if type(value) is str:
                parts.append(f'"{key}":' + _text(value))
            else:
                parts.append(f'"{key}":"{value!r}"')
                numbers.append(name)
        if numbers:
            parts.append(f'"{NUMBERS_KEY}":"' + " ".join(numbers) + '"')
    parts.sort()
    if annotations:
        parts.append('"annotations":[' + ",".join(
            [f'{{"entry":"{stamp}","description":{_text(text)}}}' for (stamp, _), text in annotations]) + "]")
    if task.tags:
        kept = extra.get(TAGS_KEPT) if extra else None
        text = tag_texts.get((task.tags, kept))
        if text is None:
            text = '"tags":[' + ",".join([_text(tag) for tag in _tags_out(task.tags, kept)]) + "]"
            if len(tag_texts) < 4096:
                tag_texts[task.tags, kept] = text
        parts.append(text)
    if task.depends:
        parts.append('"depends":["' + '","'.join([str(u) for u in task.depends]) + '"]')
    return "{" + ",".join(parts) + "}"


#: A string as JSON text, quoted and escaped (in C; characters past ASCII as they are, as task export has them).
_text: Callable[[str], str] = json.encoder.encode_basestring
#: By the enums' values: a str key hashes in C, an Enum member in Python.
_PRIORITY_PART = {priority.value: f'"priority":"{letter}"' for priority, letter in _PRIORITY_OUT.items()}
_STATUS_PART = {status.value: f'"status":"{name}"' for status, name in _STATUS_OUT.items()}


def _number(text: str) -> int | float | None:
    """The number a text written by _value_text holds (a whole number, or a float's repr); None if none."""
    try:
        if _INTEGER.fullmatch(text):
            return int(text)
        return float(text) if _FLOAT.fullmatch(text) else None
    except ValueError:
        return None


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?")


def _stamps(moment: dt.datetime) -> tuple[str, str]:
    """Taskwarrior's form of a UTC instant (20300315T143000Z), and taskvault's when it has a fraction of a
    second that Taskwarrior would lose (else ""): the form of domain.timestamps.format_timestamp, cut from the
    same isoformat() as the other."""
    text = moment.isoformat()  # 2030-03-15T14:30:00[.250000]+00:00: the one call both forms are cut from
    compact = text[:4] + text[5:7] + text[8:10] + "T" + text[11:13] + text[14:16] + text[17:19] + "Z"
    return compact, (text[:26] + "Z" if moment.microsecond else "")


def _taken(name: str, value: object, task: Task) -> bool:
    """True when an extra attribute of this name would be read back as (or written over) a field of ``task``:
    then it is written as taskvault.NAME."""
    if name in TAKEN or name.startswith(ESCAPE) or name in BOOKKEEPING:
        return True
    if name == "priority":
        return task.priority is not None or value in _PRIORITY_IN
    if name == "rtype":
        return value == "periodic" and (task.status is Status.RECURRING or task.parent is not None)
    return ((name == "end" and task.status is Status.DONE) or (name == "start" and task.status is Status.OPEN)
            or (name == "mask" and task.status is Status.RECURRING) or (name == "imask" and task.parent is not None))


def _day_out(day: dt.date, extra: dict[str, ExtraValue] | None, field: str, days: dict[dt.date, str]) -> str:
    """The instant Taskwarrior is given for a day (JSON text): the exact one read, while it falls on that day;
    else the start of the day."""
    exact = extra.get(EXACT[field]) if extra else None
    if exact is not None:
        moment = _parse_instant(exact)
        if moment is not None:
            try:
                same = day_of(moment) == day
            except (OverflowError, ValueError):
                same = moment.date() == day
            if same:
                return f'"{_compact(moment)}"'
    text = days.get(day)
    if text is None:
        text = days[day] = f'"{_compact(_start_of(day))}"'
    return text


def _tags_out(tags: tuple[str, ...], kept: object) -> list[str]:
    """The tags as Taskwarrior had them, while they lower-case to the task's tags; else the task's."""
    if type(kept) is str:
        try:
            spelled = json.loads(kept)
            if normalize_tags(spelled) == tags:
                return list(spelled)
        except (ValueError, TypeError, InvalidValue):
            pass
    return list(tags)


def _period_out(period: str) -> str:
    """taskvault's period as Taskwarrior writes it. Taskwarrior counts months, quarters and the named periods
    by the calendar, as taskvault does, but "2y" as 730 days: so 2y is written as its biyearly. (Every 3 years
    or more has no calendar form there: 3y is 1,095 days in Taskwarrior.)"""
    return "biyearly" if period == "2y" else period


