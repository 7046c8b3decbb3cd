"""Salvage: a store that does not load is rebuilt from everything in it that is intact, as one undoable change.

Real files, fsyncs, locks and processes; faults only at the OS boundary (taskvault.store.files' os).
"""

from __future__ import annotations

import functools
import json
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from taskvault.codec.envelope import SCHEMA
from taskvault.errors import StorageError
from taskvault.store import files, lock

from .conftest import ERRNOS, FIGURES, FaultyOs, OsProxy, Session, run_taskvault, store_bytes, temp_files

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: Long enough that a hang (a read that waits for ever) fails the test instead of the run.
TIMEOUT = 60


def _store_of_80(directory: Path) -> tuple[Any, ...]:
    """The review's store: 80 changes, with backups taken at revisions 20 and 46; its state."""
    session = Session(directory)
    for n in range(1, 81):
        assert session.run(f"add Task {n}") == 0
        if n in (20, 46):
            assert session.run("backup") == 0
    state = session.state()
    session.close()
    return state


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _lines(directory: Path) -> list[bytes]:
    return (directory / "tasks.journal").read_bytes().splitlines(keepends=True)


def _write_lines(directory: Path, lines: list[bytes]) -> None:
    (directory / "tasks.journal").write_bytes(b"".join(lines))


def _damage_line(directory: Path, index: int) -> int:
    """Change one byte of journal line ``index`` (0 is the header) so that it fails its checksum; its offset."""
    lines = _lines(directory)
    line = bytearray(lines[index])
    line[30] ^= 0x01
    lines[index] = bytes(line)
    _write_lines(directory, lines)
    return sum(len(one) for one in lines[:index])


def _titles(directory: Path) -> list[str]:
    session = Session(directory)
    titles = [t.title for t in session.service.tasks.snapshot()[0]]
    session.close()
    return titles


def _salvage_json(directory: Path, *args: str) -> dict[str, Any]:
    result = run_taskvault(directory, "--json", "salvage", *args, timeout=TIMEOUT)
    assert result.code == 0, result
    return json.loads(result.out)


def _aside(directory: Path) -> dict[str, bytes]:
    return {p.name.split(".unreadable-")[0]: p.read_bytes() for p in directory.iterdir() if ".unreadable-" in p.name}


