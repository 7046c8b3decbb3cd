"""CSV: a header row naming the columns, then a task a row; read into tasks and written from them.

The columns (any order, names in any case; only title is required) are COLUMNS. Days are YYYY-MM-DD,
instants ISO 8601 in UTC as the store writes them (2026-03-05T14:22:11.123456Z; on import any offset,
or a bare day: its local start), tags and depends are separated by spaces (commas are read too),
annotations are one a line in their cell (``INSTANT TEXT``), extra is a JSON object. A column with
another name is kept in extra as ``csv.NAME``; an ``id`` column is ignored (ids are never taken from a
file). The taskvault-csv column holds the version of this layout (1): a file that names a newer or an
unknown one is refused rather than guessed at; a file without the column (made by hand or by another
program) is read by its column names.

Written as RFC 4180 (CRLF, quotes where needed, UTF-8 without a BOM). A cell that a spreadsheet would
run as a formula (starting with = + - @, a tab or a carriage return) is written with an apostrophe
before it, as OWASP advises; reading takes that apostrophe off again, so every value reads back as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from ..domain.periods import normalize_period
from ..domain.task import (
    ANNOTATIONS_MAX,
    DEPENDS_MAX,
    EXTRA_MAX,
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
from ..domain.task import (
    EXTRA_TEXT_MAX as EXTRA_VALUE_MAX,
)
from ..domain.timestamps import format_timestamp
from ..errors import InvalidValue, shown
from .model import UUID_NAMESPACE, Batch, Incoming, Note, Source, refused, start_of, with_extra

__all__ = ["COLUMNS", "VERSION", "read", "write"]

#: The namespace of the uuids derived from a row's content (the lead hoists it to model.py).
#: The column that holds this layout's version, and the version this taskvault writes and reads.
VERSION_COLUMN = "taskvault-csv"
VERSION = "1"
#: The columns taskvault writes, in this order.
COLUMNS = ("uuid", "title", "status", "project", "priority", "due", "scheduled", "wait", "until", "tags", "created",
           "updated", "completed", "started", "recur", "parent", "index", "depends", "annotations", "note", "extra",
           VERSION_COLUMN)
_KNOWN = frozenset(COLUMNS)
#: Columns read and dropped: a task's number is the store's, never the file's.
_IGNORED = frozenset({"id"})

#: The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = frozenset("=+-@\t\r")
_GUARDED_STARTS = _FORMULA_STARTS | {"'"}

_STATUS_OF = {"open": Status.OPEN, "done": Status.DONE, "recurring": Status.RECURRING,
              # Taskwarrior's words, for a file exported from it by another program
              "pending": Status.OPEN, "waiting": Status.OPEN, "completed": Status.DONE}
_PRIORITY_OF = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW,
                "h": Priority.HIGH, "m": Priority.MEDIUM, "l": Priority.LOW}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_SEPARATORS = re.compile(r"[\s,]+")
_EXTRA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_NOT_IN_NAME = re.compile(r"[^a-z0-9_.-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

#: The longest cell read (the CSV module's own limit is 128 KiB; a note or the extra column of a task can
#: be longer once quoted): past it the file is refused.
CELL_MAX = 16 * 1024 * 1024
#: Rows between two calls of ``progress``.
PROGRESS_EVERY = 1000
_HINT_DATE = "days are YYYY-MM-DD, such as 2026-03-31"
_HINT_INSTANT = "such as 2026-03-05T14:22:11Z (UTC), 2026-03-05T15:22:11+01:00, or a day: 2026-03-05"


# -- reading ------------------------------------------------------------------------------------------------


def read(sources: Sequence[Source], *, now: dt.datetime,
         progress: Callable[[int], None] | None = None) -> Batch:
    """The tasks of CSV files with a header row. Bad input raises InvalidValue: "FILE line N: COLUMN: problem",
    N the physical line the row starts on (a quoted cell may span lines)."""
    reader = _Reader(now, progress)
    limit = csv.field_size_limit()
    csv.field_size_limit(CELL_MAX)
    try:
        for source in sources:
            reader.source(source)
    finally:
        csv.field_size_limit(limit)
    if progress is not None and reader.count % PROGRESS_EVERY:
        progress(reader.count)
    return Batch(tasks=tuple(reader.tasks), skipped=tuple(reader.skipped), unmapped=tuple(reader.notes))


def _unguard(cell: str) -> str:
    """A cell without the apostrophe written before a value a spreadsheet would run as a formula."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _GUARDED_STARTS:
        return cell[1:]
    return cell


