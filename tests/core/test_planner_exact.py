"""The planner sizes in floats; every figure it emits must still be the exact Decimal one.

For random portfolios (the strategies of ``test_planner_properties``), each order's limit
price, notional at the limit, estimated cost and quantity are recomputed with the Decimal
reference functions (``rounding.marketable_limit``, ``costs.order_cost``, ``quantize``), and
the portfolio value with the exact Decimal sum. Value *and* exponent must match (what goes
on the wire is the string).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR
from decimal import Decimal as D

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.config.values import (
    AssetConfig,
    Config,
    PlannerConfig,
    PortfolioConfig,
    Scope,
    TargetMode,
)
from daemon.core.model import Side
from daemon.core.planning.costs import order_cost
from daemon.core.planning.rounding import CENT, QTY_STEP, marketable_limit, to_decimal
from daemon.core.planning.targets import Book, Position, _landing_trades, landing_weight
from daemon.core.planning.valuation import value_portfolio
from tests.core.test_planner_properties import FAST, NOW, Case, cases, run


def _same(a: D | None, b: D | None) -> bool:
    return a == b and str(a) == str(b)


@FAST
@given(cases(), st.booleans())
def test_emitted_figures_are_the_decimal_reference(case: Case, sells_fund: bool) -> None:
    plan = run(case, fund_from_sells=sells_fund)
    config = case.config
    offset = to_decimal(config.planner.limit_offset)
    for o in plan.orders:
        q = case.quotes[o.symbol]
        asset = config.asset(o.symbol)
        limit = marketable_limit(o.side, to_decimal(q.bid), to_decimal(q.ask), offset)
        if o.notional is not None:  # a notional market buy, priced at the ask
            ask = to_decimal(q.ask)
            assert o.qty is None and o.limit_price is None
            assert _same(o.est_notional, o.notional)
            cost = order_cost(config, o.symbol, o.side, o.notional / ask, ask, q, asset)
            assert _same(o.est_cost, cost)
            continue
        assert o.qty is not None
        whole = asset is not None and not asset.fractional
        assert _same(o.qty, o.qty.quantize(D(1) if whole else QTY_STEP))
        if config.planner.market_orders:
            assert o.limit_price is None
        else:
            assert _same(o.limit_price, limit)
        rounding = ROUND_CEILING if o.side is Side.BUY else ROUND_FLOOR
        assert _same(o.est_notional, (o.qty * limit).quantize(CENT, rounding=rounding))
        assert _same(o.est_cost, order_cost(config, o.symbol, o.side, o.qty, limit, q, asset))


@FAST
@given(cases())
def test_portfolio_value_is_the_exact_sum(case: Case) -> None:
    plan = run(case, triggered=False)
    pf = value_portfolio(
        case.config,
        case.holdings,
        case.quotes,
        NOW,
        reserved_cash=case.reserved,
        pending_qty=case.pending,
    )
    assert _same(plan.portfolio_value, pf.value_dec.quantize(CENT))


@FAST
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1e6), st.floats(0.0, 0.5), st.floats(0.0, 0.2), st.booleans()),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(list(TargetMode)),
    st.sampled_from(list(Scope)),
    st.floats(0.5, 1.5),
)
def test_inlined_landing_rule_is_landing_weight(
    raw: list[tuple[float, float, float, bool]], mode: TargetMode, scope: Scope, shrink: float
) -> None:
    """``book_trades`` evaluates ``landing_weight`` for all positions at once in numpy; the
    trades must be bit-for-bit its own."""
    positions = [
        Position(f"S{i}", v, t, max(0.0, t - w), min(1.0, t + w), liq)
        for i, (v, t, w, liq) in enumerate(raw)
    ]
    value = sum(p.value for p in positions) + 1000.0
    vd = value * shrink
    config = Config(
        PortfolioConfig(assets=(AssetConfig("S0", 1.0),)),
        planner=PlannerConfig(target_mode=mode, scope=scope),
    )
    allowed = np.ones(len(positions), dtype=bool)
    trades = _landing_trades(Book.of(positions), allowed, value, vd, config).tolist()
    for p, t in zip(positions, trades, strict=True):
        land = landing_weight(p, p.value / value, config)
        assert t == (0.0 if land is None else land * vd - p.value)
