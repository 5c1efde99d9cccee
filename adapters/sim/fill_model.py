"""Matching, as Alpaca paper does it (reference §8, §9.2). Pure: no I/O, no clock; the
random source is handed in.

- market buys fill at the ask, sells at the bid; no slippage, no price improvement;
- limit orders fill only when marketable (buy: limit >= ask; sell: limit <= bid), at the
  touch; quote size is ignored;
- stop orders trigger when the touch reaches the stop, then act as market (stop) or limit
  (stop_limit);
- once fillable, an order gets a random-size partial fill with probability ``p``; the
  remainder is re-evaluated at the next quote.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from adapters.sim.orders_json import SimOrder

SHARE_STEP = Decimal("1e-9")  # smallest share fraction
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Execution:
    qty: Decimal
    price: Decimal
    final: bool  # this execution completes the order


def touch(side: str, bid: Decimal, ask: Decimal) -> Decimal:
    """The price this side trades at: the ask for buys, the bid for sells."""
    return ask if side == "buy" else bid


def stop_triggered(order: SimOrder, bid: Decimal, ask: Decimal) -> bool:
    """A buy stop triggers when the ask reaches the stop; a sell stop when the bid does."""
    if order.type not in ("stop", "stop_limit") or order.stop_triggered:
        return order.stop_triggered or order.type not in ("stop", "stop_limit")
    assert order.stop_price is not None
    if order.side == "buy":
        return ask > 0 and ask >= order.stop_price
    return bid > 0 and bid <= order.stop_price


def is_marketable(order: SimOrder, bid: Decimal, ask: Decimal) -> bool:
    """Can ``order`` trade against this quote now? (A side priced 0 has no liquidity.)"""
    price = touch(order.side, bid, ask)
    if price <= 0:
        return False
    if order.type in ("stop", "stop_limit") and not stop_triggered(order, bid, ask):
        return False
    if order.type in ("limit", "stop_limit"):
        assert order.limit_price is not None
        return order.limit_price >= ask if order.side == "buy" else order.limit_price <= bid
    return True


def remaining_qty(order: SimOrder, price: Decimal) -> Decimal:
    """Shares still to fill; for a notional order, what the unfilled dollars buy at ``price``."""
    if order.notional is not None:
        left = order.notional - order.filled_notional
        return (left / price).quantize(SHARE_STEP, rounding=ROUND_DOWN) if left > 0 else ZERO
    assert order.qty is not None
    return order.qty - order.filled_qty


def partial_qty(remaining: Decimal, whole_shares: bool, rng: random.Random) -> Decimal:
    """A random part (10–90 %) of ``remaining``, in whole shares when the order is whole;
    returns ``remaining`` when no smaller positive part exists."""
    part = remaining * Decimal(str(round(rng.uniform(0.1, 0.9), 6)))
    step = Decimal(1) if whole_shares else SHARE_STEP
    part = part.quantize(step, rounding=ROUND_DOWN)
    if part <= 0 or part >= remaining:
        return remaining
    return part


def match(
    order: SimOrder, bid: Decimal, ask: Decimal, rng: random.Random, partial_probability: float
) -> Execution | None:
    """The next execution of ``order`` against this quote, or None if it cannot trade.

    Draws from ``rng`` only when the order is marketable, so the sequence of random draws
    (and hence a seeded run) depends only on the inputs."""
    if not is_marketable(order, bid, ask):
        return None
    price = touch(order.side, bid, ask)
    remaining = remaining_qty(order, price)
    if remaining <= 0:
        return None
    qty = remaining
    if order.time_in_force != "fok" and rng.random() < partial_probability:
        whole = (
            order.notional is None
            and order.qty is not None
            and order.qty == order.qty.to_integral_value()
        )
        qty = partial_qty(remaining, whole, rng)
    return Execution(qty=qty, price=price, final=qty == remaining)
