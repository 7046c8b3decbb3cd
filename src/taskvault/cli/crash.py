"""What the user sees of a bug: one line, with the traceback kept in a log file."""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

from ..exits import EXIT_INTERNAL
from ..service import open_private_file


def crash_log_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("taskvault", appauthor=False)) / "crash.log"


def report_crash(exc: BaseException, saved: str | None = None, line: int | None = None, *,
                 private: bool = False) -> str:
    """Append the traceback to the crash log and return the line to show the user.

    ``saved`` says what was saved before the bug (see Runner.saved_clause); without it, nothing
    unconfirmed was. ``line`` is the script line that was running. ``private`` (an encrypted store):
    the log keeps where the bug was and its type, never its message, which may quote a task; the
    line on screen still says it.
    """
    summary = f"{type(exc).__name__}: {exc}"[:200]
    path = crash_log_path()
    try:
        # A private directory, a regular file: never a link followed, never a named pipe waited on.
        fd = open_private_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, what="state directory")
        with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as log:
            log.write(f"--- {dt.datetime.now(dt.UTC).isoformat()}\n")
            log.write(_frames_only(exc) if private else "".join(traceback.format_exception(exc)))
        where = f"details in {path}"
    except OSError:
        where = "the details could not be logged"
    at = f"line {line}: " if line is not None else ""
    return f"taskvault: {at}internal error ({summary}); {saved or 'nothing unconfirmed was saved'}; {where}"


def _frames_only(exc: BaseException) -> str:
    """The traceback of ``exc`` (and of the exceptions it came from) without a message: code, never data."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.insert(0, "Traceback (most recent call last):\n" + "".join(traceback.format_tb(current.__traceback__))
                     + f"{type(current).__qualname__} (its message is not logged: the store is encrypted)\n")
        current = current.__cause__ or current.__context__
    return "\nDuring the handling of the above, another exception occurred:\n\n".join(parts)


__all__ = ["EXIT_INTERNAL", "crash_log_path", "report_crash"]  # EXIT_INTERNAL: re-exported, its home is exits.py
