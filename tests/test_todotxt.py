"""todo.txt: read from files todo.txt-cli made, written so that todo.txt-cli lists, prioritises and completes
them, and written then read back as the same tasks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskvault.domain.task import Priority, Status, Task
from taskvault.errors import InvalidValue
from taskvault.interchange import todotxt
from taskvault.interchange.model import Batch, Source, day_of, start_of

from .conftest import require_tool
from .interchange_strategies import EXTRA_NAMES, NOTES, PERIODS, tasks_with_every_field

FIXTURES = Path(__file__).parent / "fixtures" / "todotxt"
NOW = dt.datetime(2026, 3, 10, 12, 0, 0, tzinfo=dt.UTC)


def read(text: str, done: str | None = None, *, now: dt.datetime = NOW) -> Batch:
    sources = [Source(text.encode("utf-8"), "todo.txt")]
    if done is not None:
        sources.append(Source(done.encode("utf-8"), "done.txt"))
    return todotxt.read(sources, now=now)


def one(text: str) -> Task:
    (incoming,) = read(text).tasks
    return incoming.task


def written(tasks: list[Task]) -> str:
    return "".join(todotxt.write(tasks))


def extra(task: Task) -> dict[str, object]:
    return dict(task.extra)


def todo_txt() -> str:
    """The path of todo.txt-cli; skip without it, unless CI said every tool must be there."""
    return require_tool("todo-txt", "todotxt-cli")


class TodoTxt:
    """The real todo.txt-cli on a private directory, on a day of our choosing (a `date` first on PATH
    answers its one question, `date +%Y-%m-%d`, as MAKE.sh does)."""

    def __init__(self, root: Path, today: str) -> None:
        self.program = todo_txt()
        self.data = root / "data"
        self.data.mkdir()
        (root / "bin").mkdir()
        shim = root / "bin" / "date"
        shim.write_text(f'#!/bin/sh\nif [ "$#" -eq 1 ] && [ "$1" = "+%Y-%m-%d" ]; then echo {today}; '
                        f'else exec {shutil.which("date")} "$@"; fi\n')
        shim.chmod(0o755)
        self.config = root / "config"
        self.config.write_text(f'export TODO_DIR="{self.data}"\nexport TODO_FILE="$TODO_DIR/todo.txt"\n'
                               'export DONE_FILE="$TODO_DIR/done.txt"\nexport REPORT_FILE="$TODO_DIR/report.txt"\n')
        self.env = {"PATH": f"{root / 'bin'}:{os.environ['PATH']}", "HOME": str(root), "LC_ALL": "C.UTF-8"}
        (self.data / "done.txt").write_text("")

    def __call__(self, *args: str) -> str:
        done = subprocess.run([self.program, "-d", str(self.config), "-f", "-p", *args], env=self.env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def batch(self) -> Batch:
        return todotxt.read([Source((self.data / "todo.txt").read_bytes(), "todo.txt"),
                             Source((self.data / "done.txt").read_bytes(), "done.txt")], now=NOW)


@pytest.fixture(scope="module")
def batch() -> Batch:
    """The files todo.txt-cli made, read."""
    return todotxt.read([Source((FIXTURES / "todo.txt").read_bytes(), "todo.txt"),
                         Source((FIXTURES / "done.txt").read_bytes(), "done.txt")], now=NOW)


class TestTodoTxtCliFiles:
    """The files in tests/fixtures/todotxt, made by todo.txt-cli itself (MAKE.sh)."""

    def test_make_sh_makes_these_files(self, tmp_path: Path) -> None:
        """MAKE.sh, run again, makes the committed files byte for byte: they are what the real tool writes."""
        todo_txt()
        subprocess.run(["sh", str(FIXTURES / "MAKE.sh"), str(tmp_path)], check=True, timeout=120)
        for name in ("todo.txt", "done.txt"):
            assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name

    def test_every_line_is_a_task_in_the_order_of_the_files(self, batch: Batch) -> None:
        """Ten lines of todo.txt (two of them series: a template and an instance each) and two of done.txt."""
        assert [i.where for i in batch.tasks] == [f"todo.txt line {n}" for n in (1, 2, 3, 4, 5, 5, 6, 6, 7, 8, 9, 10)] \
            + ["done.txt line 1", "done.txt line 2"]
        assert [i.task.id for i in batch.tasks] == list(range(1, 15))

    def test_priorities_projects_contexts_and_dates(self, batch: Batch) -> None:
        """(A) is high, (B) medium; the first +project is the project; @contexts are tags, lower-cased; a
        creation date is the start of that day; due: is the due day; the words are out of the title."""
        mom, pickup, signs = (batch.tasks[i].task for i in range(3))
        assert (mom.title, mom.priority, mom.tags, mom.created) == (
            "Thank Mom for the meatballs", Priority.HIGH, ("phone",), start_of(dt.date(2026, 1, 5)))
        assert (pickup.title, pickup.priority, pickup.project, pickup.tags, pickup.due) == (
            "Schedule Goodwill pickup", Priority.MEDIUM, "GarageSale", ("phone",), dt.date(2026, 1, 20))
        assert (signs.title, signs.project, signs.priority, signs.created, signs.updated) == (
            "Post signs around the neighborhood", "GarageSale", None, NOW, NOW)

    def test_what_does_not_map_is_kept_and_reported(self, batch: Batch) -> None:
        """A second project, a priority past C and a key of another tool are each reported (and kept in extra)."""
        notes = {(n.where, n.field): n.what for n in batch.unmapped}
        assert "+Town kept in extra as todotxt.projects" in notes["todo.txt line 3", "project"]
        assert notes["todo.txt line 3", "estimate"] == "kept in extra as estimate"
        assert "(D)" in notes["todo.txt line 8", "priority"]
        assert "spelling is kept" in notes["todo.txt line 2", "tags"]
        trip = batch.tasks[9].task
        assert (trip.title, trip.priority, trip.project, trip.tags) == ("Plan the trip", None, "Travel.Japan",
                                                                        ("laptop",))
        assert extra(batch.tasks[2].task) == {"todotxt.projects": "Town", "estimate": "3h"}
        assert extra(trip) == {"todotxt.priority": "D"}

    def test_done_lines_in_todo_txt_and_in_done_txt(self, batch: Batch) -> None:
        """`do` writes x, the day, and drops the priority; `archive` moves the line to done.txt: both are done,
        completed at the start of that day."""
        eskimo = batch.tasks[3].task
        assert (eskimo.status, eskimo.title, eskimo.tags, eskimo.completed, eskimo.created) == (
            Status.DONE, "Eskimo pies and ice cream", ("grocerystore",), start_of(dt.date(2026, 1, 14)),
            start_of(dt.date(2026, 1, 6)))
        taxes, garage = batch.tasks[12].task, batch.tasks[13].task
        assert (taxes.status, taxes.title, taxes.project, taxes.completed, taxes.priority) == (
            Status.DONE, "File the taxes", "finances", start_of(dt.date(2026, 1, 12)), None)
        assert (garage.title, garage.tags) == ("Clean up the garage", ("home",))

    def test_rec_makes_a_series(self, batch: Batch) -> None:
        """A line with rec: and due: is a series: its template, then the line as its first instance; rec:1w
        (from the day it is done) is reported, as taskvault's series go from the due date; t: is the wait day."""
        template, instance = batch.tasks[4].task, batch.tasks[5].task
        assert (template.status, template.recur, template.due, template.index) == (
            Status.RECURRING, "weekly", dt.date(2026, 1, 10), 1)
        assert (instance.status, instance.parent, instance.index, instance.wait, instance.title) == (
            Status.OPEN, template.uuid, 1, dt.date(2026, 1, 9), "Water the plants")
        rent = batch.tasks[7].task
        assert (rent.recur, rent.due, rent.parent) == ("monthly", dt.date(2026, 2, 1), batch.tasks[6].task.uuid)
        whats = [n.what for n in batch.unmapped if n.where == "todo.txt line 5"]
        assert any("repeats from the day it is done" in w for w in whats)
        assert not any("repeats from" in n.what for n in batch.unmapped if n.where == "todo.txt line 6")

    def test_text_that_only_looks_like_metadata_stays_in_the_title(self, batch: Batch) -> None:
        """A web address, a time of day, 2+2 and an e-mail address are text; unicode is kept."""
        assert batch.tasks[8].task.title == "Read https://example.com/a?b=c before 10:30"
        assert batch.tasks[8].task.project == "reading"
        assert (batch.tasks[10].task.title, batch.tasks[10].task.tags) == ("Café-Besuch planen", ("büro",))
        assert batch.tasks[11].task.title == "Really Learn how to add 2+2 with soandso@example.com"
        assert batch.tasks[11].task.tags == ()

    def test_reading_twice_gives_the_same_uuids(self, batch: Batch) -> None:
        """Lines without uuid: get one from their text, so importing the same files again matches the same tasks."""
        again = todotxt.read([Source((FIXTURES / "todo.txt").read_bytes(), "todo.txt"),
                              Source((FIXTURES / "done.txt").read_bytes(), "done.txt")], now=NOW + dt.timedelta(1))
        assert [i.task.uuid for i in again.tasks] == [i.task.uuid for i in batch.tasks]
        assert len({i.task.uuid for i in batch.tasks}) == len(batch.tasks)

    def test_export_import_export_is_stable(self, batch: Batch) -> None:
        """Our export of these files reads back as the same tasks, and exports again to the same text."""
        tasks = [i.task for i in batch.tasks]
        text = written(tasks)
        batch = read(text, now=NOW + dt.timedelta(days=3))
        again = [i.task for i in batch.tasks]
        assert again == tasks
        assert written(again) == text
        assert batch.unmapped == ()  # our own lines only restore what the tasks had: nothing to report


