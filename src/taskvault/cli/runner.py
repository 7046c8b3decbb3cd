"""Running command lines, one at a time, and reporting each outcome honestly.

The Runner is shared by every mode (one command, a script, the interactive session). It writes a
result as soon as it is durable, and knows whether the running command has saved its change, so
that no failure after a save is ever reported as if nothing had been saved.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from ..commands import change_text
from ..commands.catalog import COMMANDS
from ..commands.context import Context, Preferences
from ..commands.dispatch import run_tokens, split_line
from ..errors import OutputFailed, SyncFailed, TaskvaultError, UsageError, shown
from ..exits import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OUTPUT_FAILED, EXIT_SAVED_UNREPORTED
from .render_text import TextRenderer, error_text
from .text import ascii_json, say, terminal_safe

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from ..service import CaughtUp, TaskService
    from .pager import Paging
    from .progress import Progress
    from .style import Style
    from .user_files import UserFiles

# Imported where they are used, not here: a one-shot command pays for neither the JSON renderer
# (--json), the crash report (a bug), nor the script reader (--script, standard input, the session).

#: The program's name: in the session, a line may start with it out of habit.
PROGRAM = "taskvault"

# The exit codes other modes use are re-exported from here; their home is exits.py.
__all__ = ["EXIT_BROKEN_PIPE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OUTPUT_FAILED", "EXIT_SAVED_UNREPORTED",
           "PROGRAM", "Runner", "exit_code", "say"]


def exit_code(error: TaskvaultError) -> int:
    """The exit status a run ended by ``error`` has: its class says (errors.py)."""
    return error.exit_code


class Runner:
    """Runs command lines against one service and writes each result as soon as it is durable.

    It knows whether the command running now has saved its change (the service counts saves): a
    failure after that (an error, a bug, an interrupt, output that cannot be written) says what
    was saved, and exits 4, never "nothing was saved".
    """

    def __init__(self, service: TaskService, *, as_json: bool, style: Style, out: TextIO, err: TextIO,
                 width: int | None, in_session: bool = False, rows: int | None = None,
                 preferences: Preferences | None = None, files: UserFiles | None = None,
                 progress: Progress | None = None, pager: Paging | None = None) -> None:
        self.service = service
        #: Pages a command's result when it is longer than the terminal (None: never; cli/pager.py).
        self.pager = pager
        #: Whether the running command asked a question: its answer is never paged.
        self._asked = False
        #: The user's files import reads and export writes (None: a command may not, as in tests of one mode).
        self.files = files
        #: The status line long work shows on a terminal (None: nobody watches).
        self.progress = progress
        #: Task rows that fit the terminal, for limit:page (None when the output is no terminal).
        self.rows = rows
        self.preferences = preferences
        self.context = self._context(None)
        #: Told what other sessions changed, before the command that noticed it runs.
        self.on_caught_up: Callable[[CaughtUp], None] | None = None
        #: The error the last failing command reported, for the interactive session's status bar.
        self.last_error: TaskvaultError | None = None
        self.as_json = as_json
        self.style = style
        self.out, self.err = out, err
        self.width = width
        #: The script line running now (None outside scripts), for messages about its failure.
        self.line: int | None = None
        #: What an error line starts and ends with beside its own words: the session sets it while it
        #: runs one line of a paste ("line 2 of the paste failed: ", "; line 3 of the paste was not run").
        self.frame: tuple[str, str] = ("", "")
        self._command = ""
        self._saves_before = service.saves
        self._ascii_json = as_json and not _holds_unicode(out)
        self._migration_told = False
        self._heap_settled = False
        #: A session (the REPL, a script, the resident process) runs more commands after this one; a
        #: one-shot command run here does not.
        self._in_session = in_session

    # -- one command ------------------------------------------------------------------------

    def begin(self, line: int | None) -> None:
        """A command starts: from now on, a save is its save."""
        self.line = line
        self._saves_before = self.service.saves

    @property
    def saved_in_command(self) -> bool:
        """True once the running command has saved its change (and until its outcome is reported)."""
        return self.service.saves > self._saves_before

    def run(self, tokens: list[str], line: int | None = None) -> int:
        self.begin(line)
        self._command = tokens[0] if tokens else ""
        self._asked = False
        try:
            command = COMMANDS.find(tokens[0]) if tokens else None
            if command is None or command.loads_store:
                caught = self.service.refresh()  # another session may have changed the store since the last line
                if caught is not None and caught.behind and self.on_caught_up is not None:
                    self.on_caught_up(caught)
            try:
                result = run_tokens(self.context, tokens)
            finally:
                if self.progress is not None:
                    self.progress.clear()
            stream = getattr(result, "stream", None)
            text: str | None = None
            if stream is not None:  # an export's text: written as it comes, as it is (it is data, not a message)
                self.write_stream(stream)
            elif self.as_json:
                from .render_json import render_json

                text = render_json(result)
            else:
                date_format = self.preferences.date_format if self.preferences is not None else None
                text = TextRenderer(self.style, today=self.context.today, width=self.width,
                                    date_format=date_format).render(result)
        except OutputFailed:  # (telling of other sessions' changes): no error line can help, main ends the run
            raise
        except TaskvaultError as error:
            return self.report(error, line)
        if text is not None:  # (decided, and any change durable: only now may a pager show it)
            # (a printed line is an acknowledgement: it must not wait in a buffer, nor go through a pager)
            self.write(text, pageable=not getattr(result, "acknowledges", False))
        # Housekeeping (compaction, backups) only once the change is acknowledged; in a session, in the background.
        self._tidy()
        self.begin(line)
        self.settle_heap()
        self._note_migration()
        self._warn()
        return getattr(result, "exit_code", 0)

    def _tidy(self) -> None:
        """The housekeeping owed, after the acknowledgement. A one-shot command's compaction is watched on a
        terminal (it runs before the prompt comes back); a session's runs in the background, under the
        prompt, and shows nothing there: the prompt is the user's, and every change is saved already."""
        progress = self.progress
        if progress is None or self._in_session or not self.service.housekeeping_owed:
            self.service.tidy(background=self._in_session)
            return
        try:
            self.service.tidy(progress=progress.counting("compacting the store"))
        finally:
            progress.clear()

    def write(self, text: str, *, pageable: bool = False) -> None:
        """Put ``text`` on standard output now (through the pager, if ``pageable`` and it is long); OutputFailed
        if it cannot be written."""
        if not self.as_json:
            text = terminal_safe(text, lines=True)
        elif self._ascii_json:
            text = ascii_json(text)
        # Never a change's result (even one that changed nothing): it is the acknowledgement, and a pager might
        # not show it (PAGER=true); nor after a question, or once anything was saved.
        if pageable and self.pager is not None and not self._asked and not self.saved_in_command:
            paged = self.pager(text + "\n")
            if paged is True:
                return
            if paged:  # (it could not be started: the text is written directly, never lost)
                self.say(f"taskvault: warning: {paged}; the output follows without it", "yellow")
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except OSError as exc:
            raise OutputFailed(exc) from None

    def write_stream(self, pieces: Iterator[str]) -> None:
        """Put each of ``pieces`` on standard output as it comes; OutputFailed if it cannot be written."""
        out = self.out
        try:
            for piece in pieces:
                out.write(piece)
            out.flush()
        except OSError as exc:
            raise OutputFailed(exc) from None

    def say(self, text: str, *styles: str) -> None:
        """One line on standard error, with control and format characters shown escaped."""
        say(self.err, self.style(terminal_safe(text), *styles))

    def settle_heap(self) -> None:
        """Once the store is in memory, leave it out of the cyclic garbage collector's scans.

        The tasks live as long as the session, hold no cycles and are freed by reference
        counting; without this, every full collection walks them all again (at 100k tasks, a
        pause of a tenth of a second in the middle of some change).
        """
        if not self._heap_settled and self.service.loaded:
            self._heap_settled = True
            gc.freeze()

    def _context(self, confirm: Callable[[str], bool] | None) -> Context:
        files = self.files
        return Context(self.service, confirm, page_rows=self.rows, preferences=self.preferences,
                       read_file=files.read if files is not None else None,
                       replace_file=files.replace if files is not None else None,
                       progress=self.progress)

    def make_interactive(self, confirm: Callable[[str], bool],
                         on_caught_up: Callable[[CaughtUp], None] | None = None) -> None:
        """Someone is at the keyboard: commands may ask before they act (see cli/ask.py), and a
        session hears of other sessions' changes."""
        def asking(question: str) -> bool:
            self._asked = True
            return confirm(question)

        self.context = self._context(asking)
        self.on_caught_up = on_caught_up

    def run_line(self, text: str, line: int | None, *, in_session: bool = False) -> int:
        """Run one line. ``in_session``: a leading ``taskvault`` is the program's name typed out of
        habit, and is dropped (``taskvault list`` runs ``list``)."""
        from .script import checked_line

        self._in_session = self._in_session or in_session
        self.begin(line)
        try:
            tokens = split_line(checked_line(text))
            if in_session and tokens[:1] == [PROGRAM]:
                tokens = _without_program_name(tokens)
        except TaskvaultError as error:
            return self.report(error, line)
        return self.run(tokens, line)

    # -- outcomes other than success ---------------------------------------------------------

    def report(self, error: TaskvaultError, line: int | None = None) -> int:
        """Show an error: one line and its exit code, saying so when the change was saved before it."""
        self.last_error = error
        # A sync that failed after taking changes in kept them whole (one append each), and running it again is
        # what to do: its own message says so, and it ends as a failed sync does (exit 5), never "do not run again".
        saved = self.saved_clause() if self.saved_in_command and not isinstance(error, SyncFailed) else None
        code = EXIT_SAVED_UNREPORTED if saved else exit_code(error)
        if self.as_json:
            from .render_json import error_json

            self.write(error_json(error, code, line, after=saved))
        prefix = f"line {line}: " if line is not None else self.frame[0]
        self.say(prefix + error_text(error) + (f"; {saved}" if saved else "") + self.frame[1], "error")
        self.begin(line)
        return code

    def saved_clause(self) -> str | None:
        """What was saved before a failure, said so that nobody runs it again; None if nothing was."""
        if self.saved_in_command and self._command == "sync":  # (a sync is made to be run again: it goes on)
            return f"what it took in is kept ({self._saved_change()}); sync again to finish"
        if self.saved_in_command:
            whose = "your change" if self.line is None else f"line {self.line}'s change"
            return f"{whose} was saved ({self._saved_change()}); do not run it again"
        count = self.service.saves
        if self.line is not None and count:
            changes = "1 change saved by earlier lines is" if count == 1 else f"{count} changes saved by earlier lines are"
            return f"line {self.line} saved nothing; the {changes} kept"
        return None

    def _saved_change(self) -> str:
        """'revision 12: add task 7', the change the running command saved."""
        try:
            tasks = self.service.tasks
            step = tasks.history.newest()
            if step is None or step.revision != tasks.revision or step.kind != self._command:
                return f"revision {tasks.revision}"
            return change_text.saved_step(step)
        except Exception:  # noqa: BLE001 (the report of a failure must not fail in turn)
            return "revision unknown"

    @property
    def private(self) -> bool:
        """True when what the program holds must not reach a log in plain: the store is encrypted."""
        try:
            return self.service.encrypted
        except Exception:  # noqa: BLE001 (the report of a failure must not fail in turn)
            return True

    def crashed(self, exc: BaseException) -> int:
        """A bug: one line naming the crash log and what was saved before it."""
        from .crash import report_crash

        say(self.err, terminal_safe(report_crash(exc, self.saved_clause(), self.line, private=self.private)))
        return EXIT_SAVED_UNREPORTED if self.saved_in_command else EXIT_INTERNAL

    def output_failed(self, failure: OutputFailed) -> int:
        """Standard output failed: exit 4 if the change was saved, else 74 (141, silently, for | head)."""
        at = "taskvault: " + (f"line {self.line}: " if self.line is not None else "")
        saved = self.saved_clause()
        if self.saved_in_command:
            self.say(f"{at}{failure.message}, but {saved}")
            return EXIT_SAVED_UNREPORTED
        if not failure.reader_gone:
            self.say(f"{at}{failure.message}; {saved or 'the store was not changed'}")
        return failure.exit_code

    def interrupted(self) -> int:
        saved = self.saved_clause()
        say(self.err, "")
        self.say("taskvault: interrupted" + (f"; {saved}" if saved else ""))
        return EXIT_INTERRUPTED

    def _note_migration(self) -> None:
        backup = self.service.migrated
        if backup is not None and not self._migration_told:
            from ..service import SCHEMA

            self._migration_told = True
            self.say(f"note: the store was upgraded to schema {SCHEMA}; as it was before, it is backup {backup.id}",
                     "warning")

    def _warn(self) -> None:
        while self.service.warnings:
            self.say(f"warning: {self.service.warnings.pop(0).message}", "warning")

    def run_script(self, lines: Iterable[str], keep_going: bool) -> int:
        """Run each non-blank, non-comment line as it is read; stop at the first failure unless keep_going.

        A script that cannot be read on (too long, a failing read) stops there, whatever keep_going says.
        """
        self._in_session = True
        first_failure = 0
        source = iter(lines)
        number = 0
        while True:
            self.begin(number + 1)
            try:
                raw = next(source, None)
            except TaskvaultError as error:
                return self.report(error, number + 1)
            if raw is None:
                return first_failure
            number += 1
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            code = self.run_line(text, number)
            if code and not keep_going:
                return code
            first_failure = first_failure or code


def _without_program_name(tokens: list[str]) -> list[str]:
    """``taskvault list`` typed in the session: ``list``. Options of the program itself are refused:
    they are set when taskvault starts (a different store, say), never by one line of a session."""
    if len(tokens) == 1:
        raise UsageError("this is taskvault's session already", hint="type a command alone, such as 'list'")
    if tokens[1].startswith("-"):
        raise UsageError(f"{shown(tokens[1], quote=False)} is set when taskvault starts, not inside a session",
                         hint="quit and start taskvault with it, or type the command without 'taskvault'")
    return tokens[1:]


def _holds_unicode(stream: TextIO) -> bool:
    """True when ``stream`` can write any character (a UTF encoding, or a stream of str in memory)."""
    import codecs

    encoding = getattr(stream, "encoding", None)
    return encoding is None or codecs.lookup(encoding).name.startswith("utf")
