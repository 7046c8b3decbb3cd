"""Shell completion: the candidate engine, `taskvault __complete`, and real bash, zsh and fish pressing Tab.

The shells run under a pseudo-terminal (pexpect) with an isolated home, data directory and history;
each test types a partial command line, presses Tab, and reads what the shell shows or inserts.
Nothing waits for time: a sentinel typed after the Tab is echoed only once the shell has finished
completing, since a shell reads its keys in order.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from taskvault.cli import shell_completion
from taskvault.cli.candidates import DIRECTORIES, FILES, complete, wanted_path
from taskvault.cli.shell_completion import split_line
from taskvault.commands.catalog import FORMAT_CHOICES, SHELL_CHOICES
from taskvault.commands.shell_scripts import SCRIPTS
from taskvault.service import TaskService, peek_tasks
from taskvault.store.journal_store import JournalStore

from .conftest import TASKVAULT, require_tool, run_taskvault

#: Another process holding the store's lock, as a writer saving a change does, until its standard input closes.
HOLD_THE_LOCK = ("import fcntl, sys\nf = open(sys.argv[1], 'rb')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
                 "print('held', flush=True)\nsys.stdin.read()")
SEED = "add Buy milk +home project:house\nadd Call mum +family\nadd Old\ndone 3\n"
#: bash's COMP_WORDBREAKS as bash sets it.
BASH_WORD_BREAKS = " \t\n\"'><=;|&(:"


def _no_tasks() -> None:
    return None


def _texts(words: list[str], current: str, tasks: object = _no_tasks) -> list[str]:
    return [text for text, _ in complete(words, current, tasks)]  # type: ignore[arg-type]


def _files(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (a store), by name, with the sha256 of its bytes."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def seeded(data_dir: Path) -> Path:
    assert run_taskvault(data_dir, stdin=SEED).code == 0
    return data_dir


class TestTheEngine:
    def test_a_shell_line_may_start_with_taskvaults_own_options(self) -> None:
        """--data-dir DIR and flags come before the command word; the session's own words are not offered."""
        assert _texts(["--data-dir", "/x", "--json"], "li") == ["list"]
        assert _texts([], "--j") == ["--json"]
        assert "quit" not in _texts([], "")
        assert _texts(["--data-dir"], "") == []  # (a directory: the shell's to complete)
        assert _texts(["--color"], "") == ["auto", "always", "never"]  # (a global option's values)
        assert _texts([], "--color=al") == ["--color=always"]
        assert _texts(["--color", "never"], "li") == ["list"]

    def test_options_their_choices_and_the_shells(self) -> None:
        """Each command's options, an option's choices (export --to), and the shells completion writes for."""
        assert _texts(["list"], "--wa") == ["--waiting"]
        assert _texts(["export", "--to"], "") == list(FORMAT_CHOICES)
        assert _texts(["export", "-o", "out.csv", "--to"], "c") == ["csv"]
        assert _texts(["completion"], "") == list(SHELL_CHOICES) == list(SCRIPTS)

    def test_attribute_and_filter_words(self) -> None:
        """add offers attribute words; list, next and export offer filter attributes and virtual tags."""
        assert _texts(["add", "x"], "pri") == ["priority:"]
        assert "due.before:" not in _texts(["list"], "due") and "due:" in _texts(["list"], "due")
        assert "+OVERDUE" in _texts(["export"], "+O") and "+OVERDUE" in _texts(["next"], "+OV")

    def test_paths_are_the_shells_to_complete(self) -> None:
        """A file where an argument or an option takes one, a directory for --data-dir, else nothing."""
        assert wanted_path(["import"], "") == FILES
        assert wanted_path(["import", "--from", "csv"], "ta") == FILES
        assert wanted_path(["import", "--done-file"], "") == FILES
        assert wanted_path(["export", "-o"], "") == wanted_path(["export", "--output"], "") == FILES
        assert wanted_path(["--data-dir"], "") == DIRECTORIES and wanted_path(["--script"], "") == FILES
        assert wanted_path(["import", "--from"], "") is None and wanted_path(["import"], "--d") is None
        assert wanted_path(["done"], "") is None and wanted_path([], "") is None

    def test_tasks_are_read_only_when_a_candidate_needs_them(self) -> None:
        """Completing a command or an option never asks for the task list."""
        def refuse() -> None:
            raise AssertionError("the task list was read")

        for words, current in (([], "d"), (["list"], "--"), (["export", "--to"], ""), (["add", "x"], "du")):
            list(complete(words, current, refuse))  # type: ignore[arg-type]

    def test_ids_tags_and_projects_from_the_store(self, seeded: Path) -> None:
        """Open tasks for done, done ones for reopen, with titles; +tags with counts; project:NAME."""
        tasks = TaskService(JournalStore(seeded)).tasks
        assert list(complete(["done"], "", lambda: tasks)) == [("1", "Buy milk"), ("2", "Call mum")]
        assert list(complete(["reopen"], "", lambda: tasks)) == [("3", "Old")]
        assert list(complete(["history", "--task"], "3", lambda: tasks)) == [("3", "Old")]
        assert list(complete(["list"], "+f", lambda: tasks)) == [("+family", "1 task")]
        assert _texts(["modify", "1"], "pro:", lambda: tasks) == ["pro:house"]

    def test_a_line_is_split_as_the_shell_splits_it(self) -> None:
        """Quotes group words; an open quote ends at the cursor; a space after the last word starts a new one."""
        assert split_line('taskvault add "Buy mi') == (["taskvault", "add"], "Buy mi")
        assert split_line("taskvault list ") == (["taskvault", "list"], "")
        assert split_line("taskvault list project:ho") == (["taskvault", "list"], "project:ho")
        assert split_line("taskvault 'it''s") == (["taskvault"], "its")


