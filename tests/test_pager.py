"""Long output on a terminal goes through a pager, as git's does; never into a pipe, JSON, a script or the session.

The screens are real terminals (tmux, 100 x 30) running the installed program and the real less; where a test
must know exactly what the pager was given (its arguments, its environment, its input, its parent process),
the pager is a small script that records them and marks the screen.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from taskvault.cli import config
from taskvault.cli.config_file import parse_config
from taskvault.errors import UsageError

from .conftest import seed_store
from .resident import Place, assert_routed, poll
from .tmux import Tmux

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

COLUMNS, ROWS = 100, 30
#: More tasks than the 30 rows show: the last one is below the first screen.
LONG = 40
TITLE = "A title long enough that a 100-column table must cut it " + "and then some more words " * 4
MARK = "FAKE PAGER RAN"


def _exited(rows: list[str]) -> bool:
    return any(row.startswith("[exit ") for row in rows)


@pytest.fixture(scope="module")
def long_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pager") / "data"
    seed_store(directory, (f"add {TITLE!r}", *(f"add task number {n}" for n in range(2, LONG + 1))))
    return directory


@pytest.fixture(scope="module")
def short_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pager") / "data"
    seed_store(directory)
    return directory


class FakePager:
    """A pager script that records its arguments, environment, parent process and input, and marks the screen."""

    def __init__(self, directory: Path, name: str = "fake-pager") -> None:
        self.path = directory / name
        self.meta, self.input = directory / f"{name}.meta", directory / f"{name}.input"
        self.path.write_text(
            "#!/bin/sh\n"
            f"{{ for word in \"$@\"; do printf 'ARG=%s\\n' \"$word\"; done; printf 'LESS=%s\\n' \"${{LESS-unset}}\"; "
            f"printf 'PARENT='; tr '\\0' ' ' < /proc/$PPID/cmdline; echo; }} > {shlex.quote(str(self.meta))}\n"
            f"cat > {shlex.quote(str(self.input))}\n"
            f"echo '{MARK}'\n")
        self.path.chmod(0o755)

    @property
    def ran(self) -> bool:
        return self.meta.exists()

    def recorded(self) -> dict[str, str | list[str]]:
        lines = self.meta.read_text().splitlines()
        fields = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if line.startswith(("LESS=", "PARENT="))}
        return {"argv": [line.removeprefix("ARG=") for line in lines if line.startswith("ARG=")], **fields}


def _terminal(command: str, store: Path, tmp_path: Path) -> Tmux:
    return Tmux(command, columns=COLUMNS, rows=ROWS, data_dir=store, state=tmp_path / "state")


def _finished(terminal: Tmux) -> list[str]:
    return terminal.wait_for(_exited, "the command to end")


class TestLess:
    def test_a_long_list_opens_less_and_q_quits_with_status_0(self, long_store: Path, tmp_path: Path) -> None:
        """With no PAGER, a list longer than the screen opens less: the first rows and less's ':' prompt; q ends
        it, the rows stay on the screen (LESS=FRX's X), and the exit status is 0."""
        terminal = _terminal("taskvault list", long_store, tmp_path)
        try:
            rows = terminal.wait_for(lambda rows: rows[-1:] == [":"], "less's prompt")
            assert rows[0].startswith("ID") and "task number 2" in "\n".join(rows)
            assert not any(f"task number {LONG}" in row for row in rows) and not _exited(rows)
            terminal.type("", "q")
            rows = _finished(terminal)
            assert "[exit 0]" in rows and "Traceback" not in "\n".join(rows)
        finally:
            terminal.close()

    def test_ctrl_c_in_less_is_the_pagers_and_taskvault_waits_for_it(self, long_store: Path, tmp_path: Path) -> None:
        """Ctrl-C while less shows the list: less stays, taskvault does not end under it; q then ends both, exit 0,
        quietly."""
        terminal = _terminal("taskvault list", long_store, tmp_path)
        try:
            terminal.wait_for(lambda rows: rows[-1:] == [":"], "less's prompt")
            terminal.type("", "C-c")
            terminal.type("", "G")  # (less still reads keys: to the end, where the summary is)
            rows = terminal.wait_for(lambda rows: any("open tasks shown" in row for row in rows), "the end of the list")
            assert not _exited(rows)
            terminal.type("", "q")
            rows = _finished(terminal)
            assert "[exit 0]" in rows and not any("interrupted" in row for row in rows), rows
        finally:
            terminal.close()


class TestWhenNot:
    def test_a_short_list_is_printed_without_a_pager(self, short_store: Path, tmp_path: Path) -> None:
        """A list that fits the screen is printed directly: the pager never starts."""
        pager = FakePager(tmp_path)
        terminal = _terminal(f"PAGER={pager.path} taskvault list", short_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and any("First" in row for row in rows) and MARK not in rows
            assert not pager.ran
        finally:
            terminal.close()

    @pytest.mark.parametrize("how", ["taskvault --no-pager list", "TASKVAULT_CONFIG={config} taskvault list",
                                     "PAGER=cat taskvault list", "PAGER= taskvault list",
                                     "TASKVAULT_CONFIG={cat} taskvault list", "taskvault list | cat",
                                     "taskvault list > {out}; cat {out}"])
    def test_no_pager_when_turned_off_or_not_a_terminal(self, long_store: Path, tmp_path: Path, how: str) -> None:
        """--no-pager, the config file's pager = false or "cat", PAGER=cat or empty, and output to a pipe or a
        file: the whole list is printed, no pager starts ($PAGER's marks nothing, less's prompt never shows)."""
        pager = FakePager(tmp_path)
        off, cat = tmp_path / "off.toml", tmp_path / "cat.toml"
        off.write_text("pager = false\n")
        cat.write_text('pager = "cat"\n')
        command = how.format(config=off, cat=cat, out=tmp_path / "out.txt")
        if "PAGER=" not in command:
            command = f"export PAGER={pager.path}; {command}"
        terminal = _terminal(command, long_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and any(f"task number {LONG}" in row for row in rows), rows
            assert f"{LONG} open tasks shown ({LONG} open, 0 done in all)" in rows and ":" not in rows
            assert MARK not in rows and not pager.ran
        finally:
            terminal.close()

    @pytest.mark.parametrize(("command", "shown"), [
        ("PAGER={pager} taskvault --json list", None),  # JSON: printed whole
        ("echo list | PAGER={pager} taskvault", f"task number {LONG}"),  # a script on standard input
        ("PAGER={pager} taskvault export --to csv", f"task number {LONG}"),  # an export to the terminal is data
    ], ids=["json", "script-on-stdin", "export"])
    def test_json_a_script_and_an_export_are_never_paged(self, long_store: Path, tmp_path: Path, command: str,
                                                          shown: str | None) -> None:
        """--json, commands read from standard input and an export written to the terminal print their output
        whole, even on a terminal: no pager starts."""
        pager = FakePager(tmp_path)
        terminal = _terminal(command.format(pager=pager.path), long_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and MARK not in rows and not pager.ran
            assert shown is None or any(shown in row for row in rows)
        finally:
            terminal.close()

    @pytest.mark.parametrize("asked", [True, False])
    def test_a_change_is_never_paged(self, tmp_path: Path, asked: bool) -> None:
        """`delete 1-40` asks first, `delete 1-40 --yes` does not: either way its long result is the change's
        acknowledgement, printed directly, never handed to a pager (one that exits at once, PAGER=true, say,
        would hide that the change was saved)."""
        store = tmp_path / "data"
        seed_store(store, tuple(f"add task number {n}" for n in range(1, LONG + 1)))
        pager = FakePager(tmp_path)
        terminal = _terminal(f"PAGER={pager.path} taskvault delete 1-{LONG}" + ("" if asked else " --yes"), store,
                             tmp_path)
        try:
            if asked:
                terminal.wait_for(lambda rows: any("[y/N]" in row for row in rows), "the question")
                terminal.type("y", "Enter")
            rows = _finished(terminal)
            assert "[exit 0]" in rows and not pager.ran and MARK not in rows
            assert any(f"Deleted task {LONG}: task number {LONG}" in row for row in rows), rows
        finally:
            terminal.close()

    def test_a_change_that_changed_nothing_is_not_paged_either(self, tmp_path: Path) -> None:
        """`modify 1-40 +x` when every task has +x already: still a change command's result (its
        acknowledgement that nothing needed saving), printed directly even with PAGER=true, which shows nothing."""
        store = tmp_path / "data"
        seed_store(store, (*(f"add task number {n}" for n in range(1, LONG + 1)), f"modify 1-{LONG} +x"))
        terminal = _terminal(f"PAGER=true taskvault modify 1-{LONG} +x --yes", store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and any(f"task number {LONG}" in row for row in rows), rows
        finally:
            terminal.close()

    @pytest.mark.parametrize(("pager", "said"), [("false", "ended with exit status 1"),
                                                 ("sh -c 'exit 3'", "ended with exit status 3"),
                                                 ("{killed}", "was ended by signal 9")])
    def test_a_pager_that_fails_loses_nothing(self, long_store: Path, tmp_path: Path, pager: str, said: str) -> None:
        """A pager that ends with a failing status, or is killed (it may have shown nothing): one warning, then
        the whole output directly; exit 0."""
        killed = tmp_path / "killed-pager"
        killed.write_text("#!/bin/sh\nkill -9 $$\n")  # (a pager that dies: SIGKILL, as an OOM killer would)
        killed.chmod(0o755)
        terminal = _terminal(f"PAGER=\"{pager.format(killed=killed)}\" taskvault list", long_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and any(said in row for row in rows), rows
            assert f"{LONG} open tasks shown ({LONG} open, 0 done in all)" in rows
        finally:
            terminal.close()


class TestWhichPager:
    def test_pager_gets_the_whole_text_in_colour_fitted_to_the_terminal(self, long_store: Path, tmp_path: Path) -> None:
        """$PAGER gets every row, with colour codes (decided as for the terminal), each row cut to the terminal's
        100 columns (not a pipe's unlimited width), and LESS=FRX; the command's exit status is 0."""
        pager = FakePager(tmp_path)
        terminal = _terminal(f"PAGER={pager.path} taskvault list", long_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert MARK in rows and "[exit 0]" in rows
            text = pager.input.read_text()
            assert "\x1b[" in text and f"task number {LONG}" in text and "…" in text
            plain = config_free_of_colour(text)
            assert all(len(line) <= COLUMNS for line in plain.splitlines())
            assert pager.recorded()["argv"] == [] and pager.recorded()["LESS"] == "FRX"
        finally:
            terminal.close()

    def test_the_config_files_pager_wins_over_PAGER_and_LESS_is_the_users(self, long_store: Path,
                                                                          tmp_path: Path) -> None:
        """pager = "PATH --opt" in the config file is run (with its words), not $PAGER; a LESS the user set is kept."""
        chosen, other = FakePager(tmp_path, "chosen"), FakePager(tmp_path, "other")
        config_file = tmp_path / "config.toml"
        config_file.write_text(f'pager = "{chosen.path} --opt"\n')
        terminal = _terminal(f"LESS=-S PAGER={other.path} TASKVAULT_CONFIG={config_file} taskvault list",
                             long_store, tmp_path)
        try:
            rows = _finished(terminal)
            assert "[exit 0]" in rows and not other.ran
            assert chosen.recorded()["argv"] == ["--opt"] and chosen.recorded()["LESS"] == "-S"
        finally:
            terminal.close()

    @pytest.mark.parametrize(("pager", "lines"), [("nonexistent-pager-tv", 1), ("nonexistent-pager-tv --opt", 1),
                                                  ("nonexistent-pager-tv '--opt'", 2)])
    def test_a_pager_that_cannot_start_loses_nothing(self, long_store: Path, tmp_path: Path, pager: str,
                                                      lines: int) -> None:
        """A pager that cannot be started: the whole list is printed directly, after one warning line of taskvault's
        (and sh's own line, when sh ran it); exit 0."""
        terminal = _terminal(f"PAGER={shlex.quote(pager)} taskvault list", long_store, tmp_path)
        try:
            _finished(terminal)
            rows = terminal.rows(joined=True)
            warning = (f"taskvault: warning: the pager {pager!r} could not be started "
                       f"({'No such file or directory' if lines == 1 else 'sh exit status 127'}); "
                       "the output follows without it")
            assert warning in rows and f"{LONG} open tasks shown ({LONG} open, 0 done in all)" in rows
            assert len([row for row in rows if "not found" in row or "warning" in row]) == lines, rows
            assert rows[-1] == "[exit 0]" and rows.index(warning) < next(i for i, r in enumerate(rows) if r.startswith("ID"))
        finally:
            terminal.close()


def config_free_of_colour(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class TestResident:
    """The resident process runs the command; the pager runs in the client, which owns the terminal."""

    def _serve(self, place: Place, command: str, pager: str = "") -> Tmux:
        """A terminal whose shell starts a resident process (a first command), waits for Enter, then runs ``command``
        (with ``pager`` as PAGER, if given: it is one of the settings a resident process serves)."""
        exports = f"export TASKVAULT_RESIDENT=60 XDG_RUNTIME_DIR={place.runtime}" + (f" PAGER={pager}" if pager else "")
        terminal = Tmux(f"{exports}; taskvault --no-pager list > /dev/null; read go; {command}", columns=COLUMNS,
                        rows=ROWS, data_dir=place.data, state=place.root / "state")
        poll("a resident process listening", place.listening)
        terminal.type("", "Enter")
        return terminal

    def test_the_pager_runs_in_the_client(self, tmp_path: Path) -> None:
        """A routed list (the trace shows it connected and read no store file) is paged by a pager whose
        parent is the client, not the resident process; it got the whole list; exit 0."""
        place = Place(tmp_path)
        seed_store(place.data, (f"add {TITLE!r}", *(f"add task number {n}" for n in range(2, LONG + 1))))
        pager = FakePager(tmp_path)
        log = tmp_path / "trace"
        terminal = self._serve(place, f"strace -qq -o {log} -e trace=%file,connect taskvault list", str(pager.path))
        try:
            rows = _finished(terminal)
            assert MARK in rows and "[exit 0]" in rows, rows
            assert_routed(log.read_text(), place.sockets, place.data)
            assert "resident_server" not in pager.recorded()["PARENT"] and "list" in pager.recorded()["PARENT"]
            assert f"task number {LONG}" in pager.input.read_text()
        finally:
            terminal.close()
            place.stop_all()

    def test_less_works_through_the_resident_process(self, tmp_path: Path) -> None:
        """Through the resident process, less shows the first rows and its prompt, q quits, exit 0."""
        place = Place(tmp_path)
        seed_store(place.data, tuple(f"add task number {n}" for n in range(1, LONG + 1)))
        terminal = self._serve(place, "taskvault list")
        try:
            rows = terminal.wait_for(lambda rows: rows[-1:] == [":"], "less's prompt")
            assert any(row.startswith("ID") for row in rows) and not _exited(rows)
            terminal.type("", "q")
            rows = _finished(terminal)
            assert "[exit 0]" in rows and "Traceback" not in "\n".join(rows)
        finally:
            terminal.close()
            place.stop_all()


class TestSession:
    def test_the_session_pages_with_limit_page_and_never_starts_a_pager(self, long_store: Path, tmp_path: Path) -> None:
        """In the session, `list limit:page` shows what fits (27 rows of 30) and says how many more; a long
        `list` and `next` print whole; $PAGER never starts."""
        pager = FakePager(tmp_path)
        terminal = _terminal(f"PAGER={pager.path} taskvault", long_store, tmp_path)
        try:
            terminal.wait_for(lambda rows: any(r.startswith("taskvault>") for r in rows), "the prompt")
            terminal.type("list limit:page", "Enter")
            rows = terminal.wait_for(lambda rows: any("more; limit:N shows more" in r for r in rows), "the page")
            assert any(f"and {LONG - (ROWS - 3)} more" in r for r in rows), rows
            for number, command in enumerate(("list", "next"), 3):
                terminal.type(command, "Enter")
                terminal.wait_for(lambda rows, n=number: sum(r.startswith("taskvault>") for r in rows) >= n,
                                  f"the prompt after {command}")
            assert not pager.ran and MARK not in terminal.rows()
        finally:
            terminal.close()


class TestSettings:
    """The setting itself: the config file's key, and how it ranks (flag > config file > $PAGER > less)."""

    @pytest.mark.parametrize(("text", "options", "env", "expected"), [
        ("", [], {}, ("less", "default")),
        ("", [], {"PAGER": "most"}, ("most", "environment PAGER")),
        ("", [], {"PAGER": " cat "}, (None, "environment PAGER")),
        ("", [], {"PAGER": ""}, (None, "environment PAGER")),
        ("pager = false\n", [], {"PAGER": "most"}, (None, "file CONFIG:1")),
        ("pager = true\n", [], {"PAGER": "most"}, ("most", "environment PAGER")),
        ("pager = true\n", [], {}, ("less", "file CONFIG:1")),
        ('pager = "less -R"\n', [], {"PAGER": "most"}, ("less -R", "file CONFIG:1")),
        ('pager = "cat"\n', [], {}, (None, "file CONFIG:1")),
        ('pager = "less -R"\n', ["--no-pager"], {"PAGER": "most"}, (None, "flag --no-pager")),
    ])
    def test_precedence(self, tmp_path: Path, text: str, options: list[str], env: dict[str, str],
                        expected: tuple[str | None, str]) -> None:
        """Each source of the pager setting, and which wins."""
        path = str(tmp_path / "config.toml")
        given, _ = config.split_global_options([*options, "list"])
        settings = config.resolve_settings(given, env, parse_config(text, path))
        assert (settings.pager.value, settings.pager.source) == (expected[0], expected[1].replace("CONFIG", path))
        row = next(row for row in config.effective_settings(settings) if row.name == "pager")
        assert (row.value_text, row.source) == (expected[0] or "none", settings.pager.source)

    @pytest.mark.parametrize(("text", "message"), [
        ("pager = 3\n", 'pager: must be false, true or a command in quotes, not 3 — write it as pager = false'),
        ('pager = ""\n', 'pager: must be false, true or a command in quotes, not \'\''),
        ('pager = "less\\n-R"\n', "pager: must be one line, without control characters"),
    ])
    def test_a_bad_pager_setting_is_refused_with_its_line(self, text: str, message: str) -> None:
        """A pager setting taskvault cannot use is one line naming the file, the line, the key and the way out."""
        with pytest.raises(UsageError) as caught:
            parse_config(text, "/c.toml")
        assert caught.value.message.startswith("/c.toml:1: " + message), caught.value.message

    def test_config_shows_the_pager(self, tmp_path: Path, short_store: Path) -> None:
        """`taskvault --json config` names the pager in force and where it came from."""
        from .conftest import run_taskvault

        done = run_taskvault(short_store, "--json", "config", env={"PAGER": "most", "TASKVAULT_CONFIG": "/dev/null"})
        assert done.code == 0, done.err
        rows = json.loads(done.out)
        assert any(str(rows).count(word) for word in ("most",)), rows
