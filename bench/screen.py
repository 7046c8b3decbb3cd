"""The interactive session's time to prompt and to loaded, read from the screen a person would see.

prompt_toolkit redraws only the cells that changed and moves the cursor over the rest, so the
toolbar's "1,000 open · 200 done" never appears as one run of bytes in the output (the old pattern
failed whenever the data-dir path made the redraw skip cells). Here the output is played into a
small screen (rows of cells, the cursor movements and erasures prompt_toolkit uses), and the marks
are looked for in the screen's rows, as they are shown.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect

#: One escape sequence: CSI (ESC [ params final), OSC (ESC ] … BEL or ST), or a two-byte ESC x.
_ESCAPE = re.compile(r"\x1b\[([0-9;?<=>]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[@-_]")
CPR_REQUEST = "\x1b[6n"
#: The old bench's pattern on the raw bytes, kept to show how often it would have matched.
OLD_LOADED = re.compile(r"\d+ open[^\n]{0,12}done")


class Screen:
    """Enough of a VT100 for prompt_toolkit's output: cells, cursor moves, erase line and display."""

    def __init__(self, rows: int, columns: int) -> None:
        self.rows, self.columns = rows, columns
        self.cells = [[" "] * columns for _ in range(rows)]
        self.row = self.column = 0

    def feed(self, text: str) -> None:
        position = 0
        for match in _ESCAPE.finditer(text):
            self._print(text[position:match.start()])
            position = match.end()
            if match.group(2):
                self._csi(match.group(1), match.group(2))
        self._print(text[position:])

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells]

    def text(self) -> str:
        return "\n".join(self.lines())

    def _clamp(self) -> None:
        self.row = max(0, min(self.rows - 1, self.row))
        self.column = max(0, min(self.columns - 1, self.column))

    def _print(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.column = 0
            elif char == "\n":
                if self.row == self.rows - 1:
                    self.cells.pop(0)
                    self.cells.append([" "] * self.columns)
                else:
                    self.row += 1
            elif char == "\b":
                self.column = max(0, self.column - 1)
            elif char >= " " and char != "\x7f":
                if self.column < self.columns:
                    self.cells[self.row][self.column] = char
                self.column += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return  # modes (cursor shown, wrap …)
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        n = numbers[0] if numbers and numbers[0] else 1
        if final == "A":
            self.row -= n
        elif final == "B":
            self.row += n
        elif final == "C":
            self.column += n
        elif final == "D":
            self.column -= n
        elif final in "Hf":
            self.row = (numbers[0] if numbers and numbers[0] else 1) - 1
            self.column = (numbers[1] if len(numbers) > 1 and numbers[1] else 1) - 1
        elif final == "G":
            self.column = n - 1
        elif final == "d":
            self.row = n - 1
        elif final == "K":
            mode = numbers[0] if numbers else 0
            row = self.cells[min(self.row, self.rows - 1)]
            span = range(min(self.column, self.columns), self.columns) if mode == 0 else (
                range(min(self.column + 1, self.columns)) if mode == 1 else range(self.columns))
            for c in span:
                row[c] = " "
        elif final == "J":
            mode = numbers[0] if numbers else 0
            if mode == 0:
                self._csi("0", "K")
                for r in range(self.row + 1, self.rows):
                    self.cells[r] = [" "] * self.columns
            elif mode == 2:
                self.cells = [[" "] * self.columns for _ in range(self.rows)]
        else:
            return
        self._clamp()


def time_until(args: list[str], env: dict[str, str], marks: list[re.Pattern[str]], *, rows: int = 30,
               columns: int = 120, timeout: float = 60.0) -> tuple[list[float], bool]:
    """Seconds from spawn until each of ``marks`` (in order) is on the screen, and whether OLD_LOADED
    ever matched the raw output. Answers prompt_toolkit's cursor-position requests as a terminal does."""
    started = time.perf_counter()
    child = pexpect.spawn(args[0], args[1:], env=env, dimensions=(rows, columns), encoding="utf-8",
                          timeout=timeout)
    screen = Screen(rows, columns)
    raw = ""
    found: list[float] = []
    try:
        while len(found) < len(marks):
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"{' '.join(args)}: {marks[len(found)].pattern!r} not on the screen after "
                                 f"{timeout:.0f} s; the screen:\n{screen.text()}")
            try:
                chunk = child.read_nonblocking(65536, timeout=1)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise SystemExit(f"{' '.join(args)} ended before {marks[len(found)].pattern!r}; the screen:\n"
                                 f"{screen.text()}") from None
            now = time.perf_counter() - started
            raw += chunk
            if CPR_REQUEST in chunk:
                child.send(f"\x1b[{screen.row + 1};{screen.column + 1}R")
            screen.feed(chunk)
            shown = screen.text()
            while len(found) < len(marks) and marks[len(found)].search(shown):
                found.append(now)
    finally:
        child.terminate(force=True)
    return found, bool(OLD_LOADED.search(raw))


PROMPT = re.compile(r"taskvault>")
LOADED = re.compile(r"[\d,]+ open · [\d,]+ done")


def repl_ready(taskvault: str, data_dir: str, state_dir: str, runs: int) -> dict[str, object]:
    """Time to prompt and to loaded (the toolbar's counts) of the interactive session, ``runs`` times, each
    paired with a reference started the same way: a bare Python printing the prompt in a pseudo-terminal
    (the targets are absolute; the pair shows how loaded the machine was)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
    env.update(TERM="xterm", XDG_STATE_HOME=state_dir, XDG_DATA_HOME=state_dir)
    bare = [sys.executable, "-I", "-c", "print('taskvault> ')"]
    prompt, loaded, reference, old = [], [], [], 0
    for n in range(runs):
        if n % 2:
            reference.append(time_until(bare, env, [PROMPT])[0][0])
        (first, second), matched = time_until([taskvault, "--data-dir", data_dir], env, [PROMPT, LOADED])
        if n % 2 == 0:
            reference.append(time_until(bare, env, [PROMPT])[0][0])
        prompt.append(first)
        loaded.append(second)
        old += matched
    return {"prompt": prompt, "loaded": loaded, "reference": reference, "old_pattern_matched": old}
