"""Wire structs → core events. Pure: no I/O, no clock (``at`` is handed in where the wire
has no timestamp), so every function is tested against captured payloads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from adapters.alpaca import wire
from daemon.core.events import (
    AccountSnapshot,
    BrokerOrder,
    Event,
    MarketClock,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    QuoteUpdated,
    TradingStatusChanged,
)
from daemon.core.model import OrderState, Side, TradingSession

NEW_YORK = ZoneInfo("America/New_York")

# Halt / resume codes of the status channel: UTP (tape C) letters and CTA (tapes A/B) digits.
HALT_CODES = frozenset({"H", "P", "2"})
RESUME_CODES = frozenset({"T", "Q", "3"})

ACCEPTED_STATUSES = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "partially_filled",
        "pending_cancel",
        "pending_replace",
        "held",
        "calculated",
        "stopped",
        "suspended",
    }
)
CANCELED_STATUSES = frozenset({"canceled", "expired", "done_for_day", "replaced"})

_ZERO = Decimal(0)


def dec(value: wire.Num | None) -> Decimal | None:
    """A wire decimal (string or JSON number) as ``Decimal``; None/""/garbage → None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(value) if isinstance(value, str | int) else Decimal(repr(value))
    except InvalidOperation:
        return None


def utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)


# --- market data ----------------------------------------------------------------------------

_QUOTE_FIELDS = ("at", "symbol", "bid", "ask", "bid_size", "ask_size")
QuoteMaker = Callable[[datetime, str, float, float, float, float], QuoteUpdated]


class _QuoteTwin:
    """``QuoteUpdated``'s slots, unfrozen: built with plain slot stores, then given the
    event's class (``_twin_maker``)."""

    __slots__ = _QUOTE_FIELDS

    def __init__(
        self, at: datetime, symbol: str, bid: float, ask: float, bid_size: float,
        ask_size: float,
    ) -> None:
        self.at = at
        self.symbol = symbol
        self.bid = bid
        self.ask = ask
        self.bid_size = bid_size
        self.ask_size = ask_size


def _twin_maker() -> type[_QuoteTwin] | None:
    """``_QuoteTwin`` if a twin can become a ``QuoteUpdated`` equal to the constructor's
    (the same fields, the same slot layout: CPython checks it at the class assignment);
    else None and the events are built by ``make_quote``."""
    names = tuple(f.name for f in dataclasses.fields(QuoteUpdated))
    if names != _QUOTE_FIELDS or getattr(QuoteUpdated, "__slots__", None) != _QUOTE_FIELDS:
        return None
    at = datetime(2026, 1, 2, tzinfo=UTC)
    probe: object = _QuoteTwin(at, "X", 1.0, 2.0, 3.0, 4.0)
    try:
        probe.__class__ = QuoteUpdated
    except TypeError:
        return None
    return _QuoteTwin if probe == QuoteUpdated(at, "X", 1.0, 2.0, 3.0, 4.0) else None


_TWIN = _twin_maker()


def _quote_maker() -> QuoteMaker:
    """``QuoteUpdated(at, symbol, bid, ask, bid_size, ask_size)``, about twice as fast: a
    frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per field; this
    stores the slots of a twin and hands it the event's class. Falls back to the
    constructor if the event's fields ever change, so it can never build a half-initialised
    event."""
    twin, cls = _TWIN, QuoteUpdated
    if twin is None:
        return QuoteUpdated

    def make(
        at: datetime, symbol: str, bid: float, ask: float, bid_size: float, ask_size: float
    ) -> QuoteUpdated:
        q = twin(at, symbol, bid, ask, bid_size, ask_size)
        q.__class__ = cls  # type: ignore[assignment]
        return q  # type: ignore[return-value]

    return make


make_quote: QuoteMaker = _quote_maker()


