"""The transcript runner behind specs/ and the docs: it must catch what differs, and only that."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from . import transcript

TODAY = dt.date(2026, 11, 21)
DATA = Path("/tmp/somewhere/data")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "example" / "scenarios.md"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


class TestParse:
    def test_headings_start_scenarios_and_blocks_hold_steps(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "\n".join([  # noqa: FLY002 (a file, one line of it per string)
            "# Title", "", "## Scenario: first", "", "```console", "$ taskvault add A", "Added task 1: A",
            "$ taskvault show 9", "error: no", "[exit 1]", "```", "", "prose", "", "## Scenario: second",
            "```console", "$ cat <<'EOF'", "add A", "", "EOF", "add A", "A$ taskvault", "A> list", "x", "A> ^D",
            "```", "", "```sh", "$ not run", "```",
        ]))
        first, second = transcript.parse(path)
        assert first.name == "first" and [s.text for s in first.steps] == ["taskvault add A", "taskvault show 9"]
        assert first.steps[0].expected == ("Added task 1: A",) and first.steps[1].exit_code == 1
        heredoc, start, send, close = second.steps
        assert heredoc.text == "cat <<'EOF'\nadd A\n\nEOF" and heredoc.expected == ("add A",)
        assert (start.kind, start.session, send.kind, send.expected, close.kind) == ("start", "A", "send", ("x",),
                                                                                      "close")

    def test_a_file_without_scenario_headings_is_one_scenario(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "```console\n$ taskvault list\n```\ntext\n```console\n$ taskvault add A\n```\n")
        (only,) = transcript.parse(path)
        assert len(only.steps) == 2 and only.name == "example/scenarios"

    @pytest.mark.parametrize("text", ["```console\n$ taskvault list\n", "```console\noutput first\n```\n",
                                      "```console\n$ cat <<EOF\nnever closed\n```\n"])
    def test_malformed_transcripts_are_refused(self, tmp_path: Path, text: str) -> None:
        with pytest.raises(ValueError):
            transcript.parse(_write(tmp_path, text))


class TestMatch:
    @pytest.mark.parametrize(("expected", "actual"), [
        ("due <today+1>", "due 2026-11-22"),
        ("due <today-3> and <today>", "due 2026-11-18 and 2026-11-21"),
        ("uuid <uuid>", "uuid 0a5bdc42-af24-4bf0-a295-45ea3c0263d2"),
        ("at <time>", "at 2026-11-21 17:51 UTC"),
        ('"at": "<time>"', '"at": "2026-11-21T17:51:33.026481Z"'),
        ("cannot load <data>/tasks.json", "cannot load /tmp/somewhere/data/tasks.json"),
        ("took <number> ms", "took 0.45 ms"),
        ("a (literal) [text] with <...> inside", "a (literal) [text] with anything at all inside"),
    ])
    def test_placeholders_match_their_values(self, expected: str, actual: str) -> None:
        assert transcript.match((expected,), [actual], TODAY, DATA) == [expected]

    @pytest.mark.parametrize(("expected", "actual"), [
        ("due <today+1>", "due 2026-11-23"),
        ("uuid <uuid>", "uuid not-a-uuid"),
        ("cannot load <data>/tasks.json", "cannot load /elsewhere/tasks.json"),
        ("a.b", "axb"),
        ("Added task 1", "Added task 1 and more"),
    ])
    def test_anything_else_is_a_difference(self, expected: str, actual: str) -> None:
        assert transcript.match((expected,), [actual], TODAY, DATA) is None

    def test_an_ellipsis_line_stands_for_any_lines(self) -> None:
        assert transcript.match(("a", "...", "z"), ["a", "b", "c", "z"], TODAY, DATA) == ["a", "...", "z"]
        assert transcript.match(("a", "...", "z"), ["a", "z"], TODAY, DATA) == ["a", "...", "z"]
        assert transcript.match(("a", "...", "z"), ["a", "b"], TODAY, DATA) is None
        assert transcript.match(("a",), ["a", "extra"], TODAY, DATA) is None


class TestRun:
    def test_a_wrong_transcript_fails_with_a_diff_of_only_the_difference(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "```console\n$ taskvault add A\nAdded task 1: A\n$ taskvault show 1\nTask 1: B\n"
                                "  status     open\n...\n```\n")
        (scenario,) = transcript.parse(path)
        with pytest.raises(transcript.TranscriptFailed) as failure:
            transcript.run(scenario, tmp_path / "work")
        message = str(failure.value)
        assert "scenarios.md:4: $ taskvault show 1" in message
        assert "-Task 1: B\n+Task 1: A" in message and "+  status     open" not in message

    def test_a_wrong_exit_code_fails(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "```console\n$ taskvault show 1\nerror: no task with id 1 <...>\n```\n")
        (scenario,) = transcript.parse(path)
        with pytest.raises(transcript.TranscriptFailed, match=r"\+\[exit 1\]"):
            transcript.run(scenario, tmp_path / "work")

    def test_sessions_and_restarts_share_the_scenario_store(self, tmp_path: Path) -> None:
        lines = ["```console", "A$ taskvault", "A> add A", "Added task 1: A", "$ taskvault add B", "Added task 2: B",
                 "A> list", "ID  Pri  Due  Title  Tags", " 1            A", " 2            B",
                 "2 open tasks shown (2 open, 0 done in all)", "A> ^D", "$ ls -A", "tasks.journal", "tasks.json",
                 "tasks.lock", "```"]
        (scenario,) = transcript.parse(_write(tmp_path, "\n".join(lines)))
        assert transcript.run(scenario, tmp_path / "work") == 6
        lines[lines.index(" 2            B")] = " 2            C"
        (wrong,) = transcript.parse(_write(tmp_path / "wrong", "\n".join(lines)))
        with pytest.raises(transcript.TranscriptFailed, match=r"A> list\n(.*\n)*- 2            C"):
            transcript.run(wrong, tmp_path / "work2")

    def test_a_session_step_cannot_skip_lines(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="reads exactly its lines"):
            transcript.parse(_write(tmp_path, "```console\nA$ taskvault\nA> list\n...\n```\n"))

    @pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="needs tmux")
    def test_a_terminal_session_is_read_from_the_screen(self, tmp_path: Path) -> None:
        lines = ["```console", "T% taskvault", "taskvault <...> · 'help' lists the commands · 'quit' or Ctrl-D leaves",
                 "T> add A", "Added task 1: A", "T> show 9", "error: no task with id 9 <...>", "T> quit", "[exit 0]",
                 "```"]
        (scenario,) = transcript.parse(_write(tmp_path, "\n".join(lines)))
        assert transcript.run(scenario, tmp_path / "work") == 4
        lines[4] = "Added task 1: B"
        (wrong,) = transcript.parse(_write(tmp_path / "wrong", "\n".join(lines)))
        with pytest.raises(transcript.TranscriptFailed, match=r"T> add A\n(.*\n)*-Added task 1: B\n\+Added task 1: A"):
            transcript.run(wrong, tmp_path / "work2")
