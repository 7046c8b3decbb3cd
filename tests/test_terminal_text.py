"""Text at the terminal boundary: what the user typed is what is saved, whatever the locale; what is
shown cannot reorder or hide text on the terminal; JSON stays exact.

Each test runs the installed program in a new process, under the locale it names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from taskvault.cli.completion import TaskCompleter
from taskvault.service import TaskService
from taskvault.store.journal_store import JournalStore

from .conftest import TASKVAULT, run_raw, run_taskvault

#: A proof that spawns many processes (each locale and text in a new process): left out of the fast tier.
pytestmark = pytest.mark.slow

#: Non-UTF-8 locales, as Python sees them with and without its UTF-8 mode and locale coercion.
C_LOCALES = [
    {"LC_ALL": "C"},
    {"LC_ALL": "C", "PYTHONUTF8": "0"},
    {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0"},
    {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    {"LC_ALL": "", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    {"LC_ALL": "POSIX", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
]
UTF8 = {"LC_ALL": "C.UTF-8"}


def _tasks(data_dir: Path) -> list[dict[str, object]]:
    listed = run_taskvault(data_dir, "--json", "list", "--all")
    assert listed.code == 0, listed
    return json.loads(listed.out)  # type: ignore[no-any-return]


def _locale_name(env: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in env.items())


@pytest.fixture(scope="session")
def latin1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fr_FR.ISO-8859-1 locale, compiled into a private directory (skip where localedef cannot)."""
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.skip("needs localedef (Debian: libc-bin, with the locales package's sources)")
    directory = tmp_path_factory.mktemp("locale")
    proc = subprocess.run([localedef, "-i", "fr_FR", "-f", "ISO-8859-1", str(directory / "fr_FR.ISO-8859-1")],
                          capture_output=True, check=False)
    if not (directory / "fr_FR.ISO-8859-1").exists():
        pytest.skip(f"localedef could not build a latin-1 locale: {proc.stderr[-200:]!r}")
    return {"LOCPATH": str(directory), "LC_ALL": "fr_FR.ISO-8859-1", "TASKVAULT_RESIDENT": "off"}


class TestWhatIsTypedIsWhatIsSaved:
    @pytest.mark.parametrize("env", C_LOCALES, ids=_locale_name)
    def test_utf8_arguments_under_a_c_locale(self, data_dir: Path, env: dict[str, str]) -> None:
        """'Café' typed on a UTF-8 terminal under LC_ALL=C is saved as 'Café', and shown and listed as such."""
        result = run_raw(data_dir, "add", "Café", "--tag", "été", "--note", "naïve ☕", env=env)
        assert (result.code, result.out) == (0, "Added task 1: Café\n"), result
        listed = run_raw(data_dir, "--json", "list", env=env)
        assert listed.code == 0 and json.loads(listed.out)[0]["title"] == "Café"
        [task] = _tasks(data_dir)
        assert (task["title"], task["tags"], task["note"]) == ("Café", ["été"], "naïve ☕")

    @pytest.mark.parametrize("env", [*C_LOCALES, UTF8], ids=_locale_name)
    def test_bytes_that_are_not_utf8_are_refused_clearly(self, data_dir: Path, env: dict[str, str]) -> None:
        """A latin-1 'é' (byte 0xe9) on the command line: one line saying so, exit 1, nothing saved."""
        result = run_raw(data_dir, "add", "caf\udce9", env=env)
        assert result.code == 1, result
        assert result.err.count("\n") == 1 and "not valid UTF-8" in result.err and "0xe9" in result.err
        assert not (data_dir / "tasks.json").exists()

    @pytest.mark.parametrize("env", C_LOCALES, ids=_locale_name)
    def test_a_utf8_script_on_stdin_under_a_c_locale(self, data_dir: Path, env: dict[str, str]) -> None:
        result = run_raw(data_dir, stdin="add Café\n# naïve comment\nadd ☕\n".encode(), env=env)
        assert result.code == 0, result
        assert [t["title"] for t in _tasks(data_dir)] == ["Café", "☕"]

    @pytest.mark.parametrize("env", [*C_LOCALES, UTF8], ids=_locale_name)
    def test_a_script_line_that_is_not_utf8(self, data_dir: Path, env: dict[str, str], tmp_path: Path) -> None:
        """The line is refused as not UTF-8 (the others run with --keep-going); a comment may hold any bytes."""
        script = tmp_path / "s.tv"
        script.write_bytes(b"# caf\xe9\nadd caf\xe9\nadd ok\n")
        for args, stdin in ((["--script", str(script)], None), ([], script.read_bytes())):
            result = run_raw(data_dir, "--keep-going", *args, stdin=stdin, env=env)
            assert result.code == 1, result
            assert result.err.startswith("line 2: error: the line is not valid UTF-8") and "0xe9" in result.err
        assert [t["title"] for t in _tasks(data_dir)] == ["ok", "ok"]

    def test_a_latin1_locale_reads_and_writes_latin1(self, data_dir: Path, latin1: dict[str, str]) -> None:
        """Under a latin-1 locale a latin-1 'é' is 'é'; text output is latin-1 and JSON stays valid and exact."""
        env = {**latin1, "PYTHONUTF8": "0"}
        proc = subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"], env={**env},
                              capture_output=True, text=True, check=False)
        if proc.stdout.strip() != "iso8859-1":
            pytest.skip(f"the latin-1 locale is not in effect ({proc.stdout.strip()!r})")
        result = run_raw(data_dir, "add", "Caf\udce9", env=env)
        assert result.code == 0, result
        assert run_taskvault(data_dir, "add", "☕").code == 0  # (typed under a UTF-8 locale: latin-1 has no ☕)
        assert [t["title"] for t in _tasks(data_dir)] == ["Café", "☕"]
        listed = subprocess.run([*TASKVAULT, "--json", "list"], capture_output=True, check=False,
                                env={**env, "TASKVAULT_DATA_DIR": str(data_dir)})
        assert [t["title"] for t in json.loads(listed.stdout)] == ["Café", "☕"]
        shown = subprocess.run([*TASKVAULT, "show", "1"], capture_output=True, check=False,
                               env={**env, "TASKVAULT_DATA_DIR": str(data_dir)})
        assert shown.returncode == 0 and b"Task 1: Caf\xe9\n" in shown.stdout
        listed = subprocess.run([*TASKVAULT, "list"], capture_output=True, check=False,
                                env={**env, "TASKVAULT_DATA_DIR": str(data_dir)})
        assert b"Caf\xe9" in listed.stdout and b"\\u2615" in listed.stdout, "what latin-1 cannot show is escaped"


