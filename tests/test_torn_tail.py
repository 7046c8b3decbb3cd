"""The torn-tail rule, attacked byte by byte: only a strict prefix of the next record may follow the journal's last
newline (it is dropped, and the ids it names stay reserved); anything else there is damage, and refused.

The stores are built through the program (in-process sessions): unicode titles, tags and notes, bulk changes. Each
kind of last record is then cut at every offset, changed at every byte (the newline included) to several values,
replaced or followed by zeros, made longer than a record can be, started with the wrong revision, and voided.
"""

from __future__ import annotations

import errno
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from taskvault import codec
from taskvault.errors import StorageError
from taskvault.store import files
from taskvault.store.journal_store import JournalStore

from .conftest import (
    FIGURES,
    KEYS,
    OsProxy,
    Session,
    encrypted_stores,
    import_held,
    new_store,
    run_taskvault,
    store_digest,
    taskwarrior_import,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: How the store is built; after the lines of each kind's name, the journal's last record is that kind's.
LINES = ["add 'Café au lait' --tag ☕", "add 日本語のタスク --priority high", "add 'Ünïcödé ✓' --note 'ünï ✓'",
         "done 1 3", "edit 2 --title 'Ελληνικά — τίτλος'", "add 'Zuletzt: Grüße 🎉' --tag ü --due 2031-02-03",
         "delete 1 2 --yes",
         # Schema 4's kinds, on tasks that come to carry every field it added
         "annotate 3 'Grüße — ünï ✓ 日本語'",
         ("modify 3,4 project:büro.küche priority:L +neu due:2031-02-03 scheduled:2031-01-01 wait:2030-12-24 "
          "until:2032-01-01"),
         "modify 4 depends:3", "start 4", "denotate 3 1"]
#: kind -> how many of LINES the store holds
LAST = {"a bulk done": 4, "an add": 6, "a bulk delete": 7, "an annotate": 8, "a bulk modify": 9, "a start": 11,
        "a denotate": 12, "an import": 13}
#: After LINES, an import: three new tasks and an update of task 3 (its uuid, a new title and project) in one record.
IMPORTED = 3

#: Replacement values for each byte: control bytes, a newline, bytes a number's parser might skip or accept
#: (space, sign, underscore), invalid UTF-8, and the byte with one bit or its letter case flipped.
REPLACEMENTS: tuple[Callable[[int], int], ...] = (
    lambda b: 0x00, lambda b: 0x0A, lambda b: 0x20, lambda b: 0x2B, lambda b: 0x2D, lambda b: 0x5F, lambda b: 0x7F,
    lambda b: 0xFF, lambda b: b ^ 0x01, lambda b: b ^ 0x20)

#: Tails classified, by verdict, over the whole module (printed among the figures).
TALLY: dict[str, int] = {"dropped as torn": 0, "refused": 0, "loaded whole": 0}


def _tally(verdict: str, count: int = 1) -> None:
    TALLY[verdict] += count
    FIGURES["torn-tail corpus"] = (f"{sum(TALLY.values())} journal tails classified: "
                                   + ", ".join(f"{n} {verdict}" for verdict, n in TALLY.items()))


@attrs.frozen
class Built:
    """A store whose journal ends in one record of a known kind, and what it loads as without and with it."""

    snapshot: bytes
    prefix: bytes  # the journal up to the last record (ends in a newline)
    last: bytes  # the last record, its newline included
    without: tuple[Any, ...]  # the store without the last record: (tasks, next_id, revision)
    whole: tuple[Any, ...]  # the store with it


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    directory = tmp_path_factory.mktemp("torn") / "data"
    session = Session(directory)
    journals = [b""]
    for line in LINES:
        assert session.run(line) == 0, session.err.getvalue()
        journals.append((directory / "tasks.journal").read_bytes())
    source = taskwarrior_import(directory, tmp_path_factory.mktemp("import") / "taskwarrior.json", task_id=IMPORTED)
    assert session.run(f"import --from taskwarrior {source}") == 0, session.err.getvalue()
    journals.append((directory / "tasks.journal").read_bytes())
    session.close()
    snapshot = (directory / "tasks.json").read_bytes()
    result = {}
    for kind, count in LAST.items():
        prefix, journal = journals[count - 1], journals[count]
        assert journal.startswith(prefix) and journal.count(b"\n") == prefix.count(b"\n") + 1
        scratch = tmp_path_factory.mktemp("built")
        result[kind] = Built(snapshot, prefix, journal[len(prefix):], _state(_load(scratch, snapshot, prefix)),
                             _state(_load(scratch, snapshot, journal)))
    assert result["an add"].last.count(b'"id":4,') == 1 and b'"cmd":"done"' in result["a bulk done"].last
    assert [json.loads(result[kind].last[9:])["cmd"] for kind in ("an annotate", "a bulk modify", "a start",
                                                                   "a denotate")] == ["annotate", "edit", "start",
                                                                                      "denotate"]
    assert json.loads(result["an import"].last[9:])["cmd"].startswith("import taskwarrior ")
    assert (import_held(result["an import"].without[0], IMPORTED), import_held(result["an import"].whole[0], IMPORTED)) \
        == ("none", "all")
    return result


@attrs.frozen
class Loaded:
    state: tuple[Any, ...] | None  # None: refused
    message: str = ""
    unfinished: int = 0
    voided: tuple[int, ...] = ()


def _load(directory: Path, snapshot: bytes, journal: bytes) -> Loaded:
    """What the real loader (in process, as a fresh reader) makes of these two files."""
    snapshot_path = directory / "tasks.json"
    if not snapshot_path.exists() or snapshot_path.read_bytes() != snapshot:
        snapshot_path.write_bytes(snapshot)
    (directory / "tasks.journal").write_bytes(journal)
    store = JournalStore(directory, passphrases=KEYS)
    try:
        tasks = store.load()
    except StorageError as exc:
        return Loaded(None, exc.message)
    return Loaded(tasks.snapshot(), unfinished=store.unfinished, voided=tuple(store.voided))


def _state(loaded: Loaded) -> tuple[Any, ...]:
    assert loaded.state is not None, loaded.message
    return loaded.state


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return directory


def _refused(loaded: Loaded, what: str) -> None:
    assert loaded.state is None, f"{what}: loaded instead of being refused"
    assert "tasks.journal" in loaded.message, loaded.message
    _tally("refused")


def _dropped(loaded: Loaded, store: Built, tail: bytes, what: str) -> None:
    """Loaded as the store without the last record; the ids the tail names are not handed out."""
    assert loaded.state is not None, f"{what}: refused: {loaded.message}"
    (tasks, next_id, revision), (want_tasks, want_next, want_revision) = loaded.state, store.without
    assert (tasks, revision) == (want_tasks, want_revision), what
    named = [int(n) + 1 for n in re.findall(rb'"id":(\d+)', tail)] + [
        int(n) for n in re.findall(rb'"next_id":(\d+)', tail)]
    assert next_id == max([want_next, *named]), f"{what}: next id {next_id}"
    assert loaded.unfinished == len(tail), what
    _tally("dropped as torn")


KINDS = list(LAST)


def _cut_at(scratch: Path, store: Built, cut: int, what: str) -> None:
    """The store's last record cut at ``cut``: loaded whole when nothing is cut, refused when only its newline is
    missing, else dropped as torn (the ids it names reserved)."""
    last = store.last
    loaded = _load(scratch, store.snapshot, store.prefix + last[:cut])
    if cut == len(last):
        assert loaded.state == store.whole
        _tally("loaded whole")
    elif cut == len(last) - 1:
        _refused(loaded, f"the whole {what} but its newline")
        assert "complete but its line does not end in a newline" in loaded.message
    else:
        _dropped(loaded, store, last[:cut], f"{what} cut at {cut} of {len(last)}")


class TestTruncation:
    @pytest.mark.parametrize("kind", KINDS)
    def test_every_offset_of_the_last_record(self, built: dict[str, Built], scratch: Path, kind: str) -> None:
        """Cut anywhere before its last byte, the record is dropped (ids kept); missing only its newline, refused."""
        store = built[kind]
        for cut in range(len(store.last) + 1):
            _cut_at(scratch, store, cut, "record")

    def test_an_add_cut_after_its_id_reserves_the_id(self, built: dict[str, Built], scratch: Path) -> None:
        """Once '"id":4,' of an add reached the disk, 4 is never handed out, even though the add is dropped."""
        store = built["an add"]
        cut = store.last.index(b'"id":4,') + len(b'"id":4,')
        loaded = _load(scratch, store.snapshot, store.prefix + store.last[:cut])
        assert loaded.state is not None and loaded.state[1] == 5 and store.without[1] == 4
        _tally("dropped as torn")


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """An encrypted store whose journal ends in an add (its record sealed; revision and next id in clear)."""
    directory = tmp_path_factory.mktemp("sealed") / "data"
    with encrypted_stores(tmp_path_factory.mktemp("key")):
        new_store(directory)
        session = Session(directory)
        for line in LINES[:LAST["an add"] - 1]:
            assert session.run(line) == 0, session.err.getvalue()
        prefix = (directory / "tasks.journal").read_bytes()
        assert session.run(LINES[LAST["an add"] - 1]) == 0, session.err.getvalue()
        journal = (directory / "tasks.journal").read_bytes()
        session.close()
    snapshot = (directory / "tasks.json").read_bytes()
    assert snapshot.startswith(b'{"format":"taskvault-encrypted"') and b"Zuletzt" not in journal
    scratch = tmp_path_factory.mktemp("sealed-built")
    return Built(snapshot, prefix, journal[len(prefix):], _state(_load(scratch, snapshot, prefix)),
                 _state(_load(scratch, snapshot, journal)))


class TestSealedRecords:
    def test_cut_anywhere_an_encrypted_record_is_dropped_or_refused_as_a_plain_one_is(self, sealed: Built,
                                                                                      scratch: Path) -> None:
        """An encrypted add cut at every offset of its clear frame and its last bytes, and at every 8th of its
        ciphertext: dropped as torn, the ids its clear next_id names reserved; missing only its newline, refused."""
        last = sealed.last
        frame = last.index(b'"enc":"') + 7
        cuts = sorted({*range(frame + 1), *range(frame, len(last), 8), *range(len(last) - 3, len(last) + 1)})
        for cut in cuts:
            _cut_at(scratch, sealed, cut, "encrypted record")

    def test_a_changed_byte_of_an_encrypted_record_is_refused(self, sealed: Built, scratch: Path) -> None:
        """Each byte of the clear frame, and every 64th of the ciphertext, made a NUL, a newline or a flipped bit (as
        an import's record meets them, to keep the run short): refused."""
        last = sealed.last
        frame = last.index(b'"enc":"') + 7
        for index in sorted({*range(frame), *range(frame, len(last), 64), len(last) - 1}):
            for value in {replace(last[index]) for replace in REPLACEMENTS[:2] + REPLACEMENTS[-2:-1]} - {last[index]}:
                changed = bytearray(last)
                changed[index] = value
                _refused(_load(scratch, sealed.snapshot, sealed.prefix + bytes(changed)),
                         f"byte {index} of an encrypted record changed to {bytes([value])!r}")


class TestChangedBytes:
    @pytest.mark.parametrize("kind", KINDS)
    def test_every_single_byte_change_of_the_last_record_is_refused(self, built: dict[str, Built], scratch: Path,
                                                                   kind: str) -> None:
        """Any byte of the record (its checksum, its JSON, its newline) changed to any of several values: refused,
        never loaded and never dropped as if it were torn."""
        store = built[kind]
        # An import's record holds four whole tasks (four times an add's): each of its bytes meets three of the values
        # (a NUL, a newline, a flipped bit), which keeps the run near the others' (all ten: minutes in CI).
        replacements = REPLACEMENTS[:2] + REPLACEMENTS[-2:-1] if kind == "an import" else REPLACEMENTS
        for index, byte in enumerate(store.last):
            for value in {replace(byte) for replace in replacements} - {byte}:
                changed = bytearray(store.last)
                changed[index] = value
                _refused(_load(scratch, store.snapshot, store.prefix + bytes(changed)),
                         f"byte {index} of {len(store.last)} ({bytes([byte])!r}) changed to {bytes([value])!r}")

    def test_a_checksum_is_eight_lower_case_hex_digits_and_nothing_else(self, built: dict[str, Built],
                                                                      scratch: Path) -> None:
        """A checksum that is the same number spelled differently (upper case; a leading space, sign or
        underscore in place of a 0) is still a changed file: refused, in a record and in the header."""
        store = built["an add"]
        record = json.loads(store.last[9:])
        for attempt in range(20_000):  # the same change, titled so that its checksum starts with 00 and has a letter
            record["put"][0]["title"] = f"Zuletzt: Grüße 🎉 {attempt}"
            payload = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
            digits = b"%08x" % zlib.crc32(payload)
            if digits.startswith(b"00") and re.search(rb"[a-f]", digits):
                break
        else:
            pytest.fail("no checksum of the wanted form found")
        line = digits + b" " + payload + b"\n"
        assert _load(scratch, store.snapshot, store.prefix + line).state is not None  # as written: loads
        for spelled in (digits.upper(), b" " + digits[1:], b"+" + digits[1:], b"0_" + digits[2:]):
            assert spelled != digits and int(spelled, 16) == int(digits, 16)  # the same number, to int()
            _refused(_load(scratch, store.snapshot, store.prefix + spelled + line[8:]), f"checksum {spelled!r}")
        header, records = store.prefix.split(b"\n", 1)
        base = json.loads(header[9:])["base"]
        header = next(h for n in range(100) if re.search(rb"[a-f]", (h := codec.encode_journal_header(f"{n:016x}",
                                                                                                     base))[:8]))
        assert _load(scratch, store.snapshot, header + records).state == store.without
        _refused(_load(scratch, store.snapshot, header[:8].upper() + header[8:] + records), "the header's checksum")


class TestOtherTails:
    @pytest.mark.parametrize("size", [1, 8, 9, 64, 512, 4096])
    def test_zero_bytes_after_the_last_record(self, built: dict[str, Built], scratch: Path, size: int) -> None:
        """Zeros after a complete journal, or after a torn prefix, are no unfinished write: refused."""
        store = built["an add"]
        journal = store.prefix + store.last
        _refused(_load(scratch, store.snapshot, journal + b"\0" * size), f"{size} zeros after the journal")
        _refused(_load(scratch, store.snapshot, store.prefix + store.last[:40] + b"\0" * size),
                 f"{size} zeros after a torn prefix")

    @pytest.mark.parametrize("kind", KINDS)
    def test_zeros_in_place_of_the_last_record(self, built: dict[str, Built], scratch: Path, kind: str) -> None:
        """The record's bytes all zero (its size kept, as a crash on some file systems leaves a file): refused."""
        store = built[kind]
        _refused(_load(scratch, store.snapshot, store.prefix + b"\0" * len(store.last)), "the record zeroed")
        _refused(_load(scratch, store.snapshot, store.prefix + b"\0" * (len(store.last) - 1)),
                 "the record but its newline zeroed")

    def test_a_tail_longer_than_any_record(self, built: dict[str, Built], scratch: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """A prefix of the right record, but longer than a record may be, cannot be an unfinished write."""
        store = built["an add"]
        monkeypatch.setattr(codec.journal, "MAX_RECORD_BYTES", 200)  # the module whose check reads it
        loaded = _load(scratch, store.snapshot, store.prefix + store.last[:201])
        _refused(loaded, "201 bytes of a record, when a record has at most 200")
        assert "longer than any record" in loaded.message
        _dropped(_load(scratch, store.snapshot, store.prefix + store.last[:199]), store, store.last[:199],
                 "199 bytes, when a record has at most 200")

    @pytest.mark.parametrize("kind", KINDS)
    def test_the_start_of_the_wrong_revision(self, built: dict[str, Built], scratch: Path, kind: str) -> None:
        """A tail that starts a record of another revision than the next, or is no record at all: refused."""
        store = built[kind]
        revision = store.without[2]
        expected = json.loads(store.last[9:])["rev"]
        assert expected == revision + 1
        checksum = store.last[:9]
        for wrong in (revision, revision + 2, 0, expected * 10, expected * 10 + expected):
            for tail in (checksum + b'{"rev":%d,' % wrong, checksum + b'{"rev":%d,"at":"2026-' % wrong):
                _refused(_load(scratch, store.snapshot, store.prefix + tail), f"a tail of record {wrong}: {tail!r}")
        previous = store.prefix.splitlines(keepends=True)[-1]
        _refused(_load(scratch, store.snapshot, store.prefix + previous[:-1]), "the previous record again")
        for tail in (checksum + b'{"at":', checksum + b"[", b"12345678x", b"1234567 ", checksum + b' {"rev"',
                     b"ABCDEFGH", b"{\"rev\":%d," % expected):
            _refused(_load(scratch, store.snapshot, store.prefix + tail), f"not a record's start: {tail!r}")
        for tail in (b"", b"abcdef01", checksum[:3], checksum, checksum + b'{"re',
                     checksum + b'{"rev":%d' % expected):
            _dropped(_load(scratch, store.snapshot, store.prefix + tail), store, tail, f"a prefix: {tail!r}")


def _failing_void_then_cut(calls: dict[str, int]) -> OsProxy:
    """The journal's fsync fails once (the save's second fsync: the first is the directory's), and every
    ftruncate fails: the failed record is voided in place, durably, and stays in the journal as a void line."""

    def fsync(real: Callable[..., Any], fd: int) -> None:
        calls["fsync"] += 1
        if calls["fsync"] == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    def ftruncate(real: Callable[..., Any], fd: int, length: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    return OsProxy(fsync=fsync, ftruncate=ftruncate)


@pytest.fixture
def voided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store built through the program whose last journal line is a failed add (task 4), voided in place."""
    directory = tmp_path / "data"
    session = Session(directory)
    for line in LINES[:3]:
        assert session.run(line) == 0
    session.close()
    session = Session(directory)
    with monkeypatch.context() as patch:
        patch.setattr(files, "os", _failing_void_then_cut({"fsync": 0}))
        assert session.run("add 'Gescheitert ✗'") == 3 and "nothing was changed" in session.err.getvalue()
    session.close()
    assert (directory / "tasks.journal").read_bytes().splitlines()[-1].startswith(codec.VOID_MARK)
    yield directory


class TestVoidLines:
    def test_a_void_line_at_the_end(self, voided: Path) -> None:
        """The voided add is left out, its id 4 is never handed out, and doctor says why."""
        store = JournalStore(voided)
        tasks = store.load()
        assert [t.title for t in tasks] == ["Café au lait", "日本語のタスク", "Ünïcödé ✓"] and tasks.next_id == 5
        assert len(store.voided) == 1 and store.unfinished == 0
        _tally("loaded whole")
        doctor = run_taskvault(voided, "doctor")
        assert "1 change reported as failed is voided in the journal" in doctor.out, doctor.out

    def test_a_void_line_in_the_middle(self, voided: Path) -> None:
        """The next session appends after the void line: the store loads with it in the middle, ids stay unique."""
        added = run_taskvault(voided, "add", "Danach ✓")
        assert added.code == 0 and added.out == "Added task 5: Danach ✓\n", added
        journal = (voided / "tasks.journal").read_bytes().splitlines()
        assert journal[-2].startswith(codec.VOID_MARK) and not journal[-1].startswith(codec.VOID_MARK)
        assert json.loads(journal[-1][9:])["rev"] == json.loads(journal[-2][9:])["rev"], \
            "the record after the void line takes the revision the failed change would have had"
        store = JournalStore(voided)
        tasks = store.load()
        assert [t.id for t in tasks] == [1, 2, 3, 5] and len(store.voided) == 1
        _tally("loaded whole")
        assert run_taskvault(voided, "add", "Noch eins").out == "Added task 6: Noch eins\n"

    def test_a_void_tail_and_a_void_mark_alone(self, voided: Path) -> None:
        """A voided record cut short (no newline), or only the void mark itself, is left out as well."""
        journal = (voided / "tasks.journal").read_bytes()
        void_line = journal.splitlines(keepends=True)[-1]
        base = journal[: -len(void_line)]
        for tail in (void_line[:-1], void_line[:40], codec.VOID_MARK):
            (voided / "tasks.journal").write_bytes(base + tail)
            store = JournalStore(voided)
            tasks = store.load()
            assert len(tasks) == 3 and store.unfinished == len(tail)
            assert tasks.next_id == (5 if b'"id":4,' in tail else 4)
            _tally("dropped as torn")


class TestThroughTheProgram:
    def test_doctor_reports_a_torn_tail_it_would_drop(self, tmp_path: Path) -> None:
        """doctor: a warning naming the bytes left out, exit 0; the store's bytes unchanged."""
        directory = tmp_path / "data"
        for title in ("Eins", "Zwei ✓", "Drei"):
            assert run_taskvault(directory, "add", title).code == 0
        journal = directory / "tasks.journal"
        lines = journal.read_bytes().splitlines(keepends=True)
        journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:77])
        before = store_digest(directory)
        doctor = run_taskvault(directory, "doctor")
        assert doctor.code == 0, doctor.out
        assert "the journal ends in 77 bytes of a change that was never confirmed" in doctor.out
        assert "loads: 2 open and 0 done tasks at revision 2" in doctor.out
        assert store_digest(directory) == before
        _tally("dropped as torn")

    def test_the_reviews_case_a_final_newline_changed_into_a_vertical_tab(self, tmp_path: Path) -> None:
        """Add 3 tasks, turn the journal's final newline into \\x0b: list refused (exit 3), doctor reports a
        problem, the next add is refused, and the files are untouched throughout."""
        directory = tmp_path / "data"
        for title in ("One", "Two", "Three"):
            assert run_taskvault(directory, "add", title).code == 0
        journal = directory / "tasks.journal"
        data = journal.read_bytes()
        assert data.endswith(b"\n")
        journal.write_bytes(data[:-1] + b"\x0b")
        before = store_digest(directory)
        listed = run_taskvault(directory, "list")
        assert listed.code == 3 and listed.out == "" and listed.err.count("\n") == 1, listed
        assert "record 3 is complete but its line does not end in a newline" in listed.err
        doctor = run_taskvault(directory, "doctor")
        assert doctor.code == 3 and "PROBLEM  store:" in doctor.out, doctor.out
        added = run_taskvault(directory, "add", "Four")
        assert added.code == 3 and added.out == "" and "tasks.journal" in added.err, added
        assert store_digest(directory) == before
        _tally("refused")

    @pytest.mark.parametrize("how", ["torn", "voided"])
    def test_an_id_that_reached_the_disk_is_never_handed_out_again(self, tmp_path: Path, how: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        """An add that reached the disk but was dropped (torn) or reported as failed (voided) keeps its id from
        every later add, also after the next writer cut the tail off, and after a restart."""
        directory = tmp_path / "data"
        for title in ("One", "Two"):
            assert run_taskvault(directory, "add", title).code == 0
        journal = directory / "tasks.journal"
        if how == "torn":
            whole = journal.read_bytes()
            assert run_taskvault(directory, "add", "Lost in the crash").code == 0
            record = journal.read_bytes()[len(whole):]
            journal.write_bytes(whole + record[: record.index(b'"id":3,') + 10])
        else:
            session = Session(directory)
            with monkeypatch.context() as patch:
                patch.setattr(files, "os", _failing_void_then_cut({"fsync": 0}))
                assert session.run("add 'Reported as failed'") == 3
            session.close()
        assert b'"id":3,' in journal.read_bytes()
        assert run_taskvault(directory, "add", "Next").out == "Added task 4: Next\n"
        assert b'"id":3,' not in journal.read_bytes() or how == "voided"
        assert run_taskvault(directory, "add", "After").out == "Added task 5: After\n"
        assert [t.id for t in JournalStore(directory).load()] == [1, 2, 4, 5]
        _tally("dropped as torn")

