"""Start-up: each command line imports what it runs and no more (issue 17, target 3).

Time is never asserted here (bench/startup.py measures it, in interleaved pairs); what makes start-up
fast is: which modules the real program imports, read from ``python -X importtime`` of the installed
program. `--version` imports nothing of the application, `help` reads the command registry without the
service, the store, the codec or attrs, and a one-shot command imports neither the interactive session
nor what only a failure, --json or a script needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from taskvault.commands import handlers
from taskvault.commands.catalog import COMMANDS
from taskvault.domain.query import SORT_KEYS
from taskvault.domain.vocabulary import SORT_NAMES

from .conftest import TASKVAULT, run_taskvault

#: Libraries that --version and help must not import (each costs milliseconds, attrs ~13 ms).
HEAVY = {"attrs", "attr", "cattrs", "prompt_toolkit", "portalocker", "platformdirs", "json", "datetime", "pathlib",
         "typing", "inspect", "uuid"}
#: The modules of taskvault that `help` may import: the entry point, its settings, the registry.
HELP_MODULES = {"taskvault", "taskvault.__main__", "taskvault.cli", "taskvault.cli.main", "taskvault.cli.config",
                "taskvault.cli.text", "taskvault.cli.resident_client", "taskvault.commands", "taskvault.commands.settings",
                "taskvault.commands.values", "taskvault.commands.registry", "taskvault.commands.help",
                "taskvault.commands.catalog", "taskvault.domain", "taskvault.domain.vocabulary", "taskvault.errors",
                "taskvault.exits", "taskvault.limits"}


def imported(data_dir: Path, *args: str, stdin: str = "") -> set[str]:
    """Every module the installed program imports to run ``args`` (from -X importtime), after checking it succeeded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKVAULT_")} | {"TASKVAULT_RESIDENT": "off"}
    env.update({"TASKVAULT_DATA_DIR": str(data_dir), "NO_COLOR": "1", "XDG_STATE_HOME": str(data_dir.parent / "state")})
    done = subprocess.run([sys.executable, "-X", "importtime", *TASKVAULT[1:], *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60)
    report = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert done.returncode == 0, (done.stdout, [line for line in done.stderr.splitlines() if line not in report])
    return {line.rsplit("|", 1)[1].strip() for line in report[1:]}


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def _own(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] == "taskvault"}


class TestVersion:
    def test_version_imports_nothing_of_the_application(self, data_dir: Path) -> None:
        """`taskvault --version` imports the entry point alone: no settings, registry, store or library."""
        modules = imported(data_dir, "--version")
        assert _own(modules) <= {"taskvault", "taskvault.__main__", "taskvault.cli", "taskvault.cli.main"}, _own(modules)
        assert not _top(modules) & HEAVY, _top(modules) & HEAVY

    def test_version_is_the_packages(self, data_dir: Path) -> None:
        """What it prints is taskvault.__version__, the one place the version is written."""
        import taskvault

        result = run_taskvault(data_dir, "--version")
        assert (result.code, result.out) == (0, f"taskvault {taskvault.__version__}\n")


class TestHelp:
    @pytest.mark.parametrize("args", [["help"], ["help", "add"], ["help", "--help"], ["--help"], ["--no-color", "help"]])
    def test_help_reads_the_registry_alone(self, data_dir: Path, args: list[str]) -> None:
        """help imports the command registry and its settings: not the service, store, codec, task model or attrs."""
        modules = imported(data_dir, *args)
        assert _own(modules) <= HELP_MODULES, _own(modules) - HELP_MODULES
        assert not _top(modules) & HEAVY, _top(modules) & HEAVY
        assert not data_dir.exists()

    def test_help_says_what_help_in_the_session_says(self, data_dir: Path) -> None:
        """`taskvault help [COMMAND]` prints what the same line in a script prints (through the runner)."""
        for words in (["help"], ["help", "edit"], ["help", "--help"]):
            direct = run_taskvault(data_dir, *words)
            scripted = run_taskvault(data_dir, stdin=" ".join(words) + "\n")
            assert (direct.code, direct.out) == (scripted.code, scripted.out) == (0, scripted.out), words
        assert run_taskvault(data_dir, "--help").out == run_taskvault(data_dir, "help").out

    def test_a_refused_help_line_is_reported_as_before(self, data_dir: Path) -> None:
        """An unknown command after help is a usage error, one line, exit 2."""
        result = run_taskvault(data_dir, "help", "nosuch")
        assert result.code == 2
        assert result.err.startswith("error: unknown command 'nosuch'") and result.err.count("\n") == 1

    def test_help_checks_the_settings_as_every_command_does(self, data_dir: Path) -> None:
        """A setting taskvault cannot use is refused before help runs, as before any command."""
        result = run_taskvault(data_dir, "help", env={"TASKVAULT_LOCK_TIMEOUT": "soon"})
        assert result.code == 2 and "TASKVAULT_LOCK_TIMEOUT" in result.err


