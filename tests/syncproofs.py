"""What sync's proofs share (tests/test_sync_faults.py, tests/test_sync_model.py): a remote of either kind
(a bare repository path, or the same served by ``git daemon`` on loopback), what replicas are compared by,
syncing until nothing moves, and the remote's operations read back as another device would."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from taskvault.codec.ops import decode_segment
from taskvault.domain.task import Task

from .conftest import Session
from .gitserver import GitDaemon, git_in, make_bare

REPOSITORY = Path(__file__).resolve().parent.parent
REMOTE_KINDS = ("path", "daemon")


@attrs.define
class Remote:
    """A bare repository the test can look into, and the address devices sync with."""

    repository: Path
    url: str
    daemon: GitDaemon | None = None

    def fresh(self, name: str) -> Remote:
        """Another empty repository beside this one, served the same way."""
        repository = make_bare(self.repository.parent / name)
        if self.daemon is None:
            return Remote(repository, str(repository))
        return Remote(repository, f"git://127.0.0.1:{self.daemon.port}/{name}", self.daemon)


@contextlib.contextmanager
def remote_of(kind: str, base: Path) -> Iterator[Remote]:
    base.mkdir(parents=True, exist_ok=True)
    if kind == "path":
        repository = make_bare(base / "tasks.git")
        yield Remote(repository, str(repository))
        return
    with GitDaemon(base) as daemon:
        yield Remote(daemon.repository, daemon.url, daemon)


def content(task: Task | None) -> Any:
    """A version's content, its local id and time of change aside (what replicas must agree on)."""
    return None if task is None else attrs.astuple(attrs.evolve(task, id=1, updated=task.created))


@attrs.frozen
class View:
    """What a replica holds, as every replica must hold it: tasks by uuid (those not in conflict), and each
    conflict's versions (this device's and the others', in one sorted list: "mine" differs by device)."""

    tasks: dict[uuid.UUID, Any]
    conflicts: dict[uuid.UUID, list[Any]]

    def titles(self) -> set[str]:
        return {fields[_TITLE] for fields in self.tasks.values()}


_TITLE = [f.name for f in attrs.fields(Task)].index("title")


def view(directory: Path) -> View:
    """The store in ``directory`` as a new session loads it from disk."""
    session = Session(directory)
    try:
        tasks = session.service.tasks
        replica = tasks.replica
        conflicts = {}
        if replica is not None:
            for task, conflict in replica.conflicts.items():
                sides = [conflict.mine, *(side.body for side in conflict.theirs)]
                conflicts[task] = sorted((content(s) for s in sides), key=repr)
        # A conflicted task shows this device's own version: it is compared by its versions, not by that.
        return View({t.uuid: content(t) for t in tasks if t.uuid not in conflicts}, conflicts)
    finally:
        session.close()


def sync_until_quiet(directories: Iterable[Path], *, rounds: int = 6, merge_fields: bool = False) -> int:
    """Each store syncs in turn, round after round, until a whole round moves nothing; the number of syncs."""
    directories = list(directories)
    syncs = 0
    for _ in range(rounds):
        moved = False
        for directory in directories:
            session = Session(directory)
            try:
                report = session.service.sync(merge_fields=merge_fields)
            finally:
                session.close()
            syncs += 1
            moved = moved or bool(report.sent or report.received)
        if not moved:
            return syncs
    raise AssertionError(f"the replicas kept moving after {rounds} rounds of syncs")


def converged(directories: Iterable[Path], **options: Any) -> View:
    """Sync every store until quiet, check they agree, and return what they all hold."""
    directories = list(directories)
    sync_until_quiet(directories, **options)
    views = [view(d) for d in directories]
    for directory, other in zip(directories[1:], views[1:], strict=True):
        assert other == views[0], f"{directory.name} disagrees with {directories[0].name}"
    return views[0]


def remote_operations(repository: Path) -> dict[tuple[str, int], bytes]:
    """Every operation the remote's main holds, by (device, number), each as its line; asserts that no number
    is held twice with different content, and that each device's numbers run from 1 without a gap."""
    head = git_in(repository, "rev-parse", "--quiet", "--verify", "refs/heads/main^{commit}").strip()
    found: dict[tuple[str, int], bytes] = {}
    listing = git_in(repository, "ls-tree", "-r", "--name-only", head).split()
    for path in listing:
        data = subprocess.run(["git", "--git-dir", str(repository), "cat-file", "blob", f"{head}:{path}"],
                              check=True, capture_output=True).stdout
        segment = decode_segment(data, path)
        for op, line in zip(segment.ops, data.split(b"\n")[1:], strict=False):
            before = found.setdefault(op.dot, line)
            assert before == line, f"operation {op.dot} is on the remote twice, with different content"
    for device in {d for d, _ in found}:
        numbers = sorted(s for d, s in found if d == device)
        assert numbers == list(range(1, len(numbers) + 1)), f"device {device}'s operations have a gap: {numbers}"
    return found


# -- a sync in a child process ---------------------------------------------------------------------------------

def child_env(**extra: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update({"TASKVAULT_RESIDENT": "off", "PYTHONPATH": str(REPOSITORY)}, **extra)
    return environment


def run_child(directory: Path, *actions: str, timeout: float = 60, **extra: str) -> tuple[int, list[str]]:
    """Run tests/sync_child.py to the end: its exit status and its lines."""
    done = subprocess.run([sys.executable, "-m", "tests.sync_child", str(directory), *actions], cwd=REPOSITORY,
                          capture_output=True, text=True, env=child_env(**extra), timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.splitlines()


@attrs.define
class Paused:
    """What a child stopped at every step did: the steps it went through, its lines, and how it ended."""

    steps: list[str]
    lines: list[str]
    code: int


def run_paused(directory: Path, *actions: str, kill_at: int | None = None, timeout: float = 60,
               on_step: Callable[[int, str], bool] | None = None, **extra: str) -> Paused:
    """Run the child pausing at every step; SIGKILL its process group at step ``kill_at`` (while it waits
    there), or at the step where ``on_step(number, what)`` (called while the child waits) says True;
    ``extra``: more of the child's environment. Waits for every git process it started to end too (git runs
    in a session of its own, so the kill does not reach it, as it would not in life), so that nothing is
    still writing when the test looks."""
    child = subprocess.Popen([sys.executable, "-m", "tests.sync_child", str(directory), *actions], cwd=REPOSITORY,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=child_env(SYNC_CHILD_PAUSE="1", **extra), start_new_session=True)
    assert child.stdin is not None and child.stdout is not None
    steps, lines, gits = [], [], []
    try:
        for raw in child.stdout:
            line = raw.decode().rstrip("\n")
            lines.append(line)
            if not line.startswith("STEP "):
                continue
            _, number, what = line.split(" ", 2)
            steps.append(what)
            if what.startswith("running "):
                with contextlib.suppress(ProcessLookupError):
                    gits.append(os.pidfd_open(int(what.rsplit(" ", 1)[1])))
            stop = on_step is not None and on_step(int(number), what)
            if stop or (kill_at is not None and int(number) == kill_at):
                os.killpg(child.pid, signal.SIGKILL)
                break
            child.stdin.write(b"g")
            child.stdin.flush()
        code = child.wait(timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        for pipe in (child.stdin, child.stdout, child.stderr):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
        for fd in gits:
            ready, _, _ = select.select([fd], [], [], timeout)
            os.close(fd)
            assert ready, "a git process sync started did not end"
    return Paused(steps, lines, code)
