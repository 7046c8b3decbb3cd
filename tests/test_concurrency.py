"""Several processes changing one store at once lose nothing and never reuse an id."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from taskvault import codec
from taskvault.errors import StorageError
from taskvault.store.journal_store import JournalStore

from .conftest import FIGURES, TASKVAULT, Session, require_tool, run_taskvault, seed_store, taskvault_compacting_at

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow


def _spawn(data_dir: Path, script: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_LOCK_TIMEOUT": "60"}
    proc = subprocess.Popen(TASKVAULT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdin is not None
    proc.stdin.write(script)
    proc.stdin.close()
    return proc


class TestConcurrentSessions:
    @pytest.mark.parametrize(("processes", "adds"), [(8, 50)])
    def test_concurrent_adds_lose_nothing(self, data_dir: Path, processes: int, adds: int) -> None:
        """K long-lived sessions each adding M tasks at once leave exactly K×M tasks, ids 1..K×M."""
        run_taskvault(data_dir, "list")
        procs = [_spawn(data_dir, "".join(f"add p{p}-{i}\n" for i in range(adds))) for p in range(processes)]
        acknowledged = []
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            out, err = proc.stdout.read(), proc.stderr.read()
            assert proc.wait(timeout=120) == 0, err
            acknowledged += out.splitlines()
        tasks = json.loads(run_taskvault(data_dir, "--json", "list", "--all").out)
        assert len(acknowledged) == processes * adds
        assert sorted(t["id"] for t in tasks) == list(range(1, processes * adds + 1))
        assert sorted(t["title"] for t in tasks) == sorted(f"p{p}-{i}" for p in range(processes)
                                                             for i in range(adds))
        FIGURES["concurrent adds"] = f"{processes} processes × {adds} adds → {len(tasks)} tasks, ids unique"

    def test_stale_session_catches_up_instead_of_overwriting(self, data_dir: Path) -> None:
        """A session that loaded before another changed the store applies its change on top."""
        from .conftest import Session

        first = Session(data_dir)
        assert first.run("add Shared") == 0
        second = Session(data_dir)
        assert second.run("edit 1 --tag from-second") == 0
        assert first.run("edit 1 --priority high") == 0  # first's memory predates the tag
        task = Session(data_dir).service.tasks.get(1)
        assert task.tags == ("from-second",) and task.priority is not None
        assert first.run("add Next") == 0 and second.run("add After") == 0
        assert [t.id for t in Session(data_dir).service.tasks] == [1, 2, 3]

    def test_a_reading_session_sees_what_another_process_saved(self, data_dir: Path) -> None:
        """A long-lived script session lists the tasks another process added while it waited."""
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}
        session = subprocess.Popen([*TASKVAULT, "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   env=env, text=True)
        assert session.stdin is not None and session.stdout is not None
        try:
            session.stdin.write("add From the session\n")
            session.stdin.flush()
            assert json.loads(session.stdout.readline())["id"] == 1  # the session has loaded the store
            assert run_taskvault(data_dir, "add", "From elsewhere").code == 0
            session.stdin.write("list\n")
            session.stdin.flush()
            titles = [t["title"] for t in json.loads(session.stdout.readline())]
            assert titles == ["From the session", "From elsewhere"]
        finally:
            session.stdin.close()
            assert session.wait(timeout=10) == 0

    def test_a_read_never_takes_the_lock_and_sees_every_change(self, data_dir: Path) -> None:
        """A read in a long session costs a stat when nothing changed, takes no lock even when the journal grew
        (a stopped writer cannot hold readers up), and still sees every change, compaction included."""
        import portalocker

        from .conftest import Session

        reader, writer = Session(data_dir, lock_timeout=0.05), Session(data_dir)
        assert reader.run("add Mine") == 0 and reader.service.refresh() is not None
        with portalocker.Lock(str(data_dir / "tasks.lock"), "a", timeout=1):
            assert reader.service.refresh().behind == 0
        assert writer.run("add Theirs") == 0
        with portalocker.Lock(str(data_dir / "tasks.lock"), "a", timeout=1):  # it would time out if it waited
            caught = reader.service.refresh()
        assert caught is not None and caught.behind == 1 and [t.title for t in caught.tasks] == ["Mine", "Theirs"]
        with writer.store.locked():
            writer.store.catch_up(writer.service.tasks)
            writer.store.compact(writer.service.tasks)  # a new journal file of the same revision
        assert writer.run("done 1") == 0
        caught = reader.service.refresh()
        assert caught is not None and not caught.tasks.get(1).is_open

    def test_a_reader_never_sees_a_change_before_it_is_durable(self, data_dir: Path) -> None:
        """While a writer's fsync is held open (strace delays it), readers in other processes list the store
        without the change; if the fsync then fails, the change never appears anywhere."""
        from .conftest import Session, require_tool, run_taskvault

        seed_store(data_dir)
        before = Session(data_dir).state()
        writer = subprocess.Popen([require_tool("strace"), "-f", "-qq", "-o", "/dev/null", "-P",
                                   str(data_dir / "tasks.journal"), "-e", "trace=fsync",
                                   "-e", "inject=fsync:error=EIO:delay_enter=1500000:when=1", *TASKVAULT,
                                   "add", "Never durable"],
                                  env={**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen_during = []
            journal = data_dir / "tasks.journal"
            size = journal.stat().st_size
            while writer.poll() is None:  # not a sleep: every read races the writer, and each must hold
                if journal.stat().st_size > size:
                    seen_during.append(run_taskvault(data_dir, "list", "--all").out)
            _, err = writer.communicate(timeout=30)
        finally:
            if writer.poll() is None:
                writer.kill()
        assert writer.returncode == 3 and "nothing was changed" in err, err
        assert seen_during, "no read happened while the record was on the page but not yet durable"
        assert not [out for out in seen_during if "Never durable" in out]
        assert Session(data_dir).state()[0] == before[0]

    def test_change_to_a_task_deleted_elsewhere_is_refused(self, data_dir: Path) -> None:
        """Editing a task another session deleted fails cleanly instead of resurrecting it."""
        from .conftest import Session

        first, second = Session(data_dir), Session(data_dir)
        assert first.run("add Doomed") == 0
        assert second.run("delete 1") == 0
        assert first.run("done 1") == 1 and "task 1 was deleted on " in first.err.getvalue()
        assert len(Session(data_dir).service.tasks) == 0


class TestLockFileIdentity:
    def test_recreated_data_directory_is_locked_anew(self, data_dir: Path) -> None:
        """A session whose lock file was deleted with its directory locks the new file, not the dead one."""
        import shutil

        import portalocker

        from .conftest import Session

        first = Session(data_dir, lock_timeout=0.3)
        assert first.run("add Before") == 0  # first now holds an open descriptor on tasks.lock
        shutil.rmtree(data_dir)
        assert Session(data_dir).run("add Elsewhere") == 0  # a new store, with a new tasks.lock
        with open(data_dir / "tasks.lock", "a") as held:
            portalocker.lock(held, portalocker.LOCK_EX | portalocker.LOCK_NB)
            assert first.run("add While locked") == 3, "locking the deleted file would let two writers in"
        assert first.run("add After") == 3  # and the store it opened is gone: it changes no other store
        assert "was replaced by another directory" in first.err.getvalue()
        assert [t.title for t in Session(data_dir).service.tasks] == ["Elsewhere"]


class TestCatchUpAfterRewrites:
    def test_stale_session_after_another_compacted(self, data_dir: Path) -> None:
        """When another session started the journal anew, a stale one reloads instead of appending blindly."""
        from taskvault.store.housekeeping import Housekeeping

        from .conftest import Session

        stale, other = Session(data_dir), Session(data_dir)
        assert stale.run("add One") == 0
        header = (data_dir / "tasks.journal").read_bytes().split(b"\n")[0]
        compacting = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0))
        assert compacting.run("add Two") == 0
        assert (data_dir / "tasks.journal").read_bytes().split(b"\n")[0] != header, "it must have compacted"
        for title in ("A", "B", "C"):  # the new journal grows past the stale session's offset
            assert other.run(f"add {title}") == 0
        assert (data_dir / "tasks.journal").stat().st_size > stale.store._position.end
        assert stale.run("add Three") == 0
        assert [t.title for t in Session(data_dir).service.tasks] == ["One", "Two", "A", "B", "C", "Three"]
        assert stale.state() == Session(data_dir).state()

    def test_a_record_read_then_replaced_is_not_trusted(self, data_dir: Path) -> None:
        """If the last record a session read was cut back and another took its place, the session reloads."""
        from .conftest import Session

        writer = Session(data_dir)
        assert writer.run("add Kept") == 0
        journal = data_dir / "tasks.journal"
        before_unconfirmed = journal.read_bytes()
        assert writer.run("add Unconfirmed") == 0
        reader = Session(data_dir)
        assert [t.title for t in reader.service.tasks] == ["Kept", "Unconfirmed"]
        journal.write_bytes(before_unconfirmed)  # as after a failed fsync's cut-back
        assert Session(data_dir).run("add Replacement") == 0  # same revision, other content
        assert reader.run("done 2") == 0
        tasks = Session(data_dir).service.tasks
        assert [(t.title, t.is_open) for t in tasks] == [("Kept", True), ("Replacement", False)]
        assert reader.state() == Session(data_dir).state()


def _state(directory: Path) -> dict[int, tuple[object, ...]]:
    """What a user would compare: each task's fields that commands set (timestamps left out)."""
    return {t.id: (t.title, t.status, t.tags, t.priority, t.due) for t in Session(directory).service.tasks}


