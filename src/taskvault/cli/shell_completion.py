"""`taskvault __complete SHELL -- …`: the candidates a shell's completion script asks for at each Tab.

The scripts (commands/shell_scripts.py) say what is on the line; this prints what may come next, one
candidate a line, ``text<TAB>description`` (bash: the text alone), from cli/candidates.py: the same
engine the interactive session completes with. Or one line, ``:files`` or ``:directories``, where the
shell should complete a path itself.

It answers before any setting is checked or the resident process asked, and it never fails out loud:
a Tab must not print errors into the user's line. The store is only glanced at (service.peek_tasks):
never created, migrated, repaired or waited for; missing, busy or damaged, it offers no tasks.
"""

from __future__ import annotations

import os
import re

from .candidates import complete, wanted_path

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing)
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path
    from typing import TextIO

    from ..domain.tasklist import TaskList

#: The most candidates one Tab prints: a huge store's ids are not all worth a screen.
MOST_CANDIDATES = 1000
#: The longest description shown (a title is cut there, with an ellipsis).
DESCRIPTION_CHARS = 60


def answer(argv: list[str], out: TextIO) -> int:
    """Print the candidates for the line ``argv`` describes (the words after ``__complete``); 2 for a
    malformed request, silently."""
    if len(argv) < 2 or argv[0] not in ("bash", "zsh", "fish") or argv[1] != "--":
        return 2
    shell, rest = argv[0], argv[2:]
    if shell == "bash":
        if len(rest) != 2:
            return 2
        if not typed_plainly(rest[0]):
            return 0  # (nothing offered: see typed_plainly)
        words, current = split_line(rest[0])
        words = words[1:]  # (the program's name)
    else:
        words, current = rest[:-1], rest[-1] if rest else ""
    lines = list(_lines(shell, words, current, rest[1] if shell == "bash" else ""))
    try:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
    except OSError:
        return 1
    return 0


def _lines(shell: str, words: list[str], current: str, breaks: str) -> Iterator[str]:
    path = wanted_path(words, current)
    if path is not None:
        yield ":" + path
        return
    if shell != "bash":
        for text, description in candidates(words, current):
            yield f"{text}\t{description}"
        return
    # Readline puts a candidate in place of the text after the last of bash's word-break characters
    # (``breaks``: COMP_WORDBREAKS), which may start inside ``current`` (after a ':' or
    # '='): only the rest of each candidate goes there, quoted, since bash inserts it as it is.
    cut = max((current.rfind(c) for c in set(breaks) if not c.isspace()), default=-1) + 1
    for text, _ in candidates(words, current):
        yield bash_quoted(text[cut:])


#: The word being typed, as typed: escaped characters (a backslash and the next) and others up to a blank.
_TYPED_WORD = re.compile(r"(?:\\.|[^\s\\])*\Z", re.DOTALL)


def typed_plainly(line: str) -> bool:
    """True when the word being typed on bash's ``line`` holds no quote or backslash and no quote is open.

    Readline replaces a word typed with quotes or escapes by other rules than the ones it splits by
    (an escaped ``'`` is no word break, text inside an open quote is inserted raw), and a candidate put
    in the wrong place saves the wrong tag or title at Enter: for such a word bash is offered nothing,
    and the user types the rest. A plain prefix (``+it``) is completed, quoted (``+it\\'s``)."""
    import shlex

    try:
        shlex.split(line)
    except ValueError:  # an open quote, or a backslash at the end
        return False
    typed = _TYPED_WORD.search(line)
    return typed is None or not any(c in typed.group() for c in "'\"\\")


#: What bash reads as itself in a word (anything else is backslash-quoted): letters, digits and these.
_BASH_PLAIN = frozenset("_-.,:+/@%=^")


def bash_quoted(text: str) -> str:
    """``text`` as bash must be given it to read it back as one word, itself: ``$(id)`` stays text."""
    return "".join(c if c.isalnum() or c in _BASH_PLAIN else "\\" + c for c in text)


def candidates(words: Sequence[str], current: str) -> list[tuple[str, str]]:
    """At most MOST_CANDIDATES candidates, each safe to print as one line (a text a shell can insert as it
    is; a description made terminal-safe and cut short). The store is read only if a candidate needs it."""
    from itertools import islice

    from .text import terminal_safe

    loaded: list[TaskList | None] = []

    def tasks() -> TaskList | None:
        if not loaded:
            loaded.append(_peek(words))
        return loaded[0]

    try:
        found = list(islice(complete(words, current, tasks), MOST_CANDIDATES * 2))
    except Exception:  # noqa: BLE001 (a task the store cannot build: then no tasks; never a traceback at a Tab)
        found = list(islice(complete(words, current, lambda: None), MOST_CANDIDATES * 2))
    safe = []
    for text, description in found:
        if not text or terminal_safe(text) != text or any(c.isspace() for c in text) or text.startswith(":"):
            continue  # (a tag with a control character, say: never typed into a shell's line)
        shown = terminal_safe(description)
        if len(shown) > DESCRIPTION_CHARS:
            shown = shown[:DESCRIPTION_CHARS - 1] + "…"
        safe.append((text, shown))
    return safe[:MOST_CANDIDATES]


def _peek(words: Sequence[str]) -> TaskList | None:
    """The tasks of the store the line would use (its --data-dir, else the environment's, the config
    file's or the default), glanced at; None if there is none to read as it stands."""
    try:
        directory = _data_directory(words)
        if directory is None:
            return None
        from ..service import peek_tasks

        return peek_tasks(directory)
    except Exception:  # noqa: BLE001 (whatever the matter, a Tab offers no tasks and says nothing)
        return None


def _data_directory(words: Sequence[str]) -> Path | None:
    from ..commands.settings import DATA_DIR
    from . import config

    given = None
    for index, word in enumerate(words):
        if not word.startswith("-") or word == "--":
            break  # (taskvault's own options come before the command)
        if word == "--data-dir" and index + 1 < len(words):
            given = words[index + 1]
        elif word.startswith("--data-dir="):
            given = word.partition("=")[2]
    env = os.environ
    if given is None and not env.get(DATA_DIR.name, "").strip():
        from .config_file import read_config

        given = read_config(env).data_dir  # (a config file taskvault refuses: no tasks, as the command would run none)
    if given is not None and (not given.strip() or "\0" in given):
        return None
    return config.data_directory(config.GlobalOptions(data_dir=given), env)


def split_line(line: str) -> tuple[list[str], str]:
    """The words of a shell's ``line`` up to the cursor, as the shell would split them, and the word being
    typed ("" after a space); an open quote is taken as closed at the cursor."""
    import shlex

    for closing in ("", '"', "'"):
        try:
            words = shlex.split(line + "\x00" + closing)  # (the NUL marks where the cursor is)
        except ValueError:
            continue
        if words and words[-1].endswith("\x00"):
            return words[:-1], words[-1][:-1]
    return line.split(), ""
