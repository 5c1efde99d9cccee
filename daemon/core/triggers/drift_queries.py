"""The read side of the drift tracker (``drift.DriftTracker``): prices, values, weights and
the exact band queries. ``DriftQueries`` is its root base: it declares the tracker's slots
(the state itself is built and kept up to date in ``drift`` and ``drift_batch``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from daemon.core.model import CASH
from daemon.core.planning.plan import WeightRow


@dataclass(frozen=True, slots=True)
class WeightColumns:
    """``DriftQueries.rows()`` as columns, in its order (the targets, then "CASH"): what the
    gauges read every second, without a ``WeightRow`` per symbol (5,000 rows on SIP took
    ~6 ms of the loop). ``rows()`` makes the same rows, equal value for value."""

    symbols: tuple[str, ...]
    current: tuple[float, ...]
    target: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    def rows(self) -> dict[str, WeightRow]:
        return {s: WeightRow(current=c, target=t, low=lo, high=hi)
                for s, c, t, lo, hi in zip(self.symbols, self.current, self.target, self.low,
                                           self.high, strict=True)}


class DriftQueries:
    # the tracker's state, declared here, at the root, so that every part may assign it
    __slots__ = (
        "_a",
        "_b",
        "_banded",
        "_cash",
        "_cash_i",
        "_columns",
        "_config",
        "_hi",
        "_hmin",
        "_hmin_i",
        "_index",
        "_inv_hi",
        "_inv_lo",
        "_lmax",
        "_lmax_i",
        "_lo",
        "_mv",
        "_n_targets",
        "_ops",
        "_out",
        "_px",
        "_qty",
        "_qty_dec",
        "_resum_every",
        "_symbols",
        "_target",
        "_value",
        "_zero_b",
    )
    # its types, for those read here (the rest in drift_batch and drift)
    _symbols: list[str]
    _index: dict[str, int]
    _qty: list[float]
    _px: list[float]
    _mv: list[float]
    _target: list[float]
    _lo: list[float]
    _hi: list[float]
    _qty_dec: dict[str, Decimal]
    _n_targets: int
    _cash_i: int
    _cash: Decimal
    _value: float
    _out: bool
    # the banded slots and their symbols, targets and bands: fixed once the tracker is built
    # (later slots are unbanded), so kept from the first ``weight_columns``
    _columns: tuple[list[int], tuple[str, ...], tuple[float, ...], tuple[float, ...],
                    tuple[float, ...]] | None


    def price(self, symbol: str) -> float | None:
        """The last good mid, or None if no good quote has arrived."""
        i = self._index.get(symbol)
        if i is None:
            return None
        p = self._px[i]
        return p if p > 0.0 else None

    def prices(self) -> dict[str, float]:
        """Every known mid (to carry over into a tracker built for a reloaded config)."""
        ci = self._cash_i
        return {s: self._px[i] for s, i in self._index.items() if i != ci and self._px[i] > 0.0}

    @property
    def portfolio_value(self) -> float:
        """Cash plus every position (targets, excluded and untargeted), at last mids."""
        return self._value

    @property
    def cash(self) -> Decimal:
        return self._cash

    def quantity(self, symbol: str) -> Decimal:
        return self._qty_dec.get(symbol, Decimal(0))

    def market_value(self, symbol: str) -> float:
        if symbol == CASH:
            return self._mv[self._cash_i]
        i = self._index.get(symbol)
        return 0.0 if i is None else self._mv[i]

    @property
    def any_out_of_band(self) -> bool:
        """O(1): is any target (or cash) outside its band right now?"""
        return self._out

    def missing_prices(self) -> list[str]:
        """Held symbols (nonzero quantity) with no good quote yet, valued at 0; sorted."""
        ci = self._cash_i
        return sorted(
            s
            for s, i in self._index.items()
            if i != ci and self._qty[i] != 0.0 and self._px[i] <= 0.0
        )

    def _exact_value(self) -> float:
        return math.fsum(self._mv)

    def weight(self, symbol: str) -> float:
        """Current weight of ``symbol`` ("CASH" for cash); 0 when unknown or V ≤ 0."""
        v = self._value
        if v <= 0.0:
            return 0.0
        return self.market_value(symbol) / v

    def _banded_slots(self) -> list[int]:
        return [*range(self._n_targets), self._cash_i]

    def out_of_band(self) -> list[str]:
        """Exactly the targets (and "CASH") outside their bands, largest |w − target| first
        (ties by symbol). O(n)."""
        v = self._exact_value()
        if v <= 0.0:
            return []
        found: list[tuple[float, str]] = []
        for i in self._banded_slots():
            w = self._mv[i] / v
            if w < self._lo[i] or w > self._hi[i]:
                found.append((-abs(w - self._target[i]), self._symbols[i]))
        found.sort()
        return [s for _, s in found]

    def portfolio_drift(self) -> float:
        """Σ|w − target| / 2 over the targets and cash (0 when V ≤ 0). O(n)."""
        v = self._exact_value()
        if v <= 0.0:
            return 0.0
        return math.fsum(abs(self._mv[i] / v - self._target[i]) for i in self._banded_slots()) / 2

    def weight_columns(self) -> WeightColumns:
        """``rows()``'s numbers as columns (see ``WeightColumns``). O(n), one division each."""
        fixed = self._columns
        if fixed is None:
            slots = self._banded_slots()
            fixed = self._columns = (
                slots,
                tuple([self._symbols[i] for i in slots]),
                tuple([self._target[i] for i in slots]),
                tuple([self._lo[i] for i in slots]),
                tuple([self._hi[i] for i in slots]),
            )
        slots, symbols, target, low, high = fixed
        v = self._exact_value()
        mv = self._mv
        current = tuple([mv[i] / v for i in slots]) if v > 0.0 else (0.0,) * len(slots)
        return WeightColumns(symbols, current, target, low, high)

    def rows(self) -> dict[str, WeightRow]:
        """A ``WeightRow`` for every target and for "CASH". O(n)."""
        v = self._exact_value()
        out: dict[str, WeightRow] = {}
        for i in self._banded_slots():
            w = self._mv[i] / v if v > 0.0 else 0.0
            out[self._symbols[i]] = WeightRow(
                current=w, target=self._target[i], low=self._lo[i], high=self._hi[i]
            )
        return out


__all__ = ["DriftQueries", "WeightColumns"]
