"""A sealed snapshot (schema 3) is trusted by its checksum: its tasks are built only when used.

The checksum is checked over the whole file before anything in it is believed, so a damaged file
is still refused as a whole; a file whose checksum holds is indexed by task id, and each task is
decoded, as strictly as ever, when a command first touches it.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import codec
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.history import History, Step
from taskvault.domain.task import Status, Task
from taskvault.domain.tasklist import TaskList
from taskvault.errors import StoreUnreadable
from taskvault.store.journal_store import JournalStore

from .conftest import run_taskvault, store_digest
from .test_codec import tasks

STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _task(task_id: int, title: str = "t") -> Task:
    return Task(task_id, uuid.UUID(int=task_id), f"{title} {task_id}", STAMP, STAMP)


def _store(directory: Path, count: int) -> None:
    directory.mkdir(mode=0o700)
    (directory / "tasks.json").write_bytes(codec.encode_snapshot(tuple(_task(i) for i in range(1, count + 1)),
                                                                 count + 1, 0))


def _resealed(data: bytes) -> bytes:
    """``data`` with its checksum made to match again, as a writer that computed it would leave it."""
    at = data.index(b'"crc32":"') + len(b'"crc32":"')
    return data[:at] + b"%08x" % zlib.crc32(data[at + 8:], zlib.crc32(data[:at])) + data[at + 8:]


class TestBuiltWhenUsed:
    def test_a_load_builds_no_task_and_a_lookup_builds_one(self, tmp_path: Path) -> None:
        """Loading 500 tasks builds none; get() builds the one it returns; iterating builds the rest."""
        _store(tmp_path / "data", 500)
        loaded = JournalStore(tmp_path / "data").load()
        assert len(loaded) == 500 and loaded.unbuilt == 500 and 7 in loaded and 501 not in loaded
        assert loaded.get(7) == _task(7) and loaded.unbuilt == 499
        assert loaded.require([9, 7]) == [_task(9), _task(7)] and loaded.unbuilt == 498
        assert list(loaded) == [_task(i) for i in range(1, 501)] and loaded.unbuilt == 0

    def test_replaying_a_change_builds_only_the_tasks_it_touches(self, tmp_path: Path) -> None:
        """A journal record applied to a sealed list builds the tasks it replaces, no other."""
        directory = tmp_path / "data"
        _store(directory, 300)
        done = Task(5, uuid.UUID(int=5), "t 5", STAMP, STAMP + dt.timedelta(hours=1), status=Status.DONE,
                    completed=STAMP + dt.timedelta(hours=1))
        (directory / "tasks.journal").write_bytes(
            codec.encode_journal_header("0123456789abcdef", 0)
            + codec.encode_record(Change(ChangeKind.DONE, put=(done,), next_id=301), 1, STAMP))
        loaded = JournalStore(directory).load()
        assert loaded.revision == 1 and loaded.unbuilt == 299
        assert loaded.get(5) == done and [s.was for s in loaded.history] == [(_task(5),)]

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.integers(1, 10**6), unique=True, max_size=8).flatmap(
        lambda ids: st.tuples(*[tasks(task_id=i) for i in sorted(ids)])))
    def test_a_sealed_load_holds_exactly_what_the_full_decode_holds(self, task_tuple: tuple[Task, ...]) -> None:
        """Task for task, built when used or all at once, the sealed path equals decode_snapshot."""
        next_id = max((t.id for t in task_tuple), default=0) + 1
        data = codec.encode_snapshot(task_tuple, next_id, 3)
        sealed = codec.open_snapshot(data)
        assert isinstance(sealed, codec.SealedSnapshot)
        assert (sealed.next_id, sealed.revision) == (next_id, 3)
        ids = [t.id for t in task_tuple]
        assert [sealed.tasks.find(i) for i in ids] == list(task_tuple)
        for missing in {0, 1, *(i + 1 for i in ids), *(i - 1 for i in ids), 10**7} - set(ids):
            assert sealed.tasks.find(missing) is None
        assert sealed.tasks.all() == codec.decode_snapshot(data).tasks
        assert len(sealed.tasks) == len(ids) and sealed.tasks.highest == max(ids, default=0)


    @pytest.mark.parametrize("searches_before_index", [0, 3, 1000])
    def test_a_task_is_found_the_same_by_search_or_by_index(self, searches_before_index: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        """Many lookups (a long journal) switch to an index of the lines: every answer stays the same."""
        monkeypatch.setattr(codec.SealedTasks, "SEARCHES_BEFORE_INDEX", searches_before_index)
        kept = [_mixed(i) for i in range(1, 60) if i % 7]
        sealed = codec.open_snapshot(codec.encode_snapshot(tuple(kept), 60, 1))
        assert isinstance(sealed, codec.SealedSnapshot)
        for task_id in range(62):
            assert sealed.tasks.find(task_id) == next((t for t in kept if t.id == task_id), None)


    @pytest.mark.parametrize("chunk_bytes", [1, 300, 1 << 20])
    def test_all_tasks_are_decoded_a_chunk_at_a_time_and_a_bad_one_named_by_its_index(
            self, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """However the lines are cut into chunks, every task comes back, and a bad one is named by its path."""
        monkeypatch.setattr(codec.SealedTasks, "CHUNK_BYTES", chunk_bytes)
        kept = tuple(_mixed(i) for i in range(1, 40))
        data = codec.encode_snapshot(kept, 40, 1)
        sealed = codec.open_snapshot(data)
        assert isinstance(sealed, codec.SealedSnapshot) and sealed.tasks.all() == list(kept)
        for old, new, message in ((b'"title":"t 25"', b'"title":"t 25 "', r"not trimmed @ \$\.tasks\[24\]"),
                                  (b'{"id":25,"uuid"', b'{"id":25,"uuid":}', r"not valid JSON @ \$\.tasks\[24\]")):
            damaged = codec.open_snapshot(_resealed(data.replace(old, new)))
            assert isinstance(damaged, codec.SealedSnapshot)
            with pytest.raises(codec.FormatError, match=message):
                damaged.tasks.all()


def _mixed(task_id: int) -> Task:
    """Task ``task_id``, done for every third id."""
    if task_id % 3:
        return _task(task_id)
    return Task(task_id, uuid.UUID(int=task_id), f"t {task_id}", STAMP, STAMP, status=Status.DONE, completed=STAMP)


def _changes(draw: st.DrawFn, size: int) -> list[Change]:
    """Random adds, edits, deletes and undone deletes of a list of ``size`` tasks numbered from 1."""
    present, deleted, next_id, changes = set(range(1, size + 1)), [], size + 1, []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["add", "edit", "delete", "undo"]))
        if kind == "add" or not present:
            changes.append(Change(ChangeKind.ADD, put=(_task(next_id, "new"),), next_id=next_id + 1))
            present.add(next_id)
            next_id += 1
        elif kind == "edit":
            task_id = draw(st.sampled_from(sorted(present)))
            changes.append(Change(ChangeKind.EDIT, put=(_task(task_id, "edited"),), next_id=next_id))
        elif kind == "delete" or not deleted:
            task_id = draw(st.sampled_from(sorted(present)))
            changes.append(Change(ChangeKind.DELETE, delete=(task_id,), next_id=next_id))
            present.discard(task_id)
            deleted.append(task_id)
        else:
            task_id = deleted.pop()
            changes.append(Change(ChangeKind.UNDO, put=(_task(task_id),), next_id=next_id, undoes=(1,)))
            present.add(task_id)
    return changes


@st.composite
def _store_and_changes(draw: st.DrawFn) -> tuple[int, list[Change]]:
    size = draw(st.integers(0, 6))
    return size, _changes(draw, size)


class TestSameAsBuiltWhole:
    @settings(max_examples=200, deadline=None)
    @given(_store_and_changes(), st.integers(0, 2), st.integers(0, 4))
    def test_any_changes_leave_a_sealed_list_equal_to_one_built_whole(self, case: tuple[int, list[Change]],
                                                                       looks: int, kept: int) -> None:
        """Applied change by change, with lookups between, the list built when used equals the one built whole.

        As a long journal is replayed, steps older than the history keeps are not remembered (so what
        they replaced is not built): the history comes out the same.
        """
        size, changes = case
        data = codec.encode_snapshot(tuple(_mixed(i) for i in range(1, size + 1)), size + 1, 0)
        sealed = codec.open_snapshot(data)
        assert isinstance(sealed, codec.SealedSnapshot)
        lazy = TaskList.from_source(sealed.tasks, next_id=size + 1, revision=0, history=History(limit=kept))
        whole = TaskList(codec.decode_snapshot(data).tasks, next_id=size + 1, revision=0, history=History(limit=kept))
        frozen, expected = lazy.copy(), codec.encode_snapshot(*whole.snapshot(), tuple(lazy.history))
        for revision, change in enumerate(changes, start=1):
            if revision == len(changes) // 2:  # as a session hands a copy to a background compaction, and goes on
                frozen, expected = lazy.copy(), codec.encode_snapshot(*whole.snapshot(), tuple(lazy.history))
            for task_id in range(looks * revision % 4, size + revision + 2, looks + 1):
                assert (task_id in lazy) == (task_id in whole)
            lazy.apply(change, revision, STAMP, remember=revision > len(changes) - kept)
            whole.apply(change, revision, STAMP)
            assert len(lazy) == len(whole) and lazy.next_id == whole.next_id
            if looks:
                assert lazy.counts() == whole.counts()
        assert list(lazy.history) == list(whole.history)
        assert codec.encode_tasklist(frozen) == expected, "a copy is not changed by the changes after it"
        for task_id in range(size + len(changes) + 2):
            assert (task_id in lazy) == (task_id in whole)
        unbuilt = lazy.unbuilt
        assert lazy.counts() == whole.counts() and lazy.unbuilt == unbuilt, "counted without building"
        # Written back with the lines never used copied as they were read: byte for byte what encoding all gives.
        assert codec.encode_tasklist(lazy) == codec.encode_snapshot(*whole.snapshot(), tuple(lazy.history))
        assert lazy.unbuilt == unbuilt, "writing the list back builds nothing"
        assert lazy.snapshot() == whole.snapshot()
        assert sorted(t.id for t in lazy) == sorted(t.id for t in whole) and lazy.unbuilt == 0


class _Counted:
    """A sealed snapshot's steps, counting how often they are all built (the real SealedSteps underneath)."""

    def __init__(self, steps: codec.SealedSteps) -> None:
        self.steps, self.builds = steps, 0

    def __len__(self) -> int:
        return len(self.steps)

    def build(self) -> list[Step]:
        self.builds += 1
        return self.steps.build()

    def step(self, index: int) -> Step:
        return self.steps.step(index)

    def stored(self) -> list[str]:
        return self.steps.stored()


