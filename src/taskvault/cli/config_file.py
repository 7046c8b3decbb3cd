"""The config file, $XDG_CONFIG_HOME/taskvault/config.toml: found, read and checked into one frozen value.

Only a command that needs one of its settings reads it: tomllib costs milliseconds to import, and
`taskvault help` and `--version` never pay for it. Each refusal is one line an editor can jump to,
``PATH:LINE: KEY: PROBLEM — WHAT TO DO``; how the file's settings rank against the command line's
and the environment's is cli/config.py's (resolve_settings).

Its values are NamedTuples, frozen and typed: an attrs class costs over a millisecond to build at
import, and every command that opens the store imports this module.
"""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import Generic, NamedTuple, TypeVar

from ..commands.settings import COLOR_WHEN, CONFIG, CONFIG_HOME
from ..errors import UsageError, shown
from . import config

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from pathlib import Path

T = TypeVar("T")

__all__ = ["MAX_CONFIG_BYTES", "REPORT_COLUMNS", "ConfigFile", "Report", "SettingRow", "Settings", "Sourced",
           "config_location", "parse_config", "read_config"]

#: The largest config file read; a larger one is refused (a config file is a few hundred bytes).
MAX_CONFIG_BYTES = 1024 * 1024
#: The most reports, contexts and urgency coefficients a file may define, each.
MAX_ENTRIES = 100
#: The longest filter text (a context's, a report's) and sort spec, in characters.
MAX_FILTER_CHARS = 1000
#: The longest date_format, and a report's description, in characters.
MAX_FORMAT_CHARS, MAX_DESCRIPTION_CHARS = 64, 200
#: The most rows a report may be limited to.
MAX_REPORT_LIMIT = 10_000
#: The largest urgency coefficient, either way.
MAX_COEFFICIENT = 1000.0
#: The columns a report may show, unless read_config is given others.
REPORT_COLUMNS = ("id", "uuid", "status", "title", "project", "priority", "due", "scheduled", "wait", "until", "tags",
                  "urgency", "created", "updated", "completed", "started", "depends", "annotations", "note", "recur")
#: Urgency terms that take no name; ``priority.H|M|L``, ``tag.NAME`` and ``project.NAME`` take one.
URGENCY_TERMS = ("due", "age", "active", "scheduled", "waiting", "blocked", "blocking", "annotations", "tags", "project")
COLORS = COLOR_WHEN

_TOP_KEYS = ("lock_timeout", "backup_keep", "color", "date_format", "data_dir", "default_report", "context",
             "contexts", "reports", "urgency", "pager", "theme", "sync")
_REPORT_KEYS = ("description", "columns", "filter", "sort", "limit")
_KEEP_KEYS = ("last", "daily", "weekly")
_SYNC_KEYS = ("merge",)
#: What sync does with two devices' edits of different fields of one task (config ``sync.merge``).
SYNC_MERGE = ("never", "fields")
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#: strftime directives of a date (with an optional glibc flag: -, _, 0, ^ or #), those that name its day, and a time's.
_DATE_DIRECTIVES, _DAY_DIRECTIVES, _TIME_DIRECTIVES = "aAbBhCdDeFgGjmuUVwWxyY%", "deFDjx", "HIklMpPrRsSTXcfzZ"


class Report(NamedTuple):
    """A report the file defines: ``[reports.NAME]``. The filter and sort are kept as written."""

    name: str
    description: str = ""
    columns: tuple[str, ...] | None = None
    filter: str | None = None
    sort: str | None = None
    limit: int | None = None


