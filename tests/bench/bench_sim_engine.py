"""Paper-exchange engine throughput: quotes generated and matched per second, order
submissions per second. Run: .venv/bin/python -m tests.bench.bench_sim_engine"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from adapters.sim.exchange import SimExchange
from adapters.sim.sim_clock import SimClock
from adapters.sim.sim_config import parse_sim_config


def build(symbols: int, partial: float = 0.1) -> tuple[SimExchange, SimClock]:
    raw = {
        "seed": 1,
        "starting_cash": "100000000",
        "partial_fill_probability": partial,
        "clock": {"mode": "stepped", "start": "2026-11-23T14:30:00Z"},
        "symbols": {f"S{i:03d}": {"price": 50.0 + i, "quote_rate": 1.0} for i in range(symbols)},
    }
    cfg = parse_sim_config(raw)
    clock = SimClock("stepped", datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    return SimExchange(cfg, clock), clock


def bench_quotes(symbols: int = 30, seconds: int = 3600, resting: int = 200) -> None:
    ex, clock = build(symbols)
    sink: list[int] = [0]
    ex.add_market_listener(lambda batch: sink.__setitem__(0, sink[0] + len(batch)))
    for i in range(resting):  # resting limit orders that are matched against every quote
        ex.submit_order({"symbol": f"S{i % symbols:03d}", "qty": "1", "side": "buy",
                         "type": "limit", "limit_price": "1", "time_in_force": "gtc"})  # fmt: skip
    t0 = time.perf_counter()
    for _ in range(seconds):
        clock.advance(1.0)
        ex.step()
    dt = time.perf_counter() - t0
    print(f"quotes: {symbols} symbols × {seconds} s at 1/s with {resting} resting orders: "
          f"{sink[0]} market messages (quotes + bars) in {dt:.2f} s = {sink[0] / dt:,.0f}/s, "
          f"{seconds / dt:,.0f} steps/s")  # fmt: skip


def bench_orders(n: int = 5000) -> None:
    ex, _clock = build(30)
    t0 = time.perf_counter()
    for i in range(n):
        ex.submit_order({"symbol": f"S{i % 30:03d}", "qty": "1", "side": "buy",
                         "type": "market", "time_in_force": "day"})  # fmt: skip
    dt = time.perf_counter() - t0
    print(f"orders: {n} market orders submitted and filled in {dt:.2f} s = {n / dt:,.0f} orders/s")
    t0 = time.perf_counter()
    for _ in range(200):
        ex.account()
        ex.positions()
    dt = time.perf_counter() - t0
    print(f"reads: account()+positions() with 30 positions: {dt / 200 * 1e3:.2f} ms per pair")


def bench_day_jump() -> None:
    ex, clock = build(30)
    t0 = time.perf_counter()
    for _ in range(30):
        clock.advance(86400.0)
        ex.step()
    dt = time.perf_counter() - t0
    print(f"jumps: 30 one-day jumps × 30 symbols: {dt * 1e3 / 30:.2f} ms per jump")


if __name__ == "__main__":
    bench_quotes()
    bench_orders()
    bench_day_jump()
