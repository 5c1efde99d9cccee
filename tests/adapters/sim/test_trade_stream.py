"""The trade-updates websocket: binary JSON frames, authenticate/listen replies as
single objects, delivery of published updates, the one-connection rule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
import websockets

from adapters.sim.testing import RunningSim, running_sim, wait_for
from tests.adapters.sim.stand_in import StandInExchange


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    ex = StandInExchange()
    async with running_sim(exchange=ex, clock=ex.clock) as s:
        yield s


async def recv_json(ws: Any, within: float = 2.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), within)
    assert isinstance(raw, bytes), "paper sends binary frames"
    out: dict[str, Any] = json.loads(raw.decode("utf-8"))
    return out


def auth_msg(key: str, secret: str) -> str:
    return json.dumps({"action": "authenticate", "data": {"key_id": key, "secret_key": secret}})


LISTEN = json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}})


async def login(sim: RunningSim) -> Any:
    ws = await websockets.connect(sim.trade_ws_url)
    await ws.send(auth_msg(sim.key_id, sim.secret))
    assert await recv_json(ws) == {
        "stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}
    }  # fmt: skip
    await ws.send(LISTEN)
    assert await recv_json(ws) == {"stream": "listening", "data": {"streams": ["trade_updates"]}}
    return ws


async def test_authenticate_listen_and_receive_updates(sim: RunningSim) -> None:
    ws = await login(sim)
    sim.exchange.submit_order({"symbol": "SPY", "client_order_id": "abc"})
    msg = await recv_json(ws)
    assert msg["stream"] == "trade_updates"
    assert msg["data"]["event"] == "new"
    assert msg["data"]["order"]["client_order_id"] == "abc"
    assert msg["data"]["timestamp"].startswith("2026-11-23T14:35:00")
    await ws.close()


async def test_listen_before_auth_and_wrong_keys(sim: RunningSim) -> None:
    ws = await websockets.connect(sim.trade_ws_url)
    await ws.send(LISTEN)
    assert await recv_json(ws) == {
        "stream": "authorization", "data": {"status": "unauthorized", "action": "listen"}
    }  # fmt: skip
    await ws.send(auth_msg(sim.key_id, "wrong"))
    reply = await recv_json(ws)
    assert reply["data"]["status"] == "unauthorized"
    with pytest.raises(websockets.ConnectionClosed):
        await recv_json(ws)


async def test_empty_listen_stops_the_stream(sim: RunningSim) -> None:
    ws = await login(sim)
    await ws.send(json.dumps({"action": "listen", "data": {"streams": []}}))
    assert await recv_json(ws) == {"stream": "listening", "data": {"streams": []}}
    sim.exchange.submit_order({"symbol": "SPY"})
    with pytest.raises(asyncio.TimeoutError):
        await recv_json(ws, within=0.3)
    await ws.close()


async def test_second_connection_for_the_key_is_refused_406(sim: RunningSim) -> None:
    first = await login(sim)
    second = await websockets.connect(sim.trade_ws_url)
    await second.send(auth_msg(sim.key_id, sim.secret))
    reply = await recv_json(second)
    assert reply["data"]["status"] == "unauthorized" and reply["data"]["code"] == 406
    with pytest.raises(websockets.ConnectionClosed):
        await recv_json(second)
    await first.close()
    await wait_for(lambda: not sim.state.trade_hub.connections)
    third = await login(sim)
    await third.close()


async def test_msgpack_clients_get_msgpack(sim: RunningSim) -> None:
    ws = await websockets.connect(
        sim.trade_ws_url, additional_headers={"Content-Type": "application/msgpack"}
    )
    await ws.send(
        msgpack.packb(
            {"action": "authenticate", "data": {"key_id": sim.key_id, "secret_key": sim.secret}}
        )
    )
    reply = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 2))
    assert reply["data"]["status"] == "authorized"
    await ws.close()


async def test_drop_and_mute_on_the_trade_stream(sim: RunningSim) -> None:
    ws = await login(sim)
    await sim.control("POST", "/_sim/faults", {"stream": [{"stream": "trade", "action": "mute"}]})
    sim.exchange.submit_order({"symbol": "SPY"})
    with pytest.raises(asyncio.TimeoutError):
        await recv_json(ws, within=0.3)
    out = await sim.control(
        "POST", "/_sim/faults", {"stream": [{"stream": "trade", "action": "drop"}]}
    )
    assert out["dropped_connections"] == 1
    with pytest.raises(websockets.ConnectionClosed) as info:
        await recv_json(ws)
    assert info.value.rcvd is None
