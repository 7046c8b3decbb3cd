"""Changing one setting in the user's config file: the active context (``taskvault context NAME``).

The file is the user's own text: only the one top-level ``context = ...`` line is written, replaced or
removed; every other line, comment and blank stays as it is. The new text is checked as the file is
read (config_file.parse_config) before it replaces the old one, by write-to-temp, fsync, rename and
fsync of the directory (store/files.py's atomic_replace), so the file is always the old one or the new one, whole.
"""

from __future__ import annotations

import re

from ..errors import SaveFailed
from .config_file import parse_config

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: A table header starts the first table: the top-level keys are all above it.
_TABLE = re.compile(r"^\s*\[")
_CONTEXT_LINE = re.compile(r"^\s*(?:context|\"context\"|'context')\s*=")


def with_context(text: str, name: str | None) -> str:
    """``text`` with its top-level ``context`` set to ``name`` (None: removed)."""
    lines = text.splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    kept = [line for line in lines[:end] if not _CONTEXT_LINE.match(line)]
    if name is not None:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        kept.append(f'context = "{escaped}"\n')
    return "".join(kept + lines[end:])


def write_context(path: str, name: str | None, replace_file: Callable[[Path, bytes], None]) -> None:
    """Set (or, with None, remove) the active context in the config file at ``path``, written by
    ``replace_file`` (bootstrap's: the store's atomic replace); SaveFailed if it cannot be written."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read().removeprefix("\ufeff")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise SaveFailed(f"could not read the config file {path}: {exc}") from None
    new = with_context(text, name)
    parse_config(new, path)  # the file as it will be must read as it did (a UsageError otherwise, nothing written)
    from pathlib import Path

    try:
        replace_file(Path(path), new.encode("utf-8"))
    except OSError as exc:
        raise SaveFailed(f"could not write the config file {path}: {exc.strerror or exc}; it is as it was, "
                         "unless the error came after the rename (then it may hold the change)") from None
