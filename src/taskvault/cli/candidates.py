"""What may come next on a command line: completion's candidates, as (text, description) pairs.

One engine for both completions, generated from the registry and the task list so that neither
drifts: the interactive session's (cli/completion.py, prompt_toolkit) and the shells'
(cli/shell_completion.py, behind `taskvault __complete`). It imports no prompt_toolkit, and it asks
for the task list only when a candidate comes from it (ids, tags, projects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from ..commands.catalog import COMMANDS
from ..commands.registry import Argument, Command, Option
from ..commands.settings import GLOBAL_OPTIONS, GlobalOption

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from ..domain.tasklist import TaskList

#: Returns the task list, or None while it is loading (the session) or cannot be read (a shell).
Tasks = Callable[[], "TaskList | None"]

#: Words the session understands besides the registry's commands.
SESSION_WORDS = {"quit": "leave the session", "exit": "leave the session", "clear": "clear the screen"}
DATE_WORDS = ("today", "tomorrow", "yesterday", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "+1d", "+1w")
#: Which tasks a command's ids are offered from: done tasks make no sense for `done`, and so on.
_ID_FILTER: dict[str, Callable[[bool], bool]] = {"done": lambda is_open: is_open,
                                                 "reopen": lambda is_open: not is_open}
#: Commands whose words after the ids are attribute words (project:, due:, +tag), completed as such.
_ATTRIBUTE_COMMANDS = frozenset({"add", "modify"})
#: What a shell completes itself, where a value is a path: a file or a directory.
FILES, DIRECTORIES = "files", "directories"
_PATH_METAVARS = {"FILE": FILES, "DIR": DIRECTORIES}


def _takes_filter(command: Command) -> bool:
    return any(a.kind == "filter" for a in command.arguments)


def complete(words: Sequence[str], current: str, tasks: Tasks, *, in_session: bool = False) -> Iterator[tuple[str, str]]:
    """The candidates for ``current``, the word being typed after ``words``.

    In the session the line starts with the command; on a shell's line (the program's name left out)
    taskvault's own options may come first (--data-dir DIR, --json), and the session's words are not offered.
    """
    if not in_session:
        start = _command_at(words)
        if start is None:  # still among taskvault's own options
            own = _own_value_wanted(words)
            if own is not None:  # (--color WHEN: its values; --data-dir DIR, --script FILE: the shell completes the path)
                yield from _matching(current, ((c, "") for c in own.choices))
                return
            name, equals, _ = current.partition("=")
            own = _global_option(name) if equals else None
            if own is not None:  # --color=al
                yield from _matching(current, ((f"{name}={c}", "") for c in own.choices))
                return
            if current.startswith("-"):
                yield from _matching(current, ((o.name, o.help) for o in GLOBAL_OPTIONS))
            else:
                yield from _matching(current, ((c.name, c.summary) for c in COMMANDS))
            return
        words = words[start:]
    if not words:
        pairs = [(c.name, c.summary) for c in COMMANDS]
        yield from _matching(current, pairs + list(SESSION_WORDS.items()) if in_session else pairs)
        return
    command = COMMANDS.find(words[0])
    if command is None:
        return
    option = _option(command, words[-1])
    if option is not None and option.takes_value:
        yield from _values(command, option, current, list(words[1:]), tasks)
    elif current.startswith("--") or (current.startswith("-") and command.name not in _ATTRIBUTE_COMMANDS
                                      and not _takes_filter(command)):
        yield from _matching(current, ((o.name, o.help) for o in command.all_options))
    elif (command.name in _ATTRIBUTE_COMMANDS or _takes_filter(command)) and current and not current[0].isdigit():
        yield from _words(command, current, tasks)
    else:
        yield from _positional(command, list(words[1:]), current, tasks)


def wanted_path(words: Sequence[str], current: str) -> str | None:
    """FILES or DIRECTORIES when ``current`` (on a shell's line) is a path the shell should complete, else None."""
    start = _command_at(words)
    if start is None:
        own = _own_value_wanted(words)
        return _PATH_METAVARS.get(own.metavar or "") if own is not None else None
    words = words[start:]
    command = COMMANDS.find(words[0])
    if command is None:
        return None
    option = _option(command, words[-1])
    if option is not None and option.takes_value:
        return _PATH_METAVARS.get(option.metavar or "")
    if option is None and not current.startswith("-"):
        argument = _argument(command, len(_positionals(command, words[1:])))
        if argument is not None and argument.kind == "file":
            return FILES
    return None


def _command_at(words: Sequence[str]) -> int | None:
    """Where the command word is on a shell's line (after taskvault's own options), or None if not yet typed."""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return index + 1 if index + 1 < len(words) else None
        if not word.startswith("-") or word == "-":
            return index
        option = _global_option(word)
        index += 2 if option is not None and option.metavar is not None and "=" not in word else 1
    return None


def _own_value_wanted(words: Sequence[str]) -> GlobalOption | None:
    """The option of taskvault's own whose value is being typed (words[-1] is --data-dir), if any."""
    index, wanted = 0, None
    while index < len(words):
        option = _global_option(words[index])
        wanted = option if option is not None and option.metavar is not None and index == len(words) - 1 else None
        index += 2 if option is not None and option.metavar is not None and "=" not in words[index] else 1
    return wanted


def _global_option(word: str) -> GlobalOption | None:
    return next((o for o in GLOBAL_OPTIONS if word in (o.name, *o.aliases)), None)


def _positionals(command: Command, given: Sequence[str]) -> list[str]:
    """The positional words among ``given`` (an option's value is not one)."""
    found, skip = [], False
    for word in given:
        if skip:
            skip = False
        elif word.startswith("-") and not word[1:2].isdigit() and word != "-":
            option = _option(command, word)
            skip = option is not None and option.takes_value
        else:
            found.append(word)
    return found


def _argument(command: Command, index: int) -> Argument | None:
    """The argument the ``index``-th positional word fills (the last one takes the rest)."""
    if not command.arguments:
        return None
    return command.arguments[-1] if index >= len(command.arguments) else command.arguments[index]


def _words(command: Command, current: str, tasks: Tasks) -> Iterator[tuple[str, str]]:
    """Attribute words (``project:``, ``due:``), ``+tag`` and ``project:NAME`` for add and modify, and
    filter terms (with virtual tags such as ``+OVERDUE``) for the commands that take a filter."""
    filtering = _takes_filter(command)
    if current.startswith(("+", "-")):
        sign = current[0]
        pairs = [(sign + tag, meaning) for tag, meaning in _tag_counts(tasks())]
        if filtering:
            from ..domain.filtering import VIRTUAL_TAGS

            pairs += [(sign + name, meaning) for name, meaning in VIRTUAL_TAGS.items()]
        yield from _matching(current, pairs)
        return
    name, colon, _ = current.partition(":")
    if colon and "project".startswith(name) and len(name) >= 2:
        projects = sorted({t.project for t in tasks() or () if t.project is not None})
        yield from _matching(current, ((f"{name}:{p}", "project") for p in projects))
        return
    if colon:
        return
    if filtering:
        from ..domain.filtering import ATTRIBUTES as FILTER_ATTRIBUTES

        yield from _matching(current, ((a + ":", meaning) for a, meaning in FILTER_ATTRIBUTES.items()))
    else:
        from ..commands.attributes import ATTRIBUTES

        yield from _matching(current, ((a + ":", "attribute") for a in ATTRIBUTES))


def _tag_counts(tasks: TaskList | None) -> list[tuple[str, str]]:
    """Each tag of ``tasks``, by name, with how many tasks have it."""
    counts: dict[str, int] = {}
    for task in tasks or ():
        for tag in task.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return [(tag, f"{n} task{'s' if n != 1 else ''}") for tag, n in sorted(counts.items())]


def _values(command: Command, option: Option, current: str, given: list[str], tasks: Tasks) -> Iterator[tuple[str, str]]:
    if option.choices:
        yield from _matching(current, ((c, "") for c in option.choices))
    elif option.name == "--tag" and command.name == "edit" and current.startswith("-"):
        yield from _tags_of(command, given, current, tasks)
    elif option.name == "--tag":
        yield from _tags(command, current, tasks)
    elif option.metavar == "DATE":
        yield from _matching(current, ((d, "") for d in DATE_WORDS))
    elif option.metavar == "ID":
        yield from _ids(command, current, given, tasks)


def _tags(command: Command, current: str, tasks: Tasks) -> Iterator[tuple[str, str]]:
    sign = current[:1] if command.name == "edit" and current[:1] in "+-" else ""
    yield from _matching(current, ((sign + tag, meaning) for tag, meaning in _tag_counts(tasks())))


def _tags_of(command: Command, given: list[str], current: str, tasks: Tasks) -> Iterator[tuple[str, str]]:
    """``edit N --tag -``: the tags task N has, the only ones it can lose (every tag while N is not yet typed)."""
    loaded = tasks()
    task_id = next((int(word) for word in given if word.isascii() and word.isdigit()), None)
    if loaded is None:
        return
    if task_id is None:
        yield from _tags(command, current, lambda: loaded)
    elif task_id in loaded:
        yield from _matching(current, (("-" + tag, f"on task {task_id}") for tag in sorted(loaded.get(task_id).tags)))


def _positional(command: Command, given: list[str], current: str, tasks: Tasks) -> Iterator[tuple[str, str]]:
    argument = _argument(command, len(_positionals(command, given)))
    if argument is None:
        return
    if argument.choices:
        yield from _matching(current, ((c, "") for c in argument.choices))
    elif argument.kind == "command":
        yield from _matching(current, ((c.name, c.summary) for c in COMMANDS))
    elif argument.kind == "id":
        yield from _ids(command, current, given, tasks)


def _ids(command: Command, current: str, given: list[str], tasks: Tasks) -> Iterator[tuple[str, str]]:
    """The ids of the tasks the command can take (open ones for done, and so on), with their titles."""
    loaded = tasks()
    if loaded is None:
        return
    wanted = _ID_FILTER.get(command.name, _any_task)
    yield from _matching(current, ((str(t.id), t.title) for t in loaded if wanted(t.is_open) and str(t.id) not in given))


def _any_task(is_open: bool) -> bool:
    return True


def _option(command: Command, word: str) -> Option | None:
    return next((o for o in command.all_options if word in (o.name, o.short)), None)


def _matching(current: str, pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """The pairs whose text starts with ``current``, as they are (each completion shows them safely)."""
    for value, meta in pairs:
        if value.startswith(current):
            yield value, meta
