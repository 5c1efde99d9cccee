"""Named tests for the decision rules of issue 9 (items 4 to 9), in the planner and the
engine: no stranded legs, whole shares, zero targets, price sanity, the split hold and
minimums that can never be met."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from daemon.core import events as ev
from daemon.core.commands import Alert, RequestReconcile
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
)
from daemon.core.engine.kernel import Engine
from daemon.core.model import CASH, Holdings, Quote, Side, TradingState
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from tests.core.engine_scenario import (
    RUN,
    at,
    check,
    clock,
    decisions,
    feed,
    make_config,
    places,
    quote,
    snapshot,
    started,
)

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
BAND = Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE)


def cfg(*assets: AssetConfig, cash_target: float = 0.0, **planner: object) -> Config:
    return Config(
        PortfolioConfig(assets=assets, cash_target=cash_target, cash_band=BAND),
        bands=BAND,
        cost=CostConfig(gate=False),
        planner=replace(PlannerConfig(), **planner),  # type: ignore[arg-type]
    )


def q(symbol: str, mid: float, half: float = 0.01, bid: float | None = None) -> Quote:
    return Quote(symbol, mid - half if bid is None else bid, mid + half, NOW)


def sides(plan: Plan) -> set[tuple[str, Side]]:
    return {(o.symbol, o.side) for o in plan.all_orders}


def skip(plan: Plan, symbol: str) -> str:
    return next(s.reason for s in plan.skipped if s.symbol == symbol)


SIXTY_FORTY = (AssetConfig("VTI", 0.6, BAND), AssetConfig("BND", 0.4, BAND))
HOLD_70_30 = Holdings(D(0), {"VTI": D(700), "BND": D(300)})


# --- item 4: no stranded legs -------------------------------------------------------------


def test_a_crossed_quote_on_the_bond_leg_sells_no_stock() -> None:
    quotes = {"VTI": q("VTI", 100.0), "BND": Quote("BND", 100.02, 99.98, NOW)}
    plan = plan_rebalance(cfg(*SIXTY_FORTY), HOLD_70_30, quotes, NOW)
    assert plan.all_orders == ()
    assert "crossed quote" in skip(plan, "BND")
    assert any(r.startswith("sells cut by") and "BND (crossed quote" in r for r in plan.reasons)


def test_a_too_wide_quote_is_not_traded_on_and_sells_no_stock() -> None:
    quotes = {"VTI": q("VTI", 100.0), "BND": q("BND", 100.0, half=0.40)}  # 80 bp > 50 bp
    plan = plan_rebalance(cfg(*SIXTY_FORTY), HOLD_70_30, quotes, NOW)
    assert plan.all_orders == ()
    assert skip(plan, "BND").startswith("spread too wide (80 bp > 50 bp")
    # a per-asset override lets this one through
    wide_ok = replace(SIXTY_FORTY[1], max_spread=0.01)
    plan = plan_rebalance(cfg(SIXTY_FORTY[0], wide_ok), HOLD_70_30, quotes, NOW)
    assert sides(plan) == {("VTI", Side.SELL), ("BND", Side.BUY)}


def test_the_sells_fund_only_what_the_buys_can_take_and_cash_ends_in_its_band() -> None:
    """Three assets, one buy leg with a stale quote: the sell raises only what the other
    buy takes, so cash ends inside its band instead of holding the missing leg's share."""
    assets = (
        AssetConfig("A", 0.4, BAND),
        AssetConfig("B", 0.3, BAND),
        AssetConfig("C", 0.3, BAND),
    )
    holdings = Holdings(D(0), {"A": D(600), "B": D(200), "C": D(200)})
    stale = Quote("C", 99.99, 100.01, NOW - timedelta(seconds=60))
    quotes = {"A": q("A", 100.0), "B": q("B", 100.0), "C": stale}
    plan = plan_rebalance(cfg(*assets), holdings, quotes, NOW)
    sell = next(o for o in plan.all_orders if o.side is Side.SELL)
    buy = next(o for o in plan.all_orders if o.side is Side.BUY)
    assert (sell.symbol, buy.symbol) == ("A", "B")
    assert abs(sell.est_notional - buy.est_notional) < D(10)  # not the $2,000 C would take
    assert plan.after[CASH] <= BAND.absolute  # type: ignore[operator]


