"""todo.txt (https://github.com/todotxt/todo.txt): one task a line, read into tasks and written from them.

A line is ``[x COMPLETED] [(P)] [CREATED] text +project @context key:value``. The text is the title; the
+project and @context words and the key:value pairs are taken out of it (a todo.txt tool shows them in
the line; taskvault keeps them in fields) and written back after it. Priorities (A) (B) (C) are high,
medium and low; (D) to (Z) are kept in extra as todotxt.priority. due: is the due day, t: (the threshold
of SimpleTask, topydo and pter: hidden until then) the wait day, rec: the period of a series.

What todo.txt has no place for, taskvault writes as key:value pairs of its own (scheduled: until:
created: updated: completed: started: note: ann: dep: series: n: status: title:), with ``uuid:`` on every
line so that importing the file again finds the same tasks. Those keys are read only on a line that
carries uuid: (a line taskvault wrote); on any other line they are a key like any other, kept in extra.
A value that has a space, a colon, a percent sign or a control character in it is written
percent-encoded (``note:Call%20back%0Asoon``), as todo.txt values cannot hold them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import unquote

import attrs

from ..domain.periods import normalize_period
from ..domain.task import (
    ANNOTATIONS_MAX,
    DEPENDS_MAX,
    EXTRA_MAX,
    TAGS_MAX,
    Annotation,
    ExtraValue,
    Priority,
    Status,
    Task,
    normalize_project,
    normalize_tag,
    normalize_title,
)
from ..domain.task import (
    EXTRA_TEXT_MAX as EXTRA_VALUE_MAX,
)
from ..errors import InvalidValue, shown
from .model import UUID_NAMESPACE, Batch, Incoming, Note, Source, day_of, refused, start_of, with_extra

__all__ = ["read", "write"]

#: The namespace of the uuids derived from a line's text (the lead hoists it to model.py).

_PRIORITY_OF = {"A": Priority.HIGH, "B": Priority.MEDIUM, "C": Priority.LOW}
_LETTER_OF = {p: letter for letter, p in _PRIORITY_OF.items()}

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRIORITY_WORD = re.compile(r"\(([A-Z])\)")
#: A key:value pair: a key that can name an extra attribute, one colon, a value without colons. A value
#: starting with // is a web address (http://…), which stays in the text.
_KEY_VALUE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]{0,63}):([^:]+)")
#: An instant as taskvault writes it in a value (no colons allowed): 20260305T142211Z, 20260305T142211.123456Z.
_STAMP = re.compile(r"[0-9]{8}T[0-9]{6}(?:\.[0-9]{6})?Z")
#: rec: as topydo, SimpleTask, pter and the dorecur add-on write it: + (from the due date) or not (from
#: the day it was done), a count, a unit (days when none; b is business days). q is taskvault's own.
_REC = re.compile(r"(\+?)([0-9]{1,4})([dbwmyq]?)")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
#: What a value cannot hold as it is: percent-encoded on the way out (and a leading / that would make it
#: look like a web address).
_UNSAFE = re.compile(r"[%:\s\x00-\x1f\x7f-\x9f]|^/")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_EXTRA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")

#: Keys read on every line: the ones todo.txt tools share.
_STANDARD_KEYS = frozenset({"due", "t", "rec", "pri", "uuid"})
#: taskvault's own keys: read only on a line that carries uuid:. An extra attribute with one of these
#: names (or a standard one) is written as extra.NAME, so that it comes back as itself.
_OWN_KEYS = frozenset({"scheduled", "until", "created", "updated", "completed", "started", "note", "ann", "dep",
                       "series", "n", "status", "title"})
_RESERVED = _STANDARD_KEYS | _OWN_KEYS
#: The extra attributes this format keeps for itself, written back into the line as what they were.
_PRIORITY_EXTRA = "todotxt.priority"
_PROJECTS_EXTRA = "todotxt.projects"
_CONTEXTS_EXTRA = "todotxt.contexts"
_SPELLING_EXTRA = "todotxt.context_case"
_REC_EXTRA = "todotxt.rec"
_OWN_EXTRAS = frozenset({_PRIORITY_EXTRA, _PROJECTS_EXTRA, _CONTEXTS_EXTRA, _SPELLING_EXTRA, _REC_EXTRA})

#: Lines between two calls of ``progress``.
PROGRESS_EVERY = 1000
_HINT_DATE = "todo.txt dates are YYYY-MM-DD, such as due:2026-03-31"
_HINT_KEY = "taskvault reads this key as it writes it; rename the key if it means something else to your tool"


# -- reading ------------------------------------------------------------------------------------------------


def read(sources: Sequence[Source], *, now: dt.datetime,
         progress: Callable[[int], None] | None = None) -> Batch:
    """The tasks of a todo.txt file (the first source) and of done.txt files (any further sources).

    Every line of a done file is a done task. Blank lines are skipped; CRLF, a BOM and trailing spaces
    are allowed. Bad input raises InvalidValue naming the file, the line and the key.
    """
    reader = _Reader(now)
    for index, source in enumerate(sources):
        for number, line in _lines(source):
            reader.line(line, f"{source.name} line {number}", done_file=index > 0)
            if progress is not None and reader.count % PROGRESS_EVERY == 0:
                progress(reader.count)
    if progress is not None and reader.count % PROGRESS_EVERY:
        progress(reader.count)
    return Batch(tasks=tuple(reader.tasks), skipped=(), unmapped=tuple(reader.notes))


def _lines(source: Source) -> Iterator[tuple[int, str]]:
    """Each line of a source that holds something, with its number from 1."""
    try:
        text = source.data.decode("utf-8")
    except UnicodeDecodeError as error:
        number = source.data.count(b"\n", 0, error.start) + 1
        raise refused(f"{source.name} line {number}", None, "not UTF-8 text",
                      "save the file as UTF-8 (todo.txt files are plain UTF-8 text)") from None
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if line and not line.isspace():
            yield number, line


def _kind(word: str) -> str:
    """What a word of the text is: "+" a project, "@" a context, ":" a key:value pair, "" text."""
    first = word[0]
    if first == "+" and len(word) > 1:
        return "+"
    if first == "@" and len(word) > 1:
        return "@"
    if ":" in word:
        match = _KEY_VALUE.fullmatch(word)
        if match and not match[2].startswith("//"):
            return ":"
    return ""


def _plain(title: str) -> bool:
    """True when the words of ``title``, written as a line's text, read back as exactly this title."""
    if "+" not in title and "@" not in title and ":" not in title:
        return (title.isprintable() and "  " not in title) or " ".join(title.split()) == title
    words = title.split()
    return " ".join(words) == title and not any(_kind(w) for w in words)


