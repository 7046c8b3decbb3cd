"""A store on a real read-only file system (issue 14, item 8): everything that reads works, in every mode; a change
fails with one line saying the store is read-only (exit 3), and nothing is written.

The file systems are real: a tmpfs remounted read-only (with and without a lock file on it), and an ext4 image
mounted with errors=remount-ro whose kernel turns it read-only under a session that has already saved (the way a
failing disk does). Mounting needs root; without it these tests are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from .conftest import TASKVAULT, Session, require_tool, run_taskvault, store_digest

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: The store on each medium: history, a done task, a tag, a due date, a note.
BUILD = (["add", "Water plants", "--tag", "home"], ["add", "Pay rent", "--due", "2031-01-01", "--note", "by transfer"],
         ["add", "Call mum"], ["done", "1"], ["edit", "3", "--title", "Call mum today"])
#: Commands that only read, each with the output it must give (taken before the medium went read-only).
READS = (["list"], ["list", "--all"], ["show", "2"], ["history"], ["--json", "list", "--all"])
#: Commands that would change something.
CHANGES = (["add", "New"], ["done", "2"], ["edit", "2", "--title", "Renamed"], ["delete", "3", "--yes"], ["undo"],
           ["backup"])


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root (run the suite as root, as CI does)")


@contextlib.contextmanager
def _mounted(point: Path, *args: str) -> Iterator[None]:
    """``mount ARGS point`` for the duration; skipped (with mount's reason) if this machine cannot mount it."""
    _need_root()
    require_tool("findmnt")
    point.mkdir(parents=True, exist_ok=True)
    mounted = _run([require_tool("mount"), *args, str(point)])
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a test file system here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        if _run(["umount", str(point)]).returncode != 0:
            _run(["umount", "-l", str(point)])  # something still has it open: detach it anyway


def _remount_read_only(point: Path) -> None:
    remounted = _run(["mount", "-o", "remount,ro", str(point)])
    assert remounted.returncode == 0, remounted.stderr
    assert "ro" in _options(point), _options(point)


def _options(point: Path) -> list[str]:
    found = _run(["findmnt", "-n", "-o", "OPTIONS", "--mountpoint", str(point)])
    return found.stdout.strip().split(",")


@attrs.frozen
class Medium:
    data_dir: Path
    outputs: dict[tuple[str, ...], str]  # each of READS, as printed before the medium went read-only


def _build(data_dir: Path) -> dict[tuple[str, ...], str]:
    for command in BUILD:
        assert run_taskvault(data_dir, *command).code == 0
    outputs = {}
    for command in READS:
        result = run_taskvault(data_dir, *command)
        assert result.code == 0 and result.err == "", result
        outputs[tuple(command)] = result.out
    return outputs


@pytest.fixture(scope="module", params=["with its lock file", "without a lock file"])
def medium(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Medium]:
    """A store on a tmpfs, then remounted read-only (the lock file removed first, for the second kind)."""
    point = tmp_path_factory.mktemp("ro") / "medium"
    # 256 MiB: tmpfs takes memory only for what is written, and doctor wants 64 MiB free to call the disk healthy.
    with _mounted(point, "-t", "tmpfs", "-o", "size=256M,mode=0700", "tmpfs"):
        data_dir = point / "data"
        outputs = _build(data_dir)
        if request.param == "without a lock file":
            (data_dir / "tasks.lock").unlink()
        _remount_read_only(point)
        yield Medium(data_dir, outputs)


def _one_read_only_line(code: int, out: str, err: str, prefix: str = "") -> None:
    assert code == 3, err
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(prefix + "error: ") and "read-only file system" in err.lower(), err


class TestOneShot:
    def test_every_read_works(self, medium: Medium) -> None:
        """list, show, history (and --json) print exactly what they printed before; stats and doctor work too."""
        for command, output in medium.outputs.items():
            result = run_taskvault(medium.data_dir, *command)
            assert (result.code, result.out, result.err) == (0, output, ""), command
        stats = run_taskvault(medium.data_dir, "stats")
        assert stats.code == 0 and "tasks      3 (2 open, 1 done); next id 4" in stats.out, stats
        doctor = run_taskvault(medium.data_dir, "doctor")
        assert doctor.code == 0 and "loads: 2 open and 1 done tasks at revision 5" in doctor.out, doctor.out
        assert "0 problems" in doctor.out

    def test_every_change_fails_in_one_line_saying_why(self, medium: Medium) -> None:
        """add, done, edit, delete, undo and backup: exit 3, one line naming the read-only file system; the store
        then reads exactly as before."""
        before = store_digest(medium.data_dir)
        for command in CHANGES:
            result = run_taskvault(medium.data_dir, *command)
            _one_read_only_line(result.code, result.out, result.err)
        as_json = run_taskvault(medium.data_dir, "--json", "add", "New")
        assert as_json.code == 3 and '"code": 3' in as_json.out and "read-only" in as_json.out, as_json
        assert store_digest(medium.data_dir) == before
        assert run_taskvault(medium.data_dir, "list").out == medium.outputs[("list",)]


class TestScriptMode:
    def test_reads_from_standard_input(self, medium: Medium) -> None:
        """A script of reads runs whole, exit 0, on standard input."""
        result = run_taskvault(medium.data_dir, stdin="list\nshow 2\nhistory\nstats\ndoctor\n")
        assert result.code == 0 and result.err == "", result
        assert result.out.startswith(medium.outputs[("list",)] + medium.outputs[("show", "2")]
                                     + medium.outputs[("history",)])

    def test_a_change_in_a_script_stops_it_with_its_line(self, medium: Medium) -> None:
        """The change's line fails with one line saying the store is read-only; reads before it ran; with
        --keep-going the reads after it run too."""
        stopped = run_taskvault(medium.data_dir, stdin="list\nadd New\nlist --all\n")
        assert stopped.code == 3 and stopped.out == medium.outputs[("list",)], stopped
        assert stopped.err.startswith("line 2: error: ") and stopped.err.count("\n") == 1
        assert "read-only file system" in stopped.err
        going = run_taskvault(medium.data_dir, "--keep-going", stdin="list\nadd New\nlist --all\n")
        assert going.code == 3 and going.out == medium.outputs[("list",)] + medium.outputs[("list", "--all")]

    def test_a_script_file(self, medium: Medium, tmp_path: Path) -> None:
        """--script FILE (the file elsewhere): the same, reads work and the change fails with its line."""
        script = tmp_path / "script.tv"
        script.write_text("history\ndone 2\n")
        result = run_taskvault(medium.data_dir, "--script", str(script))
        assert result.code == 3 and result.out == medium.outputs[("history",)], result
        assert result.err.startswith("line 2: error: ") and "read-only file system" in result.err


class TestARunningSession:
    def test_the_medium_goes_read_only_under_an_in_process_session(self, tmp_path: Path) -> None:
        """A session that has read (and so holds nothing open for writing) goes on reading once its medium is
        remounted read-only; its change fails with one line and changes neither memory nor disk."""
        point = tmp_path / "medium"
        with _mounted(point, "-t", "tmpfs", "-o", "size=256M,mode=0700", "tmpfs"):
            data_dir = point / "data"
            outputs = _build(data_dir)
            session = Session(data_dir)
            try:
                assert session.run("list") == 0 and session.out.getvalue() == outputs[("list",)]
                state = session.state()
                _remount_read_only(point)
                for line in ("list", "show 2", "history", "stats", "doctor"):
                    assert session.run(line) == 0, (line, session.err.getvalue())
                    assert session.err.getvalue() == "", line
                assert session.run("add New") == 3
                _one_read_only_line(3, session.out.getvalue(), session.err.getvalue(), prefix="line 1: ")
                assert session.state() == state
                assert session.run("show 2") == 0 and session.out.getvalue() == outputs[("show", "2")]
            finally:
                session.close()

    def test_the_disk_fails_under_a_session_that_has_saved(self, tmp_path: Path) -> None:
        """ext4 with errors=remount-ro, made to fail (as a dying disk does) while a script session that has
        already saved holds the store open: the next change fails in one line, reads go on, exit 3."""
        mkfs = require_tool("mkfs.ext4")
        image, point = tmp_path / "ext4.img", tmp_path / "medium"
        with image.open("wb") as handle:
            handle.truncate(32 << 20)
        made = _run([mkfs, "-q", "-F", str(image)])
        assert made.returncode == 0, made.stderr
        with _mounted(point, "-o", "loop,errors=remount-ro", str(image)):
            source = _run(["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(point)]).stdout.strip()
            trigger = Path("/sys/fs/ext4") / Path(source).name / "trigger_fs_error"
            if not trigger.exists():
                pytest.skip(f"this kernel has no {trigger} to make the file system fail")
            data_dir = point / "data"
            env = {**os.environ, "TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
            proc = subprocess.Popen([*TASKVAULT, "--keep-going"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
            watchdog = threading.Timer(60, proc.kill)  # not synchronisation: a hang fails instead of blocking CI
            watchdog.start()
            assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
            try:
                proc.stdin.write("add Before the failure\n")
                proc.stdin.flush()
                assert proc.stdout.readline() == "Added task 1: Before the failure\n"
                trigger.write_text("taskvault test: the disk fails\n")
                assert "emergency_ro" in _options(point), _options(point)
                proc.stdin.write("add After the failure\nshow 1\n")
                proc.stdin.close()
                err = proc.stderr.read()
                out = proc.stdout.read()
                assert proc.wait(timeout=30) == 3
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert err.startswith("line 2: error: ") and err.count("\n") == 1 and "Read-only file system" in err, err
            assert "nothing was changed" in err
            assert out.startswith("Task 1: Before the failure\n"), out
            listed = run_taskvault(data_dir, "list")
            assert listed.code == 0 and "Before the failure" in listed.out and "After" not in listed.out, listed
