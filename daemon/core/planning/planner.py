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

Speed (``tests/bench/bench_planner``): sizing is in floats, shares are exact integer ticks,
the float passes over the rows run in numpy on columns (``targets.book_trades``,
``market_rows.Market.friction``, ``drafting``, ``order_columns``, ``after_trade``), each
bit for bit its per-row rule (``arrays``); an order's ``Decimal`` figures and reason are
built when first read (``records.LazyOrder``).
``tests/core/test_planner_frozen.py`` holds every field of ~1,500 plans to their record.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from daemon.core.config.values import Config, Leftover
from daemon.core.model import Holdings, Quote
from daemon.core.planning import valuation as F
from daemon.core.planning.after_trade import benefit_of_plan, weights_after
from daemon.core.planning.arrays import seq_add
from daemon.core.planning.benefit import MarketCovariance, to_cents_down
from daemon.core.planning.collector import collector_paused
from daemon.core.planning.drafting import drafts
from daemon.core.planning.market_rows import Market
from daemon.core.planning.plan import UNBALANCEABLE, Plan, PlannedOrder, SkippedSymbol
from daemon.core.planning.rounding import CENT, to_decimal
from daemon.core.planning.sizing import (
    Emitted,
    build_sells,
    dollars,
    fund_buys,
    money,
    need,
    planned_orders,
    proceeds,
    resize_sells,
)
from daemon.core.planning.tables import tables_for
from daemon.core.planning.targets import Book, book_trades
from daemon.core.planning.valuation import Portfolio, Row, value_portfolio
from daemon.core.tax.policy import TaxPolicy

__all__ = ["money", "plan_rebalance"]

ZERO = Decimal(0)
_EMPTY: Mapping[str, Decimal] = {}
_SIZING_PASSES = 6


