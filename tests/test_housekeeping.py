"""Housekeeping is a policy given to the store: its thresholds decide when a store compacts and backs up."""

from __future__ import annotations

import datetime as dt
import errno
import os
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from taskvault import codec
from taskvault.store import files
from taskvault.store.backups import Retention
from taskvault.store.housekeeping import Housekeeping
from taskvault.store.journal_store import JournalStore

from .conftest import Session, require_tool, run_raw, run_taskvault, taskvault_compacting_at

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def _backups_after_six_minutes(data_dir: Path, policy: Housekeeping | None) -> list[str]:
    clock = [NOW]
    options = {"housekeeping": policy} if policy is not None else {}
    session = Session(data_dir, clock=lambda: clock[0], **options)
    session.service._clock = lambda: clock[0]
    assert session.run("add First") == 0
    clock[0] += dt.timedelta(minutes=6)
    assert session.run("add Second") == 0
    labels = [b.label for b in session.store.backups.list()]
    session.close()
    return labels


def test_the_backup_interval_is_the_policys(tmp_path: Path) -> None:
    """Six minutes of activity take an automatic backup under a five-minute policy, and none under the default."""
    assert _backups_after_six_minutes(tmp_path / "five", Housekeeping(backup_interval=dt.timedelta(minutes=5))) == [
        "hourly"]
    assert _backups_after_six_minutes(tmp_path / "default", None) == []


def test_the_compaction_threshold_is_the_policys(tmp_path: Path) -> None:
    """A journal that outgrew the snapshot is folded into it only above the policy's threshold."""
    compacting = Session(tmp_path / "compacting", housekeeping=Housekeeping(compact_min_bytes=0))
    default = Session(tmp_path / "default")
    for session in (compacting, default):
        assert session.run("add First") == 0
    assert compacting.store.journal_records == 0, "compacted"
    assert default.store.journal_records == 1, "below the default threshold: kept in the journal"


def test_retention_given_to_the_store_is_the_policys(tmp_path: Path) -> None:
    """The store's ``retention`` option (the environment's TASKVAULT_BACKUP_KEEP) keeps the policy's other thresholds."""
    policy = Housekeeping(compact_min_bytes=0, backup_interval=dt.timedelta(minutes=5))
    retention = Retention(last=1, daily=0, weekly=0)
    store = Session(tmp_path / "data", housekeeping=policy, retention=retention).store
    assert store.housekeeping == Housekeeping(0, dt.timedelta(minutes=5), retention)


