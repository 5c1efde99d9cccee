"""End to end, over real sockets: a band breach is traded back inside its band through orders
and fills, partial fills complete, and the journal, the metrics and the exchange agree."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from daemon.core.commands import RecordDecision
from tests.runtime.e2e_support import BALANCED, live_daemon, metric, sim_cfg, wait_until


async def _check_books(d, posts) -> None:  # type: ignore[no-untyped-def]
    """Every order: POSTed once, FILLED at the exchange, filled quantity journaled in full."""
    orders = {
        o["client_order_id"]: o
        for o in d.sim.exchange.list_orders(status="all", limit=500, direction="asc")
    }
    assert set(posts) == set(orders), "an order the daemon never sent, or one not at the sim"
    assert all(n == 1 for n in posts.values()), f"a client_order_id was POSTed twice: {posts}"
    await d.journal.flush()
    for coid, order in orders.items():
        assert order["status"] == "filled", order
        fills = d.journal.fills(coid)
        assert fills, f"no fill journaled for {coid}"
        assert sum(f.qty for f in fills) == Decimal(order["filled_qty"]), (coid, fills, order)
        assert d.journal.intent(coid) is not None, f"intent of {coid} not journaled"


async def test_band_breach_is_rebalanced_inside_bands(tmp_path: Path) -> None:
    async with live_daemon(tmp_path) as d:
        start = d.snapshot()
        assert set(start.out_of_band) >= {"VTI", "BND"}, start.out_of_band
        await d.settled_in_bands()
        await d.reconcile_now()  # the broker's truth again: still inside the bands
        assert d.in_bands(), d.snapshot().rows
        await d.assert_matches_sim()
        posts = await d.posts()
        sides = {
            o["side"] for o in d.sim.exchange.list_orders(status="all", limit=500, direction="asc")
        }
        assert sides == {"buy", "sell"}, "VTI over target is sold, BND under target is bought"
        await _check_books(d, posts)

        m = await d.metrics()
        assert metric(m, "rebalanced_fills_total") == sum(len(d.journal.fills(c)) for c in posts)
        assert metric(m, "rebalanced_orders_total", outcome="submitted") == len(posts)
        assert metric(m, "rebalanced_orders_total", outcome="rejected") == 0
        assert metric(m, "rebalanced_out_of_band_assets") == 0
        assert metric(m, "rebalanced_decisions_total") >= 1
        assert metric(m, "rebalanced_ready") == 1
        assert metric(m, "rebalanced_stream_connected", stream="market_data") == 1
        assert metric(m, "rebalanced_stream_connected", stream="trade_updates") == 1
        cash = float(d.sim.exchange.account()["cash"])
        assert abs(metric(m, "rebalanced_cash_dollars") - cash) < 0.01
        status, ready = await d.get("/readyz")
        assert status == 200, ready
        assert await d.stop() == 0


async def test_partial_fills_complete(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(partial=0.8, seed=11)) as d:
        await d.settled_in_bands(within=20)
        await d.assert_matches_sim()
        posts = await d.posts()
        await _check_books(d, posts)
        pieces = {c: len(d.journal.fills(c)) for c in posts}
        assert max(pieces.values()) > 1, f"no order filled in pieces: {pieces}"
        m = await d.metrics()
        assert metric(m, "rebalanced_fills_total") == sum(pieces.values())
        assert metric(m, "rebalanced_orders_total", outcome="filled") == len(posts)
        assert metric(m, "rebalanced_open_orders") == 0


async def test_balanced_portfolio_places_no_order(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED)) as d:
        assert d.in_bands(), d.snapshot().rows
        await asyncio.sleep(2.0)  # four band checks
        assert await d.posts() == {}
        last = d.snapshot().last_decision
        assert last is None or last.orders == 0, last
        assert d.in_bands()
        await d.assert_matches_sim()


async def test_dry_run_decides_and_journals_but_sends_nothing(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, dry_run=True) as d:
        await wait_until(
            lambda: d.snapshot().decisions >= 1 and d.quiet(), 10, what="a dry-run decision"
        )
        await asyncio.sleep(0.5)
        assert await d.posts() == {}
        assert d.sim.exchange.list_orders(status="all", limit=500, direction="asc") == []
        await d.journal.flush()
        decisions = [c for _, _, c in d.journal.commands() if isinstance(c, RecordDecision)]
        assert decisions and decisions[0].plan.orders, "the decision and its orders journaled"
        m = await d.metrics()
        assert metric(m, "rebalanced_orders_total", outcome="dry_run") >= 1
        assert metric(m, "rebalanced_orders_total", outcome="submitted") == 0
        await d.assert_matches_sim()  # nothing moved
        assert not d.in_bands()
