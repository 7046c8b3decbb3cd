"""sync, resolve and the marks of a conflict, as a person meets them: the installed program in real processes,
a real bare repository as the remote, and a real terminal (tmux) for the session's toolbar and a narrow show."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import Completed, require_tool, run_taskvault
from .gitserver import make_bare
from .test_startup import imported
from .tmux import Tmux

SYNC_MODULES = {"taskvault.store.syncing", "taskvault.store.git_mirror", "taskvault.cli.render_sync",
                "taskvault.codec.ops"}


@pytest.fixture
def remote(tmp_path: Path) -> str:
    require_tool("git", "git")
    return str(make_bare(tmp_path / "remote.git"))


def ok(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Completed:
    result = run_taskvault(data_dir, *args, env=env)
    assert result.code == 0, (args, result.err)
    return result


@pytest.fixture
def devices(tmp_path: Path, remote: str) -> tuple[Path, Path]:
    """A laptop and a desktop that share task 1, "Buy milk", through the remote."""
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    ok(laptop, "add", "Buy milk", "+home")
    ok(laptop, "sync", "--remote", remote)
    assert "1 change in (task 1 new)" in ok(desktop, "sync", "--remote", remote).out
    return laptop, desktop


def conflict(laptop: Path, desktop: Path) -> None:
    """Task 1's title changed on both devices, neither knowing of the other: a conflict on the desktop."""
    ok(laptop, "edit", "1", "--title", "Buy oat milk", "--due", "2030-01-15")
    ok(desktop, "edit", "1", "--title", "Buy soy milk")
    ok(laptop, "sync")
    out = ok(desktop, "sync").out
    assert out.startswith(f"Synced with {desktop.parent / 'remote.git'}: 1 change in (task 1 in conflict), ")
    assert "task 1 is in conflict" in out and "'taskvault resolve 1 --take mine|theirs'" in out


class TestStatus:
    def test_a_store_that_never_synced_says_so(self, data_dir: Path) -> None:
        """--status on a store with no remote: exit 0, "none yet" and "never", and nothing made on disk for sync."""
        ok(data_dir, "add", "Buy milk")
        out = ok(data_dir, "sync", "--status").out
        assert "none yet (the first sync names one: taskvault sync --remote URL)" in out
        assert out.rstrip().endswith("last sync   never")
        assert not (data_dir / "sync.git").exists()
        body = json.loads(ok(data_dir, "--json", "sync", "--status").out)
        assert body == {"remote": None, "device": None, "unsynced": 1, "unsent": 0, "conflicts": [],
                        "last_sync": None}

    def test_status_after_a_sync_names_the_remote_device_and_changes(self, devices: tuple[Path, Path]) -> None:
        laptop, _ = devices
        ok(laptop, "add", "Pay rent")
        body = json.loads(ok(laptop, "--json", "sync", "--status").out)
        assert body["remote"] == str(laptop.parent / "remote.git") and len(body["device"]) == 12
        assert (body["unsynced"], body["conflicts"]) == (1, []) and body["last_sync"] is not None

    def test_status_and_remote_together_are_refused(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "sync", "--status", "--remote", "/x")
        assert result.code == 2 and "cannot be used together" in result.err


