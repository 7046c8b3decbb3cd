"""What a command handler is given to work with."""

from __future__ import annotations

from ..errors import UsageError

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from ..service import TaskService


class Context:
    """The service a handler works with, and how it asks the user (a plain class: see results.py)."""

    __slots__ = ("confirm", "page_rows", "service")

    def __init__(self, service: TaskService, confirm: Callable[[str], bool] | None = None,
                 page_rows: int | None = None) -> None:
        self.service = service
        #: Asks the user a yes/no question; None where nobody can answer (one-shot, scripts).
        self.confirm = confirm
        #: How many task rows fit the terminal (``limit:page``); None when there is no terminal to fit.
        self.page_rows = page_rows

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
