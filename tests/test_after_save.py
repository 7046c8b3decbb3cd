"""A failure after a change is durable never says nothing was saved; a bad TZ is refused before any change.

Each test runs the installed program in a new process, with its output sent to a full disk, a pipe
nobody reads, or a closed descriptor, or with a bug injected after the save by a launcher.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_raw, run_taskvault, seed_store

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

#: Prints a store's titles: checks what the failed commands really saved.
TITLES = ("--json", "list", "--all")


def _titles(data_dir: Path) -> list[str]:
    return [t["title"] for t in json.loads(run_taskvault(data_dir, *TITLES).out)]


def _with_bug(kinds: str) -> list[str]:
    """The installed program with a bug in the text rendering of the results named (after any save)."""
    code = ("import taskvault.cli.render as r\n"
            "real = r.TextRenderer.render\n"
            "def render(self, result):\n"
            f"    if type(result).__name__ in {kinds.split()!r}:\n"
            "        raise ZeroDivisionError('a bug')\n"
            "    return real(self, result)\n"
            "r.TextRenderer.render = render\n"
            "from taskvault.cli.main import main\n"
            "raise SystemExit(main())\n")
    return [sys.executable, "-c", code]


def _dead_pipe() -> int:
    """The write end of a pipe whose read end is already closed: every write fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    return write


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


class TestTimeZoneIsCheckedFirst:
    @pytest.mark.parametrize("tz", ["UTC+25", "UTC-25", "<+99>99", "XXX24", "AAA-23:30BBB", "EST5EDT+24:00",
                                    "UTC+12:60", "garbage", "Nowhere/Land", ":Nowhere/Land", ":UTC+25", "A" * 5000,
                                    "CET-1CEST,M13.5.0,M10.5.0/3", "UTC0,"])
    def test_a_time_zone_python_cannot_use_is_refused_before_any_change(self, data_dir: Path, tz: str) -> None:
        """A usage error naming TZ (exit 2, one short line), and no store is created."""
        result = run_taskvault(data_dir, "add", "x", env={"TZ": tz})
        assert result.code == 2, result
        assert _one_line(result.err).startswith("error: TZ=") and len(result.err) < 400
        if tz in ("UTC+25", "XXX24", "AAA-23:30BBB"):
            assert "hours from UTC; taskvault handles less than 24 hours" in result.err
        assert not data_dir.exists() or sorted(p.name for p in data_dir.iterdir()) in ([], ["tasks.lock"])

    @pytest.mark.parametrize("tz", ["", ":", "UTC", "GMT", "Europe/Paris", ":Europe/Paris", ":UTC+3", "America/St_Johns",
                                    "EST5EDT", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30", "UTC+23:59:59",
                                    "NZST-12NZDT,M9.5.0,M4.1.0/3", "/usr/share/zoneinfo/Asia/Tokyo",
                                    "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"])
    def test_real_time_zones_work(self, data_dir: Path, tz: str) -> None:
        """Zone names, files and POSIX rules glibc understands are used as they are."""
        env = {"TZ": tz}
        assert run_taskvault(data_dir, "add", "x", "--due", "today", env=env).code == 0
        assert run_taskvault(data_dir, "show", "1", env=env).code == 0
        assert run_taskvault(data_dir, "history", env=env).code == 0

    def test_every_time_zone_the_check_accepts_converts(self) -> None:
        """For a grid of POSIX rules, any TZ the check lets through converts every instant of two years."""
        names, dsts = ["UTC", "AAA", "<+05>"], ["", "BBB", "BBB-24", "BBB+1", "BBB25", "BBB-23:59:59"]
        offsets = ["0", "5", "-5", "23", "-23", "23:59", "-23:59:59", "24", "-24", "25", "+24:00", "99", "12:60"]
        rules = ["", ",M3.2.0,M11.1.0", ",J60/2,J300/2", ",0/0,365/25", ",M3.5.0/-2,M10.5.0/26"]
        values = [n + o + d + (r if d else "") for n in names for o in offsets for d in dsts for r in rules]
        child = ("import datetime as dt, json, os, sys, time\n"
                 "from taskvault.cli import config\n"
                 "from taskvault.errors import UsageError\n"
                 "accepted, broken = 0, []\n"
                 "for value in json.loads(sys.stdin.read()):\n"
                 "    try:\n"
                 "        config.time_zone({'TZ': value})\n"
                 "    except UsageError:\n"
                 "        continue\n"
                 "    accepted += 1\n"
                 "    os.environ['TZ'] = value\n"
                 "    time.tzset()\n"
                 "    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)\n"
                 "    for hours in range(0, 2 * 366 * 24, 7):\n"
                 "        try:\n"
                 "            (start + dt.timedelta(hours=hours)).astimezone()\n"
                 "        except ValueError as exc:\n"
                 "            broken.append([value, str(exc)])\n"
                 "            break\n"
                 "print(json.dumps([accepted, broken]))\n")
        proc = subprocess.run([sys.executable, "-c", child], input=json.dumps(values), capture_output=True,
                              text=True, check=True)
        accepted, broken = json.loads(proc.stdout)
        assert broken == []
        assert 100 < accepted < len(values), "the grid holds both kinds"


