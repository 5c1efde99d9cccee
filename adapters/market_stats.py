"""Market statistics from daily bars: ADV, daily σ and a shrunk covariance of daily returns,
as the core's events (``MarketStatsUpdated`` per symbol, one ``CovarianceEstimated``).

Pure: bars in, events out; no I/O, no clock (``at`` is handed in). Venue-neutral: each
venue turns its bars into ``DailyBar`` (``adapters/ports.py``).

- **ADV** (shares/day): the mean volume of the last ``adv_days`` sessions.
- **σ** (fraction/day): the sample standard deviation (ddof 1) of the symbol's simple daily
  returns ``c_t / c_{t-1} − 1`` over its last ``lookback_days`` returns.
- **Covariance** (fraction²/day): Ledoit-Wolf shrinkage (scikit-learn's ``LedoitWolf``,
  towards a scaled identity) of the simple returns of every symbol with a σ, on the
  sessions they all have (the intersection of their windows), so the matrix is positive
  definite even with few observations.

A symbol with fewer than ``adv_days`` usable bars gets no ADV; one with fewer than
``min_observations`` returns gets no σ and stays out of the covariance. Nothing is ever NaN:
bars with a non-finite or non-positive close, or a negative or non-finite volume, are
dropped (and counted), and estimates that come out non-finite are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from adapters.ports import DailyBar
from daemon.core.events import CovarianceEstimated, Event, MarketStatsUpdated

__all__ = ["MarketStatsEstimate", "estimate", "simple_returns"]


@dataclass(frozen=True, slots=True)
class MarketStatsEstimate:
    stats: tuple[MarketStatsUpdated, ...]
    covariance: CovarianceEstimated | None
    left_out: Mapping[str, str] = field(default_factory=dict)  # symbol → why (no σ / no ADV)
    dropped_bars: int = 0  # bars with a bad close or volume

    def events(self) -> list[Event]:
        out: list[Event] = list(self.stats)
        if self.covariance is not None:
            out.append(self.covariance)
        return out


def _clean(bars: Sequence[DailyBar], before: date | None) -> tuple[list[DailyBar], int]:
    """Ascending by day, one bar per day (the last given), sessions before ``before`` only;
    bad bars dropped and counted."""
    by_day: dict[date, DailyBar] = {}
    bad = 0
    for b in bars:
        if before is not None and b.day >= before:
            continue
        ok_close = math.isfinite(b.close) and b.close > 0
        ok_volume = math.isfinite(b.volume) and b.volume >= 0
        if not (ok_close and ok_volume):
            bad += 1
            continue
        by_day[b.day] = b
    return [by_day[d] for d in sorted(by_day)], bad


def simple_returns(closes: Sequence[float]) -> NDArray[np.float64]:
    c = np.asarray(closes, dtype=np.float64)
    return c[1:] / c[:-1] - 1.0


def estimate(
    bars: Mapping[str, Sequence[DailyBar]],
    at: datetime,
    *,
    lookback_days: int = 252,
    adv_days: int = 20,
    min_observations: int = 60,
    before: date | None = None,
) -> MarketStatsEstimate:
    """Events for ``bars`` (per symbol). ``before``: ignore sessions on or after this day
    (today's partial bar). ``lookback_days`` returns at most per symbol."""
    if lookback_days < 2 or adv_days < 1 or not 2 <= min_observations <= lookback_days:
        raise ValueError(
            "need lookback_days ≥ 2, adv_days ≥ 1 and 2 ≤ min_observations ≤ lookback_days "
            f"(got {lookback_days}, {adv_days}, {min_observations})"
        )
    stats: list[MarketStatsUpdated] = []
    left_out: dict[str, str] = {}
    windows: dict[str, list[DailyBar]] = {}
    dropped = 0
    for symbol in sorted(bars):
        clean, bad = _clean(bars[symbol], before)
        dropped += bad
        adv: float | None = None
        if len(clean) >= adv_days:
            adv = float(np.mean([b.volume for b in clean[-adv_days:]]))
        window = clean[-(lookback_days + 1) :]
        sigma: float | None = None
        if len(window) - 1 >= min_observations:
            s = float(np.std(simple_returns([b.close for b in window]), ddof=1))
            if math.isfinite(s):
                sigma = s
                windows[symbol] = window
        if adv is not None and not math.isfinite(adv):
            adv = None
        reasons = []
        if sigma is None:
            reasons.append(f"σ: {max(0, len(window) - 1)} returns < {min_observations}")
        if adv is None:
            reasons.append(f"ADV: {len(clean)} sessions < {adv_days}")
        if reasons:
            left_out[symbol] = "; ".join(reasons)
        if adv is not None or sigma is not None:
            stats.append(MarketStatsUpdated(at=at, symbol=symbol, adv=adv, sigma=sigma))
    covariance = _covariance(windows, at, lookback_days, min_observations)
    return MarketStatsEstimate(tuple(stats), covariance, left_out, dropped)


def _covariance(
    windows: Mapping[str, list[DailyBar]], at: datetime, lookback_days: int, min_obs: int
) -> CovarianceEstimated | None:
    if not windows:
        return None
    symbols = tuple(sorted(windows))
    common = set.intersection(*({b.day for b in windows[s]} for s in symbols))
    days = sorted(common)[-(lookback_days + 1) :]
    if len(days) - 1 < min_obs:
        return None
    closes = {s: {b.day: b.close for b in windows[s]} for s in symbols}
    x = np.column_stack([simple_returns([closes[s][d] for d in days]) for s in symbols])
    from sklearn.covariance import LedoitWolf  # heavy import (~1 s): only when estimating

    cov = LedoitWolf().fit(x).covariance_
    if not np.all(np.isfinite(cov)):
        return None
    daily = tuple(tuple(float(v) for v in row) for row in cov)
    return CovarianceEstimated(
        at=at,
        symbols=symbols,
        daily=daily,
        source=f"bars:ledoit_wolf:{len(days) - 1}d",
        observations=len(days) - 1,
    )