def test_no_test_changes_a_threshold_by_changing_a_module() -> None:
    """Tests give a store a policy; none sets the module constants the defaults come from."""
    names = ("COMPACT_MIN" + "_BYTES", "BACKUP" + "_INTERVAL")
    for path in Path(__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [name for name in names if name in text], path


def test_backups_a_restore_takes_are_rotated_at_once(tmp_path: Path) -> None:
    """Each restore takes an automatic backup first; rotation keeps the policy's number of them then, not
    only after the next hourly backup (six restores under last=2 used to leave seven backups)."""
    policy = Housekeeping(retention=Retention(last=2, daily=0, weekly=0))
    session = Session(tmp_path / "store", housekeeping=policy)
    assert session.run("add First") == 0
    assert session.run("backup keep") == 0
    for _ in range(6):
        assert session.run("add More") == 0
        assert session.run("restore keep --yes") == 0, session.err.getvalue()
    labels = sorted(b.label for b in session.store.backups.list())
    session.close()
    assert labels == ["keep", "restore", "restore"], labels


def test_compaction_and_backups_run_after_the_acknowledgement_is_written(tmp_path: Path) -> None:
    """The change is printed (and flushed) before its housekeeping starts, and outside the change's lock: at the
    moment the store compacts or backs up, the acknowledgement is already out, and the lock was taken again."""
    policy = Housekeeping(compact_min_bytes=0, backup_interval=dt.timedelta(0), journal_share=1.0)
    session = Session(tmp_path / "data", housekeeping=policy)
    seen: list[tuple[str, str, int]] = []
    store = session.store
    acquired = [0]
    real_acquire, real_compact, real_backup = store._lock.acquire, store.compact, store.backup

    def acquire(*args: object, **kwargs: object) -> bool:
        acquired[0] += 1
        return real_acquire(*args, **kwargs)  # type: ignore[arg-type]

    def compact(tasks: object, progress: object = None) -> None:
        seen.append(("compact", session.out.getvalue(), acquired[0]))
        real_compact(tasks, progress)  # type: ignore[arg-type]

    def backup(tasks: object, label: str) -> object:
        seen.append((label, session.out.getvalue(), acquired[0]))
        return real_backup(tasks, label)  # type: ignore[arg-type]

    store._lock.acquire = acquire  # type: ignore[method-assign]
    store.compact = compact  # type: ignore[method-assign]
    store.backup = backup  # type: ignore[method-assign]
    assert session.run("add First") == 0
    assert store.journal_records == 0, "compacted"
    assert session.run("add Second") == 0
    assert seen == [("compact", "Added task 1: First\n", 2), ("hourly", "Added task 2: Second\n", 4)], seen


def test_the_journal_is_bounded_by_a_share_of_the_snapshot_and_a_record_count() -> None:
    """Past compact_min_bytes, a journal is folded into the snapshot once it passes its share of the snapshot's
    size or its record count, so that a load never replays a journal as large as the snapshot."""
    policy = Housekeeping(compact_min_bytes=1000, journal_share=0.25, max_journal_records=100)
    assert not policy.compaction_due(1000, 0, records=10**6), "never below compact_min_bytes"
    assert not policy.compaction_due(2000, 10_000, records=100)
    assert policy.compaction_due(2501, 10_000, records=1), "past a quarter of the snapshot"
    assert policy.compaction_due(2000, 10_000, records=101), "past the record count"
    default = Housekeeping()
    assert default.compaction_due(8 << 20, 27 << 20, records=4000), "a 100k store: at most a quarter"
    assert default.compaction_due(1 << 20, 27 << 20, records=5000), "and at most 4096 records"


def test_a_session_compacts_once_the_journal_holds_its_record_count(tmp_path: Path) -> None:
    policy = Housekeeping(compact_min_bytes=0, journal_share=1000.0, max_journal_records=3)
    session = Session(tmp_path / "data", housekeeping=policy)
    assert session.run("add First") == 0
    counts = []
    for title in ("Two", "Three", "Four", "Five"):
        assert session.run(f"add {title}") == 0
        counts.append(session.store.journal_records)
    session.close()
    assert counts == [2, 3, 0, 1], "folded once it held 4 records, more than 3"


def _lock_file_calls(data_dir: Path, lines: list[str], compact_above: int) -> Counter[str]:
    """Run a script-mode session (a session: its housekeeping goes to the background) under strace, and count what
    it did to the store's lock file: "lock" (exclusive flocks taken: the lock rounds, counted on the real lock, in
    a real process), "read" and "write" (the preads and pwrites of the write mark)."""
    log = data_dir.parent / "lock-file.log"
    strace = [require_tool("strace"), "-f", "-qq", "-o", str(log), "-P", str(data_dir / "tasks.lock"),
              "-e", "trace=flock,pread64,pwrite64"]
    done = run_raw(data_dir, stdin="".join(f"{line}\n" for line in lines).encode(),
                   command=[*strace, *taskvault_compacting_at(compact_above)])
    assert done.code == 0 and done.out.count("\n") == len(lines), done.err
    calls: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        if "flock(" in line and "LOCK_EX" in line and line.endswith("= 0"):
            assert "LOCK_NB" in line  # (the lock is polled, never waited for in the kernel)
            calls["lock"] += 1
        elif "pread64(" in line:
            calls["read"] += 1
        elif "pwrite64(" in line:
            calls["write"] += 1
    return calls


def test_a_change_with_nothing_due_takes_the_store_lock_once(tmp_path: Path) -> None:
    """Whether compaction or a backup is due is decided under the change's own lock: in a session, a change that
    finds nothing due takes the lock once (the first change of a session takes it a second time, for tidy to
    look up when the last automatic backup was taken). Under the lock it reads the write mark once (no one else
    can change it then) and writes it twice (being written, done)."""
    data_dir = tmp_path / "data"
    assert run_taskvault(data_dir, "add", "Seed").code == 0
    never = 1 << 30  # (no compaction due in this test's journal)
    one = _lock_file_calls(data_dir, ["add One"], never)
    six = _lock_file_calls(data_dir, [f"add Change {n}" for n in range(6)], never)
    assert one["lock"] == 2, "the session's first change, then tidy's look at the backups"
    per_change = {what: (six[what] - one[what]) / 5 for what in ("lock", "read", "write")}
    assert per_change == {"lock": 1, "read": 1, "write": 2}, (per_change, six, one)
    assert run_taskvault(data_dir, "list").out.count("Change") == 6
    assert not (data_dir / "backups").exists() or not any((data_dir / "backups").iterdir()), "none was due"


def test_a_change_that_makes_compaction_due_still_starts_it_after_the_acknowledgement(tmp_path: Path) -> None:
    """A change that finds compaction due says so under its lock: once it is acknowledged, the compaction is
    started (the lock taken again to freeze the state) and put in place (taken again to install it)."""
    data_dir = tmp_path / "data"
    assert run_taskvault(data_dir, "add", "Seed").code == 0
    calls = _lock_file_calls(data_dir, ["add Second"], 0)
    assert calls["lock"] == 3, "the change, then the freeze, then the install of the compaction"
    snapshot = codec.decode_snapshot((data_dir / "tasks.json").read_bytes())
    assert snapshot.revision == 2 and {t.title for t in snapshot.tasks} == {"Seed", "Second"}, "compacted"
    assert (data_dir / "tasks.journal").read_bytes().count(b"\n") == 1, "a journal of its header alone"
    assert any(p.name.endswith("-r2-n2-compaction.json.gz") for p in (data_dir / "backups").iterdir())


def _in_session(session: Session, line: str) -> int:
    """Run a line as the REPL does (a session, whose housekeeping goes to the background)."""
    session.out.seek(0), session.out.truncate(), session.err.seek(0), session.err.truncate()
    return session.runner.run_line(line, None, in_session=True)


class _Held:
    """Hold a store's background compaction inside its slow part (encoding, without the lock) until released."""

    def __init__(self, session: Session) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        store = session.store
        real = store.prepare_compaction

        def prepare(frozen: Any, **options: Any) -> Any:
            self.started.set()
            assert self.release.wait(30)
            return real(frozen, **options)

        store.prepare_compaction = prepare  # type: ignore[method-assign]


def test_a_session_compacts_in_the_background_and_carries_the_changes_made_meanwhile(tmp_path: Path) -> None:
    """While a session's compaction encodes and writes (without the lock), the session and another process save
    changes; the compaction then goes in with those changes carried into the new journal, and nothing is lost."""
    data_dir = tmp_path / "data"
    session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0, journal_share=1.0))
    assert _in_session(session, "add First") == 0  # the new store's empty snapshot: compacted at once
    session.service.close()
    session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0, journal_share=0.01))
    held = _Held(session)
    assert _in_session(session, "add Second") == 0
    assert held.started.wait(30), "a compaction started in the background"
    frozen_revision = session.service.tasks.revision
    assert _in_session(session, "add Third") == 0, "the session saves while its compaction is at work"
    assert run_taskvault(data_dir, "add", "Fourth").code == 0, "so does another process: no lock is held"
    assert _in_session(session, "edit 1 --title Renamed") == 0
    assert run_taskvault(data_dir, "add", "Fifth").code == 0, "not yet read by the session when it compacts"
    held.release.set()
    session.service._work.finish()
    session.service.refresh()
    want = {1: "Renamed", 2: "Second", 3: "Third", 4: "Fourth", 5: "Fifth"}
    assert {t.id: t.title for t in session.service.tasks} == want, "the session reads what was carried"
    session.service.close()
    snapshot = codec.decode_snapshot((data_dir / "tasks.json").read_bytes())
    assert snapshot.revision == frozen_revision, "the compaction of the frozen state went in"
    journal = (data_dir / "tasks.journal").read_bytes().splitlines()
    assert len(journal) == 1 + 4, "the four changes made meanwhile were carried into the new journal"
    assert {t.id: t.title for t in JournalStore(data_dir).load()} == want
    assert not [p for p in [*data_dir.iterdir(), *(data_dir / "backups").iterdir()] if ".tmp-" in p.name]
    assert any(p.name.endswith(f"-r{frozen_revision}-n2-compaction.json.gz") for p in (data_dir / "backups").iterdir())


