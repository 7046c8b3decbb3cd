"""Running one command line: look the command up, parse it, call its handler."""

from __future__ import annotations

import re

from ..errors import UsageError, typed
from .catalog import COMMANDS
from .context import Context
from .registry import parse
from .results import HelpText, Result

#: Runs of characters a line splits no further: not blank, not a quote, not a backslash.
_PLAIN = re.compile(r"[^ \t\r\n'\"\\]+")
#: Inside double quotes, what ends a run of plain text: the closing quote or a backslash.
_IN_DOUBLE = re.compile(r'["\\]')
_BLANK = " \t\r\n"


def _unreadable(reason: str) -> UsageError:
    return UsageError(f"cannot read the line: {reason}", hint="close the quote, or escape it with \\")


def split_line(line: str) -> list[str]:
    """Split a script or REPL line into words the way a POSIX shell would (as shlex.split does).

    Linear in the line's length: shlex builds each word a character at a time, which took seconds
    for a word of a megabyte. Here runs of plain text are found by regular expressions and joined once.
    """
    words: list[str] = []
    word: list[str] | None = None  # the word being read, in pieces; None between words
    index, end = 0, len(line)
    while index < end:
        char = line[index]
        if char in _BLANK:
            if word is not None:
                words.append("".join(word))
                word = None
            index += 1
            continue
        if word is None:
            word = []
        if char == "'":  # everything up to the next single quote, as it is
            close = line.find("'", index + 1)
            if close < 0:
                raise _unreadable("No closing quotation")
            word.append(line[index + 1:close])
            index = close + 1
        elif char == '"':  # a backslash escapes only a double quote or a backslash here
            index += 1
            while True:
                stop = _IN_DOUBLE.search(line, index)
                if stop is None:
                    raise _unreadable("No closing quotation")
                word.append(line[index:stop.start()])
                index = stop.start() + 1
                if stop.group() == '"':
                    break
                if index == end:
                    raise _unreadable("No escaped character")
                escaped = line[index]
                word.append(escaped if escaped in '"\\' else "\\" + escaped)
                index += 1
        elif char == "\\":  # the next character, whatever it is
            if index + 1 == end:
                raise _unreadable("No escaped character")
            word.append(line[index + 1])
            index += 2
        else:
            plain = _PLAIN.match(line, index)
            assert plain is not None  # char itself is plain
            word.append(plain.group())
            index = plain.end()
    if word is not None:
        words.append("".join(word))
    return words


def run_tokens(ctx: Context, tokens: list[str]) -> Result:
    if not tokens:
        raise UsageError("no command given", hint=f"run '{typed('help')}' to see the commands")
    command = COMMANDS.get(tokens[0])
    args = parse(command, tokens[1:])
    if args["help"]:
        from .help import command_help  # (COMMAND --help's alone)

        return HelpText(command_help(command))
    return command.handler(ctx, args)
