"""Hypothesis strategies the formats' round-trip tests share: a task with every field a format carries.

Each format's test chooses what it must survive (its titles, projects, dates, times, extra attributes);
the task is put together here, once, so that a field the model gains is drawn by every format's test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
from hypothesis import strategies as st

from taskvault.domain.periods import normalize_period
from taskvault.domain.task import TAG_MAX, Annotation, Priority, Status, Task

#: A note: any text but control characters other than a newline and a tab, trimmed.
NOTES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f"] + [chr(c) for c in range(0x80, 0xa0)]),
    max_size=40).map(str.strip)
#: Tags as the model keeps them: case-folded, sorted, without blanks, commas or a leading sign.
TAGS = st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters=","),
                        min_size=1, max_size=12).map(str.casefold).filter(
    lambda t: 0 < len(t) <= TAG_MAX and t[0] not in "+-" and not any(c.isspace() for c in t)),
    max_size=4, unique=True).map(lambda ts: tuple(sorted(ts)))
#: Every period taskvault keeps, by its names and as N and a unit.
PERIODS = st.one_of(st.sampled_from(["daily", "weekdays", "weekly", "biweekly", "monthly", "quarterly", "yearly"]),
                    st.tuples(st.integers(1, 999), st.sampled_from("dwmqy")).map(
                        lambda p: normalize_period(f"{p[0]}{p[1]}")))
#: A task's uuid.
UUIDS = st.uuids(version=4)
#: The name of an extra attribute.
EXTRA_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True)

#: Given the status and the creation time drawn, the completion and update times.
Finish = Callable[[st.DrawFn, Status, dt.datetime], tuple[dt.datetime | None, dt.datetime]]


@st.composite
def tasks_with_every_field(draw: st.DrawFn, *, titles: st.SearchStrategy[str], projects: st.SearchStrategy[str],
                           dates: st.SearchStrategy[dt.date], stamps: st.SearchStrategy[dt.datetime],
                           created: st.SearchStrategy[dt.datetime], finish: Finish,
                           extras: st.SearchStrategy[dict[str, object]], annotation_texts: list[str],
                           periods: st.SearchStrategy[str] = PERIODS,
                           uuids: st.SearchStrategy[object] = UUIDS) -> Task:
    """One task (id 1) with every field: open, done or a series' template; in a series or not."""
    own = draw(uuids)
    made_at = draw(created)
    status = draw(st.sampled_from([Status.OPEN, Status.DONE, Status.OPEN, Status.RECURRING]))
    completed, updated = finish(draw, status, made_at)
    due = draw(st.none() | dates)
    recur, parent, index = None, None, 0
    if status is Status.RECURRING:
        recur, due, index = draw(periods), due or draw(dates), draw(st.integers(0, 500))
    elif draw(st.integers(0, 3)) == 0:
        recur = draw(periods)
        if draw(st.booleans()):
            parent, index = draw(uuids.filter(lambda u: u != own)), draw(st.integers(1, 500))
    made = Task(
        id=1, uuid=own, title=draw(titles), note=draw(NOTES), created=made_at, updated=updated, status=status,
        priority=draw(st.sampled_from([None, *Priority])), due=due, tags=draw(TAGS), completed=completed,
        project=draw(st.none() | projects), scheduled=draw(st.none() | dates), wait=draw(st.none() | dates),
        until=draw(st.none() | dates), started=draw(st.none() | stamps) if status is Status.OPEN else None,
        depends=tuple(sorted(set(draw(st.lists(uuids.filter(lambda u: u != own), max_size=3))))),
        annotations=tuple(Annotation(at, draw(st.sampled_from(annotation_texts)))
                          for at in sorted(draw(st.lists(stamps, max_size=3)))),
        recur=recur, parent=parent, index=index)
    return attrs.evolve(made, extra=tuple(sorted(draw(extras).items())))
