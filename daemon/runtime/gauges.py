"""The gauges refreshed on every heartbeat (about once a second): the queue, quote counters
(added as deltas), the streams' ``stats()``, journal errors, the rate limiter, and what the
engine's snapshot says (weights against bands: its ``weight_columns``, drift, value, cash, orders, market, state).
``heartbeat`` is the loop that drives it and measures the event loop's lag."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from adapters.ports import FeedStats
from daemon.core.engine.view import EngineSnapshot
from daemon.core.triggers.drift_queries import WeightColumns
from daemon.runtime.metrics import LimiterStats, Metrics


class Gauges:
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics
        self._quotes_reported = 0  # what earlier refreshes already added to the counters
        self._dropped_reported = 0
        self._conflated_reported = 0

    def refresh(self, *, queue_depth: int, quotes_seen: int, quotes_dropped: int,
                quotes_conflated: int,
                streams: Mapping[str, FeedStats], journal_write_errors: int,
                limiter: LimiterStats | None, snap: EngineSnapshot | None,
                weights: WeightColumns | None = None) -> None:
        m = self._m
        m.queue_depth.set(queue_depth)
        if quotes_seen > self._quotes_reported:
            m.quotes.inc(quotes_seen - self._quotes_reported)
            self._quotes_reported = quotes_seen
        if quotes_dropped > self._dropped_reported:
            m.quotes_dropped.labels("queue_full").inc(quotes_dropped - self._dropped_reported)
            self._dropped_reported = quotes_dropped
        if quotes_conflated > self._conflated_reported:
            m.quotes_conflated.inc(quotes_conflated - self._conflated_reported)
            self._conflated_reported = quotes_conflated
        m.observe_streams(streams)
        m.observe_journal(journal_write_errors)
        if limiter is not None:
            m.observe_limiter(limiter)
        if snap is None:
            return
        if weights is not None:
            m.observe_weights(weights)
        m.out_of_band.set(len(snap.out_of_band))
        m.drift.set(snap.portfolio_drift)
        m.value.set(snap.portfolio_value)
        m.cash.set(float(snap.cash))
        m.open_orders.set(snap.open_order_count)
        m.unknown_orders.set(snap.unknown_count)
        m.overdue_orders.set(snap.overdue_count)
        m.market_open.set(1 if snap.market_open else 0)
        m.set_trading_state(snap.trading_state.value)
        m.set_lot_ledger_state(snap.lots_state)


async def heartbeat(period: float, metrics: Metrics, beat: Callable[[], None]) -> None:
    """Every ``period`` seconds: publish the loop's lag (how late the wake-up came), then
    ``beat()``. Runs until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(period)
        metrics.loop_lag.set(max(0.0, loop.time() - t0 - period))
        beat()


__all__ = ["Gauges", "heartbeat"]
