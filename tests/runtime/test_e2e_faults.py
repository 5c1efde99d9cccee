"""End to end under faults injected at the paper exchange: rejections, 429s, a 5xx after the
order was accepted, both websockets dropped mid-rebalance, malformed stream messages. Each
test ends by checking the books: the engine, the exchange and the journal agree, and no
client_order_id was ever POSTed twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.core import events as ev
from tests.runtime.e2e_support import (
    BALANCED,
    LiveDaemon,
    live_daemon,
    metric,
    sim_cfg,
    wait_until,
)


def _orders(d: LiveDaemon) -> list[dict]:  # type: ignore[type-arg]
    return list(d.sim.exchange.list_orders(status="all", limit=500, direction="asc"))


async def _no_duplicates_and_all_known(d: LiveDaemon) -> None:
    posts = await d.posts()
    assert all(n == 1 for n in posts.values()), f"a client_order_id was POSTed twice: {posts}"
    accepted = d.sim.state.request_log.accepted_client_order_ids()
    assert len(accepted) == len(set(accepted)), accepted
    assert d.snapshot().unknown_count == 0
    await d.journal.flush()
    assert d.journal.unresolved_intents() == [], "an intent without a known outcome"
    for o in _orders(d):
        assert o["status"] in ("filled", "rejected", "canceled", "expired"), o
        assert d.journal.intent(o["client_order_id"]) is not None, o


async def test_rejected_order_is_reported_and_not_resent(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(faults={"reject_next": 1})) as d:
        await wait_until(
            lambda: any(o["status"] == "rejected" for o in _orders(d)),
            10,
            what="the exchange to reject the first order",
        )
        rejected = next(o for o in _orders(d) if o["status"] == "rejected")
        coid = rejected["client_order_id"]
        await wait_until(
            lambda: d.snapshot().order_counts.get("rejected", 0) == 1,
            5,
            what="the engine to learn of the rejection",
        )
        await d.settled_in_bands(within=20)  # a later decision trades again, with a new id
        await d.assert_matches_sim()
        await _no_duplicates_and_all_known(d)
        assert (await d.posts())[coid] == 1, "the rejected order was sent again"
        intent = d.journal.intent(coid)
        assert intent is not None
        later = [
            o
            for o in _orders(d)
            if o["symbol"] == rejected["symbol"] and o["client_order_id"] != coid
        ]
        for o in later:  # never the same decision blindly resent
            other = d.journal.intent(o["client_order_id"])
            assert other is not None and other.decision_id != intent.decision_id, (intent, other)
        states = [s for s, _ in d.journal.order_states(coid)]
        assert states and set(states) == {"REJECTED"}, states
        m = await d.metrics()
        assert metric(m, "rebalanced_orders_total", outcome="rejected") == 1


async def test_429s_slow_the_daemon_without_losing_an_order(tmp_path: Path) -> None:
    faults = [{"action": "429", "path": "/v2/orders", "method": "POST", "count": 2}]
    async with live_daemon(tmp_path, faults={"http": faults}) as d:
        await d.settled_in_bands(within=25)
        await d.assert_matches_sim()
        await _no_duplicates_and_all_known(d)
        log = await d.sim.requests_log()
        limited = [r for r in log if r["outcome"] == "fault-429"]
        assert len(limited) == 2, log
        m = await d.metrics()
        assert metric(m, "rebalanced_ratelimit_throttled_total") >= 2
        lookups = [x for x in log if x["method"] == "GET" and "by_client_order_id" in x["path"]]
        assert len(lookups) >= 2, "each throttled order is looked up, not resent"
        # a throttled order was looked up (found nothing) and never sent again
        at_sim = {o["client_order_id"] for o in _orders(d)}
        for r in limited:
            coid = r["client_order_id"]
            assert coid not in at_sim
            assert [s for s, _ in d.journal.order_states(coid)][-1] == "NOT_FOUND"


async def test_5xx_after_accept_ends_in_exactly_one_order(tmp_path: Path) -> None:
    fault = {"action": "500", "path": "/v2/orders", "method": "POST", "after_accept": True}
    async with live_daemon(tmp_path, faults={"http": [fault]}) as d:
        await d.settled_in_bands(within=20)
        log = await d.sim.requests_log()
        faulted = [r for r in log if r["outcome"] == "fault-500-after-accept"]
        assert len(faulted) == 1, log
        coid = faulted[0]["client_order_id"]
        at_sim = [o for o in _orders(d) if o["client_order_id"] == coid]
        assert len(at_sim) == 1 and at_sim[0]["status"] == "filled", at_sim
        assert (await d.posts())[coid] == 1
        await d.journal.flush()  # reads see committed writes only
        states = [s for s, _ in d.journal.order_states(coid)]
        assert states[0] == "UNKNOWN" and states[-1] == "FILLED", states
        await d.assert_matches_sim()
        await _no_duplicates_and_all_known(d)
        assert sum(f.qty for f in d.journal.fills(coid)) == Decimal(at_sim[0]["filled_qty"])


async def test_both_streams_dropped_mid_rebalance_recover_with_gap_fill(tmp_path: Path) -> None:
    # the trade stream goes silent: the orders fill at the exchange, the daemon hears nothing
    mute = {"stream": [{"stream": "trade", "action": "mute"}]}
    async with live_daemon(tmp_path, faults=mute) as d:
        await wait_until(
            lambda: (
                _orders(d)
                and all(o["status"] == "filled" for o in _orders(d))
                and d.service.engine is not None
                and d.snapshot().open_order_count > 0
            ),
            15,
            what="orders filled at the exchange but open at the daemon",
        )
        mid = d.snapshot()
        assert not d.in_bands(), "the engine cannot know of fills it never heard"
        out = await d.sim.control(
            "POST",
            "/_sim/faults",
            {
                "stream": [
                    {"stream": "both", "action": "refuse", "seconds": 1.0},
                    {"stream": "both", "action": "drop"},
                    {"stream": "trade", "action": "unmute"},
                ]
            },
        )
        assert out["dropped_connections"] >= 2, out

        async def not_ready() -> bool:
            return (await d.get("/readyz"))[0] == 503

        await wait_until(not_ready, 3, interval=0.02, what="/readyz to report the lost streams")
        await d.settled_in_bands(within=20)
        await d.assert_matches_sim()
        await _no_duplicates_and_all_known(d)
        assert d.snapshot().feeds_ok
        await d.journal.flush()
        kinds = [
            (type(e).__name__, getattr(e, "feed", ""))
            for _, e in d.journal.events()
            if isinstance(e, (ev.FeedLost, ev.FeedRestored))
        ]
        for feed in ("market_data", "trade_updates"):
            assert ("FeedLost", feed) in kinds, kinds
            assert kinds.index(("FeedLost", feed)) < len(kinds) - 1 - kinds[::-1].index(
                ("FeedRestored", feed)
            ), kinds
        for o in mid.open_orders:  # every fill the daemon missed is journaled now
            assert d.journal.fills(o.client_order_id), o
        m = await d.metrics()
        assert metric(m, "rebalanced_stream_reconnects_total", stream="market_data") >= 1
        assert metric(m, "rebalanced_stream_reconnects_total", stream="trade_updates") >= 1
        assert metric(m, "rebalanced_stream_connected") == 2
        status, body = await d.get("/readyz")
        assert status == 200, body


async def test_malformed_stream_messages_are_counted_and_dropped(tmp_path: Path) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED)) as d:
        before = await d.metrics()
        assert metric(before, "rebalanced_stream_malformed_messages_total") == 0
        # prices as strings would make VTI look nearly worthless (a huge "buy VTI") if parsed
        bad = [
            {"T": "q", "S": "VTI", "bp": "0.01", "ap": "0.02"},
            {"T": "q", "S": "BND", "bp": 72.0, "ap": {"x": 1}},
            {"T": "q", "S": "VTI", "bp": [299.9], "ap": 300.1},
        ]
        good = {"T": "q", "S": "BND", "bp": 71.99, "ap": 72.01}
        await d.sim.control("POST", "/_sim/publish", {"messages": [*bad, good]})
        await wait_until(
            lambda: d.service.venue.market_data.malformed >= 3, 5, what="3 malformed counted"
        )
        await asyncio.sleep(1.5)  # three band checks on whatever was parsed
        assert d.service.venue.market_data.malformed == 3
        assert await d.posts() == {}, "a malformed quote reached the decision"
        assert d.in_bands()
        m = await d.metrics()
        assert metric(m, "rebalanced_stream_malformed_messages_total", stream="market_data") == 3
        status, body = await d.get("/readyz")
        assert status == 200, body


async def test_failed_cancel_is_settled_by_reconciliation(tmp_path: Path) -> None:
    """An unfilled order times out; every DELETE answers 500 (its retries too). The order
    must still end in a known state (canceled) and the daemon trade again, not wait for it
    forever."""
    faults = {
        "exchange": {"stuck_pending_new": True},
        "http": [{"action": "500", "path": "/v2/orders/*", "method": "DELETE", "count": 3}],
    }

    def deletes() -> list[Any]:
        return [
            r for r in d.sim.state.request_log.entries(orders_only=True) if r.method == "DELETE"
        ]

    async with live_daemon(tmp_path, faults=faults, order_timeout=1) as d:
        await wait_until(lambda: _orders(d), 10, what="the first order")
        first = _orders(d)[0]["client_order_id"]
        await wait_until(lambda: len(deletes()) >= 3, 10, what="three failed cancels")
        assert all(r.status == 500 for r in deletes()[:3])
        await wait_until(
            lambda: d.sim.exchange.get_order_by_client_id(first)["status"] == "canceled",
            10,
            what="the timed-out order canceled after all",
        )
        await wait_until(
            lambda: d.snapshot().order_counts.get("canceled", 0) >= 1,
            5,
            what="the engine to know it is canceled",
        )
        await d.sim.control("POST", "/_sim/faults", {"exchange": {"stuck_pending_new": False}})
        await d.settled_in_bands(within=20)
        await d.assert_matches_sim()
        await _no_duplicates_and_all_known(d)


async def test_duplicate_fill_messages_count_once(tmp_path: Path) -> None:
    """Every fill arrives twice on the trade stream: positions move once."""
    async with live_daemon(tmp_path, faults={"exchange": {"duplicate_fills": True}}) as d:
        await d.settled_in_bands()
        await d.reconcile_now()
        await d.assert_matches_sim()  # a double-counted fill would show here
        await _no_duplicates_and_all_known(d)
        # the trade-stream adapter drops each repeat by execution_id (and counts it)
        assert d.service.venue.trade_updates.duplicates >= len(await d.posts())
        for coid in await d.posts():
            fills = d.journal.fills(coid)
            assert len({f.execution_id for f in fills}) == len(fills), fills
