"""Shares per order (``drafts``): from each row's dollar trade to a ``Draft``.

The rule, per row (``_draft_row``): fractional shares rounded down (``round_qty_ticks``,
inlined), whole shares to the nearest count (the least tracking error: 0.6 share is 1, 0.4
is 0), within the holding, within the participation cap (the rest recorded in
``deferred``); rows whose shares come to nothing, or whose limit price is nothing, are
skipped with the reason.

``drafts`` evaluates the common case for every row at once in numpy: a float decides the
tick count (``exact_ticks.floor_ticks``'s test), the shares are surely within the holding and
the cap, the count is positive and a float decided the limit. Those rows get exactly what
``_draft_row`` gives them (the same float operations: numpy's float64 rounds as Python's
floats; ``k / per`` is one correctly rounded division of exact integers either way); every
other row goes through ``_draft_row`` itself, in row order, so the skips and deferrals come
out as before. ``tests/core/test_planner_numpy.py`` checks the two paths agree row by row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal
from itertools import repeat

import numpy as np

from daemon.core.config.values import Config
from daemon.core.planning.arrays import COLUMNS_FROM
from daemon.core.planning.market_rows import Market
from daemon.core.planning.plan import UNBALANCEABLE, SkippedSymbol
from daemon.core.planning.rounding import (
    CENT,
    QTY_TICKS,
    qty_decimal,
    qty_ticks,
    round_qty,
    round_qty_ticks,
    to_decimal,
)
from daemon.core.planning.sizing import Draft, sort_drafts

_new = tuple.__new__  # a NamedTuple's own __new__ is a Python function (0.6 µs a call)


def drafts(
    config: Config,
    market: Market,
    value: float,
    trades: Sequence[float],
    deferred: dict[str, Decimal],
    skipped: list[SkippedSymbol],
) -> tuple[list[Draft], list[Draft]]:
    """Sells and buys, each sorted (see ``Draft``); see the module docstring."""
    sells: list[Draft] = []
    buys: list[Draft] = []
    cap = config.planner.participation_cap
    if len(trades) < COLUMNS_FROM:  # few rows: the per-row rule for each (see ``arrays``)
        for i, d in enumerate(draft_rows(config, market, value, trades, deferred, skipped)):
            if d is not None:
                (buys if trades[i] > 0 else sells).append(d)
        sort_drafts(sells)
        sort_drafts(buys)
        return sells, buys
    cols = market.columns()
    trade = np.array(trades, dtype=np.float64)
    active = np.flatnonzero(trade != 0.0)
    if active.size == 0:
        return sells, buys
    t = trade[active]
    prices, adv = cols[0][active], cols[3][active]
    whole_all, liquidate_all, sellable_all, values_all, targets_all, symbols = market.row_columns()
    whole, liquidate, sellable = whole_all[active], liquidate_all[active], sellable_all[active]
    per = np.where(whole, 1.0, float(QTY_TICKS))
    buy = t > 0
    q = np.abs(t) / prices  # -t / price for a sell: the same float
    y = q * per
    with np.errstate(invalid="ignore"):
        k = np.rint(y)
        k = np.where(np.abs(y - k) > y * 4.5e-16 + 1e-9, np.floor(y), np.where(q < k / per, k - 1, k))
        k = np.where(whole & (q - k > 0.5), k + 1, k)
        within = buy | (k / per <= sellable * (1.0 - 1e-15))
        capped = (adv > 0) & (cap > 0) & ~(k / per <= cap * adv * (1.0 - 1e-15))
    fast = np.where(buy, market.fast_ticks_array(True)[active], market.fast_ticks_array(False)[active])
    clean = (y > 0) & (y < 1e15) & ~liquidate & within & ~capped & (k > 0) & (fast > 0)
    floor_k = np.where(whole & (q < k), k - 1, k)
    neg_dev = -np.abs(values_all[active] / value - targets_all[active])
    presorted = True
    for side, out in ((clean & ~buy, sells), (clean & buy, buys)):
        sel = np.flatnonzero(side)
        if sel.size:
            # in draft order (largest deviation first, then symbol): a stable argsort of the
            # deviations decides it unless two are equal (or NaN), where the sort below does
            nd = neg_dev[sel]
            order = np.argsort(nd, kind="stable")
            nd = nd[order]
            if nd.size > 1 and not bool(np.all(nd[1:] > nd[:-1])):
                presorted = False
            sel = sel[order]
            at = active[sel]
            # a thousand tuples built in C (map over zip): the loop's draft, row for row
            out.extend(map(_new, repeat(Draft), zip(
                nd.tolist(), symbols[at].tolist(), at.tolist(),
                k[sel].astype(np.int64).tolist(), whole[sel].tolist(),
                floor_k[sel].astype(np.int64).tolist(), strict=True,
            )))  # fmt: skip
    for i in active[~clean].tolist():  # in row order: the skips and deferrals as the loop's
        d = _draft_row(market, i, trades[i], cap, value, deferred, skipped)
        if d is not None:
            (buys if trades[i] > 0 else sells).append(d)
            presorted = False
    if not presorted:
        sort_drafts(sells)
        sort_drafts(buys)
    return sells, buys


def _draft_row(
    market: Market,
    i: int,
    t: float,
    cap: float,
    value: float,
    deferred: dict[str, Decimal],
    skipped: list[SkippedSymbol],
) -> Draft | None:
    """Row ``i``'s draft for a trade of ``t`` dollars (≠ 0), or None (and why in
    ``skipped``); see the module docstring."""
    r = market.rows[i]
    price = market.prices[i]
    buy = t > 0
    a = r.asset
    whole = a is not None and not a.fractional
    per = 1 if whole else QTY_TICKS
    q = 0.0
    if buy or not r.liquidate:
        q = t / price if buy else -t / price
        y = q * per
        if 0.0 < y < 1e15:  # exact_ticks.floor_ticks, inlined
            k = round(y)
            if abs(y - k) > y * 4.5e-16 + 1e-9:
                k = math.floor(y)
            elif q < k / per:
                k -= 1
        else:
            k = round_qty_ticks(q, whole=whole)
        if whole and q - k > 0.5:  # the nearest whole share count
            k += 1
        if not buy and not k / per <= r.sellable_f * (1.0 - 1e-15):
            # not surely within the holding: compare exactly
            k = min(k, qty_ticks(round_qty(r.sellable, whole=whole), whole=whole))
    else:
        k = qty_ticks(round_qty(r.sellable, whole=whole), whole=whole)
    adv = market.adv[i]
    if adv is not None and cap > 0 and not k / per <= cap * adv * (1.0 - 1e-15):
        cap_k = round_qty_ticks(cap * adv, whole=whole)
        if k > cap_k:
            over = qty_decimal(k, whole=whole) - qty_decimal(cap_k, whole=whole)
            deferred[r.symbol] = (over * to_decimal(price)).quantize(CENT, ROUND_FLOOR)
            k = cap_k
    floor_k = k
    if whole and not r.liquidate and q < k:
        floor_k = k - 1
    if k <= 0:
        why = "nearest whole share count is 0" if whole else "order below minimum"
        if whole and price > (r.high - r.low) * value:
            why = (
                f"{UNBALANCEABLE}: one share is {price / value:.1%} "
                f"of the value, wider than its band {r.low:.1%}–{r.high:.1%}"
            )
        if r.symbol in deferred:
            why = f"participation cap {cap:.1%} of ADV leaves nothing to trade"
        skipped.append(SkippedSymbol(r.symbol, why))
        return None
    limit_ticks = market.limit(i, buy)[0]
    if limit_ticks <= 0:
        skipped.append(SkippedSymbol(r.symbol, "price too low to place a limit order"))
        return None
    dev = (r.value / value) if r.liquidate else abs(r.value / value - r.target)
    return _new(Draft, (-dev, r.symbol, i, k, whole, floor_k))


def draft_rows(
    config: Config,
    market: Market,
    value: float,
    trades: Sequence[float],
    deferred: dict[str, Decimal],
    skipped: list[SkippedSymbol],
) -> list[Draft | None]:
    """Every row's draft by the per-row rule alone (``_draft_row``): what ``drafts`` does
    below ``COLUMNS_FROM`` rows, tested equal to its numpy path."""
    cap = config.planner.participation_cap
    return [
        None if t == 0.0 else _draft_row(market, i, t, cap, value, deferred, skipped)
        for i, t in enumerate(trades)
    ]
