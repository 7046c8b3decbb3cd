"""A store moved, deleted or replaced under a running session: said plainly, every change refused,
and no store ever created where the old one was (issue 15, item 4).

Each test runs the installed program as a session reading commands from a pipe, fed step by step:
the session opens the store, the test does to the directory what a user might, then feeds more.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import TASKVAULT, run_taskvault

DEADLINE = 20.0
_REFUSED = ("since this session opened it — nothing was changed (restart taskvault to use what is there now, "
            "or use --data-dir NEW if you moved it)")


class PipedSession:
    """taskvault reading commands from a pipe, one batch at a time."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
        env.update({"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1",
                    "XDG_STATE_HOME": str(data_dir.parent / "state")})
        self.process = subprocess.Popen([*TASKVAULT, "--keep-going"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env)
        self.seen = b""

    def feed_until(self, lines: str, expected: bytes) -> None:
        """Send ``lines`` and wait (with a deadline) until standard output shows ``expected``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(lines.encode())
        self.process.stdin.flush()
        deadline = time.monotonic() + DEADLINE
        while expected not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {expected!r} in {self.seen!r}"
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                assert chunk, f"the session ended before {expected!r}: {self.seen!r}"
                self.seen += chunk

    def finish(self, lines: str) -> tuple[int, str, str]:
        out, err = self.process.communicate(lines.encode(), timeout=DEADLINE)
        return self.process.returncode, (self.seen + out).decode(), err.decode()


def _seed(directory: Path, *titles: str) -> None:
    for title in titles:
        assert run_taskvault(directory, "add", title).code == 0


def _titles(directory: Path) -> list[str]:
    result = run_taskvault(directory, "--json", "list", "--all")
    assert result.code == 0, result.err

    return [task["title"] for task in json.loads(result.out)]


def _session_after(data_dir: Path, change: Callable[[], None]) -> tuple[int, str, str]:
    """Open a session on ``data_dir``, let it read the store, ``change`` the directory, then try to change tasks."""
    session = PipedSession(data_dir)
    session.feed_until("list\n", b"open tasks shown")
    change()
    return session.finish("list\nadd Written after\ndone 1\n")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    _seed(directory, "First", "Second")
    return directory


class TestStoreGoneOrReplaced:
    def test_a_moved_store_is_named_and_no_store_appears_at_the_old_path(self, store: Path) -> None:
        """After mv of the data directory, each later line is refused naming the path, and nothing is made there."""
        moved = store.with_name("elsewhere")
        code, out, err = _session_after(store, lambda: store.rename(moved))
        assert code == 3
        assert err.count(f"error: the store in {store} was moved or deleted {_REFUSED}") == 3, err
        assert "changes from another session" not in out + err and "no tasks yet" not in out
        assert not os.path.lexists(store), "a new store was created under the running session"
        assert _titles(moved) == ["First", "Second"]

    def test_a_deleted_store_is_not_recreated(self, store: Path) -> None:
        """After rm -r of the data directory, changes are refused and the directory stays gone."""
        code, _, err = _session_after(store, lambda: shutil.rmtree(store))
        assert code == 3
        assert f"error: the store in {store} was moved or deleted {_REFUSED}" in err
        assert not os.path.lexists(store)

    def test_a_store_replaced_by_another_is_refused(self, store: Path, tmp_path: Path) -> None:
        """Another store moved into the path (a different directory) is neither reloaded nor changed."""
        other = tmp_path / "other"
        _seed(other, "Other one")

        def replace() -> None:
            store.rename(tmp_path / "aside")  # both exist at once: the new directory cannot reuse the inode
            other.rename(store)

        code, out, err = _session_after(store, replace)
        assert code == 3
        assert f"error: the store in {store} was replaced by another directory {_REFUSED}" in err
        assert "Other one" not in out
        assert _titles(store) == ["Other one"]
        assert _titles(tmp_path / "aside") == ["First", "Second"]

    def test_an_older_copy_put_back_is_said_to_go_back(self, store: Path, tmp_path: Path) -> None:
        """Files of an older revision copied over the store: 'went back from revision 3 to 2', and refused."""
        older = tmp_path / "older"
        shutil.copytree(store, older)
        _seed(store, "Third")

        def put_back() -> None:
            for name in ("tasks.json", "tasks.journal"):
                shutil.copy2(older / name, store / name)

        before = (store / "tasks.journal").read_bytes()
        code, out, err = _session_after(store, put_back)
        assert code == 3
        assert (f"error: the store in {store} went back from revision 3 to 2 (an older copy was put in its place) "
                f"{_REFUSED}") in err
        assert "changes from another session" not in out + err
        assert (store / "tasks.journal").read_bytes() == (older / "tasks.journal").read_bytes() != before
        assert _titles(store) == ["First", "Second"]

    def test_store_files_removed_are_not_made_anew(self, store: Path) -> None:
        """The store's files deleted from the directory: said to be gone, and no new store is written."""
        def remove() -> None:
            for name in ("tasks.json", "tasks.journal"):
                (store / name).unlink()

        code, out, err = _session_after(store, remove)
        assert code == 3
        assert f"error: the store in {store} is gone (tasks.json was removed or moved) {_REFUSED}" in err
        assert "no tasks yet" not in out
        assert not (store / "tasks.json").exists() and not (store / "tasks.journal").exists()

    def test_the_snapshot_alone_removed_takes_no_change(self, store: Path) -> None:
        """tasks.json deleted, the journal left: the session says the store is gone and appends nothing,
        where it used to acknowledge a change into a journal that no longer loads."""
        journal = (store / "tasks.journal").read_bytes()
        code, out, err = _session_after(store, (store / "tasks.json").unlink)
        assert code == 3
        assert err.count(f"error: the store in {store} is gone (tasks.json was removed or moved) {_REFUSED}") == 2, err
        assert "Added task" not in out
        assert (store / "tasks.journal").read_bytes() == journal and not (store / "tasks.json").exists()

    def test_a_store_moved_back_is_used_again(self, store: Path) -> None:
        """The same directory put back where it was is the session's store again: changes go on."""
        moved = store.with_name("elsewhere")
        session = PipedSession(store)
        session.feed_until("list\n", b"open tasks shown")
        store.rename(moved)
        moved.rename(store)
        code, _, err = session.finish("add Third\n")
        assert code == 0, err
        assert _titles(store) == ["First", "Second", "Third"]

    def test_a_session_that_started_without_a_store_still_makes_one(self, tmp_path: Path) -> None:
        """Creating the store on the first change stays allowed when the session never saw one."""
        directory = tmp_path / "new"
        session = PipedSession(directory)
        session.feed_until("list\n", b"no tasks")
        code, _, err = session.finish("add First\n")
        assert code == 0, err
        assert _titles(directory) == ["First"]
