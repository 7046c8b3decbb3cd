"""Sync between real stores through a real git remote (a bare repository path): the flow a user sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from taskvault.errors import RemoteDamaged, RemoteRewritten, RemoteUnreachable, SyncFailed, SyncNotSetUp, TaskConflicted

from .conftest import Session, encrypted_stores, require_tool, seed_store, store_bytes, tmpfs
from .gitserver import make_bare


@pytest.fixture
def remote(tmp_path: Path) -> str:
    require_tool("git", "git")
    return str(make_bare(tmp_path / "remote.git"))


def _titles(session: Session) -> dict[str, str]:
    return {str(task.uuid): task.title for task in session.service.tasks}


def test_two_devices_converge_and_a_conflict_is_kept_until_resolved(tmp_path: Path, remote: str) -> None:
    laptop, desktop = Session(tmp_path / "laptop"), Session(tmp_path / "desktop")
    for line in ("add Buy milk --tag home", "add Pay rent"):
        assert laptop.run(line) == 0
    sent = laptop.service.sync(remote)
    assert (sent.sent, sent.received) == (2, 0)
    came = desktop.service.sync(remote)  # a new device starting from the remote
    assert came.received == 2 and came.updated == [1, 2]
    assert _titles(desktop) == _titles(laptop)
    # Ids belong to a device; a new one numbers the tasks in the order their device made them.
    assert [t.title for t in desktop.service.tasks] == [t.title for t in laptop.service.tasks]

    assert laptop.run("edit 1 --title 'Buy oat milk'") == 0
    assert desktop.run("edit 1 --title 'Buy soy milk'") == 0
    laptop.service.sync()
    assert desktop.service.sync().conflicts == [1]
    assert laptop.service.sync().conflicts == [1]
    for session in (laptop, desktop):
        assert session.service.sync_status().conflicts == (1,)
        with pytest.raises(TaskConflicted):
            session.service.execute(lambda tasks: __import__("taskvault.domain.operations", fromlist=["x"])
                                    .plan_delete(tasks, [1]))
    assert desktop.run("done 1") == 1 and "changed on two devices" in desktop.err.getvalue()

    desktop.service.resolve(1, "theirs", {})
    desktop.service.sync()
    laptop.service.sync()
    assert _titles(laptop) == _titles(desktop)
    assert laptop.service.tasks.get(1).title == "Buy oat milk"
    assert laptop.service.sync_status().conflicts == () and desktop.service.sync_status().unsynced == 0


def test_a_sync_with_nothing_new_changes_nothing(tmp_path: Path, remote: str) -> None:
    seed_store(tmp_path / "a")
    device = Session(tmp_path / "a")
    device.service.sync(remote)
    revision = device.service.tasks.revision
    journal = (tmp_path / "a" / "tasks.journal").read_bytes()
    again = device.service.sync()
    assert (again.received, again.sent, again.revision) == (0, 0, None)
    assert device.service.tasks.revision == revision and (tmp_path / "a" / "tasks.journal").read_bytes() == journal


def test_undo_and_redo_step_over_a_sync_that_only_sent(tmp_path: Path, remote: str) -> None:
    """edit, sync, undo: the edit is undone (a sync that changed no task is not a step), and the undo travels as
    a new change; redo after another sync still redoes it (that sync cleared no redo)."""
    laptop, desktop = Session(tmp_path / "laptop"), Session(tmp_path / "desktop")
    assert laptop.run("add Call mum") == 0
    laptop.service.sync(remote)
    desktop.service.sync(remote)
    assert laptop.run("edit 1 --title 'Call dad'") == 0
    laptop.service.sync()
    assert laptop.run("undo") == 0 and "Nothing undone" not in laptop.out.getvalue()
    assert laptop.service.tasks.get(1).title == "Call mum"
    assert laptop.service.sync().sent == 1
    desktop.service.sync()
    assert desktop.service.tasks.get(1).title == "Call mum"
    assert laptop.run("redo") == 0 and laptop.service.tasks.get(1).title == "Call dad"
    laptop.service.sync()
    desktop.service.sync()
    assert desktop.service.tasks.get(1).title == "Call dad" and desktop.service.sync_status().conflicts == ()


def test_a_mistyped_remote_is_not_remembered(tmp_path: Path, remote: str) -> None:
    """A remote that does not answer is refused before it is remembered: on a first sync nothing is set (and no
    device id given), and later the remote used before stays, its marks in place (the next sync sends nothing
    twice and takes nothing again)."""
    device = Session(tmp_path / "a")
    assert device.run("add Buy milk") == 0
    with pytest.raises(RemoteUnreachable) as first:
        device.service.sync(str(tmp_path / "mistyped.git"))
    assert first.value.hint is not None and first.value.hint.startswith("nothing was changed here;")
    assert not (tmp_path / "a" / "sync.lock").exists() and not (tmp_path / "a" / "sync.git").exists()
    with pytest.raises(SyncNotSetUp):
        device.service.sync()
    assert not (tmp_path / "a" / "sync.lock").exists() and not (tmp_path / "a" / "sync.git").exists()
    status = device.service.sync_status()
    assert status.remote is None and device.service.tasks.replica is None
    assert device.service.sync(remote).sent == 1
    with pytest.raises(RemoteUnreachable) as later:
        device.service.sync(str(tmp_path / "mistyped.git"))
    assert later.value.hint is not None and "the remote used before is kept" in later.value.hint
    assert device.service.sync_status().remote == remote
    again = device.service.sync()
    assert (again.sent, again.received, again.revision) == (0, 0, None)


def test_a_resolve_is_not_undone(tmp_path: Path, remote: str) -> None:
    """undo right after a resolve is refused (exit 1, one line), and changes nothing: undoing it would take the
    task out of conflict with this device's version, which the next sync would make win everywhere."""
    laptop, desktop = Session(tmp_path / "laptop"), Session(tmp_path / "desktop")
    assert laptop.run("add Buy milk") == 0
    laptop.service.sync(remote)
    desktop.service.sync(remote)
    assert laptop.run("edit 1 --title 'Buy oat milk'") == 0
    assert desktop.run("edit 1 --title 'Buy soy milk'") == 0
    laptop.service.sync()
    desktop.service.sync()
    desktop.service.resolve(1, "theirs", {})
    journal = (tmp_path / "desktop" / "tasks.journal").read_bytes()
    assert desktop.run("undo") == 1
    said = desktop.err.getvalue()
    assert "a resolve cannot be undone" in said and said.count("\n") == 1
    assert (tmp_path / "desktop" / "tasks.journal").read_bytes() == journal
    desktop.service.sync()
    laptop.service.sync()
    assert {s.service.tasks.get(1).title for s in (laptop, desktop)} == {"Buy oat milk"}


