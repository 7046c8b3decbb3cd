"""Settings from the command line and the environment, checked before anything runs; and how they rank against the
config file's (config_file.py): resolve_settings, flag > environment > file > default."""

from __future__ import annotations

import os

from ..commands.settings import (
    BACKUP_KEEP,
    CLICOLOR_FORCE,
    COLOR_WHEN,
    DATA_DIR,
    DEFAULT_LOCK_TIMEOUT,
    FORCE_COLOR,
    GLOBAL_OPTIONS,
    LOCK_TIMEOUT,
    NO_COLOR,
    PAGER,
    RESIDENT,
    TERM,
    TZ,
    TZDIR,
)
from ..commands.values import parse_count
from ..errors import InvalidValue, UsageError, shown

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: `taskvault help` reads its settings here)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from ..service import Retention
    from .config_file import ConfigFile, SettingRow, Settings, Sourced

__all__ = ["DEFAULT_DATE_FORMAT", "DEFAULT_LOCK_TIMEOUT", "GlobalOptions", "backup_keep", "backup_retention",
           "color_mode", "color_wanted", "data_directory", "data_directory_given", "effective_settings", "keep_counts",
           "load_settings", "lock_timeout", "resident", "resolve_settings", "split_global_options", "time_zone"]

#: How a date is shown, unless the config file's date_format says otherwise.
DEFAULT_DATE_FORMAT = "%Y-%m-%d"


class GlobalOptions:
    """What taskvault's own options said: one attribute for each of settings.GLOBAL_OPTIONS.

    A plain class (not attrs): `taskvault help` and `--help` read these without importing attrs.
    """

    __slots__ = ("color", "data_dir", "help", "json", "keep_going", "new_passphrase_fd", "no_color", "no_pager",
                 "passphrase_fd", "script", "version")

    def __init__(self, *, data_dir: str | None = None, json: bool = False, script: str | None = None,
                 keep_going: bool = False, no_color: bool = False, no_pager: bool = False, version: bool = False,
                 help: bool = False, color: str | None = None, passphrase_fd: str | None = None,
                 new_passphrase_fd: str | None = None) -> None:
        self.data_dir = data_dir
        #: The descriptors an encrypted store's passphrase and a new one are read from, as given (cli/passphrase.py).
        self.passphrase_fd = passphrase_fd
        self.new_passphrase_fd = new_passphrase_fd
        #: --color's WHEN (auto, always or never), if it was given after any --no-color; see color_mode.
        self.color = color
        self.json = json
        self.script = script
        self.keep_going = keep_going
        self.no_color = no_color
        self.no_pager = no_pager
        self.version = version
        self.help = help

    def __repr__(self) -> str:
        return "GlobalOptions(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


_FLAGS = {name: o.field for o in GLOBAL_OPTIONS if o.metavar is None for name in (o.name, *o.aliases)}
_VALUED = {o.name: o.field for o in GLOBAL_OPTIONS if o.metavar is not None}


def split_global_options(argv: list[str]) -> tuple[GlobalOptions, list[str]]:
    """Take taskvault's own options from before the command word; the command word and all after it
    are the command's.

    A title's words are never read as taskvault's options: after the command word, ``--json`` or
    ``--data-dir`` is the command's to accept or refuse (as an unknown option, a usage error), so
    that ``taskvault add note about --data-dir usage`` never saves a shorter title in another store.
    ``--`` ends the options; ``--help`` before a command asks for the program's help.
    """
    found: dict[str, object] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            index += 1
            break
        if not token.startswith("-") or token == "-":
            break  # the command word
        index += 1
        name, has_value, inline = token.partition("=")
        if name in _VALUED:
            if has_value:
                value = inline
            elif index < len(argv):
                value, index = argv[index], index + 1
            else:
                raise UsageError(f"{name} needs a value", hint="run 'taskvault --help'")
            if not value:
                raise UsageError(f"{name} needs a non-empty value")
            if name == "--color" and value not in COLOR_WHEN:
                raise UsageError(f"--color must be auto, always or never, not {shown(value)}",
                                 hint="write it as --color=never, or --color never")
            found[_VALUED[name]] = value
            if name == "--color":
                found.pop("no_color", None)  # (the later of --color and --no-color wins, as a later option does)
        elif token in _FLAGS:
            found[_FLAGS[token]] = True
            if token == "--no-color":
                found.pop("color", None)
        else:
            raise UsageError(f"unknown option {shown(token, quote=False)}",
                             hint="run 'taskvault --help' for the options; they go before the command")
    rest = argv[index:]
    options = GlobalOptions(**found)  # type: ignore[arg-type]
    if options.script is not None and rest:
        raise UsageError("--script runs a file of commands; give it no command as well")
    return options, rest


