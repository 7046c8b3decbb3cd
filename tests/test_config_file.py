"""The config file: found where XDG says, read into one frozen value, every refusal one line naming the
file, the line and the key; and its place in the order flag > environment > file > default."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskvault.cli.config import GlobalOptions, color_wanted, effective_settings, load_settings, resolve_settings
from taskvault.cli.config_file import (
    MAX_CONFIG_BYTES,
    ConfigFile,
    Report,
    SettingRow,
    Settings,
    config_location,
    parse_config,
    read_config,
)
from taskvault.errors import UsageError

FULL = """\
lock_timeout = 2.5          # seconds
backup_keep = 20
color = "always"
date_format = "%d %b %Y"
data_dir = "~/tasks"
default_report = "mine"
context = "work"

[contexts]
work = "project:work or +office"
home = "+home"

[reports.mine]
description = "what is mine"
columns = ["id", "project", "due", "title"]
filter = "+mine"
sort = "urgency-,due+"
limit = 20

[reports.all]

[urgency]
due = 12.0
"priority.H" = 6
"tag.next" = 15.0
"project.work" = -1.5
"""


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, **kwargs: object) -> ConfigFile:
    return read_config({"TASKVAULT_CONFIG": str(path)}, **kwargs)  # type: ignore[arg-type]


def refusal(path: Path, **kwargs: object) -> str:
    """The one line a file is refused with (and it is a usage error: exit 2)."""
    with pytest.raises(UsageError) as caught:
        read(path, **kwargs)
    assert caught.value.exit_code == 2 and caught.value.hint is None
    message = caught.value.message
    assert "\n" not in message and " — " in message, message
    return message


class TestLocation:
    def test_taskvault_config_names_the_file(self, tmp_path: Path) -> None:
        """$TASKVAULT_CONFIG wins over XDG_CONFIG_HOME."""
        env = {"TASKVAULT_CONFIG": str(tmp_path / "mine.toml"), "XDG_CONFIG_HOME": str(tmp_path / "x")}
        assert config_location(env) == (str(tmp_path / "mine.toml"), "environment TASKVAULT_CONFIG")

    def test_a_relative_taskvault_config_is_made_whole(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A relative $TASKVAULT_CONFIG names a file in the current directory, kept as an absolute path."""
        monkeypatch.chdir(tmp_path)
        assert config_location({"TASKVAULT_CONFIG": "c.toml"})[0] == str(tmp_path / "c.toml")

    def test_xdg_config_home(self, tmp_path: Path) -> None:
        """$XDG_CONFIG_HOME/taskvault/config.toml when TASKVAULT_CONFIG is unset."""
        assert config_location({"XDG_CONFIG_HOME": str(tmp_path)}) == (
            str(tmp_path / "taskvault" / "config.toml"), "environment XDG_CONFIG_HOME")

    @pytest.mark.parametrize("xdg", [None, "", "relative/dir"])
    def test_falls_back_to_dot_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
        """Unset, empty or relative XDG_CONFIG_HOME (the XDG spec ignores a relative one): ~/.config, read for real."""
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.delenv("TASKVAULT_CONFIG", raising=False)
        if xdg is None:
            monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        (tmp_path / ".config" / "taskvault").mkdir(parents=True)
        write(tmp_path / ".config" / "taskvault", "lock_timeout = 7\n")
        found = read_config(os.environ)
        assert (found.path, found.path_source, found.found) == (
            str(tmp_path / ".config" / "taskvault" / "config.toml"), "default", True)
        assert found.lock_timeout == 7.0

    def test_no_file_at_the_default_place_is_no_error(self, tmp_path: Path) -> None:
        """A missing file: every setting None, and found is False."""
        found = read_config({"XDG_CONFIG_HOME": str(tmp_path)})
        assert not found.found and found == ConfigFile(str(tmp_path / "taskvault" / "config.toml"),
                                                       "environment XDG_CONFIG_HOME")

    def test_a_file_taskvault_config_names_must_be_there(self, tmp_path: Path) -> None:
        """A missing file the user named is refused (a typo would otherwise read nothing, silently)."""
        message = refusal(tmp_path / "nope.toml")
        assert message.startswith(f"{tmp_path / 'nope.toml'}: no such file — ") and "/dev/null" in message

    def test_dev_null_is_a_file_with_no_settings(self) -> None:
        """TASKVAULT_CONFIG=/dev/null turns the config file off."""
        found = read(Path("/dev/null"))
        assert found.found and found.lock_timeout is None and not found.reports

    def test_empty_taskvault_config_is_refused(self) -> None:
        with pytest.raises(UsageError, match="TASKVAULT_CONFIG is set but empty"):
            config_location({"TASKVAULT_CONFIG": " "})