class TestOurFileInTodoTxtCli:
    """Our export, handed to the real todo.txt-cli."""

    TASKS = """(A) 2026-02-01 Call the bank +money @phone due:2026-02-10
(B) 2026-02-01 Buy paint +house.kitchen @shops
(C) 2026-02-02 Sweep the yard @Home
2026-02-03 Review the votes @work
2026-02-03 Read the manual
x 2026-02-05 2026-02-01 Renew the passport pri:A
"""

    @pytest.fixture
    def tool(self, tmp_path: Path) -> tuple[TodoTxt, list[Task]]:
        tool = TodoTxt(tmp_path, "2026-03-01")
        tasks = [i.task for i in read(self.TASKS).tasks]
        tasks[1] = attrs.evolve(tasks[1], note="two litres\nwhite")
        tasks[3] = attrs.evolve(tasks[3], title="Review +1 votes on 10:30 meeting")
        (tool.data / "todo.txt").write_text(written(tasks))
        return tool, tasks

    def test_ls_lists_every_open_task_by_priority(self, tool: tuple[TodoTxt, list[Task]]) -> None:
        """`ls` shows our lines, (A) before (B) before (C) before none, and the done one last."""
        run, _ = tool
        shown = [line.split(" ", 1) for line in run("ls").splitlines() if line and line[0].isdigit()]
        assert sorted(n for n, _ in shown) == ["1", "2", "3", "4", "5", "6"]
        assert [(n, text[:4]) for n, text in shown[:3]] == [("1", "(A) "), ("2", "(B) "), ("3", "(C) ")]
        assert shown[5][1].startswith("x 2026-02-05 2026-02-01 Renew the passport")
        assert run("lsp").count("\n") >= 3
        assert "+house.kitchen" in run("listproj") and "+money" in run("listproj")
        assert "@Home" in run("listcon") and "@phone" in run("listcon")

    def test_pri_and_do_change_what_we_read_back(self, tool: tuple[TodoTxt, list[Task]]) -> None:
        """`pri 5 A` gives the task high priority; `do 1` makes it done on that day (and drops its priority,
        as todo.txt-cli does); `depri 2` takes medium away; everything else is unchanged, matched by uuid."""
        run, tasks = tool
        run("pri", "5", "A")
        run("-a", "do", "1")
        run("depri", "2")
        after = {i.task.uuid: i.task for i in run.batch().tasks}
        assert after[tasks[4].uuid].priority is Priority.HIGH
        assert after[tasks[4].uuid].title == "Read the manual"
        bank = after[tasks[0].uuid]
        assert (bank.status, bank.completed, bank.priority) == (Status.DONE, start_of(dt.date(2026, 3, 1)), None)
        assert after[tasks[1].uuid].priority is None
        assert after[tasks[1].uuid].note == "two litres\nwhite"
        assert after[tasks[3].uuid] == tasks[3]
        assert after[tasks[5].uuid] == tasks[5]

    def test_do_with_archive_moves_the_line_to_done_txt(self, tool: tuple[TodoTxt, list[Task]]) -> None:
        """With todo.txt-cli's default auto-archive, the done line moves to done.txt: read from there it is
        the same task, done; a title that needs its title: key survives the move."""
        run, tasks = tool
        run("-A", "do", "4")
        assert "Review +1 votes" in (run.data / "done.txt").read_text()
        after = {i.task.uuid: i for i in run.batch().tasks}
        review = after[tasks[3].uuid]
        assert review.where == "done.txt line 1"
        assert (review.task.status, review.task.title, review.task.tags) == (
            Status.DONE, "Review +1 votes on 10:30 meeting", ("work",))
        assert review.task.completed == start_of(dt.date(2026, 3, 1))

    def test_lines_todo_txt_cli_adds_to_our_file_are_read(self, tool: tuple[TodoTxt, list[Task]]) -> None:
        """A task added with todo.txt-cli next to ours is a new task (a uuid of its own); ours keep theirs."""
        run, tasks = tool
        run("-t", "add", "(B) Water the plants @home due:2026-03-05")
        after = run.batch().tasks
        assert [i.task.uuid for i in after[:6]] == [t.uuid for t in tasks]
        new = after[6].task
        assert (new.title, new.priority, new.created, new.due) == (
            "Water the plants", Priority.MEDIUM, start_of(dt.date(2026, 3, 1)), dt.date(2026, 3, 5))