@attrs.define
class _Layout:
    """What the header row says: where each column is."""

    name: str
    line: int
    width: int
    at: dict[str, int]
    #: Columns kept in extra: index, the header as written, the extra attribute's name.
    others: list[tuple[int, str, str]]
    unnamed: list[int]


class _Reader:
    def __init__(self, now: dt.datetime, progress: Callable[[int], None] | None) -> None:
        self.now = now
        self.progress = progress
        self.tasks: list[Incoming] = []
        self.skipped: list[Note] = []
        self.notes: list[Note] = []
        self.count = 0
        self._uuids: dict[uuid.UUID, str] = {}
        self._same_rows: dict[str, int] = {}
        #: (file, field, what) noted once per file: a default that holds for many rows is one note.
        self._noted: set[tuple[str, str, str]] = set()
        #: Projects and tags as written and as taskvault keeps them, each worked out once.
        self.projects: dict[str, str] = {}
        self.tags: dict[str, tuple[str, ...]] = {}

    def note_once(self, name: str, where: str, field: str, what: str) -> None:
        if (name, field, what) not in self._noted:
            self._noted.add((name, field, what))
            self.notes.append(Note(where, field, what))

    def source(self, source: Source) -> None:
        try:
            text = source.data.decode("utf-8")
        except UnicodeDecodeError as error:
            number = source.data.count(b"\n", 0, error.start) + 1
            raise refused(f"{source.name} line {number}", None, "not UTF-8 text",
                          "save the file as CSV in UTF-8 (a spreadsheet's \"CSV UTF-8\")") from None
        rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
        layout: _Layout | None = None
        line = 1
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as error:
                raise refused(f"{source.name} line {line}", None, f"not CSV: {error}",
                              "a quoted cell ends with a quote; a quote inside it is written twice (\"\")") from None
            start, line = line, rows.line_num + 1
            if not any(row):
                continue
            if layout is None:
                layout = self._layout(source.name, start, row)
                continue
            self._row(layout, start, row)
        if layout is None:
            raise refused(f"{source.name} line 1", None, "no header row",
                          "the first row names the columns: " + ", ".join(COLUMNS))

    def _layout(self, name: str, line: int, header: list[str]) -> _Layout:
        where = f"{name} line {line}"
        at: dict[str, int] = {}
        others: list[tuple[int, str, str]] = []
        unnamed: list[int] = []
        kept_as: dict[str, str] = {}
        for index, raw in enumerate(header):
            column = _unguard(raw).strip().lower()
            if not column:
                unnamed.append(index)
                continue
            if column in at:
                raise refused(where, column, "the column is named twice", "rename or remove one of them")
            if column in _KNOWN:
                at[column] = index
            elif column in _IGNORED:
                at[column] = index
                self.notes.append(Note(where, column, "ignored: taskvault numbers the tasks it imports itself"))
            else:
                extra_name = "csv." + _NOT_IN_NAME.sub("_", column)[:60]
                if extra_name in kept_as:
                    raise refused(where, raw.strip(), f"the columns {shown(kept_as[extra_name])} and {shown(raw.strip())} "
                                                      f"would both be kept as {extra_name}", "rename one of them")
                kept_as[extra_name] = raw.strip()
                others.append((index, raw.strip(), extra_name))
                self.notes.append(Note(where, raw.strip(), f"not a column taskvault has: kept in extra as {extra_name}"))
                if len(others) > EXTRA_MAX:
                    raise refused(where, None, f"more than {EXTRA_MAX} columns taskvault has not (each kept in extra)",
                                  "remove the columns you do not need")
        if "title" not in at:
            raise refused(where, None, "no title column", "the first row names the columns: a title column is needed; "
                                                          "the others are " + ", ".join(c for c in COLUMNS if c != "title"))
        return _Layout(name, line, len(header), at, others, unnamed)

    def _row(self, layout: _Layout, line: int, row: list[str]) -> None:
        where = f"{layout.name} line {line}"
        if len(row) > layout.width and any(row[layout.width:]):
            raise refused(where, None, f"{len(row)} cells, but the header names {layout.width} "
                                       f"column{'s' if layout.width > 1 else ''}",
                          "a cell holding a comma is quoted: \"like, this\"")
        for index in layout.unnamed:  # in order: stop at the row's end, so a short row costs nothing here
            if index >= len(row):
                break
            if row[index].strip():
                raise refused(where, None, f"a value under a column with no name (column {index + 1}): "
                                           f"{shown(row[index])}", "name the column in the header row, or clear it")
        self.count += 1
        width = len(row)
        cells = {name: (_unguard(row[i]) if row[i][:1] == "'" else row[i]) for name, i in layout.at.items() if i < width}
        for task in _Row(self, layout, where, row, cells).tasks(len(self.tasks) + 1):
            earlier = self._uuids.get(task.uuid)
            if earlier is not None:
                raise refused(where, "uuid", f"the same uuid as {earlier}: {task.uuid}",
                              "a row was copied: clear the uuid of the copy to import it as a new task")
            self._uuids[task.uuid] = where
            self.tasks.append(Incoming(task, where))
        if self.progress is not None and self.count % PROGRESS_EVERY == 0:
            self.progress(self.count)

    def derived_uuid(self, layout: _Layout, row: list[str]) -> uuid.UUID:
        """The uuid of a row without one: from its cells (by column name, so the columns' order does not count)
        and how many rows the same came before it."""
        width = len(row)
        identity = "\x1f".join(sorted(f"{name}={row[i] if i < width else ''}" for name, i in layout.at.items()) +
                               [f"{header}={row[i] if i < width else ''}" for i, header, _ in layout.others])
        seen = self._same_rows.get(identity, 0)
        self._same_rows[identity] = seen + 1
        return uuid.uuid5(UUID_NAMESPACE, f"csv\n{identity}\n{seen}")


