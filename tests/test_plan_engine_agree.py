"""Hypothesis properties of the one decider (issue 9 Proof, issue 10 first bullet).

- ``rebalanced plan`` (``cli_plan.decide``) and the daemon's engine, on the same state,
  make the same decision: the same gate outcome, figures and run orders.
- An approved run, carried out to the end (every order filling at its limit price, round
  after round), leaves every traded asset inside its band and cash inside its band.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.cli_plan import decide
from daemon.core import events as ev
from daemon.core.commands import Command, PlaceOrder, RecordDecision
from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    CostConfig,
    PlannerConfig,
    PortfolioConfig,
    TriggerConfig,
    TriggerMode,
)
from daemon.core.engine.kernel import Engine
from daemon.core.model import CASH, Holdings, Quote
from daemon.core.planning.plan import Plan
from daemon.core.triggers.bands import asset_limits, cash_limits
from tests.core.engine_scenario import T0, at, clock, sessions

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class State:
    config: Config
    holdings: Holdings
    quotes: dict[str, Quote]


@st.composite
def states(draw: st.DrawFn, *, good_quotes: bool = False) -> State:
    n = draw(st.integers(2, 5))
    syms = [f"S{i}" for i in range(n)]
    cash_target = draw(st.sampled_from([0.0, 0.02]))
    raw = [draw(st.integers(1, 10)) for _ in syms]
    targets = [r * (1 - cash_target) / sum(raw) for r in raw]
    targets[-1] = 1 - cash_target - sum(targets[:-1])
    band = Band(absolute=draw(st.sampled_from([0.02, 0.05])), relative=0.25)
    config = Config(
        PortfolioConfig(
            assets=tuple(AssetConfig(s, t, band) for s, t in zip(syms, targets, strict=True)),
            cash_target=cash_target,
            cash_band=Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
        ),
        trigger=TriggerConfig(
            mode=TriggerMode.THRESHOLD, cooldown_seconds=0.0, max_runs_per_day=50
        ),
        cost=CostConfig(
            gate=draw(st.booleans()) if not good_quotes else True,
            commission_per_order=draw(st.sampled_from([D(0), D(1), D(5)])),
            horizon_days=draw(st.sampled_from([21.0, 252.0])),
        ),
        planner=PlannerConfig(participation_cap=0.0),
    )
    quotes: dict[str, Quote] = {}
    positions: dict[str, D] = {}
    for s in syms:
        mid = draw(st.sampled_from([20.0, 101.23, 245.12]))
        half = mid * draw(st.sampled_from([0.0001, 0.0005, 0.002]))
        kind = "ok" if good_quotes else draw(st.sampled_from(["ok"] * 5 + ["crossed", "wide"]))
        bid, ask = round(mid - half, 2), round(mid + half, 2)
        if kind == "crossed":
            bid, ask = ask + 0.05, bid
        if kind == "wide":
            bid, ask = round(mid * 0.99, 2), round(mid * 1.01, 2)
        quotes[s] = Quote(s, bid, ask, T0)
        dollars = draw(st.sampled_from([0, 1_000, 20_000, 60_000]))
        if dollars:
            positions[s] = D(repr(dollars / mid)).quantize(D("0.001"))
    cash = D(draw(st.sampled_from([0, 500, 10_000])))
    return State(config, Holdings(cash, positions), quotes)


def events_for(state: State) -> list[ev.Event]:
    return [
        ev.AccountSnapshot(T0, state.holdings.cash, dict(state.holdings.positions)),
        clock(T0),
        *(ev.QuoteUpdated(T0, q.symbol, q.bid, q.ask) for q in state.quotes.values()),
    ]


def daemon_decision(state: State) -> tuple[Engine, list[Command], Plan | None]:
    """The daemon's engine: snapshot, clock, quotes, then its periodic check."""
    engine = Engine(state.config, "daemon")
    cmds: list[Command] = []
    for e in [*events_for(state), ev.TimerFired(T0, "check")]:
        cmds.extend(engine.handle(e))
    plans = [c.plan for c in cmds if isinstance(c, RecordDecision)]
    return engine, cmds, plans[0] if plans else None


@SETTINGS
@given(states())
def test_plan_and_the_engine_make_the_same_decision(state: State) -> None:
    plan = decide(state.config, state.holdings, state.quotes, T0, False, sessions=sessions())
    _, _, daemon = daemon_decision(state)
    if daemon is None:  # the daemon's check did not trigger: plan must say the same
        assert not plan.triggered and plan.all_orders == ()
        return
    assert plan.triggered == daemon.triggered
    assert plan.all_orders == daemon.all_orders
    assert plan.orders == daemon.orders
    assert (plan.est_cost, plan.est_benefit, plan.gate_on) == (
        daemon.est_cost,
        daemon.est_benefit,
        daemon.gate_on,
    )
    gate = [r for r in plan.reasons if r.startswith("cost gate")]
    assert gate == [r for r in daemon.reasons if r.startswith("cost gate")]


def run_to_the_end(state: State) -> tuple[Engine, list[PlaceOrder]]:
    """Start the run and fill every order at its limit price until no order is left."""
    engine, cmds, _ = daemon_decision(state)
    placed: list[PlaceOrder] = []
    n = 0
    pending = [c for c in cmds if isinstance(c, PlaceOrder)]
    while pending and n < 50:
        o = pending.pop(0)
        placed.append(o)
        n += 1
        assert o.qty is not None and o.limit_price is not None
        t = at(n)
        new = engine.handle(ev.OrderAccepted(t, o.client_order_id, f"b{n}"))
        new += engine.handle(
            ev.OrderFilled(t, o.client_order_id, f"x{n}", o.qty, o.limit_price, o.qty, f"b{n}")
        )
        pending.extend(c for c in new if isinstance(c, PlaceOrder))
    return engine, placed


@SETTINGS
@given(states(good_quotes=True))
def test_an_approved_run_ends_with_traded_assets_and_cash_inside_their_bands(
    state: State,
) -> None:
    engine, placed = run_to_the_end(state)
    if not placed:
        return
    rows = engine.snapshot().rows
    value = engine.snapshot().portfolio_value
    # frictions and rounding: the estimated costs and the limit-price distance of the run
    friction = sum(
        float(o.est_cost) + float(o.qty or 0) * abs(float(o.limit_price or 0) - mid(state, o))
        for o in placed
    )
    tol = (friction + 1.0 * len(placed) + 0.01) / value + 1e-9
    for sym in {o.symbol for o in placed}:
        a = state.config.asset(sym)
        assert a is not None
        low, high = asset_limits(a)
        assert low - tol <= rows[sym].current <= high + tol, (sym, low, rows[sym], high)
    low, high = cash_limits(state.config)
    assert low - tol <= rows[CASH].current <= high + tol, (rows[CASH], low, high)


def mid(state: State, o: PlaceOrder) -> float:
    return state.quotes[o.symbol].mid
