"""The paper exchange on the wire: one aiohttp app on one port serving Alpaca's trading
REST (``/v2/…``), the market-data stream (``/v2/iex|sip|test``), the trade stream
(``/stream``) and the simulator's control API (``/_sim/…``).

Laid out so alpaca-py works unchanged: ``TradingClient(url_override=base_url)``,
``StockDataStream(url_override=base_ws + "/v2/iex")``,
``TradingStream(url_override=base_ws + "/stream")``.

Order of work per REST request (one middleware): auth (401) → rate limit (429, and the
``X-RateLimit-*`` headers on every answer) → HTTP fault switches → handler
(``SimAPIError`` → Alpaca's error body) → "after accept" faults → request log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from adapters.sim.control import add_control_routes
from adapters.sim.data_routes import add_data_routes
from adapters.sim.faults import HttpFaultRule
from adapters.sim.rest_routes import SIM_BODY, SIM_ORDER, add_rest_routes, json_response
from adapters.sim.sim_errors import SimAPIError
from adapters.sim.sim_state import (
    SIM_STATE,
    Credentials,
    SimServerOptions,
    SimState,
    options_from_config,
)

__all__ = [
    "SIM_STATE",
    "Credentials",
    "SimServerOptions",
    "SimState",
    "create_app",
    "options_from_config",
    "serve",
]

log = logging.getLogger("adapters.sim.server")

STREAM_PATHS = frozenset({"/stream", "/v2/iex", "/v2/sip", "/v2/test"})



_FAULT_BODIES: dict[str, tuple[int, dict[str, Any]]] = {
    "429": (429, {"code": 42910000, "message": "rate limit exceeded"}),
    "500": (500, {"code": 50010000, "message": "internal server error"}),
    "504": (504, {"code": 50410000, "message": "gateway timeout"}),
}


def _order_outcome(status: int, body: Mapping[str, Any] | None) -> str:
    if status < 300:
        return "accepted"
    if status == 422 and body and "unique" in str(body.get("message", "")):
        return "duplicate"
    return "rejected"


async def _fault_response(state: SimState, rule: HttpFaultRule) -> tuple[web.Response, str]:
    if rule.action == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.closing.wait(), rule.hang_seconds)
        status, body = _FAULT_BODIES["504"]
        return json_response(body, status=status), "fault-timeout"
    status, body = _FAULT_BODIES[rule.action]
    return json_response(body, status=status), f"fault-{rule.action}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def alpaca_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/_sim/") or path in STREAM_PATHS:
        return await handler(request)
    state = request.app[SIM_STATE]
    method = request.method
    is_order_post = method == "POST" and path == "/v2/orders"
    cid: str | None = None
    if is_order_post:
        with contextlib.suppress(Exception):
            body = msgspec.json.decode(await request.read())
            if isinstance(body, dict):
                request[SIM_BODY] = body
                raw_cid = body.get("client_order_id")
                cid = str(raw_cid) if raw_cid is not None else None

    def record(
        status: int, outcome: str, order_id: str | None = None, code: int | None = None
    ) -> None:
        state.request_log.add(
            at=state.now_iso(),
            method=method,
            path=path,
            client_order_id=cid,
            status=status,
            outcome=outcome,
            order_id=order_id,
            error_code=code,
        )

    key = request.headers.get("APCA-API-KEY-ID", "")
    secret = request.headers.get("APCA-API-SECRET-KEY", "")
    if not state.credentials.check(key, secret):
        record(401, "unauthorized")
        return json_response({"message": "unauthorized"}, status=401)
    decision = state.limiter.take(key)
    if not decision.allowed:
        record(429, "rate-limited")
        resp = json_response({"code": 42910000, "message": "rate limit exceeded"}, status=429)
        resp.headers.update(decision.headers())
        return resp
    rule = state.http_faults.take(method, path)
    if rule is not None and not rule.after_accept:
        resp, outcome = await _fault_response(state, rule)
        record(resp.status, outcome)
        resp.headers.update(decision.headers())
        return resp
    error_code: int | None = None
    try:
        response = await handler(request)
        error_body: dict[str, Any] | None = None
    except SimAPIError as e:
        error_body = e.body()
        error_code = e.code
        response = json_response(error_body, status=e.status)
    except web.HTTPException as e:
        if e.status == 404 and e.text and not e.text.startswith("{"):
            e.text = msgspec.json.encode(
                {"code": 40410000, "message": "endpoint not found"}
            ).decode()
            e.content_type = "application/json"
        e.headers.update(decision.headers())
        raise
    order = request.get(SIM_ORDER)
    order_id = order[1] if order else None
    if cid is None and order:
        cid = order[0]
    if method in ("POST", "PATCH", "DELETE") and path.startswith(("/v2/orders", "/v2/positions")):
        outcome = _order_outcome(response.status, error_body)
    else:
        outcome = "ok" if response.status < 400 else "error"
    if rule is not None:  # after accept: the work is done, the answer is lost
        response, fault_outcome = await _fault_response(state, rule)
        outcome = f"{fault_outcome}-after-accept" if outcome == "accepted" else fault_outcome
    record(response.status, outcome, order_id, error_code)
    response.headers.update(decision.headers())
    return response


def create_app(
    exchange: Any,
    sim_config: Any = None,
    *,
    clock: Any = None,
    options: SimServerOptions | None = None,
    run_ticker: bool = True,
) -> web.Application:
    """The whole simulator as one aiohttp app. ``clock`` defaults to ``exchange.clock``;
    ``options`` to ``options_from_config(sim_config)``. With ``run_ticker`` a background
    task steps the exchange every ``options.tick_seconds`` (prices move as the clock
    does; a stepped clock moves only through ``/_sim/clock``)."""
    if options is None:
        options = options_from_config(sim_config) if sim_config is not None else SimServerOptions()
    if clock is None:
        clock = getattr(exchange, "clock", None)
    state = SimState(exchange, clock, options)
    app = web.Application(middlewares=[alpaca_middleware])
    app[SIM_STATE] = state
    add_rest_routes(app)
    add_data_routes(app)
    add_control_routes(app)
    app.router.add_get("/stream", state.trade_hub.handle)
    app.router.add_get("/v2/{feed:iex|sip|test}", state.data_hub.handle)
    if hasattr(exchange, "add_market_listener"):
        exchange.add_market_listener(state.data_hub.publish)
    if hasattr(exchange, "add_trade_listener"):
        exchange.add_trade_listener(state.trade_hub.publish)

    async def ticker(app: web.Application) -> Any:
        task = asyncio.get_running_loop().create_task(_tick_loop(state)) if run_ticker else None
        yield
        state.closing.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def on_shutdown(app: web.Application) -> None:
        state.closing.set()
        await state.data_hub.close_all()
        await state.trade_hub.close_all()

    app.cleanup_ctx.append(ticker)
    app.on_shutdown.append(on_shutdown)
    return app


async def _tick_loop(state: SimState) -> None:
    while True:
        await asyncio.sleep(state.options.tick_seconds)
        state.step()


@dataclass(slots=True)
class RunningServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start ``app`` on ``host:port`` (port 0: any free port) in the running loop."""
    runner = web.AppRunner(app, shutdown_timeout=2.0, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    addresses = runner.addresses
    actual = int(addresses[0][1]) if addresses else port
    return RunningServer(runner, host, actual)


async def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    exchange: Any,
    sim_config: Any = None,
    options: SimServerOptions | None = None,
    ready: Callable[[RunningServer], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or the task is cancelled), then shut down cleanly."""
    app = create_app(exchange, sim_config, options=options)
    server = await start(app, host, port)
    try:
        if ready is not None:
            ready(server)
        await (stop or asyncio.Event()).wait()
    finally:
        await server.close()
