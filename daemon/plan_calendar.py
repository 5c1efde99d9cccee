"""NYSE sessions and a market clock around any moment, for ``rebalanced plan``.

``exchange_calendars``' default calendar ends about a year ahead, so a plan for a later date
said "market closed". Here the calendar is built with an explicit ``start``/``end`` around
the moment asked about (a year either side: the calendar rules look back to roll a date
onto the previous session and forward to the next one), so any year it covers works.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from typing import Any

from daemon.core.events import MarketClock
from daemon.core.model import TradingSession

SPAN = timedelta(days=370)


def nyse_sessions(now: datetime, span: timedelta = SPAN) -> tuple[TradingSession, ...]:
    """NYSE sessions from ``now − span`` to ``now + span`` (exchange_calendars, "XNYS")."""
    import exchange_calendars as xcals  # heavy: only when planning

    start, end = (now - span).date(), (now + span).date()
    with warnings.catch_warnings():  # pandas deprecation noise from inside the library
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=start.isoformat(), end=end.isoformat())
        return _sessions(cal, start, end)


def _sessions(cal: Any, start: date, end: date) -> tuple[TradingSession, ...]:
    start = max(start, cal.first_session.date())  # the bounds may fall on a weekend
    end = min(end, cal.last_session.date())
    if start > end:
        return ()
    out = []
    for day in cal.sessions_in_range(start.isoformat(), end.isoformat()):
        out.append(
            TradingSession(
                day.date(),
                cal.session_open(day).to_pydatetime(),
                cal.session_close(day).to_pydatetime(),
            )
        )
    return tuple(out)


def market_clock(now: datetime, sessions: tuple[TradingSession, ...]) -> MarketClock:
    """The clock a broker would report at ``now``: open inside a session, else the next
    session's open and close (the last session's close when none is left)."""
    for s in sessions:
        if s.open <= now < s.close:
            return MarketClock(now, True, _next_open(now, sessions), s.close, sessions)
        if s.open > now:
            return MarketClock(now, False, s.open, s.close, sessions)
    last = sessions[-1].close if sessions else now
    return MarketClock(now, False, max(last, now), max(last, now), sessions)


def _next_open(now: datetime, sessions: tuple[TradingSession, ...]) -> datetime:
    for s in sessions:
        if s.open > now:
            return s.open
    return now


__all__ = ["market_clock", "nyse_sessions"]