class TestOneShotCommands:
    @pytest.mark.parametrize("args", [["list"], ["add", "Buy milk"], ["done", "1"], ["show", "1"]])
    def test_a_command_imports_what_it_runs(self, data_dir: Path, args: list[str]) -> None:
        """No prompt_toolkit nor cattrs, and none of what only the session, a crash, --json or a script needs."""
        run_taskvault(data_dir, "add", "First")
        modules = imported(data_dir, *args)
        assert not _top(modules) & {"prompt_toolkit", "cattrs", "traceback"}, modules
        assert not modules & {"taskvault.cli.repl", "taskvault.cli.crash", "taskvault.cli.render_json",
                              "taskvault.cli.script"}

    @pytest.mark.parametrize("args", [["list"], ["add", "Buy milk"], ["done", "1"], ["show", "1"],
                                      ["edit", "1", "--title", "Second"]])
    def test_a_command_on_a_store_that_loads_leaves_the_recovery_machinery_alone(self, data_dir: Path,
                                                                                  args: list[str]) -> None:
        """Salvage, restore, undo and the doctor bring their modules when they run; other commands never import them."""
        run_taskvault(data_dir, "add", "First")
        modules = imported(data_dir, *args)
        assert not modules & {"taskvault.store.salvage", "taskvault.store.doctor", "taskvault.store.replacing",
                              "taskvault.domain.recovery"}, _own(modules)

    def test_only_a_command_that_writes_brings_what_writing_needs(self, data_dir: Path) -> None:
        """Reading the store (list, show) imports neither the backups' module nor the changes' planners and
        signal masking; a change asks the backups whether one is due, and plans and saves."""
        run_taskvault(data_dir, "add", "First")
        for args in (["list"], ["show", "1"]):
            modules = imported(data_dir, *args)
            assert not modules & {"taskvault.store.backups", "taskvault.domain.operations", "signal"}, args
        assert {"taskvault.store.backups", "taskvault.domain.operations", "signal"} <= imported(data_dir, "add", "x")

    def test_the_recovery_commands_still_bring_their_parts(self, data_dir: Path) -> None:
        """undo imports the domain's recovery planner, salvage the store's salvage, doctor its doctor, when run."""
        run_taskvault(data_dir, "add", "First")
        assert "taskvault.domain.recovery" in imported(data_dir, "undo", "--yes")
        assert "taskvault.store.salvage" in imported(data_dir, "salvage", "--dry-run")
        assert "taskvault.store.doctor" in imported(data_dir, "doctor")
        assert "taskvault.store.backups" in imported(data_dir, "backups")

    @pytest.mark.parametrize("args", [["add", "Buy milk"], ["done", "1"], ["edit", "1", "--title", "Second"],
                                      ["show", "1"]])
    def test_a_command_that_neither_filters_nor_helps_leaves_the_query_and_the_help_alone(
            self, data_dir: Path, args: list[str]) -> None:
        """The query (filters, sort keys) is list's; the help texts are help's and COMMAND --help's; the
        rendering of results about the store is for backups, restore, salvage, doctor and stats."""
        run_taskvault(data_dir, "add", "First")
        modules = imported(data_dir, *args)
        assert not modules & {"taskvault.domain.query", "taskvault.commands.help",
                              "taskvault.cli.render_text_store"}, _own(modules)

    @pytest.mark.parametrize("args", [["list"], ["add", "Buy milk"], ["done", "1"], ["edit", "1", "--title", "B"]])
    def test_a_store_with_backups_is_read_without_strptime(self, data_dir: Path, args: list[str]) -> None:
        """A change lists the backups (is an hourly one due?): their names are read by slicing, since
        strptime imports _strptime, locale and calendar (~3 ms); nor is any of them imported otherwise."""
        run_taskvault(data_dir, "add", "First")
        assert run_taskvault(data_dir, "backup").code == 0
        modules = imported(data_dir, *args)
        assert not modules & {"_strptime", "locale", "calendar"}, args

    def test_each_part_left_out_is_there_when_its_command_runs(self, data_dir: Path) -> None:
        """list brings the query, COMMAND --help and help the help texts, backups the store's renderings."""
        run_taskvault(data_dir, "add", "First")
        assert "taskvault.domain.query" in imported(data_dir, "list")
        assert "taskvault.commands.help" in imported(data_dir, "add", "--help")
        assert "taskvault.commands.help" in imported(data_dir, "help", "add")
        assert "taskvault.cli.render_text_store" in imported(data_dir, "backups")
        assert "taskvault.cli.render_text_store" in imported(data_dir, "stats")

    def test_json_and_scripts_still_bring_their_parts(self, data_dir: Path) -> None:
        """--json imports the JSON renderer and standard input the script reader, when they are used."""
        assert "taskvault.cli.render_json" in imported(data_dir, "--json", "list")
        assert "taskvault.cli.script" in imported(data_dir, stdin="list\n")


