"""One contract for every store behind taskvault.store.port.StorePort: the real JournalStore and the fake.

Each check is a plain function of a Backend (a way to open handles on one store and to make its next
append fail), run over both stores; the last tests run some of the checks over deliberately broken
fakes and expect them to fail, so the contract is known to catch what it is meant to.

The checks drive a store the way the unit of work does (store/unit_of_work.py): under the lock,
catch up, plan, append, then apply to the list in memory.
"""

from __future__ import annotations

import datetime as dt
import errno
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import attrs
import pytest

from taskvault import codec
from taskvault.domain import operations
from taskvault.domain.change import ChangeKind
from taskvault.domain.task import Priority, Task, normalize_extra
from taskvault.domain.tasklist import Change, TaskList
from taskvault.errors import InvalidValue, SaveFailed, StoreLocked
from taskvault.store import files
from taskvault.store.journal_store import JournalStore
from taskvault.store.port import StorePort

from .conftest import KEYS, FaultyOs, encrypted_stores, new_store
from .memory_store import MemoryDisk, MemoryStore

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


class Backend(Protocol):
    def store(self) -> StorePort:
        """A new handle on the one store (a session of its own)."""

    def failing_append(self, code: int) -> AbstractContextManager[None]:
        """Inside it, the next append fails at the disk with ``code``."""


class RealBackend:
    """JournalStore in a temporary directory; faults injected at the OS boundary, as the recovery tests do."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.opened: list[JournalStore] = []

    def store(self) -> StorePort:
        store = JournalStore(self.directory, lock_timeout=0.1, passphrases=KEYS)
        self.opened.append(store)
        return store

    @contextmanager
    def failing_append(self, code: int) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(files, "os", FaultyOs("fsync", code))
            yield

    def close(self) -> None:
        for store in self.opened:
            store.close()


class FakeBackend:
    """MemoryStore handles on one MemoryDisk; faults injected at the fake's boundary."""

    def __init__(self, make: Callable[[MemoryDisk], StorePort] = MemoryStore) -> None:
        self.disk = MemoryDisk()
        self._make = make

    def store(self) -> StorePort:
        return self._make(self.disk)

    @contextmanager
    def failing_append(self, code: int) -> Iterator[None]:
        self.disk.fail_appends, self.disk.fail_errno = 1, code
        try:
            yield
        finally:
            self.disk.fail_appends = 0

    def close(self) -> None:
        pass


