"""Key bindings of the interactive session."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys


def pasted_lines(data: str) -> str:
    """What a paste puts in the line: its lines as pasted (any line ending read as a newline), without
    the newline that ends the last one, so that nothing runs until Enter is pressed."""
    return data.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def session_key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        # A pasted newline stays a newline (the session runs each line as its own command); it is
        # never turned into a space that would join two commands into one.
        event.current_buffer.insert_text(pasted_lines(event.data))

    @bindings.add(Keys.Vt100MouseEvent)
    def _not_a_mouse(event: KeyPressEvent) -> None:
        # The session never turns mouse reports on, so ESC [ 31 m that arrives typed, or pasted without
        # bracketed paste, is text that looks like one: prompt_toolkit's own handler failed on it with a
        # traceback (and ended the session). It goes in the line as typed; the command refuses its escape.
        event.current_buffer.insert_text(event.data)

    return bindings
