"""The figures of many orders at once, in numpy: shares, limit prices, the notional at the
limit in integer cents (rounded against us) and the estimated cost rounded up to the cent.

``sizing`` emits a plan's orders through here (a thousand at 1,000 assets, each sized
again while funding is short). Each figure is the one the order-by-order rule gives, exactly:

- shares: ``float(ticks)`` or ``ticks / 10**9`` (a tick count below 2**53 converts to a
  float exactly, and one correctly rounded division follows, as Python's ``int / int``);
- limit prices: the exact ticks of ``Market.limit`` (``Market.fast_ticks`` where a float
  decides them, else ``limit`` row by row);
- notional cents: ``ticks × limit ticks`` over a power of ten, in int64 when the product
  surely fits (else in Python ints, row by row);
- cost: ``costs.cost_dollars_array`` (bit for bit ``cost_dollars``), then up to the cent as
  ``exact_ticks.ceil_ticks`` decides it (the float where it is clear of a cent, else the
  comparison with the cent; ``to_cents_up`` where neither decides).

``figures`` and ``need`` take this path from ``COLUMNS_FROM`` orders on; below it numpy's
per-call overhead outweighs the loop, and ``figures_rows`` and ``need_rows`` evaluate the
same formulas order by order (``tests/core/test_planner_numpy.py`` checks both paths give
the same figures). ``tests/core/test_planner_frozen.py`` holds the planner to its plans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from daemon.core.planning.arrays import COLUMNS_FROM, Floats, Ints, seq_sum
from daemon.core.planning.costs import cost_dollars, cost_dollars_array, to_cents_up
from daemon.core.planning.market_rows import Market
from daemon.core.planning.rounding import QTY_TICKS

_EXACT = 2.0**53  # below it an int64 tick count is exactly a float
_INT64_SAFE = 2**62
# cents per (share tick × limit tick), by (whole shares, limit exponent): ≥ 0 a multiplier,
# < 0 minus a divisor. A share tick is 1 or 1e-9 share, a limit tick 10**exponent dollars.
CENTS_SHIFT = {
    True: {0: 100, -2: 1, -4: -100},
    False: {0: -(10**7), -2: -(10**9), -4: -(10**11)},
}


def limit_columns(
    market: Market, rows: Sequence[int], buy: bool
) -> tuple[Ints, Ints, Floats]:
    """The rows' limit prices for one side: (ticks, exponents, float prices)."""
    idx = np.asarray(rows, dtype=np.intp)
    ticks = market.fast_ticks_array(buy)[idx]
    exponents = np.full(len(rows), -2, dtype=np.int64)
    prices = market.columns()[4 if buy else 5][idx]
    undecided = np.flatnonzero(ticks < 0)
    if undecided.size:
        for k in undecided.tolist():  # not decided by a float
            ticks[k], exponents[k], prices[k], _ = market.limit(rows[k], buy)
    return ticks, exponents, prices


def share_floats(ticks: Sequence[int], whole: Sequence[bool]) -> Floats | None:
    """Shares as floats (``float(ticks)`` or ``ticks / 10**9``); None when a count is too
    large to convert exactly (the caller converts row by row)."""
    t = np.array(ticks, dtype=np.float64)
    if t.size and float(np.max(np.abs(t))) >= _EXACT:
        return None
    return np.where(np.array(whole, dtype=bool), t, t / 1e9)


def costs_up(
    market: Market, rows: Sequence[int], shares: Floats, prices: Floats
) -> tuple[Floats, list[int]]:
    """The estimated cost of each order (dollars, unrounded) and in cents, rounded up
    (``exact_ticks.ceil_ticks``, for every row at once)."""
    t = market.tables
    _, half_spread, sigma, adv, _, _ = market.columns()
    idx = np.asarray(rows, dtype=np.intp)
    cost = cost_dollars_array(
        shares, prices, t.commission, t.bps, half_spread[idx], t.impact, sigma[idx], adv[idx]
    )
    y = cost * 100
    valid = (y > 0.0) & (y < 1e15)
    c = np.rint(y)
    clear = np.abs(y - c) > y * 4.5e-16 + 1e-9
    up = np.where(clear, np.ceil(y), np.where(cost > c / 100, c + 1, c))
    cents: list[int] = np.where(valid, up, 0.0).astype(np.int64).tolist()
    for k in np.flatnonzero(~valid).tolist():  # zero, huge or NaN: in Decimal
        cents[k] = int(to_cents_up(float(cost[k])).scaleb(2))
    return cost, cents


