"""The Engine, driven by events only: a full rebalance, and each rule that holds orders back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.core import events as ev
from daemon.core.commands import (
    Alert,
    CancelOrder,
    LookupOrder,
    RequestReconcile,
    ScheduleWakeup,
    TradingStateChanged,
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
    decisions,
    feed,
    fill_all,
    make_config,
    places,
    quote,
    quotes,
    ready_events,
    snapshot,
    sold,
    started,
    wakeups,
)


def test_full_rebalance_sells_then_buys_across_two_rounds_and_ends_inside_bands() -> None:
    engine = started()
    snap = engine.snapshot()
    assert snap.ready and snap.out_of_band == ("VTI", "BND")

    cmds = engine.handle(check(at(1)))
    [d1] = decisions(cmds)
    [sell] = places(cmds)
    assert sell.side is Side.SELL and sell.symbol == "VTI" and sell.decision_id == d1.decision_id
    assert sell.client_order_id == "rb-test-run-00000000"
    assert d1.plan.reasons[0].startswith("threshold")
    assert wakeups(cmds, "order-timeout:") == [
        ScheduleWakeup(at(121), "order-timeout:" + sell.client_order_id)
    ]
    assert engine.snapshot().run_active

    # a check while the run is open decides nothing
    assert decisions(engine.handle(check(at(2)))) == []

    # the sell fills: cash arrives, the run settles and a follow-up round buys BND
    cmds = feed(engine, [*quotes(at(3), PRICES), *fill_all(sell, at(3), "x1")])
    [d2] = decisions(cmds)
    [buy] = places(cmds)
    assert d2.decision_id != d1.decision_id and d2.plan.reasons[0].startswith("follow-up round 2")
    assert buy.side is Side.BUY and buy.symbol == "BND"
    assert buy.client_order_id == "rb-test-run-00000001"
    assert engine.snapshot().run_round == 2

    cmds = feed(engine, [*quotes(at(4), PRICES), *fill_all(buy, at(4), "x2")])
    snap = engine.snapshot()
    assert snap.out_of_band == () and snap.portfolio_drift < 0.02
    assert snap.holdings is not None and snap.holdings.cash >= 0
    assert snap.order_counts["filled"] == 2 and snap.open_order_count == 0
    assert snap.decisions == 2 and snap.last_decision is not None
    # inside the bands: the next checks decide nothing
    assert decisions(cmds) == []  # in band and nothing was sold: no third round
    assert places(engine.handle(check(at(60)))) == []
    assert not engine.snapshot().run_active


def test_a_quote_breach_decides_at_once_and_quiet_quotes_do_nothing() -> None:
    # start inside the bands (60/38/2)
    engine = started(cash="200", positions={"VTI": "60", "BND": "38"})
    assert engine.snapshot().out_of_band == ()
    assert engine.handle(check(at(1))) == [ScheduleWakeup(at(61), "check")]
    for i in range(20):  # small moves: no planning, no commands
        assert engine.handle(quote(at(2 + i * 0.1), "VTI", 100.0 + i * 0.05)) == []
    cmds = engine.handle(quote(at(5), "VTI", 130.0))  # VTI jumps: 7800 / 11800 = 66 %
    assert len(decisions(cmds)) == 1
    assert [(p.side, p.symbol) for p in places(cmds)] == [(Side.SELL, "VTI")]
    # further breaches during the run do not start another decision
    assert decisions(engine.handle(quote(at(6), "VTI", 140.0))) == []


def test_calendar_mode_ignores_quote_breaches() -> None:
    from daemon.core.config.values import TriggerMode

    engine = started(Engine(make_config(mode=TriggerMode.CALENDAR), RUN))
    assert engine.handle(quote(at(1), "VTI", 130.0)) == []  # out of band, below split size
    assert "VTI" in engine.snapshot().out_of_band


def test_orders_are_paced_by_the_token_bucket_in_event_time() -> None:
    targets = {s: 0.098 for s in ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")}
    config = make_config(targets, orders_per_minute=60.0, burst=3, max_in_flight=10)
    engine = Engine(config, RUN)
    prices = dict.fromkeys(targets, 10.0)
    feed(engine, ready_events(cash="0", positions={"A": "500", "B": "500"}, prices=prices))
    cmds = engine.handle(check(at(1)))
    first = places(cmds)
    assert len(first) == 2  # two sells; buys wait for cash (round 2)
    sells = first
    cmds = feed(
        engine,
        [*quotes(at(2), prices)]
        + [e for i, s in enumerate(sells) for e in fill_all(s, at(2), f"x{i}")],
    )
    buys = places(cmds)
    # the bucket had 1 token left + 1 per second since t=1: at t=2 → 2 tokens
    assert len(buys) == 2 and all(b.side is Side.BUY for b in buys)
    [throttle] = wakeups(cmds, "throttle")
    assert throttle.at == at(3)
    assert engine.snapshot().queued == 6
    assert engine.handle(ev.TimerFired(at(2.5), "throttle")) == [ScheduleWakeup(at(3), "throttle")]
    cmds = engine.handle(ev.TimerFired(at(3), "throttle"))
    assert len(places(cmds)) == 1
    cmds = engine.handle(ev.TimerFired(at(10), "throttle"))  # refilled to the burst (3)
    assert len(places(cmds)) == 3
    assert wakeups(cmds, "throttle") == [ScheduleWakeup(at(11), "throttle")]
    ids = [p.client_order_id for p in places(cmds)]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_in_flight_cap_holds_orders_until_one_is_terminal() -> None:
    targets = {s: 0.245 for s in ("A", "B", "C", "D")}
    config = make_config(targets, orders_per_minute=6000.0, burst=50, max_in_flight=2)
    engine = Engine(config, RUN)
    prices = dict.fromkeys(targets, 10.0)
    feed(engine, ready_events(cash="10000", positions={}, prices=prices))
    cmds = engine.handle(check(at(1)))
    first = places(cmds)
    assert len(first) == 2 and wakeups(cmds, "throttle") == []
    assert engine.snapshot().in_flight == 2 and engine.snapshot().queued == 2
    assert places(engine.handle(ev.OrderAccepted(at(2), first[0].client_order_id, "b1"))) == []
    cmds = engine.handle(ev.OrderCanceled(at(3), first[0].client_order_id))
    assert len(places(cmds)) == 1
    cmds = feed(engine, fill_all(first[1], at(4), "x1"))
    assert len(places(cmds)) == 1 and engine.snapshot().queued == 0


# -- every "no orders when …" rule ----------------------------------------------------------


def _no_order_case(name: str) -> tuple[Engine, list[ev.Event]]:
    """An engine that would sell VTI at ``at(1)`` but for the blocker ``name``."""
    engine = Engine(make_config(), RUN)
    base = ready_events()
    extra: list[ev.Event] = []
    t = at(1)
    if name == "no snapshot":
        base = [e for e in base if not isinstance(e, ev.AccountSnapshot)]
    elif name == "no clock":
        base = [e for e in base if not isinstance(e, ev.MarketClock)]
    elif name == "market closed":
        extra = [clock(at(0.5), is_open=False)]
    elif name == "outside window":  # 20:50 UTC = 15:50 ET, after the 15:45 window end
        t = at(5 * 3600 + 50 * 60)
        extra = quotes(t, PRICES)
    elif name == "market data lost":
        extra = [ev.FeedLost(at(0.5), "market_data")]
    elif name == "trade updates lost":
        extra = [ev.FeedLost(at(0.5), "trade_updates")]
    elif name == "awaiting reconcile":
        extra = [ev.FeedLost(at(0.5), "trade_updates"), ev.FeedRestored(at(0.6), "trade_updates")]
    elif name == "halted state":
        engine = Engine(make_config(), RUN, trading_state=TradingState.HALTED)
    elif name == "shutdown":
        extra = [ev.ShutdownRequested(at(0.5))]
    elif name == "missing quote":
        base = [e for e in base if not (isinstance(e, ev.QuoteUpdated) and e.symbol == "BND")]
    else:  # pragma: no cover
        raise AssertionError(name)
    return engine, [*base, *extra, check(t), ev.RebalanceRequested(t, force=True)]


NO_ORDER_CASES = [
    "no snapshot",
    "no clock",
    "market closed",
    "outside window",
    "market data lost",
    "trade updates lost",
    "awaiting reconcile",
    "halted state",
    "shutdown",
    "missing quote",
]


@pytest.mark.parametrize("name", NO_ORDER_CASES)
def test_no_orders_when(name: str) -> None:
    engine, events = _no_order_case(name)
    cmds = feed(engine, events)
    assert places(cmds) == [] and decisions(cmds) == []
    assert engine.snapshot().blockers  # and it says why
    [alert] = [c for c in cmds if isinstance(c, Alert)]
    assert "not run" in alert.message


def test_each_blocker_alone_is_what_blocks() -> None:
    """Control for the cases above: the same set-up without a blocker trades."""
    engine = Engine(make_config(), RUN)
    cmds = feed(engine, [*ready_events(), check(at(1))])
    assert len(places(cmds)) == 1


def test_trade_updates_restored_asks_for_a_reconcile_and_trades_after_the_snapshot() -> None:
    engine = started()
    cmds = feed(
        engine, [ev.FeedLost(at(0.5), "trade_updates"), ev.FeedRestored(at(0.6), "trade_updates")]
    )
    assert [c for c in cmds if isinstance(c, RequestReconcile)]
    assert places(engine.handle(check(at(1)))) == []
    engine.handle(snapshot(at(1.5), "0", {"VTI": "70", "BND": "30"}))
    assert len(places(engine.handle(check(at(2))))) == 1


def test_market_data_restored_trades_again_without_a_reconcile() -> None:
    engine = started()
    engine.handle(ev.FeedLost(at(0.5), "market_data"))
    assert places(engine.handle(check(at(1)))) == []
    cmds = engine.handle(ev.FeedRestored(at(1.5), "market_data"))
    assert not [c for c in cmds if isinstance(c, RequestReconcile)]
    assert len(places(engine.handle(check(at(2))))) == 1


def test_a_venue_halted_symbol_is_not_traded() -> None:
    engine = started()
    engine.handle(ev.TradingStatusChanged(at(0.5), "VTI", halted=True))
    cmds = engine.handle(check(at(1)))
    [d] = decisions(cmds)
    assert places(cmds) == [] and any(s.symbol == "VTI" for s in d.plan.skipped)
    assert engine.snapshot().halted_symbols == ("VTI",)
    engine.handle(ev.TradingStatusChanged(at(1.5), "VTI", halted=False))
    assert len(places(engine.handle(check(at(2))))) == 1


def test_reducing_allows_sells_only() -> None:
    control = started(cash="2000", positions={"VTI": "80", "BND": "0"})
    assert [p.side for p in places(control.handle(check(at(1))))] == [Side.SELL, Side.BUY]
    engine = started(cash="2000", positions={"VTI": "80", "BND": "0"})
    cmds = engine.handle(ev.TradingStateRequested(at(0.5), TradingState.REDUCING, "ops"))
    assert cmds == [TradingStateChanged(TradingState.REDUCING, "ops")]
    cmds = engine.handle(check(at(1)))
    assert [p.side for p in places(cmds)] == [Side.SELL]
    assert engine.handle(ev.TradingStateRequested(at(2), TradingState.REDUCING, "again")) == []


def test_orders_queued_when_a_blocker_appears_are_dropped() -> None:
    targets = {s: 0.245 for s in ("A", "B", "C", "D")}
    engine = Engine(make_config(targets, burst=1, orders_per_minute=60.0), RUN)
    prices = dict.fromkeys(targets, 10.0)
    feed(engine, ready_events(cash="10000", positions={}, prices=prices))
    assert len(places(engine.handle(check(at(1))))) == 1
    cmds = engine.handle(ev.FeedLost(at(1.5), "market_data"))
    assert any(isinstance(c, Alert) and "dropped 3" in c.message for c in cmds)
    assert places(engine.handle(ev.TimerFired(at(5), "throttle"))) == []
    assert engine.snapshot().queued == 0


# -- the order path -------------------------------------------------------------------------


def test_unknown_outcome_is_looked_up_never_resent() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    cmds = engine.handle(ev.OrderSubmitFailed(at(2), coid, ev.SubmitOutcome.UNKNOWN, "timeout"))
    assert cmds == [ScheduleWakeup(at(4), "lookup:" + coid)]
    assert engine.snapshot().unknown_count == 1
    # checks and quotes while unknown: no new decision, no second order
    assert places(feed(engine, [check(at(3)), quote(at(3), "VTI", 120.0)])) == []
    # look it up, and again later (backing off) should no answer come
    assert engine.handle(ev.TimerFired(at(4), "lookup:" + coid)) == [
        LookupOrder(coid),
        ScheduleWakeup(at(8), "lookup:" + coid),
    ]
    assert engine.handle(ev.TimerFired(at(8), "lookup:" + coid)) == [
        LookupOrder(coid),
        ScheduleWakeup(at(16), "lookup:" + coid),
    ]
    # the lookup reported a failure as UNKNOWN again: same state, the next lookup later
    cmds = engine.handle(ev.OrderSubmitFailed(at(8.5), coid, ev.SubmitOutcome.UNKNOWN, "5xx"))
    assert cmds == [ScheduleWakeup(at(16.5), "lookup:" + coid)]
    # the broker did take it and it filled: resolved, then the follow-up round
    cmds = feed(engine, [*quotes(at(9), PRICES), *fill_all(sell, at(9), "x1")])
    assert engine.book.orders[coid].state is OrderState.FILLED
    assert all(p.symbol != "VTI" for p in places(cmds))
    # a late lookup timer for a resolved order does nothing
    assert engine.handle(ev.TimerFired(at(10), "lookup:" + coid)) == []


def test_unknown_outcome_not_found_fails_and_a_later_plan_uses_a_new_id() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderSubmitFailed(at(2), coid, ev.SubmitOutcome.UNKNOWN, "timeout"))
    engine.handle(ev.TimerFired(at(4), "lookup:" + coid))
    cmds = engine.handle(ev.OrderNotFound(at(5), coid))
    assert any(isinstance(c, Alert) for c in cmds) and places(cmds) == []
    assert engine.book.orders[coid].state is OrderState.FAILED
    assert not engine.snapshot().run_active
    cmds = feed(engine, [*quotes(at(6), PRICES), check(at(6))])
    [again] = places(cmds)
    assert again.symbol == "VTI" and again.client_order_id != coid


def test_not_found_for_an_order_that_is_not_unknown_is_ignored() -> None:
    engine, sell = sold()
    engine.handle(ev.OrderAccepted(at(2), sell.client_order_id, "b1"))
    assert engine.handle(ev.OrderNotFound(at(3), sell.client_order_id)) == []
    assert engine.book.orders[sell.client_order_id].state is OrderState.OPEN


def test_not_sent_fails_with_an_alert() -> None:
    engine, sell = sold()
    cmds = engine.handle(
        ev.OrderSubmitFailed(at(2), sell.client_order_id, ev.SubmitOutcome.NOT_SENT, "refused")
    )
    assert [type(c) for c in cmds] == [Alert]
    assert engine.book.orders[sell.client_order_id].state is OrderState.FAILED
    assert not engine.snapshot().run_active


def test_rejected_is_reported_and_not_retried_within_the_run() -> None:
    engine = started(cash="2000", positions={"VTI": "80", "BND": "0"})
    sell, buy = places(engine.handle(check(at(1))))
    cmds = engine.handle(ev.OrderRejected(at(2), buy.client_order_id, "insufficient buying power"))
    [alert] = [c for c in cmds if isinstance(c, Alert)]
    assert "insufficient buying power" in alert.message and alert.severity == "warning"
    cmds = feed(engine, [*quotes(at(3), PRICES), *fill_all(sell, at(3), "x1")])
    # the follow-up round does not buy BND again
    assert all(p.symbol != "BND" for p in places(cmds))
    [d] = decisions(cmds)
    assert {s.symbol: s.reason for s in d.plan.skipped}["BND"] == (
        "rejected by the broker earlier in this run")


def test_events_for_unknown_orders_are_ignored_safely() -> None:
    engine = started()
    junk: list[ev.Event] = [
        ev.OrderAccepted(at(1), "nope", "b"),
        ev.OrderFilled(at(1), "nope", "x", Decimal(1), Decimal(1), Decimal(1)),
        ev.OrderCanceled(at(1), "nope"),
        ev.OrderRejected(at(1), "nope", "r"),
        ev.OrderSubmitFailed(at(1), "nope", ev.SubmitOutcome.UNKNOWN, "t"),
        ev.OrderSubmitFailed(at(1), "nope", ev.SubmitOutcome.NOT_SENT, "t"),
        ev.OrderNotFound(at(1), "nope"),
        ev.TimerFired(at(1), "lookup:nope"),
        ev.TimerFired(at(1), "order-timeout:nope"),
        ev.TimerFired(at(1), "mystery"),
    ]
    before = engine.snapshot()
    assert feed(engine, junk) == []
    after = engine.snapshot()
    assert after.holdings == before.holdings
    assert after.counters["unknown_order_events"] == 7 and after.counters["ignored_timers"] == 1


def test_fill_before_ack_and_duplicate_fills_move_holdings_once() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    px = sell.limit_price
    assert px is not None
    part = ev.OrderFilled(at(2), coid, "x1", Decimal(4), px, Decimal(4), "b1")
    engine.handle(part)
    engine.handle(part)  # duplicate
    engine.handle(ev.OrderAccepted(at(2), coid, "b1"))  # the ack comes last
    order = engine.book.orders[coid]
    assert order.state is OrderState.PARTIAL and order.broker_order_id == "b1"
    h = engine.snapshot().holdings
    assert h is not None and h.positions["VTI"] == Decimal(66) and h.cash == 4 * px


def test_order_timeout_cancels_an_unfilled_order() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderAccepted(at(2), coid, "b1"))
    cmds = engine.handle(ev.TimerFired(at(121), "order-timeout:" + coid))
    resolve = ScheduleWakeup(at(151), "order-resolve:" + coid)  # timeout + 30 s grace
    assert cmds == [CancelOrder(coid, "b1"), resolve]
    assert engine.book.orders[coid].state is OrderState.CANCELING
    assert engine.snapshot().awaiting_answer == 1
    assert engine.handle(ev.TimerFired(at(122), "order-timeout:" + coid)) == [
        ScheduleWakeup(at(152), "order-resolve:" + coid)
    ]
    engine.handle(ev.OrderCanceled(at(123), coid))
    assert engine.book.orders[coid].state is OrderState.CANCELED
    assert engine.handle(ev.TimerFired(at(152), "order-resolve:" + coid)) == []


def test_cancel_refused_or_failing_leads_to_a_lookup() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderAccepted(at(2), coid, "b1"))
    engine.handle(ev.TimerFired(at(121), "order-timeout:" + coid))
    cmds = engine.handle(ev.OrderCancelFailed(at(122), coid, "not cancelable (422)"))
    assert cmds == [LookupOrder(coid, "cancel_failed")]
    # the lookup says it filled before the cancel: FILLED, holdings moved, not overdue
    assert sell.qty is not None
    engine.handle(ev.OrderFilled(at(123), coid, "sync:b1", sell.qty, Decimal(100), sell.qty, "b1"))
    order = engine.book.orders[coid]
    assert order.state is OrderState.FILLED and not order.overdue
    assert engine.handle(ev.OrderCancelFailed(at(124), coid, "late")) == []


def test_an_order_past_its_deadline_is_overdue_and_looked_up_until_resolved() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderAccepted(at(2), coid, "b1"))
    engine.handle(ev.TimerFired(at(121), "order-timeout:" + coid))  # cancel sent, lost
    assert engine.snapshot().overdue_count == 0
    cmds = engine.handle(ev.TimerFired(at(151), "order-resolve:" + coid))
    assert cmds == [
        LookupOrder(coid, "deadline"),
        CancelOrder(coid, "b1"),  # still meant to be canceling: ask again (idempotent)
        ScheduleWakeup(at(211), "order-resolve:" + coid),  # the grace doubles: 60 s
    ]
    assert engine.snapshot().overdue_count == 1
    cmds = engine.handle(ev.TimerFired(at(211), "order-resolve:" + coid))
    assert cmds[-1] == ScheduleWakeup(at(331), "order-resolve:" + coid)  # 120 s
    engine.handle(ev.OrderAccepted(at(212), coid, "b1"))  # the lookup: still open
    assert engine.snapshot().overdue_count == 1
    engine.handle(ev.OrderCanceled(at(213), coid, "canceled"))  # a later lookup: canceled
    snap = engine.snapshot()
    assert snap.overdue_count == 0 and snap.open_order_count == 0


def test_an_unknown_outcome_past_its_deadline_is_overdue_too() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    engine.handle(ev.OrderSubmitFailed(at(2), coid, ev.SubmitOutcome.UNKNOWN, "timeout"))
    engine.handle(ev.TimerFired(at(121), "order-timeout:" + coid))
    cmds = engine.handle(ev.TimerFired(at(151), "order-resolve:" + coid))
    assert LookupOrder(coid, "deadline") in cmds
    assert not any(isinstance(c, CancelOrder) for c in cmds)
    assert engine.snapshot().overdue_count == 1
    engine.handle(ev.OrderNotFound(at(152), coid))
    assert engine.snapshot().overdue_count == 0


def test_order_timeout_before_the_ack_cancels_on_the_ack() -> None:
    engine, sell = sold()
    coid = sell.client_order_id
    assert engine.handle(ev.TimerFired(at(121), "order-timeout:" + coid)) == [
        ScheduleWakeup(at(151), "order-resolve:" + coid)
    ]
    assert engine.handle(ev.OrderAccepted(at(122), coid, "b1")) == [CancelOrder(coid, "b1")]


def test_halted_cancels_every_open_order_and_stops_trading() -> None:
    engine = started(cash="2000", positions={"VTI": "80", "BND": "0"})
    sell, buy = places(engine.handle(check(at(1))))
    engine.handle(ev.OrderAccepted(at(2), sell.client_order_id, "b-s"))
    cmds = engine.handle(ev.TradingStateRequested(at(3), TradingState.HALTED, "kill switch"))
    assert cmds[0] == TradingStateChanged(TradingState.HALTED, "kill switch")
    assert CancelOrder(sell.client_order_id, "b-s") in cmds
    # the buy had no ack yet: it is canceled as soon as it is acknowledged
    assert engine.handle(ev.OrderAccepted(at(4), buy.client_order_id, "b-b")) == [
        CancelOrder(buy.client_order_id, "b-b")
    ]
    assert places(feed(engine, [check(at(5)), ev.RebalanceRequested(at(5), force=True)])) == []
    assert engine.snapshot().trading_state is TradingState.HALTED
    cmds = engine.handle(ev.TradingStateRequested(at(6), TradingState.ACTIVE, "resume"))
    assert cmds == [TradingStateChanged(TradingState.ACTIVE, "resume")]


def test_shutdown_cancels_open_orders_when_asked() -> None:
    engine, sell = sold()
    assert engine.snapshot().awaiting_answer == 1  # SUBMITTING
    engine.handle(ev.OrderAccepted(at(2), sell.client_order_id, "b1"))
    assert engine.handle(ev.ShutdownRequested(at(3))) == []
    snap = engine.snapshot()
    assert snap.shutting_down and snap.awaiting_answer == 0 and snap.in_flight == 1
    assert engine.handle(ev.ShutdownRequested(at(4), cancel_open_orders=True)) == [
        CancelOrder(sell.client_order_id, "b1")
    ]


def test_shutdown_cancels_when_the_config_says_so() -> None:
    engine, sell = sold(Engine(make_config(cancel_open_on_shutdown=True), RUN))
    engine.handle(ev.OrderAccepted(at(2), sell.client_order_id, "b1"))
    assert engine.handle(ev.ShutdownRequested(at(3))) == [CancelOrder(sell.client_order_id, "b1")]


# -- configuration, view and contract -------------------------------------------------------


def test_config_reload_swaps_the_config_and_keeps_the_orders() -> None:
    engine, sell = sold()
    wide = make_config(targets={"VTI": 0.70, "BND": 0.28})
    engine.handle(ev.ConfigReloaded(at(2), wide))
    assert engine.config is wide
    assert engine.snapshot().out_of_band == ()  # 70/30 is inside the new bands
    assert sell.client_order_id in engine.book
    assert engine.snapshot().open_order_count == 1
    assert engine.snapshot().rows["VTI"].target == 0.70


def test_snapshot_view_before_and_after_start() -> None:
    engine = Engine(make_config(), RUN)
    snap = engine.snapshot()
    assert not snap.ready and snap.holdings is None and snap.blockers == ("no event yet",)
    assert snap.tokens_available == 10.0 and snap.trading_state is TradingState.ACTIVE
    started(engine)
    snap = engine.snapshot()
    assert snap.ready and snap.market_open and snap.feeds_ok and snap.blockers == ()
    assert set(snap.rows) == {"VTI", "BND", "CASH"}
    assert snap.order_counts == {s.value: 0 for s in OrderState}
    assert snap.portfolio_value == pytest.approx(10000.0)


def test_rebalance_request_without_force_uses_the_triggers() -> None:
    engine = started(cash="200", positions={"VTI": "62", "BND": "36"})  # inside the bands
    cmds = engine.handle(ev.RebalanceRequested(at(1)))
    assert places(cmds) == [] and "no trigger fired" in next(
        c.message for c in cmds if isinstance(c, Alert)
    )
    cmds = engine.handle(ev.RebalanceRequested(at(2), force=True))
    [d] = decisions(cmds)
    assert d.plan.reasons[0] == "manual request (force)"
    assert [(p.side, p.symbol) for p in places(cmds)] == [(Side.SELL, "VTI")]
    cmds = engine.handle(ev.RebalanceRequested(at(3), force=True))
    assert places(cmds) == [] and "in progress" in next(
        c.message for c in cmds if isinstance(c, Alert)
    )


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="run_id"):
        Engine(make_config(), "bad id")
    engine = Engine(make_config(), RUN)
    with pytest.raises(TypeError, match="not a core event"):
        engine.handle("quote")  # type: ignore[arg-type]


def test_bars_and_stats_do_not_trade_but_stats_reach_the_quotes() -> None:
    engine = started()
    assert engine.handle(ev.BarClosed(at(1), "VTI", 1, 2, 0.5, 1.5, 1000)) == []
    assert engine.handle(ev.MarketStatsUpdated(at(1), "VTI", adv=1e6, sigma=0.01)) == []
    cmds = engine.handle(check(at(2)))
    [d] = decisions(cmds)
    assert len(places(cmds)) == 1 and d.plan.orders


def test_a_follow_up_round_that_found_stale_quotes_is_retried_at_the_next_check() -> None:
    engine, sell = sold()
    # the sell fills 10 s later with no quote since t=0: the follow-up plan skips (stale)
    cmds = feed(engine, fill_all(sell, at(10), "x1"))
    [d2] = decisions(cmds)
    assert places(cmds) == [] and d2.plan.skipped
    assert not engine.snapshot().run_active
    # fresh quotes, then the next check runs round 3 (not a new trigger evaluation)
    cmds = feed(engine, [*quotes(at(11), PRICES), check(at(12))])
    [d3] = decisions(cmds)
    assert d3.plan.reasons[0].startswith("follow-up round 3")
    assert [(p.side, p.symbol) for p in places(cmds)] == [(Side.BUY, "BND")]


def test_no_follow_up_beyond_max_rounds() -> None:
    engine, sell = sold(Engine(make_config(max_rounds=1), RUN))
    cmds = feed(engine, [*quotes(at(3), PRICES), *fill_all(sell, at(3), "x1")])
    assert decisions(cmds) == [] and not engine.snapshot().run_active


def test_a_three_for_two_split_is_no_reason_to_trade() -> None:
    # balanced: VTI 60 shares @ 100 = 60 %, BND 38 @ 100 = 38 %, cash 2 %
    engine = started(cash="200", positions={"VTI": "60", "BND": "38"})
    assert engine.snapshot().out_of_band == ()
    # a 3-for-2 split: the price drops to 2/3 in one quote; the share count at the broker
    # rose by half, but our holdings do not know it yet
    cmds = engine.handle(quote(at(1), "VTI", 100.0 * 2 / 3))
    # a reconcile that also asks the broker for VTI's corporate actions (a split record)
    assert [c.symbols for c in cmds if isinstance(c, RequestReconcile)] == [("VTI",)]
    assert places(cmds) == [] and decisions(cmds) == []
    assert places(engine.handle(check(at(2)))) == []  # no decision until the snapshot
    # the snapshot shows 90 shares: back in band, nothing to do
    cmds = feed(engine, [snapshot(at(3), "200", {"VTI": "90", "BND": "38"}),
                         *quotes(at(3), {"VTI": 100.0 * 2 / 3, "BND": 100.0})])
    cmds += engine.handle(check(at(4)))
    assert places(cmds) == [] and engine.snapshot().out_of_band == ()