@attrs.define
class _Words:
    """The words after a line's head, sorted by kind."""

    text: list[str]
    projects: list[str]
    contexts: list[str]
    keys: list[tuple[str, str]]
    #: Whether a uuid: key, and a title: key, are among the keys.
    uuid: bool = False
    title: bool = False


def _sorted_words(words: Sequence[str]) -> _Words:
    """The words sorted by kind, as _kind tells them (inlined: this runs for every word of every line)."""
    text: list[str] = []
    projects: list[str] = []
    contexts: list[str] = []
    keys: list[tuple[str, str]] = []
    key_value = _KEY_VALUE.fullmatch
    has_uuid = has_title = False
    for word in words:
        first = word[0]
        if first == "+" and len(word) > 1:
            projects.append(word[1:])
        elif first == "@" and len(word) > 1:
            contexts.append(word[1:])
        elif ":" in word and (match := key_value(word)) and not match[2].startswith("//"):
            key = match[1]
            keys.append((key, match[2]))
            if key == "uuid":
                has_uuid = True
            elif key == "title":
                has_title = True
        else:
            text.append(word)
    return _Words(text, projects, contexts, keys, has_uuid, has_title)


class _Reader:
    """Reads lines into tasks, keeping the notes and the uuids seen so far."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.tasks: list[Incoming] = []
        self.notes: list[Note] = []
        self.count = 0
        self._same_lines: dict[str, int] = {}
        self._uuids: dict[uuid.UUID, str] = {}
        #: What the same words read as, each worked out once: most files have a few projects, contexts and days.
        self.projects: dict[str, bool] = {}
        self.tags: dict[str, str | None] = {}
        self.day_starts: dict[dt.date, dt.datetime] = {}

    def note(self, where: str, field: str, what: str) -> None:
        self.notes.append(Note(where, field, what))

    def line(self, line: str, where: str, *, done_file: bool) -> None:
        self.count += 1
        read = _Line(self, line, where, done_file)
        derived = None
        if not read.own:  # a line of another tool: its uuid comes from its text (and how often it came before)
            identity = line.strip()
            seen = self._same_lines.get(identity, 0)
            self._same_lines[identity] = seen + 1
            derived = uuid.uuid5(UUID_NAMESPACE, f"todotxt\n{identity}\n{seen}")
        for task in read.tasks(derived, len(self.tasks) + 1):
            earlier = self._uuids.get(task.uuid)
            if earlier is not None:
                raise refused(where, "uuid", f"the same uuid as {earlier}: {task.uuid}",
                              "a line was copied: remove the uuid: key from the copy to import it as a new task")
            self._uuids[task.uuid] = where
            self.tasks.append(Incoming(task, where))


class _Line:
    """One line's fields, read from its words."""

    def __init__(self, reader: _Reader, line: str, where: str, done_file: bool) -> None:
        self.reader, self.where, self.now = reader, where, reader.now
        words = line.split()
        self.done = False
        self.letter: str | None = None
        self.completed_day: dt.date | None = None
        self.created_day: dt.date | None = None
        i = 0
        if len(words) > 1 and words[0] == "x":
            self.done, i = True, 1
            if _PRIORITY_WORD.fullmatch(words[i]):  # not the spec's form, but some tools keep it there
                self.letter, i = words[i][1], i + 1
            if i < len(words) and _DATE.fullmatch(words[i]):
                self.completed_day, i = self._day(words[i], "completion date"), i + 1
                if i < len(words) and _DATE.fullmatch(words[i]):
                    self.created_day, i = self._day(words[i], "creation date"), i + 1
        else:
            if _PRIORITY_WORD.fullmatch(words[0]):
                self.letter, i = words[0][1], 1
            if i < len(words) and _DATE.fullmatch(words[i]):
                self.created_day, i = self._day(words[i], "creation date"), i + 1
            if done_file:
                self.done = True
                reader.note(where, "status", "in a done file without x: imported as done")
        rest = words[i:]
        parts = _sorted_words(rest)
        #: A line taskvault wrote: it carries uuid:, and taskvault's own keys are read on it.
        self.own = parts.uuid
        if self.own and parts.title:
            self.title, self.parts = self._title_from_key(line, i, rest)
        else:
            self.title, self.parts = self._title_of(parts, rest), parts

    def kept(self, field: str, what: str) -> None:
        """Note a value kept in extra or changed on the way in; not on a line taskvault wrote, where it only
        restores what the task had."""
        if not self.own:
            self.reader.note(self.where, field, what)

    def _day(self, text: str, field: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise refused(self.where, field, f"not a date: {shown(text)}", _HINT_DATE) from None

    def _title_from_key(self, line: str, i: int, rest: list[str]) -> tuple[str, _Words]:
        """The title a title: key holds (taskvault writes one, last but for extra attributes and uuid:, when the
        title alone would not read back as itself) while the line still starts with it; and the other words."""
        given = next(j for j in range(len(rest) - 1, -1, -1) if rest[j].startswith("title:") and _kind(rest[j]) == ":")
        word = rest[given]
        title = _decode(word[6:])
        text = line[[m.start() for m in re.finditer(r"\S+", line)][i]:]
        after = text[len(title):].split()
        if title and text.startswith(title) and (len(text) == len(title) or text[len(title)].isspace()) and word in after:
            del after[len(after) - 1 - after[::-1].index(word)]
            parts = _sorted_words(after)
            if parts.text:  # words added after the title by hand: they join it
                title = " ".join([title, *parts.text])
            return title, parts
        self.reader.note(self.where, "title", "the line no longer starts with the title: key: the line's text is the "
                                              "title")
        rest = rest[:given] + rest[given + 1:]
        parts = _sorted_words(rest)
        return self._title_of(parts, rest), parts

    def _title_of(self, parts: _Words, rest: list[str]) -> str:
        """The title: the words of the text; with none, the +project and @context words."""
        if parts.text:
            return " ".join(parts.text)
        named = [w for w in rest if _kind(w) in ("+", "@")]
        if not named:
            raise refused(self.where, "title", "the line has no text for a title",
                          "write what the task is on the line, or remove the line")
        self.reader.note(self.where, "title", "the line has no text but its projects and contexts: they are the "
                                              "title too")
        return " ".join(named)

    def tasks(self, derived: uuid.UUID | None, task_id: int) -> list[Task]:
        """The task the line holds (a series of another tool's: its template and first instance)."""
        where, note, own = self.where, self.reader.note, self.own
        keys, annotations_text, extra = self._keys()
        if len(annotations_text) > ANNOTATIONS_MAX:
            raise refused(where, "ann", f"{len(annotations_text)} annotations; a task can have at most {ANNOTATIONS_MAX}",
                          "move some of them into the note")
        title = self._normal_title()
        priority, letter = None, self.letter
        if "pri" in keys:
            pri = keys.pop("pri")
            if not re.fullmatch(r"[A-Z]", pri):
                raise refused(where, "pri", f"not a priority from A to Z: {shown(pri)}", "such as pri:A")
            if letter is None:
                letter = pri
            else:
                note(where, "pri", f"pri:{pri} dropped: the line's priority is ({letter})")
        if letter is not None:
            priority = _PRIORITY_OF.get(letter)
            if priority is None:
                extra[_PRIORITY_EXTRA] = letter
                self.kept("priority", f"({letter}): taskvault has high (A), medium (B) and low (C): no priority, "
                                      f"kept in extra as {_PRIORITY_EXTRA}")
        project = self._project(extra)
        tags = self._tags(extra)
        template = keys.pop("status", None) is not None  # _keys checked its value
        recur = self._recur(keys, extra)
        parent = self._uuid(keys.pop("series"), "series") if "series" in keys else None
        index = 0
        if "n" in keys:
            n = keys.pop("n")
            if not re.fullmatch(r"[0-9]{1,9}", n):
                raise refused(where, "n", f"not a count: {shown(n)}", "n: is the number of an instance in its series")
            index = int(n)
        created = self._created(keys)
        completed = self._completed(keys, created) if self.done else None
        if "completed" in keys:
            keys.pop("completed")
            note(where, "completed", "dropped: the line is not done")
        started = self._stamp(keys.pop("started"), "started") if "started" in keys else None
        if started is not None and (self.done or template):
            note(where, "started", "dropped: only an open task is started")
            started = None
        updated = max(created, completed or created)
        if "updated" in keys:
            stamp = self._stamp(keys.pop("updated"), "updated")
            if stamp >= created:
                updated = stamp
            else:
                note(where, "updated", "before the task was created: the creation time is used")
        fields: dict[str, object] = {
            "id": task_id, "uuid": self._uuid(keys.pop("uuid")) if derived is None else derived, "title": title,
            "created": created, "updated": updated, "note": _decode(keys.pop("note")) if "note" in keys else "",
            "status": Status.RECURRING if template else Status.DONE if self.done else Status.OPEN,
            "priority": priority, "due": self._date(keys, "due"), "tags": tags, "completed": completed,
            "project": project, "scheduled": self._date(keys, "scheduled"), "wait": self._date(keys, "t"),
            "until": self._date(keys, "until"), "started": started,
            "depends": self._depends(keys.pop("dep")) if "dep" in keys else (),
            "annotations": tuple(self._annotation(text) for text in annotations_text), "recur": recur,
            "parent": parent, "index": index}
        if not own and recur is not None and not self.done:
            return self._series(fields, extra)
        return [self._task(fields, extra)]

    def _keys(self) -> tuple[dict[str, str], list[str], dict[str, ExtraValue]]:
        """The line's keys taskvault reads (once each), its ann: values in order, and the others as extra."""
        where, own = self.where, self.own
        keys: dict[str, str] = {}
        annotations: list[str] = []
        extra: dict[str, ExtraValue] = {}
        template = own and ("status", "recurring") in self.parts.keys
        for key, value in self.parts.keys:
            if key in _STANDARD_KEYS or (own and key in _OWN_KEYS):
                if key == "ann":
                    annotations.append(value)
                    continue
                if key in keys:
                    raise refused(where, key, f"given twice on the line ({shown(keys[key])} and {shown(value)})",
                                  "keep one of them")
                if key == "status" and value != "recurring":
                    raise refused(where, "status", f"not a status taskvault writes: {shown(value)}",
                                  "taskvault writes status:recurring on the template of a series; " + _HINT_KEY)
                keys[key] = value
                continue
            if template and key == "h" and value == "1" and "h" not in extra:
                continue  # taskvault writes h:1 to hide a template from todo.txt tools that know it
            name = key[6:] if own and key.startswith("extra.") and key[6:] in _RESERVED else key
            decoded = _decode(value)
            previous = extra.get(name)
            extra[name] = decoded if previous is None else f"{previous} {decoded}"
            self.kept(key, f"kept in extra as {name}" if previous is None else
                      f"given again: kept in extra as {name}, the values joined by spaces")
        if template and self.done:
            raise refused(where, "status", "the template of a recurring series is marked done",
                          "taskvault ends a series when its template is deleted: remove the x (or the line)")
        return keys, annotations, extra

    def _project(self, extra: dict[str, ExtraValue]) -> str | None:
        project = None
        others: list[str] = []
        valid = self.reader.projects
        for word in self.parts.projects:
            known = valid.get(word)
            if known is None:
                known = valid[word] = _valid_project(word)
            if project is None and known:
                project = word
            else:
                others.append(word)
        if others:
            extra[_PROJECTS_EXTRA] = " ".join(others)
            self.kept("project", f"a task has one project: {' '.join('+' + w for w in others)} "
                                 f"kept in extra as {_PROJECTS_EXTRA}")
        return project

    def _tags(self, extra: dict[str, ExtraValue]) -> tuple[str, ...]:
        tags: list[str] = []
        odd: list[str] = []
        spelled: list[str] = []
        normal = self.reader.tags
        for word in self.parts.contexts:
            if word in normal:
                tag = normal[word]
            else:
                try:
                    tag = normal[word] = normalize_tag(word)
                except InvalidValue:
                    tag = normal[word] = None
            if tag is None:
                odd.append(word)
                continue
            if tag in tags:
                continue
            if len(tags) == TAGS_MAX:
                odd.append(word)
                continue
            tags.append(tag)
            if tag != word:
                spelled.append(word)
        if odd:
            extra[_CONTEXTS_EXTRA] = " ".join(odd)
            self.kept("tags", f"{' '.join('@' + w for w in odd)} cannot be taskvault tags: kept in "
                              f"extra as {_CONTEXTS_EXTRA}")
        if spelled:
            extra[_SPELLING_EXTRA] = " ".join(spelled)
            self.kept("tags", f"{' '.join('@' + w for w in spelled)}: tags are lower case; the "
                              f"spelling is kept in extra as {_SPELLING_EXTRA} for export")
        return tuple(sorted(tags))

    def _recur(self, keys: dict[str, str], extra: dict[str, ExtraValue]) -> str | None:
        if "rec" not in keys:
            return None
        spelling = keys.pop("rec")
        period, strict = _period_of(spelling)
        if period is None:
            extra[_REC_EXTRA] = spelling
            self.kept("rec", f"rec:{spelling} is not a period taskvault has: kept in extra as "
                             f"{_REC_EXTRA}")
            return None
        if spelling != _rec_word(period):
            extra[_REC_EXTRA] = spelling  # written back as it was
        if not strict:
            self.kept("rec", f"rec:{spelling} repeats from the day it is done in todo.txt tools; "
                             f"taskvault's series repeat from the due date (rec:{_rec_word(period)})")
        return period

    def _series(self, fields: dict[str, object], extra: dict[str, ExtraValue]) -> list[Task]:
        """Another tool's open line with rec: a series, as taskvault keeps one: its template, then its first
        instance (this line's uuid); without a due date, which a series needs, a task that does not recur."""
        recur = str(fields["recur"])
        if fields["due"] is None:
            extra.setdefault(_REC_EXTRA, _rec_word(recur))
            self.reader.note(self.where, "rec", f"a series needs a due date: the task does not recur in taskvault; "
                                                f"rec: is kept in extra as {_REC_EXTRA}")
            return [self._task({**fields, "recur": None}, extra)]
        template_uuid = uuid.uuid5(UUID_NAMESPACE, f"todotxt series\n{fields['uuid']}")
        template = self._task({**fields, "uuid": template_uuid, "status": Status.RECURRING, "index": 1,
                               "started": None, "depends": (), "annotations": ()}, {})
        first_id = fields["id"]
        assert isinstance(first_id, int)
        instance = self._task({**fields, "id": first_id + 1, "parent": template_uuid, "index": 1}, extra)
        self.reader.note(self.where, "rec", f"a recurring series (rec:{_rec_word(recur)}): its template, and this "
                                            "line as its first instance")
        return [template, instance]

    def _task(self, fields: dict[str, object], extra: dict[str, ExtraValue]) -> Task:
        try:
            task = Task(**fields)  # type: ignore[arg-type]
        except InvalidValue as error:
            raise refused(self.where, None, error.message, error.hint or "correct the line") from None
        return with_extra(task, _checked_extra(extra, self.where), self.where)

    def _normal_title(self) -> str:
        try:
            return normalize_title(self.title)
        except InvalidValue as error:
            raise refused(self.where, "title", error.message, error.hint or "correct the line") from None

    def _uuid(self, text: str, field: str = "uuid") -> uuid.UUID:
        if not _UUID_TEXT.fullmatch(text):
            raise refused(self.where, field, f"not a uuid: {shown(text)}",
                          "taskvault writes uuid: on every line to find the task again; restore it or remove it")
        return uuid.UUID(text)

    def _date(self, keys: dict[str, str], key: str) -> dt.date | None:
        text = keys.pop(key, None)
        if text is None:
            return None
        if not _DATE.fullmatch(text):
            raise refused(self.where, key, f"not a date: {shown(text)}", _HINT_DATE)
        return self._day(text, key)

    def _stamp(self, text: str, field: str) -> dt.datetime:
        stamp = _parse_stamp(text)
        if stamp is None:
            raise refused(self.where, field, f"not a time as taskvault writes it: {shown(text)}",
                          "such as 20260305T142211Z (UTC); " + _HINT_KEY)
        return stamp

    def _created(self, keys: dict[str, str]) -> dt.datetime:
        exact = self._stamp(keys.pop("created"), "created") if "created" in keys else None
        if self.created_day is None:
            if exact is not None:
                return exact
            return self._start(self.completed_day) if self.completed_day is not None else self.now
        if exact is not None:
            if day_of(exact) == self.created_day:
                return exact
            self.reader.note(self.where, "created", "not on the line's creation date: the line's date is used")
        return self._start(self.created_day)

    def _completed(self, keys: dict[str, str], created: dt.datetime) -> dt.datetime:
        exact = self._stamp(keys.pop("completed"), "completed") if "completed" in keys else None
        if self.completed_day is None:
            if exact is not None:
                return exact
            self.reader.note(self.where, "completed", "done without a completion date: the time of the import is used")
            return max(self.now, created)
        if exact is not None:
            if day_of(exact) == self.completed_day:
                return exact
            self.reader.note(self.where, "completed", "not on the line's completion date: the line's date is used")
        return self._start(self.completed_day)

    def _start(self, day: dt.date) -> dt.datetime:
        start = self.reader.day_starts.get(day)
        if start is None:
            start = self.reader.day_starts[day] = start_of(day)
        return start

    def _annotation(self, text: str) -> Annotation:
        stamp_text, comma, body = text.partition(",")
        at = self._stamp(stamp_text, "ann")
        if not comma:
            raise refused(self.where, "ann", f"no text after the time: {shown(text)}", "such as ann:20260305T142211Z,"
                                                                                       "Called%20back")
        try:
            return Annotation(at=at, text=_decode(body))
        except InvalidValue as error:
            raise refused(self.where, "ann", error.message, error.hint or "correct the annotation") from None

    def _depends(self, text: str) -> tuple[uuid.UUID, ...]:
        if text.count(",") >= DEPENDS_MAX:
            raise refused(self.where, "dep", f"{text.count(',') + 1} tasks; a task can depend on at most {DEPENDS_MAX}",
                          "remove some")
        return tuple(sorted({self._uuid(part, "dep") for part in text.split(",")}))


def _valid_project(word: str) -> bool:
    try:
        return normalize_project(word) == word
    except InvalidValue:
        return False


def _period_of(spelling: str) -> tuple[str | None, bool]:
    """The period a rec: value names (None if taskvault has no such period), and whether it is strict (+)."""
    match = _REC.fullmatch(spelling)
    if match is None:
        return None, False
    strict, count, unit = match[1] == "+", int(match[2]), match[3] or "d"
    if unit == "b":
        return ("weekdays" if count == 1 else None), strict
    if unit == "m" and count % 3 == 0:  # months in whole quarters read as quarters: quarterly is written +3m
        count, unit = count // 3, "q"
    try:
        return normalize_period(f"{count}{unit}"), strict
    except InvalidValue:
        return None, strict


_REC_WORDS = {"daily": "+1d", "weekdays": "+1b", "weekly": "+1w", "biweekly": "+2w", "monthly": "+1m",
              "quarterly": "+3m", "yearly": "+1y"}


def _rec_word(period: str) -> str:
    """How taskvault writes a period as rec:, strict as its series are: +1w, +3m (quarterly), +1b (weekdays)."""
    word = _REC_WORDS.get(period)
    if word is not None:
        return word
    count, unit = int(period[:-1]), period[-1]
    if unit == "q" and count * 3 <= 9999:
        return f"+{count * 3}m"
    return f"+{count}{unit}"


def _parse_stamp(text: str) -> dt.datetime | None:
    match = _STAMP.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)  # the pattern pinned the form; this checks the calendar, in C
    except ValueError:
        return None


