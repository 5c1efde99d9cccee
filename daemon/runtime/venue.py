"""What the shell needs from a venue: the four ports plus stats for metrics, in one bundle
built by the composition root (``adapters.alpaca.venue`` for Alpaca and for the paper
exchange, which speaks the same protocol)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from adapters.ports import (
    AccountSource,
    DailyBarsSource,
    FeedStats,
    MarketDataFeed,
    OrderGateway,
    TradeUpdatesFeed,
)
from daemon.core.events import SplitAnnounced
from daemon.runtime.metrics import LimiterStats


async def _nothing() -> None:
    return None


@dataclass
class Venue:
    account: AccountSource
    gateway: OrderGateway
    market_data: MarketDataFeed
    trade_updates: TradeUpdatesFeed
    limiter_stats: Callable[[], LimiterStats | None] = field(default=lambda: None)
    close: Callable[[], Awaitable[None]] = _nothing
    daily_bars: DailyBarsSource | None = None  # market statistics; None: config values only
    # the broker's split records (SplitAnnounced) for symbols; None: only snapshots and the
    # operator clear a suspected split
    splits: Callable[[Sequence[str]], Awaitable[Sequence[SplitAnnounced]]] | None = None

    def stream_stats(self) -> dict[str, FeedStats]:
        """Both feeds' ``stats()`` (the ``FeedStatsSource`` port), by stream name."""
        return {"market_data": self.market_data.stats(),
                "trade_updates": self.trade_updates.stats()}
