"""From dollar trades to orders: shares, caps, the Decimal boundary, and funding the buys.

Shares are sized in floats and held as exact integer ticks (whole shares or 1e-9 share,
``rounding.round_qty_ticks``); a ``Decimal`` is built only where an order is emitted: the
quantity, the limit price, the notional at the limit (rounded against us: down for a sell,
up for a buy) and the estimated cost (up to the cent). Every money check (minimum order,
cost against proceeds, the buy budget) is then done in ``Decimal`` on those emitted figures.
See ``planner`` for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from daemon.core.config import Config
from daemon.core.exact_ticks import scaled_floor
from daemon.core.model import Side
from daemon.core.plan import PlannedOrder, SkippedSymbol
from daemon.core.planner_market import Market
from daemon.core.rounding import (
    CENT,
    QTY_TICKS,
    qty_decimal,
    qty_ticks,
    round_notional,
    round_qty,
    round_qty_ticks,
    to_decimal,
)
from daemon.core.valuation import Row

ZERO = Decimal(0)
ONE = Decimal(1)
_SHRINK = Decimal("0.9999")


def money(x: Decimal | float) -> str:
    """Dollars for a message: $1,234.57."""
    return f"${float(x):,.2f}"


@dataclass(slots=True)
class Draft:
    """An order before funding: desired shares (ticks) and its limit price."""

    i: int  # index into the tradable rows
    row: Row
    buy: bool
    ticks: int  # whole shares, or 1e-9 shares
    limit: tuple[int, int, float]  # ticks, exponent, float
    deviation: float


@dataclass(slots=True)
class Emitted:
    """One order's figures at the Decimal boundary (``PlannedOrder`` is built from these)."""

    draft: Draft
    qty: Decimal | None
    notional: Decimal | None
    est_notional: Decimal
    est_cost: Decimal
    shares: float  # float(qty), or notional / ask for a notional buy


def drafts(
    config: Config,
    market: Market,
    value: float,
    trades: Sequence[float],
    deferred: dict[str, Decimal],
    skipped: list[SkippedSymbol],
) -> tuple[list[Draft], list[Draft]]:
    """Shares per order: rounded down, within the holding, within the participation cap.
    Sells and buys, each by largest deviation first, then symbol."""
    cap = config.planner.participation_cap
    rows, prices = market.rows, market.prices
    sells: list[Draft] = []
    buys: list[Draft] = []
    for i, t in enumerate(trades):
        if t == 0.0:
            continue
        r = rows[i]
        price = prices[i]
        buy = t > 0
        whole = r.asset is not None and not r.asset.fractional
        if buy:
            k = round_qty_ticks(t / price, whole=whole)
        elif r.liquidate:
            k = qty_ticks(round_qty(r.sellable, whole=whole), whole=whole)
        else:
            k = round_qty_ticks(-t / price, whole=whole)
            per = 1 if whole else QTY_TICKS
            if not k / per <= r.sellable_f * (1.0 - 1e-15):  # not surely within the holding
                k = min(k, qty_ticks(round_qty(r.sellable, whole=whole), whole=whole))
        market.params(i)
        adv = market.adv[i]
        if adv is not None and cap > 0:
            cap_k = round_qty_ticks(cap * adv, whole=whole)
            if k > cap_k:
                over = qty_decimal(k, whole=whole) - qty_decimal(cap_k, whole=whole)
                deferred[r.symbol] = (over * to_decimal(price)).quantize(CENT, rounding=ROUND_FLOOR)
                k = cap_k
        if k <= 0:
            why = "less than one whole share" if whole else "order below minimum"
            if r.symbol in deferred:
                why = f"participation cap {cap:.1%} of ADV leaves nothing to trade"
            skipped.append(SkippedSymbol(r.symbol, why))
            continue
        lim = market.limit(i, buy)
        if lim[0] <= 0:
            skipped.append(SkippedSymbol(r.symbol, "price too low to place a limit order"))
            continue
        dev = (r.value / value) if r.liquidate else abs(r.value / value - r.target)
        (buys if buy else sells).append(Draft(i, r, buy, k, lim, dev))
    sells.sort(key=_by_deviation)
    buys.sort(key=_by_deviation)
    return sells, buys


def _by_deviation(d: Draft) -> tuple[float, str]:
    return (-d.deviation, d.row.symbol)


