"""What you type is what is saved: the installed ``taskvault`` never changes a user's words.

Each test runs the installed entry point (``taskvault`` beside this interpreter) in a new process,
or on a real terminal (tmux) where the behaviour depends on one.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TASKVAULT, Completed

#: The console script pip installed: the program exactly as a user starts it.
ENTRY_POINT = Path(sys.executable).with_name("taskvault")
PROGRAM = [str(ENTRY_POINT)] if ENTRY_POINT.exists() else TASKVAULT


def _env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
    env.update({"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "XDG_STATE_HOME": str(data_dir.parent / "state")})
    env.update(extra or {})
    return env


def typed(data_dir: Path, *words: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Completed:
    """Run ``taskvault WORDS...`` as a shell would after splitting what the user typed."""
    proc = subprocess.run([*PROGRAM, *words], capture_output=True, text=True, env=_env(data_dir, env),
                          cwd=cwd or data_dir.parent, stdin=subprocess.DEVNULL, timeout=30)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def tasks_in(data_dir: Path, *filters: str) -> list[dict]:
    result = typed(data_dir, "--json", "list", "--all", *filters)
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


class TestGlobalOptionsGoBeforeTheCommand:
    """Item 2: after the command word, a word taskvault's own options use is never taken as one."""

    def test_a_global_flag_inside_an_unquoted_title_is_refused_and_nothing_is_saved(self, store: Path) -> None:
        """`add Fix the --no-color flag docs` is a usage error naming the word and the way to type it."""
        result = typed(store, "add", "Fix", "the", "--no-color", "flag", "docs")
        assert result.code == 2, result
        assert result.out == ""
        line = result.err.strip()
        assert "\n" not in line and "--no-color" in line
        assert "quote" in line and "--" in line
        assert not (store / "tasks.json").exists() or tasks_in(store) == []

    def test_a_data_dir_inside_a_title_creates_no_store(self, store: Path, tmp_path: Path) -> None:
        """`add note about --data-dir usage` neither saves "note about" nor makes a store ./usage."""
        typed(store, "add", "First")
        before = tasks_in(store)
        result = typed(store, "add", "note", "about", "--data-dir", "usage", cwd=tmp_path)
        assert result.code == 2, result
        assert "--data-dir" in result.err
        assert not (tmp_path / "usage").exists()
        assert tasks_in(store) == before

    @pytest.mark.parametrize("words", [
        ["add", "Fix the --no-color flag docs"],
        ["add", "--", "Fix", "the", "--no-color", "flag", "docs"],
        ["add", "Fix", "the", "--", "--no-color", "flag", "docs"],
    ])
    def test_a_quoted_title_or_one_after_double_dash_is_saved_as_typed(self, store: Path, words: list[str]) -> None:
        """Quoting the title, or `--` before the title words, keeps every word."""
        result = typed(store, *words)
        assert result.code == 0, result.err
        assert [t["title"] for t in tasks_in(store)] == ["Fix the --no-color flag docs"]

    def test_json_after_the_command_is_refused_with_the_order_that_works(self, store: Path) -> None:
        """`list --json` says to write `taskvault --json list`; before the command it works."""
        typed(store, "add", "A")
        result = typed(store, "list", "--json")
        assert (result.code, result.out) == (2, "")
        assert "taskvault --json list" in result.err
        assert json.loads(typed(store, "--json", "list").out)[0]["title"] == "A"

    def test_every_global_option_still_works_before_the_command(self, store: Path, tmp_path: Path) -> None:
        """--data-dir, --no-color and --json before the command word keep their meaning."""
        other = tmp_path / "other"
        assert typed(store, "--data-dir", str(other), "--no-color", "add", "Elsewhere").code == 0
        assert [t["title"] for t in tasks_in(other)] == ["Elsewhere"]
        assert not store.exists()

    def test_an_unknown_option_after_edit_title_words_is_refused(self, store: Path) -> None:
        """`edit 1 --title Fix the --no-color docs` is refused as add refuses it, and nothing changes."""
        typed(store, "add", "Old")
        result = typed(store, "edit", "1", "--title", "Fix", "the", "--no-color", "docs")
        assert result.code == 2 and "--no-color" in result.err
        assert tasks_in(store)[0]["title"] == "Old"


