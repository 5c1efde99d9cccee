"""The float fast paths give exactly what the Decimal reference gives (value and exponent)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.config.values import AssetConfig, Config, PortfolioConfig
from daemon.core.model import Holdings, Quote, Side
from daemon.core.planning.costs import to_cents_up
from daemon.core.planning.exact_ticks import ceil_ticks, floor_ticks, scaled_floor, ticks_decimal
from daemon.core.planning.rounding import (
    marketable_limit,
    marketable_limit_ticks,
    qty_decimal,
    round_qty,
    round_qty_ticks,
    to_decimal,
)
from daemon.core.planning.valuation import value_portfolio

SOME = settings(max_examples=400, deadline=None)

# floats that sit on or next to decimal ticks are where a float shortcut would go wrong
on_ticks = st.builds(lambda k, d: k / 10**d, st.integers(0, 10**12), st.integers(0, 12))
near_ticks = on_ticks.flatmap(lambda x: st.integers(-3, 3).map(lambda n: _nudge(x, n)))
anything = st.floats(0.0, 1e16, allow_nan=False, allow_infinity=False)
floats = on_ticks | near_ticks | anything


def _nudge(x: float, n: int) -> float:
    for _ in range(abs(n)):
        x = math.nextafter(x, math.inf if n > 0 else 0.0)
    return x


@pytest.mark.parametrize("per_unit", [1, 100, 10_000, 1_000_000_000])
@SOME
@given(x=floats)
def test_floor_and_ceil_ticks_match_decimal(per_unit: int, x: float) -> None:
    exact = D(repr(x)) * per_unit
    k = floor_ticks(x, per_unit)
    if k is not None:
        assert k == int(exact.to_integral_value(rounding=ROUND_FLOOR))
    c = ceil_ticks(x, per_unit)
    if c is not None:
        assert c == int(exact.to_integral_value(rounding=ROUND_CEILING))


def test_the_fast_path_decides_ordinary_values() -> None:
    assert floor_ticks(0.1, 10**9) == 100_000_000
    assert floor_ticks(123.456789, 10**9) == 123_456_789_000
    assert ceil_ticks(0.1 + 0.2, 100) == 31  # 0.30000000000000004 is above 30 cents
    assert floor_ticks(0.1 + 0.2, 100) == 30
    assert floor_ticks(1e16, 1) is None  # too large to decide: the caller uses Decimal


@SOME
@given(x=floats, whole=st.booleans())
def test_round_qty_ticks_is_round_qty(x: float, whole: bool) -> None:
    ref = round_qty(to_decimal(x), whole=whole)
    got = qty_decimal(round_qty_ticks(x, whole=whole), whole=whole)
    assert got == ref
    if ref > 0:
        assert str(got) == str(ref)


@SOME
@given(x=floats)
def test_to_cents_up_is_the_decimal_ceiling(x: float) -> None:
    ref = D(repr(x)).quantize(D("0.01"), rounding=ROUND_CEILING)
    assert str(to_cents_up(x)) == str(ref)


offsets = st.sampled_from([0.0, 0.001, 0.005, 0.0003, 0.01, 0.123, 1e-9]) | st.floats(0.0, 0.05)
prices = (
    st.builds(lambda k, d: k / 10**d, st.integers(1, 10**7), st.sampled_from([2, 3, 4, 6]))
    | st.floats(1e-6, 1e5)
    | st.sampled_from([1.0, 0.9999, 0.99995, 1.0001, 0.01, 123.45])
)


@SOME
@given(px=prices, offset=offsets, side=st.sampled_from(list(Side)))
def test_marketable_limit_ticks_is_marketable_limit(px: float, offset: float, side: Side) -> None:
    ref = marketable_limit(side, to_decimal(px), to_decimal(px), to_decimal(offset))
    k, e = marketable_limit_ticks(side, px, px, offset, to_decimal(offset))
    got = ticks_decimal(k, e)
    assert got == ref and str(got) == str(ref)


@SOME
@given(
    ticks=st.integers(1, 10**14),
    scale=st.floats(1e-6, 1.0) | st.sampled_from([0.5, 0.25, 0.1, 0.9999]),
)
def test_scaled_floor_matches_the_decimal_product(ticks: int, scale: float) -> None:
    s = to_decimal(scale)
    k = scaled_floor(ticks, float(s))
    if k is not None:
        assert k == int((D(ticks) * s).to_integral_value(rounding=ROUND_FLOOR))


NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    cash=st.integers(-(10**9), 10**9).map(lambda c: D(c) / 1000),
    rows=st.lists(
        st.tuples(
            st.integers(-(10**9), 10**12).map(lambda q: D(q) / 10**6)
            | st.sampled_from([D("0.5"), D("1.5"), D("0.25")]),
            st.sampled_from([0.005, 0.015, 0.01, 0.03, 1.0, 0.1, 3.3]) | st.floats(0.0001, 5000.0),
        ),
        min_size=0,
        max_size=40,
    ),
)
def test_value_cents_is_the_exact_sum_rounded(cash: D, rows: list[tuple[D, float]]) -> None:
    """The float sum (when clearly away from a half cent) and the exact Decimal sum agree;
    quantities and prices chosen to land on half cents often."""
    syms = [f"S{i}" for i in range(len(rows))]
    assets = tuple(AssetConfig(s, 1 / max(1, len(rows))) for s in syms)
    config = Config(PortfolioConfig(assets=assets))
    positions = {s: q for s, (q, _) in zip(syms, rows, strict=True)}
    quotes = {s: Quote(s, p, p, NOW) for s, (_, p) in zip(syms, rows, strict=True)}
    pf = value_portfolio(config, Holdings(cash, positions), quotes, NOW)
    ref = pf.value_dec.quantize(D("0.01"))
    assert str(pf.value_cents()) == str(ref)
    assert math.isclose(pf.value, float(ref), abs_tol=0.01)


@pytest.mark.parametrize(
    ("cash", "qty", "price", "cents"),
    [
        ("0.005", "0", 1.0, "0.00"),  # half-even: a half cent rounds to the even cent
        ("0.015", "0", 1.0, "0.02"),
        ("-0.004", "0", 1.0, "-0.00"),
        ("100", "0.5", 0.01, "100.00"),  # 100.005
        ("100", "1.5", 0.01, "100.02"),  # 100.015
        ("1234.56", "10", 12.34, "1357.96"),
    ],
)
def test_value_cents_on_half_cents(cash: str, qty: str, price: float, cents: str) -> None:
    config = Config(PortfolioConfig(assets=(AssetConfig("A", 1.0),)))
    pf = value_portfolio(
        config, Holdings(D(cash), {"A": D(qty)}), {"A": Quote("A", price, price, NOW)}, NOW
    )
    assert str(pf.value_cents()) == cents == str(pf.value_dec.quantize(D("0.01")))
