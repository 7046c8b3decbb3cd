"""Progress on long work: restore, salvage, the upgrade of an older store and compaction show how far they
have got on a terminal's status line, cleared before the result or an error; scripts, pipes and --json never
see it. The store reports through a (done, total) callback the interface gives through the service.

The pty tests run the real program with the interface's threshold (cli/progress.py DELAY, 0.5 s) set to 0 in
its own process, so that a small store shows what a large one would, with no assumption about timing.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import pexpect
import pytest

from taskvault import bootstrap
from taskvault.cli.progress import Progress, counted
from taskvault.domain.operations import plan_add
from taskvault.service import Retention, TaskService
from taskvault.store.housekeeping import Housekeeping

from .conftest import run_raw, store_digest

FIXTURES = Path(__file__).parent / "fixtures"
#: The program, its progress threshold set to 0 and its rate unbounded in its own process (so that every count
#: a step reports is written, however fast this machine runs it: a 6,001-task backup can end within the 0.1 s
#: that the rate limit would otherwise drop its counts in);
#: PAUSE_AT_PROGRESS=TEXT makes it wait for a key at the first progress line holding TEXT (a test presses Ctrl-C there).
PROGRAM = [sys.executable, "-c", """
import os, sys
import taskvault.cli.progress as progress
progress.DELAY = 0.0
progress._PER_SECOND = 1e9
if os.environ.get("PAUSE_AT_PROGRESS"):
    write = progress.Progress._write
    def paused(self, text):
        write(self, text)
        if os.environ["PAUSE_AT_PROGRESS"] in text and not getattr(progress, "paused", False):
            progress.paused = True
            os.read(0, 1)  # the test presses Ctrl-C here: the interrupt arrives in the middle of the work
    progress.Progress._write = paused
from taskvault.cli.main import main
sys.exit(main())
"""]
CLEAR = "\r\x1b[K"
#: What any progress line holds (its counts), and never the rest of the output.
COUNTED = " tasks ("


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_") and k not in ("COLUMNS", "LINES")}
    return env | {"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off", "TERM": "xterm",
                  "XDG_STATE_HOME": str(data_dir.parent / "state"), "TASKVAULT_CONFIG": "/dev/null",
                  "PAGER": "cat", **extra}  # (a restore's long result would open less on this terminal: not the subject here)


def on_terminal(data_dir: Path, *args: str, **extra: str) -> tuple[int, str]:
    """Run the program on a pty (standard input, output and error all the terminal); its exit status and
    every byte it wrote there."""
    child = pexpect.spawn(PROGRAM[0], [*PROGRAM[1:], *args], env=_env(data_dir, **extra), dimensions=(30, 200),
                          timeout=60, encoding="utf-8", codec_errors="replace")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus if child.exitstatus is not None else -child.signalstatus, child.before


def assert_shown_then_cleared(screen: str, text: str, before: str | None = None) -> None:
    """``text`` was shown on the status line, with its counts, and the line was cleared after its last update,
    before ``before`` (the result or an error) was printed."""
    assert text in screen, screen[-2000:]
    last = screen.rindex(text)
    assert COUNTED in screen[last:screen.find("\r", last)], screen[last:last + 400]
    cleared = screen.find(CLEAR, last)
    assert cleared != -1, f"the line was never cleared: {screen[last:last + 400]!r}"
    if before is not None:
        assert cleared < screen.index(before, last), screen[last:last + 400]


def no_progress(text: str) -> None:
    assert COUNTED not in text and "\x1b[K" not in text and "…" not in text, text[-2000:]


def taskwarrior_file(path: Path, count: int) -> Path:
    """A Taskwarrior export of ``count`` pending tasks, as a user moving in has one."""
    records = [{"uuid": str(uuid.UUID(int=n + 1)), "description": f"task {n} of the move", "status": "pending",
                "entry": "20240101T000000Z", "modified": "20240102T000000Z", "project": "move", "tags": ["a"]}
               for n in range(count)]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 6,001 tasks built as users build one: an add, then an import of a Taskwarrior file (which
    backs up first and compacts after), then a named backup of it all."""
    root = tmp_path_factory.mktemp("big")
    store = root / "data"
    assert run_raw(store, "add", "first").code == 0
    done = run_raw(store, "import", "--from", "taskwarrior", str(taskwarrior_file(root / "tw.json", 6000)), "--yes")
    assert done.code == 0, done.err
    assert run_raw(store, "backup", "all").code == 0
    return store