class TestSavedThenTheOutputFails:
    def test_a_full_disk_for_the_output_after_a_save(self, data_dir: Path) -> None:
        """ENOSPC on stdout after the change is durable: exit 4, one line saying it was saved, and as what."""
        with open("/dev/full", "wb") as full:
            result = run_raw(data_dir, "add", "Buy milk", stdout=full.fileno())
        assert result.code == 4, result
        line = _one_line(result.err)
        assert "was saved" in line and "revision 1" in line and "add task 1" in line
        assert "No space left on device" in line and "do not run it again" in line and "nothing" not in line
        assert _titles(data_dir) == ["Buy milk"]

    def test_a_full_disk_for_the_output_of_a_read(self, data_dir: Path) -> None:
        """ENOSPC on stdout with nothing saved: exit 74, one line, no internal error."""
        seed_store(data_dir)
        with open("/dev/full", "wb") as full:
            result = run_raw(data_dir, "list", stdout=full.fileno())
        assert result.code == 74, result
        line = _one_line(result.err)
        assert "output could not be written" in line and "No space left on device" in line
        assert "internal error" not in line

    def test_a_reader_gone_after_a_save(self, data_dir: Path) -> None:
        """EPIPE on stdout after the change is durable: exit 4, one line saying it was saved."""
        write = _dead_pipe()
        try:
            result = run_raw(data_dir, "add", "Buy milk", stdout=write)
        finally:
            os.close(write)
        assert result.code == 4, result
        line = _one_line(result.err)
        assert "was saved" in line and "revision 1" in line and "do not run it again" in line
        assert _titles(data_dir) == ["Buy milk"]

    def test_a_reader_gone_on_a_read_is_quiet(self, data_dir: Path) -> None:
        """| head on a listing: exit 141 and nothing on stderr, as before."""
        seed_store(data_dir)
        write = _dead_pipe()
        try:
            result = run_raw(data_dir, "list", stdout=write)
        finally:
            os.close(write)
        assert (result.code, result.err) == (141, "")

    def test_a_script_stops_at_the_line_whose_output_failed(self, data_dir: Path) -> None:
        """Line 1 saved but could not say so: exit 4 naming line 1, and line 2 never runs."""
        with open("/dev/full", "wb") as full:
            result = run_raw(data_dir, stdin=b"add A\nadd B\n", stdout=full.fileno())
        assert result.code == 4, result
        line = _one_line(result.err)
        assert line.startswith("taskvault: line 1:") and "was saved" in line and "revision 1" in line
        assert _titles(data_dir) == ["A"]

    def test_a_restore_of_an_unreadable_store_counts_as_saved(self, data_dir: Path) -> None:
        """restore over a store that does not load writes the store: its failed output says so too."""
        seed_store(data_dir)
        assert run_taskvault(data_dir, "backup").code == 0
        (data_dir / "tasks.json").write_bytes(b"{" + b"\0" * 40)
        with open("/dev/full", "wb") as full:
            result = run_raw(data_dir, "restore", "latest", "--yes", stdout=full.fileno())
        assert result.code == 4, result
        assert "was saved" in _one_line(result.err)
        assert _titles(data_dir) == ["First", "Second", "Third"]


