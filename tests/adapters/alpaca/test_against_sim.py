"""The Alpaca adapter (gateway, account, both feeds) against the real paper exchange
(``adapters/sim``) on 127.0.0.1, including its fault switches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.venue import AlpacaVenue, build_venue
from adapters.sim.testing import RunningSim, running_sim
from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.core.config.values import BrokerConfig
from daemon.core.events import (
    Event,
    FeedLost,
    FeedRestored,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitFailed,
    QuoteBatch,
    SubmitOutcome,
    TradingStatusChanged,
)
from daemon.core.model import Side
from tests.adapters.alpaca.fake_streams import until

SYMBOLS = ["SPY", "AGG", "VTI"]


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim() as s:
        yield s


# Our clock relative to the exchange's: the adapter must be right whatever the difference
# (the sim runs at a fixed date; a real broker and a VPS disagree by NTP drift or worse).
SKEWS = {
    "in-step": timedelta(0),
    "broker-3d-ahead": timedelta(days=-3),  # our clock = the broker's − 3 days
    "broker-3d-behind": timedelta(days=3),
}


def our_clock(sim: RunningSim, skew: timedelta) -> Callable[[], datetime]:
    """Our clock: the sim's (stepped) time moved by ``skew``; never today's date."""
    return lambda: sim.clock.now() + skew


@asynccontextmanager
async def venue_for(
    sim: RunningSim, skew: timedelta = timedelta(0), **broker: object
) -> AsyncIterator[AlpacaVenue]:
    config = BrokerConfig(
        kind="alpaca",
        paper=True,
        feed="iex",
        rest_url=sim.base_url,
        data_url=sim.base_url,
        stream_url=sim.data_ws_url,
        trade_stream_url=sim.trade_ws_url,
        request_timeout_seconds=1.0,
        **broker,  # type: ignore[arg-type]
    )
    venue = build_venue(
        config,
        Credentials(Secret(sim.key_id), Secret(sim.secret)),
        reap_window=0.3,
        backoff_base=0.01,
        backoff_cap=0.05,
        now=our_clock(sim, skew),
    )
    async with venue:
        yield venue


@asynccontextmanager
async def streams(venue: AlpacaVenue, events: list[Event]) -> AsyncIterator[None]:
    tasks = [
        asyncio.create_task(venue.market_data.run(SYMBOLS, events.append)),
        asyncio.create_task(venue.trade_updates.run(events.append)),
    ]
    try:
        await until(lambda: sum(isinstance(e, FeedRestored) for e in events) == 2)
        yield
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def of(events: list[Event], kind: type, coid: str | None = None) -> list[Event]:
    return [
        e
        for e in events
        if isinstance(e, kind) and (coid is None or getattr(e, "client_order_id", None) == coid)
    ]


async def test_snapshot_clock_and_latest_quotes(sim: RunningSim) -> None:
    async with venue_for(sim) as venue:
        snap = await venue.account.snapshot()
        assert snap.cash == Decimal(100000) and snap.positions == {} and snap.open_orders == ()
        clock = await venue.account.clock()
        assert clock.is_open and clock.next_close > clock.at
        assert clock.sessions and clock.sessions[0].open.hour == 9
        quotes = await venue.account.latest_quotes(SYMBOLS)
        assert {q.symbol for q in quotes} == set(SYMBOLS)
        assert all(0 < q.bid <= q.ask for q in quotes)


async def test_order_round_trip_over_both_streams(sim: RunningSim) -> None:
    events: list[Event] = []
    async with venue_for(sim) as venue, streams(venue, events):
        await sim.advance(1)
        await until(lambda: sum(len(b.quotes) for b in of(events, QuoteBatch)) > len(SYMBOLS))  # type: ignore[attr-defined]
        order = PlaceOrder("sim-rt-1", "SPY", Side.BUY, Decimal("2.5"), None, None)
        accepted = await venue.gateway.submit(order)
        assert isinstance(accepted, OrderAccepted)
        await sim.advance(2)
        await until(
            lambda: sum(f.qty for f in of(events, OrderFilled, "sim-rt-1")) == Decimal("2.5")
        )  # type: ignore[attr-defined]
        fills = of(events, OrderFilled, "sim-rt-1")
        assert fills[-1].cum_qty == Decimal("2.5")  # type: ignore[attr-defined]
        snap = await venue.account.snapshot()
        assert snap.positions == {"SPY": Decimal("2.5")}
        looked = await venue.gateway.lookup("sim-rt-1")
        assert [type(e) for e in looked] == [OrderAccepted, OrderFilled]


async def test_limit_order_cancel(sim: RunningSim) -> None:
    events: list[Event] = []
    async with venue_for(sim) as venue, streams(venue, events):
        far = PlaceOrder("sim-cx-1", "VTI", Side.BUY, Decimal(1), None, Decimal("1.00"))
        accepted = await venue.gateway.submit(far)
        assert isinstance(accepted, OrderAccepted)
        assert await venue.gateway.cancel(CancelOrder("sim-cx-1", accepted.broker_order_id)) is None
        await sim.advance(1)
        await until(lambda: bool(of(events, OrderCanceled, "sim-cx-1")))


async def test_rejections_are_definite(sim: RunningSim) -> None:
    async with venue_for(sim) as venue:
        too_big = PlaceOrder("sim-rj-1", "SPY", Side.BUY, Decimal(100000), None, None)
        ev = await venue.gateway.submit(too_big)
        assert isinstance(ev, OrderRejected) and "buying power" in ev.reason
        no_shares = PlaceOrder("sim-rj-2", "AGG", Side.SELL, Decimal(5), None, None)
        assert isinstance(await venue.gateway.submit(no_shares), OrderRejected)


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "500", "after_accept": True},
        {"action": "timeout", "after_accept": True, "hang_seconds": 1.3},
        {"action": "429"},
        {"action": "504"},
    ],
)
async def test_ambiguous_submit_is_resolved_by_lookup_never_resent(
    sim: RunningSim, fault: dict[str, object]
) -> None:
    async with venue_for(sim) as venue:
        await sim.control(
            "POST", "/_sim/faults", {"http": [{"method": "POST", "path": "/v2/orders", **fault}]}
        )
        order = PlaceOrder("sim-unk-1", "AGG", Side.BUY, Decimal(3), None, None)
        ev = await venue.gateway.submit(order)
        assert isinstance(ev, OrderSubmitFailed) and ev.outcome is SubmitOutcome.UNKNOWN
        looked = await venue.gateway.lookup("sim-unk-1")
        if fault.get("after_accept"):
            assert isinstance(looked[0], OrderAccepted)
        else:
            assert [type(e).__name__ for e in looked] == ["OrderNotFound"]

        async def posts() -> list[dict[str, object]]:
            return [
                r
                for r in await sim.requests_log()
                if r["method"] == "POST" and r["client_order_id"] == "sim-unk-1"
            ]

        for _ in range(300):  # a hung request is logged when the sim finally answers it
            if await posts():
                break
            await asyncio.sleep(0.02)
        assert len(await posts()) == 1  # exactly one POST ever carried this id
        again = await venue.gateway.submit(order)  # a (wrong) resend is caught by the broker
        if fault.get("after_accept"):
            assert isinstance(again, OrderSubmitFailed) and "already at the broker" in again.reason
            assert [r["outcome"] for r in await posts()][-1] == "duplicate"
        if fault["action"] == "429":
            assert venue.limiter.rate_limited >= 1


@pytest.mark.parametrize("skew", SKEWS.values(), ids=SKEWS.keys())
async def test_trade_stream_drop_catches_up_before_restored(
    sim: RunningSim, skew: timedelta
) -> None:
    events: list[Event] = []
    async with venue_for(sim, skew) as venue, streams(venue, events):
        # drop the socket and refuse reconnects for a while: the gap spans the order below
        await sim.control(
            "POST",
            "/_sim/faults",
            {
                "stream": [
                    {"stream": "trade", "action": "refuse", "seconds": 1.0},
                    {"stream": "trade", "action": "drop"},
                ]
            },
        )
        await until(lambda: bool(of(events, FeedLost)))
        # while the trade stream is down, an order is placed and fills
        accepted = await venue.gateway.submit(
            PlaceOrder("sim-gap-1", "AGG", Side.BUY, Decimal(2), None, None)
        )
        assert isinstance(accepted, OrderAccepted)
        await sim.advance(2)
        await until(lambda: sum(isinstance(e, FeedRestored) for e in events) == 3)
        after_loss = events[events.index(of(events, FeedLost)[0]) :]
        restored_at = next(
            i
            for i, e in enumerate(after_loss)
            if isinstance(e, FeedRestored) and e.feed == "trade_updates"
        )
        before = after_loss[:restored_at]
        assert of(before, OrderFilled, "sim-gap-1"), (
            "the gap's fill must arrive before FeedRestored"
        )
        assert venue.trade_updates.catchup_orders >= 1


async def test_data_stream_mute_then_refused_reconnect(sim: RunningSim) -> None:
    events: list[Event] = []
    async with venue_for(sim, stale_after_seconds=0.3) as venue, streams(venue, events):
        md = venue.market_data
        await sim.control(
            "POST",
            "/_sim/faults",
            {
                "stream": [
                    {"stream": "data", "action": "mute"},
                    {"stream": "data", "action": "refuse", "seconds": 1.5},
                ]
            },
        )
        await until(lambda: md.supervisor.stale_reconnects >= 1)
        await until(lambda: md.supervisor.refusals >= 1)
        await sim.control(
            "POST", "/_sim/faults", {"stream": [{"stream": "data", "action": "unmute"}]}
        )
        await until(lambda: md.supervisor.connects >= 2, limit=10)
        assert of(events, FeedLost)


async def test_halt_reaches_the_feed(sim: RunningSim) -> None:
    events: list[Event] = []
    async with venue_for(sim) as venue, streams(venue, events):
        await sim.control("POST", "/_sim/halt", {"symbol": "SPY", "halted": True})
        await until(lambda: any(isinstance(e, TradingStatusChanged) and e.halted for e in events))


@pytest.mark.parametrize("skew", SKEWS.values(), ids=SKEWS.keys())
async def test_first_connect_catches_up_from_the_startup_snapshot(
    sim: RunningSim, skew: timedelta
) -> None:
    async with venue_for(sim, skew) as venue:
        await venue.account.snapshot()  # start-up: snapshot first, then the streams
        placed = await venue.gateway.submit(
            PlaceOrder("sim-start-1", "VTI", Side.BUY, Decimal(1), None, None)
        )
        assert isinstance(placed, OrderAccepted)
        await sim.advance(2)  # fills before the trade stream exists
        events: list[Event] = []
        async with streams(venue, events):
            pass
        restored = next(
            i
            for i, e in enumerate(events)
            if isinstance(e, FeedRestored) and e.feed == "trade_updates"
        )
        assert of(events[:restored], OrderFilled, "sim-start-1")
        # the offset is measured (broker − ours), and catch-up asked from the broker's time
        assert venue.account.clock_offset == pytest.approx(-skew.total_seconds(), abs=1)
        assert venue.trade_updates.synced_at is not None
        assert abs(venue.trade_updates.synced_at - sim.clock.now()) < timedelta(seconds=5)
