"""The snapshot: the whole store as one JSON document, tasks and recent history, sealed by a checksum.

Schema 3 lays the document out in lines a reader can trust without decoding them all: a first
line holding everything but the lists (format, schema, revision, next id, how many steps and
tasks, and the CRC-32 of the whole file but its own eight digits), then the history, one step a
line, then the tasks, one a line, ordered by id (codec/sealed.py reads it that way).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from ..domain.history import Step
from ..domain.task import Task
from ..domain.tasklist import TaskList
from .changes import step_from_dict, step_to_dict, steps_in_order
from .envelope import MAX_FILE_BYTES, MIN_READER, SCHEMA, Migrations, check_envelope
from .scalars import FormatError, dumps, loads
from .tasks import FIELDS_ADDED_IN_4, FIELDS_ADDED_IN_5, task_to_dict, tasks_3_to_4, tasks_4_to_5, tasks_from_list

if TYPE_CHECKING:
    from ..domain.progress import ProgressCallback

SNAPSHOT_FORMAT = "taskvault"
#: How many tasks long work decodes or encodes between two calls of its progress callback.
PROGRESS_EVERY = 4096
_SNAPSHOT_KEYS = frozenset({"format", "schema", "min_reader", "revision", "next_id", "counts", "crc32", "sync",
                            "history", "tasks"})
_COUNT_KEYS = frozenset({"history", "tasks"})
#: Where the checksum's eight hex digits begin in the first line: right after this.
CHECKSUM_FIELD = b'"crc32":"'


def _snapshot_1_to_2(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 added the minimum reader and the history of recent changes (none is known in 1)."""
    return {**doc, "schema": 2, "min_reader": 2, "history": []}


