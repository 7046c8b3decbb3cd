"""Seeded tasks, and stores built from them the way users build theirs.

taskvault's store is built THROUGH THE PROGRAM: one session in script mode adds every task (title,
tags, priority, due date), edits 5% of them and marks 20% done, one command a line, so the store
has the journal, undo history, compactions and backups a real one has. Taskwarrior gets the same
tasks (final titles, 80% pending and 20% completed) through ``task import``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shlex
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from measure import BenchError, Session, write_fsynced

VERBS = ["Call", "Email", "Buy", "Fix", "Write", "Review", "Plan", "Book", "Clean", "Pay", "Read", "Send",
         "Check", "Update", "Prepare", "Cancel", "Renew", "Sort out", "Ask about", "Finish"]
OBJECTS = ["the plumber", "dentist appointment", "quarterly report", "birthday present", "car insurance",
           "kitchen tap", "slides for Monday", "train tickets", "tax return", "garden shed", "library books",
           "passport", "team offsite", "bike lights", "invoice", "blog post", "flat deposit", "gym membership",
           "server certificates", "school forms"]
QUALIFIERS = ["", "", "", "before Friday", "for mum", "with Sam", "again", "(urgent)", "next week",
              "if it rains", "for the project", "— see notes"]
TAGS = ["home", "work", "errand", "health", "money", "family", "garden", "car"]
#: The tag and the word the filtered lists look for: each in roughly one task in eight and one in twenty.
TAG = "errand"
WORD = "invoice"
PRIORITIES = [None, None, "low", "medium", "high"]
TW_PRIORITY = {"low": "L", "medium": "M", "high": "H"}
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass
class SeededTask:
    id: int
    uuid: str
    title: str
    tags: list[str]
    priority: str | None
    due: str | None
    done: bool = False
    edited_title: str | None = None

    @property
    def final_title(self) -> str:
        return self.edited_title or self.title


def seeded_tasks(size: int, seed: int = 42) -> list[SeededTask]:
    """``size`` tasks, the same for a seed: 20% of them to be marked done, 5% edited."""
    rng = random.Random(seed)
    tasks = []
    for n in range(1, size + 1):
        title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(QUALIFIERS)}".strip()
        due = (BASE + dt.timedelta(days=rng.randint(0, 500))).date().isoformat() if rng.random() < 0.4 else None
        tasks.append(SeededTask(id=n, uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), title=title,
                                tags=sorted(set(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 1, 2])))),
                                priority=rng.choice(PRIORITIES), due=due))
    for task in rng.sample(tasks, size // 5):
        task.done = True
    for task in rng.sample(tasks, size // 20):
        task.edited_title = f"{task.title} (moved)"
    return tasks


def add_line(title: str, tags: list[str], priority: str | None, due: str | None) -> list[str]:
    words = ["add", title]
    for tag in tags:
        words += ["--tag", tag]
    if priority:
        words += ["--priority", priority]
    if due:
        words += ["--due", due]
    return words


#: A stall at least this long may be taken for a compaction (see build_taskvault), and paired with a floor.
FLOORED_STALL = 0.1
#: Commands sent at once while building (well under the pipe's 64 KB, either way).
CHUNK = 100


@dataclass
class Build:
    """How building a store through the program went: its time, and each acknowledgement's."""

    seconds: float
    lines: int
    acks: list[float] = field(default_factory=list)
    #: The acknowledgements much slower than the rest (compactions, backups): (line, tasks then, seconds, floor).
    stalls: list[dict[str, float]] = field(default_factory=list)


