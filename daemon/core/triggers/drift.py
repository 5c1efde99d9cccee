"""Drift tracking: every asset's current weight against its band, updated in O(1) per quote.

Weights are ``w_j = mv_j / V`` where ``V`` is cash plus every position (targets, excluded
symbols and holdings without a target alike). Only targets and cash have bands.

The trick that keeps a quote O(1): asset ``j`` (market value ``mv_j ≥ 0``, band
``[lo_j, hi_j]``) is inside its band iff ``V ∈ [mv_j / hi_j, mv_j / lo_j]`` (``/0`` → ∞).
A quote on asset ``i`` moves ``V`` and only ``i``'s own interval, so we keep the
intersection ``[Lmax, Hmin]`` of all intervals with the slots that attain it: "some asset is
out of band" is ``V ∉ [Lmax, Hmin]``. Moving a non-extreme interval or pushing an extreme
outward is O(1); only moving the extreme inward rescans (``max``/``min`` over a list, in C),
which random quotes make rare (amortized O(1)).

``V`` is kept as a running sum and re-summed exactly (``math.fsum``) every few thousand
updates so rounding cannot accumulate. The exact queries (``out_of_band``, ``rows``,
``portfolio_drift``) re-sum ``V`` themselves. Floats on this path; quantities are kept as
``Decimal`` beside them so fills never accumulate float error.

A held symbol with no good quote yet is valued at 0 and reported by ``missing_prices()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from daemon.core.config.values import Config
from daemon.core.model import CASH, Holdings
from daemon.core.triggers.bands import asset_limits, cash_limits
from daemon.core.triggers.drift_batch import DriftBatches

INF = math.inf  # (drift_batch's too)
_RESUM_MIN = 4096  # exact re-sum of V at least this many updates apart (per slot: 8)


def _interval(mv: float, inv_lo: float, inv_hi: float, zero_b: float) -> tuple[float, float]:
    """The values of V for which ``mv / V`` lies inside the band (empty: ``(inf, -inf)``)."""
    if mv > 0.0:
        return mv * inv_hi, mv * inv_lo
    if mv == 0.0:
        return 0.0, zero_b
    return INF, -INF  # a short position is never inside a band (weights below 0)


class DriftTracker(DriftBatches):
    """Current weights and band breaches of one portfolio; see the module docstring."""

    __slots__ = ()  # the state is declared in drift_queries.DriftQueries

    def __init__(
        self, config: Config, holdings: Holdings, prices: Mapping[str, float] | None = None
    ) -> None:
        self._config = config
        excluded = config.portfolio.excluded
        targets = [a for a in config.portfolio.assets if a.symbol not in excluded]
        seen: set[str] = set()
        for a in config.portfolio.assets:
            if a.symbol == CASH:
                raise ValueError(
                    f"asset symbol {CASH!r} is reserved for cash: set the cash "
                    "weight with portfolio.cash_target instead"
                )
            if a.symbol in seen:
                raise ValueError(f"asset {a.symbol!r} is listed twice in the targets: keep one")
            seen.add(a.symbol)
        self._symbols: list[str] = []
        self._index: dict[str, int] = {}
        self._qty: list[float] = []
        self._px: list[float] = []
        self._mv: list[float] = []
        self._banded: list[bool] = []
        self._target: list[float] = []
        self._lo: list[float] = []
        self._hi: list[float] = []
        self._inv_lo: list[float] = []
        self._inv_hi: list[float] = []
        self._zero_b: list[float] = []
        self._a: list[float] = []
        self._b: list[float] = []
        self._qty_dec: dict[str, Decimal] = {}
        self._columns = None
        for asset in targets:
            self._add_slot(asset.symbol, asset.target, asset_limits(asset))
        self._n_targets = len(targets)
        # cash is a banded slot at a fixed "price" of 1 whose quantity is the cash balance;
        # it is not in _index, so a quote named "CASH" cannot touch it
        self._cash_i = self._add_slot(CASH, config.portfolio.cash_target, cash_limits(config))
        del self._index[CASH]
        self._px[self._cash_i] = 1.0
        self._cash = Decimal(0)
        self._value = 0.0
        self._lmax = -INF
        self._lmax_i = 0
        self._hmin = INF
        self._hmin_i = 0
        self._out = False
        self._ops = 0  # (_resum_every: set by _add_slot)
        if prices:
            for symbol, mid in prices.items():
                if symbol != CASH and mid > 0.0 and math.isfinite(mid):
                    self._px[self._slot(symbol)] = float(mid)
        self.set_holdings(holdings)

    # -- slots ------------------------------------------------------------------------------

    def _add_slot(self, symbol: str, target: float, limits: tuple[float, float] | None) -> int:
        i = len(self._symbols)
        self._symbols.append(symbol)
        self._index[symbol] = i
        self._qty.append(0.0)
        self._px.append(0.0)
        self._mv.append(0.0)
        if limits is None:
            self._banded.append(False)
            self._target.append(0.0)
            self._lo.append(0.0)
            self._hi.append(INF)
            self._inv_lo.append(INF)
            self._inv_hi.append(0.0)
            self._zero_b.append(INF)
            self._a.append(-INF)  # never the extreme: no band
            self._b.append(INF)
        else:
            lo, hi = limits
            self._banded.append(True)
            self._target.append(target)
            self._lo.append(lo)
            self._hi.append(hi)
            self._inv_lo.append(1.0 / lo if lo > 0.0 else INF)
            self._inv_hi.append(1.0 / hi if hi > 0.0 else INF)
            self._zero_b.append(0.0 if lo > 0.0 else INF)
            self._a.append(0.0)
            self._b.append(self._zero_b[i])
        self._resum_every = max(_RESUM_MIN, 8 * len(self._symbols))
        return i

    def _slot(self, symbol: str) -> int:
        i = self._index.get(symbol)
        return self._add_slot(symbol, 0.0, None) if i is None else i

    # -- state changes ----------------------------------------------------------------------

    def set_holdings(self, holdings: Holdings) -> None:
        """Replace cash and all quantities (after a broker snapshot). O(n)."""
        self._qty_dec = {}
        qty = self._qty
        for i in range(len(qty)):
            qty[i] = 0.0
        for symbol, q in holdings.positions.items():
            if symbol == CASH:
                raise ValueError(f"a position is named {CASH!r}, which is reserved for cash")
            i = self._slot(symbol)
            self._qty_dec[symbol] = Decimal(q)
            qty[i] = float(q)
        self._cash = Decimal(holdings.cash)
        qty[self._cash_i] = float(self._cash)
        self._rebuild()

    def apply_fill(self, symbol: str, qty_delta: Decimal, cash_delta: Decimal) -> None:
        """A fill: ``qty_delta`` shares (negative for a sell) and ``cash_delta`` dollars
        (negative for a buy, including commission). O(1) amortized."""
        if symbol == CASH:
            raise ValueError(f"cannot fill {CASH!r}: pass the cash change as cash_delta")
        i = self._slot(symbol)
        q = self._qty_dec.get(symbol, Decimal(0)) + qty_delta
        self._qty_dec[symbol] = q
        self._qty[i] = float(q)
        self._set_mv(i, self._qty[i] * self._px[i])
        self._cash += cash_delta
        ci = self._cash_i
        self._qty[ci] = float(self._cash)
        self._set_mv(ci, self._qty[ci])
        self._refresh_out()

    def _set_mv(self, i: int, new: float) -> None:
        self._value += new - self._mv[i]
        self._mv[i] = new
        if self._banded[i]:
            self._set_interval(
                i, *_interval(new, self._inv_lo[i], self._inv_hi[i], self._zero_b[i])
            )

    def _set_interval(self, i: int, na: float, nb: float) -> None:
        self._a[i] = na
        self._b[i] = nb
        if na >= self._lmax:
            self._lmax, self._lmax_i = na, i
        elif i == self._lmax_i:
            self._rescan_low()
        if nb <= self._hmin:
            self._hmin, self._hmin_i = nb, i
        elif i == self._hmin_i:
            self._rescan_high()

    def _rescan_low(self) -> None:
        a = self._a
        m = max(a)
        self._lmax, self._lmax_i = m, a.index(m)

    def _rescan_high(self) -> None:
        b = self._b
        m = min(b)
        self._hmin, self._hmin_i = m, b.index(m)

    def _rebuild(self) -> None:
        mv, qty, px = self._mv, self._qty, self._px
        for i in range(len(mv)):
            m = qty[i] * px[i]
            mv[i] = m
            if self._banded[i]:
                self._a[i], self._b[i] = _interval(
                    m, self._inv_lo[i], self._inv_hi[i], self._zero_b[i]
                )
        self._value = math.fsum(mv)
        self._ops = 0
        self._rescan_low()
        self._rescan_high()
        self._refresh_out()

    def _refresh_out(self) -> None:
        v = self._value
        self._out = v > 0.0 and (v < self._lmax or v > self._hmin)

    def update_quote(self, symbol: str, bid: float, ask: float) -> bool:
        """Take a new best bid/ask; the mid prices the position. A crossed, zero, negative or
        non-finite quote is ignored (returns False, price unchanged). Returns True when the
        out-of-band set became non-empty, or when this symbol itself left its band while
        others were already out. (Other assets pushed out by the change in V while the set
        was already non-empty are not reported here; ``out_of_band()`` lists them.)"""
        if not (0.0 < bid <= ask < INF):  # also rejects NaN
            return False
        i = self._index.get(symbol)
        if i is None:
            i = self._slot(symbol)
        mid = (bid + ask) * 0.5
        px = self._px
        if mid == px[i]:
            # a quote that moves only sizes or one side by as much as the other (most SIP
            # quotes): mv = qty × px exactly, so V, the intervals and the answer stand
            return False
        px[i] = mid
        q = self._qty[i]
        if q == 0.0:
            return False  # nothing held: V and every weight are unchanged
        new = q * mid
        mvs = self._mv
        old = mvs[i]
        mvs[i] = new
        v_old = self._value
        v = v_old + (new - old)
        ops = self._ops + 1
        if ops >= self._resum_every:
            v = math.fsum(mvs)
            ops = 0
        self._ops = ops
        self._value = v
        if not self._banded[i]:
            out = v > 0.0 and (v < self._lmax or v > self._hmin)
            was = self._out
            self._out = out
            return out and not was
        a_list = self._a
        b_list = self._b
        a_old = a_list[i]
        b_old = b_list[i]
        if new > 0.0:
            na = new * self._inv_hi[i]
            nb = new * self._inv_lo[i]
        elif new == 0.0:
            na = 0.0
            nb = self._zero_b[i]
        else:
            na = INF
            nb = -INF
        a_list[i] = na
        b_list[i] = nb
        if na >= self._lmax:
            self._lmax = na
            self._lmax_i = i
        elif i == self._lmax_i:
            self._rescan_low()
        if nb <= self._hmin:
            self._hmin = nb
            self._hmin_i = i
        elif i == self._hmin_i:
            self._rescan_high()
        out = v > 0.0 and (v < self._lmax or v > self._hmin)
        was = self._out
        self._out = out
        if not out:
            return False
        if not was:
            return True
        return a_old <= v_old <= b_old and not na <= v <= nb