def quote_events(quotes: Iterable[wire.StreamQuote]) -> tuple[QuoteUpdated, ...]:
    """The stream's quotes as events, in order (``make_quote`` each, at ``utc(q.t)``)."""
    twin, cls = _TWIN, QuoteUpdated
    if twin is None:
        make = make_quote
        return tuple([make(utc(m.t), m.S, m.bp, m.ap, m.bs, m.as_) for m in quotes])
    # every quote of every frame passes here: make_quote and utc inlined (their calls were
    # ~40 % of the cost)
    out: list[QuoteUpdated] = []
    append = out.append
    new = object.__new__
    for m in quotes:
        at = m.t
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        q = new(twin)
        q.at = at
        q.symbol = m.S
        q.bid = m.bp
        q.ask = m.ap
        q.bid_size = m.bs
        q.ask_size = m.as_
        q.__class__ = cls  # type: ignore[assignment]
        append(q)  # type: ignore[arg-type]
    return tuple(out)


def status_event(s: wire.StreamStatus) -> TradingStatusChanged | None:
    """Halt or resume; other status codes (imbalances, price indications, …) → None."""
    if s.sc in HALT_CODES:
        halted = True
    elif s.sc in RESUME_CODES:
        halted = False
    else:
        return None
    reason = s.sm or s.rm or s.sc
    return TradingStatusChanged(utc(s.t), s.S, halted, reason)


def latest_quote_events(body: wire.LatestQuotes) -> list[QuoteUpdated]:
    return [
        QuoteUpdated(utc(q.t), symbol, q.bp, q.ap, q.bs, q.as_) for symbol, q in body.quotes.items()
    ]


# --- REST objects ----------------------------------------------------------------------------


# Alpaca's order statuses (reference §1.7) in the core's vocabulary: the only place they
# are named. Anything not listed (a status added later) counts as still open.
ORDER_STATES: dict[str, OrderState] = {
    "new": OrderState.OPEN,
    "accepted": OrderState.OPEN,
    "pending_new": OrderState.OPEN,
    "accepted_for_bidding": OrderState.OPEN,
    "held": OrderState.OPEN,
    "calculated": OrderState.OPEN,
    "pending_review": OrderState.OPEN,
    "pending_replace": OrderState.OPEN,
    "stopped": OrderState.OPEN,
    "suspended": OrderState.OPEN,
    "partially_filled": OrderState.PARTIAL,
    "pending_cancel": OrderState.CANCELING,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "expired": OrderState.CANCELED,
    "done_for_day": OrderState.CANCELED,
    "replaced": OrderState.CANCELED,
    "rejected": OrderState.REJECTED,
}


def order_state(status: str, filled_qty: Decimal) -> OrderState:
    """Our state for an Alpaca order status; an open order with fills is PARTIAL."""
    state = ORDER_STATES.get(status, OrderState.OPEN)
    if state is OrderState.OPEN and filled_qty > 0:
        return OrderState.PARTIAL
    return state


def broker_order(o: wire.Order) -> BrokerOrder:
    filled = dec(o.filled_qty) or _ZERO
    return BrokerOrder(
        client_order_id=o.client_order_id,
        broker_order_id=o.id,
        symbol=o.symbol,
        side=Side(o.side),
        status=order_state(o.status, filled),
        qty=dec(o.qty),
        notional=dec(o.notional),
        filled_qty=filled,
        filled_avg_price=dec(o.filled_avg_price),
        limit_price=dec(o.limit_price),
    )


def account_snapshot(
    at: datetime,
    account: wire.Account,
    positions: Iterable[wire.Position],
    open_orders: Iterable[wire.Order],
) -> AccountSnapshot:
    cash = dec(account.cash)
    if cash is None:
        raise ValueError(f"account cash {account.cash!r} is not a decimal")
    held: dict[str, Decimal] = {}
    entry: dict[str, Decimal] = {}
    for p in positions:
        qty = dec(p.qty)
        if qty is None:
            raise ValueError(f"position {p.symbol}: qty {p.qty!r} is not a decimal")
        if p.side == "short" and qty > 0:
            qty = -qty
        held[p.symbol] = qty
        avg = dec(p.avg_entry_price)
        if avg is not None and avg.is_finite() and avg > 0:
            entry[p.symbol] = avg
    return AccountSnapshot(
        at=utc(at),
        cash=cash,
        positions=held,
        open_orders=tuple(broker_order(o) for o in open_orders),
        buying_power=dec(account.buying_power),
        avg_entry_prices=entry,
    )


def _hhmm(text: str) -> time:
    text = text.replace(":", "")
    return time(int(text[:2]), int(text[2:4]))