class TestTheAnswer:
    def test_descriptions_are_one_safe_short_line_and_unsafe_texts_are_left_out(self, data_dir: Path) -> None:
        """A title with a bidi override is escaped and cut; a tag a shell could not insert is dropped."""
        assert run_taskvault(data_dir, "add", "a\u202ebc " + "x" * 100, "--tag", "t\u200bag", "--tag", "plain").code == 0
        result = run_taskvault(data_dir, "__complete", "fish", "--", "show", "")
        assert result.code == 0 and result.err == ""
        [line] = result.out.splitlines()
        text, description = line.split("\t")
        assert text == "1" and description.startswith("a\\u202ebc x") and description.endswith("…")
        assert len(description) == shell_completion.DESCRIPTION_CHARS
        tags = run_taskvault(data_dir, "__complete", "zsh", "--", "list", "+")
        assert "+plain\t1 task" in tags.out.splitlines() and "\u200b" not in tags.out

    def test_bash_gets_only_what_replaces_its_word(self, seeded: Path) -> None:
        """bash's readline replaces the text after the last of COMP_WORDBREAKS (a colon, in project:ho): only
        what goes after it comes back, and no descriptions; after `project:` that is the name alone (bash's
        own word there is ':', and a candidate ':house' would make project::house)."""
        breaks = BASH_WORD_BREAKS
        result = run_taskvault(seeded, "__complete", "bash", "--", "taskvault list project:ho", breaks)
        assert result.out == "house\n"
        assert run_taskvault(seeded, "__complete", "bash", "--", "taskvault list project:", breaks).out == "house\n"
        assert run_taskvault(seeded, "__complete", "bash", "--", "taskvault don", breaks).out == "done\n"
        assert run_taskvault(seeded, "__complete", "bash", "--", "taskvault list project:", " ").out == "project:house\n"
        assert run_taskvault(seeded, "__complete", "bash", "--", "taskvault --color=al", breaks).out == "always\n"

    @pytest.mark.parametrize("line", ["taskvault add zz +it\\'", 'taskvault add zz +say\\"', "taskvault add zz +x\\|",
                                      'taskvault add zz +"$(', "taskvault add zz \"+it'", "taskvault add zz project:'$",
                                      "taskvault add zz '+it", "taskvault add zz +it\\"])
    def test_bash_is_offered_nothing_for_a_word_typed_with_quotes_or_escapes(self, data_dir: Path, line: str) -> None:
        """Readline places a candidate by other rules inside quotes and after escapes: a candidate there would
        save the wrong tag or title at Enter (`+it\\'` became `s`), so such a word gets nothing; the typed
        text stays as it is."""
        assert run_taskvault(data_dir, "add", "victim", "+it's", '+say"hi"', "+x|y", "+$(id)", "project:$(id)").code == 0
        result = run_taskvault(data_dir, "__complete", "bash", "--", line, BASH_WORD_BREAKS)
        assert (result.code, result.out, result.err) == (0, "", "")
        assert not shell_completion.typed_plainly(line)
        assert shell_completion.typed_plainly("taskvault add 'a b' +it")  # (quotes in an earlier word are no matter)

    def test_bash_is_given_each_candidate_quoted(self, data_dir: Path) -> None:
        """bash inserts a candidate as it is: a tag holding shell syntax comes back quoted, to be typed, never run."""
        assert run_taskvault(data_dir, "add", "victim", "+$(id>x)", "+it's", "+a;b|c&d").code == 0
        result = run_taskvault(data_dir, "__complete", "bash", "--", "taskvault modify 1 +", BASH_WORD_BREAKS)
        assert sorted(result.out.splitlines()) == sorted(["+\\$\\(id\\>x\\)", "+it\\'s", "+a\\;b\\|c\\&d"])
        assert shell_completion.bash_quoted("+plain-word_1.2,x:y/z@w%v=u^") == "+plain-word_1.2,x:y/z@w%v=u^"
        assert shell_completion.bash_quoted("~x ü!") == "\\~x\\ ü\\!"

    def test_the_count_of_candidates_is_bounded(self, seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """No more than MOST_CANDIDATES come back, however many tasks match."""
        monkeypatch.setattr(shell_completion, "MOST_CANDIDATES", 1)
        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(seeded))
        assert shell_completion.candidates(["done"], "") == [("1", "Buy milk")]

    def test_the_data_directory_on_the_line_is_the_one_read(self, seeded: Path, tmp_path: Path) -> None:
        """--data-dir DIR on the line being completed wins over TASKVAULT_DATA_DIR."""
        elsewhere = tmp_path / "elsewhere"
        result = run_taskvault(elsewhere, "__complete", "zsh", "--", "--data-dir", str(seeded), "done", "")
        assert result.out.splitlines() == ["1\tBuy milk", "2\tCall mum"]
        assert run_taskvault(elsewhere, "__complete", "zsh", "--", f"--data-dir={seeded}", "done", "").out
        assert run_taskvault(seeded, "__complete", "zsh", "--", "done", "").out
        assert not elsewhere.exists()

    def test_a_malformed_request_is_refused_silently(self, data_dir: Path) -> None:
        """An unknown shell or no -- : exit 2, nothing printed (a Tab must not print into the line)."""
        for args in (["tcsh", "--", "x"], ["zsh", "x"], [], ["bash", "--", "only the line"]):
            result = run_taskvault(data_dir, "__complete", *args)
            assert (result.code, result.out, result.err) == (2, "", ""), args

    def test_completion_prints_each_script_and_refuses_another_shell(self, data_dir: Path) -> None:
        """`completion SHELL` prints the script; an unknown shell is one line naming the three, exit 2."""
        for shell in SHELL_CHOICES:
            result = run_taskvault(data_dir, "completion", shell)
            assert result.code == 0 and result.out == SCRIPTS[shell], shell
        refused = run_taskvault(data_dir, "completion", "tcsh")
        assert refused.code == 2 and refused.out == ""
        assert refused.err.count("\n") == 1 and all(s in refused.err for s in SHELL_CHOICES)
        assert not data_dir.exists()