def _snapshot_2_to_3(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 added the counts and the checksum, which a file of schema 2 never had to keep.

    A file of schema 2 that has them is one of schema 3 whose schema number changed: refused, as its
    seal would otherwise go unchecked.
    """
    sealed = sorted(doc.keys() & {"counts", "crc32"})
    if sealed:
        raise FormatError(f"unknown field {sealed[0]!r} in a file of schema 2", "$")
    return {**doc, "schema": 3, "counts": None, "crc32": None}


def _snapshot_3_to_4(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 added the fields of projects, dates, dependencies, annotations and series to every task.

    (The history's steps are records, upgraded by their own migrations; the seal is checked on the
    file's bytes as written.)
    """
    return {**doc, "schema": 4, "min_reader": 4, **({"tasks": tasks_3_to_4(doc["tasks"], "$.tasks")} if "tasks" in doc else {})}


def _snapshot_4_to_5(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 added extra attributes (those of other tools with no field here) to every task: none in schema 4.

    (The history's steps are records, upgraded by their own migrations; the seal is checked on the
    file's bytes as written.)
    """
    return {**doc, "schema": 5, "min_reader": 5, **({"tasks": tasks_4_to_5(doc["tasks"], "$.tasks")} if "tasks" in doc else {})}


def _snapshot_5_to_6(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 6 added the replication state of a store that syncs (``sync``, codec/replica.py): none in 5."""
    if "sync" in doc:
        raise FormatError("unknown field 'sync' in a file of schema 5", "$")
    return {**doc, "schema": 6, "min_reader": 6, "sync": None}


SNAPSHOT_MIGRATIONS: Migrations = {1: _snapshot_1_to_2, 2: _snapshot_2_to_3, 3: _snapshot_3_to_4, 4: _snapshot_4_to_5,
                                   5: _snapshot_5_to_6}


class Snapshot:
    """A decoded snapshot, whatever schema it was written in. (A plain class: attrs would compile its
    methods on every start-up; compared by its fields, as before, and never hashed: it holds lists.)"""

    __slots__ = ("next_id", "revision", "schema", "steps", "sync", "tasks")

    def __init__(self, tasks: list[Task], next_id: int, revision: int, steps: list[Step], schema: int,
                 sync: dict[str, Any] | None = None) -> None:
        self.tasks = tasks
        #: The replication state as JSON (codec/replica.py reads it), None if the store never synced.
        self.sync = sync
        self.next_id = next_id
        self.revision = revision
        self.steps = steps
        #: The schema the file was written in: older means it should be migrated, newer read-only.
        self.schema = schema

    def _values(self) -> tuple[object, ...]:
        return self.tasks, self.next_id, self.revision, self.steps, self.schema, self.sync

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Snapshot) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Snapshot(tasks={self.tasks!r}, next_id={self.next_id!r}, revision={self.revision!r}, "
                f"steps={self.steps!r}, schema={self.schema!r})")


def checksum(data: bytes | bytearray, digits_at: int) -> int:
    """The CRC-32 of ``data`` but its eight bytes at ``digits_at`` (where the checksum itself is written)."""
    whole = memoryview(data)  # no copy of a file of many megabytes
    return zlib.crc32(whole[digits_at + 8:], zlib.crc32(whole[:digits_at]))


def _listed(lines: list[str]) -> str:
    return ",\n".join(lines) + "\n" if lines else ""


def encode_snapshot(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = (),
                    sync: dict[str, Any] | None = None) -> bytes:
    """The whole store in the current schema: a sealed first line, then one step and one task per line, tasks by id."""
    return _sealed([dumps(step_to_dict(s)) for s in steps], [dumps(task_to_dict(t)).encode() for t in tasks],
                   next_id, revision, sync=sync)


def _sealed(history: list[str], body: list[bytes], next_id: int, revision: int, schema: int = SCHEMA,
            min_reader: int = MIN_READER, sync: dict[str, Any] | None = None) -> bytes:
    """The snapshot file of these history steps and task lines (as JSON, the tasks ordered by id), sealed.

    Laid out into one buffer a slice of lines at a time, and copied once at the end: a compaction runs
    beside a session's changes, which wait for the interpreter while any single copy of the whole file
    (tens of milliseconds at 100,000 tasks) runs.
    """
    history = _history_that_fits(history, body)
    fields = {"format": SNAPSHOT_FORMAT, "schema": schema, "min_reader": min_reader, "revision": revision,
              "next_id": next_id, "counts": {"history": len(history), "tasks": len(body)}, "crc32": "00000000"}
    if schema >= 6:  # (after the checksum: the first '"crc32":"' in the file is where its digits are)
        fields["sync"] = sync
    head = dumps(fields)
    start = f'{head[:-1]},\n"history":[\n{_listed(history)}],"tasks":[\n'.encode()
    end = b"]}\n"
    size = len(start) + sum(map(len, body)) + (2 * len(body) - 1 if body else 0) + len(end)  # ",\n" after each, "\n" last
    data = bytearray(size)
    view = memoryview(data)
    view[:len(start)] = start
    at = len(start)
    for first in range(0, len(body), _SLICE):
        piece = b",\n".join(body[first:first + _SLICE]) + (b",\n" if first + _SLICE < len(body) else b"\n")
        view[at:at + len(piece)] = piece
        at += len(piece)
    view[at:] = end
    digits = data.index(CHECKSUM_FIELD) + len(CHECKSUM_FIELD)
    view[digits:digits + 8] = b"%08x" % checksum(data, digits)
    view.release()
    return bytes(data)


#: How many task lines _sealed lays out at once (about a megabyte).
_SLICE = 4096
#: The most bytes of history a snapshot keeps: the history is for undo, and a few bulk changes to
#: thousands of tasks (each step holds every task before and after) must not make a store too large
#: to read back (MAX_FILE_BYTES) or to hold in memory.
HISTORY_MAX_BYTES = 64 * 1024 * 1024


def _history_that_fits(history: list[str], body: list[bytes]) -> list[str]:
    """The newest of ``history``'s steps that fit HISTORY_MAX_BYTES and, with the tasks, MAX_FILE_BYTES (the
    oldest are left out, as they would be after 1000 more changes); FormatError when the tasks alone do not
    fit, so that no file is written that taskvault would refuse to read."""
    tasks_bytes = sum(map(len, body)) + 2 * len(body) + 1024  # (each line's ",\n", and the first line's room)
    if tasks_bytes > MAX_FILE_BYTES:
        raise FormatError(f"the tasks would take {tasks_bytes >> 20} MiB, more than the {MAX_FILE_BYTES >> 20} MiB "
                          "a taskvault file can be", "")
    budget = min(HISTORY_MAX_BYTES, MAX_FILE_BYTES - tasks_bytes)
    kept = len(history)
    used = 0
    while kept > 0:
        size = len(history[kept - 1].encode("utf-8")) + 2
        if used + size > budget:
            break
        used += size
        kept -= 1
    return history[kept:]


def encode_tasklist(tasks: TaskList, progress: ProgressCallback | None = None) -> bytes:
    """encode_snapshot of a task list, each task not built since it was read written as it was read.

    A task read from a sealed snapshot and never used is copied as its line (the checksum said it
    is as written); the tasks built, changed or added are encoded, and the deleted left out. So
    compacting a large store costs little more than writing it. ``progress`` is told the tasks laid
    out so far, of ``len(tasks)``, every PROGRESS_EVERY tasks and at the end.
    """
    source, changed, gone = tasks.parts()
    total = len(tasks) if progress is not None else 0
    if source is None:
        every = tasks.snapshot()[0]
        if progress is None:
            body = [dumps(task_to_dict(t)).encode() for t in every]
        else:
            body = []
            for first in range(0, len(every), PROGRESS_EVERY):
                progress(first, total)
                body += [dumps(task_to_dict(t)).encode() for t in every[first:first + PROGRESS_EVERY]]
        data = _sealed(_history_lines(tasks), body, tasks.next_id, tasks.revision, sync=_sync(tasks))
        if progress is not None:
            progress(total, total)
        return data
    pending = sorted(changed.items())
    lines: list[bytes] = []
    at, next_id = 0, tasks.next_id
    for task_id, line in source.raw():
        if progress is not None and not len(lines) % PROGRESS_EVERY:
            progress(len(lines), total)
        while at < len(pending) and pending[at][0] < task_id:
            lines.append(dumps(task_to_dict(pending[at][1])).encode())
            at += 1
        if at < len(pending) and pending[at][0] == task_id:
            lines.append(dumps(task_to_dict(pending[at][1])).encode())
            at += 1
        elif task_id not in gone:
            if task_id >= next_id:  # never seal a line the list would hand its id out again
                raise FormatError(f"task {task_id} is not below the next id {next_id}, so the file was not "
                                  "written by taskvault", "$.tasks")
            lines.append(line)
    lines.extend(dumps(task_to_dict(task)).encode() for _, task in pending[at:])
    data = _sealed(_history_lines(tasks), lines, tasks.next_id, tasks.revision, sync=_sync(tasks))
    if progress is not None:
        progress(total, total)
    return data


def _sync(tasks: TaskList) -> dict[str, Any] | None:
    """The list's replication state as JSON (None: it never synced)."""
    from .replica import replica_to_dict  # (only a store that syncs has one to write)

    replica = tasks.replica
    return None if replica is None else replica_to_dict(replica)


def _history_lines(tasks: TaskList) -> list[str]:
    """The history's steps as lines: each step never built since it was read, as it was read."""
    stored, built = tasks.history.parts()
    return stored + [dumps(step_to_dict(s)) for s in built]


def encode_snapshot_v5(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """A snapshot exactly as schema 5 wrote it (no replication state), for a backup of a store as it was before
    its migration."""
    return _sealed([dumps(step_to_dict(s)) for s in steps], [dumps(task_to_dict(t)).encode() for t in tasks],
                   next_id, revision, schema=5, min_reader=5)


_NOT_IN_4 = frozenset(FIELDS_ADDED_IN_5)
_NOT_IN_3 = frozenset(FIELDS_ADDED_IN_4) | _NOT_IN_4


def _task_v4(task: Task) -> dict[str, Any]:
    """A task as schema 4 wrote it: without the field schema 5 added (a store of schema 4 holds it at its
    default, so nothing is lost)."""
    return {key: value for key, value in task_to_dict(task).items() if key not in _NOT_IN_4}


def _step_v4(step: Step) -> dict[str, Any]:
    """A history step as schema 4 wrote it (its tasks without the field of schema 5)."""
    return {**step_to_dict(step), "put": [_task_v4(t) for t in step.change.put], "was": [_task_v4(t) for t in step.was]}


def encode_snapshot_v4(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """A snapshot exactly as schema 4 wrote it, for a backup of a store as it was before its migration."""
    return _sealed([dumps(_step_v4(s)) for s in steps], [dumps(_task_v4(t)).encode() for t in tasks], next_id,
                   revision, schema=4, min_reader=4)


def _task_v3(task: Task) -> dict[str, Any]:
    """A task as schemas 1 to 3 wrote it: without the fields schemas 4 and 5 added (a store of those schemas
    holds each at its default, so nothing is lost)."""
    return {key: value for key, value in task_to_dict(task).items() if key not in _NOT_IN_3}


def _step_v3(step: Step) -> dict[str, Any]:
    """A history step as schemas 2 and 3 wrote it (their tasks without the fields of schema 4)."""
    return {**step_to_dict(step), "put": [_task_v3(t) for t in step.change.put], "was": [_task_v3(t) for t in step.was]}


def encode_snapshot_v3(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """A snapshot exactly as schema 3 wrote it, for a backup of a store as it was before its migration."""
    return _sealed([dumps(_step_v3(s)) for s in steps], [dumps(_task_v3(t)).encode() for t in tasks], next_id,
                   revision, schema=3, min_reader=2)


def encode_snapshot_v2(tasks: tuple[Task, ...], next_id: int, revision: int, steps: tuple[Step, ...] = ()) -> bytes:
    """A snapshot exactly as schema 2 wrote it, for a backup of a store as it was before its migration."""
    head = dumps({"format": SNAPSHOT_FORMAT, "schema": 2, "min_reader": 2, "revision": revision, "next_id": next_id})
    history = ",\n".join(dumps(_step_v3(s)) for s in steps)
    body = ",\n".join(dumps(_task_v3(t)) for t in tasks)
    return f'{head[:-1]},"history":[\n{history}\n],"tasks":[\n{body}\n]}}\n'.encode()


def encode_snapshot_v1(tasks: tuple[Task, ...], next_id: int, revision: int) -> bytes:
    """A snapshot exactly as schema 1 wrote it: kept so a store can be backed up as it was before a migration."""
    head = dumps({"format": SNAPSHOT_FORMAT, "schema": 1, "revision": revision, "next_id": next_id})
    body = ",\n".join(dumps(_task_v3(t)) for t in tasks)
    return f'{head[:-1]},"tasks":[\n{body}\n]}}\n'.encode()


def encode_snapshot_as(schema: int, tasks: tuple[Task, ...], next_id: int, revision: int,
                       steps: tuple[Step, ...] = ()) -> bytes:
    """A snapshot as a store of ``schema`` held it (1 to the current one): what a migration backs up."""
    if schema <= 1:
        return encode_snapshot_v1(tasks, next_id, revision)
    if schema == 2:
        return encode_snapshot_v2(tasks, next_id, revision, steps)
    if schema == 3:
        return encode_snapshot_v3(tasks, next_id, revision, steps)
    if schema == 4:
        return encode_snapshot_v4(tasks, next_id, revision, steps)
    if schema == 5:
        return encode_snapshot_v5(tasks, next_id, revision, steps)
    return encode_snapshot(tasks, next_id, revision, steps)


def check_seal(doc: dict[str, Any], data: bytes) -> None:
    """Raise FormatError unless a decoded snapshot of schema 3 or newer has the counts and checksum it declares.

    Run after every other check: a file that fails one of those is refused with its JSON path;
    one that passes them all but not its checksum was damaged (or edited) where JSON cannot tell.
    """
    counts, crc = doc["counts"], doc["crc32"]
    if type(counts) is not dict or counts.keys() != _COUNT_KEYS or any(type(n) is not int for n in counts.values()):
        raise FormatError("expected the numbers of history steps and tasks", "$.counts")
    for key in ("history", "tasks"):
        if counts[key] != len(doc[key]):
            raise FormatError(f"the file says it holds {counts[key]} but holds {len(doc[key])}", f"$.counts.{key}")
    if type(crc) is not str or len(crc) != 8 or crc.strip("0123456789abcdef"):
        raise FormatError(f"expected a checksum of 8 hex digits, got {crc!r:.40}", "$.crc32")
    first_line = data[:data.find(b"\n")]
    at = first_line.find(CHECKSUM_FIELD) + len(CHECKSUM_FIELD)
    if at < len(CHECKSUM_FIELD) or data[at:at + 8] != crc.encode():
        raise FormatError("the checksum is not on the file's first line, so the file was rewritten by another "
                          "program", "")
    if checksum(data, at) != int(crc, 16):
        raise FormatError("the file fails its checksum, so it was damaged or edited after it was written", "")


def decode_snapshot(data: bytes, progress: ProgressCallback | None = None) -> Snapshot:
    """Decode a snapshot of any schema this version reads, or raise FormatError / TooNewError.

    Every task is built and checked; from schema 3 on, the checksum is checked last (check_seal).
    ``progress`` is told the tasks built so far, of all the file holds, every PROGRESS_EVERY and at the end.
    """
    doc, schema = check_envelope(loads(data, "the file"), SNAPSHOT_FORMAT, _SNAPSHOT_KEYS, SNAPSHOT_MIGRATIONS)
    if type(doc["tasks"]) is not list:
        raise FormatError("expected a list of tasks", "$.tasks")
    if type(doc["history"]) is not list:
        raise FormatError("expected a list of changes", "$.history")
    raws = doc["tasks"]
    if progress is None:
        tasks = tasks_from_list(raws, "$.tasks")
    else:
        tasks = []
        for first in range(0, len(raws), PROGRESS_EVERY):
            progress(first, len(raws))
            tasks += tasks_from_list(raws[first:first + PROGRESS_EVERY], "$.tasks", first)
        progress(len(raws), len(raws))
    steps = steps_in_order([step_from_dict(raw, f"$.history[{i}]", schema) for i, raw in enumerate(doc["history"])],
                           "$.history")
    if schema >= 3:
        check_seal(doc, data)
    if doc["sync"] is not None and type(doc["sync"]) is not dict:
        raise FormatError("expected the replication state (an object) or null", "$.sync")
    return Snapshot(tasks, doc["next_id"], doc["revision"], steps, schema, doc["sync"])
