"""The market each tradable row trades in, as floats for the planner's hot loops.

Per row (index-aligned with the planner's tradable rows), filled on first use: the cost
model's parameters (half-spread, σ, ADV; see ``costs``) and the marketable limit price per
side, as exact ticks (``rounding.marketable_limit_ticks``) and their float. ``friction`` and
``cost`` evaluate the one float cost function (``costs.cost_dollars``), so sizing in here
gives bit-for-bit the results of calling the cost model per order.

``friction`` runs in numpy (numpy is in the core for this: the sizing passes walk every row
twice or more a plan, 0.9 ms a pass at 1,000 rows in Python, ~0.1 ms in numpy). It stays
exact: element-wise float64 operations round as Python's floats do, the sum is a sequential
``cumsum`` in the Python loop's order (``sum`` and ``+=`` in Python 3.11 add one by one),
the cost is ``costs.cost_dollars_array`` (``cost_dollars``, element by element) and the limit
prices are the exact ticks of ``limit`` (computed for every row at once where a float decides
them, else by ``limit``). ``tests/core/test_planner_numpy.py`` checks it against the loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from daemon.core.model import Side
from daemon.core.planning import valuation as F
from daemon.core.planning.arrays import COLUMNS_FROM, Bools, Floats, Ints, seq_sum
from daemon.core.planning.costs import cost_dollars, cost_dollars_array, to_cents_up
from daemon.core.planning.rounding import marketable_limit_ticks, ticks_price
from daemon.core.planning.tables import PlanTables
from daemon.core.planning.valuation import MarketRow, Row, RowFigures, market_row

Limit = tuple[int, int, float, Decimal]
"""A marketable limit price: (ticks, exponent, float price, Decimal price), the price being
``ticks × 10**exponent`` dollars. A plain tuple (one per row and side, built in the sizing
loop: a NamedTuple costs twice as much to build); callers unpack it."""
RowColumns = tuple[Bools, Bools, Floats, Floats, Floats, NDArray[np.object_]]
_CENT = Decimal("1E-2")
_TICK = {-2: Decimal("1E-2"), -4: Decimal("1E-4"), 0: Decimal(1)}


class Market:
    """Float parameters per tradable row; see the module docstring."""

    __slots__ = (
        "_arrays", "_asks", "_bids", "_buy", "_buy_fast", "_cols", "_fast_arrays", "_row_arrays",
        "_sell", "_sell_fast", "adv", "half_spread", "pf_index", "prices", "rows", "sigma", "tables",
    )  # fmt: skip

    def __init__(
        self,
        tables: PlanTables,
        rows: Sequence[Row],
        pf_index: Sequence[int] | None = None,
        per_row: Sequence[MarketRow] | None = None,
        columns: RowFigures | None = None,
    ) -> None:
        """``per_row``: the rows' ``MarketRow``s when the valuation made them (else made
        here by ``market_row``); ``columns``: them transposed (``Portfolio.columns``)."""
        self.tables = tables
        self.rows = rows
        # each row's index in the portfolio's rows (the planner trades a subset of them)
        self.pf_index = range(len(rows)) if pf_index is None else pf_index
        n = len(rows)
        self._buy: list[Limit | None] = [None] * n
        self._sell: list[Limit | None] = [None] * n
        cols = columns
        if cols is None:  # transposed: one tuple per figure, index-aligned with the rows
            cols = RowFigures([market_row(tables, r) for r in rows] if per_row is None else per_row)
        self._cols = cols
        self.prices: Sequence[float] = cols[F.PRICE]
        self.half_spread: Sequence[float] = cols[F.HALF_SPREAD]
        self.sigma: Sequence[float] = cols[F.SIGMA]
        adv = cols[F.ADV]
        # ADV as the cost model takes it: None where there is none (NaN in the columns)
        self.adv: Sequence[float | None] = (
            adv if tables.default_adv is not None else [None if a != a else a for a in adv]
        )
        self._bids: Sequence[float] = cols[F.BID]
        self._asks: Sequence[float] = cols[F.ASK]
        self._arrays: tuple[Floats, Floats, Floats, Floats, Floats, Floats] | None = None
        # per row, the tick count of the limit where a float decides it (``_fast_limits``),
        # else -1
        self._buy_fast: list[int] = []
        self._sell_fast: list[int] = []
        self._fast_arrays: tuple[Ints, Ints] | None = None
        self._row_arrays: RowColumns | None = None

    def figures(self) -> RowFigures:
        """The rows' ``MarketRow`` figures, one tuple per figure (``valuation.MarketRow``)."""
        return self._cols

    def row_columns(self) -> RowColumns:
        """(whole shares, to liquidate, sellable shares, value, target, symbol) per row,
        arrays (the symbols as objects)."""
        if self._row_arrays is None:
            cols = self._cols
            self._row_arrays = (
                cols.array(F.WHOLE, bool),
                cols.array(F.LIQUIDATE, bool),
                cols.array(F.SELLABLE),
                cols.array(F.VALUE),
                cols.array(F.TARGET),
                cols.array(F.SYMBOL, object),
            )
        return self._row_arrays

    def columns(self) -> tuple[Floats, Floats, Floats, Floats, Floats, Floats]:
        """(prices, half-spreads, σ, ADV (NaN: none), buy limits, sell limits) as arrays;
        the limits where ``_fast_limits`` decides them, NaN elsewhere."""
        if self._arrays is None:
            buy_px, sell_px = self._fast_limits()
            cols = self._cols
            self._arrays = (
                cols.array(F.PRICE),
                cols.array(F.HALF_SPREAD),
                cols.array(F.SIGMA),
                cols.array(F.ADV),
                buy_px,
                sell_px,
            )
        return self._arrays

    def _fast_limits(self) -> tuple[Floats, Floats]:
        """Every row's buy and sell limit price where a float decides its tick (the fast
        path of ``limit``, for all rows at once): a limit of $1 or more, ``ask × up`` (or
        ``bid × down``) × 100 clear of an integer by more than its error. NaN elsewhere
        (``limit`` decides those, exactly); the tick counts go to ``_buy_fast`` and
        ``_sell_fast`` (-1 where undecided)."""
        t = self.tables
        n = len(self.rows)
        if t.offset == 0.0 or n == 0:  # no fast path: ``limit`` decides every row
            self._buy_fast, self._sell_fast = [-1] * n, [-1] * n
            none = np.full(n, -1, dtype=np.int64)
            self._fast_arrays = (none, none)
            nan = np.full(n, math.nan)
            return nan, nan.copy()
        ask = np.array(self._asks, dtype=np.float64)
        bid = np.array(self._bids, dtype=np.float64)
        out: list[Floats] = []
        fast: list[Ints] = []
        for px, factor, buy in ((ask, t.up, True), (bid, t.down, False)):
            y = px * factor * 100
            ok = (y >= 100.0 + 1e-7) & (y < 1e15) & (np.abs(y - np.rint(y)) > y * 1e-14 + 1e-9)
            k = np.where(ok, np.ceil(y) if buy else np.floor(y), -1.0)
            fast.append(k.astype(np.int64))
            ticks: list[int] = fast[-1].tolist()
            if buy:
                self._buy_fast = ticks
            else:
                self._sell_fast = ticks
            out.append(np.where(ok, k / 100, math.nan))
        self._fast_arrays = (fast[0], fast[1])
        return out[0], out[1]

    def limit(self, i: int, buy: bool) -> Limit:
        """Row ``i``'s marketable limit price for a buy or a sell (cached)."""
        cache = self._buy if buy else self._sell
        lim = cache[i]
        if lim is not None:
            return lim
        fast = self._buy_fast if buy else self._sell_fast
        if fast and fast[i] >= 0:
            k = fast[i]
            lim = (k, -2, k / 100, Decimal(k) * _CENT)
            cache[i] = lim
            return lim
        q = self.rows[i].quote
        assert q is not None
        t = self.tables
        px = q.ask if buy else q.bid
        factor = t.up if buy else t.down
        x = px * factor
        if t.offset != 0.0 and x >= 1.0 + 1e-9:  # rounding.marketable_limit_ticks, inlined
            y = x * 100
            if y < 1e15:
                k = round(y)
                if abs(y - k) > y * 1e-14 + 1e-9:
                    k = math.ceil(y) if buy else math.floor(y)
                    lim = (k, -2, k / 100, Decimal(k) * _CENT)
                    cache[i] = lim
                    return lim
        side = Side.BUY if buy else Side.SELL
        k, e = marketable_limit_ticks(side, q.bid, q.ask, t.offset, t.offset_dec)
        lim = (k, e, ticks_price(k, e), Decimal(k) * _TICK[e])
        cache[i] = lim
        return lim

    def limits(self, buy: bool) -> list[Limit | None]:
        """The cache behind ``limit`` (None where not computed yet)."""
        return self._buy if buy else self._sell

    def fast_ticks_array(self, buy: bool) -> Ints:
        """``fast_ticks`` as an array."""
        self.columns()
        assert self._fast_arrays is not None
        return self._fast_arrays[0 if buy else 1]

    def fast_ticks(self, buy: bool) -> list[int]:
        """Per row, the limit's tick count in cents where a float decides it (what
        ``limit(i, buy)[0]`` is, with exponent −2), else −1."""
        self.columns()
        return self._buy_fast if buy else self._sell_fast

    def cost_float(self, i: int, shares: float, price: float) -> float:
        """``costs.cost_dollars`` for row ``i``."""
        t = self.tables
        return cost_dollars(
            shares,
            price,
            t.commission,
            t.bps,
            self.half_spread[i],
            t.impact,
            self.sigma[i],
            self.adv[i],
        )

    def cost(self, i: int, shares: float, price: float) -> Decimal:
        """The estimated cost of an order, rounded up to the cent (``costs.order_cost``)."""
        return to_cents_up(self.cost_float(i, shares, price))

    def friction(self, trades: Sequence[float]) -> float:
        """Dollars the trades lose to limit prices and costs: per order the distance from the
        mid to the limit price, a cent of rounding and the estimated cost (in numpy, exact:
        see the module docstring; ``friction_loop`` is the same sum, one row at a time)."""
        if len(trades) < COLUMNS_FROM:
            return self.friction_loop(trades)
        t = self.tables
        prices, half_spread, sigma, adv, buy_px, sell_px = self.columns()
        trade = np.array(trades, dtype=np.float64)
        active = np.flatnonzero(trade != 0.0)
        if active.size == 0:
            return 0.0
        trade, prices = trade[active], prices[active]
        buy = trade > 0
        limit = np.where(buy, buy_px[active], sell_px[active])
        for k in np.flatnonzero(np.isnan(limit)).tolist():  # the rows a float cannot decide
            limit[k] = self.limit(int(active[k]), bool(buy[k]))[2]
        shares = np.abs(trade) / prices
        cost = cost_dollars_array(
            shares, prices, t.commission, t.bps, half_spread[active], t.impact, sigma[active],
            adv[active],
        )  # fmt: skip
        terms = np.empty(2 * active.size)
        terms[0::2] = shares * np.abs(limit - prices) + 0.01
        terms[1::2] = cost
        return seq_sum(terms)

    def friction_loop(self, trades: Sequence[float]) -> float:
        """``friction`` in plain Python, one row at a time (the same formula, tested equal:
        ``friction`` takes it below ``COLUMNS_FROM`` rows)."""
        t = self.tables
        commission, bps, impact = t.commission, t.bps, t.impact
        friction = 0.0
        for i, trade in enumerate(trades):
            if trade == 0.0:
                continue
            price = self.prices[i]
            _, _, limit_price, _ = self.limit(i, trade > 0)
            shares = abs(trade) / price
            friction += shares * abs(limit_price - price) + 0.01
            friction += cost_dollars(
                shares, price, commission, bps, self.half_spread[i], impact, self.sigma[i],
                self.adv[i],
            )  # fmt: skip
        return friction
