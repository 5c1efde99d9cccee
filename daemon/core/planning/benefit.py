"""What a rebalance is worth: the certainty-equivalent gain of the move, in dollars.

With weights as fractions of the portfolio value ``V`` (cash included), ``t`` the targets,
``w`` the weights now and ``w'`` the weights once the plan's orders have filled::

    d = w − t            e = w' − t  (= d − Δw, Δw = w − w')

    risk  = λ / 2 · (dᵀ Σ d − eᵀ Σ e) · V
    drag  = (max(0, c − c*) − max(0, c' − c*)) · (μ̄ − r_cash) · H / 252 · V
    benefit = risk + drag                     (rounded down to the cent, never below 0)

- ``Σ`` is the covariance of returns over the horizon: the **daily** covariance × ``H``,
  ``H = cost.horizon_days`` (default 252 trading days, a year: a drift persists until a
  trade removes it, and a gated calendar date does not remove it, so a month would weigh
  one month of risk against a one-off cost and never trade). Each entry comes from the first
  source that has it: ``cost.covariance`` (config), the market estimate (the engine's latest
  ``CovarianceEstimated``), else ``σᵢ²`` on the diagonal and 0 off it (``σ`` as the cost
  model finds it: quote, asset config, ``cost.default_sigma``).
- ``λ`` is ``cost.risk_aversion`` (default 2).
- ``d`` and ``e`` run over the target assets and holdings to liquidate (the rows that count
  in drift); held symbols that are excluded or held without a target are not part of the
  allocation and left out. Cash has no variance.
- Cash drag: cash ``c`` above its target ``c*`` forgoes the expected return of the invested
  portfolio ``μ̄`` (the target-weighted mean of the assets' ``expected_return``, default
  ``cost.expected_return`` = 5 % a year) over what cash earns (``cost.cash_return``,
  default 0), for the horizon. A plan that invests a deposit earns it; a plan that would
  leave sale proceeds in cash above target pays it.

Pure floats (weights need no more); ``benefit_of`` returns the dollar figure as a Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from daemon.core.config.values import Config
from daemon.core.planning.arrays import COLUMNS_FROM, Bools, Floats, Ints, seq_sum

TRADING_DAYS_PER_YEAR = 252.0
CENT = Decimal("0.01")

MarketCovariance = tuple[Sequence[str], Sequence[Sequence[float]]]
"""A daily covariance from market data: (symbols, matrix), as ``CovarianceEstimated``."""


class Covariance:
    """Daily covariance entries by symbol pair, from config, then market, then ``σ²``."""

    __slots__ = ("_config", "_index", "_matrix", "_sigmas")

    def __init__(
        self,
        config: Config,
        sigmas: Mapping[str, float],
        market: MarketCovariance | None = None,
    ) -> None:
        self._config = config.cost.covariance
        self._sigmas = sigmas
        if market is not None:
            self._index = {s: i for i, s in enumerate(market[0])}
            self._matrix = market[1]
        else:
            self._index = {}
            self._matrix = ()

    @property
    def has_entries(self) -> bool:
        """Any entry from config or the market (else Σ is diag(σ²))."""
        return bool(self._config) or bool(self._index)

    @property
    def sigmas(self) -> Mapping[str, float]:
        return self._sigmas

    @property
    def market_only(self) -> bool:
        """A market matrix and no config entries: every off-diagonal entry is the matrix's."""
        return bool(self._index) and not self._config

    @property
    def market_index(self) -> Mapping[str, int]:
        return self._index

    @property
    def market_matrix(self) -> Sequence[Sequence[float]]:
        return self._matrix

    def entry(self, a: str, b: str) -> float:
        v = self._config.get((a, b))
        if v is not None:
            return v
        i, j = self._index.get(a), self._index.get(b)
        if i is not None and j is not None:
            m = self._matrix[i][j]
            if math.isfinite(m):
                return m
        if a == b:
            s = self._sigmas.get(a, 0.0)
            return s * s
        return 0.0

    def pairs(self, symbols: Sequence[str]) -> list[tuple[int, int, float]]:
        """The non-zero off-diagonal entries among ``symbols`` (index pairs i < j)."""
        pos = {s: k for k, s in enumerate(symbols)}
        seen: set[tuple[int, int]] = set()
        out: list[tuple[int, int, float]] = []
        for a, b in self._config:
            i, j = pos.get(a), pos.get(b)
            if i is None or j is None or i == j:
                continue
            key = (min(i, j), max(i, j))
            if key not in seen:
                seen.add(key)
        if self._index:
            held = [(k, self._index[s]) for k, s in enumerate(symbols) if s in self._index]
            for x, (i, _) in enumerate(held):
                for j, _ in held[x + 1 :]:
                    seen.add((min(i, j), max(i, j)))
        for i, j in sorted(seen):
            v = self.entry(symbols[i], symbols[j])
            if v != 0.0:
                out.append((i, j, v))
        return out