class TestFailures:
    def test_no_remote_yet_is_one_line_and_exit_5(self, data_dir: Path) -> None:
        ok(data_dir, "add", "Buy milk")
        result = run_taskvault(data_dir, "sync")
        assert result.code == 5 and result.err.count("\n") == 1
        assert result.err.startswith("error: no remote is set for sync yet (name one the first time: taskvault sync "
                                     "--remote URL")

    def test_an_unreachable_remote_is_exit_5_and_its_password_is_never_shown(self, data_dir: Path) -> None:
        """https with a password in the address, at a port nothing listens on: one line, exit 5, no password."""
        require_tool("git", "git")
        ok(data_dir, "add", "Buy milk")
        result = run_taskvault(data_dir, "sync", "--remote", "https://me:hunter2secret@127.0.0.1:9/tasks.git")
        assert result.code == 5, result.err
        assert result.err.startswith("error: ") and result.err.count("\n") == 1
        assert "hunter2secret" not in result.err + result.out
        assert run_taskvault(data_dir, "--json", "sync").out.count("hunter2secret") == 0
        assert ok(data_dir, "list").out.startswith("ID")  # the tasks are as they were

    def test_an_encrypted_store_syncs_sealed_and_a_plain_one_is_refused_its_remote(self, tmp_path: Path,
                                                                                     remote: str) -> None:
        """An encrypted store ships sealed segments (no title on the remote); a second encrypted device with the
        passphrase reads them; a plain store is refused that remote with exit 5 and one line, its tasks as they were."""
        secret = tmp_path / "pass"
        secret.write_text("correct horse battery\n")
        secret.chmod(0o600)
        env = {"TASKVAULT_PASSPHRASE_FILE": str(secret)}
        laptop, desktop, plain = tmp_path / "laptop", tmp_path / "desktop", tmp_path / "plain"
        ok(laptop, "init", "--encrypt", env=env)
        ok(laptop, "add", "Renew the passport", env=env)
        ok(laptop, "sync", "--remote", remote, env=env)
        held = subprocess.run(["git", "--git-dir", remote, "log", "-p", "--text", "--all"], capture_output=True, check=True)
        assert b"passport" not in held.stdout and b"taskvault-sealed-ops" in held.stdout
        ok(desktop, "init", "--encrypt", env=env)
        ok(desktop, "sync", "--remote", remote, env=env)
        assert "Renew the passport" in ok(desktop, "list", env=env).out
        ok(plain, "add", "Buy milk")
        result = run_taskvault(plain, "sync", "--remote", remote)
        assert result.code == 5 and "encrypted" in result.err and result.err.count("\n") == 1, result.err
        assert "Buy milk" in ok(plain, "list").out and "passport" not in ok(plain, "list").out


