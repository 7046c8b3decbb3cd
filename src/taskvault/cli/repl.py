"""The interactive session: a prompt_toolkit prompt in front of the same Runner as scripts use.

Imported only when taskvault runs on a terminal with no command, so other modes never pay for
prompt_toolkit. The store is loaded in a background thread while the prompt is drawn; the first
command waits for it.
"""

from __future__ import annotations

import contextvars
import errno
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from .. import __version__
from ..commands import change_text
from ..domain.tasklist import TaskList
from ..errors import OutputFailed, StorageError, TaskvaultError, commands_typed_bare, describe_ids
from ..service import CaughtUp, open_private_file
from . import ask
from .columns import fold, table_width
from .completion import TaskCompleter
from .crash import EXIT_INTERNAL, report_crash
from .keys import session_key_bindings
from .passphrase import Deferral, defer_terminal
from .prompt_session import FittedPromptSession
from .render import Style
from .runner import EXIT_INTERRUPTED, EXIT_SAVED_UNREPORTED, say
from .text import terminal_safe

PROMPT = "taskvault> "


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: leave the session once no change is in flight."""


def history_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("taskvault", appauthor=False)) / "history"


def open_history(path: Path) -> tuple[History, str | None]:
    """The persistent command history (0600 in a 0700 directory), or an in-memory one and why.

    FileHistory opens the file by name each time; that is safe once the file is a regular file
    (never a link, never a named pipe that would hang the prompt) in a directory no one else can
    write to, which is what is checked here.
    """
    try:
        os.close(open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, what="state directory"))
        return FileHistory(str(path)), None
    except StorageError as exc:
        return InMemoryHistory(), f"history will not be kept: {exc.message} ({exc.hint})"
    except OSError as exc:
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        return InMemoryHistory(), f"history will not be kept: cannot write {path}: {reason}"


class PlainStoreHistory(History):
    """The command history of a session: in memory, and in ``file`` only once the store is known to be plain.

    What is typed at an encrypted store's prompt (titles, notes, tags) is what its encryption hides, so it
    never reaches the history file. ``plain`` says True for a plain store, False for an encrypted one, None
    while that is not known (the store not yet loaded): lines typed meanwhile wait here until it is.
    """

    def __init__(self, file: History, plain: Callable[[], bool | None]) -> None:
        super().__init__()
        self._file = file
        self._plain = plain
        self._waiting: list[str] = []

    def load_history_strings(self) -> Iterable[str]:
        return self._file.load_history_strings()

    def store_string(self, string: str) -> None:
        self._waiting.append(string)
        self.flush()

    def flush(self) -> None:
        """Write the lines waiting, if the store is known to be plain; forget them if it is known to be encrypted."""
        plain = self._plain()
        if plain is None:
            return
        waiting, self._waiting = self._waiting, []
        for string in waiting if plain else ():
            self._file.store_string(string)


class _Unlock(Exception):
    """The background load needs the store's passphrase: the prompt is left for it to be asked in the foreground."""


def describe(caught: CaughtUp) -> str:
    """'2 changes from another session: added 7, done 3' — what another session changed."""
    return change_text.from_other_sessions(caught.behind, caught.changes)


def shorten(path: Path, width: int = 40) -> str:
    home = str(Path.home())
    text = str(path)
    if text == home or text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    return text if len(text) <= width else "…" + text[-(width - 1):]