def test_a_background_compaction_overtaken_by_another_is_dropped_and_nothing_is_lost(tmp_path: Path) -> None:
    """Another process compacts the store while this session's compaction is at work: this one does not go in
    (the store no longer continues its state), its temp file is removed, and every change is kept."""
    data_dir = tmp_path / "data"
    session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0, journal_share=0.01))
    held = _Held(session)
    assert _in_session(session, "add First") == 0
    assert held.started.wait(30)
    other = subprocess.run([*taskvault_compacting_at(0), "add", "Second"], capture_output=True, text=True,
                           env={**os.environ, "TASKVAULT_DATA_DIR": str(data_dir)}, check=False)
    assert other.returncode == 0, other.stderr
    overtaken = (data_dir / "tasks.json").read_bytes()
    assert codec.decode_snapshot(overtaken).revision == 2, "the other process compacted"
    held.release.set()
    session.service._work.finish()
    assert (data_dir / "tasks.json").read_bytes() == overtaken, "this session's older compaction did not go in"
    assert _in_session(session, "add Third") == 0 and session.err.getvalue() == ""
    session.service.close()
    assert [t.title for t in JournalStore(data_dir).load()] == ["First", "Second", "Third"]
    assert not [p for p in [*data_dir.iterdir(), *(data_dir / "backups").iterdir()] if ".tmp-" in p.name]


