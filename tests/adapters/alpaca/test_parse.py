"""Captured payloads → wire Structs → core events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from adapters.alpaca import parse, wire
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.data_stream import AlpacaMarketData
from daemon.core.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    QuoteBatch,
    QuoteUpdated,
    TradingStatusChanged,
)
from daemon.core.model import OrderState, Side
from tests.adapters.alpaca import payloads

AT = datetime(2024, 7, 24, 14, 0, tzinfo=UTC)


def test_quote_batch_json_decodes_into_tagged_structs() -> None:
    batch = wire.STREAM_BATCH_JSON.decode(payloads.raw("data_quote_batch"))
    kinds = [type(m).__name__ for m in batch]
    assert kinds == [
        "StreamQuote",
        "StreamQuote",
        "StreamStatus",
        "StreamStatus",
        "StreamStatus",
        "StreamBar",
        "StreamTrade",
    ]
    q = batch[0]
    assert isinstance(q, wire.StreamQuote)
    assert (q.S, q.bp, q.ap, q.bs, q.as_, q.bx, q.ax) == (
        "FAKEPACA",
        133.85,
        135.77,
        4,
        5,
        "O",
        "R",
    )
    assert q.t == datetime(2024, 7, 24, 7, 56, 53, 639714, tzinfo=UTC)


def feed_events(frame: bytes | str) -> list[Event]:
    """The production path: one websocket frame through the market-data feed's handler."""
    md = AlpacaMarketData("ws://unused", Credentials(Secret("k"), Secret("s")), now=lambda: AT)
    out: list[Event] = []
    md._handle(frame, out.append)
    md._flush()  # what the reader emits once it yields the loop (none runs here)
    assert md.malformed == 0
    # a frame's quotes go out as QuoteBatch events: the quotes, in their order
    return [q for e in out for q in (e.quotes if isinstance(e, QuoteBatch) else (e,))]


AT = datetime(2024, 7, 24, 14, 0, tzinfo=UTC)


def test_quote_batch_msgpack_with_timestamp_ext_gives_same_events_as_json() -> None:
    batch = payloads.load("data_quote_batch")
    from_json = feed_events(payloads.raw("data_quote_batch").decode())
    from_msgpack = feed_events(payloads.to_msgpack(batch))
    # msgpack keeps nanoseconds; datetime keeps microseconds (truncated vs rounded may differ by 1 µs)
    assert len(from_json) == len(from_msgpack) == 4
    for a, b in zip(from_json, from_msgpack, strict=True):
        assert type(a) is type(b)
        assert abs(a.at - b.at) <= timedelta(microseconds=1)
        assert a.at.tzinfo is not None


def test_the_feed_maps_quotes_and_halts_and_ignores_bars() -> None:
    """Bars are not subscribed (the engine has no use for them); one in a batch is dropped."""
    q0, q1, halt, resume = feed_events(payloads.raw("data_quote_batch").decode())
    assert q0 == QuoteUpdated(q0.at, "FAKEPACA", 133.85, 135.77, 4.0, 5.0)
    assert isinstance(q1, QuoteUpdated) and q1.symbol == "AAPL" and q1.ask == 227.53
    assert isinstance(halt, TradingStatusChanged) and halt.halted and halt.symbol == "AAPL"
    assert halt.reason == "Trading Halt"
    assert isinstance(resume, TradingStatusChanged) and not resume.halted


def test_control_messages_decode() -> None:
    connected, authed, sub, err = (
        wire.STREAM_BATCH_JSON.decode(msgspec.json.encode(m)) for m in payloads.load("data_control")
    )
    assert isinstance(connected[0], wire.StreamSuccess) and connected[0].msg == "connected"
    assert isinstance(authed[0], wire.StreamSuccess) and authed[0].msg == "authenticated"
    assert isinstance(sub[0], wire.StreamSubscription) and sub[0].quotes == ["AMD", "CLDR"]
    assert isinstance(err[0], wire.StreamError) and err[0].code == 406


def test_unknown_message_type_fails_the_fast_path_only() -> None:
    bad = b'[{"T":"zz","S":"X"},{"T":"q","S":"A","bp":1,"ap":2,"t":"2024-07-24T13:30:00Z"}]'
    with pytest.raises(msgspec.ValidationError):
        wire.STREAM_BATCH_JSON.decode(bad)
    raws = wire.STREAM_RAW_JSON.decode(bad)
    assert isinstance(wire.STREAM_ONE_JSON.decode(raws[1]), wire.StreamQuote)


def test_latest_quotes_rest_body() -> None:
    events = parse.latest_quote_events(wire.LATEST_QUOTES.decode(payloads.raw("latest_quotes")))
    by = {e.symbol: e for e in events}
    assert by["AAPL"].bid == 227.5 and by["AAPL"].ask == 227.53 and by["AAPL"].ask_size == 2
    assert by["SPY"].ask == 0.0  # no active ask: passed through, the core decides
    assert by["AAPL"].at.tzinfo is UTC