def data_directory(options: GlobalOptions, env: Mapping[str, str]) -> Path:
    """--data-dir, else $TASKVAULT_DATA_DIR, else the platform's user data directory."""
    return _data_directory(data_directory_given(options, env))


def data_directory_given(options: GlobalOptions, env: Mapping[str, str]) -> str | None:
    """The data directory as given (--data-dir, else $TASKVAULT_DATA_DIR), checked; None if neither is."""
    raw = options.data_dir
    if raw is None and DATA_DIR.name in env:
        raw = env[DATA_DIR.name]
        if not raw.strip():
            raise UsageError(f"{DATA_DIR.name} is set but empty", hint="unset it, or set it to a directory")
    if raw is not None and "\0" in raw:
        raise UsageError("the data directory path contains a NUL character")
    return raw


def _data_directory(given: str | None) -> Path:
    """The directory ``given`` (data_directory_given), else the platform's user data directory."""
    from pathlib import Path  # (pathlib and platformdirs: only for a command that opens the store)

    if given is None:
        import platformdirs

        return Path(platformdirs.user_data_dir("taskvault", appauthor=False))
    return Path(os.path.abspath(os.path.expanduser(given)))


#: The longest a change may be set to wait for another session's, in seconds.
MAX_LOCK_TIMEOUT = 3600.0


def lock_timeout(env: Mapping[str, str]) -> float:
    raw = env.get(LOCK_TIMEOUT.name)
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (0 <= value <= MAX_LOCK_TIMEOUT):
        raise UsageError(f"{LOCK_TIMEOUT.name} must be a number of seconds from 0 to {MAX_LOCK_TIMEOUT:g}, not {shown(raw)}")
    return value


def color_wanted(options: GlobalOptions, env: Mapping[str, str], is_terminal: bool, mode: str | None = None) -> bool:
    """Colour or not: ``mode``, resolve_settings's colour (auto, always or never), else color_mode's without a
    config file; auto is colour on a terminal only."""
    if mode is None:
        mode = color_mode(options, env, None)[0]
    return mode == "always" or (mode == "auto" and is_terminal)


def color_mode(options: GlobalOptions, env: Mapping[str, str], file_color: str | None,
               file_source: str = "the config file") -> tuple[str, str]:
    """(auto, always or never; where that came from): the first of these that says something.

    1. --color=WHEN, or --no-color (never): the user, for this command.
    2. The config file's color = "always" or "never": the user, for taskvault alone. It goes before NO_COLOR, as
       no-color.org allows ("user-level configuration files … should override NO_COLOR").
    3. NO_COLOR, set and not empty: never (no-color.org).
    4. FORCE_COLOR, set and not empty: always; but 0 or false: never, as Node and chalk read it, whose
       convention it is (force-color.org counts any value; a user who writes 0 means no).
    5. CLICOLOR_FORCE, set and neither empty nor 0: always (bixense.com/clicolors; gh and CMake read it so).
       NO_COLOR before both forcing variables, as gh, CMake and no-color.org have it: the variable that
       takes colour away wins over the one that adds it.
    6. TERM=dumb: never (a terminal that shows escape sequences as text); after the forcing variables, which
       are asked for explicitly while TERM is set for the terminal.
    7. auto: colour on a terminal, plain output in a pipe or file (the config file's "auto", or the default).
    """
    if options.color is not None:
        return options.color, "flag --color"
    if options.no_color:
        return "never", "flag --no-color"
    if file_color in ("always", "never"):
        return file_color, file_source
    if env.get(NO_COLOR.name):
        return "never", f"environment {NO_COLOR.name}"
    force = env.get(FORCE_COLOR.name, "")
    if force:
        if force.strip().lower() in ("0", "false"):
            return "never", f"environment {FORCE_COLOR.name}={force.strip()}"
        return "always", f"environment {FORCE_COLOR.name}"
    if env.get(CLICOLOR_FORCE.name, "0") not in ("", "0"):
        return "always", f"environment {CLICOLOR_FORCE.name}"
    if env.get(TERM.name) == "dumb":
        return "never", f"environment {TERM.name}=dumb"
    return "auto", file_source if file_color is not None else "default"