@collector_paused  # thousands of acyclic objects a plan: see ``collector``
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
    gate: bool = True,
    covariance: MarketCovariance | None = None,
    tax: TaxPolicy | None = None,
) -> Plan:
    """Plan a rebalance; see the module docstring for the rules. ``gate``: judge the run
    (cost gate, minimum trade); False for a follow-up round of an approved run.
    ``covariance``: the market's daily covariance estimate (config entries come first).
    ``tax``: a taxable account's policy (``tax_planning``): it cuts sells and blocks buys
    that wash a loss, and its estimated tax joins the cost the gate weighs."""
    pf = value_portfolio(
        config,
        holdings,
        quotes,
        now,
        reserved_cash=reserved_cash,
        pending_qty=pending_qty,
        halted=halted,
        for_market=triggered,
    )
    weights = pf.weights(config)
    notes = [*reasons, *pf.notes]
    skipped = (
        []
        if pf.all_tradable
        else [SkippedSymbol(r.symbol, r.problem) for r in pf.rows if r.problem is not None]
    )
    value = pf.value_cents()
    drift = pf.drift(config)
    unpriced = [r for r in pf.rows if r.price is None and r.qty != 0] if pf.notes else []
    never = _never_met(config, pf.value) if triggered else None
    if never is not None:
        notes.append(never)
    if pf.value <= 0 or not triggered or unpriced or never:
        if pf.value <= 0:
            notes.append("portfolio value is not positive: nothing to plan")
        if unpriced and triggered:
            held = ", ".join(f"{r.symbol} ({r.qty} shares)" for r in unpriced)
            notes.append(
                f"no decision: no usable price for {held}; a holding is never valued at $0"
            )
        return Plan(
            now,
            triggered,
            tuple(notes),
            value,
            weights,
            skipped=tuple(skipped),
            after=pf.current(),
            portfolio_drift=drift,
        )

    where: Sequence[int] = (
        range(len(pf.rows))
        if pf.all_tradable
        else [k for k, r in enumerate(pf.rows) if r.problem is None and r.price is not None]
    )
    if len(where) == len(pf.rows):  # every row trades: the valuation's columns as they are
        market = Market(tables_for(config), pf.rows, where, columns=pf.columns())
    else:
        per_row = None if pf.market is None else [pf.market[k] for k in where]
        market = Market(tables_for(config), [pf.rows[k] for k in where], where, per_row)
    rows = market.rows
    spread: list[str] = []
    trades, sizing_value = _sized_trades(config, pf, market, spread)
    for sym in spread:
        r = next(r for r in rows if r.symbol == sym)
        assert r.price is not None
        skipped.append(
            SkippedSymbol(
                sym,
                f"{UNBALANCEABLE}: one share is {r.price / pf.value:.1%} of the value, wider "
                f"than its band {r.low:.1%}–{r.high:.1%}; its target spread over the others",
            )
        )
    deferred: dict[str, Decimal] = {}
    sells, buys = drafts(config, market, pf.value, trades, deferred, skipped)
    if tax is not None:  # a taxable account: which sells, how much (tax_planning)
        sells = tax.cap_sells(sells, market.rows, pf.value, notes, skipped)
        buys = tax.block_buys(buys, skipped)
    sell_orders = build_sells(config, market, sells, skipped)
    round_buys: list[Emitted] | None = None
    if sells_only:
        for d in buys:
            skipped.append(SkippedSymbol(d.symbol, "buy suppressed: sells only (REDUCING)"))
        buy_orders: list[Emitted] = []  # REDUCING: the sells reduce risk on their own
    else:
        target_floor = to_decimal(config.portfolio.cash_target * sizing_value).quantize(CENT)
        # whole shares rounded up may take cash below its target, not below its band
        low = to_decimal(market.tables.cash_low * sizing_value).quantize(CENT, ROUND_CEILING)
        # the run keeps the cash the desired trades leave (targets.py, rule 4: with cash
        # inside its band the sells raise only what the buys take), within its band and at
        # most its target, so the buys are not starved to top cash up first; cash on hand
        # alone (this round's buys) still keeps the target
        intended = float(pf.cash) - seq_add(trades) - (float(pf.value) - sizing_value)
        floor = min(target_floor, max(low, to_decimal(intended).quantize(CENT, ROUND_CEILING)))
        base = pf.cash - floor
        room = max(ZERO, floor - low)
        netted_skips: list[SkippedSymbol] = []
        buy_orders = fund_buys(
            config, market, buys, base + proceeds(sell_orders), netted_skips, room
        )
        resized = _no_stranded_sells(
            config, market, pf, sell_orders, buy_orders, base, notes, skipped + netted_skips
        )
        if resized is not sell_orders:
            sell_orders = resized
            budget = base + proceeds(sell_orders)
            if need(buy_orders) > budget:  # rounding: re-fund
                netted_skips = []
                buy_orders = fund_buys(config, market, buys, budget, netted_skips, room)
        skipped.extend(netted_skips)
        if not fund_from_sells:  # this round: buys from cash on hand, the rest once the
            # sells have filled (``run_orders``); the run's own skips are the ones above
            round_room = max(ZERO, target_floor - low)
            round_buys = fund_buys(config, market, buys, pf.cash - target_floor, [], round_room)
    emitted = sell_orders + buy_orders

    after, after_w = weights_after(pf, market, emitted, len(sell_orders))
    est_cost = dollars(sum([e.cost_cents for e in emitted]), emitted)
    risk, cash_gain = benefit_of_plan(config, pf, market, after, after_w, covariance)
    est_benefit = to_cents_down(risk + cash_gain)
    gate_on = gate and config.cost.gate
    est_tax, tax_note = ZERO, ""
    if tax is not None and emitted:
        est_tax, tax_note = tax.gate_cost(emitted[: len(sell_orders)], market.rows, pf.value)
        tax_note = f" + {tax_note}"
    if emitted:
        figures = (
            f"est. cost {money(est_cost)}{tax_note}, benefit {money(est_benefit)} "
            f"(risk {_signed(risk)}, cash {_signed(cash_gain)})"
        )
        if not gate:
            notes.append(f"cost gate: not judged again (a later round of an approved run); {figures}")
        elif not config.cost.gate:
            notes.append(f"cost gate off: {figures}")
        elif est_benefit < est_cost + est_tax:
            notes.append(
                f"cost gate on: est. cost {money(est_cost)}{tax_note} > benefit "
                f"{money(est_benefit)} (risk {_signed(risk)}, cash {_signed(cash_gain)}): no trade"
            )
            emitted, after, deferred, round_buys = [], pf.current(), {}, None
        else:
            notes.append(f"cost gate on: {figures}: trade")
    if gate and emitted:
        minimum = max(
            config.cost.min_trade_dollars,
            to_decimal(config.cost.min_trade_percent * pf.value).quantize(CENT),
        )
        traded = dollars(sum([e.notional_cents for e in emitted]), emitted)
        if traded < minimum:
            notes.append(f"below minimum trade: total {money(traded)} < {money(minimum)}")
            emitted, after, deferred, round_buys = [], pf.current(), {}, None
    n_sells = len(sell_orders) if emitted else 0
    orders = planned_orders(config, market, emitted, n_sells, pf.value)
    run_orders: list[PlannedOrder] = []
    if round_buys is not None and emitted and round_buys != buy_orders:
        run_orders = orders  # the round: the same sells, the buys cash on hand pays for
        orders = orders[:n_sells] + planned_orders(config, market, round_buys, 0, pf.value)
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
        gate_on=gate_on,
        run_orders=tuple(run_orders),
        benefit_risk=_cents(risk),
        benefit_cash=_cents(cash_gain),
    )