@st.composite
def _history_case(draw: st.DrawFn) -> tuple[int, list[Change], int, int]:
    size = draw(st.integers(0, 5))
    changes = _changes(draw, size)
    return size, changes, draw(st.integers(0, len(changes))), draw(st.integers(1, 6))


class TestHistoryBuiltWhenUsed:
    """A sealed snapshot's history steps are built only when the history is read (undo, redo, history)."""

    @settings(max_examples=200, deadline=None)
    @given(_history_case())
    def test_changes_record_steps_without_building_the_history_and_write_it_back_as_read(
            self, case: tuple[int, list[Change], int, int]) -> None:
        """Steps read from a file, changes recorded after them, the oldest dropped past the limit, a copy handed
        to a compaction: the same history as one built whole, written back byte for byte, built by nothing but
        reading it."""
        size, changes, split, kept = case
        base = TaskList([_mixed(i) for i in range(1, size + 1)], next_id=size + 1)
        for revision, change in enumerate(changes[:split], start=1):
            base.apply(change, revision, STAMP + dt.timedelta(minutes=revision))
        data = codec.encode_snapshot(*base.snapshot(), tuple(base.history))
        sealed, decoded = codec.open_snapshot(data), codec.decode_snapshot(data)
        assert isinstance(sealed, codec.SealedSnapshot)
        counted = _Counted(sealed.steps)
        lazy = TaskList.from_source(sealed.tasks, next_id=sealed.next_id, revision=sealed.revision,
                                    history=History.from_source(counted, limit=kept))
        whole = TaskList(decoded.tasks, next_id=decoded.next_id, revision=decoded.revision,
                         history=History(decoded.steps, limit=kept))
        frozen, expected = lazy.copy(), codec.encode_snapshot(*whole.snapshot(), tuple(whole.history))
        for revision, change in enumerate(changes[split:], start=split + 1):
            if revision == (split + len(changes)) // 2:
                frozen, expected = lazy.copy(), codec.encode_snapshot(*whole.snapshot(), tuple(whole.history))
            at = STAMP + dt.timedelta(minutes=revision)
            lazy.apply(change, revision, at)
            whole.apply(change, revision, at)
            assert len(lazy.history) == len(whole.history)
            assert lazy.history.newest() == whole.history.newest()
            assert lazy.history.oldest() == whole.history.oldest()
        assert codec.encode_tasklist(frozen) == expected, "a copy is not changed by the changes after it"
        assert codec.encode_tasklist(lazy) == codec.encode_snapshot(*whole.snapshot(), tuple(whole.history))
        assert counted.builds == 0, "recording, counting, copying and writing back built the history"
        assert list(lazy.history) == list(whole.history) and counted.builds == 1
        assert lazy.history.stacks() == whole.history.stacks() and counted.builds == 1, "built once, then held"

    def test_a_step_broken_under_a_valid_checksum_is_refused_by_the_first_command_that_reads_it(
            self, tmp_path: Path) -> None:
        """`add` and `done` never read the history; `history` and `undo` do, and refuse the store with the
        step's JSON path, changing nothing."""
        directory = tmp_path / "data"
        directory.mkdir(mode=0o700)
        assert run_taskvault(directory, "add", "a").code == 0 and run_taskvault(directory, "add", "b").code == 0
        tasks = JournalStore(directory).load()
        (directory / "tasks.journal").unlink()
        data = codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history))
        broken = _resealed(data.replace(b'"cmd":"add"', b'"cmd":"conjure"', 1))
        assert broken != data
        (directory / "tasks.json").write_bytes(broken)
        assert run_taskvault(directory, "add", "c").code == 0, "adding a task reads no step"
        assert run_taskvault(directory, "done", "1").code == 0
        before = store_digest(directory)
        for command in (("history",), ("undo",)):
            result = run_taskvault(directory, *command)
            assert result.code == 3 and "$.history[0]" in result.err and "conjure" in result.err, (command, result.err)
            assert "Traceback" not in result.err
        assert store_digest(directory) == before


