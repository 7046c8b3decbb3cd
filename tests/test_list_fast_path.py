"""The fast ways of listing give exactly what the plain ways give: the same lines, the same tasks."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskvault import codec
from taskvault.cli.columns import column_widths, fit, plain_rows, table_row, text_width
from taskvault.cli.columns import fold as _fold
from taskvault.cli.render_text import TextRenderer
from taskvault.cli.style import Style
from taskvault.codec import tasks as task_json
from taskvault.codec.listing import listed as listed_records
from taskvault.commands.results import TaskTable
from taskvault.domain.change import Change, ChangeKind
from taskvault.domain.history import History
from taskvault.domain.query import ANY, SORT_KEYS, Show, TaskQuery
from taskvault.domain.task import Priority, Status, Task, normalize_tags
from taskvault.domain.tasklist import TaskList

from .conftest import run_taskvault
from .test_codec_fast import _NEAR_MISSES
from .test_sealed_load import _resealed

#: Cells as a task table holds them: ASCII, accented, wide (two columns a character), empty.
_CELL = st.one_of(st.text("abc xyz-#19", max_size=30), st.text("aé☕日本 x", max_size=20),
                  st.sampled_from(["", "high", "2031-06-01", "Café au lait ☕", "日本語のタスク"]))


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[list[str]], int | None, int]:
    columns = draw(st.integers(2, 6))
    rows = draw(st.lists(st.lists(_CELL, min_size=columns, max_size=columns), min_size=1, max_size=12))
    width = draw(st.one_of(st.none(), st.integers(10, 160)))
    return rows, width, draw(st.integers(0, columns - 1))


class TestPlainRows:
    @settings(max_examples=300, deadline=None)
    @given(_tables())
    def test_plain_rows_are_the_lines_table_row_makes(self, table: tuple[list[list[str]], int | None, int]) -> None:
        """Every line plain_rows lays out is the line table_row lays out, at any width, cut or not."""
        rows, width, cut = table
        natural = column_widths(rows)
        layout = fit(natural, width, cut=cut, drop_order=list(range(len(natural)))[::-1])
        assert plain_rows(layout, natural, rows) == [table_row(layout, cells) for cells in rows]

    @settings(max_examples=200, deadline=None)
    @given(_tables())
    def test_column_widths_are_the_widest_cells(self, table: tuple[list[list[str]], int | None, int]) -> None:
        """column_widths measures each column as text_width measures its widest cell."""
        rows = table[0]
        assert column_widths(rows) == [max(map(text_width, column)) for column in zip(*rows, strict=True)]


# -- list builds only the tasks that may match ------------------------------------------------

#: Words whose case folds in unusual ways (ß to ss, the ligature ﬁ to fi, the Kelvin sign to k), text
#: that JSON escapes (a quote, a backslash, a tab), and plain ASCII.
_WORDS = ["fix", "FIX", "ﬁx", "Straße", "STRASSE", "K", "\u212a", "café", 'say "hi"', "a\\b", "work", "Work", "日本"]
_STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_STAMP_TASK = Task(1, uuid.UUID(int=1), "t", _STAMP, _STAMP)


@st.composite
def _task_at(draw: st.DrawFn, task_id: int) -> Task:
    done = draw(st.booleans())
    title = " ".join(draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3))).strip()
    return Task(id=task_id, uuid=uuid.UUID(int=task_id), title=title or "t", created=_STAMP, updated=_STAMP,
                note=" ".join(draw(st.lists(st.sampled_from([*_WORDS, "tab\there", "two\nlines"]), max_size=2))),
                status=Status.DONE if done else Status.OPEN, priority=draw(st.sampled_from([None, *Priority])),
                due=draw(st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 9))),
                tags=normalize_tags(draw(st.lists(st.sampled_from(["work", "home", "café", "日本", "a\\b", 'q"'
                                                                   ]), max_size=3))),
                completed=_STAMP if done else None)


_QUERIES = st.builds(TaskQuery, show=st.sampled_from(list(Show)),
                     tags=st.lists(st.sampled_from(["work", "home", "café", "日本", "a\\b", 'q"']), max_size=2).map(tuple),
                     priority=st.sampled_from([ANY, None, *Priority]),
                     due_before=st.sampled_from([ANY, dt.date(2026, 1, 5)]),
                     search=st.sampled_from([ANY, "fix", "FI", "ss", "straße", "k", "\u212a", '"hi', "\\", "\t", "日",
                                             "é", "work"]),
                     sort=st.sampled_from(list(SORT_KEYS)),
                     hidden_as_of=st.sampled_from([ANY, dt.date(2026, 1, 5)]))


class TestNarrowedList:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.integers(1, 60), unique=True, max_size=25).flatmap(
        lambda ids: st.tuples(*[_task_at(i) for i in sorted(ids)])), st.lists(_QUERIES, min_size=1, max_size=4),
        st.data())
    def test_a_sealed_list_selects_what_every_task_built_selects(self, stored: tuple[Task, ...],
                                                                 queries: list[TaskQuery], data: st.DataObject) -> None:
        """A query over a sealed store (tasks built only where the bytes may match, some changed since the
        load) selects exactly the tasks, in the order, it selects from every task built."""
        sealed = codec.open_snapshot(codec.encode_snapshot(stored, 61, 0))
        assert isinstance(sealed, codec.SealedSnapshot)
        listed = TaskList.from_source(sealed.tasks, next_id=61, revision=0, history=History())
        touched = data.draw(st.lists(st.sampled_from([t.id for t in stored]), unique=True, max_size=3)) if stored else []
        put = tuple(data.draw(_task_at(i)) for i in touched[1:])
        listed.apply(Change(ChangeKind.EDIT, put=put, delete=tuple(touched[:1]), next_id=61), 1)
        every, unbuilt = list(listed.copy()), listed.unbuilt
        for query in queries:
            assert query.select(listed) == query.select(every), query
        assert listed.unbuilt == unbuilt  # a list keeps none of the tasks it built

    def test_a_search_finds_what_only_casefolding_finds(self) -> None:
        """A sealed list searched for ss, fi or k finds Straße, the ligature ﬁ and the Kelvin sign, as
        casefold does, though their bytes (lower-cased) hold none of them; and text behind an escape."""
        titles = ["Straße", "ﬁle it", "5 \u212a", 'say "hi"', "plain"]
        stored = tuple(Task(i, uuid.UUID(int=i), title, _STAMP, _STAMP) for i, title in enumerate(titles, 1))
        sealed = codec.open_snapshot(codec.encode_snapshot(stored, 6, 0))
        assert isinstance(sealed, codec.SealedSnapshot)
        listed = TaskList.from_source(sealed.tasks, next_id=6, revision=0, history=History())
        found = {text: [t.title for t in TaskQuery(search=text).select(listed)] for text in ("ss", "fi", "k", '"hi')}
        assert found == {"ss": ["Straße"], "fi": ["ﬁle it"], "k": ["5 \u212a"], '"hi': ['say "hi"']}

    def test_a_list_refuses_lines_out_of_order_under_a_valid_checksum(self, tmp_path: Path) -> None:
        """Swapped task lines, resealed: list, list --tag and list --search refuse the store as a full load does,
        though they build only the tasks that may match."""
        directory = tmp_path / "data"
        directory.mkdir(mode=0o700)
        stored = tuple(Task(i, uuid.UUID(int=i), f"t {i}", _STAMP, _STAMP) for i in range(1, 51))
        data = codec.encode_snapshot(stored, 51, 0)
        first, second = (data.index(b'{"id":%d,' % i) for i in (20, 21))
        line_20, line_21 = data[first:data.index(b"\n", first)], data[second:data.index(b"\n", second)]
        (directory / "tasks.json").write_bytes(
            _resealed(data[:first] + line_21 + b"\n" + line_20 + data[second + len(line_21):]))
        for command in (("list",), ("list", "--tag", "work"), ("list", "--search", "t 3")):
            result = run_taskvault(directory, *command)
            assert result.code == 3 and "comes after task" in result.err, (command, result.out, result.err)


# -- list shows the tasks it never builds: the written form of each stands for it --------------------

def _model_table(tasks: list[Task], show: Show, r: TextRenderer) -> str:
    """The rows as list rendered them from Tasks before it rendered the written form (the full model path):
    kept here, as it was, so that the rows list prints from records are held to it, byte for byte."""
    from taskvault.cli.render_text import _summary
    from taskvault.cli.style import PRIORITY_STYLE
    from taskvault.cli.text import terminal_safe

    summary = _fold(_summary(TaskTable(tuple(map(codec.task_to_dict, tasks)), show, 0, 0)), r.width)
    if not tasks:
        return summary
    with_status = show is not Show.OPEN
    with_project = any(t.project is not None for t in tasks)  # (schema 4: the column a listed project brings)

    def state(task: Task) -> str | None:  # (no task here depends on another: none is blocked)
        if not task.is_open:
            return "done" if task.status is Status.DONE else None
        if task.started is not None:
            return "active"
        if task.due is not None and task.due <= r.today:
            return "overdue" if task.due < r.today else "due_today"
        return "waiting" if task.wait is not None and task.wait > r.today else None

    states = [state(t) for t in tasks]
    flags = {"active": "active", "blocked": "blocked", "waiting": "waiting"}
    with_flag = any(s in flags for s in states)

    def cells(task: Task, state: str | None) -> list[str]:
        priority = task.priority.value if task.priority else ""
        due = "" if task.due is None else task.due.isoformat()
        title, tags = terminal_safe(task.title), terminal_safe(" ".join(task.tags))
        project = [terminal_safe(task.project or "")] if with_project else []
        flag = [flags.get(state or "", "")] if with_flag else []
        if with_status:
            return [str(task.id), task.status.value, priority, due, *flag, *project, title, tags]
        return [str(task.id), priority, due, *flag, *project, title, tags]

    headers = ["ID", *(["Status"] if with_status else []), "Pri", "Due", *(["Flag"] if with_flag else []),
               *(["Project"] if with_project else []), "Title", "Tags"]
    rows = [cells(t, s) for t, s in zip(tasks, states, strict=True)]
    natural = column_widths([headers, *rows])
    layout = fit(natural, r.width, cut=headers.index("Title"),
                 drop_order=[headers.index(h) for h in ("Tags", "Pri", "Status", "Flag", "Project", "Due")
                             if h in headers])
    lines = [r.style(table_row(layout, headers), "header")]
    for task, row, row_state in zip(tasks, rows, states, strict=True):
        if r.style.enabled and row_state is not None:
            lines.append(r.style(table_row(layout, row), row_state))
        elif r.style.enabled:
            styles: list[tuple[str, ...]] = [()] * len(headers)
            if task.priority:
                styles[headers.index("Pri")] = (PRIORITY_STYLE[task.priority.value],)
            if task.tags:
                styles[headers.index("Tags")] = ("tags",)
            lines.append(table_row(layout, row, styles, r.style))
        else:
            lines.append(table_row(layout, row))
    return "\n".join([*lines, summary])


#: Titles a list must show as they are: accented, wide (two columns a character), escaped by JSON, not
#: printable (a zero-width joiner, a right-to-left override: valid, shown escaped), long.
_TITLES = ["Buy milk", "Café au lait ☕", "日本語のタスク", 'say "hi"', "a\\b", "family 👨\u200d👩\u200d👧", "ab\u202ecd",
           "Straße", "x" * 90, "fix the ﬁle"]


@st.composite
def _shown_task(draw: st.DrawFn, task_id: int) -> Task:
    done = draw(st.booleans())
    created = _STAMP + dt.timedelta(seconds=draw(st.integers(0, 3)))
    updated = created + dt.timedelta(microseconds=draw(st.sampled_from([0, 0, 1, 10**6])))
    return Task(id=task_id, uuid=uuid.UUID(int=task_id * 7919), title=draw(st.sampled_from(_TITLES)),
                created=created, updated=updated, note=draw(st.sampled_from(["", "fix", "two\nlines", "ß"])),
                status=Status.DONE if done else Status.OPEN, priority=draw(st.sampled_from([None, *Priority])),
                due=draw(st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 9))),
                tags=normalize_tags(draw(st.lists(st.sampled_from(["work", "home", "café", "日本", 'q"', "a\u200db"]),
                                                         max_size=3))),
                completed=updated if done else None,
                wait=draw(st.none() | st.dates(dt.date(2026, 1, 3), dt.date(2026, 1, 7))),
                until=draw(st.none() | st.dates(dt.date(2026, 1, 3), dt.date(2026, 1, 7))),
                project=draw(st.sampled_from([None, None, "home", "home.kitchen", "日本"])))


#: Queries that select many tasks (every order, no filter but the status) as well as filtered ones.
_BROAD_QUERIES = st.builds(TaskQuery, show=st.sampled_from(list(Show)), sort=st.sampled_from(list(SORT_KEYS)))


class TestListedRecords:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.integers(1, 40), unique=True, max_size=20).flatmap(
        lambda ids: st.tuples(*[_shown_task(i) for i in sorted(ids)])),
        st.lists(_BROAD_QUERIES | _QUERIES, min_size=1, max_size=3),
        st.data())
    def test_a_list_prints_what_the_tasks_built_print(self, stored: tuple[Task, ...], queries: list[TaskQuery],
                                                      data: st.DataObject) -> None:
        """The records a list shows over a sealed store (a journal's changes on top: edits, adds, deletes) are
        task_to_dict of the Tasks the query selects from every task built, in its order; and the rows printed
        from them, plain or coloured, cut to a narrow terminal or whole, and the JSON, are those printed from
        the Tasks, byte for byte."""
        sealed = codec.open_snapshot(codec.encode_snapshot(stored, 41, 0))
        assert isinstance(sealed, codec.SealedSnapshot)
        listed = TaskList.from_source(sealed.tasks, next_id=41, revision=0, history=History())
        ids = [t.id for t in stored]
        touched = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=4)) if ids else []
        put = tuple(data.draw(_shown_task(i)) for i in [*touched[1:], *data.draw(st.sets(st.integers(41, 44)))])
        listed.apply(Change(ChangeKind.EDIT, put=put, delete=tuple(touched[:1]), next_id=45), 1)
        every = list(listed.copy())
        for query in queries:
            records = listed_records(query, listed)
            model = query.select(every)
            assert records == [codec.task_to_dict(t) for t in model], query
            assert json.dumps(records, ensure_ascii=False) == json.dumps([codec.task_to_dict(t) for t in model],
                                                                          ensure_ascii=False)
            width = data.draw(st.sampled_from([None, 30, 44, 72]))
            renderer = TextRenderer(Style(data.draw(st.booleans())), today=dt.date(2026, 1, 4), width=width)
            assert renderer.render(TaskTable(tuple(records), query.show, 0, 0)) == _model_table(model, query.show,
                                                                                               renderer), query

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 40).flatmap(_shown_task))
    def test_every_task_as_written_is_plain(self, task: Task) -> None:
        """A task as task_to_dict writes it, read back as JSON, is taken as it is (plain_record)."""
        assert task_json.plain_record(json.loads(json.dumps(codec.task_to_dict(task))))

    @pytest.mark.parametrize("key", [*task_json._KEYS, "extra"])
    def test_plain_means_the_task_built_writes_it_back_the_same(self, key: str) -> None:
        """Whatever one field holds (every near miss of the fast path's tests), a record taken as plain is one
        fast_task builds a Task from whose task_to_dict is that record, key order included; and a key out of
        order is never plain."""
        bases = [_STAMP_TASK, attrs.evolve(_STAMP_TASK, status=Status.DONE, completed=_STAMP, tags=("home",),
                                           due=dt.date(2026, 3, 1), priority=Priority.LOW, note="n")]
        values = [*_NEAR_MISSES, "2026-13-01", "2026-02-29", "2025-12-31T24:00:00.000000Z",
                  "2025-12-31T12:00:00.000000z", "２０２６-01-31", "2025-12-31T12:00:00.0000001Z", "medium", "open ",
                  "title\u200d", "\u00a0title"]
        for base in bases:
            for value in values:
                raw = codec.task_to_dict(base)
                if key == "extra":
                    raw[str(value)[:5]] = value
                else:
                    raw[key] = value
                if task_json.plain_record(raw):
                    task = task_json.fast_task(raw)
                    assert task is not None, raw
                    assert list(codec.task_to_dict(task).items()) == list(raw.items()), raw
            moved = codec.task_to_dict(base)
            if key != "extra":
                moved[key] = moved.pop(key)  # the same record, that key last
                assert task_json.plain_record(moved) is (key == task_json._KEYS[-1])
