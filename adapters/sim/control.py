"""The simulator's control API under ``/_sim/`` (no auth; the server binds 127.0.0.1):

- ``GET  /_sim/clock``; ``POST /_sim/clock`` ``{"set": RFC3339}`` or ``{"advance": seconds}``
  (then the exchange is stepped to the new time);
- ``POST /_sim/price`` ``{"symbol", "bid", "ask"}`` or ``{"symbol", "factor"}`` (a jump);
- ``POST /_sim/halt`` ``{"symbol", "halted": true|false}``;
- ``POST /_sim/split`` ``{"symbol", "ratio"}``; ``POST /_sim/dividend`` ``{"symbol", "per_share"}``;
- ``GET  /_sim/faults``; ``POST /_sim/faults`` with any of
  ``{"http": [{"action": "429|500|504|timeout", "path": "/v2/orders", "method": "POST",
  "count": 1, "after_accept": false, "hang_seconds": 30}],
  "stream": [{"stream": "data|trade|both", "action": "drop|mute|unmute|refuse", "seconds": 90}],
  "exchange": {"reject_next": 1, "stuck_pending_new": true, ...}}``;
- ``POST /_sim/reset-faults`` (HTTP, stream and exchange faults back to off);
- ``GET  /_sim/account``: the account, positions, all orders and the exchange state;
  ``POST /_sim/restore`` ``{"state": …}`` puts a snapshot back;
- ``GET  /_sim/requests?since=SEQ&orders_only=1``: the request log;
- ``POST /_sim/publish`` ``{"messages": [{"T": "u", "S": …, "t": RFC3339, …}]}``: raw
  market-data messages to the stream (bars, late bar updates, zero quotes, statuses);
- ``GET  /_sim/stats``: connection and publication counters.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aiohttp import web

from adapters.sim.faults import FaultError, HttpFaultRule, StreamFaults
from adapters.sim.rest_routes import json_response
from adapters.sim.sim_config import SimConfigError
from adapters.sim.sim_errors import SimAPIError
from adapters.sim.sim_state import SimState, state_of

__all__ = ["ControlError", "add_control_routes", "apply_faults"]


class ControlError(ValueError):
    pass


def _bad(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.read() or b"{}")
    except msgspec.DecodeError as e:
        raise ControlError(f"body is not JSON ({e}); send a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("send a JSON object")
    return body


def _symbol(body: dict[str, Any]) -> str:
    sym = body.get("symbol")
    if not isinstance(sym, str) or not sym:
        raise ControlError('"symbol" is missing: send {"symbol": "SPY", …}')
    return sym


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ControlError(f'"{name}" is missing or not a number')
    try:
        return float(value)
    except ValueError:
        raise ControlError(f'"{name}" must be a number, got {value!r}') from None


def _decimal(body: dict[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(body.get(name)))
    except InvalidOperation:
        raise ControlError(f'"{name}" must be a decimal string like "0.25"') from None


def _wrap(fn: Any) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            resp: web.StreamResponse = await fn(request)
            return resp
        except (ControlError, FaultError, SimConfigError) as e:
            return _bad(str(e))
        except SimAPIError as e:
            return json_response(e.body(), status=e.status)
        except (ValueError, KeyError) as e:
            return _bad(f"{type(e).__name__}: {e}", status=409)

    return handler


async def get_clock(request: web.Request) -> web.Response:
    state = state_of(request)
    return json_response({"now": state.now_iso(), "mode": str(getattr(state.clock, "mode", ""))})


async def post_clock(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    if "set" in body:
        try:
            t = datetime.fromisoformat(str(body["set"]))
        except ValueError:
            raise ControlError(
                f'"set" {body["set"]!r} is not RFC 3339 (2026-11-23T14:30:00Z)'
            ) from None
        state.clock.set(t)
    elif "advance" in body:
        state.clock.advance(_number(body, "advance"))
    else:
        raise ControlError('send {"set": "2026-11-23T14:30:00Z"} or {"advance": 60}')
    state.step()
    return json_response({"now": state.now_iso()})


async def post_price(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    symbol = _symbol(body)
    if "factor" in body:
        factor = _number(body, "factor")
        if factor <= 0:
            raise ControlError('"factor" must be > 0 (1.1 = +10 %)')
        state.exchange.jump_price(symbol, factor)
    else:
        bid, ask = _number(body, "bid"), _number(body, "ask")
        if bid < 0 or ask < 0:
            raise ControlError("bid and ask must be >= 0 (0 means no quote on that side)")
        state.exchange.set_quote(symbol, bid, ask)
    state.step()
    return json_response({"ok": True, "quote": state.exchange.latest_quotes([symbol])})


async def post_halt(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    symbol = _symbol(body)
    halted = body.get("halted", True)
    if not isinstance(halted, bool):
        raise ControlError('"halted" must be true or false')
    state.exchange.halt(symbol, halted)
    state.step()
    return json_response({"symbol": symbol, "halted": halted})


async def post_split(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    symbol, ratio = _symbol(body), _decimal(body, "ratio")
    if ratio <= 0:
        raise ControlError('"ratio" must be > 0 (2 = two-for-one)')
    state.exchange.split(symbol, ratio)
    return json_response({"symbol": symbol, "ratio": str(ratio)})


async def post_dividend(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    symbol, per_share = _symbol(body), _decimal(body, "per_share")
    if per_share < 0:
        raise ControlError('"per_share" must be >= 0')
    state.exchange.dividend(symbol, per_share)
    return json_response({"symbol": symbol, "per_share": str(per_share)})


def _faults_json(state: SimState) -> dict[str, Any]:
    ex_faults = getattr(state.exchange, "faults", None)
    return {
        "http": [r.to_json() for r in state.http_faults.rules],
        "stream": state.stream_faults.state(),
        "exchange": ex_faults.to_json()
        if ex_faults is not None and hasattr(ex_faults, "to_json")
        else None,
    }


async def get_faults(request: web.Request) -> web.Response:
    return json_response(_faults_json(state_of(request)))


async def post_faults(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    return json_response(apply_faults(state, body))


def apply_faults(state: SimState, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a fault request (the body of ``POST /_sim/faults``, or a ``--faults`` file):
    everything is validated before anything changes. Returns the fault state."""
    unknown = set(body) - {"http", "stream", "exchange"}
    if unknown:
        raise ControlError(f"unknown fault group(s) {sorted(unknown)}; use http, stream, exchange")
    # validate everything before applying anything
    http = [HttpFaultRule.from_json(r) for r in _list(body.get("http", []), "http")]
    streams = [_stream_fault(r) for r in _list(body.get("stream", []), "stream")]
    exchange = body.get("exchange", {})
    if not isinstance(exchange, dict):
        raise ControlError('"exchange" must be an object like {"reject_next": 1}')
    if exchange:
        state.exchange.faults.update(exchange)
    for rule in http:
        state.http_faults.add(rule)
    dropped = 0
    for stream, action, seconds in streams:
        faults: StreamFaults = state.stream_faults
        if action == "drop":
            dropped += faults.drop(stream)
        elif action == "mute":
            faults.mute(stream, True)
        elif action == "unmute":
            faults.mute(stream, False)
        else:
            faults.refuse_reconnects(stream, seconds)
    out = _faults_json(state)
    out["dropped_connections"] = dropped
    return out


