"""A store that does not load is refused with a clear message and left exactly as it was."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import resource
import shutil
import socket
import stat
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from taskvault.codec import journal
from taskvault.codec.envelope import SCHEMA
from taskvault.errors import StorageError, StoreTooNew, StoreUnreadable
from taskvault.store.journal_store import JournalStore

from .conftest import (
    FIGURES,
    KEYS,
    TASKVAULT,
    Completed,
    Session,
    encrypted_stores,
    new_store,
    run_taskvault,
    store_digest,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

Damage = Callable[[Path], None]


def _good_store(directory: Path) -> None:
    """Three tasks in the snapshot (after a compaction), one more change in the journal."""
    new_store(directory)  # (encrypted, inside encrypted_stores)
    session = Session(directory)
    for line in ("add Alpha --tag a", "add Beta --priority high --due 2030-01-01", "add Gamma", "done 2"):
        assert session.run(line) == 0
    store = session.store
    with store.locked():
        store.catch_up(session.service.tasks)
        store.compact(session.service.tasks)
    assert session.run("edit 1 --title Alpha2") == 0
    session.close()


def _snapshot_doc(directory: Path) -> dict:
    return json.loads((directory / "tasks.json").read_bytes())


def _write_doc(directory: Path, doc: object) -> None:
    (directory / "tasks.json").write_text(json.dumps(doc))


def _replace_bytes(old: bytes, new: bytes) -> Damage:
    """Change the first ``old`` in tasks.json into ``new``, every other byte as it was."""
    def damage(directory: Path) -> None:
        data = (directory / "tasks.json").read_bytes()
        assert old in data
        (directory / "tasks.json").write_bytes(data.replace(old, new, 1))
    return damage


def _change_uuid_digit(directory: Path) -> None:
    """One hex digit of the first task's uuid becomes another: still a valid uuid, as a bit flip can leave it."""
    data = (directory / "tasks.json").read_bytes()
    at = data.index(b'"uuid":"', data.index(b'"tasks":[')) + len(b'"uuid":"')
    (directory / "tasks.json").write_bytes(data[:at] + (b"1" if data[at:at + 1] != b"1" else b"2") + data[at + 1:])


def _edit_task(field: str, value: object) -> Damage:
    def damage(directory: Path) -> None:
        doc = _snapshot_doc(directory)
        doc["tasks"][0][field] = value
        _write_doc(directory, doc)
    return damage


def _edit_envelope(field: str, value: object) -> Damage:
    def damage(directory: Path) -> None:
        doc = _snapshot_doc(directory)
        doc[field] = value
        _write_doc(directory, doc)
    return damage


def _drop_task_field(directory: Path) -> None:
    doc = _snapshot_doc(directory)
    del doc["tasks"][0]["title"]
    _write_doc(directory, doc)


def _duplicate_ids(directory: Path) -> None:
    doc = _snapshot_doc(directory)
    doc["tasks"][1]["id"] = doc["tasks"][0]["id"]
    _write_doc(directory, doc)


def _replace_snapshot(data: bytes) -> Damage:
    return lambda directory: (directory / "tasks.json").write_bytes(data)


def _journal_lines(directory: Path) -> list[bytes]:
    return (directory / "tasks.journal").read_bytes().splitlines(keepends=True)


def _rewrite_journal(change: Callable[[list[bytes]], list[bytes]]) -> Damage:
    return lambda directory: (directory / "tasks.journal").write_bytes(b"".join(change(_journal_lines(directory))))


def _flip_byte_in_record(lines: list[bytes]) -> list[bytes]:
    record = bytearray(lines[1])
    record[30] ^= 0x01
    return [lines[0], bytes(record), *lines[2:]]


def _record_with(**fields: object) -> Callable[[list[bytes]], list[bytes]]:
    def change(lines: list[bytes]) -> list[bytes]:
        doc = json.loads(lines[1][9:])
        doc.update(fields)
        payload = json.dumps(doc).encode()
        import zlib
        return [lines[0], b"%08x " % zlib.crc32(payload) + payload + b"\n", *lines[2:]]
    return change


def _header_with(**fields: object) -> Callable[[list[bytes]], list[bytes]]:
    def change(lines: list[bytes]) -> list[bytes]:
        doc = json.loads(lines[0][9:])
        doc.update(fields)
        return [journal.frame(doc), *lines[1:]]
    return change


def _make_directory(directory: Path) -> None:
    (directory / "tasks.json").unlink()
    (directory / "tasks.json").mkdir()


def _dangling_symlink(directory: Path) -> None:
    (directory / "tasks.json").unlink()
    (directory / "tasks.json").symlink_to(directory / "nowhere.json")


def _symlink_to_file(directory: Path) -> None:
    target = directory.parent / "elsewhere.json"
    os.replace(directory / "tasks.json", target)
    (directory / "tasks.json").symlink_to(target)


def _journal_without_snapshot(directory: Path) -> None:
    (directory / "tasks.json").unlink()


