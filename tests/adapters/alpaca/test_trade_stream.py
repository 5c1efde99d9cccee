"""The trade-updates feed against a local websocket server: auth, listen, every event,
dedupe by execution_id, and the REST catch-up before FeedRestored after a reconnect."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.alpaca import wire
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.reconnect import StreamRejected
from adapters.alpaca.trade_stream import AlpacaTradeUpdates, ExecutionDedupe
from adapters.backoff import Backoff
from daemon.core.events import (
    Event,
    FeedLost,
    FeedRestored,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from tests.adapters.alpaca import payloads
from tests.adapters.alpaca.fake_streams import FakeTradeStream, serving, until

NOW = datetime(2024, 7, 24, 14, 0, tzinfo=UTC)


def update(
    event: str,
    *,
    execution_id: str | None = None,
    status: str = "new",
    filled_qty: str = "0",
    coid: str = "run1-000001",
) -> dict[str, Any]:
    order = copy.deepcopy(payloads.load("order_new"))
    order.update(
        status=status,
        filled_qty=filled_qty,
        client_order_id=coid,
        filled_avg_price="227.5" if filled_qty != "0" else None,
    )
    data: dict[str, Any] = {"event": event, "order": order, "timestamp": "2024-07-24T13:35:02Z"}
    if execution_id:
        data.update(execution_id=execution_id, price="227.5", qty="2", position_qty="102")
    return data


class Changed:
    def __init__(self, orders: Sequence[dict[str, Any]] = ()) -> None:
        self.orders = [wire.ORDER.decode(json.dumps(o)) for o in orders]
        self.calls: list[datetime] = []

    async def __call__(self, after: datetime) -> Sequence[wire.Order]:
        self.calls.append(after)
        return self.orders


class BrokerClock:
    """The broker's ``/v2/clock`` as the stream sees it: a time, or a failure."""

    def __init__(self, at: datetime | None = NOW) -> None:
        self.at = at
        self.reads = 0

    async def __call__(self) -> datetime:
        self.reads += 1
        if self.at is None:
            raise ConnectionError("clock unreachable")
        return self.at


def feed(
    url: str,
    creds: Credentials,
    changed: Changed | None = None,
    resume_from: datetime | None = None,
    broker: BrokerClock | None = None,
) -> AlpacaTradeUpdates:
    return AlpacaTradeUpdates(
        url,
        creds,
        changed_orders=changed,
        broker_time=broker if broker is not None else BrokerClock(),
        resume_from=resume_from,
        backoff=Backoff(0.01, 0.05, 0.3, rng=random.Random(3)),
        handshake_timeout=2.0,
        now=lambda: NOW,
    )


@asynccontextmanager
async def running(tu: AlpacaTradeUpdates, events: list[Event]) -> AsyncIterator[None]:
    task = asyncio.create_task(tu.run(events.append))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("text", [False, True])
async def test_auth_listen_and_events_in_binary_or_text_frames(
    creds: Credentials, text: bool
) -> None:
    server = FakeTradeStream(
        text=text,
        updates=[
            update("pending_new"),
            update("new"),
            update("partial_fill", execution_id="e1", status="partially_filled", filled_qty="2"),
            update("fill", execution_id="e2", status="filled", filled_qty="10.5"),
        ],
    )
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds)
        async with running(tu, events):
            await until(lambda: len(events) == 5)
    auth, listen = server.received[0]
    assert auth == {
        "action": "authenticate",
        "data": {"key_id": "PKTEST", "secret_key": "test-secret-value"},
    }
    assert listen == {"action": "listen", "data": {"streams": ["trade_updates"]}}
    assert [type(e) for e in events] == [
        FeedRestored,
        OrderAccepted,
        OrderAccepted,
        OrderFilled,
        OrderFilled,
    ]
    fill = events[3]
    assert isinstance(fill, OrderFilled)
    assert (fill.execution_id, fill.qty, fill.cum_qty, fill.price, fill.position_qty) == (
        "e1",
        Decimal(2),
        Decimal(2),
        Decimal("227.5"),
        Decimal(102),
    )
    assert events[4].cum_qty == Decimal("10.5")  # type: ignore[union-attr]