class TestSavedThenABug:
    def test_a_bug_after_the_save_says_it_was_saved(self, data_dir: Path) -> None:
        """A crash while rendering an add: exit 4, the revision, the crash log, never 'nothing was saved'."""
        result = run_raw(data_dir, "add", "Buy milk", command=_with_bug("TaskSaved"))
        assert result.code == 4, result
        line = _one_line(result.err)
        assert "internal error (ZeroDivisionError: a bug)" in line and "crash.log" in line
        assert "was saved" in line and "revision 1" in line and "nothing unconfirmed" not in line
        assert _titles(data_dir) == ["Buy milk"]

    def test_a_bug_with_nothing_saved_still_says_so(self, data_dir: Path) -> None:
        seed_store(data_dir)
        result = run_raw(data_dir, "list", command=_with_bug("TaskTable"))
        assert result.code == 70 and "nothing unconfirmed was saved" in _one_line(result.err)

    def test_a_bug_in_a_script_after_earlier_lines_saved(self, data_dir: Path) -> None:
        """Line 2 crashes after line 1 saved: the message says line 2 saved nothing and line 1's change stays."""
        result = run_raw(data_dir, stdin=b"add A\nlist\nadd never\n", command=_with_bug("TaskTable"))
        assert result.code == 70, result
        line = _one_line(result.err)
        assert line.startswith("taskvault: line 2:") and "nothing unconfirmed" not in line
        assert "line 2 saved nothing" in line and "1 change saved by earlier lines is kept" in line
        assert _titles(data_dir) == ["A"]

    def test_a_bug_on_the_line_that_saved(self, data_dir: Path) -> None:
        result = run_raw(data_dir, stdin=b"add A\nadd B\n", command=_with_bug("TaskSaved"))
        assert result.code == 4, result
        line = _one_line(result.err)
        assert line.startswith("taskvault: line 1:") and "line 1's change was saved" in line
        assert _titles(data_dir) == ["A"]

    def test_an_interrupt_after_the_save_says_it_was_saved(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
        """Ctrl-C while the acknowledgement is built: exit 130, and the message says the change was kept."""
        from taskvault.cli import main, render

        def interrupted(self: object, result: object) -> str:
            raise KeyboardInterrupt
        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(data_dir))
        monkeypatch.setattr(render.TextRenderer, "render", interrupted)
        assert main.main(["add", "Buy milk"]) == 130
        err = capsys.readouterr().err
        assert "interrupted" in err and "was saved" in err and "revision 1" in err


class TestClosedStandardStreams:
    def test_a_closed_stdout_is_refused_before_any_change(self, data_dir: Path) -> None:
        """With nowhere to acknowledge a change, none is made: exit 2 and one line on stderr."""
        result = run_raw(data_dir, "add", "x", stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
        assert result.code == 2, result
        assert "standard output is closed" in _one_line(result.err)
        assert not data_dir.exists()

    def test_a_closed_stderr_keeps_the_exit_codes(self, data_dir: Path) -> None:
        """Errors that cannot be shown still end with their own exit code; successes still succeed."""
        def close_stderr() -> None:
            os.close(2)
        assert run_raw(data_dir, "frob", preexec_fn=close_stderr).code == 2
        assert run_raw(data_dir, "show", "9", preexec_fn=close_stderr).code == 1
        added = run_raw(data_dir, "add", "x", preexec_fn=close_stderr)
        assert (added.code, added.out) == (0, "Added task 1: x\n")

    def test_a_closed_stdin_with_no_command_is_a_usage_error(self, data_dir: Path) -> None:
        result = run_raw(data_dir, stdin=None, preexec_fn=lambda: os.close(0))
        assert result.code == 2 and "standard input is closed" in _one_line(result.err)
