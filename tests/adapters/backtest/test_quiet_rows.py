"""Skipping quiet rows changes nothing: the same backtest with every row handed to the
engine (``every_row=True``) and with the quiet rows skipped (``adapters/backtest/quiet_rows``)
gives the same record of every row (value before and after trading, flows, dividends, max
drift, outside-band flag, weights, traded notional), bit for bit, the same commands (every
decision, order, cancel, lookup and alert; only the check's wakeups differ, one per row
handed over), costs, fills, lots and final account, over a grid of configs and a
Hypothesis search of their combinations."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backtest.feeder import BacktestRun, Feeder, RowRecord
from adapters.backtest.market import utc_times
from adapters.backtest.metrics import summary
from adapters.backtest.prices import PriceSeries
from daemon.core.commands import Alert, ScheduleWakeup
from daemon.core.config.reader import parse_config
from daemon.core.config.values import Config
from daemon.core.engine.kernel import Engine
from daemon.core.events import ConfigReloaded
from daemon.core.triggers.market_hours import local_at
from tests.adapters.backtest.series import random_prices, series_of

DAYS = pd.bdate_range("2018-01-01", "2019-06-30")  # 390 rows
SYMBOLS = ("S0", "S1", "S2", "S3")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def config_of(
    *,
    mode: str = "hybrid",
    frequency: str = "monthly",
    day: int = 1,
    cooldown: float = 0,
    max_runs: int = 1,
    gate: bool = True,
    half_spread: float = 5,
    commission: tuple[float, float] = (0, 0),
    impact: float = 0.5,
    cap: float = 100,
    market_orders: bool = False,
    whole: bool = False,
    cash: float = 2,
    bands: dict[str, Any] | None = None,
    min_trade: float = 0,
    taxable: bool = False,
    check: float = 60,
    timeout: float = 120,
    at: str = "10:00",
    pacing: tuple[int, float, int] = (10, 120, 10),  # burst, orders per minute, in flight
) -> Config:
    targets = {"S0": 40.0, "S1": 30.0, "S2": 18.0, "S3": 100.0 - 88.0 - cash}
    data: dict[str, Any] = {
        "portfolio": {"cash_target": cash, "targets": targets},
        "bands": bands or {"absolute": 5, "relative": 25},
        "trigger": {
            "mode": mode,
            "cooldown_seconds": cooldown,
            "max_runs_per_day": max_runs,
            "check_interval_seconds": check,
        },
        "cost": {
            "gate": gate,
            "default_half_spread_bps": half_spread,
            "commission_per_order": commission[0],
            "commission_bps": commission[1],
            "impact_coefficient": impact,
            "min_trade_dollars": min_trade,
        },
        "planner": {"participation_cap": cap, "market_orders": market_orders},
        "execution": {"order_timeout_seconds": timeout, "burst": pacing[0],
                      "orders_per_minute": pacing[1], "max_in_flight": pacing[2]},
    }
    if mode != "threshold":
        calendar: dict[str, Any] = {"frequency": frequency, "time": at}
        if frequency != "daily":
            calendar["day"] = WEEKDAYS[day % 5] if frequency == "weekly" else day
        data["trigger"]["calendar"] = calendar
    if whole:
        data["assets"] = {"S1": {"fractional": False}, "S3": {"fractional": False}}
    if taxable:
        data["tax"] = {"account": "taxable"}
    return parse_config(data)


def series_with(
    seed: int,
    *,
    volume: float | None = None,
    spreads: bool = False,
    dividends: bool = False,
    rows: int = len(DAYS),
    vol: float = 0.012,
) -> PriceSeries:
    df = random_prices(len(SYMBOLS), DAYS[:rows], seed)
    if vol != 0.012:  # wider swings: more band breaches
        rng = np.random.default_rng(seed + 1)
        steps = rng.normal(0.0, vol, df.shape)
        df = (df * np.exp(np.cumsum(steps, axis=0))).round(2)
    n = len(df)
    vols = None if volume is None else {s: np.full(n, volume) for s in df.columns}
    s = series_of(df, vols)
    rng = np.random.default_rng(seed + 2)
    if spreads:
        s = replace(s, spread_bps=tuple(rng.uniform(1, 30, n) for _ in SYMBOLS))
    if dividends:
        div = []
        for j in range(len(SYMBOLS)):
            col = np.zeros(n)
            col[rng.choice(n, size=6, replace=False)] = np.round(rng.uniform(0.1, 1.5, 6), 3)
            div.append(col if j != 2 else None)  # S2 has total-return closes
        s = replace(s, dividend=tuple(div))
    return s


def flows_of(s: PriceSeries, pattern: str) -> list[tuple[date, Decimal]]:
    if pattern == "none":
        return []
    n = len(s.dates)
    if pattern == "deposits":
        return [(s.dates[k], Decimal(50_000)) for k in range(17, n, 61)]
    k = [n // 10, n * 4 // 10, n * 4 // 10 + 1, n * 3 // 4]
    return [(s.dates[k[0]], Decimal(300_000)), (s.dates[k[1]], Decimal(-450_000)),
            (s.dates[k[2]], Decimal(-1_000)), (s.dates[k[3]], Decimal("12345.67"))]  # fmt: skip


def both(
    config: Config, series: PriceSeries, value: Decimal, **kw: Any
) -> tuple[BacktestRun, BacktestRun]:
    every = Feeder(config, series, value, record=True, every_row=True, **kw).run()
    quiet = Feeder(config, series, value, record=True, **kw).run()
    return every, quiet


def assert_same(every: BacktestRun, quiet: BacktestRun) -> None:
    for f in fields(RowRecord):
        a, b = getattr(every.records, f.name), getattr(quiet.records, f.name)
        if a is None or b is None:
            assert a is b, f.name
            continue
        bad = np.flatnonzero(np.any((a != b).reshape(len(a), -1), axis=1))
        assert bad.size == 0, f"{f.name} differs on rows {bad[:10].tolist()}"
    assert every.costs == quiet.costs
    for name in ("rebalances", "decisions", "trades", "orders", "alerts", "ignored_flows",
                 "final_cash", "final_positions", "rebalance_rows", "disposals", "open_lots"):  # fmt: skip
        assert getattr(every, name) == getattr(quiet, name), name
    acts = [c for c in every.commands if not isinstance(c, ScheduleWakeup)]
    assert acts == [c for c in quiet.commands if not isinstance(c, ScheduleWakeup)]
    assert every.rows_fed == len(every.series.dates)


# fmt: off
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, float]] = [
    # (name, config, series, flows, initial value)
    ("calendar monthly to target", {"mode": "calendar", "gate": False, "half_spread": 0,
     "market_orders": True, "cash": 0}, {}, "none", 1e6),
    ("calendar quarterly, costs", {"mode": "calendar", "frequency": "quarterly",
     "commission": (1, 2)}, {"spreads": True}, "none", 1e6),
    ("calendar weekly, whole shares", {"mode": "calendar", "frequency": "weekly", "day": 2,
     "whole": True}, {}, "none", 250_000),
    ("calendar daily (every row)", {"mode": "calendar", "frequency": "daily"}, {}, "none",
     1e6),
    ("threshold, wide swings", {"mode": "threshold"}, {"vol": 0.03}, "none", 1e6),
    ("threshold, narrow relative bands", {"mode": "threshold",
     "bands": {"relative": 5, "rule": "relative"}}, {}, "none", 1e6),
    ("hybrid, cooldown three days", {"cooldown": 3 * 86_400}, {"vol": 0.03}, "none", 1e6),
    ("hybrid, gate off", {"gate": False}, {"vol": 0.02}, "mixed", 1e6),
    ("hybrid, participation cap defers", {"cap": 1, "commission": (1, 0)},
     {"volume": 3_000.0}, "none", 1e6),
    ("hybrid, impact and spreads", {"commission": (0, 1)}, {"volume": 200_000.0,
     "spreads": True}, "deposits", 1e6),
    ("hybrid, dividends", {"whole": True}, {"dividends": True}, "none", 100_000),
    ("hybrid, dividends and flows", {}, {"dividends": True, "vol": 0.02}, "mixed", 1e6),
    ("look interval", {"mode": "look_interval", "frequency": "weekly", "day": 4},
     {"vol": 0.02}, "none", 1e6),
    ("hybrid, two runs a day", {"max_runs": 2}, {"vol": 0.02}, "deposits", 1e6),
    ("hybrid, a minimum never met (every row)", {"min_trade": 40_000}, {"vol": 0.02},
     "deposits", 30_000),
    ("hybrid, a minimum met later", {"min_trade": 40_000}, {"vol": 0.02}, "deposits",
     45_000),
    ("hybrid, short order timeout", {"timeout": 1, "cap": 2},
     {"volume": 5_000.0}, "none", 1e6),
    ("hybrid, paced one order at a time", {"pacing": (1, 1, 1), "cap": 3},
     {"volume": 4_000.0}, "deposits", 1e6),
    ("hybrid, calendar at the window's end", {"at": "15:45"}, {}, "none", 1e6),
    ("taxable (every row)", {"commission": (0, 1)}, {"vol": 0.02}, "mixed", 1e6),
    ("check interval a day", {"check": 86_400}, {}, "none", 1e6),
]
# fmt: on


@pytest.mark.parametrize(("name", "cfg", "ser", "flows", "value"), CASES, ids=[c[0] for c in CASES])
def test_skipping_quiet_rows_changes_no_record(
    name: str, cfg: dict[str, Any], ser: dict[str, Any], flows: str, value: float
) -> None:
    if name.startswith("taxable"):
        cfg = {**cfg, "taxable": True}
    config = config_of(**cfg)
    series = series_with(len(name), **ser)
    every, quiet = both(config, series, Decimal(repr(value)), cash_flows=flows_of(series, flows))
    assert every.trades > 0
    assert_same(every, quiet)
    if "every row" in name:
        assert quiet.rows_fed == len(series.dates)
    else:
        assert quiet.rows_fed < len(series.dates), name  # the fast path did skip rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)  # fmt: skip
@given(
    mode=st.sampled_from(["calendar", "threshold", "hybrid", "look_interval"]),
    frequency=st.sampled_from(["weekly", "monthly", "quarterly"]),
    cooldown=st.sampled_from([0, 3600, 5 * 86_400]),
    gate=st.booleans(),
    half_spread=st.sampled_from([0, 5, 25]),
    commission=st.sampled_from([(0, 0), (1, 0), (0.5, 3)]),
    market_orders=st.booleans(),
    whole=st.booleans(),
    cash=st.sampled_from([0, 2, 5]),
    volume=st.sampled_from([None, 2_000.0, 1e6]),
    cap=st.sampled_from([1, 10, 100]),
    dividends=st.booleans(),
    flows=st.sampled_from(["none", "deposits", "mixed"]),
    taxable=st.booleans(),
    vol=st.sampled_from([0.012, 0.025]),
    pacing=st.sampled_from([(10, 120, 10), (2, 30, 3), (1, 1, 1)]),
    seed=st.integers(0, 10_000),
)
def test_any_combination_gives_the_same_records(
    mode: str, frequency: str, cooldown: float, gate: bool, half_spread: float,
    commission: tuple[float, float], market_orders: bool, whole: bool, cash: float,
    volume: float | None, cap: float, dividends: bool, flows: str, taxable: bool,
    vol: float, pacing: tuple[int, float, int], seed: int,
) -> None:  # fmt: skip
    config = config_of(
        mode=mode, frequency=frequency, day=3, cooldown=cooldown, gate=gate,
        half_spread=half_spread, commission=commission, market_orders=market_orders,
        whole=whole, cash=cash, cap=cap, taxable=taxable, pacing=pacing,
    )  # fmt: skip
    series = series_with(seed, volume=volume, dividends=dividends, vol=vol, rows=260)
    every, quiet = both(config, series, Decimal(1_000_000), cash_flows=flows_of(series, flows))
    assert_same(every, quiet)


@pytest.mark.parametrize("tz", ["America/New_York", "Europe/London", "Australia/Sydney"])
def test_row_times_are_local_at_on_every_day_dst_changes_included(tz: str) -> None:
    days = tuple(d.date() for d in pd.date_range("2019-01-01", "2021-12-31"))
    for at in (time(0, 30), time(2, 30), time(9, 30), time(16, 0)):
        got = utc_times(days, at, tz)
        want = [local_at(d, at, tz) for d in days]
        assert got == want and all(g.utcoffset() == timedelta(0) for g in got)


def test_a_tax_deferred_account_keeps_no_lots_and_no_figure_reads_them() -> None:
    config = config_of(commission=(1, 2))
    series = series_with(11, vol=0.02)
    fast = Feeder(config, series, Decimal(1_000_000)).run()
    followed = Feeder(config, series, Decimal(1_000_000))
    followed.engine = Engine(config, "backtest")  # as before: every fill into the lots
    slow = followed.run()
    assert fast.disposals == [] and fast.open_lots == []
    assert slow.disposals and slow.open_lots  # there were lots to keep
    assert summary(fast, 1e6) == summary(slow, 1e6)  # the after-tax figures included


def test_an_engine_without_lots_refuses_a_taxable_account() -> None:
    with pytest.raises(ValueError, match="tax-deferred"):
        Engine(config_of(taxable=True), "backtest", follow_lots=False)
    assert Engine(config_of(), "backtest", follow_lots=False).at_rest


def test_an_engine_without_lots_refuses_a_reload_into_a_taxable_account() -> None:
    engine = Engine(config_of(), "backtest", follow_lots=False)
    taxable = config_of(taxable=True)
    cmds = engine.handle(ConfigReloaded(datetime(2024, 1, 2, 15, tzinfo=UTC), taxable))
    assert [type(c) for c in cmds] == [Alert]
    assert isinstance(cmds[0], Alert) and "reload refused" in cmds[0].message
    assert not engine.config.tax.taxable  # the old config stays