async def test_duplicate_fills_are_dropped(creds: Credentials) -> None:
    dup = update("fill", execution_id="same", status="filled", filled_qty="10.5")
    server = FakeTradeStream(updates=[dup, dup, update("canceled", coid="other")])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds)
        async with running(tu, events):
            await until(lambda: any(isinstance(e, OrderCanceled) for e in events))
    assert [type(e) for e in events] == [FeedRestored, OrderFilled, OrderCanceled]
    assert tu.duplicates == 1


async def test_every_event_type_is_counted_and_mapped(creds: Credentials) -> None:
    names = [
        "new",
        "accepted",
        "pending_new",
        "canceled",
        "expired",
        "done_for_day",
        "replaced",
        "rejected",
        "pending_cancel",
        "pending_replace",
        "order_cancel_rejected",
        "order_replace_rejected",
        "calculated",
        "suspended",
        "stopped",
        "restated",
        "brand_new_event",
    ]
    server = FakeTradeStream(updates=[update(n) for n in names])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds)
        async with running(tu, events):
            await until(lambda: sum(tu.events.values()) == len(names))
            stats = tu.stats()
    assert (stats.connected, stats.messages, stats.reconnects) == (True, len(names), 0)
    assert tu.events == dict.fromkeys(names, 1)
    assert tu.ignored == 9
    got = [type(e) for e in events[1:]]
    assert got == [OrderAccepted] * 3 + [OrderCanceled] * 4 + [OrderRejected]


async def test_malformed_frames_never_kill_the_feed(creds: Credentials) -> None:
    bad_fill = update("fill", status="filled", filled_qty="1")  # no price anywhere
    bad_fill["order"]["filled_avg_price"] = None
    server = FakeTradeStream(
        raw_frames=[b"{not json", b'{"stream": "trade_updates", "data": {"event": "new"}}'],
        updates=[bad_fill, update("new")],
    )
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds)
        async with running(tu, events):
            await until(lambda: len(events) == 2)
    assert tu.malformed == 3 and tu.supervisor.connects == 1
    assert tu.stats().malformed == 3 and not tu.stats().connected
    assert [type(e) for e in events] == [FeedRestored, OrderAccepted]


async def test_reconnect_catches_up_over_rest_before_restored(creds: Credentials) -> None:
    filled_in_gap = dict(payloads.load("order_partially_filled"))
    canceled_in_gap = dict(
        payloads.load("order_canceled_partial"),
        client_order_id="run1-000009",
        id="99999999-0000-4000-8000-000000000009",
    )
    changed = Changed([filled_in_gap, canceled_in_gap])
    server = FakeTradeStream(modes=["drop"])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds, changed)
        async with running(tu, events):
            await until(lambda: server.connections == 2 and len(events) >= 8)
            await until(lambda: events[-1].__class__ is FeedRestored)
    kinds = [type(e) for e in events]
    # first connect: no resume point, no catch-up; then the gap, then catch-up, then restored
    assert kinds[:2] == [FeedRestored, FeedLost]
    assert kinds[2:] == [
        OrderAccepted,
        OrderFilled,
        OrderAccepted,
        OrderFilled,
        OrderCanceled,
        FeedRestored,
    ]
    assert changed.calls == [NOW - timedelta(seconds=30)]  # since last in sync, minus skew


@pytest.mark.parametrize("ours", [NOW - timedelta(days=3), NOW + timedelta(days=3)])
async def test_catch_up_window_is_in_broker_time_whatever_our_clock(
    creds: Credentials, ours: datetime
) -> None:
    """Our clock days away from the broker's changes only the events' stamps: the window
    asked after a drop starts at the broker's time of the last connect."""
    changed = Changed([payloads.load("order_partially_filled")])
    server = FakeTradeStream(modes=["drop"])
    events: list[Event] = []
    async with serving(server) as url:
        tu = AlpacaTradeUpdates(
            url,
            creds,
            changed_orders=changed,
            broker_time=BrokerClock(NOW),
            backoff=Backoff(0.01, 0.05, 0.3, rng=random.Random(3)),
            handshake_timeout=2.0,
            now=lambda: ours,
        )
        async with running(tu, events):
            await until(lambda: sum(isinstance(e, FeedRestored) for e in events) == 2)
    assert changed.calls == [NOW - timedelta(seconds=30)]
    assert any(isinstance(e, OrderFilled) for e in events)