def _list(value: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ControlError(f'"{name}" must be a list of objects')
    return value


def _stream_fault(raw: dict[str, Any]) -> tuple[str, str, float]:
    stream = str(raw.get("stream", "both"))
    StreamFaults.check_stream(stream)
    action = raw.get("action")
    if action not in ("drop", "mute", "unmute", "refuse"):
        raise ControlError(
            f"stream fault action {action!r} is not one of drop, mute, unmute, refuse"
        )
    seconds = 0.0
    if action == "refuse":
        seconds = _number(raw, "seconds")
        if seconds < 0:
            raise ControlError('"seconds" must be >= 0')
    return stream, action, seconds


async def reset_faults(request: web.Request) -> web.Response:
    state = state_of(request)
    state.http_faults.clear()
    state.stream_faults.clear()
    ex_faults = getattr(state.exchange, "faults", None)
    if ex_faults is not None and hasattr(ex_faults, "update"):
        ex_faults.update(
            {
                "reject_next": 0,
                "reject_symbols": [],
                "stuck_pending_new": False,
                "duplicate_fills": False,
                "cancel_races_fill": False,
            }
        )
    return json_response(_faults_json(state))


async def get_account(request: web.Request) -> web.Response:
    ex = state_of(request).exchange
    return json_response(
        {
            "account": ex.account(),
            "positions": ex.positions(),
            "orders": ex.list_orders(status="all", limit=500, direction="asc"),
            "state": ex.snapshot_state(),
        }
    )


async def post_restore(request: web.Request) -> web.Response:
    state, body = state_of(request), await _body(request)
    snapshot = body.get("state")
    if not isinstance(snapshot, dict):
        raise ControlError('send {"state": <the "state" from GET /_sim/account>}')
    state.exchange.restore_state(snapshot)
    return json_response({"ok": True, "account": state.exchange.account()})


async def get_requests(request: web.Request) -> web.Response:
    state = state_of(request)
    q = request.query
    try:
        since = int(q.get("since", "0"))
    except ValueError:
        raise ControlError("since must be an integer sequence number") from None
    orders_only = q.get("orders_only", "").lower() in ("1", "true", "yes")
    entries = state.request_log.entries(since_seq=since, orders_only=orders_only)
    return json_response({"requests": [e.to_json() for e in entries]})


async def post_publish(request: web.Request) -> web.Response:
    """Push raw market-data messages to the data stream (bars, late bar updates ``u``,
    quotes with ``bp``/``ap`` = 0, statuses …) exactly as given; ``t`` may be an RFC 3339
    string and is sent as a timestamp (msgpack ext or JSON string, per connection)."""
    state, body = state_of(request), await _body(request)
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("T"), str) for m in messages
    ):
        raise ControlError('send {"messages": [{"T": "q", "S": "SPY", …}, …]} (each with a "T")')
    batch = []
    for m in messages:
        m = dict(m)
        t = m.get("t")
        if isinstance(t, str):
            try:
                m["t"] = datetime.fromisoformat(t)
            except ValueError:
                raise ControlError(f'"t" {t!r} is not RFC 3339') from None
        elif t is None:
            m["t"] = state.clock.now()
        batch.append(m)
    state.data_hub.publish(batch)
    return json_response({"published": len(batch)})


async def get_stats(request: web.Request) -> web.Response:
    state = state_of(request)
    return json_response(
        {
            "data_connections": len(state.data_hub.connections),
            "trade_connections": len(state.trade_hub.connections),
            "published_messages": state.data_hub.published_messages,
            "published_trade_events": state.trade_hub.published_events,
            "step_errors": state.step_errors,
        }
    )


def add_control_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/clock", _wrap(get_clock))
    r.add_post("/_sim/clock", _wrap(post_clock))
    r.add_post("/_sim/price", _wrap(post_price))
    r.add_post("/_sim/halt", _wrap(post_halt))
    r.add_post("/_sim/split", _wrap(post_split))
    r.add_post("/_sim/dividend", _wrap(post_dividend))
    r.add_get("/_sim/faults", _wrap(get_faults))
    r.add_post("/_sim/faults", _wrap(post_faults))
    r.add_post("/_sim/reset-faults", _wrap(reset_faults))
    r.add_get("/_sim/account", _wrap(get_account))
    r.add_post("/_sim/restore", _wrap(post_restore))
    r.add_get("/_sim/requests", _wrap(get_requests))
    r.add_post("/_sim/publish", _wrap(post_publish))
    r.add_get("/_sim/stats", _wrap(get_stats))
