"""Terminal style: ANSI colour when it is wanted, and which colour says what (the theme).

A theme maps what is highlighted (a *role*: ``overdue``, ``header``, ``priority_high``…) to a style
written in a small vocabulary: words from STYLE_WORDS separated by spaces (``"bold red"``,
``"yellow underline"``, ``"on_blue white"``), or ``"none"``. The config file's ``[theme]`` table
replaces any of DEFAULT_THEME's entries (cli/config_file.py checks it with parse_style).

The defaults read on dark and on light terminals: foreground colours from the terminal's own
palette, bold, dim, underline and reverse video; never a fixed background, which vanishes into one
kind of terminal or the other (Taskwarrior's default active task is white on orange, a 256-colour
background: here an active task is shown in reverse video, the terminal's own colours swapped, the
same "this is a bar" look on either background).
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Mapping

_BASIC = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
#: Every word a style may use, and its SGR code: the 8 basic colours, their bright_ forms, on_ (and
#: on_bright_) backgrounds, and the attributes terminals agree on.
STYLE_WORDS: dict[str, str] = {
    "bold": "1", "dim": "2", "italic": "3", "underline": "4", "reverse": "7",
    **{name: str(30 + i) for i, name in enumerate(_BASIC)},
    **{f"bright_{name}": str(90 + i) for i, name in enumerate(_BASIC)},
    **{f"on_{name}": str(40 + i) for i, name in enumerate(_BASIC)},
    **{f"on_bright_{name}": str(100 + i) for i, name in enumerate(_BASIC)},
}
_FOREGROUNDS = frozenset((*_BASIC, *(f"bright_{name}" for name in _BASIC)))

#: What each role looks like unless the config file's [theme] says otherwise. The row states come
#: first, in their precedence (ROW_STATES); then what is coloured inside a row, and messages.
DEFAULT_THEME: dict[str, str] = {
    "done": "dim",            # a finished task recedes (Taskwarrior: completed, the highest rule)
    "active": "reverse",      # started: the loudest, as Taskwarrior's filled bar (see above)
    "overdue": "bold red",
    "due_today": "magenta",   # not yellow: yellow text is all but invisible on a light background
    "blocked": "underline",   # open but waiting on another task: marked, but not receding
    "waiting": "dim",         # hidden until its wait date: receding
    "conflict": "bold magenta",  # changed on two devices (sync): the user must choose (it goes first: ROW_STATES)
    "priority_high": "bold red",
    "priority_medium": "yellow",
    "priority_low": "dim",
    "tags": "cyan",
    "header": "bold",
    "error": "red",
    "warning": "yellow",
    "ok": "green",
}
#: The states a task's row can be in, highest precedence first: a row takes the style of the first
#: that holds (Taskwarrior's rule.precedence.color: completed, active, …, overdue, …, due.today, …,
#: blocked; waiting, which Taskwarrior hides and does not colour, comes last). A task in conflict (sync)
#: comes first: nothing else can be done with it until it is resolved.
ROW_STATES = ("conflict", "done", "active", "overdue", "due_today", "blocked", "waiting")
THEME_KEYS = tuple(DEFAULT_THEME)
#: A task's priority (as stored), by its role: high stands out, low recedes.
PRIORITY_STYLE = {"high": "priority_high", "medium": "priority_medium", "low": "priority_low"}
#: A doctor's finding: its word and its role.
LEVEL_STYLE = {"ok": ("ok", "ok"), "warning": ("warning", "warning"), "problem": ("PROBLEM", "error")}


def parse_style(value: str) -> str:
    """The SGR codes of a style (``"bold red"`` → ``"1;31"``; ``"none"`` → ``""``), or ValueError saying why not."""
    words = value.split()
    if words == ["none"]:
        return ""
    if not words:
        raise ValueError("is empty")
    for word in words:
        if word == "none":
            raise ValueError("'none' stands alone: it cannot go with other words")
        if word not in STYLE_WORDS:
            raise ValueError(f"{word!r} is not a style word")
    if len(set(words)) < len(words):
        raise ValueError("names a word twice")
    foregrounds = [w for w in words if w in _FOREGROUNDS]
    backgrounds = [w for w in words if w.startswith("on_")]
    if len(foregrounds) > 1:
        raise ValueError("names two colours (one at most)")
    if len(backgrounds) > 1:
        raise ValueError("names two backgrounds (one at most)")
    return ";".join(STYLE_WORDS[w] for w in words)


class Style:
    """ANSI colour when enabled (settled by cli/config.py's colour rule), plain text otherwise.

    ``style(text, *names)``: each name is a role of the theme (``overdue``) or a style word (``bold``).
    """

    def __init__(self, enabled: bool, theme: Mapping[str, str] | None = None) -> None:
        self.enabled = enabled
        codes = {role: parse_style(value) for role, value in DEFAULT_THEME.items()}
        if theme:
            codes.update((role, parse_style(value)) for role, value in theme.items())
        #: Each role's SGR codes ("" for none), and each style word's.
        self.codes: dict[str, str] = {**STYLE_WORDS, **codes}

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(code for s in styles if (code := self.codes[s]))
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text
