"""kill -9 between the POST and its acknowledgement, then a restart: the journaled intent is
resolved by asking the exchange, never by sending again; the position reconciles."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.runtime.e2e_process import (
    assert_books_agree,
    read_journal,
    sim_and_daemon_processes,
    wait_for,
)

# The exchange takes the order, then sits on the answer for a minute; the trade stream is
# silent, so the daemon learns nothing of the order before it dies.
HANG = {
    "http": [
        {
            "action": "timeout",
            "path": "/v2/orders",
            "method": "POST",
            "after_accept": True,
            "hang_seconds": 60,
        }
    ],
    "stream": [{"stream": "trade", "action": "mute"}],
}


def test_kill9_between_post_and_ack_then_restart_sends_no_duplicate(tmp_path: Path) -> None:
    with sim_and_daemon_processes(tmp_path, faults=HANG) as (sim, daemon):
        orders = wait_for(sim.orders, 20, "the first order at the exchange")
        code = daemon.kill9()  # its POST is still waiting for the answer
        assert code == -9
        assert len(orders) == 1, orders
        coid = orders[0]["client_order_id"]
        unresolved = read_journal(
            daemon.state_dir, lambda j: [i.client_order_id for i in j.unresolved_intents()]
        )
        assert unresolved == [coid], "the intent is journaled before the POST, with no outcome"
        seen = max((r["seq"] for r in sim.requests()), default=0)
        sim.call("POST", "/_sim/faults", {"stream": [{"stream": "trade", "action": "unmute"}]})

        daemon.start()
        daemon.wait_ready()
        wait_for(daemon.settled, 25, "the restarted daemon to finish the rebalance")
        assert_books_agree(sim, daemon)
        after = sim.posts(since=seen)
        assert coid not in after, f"{coid} was sent again after the restart: {after}"
        assert all(n == 1 for n in sim.posts().values()), sim.posts()
        ids = [o["client_order_id"] for o in sim.orders()]
        assert len(ids) == len(set(ids)) and ids[0] == coid, ids
        assert after, "the restarted daemon went on to rebalance (buy BND)"
        lines = [json.loads(x) for x in daemon.log().splitlines() if x.startswith("{")]
        assert any(
            x.get("event") == "resolved journaled intent" and x.get("client_order_id") == coid
            for x in lines
        ), daemon.log()[-3000:]
        assert daemon.terminate() == 0

        def check(j):  # type: ignore[no-untyped-def]
            assert j.unresolved_intents() == []
            states = [s for s, _ in j.order_states(coid)]
            # the lookup's OPEN then FILLED; the trade stream's catch-up replays the order's
            # "new" afterwards, which must not reopen it
            assert states == ["OPEN", "FILLED"], states
            return sum(f.qty for f in j.fills(coid))

        filled = read_journal(daemon.state_dir, check)
        at_sim = next(o for o in sim.orders() if o["client_order_id"] == coid)
        assert at_sim["status"] == "filled" and filled == Decimal(at_sim["filled_qty"]), at_sim


def test_restart_adopts_an_order_left_open_and_cancels_it_after_the_timeout(
    tmp_path: Path,
) -> None:
    stuck = {"exchange": {"stuck_pending_new": True}}
    with sim_and_daemon_processes(tmp_path, faults=stuck) as (sim, daemon):
        daemon.wait_ready()
        wait_for(
            lambda: (
                len(sim.orders()) == 1
                and daemon.engine()["open_order_count"] == 1
                and daemon.engine()["awaiting_answer"] == 0
            ),
            20,
            "an acknowledged order",
        )
        orders = sim.orders()
        assert len(orders) == 1 and orders[0]["status"] == "pending_new", orders
        coid = orders[0]["client_order_id"]
        assert daemon.kill9() == -9
        # the next start is configured to give up on unfilled orders after 1 s
        text = daemon.config.read_text()
        daemon.config.write_text(
            text.replace("order_timeout_seconds = 10", "order_timeout_seconds = 1")
        )
        daemon.start()
        daemon.wait_ready()
        wait_for(
            lambda: sim.call("GET", "/_sim/account")["orders"][0]["status"] == "canceled",
            15,
            "the adopted order canceled after its timeout",
        )
        sim.call("POST", "/_sim/faults", {"exchange": {"stuck_pending_new": False}})
        wait_for(daemon.settled, 25, "a fresh decision to rebalance")
        assert_books_agree(sim, daemon)
        assert all(n == 1 for n in sim.posts().values()), sim.posts()
        assert sim.orders()[0]["client_order_id"] == coid
        assert all(o["status"] == "filled" for o in sim.orders()[1:]), sim.orders()
        assert daemon.terminate() == 0
