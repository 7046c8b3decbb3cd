"""The fast ways of listing give exactly what the plain ways give: the same lines, the same tasks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault.cli.columns import column_widths, fit, plain_rows, table_row, text_width

#: Cells as a task table holds them: ASCII, accented, wide (two columns a character), empty.
_CELL = st.one_of(st.text("abc xyz-#19", max_size=30), st.text("aé☕日本 x", max_size=20),
                  st.sampled_from(["", "high", "2031-06-01", "Café au lait ☕", "日本語のタスク"]))


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[list[str]], int | None, int]:
    columns = draw(st.integers(2, 6))
    rows = draw(st.lists(st.lists(_CELL, min_size=columns, max_size=columns), min_size=1, max_size=12))
    width = draw(st.one_of(st.none(), st.integers(10, 160)))
    return rows, width, draw(st.integers(0, columns - 1))


class TestPlainRows:
    @settings(max_examples=300, deadline=None)
    @given(_tables())
    def test_plain_rows_are_the_lines_table_row_makes(self, table: tuple[list[list[str]], int | None, int]) -> None:
        """Every line plain_rows lays out is the line table_row lays out, at any width, cut or not."""
        rows, width, cut = table
        natural = column_widths(rows)
        layout = fit(natural, width, cut=cut, drop_order=list(range(len(natural)))[::-1])
        assert plain_rows(layout, natural, rows) == [table_row(layout, cells) for cells in rows]

    @settings(max_examples=200, deadline=None)
    @given(_tables())
    def test_column_widths_are_the_widest_cells(self, table: tuple[list[list[str]], int | None, int]) -> None:
        """column_widths measures each column as text_width measures its widest cell."""
        rows = table[0]
        assert column_widths(rows) == [max(map(text_width, column)) for column in zip(*rows, strict=True)]
