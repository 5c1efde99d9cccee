"""The order lifecycle table, every cell, and the book that applies fills by cumulative qty."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.events import BrokerOrder, OrderFilled
from daemon.core.model import Side
from daemon.core.orders.ids import is_ours
from daemon.core.orders.lifecycle import (
    TERMINAL,
    TRANSITIONS,
    OrderBook,
    OrderEventKind,
    OrderState,
    TrackedOrder,
    next_state,
)
from daemon.core.orders.reconcile import reconcile_open_orders

S = OrderState
K = OrderEventKind
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

# DESIGN.md "Order lifecycle", transcribed cell by cell (None = "–"). The filled column is
# split into partial / full. NOT_FOUND (lookup found nothing) is the extra column.
# The one clarification: CANCELING + partial fill stays CANCELING.
COLUMNS = (
    K.ACCEPTED,
    K.PARTIAL_FILL,
    K.FULL_FILL,
    K.REJECTED,
    K.SUBMIT_NOT_SENT,
    K.SUBMIT_UNKNOWN,
    K.CANCEL_SENT,
    K.CANCELED,
    K.NOT_FOUND,
)
EXPECTED: dict[OrderState, tuple[OrderState | None, ...]] = {
    S.SUBMITTING: (S.OPEN, S.PARTIAL, S.FILLED, S.REJECTED, S.FAILED, S.UNKNOWN, None, None, None),
    S.UNKNOWN: (
        S.OPEN,
        S.PARTIAL,
        S.FILLED,
        S.REJECTED,
        None,
        S.UNKNOWN,
        None,
        S.CANCELED,
        S.FAILED,
    ),
    S.OPEN: (S.OPEN, S.PARTIAL, S.FILLED, None, None, None, S.CANCELING, S.CANCELED, None),
    S.PARTIAL: (S.PARTIAL, S.PARTIAL, S.FILLED, None, None, None, S.CANCELING, S.CANCELED, None),
    S.CANCELING: (S.CANCELING, S.CANCELING, S.FILLED, None, None, None, None, S.CANCELED, None),
    S.FILLED: (None,) * 9,
    S.CANCELED: (None,) * 9,
    S.REJECTED: (None,) * 9,
    S.FAILED: (None,) * 9,
}
CELLS = [(state, kind, row[i]) for state, row in EXPECTED.items() for i, kind in enumerate(COLUMNS)]


def test_every_state_and_kind_is_covered() -> None:
    assert set(EXPECTED) == set(OrderState)
    assert set(COLUMNS) == set(OrderEventKind)
    assert len(CELLS) == len(OrderState) * len(OrderEventKind)
    assert TERMINAL == {S.FILLED, S.CANCELED, S.REJECTED, S.FAILED}
    for (state, _), _new in TRANSITIONS.items():
        assert not state.terminal


@pytest.mark.parametrize(("state", "kind", "expected"), CELLS)
def test_table_cell(state: OrderState, kind: OrderEventKind, expected: OrderState | None) -> None:
    assert next_state(state, kind) == expected
    book = OrderBook()
    order = _order("c1", state=state)
    book.add(order)
    result = book.transition("c1", kind)
    if expected is None:
        assert result is None
        assert order.state is state
        assert book.counters["ignored_transitions"] == 1
    else:
        assert result is order
        assert order.state is expected
        assert book.counters["ignored_transitions"] == 0
    assert (order in list(book.live())) == (not order.state.terminal)


def _order(
    coid: str,
    *,
    qty: str | None = "10",
    state: OrderState = S.SUBMITTING,
    side: Side = Side.BUY,
    notional: str | None = None,
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=coid,
        symbol="VTI",
        side=side,
        qty=None if qty is None else Decimal(qty),
        notional=None if notional is None else Decimal(notional),
        limit_price=Decimal("100"),
        placed_at=T0,
        state=state,
    )


def _fill(coid: str, exec_id: str, qty: str, cum: str, price: str = "100") -> OrderFilled:
    return OrderFilled(
        at=T0,
        client_order_id=coid,
        execution_id=exec_id,
        qty=Decimal(qty),
        price=Decimal(price),
        cum_qty=Decimal(cum),
        broker_order_id="b-1",
    )


def test_unknown_coid_is_ignored_and_counted() -> None:
    book = OrderBook()
    assert book.transition("nope", K.CANCELED) is None
    assert book.apply_fill(_fill("nope", "e1", "1", "1")) is None
    assert book.counters["unknown_order_events"] == 2


def test_fill_before_ack_then_ack_keeps_the_fill_state() -> None:
    book = OrderBook()
    book.add(_order("c1"))
    applied = book.apply_fill(_fill("c1", "e1", "4", "4"))
    assert applied is not None and applied.qty == Decimal(4) and applied.to_holdings
    order = book.orders["c1"]
    assert order.state is S.PARTIAL and order.broker_order_id == "b-1"
    assert book.transition("c1", K.ACCEPTED) is order
    assert order.state is S.PARTIAL
    book.apply_fill(_fill("c1", "e2", "6", "10"))
    assert order.state is S.FILLED
    assert book.transition("c1", K.ACCEPTED) is None  # ack after the final fill: ignored
    assert order.state is S.FILLED and book.in_flight == 0


def test_duplicate_and_reordered_fills_are_harmless() -> None:
    book = OrderBook()
    book.add(_order("c1"))
    first = book.apply_fill(_fill("c1", "e1", "3", "3", "100"))
    assert first is not None and first.cash_delta == Decimal(-300)
    assert book.apply_fill(_fill("c1", "e1", "3", "3", "100")) is None
    later = book.apply_fill(_fill("c1", "e3", "2", "7", "101"))
    assert later is not None and later.qty == Decimal(4)
    assert book.apply_fill(_fill("c1", "e2", "2", "5", "100")) is None  # older cum_qty
    assert book.counters["duplicate_fills"] == 1 and book.counters["stale_fills"] == 1
    assert book.orders["c1"].filled_qty == Decimal(7)
    assert book.orders["c1"].state is S.PARTIAL


def test_partial_then_full_for_a_sell() -> None:
    book = OrderBook()
    book.add(_order("s1", side=Side.SELL, state=S.OPEN))
    a = book.apply_fill(_fill("s1", "e1", "4", "4", "50"))
    assert a is not None and a.signed_qty == Decimal(-4) and a.cash_delta == Decimal(200)
    assert book.orders["s1"].state is S.PARTIAL
    b = book.apply_fill(_fill("s1", "e2", "6", "10", "50"))
    assert b is not None and b.signed_qty == Decimal(-6)
    assert book.orders["s1"].state is S.FILLED


def test_cancel_racing_a_fill() -> None:
    # cancel sent, then the order fills before the cancel lands: FILLED, not CANCELED
    book = OrderBook()
    book.add(_order("c1", state=S.OPEN))
    book.transition("c1", K.CANCEL_SENT)
    book.apply_fill(_fill("c1", "e1", "4", "4"))
    assert book.orders["c1"].state is S.CANCELING
    book.apply_fill(_fill("c1", "e2", "6", "10"))
    assert book.orders["c1"].state is S.FILLED
    assert book.transition("c1", K.CANCELED) is None
    # the other way round: canceled first, then a late fill still counts toward holdings
    book.add(_order("c2", state=S.OPEN))
    book.transition("c2", K.CANCEL_SENT)
    book.transition("c2", K.CANCELED)
    late = book.apply_fill(_fill("c2", "e9", "2", "2"))
    assert late is not None and late.qty == Decimal(2)
    assert book.orders["c2"].state is S.CANCELED
    assert book.counters["late_fills"] == 1


def test_settled_orders_move_no_holdings() -> None:
    book = OrderBook()
    order = _order("c1", state=S.OPEN)
    order.settled = True
    book.add(order)
    applied = book.apply_fill(_fill("c1", "e1", "10", "10"))
    assert applied is not None and not applied.to_holdings and order.state is S.FILLED


def test_notional_order_completes_by_filled_notional() -> None:
    book = OrderBook()
    book.add(_order("n1", qty=None, notional="500", state=S.OPEN))
    book.apply_fill(_fill("n1", "e1", "2", "2", "100"))
    assert book.orders["n1"].state is S.PARTIAL
    book.apply_fill(_fill("n1", "e2", "3", "5", "100"))
    assert book.orders["n1"].state is S.FILLED


def test_reserved_cash_and_pending_qty() -> None:
    buy = _order("b", qty="10", state=S.PARTIAL)
    buy.filled_qty = Decimal(4)
    assert buy.reserved_cash(None) == Decimal(600)
    assert buy.signed_remaining_qty(None) == Decimal(6)
    sell = _order("s", qty="5", side=Side.SELL, state=S.OPEN)
    assert sell.reserved_cash(Decimal(1)) == 0
    assert sell.signed_remaining_qty(None) == Decimal(-5)
    notional = _order("n", qty=None, notional="300", state=S.OPEN)
    assert notional.reserved_cash(None) == Decimal(300)
    assert notional.signed_remaining_qty(Decimal(100)) == Decimal(3)


def test_adding_a_duplicate_id_is_an_error() -> None:
    book = OrderBook()
    book.add(_order("c1"))
    with pytest.raises(ValueError, match="duplicate"):
        book.add(_order("c1"))


EXEC = st.tuples(st.integers(0, 30), st.integers(1, 10))  # (execution id, cumulative qty)


@settings(max_examples=150)
@given(st.lists(EXEC, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_any_order_and_repetition_of_fills_ends_at_the_highest_cum_qty(
    fills: list[tuple[int, int]], rnd: object
) -> None:
    """Applying a fill stream, repeated and shuffled, moves exactly the max cum_qty in total."""
    # one cum_qty per execution id (a real broker never reuses an id with another quantity)
    cums: dict[int, int] = {}
    for eid, cum in fills:
        cums.setdefault(eid, cum)
    stream = [(eid, cum) for eid, cum in cums.items()] * 2
    rnd.shuffle(stream)  # type: ignore[attr-defined]
    book = OrderBook()
    book.add(_order("c1", qty="10"))
    total = Decimal(0)
    for eid, cum in stream:
        applied = book.apply_fill(_fill("c1", f"e{eid}", "1", str(cum)))
        if applied is not None:
            total += applied.qty
    top = max(cums.values())
    assert total == Decimal(top)
    assert book.orders["c1"].filled_qty == Decimal(top)
    assert book.orders["c1"].state is (S.FILLED if top >= 10 else S.PARTIAL)


# -- reconciliation against the broker's open orders ------------------------------------


def _broker(coid: str, status: OrderState = S.OPEN, filled: str = "0") -> BrokerOrder:
    return BrokerOrder(
        coid,
        "b-" + coid,
        "VTI",
        Side.BUY,
        status,
        Decimal(10),
        None,
        Decimal(filled),
        Decimal(100) if filled != "0" else None,
        Decimal(100),
    )


def test_reconcile_keeps_our_cancel_and_sorts_orders_into_kinds() -> None:
    book = OrderBook()
    canceling = _order("rb-r-00000001", state=S.CANCELING)
    gone = _order("rb-r-00000002", state=S.OPEN)
    submitting = _order("rb-r-00000003", state=S.SUBMITTING)
    for o in (canceling, gone, submitting):
        book.add(o)
    result = reconcile_open_orders(
        book,
        [
            _broker("rb-r-00000001", S.OPEN),
            _broker("rb-old-00000009", S.PARTIAL, "4"),
            _broker("manual", S.OPEN),
        ],
        is_ours,
        T0,
    )
    assert canceling.state is S.CANCELING and not canceling.settled
    assert result.lookups == ("rb-r-00000002",) and gone.settled
    assert not submitting.settled  # its POST is still in flight
    assert result.adopted == ("rb-old-00000009",)
    adopted = book.orders["rb-old-00000009"]
    assert adopted.state is S.PARTIAL and adopted.filled_qty == Decimal(4)
    assert adopted.filled_notional == Decimal(400)
    assert [b.client_order_id for b in result.foreign] == ["manual"]
    assert result.unsynced == ()


def test_a_broker_status_string_is_refused_at_the_door() -> None:
    """The core's vocabulary only: an adapter that forgets to map its broker's status fails
    where it builds the event, naming the fix."""
    with pytest.raises(TypeError, match="map the broker's status in its adapter"):
        BrokerOrder("c", "b", "VTI", Side.BUY, "partially_filled", Decimal(1), None,  # type: ignore[arg-type]
                    Decimal(0), None)