def _push_file(remote: str, work: Path, path: str, data: bytes) -> None:
    """Add ``path`` to the remote's main as another program would (a clone, a commit, a push)."""
    subprocess.run(["git", "clone", "--quiet", remote, str(work)], check=True)
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_bytes(data)
    git = ["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x"]
    subprocess.run([*git, "add", path], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "forged"], check=True)
    subprocess.run([*git, "push", "--quiet", "origin", "HEAD:main"], check=True)


def test_an_operation_that_claims_to_have_seen_a_change_never_made_here_is_refused(tmp_path: Path,
                                                                                    remote: str) -> None:
    """A well-formed operation whose clock says it saw this device's change 99, when this device made 2, is
    damage (no honest device can have seen it): refused before anything of it is taken, so this device's own
    numbering is never pushed past its clock and it keeps syncing once the file is gone."""
    from taskvault.codec.ops import encode_segment, segment_path
    from taskvault.domain.replica import Clock, Operation

    device = Session(tmp_path / "a")
    assert device.run("add Buy milk") == 0 and device.run("edit 1 --title 'Buy oat milk'") == 0
    device.service.sync(remote)
    replica = device.service.tasks.replica
    assert replica is not None and replica.seq == 1
    task = device.service.tasks.get(1)
    forger = "bbbbbbbbbbbb"
    forged = Operation(forger, 1, task.uuid, Clock(tuple(sorted([(replica.device, 99), (forger, 1)]))),
                       __import__("attrs").evolve(task, title="forged"))
    _push_file(remote, tmp_path / "forger", segment_path(forger, 1), encode_segment(forger, "forger", [forged]))
    journal = (tmp_path / "a" / "tasks.journal").read_bytes()
    with pytest.raises(RemoteDamaged, match="saw change 99 of this device, which made only 1"):
        device.service.sync()
    assert (tmp_path / "a" / "tasks.journal").read_bytes() == journal
    assert device.service.tasks.get(1).title == "Buy oat milk"