def _never_met(config: Config, value: float) -> str | None:
    """A minimum that no run can meet in a portfolio of ``value`` (a run trades at most what
    the portfolio holds), as a note; None when the minimums can be met."""
    if value <= 0:
        return None
    v = money(value)
    trade = config.cost.min_trade_dollars
    if float(trade) > value:
        return (
            f"minimum trade {money(trade)} can never be met in a {v} portfolio: no rebalance "
            "until the portfolio grows past it or cost.min_trade_dollars is lowered"
        )
    order = config.planner.min_order_notional
    if float(order) > value:
        return (
            f"minimum order {money(order)} can never be met in a {v} portfolio: no rebalance "
            "until the portfolio grows past it or planner.min_order_notional is lowered"
        )
    return None


def _signed(x: float) -> str:
    return ("−" if x < 0 else "") + money(abs(x))


def _cents(x: float) -> Decimal:
    if not math.isfinite(x):
        return ZERO
    return Decimal(repr(x)).quantize(CENT, rounding=ROUND_FLOOR)


def _no_stranded_sells(
    config: Config,
    market: Market,
    pf: Portfolio,
    sells: list[Emitted],
    buys: Sequence[Emitted],
    base: Decimal,
    notes: list[str],
    skipped: Sequence[SkippedSymbol],
) -> list[Emitted]:
    """Sells resized so the run puts its proceeds back to work: they raise only what the
    placed buys (with their costs) and the cash target need. Sells of holdings to
    liquidate (no target, or a target of 0) are kept whole: the config says to sell them.
    Resized only when the proceeds left over would lift cash more than halfway from its
    target to its band's upper edge (rounding and cost margins stay as they are). Returns
    ``sells`` itself when nothing changes."""
    if not sells:
        return sells
    needed = need(buys)
    # proceeds the buys (and cash back to target, plus its buffer) need
    buffer = to_decimal(config.portfolio.cash_buffer * pf.value).quantize(CENT)
    keep = max(ZERO, needed - base + buffer)
    raised = proceeds(sells)
    t = market.tables
    # what rounding may leave: up to a share of each whole-share buy, half the cash band
    share = seq_add(market.prices[o.draft.row] for o in buys if o.draft.whole)
    slack = max(1.0, share, 0.5 * (t.cash_high - config.portfolio.cash_target) * pf.value)
    if float(raised - keep) <= slack:
        return sells
    rows = market.rows
    fixed = [o for o in sells if rows[o.draft.row].liquidate]
    free = [o for o in sells if not rows[o.draft.row].liquidate]
    free_proceeds = proceeds(free)
    room = keep - proceeds(fixed)
    if not free or free_proceeds <= 0:
        return sells
    factor = 0.0 if room <= 0 else min(1.0, float(room) / float(free_proceeds))
    resized = resize_sells(config, market, free, factor)
    if proceeds(resized) == free_proceeds:  # whole shares: nothing smaller to sell
        return sells
    out = [*fixed, *resized]
    out.sort(key=lambda o: o.draft)
    why = sorted(
        {f"{s.symbol} ({s.reason})" for s in skipped if s.symbol in _under_target(pf)}
    )
    cut = money(free_proceeds - proceeds(resized))
    notes.append(
        f"sells cut by {cut}: only what the placed buys and the cash target need is sold"
        + (f"; buys not placed: {', '.join(why)}" if why else "")
    )
    return out