class TestStillRefused:
    def test_every_single_bit_flip_is_refused(self) -> None:
        """Whatever bit of a sealed snapshot changes, the store is refused, never read as something else."""
        data = codec.encode_snapshot((_task(1), _task(2, "ü")), 3, 2)
        for offset in range(len(data) - 1):  # the last byte is the optional final newline
            for bit in range(8):
                flipped = data[:offset] + bytes([data[offset] ^ (1 << bit)]) + data[offset + 1:]
                with pytest.raises(codec.FormatError):
                    codec.open_snapshot(flipped)

    def test_a_file_failing_its_checksum_is_decoded_whole_to_name_the_path(self) -> None:
        """A mismatch is explained by the full decode: the JSON path when a rule is broken, else the checksum."""
        data = codec.encode_snapshot((_task(1), _task(2)), 3, 2)
        with pytest.raises(codec.FormatError, match=r"expected an integer, got str '2' @ \$\.tasks\[1\]\.id"):
            codec.open_snapshot(data.replace(b'{"id":2,', b'{"id":"2",'))
        with pytest.raises(codec.FormatError, match="fails its checksum"):
            codec.open_snapshot(data.replace(b"t 2", b"t 3"))

    def test_a_valid_file_laid_out_otherwise_takes_the_full_decode(self) -> None:
        """A sealed file whose checksum holds but whose lines are not as taskvault writes them is decoded whole."""
        data = codec.encode_snapshot((_task(1), _task(2)), 3, 2)
        reordered = _resealed(data.replace(b'{"id":2,"uuid":"00000000-0000-0000-0000-000000000002",',
                                           b'{"uuid":"00000000-0000-0000-0000-000000000002","id":2,'))
        decoded = codec.open_snapshot(reordered)
        assert isinstance(decoded, codec.Snapshot) and decoded.tasks == [_task(1), _task(2)]

    def test_a_newer_or_older_schema_takes_the_full_decode(self) -> None:
        """Only this schema's seal is trusted: a schema 2 file is decoded whole, a too-new one refused."""
        older = codec.encode_snapshot_as(3, (_task(1),), 2, 1)
        assert isinstance(codec.open_snapshot(older), codec.Snapshot)
        newer = codec.encode_snapshot((_task(1),), 2, 1).replace(b'"schema":6,"min_reader":6', b'"schema":7,"min_reader":7')
        with pytest.raises(codec.TooNewError):
            codec.open_snapshot(newer)


