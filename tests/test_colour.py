"""Colour: when it is on (flag, config file, NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE, TERM=dumb, a terminal or a
pipe), what the theme may say, and how each task's row is highlighted, on real processes and terminals."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from taskvault.cli.resident_client import routed_command

from .conftest import TASKVAULT, require_tool, run_taskvault
from .resident import Place
from .tmux import Tmux

#: Any SGR sequence: the one kind of escape Style writes.
SGR = re.compile(r"\x1b\[[0-9;]*m")
#: The default theme's codes of a row's states (cli/style.py DEFAULT_THEME).
ROW_CODES = {"done": "2", "active": "7", "overdue": "1;31", "due_today": "35", "blocked": "4", "waiting": "2"}


def _env(data: Path, config: Path | None = None, **variables: str) -> dict[str, str]:
    """A clean environment: none of the colour variables unless given, TERM=xterm, this test's store and config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKVAULT_", "XDG_"))
           and k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR", "TERM")}
    env.update(TASKVAULT_DATA_DIR=str(data), TASKVAULT_RESIDENT="off", TERM="xterm",
               TASKVAULT_CONFIG=str(config) if config else "/dev/null", XDG_STATE_HOME=str(data.parent / "state"))
    env.update(variables)
    return env


def _piped(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TASKVAULT, *args], env=env, capture_output=True, text=True, timeout=30)


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What taskvault writes to a pseudo-terminal (pexpect), as read there."""
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(TASKVAULT[0], [*TASKVAULT[1:], *args], env=env, dimensions=(24, 120), timeout=20,
                          encoding="utf-8")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with one overdue task: a list in colour shows its row in the overdue style."""
    data = tmp_path / "data"
    assert run_taskvault(data, "add", "Late one", "due:yesterday").code == 0
    return data


