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
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from daemon.core.config import Config
from daemon.core.costs import adv_for, cost_float, order_cost, risk_benefit, sigma_for
from daemon.core.model import CASH, Holdings, Quote, Side
from daemon.core.plan import Plan, PlannedOrder, SkippedSymbol
from daemon.core.rounding import (
    CENT,
    marketable_limit,
    round_notional,
    round_qty,
    to_decimal,
)
from daemon.core.targets import Position, desired_trades
from daemon.core.valuation import Portfolio, Row, value_portfolio

ZERO = Decimal(0)
_EMPTY: Mapping[str, Decimal] = {}
_SIZING_PASSES = 6


def money(x: Decimal | float) -> str:
    """Dollars for a message: $1,234.57."""
    return f"${float(x):,.2f}"


@dataclass(slots=True)
class _Draft:
    """An order before funding: desired shares and its prices."""

    row: Row
    side: Side
    qty: Decimal  # desired shares after rounding and caps
    limit: Decimal
    ask: Decimal
    deviation: float
    reason: str


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
    halted: Collection[str] = (),
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
    current = {s: w.current for s, w in weights.items()}
    value = pf.value_dec.quantize(CENT)
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
            after=current,
            portfolio_drift=drift,
        )

    rows = [r for r in pf.rows if r.tradable and r.price is not None]
    trades, sizing_value, memo = _sized_trades(config, pf, rows)
    deferred: dict[str, Decimal] = {}
    sells, buys = _drafts(config, pf, rows, trades, deferred, skipped, memo)
    sell_orders = _build_sells(config, sells, skipped)
    if sells_only:
        for d in buys:
            skipped.append(SkippedSymbol(d.row.symbol, "buy suppressed: sells only (REDUCING)"))
        buy_orders: list[PlannedOrder] = []
    else:
        floor = to_decimal(config.portfolio.cash_target * sizing_value).quantize(CENT)
        budget = pf.cash - floor
        if fund_from_sells:
            budget += sum((o.est_notional - o.est_cost for o in sell_orders), ZERO)
        buy_orders = _fund_buys(config, buys, budget, skipped)
    orders = sell_orders + buy_orders

    after = _after_weights(pf, orders)
    dw = {o.symbol: current[o.symbol] - after[o.symbol] for o in orders}
    sigmas = {
        r.symbol: sigma_for(config, r.symbol, r.quote, r.asset) for r in rows if r.symbol in dw
    }
    est_cost = sum((o.est_cost for o in orders), ZERO)
    est_benefit = risk_benefit(config, dw, pf.value, sigmas)
    if orders and config.cost.gate and est_benefit < est_cost:
        notes.append(f"cost gate: est. cost {money(est_cost)} > benefit {money(est_benefit)}")
        orders, after, deferred = [], current, {}
    minimum = max(
        config.cost.min_trade_dollars,
        to_decimal(config.cost.min_trade_percent * pf.value).quantize(CENT),
    )
    traded = sum((o.est_notional for o in orders), ZERO)
    if orders and traded < minimum:
        notes.append(f"below minimum trade: total {money(traded)} < {money(minimum)}")
        orders, after, deferred = [], current, {}
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


_Memo = dict[tuple[int, bool], tuple[float, float, float | None, Decimal, Decimal]]


def _sized_trades(
    config: Config, pf: Portfolio, rows: Sequence[Row]
) -> tuple[list[float], float, _Memo]:
    """Dollar trades per row and the value they were sized on: the value left after trading
    frictions (distance from the mid to the rounded limit price, the estimated cost and a cent
    of rounding per order), so the weights after the orders land where they should. A fixed
    point: a few passes until the value moves by less than max($0.01, 1e-7 of the value)."""
    positions = [Position(r.symbol, r.value, r.target, r.low, r.high, r.liquidate) for r in rows]
    sizing = pf.value
    trades = desired_trades(positions, pf.weight_cash, pf.value, config)
    memo: _Memo = {}
    tolerance = max(0.01, 1e-7 * pf.value)
    for _ in range(_SIZING_PASSES):
        friction = _friction(config, rows, trades, memo)
        new_sizing = max(0.0, pf.value - friction)
        if abs(new_sizing - sizing) < tolerance:
            break
        sizing = new_sizing
        trades = desired_trades(positions, pf.weight_cash, pf.value, config, sizing_value=sizing)
    return trades, sizing, memo


