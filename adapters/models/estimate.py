"""One estimate of the model's targets as the daemon, the CLI and the backtester ask for it:
closes in (a wide table, or the broker's daily bars), the targets in force on ``today`` out.

``targets_for`` cuts the closes at the schedule's cutoff (``adapters.models.schedule``: the
first session of ``today``'s period; nothing on or after it is read) and runs the model.
``closes_from_bars`` turns ``DailyBar`` series into that table on the sessions every symbol
has; a close that is not a finite positive number stays in, so the estimate fails with
``nan_returns`` and says where, instead of silently skipping the day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from adapters.models.schedule import cutoff
from adapters.models.weights import ModelResult, inputs_before, model_weights
from adapters.ports import DailyBar
from daemon.core.config.values import Config

__all__ = ["closes_from_bars", "targets_for"]


def targets_for(
    config: Config,
    dates: Sequence[date],
    closes: np.ndarray,
    today: date,
    current: Mapping[str, float] | None = None,
) -> ModelResult:
    """The model's targets in force on ``today``; ``closes`` columns are ``config.symbols``.
    Raises ``ModelFailure``."""
    cfg = config.targets_model
    before = cutoff(dates, today, cfg.schedule)
    x = inputs_before(config.symbols, dates, closes, before, cfg.window_days)
    if current is None:
        current = {a.symbol: a.target for a in config.portfolio.assets}
    return model_weights(cfg, config.portfolio.cash_target, x, current=current)


def closes_from_bars(
    bars: Mapping[str, Sequence[DailyBar]], symbols: Sequence[str]
) -> tuple[tuple[date, ...], np.ndarray]:
    """(the sessions every symbol has a bar on, rows × symbols closes); a symbol without
    bars gives no rows at all."""
    by_symbol = [{b.day: b.close for b in bars.get(s, ())} for s in symbols]
    if not by_symbol:
        return (), np.zeros((0, 0))
    common = set(by_symbol[0])
    for d in by_symbol[1:]:
        common &= set(d)
    days = tuple(sorted(common))
    closes = np.array([[d[day] for d in by_symbol] for day in days], dtype=float)
    return days, closes.reshape(len(days), len(symbols))