# --- item 5: whole shares -----------------------------------------------------------------


def test_one_whole_share_of_47_percent_against_a_20_percent_target_is_sold() -> None:
    """0 % is nearer 20 % than 47 % is: the nearest share count is 0, not 'keep 1'."""
    big = AssetConfig("BIG", 0.2, BAND, fractional=False)
    rest = AssetConfig("REST", 0.8, BAND)
    holdings = Holdings(D(0), {"BIG": D(1), "REST": D("5.3")})
    plan = plan_rebalance(cfg(big, rest), holdings, {"BIG": q("BIG", 470.0), "REST": q("REST", 100.0)}, NOW)
    sell = next(o for o in plan.all_orders if o.symbol == "BIG")
    assert (sell.side, sell.qty) == (Side.SELL, D(1))
    assert sides(plan) == {("BIG", Side.SELL), ("REST", Side.BUY)}


def test_whole_shares_round_to_the_nearest_count_not_always_down() -> None:
    """A $70 share, $2,000 to invest toward it: 28.57 shares → 29 (the nearest), paid for
    by letting cash end a little below its 2 % target, inside its band."""
    a = AssetConfig("A", 0.49, BAND, fractional=False)
    b = AssetConfig("B", 0.49, BAND)
    holdings = Holdings(D(2250), {"A": D(42), "B": D(49)})  # A $2,940, B $4,900
    quotes = {"A": q("A", 70.0), "B": q("B", 100.0)}
    plan = plan_rebalance(cfg(a, b, cash_target=0.02), holdings, quotes, NOW)
    buy = next(o for o in plan.all_orders if o.symbol == "A")
    value = 2250 + 42 * 70 + 49 * 100
    ideal = (0.49 * value - 42 * 70) / 70
    assert round(ideal) == 29 and int(ideal) == 28  # the test's premise
    assert buy.qty == D(29)
    low = 0.02 - BAND.absolute  # type: ignore[operator]
    assert low <= plan.after[CASH] < 0.02


def test_a_share_too_big_to_buy_is_reported_and_its_weight_left_in_cash() -> None:
    big = AssetConfig("BIG", 0.2, BAND, fractional=False)  # a share is 47 % of the value
    rest = AssetConfig("REST", 0.8, BAND)
    plan = plan_rebalance(
        cfg(big, rest), Holdings(D(200), {"REST": D(8)}), {"BIG": q("BIG", 470.0), "REST": q("REST", 100.0)}, NOW
    )
    assert skip(plan, "BIG").startswith("cannot be balanced in whole shares: one share is 47.0%")
    assert all(o.symbol != "BIG" for o in plan.all_orders)


def test_or_spread_over_the_other_targets_as_the_config_says() -> None:
    big = AssetConfig("BIG", 0.2, BAND, fractional=False)
    rest = AssetConfig("REST", 0.8, BAND)
    holdings = Holdings(D(200), {"REST": D(8)})
    quotes = {"BIG": q("BIG", 470.0), "REST": q("REST", 100.0)}
    config = cfg(big, rest, whole_share_leftover=Leftover.SPREAD)
    plan = plan_rebalance(config, holdings, quotes, NOW)
    [buy] = plan.all_orders
    assert (buy.symbol, buy.side) == ("REST", Side.BUY)
    assert abs(plan.after["REST"] - 1.0) < 0.001 and plan.after[CASH] < 0.001
    assert skip(plan, "BIG").startswith("cannot be balanced in whole shares")


