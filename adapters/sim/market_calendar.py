"""NYSE trading sessions for the paper exchange: holidays, weekends and early closes.

Backed by ``exchange_calendars`` ("XNYS"), read into sorted lists so every lookup is a
bisect (no pandas on the hot path). All datetimes in and out are aware; results are UTC.

The calendar covers whatever year it is asked about: it starts with ``FIRST_YEAR`` to
``LAST_YEAR`` and computes further blocks of ``BLOCK_YEARS`` from the exchange's holiday
rules the first time a time outside them is looked up (exchange_calendars' own default
range ends about a year ahead of today, so a fixed range is a time bomb).
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from daemon.core.model import TradingSession

NEW_YORK = ZoneInfo("America/New_York")
FIRST_YEAR = 1990
LAST_YEAR = 2035
BLOCK_YEARS = 10  # how much more is computed when a lookup leaves the covered years
PRE_MARKET = timedelta(hours=5, minutes=30)  # 04:00 ET before a 09:30 open
AFTER_HOURS = timedelta(hours=4)  # until 20:00 ET after a 16:00 close (17:00 after 13:00)


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: pass an aware datetime (e.g. tzinfo=UTC)")
    return t


class MarketCalendar:
    """Regular trading hours of one exchange. ``source(first_year, last_year)`` computes
    the sessions of more years on demand (``nyse()`` wires exchange_calendars); without it
    the calendar is exactly the sessions given."""

    def __init__(
        self,
        sessions: list[TradingSession],
        source: Callable[[int, int], list[TradingSession]] | None = None,
    ) -> None:
        if not sessions:
            raise ValueError("a market calendar needs at least one session")
        self._source = source
        self._set(sessions)
        # the years computed so far (whole years, even where the sessions are sparse)
        self._first_year = sessions[0].day.year
        self._last_year = sessions[-1].day.year

    def _set(self, sessions: list[TradingSession]) -> None:
        self._sessions = sessions
        self._days = [s.day for s in sessions]
        self._opens = [s.open for s in sessions]
        self._closes = [s.close for s in sessions]
        self._by_day = {s.day: s for s in sessions}

    def _cover(self, year: int) -> None:
        """Make sure ``year`` and its neighbours are computed (a lookup near New Year
        looks into the next or previous year)."""
        if self._first_year < year < self._last_year or self._source is None:
            return
        more: list[TradingSession] = []
        if year - 1 < self._first_year:
            lo = min(year - 1, self._first_year - BLOCK_YEARS)
            more += self._source(lo, self._first_year - 1)
            self._first_year = lo
        if year + 1 > self._last_year:
            hi = max(year + 1, self._last_year + BLOCK_YEARS)
            more += self._source(self._last_year + 1, hi)
            self._last_year = hi
        if more:
            self._set(sorted([*self._sessions, *more], key=lambda s: s.day))

    def covered_years(self) -> tuple[int, int]:
        return self._first_year, self._last_year

    @classmethod
    def nyse(cls) -> MarketCalendar:
        return _nyse()

    # -- lookups ---------------------------------------------------------------------------
    def session(self, day: date) -> TradingSession | None:
        """The session on ``day`` (exchange-local date), or None on weekends and holidays."""
        self._cover(day.year)
        return self._by_day.get(day)

    def sessions(self, start: date, end: date) -> list[TradingSession]:
        """Sessions with ``start <= day <= end``."""
        self._cover(start.year)
        self._cover(end.year)
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return self._sessions[lo:hi]

    def is_open(self, t: datetime) -> bool:
        """True during regular trading hours: open <= t < close."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._opens, _aware(t)) - 1
        return i >= 0 and t < self._closes[i]

    def current_session(self, t: datetime) -> TradingSession | None:
        """The session whose hours contain ``t``, if the market is open."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._opens, _aware(t)) - 1
        if i >= 0 and t < self._closes[i]:
            return self._sessions[i]
        return None

    def is_extended_open(self, t: datetime) -> bool:
        """Inside a session day's extended hours: 04:00 ET to 4 h after the close (20:00,
        or 17:00 on an early-close day), regular hours included."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._opens, _aware(t) + PRE_MARKET) - 1
        return i >= 0 and t < self._closes[i] + AFTER_HOURS

    def next_extended_close(self, t: datetime) -> datetime:
        """The first end of after-hours trading strictly after ``t``."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._closes, _aware(t) - AFTER_HOURS)
        return self._at(self._closes, i, t) + AFTER_HOURS

    def next_open(self, t: datetime) -> datetime:
        """The first session open strictly after ``t``."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._opens, _aware(t))
        return self._at(self._opens, i, t)

    def next_close(self, t: datetime) -> datetime:
        """The first session close strictly after ``t`` (today's close while open)."""
        self._cover(_aware(t).year)
        i = bisect.bisect_right(self._closes, _aware(t))
        return self._at(self._closes, i, t)

    def closes_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Session closes ``c`` with ``start < c <= end``."""
        self._cover(_aware(start).year)
        self._cover(_aware(end).year)
        lo = bisect.bisect_right(self._closes, _aware(start))
        hi = bisect.bisect_right(self._closes, _aware(end))
        return self._closes[lo:hi]

    def opens_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Session opens ``o`` with ``start < o <= end``."""
        self._cover(_aware(start).year)
        self._cover(_aware(end).year)
        lo = bisect.bisect_right(self._opens, _aware(start))
        hi = bisect.bisect_right(self._opens, _aware(end))
        return self._opens[lo:hi]

    def open_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of regular trading hours inside ``[start, end)``."""
        if end <= start:
            return 0.0
        self._cover(_aware(start).year)
        self._cover(_aware(end).year)
        lo = max(bisect.bisect_right(self._closes, _aware(start)), 0)
        total = 0.0
        for i in range(lo, len(self._sessions)):
            o, c = self._opens[i], self._closes[i]
            if o >= end:
                break
            a, b = max(o, start), min(c, end)
            if b > a:
                total += (b - a).total_seconds()
        return total

    def _at(self, xs: list[datetime], i: int, t: datetime) -> datetime:
        if i >= len(xs):
            raise ValueError(
                f"{t.isoformat()} is past the last known session ({self._days[-1]}); "
                f"this calendar covers {self._days[0]} to {self._days[-1]} only"
            )
        return xs[i]


@lru_cache(maxsize=1)
def _nyse() -> MarketCalendar:
    return MarketCalendar(nyse_sessions(FIRST_YEAR, LAST_YEAR), source=nyse_sessions)


def nyse_sessions(first_year: int, last_year: int) -> list[TradingSession]:
    """NYSE sessions from 1 January ``first_year`` to 31 December ``last_year``, from
    exchange_calendars' rules (any years: the range is passed explicitly)."""
    import exchange_calendars as xc  # type: ignore[import-untyped]  # heavy import, once

    with warnings.catch_warnings():
        # exchange_calendars trips pandas deprecation warnings inside; not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*Series.values.*")
        cal = xc.get_calendar("XNYS", start=f"{first_year}-01-01", end=f"{last_year}-12-31")
        sched = cal.schedule
        days = [d.date() for d in sched.index]
        opens = [o.to_pydatetime().astimezone(UTC) for o in sched["open"].array]
        closes = [c.to_pydatetime().astimezone(UTC) for c in sched["close"].array]
    return [
        TradingSession(day=d, open=o, close=c) for d, o, c in zip(days, opens, closes, strict=True)
    ]


def to_new_york(t: datetime) -> datetime:
    return _aware(t).astimezone(NEW_YORK)


def local_day(t: datetime) -> date:
    """The exchange-local calendar date of ``t``."""
    return to_new_york(t).date()
