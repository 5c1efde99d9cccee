"""Chaos: N cycles of a random paper-exchange fault plus ``kill -9`` of the daemon at a
random moment, then a restart on the same state directory, with partial fills on.

    python -m tests.runtime.chaos --cycles 100 [--seed 1]      (make chaos CYCLES=100)

Each cycle pushes one asset out of its band (a price move), arms one fault from the sim's
list, kills the daemon 0.2-4 s later, clears the fault and restarts it; a restart counts as
failed when the daemon is not ready within 30 s. At the end the daemon is restarted once
more, left to settle, stopped with SIGTERM, and the exchange and the journal are compared:

    cycles, duplicate POSTs, lost fills, double-journaled fills, book mismatches,
    failed restarts

The aim is 0 on every line but the first. Outside the default suite (the name does not
start with ``test_``); ``tests/runtime/test_chaos.py`` runs 10 cycles in it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.runtime.e2e_process import (
    DaemonProcess,
    Sim,
    read_journal,
    sim_and_daemon_processes,
    wait_for,
)

FAULTS: dict[str, dict[str, Any]] = {
    "post_429": {"http": [{"action": "429", "path": "/v2/orders", "method": "POST", "count": 2}]},
    "post_500_after_accept": {"http": [{"action": "500", "path": "/v2/orders", "method": "POST",
                                        "after_accept": True}]},
    "post_timeout_after_accept": {"http": [{"action": "timeout", "path": "/v2/orders",
                                            "method": "POST", "after_accept": True,
                                            "hang_seconds": 5}]},
    "lookup_500": {"http": [{"action": "500", "path": "/v2/orders:by_client_order_id",
                             "count": 3}]},
    "cancel_500": {"http": [{"action": "500", "path": "/v2/orders/*", "method": "DELETE",
                             "count": 3}]},
    "account_504": {"http": [{"action": "504", "path": "/v2/account", "count": 2}]},
    "mute_trade": {"stream": [{"stream": "trade", "action": "mute"}]},
    "mute_data": {"stream": [{"stream": "data", "action": "mute"}]},
    "drop_both": {"stream": [{"stream": "both", "action": "drop"}]},
    "refuse_trade": {"stream": [{"stream": "trade", "action": "refuse", "seconds": 3},
                                {"stream": "trade", "action": "drop"}]},
    "duplicate_fills": {"exchange": {"duplicate_fills": True}},
    "cancel_races_fill": {"exchange": {"cancel_races_fill": True}},
    "stuck_pending_new": {"exchange": {"stuck_pending_new": True}},
    "reject_next": {"exchange": {"reject_next": 1}},
}
CLEAR_EXCHANGE = {"duplicate_fills": False, "cancel_races_fill": False,
                  "stuck_pending_new": False, "reject_next": 0}


@dataclass
class Tally:
    cycles: int = 0
    duplicate_posts: int = 0
    lost_fills: int = 0
    double_journaled_fills: int = 0
    book_mismatches: int = 0
    failed_restarts: int = 0
    slow_restarts: int = 0  # ready, but after more than 30 s (the broker's rate limit)
    faults: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"cycles                  {self.cycles}",
            f"duplicate POSTs         {self.duplicate_posts}",
            f"lost fills              {self.lost_fills}",
            f"double-journaled fills  {self.double_journaled_fills}",
            f"book mismatches         {self.book_mismatches}",
            f"failed restarts         {self.failed_restarts}",
            f"(slow restarts > 30 s   {self.slow_restarts}: waiting out the broker's rate limit)",
        ]

    @property
    def clean(self) -> bool:
        return not (self.duplicate_posts or self.lost_fills or self.double_journaled_fills
                    or self.book_mismatches or self.failed_restarts)


def _books_agree(sim: Sim, daemon: DaemonProcess) -> bool:
    cash, positions = sim.holdings()
    my_cash, mine = daemon.holdings()
    return mine == positions and abs(my_cash - cash) < Decimal("0.01")


READY_WITHIN = 75.0
"""A restart may wait out the broker's request budget (the sim's 200 a minute, as Alpaca's):
restarts every few seconds spend it, and the daemon then waits for X-RateLimit-Reset (and
logs ``still waiting`` with ``ratelimit_wait_seconds``). Not ready after more than one
rate-limit window counts as a failed restart; over 30 s as a slow one."""


def _ready(daemon: DaemonProcess, tally: Tally, sim: Sim, within: float = READY_WITHIN) -> bool:
    seen = max((r["seq"] for r in sim.call("GET", "/_sim/requests")["requests"]), default=0)
    started = time.monotonic()
    try:
        daemon.wait_ready(within)
        if time.monotonic() - started > 30.0:
            tally.slow_restarts += 1
        return True
    except AssertionError as exc:
        tally.failed_restarts += 1
        log = [x for x in daemon.log().splitlines() if x.startswith("{")][-3:]
        asked = sim.call("GET", f"/_sim/requests?since={seen}")["requests"]
        outcomes: dict[str, int] = {}
        for r in asked:
            key = f"{r['method']} {r['path']} {r['status']}"
            outcomes[key] = outcomes.get(key, 0) + 1
        tally.notes.append(f"restart failed: {str(exc)[:200]}; requests {outcomes}; "
                           f"last log lines {[x[:200] for x in log]}")
        if daemon.alive():
            assert daemon.proc is not None
            daemon.proc.kill()
            daemon.proc.wait(10)
        return False


def _quiet(daemon: DaemonProcess) -> bool:
    e = daemon.engine()
    return e["open_order_count"] == 0 and e["queued"] == 0 and not e["run_active"]


def run(cycles: int, seed: int, work: Path, say: Callable[[str], None] = print) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    with sim_and_daemon_processes(work, start=False, order_timeout=2, resolve_grace=2,
                                  reconcile_seconds=2.0) as (sim, daemon):
        sim.call("POST", "/_sim/faults", {"exchange": {"partial_fill_probability": 0.5}})
        for n in range(1, cycles + 1):
            daemon.start()
            if not _ready(daemon, tally, sim):
                continue
            name = rng.choice(sorted(FAULTS))
            tally.faults[name] = tally.faults.get(name, 0) + 1
            symbol = rng.choice(["VTI", "BND"])
            factor = rng.choice([1.15, 1.2, 0.85, 0.8])
            sim.call("POST", "/_sim/price", {"symbol": symbol, "factor": factor})
            sim.call("POST", "/_sim/faults", FAULTS[name])
            time.sleep(rng.uniform(0.2, 4.0))
            daemon.kill9()
            sim.call("POST", "/_sim/reset-faults", None)
            sim.call("POST", "/_sim/faults", {"exchange": {**CLEAR_EXCHANGE,
                                                           "partial_fill_probability": 0.5}})
            tally.cycles = n
            say(f"cycle {n}: {name}, {symbol} x{factor}")
        # the last start: settle, compare, stop cleanly
        daemon.start()
        if _ready(daemon, tally, sim):
            try:
                wait_for(lambda: _quiet(daemon), 60, "the daemon to settle")
                wait_for(lambda: _books_agree(sim, daemon), 20, "books to agree")
            except AssertionError as exc:
                tally.book_mismatches += 1
                tally.notes.append(f"final: {exc}; daemon {daemon.holdings()} sim "
                                   f"{sim.holdings()}")
            code = daemon.terminate(30)
            if code != 0:
                tally.notes.append(f"SIGTERM exit code {code}")
        posts = sim.posts()
        tally.duplicate_posts = sum(n - 1 for n in posts.values() if n > 1)
        orders = [o for o in sim.orders() if o["client_order_id"].startswith("rb-")]

        def compare(journal: Any) -> tuple[int, int, list[str]]:
            lost = double = 0
            notes = []
            for o in orders:
                fills = journal.fills(o["client_order_id"])
                journaled = sum((f.qty for f in fills), Decimal(0))
                at_broker = Decimal(o["filled_qty"] or "0")
                cums = [f.cum_qty for f in fills]
                if journaled < at_broker:
                    lost += 1
                    notes.append(f"lost: {o['client_order_id']} {journaled} < {at_broker}")
                if journaled > at_broker or len(cums) != len(set(cums)):
                    double += 1
                    notes.append(f"double: {o['client_order_id']} {journaled} > {at_broker}")
            return lost, double, notes

        lost, double, notes = read_journal(daemon.state_dir, compare)
        tally.lost_fills, tally.double_journaled_fills = lost, double
        tally.notes += notes
    return tally


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.runtime.chaos",
                                description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cycles", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", help="work in this directory and keep it (default: a temp dir)")
    args = p.parse_args(argv)
    started = time.monotonic()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        tally = run(args.cycles, args.seed, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="rebalanced-chaos-") as d:
            tally = run(args.cycles, args.seed, Path(d))
    print()
    print("\n".join(tally.lines()))
    print(f"faults                  {dict(sorted(tally.faults.items()))}")
    print(f"took                    {time.monotonic() - started:.0f} s")
    for note in tally.notes[:30]:
        print(f"  {note}")
    return 0 if tally.clean else 1


if __name__ == "__main__":
    sys.exit(main())
