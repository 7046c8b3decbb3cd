"""The config file's filters and orders, checked as a command would read them, before anything runs.

config_file.py checks the file's shape (keys, types, bounds); what a context's or a report's filter
and sort say is the filter language's to judge (domain/filtering.py, domain/urgency.py). A file whose
filter would fail every `list` is refused when it is read, naming its line and key, as any other
mistake in it is; and a default report must name a report or a command that shows tasks.
"""

from __future__ import annotations

import datetime as dt

from ..errors import InvalidValue, UsageError
from .config_file import ConfigFile

#: The commands a config file's default_report may name, besides its own reports.
REPORT_COMMANDS = ("next", "list")


def check_filters(file: ConfigFile) -> None:
    """UsageError for the first context or report whose filter or sort does not read, or a default report that
    names nothing; only a file that has such settings pays for the filter language's import."""
    if not file.contexts and not file.reports and file.default_report is None:
        return
    from ..domain.filtering import parse_filter
    from ..domain.urgency import sort_key

    today = dt.date.today()

    def refuse(key: tuple[str, ...], message: str, todo: str) -> UsageError:
        return UsageError(f"{file.where(*key)}: {'.'.join(key)}: {message} — {todo}")

    for name, text in file.contexts.items():
        try:
            parse_filter([f"({text})"], today=today)
        except InvalidValue as error:
            raise refuse(("contexts", name), error.message, "fix the filter, as 'taskvault list FILTER' takes one") from None
    for name, report in file.reports.items():
        try:
            if report.filter:
                parse_filter([f"({report.filter})"], today=today)
        except InvalidValue as error:
            raise refuse(("reports", name, "filter"), error.message, "fix the filter") from None
        try:
            if report.sort:
                sort_key(report.sort, today=today)
        except InvalidValue as error:
            raise refuse(("reports", name, "sort"), error.message, "such as sort = \"urgency-,due+\"") from None
    if file.default_report is not None and file.default_report not in (*REPORT_COMMANDS, *file.reports):
        raise refuse(("default_report",), f"no report named {file.default_report!r}",
                     f"name one of {', '.join(REPORT_COMMANDS)} or a report under [reports]")
