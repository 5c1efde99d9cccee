"""A tiny stand-in exchange for testing the wire layers (auth, rate limit, faults,
request log, stream framing) in isolation from the real ``SimExchange``.

It implements only what those tests touch; everything an alpaca-py client sees end to
end is proven against the real exchange in test_alpaca_py_*.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sim.sim_errors import SimAPIError


class SteppedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 11, 23, 14, 35, tzinfo=UTC)
        self.mode = "stepped"

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> datetime:
        self.t += timedelta(seconds=seconds)
        return self.t

    def set(self, t: datetime) -> datetime:
        self.t = t
        return self.t


class StandInExchange:
    def __init__(self, clock: SteppedClock | None = None) -> None:
        self.clock = clock or SteppedClock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_cid: dict[str, str] = {}
        self.market_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self.trade_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.steps = 0

    def add_market_listener(self, fn: Callable[[list[dict[str, Any]]], None]) -> None:
        self.market_listeners.append(fn)

    def add_trade_listener(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.trade_listeners.append(fn)

    def step(self) -> None:
        self.steps += 1

    def account(self) -> dict[str, Any]:
        return {"id": "acct", "cash": "100000", "status": "ACTIVE"}

    def clock_json(self) -> dict[str, Any]:
        return {"timestamp": self.clock.now().isoformat(), "is_open": True}

    def submit_order(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if cid in self.by_cid:
            raise SimAPIError(422, 40010001, "client_order_id must be unique")
        if body.get("symbol") == "NOPE":
            raise SimAPIError(403, 40310000, "insufficient buying power")
        oid = str(uuid.uuid4())
        order = {"id": oid, "client_order_id": cid, "symbol": body.get("symbol"), "status": "new"}
        self.orders[oid] = order
        self.by_cid[cid] = oid
        for fn in self.trade_listeners:
            fn({"event": "new", "order": order, "timestamp": self.clock.now()})
        return order

    def get_order_by_client_id(self, cid: str) -> dict[str, Any]:
        if cid not in self.by_cid:
            raise SimAPIError(404, 40410000, "order not found")
        return self.orders[self.by_cid[cid]]
