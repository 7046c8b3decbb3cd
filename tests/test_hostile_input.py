"""Hostile input: generated command lines, and random command sequences with injected failures.

* Any command line -- long, unicode, control characters, shell metacharacters, huge or negative
  numbers -- ends with a documented exit code and at most a line of error, never a traceback,
  and changes the store only as a valid command would (one revision, a store that still loads).
* A stateful test runs random sequences of commands, failed saves and restarts against a
  plain-Python model; after every step memory and a fresh reload from disk both equal the model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from taskvault.cli import main as cli_main
from taskvault.commands.catalog import COMMANDS
from taskvault.store import files
from taskvault.store.housekeeping import Housekeeping

from .conftest import FIGURES, FaultyOs, Session, seed_store, store_bytes
from .killstorm import Held, waits_for

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

WORDS = [c.name for c in COMMANDS] + ["help", "--json", "--", "--tag", "--title", "--priority", "--due", "--all",
                                      "--yes", "--sort", "--note", "--no-note", "--search", "-1", "0", "1", "2",
                                      "1-3", "3,4", "9" * 30, "-9" * 5, "+tag", "-tag", "high", "today",
                                      "$(rm -rf ~)", "`id`", "; ls", "| cat", "> /etc/passwd", "'", '"', "\\",
                                      "*", "~", "%s%n", "\x1b[31m", "\u202e", "\u0000", "日本語", "🙂" * 5,
                                      # schema 4's attribute words, as typed and as mistyped
                                      "project:home.kitchen", "project:", "project:a..b", "due:+3d", "due:",
                                      "wait:tomorrow", "scheduled:mon", "until:eom", "depends:1", "depends:-1",
                                      "depends:1,2", "depends:", "depends:1-3", "priority:L", "pri:H", "priorty:H",
                                      "recur:weekly", "1,2,3", "+ünï", "-home", "dew:fri", "ünï ☕ note"]
TOKEN = st.one_of(st.sampled_from(WORDS), st.text(max_size=30), st.text(min_size=200, max_size=5000),
                  st.integers().map(str))
COMMAND_LINE = st.lists(TOKEN, min_size=1, max_size=8)
EXIT_CODES = {0, 1, 2, 3, 5}  # (5: a sync that failed, e.g. no remote set or none that answers)
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
        monkeypatch.chdir(tmp_path)  # (a relative remote such as '.' names no repository: never this checkout)
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

Model = dict[int, Held]  # id -> what the store must hold of the task (tests/killstorm.py)
TITLES = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                 max_size=20).map(str.strip).filter(bool)
TAGS = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
PROJECTS = st.from_regex(r"[a-zé][a-z0-9ü]{0,5}(\.[a-z][a-z0-9]{0,5}){0,2}", fullmatch=True)
DUES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)).map(dt.date.isoformat)
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
        # Mostly a task that is there (each command then does something), sometimes one that is not.
        return data.draw(st.sampled_from([*sorted(self.model) * 4, self.next_id, 0]))

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
            self.model[self.next_id] = Held(title, tags=frozenset({tag} if tag else ()))
            self.next_id += 1

    @rule(data=st.data(), title=TITLES, project=st.none() | PROJECTS, due=st.none() | DUES, tag=st.none() | TAGS,
          depends=st.booleans(), fault=st.none() | FAULTS)
    def add_with_new_fields(self, data: Any, title: str, project: str | None, due: str | None, tag: str | None,
                            depends: bool, fault: tuple[str, int, int] | None) -> None:
        """add with schema 4's attribute words after its title: refused when it depends on a task not there."""
        other = self._ids(data) if depends else None
        words = [f"project:{project}" if project else "", f"due:{due}" if due else "", f"+{tag}" if tag else "",
                 f"depends:{other}" if other is not None else ""]
        line = f"add {' '.join(w for w in words if w)} -- {_quote(title)}"
        refused = other is not None and other not in self.model
        if self._outcome(line, fault, 1 if refused else 0):
            self.model[self.next_id] = Held(title, tags=frozenset({tag} if tag else ()), project=project, due=due,
                                            depends=frozenset({other} if other is not None else ()))
            self.next_id += 1

    def _status_change(self, data: Any, fault: tuple[str, int, int] | None, command: str, to_open: bool) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        expect = 1 if current is None else -1 if (current.status == "open") == to_open else 0
        if self._outcome(f"{command} {task_id}", fault, expect):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, status="open" if to_open else "done",
                                               started=current.started and to_open)  # done stops it

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
        expect = 1 if current is None else -1 if (current.title, tag in current.tags) == (title, True) else 0
        if self._outcome(f"edit {task_id} --tag +{tag} --title {_quote(title)}", fault, expect):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, title=title, tags=current.tags | {tag})

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def delete(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        if self._outcome(f"delete {task_id}", fault, 1 if task_id not in self.model else 0):
            del self.model[task_id]
            for other, held in self.model.items():  # a dependency on it stays, on a task no longer there
                if task_id in held.depends:
                    self.model[other] = attrs.evolve(held, depends=held.depends - {task_id}, gone=held.gone + 1)

    # -- schema 4's commands --------------------------------------------------------------------

    def _waits_for(self, first: int, second: int) -> bool:
        return waits_for({i: t.depends for i, t in self.model.items()}, first, second)

    @rule(data=st.data(), project=st.none() | PROJECTS, due=st.none() | DUES, tag=st.none() | TAGS,
          depends=st.booleans(), fault=st.none() | FAULTS)
    def modify(self, data: Any, project: str | None, due: str | None, tag: str | None, depends: bool,
               fault: tuple[str, int, int] | None) -> None:
        """modify ID project:P due:DATE +TAG depends:N, any of them; refused for a missing task or a cycle."""
        task_id = self._ids(data)
        other = self._ids(data) if depends else None
        words = [f"project:{project}" if project else "", f"due:{due}" if due else "", f"+{tag}" if tag else "",
                 f"depends:{other}" if other is not None else ""]
        if not any(words):
            return
        current = self.model.get(task_id)
        refused = (current is None or (other is not None and (other not in self.model or other == task_id
                                                                or (other not in current.depends
                                                                    and self._waits_for(other, task_id)))))
        changed = None if refused or current is None else attrs.evolve(
            current, project=project or current.project, due=due or current.due,
            tags=current.tags | ({tag} if tag else set()),
            depends=current.depends | ({other} if other is not None else set()))
        expect = 1 if refused else -1 if changed == current else 0
        if self._outcome(f"modify {task_id} {' '.join(w for w in words if w)}", fault, expect):
            assert changed is not None
            self.model[task_id] = changed

    @rule(data=st.data(), letter=st.sampled_from(["L", "M", "H"]), fault=st.none() | FAULTS)
    def bulk_priority(self, data: Any, letter: str, fault: tuple[str, int, int] | None) -> None:
        """modify A,B,C priority:X: one change to every task, or none when one is missing."""
        ids = sorted({self._ids(data) for _ in range(3)})
        value = {"L": "low", "M": "medium", "H": "high"}[letter]
        missing = any(i not in self.model for i in ids)
        expect = 1 if missing else -1 if all(self.model[i].priority == value for i in ids) else 0
        if self._outcome(f"modify {','.join(map(str, ids))} priority:{letter}", fault, expect):
            for i in ids:
                self.model[i] = attrs.evolve(self.model[i], priority=value)

    @rule(data=st.data(), text=TITLES, fault=st.none() | FAULTS)
    def annotate(self, data: Any, text: str, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        full = current is not None and len(current.annotations) >= 100
        if self._outcome(f"annotate {task_id} -- {_quote(text)}", fault, 1 if current is None or full else 0):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, annotations=(*current.annotations, text))

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def denotate(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        if self._outcome(f"denotate {task_id} 1", fault, 1 if current is None or not current.annotations else 0):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, annotations=current.annotations[1:])

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def start_task(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        expect = 1 if current is None or current.status != "open" else -1 if current.started else 0
        if self._outcome(f"start {task_id}", fault, expect):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, started=True)

    @rule(data=st.data(), fault=st.none() | FAULTS)
    def stop(self, data: Any, fault: tuple[str, int, int] | None) -> None:
        task_id = self._ids(data)
        current = self.model.get(task_id)
        expect = 1 if current is None else 0 if current.started else -1
        if self._outcome(f"stop {task_id}", fault, expect):
            assert current is not None
            self.model[task_id] = attrs.evolve(current, started=False)

    @rule()
    def restart(self) -> None:
        STEPS["restarts"] += 1
        self.session.close()
        self.session = Session(self.directory, housekeeping=COMPACTING_OFTEN)

    def _view(self, tasks: Any) -> tuple[Model, int]:
        ids = {t.uuid: t.id for t in tasks}
        return {t.id: Held(t.title, t.status.value, frozenset(t.tags), t.project,
                           t.priority.value if t.priority else None, t.due.isoformat() if t.due else None,
                           t.started is not None, tuple(a.text for a in t.annotations),
                           frozenset(ids[u] for u in t.depends if u in ids), sum(u not in ids for u in t.depends))
                for t in tasks}, tasks.next_id

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

