"""The store's own values as plain classes: fields named by ``_fields``, compared, hashed and shown by them.

attrs builds each class's methods by compiling source when its module is imported (0.3-0.6 ms a
class), and every command imports the store (issue 17, target 3). These records are the store's
alone; the domain's values (Task, Change, Step) stay attrs classes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing.TYPE_CHECKING)
if TYPE_CHECKING:
    from typing import Self


class Record:
    """A value of the fields ``_fields`` names (in the order ``__init__`` takes them), as an attrs class is.

    A subclass names its fields in ``_fields`` and makes them its ``__slots__``."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def evolve(self, **changes: object) -> Self:
        """A copy with ``changes`` made (attrs.evolve)."""
        for name in self._fields:
            changes.setdefault(name, getattr(self, name))
        return type(self)(**changes)


class MutableRecord(Record):
    """A Record whose fields may be set after it is made: compared, but not hashable (as attrs.define)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
