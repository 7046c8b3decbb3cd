"""The shape of a command (its arguments and options) and the parser built from it."""

from __future__ import annotations

from ..errors import UsageError, shown, typed, typed_in_session
from .settings import GLOBAL_OPTIONS

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: help and --version import little)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from .context import Context
    from .results import Result

# The registry's classes are plain classes with __slots__, not attrs classes: `taskvault help` builds
# every command's description without importing attrs (some 10 ms of a 25 ms budget, issue 17).


def _close_matches(name: str, names: Any) -> list[str]:
    """The nearest known name, for a "did you mean" hint (only a mistyped word pays difflib's import)."""
    import difflib

    return difflib.get_close_matches(name, names, n=1)


class Option:
    """A ``--name`` option; it takes a value when ``metavar`` is set, else it is a flag."""

    __slots__ = ("choices", "gathers", "help", "metavar", "name", "repeat", "short")

    def __init__(self, name: str, help: str, metavar: str | None = None, repeat: bool = False,
                 choices: tuple[str, ...] = (), gathers: bool = False, short: str | None = None) -> None:
        self.name = name
        #: A one-letter form (``-o``), as other tools spell the same option.
        self.short = short
        self.help = help
        self.metavar = metavar
        self.repeat = repeat
        #: Values offered for completion (and named in help); checked by the handler.
        self.choices = choices
        #: Its value is every word up to the next ``--word`` (a title typed without quotes, as add's is).
        self.gathers = gathers

    def __repr__(self) -> str:
        return f"Option({self.name!r})"

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None

    @property
    def usage(self) -> str:
        return f"{self.name} {self.metavar}" if self.metavar else self.name


