"""A save that fails at any step leaves memory, disk and the session exactly as they were."""

from __future__ import annotations

import errno
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from taskvault.store import files
from taskvault.store.housekeeping import Housekeeping

from .conftest import (
    ERRNOS,
    FIGURES,
    SEED,
    CountingOs,
    FaultyOs,
    OsProxy,
    Session,
    encrypted_stores,
    import_held,
    seed_store,
    store_bytes,
    taskwarrior_import,
    temp_files,
)

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

MUTATIONS = {
    "add": "add New task --tag x --priority high",
    "edit": "edit 1 --title Changed --tag +y --due 2030-01-01",
    "done": "done 1",
    "reopen": "reopen 2",
    "delete": "delete 1",
    "bulk-done": "done 1 3",
    "bulk-delete": "delete 1 2 3",
    # Schema 4's kinds, on a store whose tasks carry its fields (see RICH_SEED).
    "modify": "modify 3 project:x due:+3d +tag depends:2",
    "bulk-modify": "modify 1,2,3 priority:L",
    "annotate": "annotate 1 Café ☕ — ünï",
    "denotate": "denotate 1 1",
    "start": "start 1",
    "stop": "stop 3",
    # Three new tasks and an update of task 1 (its uuid, a new title and project), after a backup: see _line.
    "import": "import --from taskwarrior <import file>",
}
#: Stands in MUTATIONS for the import's file, written beside the seeded store (never inside it) by the fixture.
IMPORT_FILE = "<import file>"
#: The seed, then every field schema 4 added: task 1 has a project, dates, a dependency and two annotations, task 3 is
#: started. (The cases of the older kinds count the same calls as on the plain seed.)
RICH_SEED = (*SEED, "modify 1 project:home.kitchen due:+3d scheduled:+1d wait:+2d until:+30d depends:3",
             "annotate 1 Café ☕ first", "annotate 1 second", "start 3")
#: Every call of these that a save makes is failed in turn.
FAILABLE = ("open", "write", "fsync", "lseek", "replace", "mkdir", "chmod", "ftruncate")



@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("seed") / "data"
    seed_store(directory, RICH_SEED)
    taskwarrior_import(directory, _import_file(directory))  # every copy holds the same uuids
    return directory


