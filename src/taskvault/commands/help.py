"""Help text, generated from the registry so that it cannot drift from the parser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import typed
from .registry import Command
from .results import HelpText
from .settings import ENVIRONMENT, GLOBAL_OPTIONS

if TYPE_CHECKING:
    from .context import Context
    from .registry import ParsedArgs

EXIT_CODES = (
    (0, "success"),
    (1, "user error: no such task, invalid value"),
    (2, "usage error: unknown command or option, missing argument"),
    (3, "storage error: could not save, store locked, damaged or too new; doctor found a problem"),
    (4, ("saved, then failed: the change was saved, but its output could not be written or something after "
         "it failed; the message names the revision: do not run it again")),
    (70, "internal error: a bug; the message names the crash log"),
    (74, "output failed: standard output could not be written (a full disk), and nothing was saved"),
    (130, "interrupted: Ctrl-C"),
    (141, "output closed: the reader went away early, as with | head"),
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
    from .catalog import COMMANDS

    if args.positionals:
        return HelpText(command_help(COMMANDS.get(args.positionals[0])))
    return HelpText(overview())
