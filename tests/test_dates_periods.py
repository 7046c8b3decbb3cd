"""Due dates as people type them (domain/dates.py) and recurrence periods (domain/periods.py).

Expected days are worked out by hand from a calendar, not from the code under test; the properties
check the code against simpler oracles (counting days one by one, calendar.monthrange).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from taskvault.domain.dates import MAX_DATE_CHARS, SOMEDAY, parse_date, shifted
from taskvault.domain.periods import PERIOD_PATTERN, next_due, normalize_period, nth_due
from taskvault.domain.task import RECUR_PATTERN
from taskvault.domain.vocabulary import DATE_FORMS
from taskvault.errors import InvalidValue

D = dt.date
SAT = D(2026, 11, 21)  # a Saturday
MON = D(2026, 11, 30)
WED = D(2026, 12, 2)
SUN = D(2026, 12, 6)
JAN31 = D(2026, 1, 31)  # a Saturday, at a month's end
APR30 = D(2026, 4, 30)  # a Thursday, at a 30-day month's (and a quarter's first month's) end
LEAP = D(2028, 2, 29)  # a Tuesday
DEC31 = D(2026, 12, 31)  # a Thursday
#: The regex the task model checks a stored period with (domain/task.py), as the brief gives it.
TASK_MODEL_RECUR = RECUR_PATTERN  # what the task model stores: periods.py must normalise to exactly it
TIME_REFUSAL = "due dates are days; times of day are not kept — give 2026-12-04"


def refusal(text: str, today: dt.date = SUN) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        parse_date(text, today=today)
    return caught.value


class TestNamedDays:
    @pytest.mark.parametrize(("today", "text", "expected"), [
        # Sunday: the week ends today and the next starts tomorrow.
        (SUN, "today", SUN), (SUN, "now", SUN), (SUN, "eod", SUN),
        (SUN, "tomorrow", D(2026, 12, 7)), (SUN, "yesterday", D(2026, 12, 5)),
        (SUN, "eow", SUN), (SUN, "eocw", SUN), (SUN, "sow", D(2026, 12, 7)), (SUN, "socw", D(2026, 11, 30)),
        (SUN, "eom", D(2026, 12, 31)), (SUN, "eocm", D(2026, 12, 31)), (SUN, "som", D(2027, 1, 1)),
        (SUN, "socm", D(2026, 12, 1)),
        (SUN, "eoq", D(2026, 12, 31)), (SUN, "eocq", D(2026, 12, 31)), (SUN, "soq", D(2027, 1, 1)),
        (SUN, "socq", D(2026, 10, 1)),
        (SUN, "eoy", D(2026, 12, 31)), (SUN, "eocy", D(2026, 12, 31)), (SUN, "soy", D(2027, 1, 1)),
        (SUN, "socy", D(2026, 1, 1)),
        (SUN, "later", SOMEDAY), (SUN, "someday", D(9999, 12, 30)),
        (SUN, "next week", D(2026, 12, 7)), (SUN, "next month", D(2027, 1, 1)),
        (SUN, "next quarter", D(2027, 1, 1)), (SUN, "next year", D(2027, 1, 1)),
        # Midweek and on the Monday itself: sow is always the Monday after today.
        (WED, "eow", SUN), (WED, "sow", D(2026, 12, 7)), (WED, "socw", MON),
        (MON, "eow", SUN), (MON, "sow", D(2026, 12, 7)), (MON, "socw", MON),
        # The last day of a month, a quarter and a year.
        (JAN31, "eom", JAN31), (JAN31, "som", D(2026, 2, 1)), (JAN31, "eoq", D(2026, 3, 31)),
        (JAN31, "soq", D(2026, 4, 1)), (JAN31, "eow", D(2026, 2, 1)), (JAN31, "sow", D(2026, 2, 2)),
        (APR30, "eom", APR30), (APR30, "som", D(2026, 5, 1)), (APR30, "eoq", D(2026, 6, 30)),
        (APR30, "soq", D(2026, 7, 1)), (APR30, "socq", D(2026, 4, 1)),
        (DEC31, "tomorrow", D(2027, 1, 1)), (DEC31, "eom", DEC31), (DEC31, "som", D(2027, 1, 1)),
        (DEC31, "eoy", DEC31), (DEC31, "soy", D(2027, 1, 1)), (DEC31, "eoq", DEC31), (DEC31, "soq", D(2027, 1, 1)),
        (DEC31, "eow", D(2027, 1, 3)), (DEC31, "sow", D(2027, 1, 4)), (DEC31, "next year", D(2027, 1, 1)),
        # The leap day.
        (LEAP, "eom", LEAP), (LEAP, "som", D(2028, 3, 1)), (LEAP, "tomorrow", D(2028, 3, 1)),
        (LEAP, "yesterday", D(2028, 2, 28)), (LEAP, "eoq", D(2028, 3, 31)), (LEAP, "soq", D(2028, 4, 1)),
    ])
    def test_named_day(self, today: dt.date, text: str, expected: dt.date) -> None:
        """Each Taskwarrior synonym names the day its table says, read as a calendar day."""
        assert parse_date(text, today=today) == expected

    @pytest.mark.parametrize(("text", "expected"), [
        ("  EOM ", D(2026, 12, 31)), ("Next   Friday", D(2026, 12, 11)), ("SOMEDAY", SOMEDAY),
        ("\tnext\tweek\n", D(2026, 12, 7)),
    ])
    def test_case_and_spacing_do_not_matter(self, text: str, expected: dt.date) -> None:
        """Capitals and runs of spaces or tabs read as the lower-case, single-spaced form."""
        assert parse_date(text, today=SUN) == expected


class TestWeekdays:
    @pytest.mark.parametrize(("today", "text", "expected"), [
        (SAT, "mon", D(2026, 11, 23)), (SAT, "saturday", D(2026, 11, 28)), (SAT, "Sat", D(2026, 11, 28)),
        (SAT, "wedn", D(2026, 11, 25)), (SUN, "sun", D(2026, 12, 13)), (SUN, "mon", D(2026, 12, 7)),
        (DEC31, "fri", D(2027, 1, 1)), (DEC31, "thu", D(2027, 1, 7)),
        (LEAP, "tue", D(2028, 3, 7)),
    ])
    def test_a_weekday_is_the_next_one_strictly_after_today(self, today: dt.date, text: str,
                                                             expected: dt.date) -> None:
        """A weekday's name, or three or more of its first letters, is the next such day after today."""
        assert parse_date(text, today=today) == expected

    @pytest.mark.parametrize(("today", "text", "expected"), [
        (SAT, "next mon", D(2026, 11, 23)), (SAT, "next saturday", D(2026, 11, 28)),
        (SUN, "next fri", D(2026, 12, 11)), (SUN, "next sunday", D(2026, 12, 13)),
        (DEC31, "next fri", D(2027, 1, 1)), (LEAP, "next tue", D(2028, 3, 7)),
        (SAT, "last sat", D(2026, 11, 14)), (SAT, "last fri", D(2026, 11, 20)), (SAT, "last sun", D(2026, 11, 15)),
        (MON, "last mon", D(2026, 11, 23)), (SUN, "last monday", MON), (DEC31, "last thu", D(2026, 12, 24)),
        (D(2027, 1, 1), "last thursday", DEC31), (LEAP, "last wed", D(2028, 2, 23)),
    ])
    def test_next_and_last(self, today: dt.date, text: str, expected: dt.date) -> None:
        """next DAY is the first such day after today; last DAY the most recent one before it."""
        assert parse_date(text, today=today) == expected


