from datetime import UTC, date, datetime

import pytest

from adapters.sim.account_json import calendar_json, clock_json
from adapters.sim.market_calendar import MarketCalendar

CAL = MarketCalendar.nyse()


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


def test_thanksgiving_is_a_holiday() -> None:
    assert CAL.session(date(2026, 11, 26)) is None
    assert not CAL.is_open(t("2026-11-26T15:00:00Z"))
    assert CAL.next_open(t("2026-11-26T15:00:00Z")) == t("2026-11-27T14:30:00Z")


def test_day_after_thanksgiving_closes_early() -> None:
    s = CAL.session(date(2026, 11, 27))
    assert s is not None
    assert s.open == t("2026-11-27T14:30:00Z")
    assert s.close == t("2026-11-27T18:00:00Z")  # 13:00 ET
    assert CAL.is_open(t("2026-11-27T17:59:59Z"))
    assert not CAL.is_open(t("2026-11-27T18:00:00Z"))
    assert CAL.next_close(t("2026-11-27T15:00:00Z")) == t("2026-11-27T18:00:00Z")


def test_weekend_is_closed_and_next_open_is_monday() -> None:
    assert CAL.session(date(2026, 11, 28)) is None
    assert CAL.session(date(2026, 11, 29)) is None
    sat = t("2026-11-28T16:00:00Z")
    assert not CAL.is_open(sat)
    assert CAL.next_open(sat) == t("2026-11-30T14:30:00Z")
    assert CAL.next_close(sat) == t("2026-11-30T21:00:00Z")


def test_sessions_range_and_open_seconds() -> None:
    week = CAL.sessions(date(2026, 11, 23), date(2026, 11, 30))
    assert [s.day.day for s in week] == [23, 24, 25, 27, 30]
    secs = CAL.open_seconds_between(t("2026-11-23T00:00:00Z"), t("2026-11-28T00:00:00Z"))
    assert secs == 3 * 6.5 * 3600 + 3.5 * 3600
    half = CAL.open_seconds_between(t("2026-11-23T14:30:00Z"), t("2026-11-23T15:30:00Z"))
    assert half == 3600


def test_daylight_saving_moves_the_utc_open() -> None:
    assert CAL.session(date(2026, 3, 6)).open == t("2026-03-06T14:30:00Z")  # type: ignore[union-attr]
    assert CAL.session(date(2026, 3, 9)).open == t("2026-03-09T13:30:00Z")  # type: ignore[union-attr]


def test_boundaries_between() -> None:
    closes = CAL.closes_between(t("2026-11-25T00:00:00Z"), t("2026-11-30T00:00:00Z"))
    assert closes == [t("2026-11-25T21:00:00Z"), t("2026-11-27T18:00:00Z")]
    opens = CAL.opens_between(t("2026-11-25T14:30:00Z"), t("2026-11-30T14:30:00Z"))
    assert opens == [t("2026-11-27T14:30:00Z"), t("2026-11-30T14:30:00Z")]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.is_open(datetime(2026, 11, 23, 15, 0))


def test_calendar_and_clock_json_use_exchange_time() -> None:
    days = calendar_json(CAL, date(2026, 11, 25), date(2026, 11, 27))
    assert days == [
        {"date": "2026-11-25", "open": "09:30", "close": "16:00", "session_open": "0400",
         "session_close": "2000", "settlement_date": "2026-11-27"},
        {"date": "2026-11-27", "open": "09:30", "close": "13:00", "session_open": "0400",
         "session_close": "2000", "settlement_date": "2026-11-30"},
    ]  # fmt: skip
    c = clock_json(CAL, t("2026-11-27T15:00:00Z"))
    assert c == {
        "timestamp": "2026-11-27T10:00:00-05:00",
        "is_open": True,
        "next_open": "2026-11-30T09:30:00-05:00",
        "next_close": "2026-11-27T13:00:00-05:00",
    }


def test_extended_hours_windows() -> None:
    assert CAL.is_extended_open(t("2026-11-23T09:00:00Z"))  # 04:00 ET
    assert not CAL.is_extended_open(t("2026-11-23T08:59:59Z"))
    assert CAL.is_extended_open(t("2026-11-24T00:59:59Z"))  # 19:59:59 ET Monday
    assert not CAL.is_extended_open(t("2026-11-24T01:00:00Z"))
    assert CAL.is_extended_open(t("2026-11-27T21:59:00Z"))  # early close: until 17:00 ET
    assert not CAL.is_extended_open(t("2026-11-27T22:00:00Z"))
    assert not CAL.is_extended_open(t("2026-11-26T15:00:00Z"))  # Thanksgiving
    assert CAL.next_extended_close(t("2026-11-23T22:00:00Z")) == t("2026-11-24T01:00:00Z")
    assert CAL.next_extended_close(t("2026-11-24T01:00:00Z")) == t("2026-11-25T01:00:00Z")


def test_any_year_is_covered_by_computing_more_on_demand() -> None:
    """No fixed end: a lookup decades past the first range computes that block (the holiday
    rules), so a sim running in any year has sessions, holidays and DST right."""
    cal = MarketCalendar.nyse()
    assert cal.session(date(2051, 7, 4)) is None  # Independence Day, a Tuesday
    s = cal.session(date(2051, 7, 5))
    assert s is not None and s.open == t("2051-07-05T13:30:00Z")  # EDT
    assert cal.next_open(t("2051-12-31T23:00:00Z")) == t("2052-01-02T14:30:00Z")  # EST
    first, last = cal.covered_years()
    assert first <= 1990 and last >= 2052
    # and backwards
    assert cal.session(date(1975, 12, 25)) is None
    assert cal.session(date(1975, 12, 26)) is not None


def test_a_calendar_of_given_sessions_does_not_grow() -> None:
    only = CAL.sessions(date(2026, 11, 23), date(2026, 11, 25))
    cal = MarketCalendar(list(only))
    with pytest.raises(ValueError, match="covers 2026-11-23 to 2026-11-25 only"):
        cal.next_open(t("2026-11-25T22:00:00Z"))