@pytest.fixture(scope="module")
def encrypted_seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same seed in an encrypted store."""
    directory = tmp_path_factory.mktemp("encrypted-seed") / "data"
    with encrypted_stores(tmp_path_factory.mktemp("key")):
        seed_store(directory, RICH_SEED)
    taskwarrior_import(directory, _import_file(directory))
    return directory


def _import_file(seeded: Path) -> Path:
    return seeded.parent / "taskwarrior.json"


def _line(seeded: Path, mutation: str) -> str:
    """The command line of ``mutation`` on (a copy of) the seeded store."""
    return MUTATIONS[mutation].replace(IMPORT_FILE, str(_import_file(seeded)))


def _fresh_copy(seeded: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(seeded, target)
    return target


def _step_counts(seeded: Path, tmp_path: Path, line: str, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    directory = _fresh_copy(seeded, tmp_path, "count")
    session = Session(directory)
    session.service.tasks  # loading is not part of the save
    counting = CountingOs()
    with monkeypatch.context() as patch:
        patch.setattr(files, "os", counting)
        assert session.run(line) == 0, session.err.getvalue()
    session.close()
    return Counter(counting.log)


def _every_case(seeded: Path, tmp_path: Path, mutation: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """``mutation`` on a copy of ``seeded``, failed at each file-system call of its save with each errno, once
    and for good; every case checked (TestEveryStepOfEverySave._one_case). Returns how many cases ran."""
    line = _line(seeded, mutation)
    counts = _step_counts(seeded, tmp_path, line, monkeypatch)
    assert counts["write"] >= 1 and counts["fsync"] >= 2, f"the save was not observed: {counts}"
    cases = 0
    for step in FAILABLE:
        for position in range(1, counts[step] + 1):
            for error in ERRNOS:
                for always in (False, True):
                    directory = _fresh_copy(seeded, tmp_path, f"{step}-{position}-{error}-{always}")
                    TestEveryStepOfEverySave._one_case(directory, line, step, position, error, always, monkeypatch)
                    cases += 1
    assert cases == 2 * len(ERRNOS) * sum(counts[s] for s in FAILABLE)
    return cases


class TestEveryStepOfEverySave:
    """Each mutating command, failed at each file-system call of its save, with each errno."""

    @pytest.mark.parametrize("mutation", MUTATIONS)
    def test_failure_leaves_everything_as_it_was(self, seeded: Path, tmp_path: Path, mutation: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        """Memory, file bytes and the directory are unchanged; the message is clear; the next save works."""
        FIGURES[f"failed-save cases: {mutation}"] = _every_case(seeded, tmp_path, mutation, monkeypatch)

    @staticmethod
    def _one_case(directory: Path, line: str, step: str, position: int, error: int, always: bool,
                  monkeypatch: pytest.MonkeyPatch) -> None:
        session = Session(directory)
        before = session.state()
        disk_before = store_bytes(directory)
        faulty = FaultyOs(step, error, fail_at=position, times=-1 if always else 1)
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", faulty)
            code = session.run(line)
            assert code == 3, (step, position, error, session.err.getvalue())
            message = session.err.getvalue()
            # An import's backup is taken first: when that fails, the message names the backup, and nothing changed.
            # (Reading it back fails with another message, a wrong one: see TestImportBackupReadBack.)
            backup_failed = line.startswith("import ") and ("could not take a backup" in message
                                                            or "cannot read the backup" in message)
            assert message.count("\n") == 1 and ("could not save" in message or backup_failed), message
            assert os.strerror(error) in message
            _assert_not_retried(faulty)
            assert session.state() == before
            assert temp_files(directory) == []
            in_doubt = "may or may not be on disk" in message
            # Only a fault that also fails the taking back (every fsync failing) leaves the outcome unknown.
            assert in_doubt == (always and step == "fsync" and "ftruncate" in faulty.after), message
            if not in_doubt:
                assert "nothing was changed" in message or backup_failed, message
                assert store_bytes(directory) == disk_before
            if always:
                assert session.run(line) == 3
                assert session.state() == before
        if line.startswith("import "):  # none of it for a new reader either, and no temp file left in backups/
            assert import_held(Session(directory).service.tasks) == "none"
            assert temp_files(directory / "backups") == []
        if in_doubt:  # this session saves nothing more; the next one reads the change as not made
            assert session.run(line) == 3 and "saves nothing more" in session.err.getvalue().splitlines()[-1]
            assert session.state() == before
            session.close()
            session = Session(directory)
            assert session.state() == before, "a change reported as failed was applied by the next reader"
        assert session.run(line) == 0, session.err.getvalue()
        assert session.state() != before
        reloaded = Session(directory)
        assert reloaded.state() == session.state()
        session.close()
        reloaded.close()


def _assert_not_retried(faulty: FaultyOs) -> None:
    """A failed call is never made again on the same data: after a failed write or fsync, the record is first
    voided (pwrite) or cut (ftruncate), and only that is fsynced; nothing of the change is written again."""
    if faulty.name in ("write", "fsync"):
        assert "write" not in faulty.after, f"the change was written again after a failed {faulty.name}"
        first_fix = next((i for i, call in enumerate(faulty.after) if call in ("pwrite", "ftruncate")), None)
        first_sync = next((i for i, call in enumerate(faulty.after) if call == "fsync"), None)
        assert first_sync is None or (first_fix is not None and first_fix < first_sync), (
            f"fsync was retried on the failed data: {faulty.after}")
    else:
        assert faulty.calls <= faulty.fail_at or faulty.times != 1, "a failed call must not be retried"


class TestEveryStepOfEverySaveEncrypted:
    """The same matrix on an encrypted store (sealed records; an import's backup sealed), for two kinds."""

    @pytest.mark.parametrize("mutation", ["add", "import"])
    def test_failure_leaves_everything_as_it_was(self, encrypted_seeded: Path, tmp_path: Path, mutation: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
        _every_case(encrypted_seeded, tmp_path, mutation, monkeypatch)


class TestNewStore:
    """The first save into an empty directory creates the store; failing there leaves no store that means anything."""

    def test_failure_while_creating_leaves_an_empty_store(self, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """At every step of creating the files and the first append: exit 3, memory empty, reload empty, no temp files."""
        counting = CountingOs()
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", counting)
            session = Session(tmp_path / "count")
            assert session.run("add First") == 0
        counts = Counter(counting.log)
        assert counts["replace"] == 2, "a new store is an empty snapshot, then an empty journal"
        cases = 0
        for step in FAILABLE:
            for position in range(1, counts[step] + 1):
                for error in ERRNOS:
                    directory = tmp_path / f"new-{step}-{position}-{error}"
                    session = Session(directory)
                    with monkeypatch.context() as patch:
                        patch.setattr(files, "os", FaultyOs(step, error, fail_at=position))
                        assert session.run("add First") == 3, (step, position)
                        assert "nothing was changed" in session.err.getvalue()
                    assert len(session.service.tasks) == 0
                    if directory.exists():
                        assert temp_files(directory) == []
                        assert len(Session(directory).service.tasks) == 0
                    assert session.run("add First") == 0
                    assert Session(directory).state() == session.state()
                    cases += 1
        FIGURES["failed-save cases: creating a new store"] = cases


class TestTornAppend:
    """A write that stops part-way is cut back, or ignored by readers when it cannot be cut."""

    def test_short_write_then_error_is_cut_back(self, seeded: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
        """Half a record reached the file, then ENOSPC: the journal is cut back to its old bytes."""
        directory = _fresh_copy(seeded, tmp_path, "short")
        session = Session(directory)
        before = session.state()
        journal = directory / "tasks.journal"
        bytes_before = journal.read_bytes()
        calls = []

        def half_then_fail(write, fd: int, data: bytes) -> int:  # type: ignore[no-untyped-def]
            calls.append(len(data))
            if len(calls) == 1:
                return write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(files, "os", OsProxy(write=half_then_fail))
        assert session.run("add Another") == 3
        monkeypatch.undo()
        assert journal.read_bytes() == bytes_before
        assert session.state() == before
        assert Session(directory).state() == before

    def test_uncut_torn_tail_is_ignored_then_removed(self, seeded: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """If even the cut fails, readers ignore the torn line and the next writer removes it."""
        directory = _fresh_copy(seeded, tmp_path, "torn")
        session = Session(directory)
        before = session.state()

        def half_then_fail(write, fd: int, data: bytes) -> int:  # type: ignore[no-untyped-def]
            write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        def no_truncate(_ftruncate, fd: int, length: int) -> None:  # type: ignore[no-untyped-def]
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(files, "os", OsProxy(write=half_then_fail, ftruncate=no_truncate))
        assert session.run("add Lost") == 3
        monkeypatch.undo()
        assert not (directory / "tasks.journal").read_bytes().endswith(b"\n")
        assert session.state() == before
        other = Session(directory)
        tasks, next_id, revision = other.state()
        assert (tasks, revision) == (before[0], before[2]), "a torn line must not be read as a change"
        assert next_id == before[1] + 1, "the id the unfinished change named is never handed out"
        assert other.run("add Kept") == 0
        assert (directory / "tasks.journal").read_bytes().endswith(b"\n")
        titles = [t.title for t in Session(directory).service.tasks]
        assert "Kept" in titles and "Lost" not in titles
        assert session.run("add From the first session") == 0
        assert [t.title for t in session.service.tasks] == [t.title for t in Session(directory).service.tasks]


#: A store with this policy compacts after every change.
COMPACTING = Housekeeping(compact_min_bytes=0)


class TestCompactionFailure:
    """A compaction that fails at any step after the change was saved keeps the change and says so."""

    def test_every_step_of_compaction(self, seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Exit 0 (the change is durable in the journal), one warning, memory equals a reload, no temp files."""
        counting = CountingOs()
        session = Session(_fresh_copy(seeded, tmp_path, "count-compaction"), housekeeping=COMPACTING)
        session.service.tasks
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", counting)
            assert session.run("add Survives") == 0
        # The append ends with its lseek, write and fsync of the journal; compaction follows.
        append_end = counting.log.index("lseek") + 3
        assert counting.log[append_end - 3:append_end] == ["lseek", "write", "fsync"]
        append_calls = Counter(counting.log[:append_end])
        total = Counter(counting.log)
        # The backups directory is made (its parent fsynced), then three atomic replaces -- the backup, the
        # snapshot, the journal -- each open, write, fsync, replace, then open + fsync of the directory.
        assert total["replace"] == 3 and total["fsync"] - append_calls["fsync"] == 7
        cases = 0
        for step in ("open", "write", "fsync", "replace"):
            for position in range(append_calls[step] + 1, total[step] + 1):
                for error in ERRNOS:
                    for always in (False, True):
                        directory = _fresh_copy(seeded, tmp_path, f"compact-{step}-{position}-{error}-{always}")
                        self._one_case(directory, step, position, error, always, monkeypatch)
                        cases += 1
        FIGURES["failed-compaction cases"] = cases

    def _one_case(self, directory: Path, step: str, position: int, error: int, always: bool,
                  monkeypatch: pytest.MonkeyPatch) -> None:
        session = Session(directory, housekeeping=COMPACTING)
        session.service.tasks
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs(step, error, fail_at=position, times=-1 if always else 1))
            assert session.run("add Survives") == 0, (step, position)
            warning = session.err.getvalue()
            assert "warning: could not compact" in warning and "your change was saved" in warning
            assert os.strerror(error) in warning
            if always:  # the fault persists: the next change fails whole (exit 3) or saves and warns again
                before = session.state()
                code = session.run("add While failing")
                # (A compaction is tried again only once the journal outgrows the snapshot again.)
                assert code in (0, 3) and session.err.getvalue().count("\n") == (code == 3 or "compact" in
                                                                               session.err.getvalue())
                assert (session.state() == before) == (code == 3)
                if "may or may not be on disk" in session.err.getvalue():  # the fsync of the taking back failed too
                    session.close()
                    session = Session(directory)
                    assert session.state() == before, "a change reported as failed was applied by the next reader"
        assert temp_files(directory) == []
        assert Session(directory).state() == session.state()
        assert "Survives" in [t.title for t in Session(directory).service.tasks]
        lines_before = len((directory / "tasks.journal").read_bytes().splitlines())
        assert session.run("add Later") == 0
        assert session.err.getvalue() == ""
        assert Session(directory).state() == session.state()
        # The journal either gained exactly this change, or was compacted (by this save, or by the failed
        # one that had in fact completed): then it holds at most the one change made since.
        lines_after = len((directory / "tasks.journal").read_bytes().splitlines())
        assert lines_after == lines_before + 1 or lines_after <= 3


class TwoFaults(FaultyOs):
    """The save's ``first`` call fails once (at call ``fail_at``), then every call of ``second`` fails: a fault in the
    save and another in what takes it back."""

    def __init__(self, first: str, second: str, error: int, fail_at: int = 1) -> None:
        super().__init__(first, error, fail_at=fail_at, times=1)
        self.second = second
        self._wrappers[second] = self._fail_second

    def _fail_second(self, real: object, *args: object, **kwargs: object) -> object:
        if self._failed:
            self.after.append(self.second)
            raise OSError(self.error, os.strerror(self.error))
        return real(*args, **kwargs)  # type: ignore[operator]


#: (the call of the save that fails, the call of the taking back that fails too)
COMPOUND = [("fsync", "ftruncate"), ("fsync", "pwrite"), ("write", "ftruncate"), ("fsync", "fsync"),
            ("write", "pwrite")]
NEW_KINDS = ["modify", "bulk-modify", "annotate", "denotate", "start", "stop", "import"]


def _call_of_the_append(seeded: Path, tmp_path: Path, line: str, call: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Which call of ``call`` (1-based) is the append's own: the append is the journal's lseek, write and fsync."""
    directory = _fresh_copy(seeded, tmp_path, f"count-{call}")
    session = Session(directory)
    session.service.tasks  # loading is not part of the save
    counting = CountingOs()
    with monkeypatch.context() as patch:
        patch.setattr(files, "os", counting)
        assert session.run(line) == 0, session.err.getvalue()
    session.close()
    append = counting.log.index("lseek")
    assert counting.log[append:append + 3] == ["lseek", "write", "fsync"], counting.log
    return counting.log[:append + 3].count(call)


class TestCompoundFaultsOfNewKinds:
    """Schema 4's kinds meet two failures in one save: the append (or its fsync) fails, and so does taking it back.
    Whatever the pair: exit 3, one line, memory as before, and no later reader ever sees the change."""

    @pytest.mark.parametrize("pair", COMPOUND, ids="+".join)
    @pytest.mark.parametrize("mutation", NEW_KINDS)
    def test_a_change_reported_as_failed_never_appears(self, seeded: Path, tmp_path: Path, mutation: str,
                                                       pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        """The session says 'nothing was changed' or 'may or may not be on disk'; either way the next session reads
        the store as before, and then saves the same change."""
        line = _line(seeded, mutation)
        # The append's own call fails (an import makes a backup first, with writes and fsyncs of its own).
        fail_at = _call_of_the_append(seeded, tmp_path, line, pair[0], monkeypatch)
        for error in (errno.EIO, errno.ENOSPC):
            directory = _fresh_copy(seeded, tmp_path, f"{pair[0]}-{pair[1]}-{error}")
            session = Session(directory)
            before = session.state()
            faulty = (TwoFaults(pair[0], pair[1], error, fail_at=fail_at) if pair[0] != pair[1]
                      else FaultyOs(pair[0], error, fail_at=fail_at, times=-1))  # the append's fsync and every later one
            with monkeypatch.context() as patch:
                patch.setattr(files, "os", faulty)
                assert session.run(line) == 3, session.err.getvalue()
            message = session.err.getvalue()
            assert message.count("\n") == 1 and "could not save" in message and "Traceback" not in message
            assert ("nothing was changed" in message) != ("may or may not be on disk" in message), message
            assert session.state() == before
            assert temp_files(directory) == []
            if "may or may not be on disk" in message:
                assert session.run(line) == 3 and "saves nothing more" in session.err.getvalue()
            session.close()
            reader = Session(directory)
            (tasks, next_id, revision), (tasks_before, next_before, revision_before) = reader.state(), before
            assert (tasks, revision) == (tasks_before, revision_before), f"a change reported as failed was read back: {message}"
            # The ids a failed record named stay reserved while it is in the journal (a void line the cut could not
            # remove): an import's three new tasks named three.
            adds = 3 if line.startswith("import ") else 0
            assert next_before <= next_id <= next_before + adds, (next_id, next_before)
            assert not line.startswith("import ") or import_held(tasks) == "none"
            assert reader.run(line) == 0, reader.err.getvalue()
            assert reader.state() != before and Session(directory).state() == reader.state()
            reader.close()


class TestImportBackupReadBack:
    """The backup an import takes first is read back before the import is saved; that read can fail too."""

    def test_reading_the_new_backup_back_fails(self, seeded: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        """Opening the new backup to read it back fails (ENOSPC): exit 3, the store and memory as they were, and one
        line saying the backup could not be taken, as when writing it fails; no hint to pick another backup."""
        line = _line(seeded, "import")
        directory = _fresh_copy(seeded, tmp_path, "read-back")
        session = Session(directory)
        before, disk_before = session.state(), store_bytes(directory)
        # The save's opens: the backups directory, its parent, the temp file, the data directory, then the backup to
        # read it back (see _step_counts).
        with monkeypatch.context() as patch:
            patch.setattr(files, "os", FaultyOs("open", errno.ENOSPC, fail_at=4))
            code = session.run(line)
        message = session.err.getvalue()
        assert code == 3 and session.state() == before and store_bytes(directory) == disk_before, message
        assert import_held(Session(directory).service.tasks) == "none"
        assert list((directory / "backups").iterdir()) == [], "the backup that did not read back is removed"
        assert message.startswith(f"line 1: error: could not take a backup in {directory / 'backups'}: "), message
        assert "pick another" not in message