class ConfigFile(NamedTuple):
    """What the config file at ``path`` says; a setting it does not give is None (or empty)."""

    path: str
    #: Where the path came from: "environment TASKVAULT_CONFIG", "environment XDG_CONFIG_HOME" or "default".
    path_source: str = "default"
    #: False when there is no file at the default place (every setting then has its default).
    found: bool = False
    lock_timeout: float | None = None
    backup_keep: Mapping[str, int] | None = None
    color: str | None = None
    date_format: str | None = None
    data_dir: str | None = None
    default_report: str | None = None
    context: str | None = None
    #: false (no pager), true (the usual one: $PAGER, else less) or the command to page with.
    pager: bool | str | None = None
    contexts: Mapping[str, str] = MappingProxyType({})
    reports: Mapping[str, Report] = MappingProxyType({})
    urgency: Mapping[str, float] = MappingProxyType({})
    #: [theme]: a style (cli/style.py's vocabulary) for each role the file names; the rest keep their defaults.
    theme: Mapping[str, str] = MappingProxyType({})
    #: [sync] merge: never (a conflict) or fields (edits of different fields merged, and said so).
    sync_merge: str | None = None
    #: The line that defines each key (a path of names, ("reports", "mine", "limit")), for messages.
    lines: Mapping[tuple[str, ...], int] = MappingProxyType({})

    def where(self, *key: str) -> str:
        """``PATH:LINE`` of ``key`` (or of the nearest table holding it), or the path alone."""
        line = _line_of(self.lines, key)
        return f"{self.path}:{line}" if line else self.path


class Sourced(NamedTuple, Generic[T]):
    """A setting's value and where it came from: "flag --no-color", "environment TASKVAULT_LOCK_TIMEOUT",
    "file /home/me/.config/taskvault/config.toml:3" or "default"."""

    value: T
    source: str


class Settings(NamedTuple):
    """Every setting that has more than one source, as it is in force (cli/config.py resolve_settings)."""

    #: The config file's path (whether or not there is one there: file.found says).
    config: Sourced[str]
    data_dir: Sourced[Path]
    lock_timeout: Sourced[float]
    #: The counts of automatic backups kept (last, daily, weekly): only those given; the rest default.
    backup_keep: Sourced[Mapping[str, int]]
    #: auto, always or never.
    color: Sourced[str]
    date_format: Sourced[str]
    default_report: Sourced[str | None]
    context: Sourced[str | None]
    file: ConfigFile
    #: The command long output on a terminal is paged with (run by sh); None: no pager.
    pager: Sourced[str | None] = Sourced(None, "default")


class SettingRow(NamedTuple):
    """One row of `taskvault config`: a setting, its value as shown, and where it came from."""

    name: str
    value_text: str
    source: str


def config_location(env: Mapping[str, str]) -> tuple[str, str]:
    """(path, where it came from): $TASKVAULT_CONFIG, else $XDG_CONFIG_HOME/taskvault/config.toml, else
    ~/.config/taskvault/config.toml. A relative XDG_CONFIG_HOME is ignored, as the XDG spec says."""
    given = env.get(CONFIG.name)
    if given is not None:
        if not given.strip():
            raise UsageError(f"{CONFIG.name} is set but empty", hint="unset it, or set it to a file (/dev/null for none)")
        if "\0" in given:
            raise UsageError(f"{CONFIG.name} contains a NUL character")
        return os.path.abspath(os.path.expanduser(given)), f"environment {CONFIG.name}"
    home = env.get(CONFIG_HOME.name, "")
    if os.path.isabs(home):
        return os.path.join(home, "taskvault", "config.toml"), f"environment {CONFIG_HOME.name}"
    return os.path.join(os.path.expanduser("~"), ".config", "taskvault", "config.toml"), "default"


def read_config(env: Mapping[str, str], *, columns: Collection[str] = REPORT_COLUMNS,
                builtin_reports: Collection[str] | None = None) -> ConfigFile:
    """The config file config_location finds, read and checked; none at the default place is no error.

    Raises UsageError (exit 2), one line naming the file, the line and the key, when it cannot be
    read or says something taskvault cannot use; so does a $TASKVAULT_CONFIG that names no file.
    """
    path, source = config_location(env)
    text = _read(path, explicit=source.startswith(f"environment {CONFIG.name}"))
    if text is None:
        return ConfigFile(path, source)
    return parse_config(text, path, path_source=source, columns=columns, builtin_reports=builtin_reports)


