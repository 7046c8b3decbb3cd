"""Segment files of operations (codec/ops.py): exact round trips, and every deviation refused as damage.

A remote is written by other machines and crosses networks and disks: whatever a segment holds that
encode_segment would not have written is RemoteDamaged (exit 5), one line naming the file, with a hint,
never a traceback and never a part of the file taken.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvault.codec.ops import (
    MAX_SEGMENT_BYTES,
    MAX_SEQ,
    Segment,
    decode_segment,
    encode_segment,
    encode_segments,
    parse_segment_path,
    segment_last,
    segment_path,
)
from taskvault.domain.replica import Clock, Operation
from taskvault.domain.task import Annotation, Status, Task
from taskvault.errors import InvalidValue, RemoteDamaged, SyncFailed

from .interchange_strategies import EXTRA_NAMES, NOTES, tasks_with_every_field

D = "0123456789ab"
E = "ba9876543210"
T0 = dt.datetime(2026, 3, 10, 12, 0, 0, tzinfo=dt.UTC)
U1 = uuid.UUID("6f1c0c4e-8a53-4f5e-9d6a-7a3c2b1e0f19")


def task(**fields: Any) -> Task:
    return Task(**{"id": 7, "uuid": U1, "title": "Pay rent", "created": T0, "updated": T0, **fields})


def op(seq: int, body: Task | None = None, *, device: str = D, clock: dict[str, int] | None = None,
       uuid_: uuid.UUID = U1) -> Operation:
    return Operation(device, seq, body.uuid if body else uuid_, Clock.of(clock or {device: seq}), body)


def as_received(ops: list[Operation]) -> list[Operation]:
    """The operations as a receiver decodes them: each body with the placeholder id 1."""
    return [attrs.evolve(o, body=None if o.body is None else attrs.evolve(o.body, id=1)) for o in ops]


PATH1 = segment_path(D, 1)
GOOD = encode_segment(D, "laptop", [op(1, task()), op(2, task(title="Pay the rent"), clock={D: 2, E: 4}), op(3)])


def line(payload: bytes) -> bytes:
    """A journal-style line with a checksum that holds: damage the checksum alone cannot find."""
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def relined(data: bytes, number: int, change: Callable[[dict[str, Any]], object]) -> bytes:
    """``data`` with line ``number`` (1: the header) decoded, changed in place, and written back with a valid checksum."""
    lines = data.split(b"\n")
    doc = json.loads(lines[number - 1][9:])
    change(doc)
    lines[number - 1] = line(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())[:-1]
    return b"\n".join(lines)


def refused(data: bytes, path: str = PATH1) -> RemoteDamaged:
    """The error decode_segment raises for ``data``, checked to be a user's message: one line, naming the file, a hint."""
    with pytest.raises(RemoteDamaged) as caught:
        decode_segment(data, path)
    error = caught.value
    assert isinstance(error, SyncFailed) and error.exit_code == 5 and error.kind == "remote_damaged"
    assert repr(path)[:30] in error.message or path[:30] in error.message
    assert error.message.isprintable(), error.message
    assert error.hint and error.hint.isprintable()
    assert error.__cause__ is None and error.__suppress_context__
    return error


class TestPaths:
    def test_a_segment_is_named_by_its_device_and_first_operation(self) -> None:
        """ops/<device>/<first, 12 digits>.jsonl, and parse_segment_path reads it back."""
        assert segment_path(D, 1) == "ops/0123456789ab/000000000001.jsonl"
        assert segment_path(E, MAX_SEQ) == "ops/ba9876543210/999999999999.jsonl"
        assert parse_segment_path(segment_path(E, 4321)) == (E, 4321)

    @pytest.mark.parametrize("path", [
        "ops/0123456789ab/000000000000.jsonl", "ops/0123456789AB/000000000001.jsonl", "ops/0123456789a/000000000001.jsonl",
        "ops/0123456789ab/00000000001.jsonl", "ops/0123456789ab/0000000000001.jsonl", "ops/0123456789ab/000000000001.json",
        "/ops/0123456789ab/000000000001.jsonl", "ops/0123456789ab/000000000001.jsonl\n", "ops/0123456789ab/x/000000000001.jsonl",
        "ops/0123456789ab/00000000000١.jsonl", "ops/0123456789ab/+00000000001.jsonl", "ops/0123456789ab", "", "README.md"])
    def test_anything_else_is_not_a_segment_path(self, path: str) -> None:
        """Upper-case hex, other lengths, first 0, other suffixes or directories, non-ASCII digits: None."""
        assert parse_segment_path(path) is None

    @pytest.mark.parametrize(("device", "first"), [("0123456789AB", 1), ("x", 1), (D, 0), (D, MAX_SEQ + 1), (D, True)])
    def test_a_path_is_made_only_for_a_device_and_a_number_it_can_hold(self, device: str, first: int) -> None:
        """A malformed device or a number the 12 digits cannot hold is InvalidValue, not a wrong file name."""
        with pytest.raises(InvalidValue):
            segment_path(device, first)


