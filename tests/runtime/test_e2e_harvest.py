"""End to end against the paper exchange (issue 13 item 3): a VTI position bought at $340
and now at $300 (no lots imported: one date-unknown lot at the broker's average entry price)
is harvested: the daemon sells all of it and buys the substitute ITOT with the proceeds; the
ledger records the $8,000 loss, not washed. Then a repurchase of VTI inside the 30-day
window is refused: with harvesting turned off (the base targets want VTI again) a forced
rebalance skips the VTI buy ("no buy before …")."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from daemon.core import events as ev
from daemon.core.commands import RecordDecision
from daemon.core.model import Side
from tests.runtime.e2e_support import SYMBOLS, live_daemon, sim_cfg, sim_holdings, wait_until

TAX = """
[tax]
account = "taxable"
wash_sale_groups = { VTI = "us-total", ITOT = "us-total-2" }
[tax.harvest]
enabled = true
min_loss_percent = 5
min_loss_dollars = 500
substitutes = { VTI = ["ITOT"] }
"""
LOSING = {
    "VTI": {"qty": "200", "avg_entry_price": "340"},  # $300 now: $8,000, 11.8 % down
    "BND": {"qty": "528", "avg_entry_price": "70"},
}
WITH_ITOT = {**SYMBOLS, "ITOT": {"price": 120.0, "volatility": 0.02, "spread_bps": 2.0,
                                 "quote_rate": 5.0}}


def decisions(d) -> list[RecordDecision]:  # type: ignore[no-untyped-def]
    return [c for _, _, c in d.journal.commands() if isinstance(c, RecordDecision)]


async def test_a_harvest_buys_the_substitute_and_a_repurchase_is_blocked(tmp_path: Path) -> None:
    sim = sim_cfg(positions=LOSING, symbols=WITH_ITOT, seed=3)
    async with live_daemon(tmp_path, sim_config=sim, extra=TAX) as d:
        def harvested() -> bool:
            _, held = sim_holdings(d.sim)
            return held.get("VTI", Decimal(0)) == 0 and held.get("ITOT", Decimal(0)) > 0 \
                and d.quiet()

        await wait_until(harvested, 25, what="the harvest: VTI sold, ITOT bought")
        await d.assert_matches_sim()
        await d.journal.flush()
        first = decisions(d)[0]
        assert first.plan.reasons[0].startswith("tax-loss harvest: sell 200 VTI (loss $")
        _, held = sim_holdings(d.sim)
        itot_value = held["ITOT"] * Decimal("120")
        assert Decimal(55_000) < itot_value < Decimal(62_000)  # VTI's ~$60,000 went to ITOT
        engine = d.service.engine
        [loss] = [x for x in engine.lots.ledger.disposals if x.symbol == "VTI"]
        assert loss.qty == 200 and loss.gain < -7_000 and loss.adjustment == 0
        assert loss.date_unknown  # the position lot: flagged
        assert engine.config.symbols == ("VTI", "ITOT", "BND")

        # inside the window: the base targets want VTI back, the wash-sale guard says no
        off = replace(d.config, tax=replace(d.config.tax, harvest=replace(
            d.config.tax.harvest, enabled=False)))
        now = d.service.clock.now()
        d.service.emit(ev.ConfigReloaded(at=now, config=off))
        d.service.emit(ev.RebalanceRequested(at=now, force=True))
        n = len(decisions(d))

        async def decided() -> bool:
            await d.journal.flush()
            return len(decisions(d)) > n

        await wait_until(decided, 10, what="the forced rebalance's decision")
        last = decisions(d)[-1]
        assert not [o for o in last.plan.all_orders if o.symbol == "VTI" and o.side is Side.BUY]
        assert any(s.symbol == "VTI" and "no buy before" in s.reason for s in last.plan.skipped), \
            last.plan
        assert await d.stop() == 0