class TestLines:
    """The rules for one line, and what is refused."""

    def test_blank_lines_crlf_bom_and_trailing_spaces(self) -> None:
        """Blank lines are skipped (the line numbers still count them); CRLF, a BOM and trailing spaces are fine."""
        data = "\ufeff(A) First \r\n\r\n   \r\nSecond\t \r\n".encode()
        batch = todotxt.read([Source(data, "t.txt")], now=NOW)
        assert [(i.where, i.task.title, i.task.priority) for i in batch.tasks] == [
            ("t.txt line 1", "First", Priority.HIGH), ("t.txt line 4", "Second", None)]

    def test_the_head_of_a_line(self) -> None:
        """Only a leading (A)-(Z) is a priority and only a lowercase x then a space marks a task done."""
        assert one("Really gotta call Mom (A) @phone").priority is None
        assert one("(b) Get back to the boss").title == "(b) Get back to the boss"
        assert one("(B)->Submit TPS report").priority is None
        assert one("xylophone lesson").status is Status.OPEN
        assert one("X 2012-01-01 Make resolutions").status is Status.OPEN
        assert one("(A) x Find ticket prices").status is Status.OPEN
        assert one("x").title == "x"
        assert one("(A) Call Mom 2011-03-02").created == NOW
        task = one("x 2011-03-02 2011-03-01 Review Tim's pull request")
        assert (task.completed, task.created) == (start_of(dt.date(2011, 3, 2)), start_of(dt.date(2011, 3, 1)))

    def test_a_done_line_without_dates(self) -> None:
        """Done without a completion date: completed at the import's time, and reported; created at the
        completion day when the line has no creation date."""
        batch = read("x Call Mom")
        assert (batch.tasks[0].task.completed, batch.tasks[0].task.status) == (NOW, Status.DONE)
        assert any(n.field == "completed" for n in batch.unmapped)
        assert one("x 2026-01-02 Call Mom").created == start_of(dt.date(2026, 1, 2))

    def test_priority_letters(self) -> None:
        """(A) (B) (C) are high, medium, low; (D) to (Z) no priority, kept and reported; pri: on a done line."""
        assert [one(f"({c}) t").priority for c in "ABC"] == [Priority.HIGH, Priority.MEDIUM, Priority.LOW]
        batch = read("(Q) t")
        assert batch.tasks[0].task.priority is None
        assert [n.field for n in batch.unmapped] == ["priority"]
        assert one("x 2026-01-02 t pri:B").priority is Priority.MEDIUM
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: pri: not a priority from A to Z: 'AB'"):
            read("t pri:AB")

    def test_projects_that_taskvault_cannot_hold(self) -> None:
        """A project with an empty part or a quote is kept (and reported), never refused; the next valid one is
        the project."""
        batch = read('Fix +a..b +"q" +home.garden it')
        task = batch.tasks[0].task
        assert (task.project, task.title) == ("home.garden", "Fix it")
        assert "+a..b +\"q\" kept in extra" in batch.unmapped[0].what

    def test_contexts(self) -> None:
        """Contexts are tags, lower-cased and unique; one that cannot be a tag is kept and reported."""
        batch = read("Call @Phone @phone @-x @a,b")
        assert batch.tasks[0].task.tags == ("phone",)
        assert {n.field for n in batch.unmapped} == {"tags"}
        assert any("@-x @a,b cannot be taskvault tags" in n.what for n in batch.unmapped)

    def test_a_line_of_only_projects_and_contexts_keeps_them_as_its_title(self) -> None:
        """'(A) +garden @home' has no other text: its words are the title too, and it reads back as itself."""
        task = one("(A) +garden @home")
        assert (task.title, task.project, task.tags) == ("+garden @home", "garden", ("home",))
        assert [i.task for i in read(written([task])).tasks] == [task]

    def test_a_line_with_no_text_is_refused(self) -> None:
        """A line of only a priority, dates and key:value pairs has nothing to call the task."""
        with pytest.raises(InvalidValue, match=r"todo.txt line 2: title: the line has no text for a title"):
            read("ok\n(A) 2026-01-01 due:2026-02-02")

    def test_a_title_over_500_characters_is_refused_with_its_line(self) -> None:
        """The title rule of the task model names the line, even for a line of ten megabytes (in linear time)."""
        with pytest.raises(InvalidValue, match=r"todo.txt line 3: title: the title is 501 characters long"):
            read("a\nb\n" + "x" * 501)
        started = time.perf_counter()
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: title: the title is 10,000,000 characters|10000000"):
            read("y" * 10_000_000)
        assert time.perf_counter() - started < 5

    def test_bad_dates_and_bytes_are_refused_with_the_line(self) -> None:
        """A date that is not a day and bytes that are not UTF-8 name the line and the field."""
        with pytest.raises(InvalidValue, match=r"todo.txt line 2: due: not a date: '2026-13-01'"):
            read("a\nb due:2026-13-01")
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: t: not a date: 'tomorrow'"):
            read("a t:tomorrow")
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: creation date: not a date: '2026-02-30'"):
            read("2026-02-30 a")
        with pytest.raises(InvalidValue, match=r"todo.txt line 2: not UTF-8 text"):
            todotxt.read([Source(b"ok\nbad \xff\n", "todo.txt")], now=NOW)
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: title: the title contains a control character"):
            read("bad \x1b[31m red")

    def test_a_copied_line_with_its_uuid_is_refused(self) -> None:
        """Two lines that carry the same uuid: would be one task twice."""
        line = written([one("a")])
        with pytest.raises(InvalidValue, match=r"todo.txt line 2: uuid: the same uuid as todo.txt line 1"):
            read(line + line)

    def test_identical_lines_are_different_tasks(self) -> None:
        """Two identical lines of another tool are two tasks, each with its own uuid, the same on every read."""
        first = [i.task.uuid for i in read("Buy milk\nBuy milk").tasks]
        assert len(set(first)) == 2
        assert [i.task.uuid for i in read("Buy milk\nBuy milk").tasks] == first

    def test_done_txt_lines_are_done(self) -> None:
        """A done.txt line without x is done all the same (and reported)."""
        batch = read("open one", "x 2026-01-02 done one\nalso done")
        assert [i.task.status for i in batch.tasks] == [Status.OPEN, Status.DONE, Status.DONE]
        assert batch.tasks[2].where == "done.txt line 2"
        assert any(n.where == "done.txt line 2" and n.field == "status" for n in batch.unmapped)

    def test_recurrence_forms(self) -> None:
        """rec: with a count and d, w, m, y (b: weekdays) maps to a period; whole quarters of months read as
        quarters; a strict +rec is not reported; what taskvault has no period for is kept, not guessed."""
        def series(rec: str) -> tuple[Task, ...]:
            return tuple(i.task for i in read(f"t due:2026-01-01 rec:{rec}").tasks)

        assert [series(r)[0].recur for r in ("+1d", "+1w", "+2w", "+1m", "+3m", "+6m", "+1y", "+1b", "3", "+12d")] == [
            "daily", "weekly", "biweekly", "monthly", "quarterly", "2q", "yearly", "weekdays", "3d", "12d"]
        (task,) = series("+2b")
        assert task.recur is None
        (task,) = series("sometimes")
        assert task.recur is None
        batch = read("t rec:+1w")
        assert batch.tasks[0].task.recur is None
        assert any("needs a due date" in n.what for n in batch.unmapped)
        done = one("x 2026-01-05 t due:2026-01-01 rec:1w")
        assert (done.status, done.recur, done.parent) == (Status.DONE, "weekly", None)

    def test_keys_of_taskvault_are_plain_keys_on_other_lines(self) -> None:
        """note:, n: and status: on a line without uuid: are another tool's keys, kept as they are."""
        batch = read("t note:x n:5 status:waiting")
        task = batch.tasks[0].task
        assert (task.note, task.index, task.status) == ("", 0, Status.OPEN)
        assert [n.field for n in batch.unmapped] == ["note", "n", "status"]

    def test_keys_of_taskvault_are_checked_on_its_own_lines(self) -> None:
        """On a line taskvault wrote, its keys must hold what it writes."""
        line = written([one("a")]).strip()
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: started: not a time as taskvault writes it"):
            read(line + " started:yesterday")
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: status: not a status taskvault writes"):
            read(line + " status:waiting")
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: due: given twice"):
            read(line + " due:2026-01-01 due:2026-01-02")
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: uuid: not a uuid: 'nope'"):
            read("a uuid:nope")

    def test_hand_edits_of_our_lines(self) -> None:
        """A title: key the line no longer starts with gives way to the line's text; a creation date changed by
        hand wins over the created: key; words appended after a title: key join the title."""
        task = one("a b")
        later = task.created + dt.timedelta(hours=5)
        tricky = attrs.evolve(task, title="+1 for this", created=later, updated=later)
        line = written([tricky]).strip()
        assert "title:+1%20for%20this" in line and "created:" in line
        assert one(line).title == "+1 for this"
        changed = one(line.replace("+1 for this", "Replaced text", 1))
        assert (changed.title, changed.project) == ("Replaced text", None)
        appended = one(line.replace(" title:", " more words title:", 1))
        assert appended.title == "+1 for this more words"
        moved = one(line.replace(day_of(tricky.created).isoformat(), "2020-01-01", 1))
        assert moved.created == start_of(dt.date(2020, 1, 1))

    def test_progress_is_called_every_thousand_lines(self) -> None:
        """progress gets the count read so far, every 1000 lines and at the end."""
        calls: list[int] = []
        todotxt.read([Source(b"t\n" * 2500, "t")], now=NOW, progress=calls.append)
        assert calls == [1000, 2000, 2500]


