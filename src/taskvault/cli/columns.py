"""Fitting a table to the terminal's width: one column is cut with an ellipsis, low-value ones are dropped.

Every table in render_text lays its columns out here, so that each one fits the same way at every
width from 30 columns up. ``None`` as the width (a pipe, a file) keeps every column whole.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..commands.settings import COLUMNS

#: Spaces between two columns.
GAP = 2
#: A cut column keeps at least this many columns (or its whole text, when shorter) before
#: another column is dropped to make room for it.
LEAST_CUT = 15


def table_width(stream: Any, env: Mapping[str, str]) -> int | None:
    """The width tables must fit on ``stream``: a terminal's own width (what it is now, even if an
    exported COLUMNS says otherwise), else COLUMNS when it is set, else None (never cut)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (OSError, ValueError, AttributeError):  # no descriptor (a test's StringIO), or not a terminal after all
        columns = 0
    if columns > 0:
        return columns
    given = env.get(COLUMNS.name, "").strip()
    return int(given) if given.isascii() and given.isdigit() and 0 < int(given) <= 100_000 else None


def page_rows(stream: Any) -> int | None:
    """How many task rows fit a terminal's height, below a heading and above a summary and the prompt; None
    when ``stream`` is no terminal (a pipe takes every row)."""
    try:
        lines = os.get_terminal_size(stream.fileno()).lines if stream.isatty() else 0
    except (OSError, ValueError, AttributeError):
        lines = 0
    return max(lines - 3, 1) if lines > 0 else None


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide characters take two; ASCII is one each."""
    if text.isascii():  # what wcswidth says too (it gives up on control characters: len then)
        return len(text)
    width = _wcswidth()(text)
    return len(text) if width < 0 else width


@functools.cache
def _wcswidth() -> Callable[[str], int]:
    """wcwidth's wcswidth, imported once (~25 ms): only a table with non-ASCII text pays for it."""
    from wcwidth import wcswidth

    return wcswidth


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The widest cell of each column of ``rows`` (each a row of cells), in terminal columns.

    A column whose text is all ASCII is measured by len alone, at C speed; in a column holding other
    text, only the cells that hold it are measured one by one (text_width of ASCII is its len).
    """
    widths = []
    for column in zip(*rows, strict=True):
        if all(map(str.isascii, column)):
            widths.append(max(map(len, column)))
        else:
            ascii_widest = max(map(len, filter(str.isascii, column)), default=0)
            widths.append(max(ascii_widest, *map(text_width, itertools.filterfalse(str.isascii, column))))
    return widths


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns."""
    return text + " " * (width - text_width(text))


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, an ellipsis marking the cut."""
    if text_width(text) <= width:
        return text
    if text.isascii():
        return text[:max(width - 1, 0)] + "…"
    out = ""
    for ch in text:
        if text_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def fold(text: str, width: int | None) -> str:
    """A line of prose (a table's summary) broken at spaces into lines of at most ``width`` columns."""
    if width is None or text_width(text) <= width:
        return text
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


class Layout:
    """The columns a table shows (their indices, in order) and the width each is given."""

    __slots__ = ("columns", "widths")

    def __init__(self, columns: tuple[int, ...], widths: tuple[int, ...]) -> None:
        self.columns = columns
        self.widths = widths

    def __repr__(self) -> str:
        return f"Layout(columns={self.columns!r}, widths={self.widths!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layout) and (self.columns, self.widths) == (other.columns, other.widths)

    def __hash__(self) -> int:
        return hash((self.columns, self.widths))

    def cells(self, row: Sequence[str]) -> list[tuple[int, str, int]]:
        """(column index, text cut to fit, width) for each column shown."""
        return [(i, clip(row[i], w), w) for i, w in zip(self.columns, self.widths, strict=True)]


def fit(natural: Sequence[int], width: int | None, *, cut: int, drop_order: Sequence[int] = (),
        least: int = LEAST_CUT) -> Layout:
    """The layout of columns whose widest cells are ``natural`` wide, in at most ``width`` columns.

    Column ``cut`` (the title) gives up width first, down to ``least`` columns; then the columns of
    ``drop_order`` are dropped one by one, first the least useful; when nothing is left to drop,
    the cut column takes what remains and the widest columns are cut too, so the table always fits.
    """
    kept = list(range(len(natural)))
    if width is None:
        return Layout(tuple(kept), tuple(natural))
    drops = [i for i in drop_order if i != cut]
    least = min(least, natural[cut])
    while True:
        widths = {i: natural[i] for i in kept}
        others = sum(w for i, w in widths.items() if i != cut) + GAP * (len(kept) - 1)
        if others + widths[cut] <= width:
            break
        if width - others >= least or not drops:
            widths[cut] = max(1, width - others)
            break
        dropped = drops.pop(0)
        if dropped in kept:
            kept.remove(dropped)
    while sum(widths.values()) + GAP * (len(kept) - 1) > width and max(widths.values()) > 1:
        widest = max(kept, key=lambda i: widths[i])
        widths[widest] -= 1
    return Layout(tuple(kept), tuple(widths[i] for i in kept))


def table_row(layout: Layout, cells: list[str], styles: list[tuple[str, ...]] | None = None,
        style: Callable[..., str] | None = None, *, right: int = 0) -> str:
    """One line of a table: the columns ``layout`` keeps, each cut and padded to its width
    (column ``right`` aligned right), styled after it is measured."""
    parts = []
    for i, text, width in layout.cells(cells):
        if i == right:
            padded = text.rjust(width) if text.isascii() else " " * (width - text_width(text)) + text
        else:
            padded = text.ljust(width) if text.isascii() else pad(text, width)
        parts.append(style(padded, *styles[i]) if style and styles and styles[i] else padded)
    return "  ".join(parts).rstrip()


def plain_rows(layout: Layout, natural: Sequence[int], rows: Sequence[Sequence[str]], *, right: int = 0) -> list[str]:
    """table_row(layout, cells, right=right) of each of ``rows`` (unstyled), whose widest cells are ``natural``.

    The same lines, built faster: when no kept column is cut, a row of ASCII text is laid out by one
    format string at C speed; any other row (wide characters, or a column cut to fit) by table_row.
    """
    if any(natural[i] > w for i, w in zip(layout.columns, layout.widths, strict=True)):
        return [table_row(layout, list(cells), right=right) for cells in rows]
    shape = GAP * " "
    shape = shape.join(f"{{{i}:{'>' if i == right else '<'}{w}}}" for i, w in zip(layout.columns, layout.widths,
                                                                                    strict=True))
    line = shape.format
    kept = [(i, w, i == right) for i, w in zip(layout.columns, layout.widths, strict=True)]
    return [line(*cells).rstrip() if "".join(cells).isascii() else _wide_row(kept, cells) for cells in rows]


def _wide_row(kept: list[tuple[int, int, bool]], cells: Sequence[str]) -> str:
    """A row holding non-ASCII text, none of it cut: each cell padded by the columns it takes."""
    parts = []
    for i, width, right in kept:
        text = cells[i]
        space = " " * (width - (len(text) if text.isascii() else text_width(text)))
        parts.append(space + text if right else text + space)
    return "  ".join(parts).rstrip()


__all__ = ["GAP", "Layout", "clip", "column_widths", "fit", "fold", "pad", "plain_rows", "table_row", "text_width"]
