"""Exchange-local time helpers: which session a moment falls in, and the trading window.

Pure: "now" is always handed in (an aware datetime from an event), sessions come from the
broker's calendar (``MarketClock.sessions``). Local times use ``zoneinfo`` so DST is right.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from daemon.core.model import TradingSession


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz`` (e.g. "America/New_York"); a clear error if it is unknown."""
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(
            f"unknown time zone {tz!r}: use an IANA name such as 'America/New_York'"
        ) from exc


def require_aware(now: datetime, what: str = "now") -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(
            f"{what} must be an aware datetime (got naive {now.isoformat()}); attach the "
            "time zone (events carry UTC; calendar times are exchange-local)"
        )


def local_date(now: datetime, tz: str) -> date:
    """The exchange-local calendar date of the aware moment ``now``."""
    require_aware(now)
    return now.astimezone(zone(tz)).date()


@lru_cache(maxsize=4096)  # pure: the same day, time and zone always give the same moment
def local_at(day: date, at: time, tz: str) -> datetime:
    """``day`` at wall-clock ``at`` in ``tz``, as an aware UTC datetime (DST-correct)."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone(tz)).astimezone(UTC)


def session_on(day: date, sessions: Sequence[TradingSession]) -> TradingSession | None:
    """The session whose (exchange-local) date is ``day``, if any."""
    for s in sessions:
        if s.day == day:
            return s
    return None


@lru_cache(maxsize=1024)  # pure (a backtest asks for each row's window many times)
def window_bounds(
    session: TradingSession, window_start: time, window_end: time, tz: str
) -> tuple[datetime, datetime]:
    """The trading window on ``session``'s day as aware UTC (start, end): the configured
    local window clipped to the session's open/close (so an early close ends it early).
    ``start > end`` means the window is empty that day."""
    require_aware(session.open, f"session {session.day} open")
    require_aware(session.close, f"session {session.day} close")
    start = max(local_at(session.day, window_start, tz), session.open.astimezone(UTC))
    end = min(local_at(session.day, window_end, tz), session.close.astimezone(UTC))
    return start, end


def fmt_local(moment: datetime, tz: str) -> str:
    """``2026-11-02 10:00 EST`` — for human-readable reasons."""
    local = moment.astimezone(zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