class TestTheStoreIsOnlyGlancedAt:
    def _assert_nothing_offered_and_nothing_changed(self, data_dir: Path) -> None:
        before = _files(data_dir) if data_dir.exists() else None
        for line in (["done", ""], ["list", "+"], ["reopen", ""]):
            result = run_taskvault(data_dir, "__complete", "zsh", "--", *line)
            assert result.code == 0 and result.err == "", result
            assert not re.search(r"^\d|^\+(home|family)", result.out, re.MULTILINE), result.out
        commands = run_taskvault(data_dir, "__complete", "zsh", "--", "do")
        assert commands.out.splitlines()[0].startswith("done\t")  # commands still complete
        assert (_files(data_dir) if data_dir.exists() else None) == before

    def test_a_missing_store_is_not_created(self, data_dir: Path) -> None:
        """No data directory: no tasks offered, and none made."""
        self._assert_nothing_offered_and_nothing_changed(data_dir)
        assert not data_dir.exists()
        assert peek_tasks(data_dir) is None and not data_dir.exists()

    def test_a_store_locked_by_another_process(self, seeded: Path) -> None:
        """While another process holds the store's lock, nothing is offered at once, and nothing waits."""
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_LOCK, str(seeded / "tasks.lock")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            self._assert_nothing_offered_and_nothing_changed(seeded)
        finally:
            holder.communicate("", timeout=10)
        assert run_taskvault(seeded, "__complete", "zsh", "--", "done", "").out == "1\tBuy milk\n2\tCall mum\n"

    @pytest.mark.parametrize("damage", [b"", b"\0" * 64, b"{\"not\": \"a store\"}", b"garbage\n"])
    def test_a_damaged_store(self, seeded: Path, damage: bytes) -> None:
        """A snapshot that does not load: nothing offered, no error printed, no file touched (no advice worked out)."""
        (seeded / "tasks.json").write_bytes(damage)
        self._assert_nothing_offered_and_nothing_changed(seeded)

    def test_a_store_without_its_lock_file_is_read_and_no_lock_file_made(self, seeded: Path) -> None:
        """A store copied without tasks.lock is read as it is; completing does not make one."""
        (seeded / "tasks.lock").unlink()
        before = _files(seeded)
        assert run_taskvault(seeded, "__complete", "zsh", "--", "reopen", "").out == "3\tOld\n"
        assert _files(seeded) == before

    def test_a_store_of_a_newer_schema_offers_nothing(self, seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A store written by another version (here: a reader that knows an older schema) is left to that version."""
        import taskvault.store.peek as peek

        monkeypatch.setattr(peek.codec, "SCHEMA", peek.codec.SCHEMA + 1)
        assert peek_tasks(seeded) is None
        monkeypatch.undo()
        assert peek_tasks(seeded) is not None


# -- real shells ---------------------------------------------------------------------------

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>]|[\r\x07\x08]")
SENTINEL = "QZ9"


class Shell:
    """A real interactive shell in a pseudo-terminal, with taskvault's completion installed as a user would."""

    PROMPT = "RDY> "

    def __init__(self, kind: str, home: Path, data_dir: Path, work: Path, *, zsh_fpath: bool = False) -> None:
        path = require_tool(kind)
        bin_dir = home / "bin"
        bin_dir.mkdir(parents=True)
        launcher = bin_dir / "taskvault"
        launcher.write_text(f"#!/bin/sh\nexec {' '.join(TASKVAULT)} \"$@\"\n")
        launcher.chmod(0o755)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "TERM": "xterm", "LC_ALL": "C.UTF-8",
               "TASKVAULT_DATA_DIR": str(data_dir), "TASKVAULT_CONFIG": "/dev/null", "TASKVAULT_RESIDENT": "off",
               "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
               "XDG_STATE_HOME": str(home / ".local/state"), "HISTFILE": str(home / "history")}
        script = subprocess.run([*TASKVAULT, "completion", kind], capture_output=True, text=True, env=env,
                                check=True).stdout
        setup: list[str] = []
        if kind == "bash":
            env["PS1"] = self.PROMPT
            args = ["--norc", "--noprofile", "-i"]
            setup = ["source <(taskvault completion bash)"]
        elif kind == "zsh":
            env["PS1"] = self.PROMPT
            args = ["-f", "-i"]
            if zsh_fpath:  # the file in a directory of $fpath, found by compinit
                (home / ".zfunc").mkdir()
                (home / ".zfunc" / "_taskvault").write_text(script)
                setup = ["fpath=(~/.zfunc $fpath); autoload -U compinit && compinit -u -D"]
            else:
                setup = ["autoload -U compinit && compinit -u -D && source <(taskvault completion zsh)"]
        else:
            fish_dir = home / ".config" / "fish"
            (fish_dir / "completions").mkdir(parents=True)
            (fish_dir / "completions" / "taskvault.fish").write_text(script)
            (fish_dir / "config.fish").write_text(
                f"set -g fish_greeting\nfunction fish_prompt; echo -n '{self.PROMPT}'; end\n")
            args = ["-i"]
        self.child = pexpect.spawn(path, args, env=env, cwd=str(work), dimensions=(30, 120), encoding="utf-8",
                                   timeout=10)
        self.seen = ""
        self.expect(self.PROMPT)
        for line in setup:
            self.child.send(line + "\r")
            self.expect(self.PROMPT)

    def expect(self, text: str) -> str:
        """Wait until ``text`` appears in the output (escape sequences removed); return what came until then."""
        while True:
            self.child.expect(r"[\s\S]")
            self.seen += self.child.after
            plain = _ESCAPES.sub("", self.seen)
            if text in plain:
                self.seen = ""
                return plain

    def tab(self, line: str, tabs: int = 1) -> str:
        """Type ``line``, press Tab ``tabs`` times; return what the shell showed (escapes removed, runs of spaces
        made one: zsh draws the space it adds as a suffix apart), then clear the line."""
        self.child.send(line + "\t" * tabs + SENTINEL)
        shown = re.sub(" +", " ", self.expect(SENTINEL))
        self.child.send("\x03")  # (Ctrl-C: a fresh, empty line)
        self.expect(self.PROMPT)
        return shown

    def close(self) -> None:
        self.child.terminate(force=True)