def _decode(value: str) -> str:
    """A value as written, percent-decoded; a value that does not decode to text a task may hold is kept as it is."""
    if "%" not in value:
        return value
    if value == "%":  # how an empty value is written
        return ""
    try:
        decoded = unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value
    return value if _CONTROL.search(decoded) else decoded


def _checked_extra(extra: dict[str, ExtraValue], where: str) -> dict[str, ExtraValue]:
    if len(extra) > EXTRA_MAX:
        raise refused(where, None, f"{len(extra)} key:value pairs that taskvault keeps as extra attributes; the most "
                                   f"is {EXTRA_MAX}", "move some of them into the text of the line")
    for name, value in extra.items():
        if isinstance(value, str) and _CONTROL.search(value):
            raise refused(where, name, "the value holds a control character", "remove it from the line")
        if isinstance(value, str) and len(value) > EXTRA_VALUE_MAX:
            raise refused(where, name, f"the value is {len(value):,} characters long; the most is {EXTRA_VALUE_MAX:,}",
                          "shorten it")
    return extra


# -- writing ------------------------------------------------------------------------------------------------


def write(tasks: Sequence[Task]) -> Iterator[str]:
    """Each task as a todo.txt line, in order, a thousand lines to a piece."""
    starts: dict[dt.date, dt.datetime] = {}
    lines: list[str] = []
    for task in tasks:
        lines.append(_line(task, starts))
        if len(lines) == PROGRESS_EVERY:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def _encode(value: str) -> str:
    """A value as a todo.txt value can hold it: percent-encoded where it has to be; "%" for the empty value."""
    if not value:
        return "%"
    if _UNSAFE.search(value) is None:
        return value
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode("utf-8")), value)


