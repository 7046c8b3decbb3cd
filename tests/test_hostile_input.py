"""Hostile input: generated command lines, and random command sequences with injected failures.

* Any command line -- long, unicode, control characters, shell metacharacters, huge or negative
  numbers -- ends with a documented exit code and at most a line of error, never a traceback,
  and changes the store only as a valid command would (one revision, a store that still loads).
* A stateful test runs random sequences of commands, failed saves and restarts against a
  plain-Python model; after every step memory and a fresh reload from disk both equal the model.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from taskvault.cli import main as cli_main
from taskvault.commands.catalog import COMMANDS
from taskvault.store import files
from taskvault.store.housekeeping import Housekeeping

from .conftest import FIGURES, FaultyOs, Session, seed_store, store_bytes

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

WORDS = [c.name for c in COMMANDS] + ["help", "--json", "--", "--tag", "--title", "--priority", "--due", "--all",
                                      "--yes", "--sort", "--note", "--no-note", "--search", "-1", "0", "1", "2",
                                      "1-3", "3,4", "9" * 30, "-9" * 5, "+tag", "-tag", "high", "today",
                                      "$(rm -rf ~)", "`id`", "; ls", "| cat", "> /etc/passwd", "'", '"', "\\",
                                      "*", "~", "%s%n", "\x1b[31m", "\u202e", "\u0000", "日本語", "🙂" * 5]
TOKEN = st.one_of(st.sampled_from(WORDS), st.text(max_size=30), st.text(min_size=200, max_size=5000),
                  st.integers().map(str))
COMMAND_LINE = st.lists(TOKEN, min_size=1, max_size=8)
EXIT_CODES = {0, 1, 2, 3}
RUNS = {"command lines": 0}



def _run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main.main(argv)
    return code, out.getvalue(), err.getvalue()


class TestGeneratedCommandLines:
    @settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(argv=COMMAND_LINE)
    def test_any_command_line(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
        """A documented exit code, no traceback, one error line; a failure changes nothing."""
        directory = tmp_path / "store"
        if not directory.exists():
            seed_store(directory)
        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(directory))
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setattr(cli_main, "_read_script", lambda _: [])  # --script FILE must not read real files
        monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no command: an empty script on stdin
        before = store_bytes(directory)
        revision = Session(directory).state()[2]
        code, out, err = _run_main(argv)
        RUNS["command lines"] += 1
        assert code in EXIT_CODES, (argv, code, err)
        assert "Traceback" not in out + err
        if code != 0:
            assert err.count("\n") == 1 and err.startswith(("error:", "taskvault:")), (argv, err)
            assert store_bytes(directory) == before, argv
        after = Session(directory).state()  # the store still loads, with every task valid
        assert after[2] in (revision, revision + 1), "one command is at most one change"
        FIGURES["generated command lines"] = f"{RUNS['command lines']} runs, no traceback, failures changed nothing"


# -- the stateful test -----------------------------------------------------------------------

Model = dict[int, tuple[str, bool, frozenset[str]]]  # id -> (title, open?, tags)
TITLES = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                 max_size=20).map(str.strip).filter(bool)
TAGS = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
FAULTS = st.tuples(st.sampled_from(["write", "fsync", "lseek", "open", "replace"]),
                   st.sampled_from([errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EACCES, errno.EROFS]),
                   st.integers(min_value=1, max_value=4))
STEPS = {"steps": 0, "failed saves": 0, "restarts": 0}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


#: Compact every few changes, so failures hit compactions too.
COMPACTING_OFTEN = Housekeeping(compact_min_bytes=2048)


class StoreMachine(RuleBasedStateMachine):
    """Random commands, failures and restarts; memory, disk and a plain model agree after each."""

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.directory = Path(self.tmp.name) / "data"
        self.session = Session(self.directory, housekeeping=COMPACTING_OFTEN)
        self.model: Model = {}
        self.next_id = 1

    def teardown(self) -> None:
        FIGURES["stateful model test"] = (
            f"{STEPS['steps']} random commands ({STEPS['failed saves']} failed saves, {STEPS['restarts']} restarts); "
            "memory and reload equal the model after each")
        if hasattr(self, "session"):
            self.session.close()
            self.tmp.cleanup()

    def _run(self, line: str, fault: tuple[str, int, int] | None = None) -> int:
        STEPS["steps"] += 1
        if fault is None:
            return self.session.run(line)
        real = files.os
        files.os = FaultyOs(fault[0], fault[1], fail_at=fault[2], times=-1)  # type: ignore[assignment]
        try:
            return self.session.run(line)
        finally:
            files.os = real  # type: ignore[assignment]

    def _ids(self, data: Any) -> int:
        return data.draw(st.sampled_from([*sorted(self.model), self.next_id, 0]))

    def _outcome(self, line: str, fault: tuple[str, int, int] | None, expect: int) -> bool:
        """Run the line; True if it changed the store. ``expect``: 0 it changes, 1 it is refused, -1 a no-op.

        A fault may strike whatever the store touches before or during the save (exit 3, nothing
        changed), or a compaction after it (exit 0, a warning: the change is kept), or nothing at all.
        """
        code = self._run(line, fault)
        err = self.session.err.getvalue()
        if fault is not None and code == 3:
            STEPS["failed saves"] += 1
            assert err.count("\n") == 1 and os.strerror(fault[1]).lower() in err.lower(), err
            # A failed add may have named its id on disk (a voided or unconfirmed record): it is never reused.
            self.may_reserve = line.startswith("add ")
            if "may or may not be on disk" in err:  # the session saves nothing more: start another, as a user would
                self.restart()
            return False
        assert code == max(expect, 0), (line, fault, err)
        return expect == 0

    @rule(title=TITLES, tag=st.none() | TAGS, fault=st.none() | FAULTS)
    def add(self, title: str, tag: str | None, fault: tuple[str, int, int] | None) -> None:
        line = f"add -- {_quote(title)}" if tag is None else f"add --tag {tag} -- {_quote(title)}"
        if self._outcome(line, fault, 0):
            self.model[self.next_id] = (title, True, frozenset({tag} if tag else ()))
            self.next_id += 1

    def _status_change(self, data: Any, fault: tuple[str, int, int] | None, command: str, to_open: bool) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        expect = 1 if current is None else -1 if current[1] == to_open else 0
        if self._outcome(f"{command} {task_id}", fault, expect):
            assert current is not None
            self.model[task_id] = (current[0], to_open, current[2])

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def done(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        self._status_change(data, fault, "done", to_open=False)

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def reopen(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        self._status_change(data, fault, "reopen", to_open=True)

    @rule(data=st.data(), title=TITLES, tag=TAGS, fault=st.none() | FAULTS)
    def edit(self, data: Any, title: str, tag: str, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        expect = 1 if current is None else -1 if (current[0], tag in current[2]) == (title, True) else 0
        if self._outcome(f"edit {task_id} --tag +{tag} --title {_quote(title)}", fault, expect):
            assert current is not None
            self.model[task_id] = (title, current[1], current[2] | {tag})

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def delete(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        if self._outcome(f"delete {task_id}", fault, 1 if task_id not in self.model else 0):
            del self.model[task_id]

    @rule()
    def restart(self) -> None:
        STEPS["restarts"] += 1
        self.session.close()
        self.session = Session(self.directory, housekeeping=COMPACTING_OFTEN)

    def _view(self, tasks: Any) -> tuple[Model, int]:
        return {t.id: (t.title, t.is_open, frozenset(t.tags)) for t in tasks}, tasks.next_id

    @invariant()
    def memory_and_disk_equal_the_model(self) -> None:
        if not hasattr(self, "session"):
            return
        tasks, next_id = self._view(self.session.service.tasks)
        if getattr(self, "may_reserve", False) and next_id == self.next_id + 1:
            self.next_id = next_id
        self.may_reserve = False
        assert (tasks, next_id) == (self.model, self.next_id)
        reloaded = Session(self.directory, housekeeping=COMPACTING_OFTEN)
        assert self._view(reloaded.service.tasks) == (self.model, self.next_id)
        reloaded.close()
        assert not [n for n in os.listdir(self.directory) if ".tmp-" in n] if self.directory.exists() else True


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)

