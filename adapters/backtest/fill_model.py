"""How a backtest fills the engine's orders, and the account they fill into.

One row is one moment of the market: the close, quoted as ``close × (1 ∓ h)`` with ``h`` half
the spread. An order is filled at that row (and, for what the participation cap left over,
at the rows after it, until the engine cancels it):

- **price**: a buy at ``ask × (1 + impact)``, a sell at ``bid × (1 − impact)``, with the
  square-root impact ``impact = Y · σ · √(Q / ADV)`` (``Y`` = ``cost.impact_coefficient``,
  σ the daily volatility and ADV the average daily volume estimated from the series; no ADV,
  no impact). A limit order fills only while it is marketable (buy limit ≥ ask, sell limit ≤
  bid), never through its limit (the impact is capped there);
- **quantity**: the order's remaining shares (a notional buy: notional / the quote
  rounded to $0.000001 as a fill price is, rounded down to 1e-9 share), at most ``planner.participation_cap × the row's volume`` per symbol
  and row when the series has volume; the rest waits for the next row (a notional buy, rare,
  fills whole);
- the price is rounded to $0.000001 (a float's noise is not a price);
- **commission**: ``cost.commission_per_order`` once per order (at its first fill) plus
  ``cost.commission_bps`` of each fill's notional, paid from cash.

The costs are booked by kind (spread, impact, commission) in dollars: spread is
``Q × |quote side − close|``, impact ``Q × |fill price − quote side|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from daemon.core.commands import PlaceOrder
from daemon.core.config.values import Config
from daemon.core.events import BrokerOrder
from daemon.core.model import OrderState, Side, order_terms

_E9 = Decimal("1E-9")
MICRO = Decimal("0.000001")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Quote:
    """One symbol on one row, as the fill model sees it."""

    close: float
    bid: float
    ask: float
    sigma: float
    adv: float | None  # shares/day, None when the series has no volume
    volume: float | None  # this row's volume (the participation cap), None when unknown


@dataclass(slots=True)
class Costs:
    spread: float = 0.0
    impact: float = 0.0
    commission: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"spread": self.spread, "impact": self.impact, "commission": self.commission}


@dataclass(slots=True)
class OpenOrder:
    order: PlaceOrder
    broker_id: str
    filled: Decimal = ZERO
    paid: Decimal = ZERO  # Σ qty × price, for the average price
    commissioned: bool = False

    @property
    def remaining(self) -> Decimal | None:
        """Shares left (None for a notional order that has not filled yet)."""
        o = self.order
        if o.qty is not None:
            return o.qty - self.filled
        return None if self.filled == 0 else ZERO

    def broker_view(self) -> BrokerOrder:
        o = self.order
        return BrokerOrder(
            client_order_id=o.client_order_id,
            broker_order_id=self.broker_id,
            **order_terms(o),
            status=OrderState.PARTIAL if self.filled > 0 else OrderState.OPEN,
            filled_qty=self.filled,
            filled_avg_price=(self.paid / self.filled) if self.filled > 0 else None,
        )


class Fill(NamedTuple):  # one per fill: a tuple is built several times faster
    qty: Decimal
    price: Decimal
    commission: Decimal
    spread_cost: float
    impact_cost: float
    notional: Decimal  # qty × price, exact (the ledger and the feeder's turnover reuse it)


@dataclass(slots=True)
class Ledger:
    """The account: cash and positions, exact."""

    cash: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)

    def apply(self, symbol: str, side: Side, fill: Fill) -> None:
        # (-q) × p is exactly -(q × p) in Decimal: the fill's notional, not a second product
        if side is Side.BUY:
            self.positions[symbol] = self.positions.get(symbol, ZERO) + fill.qty
            self.cash -= fill.notional + fill.commission
        else:
            self.positions[symbol] = self.positions.get(symbol, ZERO) - fill.qty
            self.cash -= -fill.notional + fill.commission


class FillModel:
    """Fills one order against one row's quote (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.impact_coefficient = config.cost.impact_coefficient
        self.commission_per_order = config.cost.commission_per_order
        self.commission_bps = config.cost.commission_bps
        self._bps = Decimal(repr(self.commission_bps / 10_000.0))  # per fill's notional
        self.participation_cap = config.planner.participation_cap
        self.costs = Costs()

    def capacity(self, quote: Quote) -> Decimal | None:
        """Shares one symbol may trade on this row (None: no cap)."""
        if quote.volume is None or self.participation_cap <= 0:
            return None
        cap = Decimal(repr(self.participation_cap * quote.volume))
        return cap.quantize(_E9, rounding=ROUND_FLOOR)

    def fill(self, open_order: OpenOrder, quote: Quote, room: Decimal | None) -> Fill | None:
        """The fill of ``open_order`` on this row, within ``room`` shares; None if none."""
        o = open_order.order
        buy = o.side is Side.BUY
        side_px = quote.ask if buy else quote.bid
        if side_px <= 0:
            return None
        limit = None if o.limit_price is None else float(o.limit_price)
        if limit is not None and (side_px > limit if buy else side_px < limit):
            return None  # not marketable on this row
        remaining = open_order.remaining
        if remaining is None:  # a notional buy fills at once: its shares at the quote
            assert o.notional is not None
            # at the quote as a fill price is rounded (to the millionth): from the unrounded
            # float, shares × rounded price could miss the notional by more than a cent on a
            # large order, and the engine would then never see the order filled
            unit = Decimal(repr(side_px)).quantize(MICRO)
            if unit <= 0:
                return None
            qty = (o.notional / unit).quantize(_E9, rounding=ROUND_FLOOR)
        else:
            qty = remaining if room is None else min(remaining, room)
        if qty <= 0:
            return None
        q = float(qty)
        impact = 0.0
        if quote.adv is not None and quote.adv > 0 and self.impact_coefficient > 0:
            impact = self.impact_coefficient * quote.sigma * math.sqrt(q / quote.adv)
        px = side_px * (1.0 + impact) if buy else side_px * (1.0 - impact)
        if limit is not None:
            px = min(px, limit) if buy else max(px, limit)
        price = Decimal(repr(px)).quantize(MICRO)  # a fill price to the millionth of a dollar
        if limit is not None and o.limit_price is not None:
            price = min(price, o.limit_price) if buy else max(price, o.limit_price)
        notional = qty * price
        commission = self._bps * notional
        if not open_order.commissioned:
            commission += self.commission_per_order
        if impact > 0:
            spread_cost = q * abs(side_px - quote.close)
            impact_cost = q * abs(float(price) - side_px)
        else:  # all of the distance from the close is the spread
            spread_cost = q * abs(float(price) - quote.close)
            impact_cost = 0.0
        c = self.costs
        c.spread += spread_cost
        c.impact += impact_cost
        c.commission += float(commission)
        open_order.commissioned = True
        open_order.filled += qty
        open_order.paid += notional
        return Fill(qty, price, commission, spread_cost, impact_cost, notional)


__all__ = ["Costs", "Fill", "FillModel", "Ledger", "OpenOrder", "Quote"]
