"""The model-targets producer against the paper exchange's daily bars on 127.0.0.1: once per
schedule period it emits a TargetsChanged whose weights are PyPortfolioOpt's on the bars
before the period's first session; a bad estimate or a failed fetch emits nothing, keeps
the old targets and counts rebalanced_model_target_failures_total{reason}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from pypfopt import HRPOpt, risk_models
from structlog.testing import capture_logs

from adapters.alpaca.bars import AlpacaDailyBars
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.models.schedule import period_start
from adapters.models.weights import FAILURE_REASONS
from adapters.sim.testing import RunningSim, running_sim
from daemon.core.config.reader import parse_config
from daemon.core.events import Event, TargetsChanged
from daemon.runtime.metrics import MODEL_FAILURE_REASONS, Metrics
from daemon.runtime.model_targets_task import ModelTargetsTask

NY = ZoneInfo("America/New_York")
BASE = {"portfolio": {"cash_target": 2, "targets": {"SPY": 49, "AGG": 49}}}


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


@pytest.fixture
async def source(sim: RunningSim) -> AsyncIterator[AlpacaDailyBars]:
    rest = AlpacaRest(Credentials(Secret(sim.key_id), Secret(sim.secret)),
                      base_url=sim.base_url, data_url=sim.base_url, limiter=RateLimiter(200),
                      timeout_seconds=2.0, backoff_base=0.01, backoff_cap=0.02)  # fmt: skip
    yield AlpacaDailyBars(rest, "iex")
    await rest.close()


def config(**model: object):  # type: ignore[no-untyped-def]
    return parse_config({**BASE, "targets": {"model": {"kind": "hrp", **model}}})


def value(metrics: Metrics, name: str, **labels: str) -> float:
    got = metrics.registry.get_sample_value(name, labels or None)
    assert got is not None, name
    return got


async def test_one_estimate_per_period_equal_to_pypfopts(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    events: list[Event] = []
    metrics = Metrics(CollectorRegistry())
    cfg = config()
    task = ModelTargetsTask(lambda: cfg, source, events.append, metrics, sim.clock.now,
                            wall=lambda: 99.0)  # fmt: skip
    assert await task.refresh_once() is True
    assert await task.refresh_once() is None  # the same month: nothing new
    [e] = events
    assert isinstance(e, TargetsChanged) and e.at == sim.clock.now()
    today = sim.clock.now().astimezone(NY).date()
    # the reference: the bars, fetched again, cut at the month's first session by hand
    bars = await source.daily_bars(["SPY", "AGG"], today, 400)
    df = pd.DataFrame({s: {b.day: b.close for b in bars[s]} for s in ("SPY", "AGG")}).dropna()
    df.index = pd.to_datetime(df.index)
    start = pd.Timestamp(period_start(today, cfg.targets_model.schedule))
    in_month = df.index[(df.index >= start)]
    cut = in_month[0] if len(in_month) else pd.Timestamp(today)
    px = df[df.index < cut].iloc[-253:]
    assert e.inputs_to == px.index[-1].date() and e.inputs_from == px.index[0].date()
    ref = HRPOpt(cov_matrix=risk_models.CovarianceShrinkage(px).ledoit_wolf()).optimize()
    got = dict(e.targets)
    assert np.max(np.abs(np.array([got[s] - ref[s] * 0.98 for s in ("SPY", "AGG")]))) < 1e-12
    assert value(metrics, "rebalanced_model_targets_last_success_timestamp_seconds") == 99.0
    assert task.status()["source"] == "model:hrp:ledoit_wolf:mean_historical:252d"
    # a new month: estimated again
    clock = sim.clock.now() + timedelta(days=32)
    task.now = lambda: clock
    assert await task.refresh_once() is True and len(events) == 2


async def test_too_little_history_infeasible_and_fetch_failures_are_counted(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    events: list[Event] = []
    metrics = Metrics(CollectorRegistry())
    cfg = parse_config({"portfolio": {"targets": {"SPY": 50, "NOPE": 50}},
                        "targets": {"model": {"kind": "hrp"}}})  # fmt: skip
    task = ModelTargetsTask(lambda: cfg, source, events.append, metrics, sim.clock.now)
    with capture_logs() as logs:
        assert await task.refresh_once() is False  # NOPE has no bars: no common session
    [line] = [x for x in logs if x["log_level"] == "warning"]
    assert line["event"] == "model targets not updated; the old targets stay"
    assert line["reason"] == "too_little_history" and "min_history_days" in line["error"]
    assert (
        value(metrics, "rebalanced_model_target_failures_total", reason="too_little_history") == 1
    )
    # bounds no weights can meet (the checker would refuse them in a file): infeasible
    bad = config(kind="min_volatility")
    bad = replace(bad, targets_model=replace(bad.targets_model, max_weight=0.3))
    task = ModelTargetsTask(lambda: bad, source, events.append, metrics, sim.clock.now)
    assert await task.refresh_once() is False
    assert value(metrics, "rebalanced_model_target_failures_total", reason="infeasible") == 1
    assert await task.refresh_once() is False  # the period is tried again, not skipped
    assert value(metrics, "rebalanced_model_target_failures_total", reason="infeasible") == 2

    class Down:
        async def daily_bars(self, *a: object) -> object:
            raise ConnectionError("refused")

    task = ModelTargetsTask(lambda: config(), Down(), events.append, metrics, sim.clock.now)  # type: ignore[arg-type]
    assert await task.refresh_once() is False
    assert value(metrics, "rebalanced_model_target_failures_total", reason="bars_unavailable") == 1
    assert events == []
    assert task.status()["last_error"] == "bars_unavailable: ConnectionError: refused"


async def test_static_does_nothing(source: AlpacaDailyBars, sim: RunningSim) -> None:
    events: list[Event] = []
    static = parse_config(BASE)
    task = ModelTargetsTask(lambda: static, source, events.append,
                            Metrics(CollectorRegistry()), sim.clock.now)  # fmt: skip
    assert await task.refresh_once() is None and events == []


def test_every_reason_is_a_metric_label() -> None:
    assert set(MODEL_FAILURE_REASONS) == {*FAILURE_REASONS, "bars_unavailable"}
    m = Metrics(CollectorRegistry())
    for r in MODEL_FAILURE_REASONS:
        assert value(m, "rebalanced_model_target_failures_total", reason=r) == 0


def test_the_event_loop_side_imports_no_numerical_library() -> None:
    """What refresh_once imports on the loop is light; pandas, numpy, PyPortfolioOpt and
    skfolio load in the worker thread (their first import takes seconds)."""
    import subprocess
    import sys

    code = ("import sys, daemon.runtime.model_targets_task, adapters.models.periods, "
            "adapters.models.failure\n"
            "print([m for m in ('pandas', 'numpy', 'pypfopt', 'skfolio', 'cvxpy') "
            "if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
