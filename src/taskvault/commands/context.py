"""What a command handler is given to work with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from ..errors import UsageError
from ..service import TaskService


@attrs.frozen
class Context:
    service: TaskService
    #: Asks the user a yes/no question; None where nobody can answer (one-shot, scripts).
    confirm: Callable[[str], bool] | None = None

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