def _under_target(pf: Portfolio) -> set[str]:
    v = pf.value
    return {r.symbol for r in pf.rows if not r.liquidate and r.value < r.target * v}


def _targets(
    config: Config, pf: Portfolio, rows: Sequence[Row], spread: list[str], targets: Sequence[float]
) -> Sequence[float]:
    """The targets to size on (``spread`` receives the symbols spread). With ``planner.whole_share_leftover = "spread"`` the target of
    a whole-share asset that cannot be bought (none held, one share wider than its band and
    the nearest count for its target 0) is spread over the other targets, pro rata; with
    "cash" (the default) it stays in cash. ``targets``: the rows' targets (returned as
    they are when nothing is spread)."""
    if config.planner.whole_share_leftover is not Leftover.SPREAD or pf.value <= 0:
        return targets
    v = pf.value
    unbuyable = [
        k
        for k, r in enumerate(rows)
        if r.whole
        and r.qty == 0
        and r.target > 0
        and r.price is not None
        and r.price > (r.high - r.low) * v
        and r.target * v < r.price / 2
    ]
    left = seq_add(targets[k] for k in unbuyable)
    rest = seq_add(
        t for k, t in enumerate(targets) if k not in unbuyable and not rows[k].liquidate
    )
    if left <= 0 or rest <= 0:
        return targets
    scale = (rest + left) / rest
    spread.extend(rows[k].symbol for k in unbuyable)
    targets = list(targets)
    for k, r in enumerate(rows):
        targets[k] = 0.0 if k in unbuyable else (r.target if r.liquidate else r.target * scale)
    return targets


def _sized_trades(
    config: Config, pf: Portfolio, market: Market, spread: list[str]
) -> tuple[list[float], float]:
    """Dollar trades per row and the value they were sized on: the value left after trading
    frictions (distance from the mid to the rounded limit price, the estimated cost and a cent
    of rounding per order), so the weights after the orders land where they should. A fixed
    point: a few passes until the value moves by less than max($0.01, 1e-7 of the value)."""
    rows = market.rows
    f = market.figures()
    targets = _targets(config, pf, rows, spread, f[F.TARGET])
    book = Book(f[F.SYMBOL], f[F.VALUE], targets, f[F.LOW], f[F.HIGH], f[F.LIQUIDATE])
    if targets is f[F.TARGET]:  # nothing spread: the arrays the market shares
        book.set_arrays((
            f.array(F.VALUE), f.array(F.TARGET), f.array(F.LOW), f.array(F.HIGH),
            f.array(F.LIQUIDATE, bool),
        ))  # fmt: skip
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