async def test_unreadable_broker_clock_keeps_the_last_watermark(creds: Credentials) -> None:
    """No broker time on connect: the window is not moved on, so the next catch-up covers
    more (never less); the stream still comes up."""
    start = datetime(2024, 7, 24, 13, 0, tzinfo=UTC)
    changed = Changed([])
    broker = BrokerClock(None)
    server = FakeTradeStream(modes=["drop"])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds, changed, resume_from=start, broker=broker)
        async with running(tu, events):
            await until(lambda: sum(isinstance(e, FeedRestored) for e in events) == 2)
    assert changed.calls == [start - timedelta(seconds=30)] * 2
    assert tu.clock_failures == broker.reads == 2


async def test_updates_move_the_watermark_to_their_broker_timestamp(creds: Credentials) -> None:
    """Live updates advance the watermark to the broker's stamp on them, not our clock."""
    stamped = datetime(2024, 7, 24, 13, 35, 2, tzinfo=UTC)  # update()'s timestamp
    server = FakeTradeStream(updates=[update("new")])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds, broker=BrokerClock(NOW - timedelta(hours=1)))
        async with running(tu, events):
            await until(lambda: OrderAccepted in [type(e) for e in events])
    assert tu.synced_at == stamped


async def test_resume_from_makes_the_first_connect_catch_up(creds: Credentials) -> None:
    changed = Changed([payloads.load("order_notional_filled")])
    server = FakeTradeStream()
    events: list[Event] = []
    start = datetime(2024, 7, 24, 13, 0, tzinfo=UTC)
    async with serving(server) as url:
        tu = feed(url, creds, changed, resume_from=start)
        async with running(tu, events):
            await until(lambda: FeedRestored in [type(e) for e in events])
    assert changed.calls == [start - timedelta(seconds=30)]
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled, FeedRestored]


async def test_catch_up_fill_then_the_same_fill_again_is_deduplicated(creds: Credentials) -> None:
    changed = Changed([payloads.load("order_partially_filled")])
    server = FakeTradeStream()
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds, changed, resume_from=NOW)
        async with running(tu, events):
            await until(lambda: FeedRestored in [type(e) for e in events])
            tu._emit(events[1], events.append)  # the same synthetic execution again
    assert [type(e) for e in events].count(OrderFilled) == 1 and tu.duplicates == 1


async def test_http_429_at_upgrade_waits_the_reap_window(creds: Credentials) -> None:
    server = FakeTradeStream(modes=["http429"])
    events: list[Event] = []
    async with serving(server) as url:
        tu = feed(url, creds)
        async with running(tu, events):
            await until(lambda: tu.supervisor.refusals == 1)
            assert tu.supervisor.last_delay >= 0.3
            await until(lambda: FeedRestored in [type(e) for e in events])


async def test_unauthorized_stops_with_a_clear_error() -> None:
    server = FakeTradeStream()
    async with serving(server) as url:
        tu = feed(url, Credentials(Secret("PKTEST"), Secret("wrong")))
        with pytest.raises(StreamRejected, match="unauthorized") as err:
            await asyncio.wait_for(tu.run(lambda e: None), 5)
    assert "wrong" not in str(err.value)


def test_dedupe_is_bounded_lru() -> None:
    d = ExecutionDedupe(size=2)
    assert not d.seen("a") and not d.seen("b")
    assert d.seen("a")  # refreshes a
    assert not d.seen("c")  # evicts b
    assert len(d) == 2
    assert not d.seen("b") and d.seen("c")
