"""Tables fit the terminal at every width from 30 columns up, and a small terminal keeps its prompt.

The fitting itself is checked in-process at every width 30..200; the screens on real terminals
(tmux) of 30, 40 and 60 columns, one-shot and in the session.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskvault.cli.columns import GAP, fit, text_width
from taskvault.cli.render import Style

from .conftest import Session, run_taskvault, seed_store
from .tmux import Tmux

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

LONG = "Renew the passport before the summer holidays and book the photo booth"
#: Titles and tags that are long, wide (two columns a character) or both; a backup with a long name;
#: a bulk change and an undone one, so that history has long lines and marks.
LINES = (f"add {LONG!r} --tag paperwork --tag travel --tag family --priority medium --due 2031-06-01",
         "add 'Café au lait ☕' --tag ☕", "add 日本語のタスクのタイトルはとても長いです --priority high",
         "add Short", "done 2 3", "edit 1 --title 'Renew the passport, then book the photo booth downtown'",
         "delete 4 --yes", "undo", "backup a-rather-long-name-for-the-release", "backup")
COMMANDS = ("list", "list --all", "history", "backups")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("narrow") / "data"
    seed_store(directory, LINES)
    return directory


class TestFitting:
    @pytest.mark.parametrize("colour", [False, True])
    def test_every_table_fits_every_width_from_30_to_200(self, store: Path, colour: bool) -> None:
        """Each line of list, history and backups is at most the width, in colour or not, at 30..200."""
        session = Session(store)
        session.runner.style = Style(colour)
        try:
            for width in range(30, 201):
                session.runner.width = width
                for command in COMMANDS:
                    assert session.run(command) == 0, session.err.getvalue()
                    for line in ANSI.sub("", session.out.getvalue()).splitlines():
                        assert text_width(line) <= width, (width, command, line)
        finally:
            session.close()

    def test_titles_are_cut_with_an_ellipsis_and_low_value_columns_go_first(self, store: Path) -> None:
        """At 40 columns list drops Tags and Pri before cutting the title below 15; at 30 only ID and
        Title remain; the ids are always shown."""
        session = Session(store)
        try:
            session.runner.width = 40
            assert session.run("list --all") == 0
            lines = session.out.getvalue().splitlines()
            assert lines[0].split() == ["ID", "Status", "Due", "Title"]
            assert lines[1] == " 1  open    2031-06-01  Renew the passp…"
            session.runner.width = 30
            assert session.run("list --all") == 0
            lines = session.out.getvalue().splitlines()
            assert lines[0].split() == ["ID", "Title"] and [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
        finally:
            session.close()

    def test_no_width_cuts_nothing(self, store: Path) -> None:
        """Output to a pipe (no width known) keeps every column and whole titles."""
        out = run_taskvault(store, "list", "--all").out
        assert "Renew the passport, then book the photo booth downtown" in out and "family paperwork travel" in out

    def test_columns_in_a_pipe_is_a_known_width(self, store: Path) -> None:
        """COLUMNS=40 on a pipe fits its tables to 40 columns."""
        out = run_taskvault(store, "list", "--all", env={"COLUMNS": "40"}).out
        assert out and all(text_width(line) <= 40 for line in out.splitlines()), out

    @given(natural=st.lists(st.integers(1, 80), min_size=2, max_size=7), data=st.data())
    def test_fit_always_fits_and_keeps_the_cut_column(self, natural: list[int], data: st.DataObject) -> None:
        """Whatever the columns, the layout fits the width, keeps the cut column and drops only droppable ones."""
        cut = data.draw(st.integers(0, len(natural) - 1))
        droppable = data.draw(st.permutations([i for i in range(len(natural)) if i != cut]))
        drops = droppable[: data.draw(st.integers(0, len(droppable)))]
        width = data.draw(st.integers(30, 200))
        layout = fit(natural, width, cut=cut, drop_order=drops)
        assert sum(layout.widths) + GAP * (len(layout.columns) - 1) <= width  # (7 columns of 1 fit in 30)
        assert cut in layout.columns and set(range(len(natural))) - set(layout.columns) <= set(drops)
        assert all(w <= natural[i] for i, w in zip(layout.columns, layout.widths, strict=True))
        if sum(natural) + GAP * (len(natural) - 1) <= width:
            assert layout.columns == tuple(range(len(natural))) and list(layout.widths) == natural


def _fits(terminal: Tmux, width: int) -> list[str]:
    """The screen's rows, after checking none is wider than the terminal and none was wrapped. The two captures
    compared are taken from a still screen (the same rows before and after them): a session may redraw its
    prompt and toolbar between two captures, which is no wrapping."""
    deadline = time.monotonic() + 10
    while True:
        rows, joined, again = terminal.rows(), terminal.rows(joined=True), terminal.rows()
        if rows == again or time.monotonic() > deadline:
            break
    assert joined == rows, "a line was wrapped by the terminal"
    assert all(text_width(row) <= width for row in rows), rows
    return rows


@pytest.mark.parametrize("width", [30, 40, 60])
class TestRealTerminal:
    def test_one_shot_tables_fit(self, store: Path, tmp_path: Path, width: int) -> None:
        """list, history and backups run one-shot on a terminal of 30/40/60 columns wrap no line."""
        command = "; ".join(f"taskvault {c}" for c in COMMANDS)
        terminal = Tmux(command, columns=width, rows=80, data_dir=store, state=tmp_path / "state")
        try:
            rows = terminal.wait_for(lambda rows: any(r.startswith("[exit") for r in rows), "the commands to end")
            assert "[exit 0]" in rows and any(r.endswith("…") for r in rows)
            _fits(terminal, width)
        finally:
            terminal.close()

    def test_session_tables_fit(self, store: Path, tmp_path: Path, width: int) -> None:
        """The same tables in the interactive session wrap no line either, its banner included."""
        terminal = Tmux("taskvault", columns=width, rows=80, data_dir=store, state=tmp_path / "state")
        try:
            terminal.wait_for(lambda rows: any(r.startswith("taskvault>") for r in rows), "the prompt")
            for number, command in enumerate(COMMANDS, 2):
                terminal.type(command, "Enter")
                terminal.wait_for(lambda rows, n=number: sum(r.startswith("taskvault>") for r in rows) >= n,
                                  f"the prompt after {command}")
            rows = _fits(terminal, width)
            assert any("backups in" in r for r in rows) or any(r.startswith("2 backups") for r in rows), rows
        finally:
            terminal.close()

    def test_completion_menu_on_8_rows_keeps_the_prompt(self, store: Path, tmp_path: Path, width: int) -> None:
        """On a terminal of 8 rows, opening the completion menu (Tab) shows the menu, never 'Window too small'."""
        terminal = Tmux("taskvault", columns=width, rows=8, data_dir=store, state=tmp_path / "state")
        try:
            terminal.wait_for(lambda rows: any(r.startswith("taskvault>") for r in rows), "the prompt")
            terminal.type("reopen ", "Tab")
            rows = terminal.wait_for(lambda rows: any("Café" in r for r in rows) or any("too small" in r for r in rows),
                                     "the completion menu")
            assert not any("Window too small" in r for r in rows), rows
            assert any(r.startswith("taskvault> reopen") for r in rows), rows
        finally:
            terminal.close()
