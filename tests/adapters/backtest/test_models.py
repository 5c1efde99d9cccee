"""Model targets in the backtest: the engine gets each schedule date's estimate from the rows
before it, and with calendar rebalancing to target and no costs the portfolio's weights
after each month's first row are the model's weights (recomputed here with PyPortfolioOpt)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from pypfopt import HRPOpt, risk_models

from adapters.backtest import market
from adapters.backtest.feeder import Feeder
from adapters.backtest.models import compare_models, comparison_table, run_model
from adapters.backtest.prices import load_prices
from adapters.models.schedule import walk_forward
from daemon.core import events as ev
from daemon.core.config.model_targets import ModelKind, TargetModelConfig
from tests.adapters.backtest.series import to_target_config

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "sp500.csv"
SYMBOLS = ("AAPL", "JNJ", "KO", "XOM")


def config(kind: str = "hrp"):  # type: ignore[no-untyped-def]
    base = to_target_config(dict.fromkeys(SYMBOLS, 25), "monthly", 1)
    return replace(base, targets_model=TargetModelConfig(kind=ModelKind(kind)))


def test_weights_after_each_monthly_rebalance_are_hrps_on_the_rows_before() -> None:
    cfg = config()
    history = load_prices(DATA, SYMBOLS)
    series = history.window(date(2010, 1, 1), date(2010, 12, 31))
    sched = walk_forward(cfg, history.symbols, history.dates, history.closes, series.dates)
    assert [series.dates[s.row].month for s in sched] == list(range(1, 13))
    targets_at = {
        s.row: s.result.event(market.row_moment(cfg, series.dates[s.row]))
        for s in sched
        if s.result is not None
    }
    run = Feeder(cfg, series, Decimal(10_000_000), history=history, targets_at=targets_at,
                 record=True).run()  # fmt: skip
    changes = [e for e in run.events if isinstance(e, ev.TargetsChanged)]
    assert len(changes) == 12
    df = pd.read_csv(DATA, parse_dates=["date"], index_col="date")[list(SYMBOLS)]
    diffs = []
    for s, e in zip(sched, changes, strict=True):
        row_date = series.dates[s.row]
        assert e.at.date() == row_date and e.inputs_to < row_date  # nothing from the row on
        px = df[df.index < pd.Timestamp(row_date)].iloc[-253:]
        ref = HRPOpt(cov_matrix=risk_models.CovarianceShrinkage(px).ledoit_wolf()).optimize()
        want = np.array([ref[sym] for sym in series.symbols])
        assert np.max(np.abs(np.array([dict(e.targets)[x] for x in series.symbols]) - want)) < 1e-12
        # the calendar run on the 1st traded to them (the 1st a weekend or holiday: the
        # calendar rolled back to the month before, ahead of the estimate; bands decide)
        if row_date.day == 1 or s.row == 0:
            got = run.records.weights_after[s.row][: len(SYMBOLS)]
            diffs.append(float(np.max(np.abs(got - want))))
    assert len(diffs) == 10  # Jan 4 (the first row) and the nine months that begin on a session
    assert max(diffs) < 3e-4  # what whole-cent notional buys and row 0's cash leave over


def test_compare_runs_static_and_models_on_the_same_rows() -> None:
    cfg = config("min_volatility")
    history = load_prices(DATA, SYMBOLS)
    series = history.window(date(2015, 1, 1), date(2016, 12, 31))
    runs = compare_models(cfg, [ModelKind.MIN_VOLATILITY, ModelKind.INVERSE_VOLATILITY],
                          history, series, Decimal(1_000_000))  # fmt: skip
    assert [r.kind for r in runs] == ["static", "min_volatility", "inverse_volatility"]
    assert {r.result["start"] for r in runs} == {"2015-01-02"}
    assert runs[0].result["model"]["estimates"] == 0
    assert runs[1].result["model"]["estimates"] == 24
    assert runs[1].result["average_weights"] != runs[0].result["average_weights"]
    text = comparison_table(runs)
    assert "min_volatility" in text and "inverse_volatility" in text


def test_a_failed_estimate_keeps_the_targets_in_force() -> None:
    cfg = config("hrp")
    history = load_prices(DATA, SYMBOLS)
    series = history.window(date(1990, 1, 1), date(1990, 12, 31))  # history starts 1990
    r = run_model(cfg, history, series, Decimal(1_000_000))
    m = r.result["model"]
    # before August the rows since 2 Jan 1990 hold fewer than 126 returns (July: 124)
    assert m["failures"] == {"too_little_history": 7} and m["estimates"] == 5
    # the first half year trades to the static 25 % each, then to HRP's weights
    assert abs(r.run.records.weights_after[0][0] - 0.25) < 5e-4


def test_a_sweep_point_with_a_model_runs_it_walk_forward() -> None:
    from adapters.backtest.sweep import Job, run_point

    history = load_prices(DATA, SYMBOLS)
    series = history.window(date(2015, 1, 1), date(2015, 12, 31))
    data = {"portfolio": {"cash_target": 0, "targets": dict.fromkeys(SYMBOLS, 25)}}
    runs = {}
    for kind in ("static", "hrp"):
        point = (("targets.model.kind", kind),)
        _, result, problem = run_point(Job(data, point, series, Decimal(10**6), None, (), history))
        assert problem == "" and result is not None
        runs[kind] = result
    assert runs["hrp"]["model"]["estimates"] == 12
    assert runs["hrp"]["average_weights"] != runs["static"]["average_weights"]
