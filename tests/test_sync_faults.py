"""Sync's fault matrix (issue 22, requirement 2): each fault with what the user sees, on real stores and a real
git remote — a bare repository path and the same served by ``git daemon`` on 127.0.0.1.

Every case checks what the user is told (the error's class, its exit status, its one line), that nothing
acknowledged is lost on any replica, and that once every replica has synced again they hold the same tasks
(ids aside) and the same conflicts. Syncs run in-process where the fault is outside the process (the
network, the server, the remote's content) and in a child process where the fault is the process's own
death (tests/sync_child.py, paused at every step by a pipe, killed with SIGKILL at each in turn).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from taskvault.bootstrap import replace_file
from taskvault.cli.main import Runner
from taskvault.cli.render import Style
from taskvault.cli.user_files import UserFiles
from taskvault.codec.ops import encode_segment
from taskvault.errors import RemoteDamaged, RemoteRewritten, RemoteUnreachable, SyncFailed, TaskConflicted
from taskvault.service import TaskService

from .conftest import FIGURES, Session, require_tool, store_bytes
from .gitserver import TO_CLIENT, TO_SERVER, PartitionProxy, git_in
from .syncproofs import (
    REMOTE_KINDS,
    Remote,
    View,
    converged,
    remote_of,
    remote_operations,
    run_paused,
    sync_until_quiet,
    view,
)

#: The fault cases this module proves, for the closing note (each parametrized run counts once).
CASES: list[str] = []


@pytest.fixture(params=REMOTE_KINDS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    require_tool("git", "git")
    with remote_of(request.param, tmp_path / "server") as made:
        yield made


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Remote]:
    """A bare repository path: for the cases about what the remote holds, where the transport changes nothing
    (the transport's own faults run on both kinds)."""
    require_tool("git", "git")
    with remote_of("path", tmp_path / "server") as made:
        yield made


@pytest.fixture
def daemon_remote(tmp_path: Path) -> Iterator[Remote]:
    require_tool("git", "git")
    with remote_of("daemon", tmp_path / "server") as made:
        yield made


@contextlib.contextmanager
def session(directory: Path, clock: Callable[[], dt.datetime] | None = None) -> Iterator[Session]:
    """A session on ``directory``, closed after; ``clock``: the device's own (wrong) time."""
    made = Session(directory)
    if clock is not None:
        made.service = TaskService(made.store, clock=clock)
        made.runner = Runner(made.service, as_json=False, style=Style(False), out=io.StringIO(), err=io.StringIO(),
                             width=None, files=UserFiles(directory, replace_file, None))
        made.out, made.err = made.runner.out, made.runner.err  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        made.close()


def do(directory: Path, *lines: str) -> None:
    """Run command lines on a device, each acknowledged (durable) before the next."""
    with session(directory) as device:
        for line in lines:
            assert device.run(line) == 0, f"{line}: {device.err.getvalue()}"


def sync(directory: Path, url: str | None = None, **options: bool) -> object:
    with session(directory) as device:
        return device.service.sync(url, **options)


def refused(directory: Path, error: type[SyncFailed], url: str | None = None) -> SyncFailed:
    """A sync that must fail with ``error``: the error, after checking it says one line and exits 5, and
    that the store's files are byte for byte as they were."""
    def store(directory: Path) -> dict[str, str]:  # (sync.lock, made by a first sync, holds nothing)
        return {name: digest for name, digest in store_bytes(directory).items() if name != "sync.lock"}

    before = store(directory)
    with session(directory) as device, pytest.raises(SyncFailed) as caught:
        device.service.sync(url)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.exit_code == 5 and "\n" not in str(caught.value)
    assert store(directory) == before, "a failed sync changed the store"
    return caught.value


def two_devices(base: Path, remote: Remote) -> tuple[Path, Path]:
    """Laptop and desktop sharing three tasks; the desktop then pushed an add and an edit, and the laptop
    holds an add, an edit and a completion not yet synced: its next sync both takes in and ships."""
    laptop, desktop = base / "laptop", base / "desktop"
    do(laptop, "add one", "add two", "add three")
    sync(laptop, remote.url)
    sync(desktop, remote.url)
    do(desktop, "add desktop-new", "edit 2 --title desktop-two")
    sync(desktop)
    do(laptop, "add laptop-new", "edit 1 --title laptop-one", "done 3")
    return laptop, desktop


#: What every replica holds once the two devices of two_devices have synced (titles).
BOTH = {"laptop-one", "desktop-two", "three", "desktop-new", "laptop-new"}


def laptop_changes_kept(laptop: Path) -> None:
    """The laptop's acknowledged changes are all there."""
    titles = view(laptop).titles()
    assert {"laptop-one", "laptop-new", "three"} <= titles
    with session(laptop) as device:
        assert [t.status.value for t in device.service.tasks if t.title == "three"] == ["done"]


def everyone_agrees(*directories: Path, **options: bool) -> None:
    held = converged(directories, **options)
    assert held.titles() >= BOTH


def settled(laptop: Path, desktop: Path) -> View:
    """The laptop syncs, then the desktop: both then hold the same (a cheaper converged, for the sweeps that
    check it after each of many faults; converged proves elsewhere that nothing moves after)."""
    sync(laptop)
    sync(desktop)
    held = view(laptop)
    assert view(desktop) == held, "the desktop disagrees with the laptop after both synced"
    return held


# -- the server down -----------------------------------------------------------------------------------------

def test_the_server_down(tmp_path: Path, remote: Remote) -> None:
    CASES.append(f"server down ({(remote.daemon and 'daemon') or 'path'})")
    laptop, desktop = two_devices(tmp_path, remote)
    if remote.daemon is not None:
        remote.daemon.stop()
    else:
        remote.repository.rename(remote.repository.with_name("away.git"))
    error = refused(laptop, RemoteUnreachable)
    assert str(error).startswith("cannot reach the remote ") and "nothing was changed here" in (error.hint or "")
    laptop_changes_kept(laptop)
    if remote.daemon is not None:
        remote.daemon.start()
    else:
        remote.repository.with_name("away.git").rename(remote.repository)
    everyone_agrees(laptop, desktop)


# -- a partition mid-fetch and mid-push --------------------------------------------------------------------

#: Where the connection is cut, each way: at every CUTS_EACH_WAY-th of the bytes a whole sync sends that way.
CUTS_EACH_WAY = 8


@contextlib.contextmanager
def routed_through(proxy: PartitionProxy, remote: Remote, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """git reaches the daemon through ``proxy`` for the duration, while the remote's address stays the same
    (a user's URL rewrite: the stored remote does not change, so nothing sync keeps per remote is reset)."""
    assert remote.daemon is not None
    config = tmp_path / "routed.gitconfig"
    config.write_text(f'[url "git://127.0.0.1:{proxy.port}/"]\n\tinsteadOf = git://127.0.0.1:{remote.daemon.port}/\n')
    with monkeypatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(config))
        yield


@pytest.mark.slow
def test_a_partition_mid_fetch_and_mid_push_swept(tmp_path: Path, daemon_remote: Remote,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection cut after N bytes, N swept over the whole transfer each way, in a sync that takes in
    and ships: each cut is a RemoteUnreachable (or, cut in git's closing flush, a finished sync), the store is
    whole, and syncing through a working path converges."""
    remote = daemon_remote
    assert remote.daemon is not None
    laptop, desktop = two_devices(tmp_path, remote)
    with PartitionProxy(remote.daemon.port) as measure, routed_through(measure, remote, tmp_path, monkeypatch):
        sync(laptop)
    totals = dict(measure.passed)
    assert totals[TO_SERVER] > 500 and totals[TO_CLIENT] > 500, totals
    everyone_agrees(laptop, desktop)
    outcomes = {"unreachable": 0, "finished": 0}
    cuts = 0
    for direction in (TO_SERVER, TO_CLIENT):
        for i in range(CUTS_EACH_WAY):
            cut = totals[direction] * i // CUTS_EACH_WAY
            cuts += 1
            do(desktop, f"add d{direction}{i}", "edit 1 --title d-one-" + str(cuts))
            sync(desktop)
            do(laptop, f"add l{direction}{i}", f"edit 2 --title l-two-{cuts}")
            before = view(laptop)
            with PartitionProxy(remote.daemon.port, cut_after=(direction, cut)) as proxy, \
                    routed_through(proxy, remote, tmp_path, monkeypatch):
                try:
                    sync(laptop)
                    outcomes["finished"] += 1
                except RemoteUnreachable as exc:
                    assert str(exc).startswith(f"cannot reach the remote {remote.url}: ") and exc.exit_code == 5
                    outcomes["unreachable"] += 1
            held = view(laptop)  # loads, and holds every change it acknowledged
            assert set(before.tasks) <= set(held.tasks)
            assert {f"l{direction}{i}", f"l-two-{cuts}"} <= held.titles()
            all_held = settled(laptop, desktop)
            assert {f"l{direction}{i}", f"d{direction}{i}", f"l-two-{cuts}", f"d-one-{cuts}"} <= all_held.titles()
            remote_operations(remote.repository)
    CASES.append(f"partition swept: {cuts} cuts ({outcomes})")
    FIGURES["sync: a partition mid-fetch and mid-push"] = (
        f"{cuts} cuts, {outcomes['unreachable']} refused as unreachable, {outcomes['finished']} finished; "
        "0 acknowledged changes lost")
    assert outcomes["unreachable"] >= CUTS_EACH_WAY, outcomes


# -- kill -9 of the sync at every step ----------------------------------------------------------------------

def _copy_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)


def _server_handlers(leader: int) -> list[int]:
    """The live connection handlers of the daemon whose process group is ``leader``'s (git-daemon aside)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == leader:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            if int(fields[2]) == leader and int(fields[1]) != leader and fields[0] != "Z":
                found.append(int(entry))
    return found


def _wait_for_server(remote: Remote) -> None:
    """Wait (polling, with a deadline) for the daemon's connection handlers to end: a handler of a killed
    client may still be writing into the repository the test is about to look at or put back."""
    if remote.daemon is None or remote.daemon.process is None:
        return
    import time

    deadline = time.monotonic() + 30
    while (left := _server_handlers(remote.daemon.process.pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left, f"git daemon connections did not end: {left}"


def _kind(step: str) -> str:
    """A step without the pid of the git process it names (the same step of another run has another)."""
    return step.rsplit(" ", 1)[0] if step.startswith("running ") else step


@pytest.mark.slow
def test_kill_9_at_every_step_of_a_sync(tmp_path: Path, remote: Remote) -> None:
    """SIGKILL of the syncing process at each step (every fsync, rename, git start and git run of a sync that
    takes in and ships): the store loads with every acknowledged change, a sync afterwards converges, and no
    operation reaches the remote twice with different content (the other device never sees RemoteDamaged)."""
    laptop, desktop = two_devices(tmp_path, remote)
    pristine = tmp_path / "pristine"
    for directory in (laptop, desktop, remote.repository):
        _copy_tree(directory, pristine / directory.name)
    whole = run_paused(laptop, "sync")
    assert whole.code == 0 and whole.lines[-1].startswith("ACK sync sent=3 received=2"), whole.lines
    steps = whole.steps
    assert any("push" in s for s in steps) and any(s == "fsync" for s in steps)
    network = [k for k, s in enumerate(steps, 1) if "fetch" in s or "push" in s or "ls-remote" in s]
    chosen = range(1, len(steps) + 1) if remote.daemon is None else sorted({*network, *(k + 1 for k in network)})
    killed_after = {"pushed": 0, "not pushed": 0}
    for k in chosen:
        _wait_for_server(remote)
        for directory in (laptop, desktop, remote.repository):
            _copy_tree(pristine / directory.name, directory)
        head_before = git_in(remote.repository, "rev-parse", "refs/heads/main").strip()
        run = run_paused(laptop, "sync", kill_at=k)
        assert run.code == -9 and _kind(run.steps[-1]) == _kind(steps[k - 1]), (k, run.lines[-3:])
        _wait_for_server(remote)
        moved = git_in(remote.repository, "rev-parse", "refs/heads/main").strip() != head_before
        killed_after["pushed" if moved else "not pushed"] += 1
        laptop_changes_kept(laptop)
        assert settled(laptop, desktop).titles() >= BOTH
        laptop_changes_kept(desktop)
        operations = remote_operations(remote.repository)
        assert len(operations) == 3 + 2 + 3, f"step {k} ({steps[k - 1]}): {sorted(operations)}"
    CASES.append(f"kill -9 at {len(chosen)} steps of {len(steps)} ({killed_after})")
    FIGURES[f"sync: kill -9 at every step ({'git daemon' if remote.daemon else 'bare path'})"] = (
        f"{len(chosen)} kills over {len(steps)} steps, {killed_after['pushed']} after the push landed; "
        "0 acknowledged changes lost")


def _changes_during_a_sync(laptop: Path, wanted: Callable[[int, str], bool]) -> list[str]:
    """A sync in a child, paused at every step; at each step ``wanted`` picks (outside the sync's own appends,
    where it holds the store lock) a task is added here, and must be acknowledged at once. The titles added."""
    made: list[str] = []
    with session(laptop) as device:
        def on_step(number: int, what: str) -> bool:
            if what not in ("fsync", "fdatasync", "rename") and wanted(number, what):
                assert device.run(f"add during-{number}") == 0, device.err.getvalue()
                made.append(f"during-{number}")
            return False

        run = run_paused(laptop, "sync", on_step=on_step)
    assert run.code == 0, run.lines[-3:]
    return made


def test_local_work_goes_on_at_every_step_of_a_sync(tmp_path: Path, remote: Remote) -> None:
    """Requirement 3: while a sync stands at any step outside its own appends, a change here is made and
    acknowledged at once (the store lock is not held), and a later sync ships it — also the one change made
    between the sync's scan of the tasks and its record of what it sent (that record must not call the
    store clean)."""
    laptop, desktop = two_devices(tmp_path, remote)
    made = _changes_during_a_sync(laptop, lambda number, what: True)
    assert len(made) > 20
    held = converged([laptop, desktop])
    assert set(made) <= held.titles()
    do(laptop, "edit 1 --title before-the-scan")
    first_commit_step = []
    made = _changes_during_a_sync(laptop, lambda number, what: what == "exec git-hash-object"
                                  and not first_commit_step and not first_commit_step.append(number))
    assert len(made) == 1
    assert sync(laptop).sent == 1  # type: ignore[attr-defined]
    held = converged([laptop, desktop])
    assert {*made, "before-the-scan"} <= held.titles()
    CASES.append("local changes at every step of a running sync")


# -- kill -9 of the server during a push ---------------------------------------------------------------------

def _measured_sync(laptop: Path, remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   *directories: Path) -> dict[str, int]:
    """The bytes each way of the laptop's next sync through a proxy, measured on the real thing, then every
    directory named (the remote's repository among them) put back as it was."""
    assert remote.daemon is not None
    pristine = tmp_path / "measured"
    for directory in directories:
        _copy_tree(directory, pristine / directory.name)
    with PartitionProxy(remote.daemon.port) as measure, routed_through(measure, remote, tmp_path, monkeypatch):
        sync(laptop)
    _wait_for_server(remote)
    for directory in directories:
        _copy_tree(pristine / directory.name, directory)
    return dict(measure.passed)


@pytest.mark.parametrize("dies", ["the daemon", "its connection handler"])
def test_the_server_killed_during_a_push(tmp_path: Path, daemon_remote: Remote, monkeypatch: pytest.MonkeyPatch,
                                         dies: str) -> None:
    """The sync's child paused at its push (git push running), the push's bytes held by the proxy 40 bytes
    before their end, and then the server SIGKILLed — the whole daemon, or only the process serving this
    connection: the user sees 'cannot reach the remote' (exit 5), what the sync took in and numbered is
    whole, the remote is unharmed, and the next sync finishes the job."""
    remote = daemon_remote
    assert remote.daemon is not None
    laptop, desktop = two_devices(tmp_path, remote)
    total = _measured_sync(laptop, remote, tmp_path, monkeypatch, laptop, remote.repository)[TO_SERVER]
    before = store_bytes(laptop)
    killed: list[int] = []
    with PartitionProxy(remote.daemon.port, hold_after=(TO_SERVER, total - 40)) as proxy, \
            routed_through(proxy, remote, tmp_path, monkeypatch):
        def on_step(number: int, what: str) -> bool:
            if what.startswith("running git-push"):
                assert proxy.held.wait(30), "the push never reached the held byte"
                assert remote.daemon is not None and remote.daemon.process is not None
                if dies == "the daemon":
                    killed.append(remote.daemon.process.pid)
                    remote.daemon.kill9()
                else:
                    for pid in _server_handlers(remote.daemon.process.pid):
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                proxy.release()
            return False

        run = run_paused(laptop, "sync", on_step=on_step, GIT_CONFIG_GLOBAL=os.environ["GIT_CONFIG_GLOBAL"])
    assert killed, "nothing of the server was killed"
    assert run.code == 5, run.lines[-3:]
    assert run.lines[-1].startswith(f"FAIL RemoteUnreachable cannot reach the remote {remote.url}: "), run.lines[-1]
    # The sync took the desktop's changes in and numbered its own before the push: that much is durable and whole.
    assert store_bytes(laptop) != before
    laptop_changes_kept(laptop)
    if dies == "the daemon":
        remote.daemon.start()
    else:
        assert remote.daemon.process is not None and remote.daemon.process.poll() is None
    everyone_agrees(laptop, desktop)
    assert len(remote_operations(remote.repository)) == 3 + 2 + 3
    CASES.append(f"server killed during a push ({dies})")


# -- compound faults -------------------------------------------------------------------------------------------

def _put_back(pristine: Path, *directories: Path) -> None:
    for directory in directories:
        _copy_tree(pristine / directory.name, directory)


@pytest.mark.slow
def test_a_kill_during_the_recovery_sync_after_a_kill(tmp_path: Path, bare: Remote) -> None:
    """A sync killed where it leaves the most to recover — its segment committed and recorded as shipped but
    not pushed, or pushed but not marked as synced — and then the sync that recovers from that killed at
    its own steps in turn: every acknowledged change survives both, and a third sync converges."""
    laptop, desktop = two_devices(tmp_path, bare)
    pristine = tmp_path / "pristine"
    for directory in (laptop, desktop, bare.repository):
        _copy_tree(directory, pristine / directory.name)
    steps = run_paused(laptop, "sync").steps
    push = next(k for k, s in enumerate(steps, 1) if s == "exec git-push")
    firsts = {"before the push": push, "while it pushes": push + 1}
    kills = 0
    for where, first in firsts.items():
        _put_back(pristine, laptop, desktop, bare.repository)
        assert run_paused(laptop, "sync", kill_at=first).code == -9
        after_first = tmp_path / f"after-{first}"
        for directory in (laptop, bare.repository):
            _copy_tree(directory, after_first / directory.name)
        recovery = run_paused(laptop, "sync")
        assert recovery.code == 0, recovery.lines[-3:]
        for second in range(1, len(recovery.steps) + 1, 4):
            _put_back(pristine, desktop)
            _put_back(after_first, laptop, bare.repository)
            run = run_paused(laptop, "sync", kill_at=second)
            assert run.code == -9, (where, second, run.lines[-3:])
            kills += 1
            laptop_changes_kept(laptop)
            assert settled(laptop, desktop).titles() >= BOTH
            assert len(remote_operations(bare.repository)) == 3 + 2 + 3, (where, second)
    CASES.append(f"kill -9 during the recovery sync after a kill: {kills} second kills")
    FIGURES["sync: kill -9 during the recovery from a kill -9"] = f"{kills} second kills; 0 acknowledged changes lost"


def _routing(proxy: PartitionProxy, remote: Remote, tmp_path: Path) -> str:
    """A git configuration that sends the remote's address through ``proxy`` (for a child's environment)."""
    assert remote.daemon is not None
    config = tmp_path / f"proxy-{proxy.port}.gitconfig"
    config.write_text(f'[url "git://127.0.0.1:{proxy.port}/"]\n\tinsteadOf = git://127.0.0.1:{remote.daemon.port}/\n')
    return str(config)


def _race_then_cut(proxy: PartitionProxy, desktop: Path, seen: dict[str, int], phase: str, direction: str,
                   after: int) -> Callable[[int, str], bool]:
    """The laptop's steps: before its first push the desktop pushes (so the laptop's is rejected); when the
    laptop's retry starts its ``phase`` (fetch or push), the proxy cuts ``after`` bytes later that way."""
    def on_step(number: int, what: str) -> bool:
        verb = what.removeprefix("exec git-")
        if what.startswith("exec git-") and verb in seen:
            seen[verb] += 1
            if verb == "push" and seen["push"] == 1:
                do(desktop, "add racing", "edit 2 --title desktop-two-again")
                sync(desktop)
            if verb == phase and seen[verb] == 2:
                proxy.cut_after = (direction, proxy.passed[direction] + after)
        return False

    return on_step


RETRY_CUTS = [("fetch", TO_CLIENT, 0), ("fetch", TO_CLIENT, 400), ("push", TO_SERVER, 0), ("push", TO_SERVER, 300),
              ("push", TO_CLIENT, 20)]


@pytest.mark.slow
def test_a_partition_in_the_retry_after_a_rejected_push(tmp_path: Path, daemon_remote: Remote) -> None:
    """The desktop pushes while the laptop's sync stands before its push, so the laptop's push is rejected (the
    compare-and-swap); its retry — the fetch again, or the push again — is then cut after N bytes either way:
    the user sees 'cannot reach the remote' (exit 5) or a finished sync, nothing acknowledged is lost on either
    device, and the next syncs converge with no gap on the remote."""
    remote = daemon_remote
    assert remote.daemon is not None
    laptop, desktop = two_devices(tmp_path, remote)
    pristine = tmp_path / "pristine"
    for directory in (laptop, desktop, remote.repository):
        _copy_tree(directory, pristine / directory.name)
    outcomes = {"unreachable": 0, "finished": 0}
    for phase, direction, after in RETRY_CUTS:
        _wait_for_server(remote)
        _put_back(pristine, laptop, desktop, remote.repository)
        seen = {"fetch": 0, "push": 0}
        with PartitionProxy(remote.daemon.port) as proxy:
            run = run_paused(laptop, "sync", on_step=_race_then_cut(proxy, desktop, seen, phase, direction, after),
                             GIT_CONFIG_GLOBAL=_routing(proxy, remote, tmp_path))
        assert seen["push"] >= 1 and seen["fetch"] >= 2, (phase, direction, after, seen)
        if run.code == 0:
            outcomes["finished"] += 1
        else:
            assert run.code == 5 and run.lines[-1].startswith(
                f"FAIL RemoteUnreachable cannot reach the remote {remote.url}: "), run.lines[-2:]
            outcomes["unreachable"] += 1
        laptop_changes_kept(laptop)
        held = settled(laptop, desktop)
        assert (BOTH - {"desktop-two"}) | {"racing", "desktop-two-again"} <= held.titles()
        assert len(remote_operations(remote.repository)) == 3 + 2 + 3 + 2
    assert outcomes["unreachable"] >= 3, outcomes
    CASES.append(f"partition in the retry after a rejected push: {len(RETRY_CUTS)} cuts ({outcomes})")


# -- two devices pushing at once --------------------------------------------------------------------------

def test_two_devices_pushing_at_once(tmp_path: Path, remote: Remote) -> None:
    """Two devices' processes each add, edit and sync in a loop at the same time (``sync?`` goes on after a
    refusal): pushes collide and are retried; every change each acknowledged is everywhere at the end."""
    laptop, desktop = two_devices(tmp_path, remote)
    rounds = 6
    import sys

    from .syncproofs import REPOSITORY, child_env

    children = []
    # Each adds a task and renames one of its own (the laptop task 1, the desktop task 2) between syncs.
    for name, directory, edit in (("l", laptop, "edit 1 --title l-one-{i}"), ("d", desktop, "edit 2 --title d-two-{i}")):
        actions = [a for i in range(rounds) for a in (f"add {name}{i}", edit.format(i=i), "sync?")]
        children.append(subprocess.Popen([sys.executable, "-m", "tests.sync_child", str(directory), *actions],
                                         cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=child_env()))
    results = [child.communicate(timeout=120) for child in children]
    starved = 0
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, (out, err)
        # A device that lost the race MAX_ROUNDS times in a row gives up for now, saying so (what it took in kept).
        failures = [line for line in out.splitlines() if line.startswith("FAIL")]
        assert all(line.startswith("FAIL SyncFailed the remote kept changing: ") for line in failures), failures
        assert out.count("ACK sync") + len(failures) == rounds
        starved += len(failures)
    held = converged([laptop, desktop])
    last = {f"l-one-{rounds - 1}", f"d-two-{rounds - 1}"}
    assert held.titles() >= {f"{n}{i}" for n in "ld" for i in range(rounds)} | (BOTH - {"laptop-one", "desktop-two"}) | last
    assert held.conflicts == {}
    remote_operations(remote.repository)  # every device's numbers from 1, with no gap
    CASES.append(f"two devices pushing at once, {rounds} rounds each ({starved} syncs gave up: remote kept changing)")


# -- the same task changed on both devices ------------------------------------------------------------------

EDITS = {
    "same field": ("edit 1 --title mine", "edit 1 --title theirs"),
    "different fields": ("edit 1 --title mine", "edit 1 --priority H"),
    "edit against delete": ("edit 1 --title mine", "delete 1"),
    "done against edit": ("done 1", "edit 1 --title theirs"),
}


@pytest.mark.parametrize("case", EDITS)
@pytest.mark.parametrize("merge", [False, True], ids=["merge-never", "merge-fields"])
def test_the_same_task_changed_on_both_devices(tmp_path: Path, bare: Remote, case: str, merge: bool) -> None:
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    do(laptop, "add shared", "add other")
    sync(laptop, bare.url)
    sync(desktop, bare.url)
    mine, theirs = EDITS[case]
    do(laptop, mine)
    do(desktop, theirs)
    first = sync(laptop, merge_fields=merge)
    second = sync(desktop, merge_fields=merge)
    assert first.conflicts == [] and first.merged == []  # (nothing came: the desktop had not synced)
    sync_until_quiet([laptop, desktop], merge_fields=merge)
    views = [view(laptop), view(desktop)]
    assert views[0] == views[1]
    if merge and case in ("different fields", "done against edit"):
        assert second.merged == [1] and second.conflicts == []
        with session(laptop) as device:
            merged = device.service.tasks.get(1)
            wanted = ("mine", "high", "open") if case == "different fields" else ("theirs", None, "done")
            assert (merged.title, merged.priority.value if merged.priority else None, merged.status.value) == wanted
        assert views[0].conflicts == {}
        CASES.append(f"{case}, merge: merged and reported")
        return
    # A conflict, on both devices, with both versions kept, until resolved.
    # (deleted on the desktop: the laptop's version comes back there under a new id, in conflict)
    assert second.conflicts == ([3] if case == "edit against delete" else [1]) and second.merged == []
    assert len(views[0].conflicts) == 1
    (sides,) = views[0].conflicts.values()
    assert len(sides) == 2
    here = 3 if case == "edit against delete" else 1
    for directory, task_id in ((laptop, 1), (desktop, here)):
        with session(directory) as device:
            assert device.service.sync_status().conflicts == (task_id,)
            with pytest.raises(TaskConflicted):
                device.service.execute(_edit_plan(task_id))
    with session(desktop) as device:
        device.service.resolve(here, "mine", {})
    held = converged([laptop, desktop])
    assert held.conflicts == {}
    with session(laptop) as device:
        after = device.service.tasks
        if case == "edit against delete":
            assert all(t.title != "mine" for t in after) and len(after) == 1
        else:
            assert after.get(1).title == ("shared" if case == "different fields" else "theirs")
    CASES.append(f"{case}, {'merge' if merge else 'no merge'}: conflict on both, resolved on one")


def _edit_plan(task_id: int) -> Callable[..., object]:
    from taskvault.domain.operations import plan_delete

    return lambda tasks: plan_delete(tasks, [task_id])


def test_a_change_made_after_seeing_the_other_is_no_conflict(tmp_path: Path, bare: Remote) -> None:
    """Exactly when concurrent: the same field changed in turn, each device having synced the other's first."""
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    do(laptop, "add shared")
    sync(laptop, bare.url)
    sync(desktop, bare.url)
    for turn in range(3):
        do(laptop, f"edit 1 --title laptop-{turn}")
        assert sync(laptop).conflicts == []
        assert sync(desktop).conflicts == []
        do(desktop, f"edit 1 --title desktop-{turn}", "done 1" if turn == 2 else "edit 1 --priority L")
        assert sync(desktop).conflicts == []
        assert sync(laptop).conflicts == []
    held = converged([laptop, desktop])
    assert held.conflicts == {} and held.titles() == {"desktop-2"}
    CASES.append("changes in turn: no conflict")


# -- clocks a day apart ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("skew", [dt.timedelta(days=1), dt.timedelta(days=-1)], ids=["laptop-a-day-ahead",
                                                                                      "laptop-a-day-behind"])
def test_clocks_a_day_apart_decide_nothing(tmp_path: Path, bare: Remote, skew: dt.timedelta) -> None:
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    ahead = lambda: dt.datetime.now(dt.UTC) + skew  # noqa: E731
    behind = lambda: dt.datetime.now(dt.UTC) - skew  # noqa: E731
    with session(laptop, ahead) as device:
        device.run("add shared")
        device.run("add second")
        device.service.sync(bare.url)
    sync(desktop, bare.url)
    # In turn: the later change wins whatever its clock says.
    with session(desktop, behind) as device:
        assert device.run("edit 1 --title from-the-desktop") == 0
        device.service.sync()
    with session(laptop, ahead) as device:
        device.service.sync()
        assert device.service.tasks.get(1).title == "from-the-desktop"
        assert device.run("edit 1 --title from-the-laptop") == 0
        device.service.sync()
    sync(desktop)
    assert view(desktop).titles() == {"from-the-laptop", "second"}
    # At once: a conflict, whichever clock is ahead.
    with session(laptop, ahead) as device:
        device.run("edit 2 --title laptop-2")
        device.service.sync()
    with session(desktop, behind) as device:
        device.run("edit 2 --title desktop-2")
        assert device.service.sync().conflicts == [2]
    held = converged([laptop, desktop])
    assert len(held.conflicts) == 1
    CASES.append(f"clocks {skew} apart")


# -- undo of a synced change -----------------------------------------------------------------------------------

def _edited_and_synced(tmp_path: Path, bare: Remote) -> tuple[Path, Path, int]:
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    do(laptop, "add shared")
    sync(laptop, bare.url)
    sync(desktop, bare.url)
    do(laptop, "edit 1 --title edited")
    sync(laptop)
    sync(desktop)
    assert view(desktop).titles() == {"edited"}
    return laptop, desktop, len(remote_operations(bare.repository))


def _undo_travelled(laptop: Path, desktop: Path, bare: Remote, count: int) -> None:
    assert view(laptop).titles() == {"shared"}
    sync(laptop)
    assert len(remote_operations(bare.repository)) == count + 1  # a new operation: nothing on the remote rewritten
    held = converged([laptop, desktop])
    assert held.titles() == {"shared"} and held.conflicts == {}


def test_undo_of_a_synced_change_travels_as_a_new_change(tmp_path: Path, bare: Remote) -> None:
    """The undo of an edit that was synced (by naming the edit's step), synced: a new operation, taken everywhere."""
    from taskvault.domain.recovery import plan_undo

    laptop, desktop, count = _edited_and_synced(tmp_path, bare)
    with session(laptop) as device:
        undo, _ = device.service.tasks.history.stacks()
        edit = next(step.revision for step in reversed(undo) if step.change.kind.value == "edit")
        device.service.execute(lambda tasks: plan_undo(tasks, targets=[edit]).change)
    _undo_travelled(laptop, desktop, bare, count)
    CASES.append("undo of a synced change (by its step)")


def test_plain_undo_after_a_sync_undoes_the_synced_change(tmp_path: Path, bare: Remote) -> None:
    """What a user types: edit, sync, undo (then sync, redo). The sync's own bookkeeping must not be the step
    undone, nor clear what can be redone."""
    laptop, desktop, count = _edited_and_synced(tmp_path, bare)
    with session(laptop) as device:
        assert device.run("undo") == 0
        said = device.out.getvalue()
    assert "Nothing undone" not in said, said
    _undo_travelled(laptop, desktop, bare, count)
    # ... and then redo, after the undo was synced: the sync's bookkeeping must not have cleared the redo.
    with session(laptop) as device:
        assert device.run("redo") == 0
        said = device.out.getvalue()
    assert "Nothing redone" not in said, said
    held = converged([laptop, desktop])
    assert held.titles() == {"edited"} and held.conflicts == {}
    CASES.append("plain undo after a sync, synced, then redo")


# -- a damaged remote ----------------------------------------------------------------------------------------

def _rewrite_head(repository: Path, path: str, data: bytes) -> None:
    """Replace the remote's last commit with one whose file ``path`` holds ``data`` (git plumbing, as a
    damaged disk or a hostile host would leave it)."""
    _commit_file(repository, path, data, in_place_of_head=True)


def _commit_file(repository: Path, path: str, data: bytes, *, in_place_of_head: bool) -> None:
    """A commit of the remote's main with ``path`` holding ``data``: on top of main, or in its place (on main's
    parents); main then points at it."""
    git = ["git", "--git-dir", str(repository)]
    blob = subprocess.run([*git, "hash-object", "-w", "--stdin"], input=data, capture_output=True,
                          check=True).stdout.decode().strip()
    head = git_in(repository, "rev-parse", "refs/heads/main").strip()
    index = {**os.environ, "GIT_INDEX_FILE": str(repository / "test.index")}
    subprocess.run([*git, "read-tree", head], env=index, check=True)
    subprocess.run([*git, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], env=index, check=True)
    tree = subprocess.run([*git, "write-tree"], env=index, capture_output=True, check=True).stdout.decode().strip()
    parents = git_in(repository, "rev-list", "--parents", "-n", "1", head).split()[1:] if in_place_of_head \
        else [head]
    identity = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    commit = subprocess.run([*git, "commit-tree", tree, *[a for p in parents for a in ("-p", p)], "-m", "test"],
                            capture_output=True, check=True, env={**os.environ, **identity}).stdout.decode().strip()
    git_in(repository, "update-ref", "refs/heads/main", commit)


def _newest_segment(repository: Path, device_dir: Path) -> tuple[str, bytes]:
    with session(device_dir) as device:
        replica = device.service.tasks.replica
        assert replica is not None
        mine = f"ops/{replica.device}/"
    paths = [p for p in git_in(repository, "ls-tree", "-r", "--name-only", "refs/heads/main").split()
             if p.startswith(mine)]
    path = max(paths)
    data = subprocess.run(["git", "--git-dir", str(repository), "cat-file", "blob", f"refs/heads/main:{path}"],
                          capture_output=True, check=True).stdout
    return path, data


def _flip_a_bit(data: bytes) -> bytes:
    at = data.index(b"desktop-") + 3
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


DAMAGE = {
    "a flipped bit": (_flip_a_bit, "checksum"),
    "a line cut part-way": (lambda data: data[:-7], "ends part-way through its line"),
    "a line cut off at its end": (lambda data: data[:data.rindex(b"\n", 0, len(data) - 1) + 1], "cut off"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_remote_segment_is_refused_and_nothing_taken(tmp_path: Path, bare: Remote, damage: str
                                                               ) -> None:
    laptop, desktop = two_devices(tmp_path, bare)
    path, data = _newest_segment(bare.repository, desktop)
    change, said = DAMAGE[damage]
    _rewrite_head(bare.repository, path, change(data))
    error = refused(laptop, RemoteDamaged)
    assert str(error).startswith(f"the remote's file {path}") or path in str(error), str(error)
    assert said in str(error), str(error)
    laptop_changes_kept(laptop)
    assert "desktop-new" not in view(laptop).titles()
    # Put back (as from another copy of the remote): then everyone converges.
    _rewrite_head(bare.repository, path, data)
    everyone_agrees(laptop, desktop)
    CASES.append(f"damaged segment: {damage}")


# -- a segment delivered twice ------------------------------------------------------------------------------

def _add_file(repository: Path, path: str, data: bytes) -> None:
    """A new commit on the remote's main adding ``path``."""
    _commit_file(repository, path, data, in_place_of_head=False)


def test_a_segment_delivered_twice(tmp_path: Path, bare: Remote) -> None:
    """The same operations again in a later segment are taken once (by a device that had them and by a new
    one); the same numbers with other content are RemoteDamaged; the same file under another name too."""
    from taskvault.codec.ops import decode_segment

    laptop, desktop = two_devices(tmp_path, bare)
    path, data = _newest_segment(bare.repository, desktop)  # the desktop's ops 1..2 (add, edit)
    segment = decode_segment(data, path)
    assert len(segment.ops) == 2
    again = encode_segment(segment.device, segment.name, segment.ops[1:])
    again_path = f"ops/{segment.device}/{segment.ops[1].seq:012d}.jsonl"
    _add_file(bare.repository, again_path, again)
    sync(laptop)
    newcomer = tmp_path / "newcomer"
    sync(newcomer, bare.url)
    held = converged([laptop, desktop, newcomer])
    assert held.titles() >= BOTH and held.conflicts == {}
    CASES.append("same operations delivered twice: taken once")

    # The same number with other content (a second segment holding operation 2 changed): damage.
    import attrs

    edit = segment.ops[1]
    assert edit.body is not None
    forged = encode_segment(segment.device, segment.name, [attrs.evolve(edit, body=attrs.evolve(edit.body,
                                                                                                title="forged"))])
    with remote_of("path", tmp_path / "second") as second:
        git_in(second.repository, "fetch", "--quiet", str(bare.repository), "+refs/heads/main:refs/heads/main")
        git_in(second.repository, "update-ref", "refs/heads/main",
               git_in(second.repository, "rev-parse", "refs/heads/main~1").strip())  # (before the copy above)
        _add_file(second.repository, again_path, forged)
        other = tmp_path / "other"
        do(other, "add here-before")
        error = refused(other, RemoteDamaged, second.url)
        assert "two different operations numbered 2" in str(error) or "has two different operations" in str(error)
    CASES.append("same number, other content: RemoteDamaged")


# -- a force-push that drops operations --------------------------------------------------------------------

def test_a_force_push_that_drops_operations_is_refused(tmp_path: Path, bare: Remote) -> None:
    laptop, desktop = two_devices(tmp_path, bare)
    older = git_in(bare.repository, "rev-parse", "refs/heads/main~1").strip()
    sync(laptop)  # the laptop has seen the desktop's last push
    git_in(bare.repository, "update-ref", "refs/heads/main", older)
    do(laptop, "add after-the-force-push")
    for device in (laptop, desktop):
        error = refused(device, RemoteRewritten)
        assert "lost " in str(error) and "force-push" in str(error)
    assert "after-the-force-push" in view(laptop).titles()
    CASES.append("force-push dropping operations: RemoteRewritten")


# -- a new device starting from the remote ---------------------------------------------------------------------

def test_a_new_device_starts_from_the_remote(tmp_path: Path, remote: Remote) -> None:
    laptop, desktop = two_devices(tmp_path, remote)
    sync_until_quiet([laptop, desktop])
    newcomer = tmp_path / "newcomer"
    assert not newcomer.exists()
    report = sync(newcomer, remote.url)
    assert report.received == len(remote_operations(remote.repository))  # type: ignore[attr-defined]
    held = converged([laptop, desktop, newcomer])
    assert held.titles() >= BOTH
    with session(newcomer) as device:
        assert [t.id for t in device.service.tasks] == list(range(1, len(device.service.tasks) + 1))
    CASES.append("new device from the remote")


# -- a store restored from an older backup ------------------------------------------------------------------

@pytest.mark.parametrize("what", ["the whole data directory", "the store's files only"])
def test_a_store_restored_from_an_older_copy_takes_its_own_later_operations_back(tmp_path: Path, bare: Remote,
                                                                                 what: str) -> None:
    laptop, desktop = two_devices(tmp_path, bare)
    sync_until_quiet([laptop, desktop])
    old = tmp_path / "old-copy"
    _copy_tree(laptop, old)
    do(laptop, "add made-after-the-copy", "edit 1 --title renamed-after-the-copy")
    sync(laptop)
    if what == "the whole data directory":
        _copy_tree(old, laptop)
    else:
        for name in ("tasks.json", "tasks.journal"):
            shutil.copy2(old / name, laptop / name)
    do(laptop, "add made-after-the-restore")
    sync_until_quiet([laptop, desktop])
    held = converged([laptop, desktop])
    assert {"made-after-the-copy", "renamed-after-the-copy", "made-after-the-restore"} <= held.titles()
    remote_operations(bare.repository)  # no number reused with other content
    CASES.append(f"restored from an older copy ({what})")


def test_zz_counts() -> None:
    """Print the fault cases run (for the closing note)."""
    print(f"\nsync fault cases run: {len(CASES)}")
    for case in CASES:
        print(f"  {case}")