def _emit(
    config: Config, market: Market, d: Draft, ticks: int, scale: Decimal | None = None
) -> Emitted | None:
    """The order for ``ticks`` shares of a draft (a notional buy: ``qty × scale`` at the
    ask), or None when it rounds to nothing."""
    r = d.row
    whole = r.asset is not None and not r.asset.fractional
    if config.planner.market_orders and d.buy and not whole:
        assert r.quote is not None
        ask = to_decimal(r.quote.ask)
        qty = qty_decimal(ticks, whole=whole) if scale is None else d_qty(d) * scale
        notional = round_notional(qty * ask)
        if notional <= 0:
            return None
        cost = market.cost(d.i, float(notional / ask), float(ask))
        return Emitted(d, None, notional, notional, cost, float(notional) / r.quote.ask)
    if ticks <= 0:
        return None
    qty = Decimal(ticks) if whole else Decimal(ticks).scaleb(-9)
    k, e, price = d.limit
    rounding = ROUND_CEILING if d.buy else ROUND_FLOOR
    est_notional = (qty * Decimal(k).scaleb(e)).quantize(CENT, rounding=rounding)
    shares = float(ticks) if whole else ticks / QTY_TICKS
    return Emitted(d, qty, None, est_notional, market.cost(d.i, shares, price), shares)


def d_qty(d: Draft) -> Decimal:
    whole = d.row.asset is not None and not d.row.asset.fractional
    return qty_decimal(d.ticks, whole=whole)


def planned(config: Config, e: Emitted, reason: str) -> PlannedOrder:
    d = e.draft
    limit = None
    if e.qty is not None and not config.planner.market_orders:
        k, ex, _ = d.limit
        limit = Decimal(k).scaleb(ex)
    side = Side.BUY if d.buy else Side.SELL
    return PlannedOrder(
        d.row.symbol, side, e.qty, e.notional, limit, e.est_cost, reason, e.est_notional
    )


def build_sells(
    config: Config, market: Market, sells: Sequence[Draft], skipped: list[SkippedSymbol]
) -> list[Emitted]:
    """Sells at their full size; below the minimum order, or costing at least their
    proceeds, they are skipped."""
    minimum = config.planner.min_order_notional
    out: list[Emitted] = []
    for d in sells:
        o = _emit(config, market, d, d.ticks)
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


def _scaled_ticks(d: Draft, scale: Decimal, scale_f: float) -> int:
    """``round_qty(qty × scale)`` in ticks: floats when clearly decided, else Decimal."""
    k = scaled_floor(d.ticks, scale_f)
    if k is not None:
        return k
    whole = d.row.asset is not None and not d.row.asset.fractional
    return qty_ticks(round_qty(d_qty(d) * scale, whole=whole), whole=whole)


def _round(
    config: Config, market: Market, buys: Sequence[Draft], scale: Decimal, minimum: Decimal
) -> tuple[list[Emitted], set[str]]:
    orders: list[Emitted] = []
    small: set[str] = set()
    one = scale == ONE
    scale_f = float(scale)
    for d in buys:
        ticks = d.ticks if one else _scaled_ticks(d, scale, scale_f)
        o = _emit(config, market, d, ticks, scale)
        if o is None or o.est_notional < minimum:
            small.add(d.row.symbol)
        else:
            orders.append(o)
    return orders, small


def fund_buys(
    config: Config,
    market: Market,
    buys: Sequence[Draft],
    budget: Decimal,
    skipped: list[SkippedSymbol],
) -> list[Emitted]:
    """Buys within ``budget`` (their notional at the limit plus the estimated cost): scaled
    down proportionally while short (a few rounds), then the smallest deviations dropped
    until the rest fits. Exact: every sum here is of emitted Decimals."""
    minimum = config.planner.min_order_notional
    scale = ONE
    # a first guess in floats saves a full pass of orders when cash is short
    guess = 0.0
    for d in buys:
        whole = d.row.asset is not None and not d.row.asset.fractional
        q = float(d.ticks) if whole else d.ticks / QTY_TICKS
        px = d.limit[2]
        guess += q * px + market.cost_float(d.i, q, px)
    if budget > 0 and guess > float(budget):
        scale = to_decimal(float(budget) / guess)
    orders: list[Emitted] = []
    small: set[str] = set()
    for _ in range(8):
        orders, small = _round(config, market, buys, scale, minimum)
        need = sum((o.est_notional + o.est_cost for o in orders), ZERO)
        if need <= budget:
            break
        if budget <= 0 or need <= 0:
            orders = []
            break
        scale = scale * budget / need * _SHRINK
    need = sum((o.est_notional + o.est_cost for o in orders), ZERO)
    dropped = False
    while orders and need > budget:
        last = orders.pop()  # drafts are sorted by deviation: the last is the smallest
        need -= last.est_notional + last.est_cost
        dropped = True
    kept = {o.draft.row.symbol for o in orders}
    short = scale < 1 or dropped
    for d in buys:
        sym = d.row.symbol
        if sym in kept:
            continue
        if sym in small and not short:
            skipped.append(SkippedSymbol(sym, f"buy below minimum order {money(minimum)}"))
        else:
            skipped.append(SkippedSymbol(sym, f"buy not funded: budget {money(max(budget, ZERO))}"))
    return orders


def asks_of(rows: Sequence[Row]) -> Mapping[str, float]:
    return {r.symbol: r.quote.ask for r in rows if r.quote is not None}