def copy_of(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(store, target)
    return target


class TestStatusLine:
    def test_counted_text(self) -> None:
        """The line says what, how many of how many, and the share done; without a total, what alone."""
        assert counted("restoring", 41_000, 100_000) == "restoring: 41,000 of 100,000 tasks (41 %)"
        assert counted("reading", 0, None) == "reading…"
        assert counted("reading", 12, None) == "reading: 12 tasks"
        assert counted("nothing", 0, 0) == "nothing: 0 of 0 tasks (100 %)"

    def test_quick_work_shows_nothing(self) -> None:
        """Work that ends before the threshold writes no byte, not even the clear."""
        err = io.StringIO()
        progress = Progress(err, delay=3600)
        report = progress.counting("restoring")
        for done in range(0, 10_000, 100):
            report(done, 10_000)
        progress.clear()
        assert err.getvalue() == ""

    def test_shown_then_cleared(self) -> None:
        """Past the threshold the line is written in place, a new step at once, and clear takes it away."""
        err = io.StringIO()
        progress = Progress(err, delay=0)
        progress.counting("reading")(0, 10)
        progress.counting("saving")(5, 10)
        progress.clear()
        assert err.getvalue() == f"{CLEAR}reading: 0 of 10 tasks (0 %){CLEAR}saving: 5 of 10 tasks (50 %){CLEAR}"

    def test_a_line_is_cut_to_one_row_of_a_narrow_terminal(self) -> None:
        """On a terminal 20 columns wide each update fits 19 (ellipsis included): a wrapped line would leave
        its first rows behind, since the next update goes back to the start of the last row only."""
        import fcntl
        import struct
        import termios

        main, sub = os.openpty()
        fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 10, 20, 0, 0))
        try:
            with open(sub, "w", encoding="utf-8", closefd=False) as err:
                progress = Progress(err, delay=0)
                progress.counting("reading /a/rather/long/path/to/tasks.json")(36_000, None)
                progress.clear()
            written = os.read(main, 4096).decode()
        finally:
            os.close(main)
            os.close(sub)
        shown = [part for part in written.split(CLEAR) if part]
        assert shown == ["reading /a/rather/…"], written

    @pytest.mark.parametrize("failure", [OSError(5, "Input/output error"), ValueError("I/O operation on closed file")])
    def test_a_terminal_gone_never_fails_the_work(self, failure: Exception) -> None:
        """A write that fails (EIO, a closed stream) is swallowed: the callback returns, the work goes on."""
        class Gone(io.StringIO):
            def write(self, text: str) -> int:
                raise failure

        progress = Progress(Gone(), delay=0)
        progress.counting("restoring")(1, 2)
        progress("saving")
        progress.clear()


