"""The market each tradable row trades in, as floats for the planner's hot loops.

Per row (index-aligned with the planner's tradable rows), filled on first use: the cost
model's parameters (half-spread, σ, ADV; see ``costs``) and the marketable limit price per
side, as exact ticks (``rounding.marketable_limit_ticks``) and their float. ``friction`` and
``cost`` evaluate the one float cost function (``costs.cost_dollars``), so sizing in here
gives bit-for-bit the results of calling the cost model per order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from daemon.core.model import Side
from daemon.core.planning.costs import cost_dollars, to_cents_up
from daemon.core.planning.rounding import marketable_limit_ticks, ticks_price
from daemon.core.planning.tables import PlanTables
from daemon.core.planning.valuation import Row

Limit = tuple[int, int, float, Decimal]
"""A marketable limit price: (ticks, exponent, float price, Decimal price), the price being
``ticks × 10**exponent`` dollars. A plain tuple (one per row and side, built in the sizing
loop: a NamedTuple costs twice as much to build); callers unpack it."""
_CENT = Decimal("1E-2")
_TICK = {-2: Decimal("1E-2"), -4: Decimal("1E-4"), 0: Decimal(1)}


class Market:
    """Float parameters per tradable row; see the module docstring."""

    __slots__ = ("_buy", "_sell", "adv", "half_spread", "prices", "rows", "sigma", "tables")

    def __init__(self, tables: PlanTables, rows: Sequence[Row]) -> None:
        self.tables = tables
        self.rows = rows
        n = len(rows)
        self._buy: list[Limit | None] = [None] * n
        self._sell: list[Limit | None] = [None] * n
        default_hs, default_sigma, default_adv = (
            tables.default_half_spread,
            tables.default_sigma,
            tables.default_adv,
        )
        prices: list[float] = []
        half_spread: list[float] = []
        sigmas: list[float] = []
        advs: list[float | None] = []
        for r in rows:
            # costs.half_spread, sigma_for and adv_for: the quote's, else the asset's, else
            # the config's default
            q, a = r.quote, r.asset
            prices.append(r.price if r.price is not None else 0.0)
            sigma: float | None = None
            adv: float | None = None
            hs = default_hs
            if q is not None:
                bid, ask = q.bid, q.ask
                if bid > 0 and ask >= bid:
                    hs = (ask - bid) / 2.0 / ((bid + ask) / 2.0)
                if q.sigma is not None and q.sigma >= 0:
                    sigma = q.sigma
                if q.adv is not None and q.adv > 0:
                    adv = q.adv
            if a is not None:
                if sigma is None:
                    sigma = a.sigma
                if adv is None and a.adv is not None and a.adv > 0:
                    adv = a.adv
            half_spread.append(hs)
            sigmas.append(default_sigma if sigma is None else sigma)
            advs.append(default_adv if adv is None else adv)
        self.prices = prices
        self.half_spread = half_spread
        self.sigma = sigmas
        self.adv = advs

    def limit(self, i: int, buy: bool) -> Limit:
        """Row ``i``'s marketable limit price for a buy or a sell (cached)."""
        cache = self._buy if buy else self._sell
        lim = cache[i]
        if lim is not None:
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
        mid to the limit price, a cent of rounding and the estimated cost."""
        t = self.tables
        commission, bps, impact = t.commission, t.bps, t.impact
        prices, advs, sigmas = self.prices, self.adv, self.sigma
        half_spread = self.half_spread
        buys, sells = self._buy, self._sell
        rows = self.rows
        up, down = (t.up, t.down) if t.offset != 0.0 else (0.0, 0.0)  # 0: no inline path
        friction = 0.0
        for i, (trade, price, hs, sigma, adv) in enumerate(
            zip(trades, prices, half_spread, sigmas, advs, strict=True)
        ):
            if trade == 0.0:
                continue
            buy = trade > 0
            lim = buys[i] if buy else sells[i]
            if lim is None:
                # the fast path of ``limit``, inlined: a limit of $1 or more, clear of a tick
                q = rows[i].quote
                assert q is not None
                y = (q.ask * up if buy else q.bid * down) * 100
                if 100.0 + 1e-7 <= y < 1e15 and abs(y - round(y)) > y * 1e-14 + 1e-9:
                    k = math.ceil(y) if buy else math.floor(y)
                    lim = (k, -2, k / 100, Decimal(k) * _CENT)
                    (buys if buy else sells)[i] = lim
                else:
                    lim = self.limit(i, buy)
            shares = abs(trade) / price
            _, _, limit_price, _ = lim
            friction += shares * abs(limit_price - price) + 0.01
            friction += cost_dollars(shares, price, commission, bps, hs, impact, sigma, adv)
        return friction