def quadratic_gain(
    cov: Covariance, symbols: Sequence[str], d: Sequence[float] | Floats, e: Sequence[float] | Floats
) -> float:
    """dᵀΣd − eᵀΣe for the daily Σ (dimensionless, per trading day)."""
    if not cov.has_entries:  # σ² on the diagonal only (the common case), in numpy: the
        # same float operations per symbol, summed one by one (``seq_sum``)
        sigmas = cov.sigmas
        sg = np.array([sigmas.get(s, 0.0) for s in symbols], dtype=np.float64)
        da, ea = np.asarray(d, dtype=np.float64), np.asarray(e, dtype=np.float64)
        return seq_sum((da * da - ea * ea) * sg * sg)
    d = d.tolist() if isinstance(d, np.ndarray) else d
    e = e.tolist() if isinstance(e, np.ndarray) else e
    total = 0.0
    for k, s in enumerate(symbols):
        dk, ek = d[k], e[k]
        if dk != ek or dk != 0.0:
            total += (dk * dk - ek * ek) * cov.entry(s, s)
    if cov.market_only:
        return _market_pairs(cov, symbols, d, e, total)
    for i, j, v in cov.pairs(symbols):
        total += 2.0 * (d[i] * d[j] - e[i] * e[j]) * v
    return total


_BLOCK_ROWS = 128  # rows of the symbols' submatrix per numpy block (the part right of it)
_subs: dict[tuple[int, bytes], tuple[object, Floats, Bools]] = {}


def _submatrix(matrix: Sequence[Sequence[float]], at: Ints) -> tuple[Floats, Bools]:
    """The market matrix's rows and columns ``at`` (the plan's symbols, in order), and where
    an entry counts (not zero, finite); built once per matrix and symbol set, by identity
    (holding the matrix so its id is not reused: the engine hands the same estimate to
    every plan until a new one arrives, and its plans have the same symbols)."""
    key = (id(matrix), at.tobytes())
    hit = _subs.get(key)
    if hit is not None and hit[0] is matrix:
        return hit[1], hit[2]
    m = np.array(matrix, dtype=np.float64)
    sub = m[at[:, None], at[None, :]]
    counts = (sub != 0.0) & np.isfinite(sub)
    if len(_subs) >= 2:
        del _subs[next(iter(_subs))]
    _subs[key] = (matrix, sub, counts)
    return sub, counts


def _market_pairs(
    cov: Covariance, symbols: Sequence[str], d: Sequence[float], e: Sequence[float], total: float
) -> float:
    """``total`` plus the off-diagonal terms when every entry comes from the market matrix
    (no ``cost.covariance``), in numpy by blocks of rows: each term
    ``2.0 × (dᵢdⱼ − eᵢeⱼ) × v`` the same float operations as ``_market_pairs_rows``, the
    terms kept in its order (i, then j > i; zero and non-finite entries left out) and
    added one by one after ``total`` (a cumulative sum), so bit for bit its result. Below
    ``COLUMNS_FROM`` symbols, ``_market_pairs_rows`` itself."""
    if len(symbols) < COLUMNS_FROM:
        return _market_pairs_rows(cov, symbols, d, e, total)
    index = cov.market_index
    keep = [k for k, s in enumerate(symbols) if s in index]
    n = len(keep)
    if n < 2:
        return total
    at = np.array([index[symbols[k]] for k in keep], dtype=np.intp)
    da = np.array([d[k] for k in keep], dtype=np.float64)
    ea = np.array([e[k] for k in keep], dtype=np.float64)
    sub, counts = _submatrix(cov.market_matrix, at)
    parts: list[Floats] = [np.array([total], dtype=np.float64)]
    for lo in range(0, n - 1, _BLOCK_ROWS):
        hi = min(lo + _BLOCK_ROWS, n - 1)
        # rows lo..hi, columns from lo + 1 (j > i lies right of the diagonal)
        v = sub[lo:hi, lo + 1 :]
        dj, ej = da[None, lo + 1 :], ea[None, lo + 1 :]
        terms = 2.0 * (da[lo:hi, None] * dj - ea[lo:hi, None] * ej) * v
        upper = np.arange(lo + 1, n)[None, :] > np.arange(lo, hi)[:, None]
        parts.append(terms[upper & counts[lo:hi, lo + 1 :]])  # row-major: i, then j
    return float(np.cumsum(np.concatenate(parts))[-1])


