"""What the program says reads right: titles quoted as the rest of the program quotes them, proper
plurals, and sentences that are true in the mode they are printed in (issue 15, item 11)."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import run_taskvault
from .tmux import Tmux


def _run(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    done = run_taskvault(data_dir, *args, stdin=stdin)
    assert done.code == 0, done
    return done.out


class TestHistoryQuotesTitles:
    def test_titles_are_in_double_quotes_never_python_escapes(self, data_dir: Path) -> None:
        """history shows `1 "Pay Bob's rent" → added`, not Python's `'Pay Bob\\'s rent'`."""
        _run(data_dir, "add", "Pay Bob's rent")
        _run(data_dir, "edit", "1", "--title", 'Pay "the" rent')
        history = _run(data_dir, "history")
        assert "add: 1 \"Pay Bob's rent\" → added" in history, history
        assert "edit: 1 \"Pay Bob's rent\" → title \"Pay \"the\" rent\"" in history, history
        assert "\\'" not in history and "'Pay" not in history

    def test_undo_quotes_titles_the_same_way(self, data_dir: Path) -> None:
        """undo names the task as history does: "Buy milk", not 'Buy milk'."""
        _run(data_dir, "add", "Buy milk")
        assert _run(data_dir, "undo") == "undo: add 1 \"Buy milk\" → removed\n"


class TestPlurals:
    def test_the_undo_question_says_1_step_and_2_steps(self, data_dir: Path, tmp_path: Path) -> None:
        """In the session, undo asks 'Undo 1 step:' and 'Undo 2 steps:', never 'step(s)'."""
        _run(data_dir, "add", "A")
        _run(data_dir, "add", "B")
        _run(data_dir, "done", "1", "2")
        terminal = Tmux("taskvault", columns=100, rows=40, data_dir=data_dir, state=tmp_path / "state")
        try:
            terminal.wait_for(lambda rows: any(r.startswith("taskvault>") for r in rows), "the prompt")
            terminal.type("undo", "Enter")
            rows = terminal.wait_for(lambda rows: any("[y/N]" in r for r in rows), "the question")
            terminal.type("n", "Enter")
            terminal.wait_for(lambda rows: any("Nothing undone." in r for r in rows), "the answer")
            terminal.type("undo 2", "Enter")
            rows = terminal.wait_for(lambda rows: sum("[y/N]" in r for r in rows) == 2, "the second question")
            terminal.type("n", "Enter")
        finally:
            terminal.close()
        assert "Undo 1 step:" in rows and "Undo 2 steps:" in rows, rows
        assert not any("(s)" in r for r in rows), rows

    def test_doctor_counts_one_other_name_and_one_change(self, data_dir: Path, tmp_path: Path) -> None:
        """doctor says '1 other name' of a hard-linked store file and '1 change of history'."""
        _run(data_dir, "add", "A")
        linked = min(p for p in data_dir.iterdir() if p.is_file() and p.suffix in (".json", ".journal"))
        os.link(linked, tmp_path / "second-name")
        out = run_taskvault(data_dir, "doctor").out
        assert f"{linked.name} has 1 other name " in out and "(1 change of history)" in out, out
        assert "(s)" not in out


class TestRestorePreview:
    def test_a_dry_run_says_what_it_would_do_in_a_sentence(self, data_dir: Path) -> None:
        """'would remove 1 task', and with several kinds 'would add 2 tasks, remove 1 and change 1'."""
        _run(data_dir, "add", "Kept")
        _run(data_dir, "backup", "before")
        _run(data_dir, "add", "Extra")
        preview = _run(data_dir, "restore", "before", "--dry-run").splitlines()
        assert preview[0].endswith(" would remove 1 task:") and preview[1] == "  - 2 Extra", preview
        _run(data_dir, "add", "Two")
        _run(data_dir, "add", "Three")
        _run(data_dir, "backup", "more")
        _run(data_dir, "delete", "3", "4", "--yes")
        _run(data_dir, "edit", "1", "--title", "Renamed")
        _run(data_dir, "add", "Five")
        preview = _run(data_dir, "restore", "more", "--dry-run").splitlines()
        assert preview[0].endswith(" would add 2 tasks, remove 1 and change 1:"), preview
        assert "0 added" not in preview[0] and "would change" not in preview[0]


class TestStats:
    def test_one_shot_stats_says_what_is_true_of_one_run(self, data_dir: Path) -> None:
        """One-shot, with no save: 'none since taskvault started', never 'in this session'."""
        _run(data_dir, "add", "A")
        out = _run(data_dir, "stats")
        assert "last save  none since taskvault started\n" in out and "session" not in out, out

    def test_a_script_counts_its_saves_with_a_plural_that_fits(self, data_dir: Path) -> None:
        """A script that saved once says '(1 save since taskvault started)'; twice, '(2 saves …)'."""
        assert "(1 save since taskvault started)" in _run(data_dir, stdin="add A\nstats\n")
        assert "(2 saves since taskvault started)" in _run(data_dir, stdin="add A\nadd B\nstats\n")
