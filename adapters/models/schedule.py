"""When a model is re-estimated, and on which rows (no look-ahead).

A schedule divides time into periods (ISO weeks, months, quarters from January). The targets
in force during a period are estimated once, at its first session, from the closes dated
strictly before that session. The daemon, ``rebalanced targets --as-of`` and the backtester
all use ``cutoff``, so the same data give the same targets whichever of them asks, and a
restart in mid-period re-estimates the same targets.

``walk_forward`` runs a model over a price history as the backtester needs it: at the first
row and at the first row of each later period, the targets from the rows before it, with
the previous targets as the turnover penalty's anchor. A failed estimate keeps the previous
targets (and is reported with its reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from adapters.models.periods import cutoff, period_start, schedule_rows
from adapters.models.weights import ModelFailure, ModelResult, inputs_before, model_weights
from daemon.core.config.values import Config

__all__ = ["Scheduled", "cutoff", "period_start", "schedule_rows", "walk_forward"]


@dataclass(frozen=True, slots=True)
class Scheduled:
    row: int  # index into the window's rows
    before: date  # inputs are the rows dated strictly before this
    result: ModelResult | None
    failure: ModelFailure | None


def walk_forward(
    config: Config,
    symbols: Sequence[str],
    history_dates: Sequence[date],
    history_closes: np.ndarray,
    window_dates: Sequence[date],
) -> list[Scheduled]:
    """The model's estimates at each schedule row of ``window_dates`` (a contiguous part of
    ``history_dates``), each from ``history`` rows strictly before its cutoff."""
    cfg = config.targets_model
    cash = config.portfolio.cash_target
    order = [list(symbols).index(s) for s in config.symbols]
    closes = np.asarray(history_closes)[:, order]
    current = {a.symbol: a.target for a in config.portfolio.assets}
    out: list[Scheduled] = []
    for row in schedule_rows(window_dates, cfg.schedule):
        today = window_dates[row]
        before = cutoff(history_dates, today, cfg.schedule)
        x = inputs_before(config.symbols, history_dates, closes, before, cfg.window_days)
        try:
            r = model_weights(cfg, cash, x, current=current)
        except ModelFailure as f:
            out.append(Scheduled(row, before, None, f))
            continue
        current = dict(r.targets)
        out.append(Scheduled(row, before, r, None))
    return out
