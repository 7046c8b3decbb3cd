"""The replication state kept by the store (schema 6): made durable in the same append as the tasks a sync changes,
read back after a restart, a compaction and an encryption, never changed by any other change, and a conflicted
task refused to every change but a sync's or a resolution."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from taskvault import codec
from taskvault.codec.replica import fingerprint
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.replica import Clock, Conflict, Replica, ReplicaChange, Side, Synced
from taskvault.domain.task import Task
from taskvault.store.journal_store import JournalStore
from taskvault.store.unit_of_work import UnitOfWork

from .conftest import KEYS, encrypted_stores, run_taskvault, seed_store

ME, OTHER = "0123456789ab", "ba9876543210"
AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(params=["plain", "encrypted"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "store"
    if request.param == "encrypted":
        with encrypted_stores(tmp_path):
            seed_store(directory)
            yield directory
    else:
        seed_store(directory)
        yield directory


def _open(directory: Path) -> UnitOfWork:
    return UnitOfWork(JournalStore(directory, passphrases=KEYS))


def _arrived(next_id: int) -> Task:
    return Task(id=next_id, uuid=uuid.UUID(int=99), title="from the laptop ✓", created=AT, updated=AT)


def _sync_in(work: UnitOfWork) -> Replica:
    """A sync's change as the service will make one: a task from another device, and the first replica state."""
    def plan(tasks):  # type: ignore[no-untyped-def]
        task = _arrived(tasks.next_id)
        replica = Replica(ME, 0, Clock.of({OTHER: 1}),
                          {task.uuid: Synced(Clock.of({OTHER: 1}), fingerprint(task))})
        return Change(ChangeKind.SYNC, put=(task,), next_id=tasks.next_id + 1,
                      replica=ReplicaChange.between(None, replica))
    work.change(plan)
    replica = work.tasks.replica
    assert replica is not None
    return replica


def test_a_sync_change_and_its_state_survive_a_restart_and_a_compaction(store: Path) -> None:
    work = _open(store)
    replica = _sync_in(work)
    revision = work.tasks.revision
    work.finish()
    again = _open(store)
    assert again.tasks.replica == replica and again.tasks.revision == revision
    assert again.tasks.by_uuid(uuid.UUID(int=99)) is not None
    with again._store.locked():  # compaction writes the state into the snapshot's first line
        again._store.catch_up(again.tasks)
        again._store.compact(again.tasks)
    again.finish()
    third = _open(store)
    assert third.tasks.replica == replica
    assert run_taskvault(store, "list").code == 0


def test_other_changes_leave_the_state_as_it_was(store: Path) -> None:
    """An add, an undo of the sync's change and a restore change tasks only: the replication state only grows."""
    work = _open(store)
    replica = _sync_in(work)
    work.finish()
    for args in (("add", "Later"), ("undo", "2"), ("history",)):
        assert run_taskvault(store, *args).code == 0
    assert _open(store).tasks.replica == replica
    assert _open(store).tasks.by_uuid(uuid.UUID(int=99)) is None  # the undo took the task away


def test_a_conflicted_task_is_changed_by_nothing_but_sync_and_resolve(store: Path) -> None:
    work = _open(store)
    first = work.tasks.get(1)
    theirs = attrs.evolve(first, title="theirs", id=1)

    def conflict(tasks):  # type: ignore[no-untyped-def]
        side = Side(OTHER, Clock.of({OTHER: 1}), theirs)
        synced = Synced(Clock.of({ME: 1}), fingerprint(first), Conflict(first, (side,), first))
        replica = Replica(ME, 1, Clock.of({ME: 1, OTHER: 1}), {first.uuid: synced})
        return Change(ChangeKind.SYNC, next_id=tasks.next_id, replica=ReplicaChange.between(None, replica))
    work.change(conflict)
    work.finish()
    before = (store / "tasks.journal").read_bytes()
    for args in (("done", "1"), ("edit", "1", "--title", "x"), ("delete", "1"), ("annotate", "1", "note")):
        result = run_taskvault(store, *args)
        assert result.code == 1 and "changed on two devices" in result.err and "resolve 1" in result.err, result.err
    assert (store / "tasks.journal").read_bytes() == before
    assert run_taskvault(store, "done", "2", "3").code == 0  # other tasks are not held up


def test_a_record_of_another_kind_that_carries_a_state_is_damage() -> None:
    replica = ReplicaChange(ME, 0, Clock())
    line = codec.encode_record(Change(ChangeKind.ADD, next_id=2, replica=replica), 1, AT)
    with pytest.raises(codec.FormatError, match="only a sync or a resolution"):
        codec.decode_record(line[:-1], "x")
    line = codec.encode_record(Change(ChangeKind.SYNC, next_id=2), 1, AT)
    with pytest.raises(codec.FormatError, match="a sync always does"):
        codec.decode_record(line[:-1], "x")


def test_a_schema_5_store_is_upgraded_with_no_state(tmp_path: Path) -> None:
    """A store as schema 5 wrote it (backed up as it was) opens with no replication state, and syncs from there."""
    directory = tmp_path / "store"
    seed_store(directory)
    tasks = _open(directory).tasks
    (directory / "tasks.json").write_bytes(codec.encode_snapshot_as(5, *tasks.snapshot()))
    (directory / "tasks.journal").unlink()
    listed = run_taskvault(directory, "list")
    assert listed.code == 0 and "upgraded to schema 6" in listed.err, listed.err
    work = _open(directory)
    assert work.tasks.replica is None
    assert _sync_in(work).device == ME