class TestTheReviewCase:
    """80 changes, backups along the way, 7 bytes of garbage appended to tasks.json (issue 14, item 6)."""

    def test_the_error_names_salvage_and_salvage_recovers_all_80(self, data_dir: Path) -> None:
        state = _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")
        damaged = {name: (data_dir / name).read_bytes() for name in ("tasks.json", "tasks.journal")}
        refused = run_taskvault(data_dir, "list")
        assert refused.code == 3 and refused.err.count("\n") == 1
        assert refused.err.rstrip().endswith("to recover revision 80 from what is intact (34 changes more than the "
                                             "newest good backup holds), run: taskvault salvage)"), refused.err
        before = store_bytes(data_dir)
        preview = run_taskvault(data_dir, "salvage", "--dry-run")
        assert preview.code == 0 and store_bytes(data_dir) == before
        lines = preview.out.splitlines()
        assert lines[0] == "Salvage would recover revision 80, 80 tasks:"
        assert re.fullmatch(r"  source: backup \S+ \(revision 46\)", lines[1]), lines
        assert lines[2].startswith("  not used: tasks.json: the file is not valid JSON: Extra data")
        assert lines[3:6] == ["  journal: 34 records replayed (revisions 47–80)", "  lost: nothing",
                              lines[5]] and re.fullmatch(r"  compared with backup \S+ \(revision 46\): 34 added, "
                                                         r"0 removed, 0 changed", lines[5])
        assert lines[-1] == "(dry run: nothing was changed)" and "'undo' then goes back to backup" in lines[-2]
        assert not _aside(data_dir), "a dry run keeps nothing aside: it changes nothing"
        done = run_taskvault(data_dir, "salvage")
        assert done.code == 0, done
        assert done.out.startswith("Salvaged the store: revision 80, 80 tasks, from backup ")
        assert Session(data_dir).state()[0] == state[0]
        assert _aside(data_dir) == damaged, "the damaged files are kept aside, byte for byte"
        assert run_taskvault(data_dir, "add", "Next").out == "Added task 81: Next\n"

    def test_restore_says_it_drops_34_changes_salvage_keeps(self, data_dir: Path) -> None:
        _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")
        preview = run_taskvault(data_dir, "restore", "latest", "--dry-run")
        assert preview.code == 0
        said = re.search(r"Restoring backup (\S+) \(revision 46\) drops 34 later changes \(revisions 47–80\); "
                         r"'taskvault salvage' keeps them\.", preview.out)
        assert said, preview.out
        as_json = json.loads(run_taskvault(data_dir, "--json", "restore", "latest", "--dry-run").out)
        assert as_json["drops"] == {"changes": 34, "first": 47, "last": 80, "brought_back_by": "salvage"}
        done = run_taskvault(data_dir, "restore", "latest")
        assert done.code == 0
        assert (f"Restoring backup {said.group(1)} (revision 46) dropped 34 later changes (revisions 47–80); "
                "'taskvault salvage' would have kept them; they are in the files kept aside.") in done.out

    def test_undo_goes_back_to_the_newest_backup_and_redo_forward(self, data_dir: Path) -> None:
        state = _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")
        assert run_taskvault(data_dir, "salvage", "--yes").code == 0
        history = run_taskvault(data_dir, "history", "--limit", "1").out
        assert re.match(r"\s+81  \S+ \S+  salvage: 47 \"Task 47\" → back", history), history
        undo = run_taskvault(data_dir, "undo")
        assert undo.code == 0 and undo.out.count("\n") == 34 and "undo: salvage 80 \"Task 80\" → removed" in undo.out
        assert _titles(data_dir) == [f"Task {n}" for n in range(1, 47)]
        assert run_taskvault(data_dir, "redo").code == 0
        assert Session(data_dir).state()[0] == state[0]
        assert run_taskvault(data_dir, "undo", "2").code == 0, "the backup's own history comes before the salvage"
        assert _titles(data_dir) == [f"Task {n}" for n in range(1, 46)]


