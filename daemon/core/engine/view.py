"""The Engine's read-only view for metrics, health and status: ``EngineSnapshot``.

Frozen values only, built on demand by ``Engine.snapshot()``, which hands its parts to
``build_snapshot`` (nothing here reaches into the engine); the shell never sees the
engine's mutable state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from daemon.core.engine.desk import OrderDesk
from daemon.core.engine.market_data import Gates
from daemon.core.model import Holdings, Side, TradingState, order_terms
from daemon.core.orders.lifecycle import OrderState, TrackedOrder
from daemon.core.planning.plan import WeightRow
from daemon.core.planning.records import LazyWeights
from daemon.core.triggers.drift import DriftTracker
from daemon.core.triggers.drift_queries import WeightColumns

AWAITING = (OrderState.SUBMITTING, OrderState.UNKNOWN, OrderState.CANCELING)
"""States whose outcome is still to come from the broker (the shell drains on these)."""


@dataclass(frozen=True, slots=True)
class OpenOrderView:
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    filled_qty: Decimal
    state: OrderState
    broker_order_id: str
    decision_id: str

    @classmethod
    def of(cls, o: TrackedOrder) -> OpenOrderView:
        return cls(
            client_order_id=o.client_order_id,
            **order_terms(o),
            filled_qty=o.filled_qty,
            state=o.state,
            broker_order_id=o.broker_order_id,
            decision_id=o.decision_id,
        )


@dataclass(frozen=True, slots=True)
class DecisionInfo:
    """The last recorded rebalance decision."""

    decision_id: str
    at: datetime
    triggered: bool
    reasons: tuple[str, ...]
    orders: int  # orders the plan asked for
    round: int = 1  # 1 = the decision that opened the run; 2.. = follow-up rounds


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    at: datetime | None  # time of the last event handled
    run_id: str
    holdings: Holdings | None  # None until the first AccountSnapshot
    portfolio_value: float
    cash: Decimal
    rows: Mapping[str, WeightRow]  # every target and "CASH" (built on first read)
    portfolio_drift: float
    out_of_band: tuple[str, ...]
    missing_prices: tuple[str, ...]
    order_counts: Mapping[str, int]  # OrderState value → count (every state listed)
    open_orders: tuple[OpenOrderView, ...]  # our orders not yet terminal
    open_order_count: int
    unknown_count: int  # orders whose submit outcome is UNKNOWN
    in_flight: int  # same as open_order_count: our non-terminal orders (the pacing cap)
    awaiting_answer: int  # SUBMITTING + UNKNOWN + CANCELING: outcome still to come (drain on this)
    queued: int  # planned orders waiting for a token or an in-flight slot
    tokens_available: float
    foreign_open_orders: int  # open at the broker, not placed by us (counted as pending)
    trading_state: TradingState
    market_open: bool
    feeds_ok: bool
    feeds_lost: tuple[str, ...]
    awaiting_reconcile: bool
    shutting_down: bool
    halted_symbols: tuple[str, ...]
    last_decision: DecisionInfo | None
    decisions: int
    run_active: bool
    run_round: int
    ready: bool  # has a snapshot, a clock and prices for every target
    blockers: tuple[str, ...]  # why no order could be placed right now (empty = could)
    counters: Mapping[str, int] = field(default_factory=dict)
    overdue_count: int = 0  # our orders still not terminal past their timeout plus grace
    # a taxable account's lot ledger: why tax decisions do not trust it (None: they do),
    # and its ``LOT_STATES`` name
    lots_untrusted: str | None = None
    lots_state: str = "ok"


def build_snapshot(
    *,
    now: datetime | None,
    run_id: str,
    cash: Decimal | None,
    positions: Mapping[str, Decimal],
    drift: DriftTracker,
    desk: OrderDesk,
    gates: Gates,
    quoted: Collection[str],
    symbols: Iterable[str],
    trading_state: TradingState,
    last_decision: DecisionInfo | None,
    decisions: int,
    run_round: int | None,
    blockers: tuple[str, ...],
    counters: Mapping[str, int],
    lots_untrusted: str | None = None,
    lots_state: str = "ok",
) -> EngineSnapshot:
    """Assemble the engine's frozen view from the parts the engine hands over (it reads
    them; changes nothing). ``run_round`` is None when no run is active; ``quoted`` holds
    the symbols with a quote."""
    book = desk.book
    live = [OpenOrderView.of(o) for o in book.live()]
    ready = cash is not None and gates.clock is not None and all(s in quoted for s in symbols)
    return EngineSnapshot(
        at=now,
        run_id=run_id,
        holdings=None if cash is None else Holdings(cash, dict(positions)),
        portfolio_value=drift.portfolio_value,
        cash=cash if cash is not None else Decimal(0),
        # the rows built only if read: 5,000 on SIP were ~6 ms of every heartbeat, whose
        # gauges read the columns (``Engine.weight_columns``) instead
        rows=LazyWeights(WeightColumns.rows, drift.weight_columns()),
        portfolio_drift=drift.portfolio_drift(),
        out_of_band=tuple(drift.out_of_band()),
        missing_prices=tuple(drift.missing_prices()),
        order_counts={s.value: book.count(s) for s in OrderState},
        open_orders=tuple(live),
        open_order_count=len(live),
        unknown_count=book.count(OrderState.UNKNOWN),
        in_flight=book.in_flight,
        awaiting_answer=sum(book.count(s) for s in AWAITING),
        queued=len(desk.queue),
        tokens_available=desk.pacer.bucket.available(now)
        if now is not None
        else float(desk.pacer.bucket.burst),
        foreign_open_orders=len(desk.foreign),
        trading_state=trading_state,
        market_open=gates.market_open(now) if now is not None else False,
        feeds_ok=not gates.lost,
        feeds_lost=tuple(sorted(gates.lost)),
        awaiting_reconcile=gates.await_reconcile,
        shutting_down=gates.shutdown,
        halted_symbols=tuple(sorted(gates.halted_symbols)),
        last_decision=last_decision,
        decisions=decisions,
        run_active=run_round is not None,
        run_round=run_round or 0,
        ready=ready,
        blockers=blockers,
        counters={**book.counters, **counters, "dropped_orders": desk.dropped},
        overdue_count=desk.overdue,
        lots_untrusted=lots_untrusted,
        lots_state=lots_state,
    )


__all__ = ["DecisionInfo", "EngineSnapshot", "OpenOrderView", "build_snapshot"]
