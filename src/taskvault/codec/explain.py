"""Why a task is not valid: the cattrs converter, slower than the fast path but precise.

Every task is first tried by the fast path (codec/tasks.py); this runs only when that fails, to
explain why (or, for a form the fast path does not try, such as an upper-case uuid, to accept
it). cattrs costs ~20 ms to import, so only a store that fails the fast path pays for it.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import TYPE_CHECKING, Any

import attrs

from ..domain.task import Annotation, Extra, Priority, Status, Task, normalize_extra
from ..errors import InvalidValue
from .scalars import FormatError, expect, structure_date, structure_tags, structure_timestamp

if TYPE_CHECKING:
    import cattrs

#: The fields every stored task has, no more and no fewer.
REQUIRED_TASK_KEYS = frozenset(a.name for a in attrs.fields(Task))


@functools.cache
def _explaining_converter() -> cattrs.Converter:
    """The reference converter. tests/test_codec_fast.py checks that it and the fast path agree on every input."""
    import cattrs
    from cattrs.gen import make_dict_structure_fn

    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(int, lambda v, _: expect(int, v, "an integer"))
    conv.register_structure_hook(str, lambda v, _: expect(str, v, "a string"))
    conv.register_structure_hook(uuid.UUID, lambda v, _: uuid.UUID(expect(str, v, "a uuid string")))
    conv.register_structure_hook(dt.datetime, structure_timestamp)
    conv.register_structure_hook(dt.date, structure_date)
    conv.register_structure_hook(Status, lambda v, _: Status(expect(str, v, "a status string")))
    conv.register_structure_hook(Priority, lambda v, _: Priority(expect(str, v, "a priority string")))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], structure_tags)
    conv.register_structure_hook_func(
        lambda t: t == tuple[uuid.UUID, ...],
        lambda v, _: tuple(uuid.UUID(expect(str, u, "a uuid string")) for u in expect(list, v, "a list of uuids")))
    conv.register_structure_hook(Annotation, make_dict_structure_fn(Annotation, conv, _cattrs_forbid_extra_keys=True,
                                                                    _cattrs_use_linecache=False))
    conv.register_structure_hook_func(
        lambda t: t == tuple[Annotation, ...],
        lambda v, _: tuple(conv.structure(a, Annotation) for a in expect(list, v, "a list of annotations")))
    conv.register_structure_hook_func(lambda t: t == Extra, _structure_extra)
    conv.register_structure_hook(Task, make_dict_structure_fn(Task, conv, _cattrs_forbid_extra_keys=True,
                                                              _cattrs_use_linecache=False))
    return conv


def _structure_extra(value: Any, _: type) -> Extra:
    """An object of extra attributes as Task.extra holds them (sorted); TypeError or InvalidValue naming what is
    wrong (an object of names and values: text, whole numbers or numbers, never true, null, a list or an object)."""
    return normalize_extra(expect(dict, value, "an object of extra attributes"))


def _describe(exc: BaseException, type_: Any) -> str:
    import cattrs

    # Our own hooks and the domain rules raise messages written for people; keep them.
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def explained_task(raw: Any, path: str) -> Task:
    """The Task ``raw`` describes, or FormatError saying which field at ``path`` is wrong, and how."""
    import cattrs

    if type(raw) is not dict:
        raise FormatError(f"expected a task object, got {type(raw).__name__}", path)
    missing = REQUIRED_TASK_KEYS - raw.keys()
    if missing:
        raise FormatError(f"missing field {min(missing)!r}", path)
    try:
        return _explaining_converter().structure(raw, Task)
    except cattrs.BaseValidationError as exc:
        raise FormatError(cattrs.transform_error(exc, path=path, format_exception=_describe)[0], "") from None
    except InvalidValue as exc:
        raise FormatError(str(exc), path) from None
