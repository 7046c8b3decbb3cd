"""Reading a sealed snapshot (schema 3) without decoding every task: check the seal, index the task lines.

When the checksum matches, the file is as its writer wrote it, so its layout can be trusted: the
history steps are decoded (there are at most 1000), and the tasks are found by id, each line
decoded, strictly, only when a task is first used (``build``). Anything unexpected — another
schema, a checksum that does not match, a layout not as written — goes to the full decode
(decode_snapshot), which checks everything and names the JSON path of what is wrong.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from typing import Any

import attrs

from ..domain.history import Step
from ..domain.task import Task
from .changes import step_from_dict
from .envelope import SCHEMA, check_envelope
from .explain import explained_task
from .scalars import FormatError
from .snapshot import _SNAPSHOT_KEYS, CHECKSUM_FIELD, SNAPSHOT_FORMAT, Snapshot, checksum, decode_snapshot
from .tasks import fast_task, fast_tasks

_HEADER_KEYS = _SNAPSHOT_KEYS - {"history", "tasks"}
_HISTORY_START, _TASKS_START, _END = b'"history":[\n', b'],"tasks":[\n', b"]}\n"
#: A task line's start. No JSON string holds an unescaped quote, and a task has no nested object, so
#: this is found exactly once in each task line, at its start.
_TASK_LINE_ID = re.compile(rb'\{"id":(0|[1-9][0-9]{0,17}),')


@attrs.frozen(eq=False)
class SealedSnapshot:
    """A snapshot whose checksum matched: its tasks not yet built, each found by id (``build``)."""

    #: The JSON of each task, by id, in the file's order (by id).
    lines: dict[int, bytes]
    next_id: int
    revision: int
    steps: list[Step]
    schema: int
    #: The ids in the file's order, to name a task's JSON path if it fails to decode.
    ids: list[int] = attrs.field(repr=False)

    def build(self, task_id: int, line: bytes) -> Task:
        """The Task of one task line, decoded as strictly as decode_snapshot would; FormatError names its path."""
        try:
            raw = json.loads(line)
        except ValueError:
            raise FormatError("the task's line is not valid JSON", self._path(task_id)) from None
        task = fast_task(raw)
        if task is None:
            task = explained_task(raw, self._path(task_id))
        if task.id != task_id:
            raise FormatError(f"the task's id {task.id} is not the id {task_id} its line starts with",
                              self._path(task_id))
        return task

    def build_all(self, wanted: list[tuple[int, bytes]]) -> list[Task]:
        """The Tasks of many task lines at once (one JSON decode for all of them), in the order given."""
        try:
            raws = json.loads(b"[" + b",".join(line for _, line in wanted) + b"]")
        except ValueError:
            raws = None
        if type(raws) is not list or len(raws) != len(wanted):
            return [self.build(task_id, line) for task_id, line in wanted]
        tasks = fast_tasks(raws)
        for i, (task_id, line) in enumerate(wanted):
            task = tasks[i]
            if task is None or task.id != task_id:
                tasks[i] = self.build(task_id, line)
        return tasks  # type: ignore[return-value]  # every None was replaced, or build raised

    def _path(self, task_id: int) -> str:
        return f"$.tasks[{bisect.bisect_left(self.ids, task_id)}]"


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
    region = data[tasks_mark + 1 + len(_TASKS_START):len(data) - len(_END)]
    lines = _items(region, n_tasks)
    if history is None or lines is None:
        return _decoded(data)
    ids = list(map(int, _TASK_LINE_ID.findall(region)))
    if len(ids) != n_tasks or any(a >= b for a, b in itertools.pairwise(ids)):
        return _decoded(data)  # not one id a line, ascending: not as written
    steps = [step_from_dict(raw, f"$.history[{i}]", SCHEMA) for i, raw in enumerate(_json_list(history))]
    return SealedSnapshot(dict(zip(ids, lines, strict=True)), header["next_id"], header["revision"], steps, SCHEMA, ids)


def _json_list(items: list[bytes]) -> list[Any]:
    return json.loads(b"[" + b",".join(items) + b"]") if items else []


def _decoded(data: bytes) -> Snapshot:
    """The full decode; a file it accepts that did not pass the fast checks still fails the seal."""
    return decode_snapshot(data)
