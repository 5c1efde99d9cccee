"""A small Alpaca REST stand-in on a real 127.0.0.1 socket that can misbehave on demand:
429 with Reset, 5xx before or after accepting an order, timeouts, dropped sockets."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.adapters.alpaca import payloads

KEY = "PKTEST"
SECRET = "test-secret-value"


@dataclass
class FakeAlpaca:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by client_order_id
    log: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # consumed one per request
    remaining: int | None = None  # X-RateLimit-Remaining to send (None: no headers)
    reset_in: float = 1.0
    post_delay: float = 0.0
    quote_calls: int = 0
    unhang: asyncio.Event = field(default_factory=asyncio.Event)

    def posts(self) -> list[dict[str, Any]]:
        return [body for method, path, body in self.log if method == "POST"]

    def add_order(self, coid: str, **fields: Any) -> dict[str, Any]:
        order = dict(payloads.load("order_new"))
        order.update(id=str(uuid.uuid4()), client_order_id=coid, **fields)
        self.orders[coid] = order
        return order

    # --- plumbing ------------------------------------------------------------------------

    def _headers(self, status: int) -> dict[str, str]:
        if self.remaining is None and status != 429:
            return {}
        return {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": str(self.remaining or 0),
            "X-RateLimit-Reset": str(int(time.time() + self.reset_in)),
        }

    def _json(self, body: Any, status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(body),
            status=status,
            content_type="application/json",
            headers=self._headers(status),
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if (
            request.headers.get("APCA-API-KEY-ID") != KEY
            or request.headers.get("APCA-API-SECRET-KEY") != SECRET
        ):
            return self._json({"message": "unauthorized"}, 401)
        body = await request.json() if request.can_read_body else {}
        self.log.append((request.method, request.path, body))
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "429":
            return self._json({"message": "too many requests"}, 429)
        if fault == "500":
            return self._json({"code": 50010000, "message": "internal server error"}, 500)
        if fault == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if fault == "hang":
            await self.unhang.wait()
        response = await handler(request)
        if fault == "500_after":
            return self._json({"message": "upstream timeout"}, 504)
        if fault == "drop_after":
            assert request.transport is not None
            request.transport.abort()
        if fault == "hang_after":
            await self.unhang.wait()
        return response

    # --- routes --------------------------------------------------------------------------

    async def post_order(self, request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(self.post_delay)
        coid = body["client_order_id"]
        if coid in self.orders:
            return self._json({"code": 40010001, "message": "client_order_id must be unique"}, 422)
        if body["symbol"] == "BROKE":
            return self._json({"code": 40310000, "message": "insufficient buying power"}, 403)
        order = self.add_order(
            coid,
            symbol=body["symbol"],
            side=body["side"],
            qty=body.get("qty"),
            notional=body.get("notional"),
            limit_price=body.get("limit_price"),
            type=body["type"],
        )
        return self._json(order)

    async def by_client_id(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.query["client_order_id"])
        if order is None:
            return self._json({"code": 40410000, "message": "order not found"}, 404)
        return self._json(order)

    async def list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        orders = list(self.orders.values())
        if status == "open":
            orders = [o for o in orders if o["status"] in ("new", "accepted", "partially_filled")]
        return self._json(orders)

    async def cancel(self, request: web.Request) -> web.Response:
        for order in self.orders.values():
            if order["id"] == request.match_info["id"]:
                if order["status"] in ("filled", "canceled"):
                    return self._json({"code": 42210000, "message": "order is not cancelable"}, 422)
                order["status"] = "canceled"
                return web.Response(status=204, headers=self._headers(204))
        return self._json({"code": 40410000, "message": "order not found"}, 404)

    async def static(self, request: web.Request) -> web.Response:
        name = {
            "/v2/account": "account",
            "/v2/positions": "positions",
            "/v2/clock": "clock",
            "/v2/calendar": "calendar",
        }[request.path]
        return self._json(payloads.load(name))

    async def latest_quotes(self, request: web.Request) -> web.Response:
        self.quote_calls += 1
        wanted = request.query["symbols"].split(",")
        assert request.query["feed"] in ("iex", "sip")
        quotes = payloads.load("latest_quotes")["quotes"]
        return self._json({"quotes": {s: q for s, q in quotes.items() if s in wanted}})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_post("/v2/orders", self.post_order)
        app.router.add_get("/v2/orders", self.list_orders)
        app.router.add_get("/v2/orders:by_client_order_id", self.by_client_id)
        app.router.add_delete("/v2/orders/{id}", self.cancel)
        for path in ("/v2/account", "/v2/positions", "/v2/clock", "/v2/calendar"):
            app.router.add_get(path, self.static)
        app.router.add_get("/v2/stocks/quotes/latest", self.latest_quotes)
        return app


@asynccontextmanager
async def serve(fake: FakeAlpaca) -> AsyncIterator[str]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        fake.unhang.set()
        await server.close()
