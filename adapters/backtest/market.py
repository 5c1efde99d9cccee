"""What each row of a price series tells the engine: its session, its moment, its quotes and
the market statistics estimated from the rows before it.

- **Sessions**: each row's date is a trading day, 09:30–16:00 in the config's exchange time
  zone. The engine's calendar rules therefore run on the series' own dates (a calendar date
  that is not a row rolls back to the previous row, as a holiday does live).
- **The row's moment**: the config's calendar time (``[trigger.calendar] time``, 10:00 by
  default), kept inside the trading window: every event of a row is stamped with it.
- **Quotes**: ``close × (1 − h)`` / ``close × (1 + h)``, ``h`` half the spread: the row's
  ``<SYMBOL>:spread_bps`` column, else the ``--spread-bps`` given, else twice the config's
  ``cost.default_half_spread_bps``.
- **Statistics** (no look-ahead: from rows strictly before this one): σ, the standard
  deviation of the last ``SIGMA_ROWS`` row returns, scaled to a daily figure by the series'
  rows per year (252 trading days a year); ADV, the mean volume of the last ``ADV_ROWS`` rows
  (only with a volume column).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import numpy as np

from adapters.backtest.prices import PriceSeries
from daemon.core.config.values import Config
from daemon.core.model import TradingSession
from daemon.core.triggers.market_hours import local_at, zone

OPEN, CLOSE = time(9, 30), time(16, 0)
SIGMA_ROWS = 60
ADV_ROWS = 20
TRADING_DAYS = 252.0


def sessions(config: Config, dates: tuple[date, ...]) -> tuple[TradingSession, ...]:
    tz = config.trigger.timezone
    opens, closes = utc_times(dates, OPEN, tz), utc_times(dates, CLOSE, tz)
    return tuple(map(TradingSession, dates, opens, closes))


def _moment_time(config: Config) -> time:
    tc = config.trigger
    return min(max(tc.calendar.at, tc.window_start, OPEN), tc.window_end, CLOSE)


def row_moment(config: Config, day: date) -> datetime:
    """The moment a row happens at: the calendar time, clamped into the trading window."""
    return local_at(day, _moment_time(config), config.trigger.timezone)


def row_moments(config: Config, dates: tuple[date, ...]) -> list[datetime]:
    """``row_moment`` of every date."""
    return utc_times(dates, _moment_time(config), config.trigger.timezone)


def utc_times(days: tuple[date, ...], at: time, tz: str) -> list[datetime]:
    """``local_at(day, at, tz)`` for every day (the same aware UTC moments, DST-correct:
    the wall time less the zone's offset at it), without its cache (a long series would
    only churn it)."""
    z = zone(tz)
    out = []
    for d in days:
        wall = datetime.combine(d, at)
        off = z.utcoffset(wall)
        assert off is not None  # a ZoneInfo always has an offset (tzinfo's API allows None)
        out.append((wall - off).replace(tzinfo=UTC))
    return out


def half_spreads(series: PriceSeries, spread_bps: float) -> np.ndarray:
    """Half-spread fractions per row and symbol."""
    out = np.full(series.closes.shape, spread_bps / 2.0 / 10_000.0)
    for j, col in enumerate(series.spread_bps):
        if col is not None:
            out[:, j] = col / 2.0 / 10_000.0
    return out


def sigmas(series: PriceSeries, fallback: float) -> np.ndarray:
    """Daily σ per row and symbol from the previous ``SIGMA_ROWS`` row returns (``fallback``
    until two returns are known)."""
    closes = series.closes
    n_rows, n = closes.shape
    out = np.full((n_rows, n), fallback)
    if n_rows < 3:
        return out
    rets = closes[1:] / closes[:-1] - 1.0  # rets[k] is the return into row k + 1
    per_row_days = TRADING_DAYS / series.rows_per_year if series.rows_per_year > 0 else 1.0
    scale = 1.0 / np.sqrt(max(per_row_days, 1e-9))
    c1 = np.vstack([np.zeros((1, n)), np.cumsum(rets, axis=0)])
    c2 = np.vstack([np.zeros((1, n)), np.cumsum(rets * rets, axis=0)])
    # row i (from 3): the returns known before it, rets[lo .. i-2] (hi = i - 1, at most
    # SIGMA_ROWS of them), all rows at once: the same float operations, in the same order,
    # as one row at a time
    hi = np.arange(2, n_rows - 1)
    lo = np.maximum(0, hi - SIGMA_ROWS)
    k = (hi - lo).astype(float)[:, None]
    mean = (c1[hi] - c1[lo]) / k
    var = np.maximum((c2[hi] - c2[lo]) / k - mean * mean, 0.0) * k / (k - 1)
    out[3:] = np.sqrt(var) * scale
    return out


def advs(series: PriceSeries) -> list[np.ndarray | None]:
    """ADV per row for each symbol with volume (mean of the previous ``ADV_ROWS`` rows; NaN
    on the first row)."""
    out: list[np.ndarray | None] = []
    for col in series.volume:
        if col is None:
            out.append(None)
            continue
        c = np.concatenate([[0.0], np.cumsum(col)])
        idx = np.arange(len(col))
        lo = np.maximum(0, idx - ADV_ROWS)
        with np.errstate(invalid="ignore", divide="ignore"):
            adv = (c[idx] - c[lo]) / (idx - lo)
        out.append(adv)
    return out


__all__ = ["advs", "half_spreads", "row_moment", "row_moments", "sessions", "sigmas", "utc_times"]