class TestOffsets:
    @pytest.mark.parametrize(("today", "text", "expected"), [
        (SAT, "+2w", D(2026, 12, 5)), (SUN, "+3d", D(2026, 12, 9)), (SUN, "3d", D(2026, 12, 9)),
        (SUN, "-3d", D(2026, 12, 3)), (SUN, "-1w", D(2026, 11, 29)), (SUN, "+0d", SUN), (SUN, "-0w", SUN),
        (SUN, "+1m", D(2027, 1, 6)), (SUN, "-2m", D(2026, 10, 6)), (SUN, "+1y", D(2027, 12, 6)),
        (SUN, "-1y", D(2025, 12, 6)), (SUN, "+1q", D(2027, 3, 6)), (SUN, "+3 days", D(2026, 12, 9)),
        (SUN, "2weeks", D(2026, 12, 20)), (SUN, "+ 1 month", D(2027, 1, 6)),
        # A month keeps its day number, cut to the month's end.
        (JAN31, "+1m", D(2026, 2, 28)), (JAN31, "-2m", D(2025, 11, 30)), (JAN31, "+1q", D(2026, 4, 30)),
        (JAN31, "+1y", D(2027, 1, 31)), (JAN31, "+3d", D(2026, 2, 3)), (JAN31, "-1w", D(2026, 1, 24)),
        (APR30, "+1m", D(2026, 5, 30)), (APR30, "-2m", D(2026, 2, 28)), (APR30, "+10m", D(2027, 2, 28)),
        (D(2028, 1, 31), "+1m", LEAP),
        (DEC31, "+1d", D(2027, 1, 1)), (DEC31, "+2m", D(2027, 2, 28)), (DEC31, "-10m", D(2026, 2, 28)),
        (DEC31, "+1w", D(2027, 1, 7)),
        # Years from the leap day land on Feb 28, except in leap years.
        (LEAP, "+1y", D(2029, 2, 28)), (LEAP, "-1y", D(2027, 2, 28)), (LEAP, "+4y", D(2032, 2, 29)),
        (LEAP, "+12m", D(2029, 2, 28)), (LEAP, "+1m", D(2028, 3, 29)), (LEAP, "-1m", D(2028, 1, 29)),
    ])
    def test_offset_from_today(self, today: dt.date, text: str, expected: dt.date) -> None:
        """+N/-N days, weeks, months, quarters or years from today; no sign means forward."""
        assert parse_date(text, today=today) == expected

    def test_the_largest_count(self) -> None:
        """9,999 units is the most an offset takes."""
        assert parse_date("+9999d", today=SUN) == SUN + dt.timedelta(days=9999)
        assert parse_date("-9999w", today=SUN) == SUN - dt.timedelta(weeks=9999)

    @pytest.mark.parametrize(("today", "text", "expected"), [
        (SUN, "today-7d", D(2026, 11, 29)), (SUN, "eom+1d", D(2027, 1, 1)), (SUN, "2026-12-01+2w", D(2026, 12, 15)),
        (SUN, "2026-12-01-3d", D(2026, 11, 28)), (SUN, "2026-12-01 + 2 weeks", D(2026, 12, 15)),
        (SUN, "next fri+1d", D(2026, 12, 12)), (SUN, "tomorrow-1d", SUN), (SUN, "someday+1d", D(9999, 12, 31)),
        (SUN, "sow+4d", D(2026, 12, 11)), (SUN, "eoy-1m", D(2026, 11, 30)), (SUN, "TODAY-7D", D(2026, 11, 29)),
        (JAN31, "2026-01-31+1m", D(2026, 2, 28)), (JAN31, "som-1d", JAN31), (LEAP, "eom+1y", D(2029, 2, 28)),
        (DEC31, "eoy+1d", D(2027, 1, 1)), (DEC31, "today-7d", D(2026, 12, 24)),
    ])
    def test_base_plus_or_minus_an_offset(self, today: dt.date, text: str, expected: dt.date) -> None:
        """Any named, weekday or ISO form, then + or - a count and a unit."""
        assert parse_date(text, today=today) == expected


