"""taskvault(1) is what its generator writes from the registry, and groff, mandoc and man read it without a warning."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taskvault import __version__
from taskvault.cli import manpage
from taskvault.commands.catalog import COMMANDS
from taskvault.commands.help import EXIT_CODES
from taskvault.commands.settings import ENVIRONMENT, GLOBAL_OPTIONS

from .conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "share" / "man" / "man1" / "taskvault.1"
#: Debian's package of each tool the page is read with.
_PACKAGES = {"groff": "groff-base", "man": "man-db", "mandoc": "mandoc"}


def _tool(name: str) -> str:
    """The path of ``name``; skip without it, unless CI said every tool must be there."""
    return require_tool(name, _PACKAGES[name])


def _groff(source: str, device: str) -> subprocess.CompletedProcess[str]:
    """``source`` formatted by groff's man macros for ``device``, every warning on (-ww)."""
    return subprocess.run([_tool("groff"), "-man", f"-T{device}", "-ww"], input=source, capture_output=True,
                          text=True, env={**os.environ, "LC_ALL": "C.UTF-8"})


def _rendered() -> str:
    """The committed page as man shows it on an 80-column terminal, without a pager."""
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"}
    result = subprocess.run([_tool("man"), "-l", str(PAGE)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


class TestGenerated:
    def test_the_committed_page_is_what_the_generator_writes(self) -> None:
        """share/man/man1/taskvault.1 is byte for byte the generator's output: a changed command changes the page."""
        generated = subprocess.run([sys.executable, "-m", "taskvault.cli.manpage"], capture_output=True,
                                   check=True).stdout
        assert generated == manpage.page().encode("utf-8")
        assert PAGE.read_bytes() == generated, f"share/man/man1/taskvault.1 is stale: run {manpage.REGENERATE}"

    def test_the_page_names_the_version_and_the_release_date_the_changelog_gives(self) -> None:
        """The header carries __version__ as generated, and the date of that version's changelog heading."""
        header = next(line for line in manpage.page().splitlines() if line.startswith(".TH "))
        assert header == f'.TH TASKVAULT 1 {manpage.RELEASED} "taskvault {__version__}" "User Commands"'
        changelog = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
        assert f"\n## {__version__} — {manpage.RELEASED}\n" in changelog, (
            f"docs/changelog.md has no heading '## {__version__} — {manpage.RELEASED}': set manpage.RELEASED to "
            f"the day {__version__} was released, then run {manpage.REGENERATE}")


class TestEscaping:
    TRICKY = (".TH not a request\n'also not one\na back\\slash, --data-dir, -h, 3-6, it's `x`, "
              "mon…sun · a → b × 2 — c\n.")

    def test_every_line_of_text_is_a_text_line(self) -> None:
        """A line starting with . or ' is escaped, so roff never takes words of a help text as a request."""
        lines = manpage.escape(self.TRICKY).splitlines()
        assert not [line for line in lines if line.startswith((".", "'"))]
        assert not [line for line in manpage._fill(manpage.escape(self.TRICKY)).splitlines() if line.startswith(".")]

    def test_what_roff_prints_is_the_text_as_typed(self) -> None:
        """groff prints the escaped text as it was written: ASCII minus signs and quotes, copyable into a shell."""
        source = f'.TH T 1 2026-01-01\n.SH NAME\nt \\- t\n.SH X\n.nf\n{manpage.escape(self.TRICKY)}\n.fi\n'
        result = _groff(source, "utf8")
        assert result.stderr == ""
        text = re.sub(r".\x08", "", result.stdout)  # (overstrike bold and underline)
        assert ".TH not a request\n" in text
        assert "'also not one\n" in text
        assert "a back\\slash, --data-dir, -h, 3-6, it's `x`, mon...sun – a → b × 2 — c\n       .\n" in text

    def test_any_other_character_is_written_by_its_code_point(self) -> None:
        """A character the table does not name still reaches a UTF-8 terminal as itself."""
        assert manpage.escape("café ☕") == "caf\\[u00E9] \\[u2615]"
        source = f'.TH T 1 2026-01-01\n.SH NAME\nt \\- t\n.SH X\n{manpage.escape("café ☕")}\n'
        result = _groff(source, "utf8")
        assert result.stderr == ""
        assert "café ☕" in result.stdout

    def test_characters_that_are_not_ascii_have_an_ascii_form(self) -> None:
        """On a terminal that cannot show them (-Tascii), the program's typographic characters print without a warning."""
        source = f'.TH T 1 2026-01-01\n.SH NAME\nt \\- t\n.SH X\n{manpage.escape(self.TRICKY)}\n'
        result = _groff(source, "ascii")
        assert result.stderr == ""
        assert "mon...sun - a -> b x 2 -- c" in re.sub(r".\x08", "", result.stdout)


class TestFormatters:
    @pytest.mark.parametrize("device", ["utf8", "ascii"])
    def test_groff_reads_the_page_without_a_warning(self, device: str) -> None:
        """groff -man -ww (every warning) formats the page silently, for a UTF-8 terminal and an ASCII one."""
        result = _groff(PAGE.read_text(encoding="utf-8"), device)
        assert result.returncode == 0
        assert result.stderr == ""

    def test_mandoc_finds_nothing_to_say_even_about_style(self) -> None:
        """mandoc's linter, down to style (line lengths, dates, macros), has nothing to report."""
        path = shutil.which("mandoc")
        if path is None:
            pytest.skip("needs mandoc: apt-get install mandoc (optional: groff and man are the required readers)")
        result = subprocess.run([path, "-Tlint", "-W", "style", str(PAGE)], capture_output=True, text=True)
        assert (result.stdout + result.stderr) == ""
        assert result.returncode == 0


class TestContents:
    def test_man_shows_every_section(self) -> None:
        """man -l renders the page with every section a manual page of a command has."""
        headings = [line for line in _rendered().splitlines() if re.fullmatch(r"[A-Z][A-Z ]+", line)]
        assert headings == ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "ATTRIBUTES AND FILTERS",
                            "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]

    def test_every_command_has_its_section_with_its_usage_options_and_examples(self) -> None:
        """Each registry command has a subsection: its synopsis, every option and every example, as rendered."""
        text = _rendered()
        flat = " ".join(text.split())
        for command in COMMANDS:
            start = text.index(f"\n   {command.name}\n")
            end = min((i for i in (text.find(f"\n   {c.name}\n") for c in COMMANDS) if i > start),
                      default=text.index("\nOPTIONS\n"))
            section = " ".join(text[start:end].split())
            assert section.startswith(f"{command.name} taskvault {command.name}")
            assert command.summary[0].upper() + command.summary[1:] in section
            for option in command.all_options:
                assert option.name in section, f"{command.name}: {option.name}"
            for example in command.examples:
                assert " ".join(f"taskvault {example}".split()) in flat, f"{command.name}: {example}"

    def test_every_global_option_environment_variable_and_exit_status_is_there(self) -> None:
        """OPTIONS, ENVIRONMENT and EXIT STATUS list exactly what settings.py and help's exit codes hold."""
        text = _rendered()
        options = text[text.index("\nOPTIONS\n"): text.index("\nATTRIBUTES AND FILTERS\n")]
        for option in GLOBAL_OPTIONS:
            assert re.search(rf"^       (.*, )?{re.escape(option.usage)}(\s|$)", options, re.MULTILINE), option.name
            for alias in option.aliases:
                assert f"{alias}, " in options
        environment = text[text.index("\nENVIRONMENT\n"): text.index("\nFILES\n")]
        for variable in ENVIRONMENT:
            assert re.search(rf"^       {variable.name}\b", environment, re.MULTILINE), variable.name
        exits = text[text.index("\nEXIT STATUS\n"): text.index("\nEXAMPLES\n")]
        assert [int(code) for code in re.findall(r"^       (\d+) ", exits, re.MULTILINE)] == [c for c, _ in EXIT_CODES]

    def test_the_files_are_the_stores_own_names(self) -> None:
        """FILES names the store's files and directories as the code names them."""
        from taskvault.service import BACKUPS_NAME, STORE_FILE_NAMES

        text = _rendered()
        files = text[text.index("\nFILES\n"): text.index("\nEXIT STATUS\n")]
        for name in (*STORE_FILE_NAMES, f"{BACKUPS_NAME}/", "config.toml", "crash.log"):
            assert name in files