class _Row:
    """One row's cells, read column by column."""

    def __init__(self, reader: _Reader, layout: _Layout, where: str, row: list[str], cells: dict[str, str]) -> None:
        self.reader, self.layout, self.where, self.row, self.cells = reader, layout, where, row, cells

    def cell(self, column: str) -> str:
        return self.cells.get(column, "")

    def bad(self, column: str | None, problem: str, hint: str) -> InvalidValue:
        return refused(self.where, column, problem, hint)

    def checked(self, column: str, check: Callable[[Any], Any], text: object) -> Any:
        try:
            return check(text)
        except InvalidValue as error:
            raise self.bad(column, error.message, error.hint or f"correct the {column} column") from None

    def tasks(self, task_id: int) -> list[Task]:
        """The row's task; none for a deleted one; for a series of a file taskvault did not write (a row with
        recur but without uuid and parent), its template and then the row as its first instance."""
        now, layout = self.reader.now, self.layout
        version = self.cell(VERSION_COLUMN).strip()
        if version and version != VERSION:
            newer = version.isdigit() and int(version) > int(VERSION)
            raise self.bad(VERSION_COLUMN, f"version {shown(version)} is {'newer than' if newer else 'not'} the "
                                           f"version this taskvault reads ({VERSION})",
                           "upgrade taskvault to import this file" if newer else "this column names the version of "
                                                                                 "taskvault's CSV layout: 1")
        status_text = self.cell("status").strip().lower()
        status: Status | None = None
        if status_text == "deleted":
            self.reader.skipped.append(Note(self.where, "status", "deleted: not imported"))
            return []
        title = self.checked("title", normalize_title, self.cell("title"))
        if status_text:
            status = _STATUS_OF.get(status_text)
            if status is None:
                raise self.bad("status", f"not a status: {shown(status_text)}", "open, done or recurring")
        project = self.cell("project").strip() or None
        if project is not None:
            project = self.reader.projects.get(project) or self.reader.projects.setdefault(
                project, self.checked("project", normalize_project, project))
        priority = None
        priority_text = self.cell("priority").strip().lower()
        if priority_text:
            priority = _PRIORITY_OF.get(priority_text)
            if priority is None:
                raise self.bad("priority", f"not a priority: {shown(priority_text)}", "high, medium or low (or empty)")
        tags_text = self.cell("tags").strip()
        tags: tuple[str, ...] = ()
        if tags_text:
            tags = self.reader.tags.get(tags_text) or self.reader.tags.setdefault(
                tags_text, self.checked("tags", normalize_tags, _SEPARATORS.split(tags_text)))
        created = self.instant("created")
        completed = self.instant("completed")
        started = self.instant("started")
        updated = self.instant("updated")
        if status is None:
            status = Status.DONE if completed is not None else Status.OPEN
        if created is None:
            created = now
            self.reader.note_once(layout.name, self.where, "created", "no creation time: the time of the import is used")
        if status is Status.DONE and completed is None:
            completed = updated or max(now, created)
            self.reader.note_once(layout.name, self.where, "completed",
                                  "done without a completion time: its update time, or the time of the import, is used")
        if completed is not None and status is not Status.DONE:
            raise self.bad("completed", f"set on a task whose status is {status.value}",
                           "clear the completed cell, or set the status to done")
        if started is not None and status is not Status.OPEN:
            raise self.bad("started", f"set on a task whose status is {status.value}", "only an open task is started")
        if updated is None:
            updated = max(created, completed or created)
        elif updated < created:
            raise self.bad("updated", "before the task was created", "an update time is at or after the creation time")
        note = self.cell("note").replace("\r\n", "\n").replace("\r", "\n")
        fields: dict[str, object] = {
            "id": task_id, "uuid": self.uuid_of("uuid") or self.reader.derived_uuid(layout, self.row),
            "title": title, "created": created,
            "updated": updated, "note": self.checked("note", normalize_note, note) if note else "", "status": status,
            "priority": priority, "due": self.day("due"), "tags": tags, "completed": completed, "project": project,
            "scheduled": self.day("scheduled"), "wait": self.day("wait"), "until": self.day("until"),
            "started": started, "depends": self.depends(), "annotations": self.annotations(),
            "recur": self.recur(), "parent": self.uuid_of("parent"), "index": self.index()}
        if (fields["recur"] is not None and fields["parent"] is None and status is Status.OPEN
                and not self.cell("uuid").strip()):
            return self.series(fields)
        return [with_extra(self.made(fields), self.extra(), self.where)]

    def made(self, fields: dict[str, object]) -> Task:
        try:
            return Task(**fields)  # type: ignore[arg-type]
        except InvalidValue as error:
            raise self.bad(None, error.message, error.hint or "correct the row") from None

    def series(self, fields: dict[str, object]) -> list[Task]:
        """A series as taskvault keeps one, as `add recur:` makes it: its template, then its first instance."""
        if fields["due"] is None:
            raise self.bad("recur", "a series needs a due date: the first one of the series",
                           "give the row a due date, or clear its recur cell")
        template_uuid = uuid.uuid5(UUID_NAMESPACE, f"csv series\n{fields['uuid']}")
        template = self.made({**fields, "uuid": template_uuid, "status": Status.RECURRING, "index": 1,
                              "started": None, "depends": (), "annotations": ()})
        first_id = fields["id"]
        assert isinstance(first_id, int)
        instance = self.made({**fields, "id": first_id + 1, "parent": template_uuid, "index": 1})
        self.reader.note_once(self.layout.name, self.where, "recur", "a row with recur is a series: its template, then "
                                                                     "the row as its first instance")
        return [template, with_extra(instance, self.extra(), self.where)]

    def uuid_of(self, column: str) -> uuid.UUID | None:
        text = self.cell(column).strip()
        if not text:
            return None
        if not _UUID_TEXT.fullmatch(text):
            raise self.bad(column, f"not a uuid: {shown(text)}", "such as 6f1c0c4e-8a53-4f5e-9d6a-7a3c2b1e0f19, or empty")
        return uuid.UUID(text)

    def day(self, column: str) -> dt.date | None:
        text = self.cell(column).strip()
        if not text:
            return None
        if not _DATE.fullmatch(text):
            raise self.bad(column, f"not a date: {shown(text)}", _HINT_DATE)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.bad(column, f"not a date: {shown(text)}", _HINT_DATE) from None

    def instant(self, column: str, text: str | None = None) -> dt.datetime | None:
        text = self.cell(column).strip() if text is None else text
        if not text:
            return None
        moment = _parse_instant(text)
        if moment is None:
            raise self.bad(column, f"not a time with its zone, nor a day: {shown(text)}", _HINT_INSTANT)
        return moment

    def recur(self) -> str | None:
        text = self.cell("recur").strip()
        return self.checked("recur", normalize_period, text) if text else None

    def index(self) -> int:
        text = self.cell("index").strip()
        if not text:
            return 0
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise self.bad("index", f"not a count: {shown(text)}", "a whole number from 0 up, or empty")
        return int(text)

    def depends(self) -> tuple[uuid.UUID, ...]:
        text = self.cell("depends").strip()
        if not text:
            return ()
        parts = _SEPARATORS.split(text)
        if len(parts) > DEPENDS_MAX:
            raise self.bad("depends", f"{len(parts)} tasks; a task can depend on at most {DEPENDS_MAX}", "remove some")
        found = set()
        for part in parts:
            if not _UUID_TEXT.fullmatch(part):
                raise self.bad("depends", f"not a uuid: {shown(part)}", "the uuids of the tasks it waits for, "
                                                                        "separated by spaces")
            found.add(uuid.UUID(part))
        return tuple(sorted(found))

    def annotations(self) -> tuple[Annotation, ...]:
        text = self.cell("annotations")
        if not text.strip():
            return ()
        made = []
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]  # not splitlines: \u2028
        if len(lines) > ANNOTATIONS_MAX:
            raise self.bad("annotations", f"{len(lines)} annotations; a task can have at most {ANNOTATIONS_MAX}",
                           "move some of them into the note")
        for line in lines:
            stamp, _, body = line.strip().partition(" ")
            at = self.instant("annotations", stamp)
            assert at is not None
            made.append(Annotation(at=at, text=self.checked("annotations", normalize_annotation, body)))
        return tuple(sorted(made, key=lambda a: a.at))

    def extra(self) -> dict[str, ExtraValue]:
        extra: dict[str, ExtraValue] = {}
        text = self.cell("extra").strip()
        if text:
            extra = _extra_object(text, self)
        for index, header, name in self.layout.others:
            cell = _unguard(self.row[index]) if index < len(self.row) else ""
            if not cell:
                continue
            if name in extra:
                raise self.bad(header, f"the extra column holds {name} too", "keep one of them")
            extra[name] = cell
        if len(extra) > EXTRA_MAX:
            raise self.bad("extra", f"{len(extra)} extra attributes; the most is {EXTRA_MAX}", "remove some columns")
        for name, value in extra.items():
            if isinstance(value, str):
                if len(value) > EXTRA_VALUE_MAX:
                    raise self.bad(name, f"the value is {len(value):,} characters long; the most is {EXTRA_VALUE_MAX:,}",
                                   "shorten it")
                if _CONTROL.search(value):
                    raise self.bad(name, "the value holds a control character", "remove it")
        return extra


