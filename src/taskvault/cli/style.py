"""Terminal style: ANSI colour when it is wanted, and which colour says what."""

from __future__ import annotations

from ..domain.task import Priority

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

#: A task's priority, by colour: high stands out, low recedes.
PRIORITY_STYLE = {Priority.HIGH: ("red", "bold"), Priority.MEDIUM: ("yellow",), Priority.LOW: ("dim",)}
#: A doctor's finding: its word and colour.
LEVEL_STYLE = {"ok": ("ok", "green"), "warning": ("warning", "yellow"), "problem": ("PROBLEM", "red")}


class Style:
    """ANSI colour when enabled (a terminal without NO_COLOR), plain text otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"