def _friction(
    config: Config,
    rows: Sequence[Row],
    trades: Sequence[float],
    memo: _Memo,
) -> float:
    """Dollars the trades lose to limit prices and costs (the planner's own accounting).
    ``memo`` keeps (limit distance, σ, ADV, limit, ask) per row and side across passes."""
    offset = to_decimal(config.planner.limit_offset)
    friction = 0.0
    for i, (r, t) in enumerate(zip(rows, trades, strict=True)):
        if t == 0.0 or r.price is None or r.quote is None:
            continue
        key = (i, t > 0)
        params = memo.get(key)
        if params is None:
            params = _limit_params(config, r, t > 0, offset)
            memo[key] = params
        distance, sigma, adv, _, _ = params
        shares = abs(t) / r.price
        friction += shares * distance + 0.01
        friction += cost_float(config, shares, r.price, r.quote, sigma, adv)
    return friction


def _reason(row: Row, side: Side, value: float) -> str:
    if row.liquidate:
        return "liquidate: not in targets"
    w = row.value / value
    if w > row.high:
        return f"overweight {w:.1%} > {row.high:.1%}"
    if w < row.low:
        return f"underweight {w:.1%} < {row.low:.1%}"
    return f"{'buy toward' if side is Side.BUY else 'sell toward'} target {row.target:.1%} (now {w:.1%})"


def _limit_params(
    config: Config, r: Row, buy: bool, offset: Decimal
) -> tuple[float, float, float | None, Decimal, Decimal]:
    assert r.quote is not None and r.price is not None
    side = Side.BUY if buy else Side.SELL
    bid, ask = to_decimal(r.quote.bid), to_decimal(r.quote.ask)
    limit = marketable_limit(side, bid, ask, offset)
    return (
        abs(float(limit) - r.price),
        sigma_for(config, r.symbol, r.quote, r.asset),
        adv_for(config, r.symbol, r.quote, r.asset),
        limit,
        ask,
    )


def _drafts(
    config: Config,
    pf: Portfolio,
    rows: Sequence[Row],
    trades: Sequence[float],
    deferred: dict[str, Decimal],
    skipped: list[SkippedSymbol],
    memo: _Memo,
) -> tuple[list[_Draft], list[_Draft]]:
    """Shares per order: rounded down, within the holding, within the participation cap."""
    offset = to_decimal(config.planner.limit_offset)
    cap = config.planner.participation_cap
    sells: list[_Draft] = []
    buys: list[_Draft] = []
    for i, (r, t) in enumerate(zip(rows, trades, strict=True)):
        if t == 0.0 or r.price is None or r.quote is None:
            continue
        side = Side.BUY if t > 0 else Side.SELL
        params = memo.get((i, t > 0))
        if params is None:
            params = _limit_params(config, r, t > 0, offset)
        _, _, adv, limit, ask = params
        if side is Side.SELL:
            want = r.sellable if r.liquidate else to_decimal(-t / r.price)
            qty = min(round_qty(want, whole=r.whole), round_qty(r.sellable, whole=r.whole))
        else:
            qty = round_qty(to_decimal(t / r.price), whole=r.whole)
        if adv is not None and cap > 0:
            cap_qty = round_qty(to_decimal(cap * adv), whole=r.whole)
            if qty > cap_qty:
                left = ((qty - cap_qty) * to_decimal(r.price)).quantize(CENT, rounding=ROUND_FLOOR)
                deferred[r.symbol] = left
                qty = cap_qty
        if qty <= 0:
            why = "less than one whole share" if r.whole else "order below minimum"
            if r.symbol in deferred:
                why = f"participation cap {cap:.1%} of ADV leaves nothing to trade"
            skipped.append(SkippedSymbol(r.symbol, why))
            continue
        if limit <= 0:
            skipped.append(SkippedSymbol(r.symbol, "price too low to place a limit order"))
            continue
        dev = (r.value / pf.value) if r.liquidate else abs(r.value / pf.value - r.target)
        d = _Draft(r, side, qty, limit, ask, dev, _reason(r, side, pf.value))
        (buys if side is Side.BUY else sells).append(d)
    order = lambda d: (-d.deviation, d.row.symbol)  # noqa: E731
    sells.sort(key=order)
    buys.sort(key=order)
    return sells, buys


def _order(config: Config, d: _Draft, qty: Decimal) -> PlannedOrder | None:
    """The order for ``qty`` shares of a draft, or None when it rounds to nothing."""
    market = config.planner.market_orders
    r = d.row
    notional: Decimal | None = None
    if market and d.side is Side.BUY and not r.whole:
        notional = round_notional(qty * d.ask)
        if notional <= 0:
            return None
        est_notional = notional
        cost = order_cost(config, r.symbol, d.side, notional / d.ask, d.ask, r.quote, r.asset)
        return PlannedOrder(r.symbol, d.side, None, notional, None, cost, d.reason, est_notional)
    qty = round_qty(qty, whole=r.whole)
    if qty <= 0:
        return None
    rounding = ROUND_FLOOR if d.side is Side.SELL else ROUND_CEILING
    est_notional = (qty * d.limit).quantize(CENT, rounding=rounding)
    cost = order_cost(config, r.symbol, d.side, qty, d.limit, r.quote, r.asset)
    limit = None if market else d.limit
    return PlannedOrder(r.symbol, d.side, qty, None, limit, cost, d.reason, est_notional)


