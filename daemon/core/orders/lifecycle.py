"""Our orders: the lifecycle as a table (h11 style) and the book that applies it.

``TRANSITIONS`` maps ``(state, event kind)`` to the next state; a pair that is missing is a
"–" in DESIGN.md's table: the event is ignored (no state change) and counted. One
clarification of DESIGN's table: a *partial* fill while CANCELING stays CANCELING (the
cancel request is still out; PARTIAL would forget it). A full fill ends it FILLED.

Fills are facts: they are deduplicated by execution id and applied by cumulative filled
quantity, so repeats and reordering are harmless, and a fill may arrive before the ack.
A fill that arrives after a terminal state (a cancel racing a fill) still counts toward the
holdings; only the state stays terminal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from daemon.core.events import OrderFilled
from daemon.core.model import TERMINAL, OrderState, Side


class OrderEventKind(enum.StrEnum):
    ACCEPTED = "accepted"
    PARTIAL_FILL = "partial_fill"
    FULL_FILL = "full_fill"
    REJECTED = "rejected"
    SUBMIT_NOT_SENT = "submit_failed_not_sent"
    SUBMIT_UNKNOWN = "submit_failed_unknown"
    CANCEL_SENT = "cancel_sent"
    CANCELED = "canceled"
    NOT_FOUND = "not_found"  # a lookup after an UNKNOWN outcome found nothing


S = OrderState
K = OrderEventKind

TRANSITIONS: Mapping[tuple[OrderState, OrderEventKind], OrderState] = {
    # SUBMITTING
    (S.SUBMITTING, K.ACCEPTED): S.OPEN,
    (S.SUBMITTING, K.PARTIAL_FILL): S.PARTIAL,
    (S.SUBMITTING, K.FULL_FILL): S.FILLED,
    (S.SUBMITTING, K.REJECTED): S.REJECTED,
    (S.SUBMITTING, K.SUBMIT_NOT_SENT): S.FAILED,
    (S.SUBMITTING, K.SUBMIT_UNKNOWN): S.UNKNOWN,
    # UNKNOWN
    (S.UNKNOWN, K.ACCEPTED): S.OPEN,
    (S.UNKNOWN, K.PARTIAL_FILL): S.PARTIAL,
    (S.UNKNOWN, K.FULL_FILL): S.FILLED,
    (S.UNKNOWN, K.REJECTED): S.REJECTED,
    (S.UNKNOWN, K.SUBMIT_UNKNOWN): S.UNKNOWN,
    (S.UNKNOWN, K.CANCELED): S.CANCELED,
    (S.UNKNOWN, K.NOT_FOUND): S.FAILED,
    # OPEN
    (S.OPEN, K.ACCEPTED): S.OPEN,
    (S.OPEN, K.PARTIAL_FILL): S.PARTIAL,
    (S.OPEN, K.FULL_FILL): S.FILLED,
    (S.OPEN, K.CANCEL_SENT): S.CANCELING,
    (S.OPEN, K.CANCELED): S.CANCELED,
    # PARTIAL
    (S.PARTIAL, K.ACCEPTED): S.PARTIAL,
    (S.PARTIAL, K.PARTIAL_FILL): S.PARTIAL,
    (S.PARTIAL, K.FULL_FILL): S.FILLED,
    (S.PARTIAL, K.CANCEL_SENT): S.CANCELING,
    (S.PARTIAL, K.CANCELED): S.CANCELED,
    # CANCELING
    (S.CANCELING, K.ACCEPTED): S.CANCELING,
    (S.CANCELING, K.PARTIAL_FILL): S.CANCELING,
    (S.CANCELING, K.FULL_FILL): S.FILLED,
    (S.CANCELING, K.CANCELED): S.CANCELED,
}
"""Every legal transition; anything else is ignored. Terminal states have no exits."""

del S, K


def next_state(state: OrderState, kind: OrderEventKind) -> OrderState | None:
    """The state after ``kind`` in ``state``, or None when the table says "–"."""
    return TRANSITIONS.get((state, kind))


@dataclass(slots=True)
class TrackedOrder:
    """One of our orders as we know it. Mutable: only the OrderBook changes it."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    placed_at: datetime
    decision_id: str = ""
    state: OrderState = OrderState.SUBMITTING
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    broker_order_id: str = ""
    execution_ids: set[str] = field(default_factory=set)
    cancel_wanted: bool = False  # cancel as soon as the broker acknowledges it
    settled: bool = False  # a snapshot already holds its fills: later fills move no holdings
    lookups: int = 0
    overdue: bool = False  # still not terminal past its timeout plus the resolve grace
    resolves: int = 0  # deadline lookups so far (each waits twice as long, at most ×32)

    @property
    def complete(self) -> bool:
        """True once the cumulative fills cover the order."""
        if self.qty is not None:
            return self.filled_qty >= self.qty
        if self.notional is not None:
            return self.filled_notional >= self.notional - Decimal("0.01")
        return False

    @property
    def remaining_qty(self) -> Decimal | None:
        if self.qty is None:
            return None
        return max(Decimal(0), self.qty - self.filled_qty)

    def signed_remaining_qty(self, price: Decimal | None) -> Decimal:
        """Shares still to trade, + for buys and − for sells (notional orders via ``price``)."""
        rem = self.remaining_qty
        if rem is None:
            if self.notional is None or not price:
                return Decimal(0)
            rem = max(Decimal(0), self.notional - self.filled_notional) / price
        return rem if self.side is Side.BUY else -rem

    def reserved_cash(self, price: Decimal | None) -> Decimal:
        """Cash our open buy still needs: remaining × limit (or ``price`` for market orders)."""
        if self.side is not Side.BUY:
            return Decimal(0)
        if self.qty is None:
            if self.notional is None:
                return Decimal(0)
            return max(Decimal(0), self.notional - self.filled_notional)
        px = self.limit_price if self.limit_price is not None else price
        rem = self.remaining_qty
        return Decimal(0) if px is None or rem is None else rem * px


