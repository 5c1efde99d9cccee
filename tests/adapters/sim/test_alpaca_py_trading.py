"""alpaca-py's own ``TradingClient`` (and the latest-quotes data client) against the
paper exchange on 127.0.0.1: every call parses into alpaca-py's models, and errors raise
``APIError`` with Alpaca's status and code.

The server runs in this event loop, so the blocking alpaca-py calls go through
``asyncio.to_thread`` (as the daemon must do too).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Asset, Calendar, Clock, Order, Position, TradeAccount
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)

from adapters.sim.testing import RunningSim, running_sim

R = TypeVar("R")


async def call(fn: Callable[..., R], *args: Any) -> R:
    return await asyncio.to_thread(fn, *args)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:  # the test moves the clock itself
        yield s


@pytest.fixture
def client(sim: RunningSim) -> TradingClient:
    c = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
    c._retry = 0  # alpaca-py would time.sleep(3) and retry 429/504 by itself
    return c


def market(symbol: str, cid: str, qty: float | None = None, notional: float | None = None,
           side: OrderSide = OrderSide.BUY) -> MarketOrderRequest:  # fmt: skip
    return MarketOrderRequest(symbol=symbol, qty=qty, notional=notional, side=side,
                              time_in_force=TimeInForce.DAY, client_order_id=cid)  # fmt: skip


async def test_account_clock_calendar_assets(client: TradingClient) -> None:
    acct = await call(client.get_account)
    assert isinstance(acct, TradeAccount)
    assert acct.cash == "100000" and acct.status == "ACTIVE"
    assert acct.trading_blocked is False
    clock = await call(client.get_clock)
    assert isinstance(clock, Clock) and clock.is_open
    assert clock.timestamp.utcoffset() is not None
    assert clock.next_close > clock.timestamp
    days = await call(
        client.get_calendar, GetCalendarRequest(start=date(2026, 11, 23), end=date(2026, 11, 30))
    )
    assert all(isinstance(d, Calendar) for d in days)
    # Thanksgiving (26th) is closed, the 27th closes early
    assert [d.date for d in days] == [date(2026, 11, d) for d in (23, 24, 25, 27, 30)]
    assert days[3].close.hour == 13
    assets = await call(client.get_all_assets, GetAssetsRequest())
    assert all(isinstance(a, Asset) for a in assets)
    assert {a.symbol for a in assets} >= {"SPY", "AGG", "GLD"}
    gld = await call(client.get_asset, "GLD")
    assert gld.fractionable is False and gld.tradable is True


async def test_market_order_fills_and_position_appears(
    sim: RunningSim, client: TradingClient
) -> None:
    order = await call(client.submit_order, market("SPY", "buy-spy-1", qty=3))
    assert isinstance(order, Order)
    assert order.client_order_id == "buy-spy-1" and order.symbol == "SPY"
    await sim.advance(2)
    filled = await call(client.get_order_by_client_id, "buy-spy-1")
    assert filled.id == order.id
    assert filled.status == OrderStatus.FILLED
    assert float(filled.filled_qty or 0) == 3 and filled.filled_avg_price is not None
    [pos] = await call(client.get_all_positions)
    assert isinstance(pos, Position) and pos.symbol == "SPY" and pos.qty == "3"
    same = await call(client.get_open_position, "SPY")
    assert same.qty == "3"
    acct = await call(client.get_account)
    assert float(acct.cash or 0) == pytest.approx(100_000 - 3 * float(filled.filled_avg_price or 0))


async def test_notional_order(sim: RunningSim, client: TradingClient) -> None:
    order = await call(client.submit_order, market("AGG", "notional-1", notional=250.5))
    assert order.qty is None and order.notional is not None and float(order.notional) == 250.5
    await sim.advance(2)
    done = await call(client.get_order_by_id, order.id)
    assert done.status == OrderStatus.FILLED
    pos = await call(client.get_open_position, "AGG")
    assert float(pos.market_value or 0) == pytest.approx(250.5, rel=0.01)


async def test_limit_order_replace_cancel_and_listing(
    sim: RunningSim, client: TradingClient
) -> None:
    req = LimitOrderRequest(symbol="VTI", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                            limit_price=250.00, client_order_id="lim-1")  # fmt: skip
    order = await call(client.submit_order, req)
    assert order.status in (OrderStatus.NEW, OrderStatus.PENDING_NEW, OrderStatus.ACCEPTED)
    assert float(order.limit_price or 0) == 250.0
    await sim.advance(1)
    replaced = await call(
        client.replace_order_by_id, order.id, ReplaceOrderRequest(qty=3, limit_price=251.0)
    )
    assert replaced.id != order.id and str(replaced.replaces) == str(order.id)
    assert float(replaced.qty or 0) == 3
    old = await call(client.get_order_by_client_id, "lim-1")
    assert old.status == OrderStatus.REPLACED and str(old.replaced_by) == str(replaced.id)
    open_orders = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.id for o in open_orders] == [replaced.id]
    assert await call(client.cancel_order_by_id, replaced.id) is None
    await sim.advance(1)
    canceled = await call(client.get_order_by_id, replaced.id)
    assert canceled.status == OrderStatus.CANCELED
    everything = await call(client.get_orders, GetOrdersRequest(status=QueryOrderStatus.ALL))
    assert {o.id for o in everything} == {order.id, replaced.id}
    # a canceled order is no longer cancelable: 422
    with pytest.raises(APIError) as info:
        await call(client.cancel_order_by_id, replaced.id)
    assert info.value.status_code == 422


async def test_cancel_all_and_close_positions(sim: RunningSim, client: TradingClient) -> None:
    await call(client.submit_order, market("SPY", "p1", qty=2))
    await call(client.submit_order, market("BND", "p2", qty=10))
    await sim.advance(2)
    lim = LimitOrderRequest(symbol="VTI", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                            limit_price=200.0, client_order_id="lim-x")  # fmt: skip
    await call(client.submit_order, lim)
    responses = await call(client.cancel_orders)
    assert len(responses) == 1 and responses[0].status == 200
    close = await call(client.close_position, "SPY", ClosePositionRequest(qty="1"))
    assert isinstance(close, Order) and close.side == OrderSide.SELL and float(close.qty or 0) == 1
    await sim.advance(2)
    assert (await call(client.get_open_position, "SPY")).qty == "1"
    closed = await call(client.close_all_positions, True)
    assert {r.symbol for r in closed} == {"SPY", "BND"}
    await sim.advance(2)
    assert await call(client.get_all_positions) == []


async def test_errors_carry_alpaca_status_and_code(sim: RunningSim, client: TradingClient) -> None:
    await call(client.submit_order, market("SPY", "dup-1", qty=1))
    with pytest.raises(APIError) as dup:
        await call(client.submit_order, market("SPY", "dup-1", qty=1))
    assert (dup.value.status_code, dup.value.code) == (422, 40010001)
    assert dup.value.message == "client_order_id must be unique"
    subpenny = LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                 limit_price=500.123, client_order_id="sp-1")  # fmt: skip
    with pytest.raises(APIError) as sp:
        await call(client.submit_order, subpenny)
    assert (sp.value.status_code, sp.value.code) == (422, 42210000)
    with pytest.raises(APIError) as bp:
        await call(client.submit_order, market("SPY", "big-1", qty=10_000))
    assert (bp.value.status_code, bp.value.code) == (403, 40310000)
    with pytest.raises(APIError) as tiny:
        await call(client.submit_order, market("AGG", "tiny-1", notional=0.5))
    assert tiny.value.status_code == 403
    with pytest.raises(APIError) as frac:
        await call(client.submit_order, market("GLD", "frac-1", qty=0.5))
    assert frac.value.status_code in (403, 422)
    with pytest.raises(APIError) as short:
        await call(client.submit_order, market("AGG", "sell-1", qty=5, side=OrderSide.SELL))
    assert short.value.status_code == 403
    with pytest.raises(APIError) as missing:
        await call(client.get_asset, "NOPE")
    assert missing.value.status_code == 404
    with pytest.raises(APIError) as flat:
        await call(client.get_open_position, "VTI")
    assert flat.value.status_code == 404
    with pytest.raises(APIError) as unknown:
        await call(client.get_order_by_client_id, "never-sent")
    assert unknown.value.status_code == 404
    # the request log shows one accepted POST per client order id
    log = await sim.requests_log()
    accepted = [
        e["client_order_id"] for e in log if e["outcome"] == "accepted" and e["method"] == "POST"
    ]
    assert accepted == ["dup-1"]
    assert [e["outcome"] for e in log if e["client_order_id"] == "dup-1"] == [
        "accepted",
        "duplicate",
    ]


async def test_wrong_keys_and_injected_faults(sim: RunningSim, client: TradingClient) -> None:
    bad = TradingClient(sim.key_id, "wrong-secret", url_override=sim.base_url)
    with pytest.raises(APIError) as unauth:
        await call(bad.get_account)
    assert unauth.value.status_code == 401 and unauth.value.message == "unauthorized"
    await sim.control("POST", "/_sim/faults", {"http": [
        {"action": "504", "method": "POST", "path": "/v2/orders", "after_accept": True},
        {"action": "429", "path": "/v2/account"},
        {"action": "500", "path": "/v2/clock"},
    ]})  # fmt: skip
    with pytest.raises(APIError) as gateway:
        await call(client.submit_order, market("SPY", "amb-1", qty=1))
    assert gateway.value.status_code == 504
    found = await call(client.get_order_by_client_id, "amb-1")  # the order exists
    assert found.client_order_id == "amb-1"
    with pytest.raises(APIError) as limited:
        await call(client.get_account)
    assert (limited.value.status_code, limited.value.code) == (429, 42910000)
    with pytest.raises(APIError) as internal:
        await call(client.get_clock)
    assert internal.value.status_code == 500
    log = await sim.requests_log()
    assert [e["outcome"] for e in log if e["client_order_id"] == "amb-1"] == [
        "fault-504-after-accept"
    ]


async def test_latest_quotes_via_the_data_client(sim: RunningSim) -> None:
    data = StockHistoricalDataClient(sim.key_id, sim.secret, url_override=sim.base_url)
    quotes = await call(
        data.get_stock_latest_quote, StockLatestQuoteRequest(symbol_or_symbols=["SPY", "AGG"])
    )
    assert set(quotes) == {"SPY", "AGG"}
    spy = quotes["SPY"]
    assert 0 < spy.bid_price < spy.ask_price and spy.timestamp.tzinfo is not None
    await sim.control("POST", "/_sim/price", {"symbol": "SPY", "bid": 612.5, "ask": 612.6})
    quotes = await call(
        data.get_stock_latest_quote, StockLatestQuoteRequest(symbol_or_symbols="SPY")
    )
    assert (quotes["SPY"].bid_price, quotes["SPY"].ask_price) == (612.5, 612.6)
