"""Plan one rebalance: from holdings, quotes and the config to a ``Plan`` of orders.

The steps (each rule is documented where it lives):

1. value the portfolio (``valuation``): weights, bands, which symbols may trade and why not
   (``quote_checks``); open orders count as done;
2. the dollar trade per asset (``targets``): target mode, scope, top-k, cash flows;
3. orders (this module): shares at the valuation price, rounded **down** (whole shares or
   9 decimals, ``rounding``); never more than held; the participation cap (at most
   ``participation_cap × ADV`` shares per order, the rest recorded in ``deferred``);
   marketable limit prices (or market orders); orders under ``min_order_notional`` dropped;
4. funding: buys never spend more than the cash the plan can count on::

       budget = cash − reserved_cash − cash_target × V_after
                + Σ sells (qty × limit − est_cost)      # only when fund_from_sells

   Sell proceeds count at their limit price (a marketable sell limit fills at or above it)
   minus their estimated cost; ``V_after`` is the value once frictions are paid (so cash ends
   at its target weight of the portfolio after trading); each buy needs
   ``qty × limit + est_cost`` (a notional market buy: ``notional + est_cost``). Costs are thus charged on top of the limit price, which
   double-counts the spread on purpose: cash can only end higher than planned. Buys are scaled
   down proportionally when short, then the smallest deviations are dropped. The engine must
   send the buys only after the sells have filled (or pass ``fund_from_sells=False``);
5. the gates on the whole set: the cost-benefit gate (``costs``) and the minimum trade size
   (``min_trade_dollars``, ``min_trade_percent`` of value). Either empties the orders and
   says why in ``reasons``.

Orders come out sells first, then buys, each by largest deviation first, then symbol.

Speed (1,000 assets in a few ms, ``tests/bench/bench_planner``): sizing is in floats, shares
are exact integer ticks (``planner_orders``), ``Decimal`` is built only for emitted orders, and
the per-row cost and limit parameters live in ``planner_market``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from daemon.core.config import Config
from daemon.core.costs import risk_benefit
from daemon.core.model import CASH, Holdings, Quote
from daemon.core.plan import Plan, SkippedSymbol
from daemon.core.plan_tables import tables_for
from daemon.core.planner_market import Market
from daemon.core.planner_orders import (
    Emitted,
    build_sells,
    drafts,
    fund_buys,
    money,
    planned_orders,
)
from daemon.core.rounding import CENT, to_decimal
from daemon.core.targets import Book, book_trades
from daemon.core.valuation import Portfolio, value_portfolio

__all__ = ["money", "plan_rebalance"]

ZERO = Decimal(0)
_EMPTY: Mapping[str, Decimal] = {}
_SIZING_PASSES = 6


def plan_rebalance(
    config: Config,
    holdings: Holdings,
    quotes: Mapping[str, Quote],
    now: datetime,
    *,
    triggered: bool = True,
    reasons: Sequence[str] = (),
    reserved_cash: Decimal = ZERO,
    pending_qty: Mapping[str, Decimal] = _EMPTY,
    halted: Collection[str] | Mapping[str, str] = (),
    sells_only: bool = False,
    fund_from_sells: bool = True,
) -> Plan:
    """Plan a rebalance; see the module docstring for the rules."""
    pf = value_portfolio(
        config,
        holdings,
        quotes,
        now,
        reserved_cash=reserved_cash,
        pending_qty=pending_qty,
        halted=halted,
    )
    weights = pf.weights(config)
    notes = [*reasons, *pf.notes]
    skipped = [SkippedSymbol(r.symbol, r.problem) for r in pf.rows if r.problem is not None]
    value = pf.value_cents()
    drift = pf.drift(config)
    if pf.value <= 0 or not triggered:
        if pf.value <= 0:
            notes.append("portfolio value is not positive: nothing to plan")
        return Plan(
            now,
            triggered,
            tuple(notes),
            value,
            weights,
            skipped=tuple(skipped),
            after={s: w.current for s, w in weights.items()},
            portfolio_drift=drift,
        )
    current = {s: w.current for s, w in weights.items()}

    rows = [r for r in pf.rows if r.problem is None and r.price is not None]
    market = Market(tables_for(config), rows)
    trades, sizing_value = _sized_trades(config, pf, market)
    deferred: dict[str, Decimal] = {}
    sells, buys = drafts(config, market, pf.value, trades, deferred, skipped)
    sell_orders = build_sells(config, market, sells, skipped)
    if sells_only:
        for d in buys:
            skipped.append(SkippedSymbol(d[1], "buy suppressed: sells only (REDUCING)"))
        buy_orders: list[Emitted] = []
    else:
        floor = to_decimal(config.portfolio.cash_target * sizing_value).quantize(CENT)
        budget = pf.cash - floor
        if fund_from_sells:
            budget += sum((o[3] - o[4] for o in sell_orders), ZERO)
        buy_orders = fund_buys(config, market, buys, budget, skipped)
    emitted = sell_orders + buy_orders

    after = _after_weights(pf, market, emitted, len(sell_orders))
    dw = {e[0][1]: current[e[0][1]] - after[e[0][1]] for e in emitted}
    sigmas = {e[0][1]: market.sigma[e[0][2]] for e in emitted}
    est_cost = sum((e[4] for e in emitted), ZERO)
    est_benefit = risk_benefit(config, dw, pf.value, sigmas)
    if emitted and config.cost.gate and est_benefit < est_cost:
        notes.append(f"cost gate: est. cost {money(est_cost)} > benefit {money(est_benefit)}")
        emitted, after, deferred = [], current, {}
    minimum = max(
        config.cost.min_trade_dollars,
        to_decimal(config.cost.min_trade_percent * pf.value).quantize(CENT),
    )
    traded = sum((e[3] for e in emitted), ZERO)
    if emitted and traded < minimum:
        notes.append(f"below minimum trade: total {money(traded)} < {money(minimum)}")
        emitted, after, deferred = [], current, {}
    orders = planned_orders(config, market, emitted, len(sell_orders), pf.value)
    return Plan(
        now,
        True,
        tuple(notes),
        value,
        weights,
        orders=tuple(orders),
        skipped=tuple(skipped),
        after=after,
        portfolio_drift=drift,
        est_cost=est_cost,
        est_benefit=est_benefit,
        deferred=deferred,
    )


def _sized_trades(config: Config, pf: Portfolio, market: Market) -> tuple[list[float], float]:
    """Dollar trades per row and the value they were sized on: the value left after trading
    frictions (distance from the mid to the rounded limit price, the estimated cost and a cent
    of rounding per order), so the weights after the orders land where they should. A fixed
    point: a few passes until the value moves by less than max($0.01, 1e-7 of the value)."""
    rows = market.rows
    book = Book(
        [r.symbol for r in rows],
        [r.value for r in rows],
        [r.target for r in rows],
        [r.low for r in rows],
        [r.high for r in rows],
        [r.liquidate for r in rows],
    )
    sizing = pf.value
    trades = book_trades(book, pf.weight_cash, pf.value, config)
    tolerance = max(0.01, 1e-7 * pf.value)
    for _ in range(_SIZING_PASSES):
        new_sizing = max(0.0, pf.value - market.friction(trades))
        if abs(new_sizing - sizing) < tolerance:
            break
        sizing = new_sizing
        trades = book_trades(book, pf.weight_cash, pf.value, config, sizing_value=sizing)
    return trades, sizing


def _after_weights(
    pf: Portfolio, market: Market, orders: Sequence[Emitted], n_sells: int
) -> dict[str, float]:
    """Expected weights once every order fills at its limit price (a notional buy: at the
    ask), with estimated costs taken from cash; positions valued at the valuation price.
    ``orders`` are the sells, then the buys."""
    delta: dict[str, float] = {}
    cash_dec = pf.weight_cash_dec
    for k, o in enumerate(orders):
        sym = o[0][1]
        if k >= n_sells:
            cash_dec -= o[3] + o[4]
            delta[sym] = delta.get(sym, 0.0) + o[5]
        else:
            cash_dec += o[3] - o[4]
            delta[sym] = delta.get(sym, 0.0) - o[5]
    cash = float(cash_dec)
    values: dict[str, float] = {}
    for r in pf.rows:
        sym = r.symbol
        if sym in delta and r.price is not None:
            values[sym] = r.value + delta[sym] * r.price
        else:
            values[sym] = r.value
    total = cash + sum(values.values())
    if total <= 0:
        return {**{s: 0.0 for s in values}, CASH: 0.0}
    out = {s: v / total for s, v in values.items()}
    out[CASH] = cash / total
    return out
