"""Bounded resources on hostile input: scripts are streamed within fixed limits, errors stay one short line.

A script is read a line at a time, and no line or script beyond the limits of taskvault.limits
is read whole. The programs run with a memory limit, so that a reader that grows without bound
fails the test instead of the machine. The error of a command that names ten thousand missing
ids, or quotes a word of a hundred kilobytes, is one line of a few hundred characters.
"""

from __future__ import annotations

import resource
import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import limits
from taskvault.commands.dispatch import split_line
from taskvault.errors import UsageError

from .conftest import Session, run_raw, run_taskvault, seed_store

#: A proof that spawns many processes: run by CI and `pytest`, left out of the fast tier.
pytestmark = pytest.mark.slow

MEMORY = 512 * 2**20


def _bounded_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _titles(data_dir: Path) -> list[str]:
    return [t.title for t in Session(data_dir).service.tasks.snapshot()[0]]


def _one_short_line(err: str, most: int = 400) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) <= most, err[:1000]
    return err


class TestScriptsAreStreamedWithinLimits:
    def test_a_script_of_endless_zeros(self, data_dir: Path) -> None:
        """--script /dev/zero: a device that never ends is refused before it is read (endless zeros on standard
        input are refused once a line passes the limit: the next test)."""
        result = run_raw(data_dir, "--script", "/dev/zero", preexec_fn=_bounded_memory)
        assert result.code == 2, result
        assert "a character device, not a file of commands" in _one_short_line(result.err)

    def test_standard_input_of_endless_zeros(self, data_dir: Path) -> None:
        with open("/dev/zero", "rb") as zeros:
            result = run_raw(data_dir, stdin=zeros.fileno(), preexec_fn=_bounded_memory)
        assert result.code == 2 and f"{limits.MAX_LINE_BYTES:,} bytes" in _one_short_line(result.err)

    @pytest.mark.parametrize("line", [b"add " + b"a" * 2**20, b"done " + b"1," * 2**19,
                                      b'add "' + b"a" * 2**20 + b'"', b"add " + b"\\a" * 2**19])
    def test_a_megabyte_line_is_refused_naming_the_limit(self, data_dir: Path, line: bytes) -> None:
        """The lines before it run, the line itself is refused with the limit, the lines after it do not run."""
        result = run_raw(data_dir, stdin=b"add Before\n" + line + b"\nadd After\n", preexec_fn=_bounded_memory)
        assert result.code == 2, result
        assert result.out == "Added task 1: Before\n"
        message = _one_short_line(result.err)
        assert message.startswith("line 2: error: ") and f"{limits.MAX_LINE_BYTES:,} bytes" in message

    def test_a_line_just_within_the_limit_is_read_whole(self, data_dir: Path, tmp_path: Path) -> None:
        """A line of exactly the limit is read (and here refused for its title, not for its length)."""
        script = tmp_path / "long.tv"
        script.write_bytes(b"add " + b"a" * (limits.MAX_LINE_BYTES - 4) + b"\r\n")
        result = run_raw(data_dir, "--script", str(script))
        assert result.code == 1 and "the title is" in _one_short_line(result.err)

    def test_a_script_over_the_size_limit_stops_there(self, data_dir: Path, tmp_path: Path) -> None:
        """Lines wholly within the limit run; the one that passes it is refused; none after it runs."""
        comment = b"#" + b"x" * (limits.MAX_LINE_BYTES - 2) + b"\n"
        count = limits.MAX_SCRIPT_BYTES // len(comment)
        script = tmp_path / "big.tv"
        with script.open("wb") as handle:
            handle.write(b"add First\n")
            for _ in range(count):
                handle.write(comment)
            handle.write(b"add Never\n")
        for args, stdin in ((["--script", str(script)], None), ([], script.read_bytes())):
            result = run_raw(data_dir, *args, stdin=stdin, preexec_fn=_bounded_memory)
            assert result.code == 2, result
            message = _one_short_line(result.err)
            assert message.startswith(f"line {count + 1}: error: ") and "64 MiB" in message
            assert result.out.startswith("Added task")
        assert _titles(data_dir) == ["First", "First"]

    def test_the_interactive_session_refuses_a_pasted_line_over_the_limit(self, data_dir: Path) -> None:
        """Lines that reach the runner by any other way are held to the same limit."""
        session = Session(data_dir)
        assert session.run("add " + "é" * (limits.MAX_LINE_BYTES // 2)) == 2
        assert f"{limits.MAX_LINE_BYTES:,} bytes" in session.err.getvalue()
        session.close()


class TestScriptLines:
    @pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"], ids=["crlf", "cr", "lf"])
    def test_any_line_ending(self, data_dir: Path, ending: bytes, tmp_path: Path) -> None:
        """Windows, old Mac and Unix line endings all end a line; none is part of a title."""
        script = ending.join([b"add A", b"add 'B C'", b"", b"done 1"]) + ending
        (tmp_path / "s.tv").write_bytes(script)
        assert run_raw(data_dir, stdin=script).code == 0
        assert run_raw(data_dir, "--script", str(tmp_path / "s.tv")).code == 0
        tasks = Session(data_dir).service.tasks.snapshot()[0]
        assert [(t.title, t.status.value) for t in tasks] == [("A", "done"), ("B C", "open"), ("A", "open"),
                                                               ("B C", "open")]

    def test_nul_bytes_are_refused_per_line(self, data_dir: Path) -> None:
        result = run_raw(data_dir, "--keep-going", stdin=b"add a\x00b\n\x00\nadd c\n")
        assert result.code == 1, result
        lines = result.err.splitlines()
        assert len(lines) == 2 and lines[0].startswith("line 1: error: the title contains a control character")
        assert lines[1] == "line 2: error: unknown command '\\x00' (run 'taskvault help' to see the commands)"
        assert "\x00" not in result.err and _titles(data_dir) == ["c"]


class TestLineSplitting:
    """split_line reads words as shlex.split does, in time linear in the line (shlex: 11 s for a 1 MB word)."""

    @settings(max_examples=3000, deadline=None)
    @given(st.text(alphabet="ab '\"\\\t\r\n#é\u202e", max_size=40))
    def test_split_line_reads_as_a_posix_shell_does(self, text: str) -> None:
        """The same words as shlex.split, or the same error."""
        try:
            expected: list[str] | str = shlex.split(text)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: list[str] | str = split_line(text)
        except UsageError as exc:
            got = exc.message.removeprefix("cannot read the line: ")
        assert got == expected

    def test_long_words_are_split_whole(self) -> None:
        word = "x" * 2**20
        assert split_line(f'add "{word}" \'{word}\' {word}\\ y') == ["add", word, word, word + " y"]


class TestBoundedErrorMessages:
    def test_missing_ids_of_a_wide_range(self, data_dir: Path) -> None:
        """delete 1-9999 on a small store: one short line, the missing ids as ranges, and how many."""
        seed_store(data_dir)
        result = run_taskvault(data_dir, "delete", "1-9999")
        assert result.code == 1
        assert _one_short_line(result.err, 200).startswith("error: no tasks with ids 4-9999 (9996 in all)")

    def test_missing_ids_scattered(self, data_dir: Path) -> None:
        seed_store(data_dir)
        result = run_taskvault(data_dir, "done", *[str(n) for n in range(10, 4000, 2)])
        assert result.code == 1
        line = _one_short_line(result.err, 200)
        assert line.startswith("error: no tasks with ids 10, 12, 14, 16, 18, …") and "(1995 in all)" in line

    @pytest.mark.parametrize("words", [["delete", "1-10001"], ["done", "1-5000", "5001-10000", "10001"]])
    def test_ranges_and_counts_name_the_cap(self, data_dir: Path, words: list[str]) -> None:
        seed_store(data_dir)
        result = run_taskvault(data_dir, *words)
        assert result.code == 1 and f"at most {limits.MAX_IDS:,}" in _one_short_line(result.err)
        assert run_taskvault(data_dir, "delete", "5-1").err.startswith("error: '5-1' is not a usable range of ids: "
                                                                         "it ends before it starts")

    @pytest.mark.parametrize("words", [["show", "x" * 100_000], ["add", "x", "--due", "y" * 100_000],
                                       ["x" * 100_000], ["--" + "x" * 100_000], ["add", "x", "--" + "y" * 100_000],
                                       ["add", "x", "--tag", "a b" * 30_000], ["list", "--sort", "z" * 100_000],
                                       ["add", "x", "--priority", "p" * 100_000], ["backup", "n" * 100_000],
                                       ["show", "1", "2" * 100_000], ["undo", "8" * 100_000]])
    def test_a_long_word_is_quoted_short(self, data_dir: Path, words: list[str]) -> None:
        """An error that names a value the user gave quotes the start of it, never all of it."""
        seed_store(data_dir)
        result = run_taskvault(data_dir, *words)
        assert result.code in (1, 2), result
        _one_short_line(result.err)

    @pytest.mark.parametrize("words", [["--x\ny"], ["list", "--x\ny"], ["add", "x", "--due", "a\nb"],
                                       ["--data-dir", "{file}", "add", "x"]])
    def test_an_error_is_one_line_whatever_it_quotes(self, tmp_path: Path, words: list[str]) -> None:
        """Newlines and escape sequences in what the user gave (here a file name) are shown escaped."""
        file = tmp_path / "no\nwhere\x1b[2J"
        file.write_text("not a directory")
        result = run_taskvault(tmp_path / "data", *[w.replace("{file}", str(file)) for w in words])
        assert result.code in (1, 2, 3), result
        assert "\x1b" not in _one_short_line(result.err)

    def test_a_long_setting_is_quoted_short(self, data_dir: Path) -> None:
        result = run_taskvault(data_dir, "list", env={"TASKVAULT_LOCK_TIMEOUT": "9" * 100_000})
        assert result.code == 2 and "TASKVAULT_LOCK_TIMEOUT" in _one_short_line(result.err)


# -- schema 4's fields and commands: each limit of the task model, reached and passed from the command line ----------

#: What the task model allows (domain/task.py), quoted here so that a changed limit is a changed test.
ANNOTATIONS_MAX, ANNOTATION_MAX, PROJECT_MAX, DEPENDS_MAX = 100, 1000, 100, 100


def _built_without_fsync(data_dir: Path, lines: list[str]) -> None:
    """A store made by running ``lines`` in one in-process session, its fsyncs skipped (only the building is
    fast: every command under test then runs in a process of its own, with every fsync)."""
    from taskvault.store import files

    from .conftest import OsProxy

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "os", OsProxy(fsync=lambda _real, _fd: None))
        session = Session(data_dir)
        for line in lines:
            assert session.run(line) == 0, (line, session.err.getvalue())
        session.close()


def _refused_untouched(data_dir: Path, *words: str, reason: str, code: int = 1) -> str:
    """The command is refused with ``code`` and one short line naming ``reason``; no byte of the store changed."""
    from .conftest import store_bytes

    before = store_bytes(data_dir)
    result = run_taskvault(data_dir, *words)
    assert result.code == code, result
    assert result.out == ""
    line = _one_short_line(result.err)
    assert reason in line, line
    assert store_bytes(data_dir) == before
    return line


class TestNewFieldLimits:
    """Each of schema 4's limits: the largest value is taken, one more is refused in one line, changing nothing."""

    def test_a_hundred_annotations_then_one_more(self, data_dir: Path) -> None:
        """The 100th annotation is saved; the 101st is refused; annotating it and a task with room changes neither."""
        _built_without_fsync(data_dir, ["add Full", "add Roomy",
                                        *(f"annotate 1 note {n} ✓ ünï" for n in range(ANNOTATIONS_MAX - 1))])
        assert run_taskvault(data_dir, "annotate", "1", "the hundredth").code == 0
        _refused_untouched(data_dir, "annotate", "1", "one more", reason=f"at most {ANNOTATIONS_MAX} annotations")
        _refused_untouched(data_dir, "annotate", "2,1", "both", reason=f"at most {ANNOTATIONS_MAX} annotations")
        tasks = Session(data_dir).service.tasks
        assert len(tasks.get(1).annotations) == ANNOTATIONS_MAX and tasks.get(1).annotations[-1].text == "the hundredth"
        assert tasks.get(2).annotations == ()
        assert run_taskvault(data_dir, "denotate", "1", "1").code == 0
        assert run_taskvault(data_dir, "annotate", "1", "room again").code == 0

    def test_an_annotation_of_1001_characters(self, data_dir: Path) -> None:
        """1,000 characters (non-ASCII ones counted as characters, not bytes) are taken; 1,001 are refused."""
        seed_store(data_dir)
        longest = "é" * (ANNOTATION_MAX - 1) + "✓"
        assert run_taskvault(data_dir, "annotate", "1", longest).code == 0
        _refused_untouched(data_dir, "annotate", "1", longest + "x",
                           reason=f"the annotation is {ANNOTATION_MAX + 1} characters long; the most is {ANNOTATION_MAX}")
        assert Session(data_dir).service.tasks.get(1).annotations[0].text == longest

    @pytest.mark.parametrize("command", ["add", "modify"])
    def test_a_project_of_101_characters(self, data_dir: Path, command: str) -> None:
        """A project of 100 characters is taken by add and modify; one of 101 is refused."""
        seed_store(data_dir)
        target = ["add", "Projected"] if command == "add" else ["modify", "1"]
        longest = "home." + "p" * (PROJECT_MAX - 5)
        assert run_taskvault(data_dir, *target, f"project:{longest}").code == 0
        _refused_untouched(data_dir, *target, f"project:{longest}x", reason=f"is longer than {PROJECT_MAX} characters")

    def test_a_refused_project_is_said_to_be_as_long_as_it_is(self, data_dir: Path) -> None:
        """The message about a project of 101 characters says 101, not the length of the part it quotes."""
        seed_store(data_dir)
        line = _refused_untouched(data_dir, "modify", "1", "project:" + "p" * (PROJECT_MAX + 1), reason="longer")
        assert f"({PROJECT_MAX + 1} characters)" in line, line

    @pytest.mark.parametrize("command", ["add", "modify", "modify, one more"])
    def test_depends_on_101_tasks(self, data_dir: Path, command: str) -> None:
        """A task may depend on 100 tasks; 101 are refused, whether named at once or one more after 100."""
        _built_without_fsync(data_dir, [f"add t{n}" for n in range(1, DEPENDS_MAX + 3)])
        target = ["add", "Waits"] if command == "add" else ["modify", "1"]
        if command == "modify, one more":
            assert run_taskvault(data_dir, "modify", "1", f"depends:2-{DEPENDS_MAX + 1}").code == 0
            _refused_untouched(data_dir, "modify", "1", f"depends:{DEPENDS_MAX + 2}",
                               reason=f"at most {DEPENDS_MAX} tasks")
            assert len(Session(data_dir).service.tasks.get(1).depends) == DEPENDS_MAX
            return
        _refused_untouched(data_dir, *target, f"depends:2-{DEPENDS_MAX + 2}", reason=f"at most {DEPENDS_MAX} tasks")
        assert run_taskvault(data_dir, *target, f"depends:2-{DEPENDS_MAX + 1}").code == 0
        waits = Session(data_dir).service.tasks.get(DEPENDS_MAX + 3 if command == "add" else 1)
        assert len(waits.depends) == DEPENDS_MAX


#: What a person may paste into annotate: terminal escapes, a bell, a newline, a tab, a DEL, a C1 control.
PASTED_CONTROLS = ["\x1b[2J\x1b[31mred", "ding\x07", "two\nlines", "tab\there", "del\x7f", "c1\x9bcsi", "cr\rreturn"]


class TestPastedControlCharacters:
    @pytest.mark.parametrize("text", PASTED_CONTROLS, ids=[repr(t) for t in PASTED_CONTROLS])
    def test_annotate_refuses_a_control_character(self, data_dir: Path, text: str) -> None:
        """From the command line: refused in one line that names it, with nothing of it echoed raw."""
        seed_store(data_dir)
        line = _refused_untouched(data_dir, "annotate", "1", f"before {text} after", reason="control character")
        assert not any(ch in line[:-1] for ch in "\x1b\x07\t\x7f\x9b\r")

    def test_a_script_line_with_nul_and_escapes(self, data_dir: Path) -> None:
        """From a script: the NUL and the escape are refused on their own lines, the lines around them run."""
        seed_store(data_dir)
        script = b"annotate 1 fine \xc3\xbc\nannotate 1 a\x00b\nannotate 1 a\x1b[2Jb\nannotate 1 also fine\n"
        result = run_raw(data_dir, "--keep-going", stdin=script)
        assert result.code == 1, result
        errors = result.err.splitlines()
        assert [e.split(":")[0] for e in errors] == ["line 2", "line 3"], result.err
        assert "\x1b" not in result.err and "\x00" not in result.err
        texts = [a.text for a in Session(data_dir).service.tasks.get(1).annotations]
        assert texts == ["fine ü", "also fine"]


#: A word of a megabyte for each place a word of add or modify may go.
MEGABYTE_LINES = ["add {w}", "add x project:{w}", "add x +{w}", "modify 1 {w}", "modify 1 project:{w}",
                  "modify 1 due:{w}", "modify 1 depends:{w}", "modify 1 +{w}", "annotate 1 {w}", "denotate 1 {w}"]
#: The longest word the kernel passes as one argument is 128 KiB: a word of 100,000 characters, in every place.
LONG_WORDS = [["add", "{w}"], ["add", "x", "project:{w}"], ["add", "x", "due:{w}"], ["add", "x", "depends:{w}"],
              ["add", "x", "+{w}"], ["modify", "1", "{w}"], ["modify", "1", "+{w}"], ["modify", "1", "-{w}"],
              ["annotate", "1", "{w}"], ["denotate", "1", "{w}"], ["modify", "1", "project:{w}"],
              ["modify", "1", "due:{w}"], ["modify", "1", "wait:{w}"], ["modify", "1", "scheduled:{w}"],
              ["modify", "1", "until:{w}"], ["modify", "1", "priority:{w}"], ["modify", "1", "depends:{w}"],
              ["modify", "1", "depends:-{w}"], ["modify", "1", "recur:{w}"], ["add", "x", "priorty:{w}"]]


class TestHugeWords:
    @pytest.mark.parametrize("template", MEGABYTE_LINES)
    def test_a_megabyte_word_is_refused_fast(self, data_dir: Path, template: str) -> None:
        """A line holding a word of 1 MB, in a script: refused for its length in one line, in bounded memory."""
        import time

        seed_store(data_dir)
        from .conftest import store_bytes

        before = store_bytes(data_dir)
        line = template.format(w="w" * 2**20).encode()
        started = time.monotonic()
        result = run_raw(data_dir, stdin=line + b"\n", preexec_fn=_bounded_memory)
        assert time.monotonic() - started < 10, "refusing a long line must not take long"
        assert result.code == 2 and f"{limits.MAX_LINE_BYTES:,} bytes" in _one_short_line(result.err)
        assert store_bytes(data_dir) == before

    @pytest.mark.parametrize("words", LONG_WORDS, ids=lambda w: " ".join(w).replace("{w}", "W"))
    def test_a_long_word_in_a_new_place_is_quoted_short(self, data_dir: Path, words: list[str]) -> None:
        """A word of 100,000 characters anywhere add, modify, annotate or denotate take one: refused in one short line
        quoting at most its start; no traceback; nothing changed."""
        seed_store(data_dir)
        line = _refused_untouched(data_dir, *[w.replace("{w}", "w" * 100_000) for w in words], reason="",
                                  code=2 if "priorty" in words[-1] else 1)
        assert "w" * 61 not in line, line


class TestModifyTenThousandIds:
    def test_modify_of_10000_ids_on_a_small_store(self, data_dir: Path) -> None:
        """The missing ids are named as a range and counted, in one short line; nothing changes."""
        seed_store(data_dir)
        line = _refused_untouched(data_dir, "modify", f"1-{limits.MAX_IDS}", "priority:L",
                                  reason=f"no tasks with ids 4-{limits.MAX_IDS}")
        assert f"({limits.MAX_IDS - 3} in all)" in line
        listed = ",".join(str(n) for n in range(1, limits.MAX_IDS + 1))
        _refused_untouched(data_dir, "modify", listed, "project:x", reason=f"no tasks with ids 4-{limits.MAX_IDS}")

    def test_modify_of_10001_ids_names_the_cap(self, data_dir: Path) -> None:
        seed_store(data_dir)
        _refused_untouched(data_dir, "modify", f"1-{limits.MAX_IDS + 1}", "priority:L",
                           reason=f"at most {limits.MAX_IDS:,}")
        _refused_untouched(data_dir, "modify", f"1-5000,5001-{limits.MAX_IDS},{limits.MAX_IDS + 1}", "+x",
                           reason=f"at most {limits.MAX_IDS:,}")

    def test_modify_of_10000_tasks_is_one_change(self, data_dir: Path) -> None:
        """10,000 tasks modified by one command, in bounded memory: one revision, every task changed, or none."""
        _built_without_fsync(data_dir, [f"add t{n}" for n in range(limits.MAX_IDS)])
        revision = Session(data_dir).state()[2]
        result = run_raw(data_dir, "modify", f"1-{limits.MAX_IDS}", "priority:L", "project:bulk", "+many", "--yes",
                         preexec_fn=_bounded_memory, timeout=120)
        assert result.code == 0, result.err[:1000]
        assert result.out.count("\n") == limits.MAX_IDS
        tasks, _, after = Session(data_dir).state()
        assert after == revision + 1, "a bulk modify is one change"
        assert {(t.priority.value if t.priority else None, t.project, t.tags) for t in tasks} == {
            ("low", "bulk", ("many",))}
