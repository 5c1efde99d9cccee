"""Builders shared by the paper-exchange engine tests: a stepped clock, an exchange with
a few symbols, and a recorder of trade updates and market messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.sim.exchange import SimExchange
from adapters.sim.sim_clock import SimClock
from adapters.sim.sim_config import parse_sim_config

MONDAY_OPEN = "2026-11-23T14:35:00Z"  # Monday, 09:35 ET

SYMBOLS: dict[str, Any] = {
    "SPY": {"price": 600.0, "volatility": 0.15, "spread_bps": 1.0, "quote_rate": 1.0},
    "AGG": {"price": 98.0, "volatility": 0.05, "spread_bps": 2.0},
    "GLD": {"price": 240.0, "volatility": 0.14, "fractionable": False},
}


@dataclass
class Recorder:
    trades: list[dict[str, Any]] = field(default_factory=list)
    market: list[dict[str, Any]] = field(default_factory=list)

    def events(self, order_id: str | None = None) -> list[str]:
        return [t["event"] for t in self.trades if order_id is None or t["order"]["id"] == order_id]

    def fills(self, order_id: str | None = None) -> list[dict[str, Any]]:
        return [
            t
            for t in self.trades
            if t["event"] in ("fill", "partial_fill")
            and (order_id is None or t["order"]["id"] == order_id)
        ]


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


def make_exchange(
    start: str = MONDAY_OPEN,
    *,
    seed: int = 7,
    partial: float = 0.0,
    cash: str = "100000",
    positions: dict[str, Any] | None = None,
    symbols: dict[str, Any] | None = None,
    faults: dict[str, Any] | None = None,
) -> tuple[SimExchange, SimClock, Recorder]:
    raw: dict[str, Any] = {
        "seed": seed,
        "starting_cash": cash,
        "partial_fill_probability": partial,
        "clock": {"mode": "stepped", "start": start},
        "symbols": symbols or SYMBOLS,
        "positions": positions or {},
        "faults": faults or {},
    }
    cfg = parse_sim_config(raw)
    assert cfg.clock.start is not None
    clock = SimClock("stepped", cfg.clock.start)
    ex = SimExchange(cfg, clock)
    rec = Recorder()
    ex.add_trade_listener(rec.trades.append)
    ex.add_market_listener(rec.market.extend)
    return ex, clock, rec


def order(
    symbol: str = "SPY", side: str = "buy", qty: str | None = "10", **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "type": "market",
        "time_in_force": "day",
    }
    if qty is not None:
        body["qty"] = qty
    body.update(kw)
    return body


def d(s: str | None) -> Decimal:
    assert s is not None
    return Decimal(s)
