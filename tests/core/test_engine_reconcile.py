"""The Engine reconciling with the broker: adopting broker state, fills the snapshot
predates, foreign orders, and our own orders from an earlier run."""

from __future__ import annotations

from decimal import Decimal

from daemon.core import events as ev
from daemon.core.commands import (
    Alert,
    CancelOrder,
    LookupOrder,
)
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side, TradingState
from daemon.core.orders.lifecycle import OrderState
from tests.core.engine_scenario import (
    PRICES,
    RUN,
    at,
    check,
    clock,
    feed,
    make_config,
    places,
    quotes,
    ready_events,
    snapshot,
    sold,
    wakeups,
)

# -- reconciliation with the broker ---------------------------------------------------------


def broker_order(
    coid: str,
    symbol: str = "VTI",
    side: Side = Side.SELL,
    qty: str = "10",
    filled: str = "0",
    status: OrderState = OrderState.OPEN,
) -> ev.BrokerOrder:
    return ev.BrokerOrder(
        coid,
        f"b-{coid}",
        symbol,
        side,
        status,
        Decimal(qty),
        None,
        Decimal(filled),
        Decimal(100) if filled != "0" else None,
        Decimal("99.90"),
    )


def test_snapshot_adopts_the_brokers_fill_state_and_looks_up_missing_orders() -> None:
    engine = Engine(make_config(targets={"VTI": 0.3, "BND": 0.3, "VXUS": 0.38}), RUN)
    prices = {"VTI": 100.0, "BND": 100.0, "VXUS": 100.0}
    feed(engine, ready_events(cash="10000", positions={}, prices=prices))
    a, b, c = places(engine.handle(check(at(1))))
    engine.handle(ev.OrderAccepted(at(2), a.client_order_id, "ba"))
    engine.handle(ev.OrderAccepted(at(2), b.client_order_id, "bb"))
    # the broker lists a (partly filled) and c; b is gone (filled while we were not looking)
    listed = [
        broker_order(
            a.client_order_id, a.symbol, a.side, str(a.qty), filled="5", status=OrderState.PARTIAL
        ),
        broker_order(c.client_order_id, c.symbol, c.side, str(c.qty)),
    ]
    held = {a.symbol: "5", b.symbol: str(b.qty)}
    cmds = engine.handle(snapshot(at(3), "9000", held, listed))
    assert LookupOrder(b.client_order_id, "snapshot") in cmds
    assert engine.book.orders[a.client_order_id].filled_qty == Decimal(5)
    assert engine.book.orders[a.client_order_id].state is OrderState.PARTIAL
    assert engine.book.orders[c.client_order_id].state is OrderState.OPEN
    # b's fill, learnt by the lookup, is already in the snapshot's positions: not counted twice
    assert b.qty is not None and b.limit_price is not None
    engine.handle(ev.OrderFilled(at(4), b.client_order_id, "xb", b.qty, b.limit_price, b.qty))
    assert engine.book.orders[b.client_order_id].state is OrderState.FILLED
    h = engine.snapshot().holdings
    assert h is not None and h.cash == Decimal(9000)
    assert h.positions == {a.symbol: Decimal(5), b.symbol: b.qty}
    # a's fill beyond the adopted 5 counts
    engine.handle(
        ev.OrderFilled(at(5), a.client_order_id, "xa", Decimal(2), Decimal(100), Decimal(7))
    )
    h = engine.snapshot().holdings
    assert h is not None and h.positions[a.symbol] == Decimal(7)


def test_fills_the_snapshot_predates_are_kept() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderAccepted(at(2), coid, "b1"))
    engine.handle(ev.OrderFilled(at(2), coid, "x1", Decimal(4), Decimal(100), Decimal(4)))
    # a snapshot taken before that fill: the broker shows 0 filled and 70 shares
    stale = broker_order(coid, qty=str(sell.qty), filled="0")
    engine.handle(snapshot(at(3), "0", {"VTI": "70", "BND": "30"}, [stale]))
    h = engine.snapshot().holdings
    assert h is not None and h.positions["VTI"] == Decimal(66) and h.cash == Decimal(400)


def test_foreign_orders_count_as_pending_and_are_never_canceled() -> None:
    engine = Engine(make_config(), RUN)
    manual = broker_order("manual-1", "VTI", Side.SELL, qty="10")
    cmds = feed(
        engine,
        [
            snapshot(at(0), "0", {"VTI": "70", "BND": "30"}, [manual]),
            clock(at(0)),
            *quotes(at(0), PRICES),
        ],
    )
    assert any(isinstance(c, Alert) and "manual-1" in c.message for c in cmds)
    # the manual sell already brings VTI to 60 %: no VTI sell from us
    cmds = engine.handle(check(at(1)))
    assert all(p.symbol != "VTI" for p in places(cmds))
    assert engine.snapshot().foreign_open_orders == 1
    cmds = engine.handle(ev.TradingStateRequested(at(2), TradingState.HALTED, "stop"))
    assert not [c for c in cmds if isinstance(c, CancelOrder)]
    assert any(isinstance(c, Alert) and "foreign" in c.message for c in cmds)
    # the same foreign order in the next snapshot raises no second alert
    again = engine.handle(snapshot(at(3), "0", {"VTI": "70", "BND": "30"}, [manual]))
    assert not [c for c in again if isinstance(c, Alert)]


def test_our_orders_from_an_earlier_run_are_adopted_and_our_ids_never_reused() -> None:
    engine = Engine(make_config(), RUN, trading_state=TradingState.HALTED)
    old = broker_order("rb-earlier-00000003", "VTI", Side.SELL)
    mine = broker_order("rb-test-run-00000007", "BND", Side.BUY)
    cmds = engine.handle(snapshot(at(0), "0", {"VTI": "70", "BND": "30"}, [old, mine]))
    # halted: both of ours are canceled at once, and each got a timeout
    assert CancelOrder(old.client_order_id, old.broker_order_id) in cmds
    assert CancelOrder(mine.client_order_id, mine.broker_order_id) in cmds
    assert len(wakeups(cmds, "order-timeout:")) == 2
    assert engine.snapshot().foreign_open_orders == 0
    feed(
        engine,
        [
            ev.OrderCanceled(at(1), old.client_order_id),
            ev.OrderCanceled(at(1), mine.client_order_id),
            ev.TradingStateRequested(at(1), TradingState.ACTIVE),
            clock(at(1)),
            *quotes(at(1), PRICES),
        ],
    )
    [sell] = places(engine.handle(check(at(2))))
    assert sell.client_order_id == "rb-test-run-00000008"


