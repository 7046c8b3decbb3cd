"""Reading a sealed snapshot (schema 3) without decoding every task: check the seal, find task lines by id.

When the checksum matches, the file is as its writer wrote it, so its layout can be trusted: the
history steps are decoded, strictly, only when the history is first read (SealedSteps: most commands
only add a step), and the tasks are found by id, each line decoded only when a task is first used
(SealedTasks). Anything unexpected — another
schema, a checksum that does not match, a layout not as written — goes to the full decode
(decode_snapshot), which checks everything and names the JSON path of what is wrong.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Container, Iterable, Iterator
from typing import Any

from ..domain.history import Step
from ..domain.task import Status, Task
from .changes import step_from_dict, steps_in_order
from .envelope import SCHEMA, check_envelope
from .explain import explained_task
from .scalars import FormatError, dumps
from .snapshot import _SNAPSHOT_KEYS, CHECKSUM_FIELD, SNAPSHOT_FORMAT, Snapshot, checksum, decode_snapshot
from .tasks import fast_task, plain_record, share_values, task_to_dict, tasks_from_list

_HEADER_KEYS = _SNAPSHOT_KEYS - {"history", "tasks"}
_HISTORY_START, _TASKS_START, _END = b'"history":[\n', b'],"tasks":[\n', b"]}\n"
#: A task line's start. No JSON string holds an unescaped quote, and a task has no nested object, so
#: this is found exactly once in each task line, at its start.
_TASK_LINE_ID = re.compile(rb'\{"id":(0|[1-9][0-9]{0,17}),')
_COMMA = ord(",")
#: How each status is written (the open one first), and the key they follow.
_STATUSES = (Status.OPEN, Status.DONE, Status.RECURRING)
_STATUS_MARKS = tuple(b'"status":' + dumps(status.value).encode() for status in _STATUSES)
_STATUS_KEY = b'"status":'  # with its colon: a string followed by one is a key, never a value


class SealedTasks:
    """The task lines of a sealed snapshot, found by id without an index, each decoded when asked for.

    The lines are ordered by id (the writer sorts them, and the checksum says the file is as
    written), so a task is found by a binary search over the bytes: about 17 steps at 100,000
    tasks, and nothing built at load but the count and the highest id.
    """

    __slots__ = ("_data", "_end", "_index", "_last", "_marks", "_searches", "_start", "count", "highest")

    #: After this many searches, or one for every 40 tasks if that is more (a long journal replayed onto
    #: the snapshot touches many tasks), an index of where each line starts, by id, is built once and used
    #: from then on: at 100,000 tasks it costs about 50 ms and 7 MB, what 2,500 searches of 20 µs cost.
    SEARCHES_BEFORE_INDEX = 256

    def __init__(self, data: bytes, start: int, end: int, count: int) -> None:
        #: The file, and where its task lines are: whole lines, each "<task JSON>,\n" but the last "<task JSON>\n".
        self._data, self._start, self._end = data, start, end
        self._index: dict[int, int] | None = None  # where each task's line starts, by id (see _line)
        self._searches = 0
        self._marks: bool | None = None  # _marked(), once found
        self._last: tuple[int, bytes | None] = (0, None)  # the last line looked up: a change asks has(), then find()
        self.count = count
        self.highest = self._id_at(data.rfind(b"\n", start - 1, end - 1) + 1) if count else 0

    def __len__(self) -> int:
        return self.count

    def _id_at(self, line_start: int) -> int:
        """The id a task line starts with; FormatError if it does not start with one."""
        found = _TASK_LINE_ID.match(self._data, line_start)
        if found is None:
            raise FormatError("a task line does not start with its id, so the file was not written by taskvault",
                              "$.tasks")
        return int(found.group(1))

    def find(self, task_id: int) -> Task | None:
        """The task with this id, decoded as strictly as decode_snapshot would; None if the file has none."""
        line = self._line(task_id)
        return None if line is None else self._build(task_id, line)

    def has(self, task_id: int) -> bool:
        """True if the file holds a task with this id (which is not decoded)."""
        return self._line(task_id) is not None

    def _line(self, task_id: int) -> bytes | None:
        """The JSON of the task with this id, or None."""
        if self._last[0] == task_id:
            return self._last[1]
        line = self._search(task_id)
        self._last = (task_id, line)
        return line

    def _search(self, task_id: int) -> bytes | None:
        data = self._data
        if self._index is None:
            self._searches += 1
            if self._searches > max(self.SEARCHES_BEFORE_INDEX, self.count // 40):
                self._index = self._indexed()
        if self._index is not None:
            line_start = self._index.get(task_id)
            if line_start is None:
                return None
            line_end = data.index(b"\n", line_start)
            return data[line_start:line_end - 1 if data[line_end - 1] == _COMMA else line_end]
        low, high = self._start, self._end
        while low < high:  # low and high are line starts; every line between them is whole
            middle = (low + high) // 2
            line_start = data.rfind(b"\n", low - 1, middle) + 1
            line_end = data.index(b"\n", line_start)
            found = self._id_at(line_start)
            if found == task_id:
                if task_id > self.highest:  # the last line holds the highest id: lines are out of order
                    self._index = self._indexed()  # which refuses them
                return data[line_start:line_end - 1 if data[line_end - 1] == _COMMA else line_end]
            if found < task_id:
                low = line_end + 1
            else:
                high = line_start
        if 0 < task_id <= self.highest:
            # A search finds a task only if the lines are in order, which the checksum alone does not prove
            # (a writer that computed it over lines out of order would leave such a file): before saying there
            # is no such task, prove the order once, by the index, and answer from it.
            self._index = self._indexed()
            return self._search(task_id)
        return None

    def _indexed(self) -> dict[int, int]:
        """Where each task's line starts, by id; FormatError unless the ids rise line by line and number ``count``."""
        index: dict[int, int] = {}
        previous = 0
        for found in _TASK_LINE_ID.finditer(self._data, self._start, self._end):
            task_id = int(found.group(1))
            if task_id <= previous:
                raise _out_of_order(task_id, previous, len(index))
            index[task_id] = found.start()
            previous = task_id
        if len(index) != self.count:
            raise FormatError(f"the file says it holds {self.count} tasks but holds {len(index)}", "$.counts.tasks")
        return index

    def _build(self, task_id: int, line: bytes) -> Task:
        try:
            raw = json.loads(line.decode())
        except (ValueError, RecursionError):  # UnicodeDecodeError too; RecursionError: nested past any task's depth
            raise FormatError("a task's line is not valid JSON", f"$.tasks (id {task_id})") from None
        task = fast_task(raw)
        if task is None:
            task = explained_task(raw, self._path(task_id))
        if task.id != task_id:
            raise FormatError(f"the task's id {task.id} is not the id {task_id} its line starts with",
                              self._path(task_id))
        return task

    def _path(self, task_id: int) -> str:
        """The JSON path of the task with this id (its index is the number of lines before it)."""
        data, low, high = self._data, self._start, self._end
        while low < high:
            middle = (low + high) // 2
            line_start = data.rfind(b"\n", low - 1, middle) + 1
            if self._id_at(line_start) < task_id:
                low = data.index(b"\n", line_start) + 1
            else:
                high = line_start
        index = data.count(b"\n", self._start, low)
        return f"$.tasks[{index}]"

    def intact(self) -> tuple[list[Task], list[str]]:
        """Line by line, for salvage: the tasks whose lines decode, each with an id above the one before, and
        what is wrong with each other line (its number from 1)."""
        kept: list[Task] = []
        problems: list[str] = []
        lines = self._data[self._start:self._end].split(b",\n") if self._start < self._end else []
        for index, written in enumerate(lines):
            line = written.rstrip(b"\n")
            found = _TASK_LINE_ID.match(line)
            try:
                if found is None:
                    raise FormatError("a task line does not start with its id", f"$.tasks[{index}]")
                task = self._build(int(found.group(1)), line)
            except (FormatError, ValueError) as exc:
                problems.append(f"{exc} (task line {index + 1})")
                continue
            if kept and task.id <= kept[-1].id:
                problems.append(f"task {task.id} comes after task {kept[-1].id} (task line {index + 1})")
                continue
            kept.append(task)
        return kept, problems

    def open_count(self) -> int:
        """How many of the tasks are open, counted at the speed of a byte search where every line holds its
        status once, as taskvault writes it (no JSON string holds that text unescaped); a file with a line
        written otherwise (only a program that computes the checksum can leave one) is decoded to count."""
        data, start, end = self._data, self._start, self._end
        lines = data.count(b"\n", start, end)
        if lines != self.count:
            raise FormatError(f"the file says it holds {self.count} tasks but holds {lines}", "$.counts.tasks")
        if self._marked():
            return data.count(_STATUS_MARKS[0], start, end)
        return sum(1 for task in self.all() if task.status is Status.OPEN)

    def _marked(self) -> bool:
        """True if every line holds its status once, as taskvault writes it (no JSON string holds that text
        unescaped), so a byte search for a status's mark finds exactly the lines with that status."""
        if self._marks is None:
            data, start, end = self._data, self._start, self._end
            lines = data.count(b"\n", start, end)
            self._marks = (lines == self.count and sum(data.count(mark, start, end) for mark in _STATUS_MARKS) == lines
                           == data.count(_STATUS_KEY, start, end) and data.find(b"\\u", start, end) < 0)
        return self._marks

    def _templates(self, skip: Container[int]) -> list[Task]:
        """The recurring templates (few, in a large store), found by a byte search when _marked() holds."""
        data, end, mark = self._data, self._end, _STATUS_MARKS[2]
        found: list[tuple[int, bytes]] = []
        at = data.find(mark, self._start, end)
        while at >= 0:
            line_start = data.rfind(b"\n", self._start - 1, at) + 1
            line_end = data.find(b"\n", at, end)
            task_id = self._id_at(line_start)
            if task_id not in skip:
                line = data[line_start:line_end]
                found.append((task_id, line[:-1] if line.endswith(b",") else line))
            at = data.find(mark, line_end, end)
        return self._built(found) if found else []

    def raw(self) -> Iterator[tuple[int, bytes]]:
        """Every task line (without its comma) and the id it starts with, in the file's order (by id).

        A chunk of lines at a time (see CHUNK_BYTES), so that no single call holds the interpreter long
        while a session goes on beside a background compaction.
        """
        for ids, lines in self._chunks():
            yield from zip(ids, lines, strict=True)

    def _chunks(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """raw(), a chunk of lines at a time: (their ids, the lines), every check made as raw() makes it."""
        data, start, seen, previous = self._data, self._start, 0, 0
        while start < self._end:
            cut = data.find(b"\n", min(start + self.CHUNK_BYTES, self._end - 1)) + 1
            chunk = data[start:cut - 2 if cut < self._end else cut - 1]
            lines = chunk.split(b",\n")
            ids = list(map(int, _TASK_LINE_ID.findall(chunk)))
            if len(ids) != len(lines):
                raise FormatError("a task line does not start with its id, so the file was not written by taskvault",
                                  f"$.tasks[{seen}]")
            for at, task_id in enumerate(ids):  # copied lines must be in order: never seal a file that is not
                if task_id <= previous:
                    raise _out_of_order(task_id, previous, seen + at)
                previous = task_id
            yield ids, lines
            seen += len(lines)
            start = cut
        if seen != self.count:
            raise FormatError(f"the file says it holds {self.count} tasks but holds {seen}", "$.counts.tasks")

    def matching(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                 skip: Container[int]) -> list[Task]:
        """The tasks, but those whose ids are in ``skip``, that may have ``status`` (None: any), every one of
        ``tags``, and ``text`` (casefolded) in their title or note: decoded as strictly as find() decodes them.

        The test is on each line's bytes, before it is decoded, and it never leaves out a task that has
        them: a line's status is written once, as itself (see open_count); a line with no backslash holds
        every string as itself, so its tags and its casefolded title and note are in it, and casefolded
        it holds them casefolded (casefold maps each character alone). A line with a backslash (an
        escape) is kept whatever it holds. Others may be kept too: the caller decides which match.
        """
        if status is Status.RECURRING and not tags and text is None and self._marked():
            return self._templates(skip)
        other_marks = [mark for mark, each in zip(_STATUS_MARKS, _STATUSES, strict=True)
                       if status is not None and each is not status]
        tag_marks = [dumps(tag).encode() for tag in tags]
        lines: Iterator[tuple[int, bytes]] = ((task_id, line) for task_id, line in self.raw()
                                              if task_id not in skip and not _other_status(line, other_marks))
        if tag_marks or text is not None:
            lines = self._narrowed(lines, tag_marks, text)
        tasks: list[Task] = []
        while batch := list(itertools.islice(lines, self.BATCH)):  # a batch's JSON at a time: the peak stays low
            tasks += self._built(batch)
        return tasks

    def records(self, status: Status | None, tags: tuple[str, ...], text: str | None,
                skip: Container[int]) -> list[dict[str, Any]]:
        """The tasks matching() builds, as task_to_dict writes them, but without building most of them.

        The same lines as matching(), decoded a chunk of lines at a time: a line whose JSON is
        exactly what task_to_dict writes (plain_record), under the id its line starts with, is that dict;
        any other is built as find() builds it, which refuses it with the same error or gives the Task
        whose task_to_dict stands for it. So a list decides as it would over Tasks, at the cost of the JSON.
        """
        other_marks = [mark for mark, each in zip(_STATUS_MARKS, _STATUSES, strict=True)
                       if status is not None and each is not status]
        # A line holding the status asked for, as written, holds no other (each mark holds the key): kept at once.
        status_mark = b'"status":' + dumps(status.value).encode() if status is not None else b""
        tag_marks = [dumps(tag).encode() for tag in tags]
        records: list[dict[str, Any]] = []
        for ids, lines in self._chunks():  # a chunk's JSON at a time (as all() decodes): the peak stays low
            batch = [(task_id, line) for task_id, line in zip(ids, lines, strict=True)
                     if task_id not in skip and (status_mark in line or not _other_status(line, other_marks))]
            if tag_marks or text is not None:
                batch = list(self._narrowed(batch, tag_marks, text))
            try:
                raws = json.loads(b"[" + b",".join(line for _, line in batch) + b"]")
            except (ValueError, RecursionError):
                raws = None
            if type(raws) is not list or len(raws) != len(batch):
                raws = [None] * len(batch)  # each line is built, and the first that is wrong is named
            for (task_id, line), raw in zip(batch, raws, strict=True):
                if plain_record(raw) and raw["id"] == task_id:
                    share_values(raw)
                    records.append(raw)
                else:
                    records.append(task_to_dict(self._build(task_id, line)))
        return records

    #: How many lines matching() decodes at once (about what all() decodes at once).
    BATCH = 4096

    def _built(self, lines: list[tuple[int, bytes]]) -> list[Task]:
        """The task each of ``lines`` holds, decoded as strictly as find() decodes it."""
        try:
            raws = json.loads(b"[" + b",".join(line for _, line in lines) + b"]")
        except (ValueError, RecursionError):
            raws = None
        if type(raws) is not list or len(raws) != len(lines):
            return [self._build(task_id, line) for task_id, line in lines]
        tasks = []
        for (task_id, line), raw in zip(lines, raws, strict=True):
            task = fast_task(raw)
            tasks.append(task if task is not None and task.id == task_id else self._build(task_id, line))
        return tasks

    @staticmethod
    def _narrowed(lines: Iterable[tuple[int, bytes]], tag_marks: list[bytes],
                  text: str | None) -> Iterator[tuple[int, bytes]]:
        """The lines that may hold every tag mark, and ``text`` once casefolded (see matching)."""
        ascii_text = text.encode() if text is not None and text.isascii() else None
        for task_id, line in lines:
            if b"\\" not in line:
                if any(mark not in line for mark in tag_marks):
                    continue
                if text is not None:
                    if line.isascii():
                        if ascii_text is None or ascii_text not in line.lower():
                            continue
                    else:
                        try:
                            if text not in line.decode().casefold():
                                continue
                        except UnicodeDecodeError:
                            pass  # _build says what is wrong with it
            yield task_id, line

    #: The tasks are decoded a chunk of lines at a time (about 3,500 tasks a MiB), so that the decoded JSON
    #: of only one chunk is held at once beside the tasks built: a large store's peak memory stays low.
    CHUNK_BYTES = 1 << 20

    def all(self) -> list[Task]:
        """Every task, in the file's order (by id), decoded strictly; FormatError names the first bad one."""
        data, start = self._data, self._start
        tasks: list[Task] = []
        while start < self._end:
            cut = data.find(b"\n", min(start + self.CHUNK_BYTES, self._end - 1)) + 1
            chunk = data[start:cut - 2 if cut < self._end else cut - 1]  # whole lines, without the last separator
            try:
                raws = json.loads(b"[" + chunk + b"]")
            except (ValueError, RecursionError):  # find the line, and say what is wrong with it
                raws = None
            if type(raws) is not list or len(raws) != chunk.count(b"\n") + 1:
                for at, line in enumerate(chunk.split(b",\n"), start=len(tasks)):
                    try:
                        raw = json.loads(line.decode())
                    except (ValueError, RecursionError):
                        raise FormatError("a task's line is not valid JSON", f"$.tasks[{at}]") from None
                    tasks_from_list([raw], "$.tasks", first=at)
                raise FormatError("the task lines are not one task a line", f"$.tasks[{len(tasks)}]")
            tasks.extend(tasks_from_list(raws, "$.tasks", first=len(tasks)))
            start = cut
        if len(tasks) != self.count:
            raise FormatError(f"the file says it holds {self.count} tasks but holds {len(tasks)}", "$.counts.tasks")
        for i, (before, after) in enumerate(itertools.pairwise(tasks)):
            if before.id >= after.id:
                raise _out_of_order(after.id, before.id, i + 1)
        return tasks


def _out_of_order(task_id: int, previous: int, index: int) -> FormatError:
    return FormatError(f"task {task_id} comes after task {previous}, so the file was not written by taskvault",
                       f"$.tasks[{index}]")


def _other_status(line: bytes, other_marks: list[bytes]) -> bool:
    """True if ``line`` surely holds a status other than the one asked for: it holds one status key, written
    as taskvault writes another status, and no escape (which could spell a key or a value otherwise)."""
    return (bool(other_marks) and b"\\" not in line and line.count(_STATUS_KEY) == 1
            and any(mark in line for mark in other_marks))


class SealedSteps:
    """The history lines of a sealed snapshot, decoded (all at once, strictly) only when asked for."""

    __slots__ = ("_lines",)

    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    def build(self) -> list[Step]:
        """Every step, decoded as strictly as decode_snapshot would; FormatError names the first that is not valid."""
        try:
            raws = _json_list(self._lines)
        except (ValueError, RecursionError):  # one line is not JSON: the step-by-step decode names which
            raws = [self._json(i) for i in range(len(self._lines))]
        return steps_in_order([step_from_dict(raw, f"$.history[{i}]", SCHEMA) for i, raw in enumerate(raws)],
                              "$.history")

    def step(self, index: int) -> Step:
        """One step, decoded as build() would decode it."""
        return step_from_dict(self._json(index), f"$.history[{index}]", SCHEMA)

    def _json(self, index: int) -> Any:
        try:
            return json.loads(self._lines[index])
        except (ValueError, RecursionError):
            raise FormatError("a history step is not valid JSON, so the file was not written by taskvault",
                              f"$.history[{index}]") from None

    def stored(self) -> list[str]:
        """Every step's line as written (JSON is UTF-8, and the checksum says these are as written)."""
        return [line.decode() for line in self._lines]


class SealedSnapshot:
    """A snapshot whose checksum matched: its history and its tasks found and decoded when used.

    A plain class (compared by identity), not an attrs class: every command that loads imports it."""

    __slots__ = ("next_id", "revision", "schema", "steps", "sync", "tasks")

    def __init__(self, tasks: SealedTasks, next_id: int, revision: int, steps: SealedSteps, schema: int,
                 sync: dict[str, Any] | None = None) -> None:
        self.tasks = tasks
        #: The replication state as JSON (codec/replica.py reads it when asked), None if the store never synced.
        self.sync = sync
        self.next_id = next_id
        self.revision = revision
        self.steps = steps
        self.schema = schema

    def __repr__(self) -> str:
        return f"SealedSnapshot(revision={self.revision}, next_id={self.next_id}, schema={self.schema})"


def _header(data: bytes) -> tuple[dict[str, Any], int] | None:
    """The decoded first line of a sealed snapshot of this schema, or None if it is not one."""
    end = data.find(b"\n")
    if end < 0 or data[end - 1:end] != b",":
        return None
    try:
        doc = json.loads(data[:end - 1] + b"}")
        header, schema = check_envelope(doc, SNAPSHOT_FORMAT, _HEADER_KEYS, {})
    except (ValueError, KeyError):  # FormatError is a ValueError; a migration (an older schema) is a KeyError
        return None
    if schema != SCHEMA:
        return None
    counts, crc = header["counts"], header["crc32"]
    if (type(counts) is not dict or counts.keys() != {"history", "tasks"} or type(counts["history"]) is not int
            or type(counts["tasks"]) is not int or type(crc) is not str or len(crc) != 8
            or crc.strip("0123456789abcdef")):
        return None
    at = data.find(CHECKSUM_FIELD, 0, end) + len(CHECKSUM_FIELD)
    if data[at:at + 8] != crc.encode() or checksum(data, at) != int(crc, 16):
        return None
    if header["sync"] is not None and type(header["sync"]) is not dict:
        return None
    return header, end + 1


def _items(region: bytes, count: int) -> list[bytes] | None:
    """The ``count`` lines of a list's region (each but the last ending in a comma), without their commas."""
    if count == 0:
        return [] if not region else None
    if not region.endswith(b"\n"):
        return None
    # JSON text holds no raw newline, so every newline ends an item: all but the last after a comma.
    items = region[:-1].split(b",\n")
    if len(items) != count or region.count(b"\n") != count or items[-1].endswith(b","):
        return None
    return items


def open_snapshot(data: bytes) -> Snapshot | SealedSnapshot:
    """The snapshot in ``data``: sealed (tasks built on use) when its checksum matches, else fully decoded.

    Raises FormatError / TooNewError as decode_snapshot does: a sealed snapshot whose seal does not
    hold is decoded whole, which refuses it with the JSON path of what is wrong, or its checksum.
    """
    found = _header(data)
    if found is None:
        return _decoded(data)
    header, start = found
    n_history, n_tasks = header["counts"]["history"], header["counts"]["tasks"]
    if not data.startswith(_HISTORY_START, start):
        return _decoded(data)
    history_start = start + len(_HISTORY_START)
    tasks_mark = data.find(b"\n" + _TASKS_START, history_start - 1)
    if tasks_mark < 0 or not data.endswith(b"\n" + _END):
        return _decoded(data)
    history = _items(data[history_start:tasks_mark + 1], n_history)
    tasks_start, tasks_end = tasks_mark + 1 + len(_TASKS_START), len(data) - len(_END)
    if history is None or (tasks_start < tasks_end) != (n_tasks > 0):
        return _decoded(data)
    try:
        tasks = SealedTasks(data, tasks_start, tasks_end, n_tasks)
    except FormatError:  # the last line does not start with its id: not as taskvault writes it
        return _decoded(data)
    return SealedSnapshot(tasks, header["next_id"], header["revision"], SealedSteps(history), SCHEMA, header["sync"])


def _json_list(items: list[bytes]) -> list[Any]:
    return json.loads(b"[" + b",".join(items) + b"]") if items else []


def _decoded(data: bytes) -> Snapshot:
    """The full decode; a file it accepts that did not pass the fast checks still fails the seal."""
    return decode_snapshot(data)


def intact_tasks(data: bytes) -> tuple[SealedSnapshot, list[Task], list[str]] | None:
    """For salvage: a file whose seal holds (so each line is as written) but that does not decode whole,
    line by line: (the snapshot, the tasks whose lines decode, each with an id above the one before, and what
    is wrong with each other line); None if the seal does not hold, when no line can be trusted alone."""
    try:
        sealed = open_snapshot(data)
    except (FormatError, RecursionError):
        return None
    if not isinstance(sealed, SealedSnapshot):
        return None
    kept, problems = sealed.tasks.intact()
    return sealed, kept, problems
