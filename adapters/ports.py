"""Ports: the small interfaces the shell drives. Each venue (alpaca, sim) and the store
implement them; the runtime depends only on these.

Producers hand events to ``emit``: a plain (non-blocking) callable that puts the event on
the shell's bounded queue. Streams run until cancelled and reconnect by themselves,
reporting ``FeedLost``/``FeedRestored`` around gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.core.events import (
    AccountSnapshot,
    BrokerOrder,
    Event,
    MarketClock,
    QuoteUpdated,
)

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
        cancelable) may come back as None (the order is already final)."""
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


class MarketDataFeed(Protocol):
    async def run(self, symbols: Sequence[str], emit: Emit) -> None:
        """Stream quotes (QuoteUpdated), halts (TradingStatusChanged) until cancelled."""
        ...


class TradeUpdatesFeed(Protocol):
    async def run(self, emit: Emit) -> None:
        """Stream order events until cancelled; fills deduplicated by execution_id."""
        ...


class Journal(Protocol):
    """The audit journal (adapters/store). Writes are ordered; ``record_intent`` returns
    only once the intent is durable, because it must precede the POST."""

    async def record_intent(self, order: PlaceOrder) -> None: ...

    def record(self, kind: str, payload: dict[str, Any]) -> None: ...

    async def flush(self) -> None: ...
