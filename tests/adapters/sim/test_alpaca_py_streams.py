"""alpaca-py's own ``StockDataStream`` and ``TradingStream`` against the paper exchange
(real ``SimExchange``) on 127.0.0.1: msgpack quotes, trades and halts arrive as
``Quote``/``Trade``/``TradingStatus`` objects, fills as ``TradeUpdate``.

Both streams run via ``_run_forever()`` in this loop (``run()`` would call
``asyncio.run``), with handlers registered before start (reference §5.2).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Quote, Trade
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import MarketOrderRequest
from alpaca.trading.stream import TradingStream

from adapters.sim.testing import RunningSim, running_sim, wait_for


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


@contextlib.asynccontextmanager
async def started(stream: Any) -> AsyncIterator[Any]:
    task = asyncio.get_running_loop().create_task(stream._run_forever())
    try:
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await stream.close()


async def test_stock_data_stream_gets_quotes_trades_and_statuses(sim: RunningSim) -> None:
    quotes: list[Quote] = []
    trades: list[Trade] = []
    statuses: list[Any] = []

    async def on_quote(q: Quote) -> None:
        quotes.append(q)

    async def on_trade(t: Trade) -> None:
        trades.append(t)

    async def on_status(s: Any) -> None:
        statuses.append(s)

    stream = StockDataStream(sim.key_id, sim.secret, url_override=sim.data_ws_url)
    stream.subscribe_quotes(on_quote, "SPY", "AGG")
    stream.subscribe_trades(on_trade, "SPY")
    stream.subscribe_trading_statuses(on_status, "VTI")
    async with started(stream):
        await wait_for(
            lambda: any(
                c.authenticated and c.subs["quotes"] for c in sim.state.data_hub.connections
            )
        )
        await sim.advance(30)  # prices move: quotes for every symbol
        await wait_for(lambda: {q.symbol for q in quotes} == {"SPY", "AGG"})
        assert all(isinstance(q, Quote) for q in quotes)
        q = quotes[-1]
        assert 0 < q.bid_price < q.ask_price and q.timestamp.tzinfo is not None
        assert q.timestamp <= sim.clock.now()
        # a fill prints a trade on the tape
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        order = MarketOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                   client_order_id="tape-1")  # fmt: skip
        await asyncio.to_thread(client.submit_order, order)
        await sim.advance(1)
        await wait_for(lambda: len(trades) >= 1)
        assert isinstance(trades[0], Trade) and trades[0].symbol == "SPY" and trades[0].size == 1
        await sim.control("POST", "/_sim/halt", {"symbol": "VTI", "halted": True})
        await wait_for(lambda: len(statuses) >= 1)
        assert statuses[0].symbol == "VTI" and statuses[0].status_code == "H"


async def test_stock_data_stream_reconnects_after_a_drop(sim: RunningSim) -> None:
    quotes: list[Quote] = []

    async def on_quote(q: Quote) -> None:
        quotes.append(q)

    stream = StockDataStream(sim.key_id, sim.secret, url_override=sim.data_ws_url)
    stream._reconnect_min_backoff = stream._reconnect_max_backoff = 0.05
    stream.subscribe_quotes(on_quote, "SPY")
    async with started(stream):
        await wait_for(lambda: any(c.subs["quotes"] for c in sim.state.data_hub.connections))
        out = await sim.control(
            "POST", "/_sim/faults", {"stream": [{"stream": "data", "action": "drop"}]}
        )
        assert out["dropped_connections"] == 1
        # alpaca-py notices, reconnects, re-authenticates and re-subscribes
        await wait_for(
            lambda: any(
                c.subs["quotes"] and not c.outbox.closed for c in sim.state.data_hub.connections
            ),
            within=10,
        )
        before = len(quotes)
        await sim.advance(10)
        await wait_for(lambda: len(quotes) > before)


async def test_trading_stream_gets_fill_updates(sim: RunningSim) -> None:
    updates: list[TradeUpdate] = []

    async def on_update(u: TradeUpdate) -> None:
        updates.append(u)

    stream = TradingStream(sim.key_id, sim.secret, url_override=sim.trade_ws_url)
    stream.subscribe_trade_updates(on_update)
    async with started(stream):
        await wait_for(lambda: any(c.streams for c in sim.state.trade_hub.connections), within=5)
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        order = MarketOrderRequest(symbol="AGG", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                   client_order_id="tu-1")  # fmt: skip
        await asyncio.to_thread(client.submit_order, order)
        await sim.advance(2)
        await wait_for(lambda: any(u.event == "fill" for u in updates), within=5)
        assert all(isinstance(u, TradeUpdate) for u in updates)
        assert updates[0].event == "new" and updates[0].order.client_order_id == "tu-1"
        fill = next(u for u in updates if u.event == "fill")
        assert fill.order.status == "filled" and fill.execution_id is not None
        assert fill.position_qty == 4 and fill.price is not None and fill.price > 0
        assert sum(u.qty or 0 for u in updates if u.event in ("fill", "partial_fill")) == 4
        assert fill.timestamp.tzinfo is not None


async def test_trading_stream_sees_duplicate_fills_when_asked(sim: RunningSim) -> None:
    updates: list[TradeUpdate] = []

    async def on_update(u: TradeUpdate) -> None:
        updates.append(u)

    await sim.control(
        "POST",
        "/_sim/faults",
        {"exchange": {"duplicate_fills": True, "partial_fill_probability": 0}},
    )
    stream = TradingStream(sim.key_id, sim.secret, url_override=sim.trade_ws_url)
    stream.subscribe_trade_updates(on_update)
    async with started(stream):
        await wait_for(lambda: any(c.streams for c in sim.state.trade_hub.connections), within=5)
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        order = MarketOrderRequest(symbol="BND", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                   client_order_id="dupfill-1")  # fmt: skip
        await asyncio.to_thread(client.submit_order, order)
        await sim.advance(2)
        await wait_for(lambda: sum(u.event == "fill" for u in updates) == 2, within=5)
        fills = [u for u in updates if u.event == "fill"]
        assert fills[0].execution_id == fills[1].execution_id


async def test_trading_stream_reconnects_after_drop_and_refused_window(sim: RunningSim) -> None:
    updates: list[TradeUpdate] = []

    async def on_update(u: TradeUpdate) -> None:
        updates.append(u)

    stream = TradingStream(sim.key_id, sim.secret, url_override=sim.trade_ws_url)
    stream._reconnect_min_backoff = stream._reconnect_max_backoff = 0.05
    stream.subscribe_trade_updates(on_update)
    async with started(stream):
        await wait_for(lambda: any(c.streams for c in sim.state.trade_hub.connections), within=5)
        out = await sim.control("POST", "/_sim/faults", {"stream": [
            {"stream": "trade", "action": "drop"},
            {"stream": "trade", "action": "refuse", "seconds": 0.5},
        ]})  # fmt: skip
        assert out["dropped_connections"] == 1
        await asyncio.sleep(0.6)  # refused (HTTP 429 at the upgrade) for half a second
        await wait_for(
            lambda: any(c.streams and not c.outbox.closed for c in sim.state.trade_hub.connections),
            within=10,
        )
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        order = MarketOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                   client_order_id="after-drop-1")  # fmt: skip
        await asyncio.to_thread(client.submit_order, order)
        await sim.advance(2)
        await wait_for(lambda: any(u.event == "fill" for u in updates), within=5)
