"""Bounded resources on hostile input: scripts are streamed within fixed limits, errors stay one short line.

A script is read a line at a time, and no line or script beyond the limits of taskvault.limits
is read whole. The programs run with a memory limit, so that a reader that grows without bound
fails the test instead of the machine. The error of a command that names ten thousand missing
ids, or quotes a word of a hundred kilobytes, is one line of a few hundred characters.
"""

from __future__ import annotations

import resource
import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import limits
from taskvault.commands.dispatch import split_line
from taskvault.errors import UsageError

from .conftest import Session, run_raw, run_taskvault, seed_store

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

MEMORY = 512 * 2**20


def _bounded_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _titles(data_dir: Path) -> list[str]:
    return [t.title for t in Session(data_dir).service.tasks.snapshot()[0]]


def _one_short_line(err: str, most: int = 400) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) <= most, err[:1000]
    return err


class TestScriptsAreStreamedWithinLimits:
    def test_a_script_of_endless_zeros(self, data_dir: Path) -> None:
        """--script /dev/zero: a device that never ends is refused before it is read (endless zeros on standard
        input are refused once a line passes the limit: the next test)."""
        result = run_raw(data_dir, "--script", "/dev/zero", preexec_fn=_bounded_memory)
        assert result.code == 2, result
        assert "a character device, not a file of commands" in _one_short_line(result.err)

    def test_standard_input_of_endless_zeros(self, data_dir: Path) -> None:
        with open("/dev/zero", "rb") as zeros:
            result = run_raw(data_dir, stdin=zeros.fileno(), preexec_fn=_bounded_memory)
        assert result.code == 2 and f"{limits.MAX_LINE_BYTES:,} bytes" in _one_short_line(result.err)

    @pytest.mark.parametrize("line", [b"add " + b"a" * 2**20, b"done " + b"1," * 2**19,
                                      b'add "' + b"a" * 2**20 + b'"', b"add " + b"\\a" * 2**19])
    def test_a_megabyte_line_is_refused_naming_the_limit(self, data_dir: Path, line: bytes) -> None:
        """The lines before it run, the line itself is refused with the limit, the lines after it do not run."""
        result = run_raw(data_dir, stdin=b"add Before\n" + line + b"\nadd After\n", preexec_fn=_bounded_memory)
        assert result.code == 2, result
        assert result.out == "Added task 1: Before\n"
        message = _one_short_line(result.err)
        assert message.startswith("line 2: error: ") and f"{limits.MAX_LINE_BYTES:,} bytes" in message

    def test_a_line_just_within_the_limit_is_read_whole(self, data_dir: Path, tmp_path: Path) -> None:
        """A line of exactly the limit is read (and here refused for its title, not for its length)."""
        script = tmp_path / "long.tv"
        script.write_bytes(b"add " + b"a" * (limits.MAX_LINE_BYTES - 4) + b"\r\n")
        result = run_raw(data_dir, "--script", str(script))
        assert result.code == 1 and "the title is" in _one_short_line(result.err)

    def test_a_script_over_the_size_limit_stops_there(self, data_dir: Path, tmp_path: Path) -> None:
        """Lines wholly within the limit run; the one that passes it is refused; none after it runs."""
        comment = b"#" + b"x" * (limits.MAX_LINE_BYTES - 2) + b"\n"
        count = limits.MAX_SCRIPT_BYTES // len(comment)
        script = tmp_path / "big.tv"
        with script.open("wb") as handle:
            handle.write(b"add First\n")
            for _ in range(count):
                handle.write(comment)
            handle.write(b"add Never\n")
        for args, stdin in ((["--script", str(script)], None), ([], script.read_bytes())):
            result = run_raw(data_dir, *args, stdin=stdin, preexec_fn=_bounded_memory)
            assert result.code == 2, result
            message = _one_short_line(result.err)
            assert message.startswith(f"line {count + 1}: error: ") and "64 MiB" in message
            assert result.out.startswith("Added task")
        assert _titles(data_dir) == ["First", "First"]

    def test_the_interactive_session_refuses_a_pasted_line_over_the_limit(self, data_dir: Path) -> None:
        """Lines that reach the runner by any other way are held to the same limit."""
        session = Session(data_dir)
        assert session.run("add " + "é" * (limits.MAX_LINE_BYTES // 2)) == 2
        assert f"{limits.MAX_LINE_BYTES:,} bytes" in session.err.getvalue()
        session.close()


class TestScriptLines:
    @pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"], ids=["crlf", "cr", "lf"])
    def test_any_line_ending(self, data_dir: Path, ending: bytes, tmp_path: Path) -> None:
        """Windows, old Mac and Unix line endings all end a line; none is part of a title."""
        script = ending.join([b"add A", b"add 'B C'", b"", b"done 1"]) + ending
        (tmp_path / "s.tv").write_bytes(script)
        assert run_raw(data_dir, stdin=script).code == 0
        assert run_raw(data_dir, "--script", str(tmp_path / "s.tv")).code == 0
        tasks = Session(data_dir).service.tasks.snapshot()[0]
        assert [(t.title, t.status.value) for t in tasks] == [("A", "done"), ("B C", "open"), ("A", "open"),
                                                               ("B C", "open")]

    def test_nul_bytes_are_refused_per_line(self, data_dir: Path) -> None:
        result = run_raw(data_dir, "--keep-going", stdin=b"add a\x00b\n\x00\nadd c\n")
        assert result.code == 1, result
        lines = result.err.splitlines()
        assert len(lines) == 2 and lines[0].startswith("line 1: error: the title contains a control character")
        assert lines[1] == "line 2: error: unknown command '\\x00' (run 'taskvault help' to see the commands)"
        assert "\x00" not in result.err and _titles(data_dir) == ["c"]


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

    @pytest.mark.parametrize("words", [["--x\ny"], ["list", "--x\ny"], ["add", "x", "--due", "a\nb"],
                                       ["--data-dir", "{file}", "add", "x"]])
    def test_an_error_is_one_line_whatever_it_quotes(self, tmp_path: Path, words: list[str]) -> None:
        """Newlines and escape sequences in what the user gave (here a file name) are shown escaped."""
        file = tmp_path / "no\nwhere\x1b[2J"
        file.write_text("not a directory")
        result = run_taskvault(tmp_path / "data", *[w.replace("{file}", str(file)) for w in words])
        assert result.code in (1, 2, 3), result
        assert "\x1b" not in _one_short_line(result.err)

    def test_a_long_setting_is_quoted_short(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "list", env={"TASKVAULT_LOCK_TIMEOUT": "9" * 100_000})
        assert result.code == 2 and "TASKVAULT_LOCK_TIMEOUT" in _one_short_line(result.err)
