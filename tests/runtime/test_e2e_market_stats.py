"""End to end: the daemon against the paper exchange fetches daily bars after its start-up
snapshot and feeds the engine ADV, σ and a covariance (journaled as events); a failing or
hanging bars endpoint neither delays readiness nor blocks a rebalance, is counted, and is
retried until it works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.store.history import open_readonly, recent
from adapters.store.journal import journal_path
from tests.runtime.e2e_support import BALANCED, LiveDaemon, live_daemon, metric, sim_cfg, wait_until

FAST_RETRY = "[market_stats]\nretry_seconds = 1\nlookback_days = 120\nmin_observations = 60\n"


async def journaled(d: LiveDaemon, kind: str) -> list[dict[str, Any]]:
    await d.journal.flush()
    conn = open_readonly(journal_path(d.state_dir))
    try:
        return [r for r in recent(conn, "events", 100_000) if r["kind"] == kind]
    finally:
        conn.close()


async def test_the_engine_receives_market_stats_and_a_covariance(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED),
                           extra=FAST_RETRY) as d:  # fmt: skip
        await wait_until(lambda: d.service.market_stats.successes >= 1, 15,
                         what="a market-stats refresh")  # fmt: skip
        await wait_until(lambda: d.service.queue.qsize() == 0, 5, what="the queue drained")
        market = d.service.engine._market  # the engine's MarketData
        assert market.covariance is not None
        assert market.covariance.symbols == ("BND", "VTI")
        assert market.covariance.observations == 120
        assert market.covariance.at <= d.service.clock.now()
        for symbol in ("VTI", "BND"):
            adv, sigma = market.stats[symbol]
            assert adv is not None and 5e5 < adv < 2e6  # the sim's adv is 1e6
            assert sigma is not None and 0 < sigma < 0.01
        stats = await journaled(d, "MarketStatsUpdated")
        covs = await journaled(d, "CovarianceEstimated")
        assert sorted(r["body"]["symbol"] for r in stats) == ["BND", "VTI"]
        assert len(covs) == 1 and covs[0]["body"]["source"] == "bars:ledoit_wolf:120d"
        status, body = await d.get("/status")
        assert status == 200 and body["market_stats"]["estimated"] == ["BND", "VTI"]
        assert body["market_stats"]["failures"] == 0
        m = await d.metrics()
        assert metric(m, "rebalanced_market_stats_failures_total") == 0
        assert metric(m, "rebalanced_market_stats_last_success_timestamp_seconds") > 0
        assert metric(m, "rebalanced_market_stats_symbols", result="estimated") == 2


@pytest.mark.parametrize("action", ["500", "timeout"])
async def test_a_failing_bars_endpoint_does_not_block_trading(
    tmp_path: Path, action: str
) -> None:
    fault = {"action": action, "path": "/v2/stocks/bars", "count": 1000, "hang_seconds": 30}
    async with live_daemon(tmp_path, sim_config=sim_cfg(), faults={"http": [fault]},
                           extra=FAST_RETRY) as d:  # fmt: skip
        assert d.service.status()["ready"]  # live_daemon waited for readiness
        if action == "timeout":  # 3 attempts × 2 s request timeout: still hanging now
            assert d.service.market_stats.failures == 0, "readiness waited for the bars"
        await d.settled_in_bands(within=20)  # the drifted portfolio is rebalanced anyway
        await d.assert_matches_sim()
        await wait_until(lambda: d.service.market_stats.failures >= 1, 15,
                         what="a counted failure")  # fmt: skip
        assert d.service.market_stats.successes == 0
        assert d.service.engine._market.covariance is None  # config values and defaults
        assert await journaled(d, "CovarianceEstimated") == []
        m = await d.metrics()
        assert metric(m, "rebalanced_market_stats_failures_total") >= 1
        assert metric(m, "rebalanced_market_stats_last_success_timestamp_seconds") == 0
        _, body = await d.get("/status")
        assert "/v2/stocks/bars" in body["market_stats"]["last_error"]
        # the endpoint heals: the next retry (1 s, doubling) brings the estimate
        await d.sim.control("POST", "/_sim/reset-faults", {})
        await wait_until(lambda: d.service.market_stats.successes >= 1, 20,
                         what="a retry after the fault cleared")  # fmt: skip
        await wait_until(lambda: d.service.engine._market.covariance is not None, 5,
                         what="the covariance consumed")  # fmt: skip