class TestIsoDates:
    @pytest.mark.parametrize(("text", "expected"), [
        ("2026-12-01", D(2026, 12, 1)), ("2028-02-29", LEAP), ("0001-01-01", dt.date.min), ("9999-12-31", dt.date.max),
    ])
    def test_iso_date(self, text: str, expected: dt.date) -> None:
        """YYYY-MM-DD is that day, whatever today is."""
        assert parse_date(text, today=SUN) == expected

    @pytest.mark.parametrize("text", [
        "2026-12-04T09:00", "2026-12-04 09:00", "2026-12-04t09:00:30", "2026-12-04T09:00Z", "2026-12-04T09:00+01:00",
        "2026-12-04 9am", "2026-12-04T09:00:00.5", "2026-12-04  09:00",
    ])
    def test_a_time_of_day_is_refused_naming_the_day(self, text: str) -> None:
        """A date with a time of day is refused, and the message gives the day alone to type instead."""
        assert refusal(text).message == TIME_REFUSAL

    def test_a_time_on_a_day_that_does_not_exist_is_not_a_date(self) -> None:
        """The time-of-day message never offers a day that does not exist."""
        assert "is not a date" in refusal("2026-02-30T09:00").message


class TestRefusals:
    @pytest.mark.parametrize("text", [
        "", "   ", "soon", "12/01/2026", "20261201", "2026-2-3", "2026-02-30", "2026-13-01", "next", "last week",
        "last month", "this fri", "next weeks", "3", "+3", "d", "3x", "+3 fortnights", "+3h", "eom+", "eom+1",
        "+3d+1d", "3d-1d", "2026-12-01+2w+1d", "eow eom", "mo", "tu", "sod", "fri day", "nextfri", "++3d", "+-3d",
        "today+-1d", "today*2", "-", "2026-12-01+", "1st",
    ])
    def test_anything_else_is_not_a_date(self, text: str) -> None:
        """Other text is refused in one line whose hint lists the accepted forms."""
        error = refusal(text)
        assert error.message.endswith("is not a date")
        assert error.hint is not None
        for form in ("YYYY-MM-DD", "today", "next fri", "+3d", "eom", "someday", "today-7d"):
            assert form in error.hint

    def test_the_length_is_bounded(self) -> None:
        """Forty characters are read; forty-one are refused whatever they hold."""
        assert parse_date(" " * (MAX_DATE_CHARS - 5) + "today", today=SUN) == SUN
        error = refusal(" " * (MAX_DATE_CHARS - 4) + "today")
        assert "at most 40 characters" in error.message
        assert error.hint is not None and "YYYY-MM-DD" in error.hint
        assert "at most 40 characters" in refusal("9" * 100_000 + "d").message

    @pytest.mark.parametrize("text", ["ſow", "\u0663d", "+\uff13d", "today\u00a0", "t\u043eday"])
    def test_only_ascii_is_read(self, text: str) -> None:
        """Look-alike letters and other scripts' digits are refused, not folded into ASCII."""
        error = refusal(text)
        assert "ASCII" in error.message and error.hint is not None and "+3d" in error.hint

    @pytest.mark.parametrize("text", ["+10000d", "-10000w", "today+10000d", "eom-99999m", "00010000y"])
    def test_counts_are_bounded(self, text: str) -> None:
        """An offset of more than 9,999 units is refused, naming the bound."""
        error = refusal(text)
        assert "at most 9,999 units" in error.message and error.hint is not None and "+3d" in error.hint

    @pytest.mark.parametrize(("today", "text"), [
        (dt.date.max, "tomorrow"), (dt.date.max, "+1d"), (dt.date.max, "som"), (dt.date.max, "sow"),
        (dt.date.max, "soy"), (dt.date.max, "soq"), (dt.date.max, "next week"), (dt.date.max, "+1m"),
        (dt.date.max, "eow"), (dt.date.max, "fri"), (dt.date.max, "next mon"), (SUN, "later+2d"),
        (SUN, "+9999y"), (SUN, "-9999y"), (SUN, "9999-12-31+1d"), (SUN, "0001-01-01-1d"),
        (dt.date.min, "yesterday"), (dt.date.min, "-1d"), (dt.date.min, "-1m"), (dt.date.min, "last sun"),
        (dt.date.min, "-1y"),
    ])
    def test_days_outside_the_calendar_are_refused(self, today: dt.date, text: str) -> None:
        """A form whose day would fall before 0001-01-01 or after 9999-12-31 is refused as such."""
        assert "falls outside the calendar" in refusal(text, today).message

    def test_the_ends_of_the_calendar_themselves_are_days(self) -> None:
        """The last and first days can still be reached."""
        assert parse_date("eom", today=dt.date.max) == dt.date.max
        assert parse_date("eoy", today=dt.date.max) == dt.date.max
        assert parse_date("socy", today=dt.date.min) == dt.date.min
        assert parse_date("later+1d", today=SUN) == dt.date.max

    @given(st.text(max_size=60), st.dates())
    def test_any_text_gives_a_day_or_invalid_value(self, text: str, today: dt.date) -> None:
        """No text and no today make anything but a day or InvalidValue (no OverflowError, no ValueError)."""
        try:
            assert isinstance(parse_date(text, today=today), dt.date)
        except InvalidValue as error:
            assert "\n" not in error.message

    @given(st.text(alphabet="0123456789+- :Ttdwmqyeoscnxlafrihu", max_size=45), st.dates())
    def test_near_miss_text_gives_a_day_or_invalid_value(self, text: str, today: dt.date) -> None:
        """Text made of the characters dates are made of never escapes as another exception."""
        try:
            parse_date(text, today=today)
        except InvalidValue:
            pass


