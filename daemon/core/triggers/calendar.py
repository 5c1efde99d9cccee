"""Calendar rules: on which trading days a calendar trigger fires, and at what moment.

A rule names a target day per period (every session; a weekday each week; a day of the
month, clamped to the month's length; that day in Jan/Apr/Jul/Oct; a month-day each year).
A target day that is not a trading day rolls back to the previous trading day, as Alpaca's
own rebalancer does.

Only the span covered by ``sessions`` is known: a target day after the last session cannot
be decided (it might be a trading day we were not told about), so it is left out. Hand in a
calendar that reaches at least a week past the days you ask about (``/v2/calendar`` gives
future sessions).
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache

from daemon.core.config.values import CalendarRule, Frequency
from daemon.core.model import TradingSession
from daemon.core.triggers.market_hours import local_at, require_aware

QUARTER_MONTHS = (1, 4, 7, 10)


def validate_rule(rule: CalendarRule) -> None:
    """Raise ``ValueError`` naming the bad field and the allowed values."""
    if rule.frequency is Frequency.WEEKLY and not 0 <= rule.weekday <= 4:
        raise ValueError(
            f"calendar weekday {rule.weekday} is out of range: use 0 (Monday) … 4 (Friday)"
        )
    if rule.frequency in (Frequency.MONTHLY, Frequency.QUARTERLY) and not (
        1 <= rule.day_of_month <= 31
    ):
        raise ValueError(
            f"calendar day_of_month {rule.day_of_month} is out of range: use 1–31 "
            "(days past the month's end mean its last day)"
        )
    if rule.frequency is Frequency.ANNUALLY:
        month, day = rule.month_day
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise ValueError(
                f"calendar month_day {rule.month_day} is invalid: use (month 1–12, "
                "day 1–31), e.g. (1, 2) for January 2"
            )


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _target_days(rule: CalendarRule, first: date, last: date) -> Iterator[date]:
    """Target days (before roll-back) for every period that meets [first, last]."""
    freq = rule.frequency
    if freq is Frequency.WEEKLY:
        monday = first - timedelta(days=first.weekday())
        while monday <= last:
            yield monday + timedelta(days=rule.weekday)
            monday += timedelta(days=7)
    elif freq is Frequency.MONTHLY:
        for y, m in _months(first, last):
            yield _clamped(y, m, rule.day_of_month)
    elif freq is Frequency.QUARTERLY:
        for y, m in _months(first, last):
            if m in QUARTER_MONTHS:
                yield _clamped(y, m, rule.day_of_month)
    elif freq is Frequency.ANNUALLY:
        month, day = rule.month_day
        for y in range(first.year, last.year + 1):
            yield _clamped(y, month, day)
    else:  # pragma: no cover - DAILY is handled by the caller
        raise ValueError(f"unknown calendar frequency {freq!r}")


def scheduled_days(rule: CalendarRule, sessions: Sequence[TradingSession]) -> list[date]:
    """The trading days on which ``rule`` fires, within the span ``sessions`` cover, sorted."""
    return list(scheduled_day_tuple(rule, sessions))


# the last (rule, sessions, days), by identity: the engine asks for the same rule and the
# same sessions tuple (its last clock's) several times per check, and building the lru key
# (a sorted tuple of the days) cost more than the answer; both are immutable, so the same
# objects give the same days (a tuple only: a list could change under the memo)
_last: tuple[CalendarRule, tuple[TradingSession, ...], tuple[date, ...]] | None = None


def scheduled_day_tuple(rule: CalendarRule, sessions: Sequence[TradingSession]) -> tuple[date, ...]:
    """``scheduled_days`` as a tuple (shared, never copied)."""
    global _last
    last = _last
    if last is not None and last[1] is sessions and last[0] is rule:
        return last[2]
    validate_rule(rule)
    days = _scheduled_days(rule, tuple(sorted({s.day for s in sessions})))
    if type(sessions) is tuple:
        _last = (rule, sessions, days)
    return days


@lru_cache(maxsize=512)  # pure: the engine asks again for the same rule and days each check
def _scheduled_days(rule: CalendarRule, days: tuple[date, ...]) -> tuple[date, ...]:
    if not days:
        return ()
    if rule.frequency is Frequency.DAILY:
        return days
    first, last = days[0], days[-1]
    out: set[date] = set()
    for target in _target_days(rule, first, last):
        if target < first or target > last:
            continue  # outside what the calendar tells us
        k = bisect_right(days, target)  # days[k-1] is the last trading day ≤ target
        out.add(days[k - 1])
    return tuple(sorted(out))


def is_scheduled_day(rule: CalendarRule, day: date, sessions: Sequence[TradingSession]) -> bool:
    return day in scheduled_day_tuple(rule, sessions)


def next_calendar_time(
    rule: CalendarRule, now: datetime, sessions: Sequence[TradingSession], tz: str
) -> datetime | None:
    """The first scheduled moment (scheduled day at ``rule.at`` local time, as aware UTC)
    strictly after ``now``; ``None`` when the sessions show none."""
    require_aware(now)
    for day in scheduled_day_tuple(rule, sessions):
        moment = local_at(day, rule.at, tz)
        if moment > now:
            return moment
    return None
