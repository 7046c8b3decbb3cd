"""store/git_mirror.py against a real git server on loopback (git daemon, a bare repository path, a proxy
that cuts connections): what sync's transport promises, and what each failure looks like."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskvault.errors import GitUnavailable, RemoteDamaged, RemoteUnreachable, SyncFailed, TaskvaultError
from taskvault.store.git_mirror import GitMirror, check_url

from .gitserver import TO_CLIENT, TO_SERVER, GitDaemon, PartitionProxy, branch_of, git_environment, git_in, make_bare

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (CI: apt-get install git)")

#: A mirror's timeout in the tests: a hang fails the test instead of holding up the run.
TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git reads this run's own (empty) global configuration, never the user's who runs the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for key in [key for key in os.environ if key.startswith("GIT_")]:
        monkeypatch.delenv(key)
    return home


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    server = tmp_path / "server"
    server.mkdir()
    with GitDaemon(server) as running:
        yield running


@pytest.fixture(params=["daemon", "path"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A remote's URL and its bare repository: served by git daemon, or a plain path."""
    if request.param == "path":
        yield str(make_bare(tmp_path / "remote.git")), tmp_path / "remote.git"
        return
    server = tmp_path / "server"
    server.mkdir()
    with GitDaemon(server) as running:
        yield running.url, running.repository


def mirror(tmp_path: Path, name: str, url: str | None = None) -> GitMirror:
    made = GitMirror(tmp_path / name / "sync.git", timeout=TIMEOUT)
    (tmp_path / name).mkdir(exist_ok=True)
    made.open()
    if url is not None:
        made.set_remote(url)
    return made


def refs(made: GitMirror) -> str:
    """Every ref of a mirror, with what it points at."""
    return git_in(made.path, "for-each-ref")


def one_line(error: TaskvaultError) -> TaskvaultError:
    assert "\n" not in error.message and error.hint and "\n" not in error.hint, (error.message, error.hint)
    return error


def commit_on_remote(made: GitMirror, files: dict[str, bytes], message: str = "test") -> str:
    """Fetch, add ``files`` on top of the remote's main and push; the new commit."""
    commit = made.commit(made.fetch(), files, message)
    assert made.push(commit)
    return commit


