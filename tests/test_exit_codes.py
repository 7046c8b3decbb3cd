"""Exit codes have one home each: an error's on its class, the others in exits.py; help and docs list exactly those."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from taskvault import errors, exits
from taskvault.cli.runner import exit_code
from taskvault.commands.help import EXIT_CODES

from .conftest import error_classes

ROOT = Path(__file__).resolve().parent.parent
#: Every document with a table of the exit codes ("| code | meaning |").
TABLES = [ROOT / "README.md", ROOT / "docs" / "troubleshooting.md", ROOT / "docs" / "commands.md"]


def _defined() -> set[int]:
    """Every exit status the program can end with: its error classes' and exits.py's."""
    constants = {value for name, value in vars(exits).items() if name.startswith("EXIT_")}
    return constants | {cls.exit_code for cls in error_classes()}


def _table(path: Path) -> list[int]:
    """The codes of the exit code table in ``path``, in order."""
    text = path.read_text(encoding="utf-8")
    start = re.search(r"^\| code \| meaning \|.*\n\|[- |]+\|\n", text, re.MULTILINE)
    assert start is not None, f"{path.name} has no exit code table"
    rows = text[start.end():].split("\n\n", 1)[0].splitlines()
    return [int(re.match(r"\| (\d+) \|", row).group(1)) for row in rows]  # type: ignore[union-attr]


class TestOneHome:
    def test_help_lists_exactly_the_codes_the_program_defines(self) -> None:
        """taskvault help's exit codes are the error classes' and exits.py's, each once."""
        codes = [code for code, _ in EXIT_CODES]
        assert len(codes) == len(set(codes)) and set(codes) == _defined()

    @pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
    def test_each_doc_lists_exactly_the_codes_the_program_defines(self, path: Path) -> None:
        """A doc's exit code table has one row per exit status the program defines, and no other."""
        assert _table(path) == [code for code, _ in EXIT_CODES]

    def test_each_troubleshooting_section_gives_its_classes_their_codes(self) -> None:
        """An error class explained under "(exit N)" in docs/troubleshooting.md ends a run with N."""
        text = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
        checked = 0
        for heading, body in re.findall(r"^## [^\n]*\(exit ([\d a-z]+)\)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL):
            codes = {int(n) for n in re.findall(r"\d+", heading)}
            for name in re.findall(r"^`(\w+)` \[`\w+`\]", body, re.MULTILINE):
                assert getattr(errors, name).exit_code in codes, f"{name} is under (exit {heading})"
                checked += 1
        assert checked >= 10, "the troubleshooting sections were not found"


class TestErrorClasses:
    @pytest.mark.parametrize("error", error_classes(), ids=lambda c: c.__name__)
    def test_the_runner_exits_with_the_code_of_the_class(self, error: type[errors.TaskvaultError]) -> None:
        """The runner reads an error's exit code from its class; a family's members share the family's code."""
        instance = error.__new__(error)
        assert exit_code(instance) == error.exit_code
        families = {errors.UsageError: 2, errors.UserError: 1, errors.StorageError: 3}
        for family, code in families.items():
            if issubclass(error, family):
                assert error.exit_code == code

    def test_output_that_failed_ends_with_74_or_141_when_the_reader_went_away(self) -> None:
        """A full disk is exit 74; a reader gone (| head) is 141, the shell's code for SIGPIPE."""
        assert errors.OutputFailed(OSError(errno.ENOSPC, "No space left on device")).exit_code == 74
        assert errors.OutputFailed(OSError(errno.EPIPE, "Broken pipe")).exit_code == 141
