"""Daily bars from Alpaca's market-data REST (``GET /v2/stocks/bars``, ``timeframe=1Day``,
``adjustment=all``) as the venue-neutral ``DailyBar`` of ``adapters.ports``.

The window ends just before midnight New York time of ``before`` (the broker's today, from
the caller), so today's partial bar never enters an estimate and a free plan's "no recent
SIP data" rule never applies. It starts far enough back to hold ``sessions`` sessions
(weekends and about nine holidays a year).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.alpaca.rest import AlpacaRest
from adapters.alpaca.wire import RestBar
from adapters.ports import DailyBar

__all__ = ["AlpacaDailyBars", "bars_between", "bars_window", "historical_feed"]

NEW_YORK = ZoneInfo("America/New_York")


def historical_feed(stream_feed: str) -> str:
    """The historical-data feed for a stream feed: ``test`` has no history, so ``iex``."""
    return "iex" if stream_feed == "test" else stream_feed


def bars_window(before: date, sessions: int) -> tuple[datetime, datetime]:
    """``(start, end)``, inclusive, covering at least ``sessions`` sessions before ``before``."""
    calendar_days = math.ceil(sessions * 7 / 5) + 10 + math.ceil(sessions / 252) * 9
    start = datetime.combine(before - timedelta(days=calendar_days), time(0), NEW_YORK)
    end = datetime.combine(before, time(0), NEW_YORK) - timedelta(seconds=1)
    return start, end


async def bars_between(
    rest: AlpacaRest,
    symbols: Sequence[str],
    first: date,
    last: date,
    feed: str,
    *,
    page_limit: int = 10_000,
    max_pages: int | None = None,
) -> dict[str, list[DailyBar]]:
    """Every session's adjusted (``adjustment=all``) bar from ``first`` to ``last``
    (inclusive, New York session days), every page until the host says there is no next
    one (``max_pages``: a cap, none by default); a symbol without bars is absent."""
    start = datetime.combine(first, time(0), NEW_YORK)
    end = datetime.combine(last + timedelta(days=1), time(0), NEW_YORK) - timedelta(seconds=1)
    raw = await rest.stock_bars(
        symbols, start=start, end=end, feed=historical_feed(feed), adjustment="all",
        page_limit=page_limit, max_pages=max_pages,
    )  # fmt: skip
    return {s: _daily(bars) for s, bars in raw.items() if bars}


def _daily(bars: Sequence[RestBar]) -> list[DailyBar]:
    return [DailyBar(b.t.astimezone(NEW_YORK).date(), float(b.c), float(b.v)) for b in bars]


class AlpacaDailyBars:
    """A ``DailyBarsSource`` over one ``AlpacaRest`` (its data host and data limiter)."""

    def __init__(self, rest: AlpacaRest, feed: str) -> None:
        self.rest = rest
        self.feed = historical_feed(feed)

    async def daily_bars(
        self, symbols: Sequence[str], before: date, sessions: int
    ) -> Mapping[str, Sequence[DailyBar]]:
        if not symbols:
            return {}
        start, end = bars_window(before, sessions)
        raw = await self.rest.stock_bars(
            symbols, start=start, end=end, feed=self.feed, adjustment="all"
        )
        out: dict[str, list[DailyBar]] = {}
        for symbol, bars in raw.items():
            kept = [r for r in _daily(bars) if r.day < before]
            if kept:
                out[symbol] = kept
        return out