#: What TASKVAULT_BACKUP_KEEP accepts, said the same way by each of its errors.
_KEEP_RANGES = ("each of last, daily and weekly at most once: last a whole number from 1 to 10000, daily and "
                "weekly from 0 to 10000; empty or unset keeps the default")
#: The most automatic backups of each kind (last, daily, weekly) a setting may keep.
MAX_KEEP = 10_000


def backup_retention(env: Mapping[str, str]) -> Retention:
    """$TASKVAULT_BACKUP_KEEP, such as ``last=10,daily=7,weekly=4`` (any of the three; the rest default).

    Set but empty is the same as unset, as for most settings a shell leaves empty (``VAR=``).
    """
    from ..service import Retention  # (the store's policy: only for a command that opens the store)

    return Retention(**backup_keep(env))


def backup_keep(env: Mapping[str, str]) -> dict[str, int]:
    """The counts $TASKVAULT_BACKUP_KEEP sets (none when it is unset or empty), checked: see backup_retention."""
    raw = env.get(BACKUP_KEEP.name)
    if raw is None or not raw.strip():
        return {}
    try:
        return keep_counts(raw)
    except ValueError as exc:
        problem = str(exc)
        raise UsageError(BACKUP_KEEP.name + (" " if problem.startswith("must") else ": ") + problem,
                         hint=_KEEP_RANGES) from None


def keep_counts(raw: str) -> dict[str, int]:
    """The counts ``last=10,daily=7,weekly=4`` sets (any of the three), or ValueError saying what is wrong.

    The one reading of this form: $TASKVAULT_BACKUP_KEEP's, and the config file's backup_keep given as text.
    """
    values: dict[str, int] = {}
    for part in raw.split(","):
        name, _, number = part.strip().partition("=")
        try:
            if name not in ("last", "daily", "weekly") or name in values:
                raise InvalidValue(name)
            values[name] = parse_count(number, "", lowest=0, highest=MAX_KEEP)
        except InvalidValue:
            raise ValueError(f"must look like last=10,daily=7,weekly=4, not {shown(raw)}") from None
    if values.get("last", 1) < 1:
        raise ValueError("last must be at least 1, as the newest backup is always kept")
    return values


# -- TZ ---------------------------------------------------------------------------------------
#
# glibc reads TZ (after a leading colon, if any) as a zone file (``Europe/Paris``, an absolute path)
# or else as a POSIX rule (``CET-1CEST,M3.5.0,M10.5.0/3``), and quietly uses UTC for anything else. Python's
# datetime cannot represent a local time 24 hours or more from UTC (``UTC+25``: glibc allows up to
# 24:59:59), and would fail on first use, after a change was saved. Both are refused before anything runs.

_TZ_HINT = "unset TZ, or set it to a zone such as Europe/Paris, or a POSIX rule such as CET-1CEST,M3.5.0,M10.5.0/3"
#: Names glibc reads as UTC even where no zone files are installed.
_UTC_NAMES = frozenset({"UTC", "UCT", "GMT", "Universal", "Zulu", "Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/Universal",
                        "Etc/Zulu"})
_TZ_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)"
_TZ_OFFSET = r"[+-]?\d{1,2}(?::\d{1,2}){0,2}"
_TZ_DATE = r"(?:J\d{1,3}|\d{1,3}|M\d{1,2}\.\d\.\d)(?:/[+-]?\d{1,3}(?::\d{1,2}){0,2})?"
_POSIX_TZ = (rf"{_TZ_NAME}(?P<std>{_TZ_OFFSET})(?:(?P<summer>{_TZ_NAME})(?P<dst>{_TZ_OFFSET})?"
             rf"(?:,(?P<start>{_TZ_DATE}),(?P<end>{_TZ_DATE}))?)?")
_DAY = 24 * 3600


def _clock(text: str, most_hours: int) -> int | None:
    """Seconds of ``[+-]hh[:mm[:ss]]`` (an offset west of UTC, or a time of day); None if a field is out of range."""
    fields = [int(f) for f in text.lstrip("+-").split(":")] + [0, 0]
    hours, minutes, seconds = fields[:3]
    if hours > most_hours or minutes > 59 or seconds > 59:
        return None
    return (-1 if text.startswith("-") else 1) * (hours * 3600 + minutes * 60 + seconds)


