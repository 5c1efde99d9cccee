"""End to end: order state heals itself over REST when the trade stream loses events.

The trade stream is muted (sockets stay open, nothing is sent) while a rebalance fills at the
exchange. The daemon hears of no fill and no reconnect, so only REST can tell it: the cancel
at the order timeout answers 422 (already filled) and leads to a lookup; an order still open
past its deadline (timeout + grace) is looked up, and /readyz says so meanwhile. Each test
ends with the books equal to the exchange, every order resolved, one journal row per
execution, and a drain that finishes (exit 0).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.runtime.e2e_support import (
    BALANCED,
    LiveDaemon,
    live_daemon,
    metric,
    sim_cfg,
    wait_until,
)

MUTE_TRADE = {"stream": [{"stream": "trade", "action": "mute"}]}


def _orders(d: LiveDaemon) -> list[dict]:  # type: ignore[type-arg]
    return list(d.sim.exchange.list_orders(status="all", limit=500, direction="asc"))


async def books_resolved_and_journaled_once(d: LiveDaemon) -> None:
    await d.assert_matches_sim()
    snap = d.snapshot()
    assert snap.open_order_count == 0 and snap.unknown_count == 0, snap.open_orders
    assert snap.overdue_count == 0
    posts = await d.posts()
    assert posts and all(n == 1 for n in posts.values()), posts
    await d.journal.flush()
    assert d.journal.unresolved_intents() == []
    for o in _orders(d):
        assert o["status"] in ("filled", "canceled", "rejected", "expired"), o
        fills = d.journal.fills(o["client_order_id"])
        journaled = sum((f.qty for f in fills), Decimal(0))
        assert journaled == Decimal(o["filled_qty"]), (o["client_order_id"], fills, o)
        cums = [f.cum_qty for f in fills]
        assert len(cums) == len(set(cums)), f"a cumulative step journaled twice: {fills}"


async def test_muted_trade_stream_heals_by_cancel_422_and_lookup(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, faults=MUTE_TRADE, order_timeout=2) as d:
        await wait_until(
            lambda: _orders(d) and all(o["status"] == "filled" for o in _orders(d)),
            15,
            what="the first orders filled at the exchange",
        )
        # the trade stream stays muted for good: nothing but REST can resolve the orders
        await d.settled_in_bands(within=30)
        await books_resolved_and_journaled_once(d)
        m = await d.metrics()
        assert metric(m, "rebalanced_order_lookups_total", reason="cancel_failed") >= 1
        status, body = await d.get("/readyz")
        assert status == 200, body
        assert await d.stop() == 0, "the drain must finish: no order is stuck"


async def test_order_open_past_its_deadline_is_resolved_and_not_ready(tmp_path: Path) -> None:
    """The exchange never matches (stuck pending_new), the trade stream is muted and the
    first cancels answer 500: past timeout + grace the order is overdue (/readyz 503), looked
    up and canceled again. Then the exchange matches again: whichever comes first, the fill
    or the cancel, a lookup learns how the order ended."""
    faults = {
        **MUTE_TRADE,
        "exchange": {"stuck_pending_new": True},
        # 20 failed cancels keep the order overdue for ~3 s (6 gave ~0.3 s, which a loaded
        # machine's polls of /readyz could miss)
        "http": [{"action": "500", "path": "/v2/orders/*", "method": "DELETE", "count": 20}],
    }
    async with live_daemon(tmp_path, faults=faults, order_timeout=1, resolve_grace=1) as d:
        await wait_until(lambda: d.snapshot().overdue_count > 0, 15, what="an overdue order")

        async def overdue_not_ready() -> bool:
            status, body = await d.get("/readyz")
            return status == 503 and any("deadline" in r for r in body["reasons"])

        await wait_until(overdue_not_ready, 5, interval=0.02, what="/readyz to say overdue")
        await d.sim.control("POST", "/_sim/faults", {"exchange": {"stuck_pending_new": False}})
        await d.settled_in_bands(within=40)
        await books_resolved_and_journaled_once(d)
        for o in _orders(d):  # each end learned over REST: the stream said nothing
            states = [s for s, _ in d.journal.order_states(o["client_order_id"])]
            assert states[-1] == o["status"].upper(), (o, states)
        m = await d.metrics()
        assert metric(m, "rebalanced_order_lookups_total", reason="deadline") >= 1
        await wait_until(lambda: d.snapshot().overdue_count == 0, 5, what="no overdue order")
        status, body = await d.get("/readyz")
        assert status == 200, body
        assert await d.stop() == 0


async def test_books_that_disagree_with_the_broker_are_corrected_and_counted(
    tmp_path: Path,
) -> None:
    """A dividend the daemon hears nothing of: the next periodic reconciliation finds the cash
    off, corrects the books and counts it; an ordinary reconciliation counts nothing."""
    async with live_daemon(
        tmp_path, sim_config=sim_cfg(positions=BALANCED), reconcile_seconds=0.5
    ) as d:
        await wait_until(
            lambda: d.snapshot().at is not None, 5, what="the first snapshot"
        )
        await wait_until(
            lambda: d.metrics_sync("rebalanced_reconciliations_total", result="ok") >= 1,
            10,
            what="a periodic reconciliation",
        )
        m = await d.metrics()
        assert metric(m, "rebalanced_book_corrections_total") == 0
        await d.sim.control("POST", "/_sim/dividend", {"symbol": "VTI", "per_share": "1.5"})
        await wait_until(
            lambda: d.metrics_sync("rebalanced_book_corrections_total", kind="cash") >= 1,
            10,
            what="the correction counted",
        )
        await d.assert_matches_sim()
        m = await d.metrics()
        assert metric(m, "rebalanced_book_corrections_total", kind="position") == 0


async def test_restarts_journal_each_fill_once(tmp_path: Path) -> None:
    """Partial fills, then two restarts on the same state directory: each restart's trade
    stream catches up on the orders it already journaled (synthetic ``sync:`` fills), and
    none of them may add a row."""
    from adapters.sim.testing import running_sim

    state = tmp_path / "state"
    async with running_sim(sim_cfg(partial=0.6)) as sim:
        async with live_daemon(tmp_path, sim=sim, state_dir=state) as d:
            await d.settled_in_bands(within=30)
            assert await d.stop() == 0
        for _ in range(2):
            async with live_daemon(tmp_path, sim=sim, state_dir=state) as d:
                await wait_until(d.quiet, 10, what="the restarted daemon idle")
                await d.reconcile_now()
                await books_resolved_and_journaled_once(d)
                assert any(
                    len(d.journal.fills(o["client_order_id"])) > 1 for o in _orders(d)
                ), "partial fills: some order filled in more than one execution"
                assert await d.stop() == 0


async def test_trade_stream_dropped_and_refused_mid_rebalance_heals(tmp_path: Path) -> None:
    """The issue's second reproduction: the trade stream is dropped while the orders fill
    and reconnects are refused for 3 s (HTTP 429 at the upgrade). Whatever the catch-up
    after the reconnect delivers, lookups and reconciliation leave the books right."""
    async with live_daemon(tmp_path, faults=MUTE_TRADE, order_timeout=2) as d:
        await wait_until(
            lambda: _orders(d) and any(o["status"] == "filled" for o in _orders(d)),
            15,
            what="a fill at the exchange the daemon did not hear",
        )
        await d.sim.control(
            "POST",
            "/_sim/faults",
            {
                "stream": [
                    {"stream": "trade", "action": "refuse", "seconds": 3.0},
                    {"stream": "trade", "action": "drop"},
                    {"stream": "trade", "action": "unmute"},
                ]
            },
        )
        await d.settled_in_bands(within=40)
        await wait_until(lambda: d.snapshot().feeds_ok, 15, what="the trade stream back")
        await d.reconcile_now()
        await books_resolved_and_journaled_once(d)
        m = await d.metrics()
        assert metric(m, "rebalanced_stream_refusals_total", stream="trade_updates") >= 1
        assert await d.stop() == 0


async def test_readyz_says_books_unconfirmed_while_an_awaited_reconciliation_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a trade-stream gap the engine waits for an account snapshot before trading;
    while the broker cannot give one (account reads answer 504) the books may be wrong, and
    past the limit /readyz says so. A snapshot that lands makes it ready again."""
    from daemon.core import events as ev
    from daemon.runtime import health

    monkeypatch.setattr(health, "BOOKS_UNCONFIRMED_SECONDS", 1.0)
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED)) as d:
        fail = {"http": [{"action": "504", "path": "/v2/account", "count": 10_000}]}
        await d.sim.control("POST", "/_sim/faults", fail)
        d.service.emit(ev.FeedRestored(at=d.service.clock.now(), feed="trade_updates"))

        async def unconfirmed() -> bool:
            status, body = await d.get("/readyz")
            return status == 503 and any("books unconfirmed" in r for r in body["reasons"])

        await wait_until(unconfirmed, 10, interval=0.1, what="/readyz: books unconfirmed")
        await d.sim.control("POST", "/_sim/reset-faults", {})

        async def ready() -> bool:
            return (await d.get("/readyz"))[0] == 200

        await wait_until(ready, 40, interval=0.2, what="ready once the snapshot lands")
        await d.assert_matches_sim()
