"""Recovery: undo and redo, history, backups, restore, schema migration, doctor and stats.

Real files, fsyncs, locks and processes; faults only at the OS boundary (taskvault.store.files' os).
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from taskvault import codec
from taskvault.domain import operations, recovery
from taskvault.domain.history import History
from taskvault.domain.tasklist import TaskList
from taskvault.store import files
from taskvault.store.backups import Backup, Retention
from taskvault.store.housekeeping import Housekeeping
from taskvault.store.journal_store import JournalStore

from .conftest import FaultyOs, Session, require_tool, run_taskvault, seed_store, store_bytes, temp_files

FIXTURES = Path(__file__).parent / "fixtures" / "v1"
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def _titles(directory: Path) -> list[str]:
    return [t.title for t in Session(directory).service.tasks.snapshot()[0]]


class TestUndoRedo:
    def test_bulk_delete_undone_after_a_restart_then_redone(self, data_dir: Path) -> None:
        """Separate processes: delete three tasks, undo in a new one, redo in a third."""
        seed_store(data_dir)
        assert run_taskvault(data_dir, "delete", "1-3", "--yes").code == 0
        undo = run_taskvault(data_dir, "undo")
        assert undo.code == 0, undo
        assert undo.out.splitlines() == ["undo: delete 1 \"First\" → back", "undo: delete 2 \"Second\" → back",
                                         "undo: delete 3 \"Third\" → back"]
        assert _titles(data_dir) == ["First", "Second", "Third"]
        assert run_taskvault(data_dir, "redo").code == 0
        assert _titles(data_dir) == []
        assert run_taskvault(data_dir, "add", "Fourth").out == "Added task 4: Fourth\n", "ids are never reused"

    def test_undo_n_and_redo_walk_the_stacks(self, data_dir: Path) -> None:
        seed_store(data_dir)
        session = Session(data_dir)
        states = [session.state()[0]]
        for line in ("edit 1 --title One", "done 1 3", "delete 2"):
            assert session.run(line) == 0
            states.append(session.state()[0])
        assert session.run("undo 2") == 0
        assert session.state()[0] == states[1]
        assert session.run("redo") == 0 and session.state()[0] == states[2]
        assert session.run("redo") == 0 and session.state()[0] == states[3]
        assert session.run("redo") == 1 and "nothing to redo" in session.err.getvalue()
        assert session.run("undo 9") == 1 and "only 7 steps can be undone" in session.err.getvalue()
        assert session.run("undo 3") == 0 and session.state()[0] == states[0]
        assert session.run("add New") == 0  # a new change clears what could be redone
        assert session.run("redo") == 1
        assert Session(data_dir).state() == session.state()

    def test_dry_run_changes_nothing(self, data_dir: Path) -> None:
        seed_store(data_dir)
        before = store_bytes(data_dir)
        session = Session(data_dir)
        assert session.run("undo --dry-run") == 0
        assert session.out.getvalue() == "undo: done 2 \"Second\" → open\n(dry run: nothing was changed)\n"
        assert store_bytes(data_dir) == before

    def test_undo_skips_a_task_another_session_changed_since(self, data_dir: Path) -> None:
        """The REPL asks before a bulk undo; meanwhile another session edits one of the tasks."""
        seed_store(data_dir)
        mine = Session(data_dir)
        assert mine.run("done 1 3") == 0
        other = Session(data_dir)

        def confirm(question: str) -> bool:
            assert "done 1 \"First\" → open" in question and "done 3 \"Third\" → open" in question
            assert other.run("edit 3 --title Changed") == 0
            return True

        mine.runner.make_interactive(confirm, lambda caught: None)
        assert mine.run("undo") == 0
        out = mine.out.getvalue()
        assert "undo: done 1 \"First\" → open" in out
        assert "undo: skipped done 3 \"Changed\": changed since, by revision" in out
        tasks = {t.id: t for t in Session(data_dir).service.tasks}
        assert tasks[1].is_open and not tasks[3].is_open and tasks[3].title == "Changed"

    def test_a_failed_undo_leaves_everything_as_it_was(self, data_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        seed_store(data_dir)
        session = Session(data_dir)
        assert session.run("delete 1 2 --yes") == 0
        before, on_disk = session.state(), store_bytes(data_dir)
        for call in ("write", "fsync"):
            with monkeypatch.context() as patch:
                patch.setattr(files, "os", FaultyOs(call, errno.EIO))
                assert session.run("undo") == 3
            assert "nothing was changed" in session.err.getvalue()
            assert session.state() == before and store_bytes(data_dir) == on_disk
            assert Session(data_dir).state() == before
        assert session.run("undo") == 0 and len(session.service.tasks) == 3

    def test_undo_is_visible_to_another_session(self, data_dir: Path) -> None:
        seed_store(data_dir)
        watcher = Session(data_dir)
        watcher.service.tasks
        assert run_taskvault(data_dir, "undo").code == 0
        assert watcher.run("list --done") == 0 and "0 done tasks shown" in watcher.out.getvalue()


class TestHistory:
    def test_history_is_written_with_the_change_and_survives_compaction(self, data_dir: Path) -> None:
        seed_store(data_dir)
        session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0))
        assert session.run("delete 3") == 0 and session.err.getvalue() == ""
        assert (data_dir / "tasks.journal").read_bytes().count(b"\n") == 1, "compacted"
        shown = run_taskvault(data_dir, "history")
        assert shown.code == 0
        lines = shown.out.splitlines()
        assert [line.split()[0] for line in lines[:-1]] == ["1", "2", "3", "4", "5"]
        assert "delete: 3 \"Third\" → removed" in lines[4]
        assert run_taskvault(data_dir, "history", "--task", "2", "--limit", "1").out.count("\n") == 2
        assert run_taskvault(data_dir, "undo").code == 0, "undo reaches across the compaction"

    def test_history_is_bounded(self) -> None:
        tasks = TaskList(history=History(limit=5))
        for n in range(12):
            tasks.apply(operations.plan_add(tasks, f"t{n}", now=NOW), tasks.revision + 1, NOW)
        assert [s.revision for s in tasks.history] == [8, 9, 10, 11, 12]
        with pytest.raises(Exception, match="only 5 steps"):
            recovery.plan_undo(tasks, 6)

    def test_json_history(self, data_dir: Path) -> None:
        seed_store(data_dir)
        rows = json.loads(run_taskvault(data_dir, "--json", "history").out)
        assert rows[-1]["command"] == "done" and rows[-1]["tasks"][0]["after"]["status"] == "done"


class TestBackups:
    def test_backup_is_verified_listed_and_named_ones_are_kept(self, data_dir: Path) -> None:
        seed_store(data_dir)
        taken = run_taskvault(data_dir, "backup", "before-cleanup")
        assert taken.code == 0 and "verified" in taken.out
        listed = json.loads(run_taskvault(data_dir, "--json", "backups").out)
        assert [(b["revision"], b["tasks"], b["kind"]) for b in listed] == [(4, 3, "before-cleanup")]
        path = Path(listed[0]["path"])
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
        assert path.name.endswith(".json.gz"), "stored compressed, in a format gzip reads"
        assert codec.decode_snapshot(gzip.decompress(path.read_bytes())).revision == 4
        bad = run_taskvault(data_dir, "backup", "hourly")
        assert bad.code == 1 and "cannot name a backup" in bad.err

    @pytest.mark.parametrize("call", ["open", "write", "fsync", "replace"])
    def test_a_failed_backup_leaves_nothing(self, data_dir: Path, call: str, monkeypatch: pytest.MonkeyPatch) -> None:
        seed_store(data_dir)
        (data_dir / "backups").mkdir(mode=0o700)
        before = store_bytes(data_dir)
        session = Session(data_dir)
        session.service.tasks
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs(call, errno.ENOSPC, times=-1))
            assert session.run("backup") == 3
        assert "could not take a backup" in session.err.getvalue()
        assert list((data_dir / "backups").iterdir()) == [] and store_bytes(data_dir) == before
        assert session.run("backup") == 0

    def test_hourly_backups_follow_activity_and_are_rotated(self, data_dir: Path) -> None:
        clock = [NOW]
        session = Session(data_dir, clock=lambda: clock[0], retention=Retention(last=2, daily=0, weekly=0))
        session.service._clock = lambda: clock[0]
        assert session.run("add First") == 0
        assert not (data_dir / "backups").exists(), "a new store waits for an hour of activity"
        for hours in (1, 2, 3, 4):
            clock[0] = NOW + dt.timedelta(hours=hours, minutes=1)
            assert session.run(f"add Task{hours}") == 0
            clock[0] += dt.timedelta(minutes=30)
            assert session.run(f"edit {hours + 1} --note half-hour") == 0  # no backup within the hour
        backups = session.store.backups.list()
        assert [b.label for b in backups] == ["hourly", "hourly"]
        assert [b.revision for b in backups] == [8, 6]  # the newest two; older ones rotated away

    def test_latest_means_the_newest_revision_not_the_newest_clock(self, data_dir: Path) -> None:
        """A backup taken under a clock set to 2030 is not "latest" once later revisions are backed up, and
        does not stop hourly backups."""
        clock = [dt.datetime(2030, 1, 1, tzinfo=dt.UTC)]
        session = Session(data_dir, clock=lambda: clock[0], retention=Retention(last=2, daily=0, weekly=0))
        session.service._clock = lambda: clock[0]
        assert session.run("add First") == 0 and session.run("backup hourly-ish") == 0
        assert session.run("backup") == 0
        clock[0] = NOW
        assert session.run("add Second") == 0 and session.run("backup") == 0
        shelf = session.store.backups
        # "add Second" took an hourly backup: the store's only earlier time (its first change) was in the future.
        assert [(b.revision, b.label) for b in shelf.list()] == [(2, "manual"), (2, "hourly"), (1, "manual"),
                                                                  (1, "hourly-ish")]
        assert shelf.find("latest").revision == 2 and shelf.find("latest").taken.year == 2026

    def test_a_compaction_that_fails_after_its_backup_still_rotates(self, data_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """The compaction's backup is written, then the snapshot's replace fails: the change is kept (a warning),
        and rotation still removes the automatic backups the policy no longer keeps."""
        clock = [NOW]
        session = Session(data_dir, clock=lambda: clock[0], retention=Retention(last=1, daily=0, weekly=0))
        for n in range(3):
            clock[0] += dt.timedelta(minutes=1)
            assert session.run(f"add Task{n}") == 0
        with session.store.locked():
            for _ in range(2):
                clock[0] += dt.timedelta(minutes=1)
                session.store.backup(session.service.tasks, "hourly")
        assert len(session.store.backups.list()) == 2
        session.close()  # the next change is made by a session that compacts after every change
        session = Session(data_dir, clock=lambda: clock[0],
                          housekeeping=Housekeeping(compact_min_bytes=0, retention=Retention(last=1, daily=0, weekly=0)))
        real_replace = files.atomic_replace

        def snapshot_fails(target: Path, data: bytes, **kwargs: object) -> None:
            if target.name == "tasks.json":
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real_replace(target, data, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(files, "atomic_replace", snapshot_fails)
        clock[0] += dt.timedelta(minutes=1)
        assert session.run("add Kept") == 0
        assert "could not compact" in session.err.getvalue()
        assert [b.label for b in session.store.backups.list()] == ["compaction"]

    def test_retention_keeps_last_daily_weekly(self) -> None:
        def backup(days_ago: float) -> Backup:
            taken = NOW - dt.timedelta(days=days_ago)
            return Backup(taken.strftime("%Y%m%d-%H%M%S"), Path("x"), taken, 1, 1, "hourly", 1)

        backups = [backup(k / 4) for k in range(4 * 60)]  # every 6 hours for 60 days, from Sat 21 Nov 12:00
        kept = Retention(last=10, daily=7, weekly=4).keep(backups, NOW)
        # The newest 10 (back to 19 Nov 06:00); the 18:00 ones of 18-15 Nov (the days 21-19 are among the
        # 10); and the newest of the ISO weeks ending 8 Nov, 1 Nov and 25 Oct (this week and last are kept).
        expected = [*range(10), 11, 15, 19, 23, 51, 79, 107]
        assert sorted(backups.index(b) for b in backups if b.id in kept) == expected

    def test_retention_from_the_environment(self, data_dir: Path) -> None:
        bad = run_taskvault(data_dir, "list", env={"TASKVAULT_BACKUP_KEEP": "last=ten"})
        assert bad.code == 2 and bad.err.count("\n") == 1 and "TASKVAULT_BACKUP_KEEP" in bad.err
        assert run_taskvault(data_dir, "list", env={"TASKVAULT_BACKUP_KEEP": "daily=3"}).code == 0


class TestRestore:
    def test_restore_shows_changes_keeps_the_store_and_is_undoable(self, data_dir: Path) -> None:
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup", "good").code == 0
        assert run_taskvault(data_dir, "delete", "1", "2", "--yes").code == 0
        assert run_taskvault(data_dir, "edit", "3", "--title", "Renamed").code == 0
        preview = run_taskvault(data_dir, "restore", "good", "--dry-run")
        assert preview.out.splitlines()[:4] == ["Restoring backup " + preview.out.split()[2] + " would add "
                                                "2 tasks and change 1:", "  + 1 First", "  + 2 Second",
                                                "  ~ 3 Third: title \"Third\""]
        done = run_taskvault(data_dir, "restore", "good")
        assert done.code == 0 and "the store before it is backup" in done.out
        assert _titles(data_dir) == ["First", "Second", "Third"]
        kept = [b for b in JournalStore(data_dir).backups.list() if b.label == "restore"]
        assert len(kept) == 1 and kept[0].task_count == 1
        assert run_taskvault(data_dir, "undo").code == 0
        assert _titles(data_dir) == ["Renamed"]

    def test_a_failed_restore_leaves_the_store_as_it_was(self, data_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        seed_store(data_dir)
        session = Session(data_dir)
        assert session.run("backup good") == 0 and session.run("delete 1 --yes") == 0
        before, on_disk = session.state(), store_bytes(data_dir)
        for call in ("fsync", "replace"):
            with monkeypatch.context() as patch:
                patch.setattr(files, "os", FaultyOs(call, errno.EIO, times=-1))
                assert session.run("restore good") == 3
            assert session.state() == before and store_bytes(data_dir) == on_disk
            assert temp_files(data_dir) == [] and temp_files(data_dir / "backups") == []

    def test_a_damaged_backup_is_refused_before_anything_changes(self, data_dir: Path) -> None:
        """A compressed backup: one byte changed in its middle makes its CRC-32 fail, and it is refused."""
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup", "b").code == 0
        (backup,) = (data_dir / "backups").iterdir()
        stored = bytearray(backup.read_bytes())
        stored[len(stored) // 2] ^= 0x01
        backup.write_bytes(bytes(stored))
        before = store_bytes(data_dir)
        result = run_taskvault(data_dir, "restore", "b")
        assert result.code == 3 and "is damaged" in result.err and store_bytes(data_dir) == before

    def test_unreadable_store_named_backup_restored_in_two_commands(self, data_dir: Path) -> None:
        """When nothing intact goes beyond the newest backup (the change after it is damaged too), the error
        names that backup."""
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup").code == 0
        assert run_taskvault(data_dir, "add", "After the backup").code == 0
        damaged = b'{"format":"taskvault","schema":2,' + b"\0" * 40
        (data_dir / "tasks.json").write_bytes(damaged)
        journal = data_dir / "tasks.journal"
        journal.write_bytes(journal.read_bytes().replace(b"After the backup", b"After the bockup"))
        refused = run_taskvault(data_dir, "list")
        assert refused.code == 3
        command = refused.err.rsplit("run: ", 1)[1].rstrip(")\n")
        assert command.startswith("taskvault restore ")
        restored = run_taskvault(data_dir, *command.split()[1:])
        assert restored.code == 0, restored
        assert _titles(data_dir) == ["First", "Second", "Third"]
        aside = sorted(p.name for p in data_dir.iterdir() if ".unreadable-" in p.name)
        assert [n.split(".unreadable-")[0] for n in aside] == ["tasks.journal", "tasks.json"]
        assert (data_dir / aside[1]).read_bytes() == damaged
        added = run_taskvault(data_dir, "add", "Next")
        assert added.out == "Added task 5: Next\n", "the id the lost store used is not handed out again"

    def test_unreadable_store_salvaged_in_two_commands(self, data_dir: Path) -> None:
        """When the journal holds more than the newest backup, the error names salvage, which keeps it all."""
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup").code == 0
        assert run_taskvault(data_dir, "add", "After the backup").code == 0
        damaged = b'{"format":"taskvault","schema":2,' + b"\0" * 40
        (data_dir / "tasks.json").write_bytes(damaged)
        refused = run_taskvault(data_dir, "list")
        command = refused.err.rsplit("run: ", 1)[1].rstrip(")\n")
        assert refused.code == 3 and command == "taskvault salvage"
        assert "to recover revision 5 from what is intact (1 change more than the newest good backup holds)" \
            in refused.err
        salvaged = run_taskvault(data_dir, *command.split()[1:])
        assert salvaged.code == 0, salvaged
        assert _titles(data_dir) == ["First", "Second", "Third", "After the backup"]
        assert run_taskvault(data_dir, "add", "Next").out == "Added task 5: Next\n"


class TestRestoreUnreadableFailing:
    @pytest.mark.parametrize("call", ["link", "fsync", "replace"])
    def test_a_failed_restore_of_an_unreadable_store_keeps_it_refused_and_kept(
            self, data_dir: Path, call: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Whatever step fails, the store is still refused (never read as the backup mixed with it, never
        as empty), the damaged bytes survive under some name, and running restore again works."""
        seed_store(data_dir)
        session = Session(data_dir)
        assert session.run("backup good") == 0
        damaged = b'{"format":"taskvault","schema":2,' + b"\0" * 40
        (data_dir / "tasks.json").write_bytes(damaged)
        other = Session(data_dir)
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs(call, errno.EIO, times=-1))
            assert other.run("restore good") == 3
        assert "could not" in other.err.getvalue()
        assert run_taskvault(data_dir, "list").code == 3
        assert damaged in [p.read_bytes() for p in data_dir.iterdir() if p.is_file()]
        assert temp_files(data_dir) == []
        assert run_taskvault(data_dir, "restore", "good").code == 0
        assert _titles(data_dir) == ["First", "Second", "Third"]