def _refusal(path: str, line: int | None, key: str | None, problem: str, todo: str) -> UsageError:
    where = f"{path}:{line}" if line else path
    return UsageError(f"{where}: {key + ': ' if key else ''}{problem} — {todo}")


def _read(path: str, *, explicit: bool) -> str | None:
    """The file's text; None when there is no file (refused instead when the user named it)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # (O_NONBLOCK: a FIFO must not hang us)
    except FileNotFoundError:
        if explicit:
            raise _refusal(path, None, None, "no such file",
                           f"create it, or unset {CONFIG.name} (set it to /dev/null for no config file)") from None
        return None
    except OSError as exc:
        raise _refusal(path, None, None, f"cannot be read ({exc.strerror or exc})",
                       f"make it readable (chmod u+r), or set {CONFIG.name} to another file") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _refusal(path, None, None, "is a directory", f"the config file is a TOML file; set {CONFIG.name} to one")
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise _refusal(path, None, None, "is not a regular file", f"set {CONFIG.name} to a TOML file")
        data = b""
        while len(data) <= MAX_CONFIG_BYTES and (chunk := os.read(fd, MAX_CONFIG_BYTES + 1 - len(data))):
            data += chunk
    except OSError as exc:
        raise _refusal(path, None, None, f"cannot be read ({exc.strerror or exc})",
                       f"check the file, or set {CONFIG.name} to another") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise _refusal(path, None, None, f"is larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB",
                       "a config file is a few lines; is this the right file?")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refusal(path, line, None, f"not UTF-8 text (byte 0x{data[exc.start]:02X})", "save the file as UTF-8") from None


def parse_config(text: str, path: str, *, path_source: str = "default", columns: Collection[str] = REPORT_COLUMNS,
                 builtin_reports: Collection[str] | None = None) -> ConfigFile:
    """The settings ``text`` (the file at ``path``) gives, checked: see read_config."""
    if not text.strip():  # (an empty file, /dev/null: the defaults, without importing tomllib)
        return _Checker(path, {}, columns, builtin_reports).check({}, path_source)
    import tomllib  # (only a command that finds a config file pays for it: most find none)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, text, str(exc)) from None
    except RecursionError:
        raise _refusal(path, None, None, "arrays or tables nested too deeply to read", "flatten the file") from None
    checker = _Checker(path, _key_lines(text), columns, builtin_reports)
    return checker.check(data, path_source)


def _syntax_error(path: str, text: str, message: str) -> UsageError:
    """tomllib's message ends with ``(at line L, column C)`` or ``(at end of document)``: put those first."""
    import re

    at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if at:
        problem, line, todo = message[: at.start()], int(at[1]), f"fix the TOML at line {at[1]}, column {at[2]}"
    else:
        problem, line = message.removesuffix(" (at end of document)"), max(1, len(text.splitlines()))
        todo = "fix the TOML near the end of the file (an unclosed value, or a key given twice)"
    return _refusal(path, line, "TOML syntax", problem[:1].lower() + problem[1:], todo)


