"""Conflation under backlog (``daemon/runtime/ingest.QuoteBacklog``): frames emitted while
the last item queued is a backlog merge into it, each symbol's newest quote; anything else
closes it and keeps its place; what was left out is counted, and a big backlog reaches the
engine ``MAX_QUOTES`` at a time. Then the same through the running daemon: frames emitted
faster than the consumer takes them."""

from __future__ import annotations

import asyncio
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.core import events as ev
from daemon.runtime.consumer import EventQueue
from daemon.runtime.ingest import MAX_QUOTES, QuoteBacklog
from daemon.runtime.order_tasks import OrderTasks
from tests.runtime.e2e_support import live_daemon, metric, wait_until

T = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def batch(k: int, *quotes: tuple[str, float]) -> ev.QuoteBatch:
    at = T + timedelta(milliseconds=k)
    return ev.QuoteBatch(at, tuple(ev.QuoteUpdated(at, s, p, p + 0.01) for s, p in quotes))


def events_queue() -> EventQueue:
    return EventQueue(100, OrderTasks())


def taken(q: EventQueue) -> list[Any]:
    """Everything queued, as the consumer takes it (a backlog as its engine calls)."""
    out: list[Any] = []
    while not q.queue.empty():
        item = q.queue.get_nowait()
        out.extend(q.take(item) if isinstance(item, QuoteBacklog) else [item])
    return out


async def test_batches_emitted_behind_the_feed_merge_to_the_newest_quote_per_symbol() -> None:
    q = events_queue()
    for b in (batch(0, ("VTI", 1.0), ("BND", 2.0)), batch(1, ("VTI", 3.0), ("VTI", 4.0)),
              batch(2, ("VXUS", 5.0))):
        q.emit(b)
    assert q.queue.qsize() == 1  # one item, however many frames
    (merged,) = taken(q)
    assert {x.symbol: x.bid for x in merged.quotes} == {"VTI": 4.0, "BND": 2.0, "VXUS": 5.0}
    assert merged.conflated == 2  # VTI 1.0 and VTI 3.0
    assert merged.at == T + timedelta(milliseconds=2)


async def test_a_status_or_a_fill_closes_the_tail_and_keeps_its_place() -> None:
    q = events_queue()
    halt = ev.TradingStatusChanged(T, "VTI", True)
    q.emit(batch(0, ("VTI", 1.0)))
    q.emit(batch(1, ("VTI", 3.0)))
    q.emit(halt)
    q.emit(batch(3, ("VTI", 9.0)))  # after the halt: not merged into the quotes before it
    first, status, later = taken(q)
    assert [x.bid for x in first.quotes] == [3.0] and first.conflated == 1
    assert status is halt
    assert [x.bid for x in later.quotes] == [9.0] and later.conflated == 0


async def test_a_taken_backlog_closes_and_later_frames_queue_behind_it() -> None:
    q = events_queue()
    q.emit(batch(0, ("VTI", 1.0)))
    calls = q.take(q.queue.get_nowait())  # as the consumer does, in the step it gets it
    q.emit(batch(1, ("VTI", 2.0)))  # the consumer took the tail: this one queues anew
    assert [b.quotes[0].bid for b in calls] == [1.0]
    assert [b.quotes[0].bid for b in taken(q)] == [2.0]


async def test_a_lone_batch_is_handed_on_as_it_came() -> None:
    q = events_queue()
    first = batch(0, ("VTI", 1.0), ("VTI", 2.0))  # two of one symbol in one frame: kept
    q.emit(first)
    assert taken(q) == [first]


async def test_a_big_backlog_goes_to_the_engine_max_quotes_at_a_time() -> None:
    q = events_queue()
    n = MAX_QUOTES * 2 + 7
    q.emit(batch(0, *((f"S{k}", 1.0) for k in range(n))))
    q.emit(batch(1, ("S0", 2.0)))
    calls = taken(q)
    assert [len(c.quotes) for c in calls] == [MAX_QUOTES, MAX_QUOTES, 7]
    assert [c.conflated for c in calls] == [1, 0, 0]  # counted once: S0 1.0
    assert {c.at for c in calls} == {T + timedelta(milliseconds=1)}
    assert calls[0].quotes[0].bid == 2.0


async def test_memory_stays_one_quote_per_symbol_however_long_the_backlog() -> None:
    q = events_queue()
    for k in range(10_000):
        q.emit(batch(k, (f"S{k % 50}", float(k))))
    assert q.queue.qsize() == 1 and len(q.tail or ()) == 50
    (merged,) = taken(q)
    assert len(merged.quotes) == 50 and merged.conflated == 10_000 - 50
    assert q.quotes_dropped == 0


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
        assert metric(m, "rebalanced_quotes_conflated_total") >= 1
        assert metric(m, "rebalanced_quotes_conflated_total") == svc.consumer.quotes_conflated > 0
        assert await d.stop() == 0


async def test_the_consumer_stops_when_done_though_the_queue_never_empties() -> None:
    """``run(done)`` checks ``done()`` at least every 0.25 s: also while a backlog keeps the
    queue from ever emptying (SIP scale), or the drain's deadline is never honoured and a
    stop waits for the feed to pause."""
    import time as _time

    from daemon.runtime.consumer import Consumer

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
    placed = types.SimpleNamespace(orders_spawned=0)  # a dispatcher that never places
    c = Consumer(events, Journal(), placed, None, None, None)  # type: ignore[arg-type]
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
