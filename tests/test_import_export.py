"""import and export as a user meets them: one durable change, one undo step, a backup first, ids in order,
idempotent, all or nothing under bad input, kills, racing sessions and failing disks; an export written whole
or not at all. The formats themselves are tested in tests/test_*_format.py; these tests feed Taskwarrior's JSON
(the format every peer tool can give) and check what the store does with it."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    TASKVAULT,
    Session,
    require_tool,
    run_raw,
    run_taskvault,
    seed_store,
    store_bytes,
    temp_files,
    tmpfs,
)


def tw(description: str, **fields: object) -> dict[str, object]:
    """A pending task as `task export` writes it (a fixed uuid from its description, so files can be rewritten)."""
    return {"id": 0, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, description)), "description": description,
            "entry": "20261101T090000Z", "modified": "20261101T090000Z", "status": "pending",
            "urgency": 1.5, **fields}


def export_file(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n", encoding="utf-8")
    return path


def tasks_of(data: Path) -> list[dict[str, object]]:
    out = run_taskvault(data, "--json", "list", "--all")
    assert out.code == 0, out.err
    return json.loads(out.out)


def history_commands(data: Path) -> list[str]:
    out = run_taskvault(data, "--json", "history")
    assert out.code == 0, out.err
    return [step["command"] for step in json.loads(out.out)]


class TestOneChange:
    def test_an_import_is_one_change_one_undo_step_and_a_backup_first(self, data_dir: Path, tmp_path: Path) -> None:
        seed_store(data_dir)
        before = tasks_of(data_dir)
        source = export_file(tmp_path / "tw.json", [tw(f"Imported {n}", tags=["Home"]) for n in range(5)])
        done = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source))
        assert done.code == 0, done.err
        assert "Imported 5 tasks from" in done.out and "backed up first" in done.out
        backups = json.loads(run_taskvault(data_dir, "--json", "backups").out)
        assert any(b["kind"] == "import" and b["automatic"] for b in backups)
        assert sum(c.startswith("import taskwarrior") for c in history_commands(data_dir)) == 1
        assert len(tasks_of(data_dir)) == len(before) + 5
        undone = run_taskvault(data_dir, "undo")
        assert undone.code == 0, undone.err
        assert tasks_of(data_dir) == before

    def test_new_tasks_get_the_next_ids_in_the_files_order_never_the_files_ids(self, data_dir: Path,
                                                                                tmp_path: Path) -> None:
        for title in ("one", "two", "three"):
            assert run_taskvault(data_dir, "add", title).code == 0
        assert run_taskvault(data_dir, "delete", "3").code == 0  # ids are never used again: the next is 4
        records = [dict(tw(f"From Taskwarrior {n}"), id=n) for n in (9, 1, 5)]
        source = export_file(tmp_path / "tw.json", records)
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        got = {t["title"]: t["id"] for t in tasks_of(data_dir)}
        assert [got[f"From Taskwarrior {n}"] for n in (9, 1, 5)] == [4, 5, 6]
        assert got["one"] == 1 and got["two"] == 2

    def test_importing_the_same_file_again_changes_nothing(self, data_dir: Path, tmp_path: Path) -> None:
        source = export_file(tmp_path / "tw.json", [tw(f"Task {n}", project="home") for n in range(20)])
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        files = store_bytes(data_dir)
        again = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source))
        assert again.code == 0, again.err
        assert again.out.startswith("Nothing to import: the 20 tasks from")
        assert store_bytes(data_dir) == files
        assert sum(c.startswith("import") for c in history_commands(data_dir)) == 1

    def test_a_task_changed_at_the_source_is_updated_in_place(self, data_dir: Path, tmp_path: Path) -> None:
        records = [tw("Write report"), tw("Call Anna")]
        source = export_file(tmp_path / "tw.json", records)
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        records[1] = dict(records[1], project="work", modified="20261102T090000Z")
        export_file(source, records)
        preview = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source), "--dry-run")
        assert preview.code == 0, preview.err
        assert "update 1 (2), leave 1 as it is" in preview.out and "~ 2  Call Anna  (project)" in preview.out
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        by_id = {t["id"]: t for t in tasks_of(data_dir)}
        assert by_id[2]["project"] == "work" and by_id[2]["title"] == "Call Anna" and len(by_id) == 2

    def test_undo_of_a_large_import_names_fifty_tasks_and_counts_the_rest(self, data_dir: Path,
                                                                           tmp_path: Path) -> None:
        source = export_file(tmp_path / "tw.json", [tw(f"Bulk {n}") for n in range(3000)])
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        undone = run_taskvault(data_dir, "undo")
        assert undone.code == 0, undone.err
        lines = undone.out.splitlines()
        assert len(lines) == 51 and lines[-1] == "undo: … and 2,950 more tasks (3,000 in all)", lines[-3:]
        assert tasks_of(data_dir) == []
        redone = run_taskvault(data_dir, "--json", "redo")
        assert redone.code == 0 and len(json.loads(redone.out)["changed"]) == 3000, redone.out[:300]

    def test_a_dry_run_changes_no_byte(self, data_dir: Path, tmp_path: Path) -> None:
        seed_store(data_dir)
        files = store_bytes(data_dir)
        source = export_file(tmp_path / "tw.json", [tw("Maybe")])
        preview = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source), "--dry-run")
        assert preview.code == 0 and "Would import 1 task from" in preview.out and "+ 4  Maybe" in preview.out
        assert store_bytes(data_dir) == files


class TestBadInput:
    @pytest.mark.parametrize(("record", "field"), [
        ({"due": "2026-13-45"}, "due"),
        ({"description": "x" * 501}, "description"),
        ({"uuid": "not-a-uuid"}, "uuid"),
        ({"status": "exploded"}, "status"),
    ])
    def test_one_bad_record_imports_nothing_and_says_where(self, data_dir: Path, tmp_path: Path,
                                                           record: dict[str, object], field: str) -> None:
        seed_store(data_dir)
        files = store_bytes(data_dir)
        records = [tw("Good one"), tw("Good two"), dict(tw("Bad three"), **record), tw("Good four")]
        source = export_file(tmp_path / "tw.json", records)
        refused = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source))
        assert refused.code == 1 and refused.out == "", refused
        assert refused.err.count("\n") == 1 and "Traceback" not in refused.err
        assert str(source) in refused.err and "record 3" in refused.err and field in refused.err, refused.err
        assert store_bytes(data_dir) == files
        assert not (data_dir / "backups").exists() or not any("import" in p.name for p in (data_dir / "backups").iterdir())

    @pytest.mark.parametrize("content", [b"", b"[", b"{]", b"\xff\xfe garbage", b"null", b"[1, 2]", b"[[]]"])
    def test_what_is_no_export_at_all_is_refused_or_empty_never_a_traceback(self, data_dir: Path, tmp_path: Path,
                                                                           content: bytes) -> None:
        seed_store(data_dir)
        files = store_bytes(data_dir)
        source = tmp_path / "tw.json"
        source.write_bytes(content)
        result = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source))
        assert "Traceback" not in result.err and result.code in (0, 1), result
        assert result.code == 0 or result.err.count("\n") == 1
        assert store_bytes(data_dir) == files

    def test_a_file_that_cannot_be_read_is_one_line(self, data_dir: Path, tmp_path: Path) -> None:
        for path in (tmp_path / "missing.json", tmp_path):
            result = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(path))
            assert result.code == 1 and result.err.count("\n") == 1 and "cannot read" in result.err, result

    def test_an_unknown_format_and_a_missing_file_argument_are_usage_errors(self, data_dir: Path) -> None:
        assert run_taskvault(data_dir, "import", "--from", "excel", "x").code == 2
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior").code == 2
        assert run_taskvault(data_dir, "import", "x.json").code == 2
        assert run_taskvault(data_dir, "export").code == 2
        assert run_taskvault(data_dir, "import", "--from", "csv", "--done-file", "d", "x").code == 2


class TestWhatTheStoreKnowsBetter:
    def test_a_task_changed_here_after_the_files_version_is_left_as_it_is(self, data_dir: Path,
                                                                       tmp_path: Path) -> None:
        source = export_file(tmp_path / "tw.json", [tw("Write report"), tw("Call Anna")])
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        assert run_taskvault(data_dir, "1", "annotate", "the client called on Tuesday").code == 0
        again = run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source))
        assert again.code == 0, again.err
        assert "Left as the store has it, changed here after the file's version (1): 1" in again.out
        assert tasks_of(data_dir)[0]["annotations"][0]["text"] == "the client called on Tuesday"

    def test_a_ring_of_dependencies_in_the_file_is_refused(self, data_dir: Path, tmp_path: Path) -> None:
        one, two, three = tw("One"), tw("Two"), tw("Three")
        one["depends"], two["depends"], three["depends"] = [two["uuid"]], [three["uuid"]], [one["uuid"]]
        refused = run_taskvault(data_dir, "import", "--from", "taskwarrior",
                                str(export_file(tmp_path / "tw.json", [one, two, three])))
        assert refused.code == 1 and "the file's dependencies" in refused.err and refused.err.count("\n") == 1, refused
        assert not (data_dir / "tasks.journal").exists() or tasks_of(data_dir) == []

    def test_a_confirmed_import_that_would_now_do_something_else_is_refused(self, data_dir: Path,
                                                                             tmp_path: Path) -> None:
        """Asked on a terminal, the user agrees to what the preview said; meanwhile another session deletes the task
        the import was to leave alone, so the plan made again under the lock would add it anew: refused, nothing
        imported. (Another session's edit of that task is no reason: the store's newer version is kept anyway.)"""
        from taskvault.commands.dispatch import run_tokens
        from taskvault.errors import StorageError

        source = export_file(tmp_path / "tw.json", [tw("Write report")])
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        records = [tw("Write report"), tw("New one")]
        export_file(source, records)
        session = Session(data_dir)
        session.runner.make_interactive(lambda question: run_taskvault(data_dir, "delete", "1", "--yes").code == 0)
        files = store_bytes(data_dir)
        with pytest.raises(StorageError, match="while you were asked"):
            run_tokens(session.runner.context, ["import", "--from", "taskwarrior", str(source)])
        session.close()
        assert tasks_of(data_dir) == [] and store_bytes(data_dir) != files


class TestStandardInput:
    def test_a_one_shot_import_reads_standard_input(self, data_dir: Path) -> None:
        text = json.dumps([tw("Piped in")])
        done = run_taskvault(data_dir, "import", "--from", "taskwarrior", "-", stdin=text)
        assert done.code == 0, done.err
        assert "from standard input" in done.out
        assert [t["title"] for t in tasks_of(data_dir)] == ["Piped in"]

    def test_a_script_on_standard_input_cannot_import_from_it(self, data_dir: Path) -> None:
        for line in ("import --from taskwarrior -", "import --from todotxt /dev/stdin"):
            result = run_taskvault(data_dir, stdin=f"{line}\nadd after\n")
            assert result.code == 2 and "holds the commands" in result.err, result
            assert tasks_of(data_dir) == []  # the script stopped there, its next line not read as data either

    def test_a_script_from_a_file_may_import_standard_input(self, data_dir: Path, tmp_path: Path) -> None:
        script = tmp_path / "script"
        script.write_text("import --from taskwarrior -\n")
        done = run_taskvault(data_dir, "--script", str(script), stdin=json.dumps([tw("Piped")]))
        assert done.code == 0, done.err
        assert [t["title"] for t in tasks_of(data_dir)] == ["Piped"]


class TestExport:
    def test_export_writes_a_file_whole_and_refuses_the_stores_own_files(self, data_dir: Path,
                                                                            tmp_path: Path) -> None:
        seed_store(data_dir)
        target = tmp_path / "out.json"
        done = run_taskvault(data_dir, "export", "--to", "taskwarrior", "-o", str(target))
        assert done.code == 0 and done.out.startswith("Exported 3 tasks to"), done
        assert len(json.loads(target.read_text())) == 3
        files = store_bytes(data_dir)
        refused = run_taskvault(data_dir, "export", "--to", "taskwarrior", "-o", str(data_dir / "tasks.json"))
        assert refused.code == 2 and "one of the store's own files" in refused.err
        for name in ("tasks.journal", "tasks.json.tmp-1", "backups/x.json"):
            assert run_taskvault(data_dir, "export", "--to", "csv", "-o", str(data_dir / name)).code == 2
        assert store_bytes(data_dir) == files
        beside = run_taskvault(data_dir, "export", "--to", "csv", "-o", str(data_dir / "export.csv"))
        assert beside.code == 0, beside.err

    def test_a_device_or_a_pipe_is_never_replaced_by_an_export(self, data_dir: Path, tmp_path: Path) -> None:
        seed_store(data_dir)
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        for target in (fifo, Path("/dev/null")):
            refused = run_taskvault(data_dir, "export", "--to", "csv", "-o", str(target))
            assert refused.code == 2 and "not a regular file" in refused.err, refused
        assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_ISCHR(Path("/dev/null").stat().st_mode)

    def test_a_failing_fsync_leaves_the_old_export_whole_and_no_temp_file(self, data_dir: Path,
                                                                          tmp_path: Path) -> None:
        seed_store(data_dir)
        out_dir = tmp_path / "exports"
        out_dir.mkdir()
        target = out_dir / "tw.json"
        target.write_text("the export of last week\n")
        proc = subprocess.run([require_tool("strace"), "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync",
                               "-e", "inject=fsync:error=ENOSPC", *TASKVAULT, "export", "--to", "taskwarrior",
                               "--output", str(target)],
                              env={**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_CONFIG": "/dev/null"},
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3 and proc.stderr.count("\n") == 1, proc.stderr
        assert "could not write" in proc.stderr and "No space left" in proc.stderr
        assert target.read_text() == "the export of last week\n"
        assert sorted(p.name for p in out_dir.iterdir()) == ["tw.json"]

    def test_a_filter_before_or_after_picks_the_tasks(self, data_dir: Path) -> None:
        for line in ("add one +home", "add two", "add three +home"):
            assert run_taskvault(data_dir, *line.split()).code == 0
        for args in (["+home", "export", "--to", "taskwarrior"], ["export", "--to", "taskwarrior", "+home"]):
            out = run_taskvault(data_dir, *args)
            assert out.code == 0, out.err
            assert sorted(r["description"] for r in json.loads(out.out)) == ["one", "three"]

    def test_an_export_to_a_reader_that_goes_away_ends_quietly(self, data_dir: Path, tmp_path: Path) -> None:
        source = export_file(tmp_path / "tw.json", [tw(f"Task {n}") for n in range(3000)])
        assert run_taskvault(data_dir, "import", "--from", "taskwarrior", str(source)).code == 0
        reader, writer = os.pipe()
        os.close(reader)
        try:
            result = run_raw(data_dir, "export", "--to", "taskwarrior", stdout=writer)
        finally:
            os.close(writer)
        assert result.code == 141 and result.err == "", result


def _big_export(path: Path, count: int) -> Path:
    return export_file(path, [tw(f"Bulk {n}", project="bulk", tags=["a", "b"]) for n in range(count)])


class TestConcurrencyAndCrashes:
    def test_two_imports_racing_add_each_task_once(self, data_dir: Path, tmp_path: Path) -> None:
        seed_store(data_dir)
        source = _big_export(tmp_path / "tw.json", 400)
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_CONFIG": "/dev/null",
               "TASKVAULT_RESIDENT": "off"}
        procs = [subprocess.Popen([*TASKVAULT, "import", "--from", "taskwarrior", str(source)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        tasks = tasks_of(data_dir)
        bulk = [t for t in tasks if t["project"] == "bulk"]
        assert len(bulk) == 400 and len({t["uuid"] for t in bulk}) == 400
        assert sorted(t["id"] for t in bulk) == list(range(4, 404))
        assert sum("Imported 400 tasks" in out for out, _ in outs) == 1
        assert sum("Nothing to import" in out for out, _ in outs) == 1

    def test_a_kill_at_any_moment_leaves_all_of_an_import_or_none(self, data_dir: Path, tmp_path: Path) -> None:
        """kill -9 at moments spread over the import (reading, planning, the backup, the append): every time
        the store loads with either none of the 5,000 tasks or all of them, never some."""
        seed_store(data_dir)
        source = _big_export(tmp_path / "tw.json", 5000)
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_CONFIG": "/dev/null",
               "TASKVAULT_RESIDENT": "off"}
        rng = random.Random(19)
        seen = set()
        for _ in range(12):
            proc = subprocess.Popen([*TASKVAULT, "import", "--from", "taskwarrior", str(source)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=rng.uniform(0.05, 2.5))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            count = sum(t["project"] == "bulk" for t in tasks_of(data_dir))
            assert count in (0, 5000), count
            seen.add(count)
            if count:
                assert run_taskvault(data_dir, "undo").code == 0
        assert temp_files(data_dir) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "3M") as mount:
        yield mount


class TestFullDisk:
    def test_an_import_onto_a_full_disk_changes_nothing_and_works_once_there_is_room(self, small_disk: Path,
                                                                                    tmp_path: Path) -> None:
        data = small_disk / "data"
        seed_store(data)
        source = _big_export(tmp_path / "tw.json", 3000)
        filler = small_disk / "filler"
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        filler.write_bytes(b"\0" * (free - 64 * 1024))
        files = store_bytes(data)
        full = run_taskvault(data, "import", "--from", "taskwarrior", str(source))
        assert full.code == 3 and full.err.count("\n") == 1 and "Traceback" not in full.err, full
        assert "No space left" in full.err
        assert store_bytes(data) == files and temp_files(data) == []
        filler.unlink()
        done = run_taskvault(data, "import", "--from", "taskwarrior", str(source))
        assert done.code == 0, done.err
        assert sum(t["project"] == "bulk" for t in tasks_of(data)) == 3000

    def test_an_export_onto_a_full_disk_keeps_the_old_file(self, small_disk: Path, tmp_path: Path) -> None:
        data = tmp_path / "data"
        source = _big_export(tmp_path / "tw.json", 3000)
        assert run_taskvault(data, "import", "--from", "taskwarrior", str(source)).code == 0
        target = small_disk / "out.json"
        target.write_text("[]\n")
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        (small_disk / "filler").write_bytes(b"\0" * (free - 16 * 1024))
        full = run_taskvault(data, "export", "--to", "taskwarrior", "-o", str(target))
        assert full.code == 3 and full.err.count("\n") == 1 and "No space left" in full.err, full
        assert target.read_text() == "[]\n"
        assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "out.json"]
