"""How far long work has got, on one line of standard error that the next update overwrites: only on a
terminal, never in scripts, pipes or --json (there, the result says it all; main.py decides).

Work that ends quickly shows nothing: the line appears only once the work has run DELAY seconds (from
its first report after the line was last cleared), and then changes at most _PER_SECOND times a second,
a new step at once. Writing it can never fail the work: a terminal that went away is ignored.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from .text import terminal_safe

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Callable

#: At most this many updates a second reach the terminal.
_PER_SECOND = 10
#: Seconds long work runs before its line appears.
DELAY = 0.5


def counted(what: str, done: int, total: int | None, unit: str = "tasks") -> str:
    """The line for ``done`` of ``total`` units: "restoring: 41,000 of 100,000 tasks (41 %)"."""
    if total is None:
        return f"{what}…" if done == 0 else f"{what}: {done:,} {unit}"
    percent = done * 100 // total if total else 100
    return f"{what}: {done:,} of {total:,} {unit} ({percent} %)"


class Progress:
    """Call it with a line of text to show it in place of the last (``""`` clears it); ``counting`` gives
    the (done, total) callback the service takes; ``clear`` takes the line away and starts the clock anew."""

    def __init__(self, err: TextIO, *, delay: float | None = None) -> None:
        self._err = err
        self._delay = DELAY if delay is None else delay
        self._shown = False
        self._last = 0.0
        #: When the work being shown first reported (None: since the last clear, none has).
        self._began: float | None = None
        #: The step last written (a counter's ``what``; None for plain text), which a new one replaces at once.
        self._step: str | None = None

    def __call__(self, text: str) -> None:
        if not text:
            self.clear()
        else:
            self._update(text, None)

    def counting(self, what: str, unit: str = "tasks") -> Callable[[int, int | None], None]:
        """A callback for the service: told (done, total), it shows ``counted(what, done, total, unit)``."""
        def report(done: int, total: int | None) -> None:
            try:
                self._update(counted(what, done, total, unit), what)
            except Exception:  # noqa: BLE001 (a courtesy must never fail the work it watches, a save least of all)
                return
        return report

    def _update(self, text: str, step: str | None) -> None:
        now = time.monotonic()
        if self._began is None:
            self._began = now
        if now - self._began < self._delay:
            return
        if self._shown and step == self._step and now - self._last < 1 / _PER_SECOND:
            return
        self._last, self._step = now, step
        self._write("\r\x1b[K" + self._fitted(terminal_safe(text)))
        self._shown = True

    def _fitted(self, text: str) -> str:
        """``text`` cut to one row of the terminal, less one column: a line that wrapped would leave its
        first rows behind when the next update rewrites only the last (``\r`` goes back one row)."""
        try:
            columns = os.get_terminal_size(self._err.fileno()).columns
        except (OSError, ValueError, AttributeError):  # (not a terminal, or closed: as it is)
            return text
        if columns < 2:
            return text
        from .columns import clip

        return clip(text, columns - 1)

    def _write(self, text: str) -> None:
        try:
            self._err.write(text)
            self._err.flush()
        except (OSError, ValueError):
            return  # progress is a courtesy: a terminal that went away (or a closed stream) must not fail the command

    def clear(self) -> None:
        """Take the line away (if it was shown); the next report starts the clock again."""
        self._began = self._step = None
        if self._shown:
            self._shown = False
            self._write("\r\x1b[K")
