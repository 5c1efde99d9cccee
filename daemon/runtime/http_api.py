"""The daemon's local HTTP endpoints (aiohttp), bound to 127.0.0.1 by default:

- ``GET /metrics``  Prometheus exposition from the registry handed in
- ``GET /healthz``  live: the consumer loop is making progress
- ``GET /readyz``   ready: reconciled, streams fresh, market state known (503 + reasons if not)
- ``GET /status``   a JSON view of the engine (weights vs. bands, orders, state)
- ``POST /control/halt``, ``/control/reduce``, ``/control/resume``: the kill switch,
  bearer-token authenticated
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from daemon.core.model import TradingState
from daemon.runtime.control_token import token_matches


class StatusProvider(Protocol):
    def health(self) -> tuple[bool, dict[str, Any]]: ...

    def readiness(self) -> tuple[bool, dict[str, Any]]: ...

    def status(self) -> dict[str, Any]: ...

    def request_trading_state(self, state: TradingState, reason: str) -> None: ...


class HttpApi:
    def __init__(self, provider: StatusProvider, registry: CollectorRegistry, token: str,
                 host: str = "127.0.0.1", port: int = 9108) -> None:
        self._provider = provider
        self._registry = registry
        self._token = token
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.add_routes([
            web.get("/metrics", self._metrics),
            web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz),
            web.get("/status", self._status),
            web.post("/control/halt", self._halt),
            web.post("/control/resume", self._resume),
            web.post("/control/reduce", self._reduce),
        ])

    async def start(self) -> None:
        runner = self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        # the runner's one site: its sockets' names, so the port the OS picked for port 0
        addresses = runner.addresses
        if self.port == 0 and addresses:
            self.port = addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _metrics(self, _request: web.Request) -> web.Response:
        # off the loop: at SIP scale (5,000 symbols, 20,000 per-symbol samples) formatting
        # a scrape took ~90 ms of CPU, which held the consumer as long; in a thread it
        # shares the GIL at the switch interval instead (the registry is thread-safe)
        body = await asyncio.to_thread(generate_latest, self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        ok, detail = self._provider.health()
        return web.json_response({"ok": ok, **detail}, status=200 if ok else 503)

    async def _readyz(self, _request: web.Request) -> web.Response:
        ok, detail = self._provider.readiness()
        return web.json_response({"ready": ok, **detail}, status=200 if ok else 503)

    async def _status(self, _request: web.Request) -> web.Response:
        return web.json_response(self._provider.status(), dumps=_dumps)

    async def _halt(self, request: web.Request) -> web.Response:
        return await self._set_state(request, TradingState.HALTED)

    async def _resume(self, request: web.Request) -> web.Response:
        return await self._set_state(request, TradingState.ACTIVE)

    async def _reduce(self, request: web.Request) -> web.Response:
        return await self._set_state(request, TradingState.REDUCING)

    async def _set_state(self, request: web.Request, state: TradingState) -> web.Response:
        if not token_matches(self._token, request.headers.get("Authorization")):
            return web.json_response(
                {"error": "unauthorized: send 'Authorization: Bearer <token>' with the token "
                          "from control.token in the state directory"}, status=401)
        reason = "operator"
        if request.can_read_body:
            bad = web.json_response(
                {"error": "the body must be a JSON object like {\"reason\": \"…\"} (or "
                          "empty), with reason a string"}, status=400)
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError, RecursionError):
                return bad
            if not isinstance(body, dict):
                return bad
            given = body.get("reason", reason)
            if not isinstance(given, str):
                return bad
            reason = given[:200]
        self._provider.request_trading_state(state, reason)
        return web.json_response({"requested": state.value, "reason": reason}, status=202)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str)
