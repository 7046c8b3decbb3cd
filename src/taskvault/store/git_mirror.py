"""The sync transport: a local bare git repository mirroring the remote's one branch, ``main``.

The only code that runs ``git``. It never writes a work tree: objects go in with ``hash-object``,
trees are built in a private index, commits made with ``commit-tree``, and refs move only with
``update-ref``, ``fetch`` and ``push`` — each of which git makes atomic, so a cut connection or a
killed process leaves every ref where it was. The remote's branch only ever moves forward through
here: ``push`` never forces, and a rejected push is the compare-and-swap of sync (fetch, integrate,
push again).

git runs with the user's own configuration (their ssh keys, credential helpers and URL rewrites are
what a real remote needs), overridden where it would break sync or run something: no prompt, no
hook, no signing, no automatic gc, no transport but file, git, ssh and http(s), and objects and refs
fsynced as they are written. It never prints; every failure is one of SyncFailed's kind, one line.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from ..errors import GitUnavailable, RemoteDamaged, RemoteUnreachable, SyncFailed

#: The oldest git that has everything used here (--no-write-fetch-head and init --initial-branch: 2.29).
MIN_GIT = (2, 29)
#: The largest file read back from the remote; a larger one is not taskvault's.
MAX_BLOB_BYTES = 64 * 1024 * 1024
#: The most a git command may print on standard output (a listing of the remote's files, say).
MAX_OUTPUT_BYTES = 256 * 1024 * 1024
#: How much of git's standard error is kept (its last lines say why it failed).
_STDERR_KEPT = 16 * 1024
#: The longest reason quoted from git in a message.
_REASON_CHARS = 200
BRANCH = "refs/heads/main"
TRACKING = "refs/remotes/origin/main"
_MARKS = "refs/taskvault/"
#: The config key that says a bare repository is a finished mirror of taskvault's (set last by open).
_MARKER = "taskvault.mirror"
#: What ``git init --bare`` makes, with or without templates (and the lock files of one killed part-way):
#: a directory holding only these, and no object or ref, is one it began.
_INIT_NAMES = frozenset({"HEAD", "config", "description", "hooks", "info", "objects", "refs", "branches",
                         "HEAD.lock", "config.lock"})
_IDENTITY = ("taskvault", "taskvault@localhost")
_PROTOCOLS = "file:git:ssh:http:https"
#: What to do after moving the mirror aside (a new one knows no remote).
_NAME_AGAIN = "then sync naming the remote again (taskvault sync --remote URL)"
#: Overrides of the user's configuration, on every command line (see the module's docstring).
_CONFIG = (
    "commit.gpgSign=false", "push.gpgSign=false", "core.hooksPath=/dev/null", "gc.auto=0", "maintenance.auto=false",
    "core.fsync=committed", "core.fsyncMethod=fsync", "protocol.ext.allow=never", "protocol.fd.allow=never",
    "transfer.fsckObjects=true", "fetch.writeCommitGraph=false", "color.ui=never", "core.quotePath=false",
    "credential.interactive=never", "init.defaultBranch=main", "advice.detachedHead=false",
)
#: The environment git keeps from ours: what finds git itself and reaches a remote the user's way.
_KEPT_GIT_VARIABLES = frozenset({
    "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_ASKPASS", "GIT_PROXY_COMMAND",
    "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_NO_VERIFY", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM", "GIT_HTTP_PROXY_AUTHMETHOD",
})
#: git's lines that say nothing about why (it prints them after the line that does).
_BOILERPLATE = ("could not read from remote repository", "please make sure you have the correct access rights",
                "and the repository exists")
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MARK_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Result(NamedTuple):
    code: int
    out: bytes
    err: bytes


def check_url(url: str) -> str:
    """The remote as git is to be given it: refuses what would run a command or pass for an option,
    and makes a local path absolute (git runs elsewhere). Raises SyncFailed."""
    hint = "give a bare repository's path, or a file://, git://, ssh:// or https:// address"
    if not url or not url.strip():
        raise SyncFailed("the remote's address is empty", hint=hint)
    if _CONTROL.search(url):
        raise SyncFailed(f"the remote's address {_sanitised(url)!r} holds control characters", hint=hint)
    if url.startswith("-"):
        raise SyncFailed(f"the remote's address {_sanitised(url)!r} begins with '-', as an option would", hint=hint)
    transport, helper, _ = url.partition("::")
    if helper and "/" not in transport and ":" not in transport:
        raise SyncFailed(f"the remote's address {_sanitised(url)!r} asks git for the {transport!r} helper, which "
                         "taskvault does not use (it can run any command)", hint=hint)
    if "://" in url:
        return url
    host, colon, _ = url.partition(":")
    if colon and "/" not in host:  # git's own rule: host:path is ssh
        return url
    return os.path.abspath(os.path.expanduser(url))


def shown_url(url: str) -> str:
    """The remote for a message: a password in it is never shown."""
    return _sanitised(re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*):[^/]*@", r"\1:***@", url, flags=re.IGNORECASE))


def _sanitised(text: str) -> str:
    """``text`` on one line for a message: control characters escaped, at most _REASON_CHARS long."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "…"