#: A timestamp as the store writes them.
AT = "2026-12-01T09:30:00.000000Z"


def _note(text: str, at: str = AT) -> dict[str, str]:
    return {"at": at, "text": text}


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _edit_done_task(field: str, value: object) -> Damage:
    """Change a field of the done task (Beta, the second in the snapshot)."""
    def damage(directory: Path) -> None:
        doc = _snapshot_doc(directory)
        assert doc["tasks"][1]["status"] == "done"
        doc["tasks"][1][field] = value
        _write_doc(directory, doc)
    return damage


def _depends_on_itself(directory: Path) -> None:
    doc = _snapshot_doc(directory)
    doc["tasks"][0]["depends"] = [doc["tasks"][0]["uuid"]]
    _write_doc(directory, doc)


#: Schema 4's fields, each broken by hand in the snapshot's first task (or its done one): (damage, the JSON path the
#: refusal names, so that it is the field's own rule that refuses it and not only the snapshot's checksum).
NEW_FIELDS: dict[str, tuple[Damage, str]] = {
    "annotation with a control character": (_edit_task("annotations", [_note("a\u001b[2Jb")]), "$.tasks[0]"),
    "annotation with a newline": (_edit_task("annotations", [_note("two\nlines")]), "$.tasks[0]"),
    "annotation untrimmed": (_edit_task("annotations", [_note(" padded")]), "$.tasks[0]"),
    "annotation of 1,001 characters": (_edit_task("annotations", [_note("é" * 1001)]), "$.tasks[0]"),
    "annotations out of order": (_edit_task("annotations", [_note("b", "2026-12-02T09:30:00.000000Z"), _note("a")]),
                                 "$.tasks[0]"),
    "101 annotations": (_edit_task("annotations", [_note(f"n{n}") for n in range(101)]), "$.tasks[0]"),
    "annotation with an unknown field": (_edit_task("annotations", [{**_note("x"), "colour": "red"}]), "$.tasks[0]"),
    "annotation without its time": (_edit_task("annotations", [{"text": "x"}]), "$.tasks[0]"),
    "annotations not a list": (_edit_task("annotations", "a note"), "$.tasks[0]"),
    "depends on itself": (_depends_on_itself, "$.tasks[0]"),
    "depends repeated": (_edit_task("depends", [_uuid(1), _uuid(1)]), "$.tasks[0]"),
    "depends unsorted": (_edit_task("depends", [_uuid(2), _uuid(1)]), "$.tasks[0]"),
    "depends on an id, not a uuid": (_edit_task("depends", [3]), "$.tasks[0]"),
    "depends on 101 tasks": (_edit_task("depends", [_uuid(n) for n in range(101)]), "$.tasks[0]"),
    "project with a space": (_edit_task("project", "home kitchen"), "$.tasks[0]"),
    "project with an empty part": (_edit_task("project", "home..kitchen"), "$.tasks[0]"),
    "project of 101 characters": (_edit_task("project", "p" * 101), "$.tasks[0]"),
    "project empty": (_edit_task("project", ""), "$.tasks[0]"),
    "started while done": (_edit_done_task("started", AT), "$.tasks[1]"),
    "started not in UTC": (_edit_task("started", "2026-12-01T09:30:00.000000+02:00"), "$.tasks[0]"),
    "wait as a number": (_edit_task("wait", 20261201), "$.tasks[0]"),
    "scheduled not a date": (_edit_task("scheduled", "tomorrow"), "$.tasks[0]"),
    "until with a time": (_edit_task("until", AT), "$.tasks[0]"),
    "recur not a period": (_edit_task("recur", "fortnightly"), "$.tasks[0]"),
    "an instance without its period": (_edit_task("parent", _uuid(7)), "$.tasks[0]"),
    "index on a task of no series": (_edit_task("index", 3), "$.tasks[0]"),
    "index negative": (_edit_task("index", -1), "$.tasks[0]"),
}