#: (options, the config file's color, environment) → (colour in a pipe, colour on a terminal).
MATRIX = [
    ([], None, {}, (False, True)),
    (["--color=always"], None, {}, (True, True)),
    (["--color", "always"], None, {}, (True, True)),
    (["--color=never"], None, {}, (False, False)),
    (["--color=auto"], None, {}, (False, True)),
    (["--no-color"], None, {}, (False, False)),
    (["--no-color", "--color=always"], None, {}, (True, True)),  # the later one wins
    (["--color=always", "--no-color"], None, {}, (False, False)),
    (["--color=always"], None, {"NO_COLOR": "1"}, (True, True)),  # the flag before everything
    (["--color=auto"], None, {"NO_COLOR": "1"}, (False, True)),
    (["--color=never"], "always", {"FORCE_COLOR": "1"}, (False, False)),
    ([], None, {"NO_COLOR": "1"}, (False, False)),
    ([], None, {"NO_COLOR": ""}, (False, True)),  # set but empty: as unset (no-color.org)
    ([], None, {"FORCE_COLOR": "1"}, (True, True)),
    ([], None, {"FORCE_COLOR": "3"}, (True, True)),
    ([], None, {"FORCE_COLOR": "0"}, (False, False)),  # as Node and chalk read it
    ([], None, {"FORCE_COLOR": "false"}, (False, False)),
    ([], None, {"FORCE_COLOR": ""}, (False, True)),
    ([], None, {"CLICOLOR_FORCE": "1"}, (True, True)),
    ([], None, {"CLICOLOR_FORCE": "0"}, (False, True)),  # bixense.com/clicolors: 0 forces nothing
    ([], None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, (False, False)),  # NO_COLOR before the forcing ones
    ([], None, {"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, (False, False)),
    ([], None, {"FORCE_COLOR": "0", "CLICOLOR_FORCE": "1"}, (False, False)),
    ([], None, {"TERM": "dumb"}, (False, False)),
    ([], None, {"TERM": "dumb", "FORCE_COLOR": "1"}, (True, True)),  # asked for, over the terminal's type
    ([], None, {"TERM": "dumb", "CLICOLOR_FORCE": "yes"}, (True, True)),
    ([], "always", {}, (True, True)),
    ([], "always", {"NO_COLOR": "1", "TERM": "dumb"}, (True, True)),  # the file before NO_COLOR
    ([], "never", {}, (False, False)),
    ([], "never", {"FORCE_COLOR": "1", "CLICOLOR_FORCE": "1"}, (False, False)),
    ([], "auto", {"NO_COLOR": "1"}, (False, False)),  # "auto" is the default: NO_COLOR still counts
    ([], "auto", {"FORCE_COLOR": "1"}, (True, True)),
    (["--color=always"], "never", {}, (True, True)),
    (["--no-color"], "always", {}, (False, False)),
]


class TestWhenColourIsOn:
    @pytest.mark.parametrize(("options", "file", "variables", "expected"), MATRIX,
                             ids=lambda v: repr(v) if isinstance(v, list | dict) else str(v))
    def test_the_setting_in_a_pipe_and_on_a_terminal(self, store: Path, tmp_path: Path, options: list[str],
                                                     file: str | None, variables: dict[str, str],
                                                     expected: tuple[bool, bool]) -> None:
        """Each combination of flag, config file and variables gives colour, or not, in a pipe and on a pty."""
        config = None
        if file is not None:
            config = tmp_path / "config.toml"
            config.write_text(f'color = "{file}"\n', encoding="utf-8")
        env = _env(store, config, **variables)
        piped = _piped([*options, "list"], env)
        assert piped.returncode == 0, piped.stderr
        shown = _on_a_terminal([*options, "list"], env)
        assert ("\x1b[1;31m" in piped.stdout, "\x1b[1;31m" in shown) == expected
        assert bool(SGR.search(piped.stdout)) is expected[0] and bool(SGR.search(shown)) is expected[1]
        assert "Late one" in SGR.sub("", shown)

    def test_config_names_where_the_setting_came_from(self, store: Path, tmp_path: Path) -> None:
        """`taskvault config` says which of the sources decided the colour."""
        config = tmp_path / "config.toml"
        config.write_text('color = "always"\n', encoding="utf-8")
        cases = [([], None, {}, "auto  default"), (["--color=never"], None, {}, "never  flag --color"),
                 (["--no-color"], None, {}, "never  flag --no-color"),
                 ([], None, {"FORCE_COLOR": "1"}, "always  environment FORCE_COLOR"),
                 ([], None, {"FORCE_COLOR": "0"}, "never  environment FORCE_COLOR=0"),
                 ([], None, {"CLICOLOR_FORCE": "1"}, "always  environment CLICOLOR_FORCE"),
                 ([], None, {"NO_COLOR": "1"}, "never  environment NO_COLOR"),
                 ([], None, {"TERM": "dumb"}, "never  environment TERM=dumb"),
                 ([], config, {"NO_COLOR": "1"}, f"always  file {config}:1")]
        for options, file, variables, expected in cases:
            done = _piped([*options, "config"], _env(store, file, **variables))
            row = next(line for line in done.stdout.splitlines() if line.startswith("color "))
            assert re.sub(r" {2,}", "  ", row) == f"color  {expected}", (options, variables)

    @pytest.mark.parametrize("args", [["--color=blue", "list"], ["--color", "blue", "list"], ["--color=", "list"],
                                      ["--color=ALWAYS", "list"], ["--color"]])
    def test_a_bad_value_is_one_usage_line(self, store: Path, args: list[str]) -> None:
        """--color with anything but auto, always or never: one line naming them (or the missing value), exit 2."""
        done = _piped(args, _env(store))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: --color")
        if args[0] not in ("--color=", "--color") or len(args) > 2:
            assert "auto, always or never" in done.stderr

    @pytest.mark.parametrize("args", [["list"], ["next"], ["show", "1"], ["projects"]])
    def test_json_never_holds_a_colour_code(self, store: Path, args: list[str]) -> None:
        """--json is data: no escape, however hard colour is asked for."""
        env = _env(store, FORCE_COLOR="1", CLICOLOR_FORCE="1")
        for options in (["--color=always"], []):
            done = _piped([*options, "--json", *args], env)
            assert done.returncode == 0 and "\x1b" not in done.stdout + done.stderr, done


def _theme(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


class TestTheme:
    @pytest.mark.parametrize(("text", "line", "expected"), [
        ('[theme]\noverdu = "red"\n', 2, "theme.overdu: unknown key — did you mean 'overdue'?"),
        ('[theme]\nsparkly = "red"\n', 2, "theme.sparkly: unknown key — the keys here are done, active, overdue"),
        ('[theme]\noverdue = "blinking red"\n', 2, ("theme.overdue: 'blinking red': 'blinking' is not a style word — "
                                                   "a style is words from: black red green")),
        ('\n[theme]\nactive = 7\n', 3, 'theme.active: must be a style in quotes, not 7 — write it as active = "bold red"'),
        ('[theme]\nactive = "none bold"\n', 2, "'none' stands alone"),
        ('[theme]\nactive = "red blue"\n', 2, "names two colours (one at most)"),
        ('[theme]\nactive = "on_red on_blue"\n', 2, "names two backgrounds (one at most)"),
        ('[theme]\nactive = "bold bold"\n', 2, "names a word twice"),
        ('[theme]\nactive = ""\n', 2, "theme.active: '': is empty"),
        ('theme = "dark"\n', 1, "theme: must be a table of styles, not 'dark'"),
    ])
    def test_a_bad_theme_is_refused_before_anything_runs(self, store: Path, tmp_path: Path, text: str, line: int,
                                                         expected: str) -> None:
        """An unknown key or a style outside the vocabulary: PATH:LINE: key: problem — what to do, exit 2, nothing run."""
        config = _theme(tmp_path, text)
        done = _piped(["add", "Never added"], _env(store, config))
        assert done.returncode == 2 and done.stdout == "", done
        assert done.stderr.startswith(f"error: {config}:{line}: ") and expected in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1
        assert "Never added" not in _piped(["list"], _env(store)).stdout

    def test_the_theme_restyles_what_it_names_and_none_turns_it_off(self, store: Path, tmp_path: Path) -> None:
        """A theme's style replaces the default's; "none" leaves the row unstyled; the rest keep their defaults."""
        config = _theme(tmp_path, '[theme]\noverdue = "underline  bright_magenta"\nheader = "none"\n')
        lines = _piped(["--color=always", "list"], _env(store, config)).stdout.splitlines()
        assert lines[0].startswith("ID ") and lines[1].startswith("\x1b[4;95m 1 ")
        shown = _piped(["config"], _env(store, config)).stdout
        assert "overdue=underline bright_magenta, header=none" in shown
        config.write_text('[theme]\noverdue = "none"\n', encoding="utf-8")
        lines = _piped(["--color=always", "list"], _env(store, config)).stdout.splitlines()
        assert lines[0].startswith("\x1b[1mID") and lines[1].startswith(" 1 ")


def _seeded(data: Path) -> None:
    """One task in each row state, plus one both active and overdue (active wins) and one done."""
    for line in (["add", "Late", "due:yesterday"], ["add", "Today", "due:today"], ["add", "Started"],
                 ["start", "3"], ["add", "Blocker", "pri:high", "+home"], ["add", "Blocked", "depends:4"],
                 ["add", "Later", "wait:tomorrow"], ["add", "Late and started", "due:yesterday"], ["start", "7"],
                 ["add", "Finished"], ["done", "8"]):
        assert run_taskvault(data, *line).code == 0, line


class TestRows:
    def test_each_row_takes_its_state_style(self, tmp_path: Path) -> None:
        """list --all: overdue, due today, active, blocked, waiting and done rows each start with their state's
        code; active goes before overdue; a row in no state keeps its cells' colours (priority, tags)."""
        data = tmp_path / "data"
        _seeded(data)
        out = _piped(["--color=always", "list", "--all"], _env(data)).stdout.splitlines()
        row = {title: line for line in out[1:-1] for title in
               ("Late and started", "Late", "Today", "Started", "Blocker", "Blocked", "Later", "Finished")
               if re.search(rf"\b{title}\b(?! and)", SGR.sub("", line))}
        for title, state in (("Late", "overdue"), ("Today", "due_today"), ("Started", "active"),
                             ("Blocked", "blocked"), ("Later", "waiting"), ("Late and started", "active"),
                             ("Finished", "done")):
            assert row[title].startswith(f"\x1b[{ROW_CODES[state]}m "), (title, row[title])
            assert row[title].endswith("\x1b[0m") and row[title].count("\x1b[") == 2, row[title]
        assert row["Blocker"].startswith(" 4  open") and "\x1b[1;31mhigh" in row["Blocker"]
        assert "\x1b[36mhome" in row["Blocker"]

    def test_next_and_a_report_highlight_rows_too(self, tmp_path: Path) -> None:
        """next (urgency) and a report's own columns show the same states."""
        data = tmp_path / "data"
        _seeded(data)
        config = _theme(tmp_path, '[reports.mine]\ncolumns = ["id", "title"]\n')
        for args in (["next"], ["report", "mine"]):
            out = _piped(["--color=always", *args], _env(data, config)).stdout
            late = next(line for line in out.splitlines() if re.search(r"\bLate\b(?! and)", SGR.sub("", line)))
            started = next(line for line in out.splitlines() if "Started" in line)
            assert late.startswith("\x1b[1;31m") and started.startswith("\x1b[7m"), (args, out)

    def test_show_styles_its_status_line(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        _seeded(data)
        for task_id, state in (("1", "overdue"), ("3", "active"), ("5", "blocked"), ("8", "done")):
            out = _piped(["--color=always", "show", task_id], _env(data)).stdout
            status = next(line for line in out.splitlines() if line.lstrip().startswith("status"))
            assert f"\x1b[{ROW_CODES[state]}m" in status, (task_id, status)

    def test_without_colour_the_flag_column_says_it(self, tmp_path: Path) -> None:
        """Piped, NO_COLOR: active, blocked and waiting read as words in the Flag column; overdue and today by
        the Due column's day (the output of a list with none of them is as it always was)."""
        data = tmp_path / "data"
        _seeded(data)
        out = run_taskvault(data, "list", "--waiting").out.splitlines()
        assert "\x1b" not in "".join(out)
        assert out[0].split() == ["ID", "Pri", "Due", "Flag", "Title", "Tags"]
        flags = {line.split()[0]: line for line in out[1:-1]}
        assert " active " in flags["3"] and " blocked " in flags["5"] and " waiting " in flags["6"]
        assert " active " in flags["7"]
        plain = tmp_path / "plain"
        assert run_taskvault(plain, "add", "Nothing special", "due:yesterday").code == 0
        assert run_taskvault(plain, "list").out.splitlines()[0].split() == ["ID", "Pri", "Due", "Title", "Tags"]


class TestTerminals:
    def test_a_list_in_colour_under_tmux(self, tmp_path: Path) -> None:
        """On a real terminal the screen holds the overdue row in red and the active one reversed;
        with NO_COLOR the same screen has no colour at all."""
        data = tmp_path / "data"
        _seeded(data)
        state = tmp_path / "state"
        state.mkdir()
        for no_color in (False, True):
            prefix = "NO_COLOR=1 " if no_color else ""
            term = Tmux(f"{prefix}taskvault list", columns=100, rows=20, data_dir=data, state=state)
            try:
                term.wait_for(lambda rows: any("[exit 0]" in row for row in rows), "the list")
                screen = term._tmux("capture-pane", "-p", "-e", "-t", "0")
            finally:
                term.close()
            late = next(line for line in screen.splitlines() if re.search(r"\bLate\b(?! and)", line))
            started = next(line for line in screen.splitlines() if "Started" in line)
            if no_color:
                assert "\x1b[" not in late + started, screen
            else:  # (tmux writes each attribute as its own sequence)
                assert re.search(r"\x1b\[[0-9;]*31[;m]", late) and re.search(r"\x1b\[[0-9;]*7[;m]", started), screen

    def test_the_interactive_session_follows_the_setting(self, tmp_path: Path) -> None:
        """The session under tmux: rows in colour by default, none with --color=never."""
        require_tool("tmux")
        data = tmp_path / "data"
        _seeded(data)
        state = tmp_path / "state"
        state.mkdir()
        for option in ("", "--color=never "):
            term = Tmux(f"taskvault {option}", columns=100, rows=30, data_dir=data, state=state)
            try:
                term.wait_for(lambda rows: any("taskvault>" in row for row in rows),
                              "the prompt")
                term.type("list", "Enter")
                term.wait_for(lambda rows: any("open tasks shown" in row for row in rows), "the list")
                screen = term._tmux("capture-pane", "-p", "-e", "-t", "0")
                term.type("quit", "Enter")
            finally:
                term.close()
            late = next(line for line in screen.splitlines() if re.search(r"\bLate\b(?! and)", line))
            assert bool(re.search(r"\x1b\[[0-9;]*31[;m]", late)) is (option == ""), screen


class TestResident:
    @pytest.mark.parametrize(("argv", "command"), [
        (["--color=always", "list"], "list"), (["--color", "always", "list"], "list"),
        (["--no-color", "--color", "never", "--json", "show", "1"], "show"), (["--color", "list"], None),
        (["--color=always", "import", "x"], None)])
    def test_routed_command_takes_the_option_in_one_word_or_two(self, argv: list[str], command: str | None) -> None:
        """`--color=always` is one word, `--color always` two: the command word is found after either."""
        assert routed_command(argv) == command

    def test_colour_through_the_resident_process_is_the_clients(self, tmp_path: Path) -> None:
        """A routed command writes colour as the flag and the client's output (a pipe here) say."""
        require_tool("strace")
        place = Place(tmp_path)
        try:
            env = {k: v for k, v in place.env().items() if k != "NO_COLOR"} | {"TERM": "xterm",
                                                                               "TASKVAULT_CONFIG": "/dev/null"}
            assert place.run("add", "Late", "due:yesterday", resident=False, env=env | {
                "TASKVAULT_RESIDENT": "off"}).code == 0
            place.serve(env)
            for args, coloured in ((["--color=always", "list"], True), (["--color", "always", "list"], True),
                                   (["list"], False), (["--color", "never", "list"], False)):
                done = place.routed(*args, env=env)
                assert done.code == 0 and ("\x1b[1;31m" in done.out) is coloured, (args, done)
        finally:
            place.stop_all()