class TestSources:
    def test_journal_damaged_in_the_middle(self, data_dir: Path) -> None:
        """The snapshot and the records before the damage are kept; what follows it is counted as lost."""
        state = _store_of_80(data_dir)
        offset = _damage_line(data_dir, 60)  # record 60, after the newest backup
        refused = run_taskvault(data_dir, "list")
        assert "to recover revision 59 from what is intact (13 changes more than the newest good backup holds)" \
            in refused.err
        report = _salvage_json(data_dir, "--dry-run")
        assert (report["source"]["kind"], report["revision"], report["replayed"]["records"]) == ("snapshot", 59, 59)
        assert report["lost"]["records"] == 21 and report["lost"]["at"] == offset and report["lost"]["changes"] == 21
        reason = f"the journal line at byte {offset} fails its checksum, so the file was damaged"
        assert report["lost"]["reason"] == reason
        assert report["base"]["revision"] == 46 and report["added"] == list(range(47, 60))
        text = run_taskvault(data_dir, "salvage", "--dry-run").out
        assert re.search(rf"\n  lost: 21 changes \(revisions 60–80\), in 21 journal lines \((?:\d+ bytes|\d+ KiB)\) from byte "
                         rf"{offset}: {reason}\n", text), text
        assert run_taskvault(data_dir, "salvage").code == 0
        assert Session(data_dir).state()[0] == state[0][:59]

    def test_a_backup_after_the_damage_is_rolled_forward_past_it(self, data_dir: Path) -> None:
        """Damage at record 30; the backup at 46 and the records after it are intact: nothing is lost."""
        state = _store_of_80(data_dir)
        _damage_line(data_dir, 30)
        report = _salvage_json(data_dir, "--dry-run")
        assert (report["source"]["kind"], report["source"]["revision"], report["revision"]) == ("backup", 46, 80)
        assert report["lost"]["records"] == 0 and report["lost"]["changes"] == 0
        assert run_taskvault(data_dir, "salvage").code == 0
        assert Session(data_dir).state()[0] == state[0]

    def test_a_damaged_header_spoils_no_record(self, data_dir: Path) -> None:
        state = _store_of_80(data_dir)
        _damage_line(data_dir, 0)
        assert "taskvault salvage" in run_taskvault(data_dir, "list").err
        report = _salvage_json(data_dir, "--dry-run")
        assert (report["source"]["kind"], report["revision"], report["lost"]["records"]) == ("snapshot", 80, 0)
        assert report["not_used"][0].startswith("tasks.journal: the journal header fails its checksum")
        assert run_taskvault(data_dir, "salvage").code == 0
        assert Session(data_dir).state()[0] == state[0]

    def test_both_files_damaged_leave_the_newest_backup(self, data_dir: Path) -> None:
        """Nothing of the store's own is intact: the newest backup, and the changes after it counted as lost."""
        _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")
        journal = data_dir / "tasks.journal"
        journal.write_bytes(bytes(b ^ 0x20 if b not in b"\n" else b for b in journal.read_bytes()))
        refused = run_taskvault(data_dir, "list")
        assert "taskvault restore" in refused.err and "salvage" not in refused.err
        report = _salvage_json(data_dir, "--dry-run")
        assert (report["source"]["kind"], report["revision"], report["tasks"]) == ("backup", 46, 46)
        assert report["lost"]["records"] == 80 and report["not_used"][1].startswith("tasks.journal: the journal header")
        assert (report["added"], report["removed"], report["changed"]) == ([], [], [])
        assert run_taskvault(data_dir, "salvage").code == 0
        assert _titles(data_dir) == [f"Task {n}" for n in range(1, 47)]

    def test_a_damaged_snapshot_with_nothing_else_is_rebuilt_from_the_journal(self, data_dir: Path) -> None:
        """No backup at all: the journal, which starts at revision 0, is the store."""
        session = Session(data_dir)
        for line in ("add One", "add Two", "done 1", "delete 2"):
            assert session.run(line) == 0
        state = session.state()
        session.close()
        (data_dir / "tasks.json").write_bytes(b"\0" * 100)
        refused = run_taskvault(data_dir, "list")
        assert "to recover revision 4 from what is intact (there is no backup to restore)" in refused.err
        report = _salvage_json(data_dir)
        assert (report["source"]["kind"], report["revision"], report["base"]["backup"]) == ("journal", 4, None)
        assert Session(data_dir).state()[0] == state[0]
        assert run_taskvault(data_dir, "undo").code == 0 and _titles(data_dir) == [], "undo goes back to empty"
        assert run_taskvault(data_dir, "add", "Three").out == "Added task 3: Three\n"

    def test_voided_unfinished_and_unconfirmed_changes_are_never_salvaged(self, data_dir: Path) -> None:
        session = Session(data_dir)
        for line in ("add One", "add Two", "add Three"):
            assert session.run(line) == 0
        session.close()
        lines = _lines(data_dir)
        generation = json.loads(lines[0][9:])["generation"]
        voided = b"--void-- " + lines[2][9:].replace(b"Two", b"Nope")  # an add reported as failed, before "Two"
        _write_lines(data_dir, [*lines[:2], voided, *lines[2:]])
        unconfirmed_at = len(b"".join(lines)) + len(voided)
        payload = lines[3][9:-1].replace(b'"rev":3', b'"rev":4').replace(b"Three", b"Four!")
        _append(data_dir / "tasks.journal", b"%08x %s\n" % (zlib.crc32(payload), payload))  # complete, unconfirmed
        _append(data_dir / "tasks.journal", b'00000000 {"rev":5,"at":"2026')  # and a write that never finished
        mark = lock.Mark(b"w", 7, unconfirmed_at, generation, lock.current_boot())
        (data_dir / "tasks.lock").write_bytes(mark.encode())
        (data_dir / "tasks.json").write_bytes(b"{")
        report = _salvage_json(data_dir, "--dry-run")
        assert (report["source"]["kind"], report["revision"], report["lost"]["records"]) == ("journal", 3, 0)
        assert report["left_out"]["voided"] == 1 and report["left_out"]["unconfirmed_bytes"] > 0
        assert run_taskvault(data_dir, "salvage").code == 0
        assert _titles(data_dir) == ["One", "Two", "Three"]

    def test_a_torn_last_line_is_left_out_and_its_ids_never_handed_out(self, data_dir: Path) -> None:
        session = Session(data_dir)
        for line in ("add One", "add Two"):
            assert session.run(line) == 0
        session.close()
        _append(data_dir / "tasks.journal", b'1234abcd {"rev":3,"at":"2026-11-21T17:32:12.101787Z","cmd":"add","put'
                                             b'":[{"id":3,"uuid":"x')
        _append(data_dir / "tasks.json", b"garbage")
        report = _salvage_json(data_dir)
        assert report["revision"] == 2 and report["left_out"]["unfinished_bytes"] > 0 and report["lost"]["records"] == 0
        assert run_taskvault(data_dir, "add", "Three").out == "Added task 4: Three\n"

    def test_doctor_names_salvage_only_when_it_recovers_more_than_the_newest_backup(self, data_dir: Path) -> None:
        _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")
        found = json.loads(run_taskvault(data_dir, "--json", "doctor").out)["findings"]
        store = next(f for f in found if f["subject"] == "store")
        assert store["level"] == "problem" and store["fix"].endswith("run: taskvault salvage"), store
        (data_dir / "tasks.journal").write_bytes(b"\0" * 64)
        found = json.loads(run_taskvault(data_dir, "--json", "doctor").out)["findings"]
        store = next(f for f in found if f["subject"] == "store")
        assert re.search(r"run: taskvault restore \S+$", store["fix"]), store

    def test_a_store_that_loads_has_nothing_to_salvage(self, data_dir: Path) -> None:
        """Salvage changes nothing on a store that loads (or on no store at all), and says so."""
        assert run_taskvault(data_dir, "salvage").out.startswith("The store loads (revision 0, 0 tasks)")
        assert not data_dir.exists()
        _store_of_80(data_dir)
        before = store_bytes(data_dir)
        result = run_taskvault(data_dir, "salvage", "--yes")
        assert result.code == 0 and result.out == ("The store loads (revision 80, 80 tasks): there is nothing to "
                                                   "salvage; 'taskvault doctor' checks it.\n")
        assert store_bytes(data_dir) == before
        assert _salvage_json(data_dir) == {"nothing_to_salvage": True, "revision": 80, "tasks": 80}

    def test_a_store_of_a_newer_schema_is_not_salvaged(self, data_dir: Path) -> None:
        session = Session(data_dir)
        assert session.run("add One") == 0
        session.close()
        (data_dir / "tasks.json").write_text(json.dumps({"format": "taskvault", "schema": SCHEMA + 1, "min_reader": SCHEMA + 1}))
        before = store_bytes(data_dir)
        result = run_taskvault(data_dir, "salvage", "--yes")
        assert result.code == 3 and "newer taskvault" in result.err and store_bytes(data_dir) == before