class TestHelpList:
    def test_every_example_in_date_forms_parses(self) -> None:
        """DATE_FORMS, which help shows, lists only forms that parse."""
        examples = DATE_FORMS.replace("mon…sun", "mon, sun").split(", ")
        for example in examples:
            if example != "YYYY-MM-DD":
                assert isinstance(parse_date(example, today=SUN), dt.date), example
        assert len(DATE_FORMS) <= 120


class TestDateProperties:
    @given(st.dates(), st.integers(0, 9999), st.sampled_from(["d", "w"]))
    def test_days_and_weeks_are_plain_day_counts(self, today: dt.date, count: int, unit: str) -> None:
        """+Nd and +Nw move by N or 7N days, and today-N the same as -N; past the calendar they are refused."""
        days = count * (7 if unit == "w" else 1)
        for text, sign in ((f"+{count}{unit}", 1), (f"-{count}{unit}", -1), (f"today-{count}{unit}", -1)):
            ordinal = today.toordinal() + sign * days
            if 1 <= ordinal <= dt.date.max.toordinal():
                assert parse_date(text, today=today) == dt.date.fromordinal(ordinal)
            else:
                assert "outside the calendar" in refusal(text, today).message

    @given(st.dates(max_value=D(9999, 11, 30)))
    def test_week_and_month_boundaries(self, today: dt.date) -> None:
        """eow is the Sunday of today's week and sow the Monday after it; som is the day after eom."""
        eow = parse_date("eow", today=today)
        assert eow.weekday() == 6 and 0 <= (eow - today).days <= 6
        assert parse_date("sow", today=today) == eow + dt.timedelta(days=1)
        assert parse_date("socw", today=today) == eow - dt.timedelta(days=6)
        eom = parse_date("eom", today=today)
        assert (eom.year, eom.month) == (today.year, today.month)
        assert parse_date("som", today=today) == eom + dt.timedelta(days=1)

    @given(st.dates(), st.integers(-500, 500), st.sampled_from(["m", "q", "y"]))
    def test_months_keep_the_day_number_cut_to_the_month(self, day: dt.date, count: int, unit: str) -> None:
        """Moving by months lands in the right month, on the same day number or the month's last day."""
        months = count * {"m": 1, "q": 3, "y": 12}[unit]
        result = shifted(day, count, unit)
        year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
        if not 1 <= year <= 9999:
            assert result is None
            return
        assert result is not None and (result.year, result.month) == (year, month + 1)
        assert result.day == min(day.day, calendar.monthrange(year, month + 1)[1])