@dataclass(frozen=True, slots=True)
class AppliedFill:
    """What a new fill changes: ``qty`` more shares at ``price`` for ``order``.
    ``to_holdings`` is False when a snapshot already holds this fill."""

    order: TrackedOrder
    qty: Decimal
    price: Decimal
    to_holdings: bool

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.order.side is Side.BUY else -self.qty

    @property
    def cash_delta(self) -> Decimal:
        return -self.qty * self.price if self.order.side is Side.BUY else self.qty * self.price


class OrderBook:
    """Every order we placed (or adopted) this process, by client order id."""

    __slots__ = ("_live", "counters", "orders")

    def __init__(self) -> None:
        self.orders: dict[str, TrackedOrder] = {}
        self._live: dict[str, TrackedOrder] = {}
        self.counters: dict[str, int] = {
            "ignored_transitions": 0,
            "unknown_order_events": 0,
            "duplicate_fills": 0,
            "stale_fills": 0,
            "late_fills": 0,
        }

    def __contains__(self, coid: object) -> bool:
        return coid in self.orders

    def __len__(self) -> int:
        return len(self.orders)

    def get(self, coid: str) -> TrackedOrder | None:
        return self.orders.get(coid)

    def add(self, order: TrackedOrder) -> None:
        if order.client_order_id in self.orders:
            raise ValueError(f"duplicate client_order_id {order.client_order_id!r}")
        self.orders[order.client_order_id] = order
        if not order.state.terminal:
            self._live[order.client_order_id] = order

    def live(self) -> Iterator[TrackedOrder]:
        """Orders not yet terminal, in the order they were added."""
        return iter(list(self._live.values()))

    @property
    def in_flight(self) -> int:
        return len(self._live)

    def count(self, state: OrderState) -> int:
        if state.terminal:
            return sum(1 for o in self.orders.values() if o.state is state)
        return sum(1 for o in self._live.values() if o.state is state)

    def set_state(self, order: TrackedOrder, state: OrderState) -> None:
        """Force a state (reconciliation with the broker's truth)."""
        order.state = state
        if state.terminal:
            self._live.pop(order.client_order_id, None)
        else:
            self._live[order.client_order_id] = order

    def transition(self, coid: str, kind: OrderEventKind) -> TrackedOrder | None:
        """Apply ``kind`` by the table. Returns the order when its state changed (or it was a
        legal self-loop), None when the event was ignored (unknown id or "–")."""
        order = self.orders.get(coid)
        if order is None:
            self.counters["unknown_order_events"] += 1
            return None
        new = next_state(order.state, kind)
        if new is None:
            self.counters["ignored_transitions"] += 1
            return None
        self.set_state(order, new)
        return order

    def apply_fill(self, ev: OrderFilled) -> AppliedFill | None:
        """Apply one execution by cumulative quantity. None when it changes nothing
        (unknown order, duplicate execution id, or an older cumulative quantity)."""
        order = self.orders.get(ev.client_order_id)
        if order is None:
            self.counters["unknown_order_events"] += 1
            return None
        if ev.execution_id in order.execution_ids:
            self.counters["duplicate_fills"] += 1
            return None
        order.execution_ids.add(ev.execution_id)
        if ev.broker_order_id and not order.broker_order_id:
            order.broker_order_id = ev.broker_order_id
        delta = ev.cum_qty - order.filled_qty
        if delta <= 0:
            self.counters["stale_fills"] += 1
            return None
        order.filled_qty = ev.cum_qty
        order.filled_notional += delta * ev.price
        if order.state.terminal:
            self.counters["late_fills"] += 1
        else:
            kind = OrderEventKind.FULL_FILL if order.complete else OrderEventKind.PARTIAL_FILL
            new = next_state(order.state, kind)
            if new is None:  # pragma: no cover - every live state accepts fills
                self.counters["ignored_transitions"] += 1
            else:
                self.set_state(order, new)
        return AppliedFill(order, delta, ev.price, to_holdings=not order.settled)


__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "AppliedFill",
    "OrderBook",
    "OrderEventKind",
    "OrderState",
    "TrackedOrder",
    "next_state",
]
