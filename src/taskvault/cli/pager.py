"""Long output on a terminal goes through a pager, as git's does (pager.c, run-command.c).

Imported only when a one-shot command's output is a terminal and a pager is wanted (cli/main.py), and by
the resident process's client only when the resident process hands it a page (resident_client.py):
the pager must run in the process that owns the terminal, where it can read the keyboard.

What git does, and this does too:
- the pager is run only once the whole text is decided (a change is durable before its result is
  printed, runner.py), and only when the text is longer than the screen;
- less is run with LESS=FRX (and lv with LV=-c) unless those are set: -R shows colours, -F quits at
  once when the text fits after all, -X leaves the text on the screen after q;
- a command made of plain words is run directly, anything else by ``sh -c``;
- Ctrl-C while the pager runs is the pager's: this process waits for it to end, and ends quietly;
- q before the end is no error: the rest of the text is dropped, the exit status is the command's.

Unlike git's, a pager that cannot be started, or that ends with a failing exit status (it may have
shown nothing), loses nothing: the text is still in memory, and the caller writes it directly, with a
one-line warning (git's output is gone once its pipe is). And a change's result is never paged at all
(runner.py): it is the acknowledgement that the change was saved, which a pager that exits at once
(PAGER=true) would hide.
"""

from __future__ import annotations

import os
import signal

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    #: Pages a command's text: True if the pager showed it, False if it fits the screen (write it
    #: directly), or why the pager could not be started (write it directly, and warn).
    Paging = Callable[[str], bool | str]

#: What makes a pager's command a shell's to read (git's run-command.c list, less the blanks).
_SHELL_CHARACTERS = frozenset("|&;<>()$`\\\"'\n*?[#~=%")
#: sh's exit statuses for a command it could not find or could not run.
_NOT_STARTED = (126, 127)


def longer_than_screen(text: str, fd: int) -> bool:
    """True if ``text`` takes more rows than the terminal at ``fd`` has, long lines counted as the
    terminal wraps them (colour codes take no room)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return False
    if size.lines <= 0 or size.columns <= 0:
        return False
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) < size.lines and all(len(line) <= size.columns for line in lines):
        return False  # (the usual short output: no line can wrap)
    from .columns import text_width

    rows = 0
    for line in lines:
        shown = _without_colour(line) if "\x1b" in line else line
        rows += max(1, -(-text_width(shown) // size.columns))
        if rows >= size.lines:  # (the shell's prompt takes the last row: the first would scroll away)
            return True
    return False


def _without_colour(line: str) -> str:
    """``line`` without its SGR sequences (ESC [ … m): the only escapes taskvault's own text holds."""
    out, at = [], 0
    while (start := line.find("\x1b[", at)) >= 0:
        end = line.find("m", start)
        if end < 0:
            break
        out.append(line[at:start])
        at = end + 1
    out.append(line[at:])
    return "".join(out)


def _argv(command: str) -> list[str] | None:
    """The words of ``command`` when it is plain words (run directly); None when sh must read it."""
    if _SHELL_CHARACTERS.intersection(command):
        return None
    return command.split()


def pager_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with git's defaults for less and lv: LESS=FRX and LV=-c, unless the user set them."""
    env = dict(env)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    return env


def run_pager(command: str, data: bytes) -> str | None:
    """Show ``data`` through the pager ``command`` on this process's terminal, and wait for it to end.

    Returns None once the pager has ended (read it all, or quit early), or why it could not be
    started or failed: the caller then writes ``data`` itself. Must run in the main thread (it sets SIGINT's handler).
    """
    import subprocess

    argv = _argv(command)
    # Ctrl-C goes to the whole foreground group: the pager decides what it means; this process waits.
    # A handler, not SIG_IGN: an ignored signal stays ignored in the pager, a handled one is reset at exec.
    previous = signal.signal(signal.SIGINT, _pager_has_it)
    try:
        try:
            process = subprocess.Popen(argv if argv is not None else command, shell=argv is None,
                                       stdin=subprocess.PIPE, env=pager_environment(dict(os.environ)))
        except OSError as exc:
            return f"the pager {command!r} could not be started ({exc.strerror or exc})"
        assert process.stdin is not None
        try:
            process.stdin.write(data)
            process.stdin.close()
        except OSError:  # (BrokenPipeError: q before the end; the rest is not wanted)
            pass
        status = process.wait()
        if argv is None and status in _NOT_STARTED:
            return f"the pager {command!r} could not be started (sh exit status {status})"
        if status > 0:  # (it may have shown nothing: `false`; q is no failure)
            return f"the pager {command!r} ended with exit status {status}"
        if status < 0 and -status not in (signal.SIGINT, signal.SIGPIPE, signal.SIGTERM, signal.SIGHUP):
            # (killed by SIGKILL or SIGSEGV, say: it may have shown nothing; an interrupt or a hang-up is the user's)
            return f"the pager {command!r} was ended by signal {-status}"
        return None
    finally:
        signal.signal(signal.SIGINT, previous)


def _pager_has_it(signum: int, frame: object) -> None:
    """SIGINT while the pager runs: the pager's to handle; nothing to do here."""


def local_pager(command: str, out: TextIO) -> Paging:
    """Paging for a command run in this process, on ``out`` (a terminal)."""

    def page(text: str) -> bool | str:
        fd = out.fileno()
        if not longer_than_screen(text, fd):
            return False
        data = text.encode(out.encoding, getattr(out, "errors", None) or "strict")
        out.flush()
        problem = run_pager(command, data)
        return problem if problem is not None else True

    return page