def _build_sells(
    config: Config, drafts: Sequence[_Draft], skipped: list[SkippedSymbol]
) -> list[PlannedOrder]:
    minimum = config.planner.min_order_notional
    out: list[PlannedOrder] = []
    for d in drafts:
        o = _order(config, d, d.qty)
        if o is None or o.est_notional < minimum:
            n = ZERO if o is None else o.est_notional
            skipped.append(
                SkippedSymbol(d.row.symbol, f"sell {money(n)} below minimum order {money(minimum)}")
            )
        elif o.est_cost >= o.est_notional:
            skipped.append(
                SkippedSymbol(
                    d.row.symbol,
                    f"sell cost {money(o.est_cost)} ≥ proceeds {money(o.est_notional)}",
                )
            )
        else:
            out.append(o)
    return out


def _need(o: PlannedOrder) -> Decimal:
    return o.est_notional + o.est_cost


def _fund_buys(
    config: Config, drafts: Sequence[_Draft], budget: Decimal, skipped: list[SkippedSymbol]
) -> list[PlannedOrder]:
    """Buys within ``budget``: scaled down proportionally while short (a few rounds), then the
    smallest deviations dropped until the rest fits."""
    minimum = config.planner.min_order_notional
    scale = Decimal(1)
    # a first guess in floats saves a full pass of Decimal orders when cash is short
    guess = 0.0
    for d in drafts:
        r, q, px = d.row, float(d.qty), float(d.limit)
        sigma = sigma_for(config, r.symbol, r.quote, r.asset)
        adv = adv_for(config, r.symbol, r.quote, r.asset)
        guess += q * px + cost_float(config, q, px, r.quote, sigma, adv)
    if budget > 0 and guess > float(budget):
        scale = to_decimal(float(budget) / guess)
    orders: list[PlannedOrder] = []
    small: set[str] = set()
    for _ in range(8):
        orders, small = [], set()
        for d in drafts:
            o = _order(config, d, d.qty * scale)
            if o is None or o.est_notional < minimum:
                small.add(d.row.symbol)
            else:
                orders.append(o)
        need = sum((_need(o) for o in orders), ZERO)
        if need <= budget:
            break
        if budget <= 0 or need <= 0:
            orders = []
            break
        scale = scale * budget / need * Decimal("0.9999")
    need = sum((_need(o) for o in orders), ZERO)
    dropped: list[str] = []
    while orders and need > budget:
        last = orders.pop()  # drafts are sorted by deviation: the last is the smallest
        need -= _need(last)
        dropped.append(last.symbol)
    kept = {o.symbol for o in orders}
    short = scale < 1 or dropped
    for d in drafts:
        if d.row.symbol in kept:
            continue
        if d.row.symbol in small and not short:
            skipped.append(SkippedSymbol(d.row.symbol, f"buy below minimum order {money(minimum)}"))
        else:
            skipped.append(
                SkippedSymbol(d.row.symbol, f"buy not funded: budget {money(max(budget, ZERO))}")
            )
    return orders


def _after_weights(pf: Portfolio, orders: Sequence[PlannedOrder]) -> dict[str, float]:
    """Expected weights once every order fills at its limit price (a notional buy: at the
    ask), with estimated costs taken from cash; positions valued at the valuation price."""
    delta: dict[str, float] = {}
    cash_dec = pf.weight_cash_dec
    asks = {r.symbol: r.quote.ask for r in pf.rows if r.quote is not None}
    for o in orders:
        if o.side is Side.BUY:
            cash_dec -= o.est_notional + o.est_cost
            qty = float(o.qty) if o.qty is not None else float(o.est_notional) / asks[o.symbol]
            delta[o.symbol] = delta.get(o.symbol, 0.0) + qty
        else:
            cash_dec += o.est_notional - o.est_cost
            delta[o.symbol] = delta.get(o.symbol, 0.0) - float(o.qty or 0)
    cash = float(cash_dec)
    values: dict[str, float] = {}
    for r in pf.rows:
        if r.symbol in delta and r.price is not None:
            values[r.symbol] = r.value + delta[r.symbol] * r.price
        else:
            values[r.symbol] = r.value
    total = cash + sum(values.values())
    if total <= 0:
        return {**{s: 0.0 for s in values}, CASH: 0.0}
    out = {s: v / total for s, v in values.items()}
    out[CASH] = cash / total
    return out
