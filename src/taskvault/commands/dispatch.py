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


#: The commands a filter typed before them applies to (``taskvault project:work done``), as in Taskwarrior.
FILTERED_COMMANDS = frozenset({"list", "next", "modify", "done", "reopen", "delete", "annotate", "start", "stop",
                               "export"})
#: Those that take a filter before them as their own words after them, as a report does.
_FILTER_AS_WORDS = frozenset({"list", "next", "export"})
#: The report a filter alone runs (``taskvault +home``).
DEFAULT_REPORT = "next"
_ID_WORD = re.compile(r"[0-9][0-9,-]*")


def _looks_like_filter(word: str) -> bool:
    """True for a word that starts a filter rather than being a mistyped command: +tag, a parenthesis,
    name:value, ids. (Not -tag: a first word starting with - is more likely a mistyped option.)"""
    return (len(word) > 1 and word[0] in "+(/") or word in ("(", "not") or ":" in word \
        or _ID_WORD.fullmatch(word) is not None


def split_filter(tokens: list[str], default_report: str | None = None) -> tuple[tuple[str, ...], list[str]]:
    """The words of a filter typed before the command, and the command line from the command on.

    ``taskvault 12 annotate …``, ``taskvault +errand modify …``: the first word that is no command starts a
    filter, and the first word after it that names a command taking one ends it. A line of filter words
    alone runs the default report. Anything else is left as it is (an unknown command is said to be one).
    """
    if not tokens or COMMANDS.find(tokens[0]) is not None or not _looks_like_filter(tokens[0]):
        return (), tokens
    for index, word in enumerate(tokens):
        if word in FILTERED_COMMANDS:
            return tuple(tokens[:index]), tokens[index:]
        if index and COMMANDS.find(word) is not None:
            raise UsageError(f"{word} takes no filter before it",
                             hint=f"give its arguments after it, as in '{typed(word + ' ' + ' '.join(tokens[:index]))}'; "
                                  f"a filter goes before {', '.join(sorted(FILTERED_COMMANDS))}")
    if default_report is not None and COMMANDS.find(default_report) is None:
        return tuple(tokens), ["report", default_report]
    return tuple(tokens), [default_report or DEFAULT_REPORT]


def run_tokens(ctx: Context, tokens: list[str]) -> Result:
    if not tokens:
        raise UsageError("no command given", hint=f"run '{typed('help')}' to see the commands")
    if COMMANDS.find(tokens[0]) is None and tokens[0] in ctx.preferences.reports:
        tokens = ["report", *tokens]  # a report the config file defines, run by its name
    filter_words, tokens = split_filter(tokens, ctx.preferences.default_report)
    command = COMMANDS.get(tokens[0])
    if filter_words and command.name == "report":
        tokens, filter_words = [tokens[0], tokens[1], *filter_words, *tokens[2:]], ()
    elif filter_words and (command.name in _FILTER_AS_WORDS or all(_ID_WORD.fullmatch(w) for w in filter_words)):
        # a report takes its filter as its own words; ids before a command are its ids (taskvault 12 done)
        tokens, filter_words = [tokens[0], *filter_words, *tokens[1:]], ()
    args = parse(command, tokens[1:], filter_words)
    if args["help"]:
        from .help import command_help  # (COMMAND --help's alone)

        return HelpText(command_help(command))
    return command.handler(ctx, args)