class TestMixedChanges:
    def test_concurrent_changes_equal_a_serial_replay(self, tmp_path: Path) -> None:
        """Edits, dones, reopens and deletes from 4 processes on the same 12 tasks: no update lost.

        Every change a process acknowledged is in the journal exactly once, in that process's order;
        replaying the journal's order of those commands in a fresh store gives the same tasks. A
        session that planned on stale memory would drop another's tag or title and fail the replay.
        """
        rng = random.Random(5)
        data_dir, replay_dir = tmp_path / "data", tmp_path / "replay"
        seed = Session(data_dir)
        for i in range(1, 13):
            assert seed.run(f"add Task {i}") == 0
        seed.close()
        shutil.copytree(data_dir, replay_dir)
        scripts = []
        for p in range(4):
            lines = []
            for c in range(40):
                i = rng.randint(1, 12)
                kind = rng.choice(["tag", "tag", "title", "done", "reopen"] + (["delete"] if c == 20 else []))
                lines.append({"tag": f"edit {i} --tag +p{p}c{c}", "title": f"edit {i} --title p{p}c{c}",
                              "done": f"done {i}", "reopen": f"reopen {i}", "delete": f"delete {i}"}[kind])
            scripts.append(lines)
        acked = _run_at_once(data_dir, scripts)
        # The journal, in revision order, explains each record as one command.
        journal = (data_dir / "tasks.journal").read_bytes().splitlines()[1:]
        tasks = {t.id: t for t in Session(replay_dir).service.tasks}
        replayed = []
        for raw in journal:
            rev, change, _ = codec.decode_record(raw, "record")
            if rev <= 12:
                continue
            if change.command == "delete":
                (task_id,) = change.delete
                replayed.append(f"delete {task_id}")
                del tasks[task_id]
                continue
            (task,) = change.put
            before = tasks[task.id]
            if change.command == "edit":
                new_tags = set(task.tags) - set(before.tags)
                replayed.append(f"edit {task.id} --tag +{new_tags.pop()}" if new_tags
                                else f"edit {task.id} --title {task.title}")
            else:
                replayed.append(f"{change.command} {task.id}")
            tasks[task.id] = task

        def marked(lines: list[str]) -> list[str]:  # the edits, which carry a unique tag or title
            return [line for line in lines if " --" in line]

        for lines in acked:
            in_journal = [line for line in replayed if line in lines]
            assert marked(in_journal) == marked(lines), "an acknowledged edit is missing, doubled or out of order"
        assert sorted(marked(replayed)) == sorted(line for lines in acked for line in marked(lines))
        assert all(any(line in lines for lines in acked) for line in replayed), "a change nobody acknowledged"
        serial = Session(replay_dir)
        for line in replayed:
            assert serial.run(line) == 0, (line, serial.err.getvalue())
        assert _state(replay_dir) == _state(data_dir)
        FIGURES["mixed concurrent changes"] = (f"4 processes × 40 edits/dones/reopens/deletes on 12 tasks: "
                                               f"{len(replayed)} changes, equal to their serial replay")


