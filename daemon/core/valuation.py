"""The portfolio as the planner sees it: one row per symbol with its quantity, price, weight,
band and whether it may trade (and if not, why).

Open orders count as already done: ``pending_qty`` (signed shares) is added to the position
and ``reserved_cash`` (cash held by open buys) is taken from cash; the expected proceeds of
pending sells (at the valuation price) count in cash for weights, never as spendable cash.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from daemon.core.bands import asset_limits, cash_limits
from daemon.core.config import AssetConfig, Config, NotInTargets
from daemon.core.model import CASH, Holdings, Quote
from daemon.core.plan import WeightRow
from daemon.core.quote_checks import quote_problem, valuation_price
from daemon.core.rounding import to_decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class Row:
    symbol: str
    asset: AssetConfig | None
    qty: Decimal  # position + pending
    sellable: Decimal  # shares that can be sold now: min(position, position + pending), ≥ 0
    quote: Quote | None
    price: float | None  # valuation price (mid), None when unknown
    value: float  # dollars at ``price`` (0 when unknown)
    target: float
    low: float
    high: float
    liquidate: bool
    problem: str | None  # why it may not trade, None when it may
    counts_in_drift: bool

    @property
    def whole(self) -> bool:
        return self.asset is not None and not self.asset.fractional

    @property
    def tradable(self) -> bool:
        return self.problem is None


@dataclass(slots=True)
class Portfolio:
    rows: list[Row]
    cash: Decimal  # cash − reserved_cash (spendable before the cash floor)
    weight_cash: float  # cash for weights: cash − reserved + expected pending-sell proceeds
    weight_cash_dec: Decimal  # the same, exact
    value: float
    value_dec: Decimal
    notes: list[str]  # e.g. "value uncertain: no price for XYZ"

    def weights(self, config: Config) -> dict[str, WeightRow]:
        out: dict[str, WeightRow] = {}
        v = self.value
        for r in self.rows:
            out[r.symbol] = WeightRow(r.value / v if v > 0 else 0.0, r.target, r.low, r.high)
        lo, hi = cash_limits(config)
        cw = self.weight_cash / v if v > 0 else 0.0
        out[CASH] = WeightRow(cw, config.portfolio.cash_target, lo, hi)
        return out

    def drift(self, config: Config) -> float:
        if self.value <= 0:
            return 0.0
        total = abs(self.weight_cash / self.value - config.portfolio.cash_target)
        for r in self.rows:
            if r.counts_in_drift:
                total += abs(r.value / self.value - r.target)
        return total / 2.0


def value_portfolio(
    config: Config,
    holdings: Holdings,
    quotes: Mapping[str, Quote],
    now: datetime,
    *,
    reserved_cash: Decimal = ZERO,
    pending_qty: Mapping[str, Decimal] | None = None,
    halted: Collection[str] = (),
) -> Portfolio:
    """Value every symbol (targets in config order, then other holdings by name)."""
    pf = config.portfolio
    pending = pending_qty or {}
    targets = {a.symbol: a for a in pf.assets}
    extra = sorted(
        {s for s, q in holdings.positions.items() if q != 0 and s not in targets}
        | {s for s, q in pending.items() if q != 0 and s not in targets}
    )
    halted_set = frozenset(halted)
    max_age = config.planner.max_quote_age_seconds
    rows: list[Row] = []
    notes: list[str] = []
    cash = holdings.cash - reserved_cash
    weight_cash_dec = cash
    value_dec = cash
    for sym in (*targets, *extra):
        asset = targets.get(sym)
        pos = holdings.positions.get(sym, ZERO)
        pend = pending.get(sym, ZERO)
        qty = pos + pend
        sellable = max(ZERO, min(pos, qty))
        quote = quotes.get(sym)
        price = valuation_price(quote)
        if asset is not None:
            target, (low, high) = asset.target, asset_limits(asset)
            liquidate, counts = False, True
        else:
            liquidate = pf.not_in_targets is NotInTargets.LIQUIDATE and sym not in pf.excluded
            target, low, high, counts = 0.0, 0.0, (0.0 if liquidate else 1.0), liquidate
        if sym in pf.excluded:
            problem: str | None = "excluded by config (counted in value, never traded)"
        elif asset is None and not liquidate:
            problem = "not in targets (held, not traded)"
        elif sym in halted_set:
            problem = "halted by the venue"
        else:
            problem = quote_problem(quote, now, max_age)
        value = 0.0
        if price is None:
            if qty != 0:
                notes.append(f"value uncertain: no price for {sym} ({qty} shares counted as $0)")
        else:
            value = float(qty) * price
            p_dec = to_decimal(price)
            value_dec += qty * p_dec
            if pend < 0:
                proceeds = min(-pend, max(pos, ZERO)) * p_dec
                value_dec += proceeds
                weight_cash_dec += proceeds
        rows.append(
            Row(
                sym,
                asset,
                qty,
                sellable,
                quote,
                price,
                value,
                target,
                low,
                high,
                liquidate,
                problem,
                counts,
            )
        )
    weight_cash = float(weight_cash_dec)
    value_total = weight_cash + sum(r.value for r in rows)
    return Portfolio(rows, cash, weight_cash, weight_cash_dec, value_total, value_dec, notes)
