"""A broad, seeded set of planner inputs and a canonical digest of each plan, for
``test_planner_frozen`` (the planner's optimisations must give equal ``Plan``s, every field).

The inputs are built here from a seed (``random.Random``, stable across Python versions),
over the dimensions of ``test_planner_properties.cases`` and more: bands, target modes,
scopes, top-k, caps, fractional and whole shares, the whole-share leftover spread, stale,
crossed, missing and one-sided quotes, excluded and extra holdings, pending orders and
reserved cash, market orders, cash flows, sells only, funding from cash on hand, the gate
off/on, minimum trades, config and market covariances, taxable accounts with lots; and the
benchmark's scenarios (``tests.bench.bench_planner``) at 100 and 1,000 assets.

The digests in ``planner_frozen.json`` were recorded from the planner before its numpy
rewrite. A deliberate change of what the planner decides re-records them:
``PYTHONPATH=. python -m tests.core.planner_frozen_cases --write`` (say why in the commit).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    CostConfig,
    Leftover,
    NotInTargets,
    PlannerConfig,
    PortfolioConfig,
    Scope,
    TargetMode,
)
from daemon.core.model import Holdings, Quote
from daemon.core.planning.arrays import seq_add
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from daemon.core.tax.ledger import LotsOpened, replay
from daemon.core.tax.lots import Lot
from daemon.core.tax.policy import tax_policy
from tests.bench.bench_planner import build, covariance

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
FROZEN = Path(__file__).with_name("planner_frozen.json")
RANDOM_CASES = 1500

Planned = Callable[[], Plan]


def digest(plan: Plan) -> str:
    """Every field of the plan, exactly: floats by their repr (round-trip), Decimals with
    their exponent, dicts in their order."""
    return hashlib.sha256(repr(plan).encode()).hexdigest()[:24]


def _band(rng: random.Random) -> Band:
    rule = rng.choice(list(BandRule))
    widths = [0.01, 0.02, 0.05, 0.1] + ([] if rule is BandRule.ABSOLUTE else [None])
    return Band(absolute=rng.choice(widths), relative=rng.choice([0.1, 0.25, 0.5]), rule=rule)


def random_case(seed: int) -> Planned:
    """One random portfolio and plan call (see the module docstring)."""
    rng = random.Random(seed)
    c = rng.choice
    n = rng.randint(1, 40)
    syms = [f"S{i:02d}" for i in range(n)]
    cash_target = c([0.0, 0.0, 0.02, 0.05])
    raw = [rng.randint(0 if rng.random() < 0.1 else 1, 100) for _ in syms]
    if seq_add(raw) == 0:
        raw[0] = 1
    scale = (1 - cash_target) / seq_add(raw)
    targets = [r * scale for r in raw]
    targets[-1] = max(0.0, 1 - cash_target - seq_add(targets[:-1]))  # not sum: 3.12's is compensated
    assets = tuple(
        AssetConfig(
            s,
            t,
            band=_band(rng),
            fractional=rng.random() < 0.6,
            sigma=c([None, None, 0.01, 0.03]),
            adv=c([None, None, 2e5]),
            expected_return=c([None, None, 0.08]),
            max_spread=c([None, None, 0.02]),
        )
        for s, t in zip(syms, targets, strict=True)
    )
    extra = rng.sample(["X1", "X2", "X3"], rng.randint(0, 3))
    excluded = frozenset(rng.sample(syms + extra, min(len(syms + extra), c([0, 0, 0, 1, 3]))))
    pf = PortfolioConfig(
        assets=assets,
        cash_target=cash_target,
        cash_band=Band(absolute=c([0.01, 0.02]), relative=None, rule=BandRule.ABSOLUTE),
        cash_buffer=c([0.0, 0.01, 0.05]),
        excluded=excluded,
        not_in_targets=c(list(NotInTargets)),
    )
    planner = PlannerConfig(
        target_mode=c(list(TargetMode)),
        scope=c(list(Scope)),
        min_order_notional=c([D(1), D(1), D(25)]),
        limit_offset=c([0.0, 0.001, 0.005]),
        market_orders=rng.random() < 0.2,
        participation_cap=c([0.0, 0.05, 0.5]),
        top_k=c([None, None, None, 1, 3]),
        whole_share_leftover=c(list(Leftover)),
    )
    cov: dict[tuple[str, str], float] = {}
    if rng.random() < 0.2 and n >= 2:
        a, b = rng.sample(syms, 2)
        cov[(a, b)] = cov[(b, a)] = 0.0001
        cov[(a, a)] = 0.0004
    cost = CostConfig(
        gate=rng.random() < 0.5,
        commission_per_order=c([D(0), D("0.35"), D(2)]),
        commission_bps=c([0.0, 1.0]),
        default_adv=c([None, 1e6]),
        risk_aversion=c([2.0, 2.0, 10.0]),
        covariance=cov,
        min_trade_dollars=c([D(0), D(0), D(100)]),
        min_trade_percent=c([0.0, 0.0, 0.01]),
    )
    config = Config(pf, planner=planner, cost=cost)
    quotes: dict[str, Quote] = {}
    positions: dict[str, D] = {}
    bad_quotes = rng.random() < 0.3
    for s in syms + extra:
        mid = c([0.37, 1.0, 7.77, 49.5, 101.23, 245.12, 612.0, 3100.0])
        spread = mid * c([0.0, 0.0002, 0.002, 0.01])
        kind = c(["ok"] * 8 + ["stale", "crossed", "missing", "zero"]) if bad_quotes else "ok"
        at = NOW - timedelta(seconds=60 if kind == "stale" else c([0, 2]))
        bid, ask = mid - spread / 2, mid + spread / 2
        if kind == "crossed":
            bid, ask = ask + 0.01, bid
        if kind == "zero":
            bid = 0.0
        if kind != "missing":
            quotes[s] = Quote(
                s, round(bid, 4), round(ask, 4), at,
                adv=c([None, 500.0, 1e7]), sigma=c([None, 0.02]),
            )  # fmt: skip
        dollars = c([0, 0, 50, 500, 5_000, 50_000, 400_000])
        a = config.asset(s)
        qty = D(repr(dollars / mid)).quantize(D("0.001"))
        if a is not None and not a.fractional:
            qty = qty.to_integral_value()
        if qty > 0:
            positions[s] = qty
    cash = D(c([0, 10, 1000, 25_000, 100_000, "1234.56"]))
    reserved = min(cash, D(c([0, 0, 300])))
    pending: dict[str, D] = {}
    if positions and rng.random() < 0.3:
        s = c(sorted(positions))
        pending[s] = -(positions[s] / 2).quantize(D("0.001"))
    if rng.random() < 0.1:
        pending[c(syms)] = D(c(["1", "0.5"]))
    halted = rng.sample(syms, 1) if rng.random() < 0.1 else []
    kw: dict[str, Any] = {
        "triggered": rng.random() < 0.95,
        "reserved_cash": reserved,
        "pending_qty": pending,
        "halted": halted,
        "sells_only": rng.random() < 0.1,
        "fund_from_sells": rng.random() < 0.7,
        "gate": rng.random() < 0.85,
    }
    if rng.random() < 0.2:
        held = sorted(quotes)
        sig = [rng.uniform(0.005, 0.03) for _ in held]
        rho = c([0.0, 0.3, 0.8])
        kw["covariance"] = (
            tuple(held),
            tuple(tuple(a * b * (1.0 if i == j else rho) for j, b in enumerate(sig))
                  for i, a in enumerate(sig)),
        )  # fmt: skip
    if rng.random() < 0.25:
        tax = TaxConfig(
            account=AccountKind.TAXABLE,
            never_realize_short_term_gains=rng.random() < 0.3,
            wait_for_long_term_days=c([0, 30]),
            annual_gain_budget=c([None, D(0), D(500)]),
        )
        config = replace(config, tax=tax)
        lots = []
        for k, (s, q) in enumerate(sorted(positions.items())):
            days = c([10, 200, 370, 800])
            mid = quotes[s].mid if s in quotes else 50.0
            basis = D(repr(round(float(q) * mid * c([0.7, 1.0, 1.3]), 2)))
            lots.append(Lot(f"L{k}", s, date(2026, 1, 5) - timedelta(days=days), q, basis))
        policy = tax_policy(config, replay([LotsOpened(tuple(lots))]), NOW)
        kw["tax"] = policy
    holdings = Holdings(cash, positions)
    return lambda: plan_rebalance(config, holdings, quotes, NOW, **kw)


def bench_cases() -> Iterator[tuple[str, Planned]]:
    """``bench_planner``'s scenarios at 100 and 1,000 assets (and a small one)."""
    from tests.bench.bench_planner import NOW as BENCH_NOW

    for n in (7, 100, 1000):
        config, holdings, quotes = build(n)
        oob = replace(config, planner=replace(config.planner, scope=Scope.OUT_OF_BAND))
        market = replace(config, planner=replace(config.planner, market_orders=True))
        gated = replace(config, cost=replace(config.cost, gate=True))
        whole = replace(
            config,
            portfolio=replace(
                config.portfolio,
                assets=tuple(replace(a, fractional=False) for a in config.portfolio.assets),
            ),
        )
        cov = covariance(quotes)
        runs: dict[str, tuple[Config, dict[str, Any]]] = {
            "drifted": (config, {}),
            "out_of_band": (oob, {}),
            "engine_round": (config, {"fund_from_sells": False}),
            "covariance": (config, {"fund_from_sells": False, "covariance": cov}),
            "market_orders": (market, {}),
            "not_triggered": (config, {"triggered": False}),
            "gated": (gated, {}),
            "whole": (whole, {}),
            "sells_only": (config, {"sells_only": True}),
        }
        for label, (cfg, kw) in runs.items():
            yield (
                f"bench-{n}-{label}",
                lambda cfg=cfg, kw=kw, h=holdings, q=quotes: plan_rebalance(
                    cfg, h, q, BENCH_NOW, **kw
                ),
            )


def all_cases() -> Iterator[tuple[str, Planned]]:
    yield from bench_cases()
    for seed in range(RANDOM_CASES):
        yield f"random-{seed}", random_case(seed)


def record() -> dict[str, str]:
    return {name: digest(planned()) for name, planned in all_cases()}


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        FROZEN.write_text(json.dumps(record(), indent=0, sort_keys=False) + "\n")
        print(f"wrote {FROZEN}")
    elif len(sys.argv) == 3 and sys.argv[1] == "--dump":  # full reprs, to diff by hand
        with open(sys.argv[2], "w") as out:
            for name, planned in all_cases():
                out.write(f"{name} {planned()!r}\n")
    else:
        raise SystemExit("usage: python -m tests.core.planner_frozen_cases --write | --dump FILE")
