"""The kill -9 storm: a real taskvault process makes changes and is killed at random moments.

The child is the installed program in script mode (``--json``): it prints one line per command,
and only after the change is durable, so a complete line is an acknowledgement. After each kill
the store must load, hold every acknowledged change, and at most the one change in flight.

A plain-Python model says what the store must hold; each command is generated from the model
so that it always changes something (``done`` only an open task, ``stop`` only a started one, a
``modify`` always a new project and tag, a dependency only where it makes no cycle, and so on),
which makes the store's revision count the commands it kept. The commands are those of schema 3
and schema 4's modify (one task, and the priority of several in one change), annotate (text beyond
ASCII), denotate, start and stop; and an import of a Taskwarrior file (written beside the data directory, never in
it) that adds three tasks and updates one the store holds (matched by its uuid), in one change after a backup.

Used by tests/test_kill_storm.py (CI) and bench/kill_soak.py (the long soak).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from taskvault.store.journal_store import JournalStore

from .conftest import KEYS, import_uuid, temp_files

BATCH = 40
RESERVED = "the change in flight left out, its id kept unused"
IN_FLIGHT = "in-flight change durable, not yet acknowledged"


#: The update an import makes is later than the store's version of the task (a day after now): an import
#: leaves a task the store changed after the file's version as it is (domain/importing.py).
LATER_THAN_THE_STORE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")


@attrs.frozen
class Held:
    """What the store must hold of one task: each field a command of the storm sets (timestamps left out)."""

    title: str
    status: str = "open"
    tags: frozenset[str] = frozenset()
    project: str | None = None
    priority: str | None = None
    due: str | None = None
    started: bool = False
    annotations: tuple[str, ...] = ()
    #: The ids of the tasks it depends on that are there, and how many it depends on that were deleted since.
    depends: frozenset[int] = frozenset()
    gone: int = 0


#: Annotations with text beyond ASCII, as a person types them.
ANNOTATION = "ünï ☕ a{n}"
#: Priorities as modify takes them, and as the store holds them.
PRIORITIES = {"L": "low", "M": "medium", "H": "high"}


@attrs.define
class Model:
    """What the store must hold: id -> Held, and the next id."""

    tasks: dict[int, Held] = attrs.Factory(dict)
    next_id: int = 1
    counter: int = 0
    #: The uuids known of the tasks (read from the store before a batch, or given by an import): an import updates one.
    uuids: dict[int, str] = attrs.Factory(dict)
    #: Where the files to import are written (None: no imports).
    imports: Path | None = None

    def copy(self) -> Model:
        return Model(dict(self.tasks), self.next_id, self.counter, dict(self.uuids), self.imports)

    def command(self, rng: random.Random) -> tuple[str, Callable[[Model], None]]:
        """A command line that changes the store, and how it changes the model."""
        self.counter += 1
        n = self.counter
        ids = sorted(self.tasks)
        # Adds outweigh deletes until the store holds about 100 tasks, then they balance, so a
        # long soak keeps compacting a store of a steady size.
        adds = 4 if len(ids) < 100 else 1
        kinds = ["add"] * adds + (["done", "edit-title", "edit-tag", "delete", "reopen", "modify", "bulk-priority",
                                   "annotate", "denotate", "start", "stop", "import"] if ids else [])
        kind = rng.choice(kinds)
        open_ids = [i for i in ids if self.tasks[i].status == "open"]
        done_ids = [i for i in ids if self.tasks[i].status == "done"]
        if kind == "done" and open_ids:
            i = rng.choice(open_ids)
            return f"done {i}", lambda m: m._set(i, status="done", started=False)  # done stops it
        if kind == "reopen" and done_ids:
            i = rng.choice(done_ids)
            return f"reopen {i}", lambda m: m._set(i, status="open")
        if kind == "edit-title" and ids:
            i = rng.choice(ids)
            return f"edit {i} --title e{n}", lambda m: m._set(i, title=f"e{n}")
        if kind == "edit-tag" and ids:
            i = rng.choice(ids)
            return f"edit {i} --tag +k{n}", lambda m: m._set(i, tags=m.tasks[i].tags | {f"k{n}"})
        if kind == "delete" and ids:
            i = rng.choice(ids)
            return f"delete {i}", lambda m: m._delete(i)
        if kind == "modify" and ids:
            return self._modify(rng, n, ids)
        if kind == "bulk-priority" and ids:
            chosen = rng.sample(ids, min(3, len(ids)))
            letter = rng.choice([k for k, v in PRIORITIES.items() if any(self.tasks[i].priority != v for i in chosen)])

            def prioritise(m: Model) -> None:
                for i in chosen:
                    m._set(i, priority=PRIORITIES[letter])
            return f"modify {','.join(map(str, chosen))} priority:{letter}", prioritise
        if kind == "annotate" and (room := [i for i in ids if len(self.tasks[i].annotations) < 100]):
            i = rng.choice(room)
            return f"annotate {i} {ANNOTATION.format(n=n)}", lambda m: m._set(
                i, annotations=(*m.tasks[i].annotations, ANNOTATION.format(n=n)))
        if kind == "denotate" and (noted := [i for i in ids if self.tasks[i].annotations]):
            i = rng.choice(noted)
            return f"denotate {i} 1", lambda m: m._set(i, annotations=m.tasks[i].annotations[1:])
        if kind == "start" and (idle := [i for i in open_ids if not self.tasks[i].started]):
            i = rng.choice(idle)
            return f"start {i}", lambda m: m._set(i, started=True)
        if kind == "stop" and (active := [i for i in ids if self.tasks[i].started]):
            i = rng.choice(active)
            return f"stop {i}", lambda m: m._set(i, started=False)
        if kind == "import" and self.imports is not None and (known := [i for i in ids if i in self.uuids]):
            return self._import(rng.choice(known), n, self.imports)
        return f"add t{n}", lambda m: m._add(f"t{n}")

    def _import(self, target: int, n: int, imports: Path) -> tuple[str, Callable[[Model], None]]:
        """import --from taskwarrior FILE: three new tasks (the next ids, in the file's order) and task ``target``
        replaced by what the file says of it (a new title and project, and nothing else: open, no tags, no dates)."""
        new = [f"i{n}{letter}" for letter in "abc"]
        records: list[dict[str, object]] = [
            {"uuid": import_uuid(title), "description": title, "status": "pending", "tags": ["imported"],
             "entry": "20261101T090000Z", "modified": "20261101T090000Z"} for title in new]
        records.insert(1, {"uuid": self.uuids[target], "description": f"u{n}", "project": f"imp{n}", "status": "pending",
                           "entry": "20261101T090000Z", "modified": LATER_THAN_THE_STORE})
        imports.mkdir(exist_ok=True)
        path = imports / f"{n}.json"
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")

        def apply(m: Model) -> None:
            for title in new:
                m.uuids[m.next_id] = import_uuid(title)
                m._add(title, tags=frozenset({"imported"}))
            m.tasks[target] = Held(f"u{n}", project=f"imp{n}")
        return f"import --from taskwarrior {path}", apply

    def _modify(self, rng: random.Random, n: int, ids: list[int]) -> tuple[str, Callable[[Model], None]]:
        """modify ID project:P due:DATE +TAG, and depends:J when J is one it may wait for (no cycle)."""
        i = rng.choice(ids)
        due = f"2031-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        candidates = [j for j in ids if j != i and j not in self.tasks[i].depends and not self._waits_for(j, i)]
        j = rng.choice(candidates) if candidates and rng.random() < 0.6 else None
        line = f"modify {i} project:p{n}.x due:{due} +m{n}" + (f" depends:{j}" if j is not None else "")

        def apply(m: Model) -> None:
            held = m.tasks[i]
            m._set(i, project=f"p{n}.x", due=due, tags=held.tags | {f"m{n}"},
                   depends=held.depends | ({j} if j is not None else set()))
        return line, apply

    def _waits_for(self, first: int, second: int) -> bool:
        return waits_for({i: t.depends for i, t in self.tasks.items()}, first, second)

    def _add(self, title: str, tags: frozenset[str] = frozenset()) -> None:
        self.tasks[self.next_id] = Held(title, tags=tags)
        self.next_id += 1

    def _delete(self, task_id: int) -> None:
        del self.tasks[task_id]
        self.uuids.pop(task_id, None)
        for other, held in self.tasks.items():
            if task_id in held.depends:
                self.tasks[other] = attrs.evolve(held, depends=held.depends - {task_id}, gone=held.gone + 1)

    def _set(self, task_id: int, **fields: Any) -> None:
        self.tasks[task_id] = attrs.evolve(self.tasks[task_id], **fields)


def store_view(directory: Path) -> tuple[dict[int, Held], int, int]:
    """The store as the real loader reads it: (tasks as the model holds them, next id, revision)."""
    tasks = JournalStore(directory, passphrases=KEYS).load()
    ids = {t.uuid: t.id for t in tasks}
    view = {t.id: Held(t.title, t.status.value, frozenset(t.tags), t.project,
                       t.priority.value if t.priority else None, t.due.isoformat() if t.due else None,
                       t.started is not None, tuple(a.text for a in t.annotations),
                       frozenset(ids[u] for u in t.depends if u in ids), sum(u not in ids for u in t.depends))
            for t in tasks}
    return view, tasks.next_id, tasks.revision


@attrs.define
class StormReport:
    kills: int = 0
    acknowledged: int = 0
    outcomes: Counter[str] = attrs.Factory(Counter)
    #: Runs of the child during which the store was compacted (the snapshot replaced).
    compacting_runs: int = 0
    seconds: float = 0.0

    #: Kills that struck inside a compaction (they left its temp file behind).
    in_compaction: int = 0
    #: Imports acknowledged (each kept whole), and kills that landed inside one's save (it was kept whole, or none of it).
    imports: int = 0
    mid_import: int = 0

    @property
    def mid_save(self) -> int:
        return self.outcomes[IN_FLIGHT]

    def summary(self) -> str:
        detail = ", ".join(f"{name}: {count}" for name, count in sorted(self.outcomes.items()))
        return (f"{self.kills} kills, {self.acknowledged} acknowledged changes, all kept "
                f"({self.imports} of them imports); "
                f"{self.mid_save} kills landed mid-save, {self.in_compaction} of them inside a compaction and "
                f"{self.mid_import} inside an import "
                f"({detail}); {self.compacting_runs} runs compacted the store; {self.seconds:.0f} s")


def storm(directory: Path, program: list[str], kills: int, seed: int,
          progress: Callable[[StormReport], None] | None = None) -> StormReport:
    """Kill a child ``kills`` times at random moments; raise AssertionError on the first broken promise."""
    rng = random.Random(seed)
    model = Model(imports=directory.parent / "imports")
    report = StormReport()
    started = time.monotonic()
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(directory), "NO_COLOR": "1", "TASKVAULT_LOCK_TIMEOUT": "30"}
    left_behind: set[str] = set()
    snapshot = directory / "tasks.json"
    snapshot_inode = None
    applied = 0  # changes the store must hold: each command makes exactly one revision
    while report.kills < kills:
        if (directory / "tasks.json").exists():  # the store holds what the model does (checked after each run)
            model.uuids = {t.id: str(t.uuid) for t in JournalStore(directory, passphrases=KEYS).load()}
        planner = model.copy()
        batch = []
        for _ in range(BATCH):
            line, apply = planner.command(rng)
            apply(planner)
            batch.append((line, apply))
        model.counter = planner.counter
        child = subprocess.Popen([*program, "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        child.stdin.write("".join(line + "\n" for line, _ in batch).encode())
        child.stdin.close()
        kill_after = rng.randrange(BATCH)
        acked = 0
        while acked < kill_after and child.stdout.readline().endswith(b"\n"):
            acked += 1
            if acked == 1 and left_behind:
                assert not left_behind & set(temp_files(directory)), f"temp files not cleaned up: {left_behind}"
                left_behind = set()
        # Not synchronisation: a random extra delay spreads the kill over every phase of a change.
        time.sleep(rng.uniform(0, 0.003))
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        acked += rest.count(b"\n")  # complete lines the child had written: acknowledged too
        errors = child.stderr.read()
        child.stdout.close(), child.stderr.close()
        assert b"error" not in errors, errors.decode()
        killed = child.returncode == -signal.SIGKILL
        for _, apply in batch[:acked]:
            apply(model)
        report.imports += sum(line.startswith("import ") for line, _ in batch[:acked])
        in_flight_import = acked < len(batch) and batch[acked][0].startswith("import ")
        view, next_id, revision = store_view(directory)
        expected = (model.tasks, model.next_id)
        if (view, next_id) == expected:
            outcome = "no change in flight" if acked < len(batch) else "ran to the end"
        elif acked < len(batch) and view == model.tasks and next_id > model.next_id:
            # The change in flight was left out, but its record reached the journal far enough to name the
            # ids it would use: those are never handed out (an add; it may be voided or unconfirmed).
            in_flight = model.copy()
            batch[acked][1](in_flight)
            assert next_id == in_flight.next_id, f"next id {next_id} is not the one the change in flight named"
            model.next_id = next_id
            outcome = RESERVED
        else:
            assert acked < len(batch), "the store differs from every acknowledged change"
            in_flight = model.copy()
            batch[acked][1](in_flight)
            assert (view, next_id) == (in_flight.tasks, in_flight.next_id), (
                f"after {report.acknowledged + acked} acknowledged changes the store holds neither them "
                f"nor them plus the one in flight ({batch[acked][0]!r})")
            batch[acked][1](model)
            outcome = IN_FLIGHT
        applied += acked + (outcome == IN_FLIGHT)
        assert revision == applied, f"revision {revision} after {applied} changes"
        left_behind = set(temp_files(directory))
        report.acknowledged += acked
        inode = snapshot.stat().st_ino if snapshot.exists() else None
        report.compacting_runs += snapshot_inode is not None and inode != snapshot_inode
        snapshot_inode = inode
        for path in model.imports.glob("*.json") if model.imports is not None else ():
            path.unlink()
        if killed:
            report.mid_import += in_flight_import and outcome in (IN_FLIGHT, RESERVED)
            report.kills += 1
            report.outcomes[outcome] += 1
            report.in_compaction += bool(left_behind)
        report.seconds = time.monotonic() - started
        if progress is not None:
            progress(report)
    return report


def waits_for(depends: Mapping[int, Iterable[int]], first: int, second: int) -> bool:
    """True if task ``first`` is ``second`` or waits for it, through dependencies on tasks that are in ``depends``
    (each task's id with the ids it depends on): the models' own cycle check, as taskvault's must decide."""
    todo, seen = [first], set()
    while todo:
        current = todo.pop()
        if current == second:
            return True
        if current in seen or current not in depends:
            continue
        seen.add(current)
        todo.extend(depends[current])
    return False
