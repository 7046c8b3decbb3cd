"""Bounded resources on hostile input: errors stay one short line, whatever the input.

The error of a command that names ten thousand missing ids, or quotes a word of a hundred
kilobytes, is one line of a few hundred characters that says what is wrong and how much.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import limits
from taskvault.commands.dispatch import split_line
from taskvault.errors import UsageError

from .conftest import run_taskvault, seed_store


def _one_short_line(err: str, most: int = 400) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) <= most, err[:1000]
    return err


class TestLineSplitting:
    """split_line reads words as shlex.split does, in time linear in the line (shlex: 11 s for a 1 MB word)."""

    @settings(max_examples=3000, deadline=None)
    @given(st.text(alphabet="ab '\"\\\t\r\n#é\u202e", max_size=40))
    def test_split_line_reads_as_a_posix_shell_does(self, text: str) -> None:
        """The same words as shlex.split, or the same error."""
        try:
            expected: list[str] | str = shlex.split(text)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: list[str] | str = split_line(text)
        except UsageError as exc:
            got = exc.message.removeprefix("cannot read the line: ")
        assert got == expected

    def test_long_words_are_split_whole(self) -> None:
        word = "x" * 2**20
        assert split_line(f'add "{word}" \'{word}\' {word}\\ y') == ["add", word, word, word + " y"]


class TestBoundedErrorMessages:
    def test_missing_ids_of_a_wide_range(self, data_dir: Path) -> None:
        """delete 1-9999 on a small store: one short line, the missing ids as ranges, and how many."""
        seed_store(data_dir)
        result = run_taskvault(data_dir, "delete", "1-9999")
        assert result.code == 1
        assert _one_short_line(result.err, 200).startswith("error: no tasks with ids 4-9999 (9996 in all)")

    def test_missing_ids_scattered(self, data_dir: Path) -> None:
        seed_store(data_dir)
        result = run_taskvault(data_dir, "done", *[str(n) for n in range(10, 4000, 2)])
        assert result.code == 1
        line = _one_short_line(result.err, 200)
        assert line.startswith("error: no tasks with ids 10, 12, 14, 16, 18, …") and "(1995 in all)" in line

    @pytest.mark.parametrize("words", [["delete", "1-10001"], ["done", "1-5000", "5001-10000", "10001"]])
    def test_ranges_and_counts_name_the_cap(self, data_dir: Path, words: list[str]) -> None:
        seed_store(data_dir)
        result = run_taskvault(data_dir, *words)
        assert result.code == 1 and f"at most {limits.MAX_IDS:,}" in _one_short_line(result.err)
        assert run_taskvault(data_dir, "delete", "5-1").err.startswith("error: '5-1' is not a usable range of ids: "
                                                                         "it ends before it starts")

    @pytest.mark.parametrize("words", [["show", "x" * 100_000], ["add", "x", "--due", "y" * 100_000],
                                       ["x" * 100_000], ["--" + "x" * 100_000], ["add", "x", "--" + "y" * 100_000],
                                       ["add", "x", "--tag", "a b" * 30_000], ["list", "--sort", "z" * 100_000],
                                       ["add", "x", "--priority", "p" * 100_000], ["backup", "n" * 100_000],
                                       ["show", "1", "2" * 100_000], ["undo", "8" * 100_000]])
    def test_a_long_word_is_quoted_short(self, data_dir: Path, words: list[str]) -> None:
        """An error that names a value the user gave quotes the start of it, never all of it."""
        seed_store(data_dir)
        result = run_taskvault(data_dir, *words)
        assert result.code in (1, 2), result
        _one_short_line(result.err)

    def test_a_long_setting_is_quoted_short(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "list", env={"TASKVAULT_LOCK_TIMEOUT": "9" * 100_000})
        assert result.code == 2 and "TASKVAULT_LOCK_TIMEOUT" in _one_short_line(result.err)
