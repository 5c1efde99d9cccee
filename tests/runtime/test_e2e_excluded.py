"""Holdings the daemon never trades (excluded by config, or held but not in the targets)
still count in the portfolio's value: the daemon subscribes to their quotes too, so the
weights it trades on match the account."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from adapters.sim.testing import running_sim
from tests.runtime.e2e_support import (
    BALANCED,
    SYMBOLS,
    config_for,
    live_daemon,
    sim_cfg,
    wait_until,
)


async def test_excluded_and_untargeted_holdings_are_valued_and_never_traded(
    tmp_path: Path,
) -> None:
    symbols = {**SYMBOLS,
               "GLD": {"price": 240.0, "volatility": 0.01, "spread_bps": 2.0, "quote_rate": 5.0},
               "VNQ": {"price": 90.0, "volatility": 0.01, "spread_bps": 2.0, "quote_rate": 5.0}}
    positions = {**BALANCED, "GLD": {"qty": "40", "avg_entry_price": "200"},
                 "VNQ": {"qty": "50", "avg_entry_price": "80"}}
    async with running_sim(sim_cfg(symbols=symbols, positions=positions)) as sim:
        cfg = config_for(sim, tmp_path / "state")
        cfg = replace(cfg, portfolio=replace(cfg.portfolio, excluded=frozenset({"GLD"})))
        async with live_daemon(tmp_path, sim=sim, config=cfg) as d:
            await wait_until(lambda: not d.snapshot().missing_prices, 10,
                             what="prices for every holding")
            snap = d.snapshot()
            equity = Decimal(str(sim.exchange.account()["equity"]))
            # the daemon's value is the account's (prices move a little between the reads)
            assert abs(Decimal(str(snap.portfolio_value)) - equity) / equity < Decimal("0.005")
            posts = await d.posts()
            traded = {o["symbol"] for o in sim.exchange.list_orders(status="all", limit=500)}
            assert "GLD" not in traded and "VNQ" not in traded, (traded, posts)