class TestOneShot:
    """Through the installed program: a change decodes only the tasks it touches, `list` decodes them all."""

    def test_a_change_leaves_other_tasks_undecoded_and_list_refuses_a_bad_one(self, tmp_path: Path) -> None:
        """A task broken under a valid checksum is refused, with its JSON path, by the first command that reads it."""
        directory = tmp_path / "data"
        _store(directory, 50)
        data = (directory / "tasks.json").read_bytes()
        start = data.index(b'{"id":40,')
        end = data.index(b"\n", start)
        line = data[start:end].replace(b'"priority":null', b'"priority":"urgent"')
        (directory / "tasks.json").write_bytes(_resealed(data[:start] + line + data[end:]))
        assert run_taskvault(directory, "done", "3").code == 0, "task 40 was never decoded"
        before = store_digest(directory)
        listed = run_taskvault(directory, "list")
        assert listed.code == 3 and "@ $.tasks[39]" in listed.err and "urgent" in listed.err
        assert store_digest(directory) == before
        with pytest.raises(StoreUnreadable, match=r"\$\.tasks\[39\]"):
            JournalStore(directory).load().get(40)
        examined = run_taskvault(directory, "doctor")
        assert examined.code != 0 and "$.tasks[39]" in examined.out + examined.err, "doctor reads every task"

    def test_lines_out_of_order_under_a_valid_checksum_are_refused_never_answered_as_no_such_task(
            self, tmp_path: Path) -> None:
        """Swapped task lines, resealed: a search that misses proves the order before saying a task is not there,
        and a compaction never copies such lines into a newly sealed file."""
        directory = tmp_path / "data"
        _store(directory, 50)
        data = (directory / "tasks.json").read_bytes()
        first, second = (data.index(b'{"id":%d,' % i) for i in (20, 21))
        line_20 = data[first:data.index(b"\n", first)]
        line_21 = data[second:data.index(b"\n", second)]
        (directory / "tasks.json").write_bytes(_resealed(data[:first] + line_21 + b"\n" + line_20 + data[second + len(line_21):]))
        before = store_digest(directory)
        # Task 20 now sits after task 21, where a search for it misses; task 21 is still found, as it is.
        assert "t 21" in run_taskvault(directory, "show", "21").out
        for command in (("edit", "20", "--title", "x"), ("show", "20"), ("done", "20")):
            result = run_taskvault(directory, *command)
            assert result.code == 3, (command, result.out, result.err)
            assert "comes after task" in result.err and "no task with id" not in result.err, result.err
        assert store_digest(directory) == before
        with pytest.raises(StoreUnreadable, match="comes after task"):
            codec.encode_tasklist(JournalStore(directory).load())


