"""One gate per run, in the daemon's engine (issue 9 item 1).

The first round judges the whole run (its sells and the buys they fund) once; the sells and
the buys cash on hand pays for go out at once, the rest follow when the sells have filled,
in follow-up rounds that are not judged again.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from daemon.core import events as ev
from daemon.core.commands import RecordDecision
from daemon.core.config.values import CostConfig
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side, TradingState
from tests.core.engine_scenario import (
    RUN,
    at,
    check,
    clock,
    decisions,
    feed,
    fill_all,
    make_config,
    places,
    quote,
    snapshot,
)


def gated_config(**cost: object) -> object:
    c = make_config({"VTI": 0.60, "BND": 0.40}, cash_target=0.0)
    return replace(c, cost=CostConfig(**cost))  # type: ignore[arg-type]


def start(
    positions: dict[str, str], cash: str = "0", spread: float = 0.10, engine: Engine | None = None
) -> Engine:
    engine = engine or Engine(gated_config(), RUN)  # type: ignore[arg-type]
    feed(
        engine,
        [
            snapshot(at(0), cash, positions),
            clock(at(0)),
            quote(at(0), "VTI", 100.0, spread),
            quote(at(0), "BND", 100.0, spread),
        ],
    )
    return engine


def test_fifty_fifty_against_sixty_forty_trades_both_legs_in_the_daemon() -> None:
    """$100k at 50/50 against 60/40, 5 bp half-spreads, the default gate: the run is judged
    as a whole (sell BND, buy VTI) and approved; the buy follows the sell's fill."""
    engine = start({"VTI": "500", "BND": "500"})
    cmds = engine.handle(check(at(1)))
    [d1] = decisions(cmds)
    plan = d1.plan
    assert plan.gate_on and plan.est_benefit > plan.est_cost > 0
    assert [(o.side, o.symbol) for o in plan.all_orders] == [
        (Side.SELL, "BND"),
        (Side.BUY, "VTI"),
    ]
    assert any(r.startswith("cost gate on:") and r.endswith(": trade") for r in plan.reasons)
    [sell] = places(cmds)  # no cash yet: only the sell goes out now
    assert (sell.side, sell.symbol) == (Side.SELL, "BND")
    cmds = feed(engine, fill_all(sell, at(2), "x1"))
    [d2] = decisions(cmds)
    assert any("not judged again" in r for r in d2.plan.reasons)
    buys = places(cmds)
    assert {o.side for o in buys} == {Side.BUY}  # (a few dollars of BND: the fill beat the plan)
    [vti] = [o for o in buys if o.symbol == "VTI"]
    assert vti.qty is not None and vti.qty > 99  # ~ the $10k the sell raised


def test_a_drift_not_worth_its_cost_is_gated_once_for_the_whole_run() -> None:
    """52/48 on $10k with a $5 commission per order: the whole run (benefit ~$7) is judged
    and refused; nothing is sold."""
    engine = Engine(gated_config(commission_per_order=Decimal(5)), RUN)  # type: ignore[arg-type]
    start({"VTI": "52", "BND": "48"}, engine=engine)
    cmds = engine.handle(check(at(1)))
    assert places(cmds) == []
    [d] = decisions(cmds)
    assert d.plan.gate_on and d.plan.orders == () and d.plan.est_cost > d.plan.est_benefit


def test_follow_up_rounds_still_stop_at_the_hard_limits() -> None:
    engine = start({"VTI": "500", "BND": "500"})
    [sell] = places(engine.handle(check(at(1))))
    engine.handle(ev.TradingStateRequested(at(2), state=TradingState.HALTED))
    cmds = feed(engine, fill_all(sell, at(3), "x1"))
    assert places(cmds) == []
    assert not any(isinstance(c, RecordDecision) and c.plan.orders for c in cmds)


def test_the_gate_decision_is_the_netted_plans() -> None:
    """The engine's first round records the same gate figures as planning the netted run
    directly (sells and the buys they fund)."""
    from daemon.core.model import Holdings
    from daemon.core.planning.planner import plan_rebalance

    engine = start({"VTI": "500", "BND": "500"})
    [d] = decisions(engine.handle(check(at(1))))
    netted = plan_rebalance(
        engine.config,
        Holdings(Decimal(0), {"VTI": Decimal(500), "BND": Decimal(500)}),
        engine.quotes(),
        at(1),
    )
    assert (d.plan.est_cost, d.plan.est_benefit) == (netted.est_cost, netted.est_benefit)
    assert d.plan.all_orders == netted.orders


def test_the_market_covariance_reaches_the_gate_and_config_comes_first() -> None:
    """CovarianceEstimated feeds the benefit: highly correlated legs (ρ = 0.95) make a
    50/50 → 60/40 move worth far less than uncorrelated ones; a config entry overrides it."""
    daily = ((2.25e-4, 0.95 * 2.25e-4), (0.95 * 2.25e-4, 2.25e-4))
    benefits = []
    orders = []
    for config_cov in ({}, {("VTI", "BND"): 0.0, ("BND", "VTI"): 0.0}):
        engine = Engine(gated_config(covariance=config_cov), RUN)  # type: ignore[arg-type]
        engine.handle(ev.CovarianceEstimated(at(0), ("VTI", "BND"), daily, "test", 252))
        start({"VTI": "500", "BND": "500"}, engine=engine)
        [d] = decisions(engine.handle(check(at(1))))
        benefits.append(d.plan.est_benefit)
        orders.append(d.plan.all_orders)
    plain = start({"VTI": "500", "BND": "500"})
    [d0] = decisions(plain.handle(check(at(1))))
    # d = (−0.1, 0.1): dᵀΣd·H·V = 0.02 × 2.25e-4 × (1 − 0.95) × 252 × $100k = $5.67, less
    # than the $10.01 the trades cost: with such a correlation the move is not worth it
    assert abs(float(benefits[0]) - 5.67) < 0.02 and orders[0] == ()
    # the config's zero covariance wins over the market's: back to the diagonal $113.40
    assert benefits[1] == d0.plan.est_benefit and abs(float(benefits[1]) - 113.4) < 0.05
