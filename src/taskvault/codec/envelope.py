"""What every taskvault document declares about itself: its format, its schema, who may read it.

A document of an older schema is upgraded, one migration at a time, to the schema this version
writes; one of a newer schema is read only if its writer said this version may (``min_reader``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .scalars import FormatError, TooNewError

#: The schema this version writes. It reads every schema from 1 up to this one (older files are
#: upgraded by their migrations), and a newer one whose ``min_reader`` is at most this (read-only).
SCHEMA = 6
#: The oldest taskvault schema that can read what this version writes. (Schemas 4 and 5 added fields to
#: every task, which an older reader would refuse as unknown, rightly: it would drop them when it wrote;
#: schema 6 the replication state and the changes of sync, which an older one would drop or call damage.)
MIN_READER = 6

#: The largest snapshot, journal or backup taskvault reads or writes (about 900,000 tasks). A larger
#: file is refused before it is read, so that a damaged or hostile file cannot take unbounded memory.
MAX_FILE_BYTES = 256 * 1024 * 1024

#: Each migration takes a document of schema N and returns it as schema N + 1.
Migrations = dict[int, Callable[[dict[str, Any]], dict[str, Any]]]


def schema_of(doc: Any, expected_format: str, path: str = "$") -> int:
    """The schema a decoded document declares; TooNewError if this version may not even read it."""
    if type(doc) is not dict:
        raise FormatError(f"expected a JSON object, got {type(doc).__name__}", path)
    if doc.get("format") != expected_format:
        raise FormatError(f"not a {expected_format} file (format is {doc.get('format')!r})", f"{path}.format")
    schema = doc.get("schema")
    if type(schema) is not int or schema < 1:
        raise FormatError(f"expected a schema number, got {schema!r:.40}", f"{path}.schema")
    if schema > SCHEMA:
        min_reader = doc.get("min_reader", schema)
        if type(min_reader) is not int or min_reader > SCHEMA:
            raise TooNewError(f"written by a newer taskvault (schema {schema}; this version knows up to {SCHEMA})",
                              "")
    return schema


def upgrade(doc: dict[str, Any], schema: int, migrations: Migrations) -> dict[str, Any]:
    """Bring a document of an older schema up to SCHEMA, one migration at a time."""
    while schema < SCHEMA:
        doc = migrations[schema](doc)
        schema += 1
    return doc


def check_keys(doc: dict[str, Any], keys: frozenset[str], schema: int, path: str = "$") -> dict[str, Any]:
    """``doc`` if it has exactly ``keys``; a newer writer's additions are dropped, anything else refused."""
    missing = keys - doc.keys()
    if missing:
        raise FormatError(f"missing field {min(missing)!r}", path)
    extra = doc.keys() - keys
    if extra and schema > SCHEMA:  # a newer writer that lets us read: what it added is not ours to know
        return {k: doc[k] for k in keys}
    if extra:
        raise FormatError(f"unknown field {min(extra)!r}", path)
    return doc


def check_envelope(doc: Any, expected_format: str, keys: frozenset[str], migrations: Migrations,
                   path: str = "$") -> tuple[dict[str, Any], int]:
    """Check and upgrade an envelope; return (the document at SCHEMA or newer, its original schema)."""
    schema = schema_of(doc, expected_format, path)
    doc = check_keys(upgrade(doc, schema, migrations), keys, schema, path)
    for key in keys & {"revision", "next_id", "base", "min_reader"}:
        if type(doc[key]) is not int or doc[key] < 0:
            raise FormatError(f"expected a non-negative integer, got {doc[key]!r:.40}", f"{path}.{key}")
    return doc, schema