BAD_STORES: dict[str, Damage] = {
    "empty file": _replace_snapshot(b""),
    "NUL-filled": _replace_snapshot(b"\0" * 4096),
    "random bytes": _replace_snapshot(random.Random(7).randbytes(2048)),
    "invalid UTF-8": lambda d: (d / "tasks.json").write_bytes((d / "tasks.json").read_bytes().replace(b"Beta", b"B\xffta")),
    "truncated in the middle": lambda d: (d / "tasks.json").write_bytes((d / "tasks.json").read_bytes()[:200]),
    "JSON list": _replace_snapshot(b"[]"),
    "JSON empty object": _replace_snapshot(b"{}"),
    "JSON string": _replace_snapshot(b'"tasks"'),
    "JSON null": _replace_snapshot(b"null"),
    "deeply nested JSON": _replace_snapshot(b"[" * 100_000 + b"]" * 100_000),
    "huge file (64 MB, unterminated)": _replace_snapshot(b'{"format": "taskvault", "tasks": [' + b" " * (64 << 20)),
    "wrong format name": _edit_envelope("format", "todo.txt"),
    "schema as a string": _edit_envelope("schema", "1"),
    "schema 0": _edit_envelope("schema", 0),
    "unknown envelope field": _edit_envelope("owner", "me"),
    "tasks not a list": _edit_envelope("tasks", {"1": {}}),
    "negative revision": _edit_envelope("revision", -1),
    "next_id not above ids": _edit_envelope("next_id", 2),
    "missing task field": _drop_task_field,
    "unknown task field": _edit_task("colour", "red"),
    "id as a string": _edit_task("id", "1"),
    "id as a boolean": _edit_task("id", True),
    "negative id": _edit_task("id", -4),
    "tags not a list": _edit_task("tags", "home"),
    "due as a number": _edit_task("due", 20261201),
    "unknown priority": _edit_task("priority", "urgent"),
    "untrimmed title": _edit_task("title", "  padded"),
    "control character in title": _edit_task("title", "a\u0007b"),
    "done without completion time": _edit_task("status", "done"),
    "bad uuid": _edit_task("uuid", "not-a-uuid"),
    "duplicate ids": _duplicate_ids,
    "directory instead of file": _make_directory,
    "dangling symlink": _dangling_symlink,
    "symlink to a real file": _symlink_to_file,
    "journal without snapshot": _journal_without_snapshot,
    "journal of random bytes": lambda d: (d / "tasks.journal").write_bytes(random.Random(3).randbytes(4096)),
    "journal NUL-filled": lambda d: (d / "tasks.journal").write_bytes(b"\0" * 4096),
    "journal header garbage": _rewrite_journal(lambda lines: [b"garbage\n", *lines[1:]]),
    "journal record fails checksum": _rewrite_journal(_flip_byte_in_record),
    "journal record out of sequence": _rewrite_journal(_record_with(rev=99)),
    "journal record with a bad task": _rewrite_journal(_record_with(put=[{"id": 1}])),
    "journal record deletes a missing task": _rewrite_journal(_record_with(put=[], **{"del": [77]})),
    "journal starts after snapshot": _rewrite_journal(_header_with(base=50)),
    "journal of a newer schema": _rewrite_journal(_header_with(schema=SCHEMA + 1, min_reader=SCHEMA + 1)),
    "history not a list": _edit_envelope("history", {}),
    "history step with an unknown field": lambda d: _write_doc(d, {**(doc := _snapshot_doc(d)), "history": [
        {**doc["history"][0], "colour": "red"}]}),
    "min_reader as a string": _edit_envelope("min_reader", "2"),
    "a title edited in place, still valid": _replace_bytes(b'"title":"Gamma"', b'"title":"Gamme"'),
    "next_id edited in the first line, still valid": _replace_bytes(b'"next_id":4,', b'"next_id":9,'),
    "a uuid digit changed, still valid": _change_uuid_digit,
    "counts that do not match the tasks": _replace_bytes(b'"tasks":3}', b'"tasks":2}'),
    **{name: damage for name, (damage, _) in NEW_FIELDS.items()},
    "journal record of an unknown kind": _rewrite_journal(_record_with(cmd="frobnicate")),
    "journal record with a control character in an annotation": _rewrite_journal(
        lambda lines: _record_with(put=[{**json.loads(lines[1][9:])["put"][0],
                                         "annotations": [_note("a\u001b[2Jb")]}])(lines)),
    "journal record starting a done task": _rewrite_journal(
        lambda lines: _record_with(put=[{**json.loads(lines[1][9:])["put"][0], "status": "done",
                                         "completed": AT, "started": AT}])(lines)),
}


def _too_new(directory: Path) -> None:
    doc = _snapshot_doc(directory)
    _write_doc(directory, {**doc, "schema": SCHEMA + 1, "min_reader": SCHEMA + 1})


TOO_NEW = {"schema too new": _too_new, "journal of a newer schema": None}


