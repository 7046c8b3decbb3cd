"""What a command handler is given to work with."""

from __future__ import annotations

from ..errors import UsageError

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping
    from typing import Any, Protocol

    from ..domain.progress import ProgressCallback
    from ..service import TaskService

    class StatusLine(Protocol):
        """The line long work shows on a terminal (cli/progress.py's Progress)."""

        def __call__(self, text: str) -> None: ...
        def counting(self, what: str, unit: str = "tasks") -> ProgressCallback: ...
        def clear(self) -> None: ...


class Preferences:
    """What the user's config file says that commands use (the interface reads and checks the file)."""

    __slots__ = ("context", "context_filter", "contexts", "date_format", "default_report", "describe", "path",
                 "reports", "set_context", "sync_merge", "urgency")

    def __init__(self, *, context: str | None = None, contexts: Mapping[str, str] | None = None,
                 default_report: str | None = None, urgency: Mapping[str, float] | None = None,
                 reports: Mapping[str, Any] | None = None, path: str = "",
                 describe: Callable[[], list[tuple[str, str, str]]] | None = None,
                 set_context: Callable[[str | None], None] | None = None, date_format: str | None = None,
                 sync_merge: str = "never") -> None:
        #: The active context's name, and the filter it stands for (a report's words are added to it).
        self.context = context
        self.contexts = dict(contexts or {})
        self.context_filter = self.contexts.get(context) if context is not None else None
        #: The report a filter alone runs; None: next.
        self.default_report = default_report
        #: Urgency coefficients the file sets (urgency.Coefficients.from_mapping's keys).
        self.urgency = dict(urgency or {})
        #: Named reports: each with .filter, .sort, .limit, .columns, .description (None where not given).
        self.reports = dict(reports or {})
        #: The config file's path (where `context` writes).
        self.path = path
        #: The rows of `taskvault config`: (setting, value, where it came from).
        self.describe = describe
        #: Writes the active context into the config file (None: none); SaveFailed if it cannot.
        self.set_context = set_context
        #: How days are shown (a strftime format from the config file); None: YYYY-MM-DD.
        self.date_format = date_format
        #: What sync does with two devices' edits of different fields of one task: "never" merge them (a
        #: conflict, the user resolves it) or merge the "fields" (and say so). The config file's sync.merge.
        self.sync_merge = sync_merge


class Context:
    """The service a handler works with, and how it asks the user (a plain class: see results.py)."""

    __slots__ = ("confirm", "page_rows", "preferences", "progress", "read_file", "replace_file", "service")

    def __init__(self, service: TaskService, confirm: Callable[[str], bool] | None = None,
                 page_rows: int | None = None, preferences: Preferences | None = None, *,
                 read_file: Callable[[str], tuple[bytes, str]] | None = None,
                 replace_file: Callable[[str, bytes], str] | None = None,
                 progress: StatusLine | None = None) -> None:
        self.service = service
        #: The user's file at a path (or "-": standard input, where it is not the commands' own), whole, and
        #: the name a message gives it; UserError when it cannot be read or is too large (the interface reads).
        self.read_file = read_file
        #: Replaces the user's file at a path with these bytes, whole or not at all, and returns the path it
        #: wrote; UserError or SaveFailed when it cannot (the interface writes, through the store's files).
        self.replace_file = replace_file
        #: Shows how far long work has got, on a terminal (one status line on standard error; "" clears it);
        #: None where nobody watches (a script, a pipe, --json).
        self.progress = progress
        #: Asks the user a yes/no question; None where nobody can answer (one-shot, scripts).
        self.confirm = confirm
        #: How many task rows fit the terminal (``limit:page``); None when there is no terminal to fit.
        self.page_rows = page_rows
        self.preferences = preferences or Preferences()

    def counting(self, what: str) -> ProgressCallback | None:
        """A callback telling the watcher how far ``what`` (a step of long work) has got, its clock started;
        None where nobody watches, so the service does no more than it would."""
        if self.progress is None:
            return None
        report = self.progress.counting(what)
        report(0, None)
        return report

    def quiet(self) -> None:
        """Take the progress line away (before a question, say)."""
        if self.progress is not None:
            self.progress.clear()

    @property
    def today(self) -> dt.date:
        """Today in the user's local time zone: due dates are calendar dates, not instants."""
        return local_time(self.service.now()).date()


def local_time(moment: dt.datetime) -> dt.datetime:
    """``moment`` in the local time zone; one that Python cannot represent is a usage error, not a crash.

    main checks $TZ before anything runs; this catches what that check cannot see (a zone file
    with an offset of 24 hours or more), which may come after a change was saved.
    """
    try:
        return moment.astimezone()
    except (ValueError, OverflowError, OSError) as exc:
        raise UsageError(f"cannot convert a time to the local time zone: {exc}",
                         hint="unset TZ, or set it to a zone such as Europe/Paris") from None