def git_reason(stderr: bytes) -> str:
    """Why git failed, in one line: the last line of its error output that says something."""
    for raw in reversed(stderr.decode("utf-8", "replace").splitlines()):
        line = raw.strip()
        for prefix in ("fatal:", "error:", "remote:"):
            if line.lower().startswith(prefix):
                line = line[len(prefix):].strip()
        if line and not line.lower().startswith(_BOILERPLATE):
            return _sanitised(line)
    return "git gave no reason"


class GitMirror:
    """A bare repository at ``path`` that mirrors the remote's ``main``; see the module's docstring.

    One sync at a time uses a mirror (the caller holds its lock): commits are built in one index file.
    """

    def __init__(self, path: Path, *, git: str = "git", timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.git = git
        self.timeout = timeout
        self._environment: dict[str, str] | None = None
        # What one sync asks more than once, remembered for this object's life (one sync's): the remote's
        # address, the marks, and the listings of commits (a commit never changes, so neither does its listing).
        self._url: tuple[str | None] | None = None
        self._marks: list[str] | None = None
        self._listings: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {}

    # The repository itself

    def open(self) -> None:
        """Make the mirror if it is missing, and finish one a killed ``open`` left half-made.

        The mirror is built beside its place and renamed into it, so its path holds a finished
        mirror or nothing (and what the object remembered of it is forgotten: another process may have synced
        since). A directory there without the mark of a finished mirror is removed and
        made again only while it holds nothing but what ``git init`` makes, and no object or ref:
        anything else is refused, untouched. Raises GitUnavailable, SyncFailed.
        """
        self._url, self._marks, self._listings = None, None, {}
        self._check_version()
        self._remove_leftovers()
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_dir()):
            raise self._not_a_mirror("is not a directory")
        if self.path.exists():
            if self._config("--file", str(self.path / "config"), "--get", _MARKER, in_repository=False) == "1":
                self._remove_stale_locks()
                return
            if not self._begun_by_init(self.path):
                raise self._not_a_mirror("is not taskvault's sync mirror")
            import shutil

            shutil.rmtree(self.path)  # provably ours and empty: see _begun_by_init
        from . import files

        temp = files.temp_name(self.path)
        self._git("init", "--quiet", "--bare", "--template=", "--initial-branch=main", str(temp), bare=False)
        self._git("--git-dir", str(temp), "config", _MARKER, "1", bare=False)
        try:
            files.install_temp(temp, self.path)
        except OSError as exc:
            if not self.path.is_dir():
                raise SyncFailed(f"cannot make the sync mirror {self.path}: {exc.strerror}",
                                 hint="check that the data directory can be written to") from None
            # Another process put its mirror there first: that one is used, this one left for the next open.

    def _check_version(self) -> None:
        text = self._git("--version", bare=False).out.decode("ascii", "replace")
        found = re.match(r"git version (\d+)\.(\d+)", text)
        if found is None or (int(found[1]), int(found[2])) < MIN_GIT:
            raise GitUnavailable(f"git {_sanitised(text.strip()[12:]) or '(unknown version)'} is too old for sync",
                                 hint=f"install git {'.'.join(map(str, MIN_GIT))} or newer")

    def _remove_leftovers(self) -> None:
        """Remove the half-built mirrors of ``open`` calls whose process is gone."""
        import shutil

        from . import files

        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return
        for entry in entries:
            if not files.is_temp_of(entry.name, self.path) or not entry.is_dir(follow_symlinks=False):
                continue
            pid = entry.name.rpartition(files.TEMP_MARK)[2].partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)) and self._begun_by_init(Path(entry.path), marked_ok=True):
                shutil.rmtree(entry.path, ignore_errors=True)

    def _remove_stale_locks(self) -> None:
        """Remove the lock files a git that was killed left in the mirror (``config.lock``, ``packed-refs.lock``,
        ``refs/…/NAME.lock``): while the caller holds the sync lock no other git runs in it, so each is stale,
        and left there it makes every later sync fail."""
        from . import files

        files.remove_stale_locks(self.path, ("refs", "logs", "objects/info", "objects/pack"))

    def _begun_by_init(self, directory: Path, *, marked_ok: bool = False) -> bool:
        """True if ``directory`` holds only what ``git init --bare`` makes, with no object and no ref in it."""
        try:
            names = {entry.name for entry in os.scandir(directory)}
            if not names <= _INIT_NAMES:
                return False
            for part in ("objects", "refs"):
                for root, _dirs, found in os.walk(directory / part):
                    if found or Path(root).is_symlink():
                        return False
        except OSError:
            return False
        if marked_ok or not (directory / "config").exists():
            return True
        return self._config("--file", str(directory / "config"), "--get", _MARKER, in_repository=False) is None

    def _not_a_mirror(self, what: str) -> SyncFailed:
        return SyncFailed(f"{self.path} {what}; sync keeps its copy of the remote there",
                          hint=f"move it aside (mv {self.path} {self.path}.aside), {_NAME_AGAIN}")

    # The remote

    def set_remote(self, url: str) -> None:
        """Remember ``url`` (checked, a local path made absolute) as the remote. Raises SyncFailed."""
        self._url = None
        self._git("config", "remote.origin.url", check_url(url))

    def probe(self, url: str) -> None:
        """Raise RemoteUnreachable unless ``url`` (checked) answers as a git repository; nothing is changed
        here. A new remote is remembered only once it has answered, so a mistyped address leaves the one
        used before in place."""
        url = check_url(url)
        result = self._git("ls-remote", "--quiet", url, BRANCH, bare=False, network=url, check=False)
        if result.code != 0:
            used = self.path.is_dir() and self.remote()
            then = "nothing was changed here" + (", and the remote used before is kept" if used else "")
            raise self._unreachable(url, result.err, then)

    def remote(self) -> str | None:
        """The remote's address, or None while none was set."""
        if self._url is None:
            self._url = (self._config("--get", "remote.origin.url"),)
        return self._url[0]

    def fetch(self) -> str | None:
        """The remote's ``main`` commit, fetched (with all it holds) into refs/remotes/origin/main; None
        when the remote has no ``main`` yet. The ref is moved even backwards: the caller compares with
        ``is_ancestor``. Raises RemoteUnreachable (no ref moved), SyncFailed."""
        url = self._required_remote()
        result = self._git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
                           "--no-show-forced-updates", "origin", f"+{BRANCH}:{TRACKING}", network=url, check=False)
        if result.code != 0:
            if b"couldn't find remote ref " + BRANCH.encode() in result.err:
                self._git("update-ref", "-d", TRACKING)
                return None
            if self._disk_full(result.err):
                raise SyncFailed(f"git could not keep what the remote sent in {self.path}: the disk is full "
                                 f"({git_reason(result.err)})", hint="free some space on it and sync again; nothing "
                                 "was changed here")
            raise self._unreachable(url, result.err, "nothing was changed here")
        return self._resolve(TRACKING)

    def _disk_full(self, stderr: bytes) -> bool:
        """True if a failed transfer failed for want of room here (git's own words, or an index-pack that failed
        with less than 4 MiB left), not at the remote's end."""
        if b"No space left on device" in stderr or b"Disk quota exceeded" in stderr:
            return True
        try:
            room = os.statvfs(self.path)
        except OSError:
            return False
        return b"index-pack failed" in stderr and room.f_bavail * room.f_frsize < 4 << 20

    def push(self, commit: str) -> bool:
        """Make ``commit`` the remote's ``main`` if it descends from what the remote holds (never forced).

        True when the remote took it (or had it); False when the remote moved on first (another device
        pushed): fetch, integrate and push again. Raises RemoteUnreachable when the connection failed,
        after which the remote may or may not hold ``commit`` (the next fetch tells); SyncFailed when the
        remote refused it for another reason.
        """
        commit = self._object_id(commit)
        url = self._required_remote()
        result = self._git("push", "--porcelain", "--no-verify", "--recurse-submodules=no", "origin",
                           f"{commit}:{BRANCH}", network=url, check=False)
        for line in result.out.decode("utf-8", "replace").splitlines():
            fields = line.split("\t")
            if len(fields) < 3 or not fields[1].endswith(f":{BRANCH}"):
                continue
            flag, summary = fields[0], fields[2]
            if flag in (" ", "*", "="):
                self._git("update-ref", TRACKING, commit)
                return True
            if flag == "!" and summary.startswith("[rejected]") and ("fetch first" in summary
                                                                      or "non-fast-forward" in summary):
                return False
            if summary.startswith("[remote rejected]") and self._moved_on(url):
                return False  # it lost the race at the remote's ref lock rather than at its check
            if summary.startswith("[remote rejected]") or result.code == 0:
                said = [line[len("remote:"):].strip() for line in result.err.decode("utf-8", "replace").splitlines()
                        if line.startswith("remote:") and line[len("remote:"):].strip()]  # (its hook's own words)
                why = f"; it said: {_sanitised(' '.join(said[-2:]))}" if said else ""
                raise SyncFailed(f"the remote {shown_url(url)} refused the change: {_sanitised(summary)}{why}",
                                 hint="nothing was lost here; check the remote (its hooks or permissions)")
        raise self._unreachable(url, result.err, "it may or may not have taken the change: the next sync finds out")

    def _moved_on(self, url: str) -> bool:
        """True if the remote's main is no longer the commit last fetched (another push got there first)."""
        result = self._git("ls-remote", "--quiet", "origin", BRANCH, network=url, check=False)
        if result.code != 0:
            raise self._unreachable(url, result.err, "it did not take the change")
        return result.out.decode("ascii", "replace").partition("\t")[0] != (self._resolve(TRACKING) or "")

    def _required_remote(self) -> str:
        url = self.remote()
        if url is None:
            raise SyncFailed("no remote is set for sync", hint="name one: taskvault sync --remote URL")
        return url

    def _unreachable(self, url: str, stderr: bytes, then: str) -> RemoteUnreachable:
        return RemoteUnreachable(f"cannot reach the remote {shown_url(url)}: {git_reason(stderr)}",
                                 hint=f"{then}; check the network and the remote's address, then sync again")

    # What the mirror holds

    def files(self, commit: str, under: str = "ops/") -> dict[str, tuple[str, int]]:
        """Each file of ``commit`` under ``under``: path -> (blob id, size). Raises RemoteDamaged for
        anything there that is not a plain file (a link, a submodule)."""
        found = {}
        for path, (mode, blob, size) in self._entries(commit, under).items():
            if mode not in ("100644", "100755"):
                raise RemoteDamaged(f"the remote holds {_sanitised(path)!r}, which is not a file taskvault wrote "
                                    f"(git mode {mode})", hint="remove it from the remote's repository")
            found[path] = (blob, int(size))
        return found

    def _entries(self, commit: str, under: str) -> dict[str, tuple[str, str, str]]:
        """Every entry of ``commit``'s tree under ``under``, of any kind: path -> (mode, object id, size or -)."""
        commit = self._object_id(commit)
        for (listed, prefix), entries in self._listings.items():
            if listed == commit and under.startswith(prefix):  # (a wider listing of it was read already)
                return {path: entry for path, entry in entries.items() if path.startswith(under)}
        pathspec = ["--", under] if under else []
        out = self._git("ls-tree", "-r", "-l", "-z", "--full-tree", commit, *pathspec).out
        found = {}
        for entry in out.split(b"\0"):
            if entry:
                info, _, raw_path = entry.partition(b"\t")
                mode, _kind, blob, size = info.decode("ascii", "replace").split()
                found[raw_path.decode("utf-8", "surrogateescape")] = (mode, blob, size)
        self._listings[(commit, under)] = found
        return dict(found)

    def read(self, blob_ids: Sequence[str], *, limit: int = MAX_BLOB_BYTES) -> list[bytes]:
        """The contents of these blobs, in order; one git process for all of their contents.

        Raises RemoteDamaged for a blob over ``limit`` bytes or missing from the mirror."""
        if not blob_ids:
            return []
        ids = [self._object_id(blob) for blob in blob_ids]
        request = "".join(f"{blob}\n" for blob in ids).encode()
        sizes = []
        for line in self._git("cat-file", "--batch-check", input=request).out.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) != 3 or parts[1] != "blob":
                raise RemoteDamaged(f"the mirror lacks the file {_sanitised(parts[0] if parts else line)}",
                                    hint="sync again; if it persists, the remote is damaged")
            if int(parts[2]) > limit:
                raise RemoteDamaged(f"a file on the remote is {int(parts[2]):,} bytes, more than the {limit:,} "
                                    "taskvault writes", hint="remove it from the remote's repository")
            sizes.append(int(parts[2]))
        out = self._git("cat-file", "--batch", input=request,
                        limit=sum(sizes) + len(ids) * 100).out
        contents, at = [], 0
        for size in sizes:
            at = out.index(b"\n", at) + 1
            contents.append(out[at:at + size])
            at += size + 1
        return contents

    def is_ancestor(self, older: str, newer: str) -> bool:
        """True if ``newer`` descends from ``older`` (or is it). Raises SyncFailed for an unknown commit."""
        result = self._git("merge-base", "--is-ancestor", self._object_id(older), self._object_id(newer), check=False)
        if result.code in (0, 1):
            return result.code == 0
        raise SyncFailed(f"cannot compare two commits of the sync mirror: {git_reason(result.err)}",
                         hint="sync again; if it persists, the remote was rewritten or damaged")

    # Writing

    def commit(self, parent: str | None, files: Mapping[str, bytes], message: str) -> str:
        """A new commit (not yet on any branch): ``parent``'s files plus ``files``. A path that exists with
        the same bytes is left as it is; one with other bytes (or a directory there) raises SyncFailed:
        files on the remote are never changed, only added."""
        existing = {path: blob for path, (_, blob, _) in self._entries(parent, "").items()} if parent is not None else {}
        lines = []
        for path, data in sorted(files.items()):
            _check_path(path)
            blob = self._git("hash-object", "-w", "--stdin", input=data).out.decode("ascii").strip()
            if path in existing:
                if existing[path] != blob:
                    raise SyncFailed(f"the remote already holds {_sanitised(path)!r} with other content",
                                     hint="files on the remote are only ever added; this is a bug of taskvault")
                continue
            prefix = path + "/"
            if any(other.startswith(prefix) or path.startswith(other + "/") for other in existing):
                raise SyncFailed(f"{_sanitised(path)!r} clashes with a file or directory on the remote",
                                 hint="files on the remote are only ever added; this is a bug of taskvault")
            lines.append(f"100644 {blob}\t{path}\n")
        index = {"GIT_INDEX_FILE": str(self.path / "taskvault.index")}
        self._git("read-tree", *([parent] if parent is not None else ["--empty"]), extra=index)
        self._git("update-index", "--add", "--index-info", input="".join(lines).encode(), extra=index)
        tree = self._git("write-tree", extra=index).out.decode("ascii").strip()
        parents = ["-p", self._object_id(parent)] if parent is not None else []
        return self._git("commit-tree", tree, *parents, "-F", "-", input=message.encode()).out.decode("ascii").strip()

    def mark(self, name: str, commit: str) -> None:
        """Point the local ref refs/taskvault/NAME at ``commit`` (durably)."""
        self._marks = None
        self._git("update-ref", _MARKS + _mark_name(name), self._object_id(commit))

    def marks(self) -> list[str]:
        """The names of the local refs under refs/taskvault/."""
        if self._marks is None:
            listed = self._git("for-each-ref", "--format=%(refname)", _MARKS).out.decode("ascii", "replace")
            self._marks = [line[len(_MARKS):] for line in listed.splitlines() if line.startswith(_MARKS)]
        return list(self._marks)

    def unmark(self, name: str) -> None:
        """Remove the local ref refs/taskvault/NAME (nothing if there is none)."""
        self._marks = None
        self._git("update-ref", "-d", _MARKS + _mark_name(name))

    def marked(self, name: str) -> str | None:
        """The commit refs/taskvault/NAME points at, or None."""
        return self._resolve(_MARKS + _mark_name(name))

    def tidy(self) -> None:
        """Pack the mirror's loose objects once there are many (git's own threshold), as a user's git would: each
        sync adds a few, and thousands slow every command. Nothing of the remote's is touched; a failure is
        harmless (the next sync tries again) and not reported."""
        self._git("-c", "gc.auto=6700", "-c", "gc.autoDetach=false", "gc", "--auto", "--quiet", check=False)

    def setting(self, name: str) -> str | None:
        """A value sync keeps in the mirror's own configuration (``taskvault.NAME``), or None."""
        return self._config("--get", f"taskvault.{_mark_name(name)}")

    def set_setting(self, name: str, value: str) -> None:
        self._git("config", f"taskvault.{_mark_name(name)}", value)

    def _resolve(self, ref: str) -> str | None:
        result = self._git("rev-parse", "--quiet", "--verify", f"{ref}^{{commit}}", check=False)
        return result.out.decode("ascii").strip() if result.code == 0 else None

    def _config(self, *args: str, in_repository: bool = True) -> str | None:
        result = self._git("config", *args, bare=in_repository, check=False)
        if result.code == 1:
            return None
        if result.code != 0:
            raise SyncFailed(f"cannot read the sync mirror's settings: {git_reason(result.err)}",
                             hint=f"move {self.path} aside, {_NAME_AGAIN}")
        return result.out.decode("utf-8", "replace").strip()

    def _object_id(self, name: str) -> str:
        if not _OBJECT_ID.fullmatch(name):
            raise SyncFailed(f"{_sanitised(name)!r} is not a git object id", hint="this is a bug of taskvault")
        return name

    # Running git

    def _git(self, *args: str, input: bytes = b"", bare: bool = True, network: str | None = None,
             check: bool = True, limit: int = MAX_OUTPUT_BYTES, extra: Mapping[str, str] | None = None) -> _Result:
        """Run git on the mirror (``bare``) with the controlled configuration; raise unless it succeeds (``check``).

        ``network`` names the remote the command talks to: its timeout is then the remote's fault."""
        argv = [self.git]
        for setting in _CONFIG:
            argv += ["-c", setting]
        if bare:
            argv += ["--git-dir", str(self.path)]
        environment = self._env() if extra is None else {**self._env(), **extra}
        try:
            result = _run([*argv, *args], input, environment, self.timeout, limit)
        except _CannotStart as exc:
            raise GitUnavailable(f"sync runs git, which cannot be run here ({exc}): install git to sync",
                                 hint="e.g. apt install git (git 2.29 or newer), then sync again") from None
        except _TimedOut:
            what = f"the remote {shown_url(network)} did not answer" if network else "git did not finish"
            error = RemoteUnreachable if network else SyncFailed
            raise error(f"{what} within {self.timeout:g} s", hint="nothing was changed here; sync again later") from None
        except _TooMuchOutput:
            raise RemoteDamaged(f"git printed more than {limit:,} bytes for {args[0]}",
                                hint="the remote holds more than taskvault wrote there") from None
        if check and result.code != 0:
            raise SyncFailed(f"git {args[0]} failed in the sync mirror: {git_reason(result.err)}",
                             hint=f"if it persists, move {self.path} aside, {_NAME_AGAIN}")
        return result

    def _env(self) -> dict[str, str]:
        if self._environment is None:
            environment = {key: value for key, value in os.environ.items()
                           if not key.startswith("GIT_") or key in _KEPT_GIT_VARIABLES}
            environment.pop("LANGUAGE", None)
            name, email = _IDENTITY
            environment.update({
                "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ALLOW_PROTOCOL": _PROTOCOLS, "GIT_NO_REPLACE_OBJECTS": "1",
                "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
            })
            self._environment = environment
        return self._environment


