"""The REST surface and the control API over raw HTTP (what alpaca-py does not show):
status codes, JSON error bodies, query validation, the control plane and request log.
Real ``SimExchange`` behind a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.sim.testing import RunningSim, running_sim


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession(base_url=sim.base_url, headers=sim.auth_headers) as s:
        yield s


async def req(http: Any, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kw) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


def order(cid: str, **kw: Any) -> dict[str, Any]:
    return {"symbol": "SPY", "qty": "1", "side": "buy", "type": "market",
            "time_in_force": "day", "client_order_id": cid, **kw}  # fmt: skip


async def test_order_paths_status_codes(sim: RunningSim, http: Any) -> None:
    status, o = await req(
        http, "POST", "/v2/orders", json=order("a", type="limit", limit_price="100")
    )
    assert status == 200 and o["status"] in ("new", "pending_new", "accepted")
    assert o["order_class"] in ("", "simple") and o["qty"] == "1" and o["notional"] is None
    status, body = await req(http, "GET", "/v2/orders/not-a-uuid")
    assert status == 422 and "code" in body
    status, body = await req(http, "GET", "/v2/orders/6f1e1b1e-0000-4000-8000-000000000000")
    assert status == 404 and body["code"] == 40410000
    status, body = await req(http, "GET", "/v2/orders:by_client_order_id")
    assert status == 422 and "client_order_id" in body["message"]
    status, body = await req(http, "GET", "/v2/orders", params={"limit": "501"})
    assert status == 422 and "500" in body["message"]
    status, body = await req(http, "GET", "/v2/orders", params={"status": "weird"})
    assert status == 422
    status, results = await req(http, "DELETE", "/v2/orders")
    assert status == 207 and [r["id"] for r in results] == [o["id"]] and results[0]["status"] == 200
    status, _ = await req(http, "DELETE", f"/v2/orders/{o['id']}")
    assert status == 422  # already canceled


async def test_bad_bodies_and_both_qty_and_notional(http: Any) -> None:
    status, body = await req(
        http, "POST", "/v2/orders", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["code"] == 40010000
    status, body = await req(http, "POST", "/v2/orders", json=order("b", notional="10"))
    assert status in (400, 422) and "code" in body
    status, body = await req(http, "GET", "/v2/nothing-here")
    assert status == 404 and body["code"] == 40410000


async def test_calendar_and_quotes_validation(http: Any) -> None:
    status, days = await req(
        http, "GET", "/v2/calendar", params={"start": "2026-12-24", "end": "2026-12-28"}
    )
    assert status == 200
    assert [(d["date"], d["close"]) for d in days] == [
        ("2026-12-24", "13:00"),
        ("2026-12-28", "16:00"),
    ]
    status, body = await req(http, "GET", "/v2/calendar", params={"start": "xmas"})
    assert status == 422 and "YYYY-MM-DD" in body["message"]
    status, body = await req(http, "GET", "/v2/stocks/quotes/latest")
    assert status == 400
    status, body = await req(http, "GET", "/v2/stocks/quotes/latest", params={"symbols": "SPY,AGG"})
    assert status == 200 and set(body["quotes"]) == {"SPY", "AGG"}
    assert {"t", "ap", "bp", "as", "bs", "ax", "bx", "c", "z"} <= set(body["quotes"]["SPY"])


async def test_control_clock_price_and_corporate_actions(sim: RunningSim, http: Any) -> None:
    now = await sim.control("GET", "/_sim/clock")
    assert now["now"].startswith("2026-11-23T14:35:00")
    moved = await sim.control("POST", "/_sim/clock", {"advance": 90})
    assert moved["now"].startswith("2026-11-23T14:36:30")
    moved = await sim.control("POST", "/_sim/clock", {"set": "2026-11-23T15:00:00Z"})
    assert moved["now"].startswith("2026-11-23T15:00:00")
    async with aiohttp.ClientSession() as plain:
        async with plain.post(
            sim.base_url + "/_sim/clock", json={"set": "2020-01-01T00:00:00Z"}
        ) as r:
            assert r.status == 409 and "forward" in (await r.json())["error"]
        async with plain.post(sim.base_url + "/_sim/clock", json={}) as r:
            assert r.status == 400
        async with plain.post(
            sim.base_url + "/_sim/price", json={"symbol": "SPY", "bid": "x", "ask": 1}
        ) as r:
            assert r.status == 400
    await sim.control("POST", "/_sim/price", {"symbol": "AGG", "bid": 100.0, "ask": 100.02})
    _, q = await req(http, "GET", "/v2/stocks/quotes/latest", params={"symbols": "AGG"})
    assert (q["quotes"]["AGG"]["bp"], q["quotes"]["AGG"]["ap"]) == (100.0, 100.02)
    await sim.control("POST", "/_sim/price", {"symbol": "AGG", "factor": 1.5})
    _, q = await req(http, "GET", "/v2/stocks/quotes/latest", params={"symbols": "AGG"})
    assert q["quotes"]["AGG"]["bp"] == pytest.approx(150.0, rel=0.01)
    status, _ = await req(http, "POST", "/v2/orders", json=order("split-1", symbol="AGG", qty="10"))
    assert status == 200
    await sim.advance(1)
    await sim.control("POST", "/_sim/split", {"symbol": "AGG", "ratio": "2"})
    _, pos = await req(http, "GET", "/v2/positions/AGG")
    assert pos["qty"] == "20"
    _, before = await req(http, "GET", "/v2/account")
    await sim.control("POST", "/_sim/dividend", {"symbol": "AGG", "per_share": "0.5"})
    _, after = await req(http, "GET", "/v2/account")
    assert float(after["cash"]) == pytest.approx(float(before["cash"]) + 10.0)


async def test_account_snapshot_and_restore(sim: RunningSim, http: Any) -> None:
    snap = await sim.control("GET", "/_sim/account")
    assert snap["account"]["cash"] == "100000" and snap["positions"] == [] and snap["orders"] == []
    await req(http, "POST", "/v2/orders", json=order("r-1", qty="2"))
    await sim.advance(1)
    later = await sim.control("GET", "/_sim/account")
    assert [p["symbol"] for p in later["positions"]] == ["SPY"] and len(later["orders"]) == 1
    await sim.control("POST", "/_sim/restore", {"state": snap["state"]})
    _, positions = await req(http, "GET", "/v2/positions")
    assert positions == []


async def test_request_log_records_every_order_request(sim: RunningSim, http: Any) -> None:
    await req(http, "POST", "/v2/orders", json=order("log-1"))
    await req(http, "POST", "/v2/orders", json=order("log-1"))
    await req(http, "POST", "/v2/orders", json=order("log-2", qty="100000"))
    await req(http, "GET", "/v2/account")
    log = await sim.requests_log(orders_only=True)
    assert [
        (e["seq"] > 0, e["method"], e["client_order_id"], e["status"], e["outcome"]) for e in log
    ] == [
        (True, "POST", "log-1", 200, "accepted"),
        (True, "POST", "log-1", 422, "duplicate"),
        (True, "POST", "log-2", 403, "rejected"),
    ]
    assert log[0]["order_id"] and log[0]["at"].startswith("2026-11-23T14:35")
    assert log[2]["error_code"] == 40310000
    everything = await sim.requests_log(orders_only=False)
    assert everything[-1]["path"] == "/v2/account" and everything[-1]["outcome"] == "ok"
    newer = await sim.control("GET", f"/_sim/requests?since={log[1]['seq']}&orders_only=1")
    assert [e["client_order_id"] for e in newer["requests"]] == ["log-2"]


def test_credentials_config_env_and_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.sim.server import Credentials, options_from_config
    from adapters.sim.testing import default_sim_config

    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    demo = Credentials(*_keys(options_from_config(default_sim_config())))
    assert demo.open_demo and demo.check("any", "pair") and not demo.check("", "x")
    monkeypatch.setenv("APCA_API_KEY_ID", "env-key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "env-secret")
    env = Credentials(*_keys(options_from_config(default_sim_config())))
    assert env.check("env-key", "env-secret") and not env.check("env-key", "other")
    configured = default_sim_config(api={"key_id": "cfg-key", "secret_key": "cfg-secret"})
    cfg = Credentials(*_keys(options_from_config(configured)))
    assert cfg.check("cfg-key", "cfg-secret") and not cfg.check("env-key", "env-secret")
    assert "cfg-secret" not in repr(cfg)


def _keys(options: Any) -> tuple[str | None, str | None]:
    return options.key_id, options.secret