def _stamp_word(moment: dt.datetime) -> str:
    """An instant as a value can hold it (no colons): 20260305T142211Z, 20260305T142211.123456Z."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.replace(tzinfo=None).isoformat().replace("-", "").replace(":", "") + "Z"


def _line(task: Task, starts: dict[dt.date, dt.datetime]) -> str:
    """The line of a task. ``starts``: the start of each local day met so far, worked out once."""
    kept: dict[str, ExtraValue] | None = dict(task.extra)
    done = task.status is Status.DONE
    letter = _LETTER_OF[task.priority] if task.priority is not None else None
    if letter is None and kept:
        letter = _kept_letter(kept)
    created_day = task.created.astimezone().date()
    parts = ["x", task.completed.astimezone().date().isoformat()] if done and task.completed is not None else \
        [f"({letter})"] if letter else []
    parts += [created_day.isoformat(), task.title]
    if task.project is not None:
        parts.append("+" + task.project)
    spelled: dict[str, str] = {}
    if kept:
        for name, sign in ((_PROJECTS_EXTRA, "+"), (_CONTEXTS_EXTRA, "@")):
            words = _word_list(kept.get(name))
            if words is not None:
                parts += [sign + w for w in words]
                del kept[name]
        spelled = {w.casefold(): w for w in _word_list(kept.pop(_SPELLING_EXTRA, None)) or () if _kind("@" + w) == "@"}
    if task.tags:
        parts += ["@" + spelled.get(tag, tag) for tag in task.tags] if spelled else ["@" + tag for tag in task.tags]
    if done and letter:
        parts.append(f"pri:{letter}")
    if task.due is not None:
        parts.append(f"due:{task.due.isoformat()}")
    if task.wait is not None:
        parts.append(f"t:{task.wait.isoformat()}")
    if task.scheduled is not None:
        parts.append(f"scheduled:{task.scheduled.isoformat()}")
    if task.until is not None:
        parts.append(f"until:{task.until.isoformat()}")
    if task.recur is not None or (kept and _REC_EXTRA in kept):
        parts.append("rec:" + _kept_rec(task, kept))
    if task.status is Status.RECURRING:
        parts.append("status:recurring")
        if not kept or "h" not in kept:
            parts.append("h:1")
    if task.parent is not None:
        parts.append(f"series:{task.parent}")
    if task.index:
        parts.append(f"n:{task.index}")
    if task.depends:
        parts.append("dep:" + ",".join(str(u) for u in task.depends))
    if task.started is not None:
        parts.append("started:" + _stamp_word(task.started))
    start = starts.get(created_day)
    if start is None:
        start = starts[created_day] = start_of(created_day)
    if task.created != start:
        parts.append("created:" + _stamp_word(task.created))
    if task.completed is not None and task.completed != start_of(task.completed.astimezone().date()):
        parts.append("completed:" + _stamp_word(task.completed))
    if task.updated != (task.created if task.completed is None else max(task.created, task.completed)):
        parts.append("updated:" + _stamp_word(task.updated))
    if task.note:
        parts.append("note:" + _encode(task.note))
    if task.annotations:
        parts += [f"ann:{_stamp_word(a.at)},{_encode(a.text)}" for a in task.annotations]
    if not _plain(task.title):
        parts.append("title:" + _encode(task.title))
    if kept:
        for name, value in sorted(kept.items()):
            key = f"extra.{name}" if name in _RESERVED else name
            parts.append(f"{key}:{_encode(value) if isinstance(value, str) else repr(value)}")
    parts.append(f"uuid:{task.uuid}")
    return " ".join(parts)


def _kept_letter(kept: dict[str, ExtraValue]) -> str | None:
    """The priority (D) to (Z) a task of todo.txt had, taken out of its extra attributes to be written."""
    letter = kept.get(_PRIORITY_EXTRA)
    if isinstance(letter, str) and len(letter) == 1 and "D" <= letter <= "Z":
        del kept[_PRIORITY_EXTRA]
        return letter
    return None


def _kept_rec(task: Task, kept: dict[str, ExtraValue] | None) -> str:
    """rec: as it was written in the file the task came from, if it still names the task's period; else ours."""
    spelling = kept.get(_REC_EXTRA) if kept else None
    if kept and isinstance(spelling, str) and _REC.fullmatch(spelling) and (
            task.recur is None or _period_of(spelling)[0] == task.recur):
        del kept[_REC_EXTRA]
        return spelling
    assert task.recur is not None or spelling is not None
    return _rec_word(task.recur) if task.recur is not None else f"{spelling}"


def _word_list(value: ExtraValue | None) -> list[str] | None:
    """The words of an extra attribute this format keeps as a space-separated list, or None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    words = value.split(" ")
    return words if all(w and not any(ch.isspace() for ch in w) for w in words) else None
