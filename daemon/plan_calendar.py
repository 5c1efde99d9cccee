"""NYSE sessions and a market clock around any moment, for ``rebalanced plan``.

``exchange_calendars``' default calendar ends about a year ahead, so a plan for a later date
said "market closed". The sessions come from the paper exchange's NYSE calendar, which
computes any year on demand, a year either side of the moment asked about (the calendar
rules look back to roll a date onto the previous session and forward to the next one).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from daemon.core.events import MarketClock
from daemon.core.model import TradingSession

SPAN = timedelta(days=370)


def nyse_sessions(now: datetime, span: timedelta = SPAN) -> tuple[TradingSession, ...]:
    """NYSE sessions from ``now − span`` to ``now + span``: the paper exchange's calendar
    (exchange_calendars' rules, computed for whatever years are asked)."""
    from adapters.sim.market_calendar import MarketCalendar  # heavy: only when planning

    return tuple(MarketCalendar.nyse().sessions((now - span).date(), (now + span).date()))


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
