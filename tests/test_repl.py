"""The interactive session, in two tiers: prompt_toolkit with pipe input, and a real terminal (pexpect).

Command logic itself is the Runner's, tested without a terminal everywhere else.
"""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from taskvault.cli import repl
from taskvault.cli.completion import TaskCompleter
from taskvault.cli.main import Runner
from taskvault.cli.render import Style
from taskvault.service import TaskService
from taskvault.store.journal_store import JournalStore

from .conftest import FaultyOs, run_taskvault, store_digest

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

# -- tier 2: prompt_toolkit with pipe input and DummyOutput ---------------------------------


def _session(directory: Path, keys: str) -> tuple[int, str, str, repl.Repl]:
    """Run a whole session on ``keys`` (it must end with Ctrl-D) and return its code and output."""
    out, err = io.StringIO(), io.StringIO()
    service = TaskService(JournalStore(directory))
    runner = Runner(service, as_json=False, style=Style(False), out=out, err=err, width=None)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        session = repl.Repl(runner, directory, history=InMemoryHistory(), style=Style(False), input=pipe,
                            output=DummyOutput(), out=out)
        code = session.run()
    service.close()
    return code, out.getvalue(), err.getvalue(), session


class TestSessionLogic:
    def test_commands_run_and_ctrl_d_leaves_with_0(self, data_dir: Path) -> None:
        code, out, err, _ = _session(data_dir, "add Buy milk\rdone 1\rlist --all\r\x04")
        assert code == 0 and err == ""
        assert "Added task 1: Buy milk" in out and "Completed task 1: Buy milk" in out
        assert run_taskvault(data_dir, "list", "--done").out.count("Buy milk") == 1

    @pytest.mark.parametrize("leave", ["quit\r", "exit\r", "\x04"])
    def test_every_way_out_exits_0(self, data_dir: Path, leave: str) -> None:
        assert _session(data_dir, "add A\r" + leave + "add never\r\x04")[0] == 0
        assert "never" not in run_taskvault(data_dir, "list").out

    def test_ctrl_c_drops_the_line(self, data_dir: Path) -> None:
        _, out, _, _ = _session(data_dir, "add Half typed\x03add Whole\r\x04")
        assert "Added task 1: Whole" in out and "Half" not in run_taskvault(data_dir, "list").out

    def test_errors_are_shown_and_the_session_goes_on(self, data_dir: Path) -> None:
        code, out, err, session = _session(data_dir, "show 9\rfrob\radd After\r\x04")
        assert code == 0 and "no task with id 9" in err and "unknown command 'frob'" in err
        assert "Added task 1: After" in out and session.status[1] == "ok"

    def test_a_failed_save_is_shown_memory_kept_and_the_next_save_works(self, data_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        assert run_taskvault(data_dir, "add", "Before").code == 0
        before = store_digest(data_dir)
        faulty = FaultyOs("fsync", errno.ENOSPC, fail_at=1, times=1)
        monkeypatch.setattr("taskvault.store.files.os", faulty)
        code, out, err, session = _session(data_dir, "add Lost\rlist\radd Kept\r\x04")
        assert code == 0 and "could not save" in err and "nothing was changed" in err
        assert "Lost" not in out and "Added task 2: Kept" in out  # id 2: the failed add used up nothing
        assert session.status[1] == "ok" and session.status[0].startswith("saved · ")
        monkeypatch.undo()
        assert store_digest(data_dir) != before and "Lost" not in run_taskvault(data_dir, "list").out

    def test_the_toolbar_shows_counts_and_the_last_save_or_error(self, data_dir: Path) -> None:
        *_, session = _session(data_dir, "add A\radd B\rdone 1\r\x04")
        text = "".join(fragment for _, fragment in session.toolbar())
        assert "1 open · 1 done" in text and re.search(r"saved · \d+\.\d ms", text)
        assert _session(data_dir, "list\r\x04")[3].status == ("", "")  # a read saves nothing
        *_, failed = _session(data_dir, "show 9\r\x04")
        assert failed.status == ("no task with id 9", "error")
        assert "no task with id 9" in "".join(fragment for _, fragment in failed.toolbar())

    def test_bulk_delete_asks_first(self, data_dir: Path) -> None:
        run_taskvault(data_dir, stdin="add A\nadd B\nadd C\n")
        _, out, _, _ = _session(data_dir, "delete 1 2\rn\rdelete 3\r\x04")
        assert "Nothing deleted." in out and "Deleted task 3: C" in out
        _, out, _, _ = _session(data_dir, "delete 1-2\ry\r\x04")
        assert "Deleted task 1: A" in out and "Deleted task 2: B" in out
        run_taskvault(data_dir, stdin="add D\nadd E\n")
        _, out, _, _ = _session(data_dir, "delete 4 5 --yes\r\x04")
        assert "Deleted task 5: E" in out

    def test_an_unexpected_exception_is_reported_and_the_session_goes_on(
            self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        from taskvault.cli import runner

        real = runner.run_tokens

        def broken_show(ctx, tokens):  # type: ignore[no-untyped-def]
            if tokens[0] == "show":
                raise ZeroDivisionError("a bug")
            return real(ctx, tokens)
        monkeypatch.setattr(runner, "run_tokens", broken_show)
        _, out, _, _ = _session(data_dir, "show 1\radd After\r\x04")
        assert "internal error (ZeroDivisionError: a bug)" in out and "Added task 1: After" in out
        assert "ZeroDivisionError" in (tmp_path / "state" / "taskvault" / "crash.log").read_text()

    def test_a_bug_after_a_save_says_the_change_was_saved(
            self, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A crash while the acknowledgement is built: the line names the saved revision; the session goes on."""
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        from taskvault.cli import render

        real = render.TextRenderer.render

        def broken(self, result):  # type: ignore[no-untyped-def]
            if isinstance(result, render.TaskSaved) and result.task.title == "Kept":
                raise ZeroDivisionError("a bug")
            return real(self, result)
        monkeypatch.setattr(render.TextRenderer, "render", broken)
        _, out, _, _ = _session(data_dir, "add Kept\radd After\r\x04")
        assert "internal error (ZeroDivisionError: a bug)" in out and "nothing unconfirmed" not in out
        assert "your change was saved (revision 1: add task 1)" in out and "Added task 2: After" in out
        assert run_taskvault(data_dir, "list").out.count("Kept") == 1

    def test_sigterm_after_a_save_says_the_change_was_saved(self, data_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        """SIGTERM while the acknowledgement is built ends the session with 4 and a line saying what was saved."""
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        from taskvault.cli import render

        def terminated(self, result):  # type: ignore[no-untyped-def]
            raise repl.Terminated()
        monkeypatch.setattr(render.TextRenderer, "render", terminated)
        code, _, err, _ = _session(data_dir, "add Kept\radd Never\r\x04")
        assert code == 4 and err == ("taskvault: terminated; your change was saved (revision 1: add task 1); "
                                     "do not run it again\n")
        monkeypatch.undo()
        assert run_taskvault(data_dir, "list").out.count("Kept") == 1 and "Never" not in run_taskvault(data_dir, "list").out

    def test_a_terminal_that_cannot_be_written_ends_the_session(self, data_dir: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
        """EIO on the terminal after a save: the session ends with exit 4 and says the change was saved."""
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        class Gone(io.StringIO):
            def write(self, text: str) -> int:
                if "Added" in text:
                    raise OSError(errno.EIO, "Input/output error")
                return super().write(text)
        out, err = Gone(), io.StringIO()
        service = TaskService(JournalStore(data_dir))
        runner = Runner(service, as_json=False, style=Style(False), out=out, err=err, width=None)
        with create_pipe_input() as pipe:
            pipe.send_text("add Kept\radd Never\r\x04")
            session = repl.Repl(runner, data_dir, history=InMemoryHistory(), style=Style(False), input=pipe,
                                output=DummyOutput(), out=out)
            code = session.run()
        service.close()
        assert code == 4 and "was saved" in err.getvalue() and "Input/output error" in err.getvalue()
        assert "Never" not in run_taskvault(data_dir, "list").out


class TestAnnouncements:
    def test_changes_from_another_session_are_described(self, data_dir: Path) -> None:
        from taskvault.domain.change import Change, ChangeKind
        from taskvault.store.journal_store import CaughtUp

        run_taskvault(data_dir, stdin="add A\nadd B\n")
        tasks = TaskService(JournalStore(data_dir)).tasks
        changes = (Change(ChangeKind.ADD, put=(tasks.get(1),), next_id=3),
                   Change(ChangeKind.DONE, put=(tasks.get(2),), next_id=3), Change(ChangeKind.DELETE, delete=(1,), next_id=3))
        assert repl.describe(CaughtUp(tasks, changes, 3)) == "3 changes from another session: added 1, done 2, deleted 1"
        assert repl.describe(CaughtUp(tasks, (), 1)) == "1 change from another session (store reloaded)"


class TestCompletion:
    @pytest.fixture
    def completer(self, data_dir: Path) -> TaskCompleter:
        run_taskvault(data_dir, stdin="add Buy milk --tag home\nadd Call mum --tag family\nadd Old\ndone 3\n")
        tasks = TaskService(JournalStore(data_dir)).tasks
        return TaskCompleter(lambda: tasks)

    @staticmethod
    def _complete(completer: TaskCompleter, text: str) -> list[tuple[str, str]]:
        found = completer.get_completions(Document(text), CompleteEvent(completion_requested=True))
        return [(c.text, c.display_meta_text) for c in found]

    def test_commands(self, completer: TaskCompleter) -> None:
        assert [t for t, _ in self._complete(completer, "d")] == ["done", "delete", "denotate", "decrypt", "doctor"]
        assert ("quit", "leave the session") in self._complete(completer, "")

    def test_ids_show_titles_and_fit_the_command(self, completer: TaskCompleter) -> None:
        assert self._complete(completer, "done ") == [("1", "Buy milk"), ("2", "Call mum")]
        assert self._complete(completer, "reopen ") == [("3", "Old")]
        assert [t for t, _ in self._complete(completer, "delete 1 ")] == ["2", "3"]
        assert self._complete(completer, "show 2") == [("2", "Call mum")]

    def test_options_and_their_values(self, completer: TaskCompleter) -> None:
        assert [t for t, _ in self._complete(completer, "list --d")] == ["--done", "--due-before"]
        assert [t for t, _ in self._complete(completer, "add x --priority ")] == ["low", "medium", "high", "none"]
        assert [t for t, _ in self._complete(completer, "list --tag ")] == ["family", "home"]
        assert [t for t, _ in self._complete(completer, "edit 1 --tag -h")] == ["-home"]
        assert [t for t, _ in self._complete(completer, "edit 2 --tag -")] == ["-family"]  # only task 2's tags
        assert [t for t, _ in self._complete(completer, "edit 3 --tag -")] == []
        assert [t for t, _ in self._complete(completer, "edit 2 --tag +")] == ["+family", "+home"]
        assert "tomorrow" in [t for t, _ in self._complete(completer, "add x --due t")]
        assert [t for t, _ in self._complete(completer, "help ed")] == ["edit"]

    def test_nothing_for_unknown_commands_or_while_loading(self) -> None:
        loading = TaskCompleter(lambda: None)
        assert self._complete(loading, "frob ") == [] and self._complete(loading, "done ") == []


# -- tier 3: a real terminal ----------------------------------------------------------------

CPR_REQUEST = "\x1b[6n"


class Terminal:
    """taskvault in a pseudo-terminal, answering prompt_toolkit's cursor-position requests."""

    def __init__(self, data_dir: Path, state: Path, *, program: list[str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKVAULT_", "NO_COLOR"))}
        env.update(TERM="xterm", TASKVAULT_DATA_DIR=str(data_dir), XDG_STATE_HOME=str(state), LC_ALL="C.UTF-8",
                   TASKVAULT_RESIDENT="off")
        command = program or [sys.executable, "-m", "taskvault"]
        self.child = pexpect.spawn(command[0], command[1:], env=env, dimensions=(24, 100), encoding="utf-8",
                                   timeout=10)
        self.seen = ""

    def expect(self, text: str) -> None:
        """Wait until ``text`` appears in the output (escape sequences removed)."""
        while True:
            index = self.child.expect([re.escape(CPR_REQUEST), r"[\s\S]"])
            if index == 0:
                self.child.send("\x1b[1;1R")
                continue
            self.seen += self.child.after
            # A redraw moves over unchanged cells with cursor-forward: read that as a space.
            plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r", "", self.seen.replace("\x1b[C", " "))
            if text in plain:
                self.seen = ""
                return

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def close(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -(self.child.signalstatus or 0)


@pytest.fixture
def terminal(data_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    opened: list[Terminal] = []

    def open_terminal(**kwargs: object) -> Terminal:
        opened.append(Terminal(data_dir, tmp_path / "state", **kwargs))  # type: ignore[arg-type]
        return opened[-1]
    yield open_terminal
    for t in opened:
        if t.child.isalive():
            t.child.terminate(force=True)


class TestRealTerminal:
    def test_add_list_done_and_ctrl_d(self, terminal) -> None:  # type: ignore[no-untyped-def]
        t = terminal()
        t.expect("taskvault>")
        t.line('add "Buy milk" --tag home')
        t.expect("Added task 1: Buy milk")
        t.line("done 1")
        t.expect("Completed task 1: Buy milk")
        t.line("list --all")
        t.expect("1 task shown (0 open, 1 done in all)")
        t.expect("0 open · 1 done")  # the bottom toolbar
        t.child.send("\x04")
        assert t.close() == 0

    def test_ctrl_c_then_tab_completion_of_a_command_and_an_id(self, terminal, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        run_taskvault(data_dir, stdin="add Buy milk\nadd Call mum\n")
        t = terminal()
        t.expect("taskvault>")
        t.child.send("add never")
        t.child.send("\x03")
        t.expect("taskvault>")
        t.child.send("don\t")
        t.expect("done")
        t.child.send(" \t")
        t.expect("Call mum")  # the menu shows each id's title
        t.child.send("2\r")
        t.expect("Completed task 2: Call mum")
        t.line("quit")
        assert t.close() == 0
        assert "never" not in run_taskvault(data_dir, "list", "--all").out

    def test_a_change_from_a_second_process_is_announced(self, terminal, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        t = terminal()
        t.expect("taskvault>")
        t.line("add Mine")
        t.expect("Added task 1: Mine")
        assert run_taskvault(data_dir, "add", "Theirs").code == 0
        assert run_taskvault(data_dir, "done", "1").code == 0
        t.line("list")
        t.expect("2 changes from another session: added 2, done 1")
        t.expect("1 open task shown (1 open, 1 done in all)")
        t.line("exit")
        assert t.close() == 0

    def test_a_failed_save_is_shown_and_survived(self, terminal, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """fiu-run fails the first fsync (ENOSPC) below Python; the session reports it and goes on."""
        if not _have("fiu-run"):
            pytest.skip("needs fiu-run (apt-get install fiu-utils)")
        run_taskvault(data_dir, "add", "Before")
        before = store_digest(data_dir)
        t = terminal(program=["fiu-run", "-x", "-c", "enable name=posix/io/sync/fsync,failinfo=28,onetime",
                              sys.executable, "-m", "taskvault"])
        t.expect("taskvault>")
        t.line("add Lost")
        t.expect("nothing was changed")
        t.expect("No space left on device")  # also in the toolbar, until the next save
        assert store_digest(data_dir) == before
        t.line("add Kept")
        t.expect("Added task 2: Kept")
        t.expect("saved · ")
        t.line("quit")
        assert t.close() == 0

    def test_restart_shows_the_tasks_and_history_is_kept(self, terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        t = terminal()
        t.expect("taskvault>")
        t.line("add Survives a restart")
        t.expect("Added task 1")
        t.line("quit")
        assert t.close() == 0
        history = tmp_path / "state" / "taskvault" / "history"
        assert "add Survives a restart" in history.read_text() and history.stat().st_mode & 0o777 == 0o600
        again = terminal()
        again.expect("taskvault>")
        again.line("list")
        again.expect("Survives a restart")
        again.child.send("\x1b[A")  # up arrow: the previous session's history
        again.expect("list")
        again.child.send("\x15quit\r")
        assert again.close() == 0

    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
    def test_sigterm_and_sighup_leave_cleanly(self, terminal, data_dir: Path, tmp_path: Path, sig: int) -> None:  # type: ignore[no-untyped-def]
        t = terminal()
        t.expect("taskvault>")
        t.line("add Before the signal")
        t.expect("Added task 1")
        t.expect("taskvault>")
        t.child.kill(sig)
        assert t.close() == 0
        assert "add Before the signal" in (tmp_path / "state" / "taskvault" / "history").read_text()
        assert run_taskvault(data_dir, "add", "After").code == 0  # the lock was released


def _have(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None