class TestPriorityNone:
    """Item 3: `--priority none` filters to tasks without a priority; no typed value means 'no filter'."""

    def test_list_priority_none_shows_only_tasks_without_one(self, store: Path) -> None:
        """Of a high and an unprioritised task, `--priority none` lists only the second."""
        typed(store, "add", "Urgent", "--priority", "high")
        typed(store, "add", "Someday")
        assert [t["title"] for t in tasks_in(store, "--priority", "none")] == ["Someday"]
        assert [t["title"] for t in tasks_in(store, "--priority", "high")] == ["Urgent"]
        assert [t["title"] for t in tasks_in(store)] == ["Urgent", "Someday"]

    @pytest.mark.parametrize("words", [["--search", ""], ["--tag", ""], ["--priority", ""], ["--due-before", ""]])
    def test_no_typed_filter_value_means_no_filter(self, store: Path, words: list[str]) -> None:
        """An empty value is refused with one line, never read as 'every task'."""
        typed(store, "add", "Urgent", "--priority", "high")
        result = typed(store, "--json", "list", *words)
        assert result.code in (1, 2) and result.out.startswith('{"error"'), result

    def test_the_query_tells_no_filter_from_no_priority(self) -> None:
        """ANY is the only 'no filter'; None selects tasks without a priority."""
        import datetime as dt

        from taskvault.domain.query import ANY, TaskQuery
        from taskvault.domain.task import Priority, Task

        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        bare = Task(id=1, uuid=uuid.uuid4(), title="bare", created=now, updated=now)
        high = Task(id=2, uuid=uuid.uuid4(), title="high", created=now, updated=now, priority=Priority.HIGH)
        assert TaskQuery().priority is ANY
        assert TaskQuery().select([bare, high]) == [bare, high]
        assert TaskQuery(priority=None).select([bare, high]) == [bare]
        assert TaskQuery(search="").select([bare, high]) == [bare, high]


# -- item 5: asking before a bulk delete, on a terminal and nowhere else -----------------------


class Tmux:
    """A command on a real terminal (its own tmux server), read back as the screen shows it."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path) -> None:
        self.socket = f"tv-words-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        script = f"cd {shlex.quote(str(cwd))} && env -i {exports} {command}; echo \"[exit $?]\"; sleep 600"
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", script)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True, text=True,
                              capture_output=True, timeout=10).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J")

    def wait_for(self, text: str, timeout: float = 15) -> str:
        """Poll the screen until ``text`` shows (a deadline, never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "0", "-l", text)
        self.tmux("send-keys", "-t", "0", "Enter")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def on_terminal(store: Path, tmp_path: Path) -> Iterator:
    if subprocess.run(["which", "tmux"], capture_output=True).returncode:
        pytest.skip("needs tmux")
    opened: list[Tmux] = []

    def start(words: str) -> Tmux:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm", "LC_ALL": "C.UTF-8",
               "TASKVAULT_RESIDENT": "off",
               "HOME": str(tmp_path), "TASKVAULT_DATA_DIR": str(store), "NO_COLOR": "1",
               "XDG_STATE_HOME": str(tmp_path / "state")}
        opened.append(Tmux(f"{shlex.quote(PROGRAM[0])} {' '.join(shlex.quote(w) for w in PROGRAM[1:])} {words}",
                           env, tmp_path))
        return opened[-1]
    yield start
    for t in opened:
        t.kill()


class TestAskingBeforeABulkDelete:
    """Item 5: one rule everywhere: ask on a terminal (stdin and stdout), never in a pipe; --yes skips."""

    @pytest.fixture(autouse=True)
    def three_tasks(self, store: Path) -> None:
        for title in ("One", "Two", "Three"):
            assert typed(store, "add", title).code == 0

    def test_one_shot_on_a_terminal_asks_and_no_keeps_the_tasks(self, store: Path, on_terminal) -> None:  # type: ignore[no-untyped-def]
        """`taskvault delete 1 2` on a terminal shows the question; answering n deletes nothing."""
        t = on_terminal("delete 1 2")
        t.wait_for("Delete 2 tasks (1 One, 2 Two)? [y/N]")
        t.type("n")
        screen = t.wait_for("[exit 0]")
        assert "Nothing deleted." in screen
        assert [x["id"] for x in tasks_in(store)] == [1, 2, 3]

    def test_one_shot_on_a_terminal_deletes_after_yes(self, store: Path, on_terminal) -> None:  # type: ignore[no-untyped-def]
        """Answering y deletes the tasks it named."""
        t = on_terminal("delete 1 2")
        t.wait_for("[y/N]")
        t.type("y")
        screen = t.wait_for("[exit 0]")
        assert "Deleted task 1: One" in screen and "Deleted task 2: Two" in screen
        assert [x["id"] for x in tasks_in(store)] == [3]

    def test_yes_skips_the_question_on_a_terminal(self, store: Path, on_terminal) -> None:  # type: ignore[no-untyped-def]
        """`delete 1 2 --yes` on a terminal deletes without asking."""
        t = on_terminal("delete 1 2 --yes")
        screen = t.wait_for("[exit 0]")
        assert "[y/N]" not in screen
        assert [x["id"] for x in tasks_in(store)] == [3]

    def test_output_into_a_pipe_never_asks_even_from_a_terminal(self, store: Path, on_terminal) -> None:  # type: ignore[no-untyped-def]
        """With standard output a pipe (a script reading it) nobody is asked, even with a keyboard."""
        t = on_terminal("delete 1 2 | cat")
        screen = t.wait_for("[exit 0]")
        assert "[y/N]" not in screen and "Deleted task 2: Two" in screen
        assert [x["id"] for x in tasks_in(store)] == [3]

    def test_a_pipe_never_asks(self, store: Path) -> None:
        """In a pipe, the bulk delete runs at once: scripts are never asked anything."""
        result = typed(store, "delete", "1", "2")
        assert result.code == 0 and "?" not in result.out + result.err
        assert [x["id"] for x in tasks_in(store)] == [3]


