"""The backtester against bt (PyPI ``bt``), the reference: the same prices and calendar
rebalancing to target without costs give the same portfolio value on every row.

What makes the two comparable (documented in docs/backtest.md): bt holds exact float
positions, the engine rounds shares down to 1e-9 and buys by notional in whole cents. The
prices are whole cents (as quotes are) and the value is large enough ($1e9) that a cent per
order is below 1e-11 of it; below that, the engine's cent granularity shows (a test below
measures it at $1e6).
"""

from __future__ import annotations

from decimal import Decimal

import bt  # the reference: a test dependency, so a missing install fails, never skips
import numpy as np
import pandas as pd
import pytest

from adapters.backtest.feeder import Feeder
from tests.adapters.backtest.series import (
    random_prices,
    random_targets,
    series_of,
    to_target_config,
)

VALUE = 1e9


class RunOnLastRowOfMonths(bt.Algo):  # type: ignore[misc]
    """True on the last row of each of ``months`` (the next row is in another month)."""

    def __init__(self, months: set[int]) -> None:
        super().__init__()
        self.months = months

    def __call__(self, target: object) -> bool:
        index = target.data.index  # type: ignore[attr-defined]
        k = index.get_loc(target.now)  # type: ignore[attr-defined]
        if k == 1:
            return True  # bt's first real row (row 0 is bt's own set-up row)
        if k == len(index) - 1:
            return False
        now, nxt = index[k], index[k + 1]
        return bool(now.month in self.months and nxt.month != now.month)


def bt_values(
    df: pd.DataFrame, targets: dict[str, float], run_algo: object, value: float = VALUE
) -> np.ndarray:
    weights = {s: w / 100.0 for s, w in targets.items()}
    strategy = bt.Strategy(
        "s",
        [run_algo, bt.algos.SelectAll(), bt.algos.WeighSpecified(**weights), bt.algos.Rebalance()],
    )
    test = bt.Backtest(
        strategy,
        df,
        initial_capital=value,
        integer_positions=False,
        commissions=lambda q, p: 0.0,
        progress_bar=False,
    )
    bt.run(test)
    return test.strategy.values.iloc[1:].to_numpy()  # bt adds a set-up row before the data


def ours(
    df: pd.DataFrame, targets: dict[str, float], frequency: str, day: int, value: float = VALUE
) -> np.ndarray:
    config = to_target_config(targets, frequency, day)
    run = Feeder(config, series_of(df), Decimal(repr(value)), spread_bps=0).run()
    assert run.costs.spread == run.costs.impact == run.costs.commission == 0
    return run.records.value_after


DAILY = pd.bdate_range("2015-01-01", "2020-12-31")
MONTH_ENDS = pd.date_range("2005-01-31", "2020-12-31", freq="BME")


@pytest.mark.parametrize("n_assets", [2, 10])
def test_monthly_on_daily_rows_matches_bt(n_assets: int) -> None:
    df = random_prices(n_assets, DAILY, seed=n_assets)
    targets = random_targets(list(df.columns), seed=n_assets + 1)
    # day 31 of every month, clamped to the month's end, rolls back to its last row
    mine = ours(df, targets, "monthly", 31)
    ref = bt_values(df, targets, bt.algos.RunMonthly(run_on_end_of_period=True))
    assert len(mine) == len(ref) == len(df)
    rel = np.abs(mine / ref - 1.0)
    assert rel.max() < 1e-9, (
        f"row {rel.argmax()}: ours {mine[rel.argmax()]}, bt {ref[rel.argmax()]}"
    )
    # and the comparison can fail: the prices moved the portfolio away from buy-and-hold
    assert (
        abs(mine[-1] / (df.iloc[-1] / df.iloc[0] * pd.Series(targets) / 100).sum() / VALUE - 1)
        > 1e-4
    )


@pytest.mark.parametrize("n_assets", [2, 10])
def test_quarterly_on_month_end_rows_matches_bt(n_assets: int) -> None:
    # (seed 30 made bt 1.4.1 itself stop: "Potentially infinite loop detected" in its
    # outlay loop, a float quirk of bt's with zero commissions; 60 does not)
    df = random_prices(n_assets, MONTH_ENDS, seed=60 + n_assets)
    targets = random_targets(list(df.columns), seed=30 + n_assets)
    # quarterly on day 1 (Jan/Apr/Jul/Oct): never a row of a month-end series, so each
    # rolls back to the previous row, the last row of Dec/Mar/Jun/Sep
    mine = ours(df, targets, "quarterly", 1)
    ref = bt_values(df, targets, bt.algos.RunQuarterly(run_on_end_of_period=True))
    rel = np.abs(mine / ref - 1.0)
    assert rel.max() < 1e-9, f"row {rel.argmax()}"