def _rule_date_ok(text: str) -> bool:
    day, _, time = text.partition("/")
    if time and _clock(time, 167) is None:
        return False
    if day.startswith("M"):
        month, week, weekday = (int(f) for f in day[1:].split("."))
        return 1 <= month <= 12 and 1 <= week <= 5 and 0 <= weekday <= 6
    return 1 <= int(day[1:]) <= 365 if day.startswith("J") else 0 <= int(day) <= 365


def _is_zone_file(name: str, env: Mapping[str, str]) -> bool:
    path = name if name.startswith("/") else os.path.join(env.get(TZDIR.name) or "/usr/share/zoneinfo", name)
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"TZif"
    except (OSError, ValueError):  # missing, a directory, unreadable, a name too long or with a NUL
        return False


def resident(env: Mapping[str, str]) -> None:
    """Check $TASKVAULT_RESIDENT: off, or the seconds a resident process waits idle (1 to a week)."""
    from .resident_client import idle_seconds

    raw = env.get(RESIDENT.name, "")
    if idle_seconds(env) is None and raw.strip().lower() not in ("off", "0", "no", "false"):
        raise UsageError(f"{RESIDENT.name}={shown(raw)} is neither off nor a number of seconds from 1 to 604800",
                         hint="unset it for the default, 600 s idle, or set it to off")


def time_zone(env: Mapping[str, str]) -> None:
    """Check $TZ: a zone glibc finds, or a POSIX rule whose local times are less than 24 hours from UTC."""
    raw = env.get(TZ.name, "")
    name = raw.removeprefix(":")  # glibc reads ":X" as it reads "X"
    if not name or name in _UTC_NAMES or _is_zone_file(name, env):  # unset, "" (UTC) or ":" (the system's zone)
        return
    import re

    rule = re.fullmatch(_POSIX_TZ, name, re.ASCII)  # (compiled only when TZ is set and names no zone)
    if rule is None:
        raise UsageError(f"TZ={shown(raw)} is neither a time zone in {env.get(TZDIR.name) or '/usr/share/zoneinfo'} "
                         "nor a POSIX TZ rule", hint=_TZ_HINT)
    offsets = [_clock(rule["std"], 99)]  # hours past 24 are named below, not called out of range
    if rule["summer"]:  # summer time, an hour ahead unless it says otherwise
        offsets.append(_clock(rule["dst"], 99) if rule["dst"] else (offsets[0] or 0) - 3600)
    dates_ok = rule["start"] is None or (_rule_date_ok(rule["start"]) and _rule_date_ok(rule["end"]))
    if None in offsets or not dates_ok:
        raise UsageError(f"TZ={shown(raw)} is not a valid POSIX TZ rule (a field is out of range)", hint=_TZ_HINT)
    worst = max(abs(offset or 0) for offset in offsets)
    if worst >= _DAY:
        raise UsageError(f"TZ={shown(raw)} puts local time {worst // 3600}:{worst % 3600 // 60:02} hours from UTC; "
                         "taskvault handles less than 24 hours", hint=_TZ_HINT)


# -- Precedence -------------------------------------------------------------------------------
#
# A setting given in more than one place is taken from the first of: a flag, the environment, the
# config file (config_file.py), the default. Colour is the one exception, by NO_COLOR's own rule
# (no-color.org: a program's config file may turn colour back on): NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE
# and TERM=dumb are set for every program, the config file's color = "always" or "never" for taskvault
# alone, so the file wins over them; --color and --no-color still win over all (color_mode).


def load_settings(options: GlobalOptions, env: Mapping[str, str]) -> Settings:
    """resolve_settings over the config file config_file.read_config finds: only here is tomllib imported."""
    from .config_file import read_config

    return resolve_settings(options, env, read_config(env))