class Recorder:
    """A callback that keeps every (done, total) it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))

    def check(self, total: int) -> None:
        """Told more than once, the counts never went back, and the last one is the total, of that total."""
        assert len(self.calls) > 1, self.calls
        dones = [done for done, _ in self.calls]
        assert dones == sorted(dones), self.calls
        assert self.calls[-1] == (total, total), self.calls[-5:]


def _service(directory: Path, **kwargs: object) -> TaskService:
    return bootstrap.service(directory, lock_timeout=5, retention=Retention(), **kwargs)  # type: ignore[arg-type]


class TestThroughTheService:
    """The callback, from the service down to the codec: counts that only grow, ending at the total."""

    def test_restore_reads_and_backs_up_with_progress(self, big_store: Path, tmp_path: Path) -> None:
        service = _service(copy_of(big_store, tmp_path))
        reading = Recorder()
        snapshot = service.read_backup(service.find_backup("all"), reading)
        reading.check(6001)
        assert len(snapshot.tasks) == 6001
        backing_up = Recorder()
        service.execute(lambda tasks: plan_add(tasks, "one more", now=service.now()), backup_first="restore",
                        progress=backing_up)
        backing_up.check(6001)
        service.close()

    def test_compaction_in_tidy(self, big_store: Path, tmp_path: Path) -> None:
        service = _service(copy_of(big_store, tmp_path), housekeeping=Housekeeping(compact_min_bytes=0, journal_share=0))
        service.execute(lambda tasks: plan_add(tasks, "last", now=service.now()))
        assert service.figures().journal_records == 1
        compacting = Recorder()
        service.tidy(progress=compacting)
        compacting.check(6002)
        assert service.figures().journal_records == 0, "compacted"
        service.close()

    def test_upgrade_of_an_older_store(self, tmp_path: Path) -> None:
        directory = tmp_path / "d"
        shutil.copytree(FIXTURES / "v4" / "compacted", directory)
        upgrading = Recorder()
        service = _service(directory, upgrade_progress=upgrading)
        count = len(service.tasks)
        assert service.migrated is not None
        upgrading.check(2 * count)  # the backup as it was, then the new snapshot
        service.close()

    def test_salvage_reads_and_writes_with_progress(self, big_store: Path, tmp_path: Path) -> None:
        directory = copy_of(big_store, tmp_path)
        _damage(directory / "tasks.json")
        service = _service(directory)
        reading = Recorder()
        found = service.salvage_preview(reading)
        reading.check(6001)
        salvaging = Recorder()
        done = service.salvage(found, salvaging)  # type: ignore[arg-type]
        assert salvaging.calls[0] == (0, None)
        salvaging.calls.pop(0)
        salvaging.check(len(done.tasks))  # type: ignore[union-attr]
        service.close()


def _damage(snapshot: Path) -> None:
    """Change one character of a task's title: the file fails its checksum, every line still decodes."""
    data = snapshot.read_bytes()
    at = data.index(b"task 7")
    snapshot.write_bytes(data[:at] + b"tusk 7" + data[at + 6:])


