"""Hypothesis properties of the planner over random portfolios (2–30 assets).

Each property recomputes what it checks from the orders themselves (positions and cash after
every order fills at its limit price, costs taken from cash), never from ``plan.after``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from daemon.core.planning.rounding import is_valid_price
from daemon.core.triggers.bands import asset_limits, cash_limits

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Case:
    config: Config
    holdings: Holdings
    quotes: dict[str, Quote]
    reserved: D
    pending: dict[str, D]


def _band(draw: st.DrawFn) -> Band:
    rule = draw(st.sampled_from(list(BandRule)))
    return Band(
        absolute=draw(st.sampled_from([0.01, 0.02, 0.05, 0.1])),
        relative=draw(st.sampled_from([0.1, 0.25, 0.5])),
        rule=rule,
    )


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    fractional_only: bool = False,
    fresh_only: bool = False,
    plain: bool = False,
    whole_ok: bool = False,
) -> Case:
    """A random portfolio. ``plain``: gate off, no caps, no top-k, no excluded, no pending,
    every quote fresh and every asset fractional (the setting for band properties)."""
    fresh_only = fresh_only or plain
    fractional_only = (fractional_only or plain) and not whole_ok
    n = draw(st.integers(2, 30))
    syms = [f"S{i:02d}" for i in range(n)]
    cash_target = draw(st.sampled_from([0.0, 0.0, 0.02, 0.05]))
    raw = [draw(st.integers(1, 100)) for _ in syms]
    scale = (1 - cash_target) / sum(raw)
    targets = [r * scale for r in raw]
    targets[-1] = 1 - cash_target - sum(targets[:-1])
    assets = tuple(
        AssetConfig(
            s,
            t,
            band=_band(draw),
            fractional=True if fractional_only else draw(st.booleans()),
        )
        for s, t in zip(syms, targets, strict=True)
    )
    extra = [] if plain else draw(st.lists(st.sampled_from(["X1", "X2", "X3"]), unique=True))
    excluded = (
        frozenset()
        if plain
        else frozenset(draw(st.lists(st.sampled_from(syms + extra), max_size=3, unique=True)))
    )
    pf = PortfolioConfig(
        assets=assets,
        cash_target=cash_target,
        cash_band=Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
        cash_buffer=draw(st.sampled_from([0.0, 0.01, 0.05])),
        excluded=excluded,
        not_in_targets=draw(st.sampled_from(list(NotInTargets))),
    )
    planner = PlannerConfig(
        target_mode=draw(st.sampled_from(list(TargetMode))),
        scope=draw(st.sampled_from(list(Scope))),
        min_order_notional=draw(st.sampled_from([D(1), D(1), D(25)])),
        limit_offset=draw(st.sampled_from([0.0, 0.001, 0.005])),
        market_orders=False if plain else draw(st.booleans()),
        participation_cap=0.0 if plain else draw(st.sampled_from([0.0, 0.05, 0.5])),
        top_k=None if plain else draw(st.one_of(st.none(), st.integers(1, 5))),
    )
    cost = CostConfig(
        gate=False if plain else draw(st.booleans()),
        commission_per_order=draw(st.sampled_from([D(0), D("0.35"), D(2)])),
        commission_bps=draw(st.sampled_from([0.0, 1.0])),
        default_adv=draw(st.sampled_from([None, 1e6])),
    )
    config = Config(pf, planner=planner, cost=cost)
    quotes: dict[str, Quote] = {}
    positions: dict[str, D] = {}
    for s in syms + extra:
        mid = draw(st.sampled_from([0.37, 1.0, 7.77, 49.5, 101.23, 245.12, 612.0]))
        # 1 % is wider than the default planner.max_spread (50 bp): not traded on
        widths = [0.0, 0.0002, 0.002] if fresh_only else [0.0, 0.0002, 0.002, 0.01]
        spread = mid * draw(st.sampled_from(widths))
        kind = (
            "ok"
            if fresh_only
            else draw(st.sampled_from(["ok"] * 6 + ["stale", "crossed", "missing", "zero"]))
        )
        adv = draw(st.sampled_from([None, 500.0, 1e7]))
        at = NOW - timedelta(seconds=60 if kind == "stale" else draw(st.sampled_from([0, 2])))
        bid, ask = mid - spread / 2, mid + spread / 2
        if kind == "crossed":
            bid, ask = ask + 0.01, bid
        if kind == "zero":
            bid = 0.0
        if kind != "missing":
            quotes[s] = Quote(s, round(bid, 4), round(ask, 4), at, adv=adv)
        dollars = draw(st.sampled_from([0, 0, 50, 500, 5_000, 50_000]))
        a = config.asset(s)
        qty = D(repr(dollars / mid)).quantize(D("0.001"))
        if a is not None and not a.fractional:
            qty = qty.to_integral_value()
        if qty > 0:
            positions[s] = qty
    cash = D(draw(st.sampled_from([0, 10, 1000, 25_000, 100_000])))
    reserved = D(0) if plain else min(cash, D(draw(st.sampled_from([0, 0, 300]))))
    pending: dict[str, D] = {}
    if not plain and positions and draw(st.booleans()):
        s = draw(st.sampled_from(sorted(positions)))
        pending[s] = -(positions[s] / 2).quantize(D("0.001"))
    assume(cash + sum(positions.values()) > 0)
    return Case(config, Holdings(cash, positions), quotes, reserved, pending)


def run(case: Case, **kw: object) -> Plan:
    return plan_rebalance(
        case.config,
        case.holdings,
        case.quotes,
        NOW,
        reserved_cash=case.reserved,
        pending_qty=case.pending,
        **kw,  # type: ignore[arg-type]
    )


def after_state(case: Case, plan: Plan) -> tuple[dict[str, D], D]:
    """Shares (positions + pending + orders) and cash once every order fills at its limit."""
    shares = dict(case.holdings.positions)
    for s, q in case.pending.items():
        shares[s] = shares.get(s, D(0)) + q
    cash = case.holdings.cash - case.reserved
    for o in plan.orders:
        if o.side is Side.BUY:
            cash -= o.est_notional + o.est_cost
            got = (
                o.qty if o.qty is not None else o.est_notional / D(repr(case.quotes[o.symbol].ask))
            )
            shares[o.symbol] = shares.get(o.symbol, D(0)) + got
        else:
            assert o.qty is not None
            cash += o.est_notional - o.est_cost
            shares[o.symbol] = shares.get(o.symbol, D(0)) - o.qty
    return shares, cash


def weights_after(case: Case, plan: Plan) -> dict[str, float]:
    shares, cash = after_state(case, plan)
    values = {s: float(q) * case.quotes[s].mid for s, q in shares.items()}
    for s, q in case.pending.items():  # expected proceeds of pending sells count as cash
        values[CASH] = values.get(CASH, 0.0) - float(q) * case.quotes[s].mid
    total = float(cash) + sum(values.values())
    out = {s: v / total for s, v in values.items() if s != CASH}
    out[CASH] = (float(cash) + values.get(CASH, 0.0)) / total
    return out


def unplaced_buys(case: Case, plan: Plan) -> float:
    """The weight the skipped underweight targets were short of their targets: what the sells
    would have funded had those buys been placed (plus one share each for whole shares)."""
    total = 0.0
    value = float(plan.portfolio_value)
    for s in {k.symbol for k in plan.skipped}:
        row = plan.weights.get(s)
        a = case.config.asset(s)
        if row is not None and a is not None and row.current < row.target:
            total += row.target - row.current
            if not a.fractional and s in case.quotes:
                total += case.quotes[s].ask / value
    return total


# --- the properties ----------------------------------------------------------------------


@FAST
@given(cases(plain=True))
def test_traded_assets_end_inside_their_bands(case: Case) -> None:
    """Fractional assets, gate off, no caps: every asset the plan trades ends inside its band
    (target mode: assets that were out of band, or all with scope ``all``, end within 0.1
    weight points of target; in-band assets may take a cash flow part way). Tolerance, in weight: the minimum order
    (smaller trades are skipped) plus the plan's frictions (estimated costs and the distance
    from mid to limit price), because frictions paid from a cash balance already at its target
    scale the buys down; they are ~0.05 % of the traded value at ordinary spreads and costs."""
    plan = run(case)
    after = weights_after(case, plan)
    value = float(plan.portfolio_value)
    friction = sum(
        float(o.est_cost)
        + float(o.qty or 0) * abs(float(o.limit_price or 0) - case.quotes[o.symbol].mid)
        for o in plan.orders
    )
    tol = (float(case.config.planner.min_order_notional) + friction + 0.01) / value + 1e-9
    unplaced = unplaced_buys(case, plan)
    for o in plan.orders:
        a = case.config.asset(o.symbol)
        if a is None:  # a liquidation: sold out completely
            assert after[o.symbol] <= tol
            continue
        low, high = asset_limits(a)
        w = after[o.symbol]
        # no stranded legs: a sell funds only the buys placed, so it may stop short by
        # the weight of the buys that could not be placed
        up = unplaced if o.side is Side.SELL else 0.0
        assert low - tol <= w <= high + tol + up, (o.symbol, low, w, high)
        planner = case.config.planner
        was_out = not plan.weights[o.symbol].in_band
        if planner.target_mode is TargetMode.TARGET and (was_out or planner.scope is Scope.ALL):
            assert abs(w - a.target) <= 0.001 + tol + up, (o.symbol, w, a.target)


@FAST
@given(cases(plain=True, whole_ok=True))
def test_whole_share_assets_end_within_one_share_of_their_bands(case: Case) -> None:
    """Whole-share rounding (always down) may leave an asset outside its band by at most one
    share's weight, and a buy short by one share of each whole-share sell that funds it (its
    proceeds were rounded down too), and a sell cut to what the buys need short by one share
    of each other whole-share sell; plus the minimum order and the frictions, as above."""
    plan = run(case)
    after = weights_after(case, plan)
    value = float(plan.portfolio_value)
    friction = sum(
        float(o.est_cost)
        + float(o.qty or 0) * abs(float(o.limit_price or 0) - case.quotes[o.symbol].mid)
        for o in plan.orders
    )
    base = (float(case.config.planner.min_order_notional) + friction + 0.01) / value + 1e-9
    whole_sells = sum(
        case.quotes[o.symbol].ask / value
        for o in plan.orders
        if o.side is Side.SELL
        and (a := case.config.asset(o.symbol)) is not None
        and not a.fractional
    )
    unplaced = unplaced_buys(case, plan)
    for o in plan.orders:
        a = case.config.asset(o.symbol)
        if a is None:
            continue
        one_share = case.quotes[o.symbol].ask / value if not a.fractional else 0.0
        if o.side is Side.BUY:
            one_share += whole_sells
        up = unplaced if o.side is Side.SELL else 0.0  # as above: no stranded legs
        if o.side is Side.SELL:
            # a sell cut to what the buys and the cash target need ends short by up to one
            # share of each other whole-share sell: their rounding brought the extra cash
            up += whole_sells - one_share
        low, high = asset_limits(a)
        assert low - base - one_share <= after[o.symbol] <= high + base + one_share + up


@FAST
@given(cases(), st.booleans(), st.booleans())
def test_cash_never_goes_below_zero(case: Case, sells_fund: bool, sells_only: bool) -> None:
    plan = run(case, fund_from_sells=sells_fund, sells_only=sells_only)
    _, cash = after_state(case, plan)
    assert cash >= 0
    if not sells_fund:  # buys alone never spend more than the cash on hand
        spent = sum(o.est_notional + o.est_cost for o in plan.orders if o.side is Side.BUY)
        assert spent <= case.holdings.cash - case.reserved


@FAST
@given(cases())
def test_never_short_never_sells_more_than_held(case: Case) -> None:
    plan = run(case)
    for o in plan.orders:
        if o.side is Side.SELL:
            held = case.holdings.positions.get(o.symbol, D(0))
            after_pending = held + case.pending.get(o.symbol, D(0))
            assert o.qty is not None and 0 < o.qty <= min(held, after_pending)
    shares, _ = after_state(case, plan)
    assert all(q >= 0 for q in shares.values())


@FAST
@given(cases())
def test_orders_obey_the_venue_rules(case: Case) -> None:
    """No order below the minimum notional; qty ≤ 9 dp (whole for whole-share assets);
    limit prices obey the sub-penny rule; exactly one of qty and notional."""
    plan = run(case)
    minimum = case.config.planner.min_order_notional
    for o in plan.orders:
        assert o.est_notional >= minimum
        assert (o.qty is None) != (o.notional is None)
        if o.qty is not None:
            assert o.qty > 0 and -o.qty.as_tuple().exponent <= 9  # type: ignore[operator]
            a = case.config.asset(o.symbol)
            if a is not None and not a.fractional:
                assert o.qty == o.qty.to_integral_value()
        else:
            assert o.notional is not None and o.notional == o.notional.quantize(D("0.01"))
        if o.limit_price is not None:
            assert is_valid_price(o.limit_price)
            q = case.quotes[o.symbol]
            if o.side is Side.BUY:
                assert o.limit_price >= D(repr(q.ask))
            else:
                assert o.limit_price <= D(repr(q.bid))
    sides = [o.side for o in plan.orders]
    assert sides == sorted(sides, key=lambda s: s is Side.BUY)  # sells first


@FAST
@given(cases())
def test_excluded_and_unquoted_symbols_are_untouched(case: Case) -> None:
    plan = run(case)
    traded = {o.symbol for o in plan.orders}
    assert not traded & case.config.portfolio.excluded
    for s in traded:
        q = case.quotes.get(s)
        assert q is not None and 0 < q.bid <= q.ask
    skipped = {s.symbol for s in plan.skipped}
    assert (
        case.config.portfolio.excluded & (set(case.holdings.positions) | set(case.config.symbols))
        <= skipped
    )


@FAST
@given(cases(), st.randoms(use_true_random=False))
def test_same_input_same_output(case: Case, rnd: random.Random) -> None:
    """Same input → same plan, whatever the order of the holdings and quotes mappings."""
    first = run(case)
    assert run(case) == first
    items = list(case.holdings.positions.items())
    rnd.shuffle(items)
    quotes = list(case.quotes.items())
    rnd.shuffle(quotes)
    shuffled = Case(
        case.config,
        Holdings(case.holdings.cash, dict(items)),
        dict(quotes),
        case.reserved,
        case.pending,
    )
    assert run(shuffled) == first


@st.composite
def in_band_cases(draw: st.DrawFn) -> Case:
    """A portfolio with every asset inside its band and cash between its band's low edge and
    target + buffer, in a mode/scope where in-band assets do not trade."""
    case = draw(cases(plain=True))
    pf = case.config.portfolio
    mode = draw(st.sampled_from(list(TargetMode)))
    scope = Scope.OUT_OF_BAND if mode is TargetMode.TARGET else draw(st.sampled_from(list(Scope)))
    planner = PlannerConfig(target_mode=mode, scope=scope)
    config = Config(pf, planner=planner, cost=case.config.cost)
    d_cash = draw(st.floats(0.0, 0.9)) * pf.cash_buffer
    lows_highs = [asset_limits(a) for a in pf.assets]
    devs = [draw(st.floats(-0.9, 0.9)) * (hi - lo) / 2 for lo, hi in lows_highs]
    shift = -d_cash - sum(devs)
    room = [
        ((hi - lo) / 2 * 0.9 - d) if shift > 0 else ((hi - lo) / 2 * 0.9 + d)
        for (lo, hi), d in zip(lows_highs, devs, strict=True)
    ]
    assume(sum(room) > abs(shift) + 1e-9)
    devs = [d + shift * r / sum(room) for d, r in zip(devs, room, strict=True)]
    value = 100_000.0
    positions = {}
    for a, d in zip(pf.assets, devs, strict=True):
        w = a.target + d
        assume(w >= 0)
        positions[a.symbol] = D(repr(w * value / case.quotes[a.symbol].mid))
    cash = D(repr((pf.cash_target + d_cash) * value)).quantize(D("0.01"))
    assume(cash >= 0 and (pf.cash_target + d_cash) >= cash_limits(config)[0])
    return Case(config, Holdings(cash, positions), case.quotes, D(0), {})


@FAST
@given(in_band_cases())
def test_a_portfolio_inside_its_bands_gets_no_orders(case: Case) -> None:
    plan = run(case)
    assert all(w.in_band for s, w in plan.weights.items() if s != CASH)
    assert plan.orders == ()
