"""Where each asset should go: the dollar trade per symbol before rounding and funding.

Rules, in order (all in dollars of a value ``V``; weights are fractions):

1. **Target mode** decides where an asset that trades should land:
   ``target`` → its target; ``band_edge`` → just inside the nearer band edge (``EDGE_MARGIN``
   or a tenth of the half-width, whichever is smaller, inside); ``halfway`` → midway between
   that edge and the target (Daryanani).
2. **Scope** decides which assets trade: ``all`` with ``target`` mode brings every tradable
   asset to its target (a calendar rebalance); otherwise (``out_of_band``, or any scope with
   ``band_edge``/``halfway``, where an in-band asset has no deviation to correct) only assets
   outside their band trade, plus the cash flows of rule 4.
3. **top_k** counts pairs: only the k largest ``|weight − target|`` assets above target
   (the sells; a holding to liquidate counts with its whole weight) and the k largest below
   it (the buys they fund) may trade at all.
4. **Cash flows**, after the frictions (limit-price distance and costs) are paid from cash:
   cash above ``cash_target + cash_buffer`` (counting this plan's sell proceeds) buys
   underweight assets (below target, proportionally to their gap, up to target), so excess
   cash is spent before anything extra is sold. When the buys would take cash below its
   target, the shortfall is raised from overweight assets (above target, proportionally to
   their excess, down to target): only as much as the buys (and the frictions) take while
   cash sits inside its band, all the way back to target when cash is below its band. What
   still cannot be funded the planner scales down.

Holdings that are not in the targets and are to be liquidated go to zero. The planner rounds,
caps and funds these dollar amounts into orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from daemon.core.config.values import Config, Scope, TargetMode
from daemon.core.planning.arrays import Bools, Floats, seq_sum
from daemon.core.triggers.bands import cash_limits

EDGE_MARGIN = 0.0001  # 0.01 weight points inside the band edge


@dataclass(slots=True)
class Position:
    """One tradable symbol as the target rules see it (dollars and weight fractions)."""

    symbol: str
    value: float  # current dollars at the valuation price (pending orders included)
    target: float
    low: float
    high: float
    liquidate: bool = False  # not in targets, config says liquidate: goes to zero


def deviation(p: Position, value: float) -> float:
    """|current weight − target| (a position to liquidate: its whole weight)."""
    w = p.value / value
    return w if p.liquidate else abs(w - p.target)


def landing_weight(p: Position, current: float, config: Config) -> float | None:
    """The weight an asset should trade to, or None when it should not trade."""
    if p.liquidate:
        return 0.0
    mode = config.planner.target_mode
    if mode is TargetMode.TARGET and config.planner.scope is Scope.ALL:
        return p.target
    above, below = current > p.high, current < p.low
    if not (above or below):
        return None
    if mode is TargetMode.TARGET:
        return p.target
    edge = p.high if above else p.low
    if mode is TargetMode.HALFWAY:
        return (edge + p.target) / 2.0
    margin = min(EDGE_MARGIN, (p.high - p.low) / 20.0)
    return max(0.0, edge - margin if above else edge + margin)


def eligible(positions: Sequence[Position], value: float, top_k: int | None) -> list[int]:
    """Indexes of the positions that may trade: all, or ``top_k`` pairs: the k largest
    deviations above target (the sells) and the k largest below it (the buys they fund),
    so a run never sells without the buys that put its proceeds back to work."""
    idx = list(range(len(positions)))
    if top_k is None or top_k >= len(positions):
        return idx
    k = max(0, top_k)
    over = [
        i for i in idx if positions[i].liquidate or positions[i].value > positions[i].target * value
    ]
    under = [i for i in idx if i not in set(over)]
    out: list[int] = []
    for side in (over, under):
        side.sort(key=lambda i: (-deviation(positions[i], value), positions[i].symbol))
        out.extend(side[:k])
    return sorted(out)


@dataclass(slots=True)
class Book:
    """The positions as columns (what the sizing passes loop over, several times a plan)."""

    symbols: Sequence[str]
    values: Sequence[float]
    targets: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    liquidate: Sequence[bool]
    _arrays: tuple[Floats, Floats, Floats, Floats, Bools] | None = None

    def set_arrays(self, arrays: tuple[Floats, Floats, Floats, Floats, Bools]) -> None:
        """What ``arrays`` returns, when the caller holds them already (the same figures)."""
        self._arrays = arrays

    @classmethod
    def of(cls, positions: Sequence[Position]) -> Book:
        return cls(
            [p.symbol for p in positions],
            [p.value for p in positions],
            [p.target for p in positions],
            [p.low for p in positions],
            [p.high for p in positions],
            [p.liquidate for p in positions],
        )

    def arrays(self) -> tuple[Floats, Floats, Floats, Floats, Bools]:
        """(values, targets, lows, highs, liquidate) as numpy arrays (built once)."""
        if self._arrays is None:
            f = np.float64
            self._arrays = (
                np.array(self.values, dtype=f), np.array(self.targets, dtype=f),
                np.array(self.lows, dtype=f), np.array(self.highs, dtype=f),
                np.array(self.liquidate, dtype=bool),
            )  # fmt: skip
        return self._arrays


def desired_trades(
    positions: Sequence[Position],
    cash: float,
    value: float,
    config: Config,
    *,
    sizing_value: float | None = None,
) -> list[float]:
    """Signed dollar trade per position (+ buy, − sell), index-aligned with ``positions``.

    ``cash`` is the cash the plan sees (after reserving for open buys), ``value`` the
    portfolio value that sets current weights, ``sizing_value`` the value that target
    weights are taken of (the value after trading frictions; defaults to ``value``).
    """
    return book_trades(Book.of(positions), cash, value, config, sizing_value=sizing_value)


def book_trades(
    book: Book,
    cash: float,
    value: float,
    config: Config,
    *,
    sizing_value: float | None = None,
) -> list[float]:
    """``desired_trades`` on a ``Book`` (the same rules, arithmetic and result)."""
    vd = value if sizing_value is None else sizing_value
    pf = config.portfolio
    n = len(book.values)
    trades = [0.0] * n
    if value <= 0:
        return trades
    top_k = config.planner.top_k
    allowed = np.ones(n, dtype=bool)
    if top_k is not None and top_k < n:
        positions = [
            Position(s, v, t, lo, hi, liq)
            for s, v, t, lo, hi, liq in zip(
                book.symbols,
                book.values,
                book.targets,
                book.lows,
                book.highs,
                book.liquidate,
                strict=True,
            )
        ]
        allowed[:] = False
        allowed[eligible(positions, value, top_k)] = True
    out = _landing_trades(book, allowed, value, vd, config)

    cash_goal = pf.cash_target * vd
    friction = value - vd
    cash_after = cash - seq_sum(out) - friction  # the frictions are paid from cash
    cash_low = cash_limits(config)[0] * value
    buys = seq_sum(out[out > 0])
    if cash_after > (pf.cash_target + pf.cash_buffer) * vd:
        _spread(book, out, allowed, cash_after - cash_goal, vd, buy=True)
    elif cash < cash_low and cash_after < cash_goal:  # cash below its band: back to target
        _spread(book, out, allowed, cash_goal - cash_after, vd, buy=False)
    elif buys > 0:  # cash in its band: only what the buys and their frictions take
        short = min(cash_goal - cash_after, buys + friction)
        if short > 0:
            _spread(book, out, allowed, short, vd, buy=False)
    trades_out: list[float] = out.tolist()
    return trades_out


def _landing_trades(book: Book, allowed: Bools, value: float, vd: float, config: Config) -> Floats:
    """``landing_weight × vd − value`` for every allowed position that trades, 0 for the rest
    (``landing_weight``'s rules for all positions at once: the same float operations)."""
    values, targets, lows, highs, liquidate = book.arrays()
    mode = config.planner.target_mode
    zero = np.zeros(len(values))
    if mode is TargetMode.TARGET and config.planner.scope is Scope.ALL:
        land = np.where(liquidate, 0.0, targets)
        return np.where(allowed, land * vd - values, zero)
    current = values / value
    above, below = current > highs, current < lows
    if mode is TargetMode.TARGET:
        land = targets
    else:
        edge = np.where(above, highs, lows)
        if mode is TargetMode.HALFWAY:
            land = (edge + targets) / 2.0
        else:
            width = (highs - lows) / 20.0
            margin = np.where(width < EDGE_MARGIN, width, EDGE_MARGIN)  # min(EDGE_MARGIN, w)
            inside = np.where(above, edge - margin, edge + margin)
            land = np.where(inside > 0.0, inside, 0.0)  # max(0.0, inside)
    land = np.where(liquidate, 0.0, land)
    trades = np.where(allowed & (liquidate | above | below), land * vd - values, zero)
    return trades


def _spread(book: Book, trades: Floats, allowed: Bools, amount: float, vd: float, *, buy: bool) -> None:
    """Add buys (``buy``) or sells of up to ``amount`` dollars across the eligible positions,
    proportionally to their room toward target. Never crosses a target. In place."""
    values, targets, _, _, liquidate = book.arrays()
    after = values + trades
    room = targets * vd - after if buy else after - targets * vd
    has = allowed & ~liquidate & (room > 0)
    total = seq_sum(room[has])
    if total <= 0 or amount <= 0:
        return
    ratio = amount / total
    frac = ratio if ratio < 1.0 else 1.0  # min(1.0, ratio)
    step = room[has] * frac
    trades[has] = trades[has] + step if buy else trades[has] + -step
