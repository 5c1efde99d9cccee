import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from adapters.sim.fill_model import is_marketable, match, partial_qty, remaining_qty
from adapters.sim.orders_json import SimOrder

D = Decimal
T = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BID, ASK = D("99.98"), D("100.02")


def mk(**kw: Any) -> SimOrder:
    base: dict[str, Any] = dict(
        id="o", client_order_id="c", seq=1, symbol="SPY", asset_id="a", side="buy",
        type="market", time_in_force="day", status="new", created_at=T, updated_at=T,
        submitted_at=T, qty=D("10"),
    )  # fmt: skip
    base.update(kw)
    return SimOrder(**base)


def test_market_buys_at_the_ask_sells_at_the_bid() -> None:
    rng = random.Random(1)
    buy = match(mk(), BID, ASK, rng, 0.0)
    sell = match(mk(side="sell"), BID, ASK, rng, 0.0)
    assert buy is not None and (buy.qty, buy.price, buy.final) == (D("10"), ASK, True)
    assert sell is not None and sell.price == BID


def test_limits_fill_only_when_marketable_at_the_touch() -> None:
    rng = random.Random(1)
    assert match(mk(type="limit", limit_price=D("100.01")), BID, ASK, rng, 0.0) is None
    ex = match(mk(type="limit", limit_price=D("100.50")), BID, ASK, rng, 0.0)
    assert ex is not None and ex.price == ASK  # at the touch, not the limit
    assert match(mk(side="sell", type="limit", limit_price=D("99.99")), BID, ASK, rng, 0.0) is None
    assert is_marketable(mk(side="sell", type="limit", limit_price=D("99.98")), BID, ASK)


def test_a_zero_side_has_no_liquidity() -> None:
    assert not is_marketable(mk(), BID, D(0))
    assert not is_marketable(mk(side="sell"), D(0), ASK)


def test_stops_trigger_at_the_stop() -> None:
    stop = mk(type="stop", stop_price=D("101"))
    assert not is_marketable(stop, BID, ASK)
    assert is_marketable(stop, D("100.98"), D("101.00"))
    sl = mk(side="sell", type="stop_limit", stop_price=D("99"), limit_price=D("98.5"))
    assert not is_marketable(sl, BID, ASK)
    assert is_marketable(sl, D("98.9"), D("99.1"))
    assert not is_marketable(sl, D("98.4"), D("98.6"))  # triggered, but below the limit


def test_partial_fills_are_random_and_sum_to_the_order() -> None:
    rng = random.Random(42)
    o = mk(qty=D("137"))
    parts = []
    while o.filled_qty < o.qty:  # type: ignore[operator]
        ex = match(o, BID, ASK, rng, 1.0)
        assert ex is not None and ex.qty > 0
        assert ex.qty == ex.qty.to_integral_value()  # a whole-share order fills in whole shares
        o.filled_qty += ex.qty
        o.filled_notional += ex.qty * ex.price
        parts.append(ex.qty)
    assert sum(parts) == D("137") and len(parts) > 2


def test_fractional_partials_use_nine_decimals() -> None:
    q = partial_qty(D("1.5"), False, random.Random(3))
    assert 0 < q < D("1.5") and q == q.quantize(D("1e-9"))
    assert partial_qty(D("1"), True, random.Random(3)) == D("1")  # nothing smaller exists


def test_notional_orders_fill_the_dollars() -> None:
    o = mk(qty=None, notional=D("250"))
    assert remaining_qty(o, ASK) == D("2.499500099")
    ex = match(o, BID, ASK, random.Random(0), 0.0)
    assert ex is not None and ex.final and ex.qty * ex.price <= D("250")
    assert D("250") - ex.qty * ex.price < ASK * D("1e-9")


def test_fok_is_never_partial() -> None:
    rng = random.Random(0)
    for _ in range(20):
        ex = match(mk(time_in_force="fok"), BID, ASK, rng, 1.0)
        assert ex is not None and ex.qty == D("10")


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_same_seed_same_executions(p: float) -> None:
    def run(seed: int) -> list[tuple[Decimal, Decimal]]:
        rng, out = random.Random(seed), []
        for i in range(30):
            ex = match(mk(qty=D(10 + i)), BID, ASK, rng, p)
            assert ex is not None
            out.append((ex.qty, ex.price))
        return out

    assert run(5) == run(5)