def _check_path(path: str) -> None:
    parts = path.split("/")
    if not path or _CONTROL.search(path) or any(part in ("", ".", "..", ".git") for part in parts):
        raise SyncFailed(f"{_sanitised(path)!r} is not a path taskvault writes on the remote",
                         hint="this is a bug of taskvault")


def _mark_name(name: str) -> str:
    if not _MARK_NAME.fullmatch(name):
        raise SyncFailed(f"{_sanitised(name)!r} is not a name for a mark of the sync mirror",
                         hint="this is a bug of taskvault")
    return name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _TooMuchOutput(Exception):
    pass


class _TimedOut(Exception):
    pass


class _CannotStart(Exception):
    pass


def _run(argv: list[str], input: bytes, environment: dict[str, str], timeout: float, limit: int) -> _Result:
    """Run ``argv`` in a session of its own (no terminal to prompt on, one group to kill), feeding ``input``.

    Raises _CannotStart, and _TimedOut or _TooMuchOutput after killing the group.
    """
    import time

    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=environment, cwd="/", start_new_session=True)
    except OSError as exc:
        raise _CannotStart(exc.strerror or str(exc)) from None
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    feeder = threading.Thread(target=_feed, args=(process.stdin, input), daemon=True)
    feeder.start()
    out, err = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, out)
            selector.register(process.stderr, selectors.EVENT_READ, err)
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _TimedOut
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if key.data is err and len(err) > 2 * _STDERR_KEPT:
                        del err[:-_STDERR_KEPT]
                    elif key.data is out and len(out) > limit:
                        raise _TooMuchOutput
        try:
            code = process.wait(max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            raise _TimedOut from None
    except BaseException:
        _kill(process)
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
        feeder.join()
    return _Result(code, bytes(out), bytes(err[-_STDERR_KEPT:]))


def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write ``data`` to git's standard input and close it; a git that stopped reading is no error here."""
    try:
        if data:
            pipe.write(data)
        pipe.close()
    except OSError:
        pass


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop git's group: SIGTERM first, which git answers by removing its lock files (a SIGKILL left
    refs/…/main.lock or config.lock behind, and every later sync failed on it); SIGKILL if it has not ended
    within a few seconds, or at a second Ctrl-C."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except OSError:
            pass
        try:
            process.wait(wait)
            return
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            continue