def _parse_instant(text: str) -> dt.datetime | None:
    """An instant with its zone, in UTC; a bare day, its local start; None for anything else."""
    if len(text) > 40:
        return None
    if _DATE.fullmatch(text):
        try:
            return start_of(dt.date.fromisoformat(text))
        except ValueError:
            return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a finite number")


def _extra_object(text: str, row: _Row) -> dict[str, ExtraValue]:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise row.bad("extra", f"not a JSON object: {shown(str(error))}", 'such as {"estimate": 3}, or empty') from None
    if not isinstance(value, dict):
        raise row.bad("extra", "not a JSON object", 'such as {"estimate": 3}, or empty')
    for name, item in value.items():
        if not _EXTRA_NAME.fullmatch(name):
            raise row.bad("extra", f"not a name for an extra attribute: {shown(name)}",
                          "a letter or _, then letters, digits, _ . or -, at most 64 in all")
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise row.bad("extra", f"{name}: not text or a number", "an extra attribute is text or a number")
        if isinstance(item, float) and not math.isfinite(item):
            raise row.bad("extra", f"{name}: not a finite number", "an extra attribute is text or a number")
    return value


# -- writing ------------------------------------------------------------------------------------------------


def _guard(cell: str) -> str:
    """A cell a spreadsheet shows as text: an apostrophe before a value it would run as a formula (and
    before one that starts with an apostrophe and such a character, so that reading takes off exactly one)."""
    if cell and (cell[0] in _FORMULA_STARTS or (cell[0] == "'" and len(cell) > 1 and cell[1] in _GUARDED_STARTS)):
        return "'" + cell
    return cell


def write(tasks: Sequence[Task]) -> Iterator[str]:
    """The header row and a row for each task, as RFC 4180 CSV, a thousand rows to a piece."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(COLUMNS)
    for number, task in enumerate(tasks, start=1):
        out.writerow(_row(task))
        if number % PROGRESS_EVERY == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _row(task: Task) -> list[str]:
    extra = task.extra
    return [
        str(task.uuid), _guard(task.title), task.status.value, _guard(task.project or ""),
        task.priority.value if task.priority is not None else "", _day(task.due), _day(task.scheduled),
        _day(task.wait), _day(task.until), _guard(" ".join(task.tags)), format_timestamp(task.created),
        format_timestamp(task.updated), _stamp(task.completed), _stamp(task.started), task.recur or "",
        str(task.parent) if task.parent is not None else "", str(task.index) if task.index else "",
        " ".join(str(u) for u in task.depends),
        "\n".join(f"{format_timestamp(a.at)} {a.text}" for a in task.annotations), _guard(task.note),
        json.dumps(dict(extra), ensure_ascii=False, allow_nan=False, sort_keys=True) if extra else "", VERSION]


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else ""


def _stamp(moment: dt.datetime | None) -> str:
    return format_timestamp(moment) if moment is not None else ""
