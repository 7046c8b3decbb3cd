"""``taskvault``: pick the mode (one command, a script, standard input) and report the outcome.

Start-up is most of a one-shot command's time, so this module imports what each path runs and no
more (issue 17): `--version` nothing of the application, `help` the command registry without the
service, the store or attrs, a command the service and the store only once its settings are checked,
and the interactive session alone prompt_toolkit. tests/test_startup.py holds each path to that.
"""

from __future__ import annotations

import os
import sys

from .. import __version__

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from typing import TextIO

    from ..errors import OutputFailed
    from ..service import Retention, TaskService
    from .config import GlobalOptions
    from .config_file import Settings
    from .pager import Paging
    from .passphrase import Passphrases
    from .progress import Progress
    from .runner import Runner
    from .user_files import UserFiles

__all__ = ["Runner", "main"]


def __getattr__(name: str) -> object:
    """``Runner``, importable from here as before, imported only when asked for."""
    if name == "Runner":
        from .runner import Runner

        return Runner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_script(path: str) -> Iterable[str]:
    """The lines of the script at ``path`` (a name tests replace, so that --script reads no real file)."""
    from .script import read_script

    return read_script(path)


def _waiting_notice(err: TextIO) -> Callable[[float], None]:
    from .text import say

    def notice(remaining: float) -> None:
        seconds = f"{remaining:.1f}" if remaining < 10 else f"{remaining:.0f}"
        say(err, f"taskvault: the store is busy in another session; waiting up to {seconds} s…")
    return notice


def _run_repl(runner: Runner, directory: Path) -> int:
    from . import repl  # prompt_toolkit costs ~125 ms to import: only the interactive session pays

    history, problem = repl.open_history(repl.history_path())
    if problem:
        runner.say(f"warning: {problem}", "warning")
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
              directory: Path, on_terminal: bool, stdin: TextIO | None) -> int:
    from ..errors import OutputFailed, TaskvaultError
    from . import ask

    try:
        if tokens and script is None:
            if stdin is not None and ask.can_ask(stdin, runner.out):  # someone at the terminal answers
                runner.make_interactive(ask.line_asker(stdin, runner.out))
            # One command, then the process ends: collecting cyclic garbage (there is next to
            # none) would only rescan the loaded store while the command builds its output. The
            # collector has been off since main() began (the imports); it stays off.
            return runner.run(tokens)
        _collect_again()  # a script or a session runs for long: its garbage is collected
        if script is not None:
            return runner.run_script(script, keep_going)
        assert stdin is not None  # (_main refused a command line with neither when standard input is closed)
        if stdin.isatty() and on_terminal:
            return _run_repl(runner, directory)
        from .script import lines_of_stdin

        return runner.run_script(lines_of_stdin(stdin), keep_going)
    except OutputFailed:
        raise
    except TaskvaultError as error:
        return runner.report(error)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = sys.stdout
    # Started with standard error closed: errors go unseen, but their exit codes remain.
    err = sys.stderr if sys.stderr is not None else open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if out is None:
        from ..errors import UsageError
        from .text import say

        say(err, "error: standard output is closed, and taskvault says there what it saved "
                 "(redirect it to /dev/null to discard it)")
        return UsageError.exit_code
    for stream in (out, err):
        _prepare(stream)
    if argv == ["--version"]:  # the one answer that needs nothing of the application
        try:
            out.write(f"taskvault {__version__}\n")
            out.flush()
        except OSError as exc:
            return _failed_early(out, err, exc)
        return 0
    if argv[:1] == ["__complete"]:  # a shell's Tab (cli/shell_completion.py): no settings, no resident process
        from .shell_completion import answer

        return answer(argv[1:], out)
    from . import resident_client

    relayed = resident_client.relay(argv)  # (a one-shot command the resident process runs, if there is one)
    if relayed.status is not None:
        return relayed.status
    # Importing the application allocates tens of thousands of objects and frees next to none: the
    # cyclic collector's passes over them (some 30 of them) are time taken from start-up for nothing.
    # It is off until a script or a session starts (_collect_again), and for a one-shot command to its end.
    import gc

    _collector["on at start"] = gc.isenabled()
    gc.disable()
    try:
        status = _main(argv, out, err, sys.stdin)
    finally:
        _collect_again()
    if status == 0 and relayed.start and not _opened["by hand"]:
        resident_client.start_server()  # (for the next command: this one ran here)
    return status