def test_the_daemon_reports_an_unbalanceable_share_once() -> None:
    config = replace(
        make_config({"BIG": 0.2, "REST": 0.8}, cash_target=0.0),
        portfolio=PortfolioConfig(
            assets=(
                AssetConfig("BIG", 0.2, BAND, fractional=False),
                AssetConfig("REST", 0.8, BAND),
            ),
            cash_band=BAND,
        ),
    )
    engine = Engine(config, RUN)
    feed(
        engine,
        [
            snapshot(at(0), "200", {"REST": "8"}),
            clock(at(0)),
            quote(at(0), "BIG", 470.0),
            quote(at(0), "REST", 100.0),
        ],
    )
    [d] = decisions(engine.handle(check(at(1))))
    assert skip(d.plan, "BIG").startswith("cannot be balanced in whole shares")
    assert decisions(engine.handle(check(at(100)))) == []  # not re-triggered
    assert decisions(engine.handle(check(at(200)))) == []
    # the holdings change (a deposit): decided afresh
    engine.handle(snapshot(at(300), "5000", {"REST": "8"}))
    assert decisions(engine.handle(check(at(301))))


# --- item 6: zero targets -----------------------------------------------------------------


def test_a_zero_target_holding_is_sold() -> None:
    zero = AssetConfig("OLD", 0.0, BAND)
    plan = plan_rebalance(
        cfg(zero, AssetConfig("VTI", 1.0, BAND)),
        Holdings(D(0), {"OLD": D(3), "VTI": D(97)}),  # OLD 3 %: inside a 0–5 % band before
        {"OLD": q("OLD", 100.0), "VTI": q("VTI", 100.0)},
        NOW,
    )
    old = next(o for o in plan.all_orders if o.symbol == "OLD")
    assert (old.side, old.qty, old.reason) == (Side.SELL, D(3), "target 0 %: sell all")
    assert plan.weights["OLD"].high == 0.0 and not plan.weights["OLD"].in_band


def test_the_daemon_triggers_on_a_zero_target_holding() -> None:
    engine = Engine(make_config({"OLD": 0.0, "VTI": 0.98}), RUN)
    cmds = feed(
        engine,
        [snapshot(at(0), "200", {"OLD": "3", "VTI": "95"}), clock(at(0)),
         quote(at(0), "OLD", 100.0), quote(at(0), "VTI", 100.0)],
    )  # fmt: skip
    cmds += engine.handle(check(at(1)))
    assert [(o.symbol, o.side) for o in places(cmds)] == [("OLD", Side.SELL)]


# --- item 7: a held asset without a usable quote ------------------------------------------


def test_a_held_asset_without_a_price_means_no_decision_never_zero() -> None:
    config = replace(
        cfg(*SIXTY_FORTY),
        portfolio=replace(cfg(*SIXTY_FORTY).portfolio, not_in_targets=NotInTargets.HOLD),
    )
    holdings = Holdings(D(0), {"VTI": D(700), "BND": D(300), "XYZ": D(50)})
    plan = plan_rebalance(config, holdings, {"VTI": q("VTI", 100.0), "BND": q("BND", 100.0)}, NOW)
    assert plan.all_orders == ()
    assert any(r.startswith("no decision: no usable price for XYZ (50 shares)") for r in plan.reasons)


def test_the_daemon_makes_no_decision_with_an_unpriced_holding() -> None:
    """XYZ is held without a target (kept) and has no quote: the daemon's check records no
    orders and says why, as plan does; a quote for it lets the rebalance through."""
    engine = Engine(make_config(), RUN)
    feed(engine, [snapshot(at(0), "0", {"VTI": "70", "BND": "30", "XYZ": "5"}), clock(at(0)),
                  quote(at(0), "VTI", 100.0), quote(at(0), "BND", 100.0)])  # fmt: skip
    cmds = engine.handle(check(at(1)))
    assert places(cmds) == []
    [d] = decisions(cmds)
    assert any(r.startswith("no decision: no usable price for XYZ") for r in d.plan.reasons)
    engine.handle(quote(at(2), "XYZ", 10.0))
    sells = places(engine.handle(check(at(3))))
    assert [(o.symbol, o.side) for o in sells] == [("VTI", Side.SELL)]