@pytest.mark.parametrize("failing", [1, 2], ids=["the snapshot's temp file", "the backup staged beside it"])
def test_a_background_compaction_that_fails_is_a_warning_and_is_tried_again(tmp_path: Path, failing: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk is full while the session's compaction writes its snapshot, or the backup it stages (both without
    the lock): every change is kept, nothing written is left behind, the session says so after its next command,
    and the next housekeeping compacts."""
    data_dir = tmp_path / "data"
    session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0, journal_share=0.01))
    real, real_prepare = files.write_temp, session.store.prepare_compaction
    writes = [0]
    preparing: set[int] = set()  # the threads inside the compaction's prepare step

    def full(target: Path, data: bytes, **where: Any) -> Path:
        # Only the compaction's temp writes: atomic_replace (creating the store) writes its temp file this way too.
        if threading.get_ident() in preparing:
            writes[0] += 1
            if writes[0] == failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(target, data, **where)

    def prepare(frozen: Any, **options: Any) -> Any:
        preparing.add(threading.get_ident())
        try:
            return real_prepare(frozen, **options)
        finally:
            preparing.discard(threading.get_ident())

    monkeypatch.setattr(files, "write_temp", full)
    session.store.prepare_compaction = prepare  # type: ignore[method-assign]
    assert _in_session(session, "add First") == 0
    told = session.err.getvalue()  # the thread may be done before this command ends, or only by the next
    session.service._work.finish()
    assert (data_dir / "tasks.journal").read_bytes().count(b"\n") == 2, "not compacted: header and one record"
    assert _in_session(session, "add Second") == 0
    told += session.err.getvalue()
    assert told.count("warning: could not compact the journal") == 1, told
    assert "No space left on device" in told and told.count("your changes are saved, in the journal") == 1, told
    session.service.close()
    assert (data_dir / "tasks.journal").read_bytes().count(b"\n") == 1, "compacted by the next housekeeping"
    assert [t.title for t in JournalStore(data_dir).load()] == ["First", "Second"]
    assert not [p for p in [*data_dir.iterdir(), *(data_dir / "backups").iterdir()] if ".tmp-" in p.name]
