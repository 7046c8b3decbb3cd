"""Hints are true for the command they follow (issue 15, item 9), on the installed program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import run_taskvault


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    for args in (("add", "First", "--tag", "home"), ("add", "Second"), ("add", "Third")):
        assert run_taskvault(directory, *args).code == 0
    return directory


class TestOneId:
    @pytest.mark.parametrize("given", ["1,2", "3-4"])
    def test_edit_of_several_ids_says_it_takes_one(self, store: Path, given: str) -> None:
        """edit 1,2 says edit takes one id, and offers no list or range as valid."""
        result = run_taskvault(store, "edit", given, "--title", "x")
        assert result.code == 1
        assert result.err == (f"error: edit takes one task id, not '{given}' (give one id, a whole number from 1 up, "
                              "such as 3, or the start of the task's uuid, 8 hex digits or more; 'taskvault list' "
                              "shows them)\n")
        assert "3,4" not in result.err and "3-6" not in result.err

    def test_show_of_a_list_says_it_takes_one(self, store: Path) -> None:
        """show 1,2 says the same of show."""
        assert run_taskvault(store, "show", "1,2").err.startswith("error: show takes one task id, not '1,2'")


class TestTagToRemove:
    def test_removing_a_tag_the_task_lacks_is_refused_naming_its_tags(self, store: Path) -> None:
        """edit 1 --tag -typo: exit 2, naming the tags task 1 has; nothing is saved."""
        before = (store / "tasks.journal").read_bytes()
        result = run_taskvault(store, "edit", "1", "--tag", "-typo")
        assert result.code == 2
        assert result.err == "error: task 1 has no tag 'typo' to remove (its tags are: home)\n"
        assert (store / "tasks.journal").read_bytes() == before

    def test_a_task_without_tags_says_so(self, store: Path) -> None:
        """For a task with no tags at all, the hint says it has none."""
        result = run_taskvault(store, "edit", "2", "--tag", "-home")
        assert (result.code, result.err) == (2, "error: task 2 has no tag 'home' to remove (it has no tags)\n")

    def test_removing_a_tag_it_has_still_works(self, store: Path) -> None:
        """The tag the task has is removed as before."""
        assert run_taskvault(store, "edit", "1", "--tag", "-home").code == 0


class TestDeletedTask:
    def test_a_deleted_task_says_when_and_by_which_revision(self, store: Path) -> None:
        """delete 3 on a deleted task says it was deleted, when, and in which revision."""
        assert run_taskvault(store, "delete", "3").code == 0
        result = run_taskvault(store, "delete", "3", env={"TZ": "UTC"})
        assert result.code == 1
        assert re.fullmatch(r"error: task 3 was deleted on \d{4}-\d\d-\d\d at \d\d:\d\d \(revision 4\) "
                            r"\('taskvault history' shows the change; 'taskvault list --all' shows the ids in use\)\n",
                            result.err), result.err

    def test_an_id_never_used_is_still_no_task(self, store: Path) -> None:
        """An id no task ever had keeps the plain message."""
        result = run_taskvault(store, "done", "9")
        assert result.err == "error: no task with id 9 (run 'taskvault list --all' to see the ids in use)\n"
