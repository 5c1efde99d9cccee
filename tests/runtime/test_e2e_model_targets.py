"""End to end: the daemon against the paper exchange with [targets.model] estimates the
model from the sim's daily bars after start-up, journals one TargetsChanged, and the engine
holds the model's weights (cash target kept); /status and the metrics show it."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.e2e_support import BALANCED, live_daemon, metric, sim_cfg, wait_until
from tests.runtime.test_e2e_market_stats import journaled

MODEL = '[targets.model]\nkind = "inverse_volatility"\nwindow_days = 120\nmin_history_days = 60\n'


async def test_the_engine_gets_the_models_targets(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED),
                           extra=MODEL) as d:  # fmt: skip
        await wait_until(lambda: d.service.model_targets is not None
                         and d.service.model_targets.successes >= 1, 30,
                         what="a model estimate")  # fmt: skip
        await wait_until(lambda: d.service.queue.qsize() == 0, 5, what="the queue drained")
        [row] = await journaled(d, "TargetsChanged")
        body = row["body"]
        assert body["source"] == "model:inverse_volatility:ledoit_wolf:mean_historical:120d"
        sent = dict(body["targets"])
        held = {a.symbol: a.target for a in d.service.engine.config.portfolio.assets}
        assert held == sent and sorted(held) == ["BND", "VTI"]
        cash = d.service.engine.config.portfolio.cash_target
        assert abs(sum(held.values()) + cash - 1) < 1e-9
        # inverse volatility: the bond fund (lower σ in the sim) gets the larger weight
        assert held["BND"] > held["VTI"]
        _, status = await d.get("/status")
        assert status["model_targets"]["successes"] == 1
        m = await d.metrics()
        assert metric(m, "rebalanced_model_targets_last_success_timestamp_seconds") > 0
        assert metric(m, "rebalanced_model_target_failures_total", reason="infeasible") == 0
