"""The benefit model against a direct numpy evaluation of its formula.

    benefit = λ/2 · (dᵀΣd − (d−Δw)ᵀΣ(d−Δw)) · V + cash drag

Σ here is built independently as a dense matrix (config entries, else the market estimate,
else σ² on the diagonal), and the weights after the plan are recomputed from the plan's own
orders (each fills at its limit price, costs paid from cash), never from ``plan.after``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from itertools import pairwise

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from daemon.core.config.values import AssetConfig, Config, CostConfig, PortfolioConfig
from daemon.core.model import CASH, Holdings, Quote, Side
from daemon.core.planning.benefit import Covariance, benefit_parts, mean_return, quadratic_gain
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from tests.core.test_planner_properties import FAST, Case, cases, run
from tests.core.test_planner_properties import weights_after as props_weights_after

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def dense(
    symbols: list[str],
    config: dict[tuple[str, str], float],
    market: tuple[list[str], list[list[float]]] | None,
    sigmas: dict[str, float],
) -> np.ndarray:
    n = len(symbols)
    m = np.zeros((n, n))
    idx = {s: i for i, s in enumerate(market[0])} if market else {}
    for i, a in enumerate(symbols):
        for j, b in enumerate(symbols):
            if (a, b) in config:
                m[i, j] = config[(a, b)]
            elif a in idx and b in idx:
                assert market is not None
                m[i, j] = market[1][idx[a]][idx[b]]
            elif i == j:
                m[i, j] = sigmas[a] ** 2
    return m


@FAST
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-0.3, 0.3), min_size=n, max_size=n),
            st.lists(st.floats(-0.3, 0.3), min_size=n, max_size=n),
            st.lists(st.floats(0.001, 0.05), min_size=n, max_size=n),
            st.lists(st.floats(-0.9, 0.9), min_size=n * n, max_size=n * n),
            st.booleans(),
            st.booleans(),
        )
    ),
    st.floats(1e3, 1e7),
    st.floats(0.0, 10.0),
    st.floats(1.0, 504.0),
)
def test_quadratic_gain_equals_numpy(
    case: tuple[list[float], list[float], list[float], list[float], bool, bool],
    value: float,
    lam: float,
    horizon: float,
) -> None:
    d, e, sig, rho, use_market, use_config = case
    n = len(d)
    syms = [f"S{i}" for i in range(n)]
    r = np.array(rho).reshape(n, n)
    corr = np.clip((r + r.T) / 2, -0.9, 0.9)
    np.fill_diagonal(corr, 1.0)
    s = np.array(sig)
    mkt_m = corr * np.outer(s, s)
    market = (syms, mkt_m.tolist()) if use_market else None
    cfg_cov: dict[tuple[str, str], float] = {}
    if use_config:  # config overrides one pair and one variance
        cfg_cov = {("S0", "S1"): 1e-5, ("S1", "S0"): 1e-5, ("S0", "S0"): 3e-4}
    config = Config(
        PortfolioConfig(assets=tuple(AssetConfig(x, 1.0 / n) for x in syms)),
        cost=CostConfig(risk_aversion=lam, horizon_days=horizon, covariance=cfg_cov),
    )
    sigmas = dict(zip(syms, sig, strict=True))
    cov = Covariance(config, sigmas, market)
    risk, drag = benefit_parts(config, syms, d, e, (0.0, 0.0), value, cov)
    m = dense(syms, cfg_cov, market, sigmas) * horizon
    dv, ev = np.array(d), np.array(e)
    expected = lam / 2 * (dv @ m @ dv - ev @ m @ ev) * value
    assert drag == 0.0
    assert np.isclose(risk, expected, rtol=1e-9, atol=1e-9 * value)


def weights_after(plan: Plan, holdings: Holdings, quotes: dict[str, Quote]) -> dict[str, float]:
    shares = {s: float(q) for s, q in holdings.positions.items()}
    cash = holdings.cash
    for o in plan.all_orders:
        assert o.qty is not None
        sign = 1 if o.side is Side.BUY else -1
        shares[o.symbol] = shares.get(o.symbol, 0.0) + sign * float(o.qty)
        cash += -sign * o.est_notional - o.est_cost
    values = {s: q * quotes[s].mid for s, q in shares.items()}
    total = float(cash) + sum(values.values())
    out = {s: v / total for s, v in values.items()}
    out[CASH] = float(cash) / total
    return out


def sixty_forty(
    value: float, half_spread_bp: float, stock: float = 0.7, cash: float = 0.0, **cost: object
) -> tuple[Config, Holdings, dict[str, Quote]]:
    config = Config(
        PortfolioConfig(assets=(AssetConfig("VTI", 0.6), AssetConfig("BND", 0.4))),
        cost=CostConfig(**cost),  # type: ignore[arg-type]
    )
    px = 100.0
    hs = half_spread_bp / 10_000 * px
    quotes = {s: Quote(s, px - hs, px + hs, NOW) for s in ("VTI", "BND")}
    invested = value * (1 - cash)
    holdings = Holdings(
        D(repr(round(value * cash, 2))),
        {
            "VTI": D(repr(round(invested * stock / px, 6))),
            "BND": D(repr(round(invested * (1 - stock) / px, 6))),
        },
    )
    return config, holdings, quotes


def numpy_benefit(
    config: Config, plan: Plan, holdings: Holdings, quotes: dict[str, Quote]
) -> float:
    syms = ["VTI", "BND"]
    sigmas = {s: config.cost.default_sigma for s in syms}
    m = dense(syms, dict(config.cost.covariance), None, sigmas) * config.cost.horizon_days
    t = np.array([config.asset(s).target for s in syms])  # type: ignore[union-attr]
    w = np.array([plan.weights[s].current for s in syms])
    after = weights_after(plan, holdings, quotes)
    a = np.array([after[s] for s in syms])
    lam = config.cost.risk_aversion
    value = float(plan.portfolio_value)
    risk = lam / 2 * ((w - t) @ m @ (w - t) - (a - t) @ m @ (a - t)) * value
    c0, c1 = plan.weights[CASH].current, after[CASH]
    ct = config.portfolio.cash_target
    premium = mean_return(config) - config.cost.cash_return
    drag = (max(0, c0 - ct) - max(0, c1 - ct)) * premium * config.cost.horizon_days / 252 * value
    return float(risk + drag)


# the cases: 60/40 drifted to 70/30, default config (gate on, λ = 2, σ = 1.5 %/day)
CORR = {("VTI", "VTI"): 1.2e-4, ("BND", "BND"): 1.6e-5, ("VTI", "BND"): 4e-6, ("BND", "VTI"): 4e-6}


def test_sixty_forty_at_seventy_thirty_is_rebalanced_at_1bp_and_5bp() -> None:
    for value in (100_000.0, 1_000_000.0):
        for bp in (1.0, 5.0):
            for cov in ({}, CORR):
                config, holdings, quotes = sixty_forty(value, bp, covariance=cov)
                plan = plan_rebalance(config, holdings, quotes, NOW)
                assert plan.gate_on
                sides = sorted((o.side.value, o.symbol) for o in plan.orders)
                assert sides == [("buy", "BND"), ("sell", "VTI")], (value, bp, plan.reasons)
                assert plan.est_benefit > plan.est_cost
                expected = numpy_benefit(config, plan, holdings, quotes)
                assert abs(float(plan.est_benefit) - expected) <= 0.011 + 1e-9 * value
                assert any(r.startswith("cost gate on: est. cost") for r in plan.reasons)


def test_a_small_drift_is_still_gated_when_it_is_not_worth_its_cost() -> None:
    """61/39 at 20 bp half-spreads on $10k: the gate says no, with both figures."""
    config, holdings, quotes = sixty_forty(10_000.0, 20.0, stock=0.61)
    plan = plan_rebalance(config, holdings, quotes, NOW)
    assert plan.orders == () and plan.est_cost > plan.est_benefit > 0
    assert any(r.startswith("cost gate on: est. cost") and "no trade" in r for r in plan.reasons)


def test_a_deposit_on_a_62_38_drift_is_invested() -> None:
    """62/38 plus a 9 % cash deposit: the cash drag makes the buys worth their cost."""
    config, holdings, quotes = sixty_forty(100_000.0, 5.0, stock=0.62, cash=0.09)
    plan = plan_rebalance(config, holdings, quotes, NOW)
    assert {o.side for o in plan.orders} == {Side.BUY}, plan.reasons
    assert plan.benefit_cash > 0 and plan.est_benefit > plan.est_cost
    after = weights_after(plan, holdings, quotes)
    assert after[CASH] < 0.005
    expected = numpy_benefit(config, plan, holdings, quotes)
    assert abs(float(plan.est_benefit) - expected) <= 0.02


def test_without_cash_drag_the_same_deposit_would_stay_in_cash() -> None:
    """The drag is what invests it: with no expected return the risk term alone is too
    small for so small a drift (the control for the test above)."""
    config, holdings, quotes = sixty_forty(
        100_000.0, 5.0, stock=0.62, cash=0.09, expected_return=0.0, horizon_days=21.0
    )
    plan = plan_rebalance(config, holdings, quotes, NOW)
    assert plan.orders == () and plan.benefit_cash == 0


@FAST
@given(cases(plain=True), st.booleans())
def test_a_plans_benefit_is_the_numpy_evaluation_of_its_orders(case: Case, corr: bool) -> None:
    """Random portfolios (gate off so every plan keeps its orders): the weights after are
    recomputed from the orders, Σ is built as a dense numpy matrix (σ² diagonal, or config
    covariances with a 0.5 correlation between neighbours), and λ/2·(dᵀΣd − eᵀΣe)·V plus
    the cash drag must equal the plan's est_benefit to the cent (after rounding down)."""
    config = case.config
    syms = [a.symbol for a in config.portfolio.assets]
    sigma = config.cost.default_sigma
    cov: dict[tuple[str, str], float] = {}
    if corr:
        for a, b in pairwise(syms):
            cov[(a, b)] = cov[(b, a)] = 0.5 * sigma * sigma
    config = replace(config, cost=replace(config.cost, covariance=cov))
    case = replace(case, config=config)
    plan = run(case)
    assume(plan.orders)
    after = props_weights_after(case, plan)
    value = float(plan.portfolio_value)
    m = dense(syms, cov, None, {s: sigma for s in syms}) * config.cost.horizon_days
    t = np.array([config.asset(s).target for s in syms])  # type: ignore[union-attr]
    w = np.array([plan.weights[s].current for s in syms])
    a = np.array([after.get(s, 0.0) for s in syms])
    risk = config.cost.risk_aversion / 2 * ((w - t) @ m @ (w - t) - (a - t) @ m @ (a - t))
    ct = config.portfolio.cash_target
    c0, c1 = plan.weights[CASH].current, after[CASH]
    drag = (max(0, c0 - ct) - max(0, c1 - ct)) * (mean_return(config) - config.cost.cash_return)
    drag *= config.cost.horizon_days / 252
    expected = max(0.0, float((risk + drag) * value))
    assert abs(float(plan.est_benefit) - expected) <= 0.011 + 1e-7 * value, (
        plan.est_benefit,
        expected,
    )


