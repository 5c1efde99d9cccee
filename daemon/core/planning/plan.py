"""The result of one rebalance decision: what triggered, the weights, the orders, the skips.

The planner produces a ``Plan``; the engine turns its orders into ``PlaceOrder`` commands and
hands the whole plan to the shell in a ``RecordDecision`` command for the journal and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from daemon.core.model import Side

UNBALANCEABLE = "cannot be balanced in whole shares"
"""The skip reason's start for a whole-share asset one share of which is wider than its band
(the engine reports it once and does not re-trigger on it)."""


@dataclass(frozen=True, slots=True)
class WeightRow:
    """Current weight, target and the band edges, all as fractions (0.25 = 25 %)."""

    current: float
    target: float
    low: float
    high: float

    @property
    def in_band(self) -> bool:
        return self.low <= self.current <= self.high


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlannedOrder:
    """One order of a plan. The planner makes its orders as ``records.LazyOrder`` (this class,
    its figures and reason computed on first read); equality, hash and repr are written out
    here (the dataclass's own, by field) so both kinds compare equal and print alike."""

    symbol: str
    side: Side
    qty: Decimal | None  # shares (≤ 9 dp); None for a notional order
    notional: Decimal | None  # dollars (2 dp); None for a qty order
    limit_price: Decimal | None  # None for a market order
    est_cost: Decimal  # commission + half-spread + impact, dollars
    reason: str  # e.g. "overweight 31.2% > 30.0%", "deploy cash", "liquidate: not in targets"
    est_notional: Decimal = Decimal(0)  # dollars at the limit price (or notional)

    def _fields(self) -> tuple[object, ...]:
        return (
            self.symbol, self.side, self.qty, self.notional, self.limit_price, self.est_cost,
            self.reason, self.est_notional,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PlannedOrder):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"PlannedOrder(symbol={self.symbol!r}, side={self.side!r}, qty={self.qty!r}, "
            f"notional={self.notional!r}, limit_price={self.limit_price!r}, "
            f"est_cost={self.est_cost!r}, reason={self.reason!r}, "
            f"est_notional={self.est_notional!r})"
        )


@dataclass(frozen=True, slots=True)
class SkippedSymbol:
    symbol: str
    reason: str  # e.g. "stale quote (12.0 s old > 5 s)", "crossed quote", "below minimum"


@dataclass(frozen=True, slots=True)
class Plan:
    at: datetime
    triggered: bool
    reasons: tuple[str, ...]
    portfolio_value: Decimal
    weights: Mapping[str, WeightRow]  # includes CASH
    orders: tuple[PlannedOrder, ...] = ()
    skipped: tuple[SkippedSymbol, ...] = ()
    after: Mapping[str, float] = field(default_factory=dict)  # expected weights after orders
    portfolio_drift: float = 0.0  # Σ|w − target| / 2, fraction
    est_cost: Decimal = Decimal(0)
    est_benefit: Decimal = Decimal(0)
    deferred: Mapping[str, Decimal] = field(default_factory=dict)  # notional left by caps
    # the cost gate: on (cost.gate and the first round of a run) or off; the figures above
    # are always those of the whole run (its sells and the buys they fund)
    gate_on: bool = False
    blocked: tuple[str, ...] = ()  # hard limits that stop any order now (market closed …)
    # the whole run's orders, when ``orders`` is only its first round (the buys that wait
    # for the sells' proceeds follow once they fill); () when ``orders`` is the whole run
    run_orders: tuple[PlannedOrder, ...] = ()
    benefit_risk: Decimal = Decimal(0)  # the risk part of est_benefit, dollars
    benefit_cash: Decimal = Decimal(0)  # the cash-drag part (negative: cash left idle)

    @property
    def all_orders(self) -> tuple[PlannedOrder, ...]:
        """Every order of the run this plan decides (``run_orders`` or ``orders``)."""
        return self.run_orders or self.orders
