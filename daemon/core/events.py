"""Events: facts, in the past tense, handed to ``Engine.handle``.

Every event carries ``at``, an aware UTC datetime: the core's only notion of "now".
Adapters build these from wire formats; the core never reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.core.model import OrderState, Side, TradingSession, TradingState

if TYPE_CHECKING:
    from daemon.core.config.values import Config


class SubmitOutcome(enum.StrEnum):
    """What the order path knows after a failed submit."""

    NOT_SENT = "not_sent"  # provably never reached the broker (connect refused, 4xx validation)
    UNKNOWN = "unknown"  # timeout, 5xx, 429, dropped connection: ask the broker, never resend


@dataclass(frozen=True, slots=True)
class QuoteUpdated:
    at: datetime
    symbol: str
    bid: float
    ask: float
    bid_size: float = 0.0
    ask_size: float = 0.0


@dataclass(frozen=True, slots=True)
class QuoteBatch:
    """The quotes of one websocket frame (or one backtest row), in arrival order. The
    engine updates prices and drift per quote, exactly as for ``QuoteUpdated`` one by one,
    and decides at most once, after the last quote, at ``at`` (when the frame arrived: no
    earlier than its newest quote). A batch may hold several quotes of one symbol; an
    adapter conflating under backlog keeps only each symbol's newest and says in
    ``conflated`` how many it left out (for metrics; the engine does not read it)."""

    at: datetime
    quotes: tuple[QuoteUpdated, ...]
    conflated: int = 0


@dataclass(frozen=True, slots=True)
class BarClosed:
    at: datetime
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class MarketStatsUpdated:
    """Average daily volume (shares) and daily return volatility for a symbol."""

    at: datetime
    symbol: str
    adv: float | None = None
    sigma: float | None = None


@dataclass(frozen=True, slots=True)
class MarketStatsBatch:
    """The market statistics of many symbols at once (one backtest row): ``stats`` holds
    ``(symbol, adv, sigma)`` per symbol, as ``MarketStatsUpdated``'s fields, in order. The
    engine takes them exactly as those ``MarketStatsUpdated`` events one by one, in one
    call (plain tuples, not an event per symbol: a row builds no objects per symbol)."""

    at: datetime
    stats: tuple[tuple[str, float | None, float | None], ...]


@dataclass(frozen=True, slots=True)
class CovarianceEstimated:
    """A covariance of **daily** returns estimated from market data (an adapter, e.g. a
    shrunk estimate from daily bars): ``daily[i][j]`` is the covariance of ``symbols[i]``
    and ``symbols[j]`` (fractions², per trading day). ``source`` says where it came from
    (``"bars:ledoit_wolf:252d"``, ``"config"``); ``observations`` is the number of return
    rows behind it."""

    at: datetime
    symbols: tuple[str, ...]
    daily: tuple[tuple[float, ...], ...]
    source: str = ""
    observations: int = 0


@dataclass(frozen=True, slots=True)
class SplitAnnounced:
    """A corporate-action record of a split from the broker: ``ratio`` new shares per old
    share (2.0 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split). Clears a suspected
    split of ``symbol`` (see ``engine_holds``)."""

    at: datetime
    symbol: str
    ratio: float


@dataclass(frozen=True, slots=True)
class TargetsChanged:
    """New target weights from a model (an adapter: ``adapters/models``). ``targets`` holds
    every asset of ``[portfolio.targets]`` once, as (symbol, fraction of portfolio value);
    with the configured cash target they sum to 1. ``source`` names the model and its
    estimators (``"model:mean_variance:ledoit_wolf:mean_historical:252d"``); the inputs were
    the daily closes dated ``inputs_from`` … ``inputs_to`` (``observations`` returns). The
    engine swaps the targets and lets the bands decide: no rebalance is forced."""

    at: datetime
    targets: tuple[tuple[str, float], ...]
    source: str
    inputs_from: date
    inputs_to: date
    observations: int = 0


@dataclass(frozen=True, slots=True)
class TradingStatusChanged:
    """A venue halt or resume for one symbol (Alpaca data stream ``T: s``)."""

    at: datetime
    symbol: str
    halted: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker reports it, used in snapshots and reconciliation."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    status: OrderState  # the broker's status in our vocabulary (the adapter maps it)
    qty: Decimal | None
    notional: Decimal | None
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    limit_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, OrderState):
            raise TypeError(
                f"BrokerOrder.status must be an OrderState, got {self.status!r}: map the "
                "broker's status in its adapter (e.g. adapters.alpaca.parse.order_state)"
            )


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The broker's truth: cash, positions and open orders. Replaces the engine's view.

    ``avg_entry_prices`` is the broker's average entry price per position (Alpaca's
    ``avg_entry_price``) when it reports one: the lot ledger opens a date-unknown lot at it
    when no lots were imported."""

    at: datetime
    cash: Decimal
    positions: Mapping[str, Decimal]
    open_orders: tuple[BrokerOrder, ...] = ()
    buying_power: Decimal | None = None
    avg_entry_prices: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketClock:
    at: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime
    sessions: tuple[TradingSession, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    at: datetime
    client_order_id: str
    broker_order_id: str


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """One execution. ``cum_qty`` is the order's cumulative filled quantity after it:
    fills are deduplicated by ``execution_id`` and applied by cumulative quantity."""

    at: datetime
    client_order_id: str
    execution_id: str
    qty: Decimal
    price: Decimal
    cum_qty: Decimal
    broker_order_id: str = ""
    position_qty: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """Canceled, expired or done for the day: terminal, with ``reason`` saying which."""

    at: datetime
    client_order_id: str
    reason: str = "canceled"


@dataclass(frozen=True, slots=True)
class OrderRejected:
    at: datetime
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderSubmitFailed:
    at: datetime
    client_order_id: str
    outcome: SubmitOutcome
    reason: str


@dataclass(frozen=True, slots=True)
class OrderNotFound:
    """A lookup by ``client_order_id`` (after an UNKNOWN outcome) found nothing at the broker."""

    at: datetime
    client_order_id: str


@dataclass(frozen=True, slots=True)
class OrderCancelFailed:
    """A cancel that did not take: the broker refused it (422: no longer cancelable, so
    usually already filled or closed) or it kept failing. The order's state is unclear
    until it is looked up by ``client_order_id``."""

    at: datetime
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class FeedLost:
    at: datetime
    feed: str  # "market_data" | "trade_updates"


@dataclass(frozen=True, slots=True)
class FeedRestored:
    at: datetime
    feed: str


@dataclass(frozen=True, slots=True)
class ConfigReloaded:
    at: datetime
    config: Config


@dataclass(frozen=True, slots=True)
class TradingStateRequested:
    """The operator's kill switch (or resume)."""

    at: datetime
    state: TradingState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RebalanceRequested:
    """A manual "check now" (CLI ``plan``, operator API). ``force`` skips trigger rules (not
    the hard limits: market hours, halts, feeds, the kill switch). ``record``: record the
    decision even when nothing triggers or a hard limit blocks it (a ``RecordDecision`` whose
    plan is not triggered and names the blockers), as ``rebalanced plan`` needs."""

    at: datetime
    force: bool = False
    record: bool = False


@dataclass(frozen=True, slots=True)
class ShutdownRequested:
    at: datetime
    cancel_open_orders: bool = False


Event = (
    QuoteUpdated
    | QuoteBatch
    | BarClosed
    | MarketStatsUpdated
    | MarketStatsBatch
    | CovarianceEstimated
    | SplitAnnounced
    | TargetsChanged
    | TradingStatusChanged
    | AccountSnapshot
    | MarketClock
    | OrderAccepted
    | OrderFilled
    | OrderCanceled
    | OrderRejected
    | OrderSubmitFailed
    | OrderNotFound
    | OrderCancelFailed
    | TimerFired
    | FeedLost
    | FeedRestored
    | ConfigReloaded
    | TradingStateRequested
    | RebalanceRequested
    | ShutdownRequested
)
