"""The daemon against a broker whose clock is days away from this machine's, in either
direction: fills made while the trade stream is silent are still caught up (the catch-up
window is in the broker's time), the books end equal to the exchange's, and the measured
offset is published.

The sim runs at real speed from a session at least three days after (or before) this
machine's clock, wherever that clock is: nothing here depends on today's date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.sim.market_calendar import MarketCalendar
from tests.runtime.e2e_support import LiveDaemon, live_daemon, sim_cfg, wait_until


def session_near(now: datetime, days: int) -> datetime:
    """10:00 New York in a session at least ``|days|`` days after (days > 0) or before
    (days < 0) ``now``."""
    cal = MarketCalendar.nyse()
    t = now + timedelta(days=days)
    if days > 0:
        open_ = cal.next_open(t)
    else:
        day = t.date()
        while (s := cal.session(day)) is None or s.open > t:
            day -= timedelta(days=1)
        open_ = s.open
    return open_ + timedelta(minutes=30)


def _filled_at_exchange_but_open_here(d: LiveDaemon) -> bool:
    orders = list(d.sim.exchange.list_orders(status="all", limit=500, direction="asc"))
    return (
        bool(orders)
        and all(o["status"] == "filled" for o in orders)
        and d.service.engine is not None
        and d.snapshot().open_order_count > 0
    )


@pytest.mark.slow
@pytest.mark.parametrize("days", [3, -3], ids=["broker-3d-ahead", "broker-3d-behind"])
async def test_a_broker_clock_days_away_loses_no_fill(tmp_path: Path, days: int) -> None:
    start = session_near(datetime.now(UTC), days)
    mute = {"stream": [{"stream": "trade", "action": "mute"}]}
    async with live_daemon(tmp_path, sim_config=sim_cfg(start=start.isoformat()), faults=mute) as d:
        await wait_until(
            lambda: _filled_at_exchange_but_open_here(d),
            15,
            what="orders filled at the exchange while the trade stream is silent",
        )
        await d.sim.control(
            "POST",
            "/_sim/faults",
            {
                "stream": [
                    {"stream": "trade", "action": "drop"},
                    {"stream": "trade", "action": "unmute"},
                ]
            },
        )
        await d.settled_in_bands(within=20)
        await d.assert_matches_sim()
        # healed by the stream's catch-up (orders changed since the broker's last connect)
        assert getattr(d.service.venue.trade_updates, "catchup_orders", 0) >= 1
        offset = d.service.clock.offset
        assert (offset > 2 * 86400) if days > 0 else (offset < -2 * 86400), offset
        metrics = await d.metrics()
        published = metrics[("rebalanced_broker_clock_offset_seconds", frozenset())]
        assert published == pytest.approx(offset, abs=1.0)