def test_a_full_disk_during_a_sync_is_named_and_loses_nothing(tmp_path: Path, remote: str) -> None:
    """A real full disk (a 3 MiB tmpfs with 64 KiB left) under a device taking in 1,500 changes: the sync fails
    saying the disk is full (never that the remote cannot be reached), the store is as it was, and once there is
    room the same sync takes everything in."""
    import os

    from taskvault.errors import StorageError

    seed_store(tmp_path / "laptop", tuple(f"add 'Task {n} of a long list'" for n in range(1500)))
    Session(tmp_path / "laptop").service.sync(remote)
    with tmpfs(tmp_path / "disk", "3M") as disk:
        seed_store(disk / "desktop", ("add 'Made on the desktop'",))
        filler = disk / "filler"
        room = os.statvfs(disk)
        filler.write_bytes(b"\0" * (room.f_bavail * room.f_frsize - 64 * 1024))
        before = store_bytes(disk / "desktop")
        with pytest.raises((SyncFailed, StorageError)) as caught:
            Session(disk / "desktop").service.sync(remote)
        said = str(caught.value)
        assert "cannot reach" not in said and ("disk is full" in said or "No space left" in said), said
        assert "\n" not in said
        assert {k: v for k, v in store_bytes(disk / "desktop").items() if not k.startswith("sync")} == \
            {k: v for k, v in before.items() if not k.startswith("sync")}
        filler.unlink()
        desktop = Session(disk / "desktop")
        assert desktop.service.sync(remote).received == 1500
        assert len(desktop.service.tasks) == 1501


def test_no_remote_yet_is_refused_with_nothing_changed(tmp_path: Path, remote: str) -> None:
    seed_store(tmp_path / "a")
    before = (tmp_path / "a" / "tasks.journal").read_bytes()
    with pytest.raises(SyncNotSetUp, match="no remote is set"):
        Session(tmp_path / "a").service.sync()
    assert (tmp_path / "a" / "tasks.journal").read_bytes() == before


SECRETS = ("Dentist on Tuesday ✓ secret", "Salary negotiation notes")


def _remote_bytes(remote: str) -> bytes:
    """Every object of the remote repository, uncompressed: what a sync host could read."""
    listed = subprocess.run(["git", "--git-dir", remote, "cat-file", "--batch-all-objects", "--batch"],
                            capture_output=True, check=True)
    return listed.stdout


def test_an_encrypted_store_syncs_through_a_remote_that_reads_nothing(tmp_path: Path, remote: str) -> None:
    """Encrypted stores lock the remote with the passphrase: segments sealed, the key wrapped; another encrypted
    device opens it with the same passphrase; a plain store refuses it, and an encrypted one refuses a plain one."""
    with encrypted_stores(tmp_path):
        seed_store(tmp_path / "laptop", tuple(f"add '{title}' --tag private" for title in SECRETS))
        seed_store(tmp_path / "desktop", ("add 'Desktop errand'",))
        laptop, desktop = Session(tmp_path / "laptop"), Session(tmp_path / "desktop")
        assert laptop.service.sync(remote).sent == 2
        assert desktop.service.sync(remote).received == 2
        assert laptop.service.sync().received == 1
        assert {t.title for t in laptop.service.tasks} == {t.title for t in desktop.service.tasks}
        held = _remote_bytes(remote)
        assert b"sync.json" in held or b"taskvault-sync-key" in held
        for secret in (*SECRETS, "Desktop errand", "private"):
            assert secret.encode() not in held and secret.encode("unicode_escape") not in held, secret
        seed_store(tmp_path / "clear-encrypted")
        plain_remote = tmp_path / "plain.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(plain_remote)], check=True)
    seed_store(tmp_path / "plain")
    plain = Session(tmp_path / "plain")
    with pytest.raises(SyncFailed, match="the remote is encrypted, and this store is not"):
        plain.service.sync(remote)
    plain.service.sync(str(plain_remote))
    with encrypted_stores(tmp_path), pytest.raises(SyncFailed, match="the remote holds tasks in clear"):
        Session(tmp_path / "clear-encrypted").service.sync(str(plain_remote))
    # The key file lost from the encrypted remote: its files are sealed, not in clear, and the message says so.
    work = tmp_path / "remover"
    subprocess.run(["git", "clone", "--quiet", remote, str(work)], check=True)
    git = ["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x"]
    subprocess.run([*git, "rm", "--quiet", "keys/sync.json"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "lost"], check=True)
    subprocess.run([*git, "push", "--quiet", "origin", "HEAD:main"], check=True)
    with encrypted_stores(tmp_path), pytest.raises(RemoteDamaged, match=r"its key file keys/sync\.json is missing"):
        Session(tmp_path / "clear-encrypted").service.sync(remote)


