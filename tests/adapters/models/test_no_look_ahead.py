"""No look-ahead: every price after date D is poisoned (NaN, or multiplied by a random
factor) and the targets of every schedule date up to D stay exactly what they were."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from adapters.backtest.prices import load_prices
from adapters.models.schedule import cutoff, period_start, schedule_rows, walk_forward
from daemon.core.config.model_targets import ModelKind, Schedule, TargetModelConfig
from daemon.core.config.values import AssetConfig, Config, PortfolioConfig

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "sp500.csv"
SYMBOLS = ("AAPL", "BAC", "CVX", "JNJ", "KO")
D = date(2005, 6, 15)


def config(kind: ModelKind, schedule: Schedule = Schedule.MONTHLY) -> Config:
    assets = tuple(AssetConfig(s, 0.98 / len(SYMBOLS)) for s in SYMBOLS)
    model = TargetModelConfig(kind=kind, schedule=schedule, turnover_penalty=0.0)
    if kind is ModelKind.MEAN_VARIANCE:
        model = replace(model, turnover_penalty=0.01, max_weight=0.5)
    return Config(portfolio=PortfolioConfig(assets, cash_target=0.02), targets_model=model)


@pytest.mark.parametrize(
    ("kind", "schedule"),
    [
        (ModelKind.MEAN_VARIANCE, Schedule.MONTHLY),
        (ModelKind.HRP, Schedule.WEEKLY),
        (ModelKind.RISK_PARITY, Schedule.QUARTERLY),
    ],
)
def test_poisoning_every_price_after_d_changes_no_target_up_to_d(
    kind: ModelKind, schedule: Schedule
) -> None:
    series = load_prices(str(DATA), SYMBOLS)
    dates = series.dates
    lo = dates.index(next(d for d in dates if d >= date(2004, 1, 1)))
    hi = dates.index(next(d for d in dates if d >= date(2006, 1, 1)))
    window = dates[lo:hi]
    cfg = config(kind, schedule)
    clean = walk_forward(cfg, series.symbols, dates, series.closes, window)
    poisoned = series.closes.copy()
    after = np.array([d > D for d in dates])
    rng = np.random.default_rng(7)
    poisoned[after] *= rng.uniform(0.2, 5.0, size=poisoned[after].shape)
    poisoned[after & (np.arange(len(dates)) % 3 == 0)] = np.nan
    dirty = walk_forward(cfg, series.symbols, dates, poisoned, window)
    up_to_d = [s for s in clean if window[s.row] <= D]
    assert (
        len(up_to_d) >= {Schedule.MONTHLY: 18, Schedule.WEEKLY: 70, Schedule.QUARTERLY: 6}[schedule]
    )
    for a, b in zip(up_to_d, dirty, strict=False):
        assert a.row == b.row and a.before == b.before
        assert a.result is not None and b.result is not None, (a.failure, b.failure)
        assert a.result.targets == b.result.targets  # exactly
        assert a.result.inputs.dates[-1] < window[a.row]  # strictly before the schedule date
    # the poison is real: the first schedule date after D sees it (NaN → a failure)
    later = [(a, b) for a, b in zip(clean, dirty, strict=True) if window[a.row] > D]
    assert later and any(
        b.result is None or a.result is None or a.result.targets != b.result.targets
        for a, b in later
    )


def test_schedule_periods_and_cutoff() -> None:
    assert period_start(date(2024, 5, 17), Schedule.WEEKLY) == date(2024, 5, 13)
    assert period_start(date(2024, 5, 17), Schedule.MONTHLY) == date(2024, 5, 1)
    assert period_start(date(2024, 5, 17), Schedule.QUARTERLY) == date(2024, 4, 1)
    days = [date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 2), date(2024, 5, 3)]
    assert schedule_rows(days, Schedule.MONTHLY) == [0, 2]
    # mid-month the estimate is the month's first session's: rows before 2 May
    assert cutoff(days, date(2024, 5, 6), Schedule.MONTHLY) == date(2024, 5, 2)
    # on the month's first session itself (no row of the month yet): before today
    assert cutoff(days[:2], date(2024, 5, 2), Schedule.MONTHLY) == date(2024, 5, 2)