@pytest.fixture
def shell(tmp_path: Path, data_dir: Path) -> Iterator[object]:
    work = tmp_path / "work"
    work.mkdir()
    (work / "report-2024.csv").write_text("x\n")
    opened: list[Shell] = []

    def open_shell(kind: str, **kwargs: bool) -> Shell:
        opened.append(Shell(kind, tmp_path / f"home-{kind}-{len(opened)}", data_dir, work, **kwargs))
        return opened[-1]
    yield open_shell
    for s in opened:
        s.close()


SHELLS = ["bash", "zsh", "fish"]


class TestRealShells:
    @pytest.mark.parametrize("kind", SHELLS)
    def test_words_options_tags_projects_and_formats_complete(self, shell, seeded: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
        """A command word, an option, a +tag and project:NAME are inserted; export --to lists the formats."""
        s = shell(kind)
        assert "taskvault list " + SENTINEL in s.tab("taskvault lis")
        assert "taskvault list --waiting " + SENTINEL in s.tab("taskvault list --wa")
        assert "taskvault list +family " + SENTINEL in s.tab("taskvault list +fa")
        assert "taskvault list project:house " + SENTINEL in s.tab("taskvault list project:ho")
        assert "taskvault list project:house " + SENTINEL in s.tab("taskvault list project:")
        assert "taskvault --data-dir" in s.tab("taskvault --data-d")
        shown = s.tab("taskvault export --to ", 2 if kind == "bash" else 1)
        assert all(name in shown for name in FORMAT_CHOICES), shown

    @pytest.mark.parametrize("kind", SHELLS)
    def test_a_tag_holding_shell_syntax_is_typed_never_run(self, shell, data_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         kind: str) -> None:
        """A tag such as $(>FILE), planted by an import, say: Tab puts it on the line quoted, Enter runs the
        command with that tag, and the shell never runs what the tag holds."""
        pwned = tmp_path / "work" / "pwned"  # (the shell's working directory)
        assert run_taskvault(data_dir, "add", "victim", "+$(>pwned)").code == 0  # (run, it makes the file)
        s = shell(kind)
        if kind == "bash":  # a word typed with an escape is left as typed (readline would misplace a candidate)
            assert "taskvault add zz +\\$\\(" + SENTINEL in s.tab("taskvault add zz +\\$\\(")
        s.child.send("taskvault modify 1 +\t\r")  # (Tab inserts the one tag task 1 has; Enter adds it again)
        shown = s.expect(s.PROMPT)
        assert not pwned.exists(), shown
        listed = run_taskvault(data_dir, "--json", "list")
        [task] = json.loads(listed.out)
        assert (task["title"], task["tags"]) == ("victim", ["$(>pwned)"]), shown

    @pytest.mark.parametrize("kind", SHELLS)
    def test_ids_of_open_tasks_with_their_titles_for_done(self, shell, seeded: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
        """done offers the open tasks' ids (with their titles where the shell shows descriptions), not the done one's."""
        s = shell(kind)
        shown = s.tab("taskvault done ", 2 if kind == "bash" else 1)
        if kind == "bash":
            assert re.search(r"\n1\s+2\s*\n", shown), shown
        elif kind == "zsh":
            assert re.search(r"1\s+-- Buy milk", shown) and re.search(r"2\s+-- Call mum", shown), shown
        else:
            assert "1 (Buy milk)" in shown and "2 (Call mum)" in shown, shown
        assert "Old" not in shown
        assert "taskvault reopen 3 " + SENTINEL in s.tab("taskvault reopen ")

    @pytest.mark.parametrize("kind", SHELLS)
    def test_a_file_name_completes_where_a_file_is_expected(self, shell, data_dir: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
        """import FILE and export -o FILE complete the file names of the directory; a command's words do not."""
        s = shell(kind)
        assert "taskvault import report-2024.csv" in s.tab("taskvault import rep")
        assert "taskvault export -o report-2024.csv" in s.tab("taskvault export -o rep")
        assert "report-2024.csv" not in s.tab("taskvault done rep")
        assert not data_dir.exists()

    def test_zsh_finds_the_script_as_a_file_in_fpath(self, shell, seeded: Path) -> None:  # type: ignore[no-untyped-def]
        """Installed as _taskvault in a directory of $fpath (compinit), the script completes as when sourced."""
        s = shell("zsh", zsh_fpath=True)
        assert "taskvault list " + SENTINEL in s.tab("taskvault lis")
        assert re.search(r"1\s+-- Buy milk", s.tab("taskvault done "))

    @pytest.mark.parametrize("kind", SHELLS)
    @pytest.mark.parametrize("state", ["missing", "locked", "damaged"])
    def test_a_store_that_cannot_be_read_offers_nothing_and_says_nothing(  # type: ignore[no-untyped-def]
            self, shell, data_dir: Path, kind: str, state: str) -> None:
        """Missing, locked by another process or damaged: no ids, no error text, the store unchanged (or not made)."""
        holder = None
        if state != "missing":
            assert run_taskvault(data_dir, stdin=SEED).code == 0
        if state == "damaged":
            (data_dir / "tasks.json").write_bytes(b"garbage\n")
        if state == "locked":
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLD_THE_LOCK, str(data_dir / "tasks.lock")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = _files(data_dir) if data_dir.exists() else None
        try:
            s = shell(kind)
            for line in ("taskvault done ", "taskvault list +fa", "taskvault modify 1 project:h"):
                shown = s.tab(line, 2 if kind == "bash" else 1)
                after_line = shown.rpartition(line)[2]
                assert not re.search(r"\d|Buy milk|family|house", after_line.replace(SENTINEL, "")), (line, shown)
                assert not re.search(r"(?i)error|traceback|taskvault:", after_line), (line, shown)
            assert "taskvault list " + SENTINEL in s.tab("taskvault lis")  # commands still complete
        finally:
            if holder is not None:
                holder.communicate("", timeout=10)
        assert (_files(data_dir) if data_dir.exists() else None) == before
        if state == "missing":
            assert not data_dir.exists()