class TestAsking:
    def _refused(self, data_dir: Path) -> None:
        _store_of_80(data_dir)
        _append(data_dir / "tasks.json", b"garbage")

    def test_the_session_shows_what_it_recovers_and_asks(self, data_dir: Path) -> None:
        self._refused(data_dir)
        before = store_bytes(data_dir)
        session = Session(data_dir)
        asked: list[str] = []
        session.runner.make_interactive(lambda question: asked.append(question) or False, lambda caught: None)
        assert session.run("salvage") == 0 and session.out.getvalue() == "Nothing salvaged.\n"
        assert store_bytes(data_dir) == before and not _aside(data_dir)
        assert asked[0].startswith("The store does not load (cannot load ")
        assert "  journal: 34 records replayed (revisions 47–80)\n  lost: nothing\n" in asked[0]
        assert asked[0].endswith("'undo' then goes back to backup " + asked[0].split("backup ")[1].split()[0]
                                 + " (revision 46).\nSalvage it?")
        session.runner.make_interactive(lambda question: True, lambda caught: None)
        assert session.run("salvage") == 0 and len(session.service.tasks) == 80
        assert session.run("add More") == 0 and Session(data_dir).state() == session.state()

    def test_another_session_salvaging_first_leaves_nothing_to_salvage(self, data_dir: Path) -> None:
        self._refused(data_dir)
        session = Session(data_dir)

        def meanwhile(question: str) -> bool:
            assert run_taskvault(data_dir, "salvage").code == 0
            return True

        session.runner.make_interactive(meanwhile, lambda caught: None)
        assert session.run("salvage") == 0
        assert session.out.getvalue().startswith("The store loads (revision 81, 80 tasks)")
        assert len(_aside(data_dir)) == 2, "kept aside once"

    def test_a_store_changed_while_asking_is_not_salvaged(self, data_dir: Path) -> None:
        self._refused(data_dir)
        session = Session(data_dir)
        seen: list[dict[str, str]] = []

        def meanwhile(question: str) -> bool:
            _damage_line(data_dir, 60)
            seen.append(store_bytes(data_dir))
            return True

        session.runner.make_interactive(meanwhile, lambda caught: None)
        assert session.run("salvage") == 3
        assert "the store changed while salvage was being decided — nothing was changed" in session.err.getvalue()
        assert store_bytes(data_dir) == seen[0] and not _aside(data_dir)

    def test_restore_over_a_store_that_loads_says_what_it_drops(self, data_dir: Path) -> None:
        session = Session(data_dir)
        for line in ("add One", "add Two", "backup good", "add Three", "done 1"):
            assert session.run(line) == 0
        asked: list[str] = []
        session.runner.make_interactive(lambda question: asked.append(question) or False, lambda caught: None)
        assert session.run("restore good") == 0 and session.out.getvalue() == "Nothing restored.\n"
        backup_id = asked[0].split()[2]
        said = f"Restoring backup {backup_id} (revision 2) {{}} 2 later changes (revisions 3–4); 'undo' brings them back."
        assert asked[0].endswith(said.format("drops")), asked[0]
        assert said.format("drops") in run_taskvault(data_dir, "restore", "good", "--dry-run").out
        assert said.format("dropped") in run_taskvault(data_dir, "restore", "good").out
        again = json.loads(run_taskvault(data_dir, "--json", "restore", "good", "--dry-run").out)
        assert again["drops"] == {"changes": 3, "first": 3, "last": 5, "brought_back_by": "undo"}


