"""Help text, generated from the registry so that it cannot drift from the parser."""

from __future__ import annotations

from ..errors import OutputFailed, StorageError, SyncFailed, UsageError, UserError, typed
from ..exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_SAVED_UNREPORTED,
    EXIT_SUCCESS,
)
from .registry import Command
from .settings import ENVIRONMENT, GLOBAL_OPTIONS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: `taskvault help` imports little)
if TYPE_CHECKING:
    from .context import Context
    from .registry import ParsedArgs
    from .results import HelpText

#: Every exit status, and what it means: the numbers are the error classes' and exits.py's.
EXIT_CODES = (
    (EXIT_SUCCESS, "success"),
    (UserError.exit_code, "user error: no such task, invalid value"),
    (UsageError.exit_code, "usage error: unknown command or option, missing argument"),
    (StorageError.exit_code, "storage error: could not save, store locked, damaged or too new; doctor found a problem"),
    (EXIT_SAVED_UNREPORTED, ("saved, then failed: the change was saved, but its output could not be written or "
                             "something after it failed; the message names the revision: do not run it again")),
    (SyncFailed.exit_code, ("sync failed: the remote could not be reached, refused what was sent or holds what "
                             "taskvault will not take; nothing was changed here")),
    (EXIT_INTERNAL, "internal error: a bug; the message names the crash log"),
    (OutputFailed.exit_code, "output failed: standard output could not be written (a full disk), and nothing was saved"),
    (EXIT_OUTCOME_UNKNOWN, ("outcome unknown: the resident process ended while it ran the command; a change was "
                            "saved whole or not at all, and history says which")),
    (EXIT_INTERRUPTED, "interrupted: Ctrl-C"),
    (EXIT_BROKEN_PIPE, "output closed: the reader went away early, as with | head"),
)


def overview() -> str:
    from .catalog import COMMANDS

    width = max(len(c.name) for c in COMMANDS)
    lines = ["usage: taskvault [OPTIONS] [COMMAND [ARGS...]]", "",
             "With no command: an interactive session on a terminal, else commands from standard input, one per line.", "",
             "Commands:"]
    lines += [f"  {c.name.ljust(width)}  {c.summary}" for c in COMMANDS]
    lines += ["", "Options:"]
    option_width = max(len(o.usage) for o in GLOBAL_OPTIONS)
    lines += [f"  {o.usage.ljust(option_width)}  {o.help}" for o in GLOBAL_OPTIONS]
    lines += ["", "Environment:"]
    name_width = max(len(v.name) for v in ENVIRONMENT)
    lines += [f"  {v.name.ljust(name_width)}  {v.help}" for v in ENVIRONMENT]
    lines += ["", "Exit codes: " + ", ".join(f"{code} {text.split(':')[0]}" for code, text in EXIT_CODES),
              f"Run '{typed('help COMMAND')}' for one command in full."]
    return "\n".join(lines)


def command_help(command: Command) -> str:
    lines = [f"usage: {typed(command.usage)}", "", command.summary[0].upper() + command.summary[1:] + "."]
    if command.description:
        lines += ["", command.description]
    options = command.all_options
    width = max(len(name) for name in [*(a.name for a in command.arguments), *(o.usage for o in options)])
    if command.arguments:
        lines += ["", "Arguments:"]
        lines += [f"  {a.name.ljust(width)}  {a.help}" for a in command.arguments]
    lines += ["", "Options:"]
    lines += [f"  {o.usage.ljust(width)}  {o.help}" for o in options]
    if command.examples:
        lines += ["", "Examples:"]
        lines += [f"  {typed(e)}" for e in command.examples]
    return "\n".join(lines)


def run_help(_ctx: Context, args: ParsedArgs) -> HelpText:
    from .results import HelpText

    return HelpText(help_text(args))


def help_text(args: ParsedArgs) -> str:
    """What `help [COMMAND]` prints (UsageError for an unknown command)."""
    from .catalog import COMMANDS

    if args.positionals:
        return command_help(COMMANDS.get(args.positionals[0]))
    return overview()


def help_line(words: list[str]) -> str:
    """What the command line ``help [COMMAND]`` (``words``, starting with "help") prints: the text
    dispatch.run_tokens would give, found without a service, so that `taskvault help` opens no store."""
    from .catalog import COMMANDS
    from .registry import parse

    command = COMMANDS.get(words[0])
    args = parse(command, words[1:])
    return command_help(command) if args["help"] else help_text(args)