def _market_pairs_rows(
    cov: Covariance, symbols: Sequence[str], d: Sequence[float], e: Sequence[float], total: float
) -> float:
    """``_market_pairs`` pair by pair: the same terms, added in the same order (pairs i < j by
    i, then j; zero and non-finite entries left out) as ``pairs`` gives them, without its
    set, sort and ``entry`` call per pair."""
    index, matrix = cov.market_index, cov.market_matrix
    where = [index.get(s) for s in symbols]
    isfinite = math.isfinite
    n = len(symbols)
    for i in range(n - 1):
        a = where[i]
        if a is None:
            continue
        row, di, ei = matrix[a], d[i], e[i]
        for b, dj, ej in zip(where[i + 1 :], d[i + 1 : n], e[i + 1 : n], strict=True):
            if b is None:
                continue
            v = row[b]
            if v != 0.0 and isfinite(v):
                total += 2.0 * (di * dj - ei * ej) * v
    return total


def mean_return(config: Config) -> float:
    """μ̄: the target-weighted expected return of the target assets, a year (fraction)."""
    default = config.cost.expected_return
    weight = 0.0
    total = 0.0
    for a in config.portfolio.assets:
        if a.target > 0:
            mu = a.expected_return if a.expected_return is not None else default
            weight += a.target
            total += a.target * mu
    return total / weight if weight > 0 else 0.0


def cash_drag_gain(
    config: Config, cash_now: float, cash_after: float, mean: float | None = None
) -> float:
    """(max(0, c − c*) − max(0, c' − c*)) · (μ̄ − r_cash) · H / 252 (fraction of V).
    ``mean``: μ̄ when the caller has it (``plan_tables`` keeps it per config)."""
    target = config.portfolio.cash_target
    excess_now = max(0.0, cash_now - target)
    excess_after = max(0.0, cash_after - target)
    premium = (mean_return(config) if mean is None else mean) - config.cost.cash_return
    return (excess_now - excess_after) * premium * config.cost.horizon_days / TRADING_DAYS_PER_YEAR


def benefit_parts(
    config: Config,
    symbols: Sequence[str],
    d: Sequence[float] | Floats,
    e: Sequence[float] | Floats,
    cash: tuple[float, float],
    value: float,
    cov: Covariance,
    mean: float | None = None,
) -> tuple[float, float]:
    """(risk, drag) in dollars, unrounded; see the module docstring. ``mean``: μ̄, when
    known (else ``mean_return``)."""
    c = config.cost
    risk = c.risk_aversion / 2.0 * quadratic_gain(cov, symbols, d, e) * c.horizon_days * value
    drag = cash_drag_gain(config, cash[0], cash[1], mean) * value
    return risk, drag


def to_cents_down(x: float) -> Decimal:
    """Dollars rounded down to the cent; 0 for a negative or non-finite figure."""
    if not math.isfinite(x) or x <= 0:
        return Decimal(0)
    return Decimal(repr(x)).quantize(CENT, rounding=ROUND_FLOOR)


__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "Covariance",
    "MarketCovariance",
    "benefit_parts",
    "cash_drag_gain",
    "mean_return",
    "quadratic_gain",
    "to_cents_down",
]