class TestEveryKey:
    def test_the_full_file(self, tmp_path: Path) -> None:
        """Every key is read into its typed, frozen field."""
        found = read(write(tmp_path, FULL))
        assert found.lock_timeout == 2.5 and isinstance(found.lock_timeout, float)
        assert dict(found.backup_keep or {}) == {"last": 20}
        assert (found.color, found.date_format, found.data_dir) == ("always", "%d %b %Y", "~/tasks")
        assert (found.default_report, found.context) == ("mine", "work")
        assert dict(found.contexts) == {"work": "project:work or +office", "home": "+home"}
        assert dict(found.reports) == {
            "mine": Report("mine", "what is mine", ("id", "project", "due", "title"), "+mine", "urgency-,due+", 20),
            "all": Report("all")}
        assert dict(found.urgency) == {"due": 12.0, "priority.H": 6.0, "tag.next": 15.0, "project.work": -1.5}

    def test_it_is_frozen(self, tmp_path: Path) -> None:
        """Neither a field nor a table of the value can be changed."""
        found = read(write(tmp_path, FULL))
        with pytest.raises(AttributeError):
            found.color = "never"  # type: ignore[misc]
        with pytest.raises(TypeError):
            found.contexts["x"] = "y"  # type: ignore[index]

    def test_each_key_has_its_line(self, tmp_path: Path) -> None:
        """where() names the line defining a key, or the table holding it."""
        found = read(write(tmp_path, FULL))
        path = tmp_path / "config.toml"
        assert found.where("lock_timeout") == f"{path}:1"
        assert found.where("reports", "mine", "limit") == f"{path}:18"
        assert found.where("urgency", "priority.H") == f"{path}:24"
        assert found.where("reports") == f"{path}:13"

    def test_where_without_a_line_is_the_path(self, tmp_path: Path) -> None:
        """A key the file does not define (a default's) is placed at the file alone."""
        found = read(write(tmp_path, "color = 'never'\n"))
        assert (found.where("color"), found.where("lock_timeout")) == (f"{found.path}:1", found.path)

    @pytest.mark.parametrize(("text", "expected"), [
        ("backup_keep = 3", {"last": 3}),
        ('backup_keep = "last=5,weekly=0"', {"last": 5, "weekly": 0}),
        ("backup_keep = { last = 10, daily = 7, weekly = 4 }", {"last": 10, "daily": 7, "weekly": 4}),
        ("[backup_keep]\ndaily = 0", {"daily": 0}),
    ])
    def test_backup_keep_forms(self, tmp_path: Path, text: str, expected: dict[str, int]) -> None:
        """A number (the last N), the environment's text, or a table."""
        assert dict(read(write(tmp_path, text)).backup_keep or {}) == expected

    @pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d %b %Y", "%-d.%-m.%Y", "%A %e %B", "%F", "%x", "day %j of %Y",
                                     "%d/%m/%y 100%%"])
    def test_date_formats_taken(self, tmp_path: Path, fmt: str) -> None:
        assert read(write(tmp_path, f'date_format = "{fmt}"')).date_format == fmt

    @pytest.mark.parametrize("value", ["0", "3600", "0.5", "10"])
    def test_lock_timeout_range(self, tmp_path: Path, value: str) -> None:
        assert read(write(tmp_path, f"lock_timeout = {value}")).lock_timeout == float(value)

    def test_a_byte_order_mark_is_allowed(self, tmp_path: Path) -> None:
        assert read(write(tmp_path, "\ufeffcolor = 'never'\n")).color == "never"

    def test_a_multiline_string_hides_what_looks_like_keys(self, tmp_path: Path) -> None:
        """A line inside a multi-line string is not taken for a key's line."""
        text = '[reports.a]\ndescription = """\nlimit = 3"""\nlimit = 0\n'  # (the newline after """ is not part of it)
        message = refusal(write(tmp_path, text))
        assert message.startswith(f"{tmp_path / 'config.toml'}:4: reports.a.limit: ")

    def test_the_columns_are_a_parameter(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[reports.r]\ncolumns = ["spark"]')
        assert read(path, columns=("id", "spark")).reports["r"].columns == ("spark",)
        assert "'spark' is not a column" in refusal(path)

    def test_builtin_reports_are_a_parameter(self, tmp_path: Path) -> None:
        """default_report may name a report taskvault has without the file defining it, when told which."""
        path = write(tmp_path, 'default_report = "next"')
        assert read(path, builtin_reports=("next",)).default_report == "next"
        assert "names no report: 'next' — name one of list" in refusal(path, builtin_reports=("list",))


# (file text, line, key, words the problem or the advice holds)
REFUSALS = [
    ("lock_timout = 3", 1, "lock_timout", "unknown key — did you mean 'lock_timeout'?"),
    ("\n\ncolour = 'auto'", 3, "colour", "did you mean 'color'?"),
    ("zzz = 1", 1, "zzz", "the keys here are lock_timeout, "),
    ('lock_timeout = "ten"', 1, "lock_timeout", "must be a number of seconds from 0 to 3600, not 'ten'"),
    ("lock_timeout = true", 1, "lock_timeout", "not true"),
    ("lock_timeout = 3601", 1, "lock_timeout", "not 3601"),
    ("lock_timeout = -1", 1, "lock_timeout", "from 0 to 3600"),
    ("lock_timeout = nan", 1, "lock_timeout", "not nan"),
    ("lock_timeout = 1979-05-27", 1, "lock_timeout", "not a date or time"),
    ("backup_keep = 0", 1, "backup_keep.last", "must be a whole number from 1 to 10000, not 0"),
    ("backup_keep = 10001", 1, "backup_keep.last", "not 10001"),
    ("backup_keep = 'last=x'", 1, "backup_keep", "must look like last=10,daily=7,weekly=4, not 'last=x'"),
    ("backup_keep = 'last=0'", 1, "backup_keep", "last must be at least 1"),
    ("backup_keep = [1]", 1, "backup_keep", "must be a number or a table, not an array"),
    ("x = 1\n[backup_keep]\nlats = 3", 1, "x", "unknown key"),
    ("[backup_keep]\nlats = 3", 2, "backup_keep.lats", "did you mean 'last'?"),
    ("[backup_keep]\ndaily = -1", 2, "backup_keep.daily", "from 0 to 10000"),
    ("color = 'blue'", 1, "color", "must be auto, always or never, not 'blue'"),
    ("color = true", 1, "color", "not true"),
    ("date_format = '%Y-%m-%d %H:%M'", 1, "date_format", "%H shows a time of day"),
    ("date_format = '%Y-%m'", 1, "date_format", "shows no day"),
    ("date_format = '%d %Q'", 1, "date_format", "%Q is not a date directive"),
    ("date_format = '%d %'", 1, "date_format", "% is not a date directive"),
    ('date_format = "%d\\n"', 1, "date_format", "must be one line"),
    ("date_format = ''", 1, "date_format", "must not be empty"),
    (f"date_format = '%d{'x' * 70}'", 1, "date_format", "keep it to 64"),
    ("date_format = 5", 1, "date_format", "must be a strftime format in quotes, not 5"),
    ("data_dir = 'tasks'", 1, "data_dir", "'tasks' is a relative path"),
    ("context = 'work'", 1, "context", "names no context: 'work' — define it under [contexts]"),
    ("context = 'wrk'\n[contexts]\nwork = 'x'", 1, "context", "name one that is: work"),
    ("[contexts]\nwork = ''", 2, "contexts.work", "must not be empty"),
    ("[contexts]\nwork = 3", 2, "contexts.work", "must be a filter in quotes, not 3"),
    ("[contexts]\n'9lives' = 'x'", 2, 'contexts.9lives', "is not a usable context name"),
    ("contexts = 'x'", 1, "contexts", "must be a table of contexts, not 'x'"),
    (f"[contexts]\nwork = '{'x' * 1001}'", 2, "contexts.work", "keep it to 1,000"),
    ("[reports.mine]\ncolumns = ['id', 'titel']", 2, "reports.mine.columns", "'titel' is not a column — did you mean 'title'?"),
    ("[reports.mine]\ncolumns = ['id', 'zzzzz']", 2, "reports.mine.columns", "the columns are id, uuid"),
    ("[reports.mine]\ncolumns = []", 2, "reports.mine.columns", "must be a non-empty array"),
    ("[reports.mine]\ncolumns = ['id', 'id']", 2, "reports.mine.columns", "names 'id' twice"),
    ("[reports.mine]\ncolumns = [1]", 2, "reports.mine.columns", "not 1"),
    ("[reports.mine]\nlimit = 0", 2, "reports.mine.limit", "must be a whole number from 1 to 10,000, not 0"),
    ("[reports.mine]\nlimit = 2.0", 2, "reports.mine.limit", "not 2.0"),
    ('[reports.mine]\nfilter = "+a\\n+b"', 2, "reports.mine.filter", "must be one line"),
    ("[reports.mine]\nsort = ''", 2, "reports.mine.sort", "must not be empty"),
    ("[reports.mine]\nfilters = '+a'", 2, "reports.mine.filters", "did you mean 'filter'?"),
    ("[reports.mine]\n\n[reports.mine.x]\ny = 1", 3, "reports.mine.x", "unknown key"),
    ("reports = { mine = 3 }", 1, "reports.mine", "must be a table, not 3"),
    ("[reports]\n'my report' = {}", 2, 'reports."my report"', "is not a usable report name"),
    ("[urgency]\ndeu = 1", 2, "urgency.deu", "did you mean 'due'?"),
    ("[urgency]\n'priority.X' = 1", 2, 'urgency."priority.X"', "priority.H, priority.M and priority.L"),
    ("[urgency]\n'tag.' = 1", 2, 'urgency."tag."', "is not an urgency term"),
    ("[urgency]\ndue = 'high'", 2, "urgency.due", "must be a number from -1000 to 1000, not 'high'"),
    ("[urgency]\ndue = inf", 2, "urgency.due", "not inf"),
    ("[urgency]\n'tag.next' = 1e9", 2, 'urgency."tag.next"', 'write it as "tag.next" = 1.0'),
    ('[urgency]\ndue = 1\n"deu\\u0021" = 2', 3, 'urgency."deu!"', "is not an urgency term"),
    ("[urgency]\n  'tag.a b' = 1", 2, 'urgency."tag.a b"', "is not an urgency term"),
    ("reports.mine.limit = 0", 1, "reports.mine.limit", "not 0"),
    ('[ reports . "mine" ]  # mine\n\nlimit = 0', 3, "reports.mine.limit", "not 0"),
    ("[reports.a]\ncolumns = [\n  'id',\n  'bogus',\n]", 2, "reports.a.columns", "'bogus' is not a column"),
    ("[reports]\n" + "".join(f"r{i} = {{}}\n" for i in range(101)), 1, "reports", "has 101 reports — keep it to 100"),
]


class TestRefusals:
    @pytest.mark.parametrize(("text", "line", "key", "words"), REFUSALS, ids=[r[0][:40] for r in REFUSALS])
    def test_refused_with_its_line_and_key(self, tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
        """One line: PATH:LINE: KEY: PROBLEM — WHAT TO DO."""
        path = write(tmp_path, text + "\n")
        message = refusal(path)
        assert message.startswith(f"{path}:{line}: {key}: "), message
        assert words in message, message

    @pytest.mark.parametrize(("text", "line", "column"), [
        ("color = 'auto'\nlock_timeout = = 3\n", 2, 16),
        ("a = 1\n[x]\nb = 2\n[x]\n", 4, 3),
        ("color = 'a\x01'\n", 1, 11),
    ])
    def test_a_syntax_error_keeps_tomllib_s_line_and_column(self, tmp_path: Path, text: str, line: int,
                                                           column: int) -> None:
        path = write(tmp_path, text)
        message = refusal(path)
        assert message.startswith(f"{path}:{line}: TOML syntax: ")
        assert message.endswith(f" — fix the TOML at line {line}, column {column}")

    def test_an_unclosed_value_is_placed_at_the_end(self, tmp_path: Path) -> None:
        path = write(tmp_path, "color = 'auto'\ncolumns = [\n")
        assert refusal(path) == (f"{path}:2: TOML syntax: invalid value — "
                                 "fix the TOML near the end of the file (an unclosed value, or a key given twice)")

    def test_nesting_too_deep_for_the_parser(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000)
        assert refusal(path) == f"{path}: arrays or tables nested too deeply to read — flatten the file"

    def test_larger_than_a_mebibyte(self, tmp_path: Path) -> None:
        path = write(tmp_path, "#" * MAX_CONFIG_BYTES + "\n")
        assert refusal(path).startswith(f"{path}: is larger than 1 MiB — ")
        exactly = write(tmp_path, "#" * (MAX_CONFIG_BYTES - 1) + "\n", "exact.toml")
        assert read(exactly).found

    def test_not_utf8(self, tmp_path: Path) -> None:
        """The line of the first byte that is not UTF-8."""
        path = write(tmp_path, b"color = 'auto'\n# caf\xe9\n")
        assert refusal(path) == f"{path}:2: not UTF-8 text (byte 0xE9) — save the file as UTF-8"

    def test_a_directory(self, tmp_path: Path) -> None:
        assert refusal(tmp_path).startswith(f"{tmp_path}: is a directory — ")

    def test_a_fifo_is_refused_without_waiting(self, tmp_path: Path) -> None:
        """Nothing writes to the FIFO: reading it would wait for ever."""
        os.mkfifo(tmp_path / "fifo")
        assert refusal(tmp_path / "fifo").startswith(f"{tmp_path / 'fifo'}: is not a regular file — ")

    def test_a_symlink_loop_cannot_be_read(self, tmp_path: Path) -> None:
        """An unreadable file (a loop here: root reads any file) is refused with the reason and a way out."""
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        message = refusal(tmp_path / "loop")
        assert message.startswith(f"{tmp_path / 'loop'}: cannot be read (Too many levels of symbolic links) — ")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
    def test_permission_denied(self, tmp_path: Path) -> None:
        path = write(tmp_path, "color = 'auto'\n")
        path.chmod(0)
        assert refusal(path).startswith(f"{path}: cannot be read (Permission denied) — make it readable")

    def test_the_message_reaches_the_user_whole(self, tmp_path: Path) -> None:
        """The renderer shows it as one error line, nothing cut."""
        from taskvault.cli.render_text import error_text

        path = write(tmp_path, "lock_timout = 3\n")
        with pytest.raises(UsageError) as caught:
            read(path)
        assert error_text(caught.value) == f"error: {path}:1: lock_timout: unknown key — did you mean 'lock_timeout'?"


class TestPrecedence:
    """flag > environment > file > default, with the real environment."""

    @pytest.fixture
    def env(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
        for name in ("TASKVAULT_CONFIG", "TASKVAULT_DATA_DIR", "TASKVAULT_LOCK_TIMEOUT", "TASKVAULT_BACKUP_KEEP",
                     "NO_COLOR", "TERM"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
        (tmp_path / "xdg" / "taskvault").mkdir(parents=True)
        return monkeypatch

    def settings(self, tmp_path: Path, text: str | None, options: GlobalOptions | None = None) -> Settings:
        if text is not None:
            write(tmp_path / "xdg" / "taskvault", text)
        return load_settings(options or GlobalOptions(), os.environ)

    def test_defaults(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        got = self.settings(tmp_path, None)
        assert (got.lock_timeout.value, got.lock_timeout.source) == (10.0, "default")
        assert (dict(got.backup_keep.value), got.backup_keep.source) == ({}, "default")
        assert (got.data_dir.value, got.data_dir.source) == (tmp_path / "share" / "taskvault", "default")
        assert (got.color.value, got.date_format.value, got.default_report.value, got.context.value) == (
            "auto", "%Y-%m-%d", None, None)

    def test_the_file_over_the_default(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        got = self.settings(tmp_path, "\nlock_timeout = 3\nbackup_keep = 4\ndata_dir = '~/t'\n")
        where = tmp_path / "xdg" / "taskvault" / "config.toml"
        assert (got.lock_timeout.value, got.lock_timeout.source) == (3.0, f"file {where}:2")
        assert (dict(got.backup_keep.value), got.backup_keep.source) == ({"last": 4}, f"file {where}:3")
        assert (got.data_dir.value, got.data_dir.source) == (Path(os.path.expanduser("~/t")), f"file {where}:4")

    def test_the_environment_over_the_file(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        env.setenv("TASKVAULT_LOCK_TIMEOUT", "0")
        env.setenv("TASKVAULT_BACKUP_KEEP", "daily=1")
        env.setenv("TASKVAULT_DATA_DIR", str(tmp_path / "env"))
        got = self.settings(tmp_path, "lock_timeout = 3\nbackup_keep = 4\ndata_dir = '/file'\n")
        assert (got.lock_timeout.value, got.lock_timeout.source) == (0.0, "environment TASKVAULT_LOCK_TIMEOUT")
        assert (dict(got.backup_keep.value), got.backup_keep.source) == ({"daily": 1}, "environment TASKVAULT_BACKUP_KEEP")
        assert (got.data_dir.value, got.data_dir.source) == (tmp_path / "env", "environment TASKVAULT_DATA_DIR")

    def test_an_empty_backup_keep_is_unset_so_the_file_counts(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        env.setenv("TASKVAULT_BACKUP_KEEP", "")
        assert dict(self.settings(tmp_path, "backup_keep = 4").backup_keep.value) == {"last": 4}

    def test_a_bad_environment_value_is_refused_even_with_a_file(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        env.setenv("TASKVAULT_LOCK_TIMEOUT", "soon")
        with pytest.raises(UsageError, match="TASKVAULT_LOCK_TIMEOUT must be a number of seconds"):
            self.settings(tmp_path, "lock_timeout = 3")

    def test_the_flag_over_everything(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        env.setenv("TASKVAULT_DATA_DIR", str(tmp_path / "env"))
        got = self.settings(tmp_path, "data_dir = '/file'\ncolor = 'always'",
                            GlobalOptions(data_dir=str(tmp_path / "flag"), no_color=True))
        assert (got.data_dir.value, got.data_dir.source) == (tmp_path / "flag", "flag --data-dir")
        assert (got.color.value, got.color.source) == ("never", "flag --no-color")

    @pytest.mark.parametrize(("file", "environment", "expected"), [
        (None, {}, ("auto", "default")),
        (None, {"NO_COLOR": "1"}, ("never", "environment NO_COLOR")),
        (None, {"NO_COLOR": ""}, ("auto", "default")),
        (None, {"TERM": "dumb"}, ("never", "environment TERM=dumb")),
        ("auto", {"NO_COLOR": "1"}, ("never", "environment NO_COLOR")),
        ("auto", {}, ("auto", "file")),
        ("always", {"NO_COLOR": "1", "TERM": "dumb"}, ("always", "file")),
        ("never", {}, ("never", "file")),
    ])
    def test_color(self, env: pytest.MonkeyPatch, tmp_path: Path, file: str | None, environment: dict[str, str],
                   expected: tuple[str, str]) -> None:
        """NO_COLOR and TERM=dumb over the default and an "auto" file; a file's always or never over them."""
        for name, value in environment.items():
            env.setenv(name, value)
        got = self.settings(tmp_path, f"color = '{file}'" if file else None).color
        where = f"file {tmp_path / 'xdg' / 'taskvault' / 'config.toml'}:1"
        assert (got.value, got.source) == (expected[0], where if expected[1] == "file" else expected[1])

    @pytest.mark.parametrize(("mode", "terminal", "wanted"), [
        ("auto", True, True), ("auto", False, False), ("always", False, True), ("never", True, False)])
    def test_color_wanted_follows_the_mode(self, mode: str, terminal: bool, wanted: bool) -> None:
        assert color_wanted(GlobalOptions(), {}, terminal, mode) is wanted


class TestRows:
    def test_effective_settings(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """One row per setting: its name in the file, its value as shown, where it came from."""
        path = write(tmp_path, FULL)
        env = {"TASKVAULT_CONFIG": str(path), "TASKVAULT_LOCK_TIMEOUT": "4", "XDG_DATA_HOME": str(tmp_path)}
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        settings = resolve_settings(GlobalOptions(), env, read_config(env))
        at = f"file {path}"
        assert effective_settings(settings) == [
            SettingRow("config file", str(path), "environment TASKVAULT_CONFIG"),
            SettingRow("data_dir", str(tmp_path / "home" / "tasks"), f"{at}:5"),
            SettingRow("lock_timeout", "4 s", "environment TASKVAULT_LOCK_TIMEOUT"),
            SettingRow("backup_keep", "last=20,daily=7,weekly=4", f"{at}:2"),
            SettingRow("color", "always", f"{at}:3"),
            SettingRow("date_format", "%d %b %Y", f"{at}:4"),
            SettingRow("default_report", "mine", f"{at}:6"),
            SettingRow("context", "work", f"{at}:7"),
            SettingRow("pager", "less", "default"),
            SettingRow("contexts", "work, home", f"{at}:9"),
            SettingRow("reports", "mine, all", f"{at}:13"),
            SettingRow("urgency", "due=12, priority.H=6, tag.next=15, project.work=-1.5", f"{at}:22"),
            SettingRow("theme", "none", "default"),
            SettingRow("sync.merge", "never", "default"),
        ]

    def test_effective_settings_without_a_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
        env = {"XDG_CONFIG_HOME": str(tmp_path)}
        rows = effective_settings(resolve_settings(GlobalOptions(), env, read_config(env)))
        assert rows[0] == SettingRow("config file", f"{tmp_path}/taskvault/config.toml (not there: defaults)",
                                     "environment XDG_CONFIG_HOME")
        assert {row.source for row in rows[1:]} == {"default"}
        assert [row.value_text for row in rows[2:]] == [
            "10 s", "last=10,daily=7,weekly=4", "auto", "%Y-%m-%d", "none", "none", "less", "none", "none", "none", "none",
            "never"]


_BARE = st.text("abcxyz_-0123456789", min_size=1, max_size=8)


@given(st.lists(st.tuples(_BARE, st.integers(0, 3)), min_size=1, max_size=12, unique_by=lambda kv: kv[0]),
       st.integers(0, 3))
def test_the_line_of_an_unknown_key_is_where_it_is(entries: list[tuple[str, int]], blank: int) -> None:
    """Whatever comes before it, an unknown key in [urgency] is refused at its own line."""
    lines = ["[urgency]", *(f"# {i}" for i in range(blank))]
    for name, gap in entries:
        lines += [""] * gap + [f'"tag.{name}" = 1']
    lines.append("dew = 2")
    with pytest.raises(UsageError) as caught:
        parse_config("\n".join(lines), "c.toml")
    assert caught.value.message.startswith(f"c.toml:{len(lines)}: urgency.dew: is not an urgency term")


def test_reading_the_settings_modules_leaves_tomllib_alone() -> None:
    """`taskvault help` and --version import cli/config.py, never tomllib; nor does a command that finds no config
    file: only reading one does."""
    code = ("import sys, taskvault.cli.config, taskvault.cli.main, taskvault.commands.help\n"
            "assert 'tomllib' not in sys.modules\n"
            "import taskvault.cli.config_file as f\n"
            "f.read_config({'TASKVAULT_CONFIG': '/dev/null'})\n"
            "f.read_config({'XDG_CONFIG_HOME': '/nonexistent-taskvault-test'})\n"
            "assert 'tomllib' not in sys.modules\n"
            "f.parse_config('lock_timeout = 3', 'c.toml')\n"
            "assert 'tomllib' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_scanner_finds_every_key_of_the_full_example() -> None:
    """Every top-level key of the example has a line, and so does a report defined by its header alone."""
    found = parse_config(FULL, "c.toml")
    keys = {key[0] for key in found.lines if len(key) == 1}
    assert keys == {"lock_timeout", "backup_keep", "color", "date_format", "data_dir", "default_report", "context",
                    "contexts", "reports", "urgency"}
    assert re.fullmatch(r"c\.toml:\d+", found.where("reports", "all"))