class Repl:
    """One interactive session. ``runner`` is the same Runner scripts use."""

    def __init__(self, runner: Any, store_path: Path, *, history: History, style: Style,
                 input: Input | None = None, output: Output | None = None, out: TextIO | None = None) -> None:
        self.runner = runner
        self.service = runner.service
        self.style = style
        self.out = out or sys.stdout
        self.store_path = store_path
        self.history = history
        self.store_label = shorten(store_path)
        self.status: tuple[str, str] = ("", "")  # (text, "ok" | "error")
        #: The toolbar's sync words and the revision they were worked out at (-1: not yet).
        self._sync_seen: tuple[int, str] = (-1, "")
        #: The session's exit code: 0, or the code of the failure that ended it (output that cannot be written).
        self.exit_code = 0
        self._loaded = threading.Event()
        self._in_command = False
        #: When the running command's work began: its start, or the answer to the question it asked.
        self._timed_from = time.perf_counter()
        #: Whether the background load wanted to ask for a passphrase (it may not, under the prompt).
        self._deferral = Deferral()
        self._unlock_wanted = threading.Event()
        if isinstance(history, FileHistory):
            history = self.history = PlainStoreHistory(history, self._store_is_plain)
        self.session: PromptSession[str] = FittedPromptSession(
            PROMPT, completer=TaskCompleter(self._tasks_if_loaded), complete_while_typing=False,
            history=history, auto_suggest=AutoSuggestFromHistory(), bottom_toolbar=self.toolbar,
            input=input, output=output, color_depth=None if style.enabled else _monochrome(),
            key_bindings=session_key_bindings(), prompt_continuation=_continuation,
        )
        runner.make_interactive(self.confirm, self._announce)

    # -- the store, loaded behind the prompt ----------------------------------------------

    def _load(self) -> None:
        try:
            self.service.tasks  # noqa: B018 (loads and caches the task list)
            self.runner.settle_heap()
        except Exception:  # noqa: BLE001, S110 (nothing is cached: the first command meets it again and reports it)
            pass
        finally:
            self._loaded.set()
            if self._deferral.wanted:
                self._unlock_wanted.set()  # (before looking at the prompt: see _leave_to_unlock)
            app = self.session.app
            loop = app.loop
            if loop is not None:
                try:  # redraw the toolbar: "loading…" becomes the counts; or leave the prompt to unlock the store
                    loop.call_soon_threadsafe(self._leave_to_unlock if self._deferral.wanted else app.invalidate)
                except RuntimeError:  # (the prompt ended meanwhile: the loop asks before the next one)
                    pass

    def _store_is_plain(self) -> bool | None:
        """Whether a typed line may go to the history file: the store is loaded and plain, and its snapshot on
        disk is still plain (another process may have encrypted it since: then the line stays in memory)."""
        if not self.service.loaded:
            return None
        return not self.service.encrypted and self.service.key_identity()[1] is None

    def _leave_to_unlock(self) -> None:
        """In the prompt's loop: leave it if the passphrase is wanted (also its pre_run, for a prompt started after)."""
        app = self.session.app
        if self._unlock_wanted.is_set() and app.future is not None and not app.future.done():
            app.exit(exception=_Unlock())

    def _unlock(self) -> None:
        """Open the encrypted store in the foreground, where its passphrase can be asked (cli/passphrase.py)."""
        self._unlock_wanted.clear()
        try:
            self.service.tasks  # noqa: B018 (loads and caches the task list)
            self.runner.settle_heap()
        except KeyboardInterrupt:
            self._print(self.style("interrupted: the store is not open; the next command asks again", "warning"))
        except TaskvaultError as error:
            self.runner.report(error)
            self.status = (error.message, "error")

    def _tasks_if_loaded(self) -> TaskList | None:
        if not self._loaded.is_set():
            return None
        tasks: TaskList | None = self.service._tasks  # peek without loading or raising
        return tasks

    def toolbar(self) -> FormattedText:
        tasks = self._tasks_if_loaded()
        if not self._loaded.is_set():
            counts = "loading…"
        elif tasks is None:
            counts = "store not loaded"
        else:
            open_count, done_count = tasks.counts()
            counts = f"{open_count} open · {done_count} done"
        text, kind = self.status
        parts: list[tuple[str, str]] = [("", f" {counts}")]
        sync = self._sync_state(tasks)
        if sync:
            parts.append(("fg:ansimagenta bold" if "conflict" in sync and self.style.enabled else "", f" · {sync}"))
        preferences = getattr(self.runner, "preferences", None)
        if preferences is not None and preferences.context is not None:  # what list and next are narrowed to
            parts.append(("", f" · context {terminal_safe(preferences.context)}"))
        if text:
            parts.append(("", " · "))
            parts.append(("fg:ansired bold" if kind == "error" and self.style.enabled else "", terminal_safe(text)))
        parts.append(("", f" · {terminal_safe(self.store_label)}"))  # last: the first to be cut on a narrow terminal
        return FormattedText(parts)

    def _sync_state(self, tasks: TaskList | None) -> str:
        """'3 unsynced · 1 conflict' once the store has synced ("" before): worked out from memory alone (no git,
        no file) when the revision changes, not at every key the toolbar is drawn for."""
        if tasks is None or tasks.replica is None:
            return ""
        if self._sync_seen[0] != tasks.revision:
            counts = self.service.sync_counts()
            unsynced, conflicts = counts if counts is not None else (0, 0)
            words = [f"{unsynced} unsynced" if unsynced else "synced"]
            if conflicts:
                words.append(f"{conflicts} conflict{'' if conflicts == 1 else 's'}")
            self._sync_seen = (tasks.revision, " · ".join(words))
        return self._sync_seen[1]

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        with commands_typed_bare():  # hints name commands as they are typed here: 'list --all'
            return self._run()

    def _run(self) -> int:
        load = contextvars.copy_context()  # what the store says while loading is said as in the session
        load.run(defer_terminal, self._deferral)  # (a passphrase is asked in the foreground: _unlock)
        threading.Thread(target=load.run, args=(self._load,), name="taskvault-load", daemon=True).start()
        self._print(fold(f"taskvault {__version__} · 'help' lists the commands · 'quit' or Ctrl-D leaves",
                         table_width(self.out, os.environ)))
        with self._signals():
            while True:
                try:
                    if self._unlock_wanted.is_set():
                        self._unlock()
                    text = self.session.prompt(pre_run=self._leave_to_unlock)
                except (KeyboardInterrupt, _Unlock):
                    continue  # Ctrl-C drops the line being typed
                except (EOFError, Terminated):
                    break
                if not self.run_input(text):
                    break
        if isinstance(self.history, PlainStoreHistory):
            self.history.flush()
        return self.exit_code

    def run_input(self, text: str) -> bool:
        """Run what was entered; return False when the session must end.

        A paste of several lines runs each line as its own command, in order, and stops at the first
        that fails, saying which line it was and which were not run: lines are never joined. Blank
        lines and ``#`` comments are skipped, as in a script.
        """
        lines = text.split("\n")
        commands = [(number, line.strip()) for number, line in enumerate(lines, 1)
                    if line.strip() and not line.strip().startswith("#")]
        for index, (number, line) in enumerate(commands):
            later = [n for n, _ in commands[index + 1:]]
            if line in ("quit", "exit"):
                if later:
                    self._print(self.style(_not_run(later), "warning"))
                return False
            if line == "clear":
                self._clear_screen()
                continue
            paste = (number, later) if len(lines) > 1 else None
            code = self.execute(line, paste)
            if code is None:
                return False
            if code:
                if later and self.runner.last_error is None:  # an interrupt or a bug: its own line said what
                    self._print(self.style(_not_run(later), "warning"))
                return True
        return True

    def execute(self, text: str, paste: tuple[int, list[int]] | None = None) -> int | None:
        """Run one line; return its exit code, or None when the session must end (SIGTERM/SIGHUP, a
        terminal gone). ``paste`` is the line's number in a paste and the numbers of the lines after it."""
        self._loaded.wait()
        self.runner.width = table_width(self.out, os.environ)  # the terminal's width now: it may have changed
        self.runner.last_error = None
        saves = self.service.saves
        self._timed_from = time.perf_counter()
        self._in_command = True
        if paste is not None:
            number, later = paste
            self.runner.frame = (f"line {number} of the paste failed: ", f"; {_not_run(later, '')}" if later else "")
        try:
            code: int = self.runner.run_line(text, None, in_session=True)
        except KeyboardInterrupt:
            self._print(self.style("interrupted: " + (self.runner.saved_clause() or "nothing was changed"), "warning"))
            return EXIT_INTERRUPTED
        except Terminated:  # the session ends; a change saved before the signal is still told of
            saved = self.runner.saved_clause()
            if saved:
                self.exit_code = EXIT_SAVED_UNREPORTED
                say(self.runner.err, terminal_safe(f"taskvault: terminated; {saved}"))
            return None
        except OutputFailed as failure:  # the terminal cannot be written to: nobody is there to go on with
            self.exit_code = self.runner.output_failed(failure)
            return None
        except Exception as exc:  # noqa: BLE001 (a bug: one line, the traceback in the log, the session goes on)
            self._print(self.style(report_crash(exc, self.runner.saved_clause(), private=self.runner.private), "error"))
            self.status = ("internal error", "error")
            return EXIT_INTERNAL
        finally:
            self._in_command = False
            self.runner.frame = ("", "")
            self.runner.begin(None)  # what the command saved has been told: nothing is pending now
        elapsed = (time.perf_counter() - self._timed_from) * 1000
        if code:
            error = self.runner.last_error
            # The toolbar is one line: name the store's files without the directory shown beside them.
            message = error.message.replace(str(self.store_path) + os.sep, "") if error else "error"
            self.status = (f"line {paste[0]} of the paste: {message}" if paste else message, "error")
        elif self.service.saves != saves:
            self.status = (f"saved · {elapsed:.1f} ms", "ok")
        return code

    def _clear_screen(self) -> None:
        output = self.session.output
        output.erase_screen()
        output.cursor_goto(0, 0)
        output.flush()

    def _announce(self, caught: CaughtUp) -> None:
        self._print(self.style(describe(caught), "cyan"))

    def confirm(self, question: str) -> bool:
        """Ask on the session's terminal (the rule and the answers are cli/ask.py's, as in one-shot mode)."""
        try:
            return ask.prompt_asker(self.session.input, self.session.output)(question)
        finally:
            self._timed_from = time.perf_counter()  # the status bar times the work, not the user's answer

    def _print(self, text: str) -> None:
        try:
            self.out.write(terminal_safe(text, lines=True) + "\n")
            self.out.flush()
        except OSError as exc:
            raise OutputFailed(exc) from None

    # -- signals --------------------------------------------------------------------------

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM and SIGHUP end the session cleanly: at the prompt at once, in a command after it.

        A change in flight is protected by the service (the signal is held back until the change
        is both durable and applied), so raising here never splits one.
        """
        def handler(signum: int, _frame: object) -> None:
            app = self.session.app
            if app.is_running and not self._in_command and app.loop is not None:
                app.loop.call_soon_threadsafe(lambda: app.exit(exception=Terminated()) if app.is_running else None)
            else:
                raise Terminated()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _not_run(numbers: list[int], whose: str = " of the paste") -> str:
    """'lines 3, 4 of the paste were not run'."""
    if len(numbers) == 1:
        return f"line {numbers[0]}{whose} was not run"
    return f"lines {describe_ids(numbers)}{whose} were not run"


def _continuation(width: int, line_number: int, wrap_count: int) -> str:
    """Before each further line of a paste, its number (as an error about it names it); nothing before a wrap."""
    return f"{line_number + 1}> ".rjust(width) if wrap_count == 0 else ""


def _monochrome() -> Any:
    from prompt_toolkit.output.color_depth import ColorDepth

    return ColorDepth.MONOCHROME