def _v1_store(tmp_path: Path, which: str, schema: int = 1) -> Path:
    directory = tmp_path / "data"
    shutil.copytree(FIXTURES.parent / f"v{schema}" / which, directory)
    directory.chmod(0o700)
    return directory


def _v4_tasks_as_written(directory: Path) -> dict[int, dict[str, object]]:
    """The tasks a store of schema 4 holds, by id, as its files wrote them: its snapshot's tasks, then each journal
    record's puts and deletes, in order (read as JSON, without taskvault)."""
    snapshot = json.loads((directory / "tasks.json").read_bytes())
    assert (snapshot["schema"], snapshot["min_reader"]) == (4, 4)
    tasks = {raw["id"]: raw for raw in snapshot["tasks"]}
    header, *records = (json.loads(line[9:]) for line in (directory / "tasks.journal").read_bytes().splitlines())
    assert (header["schema"], header["min_reader"], header["base"]) == (4, 4, snapshot["revision"])
    for record in records:
        tasks.update((raw["id"], raw) for raw in record["put"])
        for task_id in record["del"]:
            del tasks[task_id]
    return tasks


class TestMigration:
    @pytest.mark.parametrize("which", ["journal", "compacted"])
    def test_v1_store_upgraded_after_a_backup_of_it(self, tmp_path: Path, which: str) -> None:
        directory = _v1_store(tmp_path, which)
        original = JournalStore(directory).load()
        listed = run_taskvault(directory, "list", "--all")
        assert listed.code == 0 and "upgraded to schema 6" in listed.err
        snapshot = codec.decode_snapshot((directory / "tasks.json").read_bytes())
        assert snapshot.schema == 6 and snapshot.revision == original.revision
        upgraded = JournalStore(directory).load()
        assert upgraded.snapshot() == original.snapshot()
        assert len(upgraded.history) == len(original.history)
        (backup,) = JournalStore(directory).backups.list()
        assert backup.label == "migration"
        kept = codec.decode_snapshot(backup.path.read_bytes())
        assert kept.schema == 1 and (kept.tasks, kept.revision) == (list(original.snapshot()[0]), original.revision)
        if which == "journal":
            assert run_taskvault(directory, "undo").out == "undo: edit 2 \"Call mum today\" → title \"Call mum\"\n"
        assert run_taskvault(directory, "list").code == 0
        assert len(JournalStore(directory).backups.list()) == 1, "upgraded once"

    @pytest.mark.parametrize("which", ["journal", "compacted"])
    def test_v2_store_upgraded_to_a_sealed_snapshot_after_a_backup_of_it_as_it_was(self, tmp_path: Path,
                                                                                   which: str) -> None:
        """A schema 2 store is backed up in schema 2 (history and all), rewritten in schema 6, and loads the same."""
        directory = _v1_store(tmp_path, which, schema=2)
        original = JournalStore(directory).load()
        assert codec.decode_snapshot((directory / "tasks.json").read_bytes()).schema == 2
        listed = run_taskvault(directory, "list", "--all")
        assert listed.code == 0 and "upgraded to schema 6" in listed.err
        data = (directory / "tasks.json").read_bytes()
        assert data.startswith(b'{"format":"taskvault","schema":6,"min_reader":6,') and b'"crc32":"' in data.split(b"\n")[0]
        snapshot = codec.decode_snapshot(data)
        assert snapshot.schema == 6 and snapshot.revision == original.revision
        upgraded = JournalStore(directory).load()
        assert upgraded.snapshot() == original.snapshot()
        assert list(upgraded.history) == list(original.history)
        (backup,) = JournalStore(directory).backups.list()
        assert backup.label == "migration"
        kept = codec.decode_snapshot(backup.path.read_bytes())
        assert kept.schema == 2 and (kept.tasks, kept.revision) == (list(original.snapshot()[0]), original.revision)
        assert kept.steps == list(original.history)
        assert run_taskvault(directory, "undo").code == 0 and run_taskvault(directory, "list").code == 0
        assert len(JournalStore(directory).backups.list()) == 1, "upgraded once"

    @pytest.mark.parametrize("which", ["journal", "compacted"])
    def test_v3_store_upgraded_with_every_new_field_at_its_default(self, tmp_path: Path, which: str) -> None:
        """A schema 3 store (as release beca035 wrote it) is backed up as it was, sealed and checksummed, so
        that release can read the backup; rewritten in schema 6 with the new fields at their defaults; its
        tasks and history are the same, and its undo still reaches back before the upgrade."""
        directory = _v1_store(tmp_path, which, schema=3)
        before = {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}
        original = JournalStore(directory).load()
        listed = run_taskvault(directory, "list", "--all")
        assert listed.code == 0 and "upgraded to schema 6" in listed.err, listed.err
        data = (directory / "tasks.json").read_bytes()
        assert data.startswith(b'{"format":"taskvault","schema":6,"min_reader":6,')
        upgraded = JournalStore(directory).load()
        assert upgraded.snapshot() == original.snapshot()
        assert list(upgraded.history) == list(original.history)
        for task in upgraded.snapshot()[0]:
            assert (task.project, task.depends, task.annotations, task.recur, task.index) == (None, (), (), None, 0)
            assert task.extra == ()
            raw = codec.task_to_dict(task)
            assert raw["extra"] == {}
            assert raw["scheduled"] is raw["wait"] is raw["until"] is raw["started"] is raw["parent"] is None
        (backup,) = JournalStore(directory).backups.list()
        kept_bytes = backup.path.read_bytes()
        assert kept_bytes.startswith(b'{"format":"taskvault","schema":3,"min_reader":2,')
        assert b'"project"' not in kept_bytes and b'"extra"' not in kept_bytes, "a reader of 3 refuses a field it does not know"
        kept = codec.decode_snapshot(kept_bytes)
        assert kept.schema == 3 and (kept.tasks, kept.revision) == (list(original.snapshot()[0]), original.revision)
        assert kept.steps == list(original.history)
        if which == "journal":
            assert before["tasks.json"] != data
            assert run_taskvault(directory, "undo").out == "undo: add 4 \"Ünïcode ✓ title\" → removed\n"
        assert run_taskvault(directory, "list").code == 0
        assert len(JournalStore(directory).backups.list()) == 1, "upgraded once"

    @pytest.mark.parametrize("which", ["journal", "compacted"])
    def test_v4_store_upgraded_keeping_every_field_with_no_extra_attributes(self, tmp_path: Path, which: str) -> None:
        """A schema 4 store (as main at 8e9093b wrote it, every field of schema 4 in it) is backed up as it was, so
        that release can read the backup; rewritten in schema 6, where each task is, field for field, what the old
        files say (read here from their JSON, not by taskvault) with no extra attributes; undo still reaches back."""
        directory = _v1_store(tmp_path, which, schema=4)
        written = _v4_tasks_as_written(directory)
        for field in ("project", "scheduled", "wait", "until", "started", "recur", "parent", "depends", "annotations",
                      "index"):
            assert which == "compacted" or any(raw[field] for raw in written.values()), f"the fixture sets {field}"
        original = JournalStore(directory).load()
        listed = run_taskvault(directory, "list", "--all")
        assert listed.code == 0 and "upgraded to schema 6" in listed.err, listed.err
        data = (directory / "tasks.json").read_bytes()
        assert data.startswith(b'{"format":"taskvault","schema":6,"min_reader":6,')
        upgraded = JournalStore(directory).load()
        assert upgraded.snapshot() == original.snapshot()
        assert list(upgraded.history) == list(original.history)
        now = {task.id: codec.task_to_dict(task) for task in upgraded.snapshot()[0]}
        assert now == {task_id: {**raw, "extra": {}} for task_id, raw in written.items()}
        (backup,) = JournalStore(directory).backups.list()
        assert backup.label == "migration"
        kept_bytes = backup.path.read_bytes()
        assert kept_bytes.startswith(b'{"format":"taskvault","schema":4,"min_reader":4,')
        assert b'"extra"' not in kept_bytes, "a schema 4 reader refuses a field it does not know"
        kept = codec.decode_snapshot(kept_bytes)
        assert kept.schema == 4 and (kept.tasks, kept.revision) == (list(original.snapshot()[0]), original.revision)
        assert kept.steps == list(original.history)
        undo = run_taskvault(directory, "undo")
        assert undo.code == 0 and undo.out == ('undo: start 5 "Call the plumber" → stopped\n' if which == "journal"
                                               else 'undo: start 2 "Call mum today" → stopped\n'), undo
        assert run_taskvault(directory, "redo").code == 0
        assert {t.id: codec.task_to_dict(t) for t in JournalStore(directory).load().snapshot()[0]}.keys() == now.keys()
        assert run_taskvault(directory, "list").code == 0
        assert len(JournalStore(directory).backups.list()) == 1, "upgraded once"

    @pytest.mark.parametrize("call", ["write", "fsync", "replace"])
    def test_a_failed_migration_leaves_the_v1_files_and_reads_them(self, tmp_path: Path, call: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        directory = _v1_store(tmp_path, "journal")
        before = store_bytes(directory)
        session = Session(directory)
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs(call, errno.EROFS, times=-1))
            assert session.run("list") == 0
            assert "warning:" in session.err.getvalue()
            assert session.run("add More") == 3
        assert store_bytes(directory) == before
        assert temp_files(directory) == [] and temp_files(directory / "backups") == []
        assert session.run("add More") == 0 and "More" in _titles(directory)


