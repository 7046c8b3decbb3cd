"""A list's tasks in the form the store writes them: what a query selects, in its order, as JSON objects.

A one-shot ``list`` shows tasks it never changes, so it need not build them: the snapshot's task
lines that the checksum vouches for, and that are exactly as task_to_dict writes a task, stand for
their tasks as they are (SealedTasks.records); the tasks built since the load (the journal's, and
any line not in that form) are written by task_to_dict. The query's decisions are made here on that
form, as TaskQuery makes them on Tasks (tests/test_list_fast_path.py holds the two to the same rows).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from ..domain.query import ANY, Show, TaskQuery
from ..domain.task import Priority, Status
from ..domain.tasklist import TaskList
from .tasks import task_to_dict

Record = dict[str, Any]

_RANK: dict[str | None, int] = {None: 0, **{p.value: p.rank for p in Priority}}

#: TaskQuery's orders (domain.query.SORT_KEYS), on the written form: a date or a moment as written sorts
#: as its value does (fixed width, UTC), a missing priority ranks 0 and a missing due date goes last.
SORT_KEYS: dict[str, Callable[[Record], Any]] = {
    "id": itemgetter("id"),
    "due": lambda r: (r["due"] is None, r["due"] or "", r["id"]),
    "priority": lambda r: (-_RANK[r["priority"]], r["id"]),
    "created": itemgetter("created", "id"),
    "updated": itemgetter("updated", "id"),
    "title": lambda r: (r["title"].casefold(), r["id"]),
}


def listed(query: TaskQuery, tasks: TaskList) -> list[Record]:
    """task_to_dict of each task ``query.select(tasks)`` gives, in its order, building only what must be."""
    source, built, gone = tasks.parts()
    if source is None or query.sort not in SORT_KEYS:
        return [task_to_dict(task) for task in query.select(tasks)]
    status = Status.OPEN if query.show is Show.OPEN else Status.DONE if query.show is Show.DONE else None
    text = None if query.search is ANY else query.search.casefold()
    records = _kept(query, source.records(status, query.tags, text, built.keys() | gone))
    records += [task_to_dict(task) for task in built.values() if query.matches(task)]
    records.sort(key=SORT_KEYS[query.sort])
    return records


def _kept(query: TaskQuery, records: list[Record]) -> list[Record]:
    """The records TaskQuery.matches keeps, decided on their written form."""
    if query.show is not Show.ALL:
        status = Status.OPEN.value if query.show is Show.OPEN else Status.DONE.value
        records = [r for r in records if r["status"] == status]
    if query.hidden_as_of is not ANY:
        day = query.hidden_as_of.isoformat()
        records = [r for r in records if (r["wait"] is None or r["wait"] <= day) and (r["until"] is None or r["until"] >= day)]
    if query.tags:
        wanted = set(query.tags)
        records = [r for r in records if wanted.issubset(r["tags"])]
    if query.priority is not ANY:
        priority = None if query.priority is None else query.priority.value
        records = [r for r in records if r["priority"] == priority]
    if query.due_before is not ANY:
        before = query.due_before.isoformat()
        records = [r for r in records if r["due"] is not None and r["due"] < before]
    if query.search is not ANY:
        needle = query.search.casefold()
        records = [r for r in records if needle in r["title"].casefold() or needle in r["note"].casefold()]
    return records
