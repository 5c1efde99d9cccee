"""Every validation error body, through SimExchange.submit_order (as the server calls it)."""

from typing import Any

import pytest

from adapters.sim.sim_errors import SimAPIError
from tests.adapters.sim.engine_helpers import make_exchange, order


def err(body: dict[str, Any], **kw: Any) -> SimAPIError:
    ex, _, _ = make_exchange(**kw)
    with pytest.raises(SimAPIError) as info:
        ex.submit_order(body)
    return info.value


def test_qty_and_notional_both_is_400() -> None:
    e = err(order(notional="100"))
    assert e.status == 400
    assert e.body() == {
        "code": 40010000,
        "message": "qty and notional cannot both be specified; send one",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (order(qty=None), "qty or notional is required"),
        (order(qty="0"), "qty must be > 0"),
        (order(qty="1.0000000001"), "qty must have at most 9 decimal places"),
        (order(side="hold"), "invalid side 'hold'; use buy or sell"),
        (order(type="trailing_stop"), "trailing_stop orders are not supported by the simulator"),
        (order(type="limit"), "limit_price is required for limit orders"),
        (order(type="stop"), "stop_price is required for stop orders"),
        (order(limit_price="600"), "limit_price must not be set for market orders"),
        (order(time_in_force="gtd"), "invalid time_in_force 'gtd'"),
        (order(qty="1.5", time_in_force="gtc"), "fractional orders must be DAY orders"),
        (
            order(qty=None, notional="100", time_in_force="gtc"),
            "fractional orders must be DAY orders",
        ),
        (
            order(qty=None, notional="100", type="limit", limit_price="600"),
            "notional orders must be market orders",
        ),
        (order(extended_hours=True), "extended hours order must be DAY or GTC limit orders"),
        (order(client_order_id="x" * 129), "client_order_id must be no more than 128 characters"),
        (
            order(order_class="bracket"),
            "order_class 'bracket' is not supported by the simulator; use simple",
        ),
        (order(symbol="NOPE"), 'asset "NOPE" not found'),
        (order(symbol="GLD", qty="0.5"), "requested asset GLD is not fractionable"),
        (order(symbol="GLD", qty=None, notional="50"), "requested asset GLD is not fractionable"),
    ],
)
def test_422_bodies(body: dict[str, Any], message: str) -> None:
    e = err(body)
    assert (e.status, e.body()) == (422, {"code": 40010001, "message": message})


@pytest.mark.parametrize(
    ("price", "ok"), [("10.12", True), ("10.123", False), ("0.1234", True), ("0.12345", False)]
)
def test_sub_penny(price: str, ok: bool) -> None:
    body = order(type="limit", limit_price=price, qty="100")
    ex, _, _ = make_exchange()
    if ok:
        assert ex.submit_order(body)["limit_price"] == price
        return
    with pytest.raises(SimAPIError) as info:
        ex.submit_order(body)
    assert info.value.status == 422
    assert info.value.body() == {
        "code": 42210000,
        "message": f"invalid limit_price {price}. sub-penny increment does not fulfill minimum pricing criteria",
    }


def test_alpaca_py_floats_are_accepted() -> None:
    ex, _, _ = make_exchange()
    o = ex.submit_order(order(qty=None, notional=10.123456789))
    assert o["notional"] == "10.123456789"


def test_cost_basis_below_one_dollar_is_403() -> None:
    e = err(order(qty=None, notional="0.99"))
    assert (e.status, e.body()) == (
        403,
        {"code": 40310000, "message": "cost basis must be >= minimal amount of order 1"},
    )
    e = err(order(qty="0.001"))  # 0.001 × ~$600 ask
    assert e.body()["message"] == "cost basis must be >= minimal amount of order 1"


def test_insufficient_buying_power_carries_the_numbers() -> None:
    e = err(order(qty="20", type="limit", limit_price="600"), cash="10000")
    assert e.status == 403
    assert e.body() == {
        "code": 40310000,
        "message": "insufficient buying power",
        "buying_power": "10000",
        "cost_basis": "12000",
    }


def test_insufficient_qty_available() -> None:
    e = err(order(side="sell", qty="12"), positions={"SPY": {"qty": "10"}})
    assert e.status == 403
    assert e.body() == {
        "code": 40310000,
        "message": "insufficient qty available for order (requested: 12, available: 10)",
        "available": "10",
        "existing_qty": "10",
        "held_for_orders": "0",
        "symbol": "SPY",
    }
    flat = err(order(side="sell", qty="1"))  # no shorting in a cash account
    assert (
        flat.body()["message"]
        == "insufficient qty available for order (requested: 1, available: 0)"
    )


def test_client_order_id_is_unique_forever() -> None:
    ex, _, _ = make_exchange()
    first = ex.submit_order(order(type="limit", limit_price="500", client_order_id="dup-1"))
    ex.cancel_order(first["id"])
    assert ex.get_order(first["id"])["status"] == "canceled"
    with pytest.raises(SimAPIError) as info:
        ex.submit_order(order(client_order_id="dup-1"))
    assert (info.value.status, info.value.body()) == (
        422,
        {"code": 40010001, "message": "client_order_id must be unique"},
    )


def test_opg_and_cls_windows() -> None:
    e = err(order(time_in_force="opg"))  # 09:35 ET
    assert e.body()["message"] == "opg orders are not accepted between 9:28 and 19:00 ET"
    e = err(order(time_in_force="cls"), start="2026-11-23T20:55:00Z")  # 15:55 ET
    assert e.body()["message"] == "cls orders are not accepted between 15:50 and 19:00 ET"


def test_replace_request_errors() -> None:
    ex, _, _ = make_exchange()
    o = ex.submit_order(order(type="limit", limit_price="500"))
    with pytest.raises(SimAPIError, match="whole number"):
        ex.replace_order(o["id"], {"qty": "1.5"})
    with pytest.raises(SimAPIError, match="sub-penny"):
        ex.replace_order(o["id"], {"limit_price": "500.001"})
    with pytest.raises(SimAPIError, match="stop_price cannot be set on a limit order"):
        ex.replace_order(o["id"], {"stop_price": "400"})