class TestReaders:
    def test_a_reader_polling_throughout_never_sees_a_partial_store(self, tmp_path: Path) -> None:
        """4 writers add (and compact all the time) while the real loader reads over and over."""
        data_dir = tmp_path / "data"
        assert run_taskvault(data_dir, "add", "Seed").code == 0
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_LOCK_TIMEOUT": "60"}
        writers = [subprocess.Popen(taskvault_compacting_at(0), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=env, text=True) for _ in range(4)]
        for w, proc in enumerate(writers):
            assert proc.stdin is not None
            proc.stdin.write("".join(f"add w{w}-{i}\n" for i in range(60)))
            proc.stdin.close()
        polls, counts, generations = 0, [], set()
        while any(proc.poll() is None for proc in writers) or polls == 0:
            try:
                tasks = JournalStore(data_dir).load()
            except StorageError as exc:
                raise AssertionError(f"a reader saw a broken store after {polls} polls: {exc}") from None
            polls += 1
            counts.append(len(tasks))
            generations.add((data_dir / "tasks.journal").read_bytes()[:120])
        assert all(proc.wait() == 0 for proc in writers)
        assert counts == sorted(counts), "a reader saw the store go back in time"
        assert len(JournalStore(data_dir).load()) == 241
        assert len(generations) > 2, "the writers did not compact while the reader read"
        FIGURES["reader polling during writes"] = (f"{polls} loads while 4 processes added 240 tasks and compacted "
                                                   f"the store; none partial, none older than the one before")