# --- item 8: the split hold ---------------------------------------------------------------


def split_engine() -> Engine:
    engine = Engine(make_config(), RUN)
    feed(engine, [snapshot(at(0), "200", {"VTI": "60", "BND": "38"}), clock(at(0)),
                  quote(at(0), "VTI", 100.0), quote(at(0), "BND", 100.0)])  # fmt: skip
    engine.handle(quote(at(1), "VTI", 50.0))  # a 2-for-1 split, the account not yet booked
    return engine


def test_a_split_followed_by_an_unchanged_snapshot_trades_nothing() -> None:
    engine = split_engine()
    cmds = feed(engine, [snapshot(at(2), "200", {"VTI": "60", "BND": "38"}), check(at(3))])
    assert places(cmds) == []
    assert any("suspected split in VTI" in b for b in engine.blockers(at(3)))
    # the snapshot that shows the split (120 shares) clears it: back in band, nothing to do
    cmds = feed(engine, [snapshot(at(4), "200", {"VTI": "120", "BND": "38"}), check(at(5))])
    assert any(isinstance(c, Alert) and "split of VTI" in c.message for c in cmds)
    assert engine.blockers(at(5)) == [] and places(cmds) == []


def test_a_corporate_action_record_or_a_resume_clears_a_split_hold() -> None:
    engine = split_engine()
    engine.handle(ev.SplitAnnounced(at(2), "VTI", 2.0))
    assert engine.blockers(at(2)) == []
    engine = split_engine()
    engine.handle(ev.TradingStateRequested(at(2), TradingState.ACTIVE, "operator resume"))
    assert engine.blockers(at(2)) == []


# --- item 9: minimums that can never be met ------------------------------------------------


def test_a_minimum_larger_than_the_account_is_reported_once() -> None:
    config = replace(
        make_config({"VTI": 0.6, "BND": 0.4}, cash_target=0.0),
        cost=CostConfig(gate=False, min_trade_dollars=D(100)),
    )
    plan = plan_rebalance(
        config, Holdings(D(0), {"VTI": D("0.7"), "BND": D("0.2")}),
        {"VTI": q("VTI", 100.0), "BND": q("BND", 100.0)}, NOW,
    )  # fmt: skip
    assert plan.all_orders == ()
    assert any(r.startswith("minimum trade $100.00 can never be met in a $90.00") for r in plan.reasons)
    engine = Engine(config, RUN)
    feed(engine, [snapshot(at(0), "0", {"VTI": "0.7", "BND": "0.2"}), clock(at(0)),
                  quote(at(0), "VTI", 100.0), quote(at(0), "BND", 100.0)])  # fmt: skip
    [d] = decisions(engine.handle(check(at(1))))
    assert any("can never be met" in r for r in d.plan.reasons)
    assert decisions(engine.handle(check(at(100)))) == []  # reported once
    assert decisions(engine.handle(check(at(200)))) == []


def test_a_split_suspect_ratio_of_zero_turns_the_split_hold_off() -> None:
    """The backtester's setting (split-adjusted prices): a one-quote halving is a price."""
    cfg = make_config()
    cfg = replace(cfg, planner=replace(cfg.planner, split_suspect_ratio=0.0))
    engine = started(engine=Engine(cfg, RUN), cash="200", positions={"VTI": "60", "BND": "38"})
    cmds = engine.handle(quote(at(1), "VTI", 50.0))
    assert not [c for c in cmds if isinstance(c, RequestReconcile)]
    assert engine.snapshot().blockers == ()
