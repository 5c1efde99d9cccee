from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from daemon.core.model import TradingState
from daemon.runtime.http_api import HttpApi
from daemon.runtime.metrics import Metrics


class Provider:
    def __init__(self) -> None:
        self.healthy = True
        self.ready = False
        self.requests: list[tuple[TradingState, str]] = []

    def health(self) -> tuple[bool, dict[str, Any]]:
        return self.healthy, {}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        return self.ready, {"reasons": [] if self.ready else ["no quotes"]}

    def status(self) -> dict[str, Any]:
        return {"state": "active"}

    def request_trading_state(self, state: TradingState, reason: str) -> None:
        self.requests.append((state, reason))


async def test_endpoints_over_a_real_socket() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.value.set(123.5)
    provider = Provider()
    api = HttpApi(provider, registry, token="t0ken", host="127.0.0.1", port=0)
    await api.start()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(api.url + "/metrics") as r:
                body = await r.text()
                assert r.status == 200
                assert "rebalanced_portfolio_value_dollars 123.5" in body
            async with s.get(api.url + "/healthz") as r:
                assert r.status == 200
            async with s.get(api.url + "/readyz") as r:
                assert r.status == 503
                assert (await r.json())["reasons"] == ["no quotes"]
            provider.ready = True
            async with s.get(api.url + "/readyz") as r:
                assert r.status == 200
            async with s.post(api.url + "/control/halt", json={"reason": "x"}) as r:
                assert r.status == 401
            async with s.post(api.url + "/control/halt", json={"reason": "x"},
                              headers={"Authorization": "Bearer wrong"}) as r:
                assert r.status == 401
            assert provider.requests == []
            async with s.post(api.url + "/control/halt", json={"reason": "fat finger"},
                              headers={"Authorization": "Bearer t0ken"}) as r:
                assert r.status == 202
            async with s.post(api.url + "/control/resume",
                              headers={"Authorization": "Bearer t0ken"}) as r:
                assert r.status == 202
            assert provider.requests == [(TradingState.HALTED, "fat finger"),
                                         (TradingState.ACTIVE, "operator")]
    finally:
        await api.stop()


async def test_malformed_control_bodies_get_400_and_change_nothing() -> None:
    registry = CollectorRegistry()
    provider = Provider()
    api = HttpApi(provider, registry, token="t0ken", host="127.0.0.1", port=0)
    await api.start()
    auth = {"Authorization": "Bearer t0ken", "Content-Type": "application/json"}
    bodies = [b'["halt"]', b"42", b'"reason"', b"null", b'{"reason": 5}',
              b'{"reason": ["x"]}', b"{not json", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000]
    try:
        async with aiohttp.ClientSession() as s:
            for path in ("/control/halt", "/control/reduce", "/control/resume"):
                for body in bodies:
                    async with s.post(api.url + path, data=body, headers=auth) as r:
                        assert r.status == 400, (path, body[:20], r.status, await r.text())
                        assert "JSON object" in (await r.json())["error"]
            assert provider.requests == []
            async with s.post(api.url + "/control/halt", data=b'{"reason": "ok"}',
                              headers=auth) as r:
                assert r.status == 202
        assert provider.requests == [(TradingState.HALTED, "ok")]
    finally:
        await api.stop()