class TestDoctorAndStats:
    def test_healthy_store(self, data_dir: Path) -> None:
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup").code == 0
        result = run_taskvault(data_dir, "doctor")
        assert result.code == 0 and result.out.endswith("0 problems, 0 warnings\n"), result.out

    def test_finds_problems_with_fixes(self, data_dir: Path) -> None:
        seed_store(data_dir)
        (data_dir / ".tasks.json.tmp-1-abcd").write_bytes(b"x")
        (data_dir / "tasks.json").chmod(0o644)
        holder = subprocess.Popen([require_tool("flock"), str(data_dir / "tasks.lock"), "cat"],
                                  stdin=subprocess.PIPE)
        try:
            found = json.loads(run_taskvault(data_dir, "--json", "doctor").out)
        finally:
            holder.communicate(timeout=10)
        by_subject = {f["subject"]: f for f in found["findings"]}
        assert by_subject["temp files"]["level"] == "warning"
        assert by_subject["permissions"]["fix"].startswith("chmod 600")
        assert by_subject["backups"]["fix"] == "take one with: taskvault backup"
        assert found["ok"] is True
        (data_dir / "tasks.journal").write_bytes(b"garbage\n")
        broken = run_taskvault(data_dir, "doctor")
        assert broken.code == 3 and "PROBLEM  store:" in broken.out

    def test_lock_holder_is_named(self, data_dir: Path) -> None:
        seed_store(data_dir)
        holder = subprocess.Popen([require_tool("flock"), str(data_dir / "tasks.lock"), "cat"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            os.read(holder.stdout.fileno(), 0)  # type: ignore[union-attr]
            seen = ""
            for _ in range(200):  # flock takes the lock before it starts cat; look until it shows
                seen = run_taskvault(data_dir, "doctor").out
                if f"held by process {holder.pid}" in seen:
                    break
            assert f"held by process {holder.pid}" in seen
        finally:
            holder.communicate(timeout=10)

    def test_stats(self, data_dir: Path) -> None:
        seed_store(data_dir)
        stats = json.loads(run_taskvault(data_dir, "--json", "stats").out)
        assert (stats["open_count"], stats["done_count"], stats["revision"], stats["undoable"]) == (2, 1, 4, 4)
        assert stats["journal_records"] == 4 and stats["load_seconds"] > 0 and stats["save_seconds"] is None
        session = Session(data_dir)
        assert session.run("add x") == 0 and session.run("stats") == 0
        assert "last save" in session.out.getvalue() and "(1 save since taskvault started)" in session.out.getvalue()
