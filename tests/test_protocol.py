"""The order of file-system calls that makes a change durable before it is acknowledged."""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from taskvault.store import files
from taskvault.store.housekeeping import Housekeeping

from .conftest import OsProxy, Session


def _name(path: Any) -> str:
    """tasks.json for tasks.json and for its temp files (.tasks.json.tmp-…)."""
    return Path(path).name.split(".tmp-")[0].lstrip(".")


class Recorder(OsProxy):
    """Records the store's file-system calls in order, naming the file each one touches."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(open=self._open, close=self._close, replace=self._replace,
                         **{name: functools.partial(self._on_fd, name) for name in ("write", "fsync", "lseek",
                                                                                    "ftruncate")})
        self.log = log
        self.fds: dict[int, str] = {}

    def _open(self, real: Any, path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd: int = real(path, flags, *args, **kwargs)
        kind = "dir" if flags & os.O_DIRECTORY else _name(path)
        mode = ("create-excl" if flags & os.O_EXCL
                else "read" if not flags & (os.O_WRONLY | os.O_RDWR) else "write")
        self.log.append(f"open {kind} {mode}")
        self.fds[fd] = kind
        return fd

    def _close(self, real: Any, fd: int) -> None:
        self.fds.pop(fd, None)  # the number may be reused for another file
        real(fd)

    def _replace(self, real: Any, source: Any, target: Any, **dir_fds: Any) -> None:
        real(source, target, **dir_fds)
        self.log.append(f"replace {_name(source)} -> {Path(target).name}")

    def _on_fd(self, name: str, real: Any, fd: int, *args: Any) -> Any:
        result = real(fd, *args)
        self.log.append(f"{name} {self.fds.get(fd, 'journal')}")  # the journal is opened by the store itself
        return result


class TestSaveProtocol:
    def test_append_is_fsynced_before_memory_changes(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """write → fsync of the journal, and only then the task appears in memory and is printed."""
        session = Session(data_dir)
        assert session.run("add first") == 0
        log: list[str] = []
        monkeypatch.setattr(files, "os", Recorder(log))
        apply = type(session.service.tasks).apply

        def recording_apply(self: Any, change: Any, revision: int, at: Any = None) -> None:
            log.append("apply in memory")
            apply(self, change, revision, at)

        monkeypatch.setattr(type(session.service.tasks), "apply", recording_apply)
        assert session.run("add second") == 0
        log.append("acknowledged")
        assert log == ["lseek journal", "write journal", "fsync journal", "apply in memory", "acknowledged"]

    def test_first_save_creates_files_by_atomic_replace(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """New files: parent dir fsync, then exclusive 0600 temp → write → fsync → rename → fsync dir; the store is
        never written in place."""
        log: list[str] = []
        monkeypatch.setattr(files, "os", Recorder(log))
        session = Session(data_dir)
        assert session.run("add first") == 0
        # The new data directory's entry is made durable in its parent before anything in it.
        assert log[:2] == ["open dir read", "fsync dir"]
        replace_steps = ["open tasks.json create-excl", "write tasks.json", "fsync tasks.json",
                         "replace tasks.json -> tasks.json", "open dir read", "fsync dir"]
        assert log[2:8] == replace_steps
        assert log[8:14] == [s.replace("tasks.json", "tasks.journal") for s in replace_steps]
        assert log[14:17] == ["lseek journal", "write journal", "fsync journal"]
        assert set(log[17:]) <= {"open dir read"}, "after the append, only a look for backups (is one due?)"
        assert not any(entry.startswith("open tasks") and entry.endswith(" write") for entry in log)

    def test_compaction_order(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Compaction takes a durable backup first, then makes the new snapshot durable (dir fsync included)
        before replacing the journal."""
        session = Session(data_dir, housekeeping=Housekeeping(compact_min_bytes=0, journal_share=1.0))
        # A journal is compacted once it outgrows the snapshot: the first change compacts (the new store's
        # snapshot is empty), the second does not (the snapshot now holds a task), the third does.
        assert session.run("add first") == 0 and session.run("add second") == 0
        log: list[str] = []
        monkeypatch.setattr(files, "os", Recorder(log))
        assert session.run("add third") == 0
        snapshot_replace = log.index("replace tasks.json -> tasks.json")
        backup_replace = next(i for i, entry in enumerate(log) if entry.startswith("replace") and "compaction" in entry)
        # The backups directory is held open by descriptor, so its fsync may need no open of its own.
        assert next(e for e in log[backup_replace + 1:] if e != "open dir read") == "fsync dir"
        snapshot_dir_sync = log.index("fsync dir", snapshot_replace)
        assert backup_replace < snapshot_replace < snapshot_dir_sync < log.index(
            "replace tasks.journal -> tasks.journal")
        assert log[:3] == ["lseek journal", "write journal", "fsync journal"]

    def test_temp_files_are_exclusive_and_private(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The temp file is created O_EXCL with mode 0600 in the store's own directory."""
        seen = []

        def spy(real_open: Any, path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
            fd: int = real_open(path, flags, mode, **kw)
            if flags & os.O_CREAT:
                seen.append((Path(path).parent, flags & os.O_EXCL, stat.S_IMODE(os.fstat(fd).st_mode)))
            return fd

        monkeypatch.setattr(files, "os", OsProxy(open=spy))
        previous = os.umask(0o000)
        try:
            assert Session(data_dir).run("add first") == 0
        finally:
            os.umask(previous)
        assert seen and all(parent == data_dir and excl and mode == 0o600 for parent, excl, mode in seen)

    def test_leftover_temp_files_are_removed_under_the_lock(self, data_dir: Path) -> None:
        """Temp files of a crashed save are never loaded and are removed by the next writer."""
        session = Session(data_dir)
        assert session.run("add first") == 0
        leftover = data_dir / ".tasks.json.tmp-999-deadbeef"
        leftover.write_text("half a snapshot")
        assert [t.title for t in Session(data_dir).service.tasks] == ["first"]
        assert leftover.exists(), "readers never write"
        writer = Session(data_dir)
        assert writer.run("add second") == 0
        assert not leftover.exists() and writer.store.removed_temp_files == [leftover.name]
