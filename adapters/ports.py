"""Ports: the small interfaces the shell drives. Each venue (alpaca, sim) and the store
implement them; the runtime depends only on these.

Producers hand events to ``emit``: a plain (non-blocking) callable that puts the event on
the shell's bounded queue. Streams run until cancelled and reconnect by themselves,
reporting ``FeedLost``/``FeedRestored`` around gaps; ``stats()`` (``FeedStatsSource``)
tells the shell how they fare.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from daemon.core.commands import CancelOrder, Command, PlaceOrder
from daemon.core.config.tax import TaxConfig
from daemon.core.events import (
    AccountSnapshot,
    BrokerOrder,
    Event,
    MarketClock,
    QuoteUpdated,
)
from daemon.core.model import TradingState
from daemon.core.tax.ledger import LinkedPurchase
from daemon.core.tax.live_lots import SeedLots

Emit = Callable[[Event], None]


class OrderGateway(Protocol):
    async def submit(self, order: PlaceOrder, *, rank: int = 0) -> Event:
        """POST the order once. Returns OrderAccepted, OrderRejected (a definite 4xx no),
        or OrderSubmitFailed(NOT_SENT | UNKNOWN). Never retries the POST itself. ``rank``
        orders waiters at the rate limiter (0 first): the shell ranks a batch by size so
        the largest deviations go first when the request budget is short."""
        ...

    async def cancel(self, cancel: CancelOrder) -> Event | None:
        """Request a cancel. The final state arrives on the trade stream; a 422 (not
        cancelable: the order is already final) comes back as ``OrderCancelFailed`` so the
        engine looks the order up; an order the broker does not know as ``OrderNotFound``."""
        ...

    async def lookup(self, client_order_id: str) -> list[Event]:
        """Ask the broker what became of an order: the events that bring our view up to
        date (OrderAccepted, OrderFilled with cum_qty, OrderCanceled, OrderRejected) or
        [OrderNotFound]."""
        ...


class AccountSource(Protocol):
    async def snapshot(self) -> AccountSnapshot: ...

    async def clock(self) -> MarketClock: ...

    async def orders_since(self, after: datetime) -> Sequence[BrokerOrder]: ...

    async def latest_quotes(self, symbols: Iterable[str]) -> Sequence[QuoteUpdated]: ...


@dataclass(frozen=True, slots=True)
class FeedStats:
    """What a feed reports for readiness and metrics, read at scrape time."""

    connected: bool  # between FeedRestored and FeedLost
    reconnects: int  # sessions after the first
    last_message_age_seconds: float  # since the last frame received (0 before the first)
    messages: int  # messages decoded
    malformed: int  # frames or messages dropped as undecodable
    refusals: int = 0  # 406 connection limit / HTTP 429: backed off and retried


class FeedStatsSource(Protocol):
    def stats(self) -> FeedStats:
        """The feed's counters now (cheap: no I/O)."""
        ...


class MarketDataFeed(FeedStatsSource, Protocol):
    async def run(self, symbols: Sequence[str], emit: Emit) -> None:
        """Stream quotes (QuoteUpdated), halts (TradingStatusChanged) until cancelled."""
        ...


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One session's close (split- and dividend-adjusted) and volume (shares)."""

    day: date  # the exchange-local session date
    close: float
    volume: float


class DailyBarsSource(Protocol):
    async def daily_bars(
        self, symbols: Sequence[str], before: date, sessions: int
    ) -> Mapping[str, Sequence[DailyBar]]:
        """At least the last ``sessions`` closed sessions before ``before`` per symbol
        (fewer when the history is shorter; a symbol without bars is absent). Raises on
        a failed request."""
        ...


class TradeUpdatesFeed(FeedStatsSource, Protocol):
    async def run(self, emit: Emit) -> None:
        """Stream order events until cancelled; fills deduplicated by execution_id."""
        ...


class Journal(Protocol):
    """The audit journal (adapters/store). Writes are ordered and non-blocking, except
    ``record_intent`` (and ``record_intents``' awaitables) and ``set_trading_state``, which
    return only once durable (the intent must precede the POST). Reads serve start-up recovery."""

    @property
    def write_errors(self) -> int:
        """Failed writes so far (for the metric)."""
        ...

    @property
    def writes_failing(self) -> bool:
        """True while writes fail (the last one did): no new decisions until they work."""
        ...

    def record_event(self, event: Event) -> None: ...

    def record_command(self, command: Command) -> None: ...

    async def record_intent(self, order: PlaceOrder) -> None: ...

    def record_intents(self, orders: Sequence[PlaceOrder]) -> Sequence[Awaitable[None]]:
        """Group commit: one fsync for orders released together; await an order's
        awaitable before its POST (``SqliteJournal.record_intents``)."""
        ...

    def record(self, kind: str, payload: dict[str, Any]) -> None: ...

    async def set_trading_state(self, state: TradingState, reason: str) -> None: ...

    def trading_state(self) -> tuple[TradingState, str] | None: ...

    def unresolved_intents(self) -> list[PlaceOrder]: ...

    def seed_lots(
        self, tax: TaxConfig, linked: Sequence[LinkedPurchase] = ()
    ) -> SeedLots: ...

    async def flush(self) -> None: ...
