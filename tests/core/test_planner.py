"""Every planner rule, one small portfolio at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    CostConfig,
    NotInTargets,
    PlannerConfig,
    PortfolioConfig,
    Scope,
    TargetMode,
)
from daemon.core.model import CASH, Holdings, Quote, Side
from daemon.core.planning.plan import Plan, PlannedOrder
from daemon.core.planning.planner import plan_rebalance

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
ABS5 = Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE)


def config(
    *assets: AssetConfig,
    cash_target: float = 0.0,
    cash_buffer: float = 0.0,
    excluded: frozenset[str] = frozenset(),
    not_in_targets: NotInTargets = NotInTargets.HOLD,
    cost: CostConfig | None = None,
    **planner: object,
) -> Config:
    pf = PortfolioConfig(
        assets=assets,
        cash_target=cash_target,
        cash_band=ABS5,
        cash_buffer=cash_buffer,
        excluded=excluded,
        not_in_targets=not_in_targets,
    )
    return Config(pf, cost=cost or CostConfig(gate=False), planner=PlannerConfig(**planner))  # type: ignore[arg-type]


def asset(sym: str, target: float, **kw: object) -> AssetConfig:
    kw.setdefault("band", ABS5)
    return AssetConfig(sym, target, **kw)  # type: ignore[arg-type]


def quote(sym: str, mid: float, spread: float = 0.02, age: float = 0.0, **kw: float) -> Quote:
    return Quote(sym, mid - spread / 2, mid + spread / 2, NOW - timedelta(seconds=age), **kw)


def quotes(**mids: float) -> dict[str, Quote]:
    return {s: quote(s, m) for s, m in mids.items()}


def hold(cash: str, **pos: str) -> Holdings:
    return Holdings(D(cash), {s: D(q) for s, q in pos.items()})


def by_symbol(plan: Plan) -> dict[str, PlannedOrder]:
    return {o.symbol: o for o in plan.orders}


def skip_reasons(plan: Plan) -> dict[str, str]:
    return {s.symbol: s.reason for s in plan.skipped}


# --- weights and value -------------------------------------------------------------------


def test_weights_include_cash_and_bands() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(c, hold("1000", A="50", B="40"), quotes(A=100.0, B=100.0), NOW)
    assert p.portfolio_value == D("10000.00")
    assert p.weights["A"].current == pytest.approx(0.5)
    assert p.weights["B"].current == pytest.approx(0.4)
    assert p.weights[CASH].current == pytest.approx(0.1)
    assert (p.weights["A"].low, p.weights["A"].high) == pytest.approx((0.45, 0.55))
    assert p.portfolio_drift == pytest.approx(0.1)


def test_not_triggered_fills_weights_but_no_orders() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(
        c,
        hold("0", A="90", B="10"),
        quotes(A=100.0, B=100.0),
        NOW,
        triggered=False,
        reasons=("outside trading window",),
    )
    assert p.orders == () and not p.triggered
    assert p.reasons == ("outside trading window",)
    assert p.weights["A"].current == pytest.approx(0.9)
    assert p.after["A"] == pytest.approx(0.9)


# --- target modes and scope --------------------------------------------------------------


def test_target_mode_trades_to_target_sells_first() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW)
    assert [(o.symbol, o.side) for o in p.orders] == [("A", Side.SELL), ("B", Side.BUY)]
    assert p.after["A"] == pytest.approx(0.5, abs=0.002)
    assert p.after["B"] == pytest.approx(0.5, abs=0.002)
    assert p.after[CASH] >= 0
    assert p.orders[0].reason == "overweight 80.0% > 55.0%"


def test_band_edge_lands_just_inside_the_edge() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), target_mode=TargetMode.BAND_EDGE)
    p = plan_rebalance(c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW)
    assert 0.549 < p.after["A"] < 0.55
    assert 0.45 < p.after["B"] < 0.451


def test_halfway_lands_between_edge_and_target() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), target_mode=TargetMode.HALFWAY)
    p = plan_rebalance(c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW)
    assert p.after["A"] == pytest.approx(0.525, abs=0.001)
    assert p.after["B"] == pytest.approx(0.475, abs=0.001)


def test_scope_out_of_band_leaves_in_band_assets_alone() -> None:
    assets = (asset("A", 0.4), asset("B", 0.3), asset("C", 0.3))
    # A 51 % out of band; B 29 % in band; C 20 % out; the 1 % left over stays as cash (buffer)
    holdings = hold("0", A="51", B="29", C="20")
    qs = quotes(A=100.0, B=100.0, C=100.0)
    everything = plan_rebalance(config(*assets, cash_buffer=0.05), holdings, qs, NOW)
    assert set(by_symbol(everything)) == {"A", "B", "C"}
    some = plan_rebalance(
        config(*assets, cash_buffer=0.05, scope=Scope.OUT_OF_BAND), holdings, qs, NOW
    )
    assert set(by_symbol(some)) == {"A", "C"}
    assert some.after[CASH] == pytest.approx(0.01, abs=0.002)


def test_sell_proceeds_above_the_buffer_are_reinvested_toward_target() -> None:
    assets = (asset("A", 0.4), asset("B", 0.3), asset("C", 0.3))
    holdings = hold("0", A="51", B="29", C="20")
    p = plan_rebalance(
        config(*assets, scope=Scope.OUT_OF_BAND), holdings, quotes(A=100.0, B=100.0, C=100.0), NOW
    )
    assert by_symbol(p)["B"].side is Side.BUY
    assert p.after[CASH] == pytest.approx(0.0, abs=0.001)


def test_inside_bands_gets_no_orders_out_of_band_scope() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), scope=Scope.OUT_OF_BAND)
    p = plan_rebalance(c, hold("0", A="53", B="47"), quotes(A=100.0, B=100.0), NOW)
    assert p.orders == ()


def test_top_k_trades_only_the_largest_deviations_in_pairs() -> None:
    """top_k counts pairs: the k largest sells and the k largest buys they fund."""
    assets = (asset("A", 0.25), asset("B", 0.25), asset("C", 0.25), asset("D", 0.25))
    args = (hold("0", A="40", B="27", C="23", D="10"), quotes(A=100.0, B=100.0, C=100.0, D=100.0))
    p = plan_rebalance(config(*assets, top_k=1), *args, NOW)
    assert {(s, o.side) for s, o in by_symbol(p).items()} == {("A", Side.SELL), ("D", Side.BUY)}
    p = plan_rebalance(config(*assets, top_k=2), *args, NOW)
    assert set(by_symbol(p)) == {"A", "B", "C", "D"}


def test_top_k_one_never_sells_without_its_buy() -> None:
    """At 70/30 against 60/40 with top_k = 1 the single largest deviation alone (the sell)
    would strand its proceeds in cash: the pair trades."""
    c = config(asset("VTI", 0.6), asset("BND", 0.4), top_k=1)
    p = plan_rebalance(c, hold("0", VTI="70", BND="30"), quotes(VTI=100.0, BND=100.0), NOW)
    assert {(s, o.side) for s, o in by_symbol(p).items()} == {
        ("VTI", Side.SELL),
        ("BND", Side.BUY),
    }


# --- cash flows --------------------------------------------------------------------------


def test_excess_cash_buys_underweights_before_anything_is_sold() -> None:
    c = config(asset("A", 0.45), asset("B", 0.45), cash_target=0.1, scope=Scope.OUT_OF_BAND)
    # cash 43 % vs target 10 %: A 43 % in band, B 14 % out of band
    p = plan_rebalance(c, hold("4500", A="45", B="15"), quotes(A=100.0, B=100.0), NOW)
    assert all(o.side is Side.BUY for o in p.orders)
    assert "B" in by_symbol(p)
    assert p.after[CASH] == pytest.approx(0.1, abs=0.002)


def test_cash_within_buffer_is_not_deployed() -> None:
    c = config(
        asset("A", 0.45),
        asset("B", 0.45),
        cash_target=0.1,
        cash_buffer=0.05,
        scope=Scope.OUT_OF_BAND,
    )
    p = plan_rebalance(c, hold("1300", A="44", B="43"), quotes(A=100.0, B=100.0), NOW)
    assert p.orders == ()


def test_cash_below_band_is_raised_from_overweights() -> None:
    c = config(asset("A", 0.4), asset("B", 0.4), cash_target=0.2, scope=Scope.OUT_OF_BAND)
    # cash 10 % (band 15–25 %): A 44 %, B 46 % both in band and above target
    p = plan_rebalance(c, hold("1000", A="44", B="46"), quotes(A=100.0, B=100.0), NOW)
    assert all(o.side is Side.SELL for o in p.orders) and len(p.orders) == 2
    assert p.after[CASH] == pytest.approx(0.2, abs=0.002)


def test_buys_funded_only_by_certain_cash_without_sell_proceeds() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(
        c, hold("100", A="80", B="19"), quotes(A=100.0, B=100.0), NOW, fund_from_sells=False
    )
    buys = [o for o in p.orders if o.side is Side.BUY]
    assert buys and sum(o.est_notional + o.est_cost for o in buys) <= D(100)
    with_proceeds = plan_rebalance(c, hold("100", A="80", B="19"), quotes(A=100.0, B=100.0), NOW)
    assert by_symbol(with_proceeds)["B"].est_notional > D(2000)


def test_buys_scaled_down_when_cash_is_short() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    qs = quotes(A=100.0, B=100.0)
    qs["A"] = quote("A", 100.0, age=60.0)  # stale: cannot sell A to fund B
    p = plan_rebalance(c, hold("1000", A="80", B="10"), qs, NOW)
    (buy,) = p.orders
    assert buy.symbol == "B" and buy.est_notional + buy.est_cost <= D(1000)
    assert buy.est_notional > D(900)
    assert "stale quote" in skip_reasons(p)["A"]


def test_reserved_cash_and_cash_target_are_not_spent() -> None:
    c = config(asset("A", 0.9), cash_target=0.1)
    p = plan_rebalance(c, hold("5000", A="50"), quotes(A=100.0), NOW, reserved_cash=D("3000"))
    # value 7,000 (10 % floor ≈ 700 of the value after costs): about 5,000 − 3,000 − 700
    spent = sum(o.est_notional + o.est_cost for o in p.orders)
    assert D("1290") < spent <= D("1301")
    assert p.after[CASH] >= 0.1


def test_pending_orders_count_as_done() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), scope=Scope.OUT_OF_BAND)
    # an open buy of 30 B holds its cash: the rebalance is already under way
    p = plan_rebalance(
        c,
        hold("3003", A="50", B="20"),
        quotes(A=100.0, B=100.0),
        NOW,
        reserved_cash=D("3003"),
        pending_qty={"B": D(30)},
    )
    assert p.orders == ()
    assert p.weights["B"].current == pytest.approx(0.5, abs=0.001)


def test_pending_sell_proceeds_are_not_spent_before_they_arrive() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), scope=Scope.OUT_OF_BAND)
    p = plan_rebalance(
        c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW, pending_qty={"A": D(-30)}
    )
    assert p.weights["A"].current == pytest.approx(0.5, abs=0.001)
    assert p.weights[CASH].current == pytest.approx(0.3, abs=0.001)
    # no second sell of A beyond the frictions of B's buy; B's buy waits for the cash
    # (at most what this plan's own dust sell brings in)
    assert all(o.est_notional < D(10) for o in p.orders)
    sold = sum(o.est_notional - o.est_cost for o in p.orders if o.side is Side.SELL)
    assert sum(o.est_notional + o.est_cost for o in p.orders if o.side is Side.BUY) <= sold


def test_never_sells_more_than_held_with_pending_sells() -> None:
    c = config(
        asset("A", 0.0, band=Band(absolute=0.0, relative=None, rule=BandRule.ABSOLUTE)),
        asset("B", 1.0),
    )
    p = plan_rebalance(
        c, hold("0", A="10", B="10"), quotes(A=100.0, B=100.0), NOW, pending_qty={"A": D(-4)}
    )
    sell = by_symbol(p)["A"]
    assert sell.qty is not None and sell.qty <= D(6)


# --- shares, prices, minimums ------------------------------------------------------------


def test_whole_share_assets_round_down_and_fractional_to_nine_places() -> None:
    c = config(asset("A", 0.5, fractional=False), asset("B", 0.5))
    p = plan_rebalance(c, hold("1000", A="0", B="0"), quotes(A=333.0, B=333.0), NOW)
    a, b = by_symbol(p)["A"], by_symbol(p)["B"]
    assert a.qty == D(1)
    assert b.qty is not None and b.qty != b.qty.to_integral_value()
    assert -b.qty.as_tuple().exponent <= 9  # type: ignore[operator]


def test_limit_prices_are_marketable_and_sub_penny_rounded() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), limit_offset=0.001)
    qs = {"A": Quote("A", 245.10, 245.14, NOW), "B": Quote("B", 0.5, 0.5002, NOW)}
    p = plan_rebalance(c, hold("0", A="100", B="0"), qs, NOW)
    assert by_symbol(p)["A"].limit_price == D("244.85")
    assert by_symbol(p)["B"].limit_price == D("0.5008")  # 0.50070… rounded up, 4 dp


def test_market_orders_use_notional_for_fractional_buys() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5, fractional=False), market_orders=True)
    p = plan_rebalance(c, hold("10000", A="0", B="0"), quotes(A=100.0, B=100.0), NOW)
    a, b = by_symbol(p)["A"], by_symbol(p)["B"]
    assert a.qty is None and a.notional is not None and a.limit_price is None
    assert a.notional == a.notional.quantize(D("0.01"))
    assert b.qty == b.qty.to_integral_value() and b.notional is None and b.limit_price is None  # type: ignore[union-attr]


def test_orders_below_minimum_notional_are_skipped() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), min_order_notional=D("50"))
    p = plan_rebalance(c, hold("0", A="50.3", B="49.7"), quotes(A=100.0, B=100.0), NOW)
    assert p.orders == ()
    assert "below minimum" in skip_reasons(p)["A"]


def test_default_minimum_is_one_dollar() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(c, hold("0", A="50.004", B="49.996"), quotes(A=100.0, B=100.0), NOW)
    assert all(o.est_notional >= D(1) for o in p.orders)
    assert p.orders == ()


def test_participation_cap_defers_the_rest() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), participation_cap=0.05)
    qs = {"A": quote("A", 100.0, adv=200.0), "B": quote("B", 100.0, adv=1e6)}
    p = plan_rebalance(c, hold("0", A="80", B="20"), qs, NOW)
    sell = by_symbol(p)["A"]
    assert sell.qty == D(10)  # 5 % of 200 shares
    assert p.deferred["A"] == pytest.approx(D(2000), abs=D(20))  # ~20 shares at $100


# --- symbols that are not traded ---------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        (None, "no quote"),
        (Quote("A", 0.0, 100.0, NOW), "no two-sided quote"),
        (Quote("A", 101.0, 100.0, NOW), "crossed quote"),
        (Quote("A", 99.99, 100.01, NOW - timedelta(seconds=30)), "stale quote (30.0 s old > 5 s)"),
    ],
)
def test_bad_quotes_are_skipped_with_a_reason(q: Quote | None, reason: str) -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    qs = {"B": quote("B", 100.0)}
    if q is not None:
        qs["A"] = q
    p = plan_rebalance(c, hold("0", A="80", B="20"), qs, NOW)
    assert "A" not in by_symbol(p)
    assert reason in skip_reasons(p)["A"]


def test_a_skipped_symbol_counts_at_its_mid_or_the_plan_says_value_is_uncertain() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    crossed = {"A": Quote("A", 101.0, 99.0, NOW), "B": quote("B", 100.0)}
    p = plan_rebalance(c, hold("0", A="50", B="50"), crossed, NOW)
    assert p.portfolio_value == D("10000.00")
    missing = plan_rebalance(c, hold("0", A="50", B="50"), {"B": quote("B", 100.0)}, NOW)
    assert any("value uncertain" in r and "A" in r for r in missing.reasons)


def test_halted_symbols_are_not_traded() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW, halted={"A"})
    assert "A" not in by_symbol(p)
    assert skip_reasons(p)["A"] == "halted by the venue"


def test_excluded_symbols_count_in_value_but_never_trade() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5), excluded=frozenset({"A", "X"}))
    p = plan_rebalance(c, hold("0", A="80", B="20", X="10"), quotes(A=100.0, B=100.0, X=100.0), NOW)
    assert "A" not in by_symbol(p) and "X" not in by_symbol(p)
    assert p.portfolio_value == D("11000.00")
    assert "excluded" in skip_reasons(p)["A"]


def test_holdings_not_in_targets_held_or_liquidated() -> None:
    held = config(asset("A", 1.0))
    p = plan_rebalance(held, hold("0", A="10", X="5"), quotes(A=100.0, X=100.0), NOW)
    assert "X" not in by_symbol(p) and "not in targets" in skip_reasons(p)["X"]
    sold = config(asset("A", 1.0), not_in_targets=NotInTargets.LIQUIDATE)
    p = plan_rebalance(sold, hold("0", A="10", X="5.5"), quotes(A=100.0, X=100.0), NOW)
    x = by_symbol(p)["X"]
    assert (x.side, x.qty, x.reason) == (Side.SELL, D("5.5"), "liquidate: not in targets")
    assert by_symbol(p)["A"].side is Side.BUY


def test_sells_only_places_no_buys() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    p = plan_rebalance(c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW, sells_only=True)
    assert [o.side for o in p.orders] == [Side.SELL]
    assert "REDUCING" in skip_reasons(p)["B"]


# --- gates -------------------------------------------------------------------------------


def test_cost_gate_blocks_when_cost_exceeds_benefit() -> None:
    gated = CostConfig(gate=True, commission_per_order=D("5"))
    c = config(asset("A", 0.5), asset("B", 0.5), cost=gated)
    p = plan_rebalance(c, hold("0", A="56", B="44"), quotes(A=100.0, B=100.0), NOW)
    assert p.orders == ()
    assert p.est_cost > p.est_benefit
    assert any(r.startswith("cost gate on: est. cost $") and "> benefit $" in r for r in p.reasons)
    big = plan_rebalance(c, hold("0", A="9000", B="1000"), quotes(A=100.0, B=100.0), NOW)
    assert big.orders and big.est_benefit >= big.est_cost


def test_minimum_trade_size_in_dollars_and_percent() -> None:
    dollars = CostConfig(gate=False, min_trade_dollars=D("5000"))
    p = plan_rebalance(
        config(asset("A", 0.5), asset("B", 0.5), cost=dollars),
        hold("0", A="60", B="40"),
        quotes(A=100.0, B=100.0),
        NOW,
    )
    assert p.orders == () and any("below minimum trade" in r for r in p.reasons)
    percent = CostConfig(gate=False, min_trade_percent=0.05)
    p = plan_rebalance(
        config(asset("A", 0.5), asset("B", 0.5), cost=percent),
        hold("0", A="52", B="48"),
        quotes(A=100.0, B=100.0),
        NOW,
    )
    assert p.orders == ()
    p = plan_rebalance(
        config(asset("A", 0.5), asset("B", 0.5), cost=percent),
        hold("0", A="60", B="40"),
        quotes(A=100.0, B=100.0),
        NOW,
    )
    assert p.orders


def test_plan_fills_cost_benefit_and_is_deterministic() -> None:
    c = config(asset("A", 0.5), asset("B", 0.5))
    args = (c, hold("0", A="80", B="20"), quotes(A=100.0, B=100.0), NOW)
    p1, p2 = plan_rebalance(*args), plan_rebalance(*args)
    assert p1 == p2
    assert p1.est_cost == sum(o.est_cost for o in p1.orders) and p1.est_cost > 0
    assert p1.est_benefit > 0