_words = st.sampled_from(["plain", "x", "(A)", "2026-01-01", "+proj", "@ctx", "key:value", "10:30", "http://a.b",
                          "100%", "%41", "ünï", "a\xa0b", "title:t", "uuid:u", "//", "+", "@", "due:2026-01-01", "é"])
_titles = st.lists(_words | st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=8),
                   min_size=1, max_size=6).map(lambda ws: " ".join(ws).strip()).filter(bool)
_projects = st.sampled_from(["home", "home.kitchen", "Work", "a:b", "+plus", "50%", "ünï"])
_dates = st.dates(dt.date(1990, 1, 1), dt.date(2200, 1, 1))
_uuids = st.uuids(version=4)
_stamps = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))
#: Every period taskvault keeps, but months in whole quarters (6m reads back as 2q: the same dates, another name).
_periods = PERIODS.filter(lambda p: not (p.endswith("m") and p[:-1].isdigit() and int(p[:-1]) % 3 == 0))
_extras = st.dictionaries(EXTRA_NAMES.filter(lambda n: not n.startswith("todotxt.")), NOTES, max_size=3)


def _finish(draw: st.DrawFn, status: Status, created: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
    """A line may give a completion as a day alone; the update is the creation, the completion, or later."""
    completed = (draw(st.just(None) | _stamps) or start_of(draw(_dates))) if status is Status.DONE else None
    updated = draw(st.sampled_from([created, max(created, completed or created),
                                    created + dt.timedelta(microseconds=draw(st.integers(0, 10**12)))]))
    return completed, updated


def tasks() -> st.SearchStrategy[Task]:
    return tasks_with_every_field(
        titles=_titles, projects=_projects, dates=_dates, stamps=_stamps,
        created=st.one_of(_dates.map(start_of), _stamps), finish=_finish, extras=_extras,
        annotation_texts=["called", "ñ x: 100%", "a" * 1000, "/path"], periods=_periods, uuids=_uuids)


class TestRoundTrip:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(tasks(), max_size=5, unique_by=lambda t: t.uuid))
    def test_write_then_read_gives_the_same_tasks(self, drawn: list[Task]) -> None:
        """Every field a task has comes back from its line exactly (the uuid, the times to the microsecond,
        the note, annotations, series), and writing what was read gives the same text."""
        drawn = [attrs.evolve(t, id=n) for n, t in enumerate(drawn, start=1)]
        text = written(drawn)
        assert text.count("\n") == len(drawn)
        back = [i.task for i in read(text).tasks]
        assert back == drawn
        assert written(back) == text

    def test_round_trip_in_other_time_zones(self, tmp_path: Path) -> None:
        """The days of a line are local days: a task comes back the same in a zone far from UTC, and in one
        whose clocks skip midnight (America/Santiago, Asia/Beirut)."""
        script = tmp_path / "zones.py"
        script.write_text(
            "import datetime as dt, uuid\n"
            "from taskvault.domain.task import Task, Status\n"
            "from taskvault.interchange import todotxt\n"
            "from taskvault.interchange.model import Source\n"
            "u = dt.UTC\n"
            "tasks = [Task(id=1, uuid=uuid.UUID(int=m * 100 + i), title=f't{i}', status=Status.DONE,\n"
            "         created=dt.datetime(2026, m, 1 + i % 27, i % 24, tzinfo=u),\n"
            "         updated=dt.datetime(2026, m, 1 + i % 27, i % 24, tzinfo=u),\n"
            "         completed=dt.datetime(2026, m, 1 + i % 27, (i * 7) % 24, tzinfo=u), due=dt.date(2026, m, 2))\n"
            "         for m in (1, 4, 9) for i in range(60)]\n"
            "tasks = [Task(**{**{a: getattr(t, a) for a in ('uuid', 'title', 'status', 'created', 'updated',\n"
            "         'completed', 'due')}, 'id': n}) for n, t in enumerate(tasks, start=1)]\n"
            "text = ''.join(todotxt.write(tasks))\n"
            "back = [i.task for i in todotxt.read([Source(text.encode(), 't')], now=dt.datetime.now(u)).tasks]\n"
            "assert back == tasks\n"
            "print('ok', len(back))\n")
        for zone in ("Pacific/Kiritimati", "America/Santiago", "Asia/Beirut", "Pacific/Pago_Pago"):
            done = subprocess.run([sys.executable, str(script)], env={**os.environ, "TZ": zone},
                                  capture_output=True, text=True, timeout=60)
            assert done.stdout.strip() == "ok 180", zone + done.stderr

    def test_extra_attributes_come_back_as_text(self) -> None:
        """A key of another tool comes back as the same key; an extra number is written as text and comes back as
        text (todo.txt values have no types)."""
        task = attrs.evolve(one("t"), extra=(("estimate", "3h"), ("n.pages", 12), ("w", 1.5)))
        back = one(written([task]))
        assert extra(back) == {"estimate": "3h", "n.pages": "12", "w": "1.5"}

    def test_writing_100k_tasks_and_reading_them(self) -> None:
        """A hundred thousand lines are written and read back the same, in linear time (a quadratic step would take
        minutes; the budgets of 1 s and 3 s are measured by the benchmarks, not here on a shared machine)."""
        base = one("(B) 2026-01-01 Do the thing +project.sub @ctx @other due:2026-05-01")
        many = [attrs.evolve(base, id=n, uuid=uuid.UUID(int=n), title=f"Do thing number {n}") for n in range(1, 100_001)]
        started = time.perf_counter()
        text = written(many)
        wrote = time.perf_counter() - started
        started = time.perf_counter()
        batch = read(text)
        took = time.perf_counter() - started
        assert len(batch.tasks) == 100_000 and batch.tasks[-1].task == many[-1]
        assert wrote < 30 and took < 60, (wrote, took)


class TestBounds:
    """Hostile lines cost time in proportion to their size, and what breaks a limit is refused early."""

    def test_too_many_annotations_dependencies_and_keys(self) -> None:
        """Thousands of ann:, uuids in dep: or keys of another tool on one line are refused with the line."""
        line = written([one("a")]).strip()
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: ann: 5000 annotations"):
            read(line + " ann:20260101T000000Z,x" * 5000)
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: dep: 5000 tasks"):
            read(line + " dep:" + ",".join([str(uuid.UUID(int=1))] * 5000))
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: 5000 key:value pairs"):
            read("a " + " ".join(f"k{n}:v" for n in range(5000)))

    def test_a_million_words(self) -> None:
        """A line of a million projects or contexts is read in linear time (and refused by the size of what
        would be kept)."""
        started = time.perf_counter()
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: todotxt.projects: the value is"):
            read("a " + " ".join(f"+p{n}" for n in range(1_000_000)))
        with pytest.raises(InvalidValue, match=r"todo.txt line 1: todotxt.contexts: the value is"):
            read("a " + " ".join(f"@c{n}" for n in range(1_000_000)))
        assert time.perf_counter() - started < 60
