"""The session's prompt, fitted to small terminals.

prompt_toolkit keeps rows free under the input for the completion menu (8 by default); on a
terminal with fewer rows than that plus the toolbar it draws ``Window too small...`` instead of
the prompt as soon as the menu opens. Here the rows kept never exceed the rows there are: the
menu is then drawn in what is left (it scrolls).
"""

from __future__ import annotations

from prompt_toolkit import PromptSession

#: Rows the screen needs besides the input and the menu: the bottom toolbar, and one to spare.
OTHER_ROWS = 2


class FittedPromptSession(PromptSession[str]):
    """A PromptSession whose room for the completion menu shrinks to fit the terminal's height."""

    _menu_rows = 8

    @property  # (an attribute in PromptSession, read at each redraw)
    def reserve_space_for_menu(self) -> int:
        try:
            rows = self.app.output.get_size().rows
        except OSError:  # a terminal gone: the next write says so
            return self._menu_rows
        return max(0, min(self._menu_rows, rows - OTHER_ROWS))

    @reserve_space_for_menu.setter
    def reserve_space_for_menu(self, rows: int) -> None:
        self._menu_rows = rows