class TestRoundTrip:
    def test_an_empty_remote_has_no_commit(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """Fetching a new, empty repository gives None, and moves no ref."""
        made = mirror(tmp_path, "a", remote[0])
        assert made.fetch() is None
        assert refs(made) == ""

    def test_what_one_mirror_pushes_another_reads_byte_for_byte(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """A commit pushed from one mirror is fetched by a second, which lists and reads the same files and bytes."""
        files = {"ops/dev-a/0001.jsonl": b"line\n", "ops/dev-a/0002.jsonl": bytes(range(256)) * 300,
                 "ops/dev-b/x y.jsonl": "caf\u00e9\n".encode(), "ops/empty": b"", "README": b"outside ops/"}
        first = mirror(tmp_path, "a", remote[0])
        commit = first.commit(None, files, "first")
        assert first.push(commit)
        assert branch_of(remote[1]) == commit
        second = mirror(tmp_path, "b", remote[0])
        assert second.fetch() == commit
        listed = second.files(commit)
        assert set(listed) == {path for path in files if path.startswith("ops/")}
        assert {path: size for path, (_, size) in listed.items()} == {path: len(files[path]) for path in listed}
        paths = sorted(listed)
        assert second.read([listed[path][0] for path in paths]) == [files[path] for path in paths]
        assert set(second.files(commit, under="")) == set(files)

    def test_the_remote_keeps_every_file_a_commit_adds(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """A commit holds its parent's files and its own; a file already there with the same bytes is no change."""
        made = mirror(tmp_path, "a", remote[0])
        first = commit_on_remote(made, {"ops/a/1": b"one"})
        second = commit_on_remote(made, {"ops/a/2": b"two", "ops/a/1": b"one"})
        assert made.is_ancestor(first, second) and not made.is_ancestor(second, first)
        assert sorted(made.files(second)) == ["ops/a/1", "ops/a/2"]
        assert git_in(remote[1], "rev-list", "--count", "main").strip() == "2"


def push_at_once(made: GitMirror, commit: str, barrier: threading.Barrier, results: dict[GitMirror, bool]) -> None:
    barrier.wait()
    results[made] = made.push(commit)


class TestCompareAndSwap:
    def test_two_pushes_at_once_one_wins_and_the_other_builds_on_it(self, tmp_path: Path, daemon: GitDaemon) -> None:
        """Two mirrors push commits on the same parent at the same moment: exactly one is taken, the other told
        False; it fetches, commits on top and pushes, and the remote then holds both devices' files."""
        a, b = mirror(tmp_path, "a", daemon.url), mirror(tmp_path, "b", daemon.url)
        commit_on_remote(a, {"ops/start": b"0"})
        for round_number in range(4):
            base = a.fetch()
            assert b.fetch() == base
            commits = {a: a.commit(base, {f"ops/a/{round_number}": b"a"}, "a"),
                       b: b.commit(base, {f"ops/b/{round_number}": b"b"}, "b")}
            barrier = threading.Barrier(2)
            results: dict[GitMirror, bool] = {}
            threads = [threading.Thread(target=push_at_once, args=(made, commits[made], barrier, results))
                       for made in (a, b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(results.values()) == [False, True]
            loser = a if not results[a] else b
            winner_commit = commits[b if loser is a else a]
            assert branch_of(daemon.repository) == winner_commit
            head = loser.fetch()
            assert head == winner_commit and not loser.is_ancestor(commits[loser], head)
            own = {path: loser.read([blob])[0] for path, (blob, _) in loser.files(commits[loser]).items()}
            assert loser.push(loser.commit(head, own, "again"))
        assert sorted(a.files(a.fetch())) == sorted(["ops/start", *(f"ops/{d}/{n}" for d in "ab" for n in range(4))])

    def test_a_rewritten_remote_is_fetched_and_shows_as_not_descending(self, tmp_path: Path, daemon: GitDaemon) -> None:
        """After a force-push elsewhere, fetch moves the local copy back (it is forced locally) and is_ancestor
        tells the caller that the remote lost what it held."""
        made = mirror(tmp_path, "a", daemon.url)
        first = commit_on_remote(made, {"ops/1": b"1"})
        second = commit_on_remote(made, {"ops/2": b"2"})
        git_in(daemon.repository, "update-ref", "refs/heads/main", first)
        assert made.fetch() == first
        assert not made.is_ancestor(second, first)
        assert made.push(second)  # a descendant is a fast-forward again


    def test_a_remote_whose_branch_was_deleted_has_no_commit(self, tmp_path: Path, daemon: GitDaemon) -> None:
        """When the remote's main is deleted, fetch gives None and forgets the commit it had fetched."""
        made = mirror(tmp_path, "a", daemon.url)
        commit_on_remote(made, {"ops/1": b"1"})
        git_in(daemon.repository, "update-ref", "-d", "refs/heads/main")
        assert made.fetch() is None
        assert "refs/remotes/origin/main" not in refs(made)


class TestServerDown:
    def test_fetch_and_push_say_the_remote_cannot_be_reached_and_change_nothing(self, tmp_path: Path,
                                                                                daemon: GitDaemon) -> None:
        """With the server stopped, fetch and push raise RemoteUnreachable in one line naming the remote and
        git's reason; no ref of the mirror moves and the remote is as it was when it comes back."""
        made = mirror(tmp_path, "a", daemon.url)
        head = commit_on_remote(made, {"ops/1": b"1"})
        made.mark("synced", head)
        new = made.commit(head, {"ops/2": b"2"}, "unsent")
        before = refs(made)
        daemon.stop()
        for attempt in (made.fetch, lambda: made.push(new)):
            with pytest.raises(RemoteUnreachable) as caught:
                attempt()
            message = one_line(caught.value).message
            assert daemon.url in message and "Connection refused" in message, message
            assert refs(made) == before
        daemon.start()
        assert branch_of(daemon.repository) == head
        assert made.push(new)

    def test_a_server_that_never_answers_times_out(self, tmp_path: Path) -> None:
        """A remote that accepts the connection and says nothing makes fetch fail after the timeout, in one line."""
        with socket.create_server(("127.0.0.1", 0)) as silent:
            made = GitMirror(tmp_path / "sync.git", timeout=1.0)
            made.open()
            made.set_remote(f"git://127.0.0.1:{silent.getsockname()[1]}/tasks.git")
            with pytest.raises(RemoteUnreachable, match=r"did not answer within 1 s") as caught:
                made.fetch()
            one_line(caught.value)
        assert refs(made) == ""

    def test_a_password_in_the_address_is_never_shown(self, tmp_path: Path) -> None:
        """A remote's address with a password in it is named without the password."""
        made = mirror(tmp_path, "a", "https://someone:secret-token@127.0.0.1:1/tasks.git")
        with pytest.raises(RemoteUnreachable) as caught:
            made.fetch()
        assert "secret-token" not in str(caught.value) and "someone:***@127.0.0.1" in str(caught.value)

    @pytest.mark.parametrize("password", ["p@ss", "a@b@c", "p:ss@"])
    def test_a_password_holding_at_signs_is_never_shown_in_part(self, password: str) -> None:
        from taskvault.store.git_mirror import shown_url

        shown = shown_url(f"https://user:{password}@127.0.0.1:1/x@y.git")
        assert shown == "https://user:***@127.0.0.1:1/x@y.git", shown


def measured(daemon: GitDaemon, action: str, made: GitMirror, commit: str | None = None) -> dict[str, int]:
    """The bytes each way of one fetch or push through a proxy that cuts nothing."""
    with PartitionProxy(daemon.port) as proxy:
        made.set_remote(proxy.url())
        assert (made.fetch() is not None) if action == "fetch" else made.push(commit or "")
    made.set_remote(daemon.url)
    return dict(proxy.passed)


#: The bytes after the last one a transfer needs: the server's closing flush packets, which git may not wait
#: for. Fewer than the 20 bytes of the pack's own checksum, so a cut anywhere in the pack is still a cut.
CLOSING_BYTES = 16


def cut_points(total: int, count: int = 24) -> list[int]:
    """``count`` offsets spread over [0, total), the first and the last byte included."""
    step = max(total // count, 1)
    return sorted({*range(0, total, step), total - 1})


class TestPartition:
    @pytest.mark.parametrize("direction", [TO_CLIENT, TO_SERVER])
    def test_a_fetch_cut_anywhere_moves_no_ref(self, tmp_path: Path, daemon: GitDaemon, direction: str) -> None:
        """A fetch whose connection is cut after N bytes (N swept over the whole transfer, each way) raises
        RemoteUnreachable and moves no ref; a fetch over a working path then gets everything. Only a cut in
        the server's closing flush may go unnoticed, and then the fetch got everything."""
        writer = mirror(tmp_path, "writer", daemon.url)
        for n in range(3):
            head = commit_on_remote(writer, {f"ops/w/{n}": os.urandom(30_000)})
        reader = mirror(tmp_path, "reader", daemon.url)
        total = measured(daemon, "fetch", mirror(tmp_path, "probe", daemon.url))[direction]
        before = refs(reader)
        for cut in cut_points(total):
            with PartitionProxy(daemon.port, cut_after=(direction, cut)) as proxy:
                reader.set_remote(proxy.url())
                try:
                    fetched = reader.fetch()
                except RemoteUnreachable as error:
                    one_line(error)
                    assert proxy.cut.wait(TIMEOUT) and proxy.passed[direction] == cut
                else:
                    assert fetched == head and direction == TO_CLIENT and cut >= total - CLOSING_BYTES, cut
                    git_in(reader.path, "update-ref", "-d", "refs/remotes/origin/main")
            assert refs(reader) == before, f"a ref moved after a cut at byte {cut} of {total} {direction}"
        reader.set_remote(daemon.url)
        assert reader.fetch() == head
        assert reader.read([writer.files(head)["ops/w/2"][0]]) == writer.read([writer.files(head)["ops/w/2"][0]])

    @pytest.mark.parametrize("direction", [TO_SERVER, TO_CLIENT])
    def test_a_push_cut_anywhere_lands_whole_or_not_at_all(self, tmp_path: Path, daemon: GitDaemon,
                                                           direction: str) -> None:
        """A push whose connection is cut after N bytes (N swept) raises RemoteUnreachable; the remote's main is
        then the old commit or the new one, never anything between, and a retry over a working path succeeds.
        Only a cut in the server's closing flush may go unnoticed, and then the push did land (True is true)."""
        made = mirror(tmp_path, "a", daemon.url)
        commit_on_remote(made, {"ops/start": b"0"})
        probe = made.commit(made.fetch(), {"ops/probe": os.urandom(40_000)}, "probe")
        total = measured(daemon, "push", made, probe)[direction]
        outcomes = {"old": 0, "new": 0, "told": 0}
        for number, cut in enumerate(cut_points(total, 16)):
            old = made.fetch()
            assert old is not None
            new = made.commit(old, {f"ops/cut/{number}": os.urandom(40_000)}, f"cut at {cut}")
            with PartitionProxy(daemon.port, cut_after=(direction, cut)) as proxy:
                made.set_remote(proxy.url())
                try:
                    told = made.push(new)
                except RemoteUnreachable as error:
                    one_line(error)
                else:
                    assert told and direction == TO_CLIENT and cut >= total - CLOSING_BYTES, cut
                    assert branch_of(daemon.repository) == new
                    outcomes["told"] += 1
            made.set_remote(daemon.url)
            now = branch_of(daemon.repository)
            assert now in (old, new), f"the remote's main is neither the old nor the new commit after a cut at {cut}"
            outcomes["new" if now == new else "old"] += 1
            git_in(daemon.repository, "fsck", "--connectivity-only", "--no-dangling")
            assert made.push(new)
            assert branch_of(daemon.repository) == new
        assert outcomes["old"] > 0, outcomes

    def test_the_server_killed_during_a_push(self, tmp_path: Path, daemon: GitDaemon) -> None:
        """kill -9 of the git server while a large push is half sent: RemoteUnreachable; after a restart the
        remote holds its old main, whole, and the push goes through."""
        made = mirror(tmp_path, "a", daemon.url)
        old = commit_on_remote(made, {"ops/start": b"0"})
        new = made.commit(old, {"ops/big": os.urandom(3_000_000)}, "big")
        outcome: list[object] = []
        with PartitionProxy(daemon.port, hold_after=(TO_SERVER, 1_000_000)) as proxy:
            made.set_remote(proxy.url())

            def push() -> None:
                try:
                    outcome.append(made.push(new))
                except TaskvaultError as error:
                    outcome.append(error)

            pusher = threading.Thread(target=push)
            pusher.start()
            assert proxy.held.wait(TIMEOUT), "the push never passed 1 MB"
            daemon.kill9()
            proxy.release()
            pusher.join()
        assert len(outcome) == 1 and isinstance(outcome[0], RemoteUnreachable), outcome
        one_line(outcome[0])
        daemon.start()
        assert branch_of(daemon.repository) == old
        git_in(daemon.repository, "fsck", "--connectivity-only", "--no-dangling")
        made.set_remote(daemon.url)
        assert made.push(new) and branch_of(daemon.repository) == new


class TestRefusals:
    def test_commit_never_changes_a_file_the_remote_holds(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """Adding a path that exists with other bytes, or a path through an existing file, raises SyncFailed."""
        made = mirror(tmp_path, "a", remote[0])
        head = commit_on_remote(made, {"ops/a/1": b"one"})
        with pytest.raises(SyncFailed, match="already holds 'ops/a/1' with other content") as caught:
            made.commit(head, {"ops/a/1": b"changed"}, "change")
        one_line(caught.value)
        for clash in ("ops/a/1/inner", "ops/a"):
            with pytest.raises(SyncFailed, match="clashes"):
                made.commit(head, {clash: b"x"}, "clash")
        for bad in ("/abs", "ops/../x", "ops//x", "ops/.git/x", "ops/\n"):
            with pytest.raises(SyncFailed, match="not a path"):
                made.commit(head, {bad: b"x"}, "bad")

    @pytest.mark.parametrize("url", ["-oProxyCommand=touch {x}", "--upload-pack=touch {x}", "ext::sh -c touch% {x}",
                                     "fd::7", "", "  ", "/tmp/a\nb", "/tmp/\x1b[31mred"])
    def test_hostile_addresses_are_refused(self, tmp_path: Path, url: str) -> None:
        """An address that would be read as an option, run a command or hold control characters is refused
        in one line, and whatever it would have run never runs."""
        marker = tmp_path / "made"
        made = mirror(tmp_path, "a")
        with pytest.raises(SyncFailed) as caught:
            made.set_remote(url.format(x=marker))
        one_line(caught.value)
        assert made.remote() is None and not marker.exists()

    def test_hostile_addresses_that_git_itself_refuses(self, tmp_path: Path, home: Path) -> None:
        """An ssh host that is an option, and a URL rewrite to ext:: in the user's config, run nothing."""
        marker = tmp_path / "made"
        (home / ".gitconfig").write_text(f'[url "ext::sh -c touch% {marker}% #"]\n\tinsteadOf = evil:\n')
        for url in (f"ssh://-oProxyCommand=touch%20{marker}/x.git", "evil://host/x.git"):
            made = mirror(tmp_path, "a", url)
            with pytest.raises(SyncFailed) as caught:
                made.fetch()
            one_line(caught.value)
        assert not marker.exists()

    def test_addresses_are_kept_as_given_and_paths_made_absolute(self, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        """URLs and host:path are left alone; a relative path is made absolute, as git runs elsewhere."""
        monkeypatch.chdir(tmp_path)
        assert check_url("ssh://host/~/tasks.git") == "ssh://host/~/tasks.git"
        assert check_url("host:tasks.git") == "host:tasks.git"
        assert check_url("remote.git") == str(tmp_path / "remote.git")
        assert check_url("./a:b") == str(tmp_path / "a:b")

    def test_a_blob_over_the_limit_is_not_read(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """read refuses a file larger than the limit with RemoteDamaged, and an id the mirror lacks."""
        made = mirror(tmp_path, "a", remote[0])
        head = commit_on_remote(made, {"ops/big": b"x" * 100})
        blob = made.files(head)["ops/big"][0]
        assert made.read([blob], limit=100) == [b"x" * 100]
        with pytest.raises(RemoteDamaged, match="100 bytes, more than the 99"):
            made.read([blob], limit=99)
        with pytest.raises(RemoteDamaged, match="lacks"):
            made.read(["0" * 40])

    def test_a_link_on_the_remote_is_not_taken_for_a_file(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """A symbolic link put in the remote's ops/ by someone else makes files() raise RemoteDamaged."""
        made = mirror(tmp_path, "a", remote[0])
        commit_on_remote(made, {"ops/a": b"a"})
        repository = remote[1]
        env = git_environment(repository.parent)
        git = ["git", "--git-dir", str(repository)]
        blob = subprocess.run([*git, "hash-object", "-w", "--stdin"], input=b"/etc/passwd", capture_output=True,
                              check=True, env=env).stdout.decode().strip()
        ops = subprocess.run([*git, "mktree"], input=f"120000 blob {blob}\tlink\n".encode(), capture_output=True,
                             check=True, env=env).stdout.decode().strip()
        root = subprocess.run([*git, "mktree"], input=f"040000 tree {ops}\tops\n".encode(), capture_output=True,
                              check=True, env=env).stdout.decode().strip()
        commit = subprocess.run([*git, "commit-tree", root, "-m", "link"], capture_output=True, check=True,
                                env={**env, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x",
                                     "GIT_COMMITTER_EMAIL": "x@x"}).stdout.decode().strip()
        git_in(repository, "update-ref", "refs/heads/main", commit)
        fetched = made.fetch() or ""
        with pytest.raises(RemoteDamaged, match="'ops/link', which is not a file"):
            made.files(fetched)
        assert made.commit(fetched, {"ops/b": b"b"}, "beside it")  # commit itself only adds beside what is there

    def test_marks_are_local_refs_with_plain_names(self, tmp_path: Path, remote: tuple[str, Path]) -> None:
        """mark/marked keep a commit under refs/taskvault/; a name that is not a plain word is refused."""
        made = mirror(tmp_path, "a", remote[0])
        head = commit_on_remote(made, {"ops/a": b"a"})
        assert made.marked("synced") is None
        made.mark("synced", head)
        assert made.marked("synced") == head
        assert f"{head} commit\trefs/taskvault/synced" in refs(made)
        for bad in ("../heads/main", "Synced", "", "a b"):
            with pytest.raises(SyncFailed):
                made.mark(bad, head)


class TestRemoteRefuses:
    def test_a_hook_that_refuses_is_quoted(self, tmp_path: Path) -> None:
        """A remote whose pre-receive hook refuses the push: SyncFailed naming the refusal and the hook's own
        words (the useful part: here, why), in one line; the remote's main is as it was."""
        repository = make_bare(tmp_path / "remote.git")
        hook = repository / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text("#!/bin/sh\necho 'quota exceeded: 5 MB left' >&2\nexit 1\n")
        hook.chmod(0o755)
        made = mirror(tmp_path, "a", str(repository))
        commit = made.commit(made.fetch(), {"ops/a": b"a"}, "test")
        with pytest.raises(SyncFailed) as caught:
            made.push(commit)
        said = one_line(caught.value).message
        assert "refused the change" in said and "it said: quota exceeded: 5 MB left" in said, said
        assert branch_of(repository) is None


class TestInterrupted:
    def test_locks_a_killed_git_left_are_removed_when_the_mirror_is_opened(self, tmp_path: Path,
                                                                          remote: tuple[str, Path]) -> None:
        """A git killed while it held a lock leaves NAME.lock, and git then refuses that ref or file for good;
        opening the mirror (under the sync lock, so no git runs in it) removes every one."""
        made = mirror(tmp_path, "a", remote[0])
        head = commit_on_remote(made, {"ops/a": b"a"})
        made.mark("synced", head)
        locks = ["config.lock", "packed-refs.lock", "HEAD.lock", "refs/remotes/origin/main.lock",
                 "refs/taskvault/synced.lock", "objects/info/commit-graphs.lock"]
        for name in locks:
            (made.path / name).parent.mkdir(parents=True, exist_ok=True)
            (made.path / name).write_bytes(b"")
        with pytest.raises(SyncFailed):
            made.mark("synced", head)  # (git refuses while the lock is there)
        made.open()
        assert not [name for name in locks if (made.path / name).exists()]
        made.mark("synced", head)
        made.set_setting("last-sync", "now")
        assert made.fetch() == head

    def test_a_git_stopped_is_asked_to_end_before_it_is_killed(self, tmp_path: Path) -> None:
        """Stopping git's group sends SIGTERM first, which git answers by removing its locks (a program that
        cleans up on SIGTERM here shows it ran its handler); one that ignores it is killed."""
        from taskvault.store.git_mirror import _kill

        cleaned = tmp_path / "held.lock"
        script = f"trap 'rm -f {cleaned}; exit 143' TERM; touch {cleaned}; echo ready; while :; do read x; done"
        process = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   start_new_session=True)
        assert process.stdout is not None and process.stdout.readline() == b"ready\n" and cleaned.exists()
        _kill(process)
        assert not cleaned.exists() and process.returncode == 143
        stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; echo ready; while :; do read x; done"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
        _kill(stubborn)
        assert stubborn.returncode == -9
        for pipe in (process.stdin, process.stdout, stubborn.stdin, stubborn.stdout):
            assert pipe is not None
            pipe.close()


class TestTheUsersGit:
    def test_git_missing_says_to_install_it(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With no git on PATH, or a git that cannot run, opening the mirror raises GitUnavailable in one line."""
        empty = tmp_path / "bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        with pytest.raises(GitUnavailable, match="install git") as caught:
            GitMirror(tmp_path / "sync.git").open()
        one_line(caught.value)
        not_executable = empty / "git"
        not_executable.write_text("")
        with pytest.raises(GitUnavailable):
            GitMirror(tmp_path / "sync.git", git=str(not_executable)).open()
        assert not (tmp_path / "sync.git").exists()

    def test_a_git_too_old_is_named(self, tmp_path: Path) -> None:
        """A git older than 2.29 is refused, with its version, before it touches anything."""
        old = tmp_path / "git"
        old.write_text("#!/bin/sh\necho 'git version 2.20.1'\n")
        old.chmod(0o755)
        with pytest.raises(GitUnavailable, match=r"git 2\.20\.1 is too old") as caught:
            GitMirror(tmp_path / "sync.git", git=str(old)).open()
        assert "2.29" in (caught.value.hint or "")

    def test_a_users_signing_and_identity_settings_do_not_break_commits(self, tmp_path: Path, home: Path,
                                                                        remote: tuple[str, Path]) -> None:
        """A user whose ~/.gitconfig signs every commit (with a gpg that fails) and refuses to guess an identity
        still syncs: the same config makes a plain commit-tree fail, and the mirror's commits are never signed."""
        (home / ".gitconfig").write_text("[commit]\n\tgpgsign = true\n[push]\n\tgpgSign = true\n"
                                         "[gpg]\n\tprogram = false\n[user]\n\tuseConfigOnly = true\n")
        plain = make_bare(tmp_path / "plain.git")
        empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        subprocess.run(["git", "--git-dir", str(plain), "hash-object", "-t", "tree", "-w", "--stdin"], input=b"",
                       check=True, capture_output=True)
        refused = subprocess.run(["git", "--git-dir", str(plain), "commit-tree", empty_tree, "-m", "x"],
                                 capture_output=True)
        assert refused.returncode != 0 and b"Author identity unknown" in refused.stderr, refused.stderr
        made = mirror(tmp_path, "a", remote[0])
        head = commit_on_remote(made, {"ops/a": b"a"})
        shown = git_in(made.path, "cat-file", "commit", head)
        assert "gpgsig" not in shown and "taskvault <taskvault@localhost>" in shown

    def test_the_users_hooks_never_run(self, tmp_path: Path, home: Path, daemon: GitDaemon) -> None:
        """Hooks the user's config points every repository at (pre-push, reference-transaction) never run in
        the mirror. (A bare repository path's own side is the remote's business: git runs its hooks there.)"""
        hooks = home / "hooks"
        hooks.mkdir()
        ran = tmp_path / "hook-ran"
        for name in ("pre-push", "reference-transaction", "post-update"):
            (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {ran}\n")
            (hooks / name).chmod(0o755)
        (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
        made = mirror(tmp_path, "a", daemon.url)
        head = commit_on_remote(made, {"ops/a": b"a"})
        made.mark("synced", head)
        assert made.fetch() == head
        assert not ran.exists()

    def test_git_variables_of_the_environment_do_not_redirect_it(self, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
        """GIT_DIR, GIT_INDEX_FILE or GIT_CONFIG_PARAMETERS set where taskvault runs change nothing it does."""
        elsewhere = make_bare(tmp_path / "elsewhere.git")
        monkeypatch.setenv("GIT_DIR", str(elsewhere))
        monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "stray-index"))
        monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'commit.gpgsign'='true'")
        made = mirror(tmp_path, "a", str(make_bare(tmp_path / "remote.git")))
        head = commit_on_remote(made, {"ops/a": b"a"})
        assert made.marked("synced") is None and branch_of(tmp_path / "remote.git") == head
        assert branch_of(elsewhere) is None and not (tmp_path / "stray-index").exists()


OPEN_MIRROR = ("import sys; from pathlib import Path; from taskvault.store.git_mirror import GitMirror; "
               "GitMirror(Path(sys.argv[1])).open()")


class TestOpening:
    def test_open_makes_a_mirror_once(self, tmp_path: Path) -> None:
        """open makes a bare repository, again and again without change, with no temporary directory left."""
        made = GitMirror(tmp_path / "sync.git")
        made.open()
        made.open()
        assert git_in(made.path, "rev-parse", "--is-bare-repository").strip() == "true"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "sync.git"]

    @pytest.mark.parametrize("parts", [[], ["HEAD"], ["refs/heads/", "refs/tags/"], ["objects/pack/", "config.lock"],
                                       ["HEAD", "config", "objects/info/", "objects/pack/", "refs/heads/"]])
    def test_a_half_made_mirror_is_made_again(self, tmp_path: Path, parts: list[str]) -> None:
        """A directory holding only some of what git init makes, and no object or ref, is made into a mirror."""
        path = tmp_path / "sync.git"
        path.mkdir()
        for part in parts:
            if part.endswith("/"):
                (path / part).mkdir(parents=True)
            elif part == "config":
                (path / part).write_text("[core]\n\tbare = true\n")
            else:
                (path / part).write_text("ref: refs/heads/main\n")
        made = GitMirror(path, timeout=TIMEOUT)
        made.open()
        made.set_remote(str(make_bare(tmp_path / "remote.git")))
        assert commit_on_remote(made, {"ops/a": b"a"}) == branch_of(tmp_path / "remote.git")

    @pytest.mark.parametrize("extra", ["notes.txt", "refs/heads/main", "objects/ab/cdef"])
    def test_a_directory_that_is_not_a_half_made_mirror_is_never_removed(self, tmp_path: Path, extra: str) -> None:
        """A directory there with anything git init does not make, or an object or a ref, is refused, untouched."""
        path = tmp_path / "sync.git"
        (path / extra).parent.mkdir(parents=True, exist_ok=True)
        for part in ("objects/pack", "refs/heads"):
            (path / part).mkdir(parents=True, exist_ok=True)
        (path / extra).write_text("keep me")
        with pytest.raises(SyncFailed, match="is not taskvault's sync mirror") as caught:
            GitMirror(path).open()
        assert "mv " in (one_line(caught.value).hint or "")
        assert (path / extra).read_text() == "keep me"

    def test_a_file_or_link_in_its_place_is_refused(self, tmp_path: Path) -> None:
        """A file, or a link to a directory, where the mirror goes is refused and left alone."""
        (tmp_path / "file.git").write_text("x")
        (tmp_path / "target").mkdir()
        (tmp_path / "link.git").symlink_to(tmp_path / "target")
        for name in ("file.git", "link.git"):
            with pytest.raises(SyncFailed, match="is not a directory"):
                GitMirror(tmp_path / name).open()
        assert (tmp_path / "file.git").read_text() == "x" and list((tmp_path / "target").iterdir()) == []

    def test_the_leftovers_of_a_killed_open_are_removed_once_their_process_is_gone(self, tmp_path: Path) -> None:
        """A half-built mirror of a process that died is removed by the next open; a living one's is kept."""
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        dead = tmp_path / f".sync.git.tmp-{gone.pid}-0000abcd"
        alive = tmp_path / f".sync.git.tmp-{os.getpid()}-0000abcd"
        for leftover in (dead, alive):
            (leftover / "refs" / "heads").mkdir(parents=True)
            (leftover / "HEAD").write_text("ref: refs/heads/main\n")
        GitMirror(tmp_path / "sync.git").open()
        assert not dead.exists() and alive.exists()

    def test_an_open_killed_at_any_moment_leaves_a_mirror_or_nothing(self, tmp_path: Path) -> None:
        """open killed by SIGKILL while it builds (the child is killed once its half-built mirror appears):
        the mirror's path never holds a half-made one, and the next open makes a working mirror."""
        caught = 0
        for attempt in range(6):
            place = tmp_path / f"d{attempt}"
            place.mkdir()
            child = subprocess.Popen([sys.executable, "-c", OPEN_MIRROR, str(place / "sync.git")])
            while child.poll() is None:
                if any(p.name.startswith(".sync.git.tmp-") for p in place.iterdir()):
                    child.kill()
                    caught += 1
                    break
            child.wait()
            assert not (place / "sync.git").exists() or git_in(place / "sync.git", "config", "taskvault.mirror") == "1\n"
            made = GitMirror(place / "sync.git")
            made.open()
            # The killed process's `git init` runs in a session of its own and may still be writing its half-made
            # mirror: what is left besides the mirror is only such a leftover of a dead process, for a later open.
            left = sorted(p.name for p in place.iterdir())
            assert "sync.git" in left and git_in(place / "sync.git", "config", "taskvault.mirror") == "1\n"
            assert all(name.startswith(f".sync.git.tmp-{child.pid}-") for name in left if name != "sync.git"), left
        assert caught > 0, "no kill landed while open was building"
