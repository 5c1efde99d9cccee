"""The market-data websocket over real sockets: handshake, auth, subscriptions, error
codes, batching, encodings, connection limit and slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgpack
import pytest
import websockets

from adapters.sim.testing import RunningSim, running_sim, wait_for
from tests.adapters.sim.stand_in import StandInExchange

T0 = datetime(2026, 11, 23, 14, 35, 1, 123456, tzinfo=UTC)


def quote(sym: str, bp: float = 10.0) -> dict[str, Any]:
    return {"T": "q", "S": sym, "bx": "V", "bp": bp, "bs": 1, "ax": "V", "ap": bp + 0.01,
            "as": 2, "c": ["R"], "z": "A", "t": T0}  # fmt: skip


def trade(sym: str) -> dict[str, Any]:
    return {"T": "t", "S": sym, "i": 1, "x": "V", "p": 10.0, "s": 5, "c": ["@"], "z": "A", "t": T0}


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    ex = StandInExchange()
    async with running_sim(exchange=ex, clock=ex.clock, auth_timeout=0.3, data_symbol_cap=3) as s:
        yield s


class Client:
    """A websocket client speaking JSON text or msgpack binary."""

    def __init__(self, ws: Any, use_msgpack: bool) -> None:
        self.ws, self.msgpack = ws, use_msgpack

    @classmethod
    async def open(cls, url: str, use_msgpack: bool = False, **kw: Any) -> Client:
        headers = {"Content-Type": "application/msgpack"} if use_msgpack else {}
        headers.update(kw.pop("headers", {}))
        ws = await websockets.connect(url, additional_headers=headers, **kw)
        return cls(ws, use_msgpack)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(msgpack.packb(msg) if self.msgpack else json.dumps(msg))

    async def recv(self, within: float = 2.0) -> list[dict[str, Any]]:
        raw = await asyncio.wait_for(self.ws.recv(), within)
        if self.msgpack:
            assert isinstance(raw, bytes)
            out: list[dict[str, Any]] = msgpack.unpackb(raw)
        else:
            assert isinstance(raw, str)
            out = json.loads(raw)
        assert isinstance(out, list)
        return out

    async def login(self, sim: RunningSim) -> None:
        assert await self.recv() == [{"T": "success", "msg": "connected"}]
        await self.send({"action": "auth", "key": sim.key_id, "secret": sim.secret})
        assert await self.recv() == [{"T": "success", "msg": "authenticated"}]


@pytest.mark.parametrize("use_msgpack", [False, True])
async def test_handshake_subscribe_additive_and_full_set_ack(
    sim: RunningSim, use_msgpack: bool
) -> None:
    c = await Client.open(sim.data_ws_url, use_msgpack)
    await c.login(sim)
    await c.send({"action": "subscribe", "quotes": ["SPY"], "trades": ["AGG"]})
    [ack] = await c.recv()
    assert ack == {"T": "subscription", "trades": ["AGG"], "quotes": ["SPY"], "bars": [],
                   "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [],
                   "corrections": ["AGG"], "cancelErrors": ["AGG"]}  # fmt: skip
    await c.send({"action": "subscribe", "quotes": ["VTI"]})
    [ack] = await c.recv()
    assert ack["quotes"] == ["SPY", "VTI"] and ack["trades"] == ["AGG"]
    await c.send({"action": "unsubscribe", "quotes": ["SPY"]})
    [ack] = await c.recv()
    assert ack["quotes"] == ["VTI"]
    await c.ws.close()


async def test_msgpack_batches_carry_timestamp_ext_and_respect_the_subscription(
    sim: RunningSim,
) -> None:
    c = await Client.open(sim.data_ws_url, use_msgpack=True)
    await c.login(sim)
    await c.send({"action": "subscribe", "quotes": ["SPY", "AGG"], "trades": ["SPY"]})
    await c.recv()
    sim.state.data_hub.publish(
        [quote("SPY"), quote("BND"), trade("SPY"), trade("AGG"), quote("AGG", 5.0)]
    )
    batch = await c.recv()
    assert [(m["T"], m["S"]) for m in batch] == [("q", "SPY"), ("t", "SPY"), ("q", "AGG")]
    ts = batch[0]["t"]
    assert isinstance(ts, msgpack.Timestamp)
    assert ts.to_datetime() == T0
    assert batch[2]["bp"] == 5.0 and batch[0]["c"] == ["R"]
    await c.ws.close()


async def test_json_mode_sends_text_with_rfc3339_times_and_wildcard(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url)
    await c.login(sim)
    await c.send({"action": "subscribe", "quotes": ["*"]})
    await c.recv()
    sim.state.data_hub.publish([quote("SPY"), trade("SPY"), quote("ZZZ")])
    batch = await c.recv()
    assert [(m["T"], m["S"]) for m in batch] == [("q", "SPY"), ("q", "ZZZ")]
    assert datetime.fromisoformat(batch[0]["t"]) == T0
    await c.ws.close()


async def test_error_codes(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url)
    assert (await c.recv())[0]["msg"] == "connected"
    await c.send({"action": "subscribe", "quotes": ["SPY"]})
    assert await c.recv() == [{"T": "error", "code": 401, "msg": "not authenticated"}]
    await c.ws.send("{not json")
    assert (await c.recv())[0]["code"] == 400
    await c.send({"action": "auth", "key": sim.key_id, "secret": sim.secret})
    await c.recv()
    await c.send({"action": "auth", "key": sim.key_id, "secret": sim.secret})
    assert await c.recv() == [{"T": "error", "code": 403, "msg": "already authenticated"}]
    await c.send({"action": "subscribe", "quotes": ["bad symbol!"]})
    assert (await c.recv())[0]["code"] == 400
    await c.send({"action": "subscribe", "news": ["SPY"]})
    assert (await c.recv())[0]["code"] == 400
    # cap of 3 symbols over trades+quotes on iex: the whole request is refused
    await c.send({"action": "subscribe", "quotes": ["A", "B"]})
    await c.recv()
    await c.send({"action": "subscribe", "trades": ["C", "D"]})
    assert await c.recv() == [{"T": "error", "code": 405, "msg": "symbol limit exceeded"}]
    await c.send({"action": "subscribe", "trades": ["A"]})
    [ack] = await c.recv()
    assert ack["quotes"] == ["A", "B"] and ack["trades"] == ["A"]
    await c.ws.close()


async def test_bad_credentials_402_then_close(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url)
    await c.recv()
    await c.send({"action": "auth", "key": sim.key_id, "secret": "nope"})
    assert await c.recv() == [{"T": "error", "code": 402, "msg": "auth failed"}]
    with pytest.raises(websockets.ConnectionClosed):
        await c.recv()


async def test_auth_timeout_404(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url)
    await c.recv()
    assert await c.recv() == [{"T": "error", "code": 404, "msg": "auth timeout"}]
    with pytest.raises(websockets.ConnectionClosed):
        await c.recv()


async def test_header_auth(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url, headers=sim.auth_headers)
    assert await c.recv() == [{"T": "success", "msg": "connected"}]
    assert await c.recv() == [{"T": "success", "msg": "authenticated"}]
    await c.ws.close()


async def test_one_connection_per_key_per_feed(sim: RunningSim) -> None:
    first = await Client.open(sim.data_ws_url)
    await first.login(sim)
    second = await Client.open(sim.data_ws_url)
    await second.recv()
    await second.send({"action": "auth", "key": sim.key_id, "secret": sim.secret})
    assert await second.recv() == [{"T": "error", "code": 406, "msg": "connection limit exceeded"}]
    other_feed = await Client.open(sim.ws_base + "/v2/sip")
    await other_feed.login(sim)  # iex and sip are separate endpoints
    await first.ws.close()
    await wait_for(lambda: len(sim.state.data_hub.connections) == 1)
    third = await Client.open(sim.data_ws_url)
    await third.login(sim)  # the slot is free again
    await third.ws.close()
    await other_feed.ws.close()


async def test_slow_client_gets_407_then_disconnect(sim: RunningSim) -> None:
    sim.state.data_hub.max_queued_frames = 5
    c = await Client.open(sim.data_ws_url)
    await c.login(sim)
    await c.send({"action": "subscribe", "quotes": ["SPY"]})
    await c.recv()
    # a flood in one go: the writer gets no chance to drain the queue
    for _ in range(50):
        sim.state.data_hub.publish([quote("SPY")])
    got = []
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            got.append(await c.recv())
    assert got[-1] == [{"T": "error", "code": 407, "msg": "slow client"}]
    await wait_for(lambda: not sim.state.data_hub.connections)


async def test_other_connections_keep_flowing_past_a_slow_one(sim: RunningSim) -> None:
    fast = await Client.open(sim.ws_base + "/v2/test")
    await fast.login(sim)
    await fast.send({"action": "subscribe", "quotes": ["SPY"]})
    await fast.recv()
    for i in range(20):
        sim.state.data_hub.publish([quote("SPY", float(i + 1))])
        await asyncio.sleep(0)
    seen = []
    while len(seen) < 20:
        seen.extend(m["bp"] for m in await fast.recv())
    assert seen == [float(i + 1) for i in range(20)]
    await fast.ws.close()


async def test_unknown_feed_is_404_with_keys_401_without() -> None:
    ex = StandInExchange()
    async with running_sim(exchange=ex, clock=ex.clock) as sim:
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(
                sim.ws_base + "/v2/delayed", additional_headers=sim.auth_headers
            )
        assert info.value.response.status_code == 404
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(sim.ws_base + "/v2/delayed")
        assert info.value.response.status_code == 401


async def test_control_publish_injects_raw_messages(sim: RunningSim) -> None:
    c = await Client.open(sim.data_ws_url, use_msgpack=True)
    await c.login(sim)
    await c.send({"action": "subscribe", "quotes": ["SPY"], "updatedBars": ["SPY"]})
    await c.recv()
    late_bar = {"T": "u", "S": "SPY", "o": 1.0, "h": 2.0, "l": 0.5, "c": 1.5, "v": 10, "n": 2,
                "vw": 1.2, "t": "2026-11-23T14:34:00Z"}  # fmt: skip
    no_bid = {"T": "q", "S": "SPY", "bp": 0, "bs": 0, "ap": 10.0, "as": 1, "bx": "", "ax": "V"}
    out = await sim.control("POST", "/_sim/publish", {"messages": [late_bar, no_bid]})
    assert out == {"published": 2}
    batch = await c.recv()
    assert [m["T"] for m in batch] == ["u", "q"]
    assert batch[0]["t"].to_datetime() == datetime(2026, 11, 23, 14, 34, tzinfo=UTC)
    assert batch[1]["bp"] == 0 and batch[1]["t"].to_datetime() == sim.clock.now()
    await c.ws.close()
