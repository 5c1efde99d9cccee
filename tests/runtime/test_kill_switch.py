"""The kill switch end to end: ``rebalanced halt`` / ``reduce`` / ``resume`` talk to the
running daemon's control API (bearer token from the state directory); halting cancels our
open orders at the exchange and survives a restart; with the daemon stopped, ``halt`` is
written to the journal and the next start honours it. Also ``--dry-run``: decide and
journal, send nothing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from adapters.sim.testing import running_sim
from daemon.core.model import TradingState
from tests.runtime.e2e_support import live_daemon, metric, sim_cfg, wait_until

BIN = Path(sys.executable).parent / "rebalanced"


async def control(action: str, state_dir: Path, url: str | None = None) -> tuple[int, str]:
    args = [str(BIN), action, "--state-dir", str(state_dir), "--reason", "test"]
    if url is not None:
        args += ["--url", url]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_halt_cancels_open_orders_then_resume_trades_again(tmp_path: Path) -> None:
    # orders stick in pending_new at the exchange, so they are open when we halt
    async with live_daemon(tmp_path, faults={"exchange": {"stuck_pending_new": True}}) as d:
        await wait_until(lambda: d.snapshot().open_order_count > 0, 10, what="open orders")
        open_ids = {o.client_order_id for o in d.snapshot().open_orders}

        code, out = await control("halt", d.state_dir, d.url)
        assert code == 0, out
        await wait_until(lambda: d.snapshot().trading_state is TradingState.HALTED, 5,
                         what="HALTED")
        await wait_until(lambda: d.snapshot().open_order_count == 0, 10,
                         what="open orders canceled")
        statuses = {o["client_order_id"]: o["status"]
                    for o in d.sim.exchange.list_orders(status="all", limit=500)}
        assert all(statuses[c] == "canceled" for c in open_ids), statuses
        assert d.journal.trading_state()[0] is TradingState.HALTED  # type: ignore[index]
        m = await d.metrics()
        assert metric(m, "rebalanced_trading_state", state="halted") == 1
        posts_halted = sum((await d.posts()).values())

        await d.sim.control("POST", "/_sim/reset-faults", {})
        await asyncio.sleep(1.5)  # several check intervals: a halted daemon places nothing
        assert sum((await d.posts()).values()) == posts_halted

        code, out = await control("reduce", d.state_dir, d.url)
        assert code == 0, out
        await wait_until(lambda: d.snapshot().trading_state is TradingState.REDUCING, 5,
                         what="REDUCING")
        code, out = await control("resume", d.state_dir, d.url)
        assert code == 0, out
        await wait_until(lambda: d.snapshot().trading_state is TradingState.ACTIVE, 5,
                         what="ACTIVE")
        await d.settled_in_bands(20)  # trading again, back inside the bands
        assert sum((await d.posts()).values()) > posts_halted


async def test_wrong_token_is_refused(tmp_path: Path) -> None:
    async with live_daemon(tmp_path) as d:
        (d.state_dir / "control.token").write_text("not-the-token")
        code, out = await control("halt", d.state_dir, d.url)
        assert code == 77 and "refused the token" in out
        assert d.snapshot().trading_state is TradingState.ACTIVE


async def test_halt_while_stopped_is_honoured_at_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with running_sim(sim_cfg()) as sim:
        async with live_daemon(tmp_path, sim=sim, state_dir=state) as d:
            await d.settled_in_bands()
            url = d.url
        posts_before = sum((await d.posts()).values())
        # the daemon is stopped: the control API does not answer, the journal takes it
        code, out = await control("halt", state, url)
        assert code == 0 and "next start" in out, out
        sim.exchange.jump_price("VTI", 1.3)  # a breach the daemon would normally trade
        async with live_daemon(tmp_path, sim=sim, state_dir=state) as d2:
            assert d2.snapshot().trading_state is TradingState.HALTED
            await asyncio.sleep(1.5)
            assert d2.snapshot().out_of_band  # still out of band: nothing traded
            assert sum((await d2.posts()).values()) == posts_before


async def test_dry_run_decides_and_journals_but_sends_nothing(tmp_path: Path) -> None:
    # extra lines land in the [daemon] table of the generated config
    async with live_daemon(tmp_path, extra="dry_run = true") as d:
        await wait_until(lambda: d.snapshot().decisions > 0, 10, what="a decision")
        await asyncio.sleep(0.5)
        assert sum((await d.posts()).values()) == 0  # not one POST /v2/orders
        await d.journal.flush()
        decisions = d.journal.recent("decisions", 10)
        assert decisions, "the decision is journaled"
        m = await d.metrics()
        assert metric(m, "rebalanced_orders_total", outcome="dry_run") > 0
        assert metric(m, "rebalanced_orders_total", outcome="accepted") == 0
        assert d.snapshot().out_of_band  # nothing traded