def test_a_remote_that_lost_operations_is_refused(tmp_path: Path, remote: str) -> None:
    seed_store(tmp_path / "a")
    device = Session(tmp_path / "a")
    device.service.sync(remote)
    empty = tmp_path / "other.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(empty)], check=True)
    subprocess.run(["git", "--git-dir", remote, "fetch", "--quiet", str(empty), "+refs/heads/*:refs/heads/*"],
                   check=False)
    subprocess.run(["git", "--git-dir", remote, "update-ref", "-d", "refs/heads/main"], check=True)
    before = (tmp_path / "a" / "tasks.journal").read_bytes()
    with pytest.raises(RemoteRewritten, match="lost 1 file") as refused:
        device.service.sync()
    assert (tmp_path / "a" / "tasks.journal").read_bytes() == before
    assert refused.value.hint is not None and "name it again to send it what it lost" in refused.value.hint
    # It is the right remote (put back from an older copy): named again, it is sent all this device holds.
    assert device.service.sync(remote).sent > 0
    newcomer = Session(tmp_path / "b")
    newcomer.service.sync(remote)
    assert _titles(newcomer) == _titles(device)


def test_a_change_made_while_a_sync_ships_is_shipped_by_the_next(tmp_path: Path, remote: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process adds a task after this sync numbered its changes and before it recorded them: the
    record must not claim the store was clean at its revision, or that task would never be shipped."""
    from taskvault.store.git_mirror import GitMirror

    from .conftest import run_taskvault

    seed_store(tmp_path / "a")
    device, other = Session(tmp_path / "a"), Session(tmp_path / "b")
    device.service.sync(remote)
    assert device.run("add Numbered") == 0
    commit = GitMirror.commit

    def meanwhile(self: GitMirror, *args: object, **kwargs: object) -> str:
        assert run_taskvault(tmp_path / "a", "add", "Between").code == 0
        return commit(self, *args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(GitMirror, "commit", meanwhile)
        assert device.service.sync().sent == 1
    assert device.service.sync().sent == 1  # "Between", which the first sync never saw
    other.service.sync(remote)
    assert {"Numbered", "Between"} <= {t.title for t in other.service.tasks}
    assert device.service.sync_status().unsynced == 0


def test_a_new_remote_gets_every_operation_the_old_one_had(tmp_path: Path, remote: str) -> None:
    """Found by the proofs: after `sync --remote NEW`, only later changes went to NEW, and a device starting from
    it met a gap (RemoteDamaged). What the old remote held, and what was committed for it, is carried over."""
    laptop, desktop, phone = Session(tmp_path / "laptop"), Session(tmp_path / "desktop"), Session(tmp_path / "phone")
    assert laptop.run("add First") == 0
    laptop.service.sync(remote)
    desktop.service.sync(remote)
    assert desktop.run("add From the desktop") == 0
    desktop.service.sync()
    laptop.service.sync()
    new = tmp_path / "new.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(new)], check=True)
    assert laptop.run("add Later") == 0
    moved = laptop.service.sync(str(new))
    assert moved.sent >= 3  # its own two operations and the desktop's, which the new remote lacked
    phone.service.sync(str(new))
    assert {t.title for t in phone.service.tasks} == {"First", "From the desktop", "Later"}
    desktop.service.sync(str(new))  # the desktop moves too: nothing twice, nothing missing
    assert sorted(t.title for t in desktop.service.tasks) == sorted(t.title for t in phone.service.tasks)


def test_changes_numbered_but_lost_with_the_mirror_are_never_left_as_a_gap(tmp_path: Path, remote: str) -> None:
    """sync.git removed after a sync that recorded changes as shipped but could not push them: sending later
    changes would leave the other devices a gap they call damage; the sync refuses, and says what to put back."""
    import shutil

    seed_store(tmp_path / "a")
    device = Session(tmp_path / "a")
    device.service.sync(remote)
    assert device.run("add Numbered, never pushed") == 0
    hook = Path(remote) / "hooks" / "pre-receive"  # the remote refuses the push
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(SyncFailed, match="refused"):
        device.service.sync()
    hook.unlink()
    shutil.move(tmp_path / "a" / "sync.git", tmp_path / "sync.git.aside")
    with pytest.raises(SyncNotSetUp):  # (the remote's address went with it)
        device.service.sync()
    with pytest.raises(SyncFailed, match=r"neither on the remote nor in sync\.git"):
        device.service.sync(remote)
    shutil.rmtree(tmp_path / "a" / "sync.git")
    shutil.move(tmp_path / "sync.git.aside", tmp_path / "a" / "sync.git")
    assert device.service.sync().sent == 1  # put back, it sends them


def test_a_store_put_back_from_a_backup_takes_its_own_later_changes_back_from_the_remote(tmp_path: Path,
                                                                                         remote: str) -> None:
    """The store does not load; `restore` puts back a backup taken before some syncs. It keeps the backup's
    replication state (its device), so the changes it sent after the backup come back from the remote, and no
    change of its is numbered twice."""
    from .conftest import run_taskvault

    seed_store(tmp_path / "a")
    device, other = Session(tmp_path / "a"), Session(tmp_path / "b")
    device.service.sync(remote)
    backup = run_taskvault(tmp_path / "a", "backup")
    assert backup.code == 0, backup.err
    assert device.run("add Sent after the backup") == 0
    device.service.sync()
    device.close()
    (tmp_path / "a" / "tasks.json").write_bytes(b"damaged")
    backup_id = run_taskvault(tmp_path / "a", "--json", "backups").out.split('"id": "')[1].split('"')[0]
    put_back = run_taskvault(tmp_path / "a", "restore", backup_id, "--yes")
    assert put_back.code == 0, put_back.err
    again = Session(tmp_path / "a")
    assert again.service.sync().received == 1
    assert again.run("add After the restore") == 0
    again.service.sync()
    other.service.sync(remote)
    assert {t.title for t in other.service.tasks} >= {"Sent after the backup", "After the restore"}


def test_a_large_intake_is_taken_in_batches_each_its_own_append(tmp_path: Path, remote: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Many segments (here, every one a batch of its own) are taken in as several appends, each carrying on
    where the one before stopped; the result is the same as one."""
    from taskvault.store import syncing

    laptop, desktop = Session(tmp_path / "laptop"), Session(tmp_path / "desktop")
    for round_ in range(4):
        assert laptop.run(f"add 'Round {round_}'") == 0
        if round_:
            assert laptop.run(f"edit {round_} --title 'Edited in round {round_}'") == 0
        laptop.service.sync(remote)
    monkeypatch.setattr(syncing, "BATCH_BYTES", 1)
    before = desktop.service.tasks.revision
    assert desktop.service.sync(remote).received == laptop.service.tasks.replica.seq  # type: ignore[union-attr]
    assert desktop.service.tasks.revision - before >= 4  # (a record per segment, and one to say nothing to send)
    assert sorted(t.title for t in desktop.service.tasks) == sorted(t.title for t in laptop.service.tasks)