def test_account_snapshot_from_account_positions_orders() -> None:
    snap = parse.account_snapshot(
        AT,
        wire.ACCOUNT.decode(payloads.raw("account")),
        wire.POSITIONS.decode(payloads.raw("positions")),
        [wire.ORDER.decode(payloads.raw("order_new"))],
    )
    assert snap.cash == Decimal("25012.34") and snap.buying_power == Decimal("24012.34")
    assert snap.positions == {"AAPL": Decimal("100.5"), "SPY": Decimal("95.2")}
    raw = {p["symbol"]: Decimal(p["avg_entry_price"]) for p in payloads.load("positions")}
    assert snap.avg_entry_prices == raw  # the lot ledger's fallback basis
    (o,) = snap.open_orders
    assert o.client_order_id == "run1-000001" and o.side is Side.BUY
    assert o.qty == Decimal("10.5") and o.limit_price == Decimal("227.55")
    assert o.filled_qty == 0 and o.notional is None


def test_short_position_is_negative() -> None:
    p = wire.Position(symbol="X", qty="5", side="short")
    snap = parse.account_snapshot(AT, wire.Account(cash="1"), [p], [])
    assert snap.positions["X"] == Decimal(-5)


def test_market_clock_with_localized_sessions_and_early_close() -> None:
    mc = parse.market_clock(
        wire.CLOCK.decode(payloads.raw("clock")), wire.CALENDAR.decode(payloads.raw("calendar"))
    )
    assert mc.is_open
    assert mc.at == datetime(2024, 11, 27, 15, 15, 0, 123456, tzinfo=UTC)
    assert mc.next_close == datetime(2024, 11, 27, 21, 0, tzinfo=UTC)
    day_after_thanksgiving = mc.sessions[1]
    assert day_after_thanksgiving.close.hour == 13
    assert day_after_thanksgiving.close.astimezone(UTC) == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert str(day_after_thanksgiving.open.tzinfo) == "America/New_York"


def test_order_state_events_for_each_status() -> None:
    new = parse.order_state_events(wire.ORDER.decode(payloads.raw("order_new")), AT)
    assert [type(e) for e in new] == [OrderAccepted]
    assert new[0].broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"

    partial = parse.order_state_events(
        wire.ORDER.decode(payloads.raw("order_partially_filled")), AT
    )
    assert [type(e) for e in partial] == [OrderAccepted, OrderFilled]
    fill = partial[1]
    assert isinstance(fill, OrderFilled)
    assert fill.cum_qty == Decimal(4) and fill.price == Decimal("227.52")
    assert fill.execution_id == "sync:61e69015-8549-4bfd-b9c3-01e75843f47d:4"

    canceled = parse.order_state_events(
        wire.ORDER.decode(payloads.raw("order_canceled_partial")), AT
    )
    assert [type(e) for e in canceled] == [OrderAccepted, OrderFilled, OrderCanceled]
    assert canceled[-1].at == datetime(2024, 7, 24, 13, 40, tzinfo=UTC)

    filled = parse.order_state_events(wire.ORDER.decode(payloads.raw("order_notional_filled")), AT)
    assert [type(e) for e in filled] == [OrderAccepted, OrderFilled]
    assert filled[1].cum_qty == Decimal("1.818181818")

    rejected = parse.order_state_events(wire.ORDER.decode(payloads.raw("order_rejected")), AT)
    assert [type(e) for e in rejected] == [OrderRejected]


def test_trade_update_fill_from_the_reference_example() -> None:
    env = wire.TRADE_ENVELOPE.decode(payloads.raw("trade_update_fill"))
    assert env.stream == "trade_updates"
    ev = parse.trade_update_event(wire.TRADE_UPDATE.decode(env.data), AT)
    assert isinstance(ev, OrderFilled)
    assert ev.execution_id == "2f63ea93-423d-4169-b3f6-3fdafc10c418"
    assert ev.qty == Decimal("1790.86") and ev.cum_qty == Decimal("1790.86")
    assert ev.price == Decimal("105.8988475") and ev.position_qty == Decimal(0)
    assert ev.at == datetime(2022, 4, 19, 17, 45, 5, 24917, tzinfo=UTC)


def test_trade_update_numbers_as_json_numbers_become_exact_decimals() -> None:
    env = wire.TRADE_ENVELOPE.decode(payloads.raw("trade_update_partial_fill_numbers"))
    ev = parse.trade_update_event(wire.TRADE_UPDATE.decode(env.data), AT)
    assert isinstance(ev, OrderFilled)
    assert ev.price == Decimal("227.52") and ev.qty == Decimal(4) and ev.cum_qty == Decimal(4)
    assert ev.position_qty == Decimal(104)