@FAST
@given(
    st.integers(2, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-0.5, 0.5), min_size=n, max_size=n),
            st.lists(st.floats(-0.5, 0.5), min_size=n, max_size=n),
            st.lists(
                st.sampled_from([0.0, 1e-4, -3e-5, 2.5e-4, float("nan")]),
                min_size=n * n,
                max_size=n * n,
            ),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )
)
def test_the_market_matrix_path_adds_the_pairs_terms_in_their_order(
    case: tuple[list[float], list[float], list[float], list[bool]],
) -> None:
    """``quadratic_gain`` walks a market-only matrix row by row instead of through
    ``pairs`` and ``entry``; the result must be bit for bit the pair-by-pair sum (symbols
    missing from the market, zero and NaN entries included)."""
    d, e, raw, in_market = case
    n = len(d)
    syms = [f"S{i}" for i in range(n)]
    listed = [*[s for s, keep in zip(syms, in_market, strict=True) if keep][::-1], "X"]
    matrix = [[raw[(i * n + j) % len(raw)] for j in range(len(listed))] for i in range(len(listed))]
    config = Config(PortfolioConfig(assets=tuple(AssetConfig(x, 1.0 / n) for x in syms)))
    cov = Covariance(config, dict.fromkeys(syms, 0.01), (listed, matrix))
    expected = 0.0
    for k, s in enumerate(syms):
        if d[k] != e[k] or d[k] != 0.0:
            expected += (d[k] * d[k] - e[k] * e[k]) * cov.entry(s, s)
    for i, j, v in cov.pairs(syms):
        expected += 2.0 * (d[i] * d[j] - e[i] * e[j]) * v
    assert cov.market_only
    assert repr(quadratic_gain(cov, syms, d, e)) == repr(expected)