def resolve_settings(options: GlobalOptions, env: Mapping[str, str], file: ConfigFile) -> Settings:
    """Every setting with more than one source, each with where it came from; checked (UsageError)."""
    from .config_file import Settings, Sourced

    def in_file(key: str) -> str:
        return f"file {file.where(key)}"

    given = data_directory_given(options, env)
    if given is not None:
        directory = Sourced(_data_directory(given), "flag --data-dir" if options.data_dir is not None
                            else f"environment {DATA_DIR.name}")
    elif file.data_dir is not None:
        directory = Sourced(_data_directory(file.data_dir), in_file("data_dir"))
    else:
        directory = Sourced(_data_directory(None), "default")
    if LOCK_TIMEOUT.name in env:
        timeout = Sourced(lock_timeout(env), f"environment {LOCK_TIMEOUT.name}")
    else:
        timeout = (Sourced(file.lock_timeout, in_file("lock_timeout")) if file.lock_timeout is not None
                   else Sourced(DEFAULT_LOCK_TIMEOUT, "default"))
    keep: Sourced[Mapping[str, int]]
    if counts := backup_keep(env):
        keep = Sourced(counts, f"environment {BACKUP_KEEP.name}")
    else:
        keep = (Sourced(file.backup_keep, in_file("backup_keep")) if file.backup_keep is not None
                else Sourced({}, "default"))
    return Settings(
        config=Sourced(file.path, file.path_source), data_dir=directory, lock_timeout=timeout, backup_keep=keep,
        color=_color(options, env, file, in_file),
        date_format=(Sourced(file.date_format, in_file("date_format")) if file.date_format is not None
                     else Sourced(DEFAULT_DATE_FORMAT, "default")),
        default_report=(Sourced(file.default_report, in_file("default_report")) if file.default_report is not None
                        else Sourced(None, "default")),
        context=Sourced(file.context, in_file("context")) if file.context is not None else Sourced(None, "default"),
        file=file, pager=_pager(options, env, file, in_file))


#: The pager when neither the config file nor $PAGER names one (run with LESS=FRX when LESS is unset, as git does).
DEFAULT_PAGER = "less"


def _pager(options: GlobalOptions, env: Mapping[str, str], file: ConfigFile,
           in_file: Callable[[str], str]) -> Sourced[str | None]:
    """The pager long output on a terminal goes through, None for none: --no-pager, else the config file's
    pager (false: none, true: as if it said nothing), else $PAGER (empty or cat: none), else less. As git
    ranks core.pager over $PAGER, and takes "cat" or "" for no pager at all."""
    from .config_file import Sourced

    if options.no_pager:
        return Sourced(None, "flag --no-pager")
    if isinstance(file.pager, str):
        return Sourced(None if file.pager == "cat" else file.pager, in_file("pager"))
    if file.pager is False:
        return Sourced(None, in_file("pager"))
    if PAGER.name in env:
        given = env[PAGER.name].strip()
        return Sourced(None if given in ("", "cat") else given, f"environment {PAGER.name}")
    return Sourced(DEFAULT_PAGER, in_file("pager") if file.pager is True else "default")


def _color(options: GlobalOptions, env: Mapping[str, str], file: ConfigFile,
           in_file: Callable[[str], str]) -> Sourced[str]:
    from .config_file import Sourced

    return Sourced(*color_mode(options, env, file.color, in_file("color")))


def effective_settings(settings: Settings) -> list[SettingRow]:
    """The rows of `taskvault config`: each setting by its name in the config file, its value, its source."""
    from ..service import Retention
    from .config_file import SettingRow

    file = settings.file
    keep = Retention(**settings.backup_keep.value)
    listed = [("contexts", ", ".join(file.contexts)), ("reports", ", ".join(file.reports)),
              ("urgency", ", ".join(f"{term}={value:g}" for term, value in file.urgency.items())),
              ("theme", ", ".join(f"{role}={style}" for role, style in file.theme.items()))]
    return [
        SettingRow("config file", settings.config.value + ("" if file.found else " (not there: defaults)"),
                   settings.config.source),
        SettingRow("data_dir", str(settings.data_dir.value), settings.data_dir.source),
        SettingRow("lock_timeout", f"{settings.lock_timeout.value:g} s", settings.lock_timeout.source),
        SettingRow("backup_keep", f"last={keep.last},daily={keep.daily},weekly={keep.weekly}",
                   settings.backup_keep.source),
        SettingRow("color", settings.color.value, settings.color.source),
        SettingRow("date_format", settings.date_format.value, settings.date_format.source),
        SettingRow("default_report", settings.default_report.value or "none", settings.default_report.source),
        SettingRow("context", settings.context.value or "none", settings.context.source),
        SettingRow("pager", settings.pager.value or "none", settings.pager.source),
        *(SettingRow(name, text or "none", f"file {file.where(name)}" if text else "default") for name, text in listed),
        SettingRow("sync.merge", file.sync_merge or "never", f"file {file.where('sync', 'merge')}" if file.sync_merge
                   else "default"),
    ]
