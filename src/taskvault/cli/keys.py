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

    return bindings