HOSTILE: dict[str, Callable[[Path], object]] = {
    "a file larger than any store": lambda p: os.truncate(p, (256 << 20) + 1),
    "deeply nested JSON": lambda p: p.write_bytes(b"[" * 200_000),
    "a 5000-digit integer": lambda p: p.write_bytes(b'{"format":"taskvault","schema":2,"min_reader":2,"revision":'
                                                  + b"9" * 5000 + b',"next_id":' + b"9" * 5000 + b"}"),
    "NUL bytes": lambda p: p.write_bytes(b"\0" * 4096),
    "a named pipe": lambda p: (p.unlink(), os.mkfifo(p)),
}


class TestHostileInput:
    """Whatever is in the files, salvage and the refusal's estimate finish, bounded, and the store stays usable."""

    @pytest.mark.parametrize("case", sorted(HOSTILE))
    @pytest.mark.parametrize("name", ["tasks.json", "tasks.journal"])
    def test_salvage_finishes_and_the_store_works(self, data_dir: Path, name: str, case: str) -> None:
        state = _store_of_80(data_dir)
        HOSTILE[case](data_dir / name)
        refused = run_taskvault(data_dir, "list", timeout=TIMEOUT)
        assert refused.code == 3 and refused.err.count("\n") == 1 and "Traceback" not in refused.err
        report = _salvage_json(data_dir)
        # The journal holds every change (the snapshot none); without it, the newest backup is what is left.
        assert report["revision"] == (80 if name == "tasks.json" else 46)
        if name == "tasks.json":
            assert Session(data_dir).state()[0] == state[0]
        added = run_taskvault(data_dir, "add", "Next", timeout=TIMEOUT)
        # Ids the lost journal used are not handed out again, as long as anything of it is left to say so.
        survives = name == "tasks.json" or case == "a file larger than any store"
        assert added.out == f"Added task {81 if survives else 47}: Next\n"

    def test_numbers_in_damaged_bytes_cannot_push_ids_out_of_reach(self, data_dir: Path) -> None:
        _store_of_80(data_dir)
        _append(data_dir / "tasks.journal", b'\n{"rev":99999999999999999999,"next_id":999999999999999999,"id":7}\n')
        report = _salvage_json(data_dir)
        assert report["revision"] == 80 and report["lost"]["records"] == 2
        added = run_taskvault(data_dir, "add", "Next")
        assert added.code == 0 and int(added.out.split()[2].rstrip(":")) < 10**16