class Argument:
    """A positional argument. ``kind`` tells completion what it holds: text, id, command, filter or file."""

    __slots__ = ("choices", "help", "kind", "many", "name", "optional")

    def __init__(self, name: str, help: str, many: bool = False, optional: bool = False, kind: str = "text",
                 choices: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help
        self.many = many
        self.optional = optional
        self.kind = kind
        #: Values offered for completion; checked by the handler.
        self.choices = choices

    def __repr__(self) -> str:
        return f"Argument({self.name!r})"

    @property
    def usage(self) -> str:
        text = f"{self.name}..." if self.many else self.name
        return f"[{text}]" if self.optional else text


#: taskvault's own options that go with a command (before it): a hint shows them in place.
_WITH_A_COMMAND = frozenset({"--data-dir", "--json", "--color", "--no-color"})

HELP_OPTION = Option("--help", "show this help and exit")


class Command:
    """A command: its words, its help, and the handler that runs it."""

    __slots__ = ("arguments", "description", "examples", "handler", "loads_store", "mutates", "name", "options",
                 "summary")

    def __init__(self, name: str, summary: str, handler: Callable[[Context, ParsedArgs], Result], *,
                 arguments: tuple[Argument, ...] = (), options: tuple[Option, ...] = (), description: str = "",
                 examples: tuple[str, ...] = (), mutates: bool = False, loads_store: bool = True) -> None:
        self.name = name
        self.summary = summary
        self.handler = handler
        self.arguments = arguments
        self.options = options
        self.description = description
        self.examples = examples
        #: True when the command changes the store.
        self.mutates = mutates
        #: False for commands that must work while the store does not load (they load it themselves, if at all).
        self.loads_store = loads_store

    def __repr__(self) -> str:
        return f"Command({self.name!r})"

    @property
    def all_options(self) -> tuple[Option, ...]:
        return (*self.options, HELP_OPTION)

    @property
    def usage(self) -> str:
        parts = [self.name, *(a.usage for a in self.arguments)]
        parts += [f"[{o.usage}]" + ("..." if o.repeat else "") for o in self.options]
        return " ".join(parts)

    def option(self, name: str) -> Option:
        for option in self.all_options:
            if option.name == name:
                return option
        raise UsageError(f"{self.name}: unknown option {shown(name, quote=False)}", hint=self._unknown_hint(name))

    @property
    def takes_title(self) -> bool:
        """True when words of free text follow the command (add's title, edit's --title)."""
        return any(a.many and a.kind == "text" for a in self.arguments) or any(
            o.name == "--title" for o in self.options)

    def _unknown_hint(self, name: str) -> str:
        usage = next((o.usage for o in GLOBAL_OPTIONS if o.name == name), None)
        if usage is not None and typed_in_session():
            hint = f"{name} is set when taskvault starts, not inside a session: quit and start 'taskvault {usage}'"
        elif usage is not None and name in _WITH_A_COMMAND:
            hint = f"taskvault's own options go before the command: taskvault {usage} {self.name}"
            hint += " …" if self.arguments or self.options else ""
        elif usage is not None:
            hint = f"{name} is an option of taskvault itself, given before any command: see 'taskvault --help'"
        else:
            close = _close_matches(name, [o.name for o in self.all_options])
            hint = (f"did you mean {close[0]}? " if close else "") + f"run '{typed('help ' + self.name)}' for its options"
        if self.takes_title:
            hint += "; for a title word starting with --, quote the whole title or put -- before the title's words"
        return hint


class ParsedArgs:
    """What the parser found: positional words, and option values by ``Option.dest``."""

    __slots__ = ("filter_words", "literal_from", "positionals", "values")

    def __init__(self, positionals: tuple[str, ...], values: dict[str, Any], literal_from: int | None = None,
                 filter_words: tuple[str, ...] = ()) -> None:
        self.positionals = positionals
        self.values = values
        #: The filter typed before the command (``taskvault +errand modify …``): the tasks it changes.
        self.filter_words = filter_words
        #: The index of the first positional given after ``--`` (each of those is taken as it is typed,
        #: never as an attribute or a tag); the number of positionals when there was no ``--``.
        self.literal_from = len(positionals) if literal_from is None else literal_from

    def __repr__(self) -> str:
        return f"ParsedArgs({self.positionals!r}, {self.values!r})"

    def __getitem__(self, dest: str) -> Any:
        return self.values[dest]


def parse(command: Command, tokens: list[str], filter_words: tuple[str, ...] = ()) -> ParsedArgs:
    """Split ``tokens`` into positionals and options. A value is taken verbatim (``--tag -home``).

    ``filter_words``, typed before the command, choose its tasks: then it needs no ids of its own."""
    values: dict[str, Any] = {o.dest: [] if o.repeat else (None if o.takes_value else False)
                              for o in command.all_options}
    positionals: list[str] = []
    index, options_done, literal_from = 0, False, None
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not options_done and token[:1] == "-" and len(token) == 2 and token != "-h":
            short = next((o for o in command.options if o.short == token), None)
            if short is not None:
                token = short.name
        if options_done or not token.startswith("--"):
            if token == "-h" and not options_done:
                values["help"] = True
            else:
                positionals.append(token)
            continue
        if token == "--":
            options_done, literal_from = True, len(positionals)
            continue
        name, has_value, inline = token.partition("=")
        option = command.option(name)
        if not option.takes_value:
            if has_value:
                raise UsageError(f"{command.name}: {name} takes no value")
            values[option.dest] = True
            continue
        if has_value:
            value = inline
        elif index < len(tokens) and option.gathers:
            value, index = _gather(tokens, index)
        elif index < len(tokens):
            value, index = tokens[index], index + 1
        else:
            raise UsageError(f"{command.name}: {name} needs a value ({option.metavar})",
                             hint=f"run '{typed('help ' + command.name)}'")
        if option.repeat:
            values[option.dest].append(value)
        elif values[option.dest] is not None:
            raise UsageError(f"{command.name}: {name} was given twice")
        else:
            values[option.dest] = value
    if not values["help"] and not filter_words:
        _check_arity(command, positionals)
    return ParsedArgs(tuple(positionals), values, literal_from, filter_words)


def _gather(tokens: list[str], index: int) -> tuple[str, int]:
    """The words from ``index`` up to the next ``--word``, joined with spaces, and where the parse goes on.

    The first word is taken as it is (``--title -x``); after ``--`` every word is plain and gathered,
    as the words after ``add --`` are all the title.
    """
    words = [tokens[index]]
    index += 1
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return " ".join(words + tokens[index + 1:]), len(tokens)
        if token.startswith("--"):
            break
        words.append(token)
        index += 1
    return " ".join(words), index


def _check_arity(command: Command, positionals: list[str]) -> None:
    required = [a for a in command.arguments if not a.optional]
    if len(positionals) < len(required):
        missing = required[len(positionals)]
        raise UsageError(f"{command.name} needs {missing.name}",
                         hint=f"usage: {typed(command.usage)}")
    if not any(a.many for a in command.arguments) and len(positionals) > len(command.arguments):
        extra = positionals[len(command.arguments)]
        raise UsageError(f"{command.name}: unexpected argument {shown(extra)}",
                         hint=f"usage: {typed(command.usage)} (quote text that has spaces)")


class Registry:
    """Every command by name, in the order help lists them."""

    def __init__(self, commands: list[Command]) -> None:
        self._commands = {c.name: c for c in commands}

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def find(self, name: str) -> Command | None:
        return self._commands.get(name)

    def get(self, name: str) -> Command:
        try:
            return self._commands[name]
        except KeyError:
            close = _close_matches(name, self._commands)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise UsageError(f"unknown command {shown(name)}",
                             hint=f"{hint}run '{typed('help')}' to see the commands") from None
