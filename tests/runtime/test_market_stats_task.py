"""The market-stats producer against the paper exchange on 127.0.0.1: a refresh emits one
MarketStatsUpdated per symbol and one CovarianceEstimated stamped with the injected clock;
a failing bars endpoint counts a failure, emits nothing and is retried with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from adapters.alpaca.bars import AlpacaDailyBars
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.sim.testing import RunningSim, running_sim
from daemon.core.config.values import MarketStatsConfig
from daemon.core.events import CovarianceEstimated, Event, MarketStatsUpdated
from daemon.runtime.market_stats_task import MarketStatsTask
from daemon.runtime.metrics import Metrics

SYMBOLS = ["SPY", "AGG", "VTI", "NOPE"]


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


def task_for(
    sim: RunningSim, source: AlpacaDailyBars, events: list[Event], cfg: MarketStatsConfig,
    **kw: object,
) -> tuple[MarketStatsTask, Metrics]:  # fmt: skip
    metrics = Metrics(CollectorRegistry())
    task = MarketStatsTask(lambda: cfg, source, lambda: SYMBOLS, events.append, metrics,
                           sim.clock.now, wall=lambda: 1234.5, **kw)  # type: ignore[arg-type]  # fmt: skip
    return task, metrics


def value(metrics: Metrics, name: str, **labels: str) -> float:
    got = metrics.registry.get_sample_value(name, labels or None)
    assert got is not None, name
    return got


async def test_a_refresh_emits_stats_and_one_covariance(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    events: list[Event] = []
    task, metrics = task_for(sim, source, events, MarketStatsConfig(lookback_days=120))
    assert await task.refresh_once()
    stats = [e for e in events if isinstance(e, MarketStatsUpdated)]
    covs = [e for e in events if isinstance(e, CovarianceEstimated)]
    assert [s.symbol for s in stats] == ["AGG", "SPY", "VTI"]  # NOPE has no bars
    assert all(s.at == sim.clock.now() for s in events)  # the injected (broker) clock
    assert all(s.adv and 0.5e6 < s.adv < 2e6 for s in stats)  # the sim's adv is 1e6
    spy = next(s for s in stats if s.symbol == "SPY")
    assert spy.sigma == pytest.approx(0.15 / 252**0.5, rel=0.3)  # the sim's σ: 15 %/year
    assert len(covs) == 1 and covs[0].symbols == ("AGG", "SPY", "VTI")
    assert covs[0].observations == 120
    assert value(metrics, "rebalanced_market_stats_last_success_timestamp_seconds") == 1234.5
    assert value(metrics, "rebalanced_market_stats_symbols", result="estimated") == 3
    assert value(metrics, "rebalanced_market_stats_symbols", result="left_out") == 1
    assert value(metrics, "rebalanced_market_stats_failures_total") == 0


async def test_a_failing_endpoint_counts_emits_nothing_and_backs_off(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    await sim.control("POST", "/_sim/faults",
                      {"http": [{"action": "500", "path": "/v2/stocks/bars", "count": 9}]})  # fmt: skip
    events: list[Event] = []
    delays: list[float] = []
    cfg = MarketStatsConfig(refresh_interval_seconds=100.0, retry_seconds=10.0)

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 5:
            raise asyncio.CancelledError
        await asyncio.sleep(0)

    task, metrics = task_for(sim, source, events, cfg, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await task.run()
    # 9 faults = three refreshes of three attempts each; the fourth succeeds
    assert delays == [10.0, 20.0, 40.0, 100.0, 100.0]
    assert task.failures == 3 and task.successes == 2
    assert value(metrics, "rebalanced_market_stats_failures_total") == 3
    assert sum(isinstance(e, CovarianceEstimated) for e in events) == 2


async def test_the_window_ends_before_the_brokers_today(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    seen: list[object] = []

    class Spy:
        async def daily_bars(self, symbols: list[str], before: object, sessions: int) -> object:
            seen.append((tuple(symbols), before, sessions))
            return await source.daily_bars(symbols, before, sessions)  # type: ignore[arg-type]

    events: list[Event] = []
    later = sim.clock.now() + timedelta(days=3)  # the broker's clock, not the wall clock
    task = MarketStatsTask(lambda: MarketStatsConfig(lookback_days=60), Spy(), lambda: ["SPY"],
                           events.append, Metrics(CollectorRegistry()), lambda: later)  # type: ignore[arg-type]  # fmt: skip
    assert await task.refresh_once()
    assert seen == [(("SPY",), later.date(), 61)]
    assert all(isinstance(e.at, datetime) and e.at == later for e in events)


async def test_configured_adv_and_sigma_are_not_overwritten(
    sim: RunningSim, source: AlpacaDailyBars
) -> None:
    events: list[Event] = []
    task, _ = task_for(sim, source, events, MarketStatsConfig(lookback_days=120),
                       overrides=lambda: {"SPY": (None, 0.02), "AGG": (4e6, None)})  # fmt: skip
    assert await task.refresh_once()
    stats = {e.symbol: e for e in events if isinstance(e, MarketStatsUpdated)}
    assert stats["SPY"].sigma is None and stats["SPY"].adv is not None
    assert stats["AGG"].adv is None and stats["AGG"].sigma is not None
    assert stats["VTI"].adv is not None and stats["VTI"].sigma is not None
