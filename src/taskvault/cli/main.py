"""``taskvault``: pick the mode (one command, a script, standard input) and report the outcome."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..codec import SCHEMA
from ..commands.catalog import COMMANDS
from ..commands.context import Context
from ..commands.dispatch import run_tokens, split_line
from ..commands.help import overview
from ..errors import StorageError, TaskvaultError, UsageError
from ..service import TaskService
from ..store.journal_store import CaughtUp, JournalStore
from . import config
from .crash import EXIT_INTERNAL, report_crash
from .render import Style, TextRenderer, error_json, error_text, render_json
from .script import checked_line, lines_of_stdin
from .script import read_script as _read_script  # (a name tests replace, so that --script reads no real file)

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def exit_code(error: TaskvaultError) -> int:
    if isinstance(error, UsageError):
        return 2
    if isinstance(error, StorageError):
        return 3
    return 1


class Runner:
    """Runs command lines against one service and writes each result as soon as it is durable."""

    def __init__(self, service: TaskService, *, as_json: bool, style: Style, out: TextIO, err: TextIO,
                 width: int | None) -> None:
        self.service = service
        self.context = Context(service)
        #: Told what other sessions changed, before the command that noticed it runs.
        self.on_caught_up: Callable[[CaughtUp], None] | None = None
        #: The error the last failing command reported, for the interactive session's status bar.
        self.last_error: TaskvaultError | None = None
        self.as_json = as_json
        self.style = style
        self.out, self.err = out, err
        self.width = width
        self._migration_told = False
        self._heap_settled = False

    def run(self, tokens: list[str], line: int | None = None) -> int:
        try:
            command = COMMANDS.find(tokens[0]) if tokens else None
            if command is None or command.loads_store:
                caught = self.service.refresh()  # another session may have changed the store since the last line
                if caught is not None and caught.behind and self.on_caught_up is not None:
                    self.on_caught_up(caught)
            result = run_tokens(self.context, tokens)
        except TaskvaultError as error:
            return self.report(error, line)
        if self.as_json:
            text = render_json(result)
        else:
            text = TextRenderer(self.style, today=self.context.today, width=self.width).render(result)
        self.out.write(text + "\n")
        self.out.flush()  # a printed line is an acknowledgement: it must not wait in a buffer
        self.settle_heap()
        self._note_migration()
        self._warn()
        return getattr(result, "exit_code", 0)

    def settle_heap(self) -> None:
        """Once the store is in memory, leave it out of the cyclic garbage collector's scans.

        The tasks live as long as the session, hold no cycles and are freed by reference
        counting; without this, every full collection walks them all again (at 100k tasks, a
        pause of a tenth of a second in the middle of some change).
        """
        if not self._heap_settled and self.service.loaded:
            self._heap_settled = True
            gc.freeze()

    def make_interactive(self, confirm: Callable[[str], bool], on_caught_up: Callable[[CaughtUp], None]) -> None:
        """Someone is at the keyboard: commands may ask before they act, and hear of other sessions."""
        self.context = Context(self.service, confirm)
        self.on_caught_up = on_caught_up

    def run_line(self, text: str, line: int | None) -> int:
        try:
            tokens = split_line(checked_line(text))
        except UsageError as error:
            return self.report(error, line)
        return self.run(tokens, line)

    def report(self, error: TaskvaultError, line: int | None = None) -> int:
        code = exit_code(error)
        self.last_error = error
        if self.as_json:
            self.out.write(error_json(error, code, line) + "\n")
            self.out.flush()
        prefix = f"line {line}: " if line is not None else ""
        self.err.write(prefix + self.style(error_text(error), "red") + "\n")
        self.err.flush()
        return code

    def _note_migration(self) -> None:
        backup = self.service.migrated
        if backup is not None and not self._migration_told:
            self._migration_told = True
            self.err.write(self.style(f"note: the store was upgraded to schema {SCHEMA}; as it was before, it is "
                                      f"backup {backup.id}", "yellow") + "\n")
            self.err.flush()

    def _warn(self) -> None:
        while self.service.warnings:
            warning = self.service.warnings.pop(0)
            self.err.write(self.style(f"warning: {warning.message}", "yellow") + "\n")
            self.err.flush()

    def run_script(self, lines: Iterable[str], keep_going: bool) -> int:
        """Run each non-blank, non-comment line as it is read; stop at the first failure unless keep_going.

        A script that cannot be read on (too long, a failing read) stops there, whatever keep_going says.
        """
        first_failure = 0
        source = iter(lines)
        number = 0
        while True:
            try:
                raw = next(source, None)
            except UsageError as error:
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


def _waiting_notice(err: TextIO) -> Callable[[float], None]:
    def notice(remaining: float) -> None:
        seconds = f"{remaining:.1f}" if remaining < 10 else f"{remaining:.0f}"
        err.write(f"taskvault: the store is busy in another session; waiting up to {seconds} s…\n")
        err.flush()
    return notice


def _run_repl(runner: Runner, directory: Path, style: Style, err: TextIO) -> int:
    from . import repl  # prompt_toolkit costs ~125 ms to import: only the interactive session pays

    history, problem = repl.open_history(repl.history_path())
    if problem:
        err.write(style(f"warning: {problem}", "yellow") + "\n")
    return repl.Repl(runner, directory, history=history, style=style).run()


def _terminal_width() -> int:
    import shutil  # (with what it imports, ~7 ms: only a terminal needs it)

    return shutil.get_terminal_size().columns


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out, err, env = sys.stdout, sys.stderr, os.environ
    for stream in (out, err):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    plain = Style(False)
    try:
        options, tokens = config.split_global_options(argv)
        if options.version:
            out.write(f"taskvault {__version__}\n")
            return 0
        if options.help and not tokens:
            out.write(overview() + "\n")
            return 0
        directory = config.data_directory(options, env)
        timeout = config.lock_timeout(env)
        retention = config.backup_retention(env)
    except UsageError as error:
        err.write(error_text(error) + "\n")
        return 2
    on_terminal = out.isatty()
    style = Style(config.color_wanted(options, env, on_terminal))
    service = TaskService(JournalStore(directory, lock_timeout=timeout, on_lock_wait=_waiting_notice(err),
                                       retention=retention))
    runner = Runner(service, as_json=options.json, style=style, out=out, err=err,
                    width=_terminal_width() if on_terminal else None)
    try:
        if options.script is not None:
            return runner.run_script(_read_script(options.script), options.keep_going)
        if tokens:
            # One command, then the process ends: collecting cyclic garbage (there is next to
            # none) would only rescan the loaded store while the command builds its output.
            was_collecting = gc.isenabled()
            gc.disable()
            try:
                return runner.run(tokens)
            finally:
                if was_collecting:
                    gc.enable()
        if sys.stdin.isatty() and on_terminal:
            return _run_repl(runner, directory, style, err)
        return runner.run_script(lines_of_stdin(sys.stdin), options.keep_going)
    except UsageError as error:
        return runner.report(error)
    except KeyboardInterrupt:
        err.write("\ntaskvault: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head). Point stdout at /dev/null so the exit flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug: the user gets one line, the traceback goes to a log
        err.write(plain(report_crash(exc)) + "\n")
        return EXIT_INTERNAL
    finally:
        service.close()
