"""HTTP and websocket fault switches, the auth/rate-limit middleware and the request
log, over real sockets on 127.0.0.1 (the wire layers, with a stand-in exchange)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets

from adapters.sim.faults import FaultError, HttpFaultRule, HttpFaults
from adapters.sim.testing import RunningSim, running_sim, wait_for
from tests.adapters.sim.stand_in import StandInExchange


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    ex = StandInExchange()
    async with running_sim(exchange=ex, clock=ex.clock) as s:
        yield s


async def post_order(sim: RunningSim, session: aiohttp.ClientSession, cid: str) -> tuple[int, Any]:
    body = {"symbol": "SPY", "qty": "1", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": cid}  # fmt: skip
    async with session.post(sim.base_url + "/v2/orders", json=body, headers=sim.auth_headers) as r:
        return r.status, await r.json()


def test_rule_parsing_errors_name_the_fix() -> None:
    with pytest.raises(FaultError, match="not one of"):
        HttpFaultRule.from_json({"action": "418"})
    with pytest.raises(FaultError, match="count must be an integer"):
        HttpFaultRule.from_json({"action": "500", "count": 0})
    with pytest.raises(FaultError, match="unknown http fault field"):
        HttpFaultRule.from_json({"action": "500", "pth": "/v2/orders"})


def test_rules_match_method_and_pattern_and_count_down() -> None:
    faults = HttpFaults()
    faults.add(
        HttpFaultRule.from_json(
            {"action": "500", "method": "post", "path": "/v2/orders", "count": 2}
        )
    )
    assert faults.take("GET", "/v2/orders") is None
    assert faults.take("POST", "/v2/orders/x") is None
    assert faults.take("POST", "/v2/orders") is not None
    assert faults.take("POST", "/v2/orders") is not None
    assert faults.take("POST", "/v2/orders") is None


async def test_wrong_keys_get_401_and_rate_limit_headers_on_every_answer(sim: RunningSim) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(sim.base_url + "/v2/account") as r:
            assert r.status == 401
            assert await r.json() == {"message": "unauthorized"}
        bad = {"APCA-API-KEY-ID": sim.key_id, "APCA-API-SECRET-KEY": "wrong"}
        async with s.get(sim.base_url + "/v2/account", headers=bad) as r:
            assert r.status == 401
        async with s.get(sim.base_url + "/v2/account", headers=sim.auth_headers) as r:
            assert r.status == 200
            assert r.headers["X-RateLimit-Limit"] == "200"
            assert r.headers["X-RateLimit-Remaining"] == "199"
            assert int(r.headers["X-RateLimit-Reset"]) > 1_700_000_000


async def test_rate_limit_429_per_key() -> None:
    ex = StandInExchange()
    async with running_sim(exchange=ex, clock=ex.clock, rate_limit_per_minute=5) as sim:
        async with aiohttp.ClientSession() as s:
            statuses = []
            for _ in range(7):
                async with s.get(sim.base_url + "/v2/account", headers=sim.auth_headers) as r:
                    statuses.append(r.status)
                    last_headers = r.headers
            assert statuses == [200] * 5 + [429] * 2
            assert last_headers["X-RateLimit-Remaining"] == "0"
            log = await sim.requests_log(orders_only=False)
            assert [e["outcome"] for e in log[-2:]] == ["rate-limited", "rate-limited"]


@pytest.mark.parametrize("action", ["429", "500", "504"])
async def test_injected_status_before_the_handler(sim: RunningSim, action: str) -> None:
    await sim.control(
        "POST",
        "/_sim/faults",
        {"http": [{"action": action, "method": "POST", "path": "/v2/orders"}]},
    )
    async with aiohttp.ClientSession() as s:
        status, body = await post_order(sim, s, "c-1")
        assert status == int(action) and "code" in body and "message" in body
        assert sim.exchange.orders == {}  # never reached the exchange
        status, _ = await post_order(sim, s, "c-1")  # count was 1: the retry goes through
        assert status == 200
    log = await sim.requests_log()
    assert [(e["client_order_id"], e["outcome"]) for e in log] == [
        ("c-1", f"fault-{action}"),
        ("c-1", "accepted"),
    ]


async def test_500_after_accept_the_order_exists_and_a_resend_is_a_duplicate(
    sim: RunningSim,
) -> None:
    await sim.control(
        "POST", "/_sim/faults",
        {"http": [{"action": "500", "method": "POST", "path": "/v2/orders", "after_accept": True}]},
    )  # fmt: skip
    async with aiohttp.ClientSession() as s:
        status, _ = await post_order(sim, s, "cid-x")
        assert status == 500
        assert list(sim.exchange.by_cid) == ["cid-x"]
        async with s.get(
            sim.base_url + "/v2/orders:by_client_order_id",
            params={"client_order_id": "cid-x"},
            headers=sim.auth_headers,
        ) as r:
            assert r.status == 200 and (await r.json())["client_order_id"] == "cid-x"
        status, body = await post_order(sim, s, "cid-x")
        assert status == 422 and body["code"] == 40010001
    log = await sim.requests_log()
    posts = [e for e in log if e["method"] == "POST"]
    assert [e["outcome"] for e in posts] == ["fault-500-after-accept", "duplicate"]
    assert posts[0]["order_id"] is not None and posts[1]["order_id"] is None
    accepted = sim.state.request_log.accepted_client_order_ids()
    assert accepted == ["cid-x"]


async def test_timeout_hangs_then_504(sim: RunningSim) -> None:
    await sim.control(
        "POST", "/_sim/faults",
        {"http": [{"action": "timeout", "path": "/v2/account", "hang_seconds": 0.3}]},
    )  # fmt: skip
    async with aiohttp.ClientSession() as s:
        with pytest.raises(asyncio.TimeoutError):
            async with s.get(
                sim.base_url + "/v2/account",
                headers=sim.auth_headers,
                timeout=aiohttp.ClientTimeout(total=0.1),
            ):
                pass
        await asyncio.sleep(0.3)
        async with s.get(sim.base_url + "/v2/account", headers=sim.auth_headers) as r:
            assert r.status == 200  # one-shot


async def test_control_api_rejects_bad_fault_requests(sim: RunningSim) -> None:
    async with aiohttp.ClientSession() as s:
        for body in ({"http": [{"action": "nope"}]}, {"stream": [{"stream": "x", "action": "drop"}]},
                     {"bogus": 1}, {"stream": [{"action": "refuse"}]}):  # fmt: skip
            async with s.post(sim.base_url + "/_sim/faults", json=body) as r:
                assert r.status == 400, body
                assert "error" in await r.json()
    assert sim.state.http_faults.rules == []


async def test_reset_faults_clears_everything(sim: RunningSim) -> None:
    await sim.control("POST", "/_sim/faults", {
        "http": [{"action": "500", "count": 5}],
        "stream": [{"stream": "both", "action": "mute"}, {"stream": "data", "action": "refuse", "seconds": 60}],
    })  # fmt: skip
    state = await sim.control("GET", "/_sim/faults")
    assert len(state["http"]) == 1 and state["stream"]["muted"] == {"data": True, "trade": True}
    await sim.control("POST", "/_sim/reset-faults")
    state = await sim.control("GET", "/_sim/faults")
    assert state["http"] == [] and state["stream"]["muted"] == {"data": False, "trade": False}
    assert state["stream"]["refusing_seconds_left"]["data"] == 0


async def _data_connect(sim: RunningSim) -> Any:
    ws = await websockets.connect(sim.data_ws_url)
    assert "connected" in await ws.recv()
    await ws.send(json.dumps({"action": "auth", "key": sim.key_id, "secret": sim.secret}))
    assert "authenticated" in await ws.recv()
    return ws


async def test_drop_aborts_without_close_frame_and_refuse_answers_429(sim: RunningSim) -> None:
    ws = await _data_connect(sim)
    out = await sim.control("POST", "/_sim/faults", {"stream": [
        {"stream": "data", "action": "drop"},
        {"stream": "data", "action": "refuse", "seconds": 0.5},
    ]})  # fmt: skip
    assert out["dropped_connections"] == 1
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 2)
    assert info.value.rcvd is None  # no close frame came
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(sim.data_ws_url)
    assert refused.value.response.status_code == 429
    await asyncio.sleep(0.6)
    ws2 = await _data_connect(sim)  # the slot was freed and the window is over
    await ws2.close()


async def test_mute_keeps_the_socket_but_sends_nothing(sim: RunningSim) -> None:
    ws = await _data_connect(sim)
    await ws.send('{"action":"subscribe","quotes":["SPY"]}')
    assert "subscription" in await ws.recv()
    quote = {"T": "q", "S": "SPY", "bp": 1.0, "ap": 1.01, "bs": 1, "as": 1}
    await sim.control("POST", "/_sim/faults", {"stream": [{"stream": "data", "action": "mute"}]})
    sim.state.data_hub.publish([quote])
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.3)
    await sim.control("POST", "/_sim/faults", {"stream": [{"stream": "data", "action": "unmute"}]})
    sim.state.data_hub.publish([quote])
    assert '"SPY"' in await asyncio.wait_for(ws.recv(), 2)
    await ws.close()
    await wait_for(lambda: not sim.state.data_hub.connections)


# -- faults that live in the exchange, switched through the control API (real SimExchange)


@pytest.fixture
async def real_sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


async def _order_status(sim: RunningSim, s: aiohttp.ClientSession, cid: str) -> str:
    async with s.get(
        sim.base_url + "/v2/orders:by_client_order_id",
        params={"client_order_id": cid},
        headers=sim.auth_headers,
    ) as r:
        status: str = (await r.json())["status"]
        return status


async def test_exchange_faults_reject_and_stuck_pending_new(real_sim: RunningSim) -> None:
    sim = real_sim
    await sim.control("POST", "/_sim/faults", {"exchange": {"reject_next": 1}})
    async with aiohttp.ClientSession() as s:
        await post_order(sim, s, "rej-1")
        await sim.advance(1)
        assert await _order_status(sim, s, "rej-1") == "rejected"
        await post_order(sim, s, "ok-1")
        await sim.advance(1)
        assert await _order_status(sim, s, "ok-1") == "filled"
        await sim.control("POST", "/_sim/faults", {"exchange": {"stuck_pending_new": True}})
        await post_order(sim, s, "stuck-1")
        await sim.advance(30)
        assert await _order_status(sim, s, "stuck-1") == "pending_new"
        state = await sim.control("POST", "/_sim/reset-faults")
        assert state["exchange"]["stuck_pending_new"] is False
    async with aiohttp.ClientSession() as s:
        async with s.post(sim.base_url + "/_sim/faults", json={"exchange": {"nonsense": 1}}) as r:
            assert r.status in (400, 409) and "nonsense" in (await r.json())["error"]


async def test_accelerated_clock_ticks_quotes_without_being_told() -> None:
    from adapters.sim.testing import default_sim_config

    cfg = default_sim_config(
        clock={"mode": "accelerated", "start": "2026-11-23T14:35:00Z", "speed": 60}
    )
    async with running_sim(cfg) as sim:
        ws = await _data_connect(sim)
        await ws.send(json.dumps({"action": "subscribe", "quotes": ["SPY"]}))
        assert "subscription" in await ws.recv()
        batch = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert batch and all(m["T"] == "q" and m["S"] == "SPY" for m in batch)
        await ws.close()
