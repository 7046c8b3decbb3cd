"""The on-disk format: the snapshot envelope, journal lines, and strict conversion of tasks.

This package is the only code that knows how the store looks on disk, one module per job:
scalars (exact JSON values), tasks (a Task as JSON, and the fast path that reads it), explain
(why a task is invalid), envelope (format, schema, migrations), changes (a change as JSON),
snapshot (the whole store, sealed by a checksum), sealed (reading a sealed snapshot's tasks only
when used) and journal. The names below are the ones the rest of taskvault uses.
"""

from __future__ import annotations

from ..domain.timestamps import format_timestamp
from .envelope import MAX_FILE_BYTES, MIN_READER, SCHEMA
from .journal import (
    JOURNAL_FORMAT,
    MAX_RECORD_BYTES,
    VOID_MARK,
    JournalHeader,
    check_torn_tail,
    checked_payload,
    decode_journal_header,
    decode_record,
    encode_journal_header,
    encode_record,
    first_unnamed_id,
    is_void,
)
from .scalars import FormatError, TooNewError
from .sealed import SealedSnapshot, SealedSteps, SealedTasks, intact_tasks, open_snapshot
from .snapshot import (
    SNAPSHOT_FORMAT,
    Snapshot,
    decode_snapshot,
    encode_snapshot,
    encode_snapshot_as,
    encode_snapshot_v1,
    encode_tasklist,
)
from .tasks import task_from_dict, task_to_dict

__all__ = [
    "JOURNAL_FORMAT", "MAX_FILE_BYTES", "MAX_RECORD_BYTES", "MIN_READER", "SCHEMA", "SNAPSHOT_FORMAT", "VOID_MARK",
    "FormatError", "JournalHeader", "SealedSnapshot", "SealedSteps", "SealedTasks", "Snapshot", "TooNewError",
    "check_torn_tail", "checked_payload", "decode_journal_header", "decode_record", "decode_snapshot", "encode_journal_header",
    "encode_record", "encode_snapshot", "encode_snapshot_as", "encode_snapshot_v1", "encode_tasklist", "first_unnamed_id",
    "format_timestamp", "intact_tasks", "is_void", "open_snapshot",
    "task_from_dict", "task_to_dict",
]