class TestNormalizePeriod:
    @pytest.mark.parametrize(("text", "expected"), [
        ("daily", "daily"), ("Daily", "daily"), (" weekly ", "weekly"), ("weekdays", "weekdays"),
        ("biweekly", "biweekly"), ("fortnight", "biweekly"), ("Fortnightly", "biweekly"), ("monthly", "monthly"),
        ("quarterly", "quarterly"), ("yearly", "yearly"), ("annual", "yearly"), ("annually", "yearly"),
        ("3d", "3d"), ("3days", "3d"), ("3 days", "3d"), ("2weeks", "biweekly"), ("2 w", "biweekly"),
        ("1month", "monthly"), ("1d", "daily"), ("1 day", "daily"), ("1w", "weekly"), ("1q", "quarterly"),
        ("1y", "yearly"), ("6m", "6m"), ("6 months", "6m"), ("2q", "2q"), ("2 quarters", "2q"), ("10y", "10y"),
        ("10 yrs", "10y"), ("999d", "999d"), ("14d", "14d"), ("12m", "12m"), ("3w", "3w"), ("007w", "7w"),
    ])
    def test_canonical_form(self, text: str, expected: str) -> None:
        """Each accepted spelling becomes one canonical form, which the task model's pattern accepts."""
        assert normalize_period(text) == expected
        assert re.fullmatch(TASK_MODEL_RECUR, expected)
        assert normalize_period(expected) == expected

    def test_the_pattern_is_the_task_models(self) -> None:
        """periods.PERIOD_PATTERN is the pattern the task model checks stored periods with."""
        assert PERIOD_PATTERN == TASK_MODEL_RECUR

    @pytest.mark.parametrize("text", [
        "", "  ", "hourly", "0d", "0w", "1000d", "2", "d", "every week", "3 fortnights", "1h", "1min", "weekday",
        "bi-weekly", "-1d", "+1d", "1.5w", "x" * 41, "\uff12d", "\u0663w", "3 d ays", "daily weekly",
    ])
    def test_other_periods_are_refused_naming_the_accepted_forms(self, text: str) -> None:
        """Anything else is refused; the hint lists the named periods and the count form."""
        with pytest.raises(InvalidValue) as caught:
            normalize_period(text)
        assert "is not a recurrence period" in caught.value.message
        assert caught.value.hint is not None
        for form in ("daily", "weekdays", "weekly", "biweekly", "monthly", "quarterly", "yearly", "3d", "999"):
            assert form in caught.value.hint

    def test_the_count_bound_is_named(self) -> None:
        """A count of 0 or over 999 says what the counts are."""
        with pytest.raises(InvalidValue, match="from 1 to 999"):
            normalize_period("1000w")

    @given(st.integers(1, 999), st.sampled_from(["d", "day", "days", "w", "weeks", "m", "month", "q", "y", "years"]),
           st.sampled_from(["", " "]))
    def test_every_count_form_normalises_into_the_pattern(self, count: int, unit: str, space: str) -> None:
        """N plus any unit spelling gives a form the task model accepts, and normalising it again keeps it."""
        period = normalize_period(f"{count}{space}{unit}")
        assert re.fullmatch(TASK_MODEL_RECUR, period)
        assert normalize_period(period) == period