_titles = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).map(str.strip).filter(
    bool) | st.sampled_from(["ünï\u2028x", 'say "hi" \\ back', "\U0001f600 emoji", "\u202eright-to-left"])
_stamps = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC))


def _finish(draw: st.DrawFn, status: Status, created: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
    completed = draw(_stamps) if status is Status.DONE else None
    return completed, created + dt.timedelta(microseconds=draw(st.integers(0, 10**12)))


BODIES = tasks_with_every_field(
    titles=_titles, projects=st.sampled_from(["home", "home.kitchen", "ünï", "a-b_c"]),
    dates=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), stamps=_stamps, created=_stamps, finish=_finish,
    extras=st.dictionaries(EXTRA_NAMES, NOTES | st.integers(-(2**63) + 1, 2**63 - 1)
                           | st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    annotation_texts=["called", "=x, \"q\"", "a" * 1000, "l\u2028m", "ünï \U0001f600"]).map(
    lambda t: attrs.evolve(t, id=1 + abs(hash(t.uuid)) % 10**6))
DEVICES = st.from_regex(r"[0-9a-f]{12}", fullmatch=True)


@st.composite
def segments(draw: st.DrawFn, max_ops: int = 6) -> tuple[str, str, list[Operation]]:
    """A device, its name and consecutive operations of it: edits with bodies of every field, and deletions, each with
    a clock that names other devices too."""
    device = draw(DEVICES)
    first = draw(st.integers(1, 10**6) | st.sampled_from([1, MAX_SEQ - max_ops + 1]))
    ops = []
    for seq in range(first, first + draw(st.integers(1, max_ops))):
        clock = draw(st.dictionaries(DEVICES, st.integers(1, MAX_SEQ), max_size=3))
        clock[device] = seq
        body = draw(st.none() | BODIES)
        ops.append(Operation(device, seq, body.uuid if body else draw(st.uuids()), Clock.of(clock), body))
    return device, draw(st.sampled_from(["", "laptop", "büro-pc.local", "x" * 255])), ops


class TestRoundTrip:
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(segments())
    def test_encoded_operations_decode_to_the_same(self, drawn: tuple[str, str, list[Operation]]) -> None:
        """Every field of every body comes back exactly, but for its id (the placeholder 1); deletions, clocks, the
        device and its name too; and encoding what was decoded gives the same bytes."""
        device, name, ops = drawn
        data = encode_segment(device, name, ops)
        back = decode_segment(data, segment_path(device, ops[0].seq))
        assert back == Segment(device, ops[0].seq, name, tuple(as_received(ops)))
        assert (back.last, back.path) == (ops[-1].seq, segment_path(device, ops[0].seq))
        assert segment_last(data, back.path) == back.last  # (what the header alone says, as decoding says)
        assert encode_segment(device, name, back.ops) == data

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(segments(max_ops=12), st.integers(300, 5000))
    def test_encode_segments_splits_into_files_that_decode_to_the_whole(
            self, drawn: tuple[str, str, list[Operation]], max_bytes: int) -> None:
        """Each file is at most the bound (but for one operation longer than it, alone), starts where the last ended,
        and together they decode to every operation in order."""
        device, name, ops = drawn
        files = encode_segments(device, name, ops, max_bytes)
        decoded = [decode_segment(data, path) for path, data in files]
        assert [o for s in decoded for o in s.ops] == as_received(ops)
        assert all(len(data) <= max_bytes or len(s.ops) == 1 for (_, data), s in zip(files, decoded, strict=True))
        assert all(a.last + 1 == b.first for a, b in itertools.pairwise(decoded))
        assert encode_segments(device, name, ops) == [(segment_path(device, ops[0].seq), encode_segment(device, name, ops))]
        assert encode_segments(device, name, []) == []

    def test_the_format_is_as_documented(self) -> None:
        """A header naming the format, schema, device, first, count and name; then one line per operation, the body
        without an id; each line "<crc32, 8 hex> <JSON>"."""
        lines = GOOD.split(b"\n")
        assert lines[-1] == b"" and len(lines) == 5
        assert lines[0][9:] == (b'{"format":"taskvault-ops","schema":1,"device":"0123456789ab","first":1,"count":3,'
                                b'"name":"laptop"}')
        assert all(int(x[:8], 16) == zlib.crc32(x[9:]) and x[8:9] == b" " for x in lines[:-1])
        second = json.loads(lines[2][9:])
        assert list(second) == ["seq", "task", "clock", "body"]
        assert second["clock"] == {D: 2, E: 4} and "id" not in second["body"] and second["body"]["uuid"] == str(U1)
        assert json.loads(lines[3][9:]) == {"seq": 3, "task": str(U1), "clock": {D: 3}, "body": None}


class TestEncodeRefuses:
    @pytest.mark.parametrize(("ops", "why"), [
        ([], "at least one"), ([op(1), op(3)], "without a gap"), ([op(2), op(1)], "without a gap"),
        ([op(1), op(2, device=E)], "without a gap"), ([op(1, device=E)], "without a gap"),
        ([op(MAX_SEQ + 1)], f"over {MAX_SEQ}"), ([op(1, clock={D: 1, E: MAX_SEQ + 1})], f"over {MAX_SEQ}")])
    def test_only_one_devices_consecutive_operations(self, ops: list[Operation], why: str) -> None:
        """No operations, a gap, operations out of order or another device's, a number a path cannot hold: InvalidValue."""
        with pytest.raises(InvalidValue, match=why):
            encode_segment(D, "", ops)

    @pytest.mark.parametrize("name", ["line\nbreak", "esc\x1b[31m", "x" * 256, "nbsp\xa0"])
    def test_a_name_must_be_printable_and_short(self, name: str) -> None:
        """A device name with a control character or over 255 characters is refused before anything is written."""
        with pytest.raises(InvalidValue, match="cannot name a device"):
            encode_segment(D, name, [op(1)])


def _dup_key(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = line(lines[1][9:].replace(b'{"seq":1,', b'{"seq":1,"seq":1,'))[:-1]
    return b"\n".join(lines)


def _spaced(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = line(lines[1][9:].replace(b'"seq":1', b'"seq": 1'))[:-1]
    return b"\n".join(lines)


def _escaped(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = line(lines[1][9:].replace(b'"Pay rent"', b'"Pay r\\u0065nt"'))[:-1]
    return b"\n".join(lines)


def _set(number: int, key: str, value: Any) -> Callable[[bytes], bytes]:
    return lambda data: relined(data, number, lambda d: d.__setitem__(key, value))


def _body_set(key: str, value: Any) -> Callable[[bytes], bytes]:
    return lambda data: relined(data, 2, lambda d: d["body"].__setitem__(key, value))


def _raw_number(number: int, key: str, text: bytes) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        lines = data.split(b"\n")
        doc = json.loads(lines[number - 1][9:])
        doc[key] = "@@"
        lines[number - 1] = line(json.dumps(doc, separators=(",", ":")).encode().replace(b'"@@"', text))[:-1]
        return b"\n".join(lines)
    return change


#: Each damage, made so that every checksum still holds (a changed byte the checksum finds is tested below), and
#: words its message must hold.
DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "header of another device": (_set(1, "device", E), "segment of device 'ba9876543210'"),
    "header of another first": (_set(1, "first", 2), "device '0123456789ab' from 2"),
    "first true": (_set(1, "first", True), "from bool"),
    "count too small": (_set(1, "count", 2), "holds 3 operation lines, but its header says 2: lines were added"),
    "count too large": (_set(1, "count", 4), "header says 4: lines were cut off"),
    "count zero": (_set(1, "count", 0), "which cannot be"),
    "count huge": (_set(1, "count", 10**40), "which cannot be"),
    "count 5000 digits": (_raw_number(1, "count", b"9" * 5000), "number too long"),
    "schema newer": (_set(1, "schema", 2), "ops schema 2"),
    "schema 0": (_set(1, "schema", 0), "another shape"),
    "other format": (_set(1, "format", "taskvault-journal"), "not a segment of taskvault operations"),
    "header key added": (_set(1, "extra", 1), "another shape"),
    "header key lost": (lambda d: relined(d, 1, lambda h: h.pop("name")), "another shape"),
    "upper-case device in header": (_set(1, "device", D.upper()), "segment of device '0123456789AB'"),
    "name with escape": (_set(1, "name", "a\x1b[31mb"), "device name is refused"),
    "name not text": (_set(1, "name", 5), "device name is refused"),
    "seq skipped": (_set(2, "seq", 2), "numbered 2"),
    "seq as text": (_set(2, "seq", "1"), "numbered '1'"),
    "seq huge": (_set(2, "seq", 10**30), "numbered 1000000000"),
    "seq float": (_raw_number(2, "seq", b"1.0"), "numbered float"),
    "seq NaN": (_raw_number(2, "seq", b"NaN"), "numbered float"),
    "seq exponent": (_raw_number(2, "seq", b"1e0"), "numbered float"),
    "clock without itself": (_set(3, "clock", {E: 4}), "does not carry itself"),
    "clock of a malformed device": (_set(3, "clock", {D: 2, "BA9876543210": 4}), "not a device id"),
    "clock of an escape device": (_set(3, "clock", {D: 2, "\x1b[2J": 4}), "'\\x1b[2J', which is not a device id"),
    "clock zero": (_set(3, "clock", {D: 2, E: 0}), "count 0"),
    "clock negative": (_set(3, "clock", {D: 2, E: -1}), "count -1"),
    "clock bool": (_set(3, "clock", {D: 2, E: True}), "count bool"),
    "clock huge": (_set(3, "clock", {D: 2, E: 10**13}), "count 10000000000000"),
    "clock unsorted": (_set(3, "clock", {E: 4, D: 2}), "not written as taskvault writes it"),
    "clock empty": (_set(3, "clock", {}), "clock is not an object"),
    "clock a list": (_set(3, "clock", [[D, 2]]), "clock is not an object"),
    "task not a uuid": (_set(2, "task", "6f1c0c4e"), "names no task"),
    "task upper case": (_set(2, "task", str(U1).upper()), "names no task"),
    "body of another task": (_set(2, "task", "00000000-0000-4000-8000-000000000000"), "its body is of task '6f1c0c4e"),
    "body with an id": (_body_set("id", 7), "not a task without an id"),
    "body a list": (_set(2, "body", []), "not a task without an id"),
    "body uuid upper case": (_body_set("uuid", str(U1).upper()), "its body is of task '6F1C0C4E"),
    "body title untrimmed": (_body_set("title", "Pay rent "), "title"),
    "body title with newline": (_body_set("title", "Pay\nrent"), "title"),
    "body done without completion": (_body_set("status", "done"), "completion"),
    "body unknown field": (_body_set("colour", "red"), "colour"),
    "body field lost": (lambda d: relined(d, 2, lambda o: o["body"].pop("note")), "note"),
    "body tags unsorted": (_body_set("tags", ["b", "a"]), "the tags ['b', 'a'] are not normalised"),
    "body depends upper case": (_body_set("depends", [str(U1).upper().replace("6F", "7F")]),
                                "not written as taskvault writes it"),
    "body time in another form": (_body_set("created", "2026-03-10T12:00:00Z"), "created"),
    "op key added": (_set(2, "note", 1), "is not an operation"),
    "op key lost": (lambda d: relined(d, 2, lambda o: o.pop("clock")), "is not an operation"),
    "op keys reordered": (lambda d: relined(d, 2, lambda o: o.update(seq=o.pop("seq"))), "is not an operation"),
    "op not an object": (lambda d: d.replace(d.split(b"\n")[3] + b"\n", line(b"[3]")), "is not an operation (it holds: list)"),
    "duplicate key": (_dup_key, "not written as taskvault writes it"),
    "a space": (_spaced, "not written as taskvault writes it"),
    "an escape": (_escaped, "not written as taskvault writes it"),
}


class TestStrictDecoding:
    @pytest.mark.parametrize("case", DAMAGE)
    def test_every_deviation_is_damage_even_with_valid_checksums(self, case: str) -> None:
        """A segment a program other than taskvault wrote, or changed and re-checksummed, is refused, saying what is off."""
        damage, words = DAMAGE[case]
        data = damage(GOOD)
        assert data != GOOD
        assert words in refused(data).message

    def test_a_body_that_breaks_a_task_rule_with_nan_is_damage(self) -> None:
        """An extra attribute whose value is NaN (JSON's extension) breaks a rule of the task: refused."""
        data = relined(GOOD, 2, lambda o: o["body"].__setitem__("extra", {"x": float("nan")}))
        assert b'"x":NaN' in data
        assert "finite" in refused(data).message

    @pytest.mark.parametrize(("data", "words"), [
        (b"", "is empty"),
        (GOOD[:-1], "ends part-way through its line 4: the file was cut"),
        (GOOD[:len(GOOD) // 2], "the file was cut"),
        (GOOD[:GOOD.index(b"\n") + 1], "holds 0 operation lines, but its header says 3: lines were cut off"),
        (GOOD.rsplit(b"\n", 2)[0] + b"\n", "holds 2 operation lines, but its header says 3"),
        (GOOD + GOOD.split(b"\n")[3] + b"\n", "holds 4 operation lines, but its header says 3: lines were added"),
        (GOOD + b"\n", "holds 4 operation lines"),
        (b"\n" + GOOD, "line 1 is empty"),
        (GOOD.replace(b"\n", b"\r\n"), "line 1 ends in CR LF"),
        (GOOD.replace(b"\n", b"\r"), "the file was cut"),
        (b"\xef\xbb\xbf" + GOOD, "byte-order mark"),
        (b"\0" * 100 + b"\n", "line 1 holds only zero bytes"),
        (GOOD.replace(b"laptop", b"lapt\xffp"), "fails its checksum"),
        (line(b'{"format":"taskvault-ops","schema":1,"device":"0123456789ab","first":1,"count":1,"name":"\xff"}'),
         "not valid UTF-8"),
        (line(b"not json"), "not valid JSON"),
        (line(b"[" * 100_000 + b"]" * 100_000), "line 1"),
        (line(b'"taskvault-ops"'), "not a segment of taskvault operations"),
        (b"zzzzzzzz " + GOOD[9:], "line 1 has no checksum"),
        (GOOD[:8].upper() + GOOD[8:], "no checksum"),
    ])
    def test_a_file_of_the_wrong_shape_is_damage(self, data: bytes, words: str) -> None:
        """Empty, cut mid-line or at a line's end, lines added or blank, CR LF line ends, a byte-order mark, zero bytes,
        invalid UTF-8, not JSON, nested too deep, another format, a missing or malformed checksum."""
        assert words in refused(data).message

    def test_a_segment_under_another_path_is_damage(self) -> None:
        """The header must name the device and the first number its path does; a path that is no segment's is refused."""
        assert "its name says device ba9876543210's from 1" in refused(GOOD, segment_path(E, 1)).message
        assert "its name says device 0123456789ab's from 2" in refused(GOOD, segment_path(D, 2)).message
        assert "is not where taskvault puts operations" in refused(GOOD, "ops/0123456789ab/1.jsonl").message

    def test_a_segment_over_the_bound_is_refused_before_it_is_read(self) -> None:
        """A file longer than MAX_SEGMENT_BYTES is damage, whatever it holds, without being parsed."""
        error = refused(GOOD + b"x" * (MAX_SEGMENT_BYTES - len(GOOD) + 1))
        assert f"is {MAX_SEGMENT_BYTES + 1:,} bytes long" in error.message

    def test_messages_escape_what_the_file_and_path_hold(self) -> None:
        """Control characters from a hostile path, header or body never reach the terminal as themselves."""
        hostile_path = "ops/\x1b]0;owned\x07/\n000000000001.jsonl"
        assert "\\x1b" in refused(GOOD, hostile_path).message
        data = relined(GOOD, 1, lambda h: h.__setitem__("device", "\x1b[2J\n" * 30))
        message = refused(data).message
        assert "\\x1b[2J\\n" in message and len(message) < 400
        tags = relined(GOOD, 2, lambda o: o["body"].__setitem__("tags", ["\x1b[31m\u2028" + "x" * 60] * 10))
        message = refused(tags).message
        assert "\\x1b" in message and len(message) <= 301

    def test_the_hints_say_what_to_do(self) -> None:
        """Damage: put the file back from another copy; a newer form: upgrade; CR LF: git's line-end setting."""
        assert "put it back from another copy" in refused(GOOD[:-1]).hint  # type: ignore[operator]
        assert "upgrade taskvault" in refused(_set(1, "schema", 2)(GOOD)).hint  # type: ignore[operator]
        assert "autocrlf" in refused(GOOD.replace(b"\n", b"\r\n")).hint  # type: ignore[operator]

    def test_a_deletion_and_an_annotated_task_decode(self) -> None:
        """A null body is a deletion; a body with annotations, dependencies and a series decodes through the checks."""
        rich = task(annotations=(Annotation(T0, "called"),), depends=(uuid.UUID(int=5, version=4),), recur="weekly",
                    parent=uuid.UUID(int=9, version=4), index=3, due=dt.date(2026, 4, 1), extra=(("est", 1.5),))
        data = encode_segment(D, "", [op(1), op(2, rich)])
        assert decode_segment(data, PATH1).ops == (op(1), op(2, attrs.evolve(rich, id=1)))


class TestChangedBytes:
    def test_a_changed_header_byte_is_refused_by_segment_last_too(self) -> None:
        """segment_last reads line 1 only, as strictly as decode_segment: any change there is damage (and it
        answers 3 for GOOD, whose header says first 1, count 3); a segment under another name is refused too."""
        assert segment_last(GOOD, PATH1) == 3
        header = GOOD.index(b"\n")
        for position in range(header + 1):
            for bit in range(8):
                data = GOOD[:position] + bytes([GOOD[position] ^ (1 << bit)]) + GOOD[position + 1:]
                with pytest.raises(RemoteDamaged):
                    segment_last(data, PATH1)
        with pytest.raises(RemoteDamaged):
            segment_last(GOOD, segment_path(D, 2))
        with pytest.raises(RemoteDamaged):
            segment_last(GOOD, "ops/x.jsonl")

    def test_every_single_byte_change_of_a_segment_is_refused(self) -> None:
        """At every position, each one-bit flip and the bytes a transfer or a tool most often leaves (zero, LF, CR,
        space, DEL, 0xff) are refused: none decodes to other operations, or to the same."""
        tried = 0
        for position in range(len(GOOD)):
            for value in {GOOD[position] ^ (1 << bit) for bit in range(8)} | {0, 10, 13, 32, 127, 255}:
                if value == GOOD[position]:
                    continue
                data = GOOD[:position] + bytes([value]) + GOOD[position + 1:]
                with pytest.raises(RemoteDamaged):
                    decode_segment(data, PATH1)
                tried += 1
        assert tried > 8 * len(GOOD)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(segments(max_ops=3), st.data())
    def test_a_changed_byte_never_decodes_to_other_operations(self, drawn: tuple[str, str, list[Operation]],
                                                              data: st.DataObject) -> None:
        """Any byte of any segment changed to any value: refused as damage, or (the same byte) the same operations."""
        device, name, ops = drawn
        encoded = encode_segment(device, name, ops)
        position = data.draw(st.integers(0, len(encoded) - 1))
        changed = encoded[:position] + bytes([data.draw(st.integers(0, 255))]) + encoded[position + 1:]
        path = segment_path(device, ops[0].seq)
        try:
            back = decode_segment(changed, path)
        except RemoteDamaged as error:
            assert error.message.isprintable() and path in error.message
        else:
            assert changed == encoded and back.ops == tuple(as_received(ops))

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def test_any_bytes_are_a_segment_or_damage_never_a_traceback(self, data: st.DataObject) -> None:
        """Random bytes, and a segment cut, spliced or with bytes inserted anywhere: decoded or RemoteDamaged."""
        base = data.draw(st.sampled_from([GOOD, b""]))
        cut = data.draw(st.integers(0, len(base)))
        inserted = data.draw(st.binary(max_size=20) | st.sampled_from([b"\n", b"\r\n", b'","', b"1", b"{}", b"null"]))
        candidate = data.draw(st.sampled_from([base[:cut] + inserted + base[cut:], base[:cut] + inserted,
                                               inserted + base[cut:], base[:cut]]))
        try:
            decode_segment(candidate, PATH1)
        except RemoteDamaged as error:
            assert error.message.isprintable()
        else:
            assert candidate == GOOD