class TestOnATerminal:
    def test_restore(self, big_store: Path, tmp_path: Path) -> None:
        """A restore shows reading the backup and backing up the store, cleared before its result."""
        store = copy_of(big_store, tmp_path)
        first = min(os.listdir(store / "backups")).split("-r")[0]
        status, screen = on_terminal(store, "restore", first, "--yes")
        assert status == 0, screen[-2000:]
        assert_shown_then_cleared(screen, "backing up the store before the restore: ",
                                  before="Restored backup")
        status, screen = on_terminal(store, "restore", "all", "--yes")
        assert status == 0, screen[-2000:]
        assert_shown_then_cleared(screen, "reading backup ", before="Restored backup")
        assert "of 6,001 tasks (" in screen

    def test_salvage(self, big_store: Path, tmp_path: Path) -> None:
        """A salvage shows reading the damaged store and salvaging, cleared before its result."""
        store = copy_of(big_store, tmp_path)
        _damage(store / "tasks.json")
        status, screen = on_terminal(store, "salvage", "--yes")
        assert status == 0, screen[-2000:]
        assert_shown_then_cleared(screen, "reading the damaged store: ")
        assert_shown_then_cleared(screen, "salvaging the store: ", before="Salvaged")

    def test_upgrade(self, tmp_path: Path) -> None:
        """Opening an older store shows its upgrade, cleared before the command's output."""
        store = tmp_path / "data"
        shutil.copytree(FIXTURES / "v4" / "compacted", store)
        status, screen = on_terminal(store, "list")
        assert status == 0, screen[-2000:]
        assert_shown_then_cleared(screen, "upgrading the store to schema 6: 0 of ", before="ID")
        assert_shown_then_cleared(screen, "upgrading the store to schema 6: ", before="ID")

    def test_compaction_after_a_one_shot_change(self, tmp_path: Path) -> None:
        """The compaction after a one-shot command is shown after its result, and cleared before the exit."""
        store = tmp_path / "data"
        assert run_raw(store, "add", "first").code == 0
        status, screen = on_terminal(store, "import", "--from", "taskwarrior",
                                     str(taskwarrior_file(tmp_path / "tw.json", 3000)), "--yes")
        assert status == 0, screen[-2000:]
        result = screen.index("Imported 3,000 tasks")
        assert "compacting the store: " in screen[result:] and "of 3,001 tasks (" in screen[result:]
        assert screen.rstrip("\r\n").endswith(CLEAR) or screen.rindex(CLEAR) > screen.rindex("compacting the store")

    def test_ctrl_c_during_a_restore(self, big_store: Path, tmp_path: Path) -> None:
        """Ctrl-C in the middle of a restore (its backup of the store, under the lock): the line is cleared, the
        usual message shows, nothing was changed and the store loads."""
        store = copy_of(big_store, tmp_path)
        first = min(os.listdir(store / "backups")).split("-r")[0]
        before = store_digest(store)
        pause = "backing up the store before the restore: 4,096 of"
        child = pexpect.spawn(PROGRAM[0], [*PROGRAM[1:], "restore", first, "--yes"],
                              env=_env(store, PAUSE_AT_PROGRESS=pause), dimensions=(30, 200), timeout=60,
                              encoding="utf-8")
        child.expect(pause)
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
        screen = child.before
        assert child.exitstatus == 130, screen
        assert "taskvault: interrupted" in screen
        assert screen.index(CLEAR) < screen.index("taskvault: interrupted"), repr(screen)
        assert "Restored" not in screen
        assert store_digest(store) == before
        assert len(_service(store).tasks) == 6001


class TestNobodyWatching:
    """Where nobody watches a terminal, no byte of progress is written, even at threshold 0."""

    def _restore_args(self, store: Path) -> list[str]:
        return ["restore", min(os.listdir(store / "backups")).split("-r")[0], "--yes"]

    def test_standard_error_piped(self, big_store: Path, tmp_path: Path) -> None:
        store = copy_of(big_store, tmp_path)
        done = run_raw(store, *self._restore_args(store), command=PROGRAM)
        assert done.code == 0, done.err
        assert done.err == ""

    def test_json_on_a_terminal(self, big_store: Path, tmp_path: Path) -> None:
        store = copy_of(big_store, tmp_path)
        status, screen = on_terminal(store, "--json", *self._restore_args(store))
        assert status == 0, screen[-2000:]
        no_progress(screen)

    def test_script_on_a_terminal(self, big_store: Path, tmp_path: Path) -> None:
        store = copy_of(big_store, tmp_path)
        script = tmp_path / "restore.tv"
        script.write_text(" ".join(self._restore_args(store)) + "\n", encoding="utf-8")
        status, screen = on_terminal(store, "--script", str(script))
        assert status == 0, screen[-2000:]
        assert "Restored backup" in screen
        no_progress(screen)

    def test_upgrade_with_standard_error_piped(self, tmp_path: Path) -> None:
        store = tmp_path / "data"
        shutil.copytree(FIXTURES / "v4" / "compacted", store)
        done = run_raw(store, "list", command=PROGRAM)
        assert done.code == 0, done.err
        assert done.err.startswith("note: the store was upgraded to schema 6"), done.err
        assert "\x1b" not in done.err and "\r" not in done.err
