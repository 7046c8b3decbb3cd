"""How far long work has got, on one line of standard error that the next update overwrites: only on a
terminal, never in scripts, pipes or --json (there, the result says it all)."""

from __future__ import annotations

import time
from typing import TextIO

from .text import terminal_safe

#: At most this many updates a second reach the terminal.
_PER_SECOND = 10


class Progress:
    """Call it with a line of text to show it in place of the last; ``clear`` takes it away."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._shown = False
        self._last = 0.0

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if text and self._shown and now - self._last < 1 / _PER_SECOND:
            return
        self._last = now
        try:
            self._err.write("\r\x1b[K" + terminal_safe(text))
            self._err.flush()
        except OSError:
            return  # progress is a courtesy: a terminal that went away must not fail the command
        self._shown = bool(text)

    def clear(self) -> None:
        if self._shown:
            self("")
