"""What a command handler is given to work with."""

from __future__ import annotations

import datetime as dt

import attrs

from ..service import TaskService


@attrs.frozen
class Context:
    service: TaskService

    @property
    def today(self) -> dt.date:
        """Today in the user's local time zone: due dates are calendar dates, not instants."""
        return self.service.now().astimezone().date()
