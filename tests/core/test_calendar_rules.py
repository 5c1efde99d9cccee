"""Calendar rules: scheduled trading days, roll-back over weekends and holidays, month-end
clamping, quarterly/annual dates, and DST-correct fire times."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.config.values import CalendarRule, Frequency
from daemon.core.model import TradingSession
from daemon.core.triggers.calendar import is_scheduled_day, next_calendar_time, scheduled_days

ET = ZoneInfo("America/New_York")
TZ = "America/New_York"

# NYSE holidays in the span the tests use (the point: the session list simply omits them)
HOLIDAYS = {
    date(2025, 12, 25),
    date(2026, 1, 1),
    date(2026, 1, 19),
    date(2026, 2, 16),
    date(2026, 4, 3),
    date(2026, 5, 25),
    date(2026, 6, 19),
    date(2026, 7, 3),
    date(2026, 9, 7),
    date(2026, 11, 26),
    date(2026, 12, 25),
}
EARLY_CLOSES = {date(2026, 11, 27): time(13, 0), date(2026, 12, 24): time(13, 0)}


def make_sessions(
    first: date,
    last: date,
    holidays: Iterable[date] = HOLIDAYS,
    early: dict[date, time] | None = None,
) -> list[TradingSession]:
    """Weekdays from ``first`` to ``last`` minus ``holidays``; 09:30–16:00 ET (early closes
    from ``early``), open/close as aware datetimes in New York time."""
    early = EARLY_CLOSES if early is None else early
    skip = set(holidays)
    out = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in skip:
            close = early.get(day, time(16, 0))
            out.append(
                TradingSession(
                    day, datetime.combine(day, time(9, 30), ET), datetime.combine(day, close, ET)
                )
            )
        day += timedelta(days=1)
    return out


SESSIONS_2026 = make_sessions(date(2025, 12, 1), date(2027, 1, 29))


def days_in(days: list[date], year: int, month: int | None = None) -> list[date]:
    return [d for d in days if d.year == year and (month is None or d.month == month)]


def test_daily_is_every_session() -> None:
    sessions = make_sessions(date(2026, 1, 12), date(2026, 1, 23))
    days = scheduled_days(CalendarRule(frequency=Frequency.DAILY), sessions)
    assert days == [s.day for s in sessions]
    assert date(2026, 1, 19) not in days  # MLK day is not a session
    assert len(days) == 9


def test_weekly_monday_holiday_rolls_back_to_friday() -> None:
    rule = CalendarRule(frequency=Frequency.WEEKLY, weekday=0)
    days = scheduled_days(rule, make_sessions(date(2026, 1, 5), date(2026, 1, 30)))
    assert days == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 16), date(2026, 1, 26)]


def test_weekly_friday_holiday_rolls_to_thursday() -> None:
    rule = CalendarRule(frequency=Frequency.WEEKLY, weekday=4)
    days = scheduled_days(rule, make_sessions(date(2026, 3, 30), date(2026, 4, 10)))
    assert days == [date(2026, 4, 2), date(2026, 4, 10)]  # Good Friday 2026-04-03


def test_monthly_first_on_weekend_and_holiday_rolls_back() -> None:
    rule = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=1)
    days = scheduled_days(rule, SESSIONS_2026)
    # 2026-01-01 is a holiday (Thursday) → 2025-12-31; 2026-02-01 is a Sunday → 01-30;
    # 2026-03-01 is a Sunday → 02-27; 2026-08-01 is a Saturday → 07-31
    assert days_in(days, 2025, 12) == [date(2025, 12, 1), date(2025, 12, 31)]
    assert days_in(days, 2026, 1) == [date(2026, 1, 30)]
    assert days_in(days, 2026, 2) == [date(2026, 2, 27)]
    assert days_in(days, 2026, 3) == []
    assert days_in(days, 2026, 4) == [date(2026, 4, 1)]
    assert days_in(days, 2026, 7) == [date(2026, 7, 1), date(2026, 7, 31)]
    assert days_in(days, 2026, 8) == []


def test_monthly_31_is_clamped_to_month_end_then_rolled_back() -> None:
    rule = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=31)
    days = scheduled_days(rule, SESSIONS_2026)
    assert days_in(days, 2026, 2) == [date(2026, 2, 27)]  # Feb 28 is a Saturday
    assert days_in(days, 2026, 4) == [date(2026, 4, 30)]  # 30-day month
    assert days_in(days, 2026, 5) == [date(2026, 5, 29)]  # May 31 is a Sunday
    assert len(days_in(days, 2026)) == 12


def test_quarterly_fires_in_jan_apr_jul_oct() -> None:
    rule = CalendarRule(frequency=Frequency.QUARTERLY, day_of_month=15)
    days = days_in(scheduled_days(rule, SESSIONS_2026), 2026)
    assert days == [date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)]


def test_annually_month_day_with_holiday_roll_back() -> None:
    assert days_in(
        scheduled_days(CalendarRule(frequency=Frequency.ANNUALLY, month_day=(1, 2)), SESSIONS_2026),
        2026,
    ) == [date(2026, 1, 2)]
    # July 4 2026 is a Saturday; the holiday is observed Friday July 3 → Thursday July 2
    july4 = CalendarRule(frequency=Frequency.ANNUALLY, month_day=(7, 4))
    assert scheduled_days(july4, SESSIONS_2026) == [date(2026, 7, 2)]


def test_annually_feb_29_clamps_in_common_years() -> None:
    rule = CalendarRule(frequency=Frequency.ANNUALLY, month_day=(2, 29))
    assert scheduled_days(rule, SESSIONS_2026) == [date(2026, 2, 27)]  # 02-28 is a Saturday


def test_targets_outside_the_known_span_are_left_out() -> None:
    # sessions end Thursday 2026-07-30: the 31st cannot be decided, so July has no day
    sessions = make_sessions(date(2026, 7, 1), date(2026, 7, 30))
    rule = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=31)
    assert scheduled_days(rule, sessions) == []
    # a target before the first session is not rolled back into an unknown past
    rule1 = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=1)
    assert scheduled_days(rule1, make_sessions(date(2026, 7, 2), date(2026, 7, 30))) == []
    assert scheduled_days(rule1, []) == []


def test_unsorted_sessions_are_fine() -> None:
    sessions = list(reversed(make_sessions(date(2026, 1, 5), date(2026, 1, 30))))
    rule = CalendarRule(frequency=Frequency.WEEKLY, weekday=0)
    assert scheduled_days(rule, sessions)[2] == date(2026, 1, 16)
    assert is_scheduled_day(rule, date(2026, 1, 16), sessions)
    assert not is_scheduled_day(rule, date(2026, 1, 15), sessions)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (CalendarRule(frequency=Frequency.WEEKLY, weekday=5), "weekday 5"),
        (CalendarRule(frequency=Frequency.MONTHLY, day_of_month=0), "day_of_month 0"),
        (CalendarRule(frequency=Frequency.QUARTERLY, day_of_month=32), "day_of_month 32"),
        (CalendarRule(frequency=Frequency.ANNUALLY, month_day=(13, 1)), "month_day"),
    ],
)
def test_bad_rules_are_named(rule: CalendarRule, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scheduled_days(rule, SESSIONS_2026)


def test_next_calendar_time_is_dst_correct() -> None:
    rule = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=2, at=time(10, 0))
    # 2026-03-02 (Monday, EST = UTC-5) and 2026-04-02 (Thursday, EDT = UTC-4)
    march = next_calendar_time(rule, datetime(2026, 2, 28, tzinfo=UTC), SESSIONS_2026, TZ)
    assert march == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    april = next_calendar_time(rule, march + timedelta(seconds=1), SESSIONS_2026, TZ)
    assert april == datetime(2026, 4, 2, 14, 0, tzinfo=UTC)
    assert april.tzinfo is UTC


def test_next_calendar_time_is_strictly_after_now_and_none_past_the_span() -> None:
    rule = CalendarRule(frequency=Frequency.DAILY, at=time(10, 0))
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 10:00 EST on Monday 2026-01-05
    assert next_calendar_time(rule, at - timedelta(seconds=1), SESSIONS_2026, TZ) == at
    assert next_calendar_time(rule, at, SESSIONS_2026, TZ) == at + timedelta(days=1)
    assert next_calendar_time(rule, datetime(2027, 6, 1, tzinfo=UTC), SESSIONS_2026, TZ) is None


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_calendar_time(CalendarRule(), datetime(2026, 1, 5, 10, 0), SESSIONS_2026, TZ)


@settings(max_examples=60, deadline=None)
@given(
    holidays=st.sets(st.integers(0, 400), max_size=60),
    frequency=st.sampled_from(list(Frequency)),
    weekday=st.integers(0, 4),
    dom=st.integers(1, 31),
    month_day=st.tuples(st.integers(1, 12), st.integers(1, 31)),
)
def test_each_period_fires_on_the_last_session_not_after_its_target(
    holidays: set[int],
    frequency: Frequency,
    weekday: int,
    dom: int,
    month_day: tuple[int, int],
) -> None:
    """Brute force: walk back day by day from each period's target to a session."""
    start = date(2025, 11, 3)
    sessions = make_sessions(
        start,
        start + timedelta(days=400),
        holidays={start + timedelta(days=k) for k in holidays},
        early={},
    )
    rule = CalendarRule(frequency=frequency, weekday=weekday, day_of_month=dom, month_day=month_day)
    days = scheduled_days(rule, sessions)
    session_days = {s.day for s in sessions}
    first, last = min(session_days), max(session_days)
    expected: set[date] = set()
    day = first
    while day <= last:
        if frequency is Frequency.DAILY:
            is_target = day in session_days
        elif frequency is Frequency.WEEKLY:
            is_target = day.weekday() == weekday
        else:
            months = range(1, 13) if frequency is Frequency.MONTHLY else (1, 4, 7, 10)
            m, d = month_day if frequency is Frequency.ANNUALLY else (day.month, dom)
            month_len = calendar.monthrange(day.year, day.month)[1]
            is_target = (
                day.month == m
                and (frequency is Frequency.ANNUALLY or m in months)
                and day.day == min(d, month_len)
            )
        if is_target:
            back = day
            while back not in session_days:
                back -= timedelta(days=1)
            if back >= first:
                expected.add(back)
        day += timedelta(days=1)
    assert days == sorted(expected)
    assert set(days) <= session_days
