"""What the Engine knows about the market and its own connections: the latest quotes and
market statistics (``MarketData``), and the rules that say "no order now" (``Gates``): the
market clock and sessions, lost feeds, the reconcile awaited after the trade-updates feed
came back, venue halts per symbol, shutdown.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from daemon.core.config.values import Config, TriggerConfig
from daemon.core.events import (
    CovarianceEstimated,
    MarketClock,
    MarketStatsBatch,
    MarketStatsUpdated,
    QuoteUpdated,
)
from daemon.core.model import Quote, TradingSession, TradingState
from daemon.core.planning.benefit import MarketCovariance
from daemon.core.triggers.rules import in_trading_window

TRADE_UPDATES = "trade_updates"


class MarketData:
    """The latest quote event per symbol (kept as it came: the hot path allocates nothing)
    and adv/sigma per symbol (MarketStatsUpdated or a MarketStatsBatch of them, else the
    asset's config)."""

    __slots__ = ("covariance", "last", "stats")

    def __init__(self, config: Config) -> None:
        self.last: dict[str, QuoteUpdated] = {}
        self.stats: dict[str, tuple[float | None, float | None]] = {}
        self.covariance: CovarianceEstimated | None = None  # the latest market estimate
        self.load_config(config)

    def load_config(self, config: Config) -> None:
        for a in config.portfolio.assets:
            adv, sigma = self.stats.get(a.symbol, (None, None))
            self.stats[a.symbol] = (adv or a.adv, sigma or a.sigma)

    def on_stats(self, e: MarketStatsUpdated) -> None:
        adv, sigma = self.stats.get(e.symbol, (None, None))
        self.stats[e.symbol] = (
            e.adv if e.adv is not None else adv,
            e.sigma if e.sigma is not None else sigma,
        )

    def on_stats_batch(self, e: MarketStatsBatch) -> None:
        """``on_stats`` for each ``(symbol, adv, sigma)`` of ``e.stats``, in order."""
        stats = self.stats
        for symbol, new_adv, new_sigma in e.stats:  # on_stats, inlined: keep the two in step
            adv, sigma = stats.get(symbol, (None, None))
            stats[symbol] = (
                new_adv if new_adv is not None else adv,
                new_sigma if new_sigma is not None else sigma,
            )

    def on_covariance(self, e: CovarianceEstimated) -> None:
        self.covariance = e

    def market_covariance(self) -> MarketCovariance | None:
        """The latest market estimate as the benefit model takes it (None: none yet)."""
        c = self.covariance
        return None if c is None else (c.symbols, c.daily)

    def quotes(self) -> dict[str, Quote]:
        """A ``Quote`` per symbol for the planner (``at`` = the quote event's time)."""
        stats = self.stats
        out: dict[str, Quote] = {}
        for s, e in self.last.items():
            adv, sigma = stats.get(s, (None, None))
            out[s] = Quote(s, e.bid, e.ask, e.at, e.bid_size, e.ask_size, adv, sigma)
        return out


class Gates:
    __slots__ = ("await_reconcile", "clock", "halted_symbols", "lost", "sessions", "shutdown")

    def __init__(self) -> None:
        self.clock: MarketClock | None = None
        self.sessions: tuple[TradingSession, ...] = ()
        self.lost: set[str] = set()
        self.await_reconcile = False
        self.halted_symbols: set[str] = set()
        self.shutdown = False

    def on_clock(self, clock: MarketClock) -> None:
        self.clock = clock
        if clock.sessions:
            self.sessions = clock.sessions

    def market_open(self, now: datetime) -> bool:
        """Open at ``now`` by the last clock (moved on by its next_open / next_close)."""
        c = self.clock
        if c is None:
            return False
        if c.is_open:
            return now < c.next_close
        return c.next_open <= now < c.next_close

    def blockers(
        self,
        now: datetime,
        trigger: TriggerConfig,
        trading_state: TradingState,
        has_snapshot: bool,
        symbols: Iterable[str] = (),
        quoted: Collection[str] = (),
    ) -> list[str]:
        """Why no order may be placed at ``now`` (empty when one may). ``symbols`` missing
        from ``quoted`` block too (pass none to skip the quote check)."""
        out: list[str] = []
        if self.shutdown:
            out.append("shutting down")
        if trading_state is TradingState.HALTED:
            out.append("trading halted")
        if not has_snapshot:
            out.append("no account snapshot yet")
        if self.await_reconcile:
            out.append(f"waiting for a reconcile after the {TRADE_UPDATES} feed came back")
        out.extend(f"feed lost: {f}" for f in sorted(self.lost))
        if self.clock is None:
            out.append("no market clock yet")
        elif not self.market_open(now):
            out.append("market closed")
        elif self.sessions and not in_trading_window(trigger, now, self.sessions):
            out.append("outside the trading window")
        missing = [s for s in symbols if s not in quoted]
        if missing:
            out.append("no quote yet for " + ", ".join(missing))
        return out


__all__ = ["TRADE_UPDATES", "Gates", "MarketData"]