def _update(event: str, status: str) -> wire.TradeUpdate:
    order = msgspec.json.decode(payloads.raw("order_new"), type=wire.Order)
    order = msgspec.structs.replace(order, status=status)
    return wire.TradeUpdate(event=event, order=order, timestamp=AT)


@pytest.mark.parametrize(
    ("event", "expected", "reason"),
    [
        ("new", OrderAccepted, None),
        ("accepted", OrderAccepted, None),
        ("pending_new", OrderAccepted, None),
        ("canceled", OrderCanceled, "canceled"),
        ("expired", OrderCanceled, "expired"),
        ("done_for_day", OrderCanceled, "done_for_day"),
        ("replaced", OrderCanceled, "replaced"),
        ("rejected", OrderRejected, "rejected by the broker"),
        ("pending_cancel", None, None),
        ("pending_replace", None, None),
        ("order_cancel_rejected", None, None),
        ("order_replace_rejected", None, None),
        ("calculated", None, None),
        ("suspended", None, None),
        ("stopped", None, None),
        ("restated", None, None),
        ("some_future_event", None, None),
    ],
)
def test_every_trade_event_type(event: str, expected: type | None, reason: str | None) -> None:
    ev = parse.trade_update_event(_update(event, "new"), AT)
    if expected is None:
        assert ev is None
    else:
        assert type(ev) is expected
        assert ev.client_order_id == "run1-000001"
        if reason is not None:
            assert ev.reason == reason  # type: ignore[union-attr]


def test_fill_without_price_is_an_error_not_a_zero() -> None:
    u = _update("fill", "filled")
    u = msgspec.structs.replace(u, order=msgspec.structs.replace(u.order, filled_qty="1"))
    with pytest.raises(ValueError, match="without filled_qty/price"):
        parse.trade_update_event(u, AT)


def test_dec_handles_strings_numbers_and_garbage() -> None:
    assert parse.dec("1.50") == Decimal("1.50")
    assert parse.dec(0.1) == Decimal("0.1")
    assert parse.dec(3) == Decimal(3)
    assert parse.dec(None) is None and parse.dec("") is None and parse.dec("abc") is None


def test_fast_quote_maker_builds_the_same_event_as_the_constructor() -> None:
    fast = parse.make_quote(AT, "AAPL", 1.5, 1.6, 3.0, 4.0)
    slow = QuoteUpdated(AT, "AAPL", 1.5, 1.6, 3.0, 4.0)
    assert type(fast) is QuoteUpdated
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    with pytest.raises(AttributeError):
        fast.bid = 2.0  # type: ignore[misc]  # still frozen


def test_quote_events_are_the_constructors_events_in_order() -> None:
    from datetime import timezone

    assert parse._TWIN is not None  # the fast path is the one tested here
    est = timezone(timedelta(hours=-5))
    structs = [
        wire.StreamQuote(S="AAPL", t=AT, bp=1.5, ap=1.6, bs=3.0, as_=4.0),
        wire.StreamQuote(S="MSFT", t=AT.astimezone(est), bp=2.5, ap=2.75),  # sizes default
        wire.StreamQuote(S="AAPL", t=AT + timedelta(seconds=1), bp=1.4, ap=1.7, bs=1.0),
    ]
    events = parse.quote_events(structs)
    assert events == (
        QuoteUpdated(AT, "AAPL", 1.5, 1.6, 3.0, 4.0),
        QuoteUpdated(AT, "MSFT", 2.5, 2.75, 0.0, 0.0),
        QuoteUpdated(AT + timedelta(seconds=1), "AAPL", 1.4, 1.7, 1.0, 0.0),
    )
    assert all(type(e) is QuoteUpdated for e in events)
    assert events[1].at.tzinfo is UTC  # an offset stamp comes out in UTC
    assert [repr(e) for e in events] == [repr(QuoteUpdated(*(getattr(e, f) for f in
                                          parse._QUOTE_FIELDS))) for e in events]
    with pytest.raises(AttributeError):
        events[0].ask = 2.0  # type: ignore[misc]  # still frozen
    assert parse.quote_events([]) == ()


S = OrderState


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("new", "0", S.OPEN),
        ("accepted", "0", S.OPEN),
        ("pending_new", "0", S.OPEN),
        ("new", "3", S.PARTIAL),
        ("partially_filled", "3", S.PARTIAL),
        ("pending_cancel", "0", S.CANCELING),
        ("filled", "10", S.FILLED),
        ("canceled", "0", S.CANCELED),
        ("expired", "0", S.CANCELED),
        ("done_for_day", "2", S.CANCELED),
        ("replaced", "0", S.CANCELED),
        ("rejected", "0", S.REJECTED),
        ("something_new", "0", S.OPEN),
    ],
)
def test_alpaca_statuses_map_into_the_core_vocabulary(
    status: str, filled: str, expected: OrderState
) -> None:
    assert parse.order_state(status, Decimal(filled)) is expected