class TestConflicts:
    def test_list_marks_it_and_says_the_way_out(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        ok(desktop, "add", "Pay rent")
        conflict(laptop, desktop)
        lines = ok(desktop, "list").out.splitlines()
        assert lines[1].startswith("!1 ") and lines[2].startswith(" 2 ")
        assert lines[-1] == ("! 1 task in conflict (1): 'taskvault show 1' shows both versions, "
                             "'taskvault resolve 1 --take mine|theirs' chooses")
        rows = json.loads(ok(desktop, "--json", "list").out)
        assert [row.get("conflict") for row in rows] == [True, None]

    def test_list_with_colour_gives_the_conflict_row_its_style(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        conflict(laptop, desktop)
        out = ok(desktop, "--color=always", "list").out
        assert "\x1b[1;35m" in out.splitlines()[1]  # bold magenta: the theme's conflict

    def test_show_lists_the_differing_fields_against_the_ancestor(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        conflict(laptop, desktop)
        out = ok(desktop, "show", "1").out.splitlines()
        start = out.index(next(line for line in out if line.startswith("    field")))
        device = json.loads(ok(laptop, "--json", "sync", "--status").out)["device"]
        assert out[start].split() == ["field", "ancestor", "mine", "theirs", f"({device})"]
        assert out[start + 1].split() == ["title", "Buy", "milk", "Buy", "soy", "milk", "Buy", "oat", "milk"]
        assert out[start + 2].split() == ["due", "none", "none", "2030-01-15"]  # the fields in RESOLVABLE_FIELDS order
        body = json.loads(ok(desktop, "--json", "show", "1").out)
        assert body["conflict"]["fields"] == ["title", "due"]
        assert body["conflict"]["ancestor"]["title"] == "Buy milk" and body["conflict"]["mine"]["title"] == "Buy soy milk"
        assert body["conflict"]["theirs"] == [{"device": device, "task": body["conflict"]["theirs"][0]["task"]}]
        assert body["conflict"]["theirs"][0]["task"]["due"] == "2030-01-15"

    def test_a_deleted_version_is_shown_as_deleted(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        ok(laptop, "delete", "1")
        ok(desktop, "edit", "1", "--title", "Buy soy milk")
        ok(laptop, "sync")
        assert "in conflict" in ok(desktop, "sync").out
        title = next(line for line in ok(desktop, "show", "1").out.splitlines() if line.startswith("    title"))
        assert title.split()[-1] == "deleted"

    def test_show_on_a_narrow_terminal_stacks_the_versions(self, devices: tuple[Path, Path], tmp_path: Path) -> None:
        """At 40 columns every line of show fits, each field's versions one a line."""
        laptop, desktop = devices
        conflict(laptop, desktop)
        screen = Tmux("taskvault show 1", columns=40, rows=40, data_dir=desktop, state=tmp_path / "tmux")
        try:
            rows = screen.wait_for(lambda rows: any(r.startswith("[exit") for r in rows), "show to finish")
        finally:
            screen.close()
        assert "[exit 0]" in rows
        assert all(len(row) <= 40 for row in rows), rows
        at = rows.index("    title")
        assert [r.split()[0] for r in rows[at + 1: at + 4]] == ["ancestor", "mine", "theirs"]
        assert rows[at + 2].split()[1:] == ["Buy", "soy", "milk"]

    def test_a_conflicted_task_is_changed_only_by_resolve(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        conflict(laptop, desktop)
        refused = run_taskvault(desktop, "done", "1")
        assert refused.code == 1 and "resolve 1" in refused.err
        assert ok(desktop, "resolve").out.startswith("task 1 in conflict")
        missing = run_taskvault(desktop, "resolve", "1")
        assert missing.code == 2 and "--take mine" in missing.err
        bad = run_taskvault(desktop, "resolve", "1", "--take", "mine", "--field", "title")
        assert bad.code == 2 and "NAME=VERSION" in bad.err
        done = ok(desktop, "resolve", "1", "--take", "mine", "--field", "due=theirs")
        assert done.out.splitlines()[0] == "Resolved task 1 (mine; due from theirs): Buy soy milk"
        again = run_taskvault(desktop, "resolve", "1", "--take", "mine")
        assert again.code == 1 and "task 1 is not in conflict" in again.err
        assert ok(desktop, "resolve").out == "No task is in conflict.\n"
        ok(desktop, "sync")
        ok(laptop, "sync")
        for device in devices:
            task = json.loads(ok(device, "--json", "show", "1").out)
            assert (task["title"], task["due"], "conflict" in task) == ("Buy soy milk", "2030-01-15", False)

    def test_resolve_json_says_what_the_task_became(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        conflict(laptop, desktop)
        body = json.loads(ok(desktop, "--json", "resolve", "1", "--take", "theirs").out)
        assert (body["id"], body["take"], body["deleted"], body["task"]["title"]) == (1, "theirs", False, "Buy oat milk")


class TestMergeByFields:
    def test_edits_of_different_fields_merge_when_the_config_says_so(self, devices: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
        laptop, desktop = devices
        config = tmp_path / "config.toml"
        config.write_text('[sync]\nmerge = "fields"\n')
        env = {"TASKVAULT_CONFIG": str(config)}
        rows = {line.split()[0]: line.split()[1:] for line in ok(desktop, "config", env=env).out.splitlines()[1:]}
        assert rows["sync.merge"] == ["fields", "file", f"{config}:2"]
        ok(laptop, "edit", "1", "--title", "Buy oat milk")
        ok(desktop, "edit", "1", "--due", "2030-01-15")
        ok(laptop, "sync")
        out = ok(desktop, "sync", env=env).out
        assert "task 1: merged the fields changed on one device with those changed on the other" in out
        task = json.loads(ok(desktop, "--json", "show", "1").out)
        assert (task["title"], task["due"]) == ("Buy oat milk", "2030-01-15")
        # The merge can be undone: the task goes back to this device's version, and that travels.
        assert "undo: sync 1" in ok(desktop, "undo", env=env).out
        task = json.loads(ok(desktop, "--json", "show", "1").out)
        assert (task["title"], task["due"]) == ("Buy milk", "2030-01-15")
        ok(desktop, "sync", env=env)
        ok(laptop, "sync")
        back = json.loads(ok(laptop, "--json", "show", "1").out)
        assert (back["title"], back["due"]) == ("Buy milk", "2030-01-15")
        assert "in conflict" not in ok(laptop, "list").out

    def test_without_it_the_same_edits_are_a_conflict(self, devices: tuple[Path, Path]) -> None:
        laptop, desktop = devices
        assert ok(desktop, "config").out.count("sync.merge") == 1
        ok(laptop, "edit", "1", "--title", "Buy oat milk")
        ok(desktop, "edit", "1", "--due", "2030-01-15")
        ok(laptop, "sync")
        assert "task 1 in conflict" in ok(desktop, "sync").out

    def test_a_bad_merge_setting_is_refused_before_anything_runs(self, data_dir: Path, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text('[sync]\nmerge = "always"\n')
        result = run_taskvault(data_dir, "list", env={"TASKVAULT_CONFIG": str(config)})
        assert result.code == 2 and "sync.merge: must be never or fields" in result.err


class TestUuidPrefixes:
    def _two_tasks_sharing_a_prefix(self, data_dir: Path) -> None:
        tasks = [{"uuid": f"abcdef12-0000-4000-8000-00000000000{n}", "description": f"Task {n}", "status": "pending",
                  "entry": "20260101T000000Z"} for n in (1, 2)]
        result = run_taskvault(data_dir, "import", "--from", "taskwarrior", "-", "--yes", stdin=json.dumps(tasks))
        assert result.code == 0, result.err

    def test_a_prefix_names_the_task_wherever_an_id_does(self, data_dir: Path) -> None:
        self._two_tasks_sharing_a_prefix(data_dir)
        assert ok(data_dir, "show", "abcdef12-0000-4000-8000-000000000002").out.startswith("Task 2: Task 2")
        assert ok(data_dir, "show", "ABCDEF12000040008000000000000001").out.startswith("Task 1: Task 1")
        assert ok(data_dir, "done", "abcdef12-0000-4000-8000-000000000002").out.startswith("Completed task 2")
        assert ok(data_dir, "edit", "abcdef12000040008000000000000001", "--title", "Renamed").out == (
            "Updated task 1: Renamed\n")

    def test_an_ambiguous_prefix_says_how_many_and_none_is_no_match(self, data_dir: Path) -> None:
        self._two_tasks_sharing_a_prefix(data_dir)
        both = run_taskvault(data_dir, "show", "abcdef12")
        assert both.code == 1 and both.err.startswith("error: 'abcdef12' is the start of 2 tasks' uuids")
        none = run_taskvault(data_dir, "done", "0badcafe")
        assert none.code == 1 and "no task's uuid starts with '0badcafe'" in none.err
        short = run_taskvault(data_dir, "show", "abcdef1")
        assert short.code == 1 and "is not a task id" in short.err  # fewer than 8 hex digits: no uuid


class TestStartUp:
    @pytest.mark.parametrize("args", [["list"], ["show", "1"], ["add", "Buy milk"], ["done", "1"]])
    def test_a_command_that_does_not_sync_imports_nothing_of_sync(self, data_dir: Path, args: list[str]) -> None:
        ok(data_dir, "add", "First")
        assert not imported(data_dir, *args) & SYNC_MODULES

    def test_sync_brings_its_parts(self, data_dir: Path) -> None:
        ok(data_dir, "add", "First")
        assert {"taskvault.store.syncing", "taskvault.cli.render_sync"} <= imported(data_dir, "sync", "--status")


class TestSession:
    def test_the_toolbar_shows_unsynced_changes_and_conflicts_and_sync_runs_inside(
            self, devices: tuple[Path, Path], tmp_path: Path) -> None:
        laptop, desktop = devices
        ok(laptop, "edit", "1", "--title", "Buy oat milk")
        ok(laptop, "sync")
        screen = Tmux("taskvault", columns=120, rows=30, data_dir=desktop, state=tmp_path / "tmux")
        try:
            screen.wait_for(lambda rows: any("1 open · 0 done · synced" in r for r in rows), "the toolbar's sync")
            screen.type("edit 1 --title 'Buy soy milk'", "Enter")
            screen.wait_for(lambda rows: any("1 open · 0 done · 1 unsynced" in r for r in rows), "1 unsynced")
            screen.type("sync", "Enter")
            screen.wait_for(lambda rows: any("1 conflict" in r for r in rows), "the conflict in the toolbar")
            rows = screen.rows(joined=True)
            assert any(r.startswith("Synced with ") and "(task 1 in conflict)" in r for r in rows), rows
            assert any("'show 1' shows both versions" in r for r in rows), rows  # hints as typed in the session
            screen.type("resolve 1 --take theirs", "Enter")
            screen.wait_for(lambda rows: any("1 open · 0 done · 1 unsynced" in r and "conflict" not in r.split("·")[2]
                                             for r in rows if "open ·" in r), "the conflict gone")
        finally:
            screen.close()