def _line_of(lines: Mapping[tuple[str, ...], int], key: tuple[str, ...]) -> int | None:
    """The line of ``key``, else of the nearest table that holds it (a key of an inline table, say)."""
    for end in range(len(key), 0, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The first line defining each key and table of ``text`` (already parsed: it is valid TOML).

    Read by hand, not with regular expressions: compiling them would cost every command a millisecond.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    open_string = ""
    for number, whole in enumerate(text.splitlines(), start=1):
        if open_string:  # inside a multi-line string: no key is defined here
            if open_string in whole:
                open_string = ""
            continue
        line = whole.lstrip(" \t")
        if line.startswith("["):  # [table] or [[array of tables]]
            found = _dotted_key(line, 2 if line.startswith("[[") else 1)
            if found and line.startswith("]", found[1]):
                table = found[0]
                for end in range(1, len(table) + 1):  # ([reports.mine] defines reports too, if nothing did before)
                    lines.setdefault(table[:end], number)
            continue
        found = _dotted_key(line, 0)
        if found and line.startswith("=", found[1]):
            key = (*table, *found[0])
            for end in range(len(table) + 1, len(key) + 1):
                lines.setdefault(key[:end], number)
            value = line[found[1] + 1:].lstrip(" \t")
            for quotes in ('"""', "'''"):
                if value.startswith(quotes) and quotes not in value[3:]:
                    open_string = quotes
    return lines


def _dotted_key(line: str, at: int) -> tuple[tuple[str, ...], int] | None:
    """The key (``a."b.c".d``) written at ``line[at:]``, and where what follows it starts; None if there is none."""
    parts: list[str] = []
    while True:
        while line.startswith((" ", "\t"), at):
            at += 1
        if line.startswith('"', at):  # a basic string: \" does not end it
            end = at + 1
            while end < len(line) and line[end] != '"':
                end += 2 if line[end] == "\\" else 1
            after = end + 1
        elif line.startswith("'", at):  # a literal string: no escapes
            end = line.find("'", at + 1)
            after = end + 1 if end > 0 else len(line) + 1
        else:
            after = at
            while after < len(line) and line[after] in _NAME_CHARS:
                after += 1
            if after == at:
                return None
        if after > len(line):
            return None  # a string not closed on this line: not a key
        raw = line[at:after]
        if raw.startswith('"') and "\\" in raw:
            import tomllib

            try:
                raw = '"' + tomllib.loads(f"k = {raw}")["k"] + '"'  # (rare, and tomllib knows every escape)
            except tomllib.TOMLDecodeError:
                return None
        parts.append(raw[1:-1] if raw[0] in "\"'" else raw)
        at = after
        while line.startswith((" ", "\t"), at):
            at += 1
        if not line.startswith(".", at):
            return tuple(parts), at
        at += 1


def _dotted(key: tuple[str, ...]) -> str:
    """``key`` as TOML writes it: ``reports.mine.limit``, ``urgency."priority.H"``."""
    return ".".join(p if p and all(c in _NAME_CHARS for c in p) else '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for p in key)


def _described(value: object) -> str:
    """A value the file gave, for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, int | float):
        return repr(value)
    return "a table" if isinstance(value, dict) else "an array" if isinstance(value, list) else "a date or time"


class _Checker:
    """Turns the parsed document into a ConfigFile, refusing the first thing it cannot use."""

    def __init__(self, path: str, lines: dict[tuple[str, ...], int], columns: Collection[str],
                 builtin_reports: Collection[str] | None) -> None:
        self.path, self.lines, self.columns, self.builtin_reports = path, lines, tuple(columns), builtin_reports

    def refuse(self, key: tuple[str, ...], problem: str, todo: str) -> UsageError:
        return _refusal(self.path, _line_of(self.lines, key), _dotted(key), problem, todo)

    def known_keys(self, table: Mapping[str, object], known: Collection[str], where: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                import difflib

                near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                todo = (f"did you mean {near[0]!r}?" if near else "the keys here are " + ", ".join(known))
                raise self.refuse((*where, key), "unknown key", todo)

    def text(self, key: tuple[str, ...], value: object, longest: int, what: str = "a text") -> str:
        """A non-empty string on one line, at most ``longest`` characters."""
        if not isinstance(value, str):
            raise self.refuse(key, f"must be {what} in quotes, not {_described(value)}",
                              f'write it as {_dotted(key[-1:])} = "…"')
        if not value.strip():
            raise self.refuse(key, "must not be empty", "give it a value, or remove the line")
        if any(c < " " or c == "\x7f" for c in value):
            raise self.refuse(key, "must be one line, without control characters", "remove the line breaks and tabs")
        if len(value) > longest:
            raise self.refuse(key, f"is {len(value):,} characters long", f"keep it to {longest:,}")
        return value

    def name(self, key: tuple[str, ...], what: str) -> None:
        name = key[-1]
        if not (0 < len(name) <= 32 and all(c in _NAME_CHARS for c in name) and name[0].isalpha()):
            raise self.refuse(key, f"is not a usable {what} name",
                              "a name is a letter then letters, digits, - or _, at most 32 in all")

    def check(self, data: dict[str, object], path_source: str) -> ConfigFile:
        self.known_keys(data, _TOP_KEYS, ())
        got: dict[str, object] = {}
        if "lock_timeout" in data:
            value = data["lock_timeout"]
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= config.MAX_LOCK_TIMEOUT
            if not ok:
                raise self.refuse(("lock_timeout",), f"must be a number of seconds from 0 to {config.MAX_LOCK_TIMEOUT:g}, "
                                  f"not {_described(value)}", "write it as lock_timeout = 10")
            got["lock_timeout"] = float(value)  # type: ignore[arg-type]
        if "backup_keep" in data:
            got["backup_keep"] = MappingProxyType(self.backup_keep(data["backup_keep"]))
        if "color" in data:
            color = data["color"]
            if color not in COLORS:
                raise self.refuse(("color",), f"must be auto, always or never, not {_described(color)}",
                                  'write it as color = "auto"')
            got["color"] = color
        if "date_format" in data:
            got["date_format"] = self.date_format(data["date_format"])
        if "data_dir" in data:
            got["data_dir"] = self.data_dir(data["data_dir"])
        if "pager" in data:
            got["pager"] = self.pager(data["pager"])
        contexts = self.contexts(data.get("contexts", {}))
        reports = self.reports(data.get("reports", {}))
        if "context" in data:
            context = self.text(("context",), data["context"], 32, "a context's name")
            if context not in contexts:
                raise self.refuse(("context",), f"names no context: {shown(context)}",
                                  "define it under [contexts], or name one that is: " + (", ".join(contexts) or "none is"))
            got["context"] = context
        if "default_report" in data:
            report = self.text(("default_report",), data["default_report"], 32, "a report's name")
            known = [*(self.builtin_reports or ()), *reports]
            if report not in reports and (self.builtin_reports is not None and report not in self.builtin_reports):
                raise self.refuse(("default_report",), f"names no report: {shown(report)}",
                                  "name one of " + ", ".join(known))
            got["default_report"] = report
        urgency = self.urgency(data.get("urgency", {}))
        if "theme" in data:
            got["theme"] = MappingProxyType(self.theme(data["theme"]))
        if "sync" in data:
            got["sync_merge"] = self.sync(data["sync"])
        return ConfigFile(self.path, path_source, True, contexts=MappingProxyType(contexts),
                          reports=MappingProxyType(reports), urgency=MappingProxyType(urgency),
                          lines=MappingProxyType(self.lines), **got)  # type: ignore[arg-type]

    def backup_keep(self, value: object) -> dict[str, int]:
        """``20`` (the last 20), ``"last=10,daily=7"`` (as TASKVAULT_BACKUP_KEEP) or ``{last = 10, daily = 7}``."""
        key = ("backup_keep",)
        todo = "write it as backup_keep = 20, or backup_keep = { last = 10, daily = 7, weekly = 4 }"
        if isinstance(value, str):
            try:
                return config.keep_counts(value)
            except ValueError as exc:
                raise self.refuse(key, str(exc), todo) from None
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"last": value}
        if not isinstance(value, dict):
            raise self.refuse(key, f"must be a number or a table, not {_described(value)}", todo)
        self.known_keys(value, _KEEP_KEYS, key)
        counts = {}
        for name, count in value.items():
            lowest = 1 if name == "last" else 0
            if not isinstance(count, int) or isinstance(count, bool) or not lowest <= count <= config.MAX_KEEP:
                raise self.refuse((*key, name), f"must be a whole number from {lowest} to {config.MAX_KEEP}, "
                                  f"not {_described(count)}", f"write it as {name} = {lowest or 10}")
            counts[name] = count
        return counts

    def date_format(self, value: object) -> str:
        key = ("date_format",)
        fmt = self.text(key, value, MAX_FORMAT_CHARS, "a strftime format")
        todo = 'use date directives only, such as date_format = "%Y-%m-%d" or "%d %b %Y"'
        index, has_day = 0, False
        while (index := fmt.find("%", index)) >= 0:
            flagged = fmt[index + 1: index + 2] in ("-", "_", "0", "^", "#")
            directive = fmt[index + 1 + flagged: index + 2 + flagged]
            if directive in _TIME_DIRECTIVES and directive:
                raise self.refuse(key, f"%{directive} shows a time of day, and dates have none", todo)
            if not directive or directive not in _DATE_DIRECTIVES:
                raise self.refuse(key, f"%{directive} is not a date directive taskvault knows", todo)
            has_day = has_day or directive in _DAY_DIRECTIVES
            index += 2 + flagged
        if not has_day:
            raise self.refuse(key, "shows no day (%d, %e, %j, %F, %D or %x)", todo)
        import time

        try:
            time.strftime(fmt, (2026, 12, 31, 0, 0, 0, 3, 365, 0))
        except ValueError as exc:
            raise self.refuse(key, f"is refused by strftime ({exc})", todo) from None
        return fmt

    def pager(self, value: object) -> bool | str:
        """false, true, or the pager's command line (as git's core.pager: "cat" is no pager)."""
        key, todo = ("pager",), 'write it as pager = false (no pager), or pager = "less -R"'
        if isinstance(value, bool):
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.refuse(key, f"must be false, true or a command in quotes, not {_described(value)}", todo)
        return self.text(key, value, MAX_FILTER_CHARS)

    def sync(self, value: object) -> str | None:
        """[sync]: merge = "never" (the default: two devices' edits of one task are a conflict) or "fields"."""
        table = self.table(("sync",), value, "sync settings")
        self.known_keys(table, _SYNC_KEYS, ("sync",))
        if "merge" not in table:
            return None
        merge = table["merge"]
        if merge not in SYNC_MERGE:
            raise self.refuse(("sync", "merge"), f"must be never or fields, not {_described(merge)}",
                              'write it as merge = "fields" under [sync] (or sync.merge = "fields")')
        return str(merge)

    def data_dir(self, value: object) -> str:
        key = ("data_dir",)
        directory = self.text(key, value, 4096, "a directory")
        if not (os.path.isabs(directory) or directory.startswith("~")):
            raise self.refuse(key, f"{shown(directory)} is a relative path", 'give it whole, or from ~: data_dir = "~/tasks"')
        return directory

    def table(self, key: tuple[str, ...], value: object, what: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.refuse(key, f"must be a table of {what}, not {_described(value)}", f"write it as [{_dotted(key)}]")
        if len(value) > MAX_ENTRIES:
            raise self.refuse(key, f"has {len(value)} {what}", f"keep it to {MAX_ENTRIES}")
        return value

    def contexts(self, value: object) -> dict[str, str]:
        contexts = {}
        for name, text in self.table(("contexts",), value, "contexts").items():
            self.name(("contexts", name), "context")
            contexts[name] = self.text(("contexts", name), text, MAX_FILTER_CHARS, "a filter")
        return contexts

    def reports(self, value: object) -> dict[str, Report]:
        reports = {}
        for name, fields in self.table(("reports",), value, "reports").items():
            key = ("reports", name)
            self.name(key, "report")
            if not isinstance(fields, dict):
                raise self.refuse(key, f"must be a table, not {_described(fields)}", f"write it as [reports.{name}]")
            self.known_keys(fields, _REPORT_KEYS, key)
            got: dict[str, object] = {}
            if "description" in fields:
                got["description"] = self.text((*key, "description"), fields["description"], MAX_DESCRIPTION_CHARS)
            for field in ("filter", "sort"):
                if field in fields:
                    got[field] = self.text((*key, field), fields[field], MAX_FILTER_CHARS, f"a {field}")
            if "columns" in fields:
                got["columns"] = self.report_columns((*key, "columns"), fields["columns"])
            if "limit" in fields:
                limit = fields["limit"]
                if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_REPORT_LIMIT:
                    raise self.refuse((*key, "limit"), f"must be a whole number from 1 to {MAX_REPORT_LIMIT:,}, "
                                      f"not {_described(limit)}", "write it as limit = 20, or remove it for no limit")
                got["limit"] = limit
            reports[name] = Report(name, **got)  # type: ignore[arg-type]
        return reports

    def report_columns(self, key: tuple[str, ...], value: object) -> tuple[str, ...]:
        import difflib

        todo = 'write it as columns = ["id", "due", "title"]'
        if not isinstance(value, list) or not value:
            raise self.refuse(key, f"must be a non-empty array of column names, not {_described(value)}", todo)
        for column in value:
            if not isinstance(column, str):
                raise self.refuse(key, f"must hold column names in quotes, not {_described(column)}", todo)
            if column not in self.columns:
                near = difflib.get_close_matches(column, self.columns, n=1, cutoff=0.6)
                raise self.refuse(key, f"{shown(column)} is not a column", f"did you mean {near[0]!r}?" if near
                                  else "the columns are " + ", ".join(self.columns))
        if len(set(value)) < len(value):
            twice = next(c for c in value if value.count(c) > 1)
            raise self.refuse(key, f"names {shown(twice)} twice", "name each column once")
        return tuple(value)

    def theme(self, value: object) -> dict[str, str]:
        """[theme]: each key a role (style.THEME_KEYS), each value a style such as "bold red" or "none"."""
        from .style import THEME_KEYS, parse_style  # (only a file with a theme pays for it)

        styles = {}
        table = self.table(("theme",), value, "styles")
        self.known_keys(table, THEME_KEYS, ("theme",))
        vocabulary = ("a style is words from: black red green yellow blue magenta cyan white, bright_COLOUR, "
                      "on_COLOUR, bold dim italic underline reverse; or none")
        for role, style in table.items():
            key = ("theme", role)
            if not isinstance(style, str):
                raise self.refuse(key, f"must be a style in quotes, not {_described(style)}",
                                  f'write it as {_dotted((role,))} = "bold red"')
            try:
                parse_style(style)
            except ValueError as exc:
                raise self.refuse(key, f"{shown(style)}: {exc}", vocabulary) from None
            styles[role] = " ".join(style.split())
        return styles

    def urgency(self, value: object) -> dict[str, float]:
        import difflib

        coefficients = {}
        for term, number in self.table(("urgency",), value, "coefficients").items():
            key = ("urgency", term)
            kind, dot, rest = term.partition(".")
            known = (term in URGENCY_TERMS or (kind == "priority" and rest in ("H", "M", "L"))
                     or (kind in ("tag", "project") and dot and rest and not any(c.isspace() for c in rest)))
            if not known and kind == "priority":
                raise self.refuse(key, "is not an urgency term", "priorities are priority.H, priority.M and priority.L")
            if not known:
                near = difflib.get_close_matches(term, (*URGENCY_TERMS, "priority.H", "priority.M", "priority.L"), n=1)
                raise self.refuse(key, "is not an urgency term", f"did you mean {near[0]!r}?" if near else
                                  "the terms are " + ", ".join(URGENCY_TERMS) + ", priority.H|M|L, tag.NAME, project.NAME")
            if (not isinstance(number, int | float) or isinstance(number, bool)
                    or not -MAX_COEFFICIENT <= number <= MAX_COEFFICIENT):
                raise self.refuse(key, f"must be a number from {-MAX_COEFFICIENT:g} to {MAX_COEFFICIENT:g}, "
                                  f"not {_described(number)}", f"write it as {_dotted((term,))} = 1.0")
            coefficients[term] = float(number)
        return coefficients
