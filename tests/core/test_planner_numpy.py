"""The planner's numpy evaluations give exactly the figures of their one-row-at-a-time
Python references (one formula, two evaluations), and its lazy orders are plain
``PlannedOrder``s to everything that reads them."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import pickle
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.model import Holdings, Quote, Side
from daemon.core.planning import benefit, drafting, market_rows, order_columns
from daemon.core.planning.arrays import seq_add, seq_sum
from daemon.core.planning.benefit import Covariance
from daemon.core.planning.costs import cost_dollars, cost_dollars_array
from daemon.core.planning.drafting import draft_rows, drafts
from daemon.core.planning.market_rows import Market
from daemon.core.planning.order_columns import figures_rows, need_rows
from daemon.core.planning.plan import PlannedOrder, SkippedSymbol
from daemon.core.planning.planner import plan_rebalance
from daemon.core.planning.records import LazyOrder
from daemon.core.planning.tables import tables_for
from daemon.core.planning.valuation import market_row, value_portfolio
from tests.bench.bench_planner import NOW, build

positive = st.floats(1e-9, 1e9, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(0.0), positive), st.one_of(st.just(0.0), positive),
            st.floats(0, 0.05), st.floats(0, 0.2), st.one_of(st.none(), positive),
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(0, 10),
    st.floats(0, 1e-3),
    st.floats(0, 2),
)
def test_the_cost_array_is_the_scalar_cost_bit_for_bit(
    rows: list[tuple[float, float, float, float, float | None]],
    commission: float,
    bps: float,
    impact: float,
) -> None:
    shares, price, hs, sigma, adv = zip(*rows, strict=True)
    advs = np.array([math.nan if a is None else a for a in adv])
    got = cost_dollars_array(
        np.array(shares), np.array(price), commission, bps, np.array(hs), impact,
        np.array(sigma), advs,
    )  # fmt: skip
    want = [cost_dollars(q, p, commission, bps, h, impact, s, a) for q, p, h, s, a in rows]
    assert got.tolist() == want  # == on floats: the same bits (none is NaN)


def _market(n: int, seed: int, offset: float) -> tuple[Market, list[float]]:
    config, holdings, quotes = build(n, seed)
    config = dataclasses.replace(
        config, planner=dataclasses.replace(config.planner, limit_offset=offset)
    )
    pf = value_portfolio(config, holdings, quotes, NOW)
    rows = [r for r in pf.rows if r.problem is None and r.price is not None]
    rng = random.Random(seed)
    trades = [rng.choice([0.0, rng.uniform(-5e4, 5e4), rng.uniform(-10, 10)]) for _ in rows]
    return Market(tables_for(config), rows), trades


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(0, 10**6), st.sampled_from([0.0, 0.001, 0.005]))
def test_friction_in_numpy_is_the_python_loop_exactly(n: int, seed: int, offset: float) -> None:
    fast, trades = _market(n, seed, offset)
    slow, _ = _market(n, seed, offset)
    with _columns_always():
        assert fast.friction(trades) == slow.friction_loop(trades)
    # and every limit price the arrays decided is the exact one ``limit`` computes
    for buy in (True, False):
        ticks = fast.fast_ticks(buy)
        for i in range(len(ticks)):
            exact = Market(fast.tables, fast.rows).limit(i, buy)
            assert fast.limit(i, buy) == exact
            assert ticks[i] in (-1, exact[0])


def _a_lazy_order() -> PlannedOrder:
    config, holdings, quotes = build(20)
    plan = plan_rebalance(config, holdings, quotes, NOW)
    o = plan.orders[0]
    assert isinstance(o, LazyOrder)
    return o


def test_a_lazy_order_is_the_constructed_order() -> None:
    lazy = _a_lazy_order()
    assert LazyOrder.__dict__["_build"].__get__(lazy) is not None  # nothing built yet
    plain = PlannedOrder(*(getattr(lazy, f.name) for f in dataclasses.fields(PlannedOrder)))
    assert LazyOrder.__dict__["_build"].__get__(lazy) is None  # built once, builder let go
    assert lazy == plain and plain == lazy and hash(lazy) == hash(plain)
    assert repr(lazy) == repr(plain) and repr(plain).startswith("PlannedOrder(symbol=")
    assert dataclasses.asdict(lazy) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(lazy)) == plain and copy.deepcopy(lazy) == plain
    assert dataclasses.replace(lazy, reason="x") == dataclasses.replace(plain, reason="x")
    assert lazy != dataclasses.replace(plain, est_cost=plain.est_cost + D("0.01"))


def test_every_field_of_a_fresh_lazy_order_reads_as_built() -> None:
    for name in ("qty", "notional", "limit_price", "est_cost", "reason", "est_notional"):
        lazy, again = _a_lazy_order(), _a_lazy_order()
        assert getattr(lazy, name) == getattr(again, name)
        assert lazy == again and lazy.side in (Side.BUY, Side.SELL)


def test_the_plain_order_still_prints_and_compares_as_a_dataclass() -> None:
    a = PlannedOrder("VTI", Side.BUY, D(1), None, D("2.00"), D("0.01"), "why", D("2.00"))
    assert repr(a) == (
        "PlannedOrder(symbol='VTI', side=<Side.BUY: 'buy'>, qty=Decimal('1'), notional=None, "
        "limit_price=Decimal('2.00'), est_cost=Decimal('0.01'), reason='why', "
        "est_notional=Decimal('2.00'))"
    )
    assert a == dataclasses.replace(a) and a != dataclasses.replace(a, qty=D(2))
    assert a != ("VTI",) and {a: 1}[dataclasses.replace(a)] == 1


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 300), st.integers(0, 10**6), st.sampled_from([0.0, 0.001]),
    st.sampled_from([0.0, 0.0001, 0.05]),
)  # fmt: skip
def test_drafts_in_numpy_are_the_per_row_rule(n: int, seed: int, offset: float, cap: float) -> None:
    market, trades = _market(n, seed, offset)
    config, _, _ = build(n, seed)
    config = dataclasses.replace(
        config, planner=dataclasses.replace(config.planner, participation_cap=cap)
    )
    value = sum(r.value for r in market.rows) * 1.02
    deferred: dict[str, D] = {}
    skipped: list[SkippedSymbol] = []
    with _columns_always():
        sells, buys = drafts(config, market, value, trades, deferred, skipped)
    ref_deferred: dict[str, D] = {}
    ref_skipped: list[SkippedSymbol] = []
    ref = draft_rows(config, market, value, trades, ref_deferred, ref_skipped)
    assert sells == sorted(d for d in ref if d is not None and trades[d.row] < 0)
    assert buys == sorted(d for d in ref if d is not None and trades[d.row] > 0)
    assert (deferred, skipped) == (ref_deferred, ref_skipped)


@given(st.lists(st.floats(-1e300, 1e300), max_size=60))
def test_seq_sum_and_seq_add_add_one_by_one_from_zero(xs: list[float]) -> None:
    want = 0.0
    for x in xs:  # the definition, on every Python version (``sum`` is compensated from 3.12)
        want += x
    for got in (seq_sum(np.array(xs, dtype=np.float64)), seq_add(xs), seq_add(iter(xs))):
        assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 300), st.integers(0, 10**6), st.sampled_from([0.0, 0.001, 0.005]),
    st.booleans(),
)  # fmt: skip
def test_order_figures_in_numpy_are_the_order_by_order_figures(
    n: int, seed: int, offset: float, buy: bool
) -> None:
    market, _ = _market(n, seed, offset)
    rng = random.Random(seed)
    rows = list(range(len(market.rows)))
    ticks = [rng.choice([1, 7, 10**9, rng.randint(1, 10**13)]) for _ in rows]
    whole = [rng.random() < 0.3 for _ in rows]
    ticks = [min(k, 10**6) if w else k for k, w in zip(ticks, whole, strict=True)]
    fresh, _ = _market(n, seed, offset)
    assert figures_rows(fresh, rows, ticks, whole, buy) == _columns_figures(market, rows, ticks, whole, buy)
    if buy:
        assert need_rows(fresh, rows, ticks, whole) == _columns_need(market, rows, ticks, whole)


def _columns_figures(market: Market, *args: Any) -> object:
    """``figures`` on its numpy path whatever the count."""
    with _columns_always():
        return order_columns.figures(market, *args)


def _columns_need(market: Market, *args: Any) -> float:
    with _columns_always():
        return order_columns.need(market, *args)


@contextlib.contextmanager
def _columns_always() -> Iterator[None]:
    """Every pass on its numpy path, however few rows (``arrays.COLUMNS_FROM``)."""
    modules = (order_columns, drafting, market_rows, benefit)
    saved = [m.COLUMNS_FROM for m in modules]
    for m in modules:
        m.COLUMNS_FROM = 0  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for m, v in zip(modules, saved, strict=True):
            m.COLUMNS_FROM = v  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 200), st.integers(0, 10**6))
def test_market_covariance_pairs_in_numpy_are_the_pair_by_pair_sum(n: int, seed: int) -> None:
    rng = random.Random(seed)
    symbols = [f"S{k}" for k in range(n)]
    known = [s for s in symbols if rng.random() < 0.9] + ["OTHER"]
    rng.shuffle(known)
    sigma = [rng.uniform(0.005, 0.03) for _ in known]
    matrix = tuple(
        tuple(
            rng.choice([a * b * 0.3, 0.0, math.nan, -a * b * 0.1, a * b * 0.3])
            for b in sigma
        )
        for a in sigma
    )
    config, _, _ = build(2)
    cov = Covariance(config, {}, (tuple(known), matrix))
    d = [rng.uniform(-0.01, 0.01) for _ in symbols]
    e = [x * rng.choice([0.0, 0.1, 1.0]) for x in d]
    total = rng.choice([0.0, 1e-6])
    with _columns_always():
        fast = benefit._market_pairs(cov, symbols, d, e, total)
    assert repr(fast) == repr(benefit._market_pairs_rows(cov, symbols, d, e, total))


def test_lazy_orders_read_from_two_threads_at_once_are_the_same() -> None:
    """The journal's writer thread encodes a plan while the engine reads its orders."""
    config, holdings, quotes = build(300)
    reference = [dataclasses.astuple(o) for o in plan_rebalance(config, holdings, quotes, NOW).orders]
    for _ in range(5):
        orders = plan_rebalance(config, holdings, quotes, NOW).orders
        start = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(_read_all, orders, start, False)
            b = pool.submit(_read_all, orders, start, True)
            assert a.result() == b.result() == reference


