"""The formats taskvault imports and exports, each a module imported only when it is used."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .model import Batch

#: Each format's name as typed after --from and --to, and its module here.
FORMATS = {"taskwarrior": "taskwarrior", "todotxt": "todotxt", "csv": "csvfile", "ical": "ical"}


def reader(name: str) -> Callable[..., Batch]:
    """The ``read(sources: Sequence[Source], *, now: dt.datetime, progress=None) -> Batch`` of a format."""
    module = importlib.import_module(f"{__package__}.{FORMATS[name]}")
    read: Callable[..., Batch] = module.read
    return read


def writer(name: str) -> Callable[..., Iterator[str]]:
    """The ``write(tasks: Sequence[Task]) -> Iterator[str]`` of a format: its text, in pieces, as it goes."""
    module = importlib.import_module(f"{__package__}.{FORMATS[name]}")
    write: Callable[..., Iterator[str]] = module.write
    return write
