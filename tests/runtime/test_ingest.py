"""Conflation under backlog (``daemon/runtime/ingest.merge_backlog``): the batches queued
right behind the one being consumed merge into one of each symbol's newest quote; anything
else ends the merge and keeps its place; what was left out is counted. Then the same
through the running daemon: frames emitted faster than the consumer takes them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.core import events as ev
from daemon.runtime.ingest import MAX_FRAMES, merge_backlog
from tests.runtime.e2e_support import live_daemon, metric, wait_until

T = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def batch(k: int, *quotes: tuple[str, float]) -> ev.QuoteBatch:
    at = T + timedelta(milliseconds=k)
    return ev.QuoteBatch(at, tuple(ev.QuoteUpdated(at, s, p, p + 0.01) for s, p in quotes))


def queue_of(*items: Any) -> asyncio.Queue[Any]:
    q: asyncio.Queue[Any] = asyncio.Queue()
    for i in items:
        q.put_nowait(i)
    return q


async def test_queued_batches_merge_to_the_newest_quote_per_symbol() -> None:
    first = batch(0, ("VTI", 1.0), ("BND", 2.0))
    q = queue_of(batch(1, ("VTI", 3.0), ("VTI", 4.0)), batch(2, ("VXUS", 5.0)))
    merged, conflated, after = merge_backlog(first, q)
    assert {x.symbol: x.bid for x in merged.quotes} == {"VTI": 4.0, "BND": 2.0, "VXUS": 5.0}
    assert conflated == 2  # VTI 1.0 and VTI 3.0
    assert merged.at == T + timedelta(milliseconds=2)
    assert after is None and q.empty()


async def test_a_status_or_a_fill_ends_the_merge_and_keeps_its_place() -> None:
    halt = ev.TradingStatusChanged(T, "VTI", True)
    later = batch(3, ("VTI", 9.0))
    q = queue_of(batch(1, ("VTI", 3.0)), halt, later)
    merged, conflated, after = merge_backlog(batch(0, ("VTI", 1.0)), q)
    assert [x.bid for x in merged.quotes] == [3.0] and conflated == 1
    assert after is halt  # consumed next, before the quote that came after it
    assert q.get_nowait() is later


async def test_a_lone_batch_is_left_as_it_came() -> None:
    first = batch(0, ("VTI", 1.0), ("VTI", 2.0))  # two of one symbol in one frame: kept
    merged, conflated, after = merge_backlog(first, queue_of())
    assert merged is first and conflated == 0 and after is None


async def test_a_merge_takes_at_most_max_frames() -> None:
    q = queue_of(*(batch(k, ("VTI", float(k))) for k in range(1, MAX_FRAMES + 10)))
    merged, conflated, _ = merge_backlog(batch(0, ("VTI", 0.5)), q)
    assert conflated == MAX_FRAMES - 1 and q.qsize() == 10
    assert merged.quotes[0].bid == float(MAX_FRAMES - 1)


async def test_the_daemon_conflates_a_backlog_and_counts_it(tmp_path: Path) -> None:
    async with live_daemon(tmp_path) as d:
        svc = d.service
        assert svc.engine.quote("ZZZ") is None  # not held, not streamed: only ours
        mid = 50.0
        seen = svc.consumer.quotes_seen
        n = 50
        for k in range(n):  # faster than the consumer: no await between the frames
            at = svc.clock.now()
            p = mid * (1 + 0.0001 * k)
            svc.emit(ev.QuoteBatch(at, (ev.QuoteUpdated(at, "ZZZ", p - 0.01, p + 0.01),)))
        await wait_until(lambda: svc.consumer.quotes_seen >= seen + n, 5, what="the frames consumed")
        newest = svc.engine.quote("ZZZ")
        assert newest is not None and abs(newest.bid - (mid * (1 + 0.0001 * (n - 1)) - 0.01)) < 1e-9
        svc.refresh_gauges()
        m = await d.metrics()
        assert metric(m, "rebalanced_quotes_conflated_total") >= n - MAX_FRAMES
        assert metric(m, "rebalanced_quotes_conflated_total") == svc.consumer.quotes_conflated > 0
        assert await d.stop() == 0


async def test_the_consumer_stops_when_done_though_the_queue_never_empties() -> None:
    """``run(done)`` checks ``done()`` at least every 0.25 s: also while a backlog keeps the
    queue from ever emptying (SIP scale), or the drain's deadline is never honoured and a
    stop waits for the feed to pause."""
    import time as _time

    from daemon.runtime.consumer import Consumer, EventQueue
    from daemon.runtime.order_tasks import OrderTasks

    class Engine:
        def handle(self, item: Any) -> list[Any]:
            end = _time.perf_counter() + 50e-6  # an engine call's work
            while _time.perf_counter() < end:
                pass
            return []

    class Journal:
        def record_event(self, item: Any) -> None:
            pass

    events = EventQueue(100_000, OrderTasks())
    c = Consumer(events, Journal(), None, None, None, None)  # type: ignore[arg-type]
    c.engine = Engine()  # type: ignore[assignment]
    stop = [False]

    async def feed() -> None:
        k = 0
        while True:
            for _ in range(5000):
                k += 1
                events.emit(batch(k, ("VTI", 1.0 + k * 1e-6)))
            await asyncio.sleep(0)

    producer = asyncio.create_task(feed())
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, stop.__setitem__, 0, True)
    try:
        started = loop.time()
        await asyncio.wait_for(c.run(lambda: stop[0]), timeout=3.0)
        assert loop.time() - started < 1.0
        assert c.quotes_seen > 0
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
