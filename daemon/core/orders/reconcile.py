"""Reconcile the order book with the broker's list of open orders (an AccountSnapshot).

The broker is the source of truth. For each open order it reports:

- one we know → adopt its state, broker id and cumulative filled quantity;
- one that carries our id prefix but we do not know (placed by an earlier run of this
  daemon) → adopt it into the book, so it counts as pending and is canceled on HALT;
- anything else is *foreign* (placed by a person or another tool): its effect is counted as
  pending so we do not trade against it, but we never cancel it, not even when halted (the
  operator owns it; a HALT raises an alert naming how many foreign orders remain open).

Our live orders that the broker no longer lists (OPEN, PARTIAL, CANCELING or UNKNOWN) ended
while we were not looking: the snapshot's positions already hold their fills, so they are
marked ``settled`` (later fills move no holdings) and looked up to learn how they ended.
SUBMITTING orders are left alone: their POST is still in flight and will answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from daemon.core.events import BrokerOrder
from daemon.core.model import order_terms
from daemon.core.orders.lifecycle import OrderBook, OrderState, TrackedOrder


@dataclass(frozen=True, slots=True)
class Unsynced:
    """Fills we applied that the snapshot does not hold yet (it was taken before them)."""

    order: TrackedOrder
    qty: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    adopted: tuple[str, ...]  # our ids from an earlier run, now tracked
    lookups: tuple[str, ...]  # our live orders the broker no longer lists
    foreign: tuple[BrokerOrder, ...]
    unsynced: tuple[Unsynced, ...]


def reconcile_open_orders(
    book: OrderBook,
    open_orders: Sequence[BrokerOrder],
    is_ours: Callable[[str], bool],
    at: datetime,
) -> ReconcileResult:
    """Bring ``book`` in line with the broker's open orders (mutates ``book``)."""
    adopted: list[str] = []
    foreign: list[BrokerOrder] = []
    unsynced: list[Unsynced] = []
    listed: set[str] = set()
    for bo in open_orders:
        coid = bo.client_order_id
        order = book.get(coid)
        if order is None and not is_ours(coid):
            foreign.append(bo)
            continue
        listed.add(coid)
        state = bo.status
        if order is None:
            order = TrackedOrder(
                client_order_id=coid,
                **order_terms(bo),
                placed_at=at,
                state=state,
                filled_qty=bo.filled_qty,
                filled_notional=bo.filled_qty * (bo.filled_avg_price or Decimal(0)),
                broker_order_id=bo.broker_order_id,
            )
            book.add(order)
            adopted.append(coid)
            continue
        if bo.broker_order_id:
            order.broker_order_id = bo.broker_order_id
        if order.filled_qty > bo.filled_qty:
            # we saw fills the snapshot predates: keep ours and re-apply the difference
            extra = order.filled_qty - bo.filled_qty
            price = order.filled_notional / order.filled_qty if order.filled_qty else Decimal(0)
            unsynced.append(Unsynced(order, extra, price))
        else:
            order.filled_qty = bo.filled_qty
            order.filled_notional = bo.filled_qty * (bo.filled_avg_price or Decimal(0))
        if order.state is OrderState.CANCELING and not state.terminal:
            state = OrderState.CANCELING  # our cancel request may still be on its way
        if order.state is OrderState.PARTIAL and state is OrderState.OPEN:
            state = OrderState.PARTIAL
        book.set_state(order, state)
        order.settled = False
    lookups: list[str] = []
    for order in book.live():
        if order.client_order_id in listed or order.state is OrderState.SUBMITTING:
            continue
        order.settled = True
        lookups.append(order.client_order_id)
    return ReconcileResult(tuple(adopted), tuple(lookups), tuple(foreign), tuple(unsynced))


__all__ = [
    "ReconcileResult",
    "Unsynced",
    "reconcile_open_orders",
]