@pytest.mark.parametrize("n_assets", [2, 10])
def test_monthly_on_month_end_rows_matches_bt(n_assets: int) -> None:
    # every row of a month-end series is its month's last: a monthly rule on day 31 runs on
    # each row, bt's RunMonthly(run_on_end_of_period=True) too
    df = random_prices(n_assets, MONTH_ENDS, seed=70 + n_assets)
    targets = random_targets(list(df.columns), seed=80 + n_assets)
    mine = ours(df, targets, "monthly", 31)
    ref = bt_values(df, targets, bt.algos.RunMonthly(run_on_end_of_period=True))
    assert len(mine) == len(ref) == len(df)
    rel = np.abs(mine / ref - 1.0)
    assert rel.max() < 1e-9, f"row {rel.argmax()}"


@pytest.mark.parametrize("n_assets", [2, 10])
def test_quarterly_on_daily_rows_matches_bt(n_assets: int) -> None:
    df = random_prices(n_assets, DAILY, seed=40 + n_assets)
    targets = random_targets(list(df.columns), seed=50 + n_assets)
    # the engine's quarters are Jan/Apr/Jul/Oct: day 31 is their last row
    mine = ours(df, targets, "quarterly", 31)
    ref = bt_values(df, targets, RunOnLastRowOfMonths({1, 4, 7, 10}))
    rel = np.abs(mine / ref - 1.0)
    assert rel.max() < 1e-9, f"row {rel.argmax()}"


def test_a_different_rule_does_not_match() -> None:
    """The tolerance is tight enough to tell monthly from quarterly."""
    df = random_prices(2, DAILY, seed=2)
    targets = random_targets(list(df.columns), seed=3)
    mine = ours(df, targets, "quarterly", 31)
    ref = bt_values(df, targets, bt.algos.RunMonthly(run_on_end_of_period=True))
    assert np.abs(mine / ref - 1.0).max() > 1e-6


def test_at_a_million_dollars_the_engine_cent_granularity_shows_but_stays_small() -> None:
    """At $1e6 the engine's notional buys (whole cents, rounded down) leave under a cent per
    order in cash each rebalance: a measurable, bounded difference from bt's exact floats."""
    df = random_prices(10, DAILY, seed=10)
    targets = random_targets(list(df.columns), seed=11)
    mine = ours(df, targets, "monthly", 31, value=1e6)
    ref = bt_values(df, targets, bt.algos.RunMonthly(run_on_end_of_period=True), value=1e6)
    rel = np.abs(mine / ref - 1.0)
    assert 1e-12 < rel.max() < 1e-7


def numpy_monthly_to_target(
    df: pd.DataFrame, targets: dict[str, float], value: float
) -> np.ndarray:
    """An independent reference (not bt, not ours): to target on the first row and on the
    last row of each month, at the close, no costs, exact float shares."""
    w = np.array([targets[c] for c in df.columns]) / 100.0
    px = df.to_numpy()
    idx = df.index
    rebalance = {0} | {k for k in range(len(idx) - 1) if idx[k + 1].month != idx[k].month}
    out = np.empty(len(idx))
    shares = None
    v = value
    for k in range(len(idx)):
        if shares is not None:
            v = float(shares @ px[k])
        if k in rebalance:
            shares = w * v / px[k]
        out[k] = v
    return out


@pytest.mark.parametrize(("n_assets", "value"), [(2, 1e9), (2, 1e7), (10, 1e9)])
def test_sub_cent_prices_keep_trading_and_stay_within_the_friction_reserve(
    n_assets: int, value: float
) -> None:
    """Prices that are not whole cents, market orders: a notional buy's shares come from the
    quote rounded as the fill price is, so the fill makes up the notional to the cent and the
    run ends (computed from the unrounded float, a $7.8M buy fell 1.3 cents short, the engine
    kept cancelling a filled order and never decided again: 2.7e-2 off at $1e7, 8.4e-2 with
    10 assets at $1e9, each case here failed). What remains is the planner's friction reserve at limit prices
    (docs/backtest.md), ~1e-6; bt itself fails on the 2-asset series at $1e9."""
    df = random_prices(n_assets, DAILY, seed=n_assets, cents=False)
    targets = random_targets(list(df.columns), seed=n_assets + 1)
    config = to_target_config(targets, "monthly", 31)
    # (no zero-cost check here: a fill price to the millionth books its rounding as spread)
    mine = (
        Feeder(config, series_of(df), Decimal(repr(value)), spread_bps=0).run().records.value_after
    )
    ref = numpy_monthly_to_target(df, targets, value)
    rel = np.abs(mine / ref - 1.0)
    assert rel.max() < 1e-5, (
        f"row {rel.argmax()}: ours {mine[rel.argmax()]}, numpy {ref[rel.argmax()]}"
    )
    assert rel.max() > 1e-9  # the reserve shows: the comparison is not vacuous
