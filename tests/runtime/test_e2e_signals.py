"""Signals on the real process (``rebalanced run``): a bad SIGHUP reload is rejected and the
daemon keeps trading on the old config (a good one is taken); SIGTERM drains in-flight orders
to a known state and exits 0; a second SIGTERM exits 130 at once and the next start resolves
what was left."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.runtime.e2e_process import (
    BALANCED,
    assert_books_agree,
    read_journal,
    sim_and_daemon_processes,
    wait_for,
)

# the answer to the first POST hangs and the trade stream is silent: the order's outcome is
# unknown to the daemon until it asks
HANG = {
    "stream": [{"stream": "trade", "action": "mute"}],
    "http": [
        {
            "action": "timeout",
            "path": "/v2/orders",
            "method": "POST",
            "after_accept": True,
            "hang_seconds": 60,
        }
    ],
}


def _events(log: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in log.splitlines() if x.startswith("{")]


def _targets(daemon) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {s: r["target"] for s, r in daemon.engine()["rows"].items() if s != "CASH"}


def _near(weights: dict[str, float], targets: dict[str, float], tol: float = 0.02) -> bool:
    return all(abs(weights.get(s, 0.0) - t) <= tol for s, t in targets.items())


def test_bad_sighup_reload_keeps_trading_on_the_old_config(tmp_path: Path) -> None:
    with sim_and_daemon_processes(tmp_path, positions=BALANCED) as (sim, daemon):
        daemon.wait_ready()
        good = daemon.config.read_text()
        assert "VTI = 60" in good and "BND = 38" in good

        def rejected() -> int:
            return sum(
                e.get("event", "").startswith("config reload rejected")
                for e in _events(daemon.log())
            )

        daemon.config.write_text(good.replace("BND = 38", "BND = 30"))  # sums to 92 %: bad
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: rejected() == 1, 10, "the bad file to be rejected")
        # valid, but [daemon] changes need a restart: rejected too, with the reason
        daemon.config.write_text(
            good.replace("drain_deadline_seconds = 3", "drain_deadline_seconds = 4")
        )
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: rejected() == 2, 10, "the [daemon] change to be rejected")
        assert "need a restart" in daemon.log()
        assert daemon.alive()
        assert _targets(daemon) == {"VTI": 0.6, "BND": 0.38}
        # a breach is traded back to the OLD targets
        sim.call("POST", "/_sim/price", {"symbol": "VTI", "factor": 1.25})
        wait_for(lambda: sim.orders() and daemon.settled(), 25, "a rebalance on the old config")
        assert _near(sim.weights(), {"VTI": 0.60, "BND": 0.38}), sim.weights()
        assert_books_agree(sim, daemon)
        # the same path takes a good file: the first was refused for being bad
        daemon.config.write_text(
            good.replace("VTI = 60", "VTI = 50").replace("BND = 38", "BND = 48")
        )
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: _targets(daemon) == {"VTI": 0.5, "BND": 0.48}, 10, "the good reload")
        wait_for(
            lambda: _near(sim.weights(), {"VTI": 0.50, "BND": 0.48}) and daemon.settled(),
            25,
            "a rebalance to the new targets",
        )
        assert all(n == 1 for n in sim.posts().values())
        assert daemon.terminate() == 0


def test_sigterm_drains_an_in_flight_order_then_exits_0(tmp_path: Path) -> None:
    with sim_and_daemon_processes(tmp_path, faults=HANG) as (sim, daemon):
        orders = wait_for(sim.orders, 20, "an order whose answer hangs")
        daemon.signal(signal.SIGTERM)  # mid-POST: the answer never comes, a lookup will
        code = daemon.proc.wait(15)  # type: ignore[union-attr]
        assert code == 0, daemon.log()[-3000:]
        coid = orders[0]["client_order_id"]

        def check(j):  # type: ignore[no-untyped-def]
            assert j.unresolved_intents() == [], "the drain left an order without an outcome"
            return [s for s, _ in j.order_states(coid)]

        assert "FILLED" in read_journal(daemon.state_dir, check)
        assert [o["client_order_id"] for o in sim.orders()] == [coid], "nothing after the stop"


def test_second_sigterm_exits_130_and_the_next_start_resolves(tmp_path: Path) -> None:
    with sim_and_daemon_processes(tmp_path, faults=HANG) as (sim, daemon):
        orders = wait_for(sim.orders, 20, "an order whose answer hangs")
        daemon.signal(signal.SIGTERM)
        time.sleep(0.1)
        daemon.signal(signal.SIGTERM)
        assert daemon.proc.wait(10) == 130  # type: ignore[union-attr]
        coid = orders[0]["client_order_id"]
        unresolved = read_journal(
            daemon.state_dir, lambda j: [i.client_order_id for i in j.unresolved_intents()]
        )
        assert unresolved == [coid]
        sim.call("POST", "/_sim/faults", {"stream": [{"stream": "trade", "action": "unmute"}]})
        daemon.start()
        daemon.wait_ready()
        wait_for(daemon.settled, 25, "the restarted daemon to finish the rebalance")
        assert_books_agree(sim, daemon)
        assert all(n == 1 for n in sim.posts().values()), sim.posts()
        assert daemon.terminate() == 0
        assert read_journal(daemon.state_dir, lambda j: j.unresolved_intents()) == []
