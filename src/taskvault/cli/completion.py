"""Tab completion for the interactive session, generated from the registry and the live task list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ..commands.catalog import COMMANDS
from ..commands.registry import Command, Option
from ..domain.tasklist import TaskList
from .text import terminal_safe

#: Words the session understands besides the registry's commands.
SESSION_WORDS = {"quit": "leave the session", "exit": "leave the session", "clear": "clear the screen"}
DATE_WORDS = ("today", "tomorrow", "yesterday", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "+1d", "+1w")
#: Which tasks a command's ids are offered from: done tasks make no sense for `done`, and so on.
_ID_FILTER: dict[str, Callable[[bool], bool]] = {"done": lambda is_open: is_open,
                                                 "reopen": lambda is_open: not is_open}
#: Commands whose words may be attribute words or filter terms, completed as such (after any ids).
_WORD_COMMANDS = frozenset({"add", "modify", "list", "next"})
_FILTER_COMMANDS = frozenset({"list", "next"})


class TaskCompleter(Completer):
    """Completes commands, options, option values, task ids (with titles) and tags."""

    def __init__(self, tasks: Callable[[], TaskList | None]) -> None:
        #: Returns the loaded task list, or None while it is still loading.
        self._tasks = tasks

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        words = text.split()
        current = "" if not words or text[-1:].isspace() else words.pop()
        if not words:
            yield from self._commands(current)
            return
        command = COMMANDS.find(words[0])
        if command is None:
            return
        option = _option(command, words[-1])
        if option is not None and option.takes_value:
            yield from self._values(command, option, current, words[1:])
        elif current.startswith("--") or (current.startswith("-") and command.name not in _WORD_COMMANDS):
            yield from _matching(current, ((o.name, o.help) for o in command.all_options))
        elif command.name in _WORD_COMMANDS and current and not current[0].isdigit():
            yield from self._words(command, current)
        else:
            yield from self._positional(command, words[1:], current)

    def _words(self, command: Command, current: str) -> Iterator[Completion]:
        """Attribute words (``project:``, ``due:``), ``+tag`` and ``project:NAME`` for add and modify, and
        filter terms (with virtual tags such as ``+OVERDUE``) for the reports."""
        tasks = self._tasks()
        if current.startswith(("+", "-")):
            sign = current[0]
            counts: dict[str, int] = {}
            for task in tasks or ():
                for tag in task.tags:
                    counts[tag] = counts.get(tag, 0) + 1
            pairs = [(sign + tag, f"{n} task{'s' if n != 1 else ''}") for tag, n in sorted(counts.items())]
            if command.name in _FILTER_COMMANDS:
                from ..domain.filtering import VIRTUAL_TAGS

                pairs += [(sign + name, meaning) for name, meaning in VIRTUAL_TAGS.items()]
            yield from _matching(current, pairs)
            return
        name, colon, _ = current.partition(":")
        if colon and "project".startswith(name) and len(name) >= 2:
            projects = sorted({t.project for t in tasks or () if t.project is not None})
            yield from _matching(current, ((f"{name}:{p}", "project") for p in projects))
            return
        if colon:
            return
        if command.name in _FILTER_COMMANDS:
            from ..domain.filtering import ATTRIBUTES as FILTER_ATTRIBUTES

            yield from _matching(current, ((a + ":", meaning) for a, meaning in FILTER_ATTRIBUTES.items()))
        else:
            from ..commands.attributes import ATTRIBUTES

            yield from _matching(current, ((a + ":", "attribute") for a in ATTRIBUTES))

    def _commands(self, current: str) -> Iterator[Completion]:
        pairs = [(c.name, c.summary) for c in COMMANDS] + list(SESSION_WORDS.items())
        yield from _matching(current, pairs)

    def _values(self, command: Command, option: Option, current: str, given: list[str]) -> Iterator[Completion]:
        if option.choices:
            yield from _matching(current, ((c, "") for c in option.choices))
        elif option.name == "--tag" and command.name == "edit" and current.startswith("-"):
            yield from self._tags_of(command, given, current)
        elif option.name == "--tag":
            yield from self._tags(command, current)
        elif option.metavar == "DATE":
            yield from _matching(current, ((d, "") for d in DATE_WORDS))

    def _tags(self, command: Command, current: str) -> Iterator[Completion]:
        tasks = self._tasks()
        if tasks is None:
            return
        counts: dict[str, int] = {}
        for task in tasks:
            for tag in task.tags:
                counts[tag] = counts.get(tag, 0) + 1
        sign = current[:1] if command.name == "edit" and current[:1] in "+-" else ""
        pairs = ((sign + tag, f"{n} task{'s' if n != 1 else ''}") for tag, n in sorted(counts.items()))
        yield from _matching(current, pairs)

    def _tags_of(self, command: Command, given: list[str], current: str) -> Iterator[Completion]:
        """``edit N --tag -``: the tags task N has, the only ones it can lose (every tag while N is not yet typed)."""
        tasks = self._tasks()
        task_id = next((int(word) for word in given if word.isascii() and word.isdigit()), None)
        if tasks is None:
            return
        if task_id is None:
            yield from self._tags(command, current)
        elif task_id in tasks:
            yield from _matching(current, (("-" + tag, f"on task {task_id}") for tag in sorted(tasks.get(task_id).tags)))

    def _positional(self, command: Command, given: list[str], current: str) -> Iterator[Completion]:
        if not command.arguments:
            return
        argument = command.arguments[-1] if len(given) >= len(command.arguments) else command.arguments[len(given)]
        if argument.kind == "command":
            yield from _matching(current, ((c.name, c.summary) for c in COMMANDS))
        elif argument.kind == "id":
            tasks = self._tasks()
            if tasks is None:
                return
            wanted = _ID_FILTER.get(command.name, _any_task)
            pairs = ((str(t.id), t.title) for t in tasks if wanted(t.is_open) and str(t.id) not in given)
            yield from _matching(current, pairs)


def _any_task(is_open: bool) -> bool:
    return True


def _option(command: Command, word: str) -> Option | None:
    return next((o for o in command.all_options if o.name == word), None)


def _matching(current: str, pairs: Iterable[tuple[str, str]]) -> Iterator[Completion]:
    """What fits ``current``: the value is inserted exactly as it is, but shown (as is its
    description) with control and format characters escaped."""
    for value, meta in pairs:
        if value.startswith(current):
            shown = terminal_safe(value)
            yield Completion(value, start_position=-len(current), display=shown if shown != value else None,
                             display_meta=terminal_safe(meta) if meta else None)
