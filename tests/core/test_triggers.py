"""Triggers: calendar, threshold, hybrid, look-interval; cooldown, runs per day, and the
trading window (early closes, DST)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.core.config.values import (
    AssetConfig,
    CalendarRule,
    Config,
    Frequency,
    PortfolioConfig,
    TriggerConfig,
    TriggerMode,
)
from daemon.core.model import TradingSession
from daemon.core.planning.plan import WeightRow
from daemon.core.triggers.rules import (
    TriggerState,
    evaluate,
    in_trading_window,
    next_wakeup,
    record_run,
)
from tests.core.test_calendar_rules import make_sessions

ET = ZoneInfo("America/New_York")
TZ = "America/New_York"
SESSIONS = make_sessions(date(2026, 6, 1), date(2026, 12, 31))
MONTHLY_2ND = CalendarRule(frequency=Frequency.MONTHLY, day_of_month=2, at=time(10, 0))


def et(*args: int) -> datetime:
    """An exchange-local wall-clock time, as the aware UTC datetime an event would carry."""
    return datetime(*args, tzinfo=ET).astimezone(UTC)  # type: ignore[misc]


def config(mode: TriggerMode = TriggerMode.HYBRID, **trigger: object) -> Config:
    tc = replace(TriggerConfig(mode=mode, calendar=MONTHLY_2ND), **trigger)  # type: ignore[arg-type]
    return Config(portfolio=PortfolioConfig(assets=(AssetConfig("VTI", 0.25),)), trigger=tc)


NO_STATE = TriggerState()


# -- the trading window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (et(2026, 11, 23, 9, 34, 59), False),
        (et(2026, 11, 23, 9, 35), True),
        (et(2026, 11, 23, 15, 45), True),
        (et(2026, 11, 23, 15, 45, 1), False),
        (et(2026, 11, 21, 12, 0), False),  # Saturday
        (et(2026, 11, 26, 12, 0), False),  # Thanksgiving: no session
        (et(2026, 11, 27, 12, 59), True),  # early close at 13:00 clips the window
        (et(2026, 11, 27, 13, 0), True),
        (et(2026, 11, 27, 13, 0, 1), False),
        (et(2026, 7, 15, 9, 35), True),  # EDT: 13:35 UTC
        (datetime(2026, 7, 15, 13, 34, tzinfo=UTC), False),  # 09:34 EDT
        (datetime(2026, 12, 15, 14, 34, tzinfo=UTC), False),  # 09:34 EST
        (datetime(2026, 12, 15, 14, 35, tzinfo=UTC), True),  # 09:35 EST
    ],
)
def test_trading_window(moment: datetime, inside: bool) -> None:
    assert in_trading_window(config().trigger, moment, SESSIONS) is inside


def test_window_wider_than_the_session_is_clipped_to_open() -> None:
    tc = replace(config().trigger, window_start=time(8, 0), window_end=time(17, 0))
    assert not in_trading_window(tc, et(2026, 11, 23, 9, 29), SESSIONS)
    assert in_trading_window(tc, et(2026, 11, 23, 9, 30), SESSIONS)
    assert not in_trading_window(tc, et(2026, 11, 23, 16, 0, 1), SESSIONS)


def test_blocked_reasons_name_the_window_and_closed_market() -> None:
    d = evaluate(config(), et(2026, 11, 27, 14, 0), ["VTI"], SESSIONS, NO_STATE)
    assert not d.triggered and d.due
    assert d.blocked == ("outside trading window 09:35–13:00 EST (now 2026-11-27 14:00 EST)",)
    d = evaluate(config(), et(2026, 11, 26, 11, 0), ["VTI"], SESSIONS, NO_STATE)
    assert d.blocked == ("market closed: no trading session on 2026-11-26",)


# -- calendar -------------------------------------------------------------------------------


def test_calendar_fires_once_on_its_day_at_or_after_its_time() -> None:
    c = config(TriggerMode.CALENDAR, cooldown_seconds=0, max_runs_per_day=5)
    assert not evaluate(c, et(2026, 11, 2, 9, 59), [], SESSIONS, NO_STATE).due
    d = evaluate(c, et(2026, 11, 2, 10, 0), [], SESSIONS, NO_STATE)
    assert d.triggered and d.calendar
    assert d.reasons == ("calendar: monthly on 2026-11-02 10:00 EST",)
    state = record_run(NO_STATE, et(2026, 11, 2, 10, 0), TZ, calendar_fired=d.calendar)
    assert state.last_calendar_day == date(2026, 11, 2)
    assert not evaluate(c, et(2026, 11, 2, 14, 0), [], SESSIONS, state).due
    assert not evaluate(c, et(2026, 11, 3, 10, 0), [], SESSIONS, state).due
    # calendar mode ignores bands
    assert not evaluate(c, et(2026, 11, 3, 10, 0), ["VTI"], SESSIONS, state).due
    d = evaluate(c, et(2026, 12, 2, 10, 30), [], SESSIONS, state)
    assert d.triggered and d.reasons == ("calendar: monthly on 2026-12-02 10:00 EST",)


def test_calendar_time_before_the_window_waits_for_the_window() -> None:
    c = config(TriggerMode.CALENDAR, calendar=replace(MONTHLY_2ND, at=time(9, 0)))
    d = evaluate(c, et(2026, 11, 2, 9, 10), [], SESSIONS, NO_STATE)
    assert d.due and not d.triggered and d.blocked[0].startswith("outside trading window")
    assert evaluate(c, et(2026, 11, 2, 9, 35), [], SESSIONS, NO_STATE).triggered


def test_calendar_day_on_a_holiday_rolls_back() -> None:
    # monthly on the 26th: Thanksgiving 2026-11-26 → Wednesday 11-25, in EDT for July too
    c = config(TriggerMode.CALENDAR, calendar=replace(MONTHLY_2ND, day_of_month=26))
    assert evaluate(c, et(2026, 11, 25, 10, 0), [], SESSIONS, NO_STATE).triggered
    assert not evaluate(c, et(2026, 11, 27, 10, 0), [], SESSIONS, NO_STATE).due
    d = evaluate(c, et(2026, 7, 27, 10, 0), [], SESSIONS, NO_STATE)  # 07-26 is a Sunday → 24th
    assert not d.due
    d = evaluate(c, et(2026, 7, 24, 10, 0), [], SESSIONS, NO_STATE)
    assert d.reasons == ("calendar: monthly on 2026-07-24 10:00 EDT",)


# -- threshold, hybrid, look-interval -------------------------------------------------------


def test_threshold_fires_on_any_breach_with_readable_reasons() -> None:
    c = config(TriggerMode.THRESHOLD)
    now = et(2026, 11, 3, 11, 0)
    assert not evaluate(c, now, [], SESSIONS, NO_STATE).due
    rows = {"VTI": WeightRow(0.312, 0.25, 0.20, 0.30), "BND": WeightRow(0.141, 0.2, 0.15, 0.25)}
    d = evaluate(c, now, ["VTI", "BND"], SESSIONS, NO_STATE, rows)
    assert d.triggered and not d.calendar
    assert d.reasons == ("threshold: VTI 31.2 % above band 30.0 %; BND 14.1 % below band 15.0 %",)
    d = evaluate(c, now, [f"S{k}" for k in range(8)], SESSIONS, NO_STATE)
    assert d.reasons == (
        "threshold: S0 out of band; S1 out of band; S2 out of band; "
        "S3 out of band; S4 out of band; and 3 more",
    )
    # threshold mode ignores the calendar
    assert not evaluate(c, et(2026, 11, 2, 10, 0), [], SESSIONS, NO_STATE).due


def test_hybrid_is_calendar_or_threshold() -> None:
    c = config(TriggerMode.HYBRID)
    d = evaluate(c, et(2026, 11, 2, 10, 0), ["VTI"], SESSIONS, NO_STATE)
    assert d.triggered and d.calendar and len(d.reasons) == 2
    assert d.reasons[1] == "threshold: VTI out of band"
    d = evaluate(c, et(2026, 11, 2, 10, 0), [], SESSIONS, NO_STATE)
    assert d.triggered and d.calendar
    d = evaluate(c, et(2026, 11, 3, 10, 0), ["VTI"], SESSIONS, NO_STATE)
    assert d.triggered and not d.calendar
    assert not evaluate(c, et(2026, 11, 3, 10, 0), [], SESSIONS, NO_STATE).due


def test_look_interval_checks_bands_only_on_calendar_days() -> None:
    c = config(TriggerMode.LOOK_INTERVAL, cooldown_seconds=0, max_runs_per_day=3)
    assert not evaluate(c, et(2026, 11, 3, 11, 0), ["VTI"], SESSIONS, NO_STATE).due
    assert not evaluate(c, et(2026, 11, 2, 11, 0), [], SESSIONS, NO_STATE).due
    assert not evaluate(c, et(2026, 11, 2, 9, 50), ["VTI"], SESSIONS, NO_STATE).due
    d = evaluate(c, et(2026, 11, 2, 11, 0), ["VTI"], SESSIONS, NO_STATE)
    assert d.triggered and d.calendar
    assert d.reasons == ("look-interval: monthly on 2026-11-02 10:00 EST: VTI out of band",)
    # still checked later that day (a second breach after the first run)
    state = record_run(NO_STATE, et(2026, 11, 2, 11, 0), TZ, calendar_fired=True)
    assert evaluate(c, et(2026, 11, 2, 14, 0), ["VTI"], SESSIONS, state).triggered


# -- cooldown and runs per day --------------------------------------------------------------


def test_cooldown_edges() -> None:
    c = config(TriggerMode.THRESHOLD, cooldown_seconds=3600, max_runs_per_day=10)
    ran = et(2026, 11, 3, 10, 0)
    state = record_run(NO_STATE, ran, TZ, calendar_fired=False)
    d = evaluate(c, ran + timedelta(seconds=3599), ["VTI"], SESSIONS, state)
    assert not d.triggered and d.blocked == ("cooldown until 2026-11-03 11:00 EST",)
    assert evaluate(c, ran + timedelta(seconds=3600), ["VTI"], SESSIONS, state).triggered


def test_cooldown_blocks_the_calendar_too_and_it_can_still_fire_later_that_day() -> None:
    c = config(TriggerMode.CALENDAR, cooldown_seconds=7200, max_runs_per_day=5)
    state = record_run(NO_STATE, et(2026, 11, 2, 9, 40), TZ, calendar_fired=False)
    d = evaluate(c, et(2026, 11, 2, 10, 0), [], SESSIONS, state)
    assert d.due and not d.triggered and d.blocked == ("cooldown until 2026-11-02 11:40 EST",)
    assert evaluate(c, et(2026, 11, 2, 11, 40), [], SESSIONS, state).triggered


def test_max_runs_per_day_counts_per_exchange_local_date() -> None:
    c = config(TriggerMode.THRESHOLD, cooldown_seconds=0, max_runs_per_day=2)
    s1 = record_run(NO_STATE, et(2026, 11, 3, 10, 0), TZ, calendar_fired=False)
    assert (s1.runs_today, s1.runs_day) == (1, date(2026, 11, 3))
    assert evaluate(c, et(2026, 11, 3, 11, 0), ["VTI"], SESSIONS, s1).triggered
    s2 = record_run(s1, et(2026, 11, 3, 11, 0), TZ, calendar_fired=False)
    d = evaluate(c, et(2026, 11, 3, 12, 0), ["VTI"], SESSIONS, s2)
    assert not d.triggered and d.blocked == ("max runs per day reached (2/2)",)
    assert evaluate(c, et(2026, 11, 4, 10, 0), ["VTI"], SESSIONS, s2).triggered
    # 23:30 ET is already the next day in UTC, but it counts for the local date
    late = record_run(s2, datetime(2026, 11, 4, 4, 30, tzinfo=UTC), TZ, calendar_fired=False)
    assert (late.runs_today, late.runs_day) == (3, date(2026, 11, 3))
    assert record_run(late, et(2026, 11, 4, 9, 40), TZ, False).runs_today == 1


def test_zero_max_runs_means_no_automatic_runs() -> None:
    c = config(TriggerMode.THRESHOLD, max_runs_per_day=0)
    d = evaluate(c, et(2026, 11, 3, 11, 0), ["VTI"], SESSIONS, NO_STATE)
    assert not d.triggered and d.blocked == ("max runs per day reached (0/0)",)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate(config(), datetime(2026, 11, 3, 11, 0), [], SESSIONS, NO_STATE)


def test_unknown_timezone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        evaluate(config(timezone="Mars/Olympus"), et(2026, 11, 3, 11, 0), [], SESSIONS, NO_STATE)


# -- next wake-up -----------------------------------------------------------------------------


def test_next_wakeup_for_the_calendar() -> None:
    c = config(TriggerMode.CALENDAR, calendar=replace(MONTHLY_2ND, at=time(9, 0)))
    # the calendar time 09:00 is before the window: wake when the window opens
    assert next_wakeup(c, et(2026, 11, 1, 12, 0), SESSIONS, NO_STATE) == et(2026, 11, 2, 9, 35)
    fired = record_run(NO_STATE, et(2026, 11, 2, 9, 35), TZ, calendar_fired=True)
    assert next_wakeup(c, et(2026, 11, 2, 9, 35), SESSIONS, fired) == et(2026, 12, 2, 9, 35)
    # in cooldown on the calendar day: wake when the cooldown ends
    early = record_run(NO_STATE, et(2026, 11, 2, 9, 36), TZ, calendar_fired=False)
    assert next_wakeup(c, et(2026, 11, 2, 9, 40), SESSIONS, early) == et(2026, 11, 2, 10, 36)
    # pure threshold mode is driven by quotes
    assert (
        next_wakeup(config(TriggerMode.THRESHOLD), et(2026, 11, 1, 12), SESSIONS, NO_STATE) is None
    )
    # past the known sessions
    assert next_wakeup(c, et(2026, 12, 30, 12, 0), SESSIONS, NO_STATE) is None


def test_naive_session_times_are_rejected() -> None:
    naive = [
        TradingSession(
            date(2026, 11, 23), datetime(2026, 11, 23, 9, 30), datetime(2026, 11, 23, 16, 0)
        )
    ]
    with pytest.raises(ValueError, match="session 2026-11-23 open must be an aware datetime"):
        in_trading_window(config().trigger, et(2026, 11, 23, 10, 0), naive)