NAMED_PERIODS = ["daily", "weekdays", "weekly", "biweekly", "monthly", "quarterly", "yearly"]
PERIODS = st.one_of(st.sampled_from(NAMED_PERIODS),
                    st.builds(lambda n, u: f"{n}{u}", st.integers(1, 999), st.sampled_from("dwmqy")))


class TestNthDue:
    @pytest.mark.parametrize(("period", "first", "expected"), [
        ("monthly", JAN31, [JAN31, D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31), D(2026, 6, 30)]),
        ("yearly", LEAP, [LEAP, D(2029, 2, 28), D(2030, 2, 28), D(2031, 2, 28), D(2032, 2, 29)]),
        ("quarterly", D(2026, 11, 30), [D(2026, 11, 30), D(2027, 2, 28), D(2027, 5, 30), D(2027, 8, 30)]),
        ("daily", DEC31, [DEC31, D(2027, 1, 1), D(2027, 1, 2)]),
        ("weekly", SUN, [SUN, D(2026, 12, 13), D(2026, 12, 20)]),
        ("biweekly", DEC31, [DEC31, D(2027, 1, 14), D(2027, 1, 28)]),
        ("3d", D(2026, 2, 27), [D(2026, 2, 27), D(2026, 3, 2), D(2026, 3, 5)]),
        ("2w", SAT, [SAT, D(2026, 12, 5), D(2026, 12, 19)]),
        ("6m", D(2026, 8, 31), [D(2026, 8, 31), D(2027, 2, 28), D(2027, 8, 31), D(2028, 2, 29)]),
        ("2q", D(2026, 5, 31), [D(2026, 5, 31), D(2026, 11, 30), D(2027, 5, 31)]),
        ("2y", LEAP, [LEAP, D(2030, 2, 28), D(2032, 2, 29)]),
        ("weekdays", D(2026, 12, 4), [D(2026, 12, 4), D(2026, 12, 7), D(2026, 12, 8), D(2026, 12, 9),
                                      D(2026, 12, 10), D(2026, 12, 11), D(2026, 12, 14)]),
        ("weekdays", SAT, [SAT, D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25), D(2026, 11, 26),
                           D(2026, 11, 27), MON]),
        ("weekdays", SUN, [SUN, D(2026, 12, 7), D(2026, 12, 8)]),
        ("Fortnight", SUN, [SUN, D(2026, 12, 20)]),
    ])
    def test_instances_from_the_first_due_date(self, period: str, first: dt.date, expected: list[dt.date]) -> None:
        """The n-th instance counts from the first due date, so month ends come back (Jan 31, Feb 28, Mar 31)."""
        assert [nth_due(period, first, n) for n in range(1, len(expected) + 1)] == expected

    def test_far_instances(self) -> None:
        """The 26th monthly instance from Jan 31 is the leap day; 1,000 weekdays are 200 weeks."""
        assert nth_due("monthly", JAN31, 26) == LEAP
        assert nth_due("monthly", JAN31, 13) == D(2027, 1, 31)
        assert nth_due("weekdays", MON, 1001) == MON + dt.timedelta(weeks=200)

    @pytest.mark.parametrize(("period", "due", "expected"), [
        ("daily", DEC31, D(2027, 1, 1)), ("weekly", SUN, D(2026, 12, 13)), ("biweekly", SUN, D(2026, 12, 20)),
        ("monthly", JAN31, D(2026, 2, 28)), ("monthly", D(2026, 2, 28), D(2026, 3, 28)),
        ("quarterly", D(2026, 11, 30), D(2027, 2, 28)), ("yearly", LEAP, D(2029, 2, 28)),
        ("weekdays", D(2026, 12, 4), D(2026, 12, 7)), ("weekdays", SAT, D(2026, 11, 23)),
        ("weekdays", SUN, D(2026, 12, 7)), ("weekdays", WED, D(2026, 12, 3)), ("5d", DEC31, D(2027, 1, 5)),
    ])
    def test_next_due_is_one_step_from_the_day_given(self, period: str, due: dt.date, expected: dt.date) -> None:
        """next_due steps once from the day it is given (Feb 28 → Mar 28: a series uses nth_due)."""
        assert next_due(period, due) == expected

    @pytest.mark.parametrize(("period", "first", "n"), [
        ("daily", dt.date.max, 2), ("yearly", D(9999, 1, 1), 2), ("weekdays", dt.date.max, 2),
        ("monthly", JAN31, 10**9), ("999y", D(2026, 1, 1), 10**12), ("weekdays", SUN, 10**15),
        ("999d", SUN, 10**20), ("quarterly", D(9999, 10, 1), 2),
    ])
    def test_past_the_end_of_the_calendar(self, period: str, first: dt.date, n: int) -> None:
        """An instance after 9999-12-31 is refused with InvalidValue, however far past it."""
        with pytest.raises(InvalidValue, match="9999-12-31"):
            nth_due(period, first, n)

    def test_the_last_days_of_the_calendar_are_reached(self) -> None:
        """Instances up to 9999-12-31 itself are given."""
        assert nth_due("weekdays", D(9999, 12, 25), 2) == D(9999, 12, 27)
        assert nth_due("daily", D(9999, 12, 30), 2) == dt.date.max

    def test_instances_count_from_one(self) -> None:
        """n below 1 is a caller's mistake, a ValueError."""
        with pytest.raises(ValueError, match="from 1"):
            nth_due("daily", SUN, 0)

    def test_a_period_that_is_not_one_is_refused(self) -> None:
        """nth_due and next_due read the period as normalize_period does."""
        with pytest.raises(InvalidValue, match="not a recurrence period"):
            next_due("hourly", SUN)

    @given(PERIODS, st.dates(max_value=D(9000, 12, 31)), st.integers(1, 400))
    def test_instances_strictly_increase(self, period: str, first: dt.date, n: int) -> None:
        """Each instance is due after the one before it."""
        try:
            later = nth_due(period, first, n + 1)
        except InvalidValue:
            assume(False)
        assert nth_due(period, first, n) < later

    @given(st.sampled_from(["monthly", "quarterly", "yearly", "5m", "2q", "3y"]), st.dates(max_value=D(9000, 1, 1)),
           st.integers(1, 300))
    def test_month_based_series_never_drift(self, period: str, first: dt.date, n: int) -> None:
        """The n-th instance is in the right month, on the first day's number or the month's last day."""
        count, unit = {"monthly": (1, "m"), "quarterly": (1, "q"), "yearly": (1, "y")}.get(period) or (
            int(period[:-1]), period[-1])
        months = count * {"m": 1, "q": 3, "y": 12}[unit] * (n - 1)
        year, month = divmod(first.year * 12 + first.month - 1 + months, 12)
        assume(year <= 9999)
        due = nth_due(period, first, n)
        assert (due.year, due.month) == (year, month + 1)
        assert due.day == min(first.day, calendar.monthrange(year, month + 1)[1])

    @given(st.sampled_from(["daily", "weekly", "biweekly", "3d", "4w", "999d"]), st.dates(max_value=D(9000, 1, 1)),
           st.integers(1, 1000))
    def test_day_based_series_are_plain_day_counts(self, period: str, first: dt.date, n: int) -> None:
        """daily, weekly and Nd/Nw series move a fixed number of days per instance."""
        step = {"daily": 1, "weekly": 7, "biweekly": 14}.get(period) or int(period[:-1]) * (
            7 if period[-1] == "w" else 1)
        ordinal = first.toordinal() + step * (n - 1)
        assume(ordinal <= dt.date.max.toordinal())
        assert nth_due(period, first, n) == dt.date.fromordinal(ordinal)

    @given(st.dates(max_value=D(9999, 1, 1)), st.integers(2, 80))
    def test_weekdays_land_on_monday_to_friday_counted_one_by_one(self, first: dt.date, n: int) -> None:
        """A weekdays instance after the first is never a Saturday or Sunday, and is the (n-1)-th weekday
        after the first, counted day by day."""
        due = nth_due("weekdays", first, n)
        assert due.weekday() < 5
        day, seen = first, 0
        while seen < n - 1:
            day += dt.timedelta(days=1)
            seen += day.weekday() < 5
        assert due == day
        assert next_due("weekdays", first).weekday() < 5