#: Whether the cyclic garbage collector was on when main() began (main turns it off, then back on).
_collector = {"on at start": False}
#: Whether this command opened an encrypted store with a passphrase typed at the terminal or read from a descriptor:
#: a resident process (which has neither) could not open it, so none is started (Services.done notes it).
_opened = {"by hand": False}


def _collect_again() -> None:
    """Turn the garbage collector back on, if it was on when main() began."""
    if _collector["on at start"]:
        import gc

        gc.enable()


def _failed_early(out: TextIO, err: TextIO, exc: OSError | OutputFailed) -> int:
    """Standard output failed before any store was opened (--version, --help): say so, unless
    the reader is simply gone (| head), and exit with OutputFailed's code."""
    from ..errors import OutputFailed
    from .text import say

    failure = exc if isinstance(exc, OutputFailed) else OutputFailed(exc)
    _silence(out)
    if not failure.reader_gone:
        say(err, f"taskvault: {failure.message}")
    return failure.exit_code


def _main(argv: list[str], out: TextIO, err: TextIO, stdin: TextIO | None,
          services: Services | None = None) -> int:
    """Run ``argv`` with these streams; ``services`` gives the store's service (by default, a new
    one for this command, closed at its end; the resident process's keeps its own)."""
    from ..errors import OutputFailed, TaskvaultError, UsageError
    from ..exits import EXIT_INTERRUPTED
    from . import config
    from .text import say, terminal_safe, typed_arguments

    env = os.environ
    try:
        options, tokens = config.split_global_options(argv)
        if options.version or (options.help and not tokens):
            if options.version:
                text = f"taskvault {__version__}"
            else:
                from ..commands.help import overview

                text = overview()
            _print(out, text)
            return 0
        tokens = typed_arguments(tokens)
        # Every setting is checked before anything runs, `help` included; the directory and the
        # backup policy are made into objects (pathlib, the store's Retention) only for a store.
        config.data_directory_given(options, env)
        config.lock_timeout(env)
        config.backup_keep(env)
        config.time_zone(env)
        config.resident(env)
        if not tokens and options.script is None and stdin is None:
            raise UsageError("no command given, and standard input is closed",
                             hint="give taskvault a command, or commands on standard input or with --script")
        if tokens[:1] == ["help"] and not options.json:
            helped = _help(out, err, tokens)
            if helped is not None:
                return helped
        settings = config.load_settings(options, env)  # (the config file: read here, after help, once checked)
        from .config_filters import check_filters

        check_filters(settings.file)
        from ..service import Retention

        directory, timeout = settings.data_dir.value, settings.lock_timeout.value
        retention = Retention(**settings.backup_keep.value)
        script = _read_script(options.script) if options.script is not None else None
        from .passphrase import Passphrases, keyring_wanted  # (descriptors checked now, read when a store asks)

        keys = (Passphrases(env, fd=options.passphrase_fd, new_fd=options.new_passphrase_fd), keyring_wanted(env))
    except OutputFailed as failure:  # (--version or --help)
        return _failed_early(out, err, failure)
    except TaskvaultError as error:
        from .render_text import error_text

        say(err, terminal_safe(error_text(error)))
        return error.exit_code
    except KeyboardInterrupt:
        say(err, "\ntaskvault: interrupted")
        return EXIT_INTERRUPTED
    return _run(options, tokens, script, directory, timeout, retention, out, err, stdin,
                services if services is not None else Services(*keys), settings)


def _user_files(directory: Path, stdin: TextIO | None) -> UserFiles:
    """The user's files for import and export; standard input only where it is not the commands' own."""
    from ..bootstrap import replace_file
    from .user_files import UserFiles

    return UserFiles(directory, replace_file, getattr(stdin, "buffer", None))


def _progress(err: TextIO) -> Progress:
    from .progress import Progress

    return Progress(err)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _write_context(path: str, name: str | None) -> None:
    from ..bootstrap import replace_file
    from .config_write import write_context  # (`context NAME` alone writes the config file)

    write_context(path, name, replace_file)


def _help(out: TextIO, err: TextIO, tokens: list[str]) -> int | None:
    """`help [COMMAND]`, answered from the registry without opening the store; None when the line
    is refused (an unknown command, say), for the runner to report as it reports any command's failure."""
    from ..commands.help import help_line
    from ..errors import OutputFailed
    from .text import say, terminal_safe

    try:
        text = help_line(tokens)
    except Exception:  # noqa: BLE001 (refused, or a bug: the runner runs the line again and reports it)
        return None
    try:
        _print(out, terminal_safe(text, lines=True))
    except OutputFailed as failure:  # as Runner.output_failed says it when nothing was saved
        _silence(out)
        if not failure.reader_gone:
            say(err, terminal_safe(f"taskvault: {failure.message}; the store was not changed"))
        return failure.exit_code
    return 0