class TestDeadHolder:
    def test_a_killed_lock_holder_leaves_no_stale_lock(self, data_dir: Path) -> None:
        """kill -9 of a process inside a save (held in its fsync by strace): the next one gets the lock at once."""
        assert run_taskvault(data_dir, "add", "Before").code == 0
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}
        tracer = subprocess.Popen([require_tool("strace"), "-qq", "-o", "/dev/null", "-P",
                                   str(data_dir / "tasks.journal"), "-e", "trace=fsync",
                                   "-e", "inject=fsync:delay_enter=30000000", *TASKVAULT, "add", "Killed"], env=env)
        lock = data_dir / "tasks.lock"
        while subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0:  # poll until it holds the lock
            assert tracer.poll() is None
        holder = int(Path(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read_text().split()[0])
        os.kill(holder, signal.SIGKILL)
        tracer.kill()  # strace itself would sit out its 30 s delay
        tracer.wait(timeout=10)
        while Path(f"/proc/{holder}").exists():  # poll until the killed process is gone
            pass
        result = run_taskvault(data_dir, "add", "After", env={"TASKVAULT_LOCK_TIMEOUT": "0.1"})
        assert result.code == 0 and "busy" not in result.err, result.err
        titles = [t.title for t in Session(data_dir).service.tasks]
        assert titles[0] == "Before" and titles[-1] == "After" and len(titles) <= 3


class TestLockImplementations:
    """POSIX writers call flock(2) directly (sparing portalocker's import); elsewhere portalocker locks.

    Both must exclude each other's holders and a holder of the other kind: a session of either
    build may meet the other on the same store.
    """

    @pytest.mark.parametrize("ours", ["flock", "portalocker"])
    def test_each_excludes_and_is_excluded_by_the_other(self, data_dir: Path, ours: str,
                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
        import portalocker

        from taskvault.errors import StoreLocked
        from taskvault.store import lock

        if ours == "portalocker":
            monkeypatch.setattr(lock, "fcntl", None)
        data_dir.mkdir(mode=0o700)
        path = data_dir / "tasks.lock"
        first, second = lock.StoreLock(path, timeout=0.05), lock.StoreLock(path, timeout=0.05)
        first.acquire()
        with pytest.raises(StoreLocked):
            second.acquire()
        first.release()
        second.acquire()  # released: the other gets it at once
        with open(path, "a") as other, pytest.raises(portalocker.AlreadyLocked):
            portalocker.lock(other, portalocker.LOCK_EX | portalocker.LOCK_NB)
        second.release()
        with open(path, "a") as other:
            portalocker.lock(other, portalocker.LOCK_EX | portalocker.LOCK_NB)
            with pytest.raises(StoreLocked):
                first.acquire()
        first.acquire()
        assert first.held
        first.close()
        second.close()


# -- schema 4's kinds: a session planning on stale memory must not undo, double or contradict another's change ----

class TestStaleSessionsAndNewKinds:
    """Two sessions on one store, the second loaded before the first changed it: the second catches up under the
    lock before it plans, so the rules between tasks (no dependency cycle, no change to a deleted task) hold across
    sessions, and neither session's annotation, start or project is lost."""

    def test_a_stale_session_cannot_close_a_dependency_cycle(self, data_dir: Path) -> None:
        """First: 1 waits for 2. The stale second: 2 waits for 1 -- refused, as it would be in one session."""
        first = Session(data_dir)
        assert first.run("add One") == 0 and first.run("add Two") == 0 and first.run("add Three") == 0
        second = Session(data_dir)
        assert len(second.service.tasks) == 3  # loaded: its memory has no dependency yet
        assert first.run("modify 1 depends:2") == 0
        assert first.run("modify 2 depends:3") == 0
        assert second.run("modify 3 depends:1") == 1
        assert "cannot depend on task 1" in second.err.getvalue(), second.err.getvalue()
        tasks = Session(data_dir).service.tasks
        assert tasks.get(3).depends == () and tasks.get(1).depends == (tasks.get(2).uuid,)
        assert second.state() == Session(data_dir).state()

    def test_stale_sessions_keep_each_others_new_fields(self, data_dir: Path) -> None:
        """Annotations, a start, a project and a dependency, made alternately by two sessions each stale in turn."""
        first = Session(data_dir)
        assert first.run("add Shared") == 0 and first.run("add Other") == 0
        second = Session(data_dir)
        assert len(second.service.tasks) == 2
        assert first.run("annotate 1 from the first ✓") == 0
        assert second.run("annotate 1 from the second ü") == 0
        assert first.run("start 1") == 0
        assert second.run("modify 1 project:home.kitchen +z depends:2") == 0
        assert first.run("modify 1,2 priority:H") == 0
        assert second.run("denotate 1 1") == 0  # the first annotation, which the second saw only by catching up
        task = Session(data_dir).service.tasks.get(1)
        assert [a.text for a in task.annotations] == ["from the second ü"]
        assert task.started is not None and task.project == "home.kitchen" and task.tags == ("z",)
        assert task.priority is not None and task.priority.value == "high" and len(task.depends) == 1
        first.service.refresh()
        assert first.state() == second.state() == Session(data_dir).state()

    @pytest.mark.parametrize("line", ["modify 1,2,3 priority:L", "annotate 1,2,3 late", "start 1 2 3",
                                      "modify 1 depends:3"])
    def test_a_change_naming_a_task_deleted_elsewhere_changes_nothing(self, data_dir: Path, line: str) -> None:
        """A bulk change by a stale session that names a task another deleted is refused whole."""
        first = Session(data_dir)
        for title in ("One", "Two", "Three"):
            assert first.run(f"add {title}") == 0
        second = Session(data_dir)
        assert len(second.service.tasks) == 3
        assert first.run("delete 3") == 0
        before = Session(data_dir).state()
        assert second.run(line) == 1 and "task 3 was deleted on " in second.err.getvalue(), second.err.getvalue()
        assert Session(data_dir).state() == before == second.state()


def _new_state(directory: Path) -> dict[int, tuple[object, ...]]:
    """Each task's fields the commands of the mixed test set (timestamps left out)."""
    return {t.id: (t.title, t.status, t.tags, t.priority, t.due, t.project, t.started is not None, t.depends,
                   tuple(a.text for a in t.annotations)) for t in Session(directory).service.tasks}


class TestMixedNewKinds:
    def test_concurrent_new_kinds_equal_a_serial_replay(self, tmp_path: Path) -> None:
        """Annotates, denotates, starts, stops, modifies and bulk modifies from 4 processes on the same 12 tasks.

        As in TestMixedChanges: every acknowledged change that carries a unique mark (an annotation's text, a
        modify's project) is in the journal exactly once, in its process's order, and replaying the journal's
        commands in a fresh store gives the same tasks, every new field included.
        """
        rng = random.Random(18)
        data_dir, replay_dir = tmp_path / "data", tmp_path / "replay"
        seed = Session(data_dir)
        for i in range(1, 13):
            assert seed.run(f"add Task {i}") == 0
        seed.close()
        shutil.copytree(data_dir, replay_dir)
        scripts = []
        for p in range(4):
            lines = []
            for c in range(40):
                i = rng.randint(1, 12)
                several = ",".join(map(str, sorted(rng.sample(range(1, 13), 3))))
                kind = rng.choice(["annotate", "annotate", "denotate", "start", "stop", "modify", "bulk"])
                lines.append({"annotate": f"annotate {i} ünï p{p}c{c}", "denotate": f"denotate {i} 1",
                              "start": f"start {i}", "stop": f"stop {i}",
                              "modify": f"modify {i} project:p{p}.c{c} +t{p}c{c}",
                              "bulk": f"modify {several} priority:{'LMH'[c % 3]} project:b{p}.c{c}"}[kind])
            scripts.append(lines)
        acked = _run_at_once(data_dir, scripts)
        journal = (data_dir / "tasks.journal").read_bytes().splitlines()[1:]
        tasks = {t.id: t for t in Session(replay_dir).service.tasks}
        replayed = []
        for raw in journal:
            rev, change, _ = codec.decode_record(raw, "record")
            if rev <= 12:
                continue
            puts = {t.id: t for t in change.put}
            first = next(iter(puts.values()))
            if change.command == "edit" and (len(puts) > 1 or (first.project or "").startswith("b")):
                assert first.priority is not None
                replayed.append(f"modify {','.join(map(str, sorted(puts)))} "
                                f"priority:{first.priority.value[0].upper()} project:{first.project}")
            elif change.command == "edit":
                (task,) = puts.values()
                (tag,) = set(task.tags) - set(tasks[task.id].tags)
                replayed.append(f"modify {task.id} project:{task.project} +{tag}")
            elif change.command == "annotate":
                (task,) = puts.values()
                replayed.append(f"annotate {task.id} {task.annotations[-1].text}")
            else:
                (task,) = puts.values()
                replayed.append(f"{change.command} {task.id}" + (" 1" if change.command == "denotate" else ""))
            tasks.update(puts)

        def marked(lines: list[str]) -> list[str]:  # the changes that carry a unique mark
            return [line for line in lines if " p" in line.replace("ünï p", " p") or "project:" in line]

        for lines in acked:
            in_journal = [line for line in replayed if line in lines]
            assert marked(in_journal) == marked(lines), "an acknowledged change is missing, doubled or out of order"
        assert sorted(marked(replayed)) == sorted(line for lines in acked for line in marked(lines))
        assert all(any(line in lines for lines in acked) for line in replayed), "a change nobody acknowledged"
        serial = Session(replay_dir)
        for line in replayed:
            assert serial.run(line) == 0, (line, serial.err.getvalue())
        assert _new_state(replay_dir) == _new_state(data_dir)
        kinds = {line.split()[0] + ("," in line.split()[1]) * " bulk" for line in replayed}
        assert kinds == {"annotate", "denotate", "start", "stop", "modify", "modify bulk"}, kinds


def _run_at_once(data_dir: Path, scripts: list[list[str]]) -> list[list[str]]:
    """Each script run by its own process at once (--json --keep-going); for each, the lines acknowledged (those
    whose answer is no error)."""
    env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_LOCK_TIMEOUT": "60"}
    procs = [subprocess.Popen([*TASKVAULT, "--json", "--keep-going"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
             for _ in scripts]
    for proc, lines in zip(procs, scripts, strict=True):
        assert proc.stdin is not None
        proc.stdin.write("".join(line + "\n" for line in lines))
        proc.stdin.close()
    acked: list[list[str]] = []
    for proc, lines in zip(procs, scripts, strict=True):
        assert proc.stdout is not None
        answers = proc.stdout.read().splitlines()
        proc.wait(timeout=120)
        assert len(answers) == len(lines)
        acked.append([line for line, answer in zip(lines, answers, strict=True)
                      if not (isinstance(json.loads(answer), dict) and "error" in json.loads(answer))])
    return acked
