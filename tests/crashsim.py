"""Power-loss simulation: the crash states a recorded save allows, built from its system calls.

A SIGKILL keeps the page cache, so it cannot show a missing fsync. This module reads an strace
log of one run of the real program and replays it against a model of what a disk keeps when the
power goes (the model of ALICE and CrashMonkey, kept deliberately pessimistic):

* a write, truncate or file creation is durable only once the file is fsynced;
* a directory entry (a new file, a rename, a hard link, an unlink, a new directory) is durable only
  once its directory is fsynced;
* anything not yet durable may, independently of everything else, be kept, be lost, or -- for a
  write -- be kept in part (its first half);
* a failed call changed nothing (strace's injection skips the call itself), and a failed fsync is
  no barrier: what it should have made durable may be lost for good, whatever later fsyncs say
  (Linux marks the pages clean after a failed writeback: "fsyncgate").

For every prefix of the run (a crash after each call) every combination of those choices is a
crash state. The caller materialises each one as real files and runs the real loader on it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import attrs

_LINE = re.compile(r"^(?P<call>\w+)\((?P<args>.*)\)\s+= (?P<result>-?\d+|0x[0-9a-f]+)(?: (?P<errno>E\w+).*)?$")
_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')

#: The calls to record (pass to ``strace -e trace=``); the run must be traced with -xx and a large -s.
TRACED = ("openat,write,pwrite64,lseek,fsync,fdatasync,rename,renameat,renameat2,ftruncate,unlink,unlinkat,"
          "close,mkdir,mkdirat,link,linkat")


@attrs.frozen
class Op:
    """One call that can change what is on disk, or the acknowledgement printed to the user."""

    kind: str  # mkdir create write truncate rename link unlink fsync fsyncdir fsync-failed fsyncdir-failed ack refusal
    path: str = ""  # namespace ops: the entry; fsyncdir: the directory
    target: str = ""  # rename and link: the new name
    inode: int = -1  # data ops and fsync
    offset: int = 0
    data: bytes = b""
    label: str = ""  # what a person would call the file at that moment (for fsync)

    @property
    def directory(self) -> str:
        """The directory whose fsync makes this namespace op durable."""
        return str(Path(self.target or self.path).parent)


@attrs.define
class Disk:
    """Files and directories under one root: names to inodes, inodes to bytes."""

    names: dict[str, int] = attrs.Factory(dict)
    dirs: set[str] = attrs.Factory(set)
    contents: dict[int, bytes] = attrs.Factory(dict)

    @classmethod
    def scan(cls, root: Path) -> Disk:
        disk = cls(dirs={str(root)})
        for path in sorted(root.rglob("*")):
            if path.is_dir():
                disk.dirs.add(str(path))
            elif path.is_file():
                inode = len(disk.contents)
                disk.names[str(path)] = inode
                disk.contents[inode] = path.read_bytes()
        return disk

    def files_under(self, directory: Path) -> dict[str, bytes]:
        if str(directory) not in self.dirs:
            return {}
        return {Path(name).name: self.contents[inode] for name, inode in self.names.items()
                if Path(name).parent == directory}


def _decode(raw: str) -> bytes:
    return bytes.fromhex(raw.replace("\\x", ""))


_PID = re.compile(r"^(\d+) +")
_RESUMED = re.compile(r"^<\.\.\. \w+ resumed>")


def _whole_calls(trace: str) -> Iterator[str]:
    """Each call of a trace, in the order the calls returned. With ``strace -f`` each line starts with its
    thread's id, and a call another thread's call interrupted is split into an unfinished and a resumed
    line: the two are joined, and the call placed where it returned (its effect is known only then)."""
    unfinished: dict[str, str] = {}
    for raw in trace.splitlines():
        found = _PID.match(raw)
        pid, call = (found[1], raw[found.end():]) if found is not None else ("", raw)
        if call.endswith("<unfinished ...>"):
            unfinished[pid] = call[: -len("<unfinished ...>")].rstrip()
            continue
        if (resumed := _RESUMED.match(call)) is not None:
            call = unfinished.pop(pid, "") + call[resumed.end():]
        yield call


def parse(trace: str, root: Path, before: Disk, *, refusals: bool = False) -> list[Op]:
    """The ops of an strace log (``-xx -s BIG``) that touch files under ``root``, plus acks.

    A failed fsync is kept (as ``fsync-failed``): it makes nothing durable, and what it covered
    never becomes durable by a later fsync either. Any other failed call is left out: it changed
    nothing. With ``refusals``, each write to standard error (the error line telling the user the
    change failed) is a ``refusal``.
    """
    ops: list[Op] = []
    names = dict(before.names)
    next_inode = max(before.contents, default=-1) + 1
    fds: dict[int, tuple[str, int | str]] = {}  # fd -> ("file", inode) or ("dir", path)
    offsets: dict[int, int] = {}
    sizes: dict[int, int] = {inode: len(data) for inode, data in before.contents.items()}

    def inside(path: str) -> bool:
        return path == str(root) or path.startswith(str(root) + "/")

    def resolve(dir_field: str, name: str) -> str:
        """The full path a call names: absolute, or relative to a directory held open by descriptor."""
        if name.startswith("/") or dir_field == "AT_FDCWD":
            return name
        kind, where = fds.get(int(dir_field), ("", ""))
        return f"{where}/{name}" if kind == "dir" else ""

    for line in _whole_calls(trace):
        match = _LINE.match(line.strip())
        if not match:
            continue
        if match["errno"]:
            failed_fd = match["args"].split(",")[0].strip()
            if match["call"] in ("fsync", "fdatasync") and failed_fd.isdigit() and int(failed_fd) in fds:
                kind, what = fds[int(failed_fd)]
                ops.append(Op("fsyncdir-failed", path=str(what)) if kind == "dir" else
                           Op("fsync-failed", inode=int(what)))
            continue
        call, args, result = match["call"], match["args"], int(match["result"], 0)
        strings = [_decode(s).decode(errors="surrogateescape") for s in _STRING.findall(args)]  # writes of gzip data too
        fields = [f.strip() for f in _STRING.sub('""', args).split(",")]
        if call == "openat" and strings and inside(resolve(fields[0], strings[0])):
            path = resolve(fields[0], strings[0])
            if "O_DIRECTORY" in fields[2]:
                fds[result] = ("dir", path)
                continue
            if path not in names:
                assert "O_CREAT" in fields[2], f"opened a file the model does not know: {line}"
                names[path] = next_inode
                sizes[next_inode] = 0
                ops.append(Op("create", path=path, inode=next_inode))
                next_inode += 1
            fds[result], offsets[result] = ("file", names[path]), 0
            if "O_TRUNC" in fields[2]:
                ops.append(Op("truncate", inode=names[path], offset=0))
                sizes[names[path]] = 0
        elif call in ("mkdir", "mkdirat") and inside(path := resolve(fields[0] if call == "mkdirat" else "AT_FDCWD",
                                                                      strings[0])):
            ops.append(Op("mkdir", path=path))
        elif call in ("rename", "renameat", "renameat2") and inside(
                source := resolve(fields[0] if call != "rename" else "AT_FDCWD", strings[0])):
            target = resolve(fields[2] if call != "rename" else "AT_FDCWD", strings[1])
            names[target] = names.pop(source)
            ops.append(Op("rename", path=source, target=target))
        elif call in ("link", "linkat") and inside(
                source := resolve(fields[0] if call == "linkat" else "AT_FDCWD", strings[0])):
            target = resolve(fields[2] if call == "linkat" else "AT_FDCWD", strings[1])
            names[target] = names[source]  # a second name of the same inode: its data is shared
            ops.append(Op("link", path=source, target=target))
        elif call in ("unlink", "unlinkat") and inside(
                path := resolve(fields[0] if call == "unlinkat" else "AT_FDCWD", strings[0])):
            names.pop(path, None)
            ops.append(Op("unlink", path=path))
        elif call in ("write", "pwrite64"):
            fd = int(fields[0])
            if fd == 1:
                ops.append(Op("ack"))
            elif fd == 2 and refusals:
                ops.append(Op("refusal"))
            elif fds.get(fd, ("", 0))[0] == "file":
                inode = fds[fd][1]
                assert isinstance(inode, int)
                offset = int(fields[3]) if call == "pwrite64" else offsets[fd]
                data = _decode(_STRING.findall(args)[0])[:result]
                ops.append(Op("write", inode=inode, offset=offset, data=data))
                sizes[inode] = max(sizes[inode], offset + len(data))
                if call == "write":
                    offsets[fd] = offset + len(data)
        elif call == "lseek" and int(fields[0]) in fds:
            offsets[int(fields[0])] = result
        elif call == "ftruncate" and fds.get(int(fields[0]), ("", 0))[0] == "file":
            inode = fds[int(fields[0])][1]
            assert isinstance(inode, int)
            ops.append(Op("truncate", inode=inode, offset=int(fields[1])))
        elif call in ("fsync", "fdatasync") and int(fields[0]) in fds:
            kind, what = fds[int(fields[0])]
            if kind == "dir":
                ops.append(Op("fsyncdir", path=str(what), label=f"directory {Path(str(what)).name}"))
            else:
                current = next((n for n, i in names.items() if i == what), "?")
                ops.append(Op("fsync", inode=int(what), label=_label(Path(current).name)))
        elif call == "close":
            fds.pop(int(fields[0]), None)
    return ops


def _label(name: str) -> str:
    name = re.sub(r"^(\.?)\d{8}-\d{6}\S*?-(\w+)\.json", r"\1a backup (\2).json", name)  # ids vary by run
    return f"temp file of {name.split('.tmp-')[0].lstrip('.')}" if ".tmp-" in name else name


def _durable(ops: list[Op], index: int, end: int) -> bool:
    """Whether ops[index] is made durable by an fsync among ops[index+1:end].

    Only the first fsync of its file (or directory) after it decides: if that one failed, what
    the op did may be gone from the page cache's dirty pages, and no later fsync writes it.
    """
    op = ops[index]
    later = ops[index + 1:end]
    if op.kind in ("write", "truncate"):
        first = next((o for o in later if o.kind in ("fsync", "fsync-failed") and o.inode == op.inode), None)
        return first is not None and first.kind == "fsync"
    first = next((o for o in later if o.kind in ("fsyncdir", "fsyncdir-failed") and o.path == op.directory), None)
    return first is not None and first.kind == "fsyncdir"


def _choices(op: Op) -> tuple[str, ...]:
    if op.kind == "write" and len(op.data) > 1:
        return ("whole", "half", "lost")
    return ("kept", "lost")


@attrs.frozen
class CrashState:
    after: int  # how many ops ran before the power went
    acknowledged: bool  # the user had been told the change was saved
    files: dict[str, bytes]  # the data directory's files as the disk kept them ({} if it was lost)
    exists: bool  # whether the data directory itself survived
    backups: dict[str, bytes] = attrs.field(factory=dict)  # the files in the data directory's backups/
    refused: bool = False  # the user had been told the change failed (or that its outcome is unknown)


def crash_states(before: Disk, ops: list[Op], data_dir: Path, limit: int = 20_000) -> Iterator[CrashState]:
    """Every state the disk may be in after a power loss at any point of ``ops``."""
    volatile_kinds = ("mkdir", "create", "write", "truncate", "rename", "link", "unlink")
    for end in range(len(ops) + 1):
        acknowledged = any(o.kind == "ack" for o in ops[:end])
        refused = any(o.kind == "refusal" for o in ops[:end])
        optional = [i for i in range(end) if ops[i].kind in volatile_kinds and not _durable(ops, i, end)]
        combos = list(itertools.product(*(_choices(ops[i]) for i in optional)))
        assert len(combos) <= limit, f"{len(combos)} crash states after op {end}: the model would take too long"
        for combo in combos:
            fate = dict(zip(optional, combo, strict=True))
            disk = _apply(before, ops[:end], fate)
            yield CrashState(end, acknowledged, disk.files_under(data_dir), str(data_dir) in disk.dirs,
                             disk.files_under(data_dir / "backups"), refused)


def _apply(before: Disk, ops: list[Op], fate: dict[int, str]) -> Disk:
    disk = Disk(dict(before.names), set(before.dirs), dict(before.contents))
    for index, op in enumerate(ops):
        choice = fate.get(index, "whole")
        if choice == "lost":
            continue
        if op.kind == "mkdir" and str(Path(op.path).parent) in disk.dirs:
            disk.dirs.add(op.path)
        elif op.kind == "create" and str(Path(op.path).parent) in disk.dirs:
            disk.names[op.path] = op.inode
            disk.contents.setdefault(op.inode, b"")
        elif op.kind == "rename" and op.path in disk.names:
            disk.names[op.target] = disk.names.pop(op.path)
        elif op.kind == "link" and op.path in disk.names:
            disk.names[op.target] = disk.names[op.path]
        elif op.kind == "unlink":
            disk.names.pop(op.path, None)
        elif op.kind == "write":
            data = op.data if choice == "whole" else op.data[: len(op.data) // 2]
            old = disk.contents.get(op.inode, b"")
            padded = old.ljust(op.offset, b"\0")
            disk.contents[op.inode] = padded[: op.offset] + data + padded[op.offset + len(data):]
        elif op.kind == "truncate":
            old = disk.contents.get(op.inode, b"")
            disk.contents[op.inode] = old[: op.offset].ljust(op.offset, b"\0")
    return disk


def final_disk(before: Disk, ops: list[Op]) -> Disk:
    """The disk with every op kept whole: must equal what the real run left (checks the parser)."""
    return _apply(before, ops, {})
