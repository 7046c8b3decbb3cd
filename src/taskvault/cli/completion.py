"""Tab completion for the interactive session: cli/candidates.py's candidates, as prompt_toolkit shows them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ..domain.tasklist import TaskList
from .candidates import complete
from .text import terminal_safe


class TaskCompleter(Completer):
    """Completes commands, options, option values, task ids (with titles) and tags."""

    def __init__(self, tasks: Callable[[], TaskList | None]) -> None:
        #: Returns the loaded task list, or None while it is still loading.
        self._tasks = tasks

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        words = text.split()
        current = "" if not words or text[-1:].isspace() else words.pop()
        for value, meta in complete(words, current, self._tasks, in_session=True):
            # The value is inserted exactly as it is, but shown (as is its description) with control
            # and format characters escaped.
            shown = terminal_safe(value)
            yield Completion(value, start_position=-len(current), display=shown if shown != value else None,
                             display_meta=terminal_safe(meta) if meta else None)