class TestJsonSaysWhatChanged:
    """Item 10: --json for done, reopen and edit says whether each task changed, as text does."""

    def test_done_and_reopen_mark_each_task_changed_or_not(self, store: Path) -> None:
        typed(store, "add", "A")
        typed(store, "add", "B")
        typed(store, "done", "1")
        done = json.loads(typed(store, "--json", "done", "1", "2").out)
        assert [(t["id"], t["status"], t["changed"]) for t in done] == [(1, "done", False), (2, "done", True)]
        reopened = json.loads(typed(store, "--json", "reopen", "2").out)
        assert [(t["id"], t["changed"]) for t in reopened] == [(2, True)]
        again = json.loads(typed(store, "--json", "reopen", "2").out)
        assert [(t["id"], t["changed"]) for t in again] == [(2, False)]

    def test_edit_says_whether_it_changed_the_task(self, store: Path) -> None:
        typed(store, "add", "A", "--priority", "low")
        changed = json.loads(typed(store, "--json", "edit", "1", "--priority", "high").out)
        assert (changed["priority"], changed["changed"]) == ("high", True)
        same = json.loads(typed(store, "--json", "edit", "1", "--priority", "high").out)
        assert (same["priority"], same["changed"]) == ("high", False)


class TestSmallerWords:
    """Item 11 (parts): the same words mean the same thing in add and edit; settings and names as typed."""

    def test_add_accepts_plus_tag_as_edit_does(self, store: Path) -> None:
        """`add X --tag +home` saves the tag home, as `edit --tag +home` adds it."""
        result = typed(store, "add", "X", "--tag", "+home")
        assert result.code == 0, result.err
        typed(store, "add", "Y")
        assert typed(store, "edit", "2", "--tag", "+home").code == 0
        assert [t["tags"] for t in tasks_in(store)] == [["home"], ["home"]]

    def test_edit_title_takes_unquoted_words_as_add_does(self, store: Path) -> None:
        """`edit 1 --title Buy oat milk --priority low` sets the title "Buy oat milk" and the priority."""
        typed(store, "add", "Buy", "milk")
        result = typed(store, "edit", "1", "--title", "Buy", "oat", "milk", "--priority", "low")
        assert result.code == 0, result.err
        [task] = tasks_in(store)
        assert (task["title"], task["priority"]) == ("Buy oat milk", "low")

    def test_an_empty_backup_keep_setting_is_unset(self, store: Path) -> None:
        """TASKVAULT_BACKUP_KEEP= (empty) is read as unset: list works."""
        typed(store, "add", "A")
        result = typed(store, "list", env={"TASKVAULT_BACKUP_KEEP": ""})
        assert result.code == 0, result.err

    @pytest.mark.parametrize("value", ["last=0", "daily=x", "last=-1"])
    def test_the_backup_keep_error_names_the_range_that_is_accepted(self, store: Path, value: str) -> None:
        """The error never offers last=0, which is refused."""
        result = typed(store, "list", env={"TASKVAULT_BACKUP_KEEP": value})
        assert result.code == 2
        assert "last" in result.err and "from 0" not in result.err.replace("daily and weekly from 0", "")
        assert "from 1" in result.err

    def test_a_backup_name_cannot_repeat_or_be_another_backups_id(self, store: Path) -> None:
        """A second `backup before-cleanup`, `backup ID-OF-ANOTHER` and `backup latest` are refused in one line."""
        typed(store, "add", "A")
        assert typed(store, "backup", "before-cleanup").code == 0
        again = typed(store, "backup", "before-cleanup")
        assert again.code == 1 and "before-cleanup" in again.err and len(again.err.strip().splitlines()) == 1
        first_id = json.loads(typed(store, "--json", "backups").out)[0]["id"]
        for name in (first_id, first_id[:8], "latest"):
            refused = typed(store, "backup", name)
            assert refused.code == 1, (name, refused)
            assert len(refused.err.strip().splitlines()) == 1
        assert len(json.loads(typed(store, "--json", "backups").out)) == 1
