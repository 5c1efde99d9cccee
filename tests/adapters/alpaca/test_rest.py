"""The aiohttp REST client against a real local server: auth, decimals, read retries,
429 + Reset, and a POST that is never retried."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.errors import AlpacaHTTPError, AlpacaTransportError
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import (
    AlpacaRest,
    decimal_str,
    order_body,
    round_limit_price,
    round_notional,
    round_qty,
)
from daemon.core.commands import PlaceOrder
from daemon.core.model import Side
from tests.adapters.alpaca.fake_alpaca import SECRET, FakeAlpaca, serve


def place(
    coid: str = "run1-000001",
    *,
    qty: str | None = "10",
    notional: str | None = None,
    limit: str | None = "227.55",
    side: Side = Side.BUY,
    symbol: str = "AAPL",
) -> PlaceOrder:
    return PlaceOrder(
        coid,
        symbol,
        side,
        Decimal(qty) if qty else None,
        Decimal(notional) if notional else None,
        Decimal(limit) if limit else None,
    )


# --- decimals out -----------------------------------------------------------------------------


def test_decimal_strings() -> None:
    assert decimal_str(Decimal("1.500")) == "1.5"
    assert decimal_str(Decimal("100")) == "100"
    assert decimal_str(Decimal("1E+2")) == "100"
    assert decimal_str(Decimal("0.000000001")) == "0.000000001"
    assert round_qty(Decimal("1.1234567899")) == Decimal("1.123456789")
    assert round_notional(Decimal("10.129")) == Decimal("10.12")


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        ("227.551", Side.BUY, "227.56"),
        ("227.559", Side.SELL, "227.55"),
        ("0.123456", Side.BUY, "0.1235"),
        ("0.123456", Side.SELL, "0.1234"),
        ("1.00001", Side.SELL, "1.00"),
        ("0.99999", Side.BUY, "1.0000"),
        ("5", Side.BUY, "5.00"),
    ],
)
def test_limit_prices_follow_the_sub_penny_rule(price: str, side: Side, expected: str) -> None:
    assert round_limit_price(Decimal(price), side) == Decimal(expected)
    assert str(round_limit_price(Decimal(price), side)) == expected


def test_order_body_strings() -> None:
    body = order_body(place(qty="10.1234567891", limit="227.551"))
    assert body == {
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "client_order_id": "run1-000001",
        "qty": "10.123456789",
        "limit_price": "227.56",
    }
    body = order_body(place(qty=None, notional="1000.456", limit=None))
    assert body["notional"] == "1000.45" and body["type"] == "market" and "qty" not in body


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (place(qty=None, notional=None), "exactly one of qty or notional"),
        (place(qty="1", notional="5"), "exactly one of qty or notional"),
        (place(qty="0.0000000001"), "rounds to ≤ 0"),
        (place(qty=None, notional="0.004", limit=None), "rounds to ≤ 0"),
        (place(limit="-1"), "limit_price must be > 0"),
        (place(coid="x" * 129), "1–128 characters"),
    ],
)
def test_order_body_refuses_bad_orders_with_the_fix(order: PlaceOrder, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        order_body(order)


# --- against the local server ---------------------------------------------------------------


async def test_reads_decode_and_send_auth(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    account = await rest.account()
    assert account.cash == "25012.34"
    assert [p.symbol for p in await rest.positions()] == ["AAPL", "SPY"]
    assert (await rest.clock()).is_open
    assert len(await rest.calendar(date(2024, 11, 27), date(2024, 12, 2))) == 3
    quotes = await rest.latest_quotes(["AAPL"], "iex")
    assert list(quotes.quotes) == ["AAPL"]


async def test_wrong_key_is_a_clear_401_without_the_secret(fake: FakeAlpaca) -> None:
    bad = Credentials(Secret("PKTEST"), Secret("wrong-secret"))
    async with serve(fake) as url:
        client = AlpacaRest(bad, base_url=url, data_url=url, limiter=RateLimiter())
        try:
            with pytest.raises(AlpacaHTTPError) as err:
                await client.account()
        finally:
            await client.close()
    assert err.value.status == 401 and "unauthorized" in str(err.value)
    assert "wrong-secret" not in str(err.value) and SECRET not in repr(err.value)


async def test_reads_retry_5xx_and_drops_then_succeed(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    fake.faults = ["500", "drop"]
    account = await rest.account()
    assert account.status == "ACTIVE"
    assert [p for _, p, _ in fake.log] == ["/v2/account"] * 3
    assert rest.retries >= 1  # aiohttp itself may retry a GET on a reused keep-alive socket


async def test_reads_give_up_after_the_attempts(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    fake.faults = ["500", "500", "500", "500"]
    with pytest.raises(AlpacaHTTPError, match="HTTP 500 50010000"):
        await rest.account()
    assert len(fake.log) == 3


async def test_read_timeout_is_retried(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    fake.faults = ["hang"]
    assert (await rest.clock()).is_open
    assert len(fake.log) == 2


async def test_429_blocks_the_shared_limiter_until_reset(
    rest: AlpacaRest, fake: FakeAlpaca
) -> None:
    fake.faults = ["429"]
    fake.reset_in = 0.0
    await rest.account()
    assert rest.limiter.rate_limited == 1 and len(fake.log) == 2


async def test_remaining_headers_update_the_limiter(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    fake.remaining = 25
    await rest.account()
    assert rest.limiter.tokens <= 5 + 1  # 25 remaining − 20 headroom (+ refill)


@pytest.mark.parametrize("fault", ["500", "500_after", "429", "drop_after"])
async def test_order_post_is_never_retried(rest: AlpacaRest, fake: FakeAlpaca, fault: str) -> None:
    fake.faults = [fault]
    with pytest.raises((AlpacaHTTPError, AlpacaTransportError)):
        await rest.submit_order(place())
    assert len(fake.posts()) == 1


async def test_order_post_timeout_is_a_sent_transport_error(
    rest: AlpacaRest, fake: FakeAlpaca
) -> None:
    fake.faults = ["hang_after"]
    with pytest.raises(AlpacaTransportError, match="timed out") as err:
        await rest.submit_order(place())
    assert err.value.sent is True
    assert len(fake.posts()) == 1 and "run1-000001" in fake.orders


async def test_order_post_body_is_decimal_strings(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    order = await rest.submit_order(place(qty="1.0000000009", limit="0.56789"))
    (body,) = fake.posts()
    assert body["qty"] == "1" and body["limit_price"] == "0.5679"
    assert order.client_order_id == "run1-000001"


async def test_cancel_and_lookup_statuses(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    o = fake.add_order("c1")
    assert (await rest.order_by_client_id("c1")).id == o["id"]  # type: ignore[union-attr]
    assert await rest.order_by_client_id("nope") is None
    assert await rest.cancel_order(o["id"]) == 204
    assert await rest.cancel_order(o["id"]) == 422
    assert await rest.cancel_order("00000000-0000-4000-8000-000000000000") == 404


async def test_many_concurrent_reads_share_one_limiter(rest: AlpacaRest, fake: FakeAlpaca) -> None:
    await asyncio.gather(*(rest.clock() for _ in range(20)))
    assert rest.limiter.acquired == 20


@settings(max_examples=200, deadline=None)
@given(
    qty=st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**6), places=12),
    price=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**5), places=6),
    side=st.sampled_from([Side.BUY, Side.SELL]),
)
def test_rounding_properties(qty: Decimal, price: Decimal, side: Side) -> None:
    q = round_qty(qty)
    assert q <= qty and qty - q < Decimal("0.000000001")
    assert -q.as_tuple().exponent <= 9  # type: ignore[operator]
    p = round_limit_price(price, side)
    places = -p.as_tuple().exponent  # type: ignore[operator]
    assert places == (2 if p >= 1 else 4) or (p >= 1 and price < 1)  # 0.99995 → 1.0000 (buy)
    assert (p >= price) if side is Side.BUY else (p <= price)  # stays marketable
    assert abs(p - price) < (Decimal("0.01") if price >= 1 else Decimal("0.0001"))
    body = decimal_str(q)
    assert "E" not in body and Decimal(body) == q