class Services:
    """Where a command gets the service of its store: here, a new one, closed when the command ends."""

    #: A resident process runs commands as a session runs its lines (housekeeping in the background).
    in_session = False

    def __init__(self, passphrases: Passphrases | None = None, keyring: bool = False) -> None:
        #: Where an encrypted store's key comes from: cli/passphrase.py, and the OS keyring unless TASKVAULT_KEYRING=off.
        self.passphrases = passphrases
        self.keyring = keyring

    def open(self, directory: Path, *, timeout: float, retention: Retention, err: TextIO,
             progress: Progress | None = None) -> TaskService:
        """``progress``: the terminal's status line, where someone watches (an upgrade of an older store shows there)."""
        from .. import bootstrap

        upgrade = None
        if progress is not None:
            from ..service import SCHEMA

            upgrade = progress.counting(f"upgrading the store to schema {SCHEMA}")
        return bootstrap.service(directory, lock_timeout=timeout, retention=retention,
                                 on_lock_wait=_waiting_notice(err), upgrade_progress=upgrade, passphrases=self.passphrases,
                                 keychain=bootstrap.os_keychain() if self.keyring else None)

    def done(self, service: TaskService) -> None:
        if service.encrypted and self.passphrases is not None and self.passphrases.typed_or_piped:
            _opened["by hand"] = True
        service.close()

    def pager(self, command: str, out: TextIO) -> Paging:
        """How a long result is paged: here, by running the pager in this process (it owns the terminal)."""
        from .pager import local_pager  # (only for output to a terminal)

        return local_pager(command, out)


def _run(options: GlobalOptions, tokens: list[str], script: Iterable[str] | None, directory: Path,
         timeout: float, retention: Retention, out: TextIO, err: TextIO, stdin: TextIO | None,
         services: Services, settings: Settings) -> int:
    """Run the command, the script or the session against the store in ``directory``."""
    from ..commands.context import Preferences
    from ..errors import OutputFailed
    from . import config
    from .columns import page_rows, table_width
    from .runner import Runner
    from .style import Style

    env = os.environ
    on_terminal = out.isatty()
    style = Style(config.color_wanted(options, env, on_terminal, settings.color.value), settings.file.theme)
    file = settings.file
    preferences = Preferences(
        context=settings.context.value, contexts=file.contexts, default_report=settings.default_report.value,
        urgency=file.urgency, reports=file.reports, path=file.path,
        describe=lambda: [(row.name, row.value_text, row.source) for row in config.effective_settings(settings)],
        set_context=lambda name: _write_context(file.path, name),
        date_format=settings.date_format.value if settings.date_format.value != config.DEFAULT_DATE_FORMAT else None,
        sync_merge=file.sync_merge or "never")
    one_shot = bool(tokens) and script is None
    # A pager for one command's result on a terminal; never for JSON, a script or the session (limit:page there).
    command = settings.pager.value if one_shot and on_terminal and not options.json else None
    # Someone watches the work: one command, or the interactive session; never a script (--script, even
    # run from a terminal, or lines piped in), a pipe or --json, where the result says it all.
    session = script is None and stdin is not None and stdin.isatty()
    watched = not options.json and _is_terminal(err) and (one_shot or session)
    progress = _progress(err) if watched else None
    service = services.open(directory, timeout=timeout, retention=retention, err=err, progress=progress)
    runner = Runner(service, as_json=options.json, style=style, out=out, err=err,
                    width=table_width(out, env), in_session=services.in_session, rows=page_rows(out),
                    preferences=preferences, files=_user_files(directory, stdin if one_shot or script is not None else None),
                    progress=progress, pager=services.pager(command, out) if command else None)
    try:
        return _run_mode(runner, tokens, script, options.keep_going, directory, on_terminal, stdin)
    except OutputFailed as failure:
        _silence(out)
        return runner.output_failed(failure)
    except KeyboardInterrupt:
        return runner.interrupted()
    except Exception as exc:  # noqa: BLE001 (a bug: the user gets one line, the traceback goes to a log)
        return runner.crashed(exc)
    finally:
        services.done(service)


def _print(out: TextIO, text: str) -> None:
    try:
        out.write(text + "\n")
        out.flush()
    except OSError as exc:
        from ..errors import OutputFailed

        raise OutputFailed(exc) from None
