"""``taskvault``: pick the mode (one command, a script, standard input) and report the outcome."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from .. import __version__, bootstrap
from ..commands.help import overview
from ..errors import OutputFailed, TaskvaultError, UsageError
from . import ask, config
from .columns import table_width
from .render import Style, error_text
from .runner import EXIT_INTERRUPTED, Runner, exit_code, say
from .script import lines_of_stdin
from .script import read_script as _read_script  # (a name tests replace, so that --script reads no real file)
from .text import terminal_safe, typed_arguments

__all__ = ["Runner", "main"]


def _waiting_notice(err: TextIO) -> Callable[[float], None]:
    def notice(remaining: float) -> None:
        seconds = f"{remaining:.1f}" if remaining < 10 else f"{remaining:.0f}"
        say(err, f"taskvault: the store is busy in another session; waiting up to {seconds} s…")
    return notice


def _run_repl(runner: Runner, directory: Path) -> int:
    from . import repl  # prompt_toolkit costs ~125 ms to import: only the interactive session pays

    history, problem = repl.open_history(repl.history_path())
    if problem:
        runner.say(f"warning: {problem}", "yellow")
    return repl.Repl(runner, directory, history=history, style=runner.style).run()


def _prepare(stream: TextIO) -> None:
    """Unencodable characters become escapes, never an error. Under an ASCII locale (LC_ALL=C with
    Python's UTF-8 mode off) the terminal is taken to be UTF-8, as arguments are (text.typed)."""
    if not hasattr(stream, "reconfigure"):
        return
    import codecs

    if codecs.lookup(stream.encoding).name == "ascii":
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    else:
        stream.reconfigure(errors="backslashreplace")


def _silence(out: TextIO) -> None:
    """Standard output failed: point it at /dev/null, so that the flush at exit fails no more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError):
        pass


def _run_mode(runner: Runner, tokens: list[str], script: Iterable[str] | None, keep_going: bool,
              directory: Path, on_terminal: bool) -> int:
    try:
        if script is not None:
            return runner.run_script(script, keep_going)
        if tokens:
            if ask.can_ask(sys.stdin, sys.stdout):  # someone at the terminal answers, as in the session
                runner.make_interactive(ask.line_asker(sys.stdin, sys.stdout))
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
            return _run_repl(runner, directory)
        return runner.run_script(lines_of_stdin(sys.stdin), keep_going)
    except OutputFailed:
        raise
    except TaskvaultError as error:
        return runner.report(error)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out, env = sys.stdout, os.environ
    # Started with standard error closed: errors go unseen, but their exit codes remain.
    err = sys.stderr if sys.stderr is not None else open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if out is None:
        say(err, "error: standard output is closed, and taskvault says there what it saved "
                 "(redirect it to /dev/null to discard it)")
        return UsageError.exit_code
    for stream in (out, err):
        _prepare(stream)
    try:
        options, tokens = config.split_global_options(argv)
        if options.version or (options.help and not tokens):
            _print(out, f"taskvault {__version__}" if options.version else overview())
            return 0
        tokens = typed_arguments(tokens)
        directory = config.data_directory(options, env)
        timeout = config.lock_timeout(env)
        retention = config.backup_retention(env)
        config.time_zone(env)
        if not tokens and options.script is None and sys.stdin is None:
            raise UsageError("no command given, and standard input is closed",
                             hint="give taskvault a command, or commands on standard input or with --script")
        script = _read_script(options.script) if options.script is not None else None
    except OutputFailed as failure:  # (--version or --help)
        _silence(out)
        if not failure.reader_gone:
            say(err, f"taskvault: {failure.message}")
        return failure.exit_code
    except TaskvaultError as error:
        say(err, terminal_safe(error_text(error)))
        return exit_code(error)
    except KeyboardInterrupt:
        say(err, "\ntaskvault: interrupted")
        return EXIT_INTERRUPTED
    on_terminal = out.isatty()
    style = Style(config.color_wanted(options, env, on_terminal))
    service = bootstrap.service(directory, lock_timeout=timeout, retention=retention, on_lock_wait=_waiting_notice(err))
    runner = Runner(service, as_json=options.json, style=style, out=out, err=err,
                    width=table_width(out, env))
    try:
        return _run_mode(runner, tokens, script, options.keep_going, directory, on_terminal)
    except OutputFailed as failure:
        _silence(out)
        return runner.output_failed(failure)
    except KeyboardInterrupt:
        return runner.interrupted()
    except Exception as exc:  # noqa: BLE001 (a bug: the user gets one line, the traceback goes to a log)
        return runner.crashed(exc)
    finally:
        service.close()


def _print(out: TextIO, text: str) -> None:
    try:
        out.write(text + "\n")
        out.flush()
    except OSError as exc:
        raise OutputFailed(exc) from None
