"""docs/troubleshooting.md quotes messages exactly as the program prints them (issue 15, item 9).

Each case sets up the situation a quoted message is about, runs the installed program, and checks
that the quote is in the guide and in what the program printed, word for word (the data
directory's path written as /x, as the guide writes it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import run_taskvault
from .test_moved_store import PipedSession

DOC = Path(__file__).parent.parent / "docs" / "troubleshooting.md"
SEED = (("add", "First", "--tag", "home"), ("add", "Second"))

#: (quote in the guide, the command that prints it on the seeded store, its exit code)
CASES = [
    ("'abc' is not a task id", ("done", "abc"), 1),
    ("'9-3' is not a usable range of ids: it ends before it starts", ("done", "9-3"), 1),
    ("edit takes one task id, not '1,2'", ("edit", "1,2", "--title", "x"), 1),
    ("show takes one task id, not '3-4'", ("show", "3-4"), 1),
    ("task 1 has no tag 'typo' to remove (its tags\nare: home)", ("edit", "1", "--tag", "-typo"), 2),
    ("no task with id 9", ("done", "9"), 1),
    ("no tasks with ids 8, 9", ("done", "8", "9"), 1),
    ("'urgent' is not a priority", ("edit", "1", "--priority", "urgent"), 1),
    ("'soon' is not a date", ("edit", "1", "--due", "soon"), 1),
    ("tag 'home' is both added and removed", ("edit", "1", "--tag", "+home", "--tag", "-home"), 1),
    ("nothing to change", ("edit", "1"), 1),
    ("a tag cannot start with '-': '-x'", ("edit", "1", "--tag", "+-x"), 1),
    ("the tag 'a b' must be one word without spaces, commas or control characters", ("edit", "1", "--tag", "+a b"), 1),
    ("a tag cannot be empty", ("edit", "1", "--tag", "+"), 1),
]


def _doc() -> str:
    return " ".join(DOC.read_text(encoding="utf-8").split())


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "x"
    for args in SEED:
        assert run_taskvault(directory, *args).code == 0
    return directory


@pytest.mark.parametrize(("quote", "command", "code"), CASES, ids=[c[0][:40] for c in CASES])
def test_the_guide_quotes_what_the_program_prints(store: Path, quote: str, command: tuple[str, ...],
                                                  code: int) -> None:
    """The quote is in docs/troubleshooting.md and in the program's error line, verbatim."""
    assert f"`{_flat(quote)}" in _doc(), f"docs/troubleshooting.md does not quote {quote!r}"
    result = run_taskvault(store, *command)
    assert result.code == code, result.err
    assert _flat(quote) in result.err.replace(str(store), "/x"), result.err


def test_the_store_moved_message_is_quoted_as_printed(store: Path) -> None:
    """The StoreMoved message, from a session whose store was moved, is quoted whole."""
    session = PipedSession(store)
    session.feed_until("list\n", b"open tasks shown")
    shutil.move(store, store.with_name("moved"))
    _, _, err = session.finish("add More\n")
    printed = err.replace(str(store), "/x").splitlines()[0].removeprefix("line 2: error: ")
    assert f"`{_flat(printed)}`" in _doc(), printed
