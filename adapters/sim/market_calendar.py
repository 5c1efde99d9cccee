"""NYSE trading sessions for the paper exchange: holidays, weekends and early closes.

Backed by ``exchange_calendars`` ("XNYS"), read once into sorted lists so every lookup is a
bisect (no pandas on the hot path). All datetimes in and out are aware; results are UTC.
"""

from __future__ import annotations

import bisect
import warnings
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from daemon.core.model import TradingSession

NEW_YORK = ZoneInfo("America/New_York")
FIRST_YEAR = 1990
LAST_YEAR = 2035
PRE_MARKET = timedelta(hours=5, minutes=30)  # 04:00 ET before a 09:30 open
AFTER_HOURS = timedelta(hours=4)  # until 20:00 ET after a 16:00 close (17:00 after 13:00)


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: pass an aware datetime (e.g. tzinfo=UTC)")
    return t


class MarketCalendar:
    """Regular trading hours of one exchange between ``FIRST_YEAR`` and ``LAST_YEAR``."""

    def __init__(self, sessions: list[TradingSession]) -> None:
        if not sessions:
            raise ValueError("a market calendar needs at least one session")
        self._sessions = sessions
        self._days = [s.day for s in sessions]
        self._opens = [s.open for s in sessions]
        self._closes = [s.close for s in sessions]
        self._by_day = {s.day: s for s in sessions}

    @classmethod
    def nyse(cls) -> MarketCalendar:
        return _nyse()

    # -- lookups ---------------------------------------------------------------------------
    def session(self, day: date) -> TradingSession | None:
        """The session on ``day`` (exchange-local date), or None on weekends and holidays."""
        return self._by_day.get(day)

    def sessions(self, start: date, end: date) -> list[TradingSession]:
        """Sessions with ``start <= day <= end``."""
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return self._sessions[lo:hi]

    def is_open(self, t: datetime) -> bool:
        """True during regular trading hours: open <= t < close."""
        i = bisect.bisect_right(self._opens, _aware(t)) - 1
        return i >= 0 and t < self._closes[i]

    def current_session(self, t: datetime) -> TradingSession | None:
        """The session whose hours contain ``t``, if the market is open."""
        i = bisect.bisect_right(self._opens, _aware(t)) - 1
        if i >= 0 and t < self._closes[i]:
            return self._sessions[i]
        return None

    def is_extended_open(self, t: datetime) -> bool:
        """Inside a session day's extended hours: 04:00 ET to 4 h after the close (20:00,
        or 17:00 on an early-close day), regular hours included."""
        i = bisect.bisect_right(self._opens, _aware(t) + PRE_MARKET) - 1
        return i >= 0 and t < self._closes[i] + AFTER_HOURS

    def next_extended_close(self, t: datetime) -> datetime:
        """The first end of after-hours trading strictly after ``t``."""
        i = bisect.bisect_right(self._closes, _aware(t) - AFTER_HOURS)
        return self._at(self._closes, i, t) + AFTER_HOURS

    def next_open(self, t: datetime) -> datetime:
        """The first session open strictly after ``t``."""
        i = bisect.bisect_right(self._opens, _aware(t))
        return self._at(self._opens, i, t)

    def next_close(self, t: datetime) -> datetime:
        """The first session close strictly after ``t`` (today's close while open)."""
        i = bisect.bisect_right(self._closes, _aware(t))
        return self._at(self._closes, i, t)

    def closes_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Session closes ``c`` with ``start < c <= end``."""
        lo = bisect.bisect_right(self._closes, _aware(start))
        hi = bisect.bisect_right(self._closes, _aware(end))
        return self._closes[lo:hi]

    def opens_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Session opens ``o`` with ``start < o <= end``."""
        lo = bisect.bisect_right(self._opens, _aware(start))
        hi = bisect.bisect_right(self._opens, _aware(end))
        return self._opens[lo:hi]

    def open_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of regular trading hours inside ``[start, end)``."""
        if end <= start:
            return 0.0
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
                f"the calendar covers {FIRST_YEAR}-{LAST_YEAR}"
            )
        return xs[i]


@lru_cache(maxsize=1)
def _nyse() -> MarketCalendar:
    import exchange_calendars as xc  # type: ignore[import-untyped]  # heavy import, once

    with warnings.catch_warnings():
        # exchange_calendars trips pandas deprecation warnings inside; not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*Series.values.*")
        cal = xc.get_calendar("XNYS", start=f"{FIRST_YEAR}-01-01", end=f"{LAST_YEAR}-12-31")
        sched = cal.schedule
        days = [d.date() for d in sched.index]
        opens = [o.to_pydatetime().astimezone(UTC) for o in sched["open"].array]
        closes = [c.to_pydatetime().astimezone(UTC) for c in sched["close"].array]
    return MarketCalendar(
        [
            TradingSession(day=d, open=o, close=c)
            for d, o, c in zip(days, opens, closes, strict=True)
        ]
    )


def to_new_york(t: datetime) -> datetime:
    return _aware(t).astimezone(NEW_YORK)


def local_day(t: datetime) -> date:
    """The exchange-local calendar date of ``t``."""
    return to_new_york(t).date()
