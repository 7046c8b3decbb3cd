"""How long work tells whoever started it how far it has got, knowing nothing of who that is.

The store and the codec take such a callback and call it; the interface (cli/progress.py) shows it on a
terminal, or passes None where nobody watches, which costs the work nothing.
"""

from __future__ import annotations

from collections.abc import Callable

#: Told ``(done, total)`` as long work goes on: the units done so far, and all there are (None while not
#: known). Called from the thread doing the work; it must return quickly and never fail that work (the
#: interface's swallows its own errors: a terminal that went away does not stop a save).
ProgressCallback = Callable[[int, int | None], None]