@pytest.fixture(params=["journal", "journal, encrypted", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RealBackend | FakeBackend]:
    if request.param == "journal, encrypted":  # an encrypted store, made empty first (as init --encrypt does)
        with encrypted_stores(tmp_path):
            new_store(tmp_path / "data")
    made = RealBackend(tmp_path / "data") if request.param.startswith("journal") else FakeBackend()
    made.encrypted = request.param == "journal, encrypted"  # type: ignore[union-attr]
    yield made
    made.close()


# -- driving a store as the unit of work does ---------------------------------------------

def save(store: StorePort, tasks: TaskList, plan: Callable[[TaskList], Change]) -> tuple[TaskList, int]:
    """One change, in the unit of work's order; the list now and the change's revision."""
    with store.locked():
        tasks = store.catch_up(tasks).tasks
        change = plan(tasks)
        revision, at = store.append(tasks, change)
        tasks.apply(change, revision, at)
    return tasks, revision


def add(title: str) -> Callable[[TaskList], Change]:
    return lambda tasks: operations.plan_add(tasks, title, now=NOW)


def delete(*ids: int) -> Callable[[TaskList], Change]:
    return lambda tasks: operations.plan_delete(tasks, list(ids))


def titles(tasks: TaskList) -> list[str]:
    return [t.title for t in tasks.snapshot()[0]]


# -- the contract -------------------------------------------------------------------------

def check_an_empty_store_loads_empty(backend: Backend) -> None:
    store = backend.store()
    tasks = store.load()
    assert (len(tasks), tasks.revision, tasks.next_id) == (0, 0, 1)
    assert store.present_files() == ()
    assert store.backups.list() == []
    assert store.salvage_report().snapshot() == tasks.snapshot()  # type: ignore[union-attr]


def check_a_saved_change_is_there_on_reload(backend: Backend) -> None:
    store = backend.store()
    tasks, _ = save(store, store.load(), add("write the contract"))
    assert titles(store.load()) == ["write the contract"]
    assert backend.store().load().snapshot() == tasks.snapshot()
    assert store.present_files()


def check_revisions_go_up_by_one(backend: Backend) -> None:
    store = backend.store()
    tasks = store.load()
    for expected, title in enumerate(("one", "two", "three"), start=1):
        with store.locked():
            tasks = store.catch_up(tasks).tasks
            change = operations.plan_add(tasks, title, now=NOW)
            revision, at = store.append(tasks, change)
            assert revision == expected == tasks.revision + 1
            tasks.apply(change, revision, at)
    assert backend.store().load().revision == 3


def check_append_leaves_the_list_to_the_caller(backend: Backend) -> None:
    store = backend.store()
    tasks = store.load()
    with store.locked():
        tasks = store.catch_up(tasks).tasks
        change = operations.plan_add(tasks, "not yet applied", now=NOW)
        revision, _ = store.append(tasks, change)
        assert (len(tasks), tasks.revision) == (0, 0)
    assert revision == 1


def check_a_failed_append_changes_nothing(backend: Backend) -> None:
    store = backend.store()
    tasks, _ = save(store, store.load(), add("kept"))
    before = tasks.snapshot()
    with backend.failing_append(errno.EIO), pytest.raises(SaveFailed):
        save(store, tasks, add("lost"))
    assert tasks.snapshot() == before
    assert store.load().snapshot() == before
    assert backend.store().load().snapshot() == before
    tasks, revision = save(store, store.load(), add("next"))
    assert revision == 2 and titles(tasks) == ["kept", "next"]


def check_a_second_handle_catches_up(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    mine, _ = save(first, first.load(), add("before"))
    theirs = second.load()
    mine, _ = save(first, mine, add("from the first"))
    with second.locked():
        caught = second.catch_up(theirs)
    assert caught.behind == 1 and titles(caught.tasks) == ["before", "from the first"]
    assert caught.tasks is theirs, "the list is caught up in place, with the changes it missed"
    assert [c.put[0].title for c in caught.changes] == ["from the first"]
    theirs, revision = save(second, caught.tasks, add("from the second"))
    assert revision == 3
    refreshed = first.refresh(mine)
    assert refreshed.behind == 1 and titles(refreshed.tasks) == ["before", "from the first", "from the second"]
    assert first.refresh(refreshed.tasks).behind == 0


def check_the_lock_keeps_a_second_handle_out(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    first.load(), second.load()
    with first.locked(), pytest.raises(StoreLocked), second.locked():
        pass
    with second.locked():
        pass


def check_ids_are_never_reused(backend: Backend) -> None:
    store = backend.store()
    tasks = store.load()
    for title in ("one", "two"):
        tasks, _ = save(store, tasks, add(title))
    tasks, _ = save(store, tasks, delete(2))
    tasks = backend.store().load()
    assert tasks.next_id == 3
    tasks, _ = save(store, tasks, add("three"))
    assert [t.id for t in tasks.snapshot()[0]] == [1, 3]
    before = store.load().snapshot()
    reused = operations.plan_add(tasks, "two again", now=NOW)
    reused = Change(reused.kind, (attrs.evolve(reused.put[0], id=2),), next_id=reused.next_id)
    with pytest.raises(InvalidValue), store.locked():
        store.append(store.catch_up(tasks).tasks, reused)
    assert store.load().snapshot() == before


def check_a_backup_reads_back(backend: Backend) -> None:
    store = backend.store()
    tasks, _ = save(store, store.load(), add("backed up"))
    with store.locked():
        backup = store.backup(store.catch_up(tasks).tasks, "mine")
    assert (backup.revision, backup.task_count, backup.label) == (1, 1, "mine")
    assert store.backups.list() == [backup]
    assert store.backups.find("latest") == backup == store.backups.find(backup.id) == store.backups.find("mine")
    snapshot = codec.decode_snapshot(store.backups.read(backup))
    assert ([t.title for t in snapshot.tasks], snapshot.revision) == (["backed up"], 1)


# -- schema 4's kinds: every kind of change, and a task with every field, kept by either store -----------------

LATER = NOW + dt.timedelta(minutes=5)


def schema_4_changes() -> list[tuple[ChangeKind, Callable[[TaskList], Change]]]:
    """One change of each kind schema 4 added (and a modify, an edit of several tasks), in an order that works."""
    edit = operations.TaskEdit(project="home.kitchen", due=dt.date(2031, 2, 3), scheduled=dt.date(2031, 1, 1),
                               wait=dt.date(2030, 12, 24), until=dt.date(2032, 1, 1), add_tags=("ünï",),
                               add_depends=(2,))
    return [
        (ChangeKind.ADD, lambda tasks: operations.plan_add(tasks, "Café ☕", now=NOW, project="büro", depends=())),
        (ChangeKind.ADD, lambda tasks: operations.plan_add(tasks, "depended on", now=NOW, wait=dt.date(2031, 1, 1))),
        (ChangeKind.EDIT, lambda tasks: operations.plan_modify(tasks, [1], edit, now=LATER)),
        (ChangeKind.EDIT, lambda tasks: operations.plan_modify(tasks, [1, 2], operations.TaskEdit(
            priority=Priority.LOW), now=LATER)),
        (ChangeKind.ANNOTATE, lambda tasks: operations.plan_annotate(tasks, [1, 2], "ünï ✓ 日本語", now=LATER)),
        (ChangeKind.ANNOTATE, lambda tasks: operations.plan_annotate(tasks, [1], "second", now=LATER)),
        (ChangeKind.START, lambda tasks: operations.plan_start(tasks, [1, 2], now=LATER)),
        (ChangeKind.STOP, lambda tasks: operations.plan_stop(tasks, [2], now=LATER)),
        (ChangeKind.DENOTATE, lambda tasks: operations.plan_denotate(tasks, 1, "1", now=LATER)),
        (ChangeKind.IMPORT, plan_an_import),
    ]


def plan_an_import(tasks: TaskList) -> Change:
    """Schema 5's kind, shaped as an import plans it: updates of tasks there (extra attributes and a title) and new
    tasks with extra attributes of each type, in one change."""
    first, second = tasks.get(1), tasks.get(2)
    new = [Task(tasks.next_id + n, uuid.uuid5(uuid.NAMESPACE_URL, f"imported {n}"), f"imported ✓ {n}", NOW, NOW,
                extra=normalize_extra({"estimate": "3h\n\tmore", "jira.id": 1234, "weight": -0.0, "x-big": 2**63 - 1}))
           for n in range(3)]
    return Change(ChangeKind.IMPORT, put=(attrs.evolve(first, extra=(("estimate", 2.5),), updated=LATER),
                                          attrs.evolve(second, title="depended on, imported", updated=LATER), *new),
                  next_id=tasks.next_id + len(new), detail="taskwarrior tw.json")


def check_every_new_kind_is_kept_and_caught_up(backend: Backend) -> None:
    """Each change of schema 4's kinds is saved under the next revision, read back whole by a new handle, and handed
    to a stale handle, kind and all, when it catches up."""
    store = backend.store()
    changes = schema_4_changes()
    tasks, _ = save(store, store.load(), changes[0][1])
    stale = backend.store()
    theirs = stale.load()  # a session that read the store as it was after the first change
    for expected, (_, plan) in enumerate(changes[1:], start=2):
        tasks, revision = save(store, tasks, plan)
        assert revision == expected
    assert backend.store().load().snapshot() == tasks.snapshot()
    first = tasks.get(1)
    assert first.project == "home.kitchen" and first.tags == ("ünï",) and first.started is not None
    assert [a.text for a in first.annotations] == ["second"] and first.depends == (tasks.get(2).uuid,)
    assert first.extra == (("estimate", 2.5),) and tasks.get(3).extra[1:3] == (("jira.id", 1234), ("weight", -0.0))
    assert (first.due, first.scheduled, first.wait, first.until) == (dt.date(2031, 2, 3), dt.date(2031, 1, 1),
                                                                     dt.date(2030, 12, 24), dt.date(2032, 1, 1))
    with stale.locked():
        caught = stale.catch_up(theirs)
    assert [c.kind for c in caught.changes] == [kind for kind, _ in changes[1:]]
    assert caught.changes[-1].command == "import taskwarrior tw.json"
    assert caught.tasks.snapshot() == tasks.snapshot()


def check_a_failed_append_of_a_new_kind_changes_nothing(backend: Backend) -> None:
    """Whichever kind it is, a change whose append fails is neither in memory nor read back by any handle."""
    store = backend.store()
    tasks = store.load()
    changes = schema_4_changes()
    for _, plan in changes[:2]:
        tasks, _ = save(store, tasks, plan)
    for _, plan in changes[2:]:
        before = tasks.snapshot()
        with backend.failing_append(errno.ENOSPC), pytest.raises(SaveFailed):
            save(store, tasks, plan)
        assert tasks.snapshot() == before and backend.store().load().snapshot() == before
        tasks, _ = save(store, store.load(), plan)
        assert backend.store().load().snapshot() == tasks.snapshot() != before


def check_a_backup_keeps_every_new_field(backend: Backend) -> None:
    store = backend.store()
    tasks = store.load()
    for _, plan in schema_4_changes():
        tasks, _ = save(store, tasks, plan)
    with store.locked():
        backup = store.backup(store.catch_up(tasks).tasks, "schema-4")
    snapshot = codec.decode_snapshot(store.backups.read(backup))
    assert tuple(snapshot.tasks) == tuple(tasks.snapshot()[0])


CONTRACT = [check_an_empty_store_loads_empty, check_a_saved_change_is_there_on_reload, check_revisions_go_up_by_one,
            check_append_leaves_the_list_to_the_caller, check_a_failed_append_changes_nothing,
            check_a_second_handle_catches_up, check_the_lock_keeps_a_second_handle_out, check_ids_are_never_reused,
            check_a_backup_reads_back, check_every_new_kind_is_kept_and_caught_up,
            check_a_failed_append_of_a_new_kind_changes_nothing, check_a_backup_keeps_every_new_field]




@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__.removeprefix("check_"))
def test_the_store_keeps_the_contract(backend: Backend, check: Callable[[Backend], None]) -> None:
    encrypted = getattr(backend, "encrypted", False)
    if encrypted and check is check_an_empty_store_loads_empty:
        pytest.skip("an encrypted store is never without files: init --encrypt writes them")
    check(backend)


# -- the contract has teeth: broken fakes fail it ------------------------------------------

class ForgetsTheRevision(MemoryStore):
    """Saves a change under the revision of the list it was planned on: the counter never moves."""

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        super().append(tasks, change)
        saved, _, at = self.disk.records.pop()
        self.disk.records.append((saved, tasks.revision, at))
        return tasks.revision, at


class KeepsAFailedChange(MemoryStore):
    """Raises SaveFailed when told to, but keeps the change it failed to save."""

    def append(self, tasks: TaskList, change: Change) -> tuple[int, dt.datetime]:
        failing = self.disk.fail_appends
        self.disk.fail_appends = 0
        revision, at = super().append(tasks, change)
        if failing:
            raise SaveFailed("could not save — nothing was changed")
        return revision, at


class KeepsToItself(MemoryStore):
    """Each handle its own journal: another handle's changes are never seen."""

    def __init__(self, disk: MemoryDisk) -> None:
        own = MemoryDisk(disk.directory)
        own.backups = disk.backups
        super().__init__(own)


class HandsOutIdsAgain(MemoryStore):
    """Loads a store with the id counter just above the tasks there are, forgetting deleted ids."""

    def load(self) -> TaskList:
        tasks = super().load()
        present = tasks.snapshot()[0]
        return TaskList(present, next_id=max((t.id for t in present), default=0) + 1, revision=tasks.revision)


@pytest.mark.parametrize(("broken", "check"), [
    (ForgetsTheRevision, check_revisions_go_up_by_one),
    (KeepsAFailedChange, check_a_failed_append_changes_nothing),
    (KeepsToItself, check_a_second_handle_catches_up),
    (HandsOutIdsAgain, check_ids_are_never_reused),
], ids=lambda value: getattr(value, "__name__", ""))
def test_a_broken_fake_fails_the_contract(broken: Callable[[MemoryDisk], StorePort],
                                          check: Callable[[Backend], None]) -> None:
    """Each broken fake breaks one promise, and the check of that promise catches it."""
    with pytest.raises(AssertionError):
        check(FakeBackend(broken))


def test_both_stores_have_every_member_of_the_port(tmp_path: Path) -> None:
    """The fake and the real store have every member StorePort names (mypy checks their types: see port.py)."""
    members = {name for name in dir(StorePort) if not name.startswith("_")}
    assert {"append", "catch_up", "locked", "backups", "compact"} <= members
    for store in (MemoryStore(MemoryDisk()), JournalStore(tmp_path)):
        assert members <= set(dir(store)), type(store).__name__