def _sealed_store(directory: Path, lines: list[bytes], next_id: int, history: tuple[bytes, ...] = ()) -> None:
    """A schema-6 snapshot of these task and history lines under a checksum that holds, as only a program
    that computes it (never taskvault) could leave one."""
    directory.mkdir(mode=0o700)
    body = b",\n".join(lines) + b"\n" if lines else b""
    steps = b",\n".join(history) + b"\n" if history else b""
    head = (b'{"format":"taskvault","schema":6,"min_reader":6,"revision":0,"next_id":%d,'
            b'"counts":{"history":%d,"tasks":%d},"crc32":"00000000","sync":null,\n' % (next_id, len(history), len(lines)))
    (directory / "tasks.json").write_bytes(_resealed(head + b'"history":[\n' + steps + b'],"tasks":[\n' + body + b"]}\n"))


def _line(task_id: int, title: str = "t", **fields: object) -> bytes:
    return codec.scalars.dumps({**codec.task_to_dict(_task(task_id, title)), **fields}).encode()


class TestHandMadeSeals:
    """Files an outside tester sealed over content taskvault never writes: every command refuses them the same
    way (exit 3, the JSON path), salvage recovers what is intact, and no id is ever handed out twice."""

    def test_nesting_past_any_depth_or_a_line_that_is_not_json_is_refused_never_a_crash(self, tmp_path: Path) -> None:
        nested = b'{"id":2,"uuid":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        _sealed_store(tmp_path / "task", [_line(1), nested, _line(3)], 4)
        _sealed_store(tmp_path / "step", [_line(1)], 2, history=(b'{"rev":1,bad',))
        _sealed_store(tmp_path / "deep", [_line(1)], 2, history=(b"[" * 200_000 + b"]" * 200_000,))
        for name, commands in (("task", [("list",), ("show", "2"), ("--json", "list"), ("doctor",)]),
                               ("step", [("history",), ("undo",), ("stats",), ("doctor",)]),
                               ("deep", [("history",), ("undo",), ("doctor",)])):
            before = store_digest(tmp_path / name)
            for command in commands:
                result = run_taskvault(tmp_path / name, *command)
                assert result.code == 3, (name, command, result.code, result.err)
                assert "internal error" not in result.out + result.err and "Traceback" not in result.err
            assert store_digest(tmp_path / name) == before
        salvaged = run_taskvault(tmp_path / "task", "salvage", "--yes")
        assert salvaged.code == 0 and "internal error" not in salvaged.err, salvaged.err
        assert [t.title for t in JournalStore(tmp_path / "task").load()] == ["t 1", "t 3"]

    def test_a_store_list_refuses_is_salvaged_and_its_error_says_so(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        _sealed_store(directory, [_line(1), _line(2, due="2026-02-30"), _line(3)], 4)
        assert run_taskvault(directory, "done", "1").code == 0, "task 2 was never read"
        listed = run_taskvault(directory, "list")
        assert listed.code == 3 and "$.tasks[1].due" in listed.err and "salvage" in listed.err, listed.err
        salvaged = run_taskvault(directory, "salvage", "--yes")
        assert salvaged.code == 0 and "nothing to salvage" not in salvaged.out, salvaged.out
        assert "lost: 1 task line not decodable" in salvaged.out and "$.tasks[1].due" in salvaged.out, salvaged.out
        kept = JournalStore(directory).load()
        assert {t.id: (t.title, t.status) for t in kept} == {1: ("t 1", Status.DONE), 3: ("t 3", Status.OPEN)}

    def test_ids_out_of_order_are_refused_and_never_handed_out_again(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        _sealed_store(directory, [_line(1), _line(9, "precious"), _line(3)], 4)
        before = store_digest(directory)
        for command in (("show", "3"), ("show", "9"), ("done", "3"), ("edit", "9", "--title", "x")):
            result = run_taskvault(directory, *command)
            assert result.code == 3 and "comes after task" in result.err, (command, result.code, result.err)
        assert store_digest(directory) == before
        added = [run_taskvault(directory, "add", f"new {i}") for i in range(7)]
        assert not any("Added task 9" in a.out for a in added), [a.out for a in added]
        assert any(a.code == 3 for a in added), "the add that reaches id 9 is refused"
        (directory / "tasks.journal").unlink(missing_ok=True)
        _sealed_store(tmp_path / "b", [_line(1), _line(3), _line(2)], 4)
        shown = run_taskvault(tmp_path / "b", "show", "2")
        assert shown.code == 3 and "comes after task" in shown.err and "no task with id" not in shown.err

    def test_a_count_the_lines_do_not_match_is_refused_where_tasks_are_counted(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        _sealed_store(directory, [_line(1), _line(2), _line(3)], 4)
        data = (directory / "tasks.json").read_bytes()
        (directory / "tasks.json").write_bytes(_resealed(data.replace(b'"tasks":3}', b'"tasks":1}')))
        for command in (("stats",), ("list",), ("list", "--all")):
            result = run_taskvault(directory, *command)
            assert result.code == 3 and "$.counts.tasks" in result.err, (command, result.out, result.err)

    def test_a_change_that_meets_a_line_not_as_written_is_refused_before_it_is_saved(self, tmp_path: Path) -> None:
        """A change reads every task it touches before it is made durable: a stored line the lookup meets that is
        not as taskvault writes it (keys in another order) refuses the change with nothing saved, never after it
        is saved; doctor says the store does not load, and salvage keeps every task."""
        directory = tmp_path / "data"
        reordered = codec.scalars.dumps(dict(reversed(codec.task_to_dict(_task(2)).items()))).encode()
        _sealed_store(directory, [_line(1), reordered, _line(3)], 4)
        before = store_digest(directory)
        added = run_taskvault(directory, "add", "reported as failed")
        assert added.code == 3 and "does not start with its id" in added.err, (added.out, added.err)
        assert store_digest(directory) == before, "nothing was saved"
        assert run_taskvault(directory, "doctor").code == 3
        assert run_taskvault(directory, "salvage", "--yes").code == 0
        assert [t.title for t in JournalStore(directory).load()] == ["t 1", "t 2", "t 3"]

    def test_a_next_id_of_zero_is_refused_and_salvaged(self, tmp_path: Path) -> None:
        """A header whose next id is 0 is a damaged store (exit 3, the way out named), never a user error, and
        salvage keeps both tasks, with a next id above them."""
        directory = tmp_path / "data"
        _sealed_store(directory, [_line(1), _line(2)], 0)
        for command in (("list",), ("add", "x"), ("doctor",)):
            result = run_taskvault(directory, *command)
            assert result.code == 3, (command, result.code, result.err)
        assert "run: taskvault salvage" in run_taskvault(directory, "list").err
        assert run_taskvault(directory, "salvage", "--yes").code == 0
        kept = JournalStore(directory).load()
        assert [t.title for t in kept] == ["t 1", "t 2"] and kept.next_id == 3

    def test_history_steps_that_undo_could_misuse_are_refused(self, tmp_path: Path) -> None:
        """A step whose 'was' holds a task its change did not touch, or steps whose revisions do not rise, would
        make undo change tasks it should not: the first command that reads the history refuses the store."""
        import json

        for name, damage in (("was", "swap was"), ("order", "swap revisions")):
            directory = tmp_path / name
            directory.mkdir(mode=0o700)
            for command in (("add", "a"), ("add", "b"), ("edit", "2", "--title", "B")):
                assert run_taskvault(directory, *command).code == 0
            tasks = JournalStore(directory).load()
            (directory / "tasks.journal").unlink()
            data = codec.encode_snapshot(*tasks.snapshot(), tuple(tasks.history))
            start = data.index(b'"history":[\n') + len(b'"history":[\n')
            end = data.index(b'],"tasks":[')
            steps = [json.loads(line) for line in data[start:end].rstrip(b"\n").split(b",\n")]
            if damage == "swap was":
                steps[2]["was"] = [steps[1]["put"][0] | {"id": 1}]  # the edit of task 2 says it replaced task 1
            else:
                steps[1]["rev"], steps[2]["rev"] = steps[2]["rev"], steps[1]["rev"]
            body = b",\n".join(codec.scalars.dumps(s).encode() for s in steps) + b"\n"
            (directory / "tasks.json").write_bytes(_resealed(data[:start] + body + data[end:]))
            before = store_digest(directory)
            for command in (("undo",), ("history",)):
                result = run_taskvault(directory, *command)
                assert result.code == 3 and "$.history" in result.err, (name, command, result.out, result.err)
            assert store_digest(directory) == before