def _damaged(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / "data"
    _good_store(directory)
    (TOO_NEW.get(name) or BAD_STORES[name])(directory)
    return directory


def _listing(directory: Path) -> list[tuple[str, int]]:
    return sorted((p.name, p.lstat().st_mode) for p in directory.iterdir())


class TestRefusedUntouched:
    """Every kind of damage: exit 3, one line naming the file, every byte and mtime as it was."""

    @pytest.mark.parametrize("name", sorted([*BAD_STORES, "schema too new"]))
    @pytest.mark.parametrize("command", [["list"], ["add", "New task"], ["done", "1"],
                                         ["modify", "1,3", "project:x", "+y", "depends:2"],
                                         ["annotate", "1", "ünï ✓"], ["start", "1"]], ids=" ".join)
    def test_refused(self, tmp_path: Path, name: str, command: list[str]) -> None:
        """The installed program refuses the store and changes nothing in the directory."""
        directory = _damaged(tmp_path, name)
        before, listing = store_digest(directory), _listing(directory)
        result = run_taskvault(directory, *command)
        assert result.code == 3, result
        assert "Traceback" not in result.err and result.out == ""
        assert result.err.count("\n") == 1 and result.err.startswith("error: ")
        assert "tasks.json" in result.err or "tasks.journal" in result.err or "data directory" in result.err
        assert store_digest(directory) == before
        assert _listing(directory) == listing
        if name in TOO_NEW:
            assert "newer taskvault" in result.err and "upgrade" in result.err
        FIGURES["bad stores refused untouched"] = len(BAD_STORES) + 1

    @pytest.mark.parametrize("name", sorted(BAD_STORES))
    def test_loader_raises_storage_error(self, tmp_path: Path, name: str) -> None:
        """In process, the loader raises the documented error class and nothing else."""
        directory = _damaged(tmp_path, name)
        with pytest.raises(StorageError) as caught:
            JournalStore(directory).load()
        if name == "journal of a newer schema":
            assert caught.type is StoreTooNew


#: The damage that edits no plain JSON (an encrypted store's is sealed: tests/test_encryption_proofs.py changes it):
#: each is refused on an encrypted store too.
ENCRYPTED_TOO = ["empty file", "NUL-filled", "random bytes", "truncated in the middle", "JSON list", "JSON null",
                 "deeply nested JSON", "directory instead of file", "dangling symlink", "symlink to a real file",
                 "journal without snapshot", "journal of random bytes", "journal NUL-filled", "journal header garbage",
                 "journal record fails checksum", "journal record out of sequence", "journal record with a bad task",
                 "journal starts after snapshot", "journal of a newer schema"]


class TestRefusedUntouchedEncrypted:
    @pytest.mark.parametrize("name", ENCRYPTED_TOO)
    def test_refused(self, tmp_path: Path, name: str) -> None:
        """The same damage to an encrypted store: list and add refuse it (exit 3, one line naming the file), the
        loader raises StorageError, and every byte and mtime is as it was."""
        with encrypted_stores(tmp_path):
            directory = tmp_path / "data"
            _good_store(directory)
            assert (directory / "tasks.json").read_bytes().startswith(b'{"format":"taskvault-encrypted"')
            assert b'"enc":' in (directory / "tasks.journal").read_bytes()
            BAD_STORES[name](directory)
            before, listing = store_digest(directory), _listing(directory)
            for command in (["list"], ["add", "New task"]):
                result = run_taskvault(directory, *command)
                assert result.code == 3 and result.out == "" and "Traceback" not in result.err, result
                assert result.err.count("\n") == 1 and result.err.startswith("error: ")
                assert "tasks.json" in result.err or "tasks.journal" in result.err, result.err
            with pytest.raises(StorageError):
                JournalStore(directory, passphrases=KEYS).load()
            assert store_digest(directory) == before and _listing(directory) == listing


class TestNewFieldsRefusedByTheirRules:
    @pytest.mark.parametrize("name", sorted(NEW_FIELDS))
    def test_the_rule_names_the_task(self, tmp_path: Path, name: str) -> None:
        """A schema 4 field broken by hand is refused by the field's rule, which names the task's JSON path (the
        snapshot's checksum would refuse it too, without saying what is wrong)."""
        directory = _damaged(tmp_path, name)
        with pytest.raises(StorageError) as caught:
            JournalStore(directory).load()
        assert NEW_FIELDS[name][1] in caught.value.message and "checksum" not in caught.value.message, \
            caught.value.message


class TestTruncation:
    """A snapshot cut at any byte is refused; a journal cut mid-line loses only that line."""

    def test_snapshot_cut_at_every_offset(self, tmp_path: Path) -> None:
        """Every proper prefix of tasks.json is refused (never read as fewer tasks)."""
        directory = tmp_path / "data"
        _good_store(directory)
        whole = (directory / "tasks.json").read_bytes()
        (directory / "tasks.journal").unlink()
        for offset in range(len(whole) - 1):  # the last byte is the optional final newline
            (directory / "tasks.json").write_bytes(whole[:offset])
            with pytest.raises(StoreUnreadable):
                JournalStore(directory).load()
        FIGURES["snapshot truncation offsets refused"] = len(whole) - 1


class TestDirectory:
    """The data directory itself must be a private directory."""

    def test_world_writable_directory_is_refused(self, tmp_path: Path) -> None:
        """Like ssh, taskvault will not keep tasks where other users can replace its files."""
        directory = tmp_path / "data"
        _good_store(directory)
        os.chmod(directory, 0o777)
        result = run_taskvault(directory, "list")
        assert result.code == 3 and "writable by other users" in result.err and "chmod go-w" in result.err

    def test_a_file_in_place_of_the_directory(self, tmp_path: Path) -> None:
        """A file where the directory should be is an error, and the file is left alone."""
        directory = tmp_path / "data"
        directory.write_text("not a directory")
        result = run_taskvault(directory, "add", "x")
        assert result.code == 3 and "is not a directory" in result.err
        assert directory.read_text() == "not a directory"


# -- hostile entries: what is in the data directory is not a file of ours -------------------------------

#: Long enough for a command that works, short enough that a hang fails the test rather than CI.
TIMEOUT = 20


def _tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``, links not followed: mode, size, mtime, and the bytes or link target."""
    found: dict[str, tuple[object, ...]] = {}
    for parent, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(parent, name)
            info = path.lstat()
            content: object = None
            if stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            found[str(path.relative_to(root))] = (info.st_mode, info.st_rdev, info.st_size, info.st_mtime_ns, content)
    return found


def _device(path: Path, major: int, minor: int) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod needs root; as an ordinary user no device node can appear in a data directory")
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))


#: What can be put where a store file should be, none of them a file taskvault may read or lock.
ENTRIES: dict[str, Callable[[Path], None]] = {
    "named pipe": os.mkfifo,
    "null device": lambda p: _device(p, 1, 3),
    "zero device": lambda p: _device(p, 1, 5),
    "socket": _socket,
}


def _hostile(tmp_path: Path, name: str, entry: str) -> Path:
    directory = tmp_path / "data"
    _good_store(directory)
    (directory / name).unlink()
    ENTRIES[entry](directory / name)
    return directory


def _one_error_line(result: Any, *words: str) -> None:
    """Exit 3 and one error line naming the file and the way out; no traceback, no output."""
    assert result.code == 3, result
    assert result.out == "" and "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("error: "), result.err
    assert all(word in result.err for word in words), (words, result.err)
    assert any(way in result.err for way in ("mv ", "taskvault restore", "taskvault salvage", "move the file aside")), \
        result.err


class TestHostileEntries:
    """A named pipe, a device or a socket in place of a store file: refused at once, never waited on or locked."""

    @pytest.mark.parametrize("entry", sorted(ENTRIES))
    @pytest.mark.parametrize("name", ["tasks.json", "tasks.journal"])
    @pytest.mark.parametrize("command", [["list"], ["add", "New task"], ["done", "1"]])
    def test_store_file_refused_untouched(self, tmp_path: Path, name: str, entry: str, command: list[str]) -> None:
        """Every command: exit 3, one line naming the file and what it is, nothing anywhere changed."""
        directory = _hostile(tmp_path, name, entry)
        before = _tree(tmp_path)
        result = run_taskvault(directory, *command, timeout=TIMEOUT)
        _one_error_line(result, name, ENTRIES_SAID[entry])
        assert _tree(tmp_path) == before
        FIGURES["hostile entries refused untouched"] = (f"{len(ENTRIES)} kinds of entry in place of each of the 3 "
                                                        "store files")

    @pytest.mark.parametrize("entry", sorted(ENTRIES))
    def test_lock_file_refused_untouched(self, tmp_path: Path, entry: str) -> None:
        """A change is refused (a lock on a pipe or device excludes no one); a read, which takes no lock, works."""
        directory = _hostile(tmp_path, "tasks.lock", entry)
        before = _tree(tmp_path)
        for command in (["add", "New task"], ["done", "1"]):
            result = run_taskvault(directory, *command, timeout=TIMEOUT)
            _one_error_line(result, "tasks.lock", ENTRIES_SAID[entry], "holds no data")
        assert run_taskvault(directory, "list", timeout=TIMEOUT).code == 0
        assert _tree(tmp_path) == before

    def test_a_directory_in_place_of_the_lock_file(self, tmp_path: Path) -> None:
        """Moved aside by the user, not removed by taskvault: it might hold something."""
        directory = tmp_path / "data"
        _good_store(directory)
        (directory / "tasks.lock").unlink()
        (directory / "tasks.lock").mkdir()
        result = run_taskvault(directory, "add", "x", timeout=TIMEOUT)
        _one_error_line(result, "tasks.lock is a directory, not a regular file", "mv ")

    @pytest.mark.parametrize("entry", sorted(ENTRIES))
    @pytest.mark.parametrize("name", ["tasks.json", "tasks.journal", "tasks.lock"])
    def test_doctor_reports_it_and_never_waits(self, tmp_path: Path, name: str, entry: str) -> None:
        """doctor names the entry, what it is, and the command that moves it aside; it changes nothing."""
        directory = _hostile(tmp_path, name, entry)
        before = _tree(tmp_path)
        result = run_taskvault(directory, "doctor", timeout=TIMEOUT)
        assert result.code == 3 and "Traceback" not in result.err
        lines = result.out.splitlines()
        problem = next(i for i, line in enumerate(lines) if line.startswith(f"PROBLEM  permissions: {name} is "))
        assert ENTRIES_SAID[entry] in lines[problem]
        assert lines[problem + 1].strip().startswith(f"→ move it aside with: mv {directory / name} ")
        assert _tree(tmp_path) == before


ENTRIES_SAID = {"named pipe": "a named pipe (FIFO)", "null device": "a character device",
                "zero device": "a character device", "socket": "a socket"}


class TestHardLinksAndOwners:
    def test_a_hard_linked_journal_is_flagged_by_doctor(self, tmp_path: Path) -> None:
        """Another name of the journal changes with every change saved: doctor says so and how to find it."""
        directory = tmp_path / "data"
        _good_store(directory)
        os.link(directory / "tasks.journal", tmp_path / "a copy of the journal")
        result = run_taskvault(directory, "--json", "doctor", timeout=TIMEOUT)
        found = [f for f in json.loads(result.out)["findings"] if "hard link" in f["text"]]
        assert [f["level"] for f in found] == ["warning"] and "tasks.journal has 1 other name" in found[0]["text"]
        assert f"-samefile {directory / 'tasks.journal'}" in found[0]["fix"]

    def test_a_store_file_of_another_user_is_flagged_by_doctor(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        _good_store(directory)
        os.chown(directory / "tasks.json", 65534, 65534)
        result = run_taskvault(directory, "doctor", timeout=TIMEOUT)
        assert result.code == 3
        assert "PROBLEM  permissions: tasks.json belongs to another user (uid 65534)" in result.out
        assert "→ as root: chown " in result.out


class TestNamesAreShownEscaped:
    """A file name may hold a newline or an escape sequence; shown raw, it would forge lines of output."""

    def test_doctor_escapes_names_it_lists(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        _good_store(directory)
        (directory / "tasks.json.unreadable-x\nPROBLEM  forged: all is lost").write_bytes(b"")
        (directory / ".tasks.json.tmp-1\n\x1b[2Jcleared").write_bytes(b"")
        result = run_taskvault(directory, "doctor", timeout=TIMEOUT)
        assert "\x1b" not in result.out
        assert not any(line.startswith(("PROBLEM  forged", "cleared")) for line in result.out.splitlines())
        assert "tasks.json.unreadable-x\\nPROBLEM  forged" in result.out and "\\x1b[2Jcleared" in result.out

    def test_an_error_naming_a_path_with_a_newline_is_one_line(self, tmp_path: Path) -> None:
        directory = tmp_path / "da\nta"
        _good_store(directory)
        directory.chmod(0o777)
        result = run_taskvault(directory, "list", timeout=TIMEOUT)
        assert result.code == 3 and result.err.count("\n") == 1 and "da\\nta" in result.err


class TestLongPaths:
    @pytest.mark.parametrize("shape", ["a name of 300 bytes", "a path of 5000 bytes"])
    def test_too_long_a_data_directory(self, tmp_path: Path, shape: str) -> None:
        """The system's own limit, reported in one line with exit 3; nothing is created."""
        directory = tmp_path / ("d" * 300) if shape.startswith("a name") else tmp_path.joinpath(*["d" * 200] * 25)
        for command in (["add", "x"], ["list"]):
            result = run_taskvault(directory, *command, timeout=TIMEOUT)
            assert result.code == 3 and result.err.count("\n") == 1 and "File name too long" in result.err, result
        doctor = run_taskvault(directory, "doctor", timeout=TIMEOUT)
        assert doctor.code == 3 and doctor.err == "" and "PROBLEM  directory: cannot use" in doctor.out
        assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- hostile sizes and numbers: every store file, every command that reads it, the way out kept open ----------------

#: Address space the program may use in these tests. A file read whole would need more than this (the huge files
#: are 4 GiB, sparse: they take no disk), so a read that is not refused up front fails loudly (exit 70) here,
#: where without the limit it would only be slow and take gigabytes of memory.
MEMORY_LIMIT = 1 << 30
HUGE = 4 << 30
FIVE_THOUSAND_DIGITS = b"9" * 5000
DEEP = b"[" * 100_000 + b"]" * 100_000


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run_limited(directory: Path, *args: str) -> Completed:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
    env.update({"TASKVAULT_DATA_DIR": str(directory), "NO_COLOR": "1",
                "XDG_STATE_HOME": str(directory.parent / "state")})
    proc = subprocess.run([*TASKVAULT, *args], capture_output=True, text=True, env=env, timeout=120,
                          preexec_fn=_limited)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def _sparse(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(HUGE)


def _reframed(line: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """A journal line whose payload is changed and whose checksum is made right again (so only the payload is bad)."""
    payload = change(line[9:].rstrip(b"\n"))
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def _in_journal_line(index: int, change: Callable[[bytes], bytes]) -> Damage:
    def damage(directory: Path) -> None:
        lines = _journal_lines(directory)
        lines[index] = _reframed(lines[index], change)
        (directory / "tasks.journal").write_bytes(b"".join(lines))
    return damage


def _long_number(payload: bytes) -> bytes:
    """The first revision, base or next id in a document, made a 5000-digit number."""
    return re.sub(rb'"(revision|rev|base|next_id)":\d+', lambda m: b'"%s":%s' % (m[1], FIVE_THOUSAND_DIGITS), payload,
                  count=1)


def _oldest_backup(directory: Path) -> Path:
    return min((directory / "backups").iterdir(), key=lambda p: p.stat().st_mtime_ns)


#: Damage to one store file, and which file: "store" (tasks.json or tasks.journal) or "backup" (one of two).
HOSTILE: dict[str, tuple[str, Damage]] = {
    "tasks.json over 256 MiB (4 GiB, sparse)": ("store", lambda d: _sparse(d / "tasks.json")),
    "tasks.journal over 256 MiB (4 GiB, sparse)": ("store", lambda d: _sparse(d / "tasks.journal")),
    "a backup over 256 MiB (4 GiB, sparse)": ("backup", lambda d: _sparse(_oldest_backup(d))),
    "a 5000-digit number in tasks.json": ("store", lambda d: (d / "tasks.json").write_bytes(
        _long_number((d / "tasks.json").read_bytes()))),
    "a 5000-digit number in a journal record": ("store", _in_journal_line(1, _long_number)),
    "a 5000-digit number in the journal header": ("store", _in_journal_line(0, _long_number)),
    "a 5000-digit number in a backup": ("backup", lambda d: _in_backup(d, _long_number)),
    "deeply nested JSON in a journal record": ("store", _in_journal_line(1, lambda _: DEEP)),
    "deeply nested JSON in the journal header": ("store", _in_journal_line(0, lambda _: DEEP)),
    "deeply nested JSON in a backup": ("backup", lambda d: _in_backup(d, lambda _: DEEP)),
    "a compressed backup that inflates past 256 MiB": ("backup", lambda d: _oldest_backup(d).write_bytes(_bomb())),
}


def _in_backup(directory: Path, change: Callable[[bytes], bytes]) -> None:
    """Change the snapshot the oldest backup holds; a compressed one is compressed again, so that its checksum
    passes and what it holds is what is tried."""
    path = _oldest_backup(directory)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(change(gzip.decompress(path.read_bytes())), mtime=0))
    else:
        path.write_bytes(change(path.read_bytes()))


def _bomb() -> bytes:
    """A gzip stream of 320 MiB of one byte: 320 KiB on disk, more than any taskvault file can hold."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(320)) + packer.flush()


def _fingerprint(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Size, mtime and the sha256 of the first MiB of every file (huge sparse ones are not read whole)."""
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != "tasks.lock":
            with path.open("rb") as handle:
                head = hashlib.sha256(handle.read(1 << 20)).hexdigest()
            info = path.stat()
            found[str(path.relative_to(directory))] = (info.st_size, info.st_mtime_ns, head)
    return found


def _clear(result: Any, *, code: int) -> None:
    """The documented exit code, never 70, no traceback; an error is one line."""
    assert result.code == code, result
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if code == 3 and result.out == "":
        assert result.err.count("\n") == 1 and result.err.startswith("error: "), result.err


@pytest.fixture(scope="module")
def hostile_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good store with two verified backups (the older is the one damaged), built once."""
    directory = tmp_path_factory.mktemp("hostile") / "data"
    _good_store(directory)  # its compaction took the first backup
    assert run_taskvault(directory, "backup").code == 0
    assert len(list((directory / "backups").iterdir())) == 2
    return directory


def _hostile_copy(hostile_base: Path, tmp_path: Path, name: str) -> tuple[Path, str]:
    directory = tmp_path / "data"
    shutil.copytree(hostile_base, directory)
    oldest = _oldest_backup(directory)
    os.utime(oldest, ns=(1, 1))  # keep "oldest" the oldest across the copy
    HOSTILE[name][1](directory)
    return directory, "-".join(oldest.name.split("-")[:2])


class TestHostileSizesAndNumbers:
    """A file over 256 MiB, a 5000-digit number, JSON nested 100,000 deep -- in the snapshot, a journal record, the
    journal header or a backup: list, doctor, backup, backups and restore each answer with a clear message (never
    exit 70, never reading a huge file whole), and the way out the message names works."""

    @pytest.mark.parametrize("name", [n for n, (where, _) in HOSTILE.items() if where == "store"])
    def test_a_damaged_store_is_refused_and_the_named_restore_works(self, hostile_base: Path, tmp_path: Path,
                                                                   name: str) -> None:
        """list and backup refuse it in one line naming the file and the restore to run; doctor reports it;
        backups lists the backups; the restore the message names works, keeping the damaged files aside."""
        directory, _ = _hostile_copy(hostile_base, tmp_path, name)
        before = _fingerprint(directory)
        listed = _run_limited(directory, "list")
        _clear(listed, code=3)
        assert "tasks.json" in listed.err or "tasks.journal" in listed.err, listed.err
        way_out = re.search(r"run: (taskvault restore \S+)\)", listed.err)
        assert way_out, listed.err
        _clear(_run_limited(directory, "backup"), code=3)
        doctor = _run_limited(directory, "doctor")
        _clear(doctor, code=3)
        assert "PROBLEM  store:" in doctor.out, doctor.out
        backups = _run_limited(directory, "backups")
        _clear(backups, code=0)
        assert "2 backups in" in backups.out
        assert _fingerprint(directory) == before
        restored = _run_limited(directory, *way_out[1].split()[1:])
        _clear(restored, code=0)
        assert "The unreadable files are kept as:" in restored.out, restored.out
        _clear(_run_limited(directory, "list"), code=0)
        assert _run_limited(directory, "add", "After the restore").code == 0
        FIGURES["hostile sizes and numbers"] = (f"{len(HOSTILE)} kinds (files over 256 MiB, a compressed backup "
                                                "inflating past it, 5000-digit numbers, "
                                                "100,000-deep JSON in every store file and a backup) × list, doctor, "
                                                "backup, backups, restore: never exit 70, the way out works")

    @pytest.mark.parametrize("name", [n for n, (where, _) in HOSTILE.items() if where == "backup"])
    def test_a_damaged_backup_is_named_and_the_rest_works(self, hostile_base: Path, tmp_path: Path,
                                                         name: str) -> None:
        """The store works on; doctor names the damaged backup and the rm that removes it; restoring it is refused
        in one line; backups lists it; a new backup and a restore of the good one work."""
        directory, damaged = _hostile_copy(hostile_base, tmp_path, name)
        listed = _run_limited(directory, "list")
        _clear(listed, code=0)
        doctor = _run_limited(directory, "doctor")
        _clear(doctor, code=3)
        assert f"PROBLEM  backups: backup {damaged} is damaged" in doctor.out or \
            f"PROBLEM  backups: cannot read the backup {damaged}" in doctor.out, doctor.out
        assert "rm " in doctor.out
        backups = _run_limited(directory, "backups")
        _clear(backups, code=0)
        assert damaged in backups.out
        refused = _run_limited(directory, "restore", damaged, "--yes")
        _clear(refused, code=3)
        assert damaged in refused.err and "pick another with 'taskvault backups'" in refused.err, refused.err
        _clear(_run_limited(directory, "backup"), code=0)
        restored = _run_limited(directory, "restore", "latest", "--yes")
        _clear(restored, code=0)
        _clear(_run_limited(directory, "list"), code=0)

    def test_a_journal_that_grows_past_the_limit_under_a_running_session(self, hostile_base: Path,
                                                                        tmp_path: Path) -> None:
        """A script session has read the store; the journal then becomes 4 GiB (sparse): the session's next read and
        change are each refused in one line (never read whole, never exit 70), and the session goes on."""
        directory = tmp_path / "data"
        shutil.copytree(hostile_base, directory)
        env = {**os.environ, "TASKVAULT_DATA_DIR": str(directory), "NO_COLOR": "1",
               "XDG_STATE_HOME": str(tmp_path / "state")}
        proc = subprocess.Popen([*TASKVAULT, "--keep-going"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, bufsize=1, env=env, preexec_fn=_limited)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write("show 1\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "Task 1: Alpha2\n"  # started and caught up: idle, waiting for a line
            _sparse(directory / "tasks.journal")
            out, err = proc.communicate("list\nadd More\nshow 1\n", timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 3, err
        assert "internal error" not in err and "Traceback" not in err, err
        lines = err.splitlines()
        assert [line.split(":")[0] for line in lines] == ["line 2", "line 3", "line 4"], err  # each answered
        assert all("tasks.journal: it is larger than the 256 MiB" in line for line in lines), err
        assert out == ""


class TestSealedSnapshot:
    """A snapshot whose bytes changed where JSON cannot tell is refused by its checksum, with the way out."""

    @pytest.mark.parametrize("name", ["a title edited in place, still valid", "next_id edited in the first line, still valid",
                                      "a uuid digit changed, still valid"])
    def test_a_valid_but_changed_snapshot_fails_its_checksum(self, tmp_path: Path, name: str) -> None:
        """The error names the file, says it fails its checksum, and names what to run."""
        directory = _damaged(tmp_path, name)
        result = run_taskvault(directory, "list")
        assert result.code == 3
        assert "tasks.json: the file fails its checksum" in result.err
        assert "restore" in result.err or "salvage" in result.err

    def test_a_rule_broken_is_named_by_its_json_path_before_the_checksum(self, tmp_path: Path) -> None:
        """A hand edit that breaks a rule is refused with the JSON path, as before schema 3."""
        directory = _damaged(tmp_path, "counts that do not match the tasks")
        assert "$.counts.tasks" in run_taskvault(directory, "list").err
        directory = tmp_path / "other"
        _good_store(directory)
        _replace_bytes(b'"title":"Gamma"', b'"title":"Gamma "')(directory)
        assert "is not trimmed @ $.history[2] $.put[0]" in run_taskvault(directory, "list").err
