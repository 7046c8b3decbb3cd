"""Settings from the command line and the environment, checked before anything runs."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from ..commands.values import parse_count
from ..errors import InvalidValue, UsageError, shown
from ..store.backups import Retention

DEFAULT_LOCK_TIMEOUT = 10.0


@attrs.frozen
class GlobalOptions:
    data_dir: str | None = None
    json: bool = False
    script: str | None = None
    keep_going: bool = False
    no_color: bool = False
    version: bool = False
    help: bool = False


_FLAGS = {"--json": "json", "--keep-going": "keep_going", "--no-color": "no_color", "--version": "version"}
_VALUED = {"--data-dir": "data_dir", "--script": "script"}


def split_global_options(argv: list[str]) -> tuple[GlobalOptions, list[str]]:
    """Take taskvault's own options from anywhere before ``--``; the rest is the command.

    ``--help`` belongs to the program only before a command; after one it asks for that
    command's help and is left in place.
    """
    found: dict[str, object] = {}
    rest: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            rest += argv[index - 1:]
            break
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
            found[_VALUED[name]] = value
        elif token in _FLAGS:
            found[_FLAGS[token]] = True
        elif token in ("--help", "-h") and not rest:
            found["help"] = True
        elif token.startswith("--") and not rest:
            raise UsageError(f"unknown option {shown(token, quote=False)}", hint="run 'taskvault --help' for the options")
        else:
            rest.append(token)
    options = GlobalOptions(**found)  # type: ignore[arg-type]
    if options.script is not None and rest:
        raise UsageError("--script runs a file of commands; give it no command as well")
    return options, rest


def data_directory(options: GlobalOptions, env: Mapping[str, str]) -> Path:
    """--data-dir, else $TASKVAULT_DATA_DIR, else the platform's user data directory."""
    raw = options.data_dir
    if raw is None and "TASKVAULT_DATA_DIR" in env:
        raw = env["TASKVAULT_DATA_DIR"]
        if not raw.strip():
            raise UsageError("TASKVAULT_DATA_DIR is set but empty", hint="unset it, or set it to a directory")
    if raw is None:
        import platformdirs

        return Path(platformdirs.user_data_dir("taskvault", appauthor=False))
    if "\0" in raw:
        raise UsageError("the data directory path contains a NUL character")
    return Path(os.path.abspath(os.path.expanduser(raw)))


def lock_timeout(env: Mapping[str, str]) -> float:
    raw = env.get("TASKVAULT_LOCK_TIMEOUT")
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value <= 3600):
        raise UsageError(f"TASKVAULT_LOCK_TIMEOUT must be a number of seconds from 0 to 3600, not {shown(raw)}")
    return value


def color_wanted(options: GlobalOptions, env: Mapping[str, str], is_terminal: bool) -> bool:
    """Colour only on a terminal, and never with --no-color, NO_COLOR (any value) or TERM=dumb."""
    return is_terminal and not options.no_color and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def backup_retention(env: Mapping[str, str]) -> Retention:
    """$TASKVAULT_BACKUP_KEEP, such as ``last=10,daily=7,weekly=4`` (any of the three; the rest default)."""
    raw = env.get("TASKVAULT_BACKUP_KEEP")
    if raw is None:
        return Retention()
    values: dict[str, int] = {}
    for part in raw.split(","):
        name, _, number = part.strip().partition("=")
        try:
            if name not in ("last", "daily", "weekly") or name in values:
                raise InvalidValue(name)
            values[name] = parse_count(number, "", lowest=0, highest=10_000)
        except InvalidValue:
            raise UsageError(f"TASKVAULT_BACKUP_KEEP must look like last=10,daily=7,weekly=4, not {shown(raw)}",
                             hint="each of last, daily and weekly at most once, with a whole number from 0 to "
                                  "10000") from None
    if values.get("last", 1) < 1:
        raise UsageError("TASKVAULT_BACKUP_KEEP: last must be at least 1", hint="the newest backup is always kept")
    return Retention(**values)

