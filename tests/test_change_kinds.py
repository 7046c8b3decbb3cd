"""Kinds of change are types, stored as the words taskvault has always written; one timestamp format."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from pathlib import Path

import pytest

from taskvault import codec
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.replica import Clock, ReplicaChange
from taskvault.domain.timestamps import format_timestamp

from .conftest import run_taskvault

FIXTURES = Path(__file__).parent / "fixtures" / "v1"
_AT = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)


def _reframe(line: bytes, **fields: object) -> bytes:
    """A journal line with some fields replaced, under a checksum that matches them."""
    doc = json.loads(line[9:])
    doc.update(fields)
    payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(payload) + payload


class TestKinds:
    def test_each_kind_is_the_word_the_store_has_always_written(self) -> None:
        """The enum's values are the stored words: changing one would change the storage format."""
        assert [k.value for k in ChangeKind] == ["add", "edit", "done", "reopen", "delete", "undo", "redo",
                                                 "restore", "salvage", "annotate", "denotate", "start", "stop", "import",
                                                 "sync", "resolve"]

    def test_every_kind_round_trips_through_a_journal_line_byte_for_byte(self) -> None:
        """A record decodes to the kind and words it was written with, and encodes to the same bytes."""
        replica = ReplicaChange("0123456789ab", 0, Clock())  # (a sync's record always carries one)
        for kind in ChangeKind:
            for detail in ("", "20261121-093000"):
                line = codec.encode_record(Change(kind, next_id=3, detail=detail,
                                                  replica=replica if kind is ChangeKind.SYNC else None), 7, _AT)
                revision, change, at = codec.decode_record(line[:-1], "x")
                assert (revision, change.kind, change.detail, at) == (7, kind, detail, _AT)
                assert codec.encode_record(change, revision, at) == line
                assert json.loads(line[9:])["cmd"] == (f"{kind.value} {detail}" if detail else kind.value)

    def test_a_restore_is_read_back_with_its_backup_named_after_its_kind(self) -> None:
        """'restore ID' on disk is a restore whose detail is the backup id: the words are parsed once, by the codec."""
        line = codec.encode_record(Change(ChangeKind.EDIT, next_id=2), 4, _AT)
        _, change, _ = codec.decode_record(_reframe(line, cmd="restore 20261121-093000"), "x")
        assert (change.kind, change.detail, change.command) == (ChangeKind.RESTORE, "20261121-093000",
                                                                "restore 20261121-093000")

    def test_a_word_that_names_no_kind_is_refused_with_the_word_named(self) -> None:
        """A record whose command names no kind of change is damage, reported like any other bad field."""
        line = codec.encode_record(Change(ChangeKind.EDIT, next_id=2), 4, _AT)
        with pytest.raises(codec.FormatError, match="'restored' is not a kind of change"):
            codec.decode_record(_reframe(line, cmd="restored 1"), "the journal line at byte 9")

    def test_only_a_restore_or_salvage_may_bring_back_any_id_by_its_kind(self) -> None:
        """revives comes from the kind (and an undo's or redo's revisions), never from the words after it."""
        for kind in ChangeKind:
            assert Change(kind, detail="restore").revives is (kind in (ChangeKind.RESTORE, ChangeKind.SALVAGE))
        assert Change(ChangeKind.UNDO, undoes=(3,)).revives and Change(ChangeKind.REDO, redoes=(3,)).revives

    def test_a_store_written_by_the_first_schema_loads_with_its_kinds(self) -> None:
        """Every record of the schema-1 fixture decodes to the kind its words name."""
        lines = (FIXTURES / "journal" / "tasks.journal").read_bytes().splitlines()
        kinds = [codec.decode_record(line, "x", schema=1)[1].kind for line in lines[1:]]
        assert kinds == [ChangeKind.ADD] * 4 + [ChangeKind.DONE, ChangeKind.DELETE, ChangeKind.EDIT]


class TestTimestamps:
    def test_history_json_writes_a_whole_second_as_the_store_does(self, data_dir: Path) -> None:
        """A change made at a whole second keeps its six zero digits in history --json, exactly as stored."""
        assert run_taskvault(data_dir, "add", "Buy milk").code == 0
        journal = data_dir / "tasks.journal"
        header, record = journal.read_bytes().splitlines()
        stored = format_timestamp(_AT)
        assert stored == "2026-11-21T09:30:00.000000Z"
        journal.write_bytes(header + b"\n" + _reframe(record, at=stored) + b"\n")
        result = run_taskvault(data_dir, "--json", "history")
        assert result.code == 0, result.err
        assert [step["at"] for step in json.loads(result.out)] == [stored]

    def test_history_json_writes_each_time_as_the_journal_holds_it(self, data_dir: Path) -> None:
        """Whatever the moment, the time history --json shows is the journal's own string."""
        assert run_taskvault(data_dir, "add", "Buy milk").code == 0
        assert run_taskvault(data_dir, "done", "1").code == 0
        records = (data_dir / "tasks.journal").read_bytes().splitlines()[1:]
        shown = [step["at"] for step in json.loads(run_taskvault(data_dir, "--json", "history").out)]
        assert sorted(shown) == sorted(json.loads(r[9:])["at"] for r in records)

    def test_the_one_format_converts_to_utc_and_keeps_every_digit(self) -> None:
        """Any aware time is written in UTC with six fraction digits; the codec writes the same string."""
        paris = dt.timezone(dt.timedelta(hours=1))
        assert format_timestamp(dt.datetime(2026, 1, 1, 1, 0, 0, 5, tzinfo=paris)) == "2026-01-01T00:00:00.000005Z"
        assert codec.format_timestamp is format_timestamp