class TestTheRegistryWithoutItsHandlers:
    def test_every_handler_is_a_function_of_handlers(self) -> None:
        """Each command's handler, imported when it first runs, names a function handlers.py has."""
        for command in COMMANDS:
            name = getattr(command.handler, "name", None)
            if name is not None:
                assert callable(getattr(handlers, name)), command.name

    def test_the_sort_words_help_lists_are_the_querys(self) -> None:
        """domain/vocabulary.py names the sort keys query.py orders by, in the same order."""
        assert tuple(SORT_KEYS) == SORT_NAMES


class TestTheCollectorDuringStartUp:
    def test_main_gives_back_the_collector_as_it_found_it(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
        """main() turns the cyclic garbage collector off while the application is imported (and for a one-shot
        command to its end), and on again for a script or a session; run in a process that goes on, it
        leaves the collector as it was, on or off, whatever the command did."""
        import gc

        from taskvault.cli.main import main

        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(data_dir))
        monkeypatch.setenv("XDG_STATE_HOME", str(data_dir.parent / "state"))  # (a crash log, if it came to that)
        was = gc.isenabled()
        try:
            for enabled in (True, False):
                (gc.enable if enabled else gc.disable)()
                for argv in (["add", "First"], ["list"], ["help"], ["done", "99"], ["--script", "/nonexistent"]):
                    main(argv)
                    assert gc.isenabled() is enabled, argv
        finally:
            (gc.enable if was else gc.disable)()
        capsys.readouterr()

    def test_a_script_collects_its_garbage(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A script runs with the collector on (it may run for hours); a one-shot command with it off."""
        import gc

        from taskvault.cli import main as entry
        from taskvault.cli.runner import Runner

        seen: list[tuple[str, bool]] = []
        run, run_script = Runner.run, Runner.run_script

        def spy_run(self: Runner, *args: Any, **kwargs: Any) -> int:
            seen.append(("run", gc.isenabled()))
            return run(self, *args, **kwargs)

        def spy_script(self: Runner, *args: Any, **kwargs: Any) -> int:
            seen.append(("script", gc.isenabled()))
            return run_script(self, *args, **kwargs)

        monkeypatch.setattr(Runner, "run", spy_run)
        monkeypatch.setattr(Runner, "run_script", spy_script)
        monkeypatch.setenv("TASKVAULT_DATA_DIR", str(data_dir))
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # (a crash log, if it came to that)
        script = tmp_path / "lines.txt"
        script.write_text("add A\n")
        was = gc.isenabled()
        gc.enable()
        try:
            assert entry.main(["add", "B"]) == 0
            assert entry.main(["--script", str(script)]) == 0
        finally:
            (gc.enable if was else gc.disable)()
        capsys.readouterr()
        assert seen[0] == ("run", False) and ("script", True) in seen, seen
