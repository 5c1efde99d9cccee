"""Milliseconds per ``plan_rebalance`` for a 1,000-asset portfolio (aim: < 5 ms).

Run: ``.venv/bin/python -m tests.bench.bench_planner [n_assets] [repeats]``. Prints figures;
asserts nothing about speed. Three scenarios, seeded:

- ``drifted``: every asset off target by up to ±40 % of its weight, target mode, scope all:
  every asset trades (the worst case: 1,000 orders);
- ``out_of_band``: the same portfolio, scope out_of_band: only assets outside their bands;
- ``engine_round``: drifted, as the engine plans a round (``fund_from_sells=False``: buys
  only from cash on hand, so they are scaled down to the 2 % cash);
- ``covariance``: the engine's round with a market covariance of every asset (ρ = 0.3, as
  the daemon plans once ``market_stats`` has estimated one): the benefit's off-diagonal
  terms, n²/2 pairs;
- ``market_orders``: drifted with market orders (fractional buys become notional orders);
- ``not_triggered``: weights and skips only (what the daemon computes on every check).

Each scenario's plan is computed from fresh ``Quote`` objects per run (nothing may be cached
on the quotes). The load average is printed: wall-clock figures from a busy machine read high; the thread's
CPU time (``cpu``) is steadier.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from daemon.core.config.values import (
    AssetConfig,
    Config,
    CostConfig,
    PlannerConfig,
    PortfolioConfig,
    Scope,
)
from daemon.core.model import Holdings, Quote
from daemon.core.planning.benefit import MarketCovariance
from daemon.core.planning.planner import plan_rebalance
from tests.bench.summary import result

NOW = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)
TIMES: dict[str, float] = {}  # label → median ms, for the RESULT line


def build(n: int, seed: int = 11) -> tuple[Config, Holdings, dict[str, Quote]]:
    rng = random.Random(seed)
    symbols = [f"S{k:04d}" for k in range(n)]
    target = 0.98 / n
    assets = tuple(AssetConfig(s, target, fractional=rng.random() < 0.8) for s in symbols)
    config = Config(
        PortfolioConfig(assets=assets, cash_target=0.02),
        cost=CostConfig(gate=False, commission_bps=0.5, default_adv=2e6),
        planner=PlannerConfig(),
    )
    value = 10_000_000.0
    quotes: dict[str, Quote] = {}
    positions: dict[str, Decimal] = {}
    for s in symbols:
        mid = rng.uniform(5, 500)
        spread = mid * rng.uniform(0.0001, 0.002)
        quotes[s] = Quote(
            s,
            round(mid - spread / 2, 2),
            round(mid + spread / 2, 2),
            NOW,
            adv=rng.choice([None, 1e6, 5e6]),
            sigma=rng.uniform(0.005, 0.03),
        )
        w = target * (1 + rng.uniform(-0.4, 0.4))
        positions[s] = Decimal(repr(round(w * value / mid, 3)))
    return config, Holdings(Decimal("200000.00"), positions), quotes


def covariance(quotes: dict[str, Quote], rho: float = 0.3) -> MarketCovariance:
    """A daily covariance of every symbol: σᵢσⱼρ off the diagonal, σᵢ² on it."""
    symbols = sorted(quotes)
    sigma = [quotes[s].sigma or 0.015 for s in symbols]
    matrix = tuple(
        tuple(a * b * (1.0 if i == j else rho) for j, b in enumerate(sigma))
        for i, a in enumerate(sigma)
    )
    return tuple(symbols), matrix


def time_plan(
    label: str,
    config: Config,
    holdings: Holdings,
    quotes: dict[str, Quote],
    repeats: int,
    **kw: object,
) -> None:
    plan = plan_rebalance(config, holdings, quotes, NOW, **kw)  # type: ignore[arg-type]  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        fresh = {s: replace(q) for s, q in quotes.items()}
        t0, c0 = time.perf_counter(), time.thread_time()
        again = plan_rebalance(config, holdings, fresh, NOW, **kw)  # type: ignore[arg-type]
        cpu.append((time.thread_time() - c0) * 1000)
        times.append((time.perf_counter() - t0) * 1000)
        if again != plan:
            raise SystemExit(f"{label}: the same input planned differently")
    TIMES[label] = statistics.median(times)
    TIMES[label + ":cpu"] = statistics.median(cpu)
    print(
        f"{label:<14} {statistics.median(times):7.2f} ms median {min(times):7.2f} ms min  "
        f"(cpu {statistics.median(cpu):6.2f} ms median)  "
        f"orders={len(plan.orders):5d}  skipped={len(plan.skipped):4d}"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    config, holdings, quotes = build(n)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"plan_rebalance, {n} assets, {repeats} runs each (load average {load})")
    time_plan("drifted", config, holdings, quotes, repeats)
    oob = replace(config, planner=replace(config.planner, scope=Scope.OUT_OF_BAND))
    time_plan("out_of_band", oob, holdings, quotes, repeats)
    time_plan("engine_round", config, holdings, quotes, repeats, fund_from_sells=False)
    time_plan(
        "covariance", config, holdings, quotes, repeats, fund_from_sells=False,
        covariance=covariance(quotes),
    )  # fmt: skip
    market = replace(config, planner=replace(config.planner, market_orders=True))
    time_plan("market_orders", market, holdings, quotes, repeats)
    time_plan("not_triggered", config, holdings, quotes, repeats, triggered=False)
    aim = {1000: 5.0, 100: 1.0}.get(n)
    drifted = TIMES["drifted"]
    result(f"planner, a triggered {n:,}-asset plan",
           f"{drifted:.2f} ms median (cpu {TIMES['drifted:cpu']:.2f} ms)",
           f"< {aim:g} ms" if aim else "", (drifted < aim) if aim else None)  # fmt: skip


if __name__ == "__main__":
    main()