def notional_cents(
    ticks: Sequence[int], whole: Sequence[bool], limit_ticks: Ints, exponents: Ints, buy: bool
) -> list[int]:
    """``(qty × limit).quantize(CENT)``, up for a buy and down for a sell, in cents."""
    w = np.array(whole, dtype=bool)
    e = exponents
    shift = np.where(
        w,
        np.where(e == 0, 100, np.where(e == -2, 1, -100)),
        np.where(e == 0, -(10**7), np.where(e == -2, -(10**9), -(10**11))),
    ).astype(np.int64)  # CENTS_SHIFT, for every order
    top = max(ticks) if ticks else 0
    if top * int(np.max(limit_ticks, initial=0)) * 100 < _INT64_SAFE:
        m = np.array(ticks, dtype=np.int64) * limit_ticks
        m = m * np.where(shift >= 0, shift, 1)
        div = np.where(shift < 0, -shift, 1)
        out: list[int] = (-((-m) // div) if buy else m // div).tolist()
        return out
    cents = []
    for k, lt, sh in zip(ticks, limit_ticks.tolist(), shift.tolist(), strict=True):
        m_ = k * lt
        cents.append(m_ * sh if sh >= 0 else (-(-m_ // -sh) if buy else m_ // -sh))
    return cents


Figures = tuple[list[int], list[int], list[float]]
"""Per order: (notional cents at the limit, cost cents, shares as a float)."""


def figures(
    market: Market, rows: Sequence[int], ticks: Sequence[int], whole: Sequence[bool], buy: bool
) -> Figures:
    """The orders' figures (``ticks`` > 0 each), the path picked by their number."""
    if len(rows) < COLUMNS_FROM:
        return figures_rows(market, rows, ticks, whole, buy)
    limit_ticks, exponents, prices = limit_columns(market, rows, buy)
    shares = share_floats(ticks, whole)
    if shares is None:  # too many ticks for a float: share by share
        shares = np.array([float(k) if w else k / QTY_TICKS for k, w in zip(ticks, whole, strict=True)])
    _, costs = costs_up(market, rows, shares, prices)
    return notional_cents(ticks, whole, limit_ticks, exponents, buy), costs, shares.tolist()


def figures_rows(
    market: Market, rows: Sequence[int], ticks: Sequence[int], whole: Sequence[bool], buy: bool
) -> Figures:
    """``figures`` order by order (``costs.order_cost``: ``cost_dollars`` then
    ``to_cents_up``, inlined)."""
    t = market.tables
    commission, bps, impact = t.commission, t.bps, t.impact
    half_spread, sigmas, advs = market.half_spread, market.sigma, market.adv
    notional: list[int] = []
    costs: list[int] = []
    shares: list[float] = []
    for i, k, w in zip(rows, ticks, whole, strict=True):
        q = float(k) if w else k / QTY_TICKS
        limit_ticks, exponent, limit_price, _ = market.limit(i, buy)
        m = k * limit_ticks
        shift = CENTS_SHIFT[w][exponent]
        notional.append(m * shift if shift >= 0 else (-(-m // -shift) if buy else m // -shift))
        cost = cost_dollars(q, limit_price, commission, bps, half_spread[i], impact, sigmas[i], advs[i])
        y = cost * 100
        if 0.0 < y < 1e15:  # exact_ticks.ceil_ticks, inlined
            c = round(y)
            if abs(y - c) > y * 4.5e-16 + 1e-9:
                c = math.ceil(y)
            elif cost > c / 100:
                c += 1
        else:
            c = int(to_cents_up(cost).scaleb(2))
        costs.append(c)
        shares.append(q)
    return notional, costs, shares


def need(market: Market, rows: Sequence[int], ticks: Sequence[int], whole: Sequence[bool]) -> float:
    """What buys take in floats: Σ ``q × px + cost`` in their order, one by one."""
    if len(rows) < COLUMNS_FROM:
        return need_rows(market, rows, ticks, whole)
    _, _, prices = limit_columns(market, rows, True)
    q = share_floats(ticks, whole)
    if q is None:
        q = np.array([float(k) if w else k / QTY_TICKS for k, w in zip(ticks, whole, strict=True)])
    cost, _ = costs_up(market, rows, q, prices)
    return seq_sum(q * prices + cost)


def need_rows(market: Market, rows: Sequence[int], ticks: Sequence[int], whole: Sequence[bool]) -> float:
    """``need`` buy by buy."""
    t = market.tables
    guess = 0.0
    for i, k, w in zip(rows, ticks, whole, strict=True):
        q = float(k) if w else k / QTY_TICKS
        _, _, px, _ = market.limit(i, True)
        cost = cost_dollars(
            q, px, t.commission, t.bps, market.half_spread[i], t.impact, market.sigma[i],
            market.adv[i],
        )  # fmt: skip
        guess += q * px + cost
    return guess