class TestScriptEncoding:
    @pytest.mark.parametrize("env", [UTF8, C_LOCALES[3]], ids=_locale_name)
    def test_a_leading_byte_order_mark_is_skipped(self, data_dir: Path, env: dict[str, str], tmp_path: Path) -> None:
        script = tmp_path / "bom.tv"
        script.write_bytes(b"\xef\xbb\xbfadd A\nadd B \xef\xbb\xbf\n")
        assert run_raw(data_dir, "--script", str(script), env=env).code == 0
        assert run_raw(data_dir, stdin=script.read_bytes(), env=env).code == 0
        assert [t["title"] for t in _tasks(data_dir)] == ["A", "B \ufeff", "A", "B \ufeff"]


INVISIBLE = "\u202e\u200b\u2066\u2069\ufeff\u2028\u00ad"
ESCAPED = "\\u202e\\u200b\\u2066\\u2069\\ufeff\\u2028\\xad"


class TestTerminalOutputIsEscaped:
    def test_titles_notes_and_tags_show_format_characters_escaped(self, data_dir: Path) -> None:
        """Right-to-left overrides and invisible characters are shown as escapes; JSON keeps them exactly."""
        title, note, tag = f"pay{INVISIBLE}rent", f"line{INVISIBLE}\nnext\tline", "t\u200bag"
        added = run_taskvault(data_dir, "add", title, "--note", note, "--tag", tag)
        assert added.out == f"Added task 1: pay{ESCAPED}rent\n"
        shown = run_taskvault(data_dir, "show", "1").out
        assert f"Task 1: pay{ESCAPED}rent\n" in shown and f"    line{ESCAPED}\n    next\tline" in shown
        assert "t\\u200bag" in shown
        listed = run_taskvault(data_dir, "list").out
        assert f"pay{ESCAPED}rent" in listed and "t\\u200bag" in listed
        for text in (added.out, shown, listed):
            assert not set(text) & set(INVISIBLE)
        [task] = _tasks(data_dir)
        assert (task["title"], task["note"], task["tags"]) == (title, note, [tag])

    def test_columns_stay_aligned(self, data_dir: Path) -> None:
        """The tags column starts at the same screen column in every row: titles are escaped before they are measured."""
        from wcwidth import wcswidth

        run_taskvault(data_dir, stdin="add 'a\u202eb' --tag t\nadd plain --tag t\nadd '日本' --tag t\n")
        rows = run_taskvault(data_dir, "list").out.splitlines()[1:-1]
        assert len({wcswidth(row[:row.rindex(" t")]) for row in rows}) == 1, rows

    def test_error_messages_are_escaped(self, data_dir: Path) -> None:
        for words in (["list", "--x\u202e"], ["--y\u2066"], ["show", "\u202e"]):
            result = run_taskvault(data_dir, *words)
            assert result.code in (1, 2) and not set(result.err) & set(INVISIBLE), result

    def test_completion_shows_titles_escaped_and_inserts_exact_values(self, data_dir: Path) -> None:
        run_taskvault(data_dir, "add", "a\u202eb", "--tag", "t\u200bag")
        tasks = TaskService(JournalStore(data_dir)).tasks
        completer = TaskCompleter(lambda: tasks)
        [(text, meta)] = [(c.text, c.display_meta_text)
                          for c in completer.get_completions(Document("done "), CompleteEvent())]
        assert (text, meta) == ("1", "a\\u202eb")
        [tag] = list(completer.get_completions(Document("list --tag "), CompleteEvent()))
        assert tag.text == "t\u200bag" and tag.display_text == "t\\u200bag"