def trading_session(day: wire.CalendarDay) -> TradingSession:
    """A calendar row (``open``/``close`` are New York wall-clock ``HH:MM``) → aware session."""
    d = date.fromisoformat(day.date)
    return TradingSession(
        day=d,
        open=datetime.combine(d, _hhmm(day.open), NEW_YORK),
        close=datetime.combine(d, _hhmm(day.close), NEW_YORK),
    )


def market_clock(clock: wire.Clock, calendar: Iterable[wire.CalendarDay]) -> MarketClock:
    return MarketClock(
        at=utc(clock.timestamp),
        is_open=clock.is_open,
        next_open=utc(clock.next_open),
        next_close=utc(clock.next_close),
        sessions=tuple(trading_session(d) for d in calendar),
    )


def order_time(o: wire.Order) -> datetime | None:
    for t in (
        o.updated_at,
        o.filled_at,
        o.canceled_at,
        o.expired_at,
        o.failed_at,
        o.submitted_at,
        o.created_at,
    ):
        if t is not None:
            return utc(t)
    return None


def order_state_events(o: wire.Order, at: datetime) -> list[Event]:
    """The events that bring our view of one order up to its broker state (lookups and the
    catch-up after a trade-stream reconnect). A fill shows as one ``OrderFilled`` carrying the
    cumulative quantity, with a deterministic execution id ``sync:<order id>:<cum qty>`` so
    repeating the catch-up is harmless."""
    at = order_time(o) or utc(at)
    events: list[Event] = []
    status = o.status
    if status == "rejected":
        return [OrderRejected(at, o.client_order_id, "rejected by the broker")]
    events.append(OrderAccepted(at, o.client_order_id, o.id))
    cum = dec(o.filled_qty) or _ZERO
    price = dec(o.filled_avg_price)
    if cum > 0 and price is not None:
        events.append(
            OrderFilled(
                at=at,
                client_order_id=o.client_order_id,
                execution_id=f"sync:{o.id}:{cum}",
                qty=cum,
                price=price,
                cum_qty=cum,
                broker_order_id=o.id,
            )
        )
    if status in CANCELED_STATUSES:
        events.append(OrderCanceled(at, o.client_order_id, status))
    return events


# --- trading stream -------------------------------------------------------------------------

FILL_EVENTS = frozenset({"fill", "partial_fill"})
ACCEPT_EVENTS = frozenset({"new", "accepted", "pending_new"})
CANCEL_EVENTS = frozenset({"canceled", "expired", "done_for_day"})
QUIET_EVENTS = frozenset(
    {
        "pending_cancel",
        "pending_replace",
        "order_cancel_rejected",
        "order_replace_rejected",
        "calculated",
        "suspended",
        "stopped",
        "restated",
        "held",
        "accepted_for_bidding",
    }
)


def trade_update_event(u: wire.TradeUpdate, received_at: datetime) -> Event | None:
    """One ``trade_updates`` message → one core event, or None for the events the core does
    not act on (pending_*, *_rejected, calculated, …). ``replaced`` ends the old order
    (``OrderCanceled(reason="replaced")``)."""
    o = u.order
    at = utc(u.timestamp or u.at or received_at)
    event = u.event
    if event in FILL_EVENTS:
        cum = dec(o.filled_qty)
        qty = dec(u.qty)
        price = dec(u.price)
        if price is None:
            price = dec(o.filled_avg_price)
        if cum is None or price is None:
            raise ValueError(f"{event} for {o.client_order_id} without filled_qty/price")
        return OrderFilled(
            at=at,
            client_order_id=o.client_order_id,
            execution_id=u.execution_id or f"sync:{o.id}:{cum}",
            qty=qty if qty is not None else cum,
            price=price,
            cum_qty=cum,
            broker_order_id=o.id,
            position_qty=dec(u.position_qty),
        )
    if event in ACCEPT_EVENTS:
        return OrderAccepted(at, o.client_order_id, o.id)
    if event in CANCEL_EVENTS:
        return OrderCanceled(at, o.client_order_id, event)
    if event == "replaced":
        return OrderCanceled(at, o.client_order_id, "replaced")
    if event == "rejected":
        return OrderRejected(at, o.client_order_id, "rejected by the broker")
    return None