class TestFailures:
    """A salvage failed at any file-system call: the store is still refused or already salvaged, never a mix,
    the damaged bytes survive, and running salvage again ends in the salvaged store."""

    FAILABLE = ("open", "write", "fsync", "replace", "link")

    def test_every_call_of_a_salvage_failing(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        seeded = tmp_path / "seed"
        state = _store_of_80(seeded)
        _damage_line(seeded, 60)  # the snapshot is fine; salvage replaces a damaged journal
        expected = state[0][:59]

        def fresh(name: str) -> Path:
            directory = tmp_path / name
            directory.mkdir(mode=0o700)
            for path in seeded.iterdir():
                if path.is_file():
                    (directory / path.name).write_bytes(path.read_bytes())
            (directory / "backups").mkdir(mode=0o700)
            for path in (seeded / "backups").iterdir():
                (directory / "backups" / path.name).write_bytes(path.read_bytes())
            return directory

        log: list[str] = []
        counting = OsProxy(**{call: functools.partial(lambda name, real, *a, **k: (log.append(name), real(*a, **k))[1],
                                                      call) for call in self.FAILABLE})
        session = Session(fresh("count"))
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", counting)
            assert session.run("salvage --yes") == 0, session.err.getvalue()
        counts = {call: log.count(call) for call in self.FAILABLE}
        assert counts["replace"] == 2 and counts["link"] == 2 and counts["fsync"] == 5, counts
        cases = 0
        for call in self.FAILABLE:
            for position in range(1, counts[call] + 1):
                for error in ERRNOS[:2]:
                    for always in (False, True):
                        directory = fresh(f"{call}-{position}-{error}-{always}")
                        self._one_case(directory, call, position, error, always, expected, monkeypatch)
                        cases += 1
        FIGURES["failed-salvage cases"] = cases

    @staticmethod
    def _one_case(directory: Path, call: str, position: int, error: int, always: bool, expected: Any,
                  monkeypatch: pytest.MonkeyPatch) -> None:
        damaged = (directory / "tasks.journal").read_bytes()
        session = Session(directory)
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs(call, error, fail_at=position, times=-1 if always else 1))
            code = session.run("salvage --yes")
        message = session.err.getvalue()
        assert code == 3 and message.count("\n") == 1 and os.strerror(error) in message, (call, position, message)
        said = ("nothing was changed", "run 'taskvault salvage' again", "error: cannot read ")  # (reads change nothing)
        assert any(words in message for words in said), message
        assert not session.service.loaded, "memory holds nothing the disk does not"
        assert temp_files(directory) == []
        assert damaged in [p.read_bytes() for p in directory.iterdir() if p.is_file()], "the damaged bytes survive"
        reader = Session(directory)
        try:
            assert reader.state()[0] == expected, "a failed salvage left a store that loads as something else"
        except StorageError as exc:  # still refused, as before
            assert "fails its checksum" in str(exc)
        again = Session(directory)
        assert again.run("salvage --yes") == 0, again.err.getvalue()
        assert Session(directory).state()[0] == expected
