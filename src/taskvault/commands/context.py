"""What a command handler is given to work with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from ..service import TaskService


@attrs.frozen
class Context:
    service: TaskService
    #: Asks the user a yes/no question; None where nobody can answer (one-shot, scripts).
    confirm: Callable[[str], bool] | None = None

    @property
    def today(self) -> dt.date:
        """Today in the user's local time zone: due dates are calendar dates, not instants."""
        return self.service.now().astimezone().date()
