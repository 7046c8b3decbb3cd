"""Asking before a command acts: one rule for every mode.

taskvault asks (a bulk delete, an undo of several tasks, a restore, a salvage) only when someone
is at a terminal to answer: standard input and standard output both terminals, in one-shot mode
as in the session. A script, a pipe or a redirected output is never asked anything, and ``--yes``
skips the question everywhere. Only ``y`` or ``yes`` (any case) is a yes; anything else, an empty
line or Ctrl-D is a no. Ctrl-C is a no that stops there: in one-shot mode the command ends as any
interrupted command does (exit 130, "interrupted", nothing changed), as Ctrl-C at git's or apt's
question does; in the session it is a no and the session goes on, as Ctrl-C at its prompt does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from .text import terminal_safe

Confirm = Callable[[str], bool]


def can_ask(stdin: TextIO | None, stdout: TextIO | None) -> bool:
    """True when a person can answer: standard input and standard output are both terminals."""
    try:
        return stdin is not None and stdout is not None and stdin.isatty() and stdout.isatty()
    except (OSError, ValueError):  # a closed stream
        return False


def question_line(question: str) -> str:
    return f"{terminal_safe(question, lines=True)} [y/N] "


def is_yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "yes")


def line_asker(stdin: TextIO, stdout: TextIO) -> Confirm:
    """Ask on the terminal with a plain line read: one-shot mode, which never imports prompt_toolkit."""
    def confirm(question: str) -> bool:
        stdout.write(question_line(question))
        stdout.flush()
        answer = stdin.readline()  # (Ctrl-C: KeyboardInterrupt, the command's end)
        if not answer.endswith("\n"):  # Ctrl-D: end the question's line
            stdout.write("\n")
            stdout.flush()
        return is_yes(answer)
    return confirm


def prompt_asker(input: Any, output: Any) -> Confirm:
    """Ask in the interactive session, on its own terminal input and output (prompt_toolkit)."""
    from prompt_toolkit import PromptSession  # (the session has imported it already)

    def confirm(question: str) -> bool:
        # A session of its own: prompt() keeps its arguments as the session's new defaults.
        asking: PromptSession[str] = PromptSession(input=input, output=output)
        try:
            return is_yes(asking.prompt(question_line(question)))
        except (KeyboardInterrupt, EOFError):
            return False
    return confirm
