"""The trading REST endpoints a rebalancer uses (§1 and §9.1 of the reference), plus the
latest-quotes data endpoint, as thin aiohttp handlers over ``SimExchange``.

Each handler parses the query/body, calls the exchange, and returns its JSON-ready
answer; ``SimAPIError`` is turned into Alpaca's error body by the server's middleware.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from aiohttp import web

from adapters.sim.sim_errors import SimAPIError
from adapters.sim.sim_state import state_of

__all__ = ["SIM_BODY", "SIM_ORDER", "add_rest_routes", "json_response"]

_encode = msgspec.json.Encoder().encode

# what the order handlers leave on the request for the middleware's request log
SIM_BODY = web.RequestKey("sim_body", dict)
SIM_ORDER = web.RequestKey("sim_order", tuple)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encode(body), status=status, content_type="application/json")


def _bool(value: str | None, name: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    low = value.lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise SimAPIError(422, 40010001, f"invalid {name} {value!r}: use true or false")


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SimAPIError(422, 40010001, f"invalid {name} {value!r}: use an integer") from None


def _date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise SimAPIError(422, 40010001, f"invalid {name} {value!r}: use YYYY-MM-DD") from None


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        raise SimAPIError(400, 40010000, "request body format is invalid: send a JSON object")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise SimAPIError(
            400, 40010000, "request body format is invalid: send a JSON object"
        ) from None
    if not isinstance(body, dict):
        raise SimAPIError(400, 40010000, "request body format is invalid: send a JSON object")
    return body


async def get_account(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.account())


async def get_account_configurations(request: web.Request) -> web.Response:
    return json_response(
        {
            "dtbp_check": "entry",
            "trade_confirm_email": "all",
            "suspend_trade": False,
            "no_shorting": False,
            "fractional_trading": True,
            "max_margin_multiplier": "1",
        }
    )


async def get_positions(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.positions())


async def get_position(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.position(request.match_info["symbol"]))


async def close_position(request: web.Request) -> web.Response:
    q = request.query
    order = state_of(request).exchange.close_position(
        request.match_info["symbol"], qty=q.get("qty"), percentage=q.get("percentage")
    )
    request[SIM_ORDER] = (order.get("client_order_id"), order.get("id"))
    return json_response(order)


async def close_all_positions(request: web.Request) -> web.Response:
    cancel = _bool(request.query.get("cancel_orders"), "cancel_orders")
    return json_response(state_of(request).exchange.close_all_positions(cancel), status=207)


async def submit_order(request: web.Request) -> web.Response:
    body = request.get(SIM_BODY)
    if body is None:
        body = await _json_body(request)
    order = state_of(request).exchange.submit_order(body)
    request[SIM_ORDER] = (order.get("client_order_id"), order.get("id"))
    return json_response(order)


async def list_orders(request: web.Request) -> web.Response:
    q = request.query
    status = q.get("status", "open")
    if status not in ("open", "closed", "all"):
        raise SimAPIError(422, 40010001, f"invalid status {status!r}: use open, closed or all")
    limit = _int(q.get("limit"), "limit", 50)
    if not 1 <= limit <= 500:
        raise SimAPIError(422, 40010001, f"invalid limit {limit}: must be between 1 and 500")
    direction = q.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise SimAPIError(422, 40010001, f"invalid direction {direction!r}: use asc or desc")
    symbols_raw = q.get("symbols")
    symbols = [s for s in symbols_raw.split(",") if s] if symbols_raw else None
    orders = state_of(request).exchange.list_orders(
        status=status,
        limit=limit,
        after=q.get("after") or None,
        until=q.get("until") or None,
        direction=direction,
        symbols=symbols,
        nested=_bool(q.get("nested"), "nested"),
    )
    return json_response(orders)


async def cancel_all_orders(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.cancel_all_orders(), status=207)


async def get_order(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.get_order(request.match_info["order_id"]))


async def get_order_by_client_id(request: web.Request) -> web.Response:
    cid = request.query.get("client_order_id")
    if not cid:
        raise SimAPIError(422, 40010001, "client_order_id is missing: pass ?client_order_id=…")
    return json_response(state_of(request).exchange.get_order_by_client_id(cid))


async def cancel_order(request: web.Request) -> web.Response:
    state_of(request).exchange.cancel_order(request.match_info["order_id"])
    return web.Response(status=204)


async def replace_order(request: web.Request) -> web.Response:
    body = await _json_body(request)
    order = state_of(request).exchange.replace_order(request.match_info["order_id"], body)
    request[SIM_ORDER] = (order.get("client_order_id"), order.get("id"))
    return json_response(order)


async def get_clock(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.clock_json())


async def get_calendar(request: web.Request) -> web.Response:
    q = request.query
    start, end = _date(q.get("start"), "start"), _date(q.get("end"), "end")
    return json_response(state_of(request).exchange.calendar_json(start, end))


async def get_assets(request: web.Request) -> web.Response:
    q = request.query
    assets = state_of(request).exchange.assets(
        status=q.get("status") or None, asset_class=q.get("asset_class") or None
    )
    return json_response(assets)


async def get_asset(request: web.Request) -> web.Response:
    return json_response(state_of(request).exchange.asset(request.match_info["symbol"]))


async def latest_quotes(request: web.Request) -> web.Response:
    raw = request.query.get("symbols", "")
    symbols = [s for s in raw.split(",") if s]
    if not symbols:
        raise SimAPIError(400, 40010000, "symbols is missing: pass ?symbols=SPY,AGG")
    return json_response(state_of(request).exchange.latest_quotes(symbols))


def add_rest_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/v2/account", get_account)
    r.add_get("/v2/account/configurations", get_account_configurations)
    r.add_get("/v2/positions", get_positions)
    r.add_delete("/v2/positions", close_all_positions)
    r.add_get("/v2/positions/{symbol}", get_position)
    r.add_delete("/v2/positions/{symbol}", close_position)
    r.add_post("/v2/orders", submit_order)
    r.add_get("/v2/orders", list_orders)
    r.add_delete("/v2/orders", cancel_all_orders)
    r.add_get("/v2/orders:by_client_order_id", get_order_by_client_id)
    r.add_get("/v2/orders/{order_id}", get_order)
    r.add_delete("/v2/orders/{order_id}", cancel_order)
    r.add_patch("/v2/orders/{order_id}", replace_order)
    r.add_get("/v2/clock", get_clock)
    r.add_get("/v2/calendar", get_calendar)
    r.add_get("/v2/assets", get_assets)
    r.add_get("/v2/assets/{symbol}", get_asset)
    r.add_get("/v2/stocks/quotes/latest", latest_quotes)
