"""Running one command line: look the command up, parse it, call its handler."""

from __future__ import annotations

import shlex

from ..errors import UsageError
from .catalog import COMMANDS
from .context import Context
from .help import command_help
from .registry import parse
from .results import HelpText, Result


def split_line(line: str) -> list[str]:
    """Split a script or REPL line into words the way a POSIX shell would."""
    try:
        return shlex.split(line, comments=False)
    except ValueError as exc:
        raise UsageError(f"cannot read the line: {exc}", hint="close the quote, or escape it with \\") from None


def run_tokens(ctx: Context, tokens: list[str]) -> Result:
    if not tokens:
        raise UsageError("no command given", hint="run 'taskvault help' to see the commands")
    command = COMMANDS.get(tokens[0])
    args = parse(command, tokens[1:])
    if args["help"]:
        return HelpText(command_help(command))
    return command.handler(ctx, args)
