"""OrderGateway against the local server: every submit outcome, lookup, cancel, batches."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.alpaca.credentials import Credentials
from adapters.alpaca.gateway import AlpacaGateway
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelFailed,
    OrderFilled,
    OrderNotFound,
    OrderRejected,
    OrderSubmitFailed,
    SubmitOutcome,
)
from daemon.core.model import Side
from daemon.runtime.venue_calls import rank_by_size
from tests.adapters.alpaca.fake_alpaca import FakeAlpaca

NOW = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)  # the tests' anchor, not today


def fixed_now() -> datetime:
    return NOW


def place(coid: str, symbol: str = "AAPL", qty: str = "10", limit: str = "227.55") -> PlaceOrder:
    return PlaceOrder(coid, symbol, Side.BUY, Decimal(qty), None, Decimal(limit))


async def test_accepted(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    ev = await AlpacaGateway(rest, now=fixed_now).submit(place("a1"))
    assert isinstance(ev, OrderAccepted)
    assert ev.client_order_id == "a1" and ev.broker_order_id == fake.orders["a1"]["id"]


async def test_definite_4xx_is_rejected(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    gw = AlpacaGateway(rest, now=fixed_now)
    ev = await gw.submit(place("b1", symbol="BROKE"))
    assert isinstance(ev, OrderRejected) and "insufficient buying power" in ev.reason
    assert gw.rejected == 1


async def test_duplicate_client_order_id_is_unknown_then_lookup_resolves(
    rest: AlpacaRest, fake: FakeAlpaca
) -> None:
    fake.add_order("d1", status="partially_filled", filled_qty="4", filled_avg_price="227.5")
    gw = AlpacaGateway(rest, now=fixed_now)
    ev = await gw.submit(place("d1"))
    assert isinstance(ev, OrderSubmitFailed) and ev.outcome is SubmitOutcome.UNKNOWN
    assert "already at the broker" in ev.reason
    events = await gw.lookup("d1")
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert events[1].cum_qty == Decimal(4)  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", ["429", "500", "500_after", "drop_after", "hang_after"])
async def test_ambiguous_failures_are_unknown_and_never_resent(
    rest: AlpacaRest, fake: FakeAlpaca, fault: str
) -> None:
    fake.faults = [fault]
    gw = AlpacaGateway(rest, now=fixed_now)
    ev = await gw.submit(place("u1"))
    assert isinstance(ev, OrderSubmitFailed) and ev.outcome is SubmitOutcome.UNKNOWN
    assert len(fake.posts()) == 1
    looked = await gw.lookup("u1")
    if fault.endswith("_after"):  # the broker took it: the lookup finds it
        assert [type(e) for e in looked] == [OrderAccepted]
    else:
        assert looked == [OrderNotFound(looked[0].at, "u1")]
    assert len(fake.posts()) == 1  # still one POST: resolution never re-sends


async def test_connection_refused_is_not_sent(creds: Credentials) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    rest = AlpacaRest(creds, base_url=url, data_url=url, limiter=RateLimiter())
    try:
        ev = await AlpacaGateway(rest, now=fixed_now).submit(place("n1"))
    finally:
        await rest.close()
    assert isinstance(ev, OrderSubmitFailed) and ev.outcome is SubmitOutcome.NOT_SENT


async def test_invalid_order_is_not_sent_and_spends_nothing(
    rest: AlpacaRest, fake: FakeAlpaca
) -> None:
    bad = PlaceOrder("v1", "AAPL", Side.BUY, None, None, None)
    ev = await AlpacaGateway(rest, now=fixed_now).submit(bad)
    assert isinstance(ev, OrderSubmitFailed) and ev.outcome is SubmitOutcome.NOT_SENT
    assert "exactly one of qty or notional" in ev.reason
    assert fake.log == [] and rest.limiter.acquired == 0


async def test_cancel(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    gw = AlpacaGateway(rest, now=fixed_now)
    o = fake.add_order("c1")
    assert await gw.cancel(CancelOrder("c1", o["id"])) is None
    assert fake.orders["c1"]["status"] == "canceled"
    refused = await gw.cancel(CancelOrder("c1", o["id"]))  # 422: already final
    assert isinstance(refused, OrderCancelFailed) and refused.client_order_id == "c1"
    assert "422" in refused.reason and gw.cancel_refused == 1
    fake.add_order("c2")
    assert await gw.cancel(CancelOrder("c2")) is None  # found by client id first
    assert fake.orders["c2"]["status"] == "canceled"
    gone = await gw.cancel(CancelOrder("nope"))
    assert isinstance(gone, OrderNotFound)


async def test_lookup_of_a_canceled_order(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    fake.add_order("x1", status="canceled", filled_qty="0")
    events = await AlpacaGateway(rest, now=fixed_now).lookup("x1")
    assert [type(e) for e in events] == [OrderAccepted, OrderCanceled]


async def test_batch_under_a_short_budget_sends_the_largest_first(
    rest: AlpacaRest, fake: FakeAlpaca
) -> None:
    rest.limiter = RateLimiter(1200, 0.0)  # 20/s
    for _ in range(1200):  # spend the whole budget: every order must wait
        await rest.limiter.acquire()
    orders = [
        place("s-small", qty="1"),
        place("s-big", qty="100"),
        place("s-mid", qty="10"),
        PlaceOrder("s-notional", "SPY", Side.BUY, None, Decimal("5000"), None),
    ]
    gw = AlpacaGateway(rest, now=fixed_now)
    rank = rank_by_size(orders)  # the shell's ranking; each order is its own task
    events = await asyncio.gather(*(gw.submit(o, rank=rank[o.client_order_id]) for o in orders))
    assert [e.client_order_id for e in events] == [o.client_order_id for o in orders]
    assert all(isinstance(e, OrderAccepted) for e in events)
    sent = [body["client_order_id"] for body in fake.posts()]
    assert sent == ["s-big", "s-notional", "s-mid", "s-small"]


