"""A frame's quotes through the drift tracker in one call: ``update_quotes`` and, for the
engine's batch path, ``take_quotes``. ``DriftBatches`` is a base of ``drift.DriftTracker``
and holds no state of its own; the algorithm is ``drift``'s, inlined here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from daemon.core.triggers.drift_queries import DriftQueries

INF = math.inf


class BidAsk(Protocol):
    """A quote as ``update_quotes`` reads it (``events.QuoteUpdated`` is one)."""

    @property
    def symbol(self) -> str: ...
    @property
    def bid(self) -> float: ...
    @property
    def ask(self) -> float: ...


Q = TypeVar("Q", bound=BidAsk)


class DriftBatches(DriftQueries):
    __slots__ = ()
    # the tracker's state (slots declared in ``DriftQueries``), read and written here
    _banded: list[bool]
    _a: list[float]
    _b: list[float]
    _inv_hi: list[float]
    _inv_lo: list[float]
    _zero_b: list[float]
    _ops: int
    _resum_every: int
    _lmax: float
    _lmax_i: int
    _hmin: float
    _hmin_i: int

    if TYPE_CHECKING:  # the tracker's, used here

        def _slot(self, symbol: str) -> int: ...

        def update_quote(self, symbol: str, bid: float, ask: float) -> bool: ...

    def update_quotes(self, quotes: Iterable[BidAsk]) -> bool:
        """``update_quote`` for each quote in order, in one call: the same state after
        every quote, the same float operations in the same order (so the same value of V
        bit for bit); True iff any of those calls would have returned True."""
        return self.take_quotes(quotes, {}, INF, [])

    def take_quotes(
        self, quotes: Iterable[Q], last: dict[str, Q], jump: float, jumps: list[tuple[Q, float]]
    ) -> bool:
        """``update_quotes``, and for the engine in the same pass (``engine/quotes.py``):
        each quote becomes ``last[symbol]``; a quote whose bid + ask is ``jump`` times the
        previous ``last`` quote's or more, or as much less (all four prices positive), is
        appended to ``jumps`` with that ratio (a suspected split): it updates the drift like
        any other, but its own breach is not counted."""
        # update_quote inlined, with every attribute hoisted into a local, and the engine's
        # previous-quote check folded in: the calls, ~20 attribute loads per quote and a
        # second pass over the frame were ~35 % of a frame's cost (every quote of every
        # frame passes here). Keep it in step with update_quote (test_drift_batches.py)
        index = self._index
        get = index.get
        px = self._px
        qty = self._qty
        mvs = self._mv
        banded = self._banded
        a_list = self._a
        b_list = self._b
        inv_hi = self._inv_hi
        inv_lo = self._inv_lo
        v = self._value
        ops = self._ops
        every = self._resum_every
        lmax = self._lmax
        lmax_i = self._lmax_i
        hmin = self._hmin
        hmin_i = self._hmin_i
        out = self._out
        last_get = last.get
        breached = False
        was_inside = False  # the quote's symbol inside its band before it (read while out)
        for q in quotes:
            sym = q.symbol
            bid = q.bid
            ask = q.ask
            prev = last_get(sym)
            last[sym] = q
            both = bid + ask
            if prev is not None:
                before = prev.bid + prev.ask
                if (both > before * jump or before > both * jump) and (
                    bid > 0 and ask > 0 and prev.bid > 0 and prev.ask > 0
                ):
                    jumps.append((q, both / before))
                    # rare: through update_quote, its answer dropped, the locals around it
                    self._value, self._ops, self._out = v, ops, out
                    self._lmax, self._lmax_i, self._hmin, self._hmin_i = lmax, lmax_i, hmin, hmin_i
                    self.update_quote(sym, bid, ask)
                    v, ops, every, out = self._value, self._ops, self._resum_every, self._out
                    lmax, lmax_i, hmin, hmin_i = self._lmax, self._lmax_i, self._hmin, self._hmin_i
                    continue
            mid = both * 0.5
            i = get(sym)
            if i is None:
                if not (0.0 < bid <= ask < INF):
                    continue
                i = self._slot(sym)  # appends to the same lists
                every = self._resum_every
            elif mid == px[i] or not (0.0 < bid <= ask < INF):
                # the same mid again (most quotes move sizes only; a bad quote with that
                # mid is ignored too, so either test may come first) or a bad quote
                continue
            px[i] = mid
            held = qty[i]
            if held == 0.0:
                continue
            new = held * mid
            v_old = v
            v = v_old + (new - mvs[i])
            mvs[i] = new
            ops += 1
            if ops >= every:
                v = math.fsum(mvs)
                ops = 0
            if not banded[i]:
                now = v > 0.0 and (v < lmax or v > hmin)
                if now and not out:
                    breached = True
                out = now
                continue
            if out:
                was_inside = a_list[i] <= v_old <= b_list[i]
            if new > 0.0:
                na = new * inv_hi[i]
                nb = new * inv_lo[i]
            elif new == 0.0:
                na = 0.0
                nb = self._zero_b[i]
            else:
                na = INF
                nb = -INF
            a_list[i] = na
            b_list[i] = nb
            if na >= lmax:
                lmax = na
                lmax_i = i
            elif i == lmax_i:
                lmax = max(a_list)
                lmax_i = a_list.index(lmax)
            if nb <= hmin:
                hmin = nb
                hmin_i = i
            elif i == hmin_i:
                hmin = min(b_list)
                hmin_i = b_list.index(hmin)
            if v > 0.0 and (v < lmax or v > hmin):
                if not out or (was_inside and not na <= v <= nb):
                    breached = True
                out = True
            else:
                out = False
        self._value = v
        self._ops = ops
        self._lmax = lmax
        self._lmax_i = lmax_i
        self._hmin = hmin
        self._hmin_i = hmin_i
        self._out = out
        return breached


__all__ = ["BidAsk", "DriftBatches"]
