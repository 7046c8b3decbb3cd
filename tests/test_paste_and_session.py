"""The interactive session keeps what was typed or pasted: on a real terminal (tmux), against the installed program.

A paste is a real bracketed paste (``tmux paste-buffer -p``); what was saved is read back with a
one-shot ``taskvault --json list --all``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("TASKVAULT_REQUIRE_TOOLS"),
                                reason="needs tmux (apt-get install tmux)")]

TIMEOUT = 15.0
TASKVAULT = [sys.executable, "-m", "taskvault"]


class Screen:
    """taskvault's session in a tmux pane, read as the screen a person sees."""

    def __init__(self, data_dir: Path, state: Path, *, width: int = 100, height: int = 30) -> None:
        self.socket = f"taskvault-paste-{os.getpid()}-{os.urandom(6).hex()}"  # (id(self) is reused once freed)
        env = {"TERM": "xterm", "LC_ALL": "C.UTF-8", "XDG_STATE_HOME": str(state), "HOME": str(state),
               "PATH": os.environ.get("PATH", ""), "TASKVAULT_RESIDENT": "off"}
        env.update({key: os.environ[key] for key in ("PYTHONPATH", "COVERAGE_PROCESS_START") if key in os.environ})
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        program = " ".join(shlex.quote(word) for word in [*TASKVAULT, "--data-dir", str(data_dir)])
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height),
                  f"env -i {exports} {program}; echo \"[exit $?]\"; sleep 600")
        self.wait_for(lambda s: "taskvault>" in s)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT).stdout

    def screen(self) -> str:
        """What the pane shows now (the visible screen, not the scrollback)."""
        return self.tmux("capture-pane", "-p", "-t", "0")

    def wait_for(self, ready: Callable[[str], bool], what: str = "") -> str:
        """Poll the screen until ``ready`` holds; fail with the screen shown after the deadline."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            shown = self.screen()
            if ready(shown):
                return shown
            time.sleep(0.02)  # polling for a condition, not waiting for time to pass
        pytest.fail(f"timed out waiting for {what or 'the screen'}; the screen:\n{self.screen()}")

    def wait_text(self, text: str) -> str:
        return self.wait_for(lambda s: text in s, repr(text))

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "0", "-l", text)

    def enter(self) -> None:
        self.tmux("send-keys", "-t", "0", "Enter")

    def line(self, text: str) -> None:
        self.type(text)
        self.enter()

    def paste(self, text: str) -> None:
        """A bracketed paste, as a terminal makes one when a person pastes ``text``."""
        self.tmux("set-buffer", "-b", "p", "--", text)
        self.tmux("paste-buffer", "-p", "-b", "p", "-t", "0")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=TIMEOUT, check=False)


@pytest.fixture
def session(data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Screen]]:
    opened: list[Screen] = []

    def open_session(**kwargs: int) -> Screen:
        opened.append(Screen(data_dir, tmp_path / "state", **kwargs))
        return opened[-1]
    yield open_session
    for screen in opened:
        screen.close()


def taskvault(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TASKVAULT, "--data-dir", str(data_dir), *args], capture_output=True, text=True, check=False,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def tasks(data_dir: Path) -> dict[int, tuple[str, str]]:
    """Every task in the store, as {id: (title, status)}, read by a one-shot run."""
    done = taskvault(data_dir, "--json", "list", "--all")
    assert done.returncode == 0, done.stderr
    return {task["id"]: (task["title"], task["status"]) for task in json.loads(done.stdout)}


class TestPaste:
    def test_a_pasted_add_and_done_run_as_two_commands(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """`add real task⏎done 1⏎` adds one task and completes task 1; the lines are never joined."""
        assert taskvault(data_dir, "add", "first").returncode == 0
        s = session()
        s.paste("add real task\ndone 1\n")
        s.wait_text("done 1")
        assert tasks(data_dir) == {1: ("first", "open")}  # a paste runs nothing until Enter
        s.enter()
        s.wait_text("Completed task 1: first")
        assert tasks(data_dir) == {1: ("first", "done"), 2: ("real task", "open")}
        assert "Added task 2: real task\nCompleted task 1: first" in s.screen()

    def test_an_escape_sequence_typed_without_bracketed_paste_is_refused_as_text(self, session,  # type: ignore[no-untyped-def]
                                                                                 data_dir: Path) -> None:
        """ESC [ 31 m arriving as keys (a terminal without bracketed paste) looks like a mouse report, whose
        handler failed with a traceback and ended the session: it is text, refused with one line, and the
        session goes on."""
        s = session()
        s.line("add x \x1b[31mred")
        s.wait_text("control character")
        s.line("add after")
        s.wait_text("Added task 1: after")
        screen = s.screen()
        assert "Traceback" not in screen and "internal error" not in screen, screen
        assert tasks(data_dir) == {1: ("after", "open")}

    def test_three_pasted_adds_are_three_tasks(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """Each pasted line is its own command, run in order."""
        s = session()
        s.paste("add one\nadd two\nadd three\n")
        s.wait_text("add three")
        s.enter()
        s.wait_text("Added task 3: three")
        assert tasks(data_dir) == {1: ("one", "open"), 2: ("two", "open"), 3: ("three", "open")}

    def test_a_failing_line_stops_the_paste_and_says_which(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """The lines before the failure ran, the failing line is named, the lines after it did not run."""
        s = session()
        s.paste("add kept\nshow 9\nadd never\nadd nor this\n")
        s.wait_text("4> add nor this")
        s.enter()
        shown = s.wait_text("were not run")
        assert "Added task 1: kept" in shown
        assert re.search(r"line 2 of the paste failed: error: no task with id 9 .*; lines 3, 4 were not run",
                         shown.replace("\n", "")), shown
        assert tasks(data_dir) == {1: ("kept", "open")}
        s.wait_for(lambda screen: "line 2 of the paste: no task with id 9" in screen.rstrip("\n").splitlines()[-1],
                   "the failing line in the status bar")
        s.line("add after")  # the session goes on
        s.wait_text("Added task 2: after")

    def test_without_a_trailing_newline_the_last_line_can_be_edited_before_enter(self, session,  # type: ignore[no-untyped-def]
                                                                                 data_dir: Path) -> None:
        """Pasted with or without a final newline, nothing runs until Enter; the cursor ends on the last line."""
        s = session()
        s.paste("add alpha\nadd beta")
        s.wait_text("2> add beta")
        s.type(" gamma")
        s.wait_text("2> add beta gamma")
        assert tasks(data_dir) == {}
        s.enter()
        s.wait_text("Added task 2: beta gamma")
        assert tasks(data_dir) == {1: ("alpha", "open"), 2: ("beta gamma", "open")}

    def test_a_trailing_newline_leaves_no_empty_line_behind(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """A paste ending in a newline behaves as one without: typing goes on the last pasted line."""
        s = session()
        s.paste("add alpha\nadd beta\n")
        s.wait_text("2> add beta")
        s.type("!")
        s.wait_text("2> add beta!")
        s.enter()
        s.wait_text("Added task 2: beta!")
        assert tasks(data_dir) == {1: ("alpha", "open"), 2: ("beta!", "open")}

    def test_quit_in_a_paste_leaves_and_says_what_was_not_run(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        s = session()
        s.paste("add before\nquit\nadd after\n")
        s.wait_text("3> add after")
        s.enter()
        shown = s.wait_text("[exit 0]")
        assert "line 3 of the paste was not run" in shown
        assert tasks(data_dir) == {1: ("before", "open")}


class TestStatusBar:
    def test_the_save_time_does_not_count_the_wait_for_an_answer(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """A bulk delete answered after 2.5 s shows the save's own time, far below the wait."""
        for title in ("A", "B", "C"):
            assert taskvault(data_dir, "add", title).returncode == 0
        s = session()
        s.line("delete 1 2 3")
        s.wait_text("[y/N]")
        asked = time.monotonic()
        time.sleep(2.5)  # the user reads the question: time passing is what this test is about
        s.line("y")
        s.wait_text("Deleted task 3: C")
        bar = s.wait_for(lambda shown: "saved · " in shown.splitlines()[-1], "the save in the status bar")
        waited_ms = (time.monotonic() - asked) * 1000
        shown_ms = float(re.search(r"saved · ([0-9.]+) ms", bar.splitlines()[-1]).group(1))  # type: ignore[union-attr]
        assert waited_ms > 2500 and shown_ms < 1000, (shown_ms, waited_ms)
        assert tasks(data_dir) == {}


class TestCompletion:
    def test_edit_tag_minus_offers_only_that_tasks_tags(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """`edit 1 --tag -` Tab offers the tags task 1 has, not every tag in the store."""
        assert taskvault(data_dir, "add", "Buy milk", "--tag", "home", "--tag", "errand").returncode == 0
        assert taskvault(data_dir, "add", "Call mum", "--tag", "family").returncode == 0
        assert taskvault(data_dir, "add", "Report", "--tag", "work").returncode == 0
        s = session()
        s.type("edit 1 --tag -")
        s.tmux("send-keys", "-t", "0", "Tab")
        shown = s.wait_for(lambda screen: "-errand" in screen and "-home" in screen, "task 1's tags in the menu")
        assert "family" not in shown and "work" not in shown, shown
        s.tmux("send-keys", "-t", "0", "Tab", "Enter")  # the first entry, then run the line
        s.wait_text("Updated task 1: Buy milk")
        assert json.loads(taskvault(data_dir, "--json", "show", "1").stdout)["tags"] == ["home"]


class TestSessionWords:
    def test_hints_name_commands_as_typed_in_the_session(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """Inside the session a hint says `list --all`; one-shot, the same error still says `taskvault list --all`."""
        s = session()
        s.line("show 9")
        shown = s.wait_text("error: no task with id 9")
        assert "(run 'list --all' to see the ids in use)" in shown and "taskvault list" not in shown, shown
        s.line("frob")
        assert "(run 'help' to see the commands)" in s.wait_text("unknown command 'frob'")
        s.line("undo")
        assert "('history' shows the changes kept)" in s.wait_text("nothing to undo")
        s.line("help done")
        assert "usage: done ID" in s.wait_text("usage: done")
        one_shot = taskvault(data_dir, "show", "9")
        assert "(run 'taskvault list --all' to see the ids in use)" in one_shot.stderr

    def test_a_leading_taskvault_word_is_the_programs_name(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """`taskvault add …` in the session runs `add …`; an option of the program itself is refused, not applied."""
        s = session()
        s.line("taskvault add Typed out of habit")
        s.wait_text("Added task 1: Typed out of habit")
        s.line("taskvault list")
        s.wait_text("1 open task shown")
        s.line("taskvault --data-dir elsewhere add x")
        shown = s.wait_text("is set when taskvault starts")
        assert "error: --data-dir is set when taskvault starts, not inside a session" in shown.replace("\n", "")
        assert tasks(data_dir) == {1: ("Typed out of habit", "open")}
        assert not (data_dir.parent / "elsewhere").exists() and not (data_dir / "elsewhere").exists()
        s.line("add taskvault rocks")  # only a first word is the program's name, never a title's
        s.wait_text("Added task 2: taskvault rocks")

    def test_clear_clears_the_screen(self, session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        s = session()
        s.line("show 9")
        s.wait_text("no task with id 9")
        s.line("clear")
        def cleared(screen: str) -> bool:  # the bottom bar still shows the last error, as it should
            above_the_bar = "\n".join(screen.rstrip("\n").splitlines()[:-1])
            return above_the_bar.startswith("taskvault>") and "no task with id 9" not in above_the_bar
        s.wait_for(cleared, "a cleared screen with the prompt at the top")
        s.line("add after clear")
        s.wait_text("Added task 1: after clear")
