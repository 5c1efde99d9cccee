"""From dollar trades to orders: shares, caps, the Decimal boundary, and funding the buys.

Shares are sized in floats and held as exact integer ticks (whole shares or 1e-9 share,
``rounding.round_qty_ticks``); a ``Decimal`` is built only where an order is emitted: the
quantity, the limit price, the notional at the limit (rounded against us: down for a sell,
up for a buy) and the estimated cost (up to the cent). Every money check (minimum order,
cost against proceeds, the buy budget) is then done in ``Decimal`` on those emitted figures.
See ``planner`` for the rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from daemon.core.config.values import Config
from daemon.core.model import Side
from daemon.core.planning.exact_ticks import scaled_floor
from daemon.core.planning.market_rows import Market
from daemon.core.planning.order_columns import figures
from daemon.core.planning.order_columns import need as need_floats
from daemon.core.planning.plan import PlannedOrder, SkippedSymbol
from daemon.core.planning.records import OrderFigures, lazy_order_parts
from daemon.core.planning.rounding import (
    CENT,
    qty_decimal,
    qty_ticks,
    round_notional,
    round_qty,
    to_decimal,
)

ZERO = Decimal(0)
ONE = Decimal(1)
_SHRINK = Decimal("0.9999")


def money(x: Decimal | float) -> str:
    """Dollars for a message: $1,234.57."""
    return f"${float(x):,.2f}"


class Draft(NamedTuple):
    """An order before funding. A plain tuple underneath (built and sorted at the hot
    loops' rate): sorting drafts sorts them by largest deviation first, then symbol (symbols
    are unique)."""

    neg_deviation: float  # −|weight − target| (to liquidate: −weight)
    symbol: str
    row: int  # index into ``Market.rows``
    ticks: int  # shares in ticks (whole shares, or 1e-9 share)
    whole: bool  # whole shares only
    floor_ticks: int  # the shares rounded down: below ``ticks`` when a whole-share count
    # was rounded up to the nearest


class Emitted(NamedTuple):
    """An order at the Decimal boundary (a plain tuple underneath, like ``Draft``). Its money
    is held as exact integer cents, which the funding loops sum and compare a thousand at a
    time; ``est_notional``, ``est_cost`` and ``qty`` are the same figures as Decimals."""

    draft: Draft
    ticks: int  # shares in the draft's ticks (a notional buy: its draft's)
    notional: Decimal | None  # a notional market buy's dollars; None for a qty order
    notional_cents: int  # dollars at the limit, rounded against us, in cents
    cost_cents: int  # the estimated cost, rounded up to the cent, in cents
    shares: float  # shares as a float (a notional buy: notional / ask)

    @property
    def qty(self) -> Decimal | None:
        """Shares (exponent 0 or −9, as ``round_qty``); None for a notional buy."""
        return None if self.notional is not None else qty_decimal(self.ticks, whole=self.draft.whole)

    @property
    def est_notional(self) -> Decimal:
        return Decimal(self.notional_cents) * CENT

    @property
    def est_cost(self) -> Decimal:
        return Decimal(self.cost_cents) * CENT


def dollars(cents: int, orders: Sequence[object]) -> Decimal:
    """A sum of ``orders``' cents as dollars, as ``sum(..., Decimal(0))`` of their Decimal
    figures gives it (Decimal(0) for no orders)."""
    return Decimal(cents) * CENT if orders else ZERO


def need(orders: Sequence[Emitted]) -> Decimal:
    """What buys take: at the limit, plus the estimated costs."""
    return dollars(_cents_taken(orders), orders)


def proceeds(orders: Sequence[Emitted]) -> Decimal:
    """What sells bring in: at the limit, less the estimated costs."""
    return dollars(sum([o.notional_cents - o.cost_cents for o in orders]), orders)


def _cents_taken(orders: Sequence[Emitted]) -> int:
    """Σ notional + cost, in cents."""
    return sum([o.notional_cents + o.cost_cents for o in orders])


def _cents_floor(x: Decimal) -> int:
    """The whole cents in ``x`` (an integer count ``c`` has ``c ≤ x × 100`` iff ``c ≤`` it)."""
    return int(x.scaleb(2).to_integral_value(ROUND_FLOOR))


def _cents_ceil(x: Decimal) -> int:
    """``c < x × 100`` iff ``c <`` this, for an integer ``c``."""
    return int(x.scaleb(2).to_integral_value(ROUND_CEILING))


_E9 = Decimal("1E-9")
# a NamedTuple's own __new__ is a Python function (0.6 µs a call); the tuple's is not
_new = tuple.__new__
# list.sort compares plain tuples natively, NamedTuples generically (1.6× slower): sort drafts
# on a plain (−deviation, symbol) key, the same order (symbols are unique)
_by_deviation = itemgetter(0, 1)


def sort_drafts(drafts: list[Draft]) -> None:
    """Largest deviation first, then symbol (see ``Draft``), in place."""
    drafts.sort(key=_by_deviation)

_LAZY_PARTS = lazy_order_parts()


def _emit_notional(market: Market, d: Draft, scale: Decimal) -> Emitted | None:
    """A notional market buy for ``qty × scale`` at the ask, or None when it rounds to
    nothing (all in Decimal: a rare configuration)."""
    i = d.row
    quote = market.rows[i].quote
    assert quote is not None
    ask = to_decimal(quote.ask)
    notional = round_notional(qty_decimal(d.ticks, whole=d.whole) * scale * ask)
    if notional <= 0:
        return None
    cost = market.cost(i, float(notional / ask), float(ask))
    cents = int(notional.scaleb(2))  # exponent −2: whole cents
    return Emitted(d, d.ticks, notional, cents, int(cost.scaleb(2)), float(notional) / quote.ask)


def _emit(
    market: Market, drafts: Sequence[Draft], ticks_of: Sequence[int] | None, buy: bool
) -> list[Emitted | None]:
    """Orders for the drafts at ``ticks_of`` shares each (None: the drafts' own shares), None
    where the shares round to nothing: the quantity, the notional at the limit price (rounded
    against us), and the estimated cost (``costs.order_cost``: ``cost_dollars`` then
    ``to_cents_up``), for all drafts at once (``order_columns.figures``)."""
    all_ticks = [d[3] for d in drafts] if ticks_of is None else list(ticks_of)
    if not all_ticks or min(all_ticks) > 0:
        live, ticks = list(drafts), all_ticks
    else:
        live = [d for d, k in zip(drafts, all_ticks, strict=True) if k > 0]
        ticks = [k for k in all_ticks if k > 0]
    if not live:
        return [None] * len(drafts)
    notional, costs, shares = figures(market, [d[2] for d in live], ticks, [d[4] for d in live], buy)
    # a thousand tuples built in C (map over zip): Emitted(d, ticks, None, cents, cost, shares)
    made: list[Emitted | None] = list(
        map(_new, repeat(Emitted), zip(live, ticks, repeat(None), notional, costs, shares))
    )
    if len(live) == len(drafts):
        return made
    it = iter(made)
    return [next(it) if k > 0 else None for k in all_ticks]


def planned_orders(
    config: Config, market: Market, emitted: Sequence[Emitted], n_sells: int, value: float
) -> list[PlannedOrder]:
    """The ``PlannedOrder`` of each emitted order (the first ``n_sells`` are sells), its
    figures and reason built when first read (``records.LazyOrder``, ``order_figures``)."""
    limit_orders = not config.planner.market_orders
    out: list[PlannedOrder] = []
    new, set_symbol, set_side, set_build = _LAZY_PARTS  # ``lazy_order``, inlined
    for side, part in ((Side.SELL, emitted[:n_sells]), (Side.BUY, emitted[n_sells:])):
        buy = side is Side.BUY
        for o in part:
            p = new()
            set_symbol(p, o[0][1])  # o.draft.symbol
            set_side(p, side)
            set_build(p, (order_figures, market, o, buy, limit_orders, value))
            out.append(p)
    return out


def order_figures(
    market: Market, o: Emitted, buy: bool, limit_orders: bool, value: float
) -> OrderFigures:
    """An emitted order's Decimals and reason: (qty, notional, limit price, est. cost,
    reason, est. notional). The reason is the band it breached, or its move toward target
    (percentages of band edges and targets formatted once per config)."""
    d, notional = o.draft, o.notional
    i = d.row
    row = market.rows[i]
    qty = limit = None
    if notional is None:
        ticks = o.ticks
        qty = Decimal(ticks) if d.whole else Decimal(ticks) * _E9  # ``Emitted.qty``
        if limit_orders:
            _, _, _, limit = market.limit(i, buy)
    if row.liquidate:
        reason = "liquidate: not in targets" if row.asset is None else "target 0 %: sell all"
    else:
        info = market.tables.assets.get(d.symbol)
        w = row.value / value
        if w > row.high:
            high = info.high_pct if info is not None else f"{row.high:.1%}"
            reason = f"overweight {w:.1%} > {high}"
        elif w < row.low:
            low = info.low_pct if info is not None else f"{row.low:.1%}"
            reason = f"underweight {w:.1%} < {low}"
        else:
            target = info.target_pct if info is not None else f"{row.target:.1%}"
            toward = "buy toward" if buy else "sell toward"
            reason = f"{toward} target {target} (now {w:.1%})"
    cost, est = Decimal(o.cost_cents) * CENT, Decimal(o.notional_cents) * CENT
    return qty, notional, limit, cost, reason, est


def build_sells(
    config: Config, market: Market, sells: Sequence[Draft], skipped: list[SkippedSymbol]
) -> list[Emitted]:
    """Sells at their full size; below the minimum order, or costing at least their
    proceeds, they are skipped."""
    minimum = config.planner.min_order_notional
    least = _cents_ceil(minimum)
    out: list[Emitted] = []
    emitted = _emit(market, sells, None, False)
    for d, o in zip(sells, emitted, strict=True):
        if o is None or o.notional_cents < least:
            n = ZERO if o is None else o.est_notional
            skipped.append(
                SkippedSymbol(d.symbol, f"sell {money(n)} below minimum order {money(minimum)}")
            )
        elif o.cost_cents >= o.notional_cents:
            cost, proceeds = money(o.est_cost), money(o.est_notional)
            skipped.append(SkippedSymbol(d.symbol, f"sell cost {cost} ≥ proceeds {proceeds}"))
        else:
            out.append(o)
    return out


def resize_sells(
    config: Config, market: Market, sells: Sequence[Emitted], factor: float
) -> list[Emitted]:
    """The sells at ``factor`` of their shares, rounded **up** (so their proceeds still
    cover what they were cut to) and never above the original; those that fall below the
    minimum order, or cost at least their proceeds, are left out."""
    drafts = [o.draft for o in sells]
    ticks = [0 if factor <= 0 else min(d.ticks, math.ceil(d.ticks * factor)) for d in drafts]
    least = _cents_ceil(config.planner.min_order_notional)
    out: list[Emitted] = []
    for o in _emit(market, drafts, ticks, False):
        if o is not None and o.notional_cents >= least and o.cost_cents < o.notional_cents:
            out.append(o)
    return out


def _scaled_ticks(d: Draft, scale: Decimal, scale_f: float) -> int:
    """``round_qty(qty × scale)`` in ticks: floats when clearly decided, else Decimal."""
    k = scaled_floor(d.ticks, scale_f)
    if k is not None:
        return k
    whole = d.whole
    qty = qty_decimal(d.ticks, whole=whole) * scale
    return qty_ticks(round_qty(qty, whole=whole), whole=whole)


def _round(
    config: Config, market: Market, buys: Sequence[Draft], scale: Decimal, minimum: Decimal
) -> tuple[list[Emitted], set[str]]:
    orders: list[Emitted] = []
    small: set[str] = set()
    scale_f = float(scale)
    notional = config.planner.market_orders
    ticks: list[int] | None = None
    if scale != ONE:
        ticks = []
        for d in buys:
            y = d.ticks * scale_f  # exact_ticks.scaled_floor, inlined
            if 0.0 <= y < 1e15 and abs(y - round(y)) > y * 1e-14 + 1e-9:
                ticks.append(math.floor(y))
            else:
                ticks.append(_scaled_ticks(d, scale, scale_f))
    emitted = _emit(market, buys, ticks, True)
    least = _cents_ceil(minimum)
    for d, o in zip(buys, emitted, strict=True):
        if notional and not d.whole:
            o = _emit_notional(market, d, scale)
        if o is None or o.notional_cents < least:
            small.add(d.symbol)
        else:
            orders.append(o)
    return orders, small


def _round_down_until_funded(
    market: Market, buys: Sequence[Draft], guess: float, budget: float
) -> tuple[list[Draft], float]:
    """Short of cash: whole-share buys rounded up to the nearest go back down one by one
    (the dearest share first: it frees the most cash) until the buys
    fit, so the budget still buys as many nearest counts as it can."""
    out = list(buys)
    prices = market.prices
    ups = sorted(
        (k for k, d in enumerate(out) if d.floor_ticks < d.ticks),
        key=lambda k: (-prices[out[k].row], k),
    )
    for k in ups:
        if guess <= budget:
            break
        d = out[k]
        px = _buy_price(market, d.row)
        guess -= px + market.cost_float(d.row, float(d.ticks), px)
        guess += market.cost_float(d.row, float(d.floor_ticks), px)
        out[k] = d._replace(ticks=d.floor_ticks)
    return out, guess


def _buy_price(market: Market, i: int) -> float:
    lim = market.limits(True)[i]
    _, _, price, _ = lim if lim is not None else market.limit(i, True)
    return price


def _guess(market: Market, buys: Sequence[Draft]) -> float:
    """What the buys need (limit notional + cost), in floats (``order_columns.need``)."""
    if not buys:
        return 0.0
    return need_floats(market, [d[2] for d in buys], [d[3] for d in buys], [d[4] for d in buys])


def fund_buys(
    config: Config,
    market: Market,
    buys: Sequence[Draft],
    budget: Decimal,
    skipped: list[SkippedSymbol],
    allowance: Decimal = ZERO,
) -> list[Emitted]:
    """Buys within ``budget`` (their notional at the limit plus the estimated cost): scaled
    down proportionally while short (a few rounds), then the smallest deviations dropped
    until the rest fits. Whole shares rounded up to the nearest count may take up to
    ``allowance`` more (cash may end below its target, inside its band); those that do not
    fit go back down first. Exact: every sum here is of emitted cents."""
    minimum = config.planner.min_order_notional
    scale = ONE
    # a first guess in floats saves a full pass of orders when cash is short
    guess = _guess(market, buys)
    if guess > float(budget) and any(d.floor_ticks < d.ticks for d in buys):
        room = float(budget + allowance)
        buys, guess = _round_down_until_funded(market, buys, guess, room)
        if guess > float(budget) and guess <= room:  # the round-ups that fit the allowance
            extra = to_decimal(guess - float(budget)).quantize(CENT, ROUND_CEILING)
            budget = min(budget + allowance, budget + extra + CENT * len(buys))
    if budget > 0 and guess > float(budget):
        scale = to_decimal(float(budget) / guess)
    orders: list[Emitted] = []
    small: set[str] = set()
    within = _cents_floor(budget)  # need ≤ budget, in whole cents
    for _ in range(8):
        orders, small = _round(config, market, buys, scale, minimum)
        taken = _cents_taken(orders)
        if taken <= within:
            break
        if budget <= 0 or taken <= 0:
            orders = []
            break
        scale = scale * budget / need(orders) * _SHRINK
    taken = _cents_taken(orders)
    dropped = False
    while orders and taken > within:
        last = orders.pop()  # drafts are sorted by deviation: the last is the smallest
        taken -= last.notional_cents + last.cost_cents
        dropped = True
    kept = {o.draft.symbol for o in orders}
    short = scale < 1 or dropped
    for d in buys:
        sym = d.symbol
        if sym in kept:
            continue
        if sym in small and not short:
            skipped.append(SkippedSymbol(sym, f"buy below minimum order {money(minimum)}"))
        else:
            skipped.append(SkippedSymbol(sym, f"buy not funded: budget {money(max(budget, ZERO))}"))
    return orders