def _read_all(
    orders: tuple[PlannedOrder, ...], start: threading.Barrier, backwards: bool
) -> list[tuple[object, ...]]:
    start.wait()
    seq = orders[::-1] if backwards else orders
    got = [dataclasses.astuple(o) for o in seq]
    return got[::-1] if backwards else got


@pytest.mark.parametrize("n", [8, 80])
def test_drafts_with_equal_deviations_come_out_by_symbol(n: int) -> None:
    """Assets alike in price, holding and target deviate equally: their drafts are ordered
    by symbol, as the per-row rule's sort orders them (numpy's argsort cannot tell them)."""
    config, _, _ = build(n, 3)
    pc = config.portfolio  # rows in reverse symbol order: the row order cannot pass for it
    config = dataclasses.replace(config, portfolio=dataclasses.replace(pc, assets=pc.assets[::-1]))
    symbols = [a.symbol for a in config.portfolio.assets]
    quotes = {s: Quote(s, 99.99, 100.01, NOW) for s in reversed(symbols)}
    positions = {s: D(50 if k % 2 else 150) for k, s in enumerate(symbols)}
    pf = value_portfolio(config, Holdings(D("1000.00"), positions), quotes, NOW, for_market=True)
    market = Market(tables_for(config), pf.rows, None, pf.market)
    target = pf.value * 0.98 / n
    trades = [target - r.value for r in market.rows]
    deferred: dict[str, D] = {}
    skipped: list[SkippedSymbol] = []
    with _columns_always():
        sells, buys = drafts(config, market, pf.value, trades, deferred, skipped)
    ref = draft_rows(config, market, pf.value, trades, {}, [])
    assert sells == sorted(d for d in ref if d is not None and trades[d.row] < 0)
    assert buys == sorted(d for d in ref if d is not None and trades[d.row] > 0)
    assert [d.symbol for d in sells] == sorted(d.symbol for d in sells)  # all tied
    assert len(sells) == n // 2 and len(buys) == n // 2


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(0, 10**6), st.booleans())
def test_the_valuations_market_rows_are_market_row(n: int, seed: int, pending: bool) -> None:
    """The valuation's inlined ``MarketRow`` of each row is ``market_row``'s."""
    config, holdings, quotes = build(n, seed)
    rng = random.Random(seed)
    assets = tuple(  # the asset's own σ and ADV (an ADV of 0 is none)
        dataclasses.replace(a, sigma=rng.choice([None, 0.02]), adv=rng.choice([None, 0.0, 1e5]))
        for a in config.portfolio.assets
    )
    config = dataclasses.replace(config, portfolio=dataclasses.replace(config.portfolio, assets=assets))
    for s in list(quotes)[: n // 3]:  # no σ, no ADV, a crossed or a one-sided quote
        q = quotes[s]
        quotes[s] = rng.choice([
            dataclasses.replace(q, sigma=None, adv=None), dataclasses.replace(q, bid=q.ask + 1),
            dataclasses.replace(q, bid=0.0), dataclasses.replace(q, sigma=-1.0, adv=0.0),
        ])  # fmt: skip
    pend = {s: D(-1) for s in list(quotes)[n // 2 : n // 2 + 3]} if pending else {}
    pf = value_portfolio(config, holdings, quotes, NOW, pending_qty=pend, for_market=True)
    tables = tables_for(config)
    assert pf.market is not None
    assert repr(pf.market) == repr([market_row(tables, r) for r in pf.rows])


def test_the_figure_names_point_at_their_figures() -> None:
    """``valuation``'s figure names (``PRICE`` … ``HIGH``) stand where ``market_row`` puts them."""
    from daemon.core.planning import valuation as F

    config, holdings, quotes = build(5, 1)
    pf = value_portfolio(config, holdings, quotes, NOW, for_market=True)
    for r, m in zip(pf.rows, pf.market or [], strict=True):
        assert len(m) == F._FIGURES
        assert (m[F.PRICE], m[F.SYMBOL], m[F.VALUE], m[F.TARGET]) == (r.price, r.symbol, r.value, r.target)
        assert (m[F.LOW], m[F.HIGH], m[F.LIQUIDATE], m[F.SELLABLE]) == (r.low, r.high, r.liquidate, r.sellable_f)
        assert m[F.WHOLE] is r.whole
        assert r.quote is not None and (m[F.BID], m[F.ASK]) == (r.quote.bid, r.quote.ask)
