"""Venue rounding: quantities down to 9 dp or whole shares, cents, the sub-penny rule."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.model import Side
from daemon.core.planning.rounding import (
    decimal_str,
    is_valid_price,
    marketable_limit,
    round_notional,
    round_price,
    round_qty,
    round_qty_ticks,
    tick_for,
    to_decimal,
)


def test_to_decimal_uses_the_shortest_repr_of_a_float() -> None:
    assert to_decimal(0.1) == D("0.1")
    assert to_decimal(245.14) == D("245.14")
    assert to_decimal(3) == D(3)
    assert to_decimal("1.5") == D("1.5")


@pytest.mark.parametrize(
    ("qty", "whole", "expected"),
    [
        (D("1.9999999999"), False, D("1.999999999")),
        (D("12.7"), True, D("12")),
        (D("0.9"), True, D("0")),
        (D("-3"), False, D("0")),
        (D("5"), True, D("5")),
    ],
)
def test_round_qty_rounds_down(qty: D, whole: bool, expected: D) -> None:
    assert round_qty(qty, whole=whole) == expected


def test_round_notional_rounds_down_to_cents() -> None:
    assert round_notional(D("10.129")) == D("10.12")
    assert round_notional(D("-1")) == D(0)


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        (D("245.1401"), Side.BUY, D("245.15")),
        (D("245.1499"), Side.SELL, D("245.14")),
        (D("0.123456"), Side.BUY, D("0.1235")),
        (D("0.123456"), Side.SELL, D("0.1234")),
        (D("0.99995"), Side.BUY, D("1.00")),  # rounds up across $1: 2 dp there
        (D("1.00004"), Side.SELL, D("1.00")),
        (D("0.00001"), Side.SELL, D("0")),  # untradable
        (D("12.5"), Side.BUY, D("12.50")),
    ],
)
def test_round_price_follows_the_sub_penny_rule(price: D, side: Side, expected: D) -> None:
    got = round_price(price, side)
    assert got == expected
    if got > 0:
        assert is_valid_price(got)


def test_tick_and_validity() -> None:
    assert tick_for(D("1")) == D("0.01")
    assert tick_for(D("0.9999")) == D("0.0001")
    assert is_valid_price(D("1.23"))
    assert not is_valid_price(D("1.234"))
    assert is_valid_price(D("0.1234"))
    assert not is_valid_price(D("0.12345"))
    assert not is_valid_price(D("0"))


def test_marketable_limit_buy_above_ask_sell_below_bid() -> None:
    bid, ask, off = D("245.10"), D("245.14"), D("0.001")
    assert marketable_limit(Side.BUY, bid, ask, off) == D("245.39")  # 245.38514 ↑
    assert marketable_limit(Side.SELL, bid, ask, off) == D("244.85")  # 244.8549 ↓


@settings(max_examples=200)
@given(
    st.decimals(min_value=D("0.0002"), max_value=D("100000"), places=6),
    st.decimals(min_value=D("0"), max_value=D("0.05"), places=4),
)
def test_limits_are_valid_and_stay_marketable(price: D, offset: D) -> None:
    buy = marketable_limit(Side.BUY, price, price, offset)
    sell = marketable_limit(Side.SELL, price, price, offset)
    assert is_valid_price(buy) and buy >= price * (1 + offset)
    if sell > 0:
        assert is_valid_price(sell) and sell <= price * (1 - offset)


@settings(max_examples=200)
@given(st.decimals(min_value=D("0"), max_value=D("1e7"), places=12), st.booleans())
def test_round_qty_never_rounds_up(qty: D, whole: bool) -> None:
    r = round_qty(qty, whole=whole)
    assert 0 <= r <= qty
    assert qty - r < (1 if whole else D("1e-9"))
    assert -r.as_tuple().exponent <= (0 if whole else 9)  # type: ignore[operator]


def test_decimal_str_has_no_exponent() -> None:
    assert decimal_str(D("1E+2")) == "100"
    assert decimal_str(D("0.000000001")) == "0.000000001"


def test_a_quantity_past_28_digits_at_9_decimals_still_rounds() -> None:
    """1e23 shares to 1e-9 is 33 digits, past Decimal's default precision: quantize must not
    refuse (found by tests/test_cli_plan_fuzz.py: a $1e19 trade at $0.0001)."""
    big = D("123456789012345678901234.5678901239")
    assert round_qty(big, whole=False) == D("123456789012345678901234.567890123")
    assert round_qty(big, whole=True) == D("123456789012345678901234")
    assert round_qty_ticks(1e23, whole=False) > 0