def build_taskvault(taskvault: str, directory: Path, tasks: list[SeededTask],
                    floor: Callable[[int], float] | None = None, env: dict[str, str] | None = None) -> Build:
    """Build the store through one session in script mode, CHUNK commands sent at a time (each command's time is
    the gap between its answer and the one before); ``floor(n)``, if given, is called right after the chunk of
    each stall of FLOORED_STALL or more, with the tasks held then, to time the serialise-write-fsync floor beside it.
    ``env``: the session's environment (an encrypted store's passphrase file, say); None, the bench's own."""
    session = Session([taskvault, "--data-dir", str(directory)], env)
    build = Build(0.0, 0)
    began = time.perf_counter()
    lines: list[tuple[list[str], str, int]] = []  # (command, the start of its answer, tasks held after it)
    for task in tasks:
        lines.append((add_line(task.title, task.tags, task.priority, task.due), f"Added task {task.id}:", task.id))
    for task in tasks:
        if task.edited_title:
            lines.append((["edit", str(task.id), "--title", task.edited_title], f"Updated task {task.id}:", len(tasks)))
    for task in tasks:
        if task.done:
            lines.append((["done", str(task.id)], f"Completed task {task.id}:", len(tasks)))
    floored_at = 0.0
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start:start + CHUNK]
        answers = session.pipelined([shlex.join(words) for words, _, _ in chunk])
        stalled = []
        for (words, expect, held), (seconds, answer) in zip(chunk, answers, strict=True):
            if not answer.startswith(expect):
                raise BenchError(f"{shlex.join(words)!r} answered {answer!r}, not {expect!r}…")
            build.acks.append(seconds)
            if len(build.acks) > 50 and seconds > max(0.05, 20 * statistics.median(build.acks[-200:])):
                stalled.append({"line": len(build.acks), "tasks": held, "seconds": seconds})
        for stall in stalled:
            # Taken for a compaction (they come as the store doubles, the journal having outgrown the snapshot):
            # a stall of half a second or more, or one of FLOORED_STALL or more once the store has grown by half
            # since the last one floored. Each is paired with a floor; the slowest is the one judged.
            if floor is not None and (stall["seconds"] >= 0.5 or (
                    stall["seconds"] >= FLOORED_STALL and stall["tasks"] >= 1.5 * floored_at)):
                stall["floor"] = floor(int(stall["tasks"]))
                floored_at = stall["tasks"]
        build.stalls += stalled
    session.close()
    build.seconds = time.perf_counter() - began
    build.lines = len(build.acks)
    return build


def snapshot_like(tasks: list[SeededTask], count: int) -> list[dict[str, object]]:
    """The first ``count`` tasks as the program's JSON shows a task: for the serialising floor."""
    stamp = "2026-01-01T12:00:00.000000Z"
    return [{"id": t.id, "uuid": t.uuid, "title": t.final_title, "created": stamp, "updated": stamp, "note": "",
             "status": "done" if t.done else "open", "priority": t.priority, "due": t.due, "tags": t.tags,
             "completed": stamp if t.done else None} for t in tasks[:count]]


def serialise_floor(directory: Path, documents: list[dict[str, object]]) -> float:
    """Serialise the tasks as JSON, write them to a temp file, fsync, rename, fsync the directory:
    the least a compaction that rewrites the snapshot durably can cost."""
    temp, target = directory / "floor-snapshot.tmp", directory / "floor-snapshot.json"
    start = time.perf_counter()
    data = json.dumps({"schema": 0, "tasks": documents}, ensure_ascii=False).encode()
    write_fsynced(temp, data)
    os.replace(temp, target)
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def taskwarrior_env(root: Path) -> dict[str, str]:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    rc = root / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\nhooks=off\nnews.version=2.6.2\n")
    return {**os.environ, "TASKRC": str(rc)}


def taskwarrior_document(uuid: str, description: str, *, entry: str, modified: str, end: str | None,
                         priority: str | None, due: str | None, tags: list[str]) -> dict[str, object]:
    """One task as ``task import`` takes it: completed if it has an ``end`` (a Taskwarrior stamp), else pending;
    ``priority`` and ``due`` as taskvault writes them."""
    doc: dict[str, object] = {"uuid": uuid, "description": description, "entry": entry, "modified": modified,
                              "status": "completed" if end is not None else "pending"}
    if end is not None:
        doc["end"] = end
    if priority:
        doc["priority"] = TW_PRIORITY[priority]
    if due:
        doc["due"] = due.replace("-", "") + "T000000Z"
    if tags:
        doc["tags"] = tags
    return doc


def build_taskwarrior(task: str, root: Path, tasks: list[SeededTask]) -> tuple[dict[str, str], float]:
    """Taskwarrior holding the same tasks (final titles; done ones completed), by ``task import``; its
    garbage collection left at the default. Returns the environment to run it in and the seconds it took."""
    env = taskwarrior_env(root)
    documents = []
    for n, t in enumerate(tasks):
        stamp = (BASE + dt.timedelta(minutes=n)).strftime("%Y%m%dT%H%M%SZ")
        documents.append(taskwarrior_document(t.uuid, t.final_title, entry=stamp, modified=stamp,
                                              end=stamp if t.done else None, priority=t.priority, due=t.due,
                                              tags=t.tags))
    source = root / "import.json"
    source.write_text(json.dumps(documents))
    start = time.perf_counter()
    done = subprocess.run([task, "import", str(source)], env=env, capture_output=True)
    if done.returncode:
        raise BenchError(f"task import failed ({done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
    subprocess.run([task, "list"], env=env, capture_output=True)  # its first gc, as any next command would
    return env, time.perf_counter() - start


def tree_bytes(directory: Path) -> dict[str, int]:
    """Bytes of every file under ``directory``, by path relative to it."""
    return {str(p.relative_to(directory)): p.stat().st_size for p in sorted(directory.rglob("*")) if p.is_file()}
