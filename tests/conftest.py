"""Shared fixtures: isolated data directories, the installed program, fault injection at the OS boundary."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno as errno_module
import functools
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from taskvault.bootstrap import replace_file
from taskvault.cli.main import Runner
from taskvault.cli.render import Style
from taskvault.cli.user_files import UserFiles
from taskvault.errors import TaskvaultError
from taskvault.service import TaskService
from taskvault.store import files
from taskvault.store.journal_store import JournalStore

# No command of the test run starts a resident process or hands its work to one (tests/test_resident.py
# turns it on for its own): a fault injected into a command's process must meet that command's own writes.
os.environ["TASKVAULT_RESIDENT"] = "off"

#: The installed program, run the way a user runs it (a fresh interpreter each time).
TASKVAULT = [sys.executable, "-m", "taskvault"]


#: The update an import makes is later than the store's version of the task (a day after now): an import
#: leaves a task the store changed after the file's version as it is (domain/importing.py).
LATER_THAN_THE_STORE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")


def taskvault_compacting_at(threshold: int) -> list[str]:
    """The installed program with its compaction threshold lowered, so short runs compact too."""
    # The composition root is given the policy: the store it builds compacts above ``threshold`` bytes.
    launcher = ("import functools, sys\n"
                "from taskvault import bootstrap\n"
                "from taskvault.store.housekeeping import Housekeeping\n"
                "policy = Housekeeping(compact_min_bytes=int(sys.argv.pop(1)))\n"
                "bootstrap.service = functools.partial(bootstrap.service, housekeeping=policy)\n"
                "from taskvault.cli.main import main\n"
                "raise SystemExit(main())")
    return [sys.executable, "-c", launcher, str(threshold)]


def error_classes() -> list[type[TaskvaultError]]:
    """Every class of the one rooted error hierarchy, by name."""
    found, todo = [], [TaskvaultError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


def require_tool(name: str, package: str = "strace fiu-utils") -> str:
    """The path of an external tool (from Debian's ``package``); skip without it, unless CI said every tool
    must be there."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("TASKVAULT_REQUIRE_TOOLS"):
            pytest.fail(f"{name} is not installed (TASKVAULT_REQUIRE_TOOLS is set): apt-get install {package}")
        pytest.skip(f"needs {name}: apt-get install {package} (CI sets TASKVAULT_REQUIRE_TOOLS=1)")
    return path


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` (such as 4M) mounted at ``mount`` for the duration, private (0700): a small disk to
    fill or turn read-only. Skipped where this process may not mount (it needs root, as CI has)."""
    mount.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@attrs.frozen
class Completed:
    code: int
    out: str
    err: str


def run_taskvault(data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
                  timeout: float = 30) -> Completed:
    """Run the installed taskvault in a new process against ``data_dir``."""
    full_env = {k: v for k, v in os.environ.items()  # (store_kind's passphrase file kept: see encrypted_stores)
                if (not k.startswith("TASKVAULT_") and k not in ("COLUMNS", "LINES")) or k == PASSPHRASE_FILE}
    full_env.update({"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off",
                     "XDG_STATE_HOME": str(data_dir.parent / "state"),
                     "TASKVAULT_CONFIG": "/dev/null"})  # (never the user's own config file; a test names one)
    full_env.update(env or {})
    proc = subprocess.run([*TASKVAULT, *args], input=stdin, capture_output=True, text=True, env=full_env,
                          timeout=timeout)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_raw(data_dir: Path, *args: str, stdin: bytes | int | None = None, stdout: int | None = None,
            env: dict[str, str] | None = None, command: list[str] | None = None,
            preexec_fn: Callable[[], None] | None = None, timeout: float = 60) -> Completed:
    """Like run_taskvault, with bytes in, stdout sent where the test says (a file, a dead pipe),
    and standard output and error decoded leniently (they may hold bytes of another encoding)."""
    full_env = {k: v for k, v in os.environ.items()  # (store_kind's passphrase file kept: see encrypted_stores)
                if (not k.startswith("TASKVAULT_") and k not in ("COLUMNS", "LINES")) or k == PASSPHRASE_FILE}
    full_env.update({"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "TASKVAULT_RESIDENT": "off",
                     "XDG_STATE_HOME": str(data_dir.parent / "state"),
                     "TASKVAULT_CONFIG": "/dev/null"})  # (never the user's own config file; a test names one)
    full_env.update(env or {})
    feed = stdin if isinstance(stdin, int) else (subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    proc = subprocess.Popen([*(command or TASKVAULT), *args], stdin=feed,
                            stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
                            env=full_env, preexec_fn=preexec_fn)
    out, err = proc.communicate(stdin if isinstance(stdin, bytes) else None, timeout=timeout)
    return Completed(proc.returncode, (out or b"").decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def tv(data_dir: Path) -> Callable[..., Completed]:
    """``tv("add", "x")`` runs the installed program against this test's data directory."""
    return lambda *args, **kw: run_taskvault(data_dir, *args, **kw)


def store_digest(directory: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file in the directory but the lock file (it holds no tasks, only a mark
    saying whether a write is under way)."""
    result = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.is_symlink() and path.name != "tasks.lock":
            info = path.stat()
            result[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns)
    return result


def store_bytes(directory: Path) -> dict[str, str]:
    """sha256 of each store file (the lock file holds no data and is left out)."""
    return {name: digest for name, (digest, _) in store_digest(directory).items()}


def temp_files(directory: Path) -> list[str]:
    """Names of leftover temp files of saves in the directory (none if it does not exist)."""
    if not directory.exists():
        return []
    return [p.name for p in directory.iterdir() if files.TEMP_MARK in p.name]


class Session:
    """An in-process session: a service plus the CLI runner, with output captured."""

    def __init__(self, directory: Path, **store_options: Any) -> None:
        #: The store behind the service, for tests that look below the one door (the interface never does).
        self.store = JournalStore(directory, **{"passphrases": KEYS, **store_options})  # (KEYS opens encrypted ones)
        self.service = TaskService(self.store)
        self.out, self.err = io.StringIO(), io.StringIO()
        # The user's files as a one-shot command has them (import reads one), standard input aside: it holds no file.
        user_files = UserFiles(directory, replace_file, None)
        self.runner = Runner(self.service, as_json=False, style=Style(False), out=self.out, err=self.err, width=None,
                             files=user_files)

    def run(self, line: str) -> int:
        self.out.seek(0), self.out.truncate(), self.err.seek(0), self.err.truncate()
        return self.runner.run_line(line, line=1)

    def state(self) -> tuple[Any, ...]:
        return self.service.tasks.snapshot()

    def close(self) -> None:
        self.service.close()


# -- encrypted stores: the proofs run on them too (issue 21) --------------------------------------------

#: The passphrase of every encrypted store the tests make, and the variable that names a file holding it.
PASSPHRASE = "proofs: correct horse ✓ battery staple"
PASSPHRASE_FILE = "TASKVAULT_PASSPHRASE_FILE"


class FixedPassphrase:
    """A PassphraseSource (store/keys.py) giving one passphrase for every purpose, as a script's file does. Harmless
    for a plain store: only an encrypted one asks."""

    def __init__(self, words: str = PASSPHRASE) -> None:
        self.words = words

    def passphrase(self, store: Path, purpose: str) -> str:
        return self.words


KEYS = FixedPassphrase()
#: Whether seed_store and new_store make encrypted stores now (encrypted_stores turns it on).
ENCRYPTING = {"on": False}


def passphrase_file(directory: Path, words: str = PASSPHRASE) -> Path:
    """A file holding ``words`` as TASKVAULT_PASSPHRASE_FILE wants it: a regular file only its owner may read."""
    path = directory / "passphrase"
    path.write_text(words + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def new_store(directory: Path) -> None:
    """While encrypted_stores is on, make an empty encrypted store in ``directory`` (as init --encrypt does);
    otherwise nothing: a plain store is made by its first change, as ever."""
    if ENCRYPTING["on"]:
        session = Session(directory)
        session.service.change_encryption("init")
        session.close()


@contextlib.contextmanager
def encrypted_stores(key_directory: Path) -> Iterator[None]:
    """Inside it, seed_store and new_store make encrypted stores, and every process a test starts (run_taskvault,
    or an environment made from os.environ) finds their passphrase in TASKVAULT_PASSPHRASE_FILE. scrypt is made
    cheap (n = 2^10) for the stores made here: the proofs are of durability, and each open pays it once."""
    from taskvault.store import cipher

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSPHRASE_FILE, str(passphrase_file(key_directory)))
        patch.setitem(ENCRYPTING, "on", True)
        patch.setattr(cipher, "SCRYPT_N", 2**10)
        yield


#: A small store with every status and field kind: ids 1-3, task 2 done.
SEED = ("add First --tag home", "add Second --priority high", "add Third --due 2030-01-01", "done 2")


def seed_store(directory: Path, lines: tuple[str, ...] = SEED) -> None:
    """Create a store by running ``lines`` in one in-process session (an encrypted one while encrypted_stores is on)."""
    if ENCRYPTING["on"] and not (directory / "tasks.json").exists():
        new_store(directory)
    session = Session(directory)
    for line in lines:
        assert session.run(line) == 0, session.err.getvalue()
    session.close()


#: The import the store's proofs run beside every other kind of change: these tasks are added, and one task the
#: store holds is updated (same uuid, this title and project). Titles beyond ASCII, as a person's tasks have.
IMPORT_NEW = ("Imported Ünï ✓ one", "Imported two", "Imported three — 日本語")
IMPORT_TITLE, IMPORT_PROJECT = "Updated by an import ✓", "imported.here"


def import_uuid(title: str) -> str:
    """The uuid the proofs' import gives a new task (fixed, so a clean run and a faulted one import the same)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"taskvault proof import: {title}"))


def taskwarrior_import(store: Path, path: Path, task_id: int = 1, new: tuple[str, ...] = IMPORT_NEW,
                       title: str = IMPORT_TITLE, project: str = IMPORT_PROJECT) -> Path:
    """Write at ``path``, outside the store, a Taskwarrior export (as `task export` writes it) that adds ``new`` and
    updates task ``task_id`` of the store in ``store`` (its uuid, read from the store; a new title and project)."""
    assert store.resolve() not in path.resolve().parents, "the import's file must lie outside the store"
    target = JournalStore(store, passphrases=KEYS).load().get(task_id)
    records = [{"id": 0, "uuid": import_uuid(t), "description": t, "entry": "20261101T090000Z",
                "modified": "20261101T090000Z", "status": "pending", "urgency": 1.5, "tags": ["imported"]}
               for t in new]
    records.insert(1, {"id": task_id, "uuid": str(target.uuid), "description": title, "project": project,
                       "entry": "20261101T090000Z", "modified": LATER_THAN_THE_STORE, "status": "pending",
                       "urgency": 2.0})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n", encoding="utf-8")
    return path


def import_args(path: Path) -> list[str]:
    """The command line of the proofs' import of the file at ``path``."""
    return ["import", "--from", "taskwarrior", str(path)]


def import_held(tasks: Any, task_id: int = 1, new: tuple[str, ...] = IMPORT_NEW, title: str = IMPORT_TITLE,
                project: str = IMPORT_PROJECT) -> str:
    """How much of the proofs' import ``tasks`` (tasks, or a snapshot's tuple of them) hold: "all", "none", or
    what a part holds (which must never be seen)."""
    by_uuid = {str(t.uuid): t for t in tasks}
    added = [t for t in new if import_uuid(t) in by_uuid and by_uuid[import_uuid(t)].title == t]
    updated = any(t.id == task_id and t.title == title and t.project == project for t in by_uuid.values())
    if len(added) == len(new) and updated:
        return "all"
    if not added and not updated:
        return "none"
    return f"part: {len(added)} of {len(new)} new tasks, the update {'there' if updated else 'missing'}"


class OsProxy:
    """Stands in for the ``os`` module inside taskvault.store.files (the fake sits at the OS boundary).

    Each named wrapper is called as ``wrapper(real_function, *args)``; every other attribute
    is the real ``os``.
    """

    def __init__(self, **wrappers: Callable[..., Any]) -> None:
        self._wrappers = wrappers

    def __getattr__(self, attr: str) -> Any:
        real = getattr(os, attr)
        wrapper = self._wrappers.get(attr)
        return real if wrapper is None else functools.partial(wrapper, real)


class FaultyOs(OsProxy):
    """One function fails on demand: from call ``fail_at`` (1-based), ``times`` calls (-1: all after).

    ``after`` logs, in order, every file-system call made once the first failure was raised.
    """

    LOGGED = ("open", "write", "pwrite", "fsync", "replace", "ftruncate", "lseek", "makedirs", "chmod", "unlink")

    def __init__(self, name: str, error: int, fail_at: int = 1, times: int = 1) -> None:
        wrappers = {other: functools.partial(self._log, other) for other in self.LOGGED}
        wrappers[name] = self._maybe_fail
        super().__init__(**wrappers)
        self.name, self.error, self.fail_at, self.times = name, error, fail_at, times
        self.calls = 0
        self.after: list[str] = []
        self._failed = False

    def _log(self, name: str, real: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._failed:
            self.after.append(name)
        return real(*args, **kwargs)

    def _maybe_fail(self, real: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self._failed:
            self.after.append(self.name)
        if self.calls >= self.fail_at and (self.times < 0 or self.calls < self.fail_at + self.times):
            self._failed = True
            raise OSError(self.error, os.strerror(self.error))
        return real(*args, **kwargs)


class CountingOs(OsProxy):
    """Logs, in order, each call of the file-system functions the store uses."""

    WATCHED = ("open", "write", "fsync", "replace", "ftruncate", "lseek", "mkdir", "chmod", "unlink")

    def __init__(self) -> None:
        super().__init__(**{name: functools.partial(self._record, name) for name in self.WATCHED})
        self.log: list[str] = []

    def _record(self, name: str, real: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.log.append(name)
        return real(*args, **kwargs)


#: Figures the test run itself produces (case counts, processes, ...), printed in the summary.
FIGURES: dict[str, object] = {}
#: Figures that differ from run to run (random kill moments, process interleavings, timings);
#: docs/guarantees.md states their bounds. Every other figure must appear there exactly as printed.
VARYING = {"kill -9 storm", "kill -9 during an import", "mixed concurrent changes", "reader polling during writes",
           "stateful model test", "generated command lines", "doc examples run", "kill -9 storm, encrypted store",
           "sync stateful model"}
GUARANTEES_DOC = Path(__file__).resolve().parent.parent / "docs" / "guarantees.md"
_STALE: list[str] = []
_STRAY: list[int] = []


def resident_processes(marked: Callable[[list[bytes]], bool]) -> list[int]:
    """The pids of the resident processes whose environment (its NAME=value entries) ``marked`` accepts."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"taskvault.cli.resident_server" in cmdline and marked(environ.split(b"\0")):
            found.append(int(entry))
    return sorted(found)


def _stray_residents() -> list[int]:
    """Resident processes a test started and left running (each test that starts one stops it)."""
    return resident_processes(lambda environ: any(v.startswith(b"PYTEST_CURRENT_TEST=") for v in environ))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if docs/guarantees.md quotes a figure other than the one this run produced, or if a
    test left a resident process running (a command run without TASKVAULT_RESIDENT=off started it)."""
    if not hasattr(session.config, "workerinput"):  # (the whole run's end, not one xdist worker's)
        stray = _stray_residents()
        for pid in stray:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        _STRAY.extend(stray)
        if stray and exitstatus == 0:
            session.exitstatus = 1
    doc = GUARANTEES_DOC.read_text(encoding="utf-8")
    _STALE.extend(f"{name}: {value}" for name, value in FIGURES.items()
                  if name not in VARYING and f"{name}: {value}" not in doc)
    if _STALE and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("taskvault figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
    if _STRAY:
        terminalreporter.section("resident processes left running", red=True)
        terminalreporter.write_line(f"a test started them and did not stop them (killed now): {_STRAY}")
    if _STALE:
        terminalreporter.section("docs/guarantees.md is out of date", red=True)
        terminalreporter.write_line("these figures of this run are not quoted there exactly:")
        for line in _STALE:
            terminalreporter.write_line(f"  {line}")


ERRNOS = [errno_module.ENOSPC, errno_module.EIO, errno_module.EDQUOT, errno_module.EACCES, errno_module.EROFS]


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Any]:
    """A place of one test's own for resident processes (tests/resident.py's Place); every resident process it
    started is stopped after the test."""
    from .resident import Place  # (it imports this module)

    here = Place(tmp_path)
    try:
        yield here
    finally:
        here.stop_all()
        assert here.servers() == []
