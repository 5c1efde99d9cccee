"""SimExchange end to end, in process: lifecycle, holds, session boundaries, corporate
actions, faults, determinism, and alpaca-py's own models over every JSON it produces."""

import json
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading.models import Asset, Calendar, Clock, Order, Position, TradeAccount, TradeUpdate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sim.exchange import SimExchange
from adapters.sim.sim_errors import SimAPIError
from tests.adapters.sim.engine_helpers import Recorder, d, make_exchange, order, utc

D = Decimal


def book(ex: SimExchange) -> tuple[Decimal, dict[str, Decimal]]:
    return ex.ledger.cash, {s: h.qty for s, h in ex.ledger.positions.items()}


def test_accounting_identity_after_every_execution() -> None:
    """cash + Σ qty × fill price = previous equity (at that price) − costs (0 in paper)."""
    ex, clock, rec = make_exchange(partial=0.5)
    checked = []
    prev = [book(ex)]

    def check(data: dict[str, Any]) -> None:
        if data["event"] not in ("fill", "partial_fill"):
            return
        cash, pos = book(ex)
        cash0, pos0 = prev[0]
        sym, price, qty = data["order"]["symbol"], d(data["price"]), d(data["qty"])
        assert cash + pos.get(sym, D(0)) * price == cash0 + pos0.get(sym, D(0)) * price
        assert pos.get(sym, D(0)) - pos0.get(sym, D(0)) == (
            qty if data["order"]["side"] == "buy" else -qty
        )
        assert d(data["position_qty"]) == pos.get(sym, D(0))
        assert {s: q for s, q in pos.items() if s != sym} == {
            s: q for s, q in pos0.items() if s != sym
        }
        prev[0] = (cash, pos)
        checked.append(data["execution_id"])

    ex.add_trade_listener(check)
    for i in range(12):
        ex.submit_order(order("SPY", qty=str(5 + i)))
        ex.submit_order(order("AGG", qty=None, notional="1234.56"))
        clock.advance(7)
        ex.step()
        ex.submit_order(order("SPY", side="sell", qty="3"))
        clock.advance(5)
        ex.step()
    assert len(checked) > 40 and len(set(checked)) == len(checked)
    assert any(t["event"] == "partial_fill" for t in rec.trades)


def test_partial_fills_sum_to_the_order() -> None:
    ex, clock, rec = make_exchange(partial=1.0)
    o = ex.submit_order(order("AGG", qty="250"))
    for _ in range(200):
        if ex.get_order(o["id"])["status"] == "filled":
            break
        clock.advance(1)
        ex.step()
    final = ex.get_order(o["id"])
    fills = rec.fills(o["id"])
    assert final["status"] == "filled" and fills[-1]["event"] == "fill"
    assert all(f["event"] == "partial_fill" for f in fills[:-1]) and len(fills) > 1
    assert sum(d(f["qty"]) for f in fills) == D("250") == d(final["filled_qty"])
    vwap = sum(d(f["qty"]) * d(f["price"]) for f in fills) / D("250")
    assert d(final["filled_avg_price"]) == vwap.quantize(D("1e-9")).normalize()
    assert d(ex.position("AGG")["qty"]) == D("250")


def test_buying_power_is_held_by_open_buys() -> None:
    ex, _, _ = make_exchange(cash="10000")
    o = ex.submit_order(order(qty="10", type="limit", limit_price="500"))  # below the ask
    assert o["status"] == "new"
    assert ex.account()["buying_power"] == "5000"
    assert ex.account()["cash"] == "10000"
    with pytest.raises(SimAPIError, match="insufficient buying power"):
        ex.submit_order(order(qty="9"))  # ~5400 at the ask
    ex.cancel_order(o["id"])
    assert ex.account()["buying_power"] == "10000"


def test_qty_available_is_held_by_open_sells() -> None:
    ex, _, _ = make_exchange(positions={"SPY": {"qty": "10", "avg_entry_price": "550"}})
    ex.submit_order(order(side="sell", qty="4", type="limit", limit_price="700"))
    pos = ex.position("SPY")
    assert (pos["qty"], pos["qty_available"]) == ("10", "6")
    with pytest.raises(SimAPIError) as info:
        ex.submit_order(order(side="sell", qty="7"))
    assert info.value.message == "insufficient qty available for order (requested: 7, available: 6)"
    assert info.value.extra["held_for_orders"] == "4"


def test_market_order_while_closed_waits_as_accepted_and_fills_at_the_open() -> None:
    ex, clock, rec = make_exchange(start="2026-11-28T16:00:00Z")  # Saturday
    assert ex.clock_json()["is_open"] is False
    o = ex.submit_order(order(qty="3"))
    assert o["status"] == "accepted"
    assert ex.account()["buying_power"] != ex.account()["cash"]  # held while queued
    clock.set(utc("2026-11-30T14:29:59Z"))
    ex.step()
    assert ex.get_order(o["id"])["status"] == "accepted"
    clock.set(utc("2026-11-30T14:30:01Z"))
    ex.step()
    assert rec.events(o["id"]) == ["accepted", "new", "fill"]
    fill = rec.fills(o["id"])[0]
    assert fill["timestamp"] == "2026-11-30T14:30:00.000000Z"
    assert ex.get_order(o["id"])["filled_at"] == "2026-11-30T14:30:00.000000Z"


def test_holiday_is_closed() -> None:
    ex, clock, _rec = make_exchange(start="2026-11-26T16:00:00Z")  # Thanksgiving, 11:00 ET
    assert ex.clock_json()["is_open"] is False
    assert ex.clock_json()["next_open"] == "2026-11-27T09:30:00-05:00"
    o = ex.submit_order(order(qty="1"))
    assert o["status"] == "accepted"
    clock.advance(3600 * 4)
    ex.step()
    assert ex.get_order(o["id"])["status"] == "accepted"
    clock.set(utc("2026-11-27T14:31:00Z"))
    ex.step()
    assert ex.get_order(o["id"])["status"] == "filled"


def test_day_orders_expire_at_an_early_close() -> None:
    ex, clock, rec = make_exchange(start="2026-11-27T15:00:00Z")  # closes 13:00 ET
    day = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    gtc = ex.submit_order(order(qty="1", type="limit", limit_price="300", time_in_force="gtc"))
    assert day["expires_at"] == "2026-11-27T18:00:00.000000Z"
    clock.set(utc("2026-11-27T17:59:00Z"))
    ex.step()
    assert ex.get_order(day["id"])["status"] == "new"
    clock.set(utc("2026-11-27T18:00:30Z"))
    ex.step()
    expired = ex.get_order(day["id"])
    assert expired["status"] == "expired" and expired["expired_at"] == "2026-11-27T18:00:00.000000Z"
    assert rec.events(day["id"]) == ["new", "expired"]
    assert ex.get_order(gtc["id"])["status"] == "new"
    assert ex.account()["buying_power"] == str(100000 - 300)


def test_order_queued_after_the_close_is_for_the_next_session() -> None:
    ex, clock, rec = make_exchange(start="2026-11-23T22:00:00Z")  # Monday 17:00 ET
    o = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    assert o["status"] == "accepted" and o["expires_at"] == "2026-11-24T21:00:00.000000Z"
    clock.set(utc("2026-11-24T21:00:01Z"))
    ex.step()
    assert rec.events(o["id"]) == ["accepted", "new", "expired"]


def test_split_keeps_position_value_and_scales_open_orders() -> None:
    ex, _, _ = make_exchange(positions={"SPY": {"qty": "10", "avg_entry_price": "550"}})
    before = ex.position("SPY")
    sell = ex.submit_order(order(side="sell", qty="3", type="limit", limit_price="700"))
    ex.split("SPY", D(2))
    after = ex.position("SPY")
    assert (after["qty"], after["avg_entry_price"], after["cost_basis"]) == (
        "20",
        "275",
        before["cost_basis"],
    )
    assert abs(d(after["market_value"]) - d(before["market_value"])) <= D("0.01") * 20
    assert after["qty_available"] == "14"
    s = ex.get_order(sell["id"])
    assert (s["qty"], s["limit_price"]) == ("6", "350")
    assert abs(d(after["lastday_price"]) * 2 - d(before["lastday_price"])) < D("0.000001")


def test_dividend_credits_cash_without_a_trade_update() -> None:
    ex, _, rec = make_exchange(positions={"AGG": {"qty": "40", "avg_entry_price": "97"}})
    cash = d(ex.account()["cash"])
    ex.dividend("AGG", D("0.25"))
    assert d(ex.account()["cash"]) == cash + 10
    assert rec.trades == []
    (event,) = ex.snapshot_state()["ledger"]["cash_events"]
    assert event["kind"] == "dividend" and event["amount"] == "10"


def test_cancel_emits_pending_cancel_then_canceled_and_terminal_is_422() -> None:
    ex, _, rec = make_exchange()
    o = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    ex.cancel_order(o["id"])
    assert rec.events(o["id"]) == ["new", "pending_cancel", "canceled"]
    with pytest.raises(SimAPIError) as info:
        ex.cancel_order(o["id"])
    assert (info.value.status, info.value.message) == (422, 'order is already in "canceled" state')
    with pytest.raises(SimAPIError) as bad:
        ex.get_order("not-a-uuid")
    assert bad.value.body() == {"code": 40010001, "message": "order_id is missing"}
    with pytest.raises(SimAPIError) as missing:
        ex.get_order("5b2b4c6e-2d4a-4d4e-9a51-3f0c1f5e6a7b")
    assert missing.value.status == 404


def test_cancel_racing_a_fill_loses() -> None:
    ex, _, rec = make_exchange(partial=1.0)
    o = ex.submit_order(order(qty="100"))
    assert ex.get_order(o["id"])["status"] == "partially_filled"
    ex.faults.cancel_races_fill = True
    ex.cancel_order(o["id"])
    assert ex.get_order(o["id"])["status"] == "filled"
    assert rec.events(o["id"])[-2:] == ["fill", "order_cancel_rejected"]


def test_replace_creates_a_new_order() -> None:
    ex, _, rec = make_exchange()
    old = ex.submit_order(order(qty="5", type="limit", limit_price="300", client_order_id="r-1"))
    new = ex.replace_order(old["id"], {"limit_price": "310", "client_order_id": "r-2"})
    assert new["replaces"] == old["id"] and new["limit_price"] == "310" and new["qty"] == "5"
    by_cid = ex.get_order_by_client_id("r-1")
    assert by_cid["status"] == "replaced" and by_cid["replaced_by"] == new["id"]
    assert rec.events(old["id"]) == ["new", "replaced"]
    assert ex.account()["buying_power"] == str(100000 - 5 * 310)
    filled = ex.replace_order(new["id"], {"limit_price": "700"})  # now marketable
    assert ex.get_order(filled["id"])["status"] == "filled"


def test_replace_refusals() -> None:
    ex, _, _ = make_exchange(start="2026-11-28T16:00:00Z")
    queued = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    with pytest.raises(SimAPIError, match='"accepted" state'):
        ex.replace_order(queued["id"], {"limit_price": "301"})
    ex2, _, _ = make_exchange(faults={"stuck_pending_new": True})
    notional = ex2.submit_order(order(qty=None, notional="100"))
    with pytest.raises(SimAPIError, match="pending_new"):
        ex2.replace_order(notional["id"], {"qty": "1"})
    ex2.faults.stuck_pending_new = False
    ex3, _, _ = make_exchange(partial=1.0)
    n = ex3.submit_order(order(qty=None, notional="5000"))
    with pytest.raises(SimAPIError, match="notional orders cannot be replaced"):
        ex3.replace_order(n["id"], {"qty": "1"})


def test_replace_race_old_order_fills_first() -> None:
    ex, _, rec = make_exchange(partial=1.0)
    old = ex.submit_order(order(qty="50", type="limit", limit_price="700"))
    assert ex.get_order(old["id"])["status"] == "partially_filled"
    ex.faults.cancel_races_fill = True
    new = ex.replace_order(old["id"], {"limit_price": "650"})
    assert new["status"] == "rejected" and new["replaces"] == old["id"]
    assert ex.get_order(old["id"])["status"] == "filled"
    assert rec.events(new["id"]) == ["rejected"]


def test_reject_faults() -> None:
    ex, _, rec = make_exchange(faults={"reject_next": 1})
    r = ex.submit_order(order(qty="1"))
    assert r["status"] == "rejected" and r["failed_at"] is not None
    assert ex.submit_order(order(qty="1"))["status"] == "new"
    ex.faults.update({"reject_symbols": ["AGG"]})
    assert ex.submit_order(order("AGG", qty="1"))["status"] == "rejected"
    assert ex.submit_order(order("AGG", qty="1"))["status"] == "rejected"
    assert rec.events(r["id"]) == ["rejected"]


def test_stuck_pending_new_then_released() -> None:
    ex, clock, rec = make_exchange(faults={"stuck_pending_new": True})
    o = ex.submit_order(order(qty="1"))
    clock.advance(30)
    ex.step()
    assert ex.get_order(o["id"])["status"] == "pending_new"
    ex.faults.stuck_pending_new = False
    ex.step()
    assert rec.events(o["id"]) == ["pending_new", "new", "fill"]


def test_duplicate_fill_events_share_the_execution_id() -> None:
    ex, _, rec = make_exchange(faults={"duplicate_fills": True})
    o = ex.submit_order(order(qty="1"))
    a, b = rec.fills(o["id"])
    assert a == b and a["execution_id"]
    assert ex.position("SPY")["qty"] == "1"  # booked once


def test_ioc_and_fok_do_not_rest() -> None:
    ex, _, rec = make_exchange(partial=1.0)
    ioc = ex.submit_order(order(qty="10", time_in_force="ioc"))
    assert rec.events(ioc["id"]) == ["new", "partial_fill", "canceled"]
    fok = ex.submit_order(order(qty="10", time_in_force="fok"))
    assert rec.events(fok["id"]) == ["new", "fill"]
    miss = ex.submit_order(order(qty="10", type="limit", limit_price="300", time_in_force="fok"))
    assert rec.events(miss["id"]) == ["new", "canceled"]


def test_close_positions() -> None:
    ex, _, _ = make_exchange(positions={"SPY": {"qty": "10"}, "AGG": {"qty": "7.5"}})
    half = ex.close_position("SPY", percentage="50")
    assert half["qty"] == "5" and half["side"] == "sell"
    assert ex.position("SPY")["qty"] == "5"
    ex.submit_order(order("AGG", side="sell", qty="1", type="limit", limit_price="200"))
    results = ex.close_all_positions(cancel_orders=True)
    assert [(r["symbol"], r["status"]) for r in results] == [("AGG", 200), ("SPY", 200)]
    assert ex.positions() == []
    with pytest.raises(SimAPIError) as info:
        ex.position("SPY")
    assert info.value.status == 404


def test_list_orders_filters() -> None:
    ex, clock, _ = make_exchange()
    a = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    clock.advance(1)
    b = ex.submit_order(order(qty="1"))
    clock.advance(1)
    c = ex.submit_order(order("AGG", qty="1", type="limit", limit_price="50"))
    assert [o["id"] for o in ex.list_orders()] == [c["id"], a["id"]]
    assert [o["id"] for o in ex.list_orders(status="closed")] == [b["id"]]
    assert [o["id"] for o in ex.list_orders(status="all", direction="asc")] == [
        a["id"],
        b["id"],
        c["id"],
    ]
    assert [o["id"] for o in ex.list_orders(status="all", symbols=["AGG"])] == [c["id"]]
    assert [o["id"] for o in ex.list_orders(status="all", limit=1)] == [c["id"]]
    after = ex.list_orders(status="all", after=a["submitted_at"], until=c["submitted_at"])
    assert [o["id"] for o in after] == [b["id"]]


def test_snapshot_and_restore() -> None:
    ex, _clock, _ = make_exchange()
    ex.submit_order(order(qty="2"))
    saved = json.loads(json.dumps(ex.snapshot_state()))
    account = ex.account()
    ex.submit_order(order(qty="3"))
    ex.restore_state(saved)
    assert ex.account() == account
    twin, _, _ = make_exchange()
    twin.restore_state(saved)
    assert twin.submit_order(order(qty="1")) == ex.submit_order(order(qty="1"))


def script(ex: SimExchange, clock: Any) -> list[Any]:
    out: list[Any] = []
    out.append(ex.submit_order(order(qty="7")))
    out.append(ex.submit_order(order("AGG", qty=None, notional="999.99")))
    lim = ex.submit_order(order(qty="3", type="limit", limit_price="599.5"))
    for _ in range(30):
        clock.advance(2)
        ex.step()
    out.append(
        ex.replace_order(lim["id"], {"limit_price": "590"})
        if ex.get_order(lim["id"])["status"] == "new"
        else None
    )
    ex.jump_price("SPY", 0.97)
    clock.set(utc("2026-11-24T15:00:00Z"))
    out.append(ex.close_position("AGG", percentage="40"))
    out += [ex.account(), ex.positions(), ex.list_orders(status="all", limit=500)]
    return out


def test_seeded_runs_are_identical() -> None:
    ex1, c1, r1 = make_exchange(seed=99, partial=0.4)
    ex2, c2, r2 = make_exchange(seed=99, partial=0.4)
    out1, out2 = script(ex1, c1), script(ex2, c2)
    assert json.dumps(out1) == json.dumps(out2)
    assert json.dumps(r1.trades) == json.dumps(r2.trades)
    assert r1.market == r2.market and len(r1.market) > 100
    ex3, c3, _r3 = make_exchange(seed=100, partial=0.4)
    assert json.dumps(script(ex3, c3)) != json.dumps(out1)


def test_quotes_move_with_the_clock_only_while_open() -> None:
    ex, clock, rec = make_exchange(start="2026-11-23T20:59:00Z")
    clock.advance(30)
    ex.step()
    n = len(rec.market)
    assert n > 0 and all(m["T"] == "q" for m in rec.market)
    clock.set(utc("2026-11-24T02:00:00Z"))
    ex.step()
    moved = len(rec.market) - n
    assert moved <= 3 * 30  # only the last 30 s of the session, none overnight
    q = ex.latest_quotes(["SPY", "NOPE"])["quotes"]
    assert set(q) == {"SPY"} and q["SPY"]["ap"] > q["SPY"]["bp"]


def test_set_quote_and_halt() -> None:
    ex, _, rec = make_exchange()
    o = ex.submit_order(order(qty="2", type="limit", limit_price="500"))
    ex.halt("SPY", True)
    ex.set_quote("SPY", 498.0, 499.0)
    assert ex.get_order(o["id"])["status"] == "new"  # halted: no fills
    ex.halt("SPY", False)
    ex.set_quote("SPY", 498.5, 499.5)
    assert ex.get_order(o["id"])["status"] == "filled"
    assert rec.fills(o["id"])[0]["price"] == "499.5"
    assert [m["sc"] for m in rec.market if m["T"] == "s"] == ["H", "T"]


def test_csv_symbol_trades_at_the_replayed_quotes(tmp_path: Any) -> None:
    f = tmp_path / "x.csv"
    f.write_text(
        "timestamp,bid,ask\n2026-11-23T14:30:00Z,20.00,20.02\n2026-11-23T14:40:00Z,21.00,21.02\n"
    )
    ex, clock, rec = make_exchange(symbols={"XYZ": {"csv": str(f)}})
    a = ex.submit_order(order("XYZ", qty="1"))
    clock.set(utc("2026-11-23T14:41:00Z"))
    b = ex.submit_order(order("XYZ", qty="1"))
    assert [f["price"] for f in rec.fills(a["id"]) + rec.fills(b["id"])] == ["20.02", "21.02"]


def test_alpaca_py_models_accept_every_answer() -> None:
    ex, clock, rec = make_exchange(partial=0.5, positions={"SPY": {"qty": "3"}})
    o = ex.submit_order(order(qty="4", client_order_id="m-1"))
    ex.submit_order(order("AGG", qty=None, notional="100"))
    lim = ex.submit_order(order(qty="1", type="limit", limit_price="300"))
    ex.replace_order(lim["id"], {"qty": "2"})
    clock.set(utc("2026-11-24T00:00:00Z"))
    ex.step()
    TradeAccount(**ex.account())
    for p in ex.positions():
        Position(**p)
    for x in ex.list_orders(status="all"):
        Order(**x)
    Order(**ex.get_order(o["id"]))
    Clock(**ex.clock_json())
    for c in ex.calendar_json():
        Calendar(**c)
    for a in ex.assets():
        Asset(**a)
    assert rec.trades
    for t in rec.trades:
        TradeUpdate(**t)
    assert "pattern_day_trader" not in ex.account()


def test_unknown_symbol_for_control_calls() -> None:
    ex, _, _ = make_exchange()
    with pytest.raises(SimAPIError, match="unknown symbol"):
        ex.split("NOPE", D(2))
    with pytest.raises(SimAPIError) as info:
        ex.asset("NOPE")
    assert info.value.status == 404
    assert ex.asset(ex.asset("SPY")["id"])["symbol"] == "SPY"


def test_recorder_is_fed() -> None:
    ex, _, rec = make_exchange()
    assert isinstance(rec, Recorder)
    ex.submit_order(order(qty="1"))
    assert rec.events() == ["new", "fill"]


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("market"), st.sampled_from(["SPY", "AGG"]), st.booleans(), st.integers(1, 40)
        ),
        st.tuples(
            st.just("limit"), st.sampled_from(["SPY", "AGG"]), st.booleans(), st.integers(-3, 3)
        ),
        st.tuples(
            st.just("notional"),
            st.sampled_from(["SPY", "AGG"]),
            st.booleans(),
            st.integers(1, 5000),
        ),
        st.tuples(st.just("wait"), st.just(""), st.booleans(), st.integers(1, 4000)),
        st.tuples(st.just("cancel"), st.just(""), st.booleans(), st.integers(0, 10)),
        st.tuples(
            st.just("jump"), st.sampled_from(["SPY", "AGG"]), st.booleans(), st.integers(-5, 5)
        ),
        st.tuples(
            st.just("split"), st.sampled_from(["SPY", "AGG"]), st.booleans(), st.integers(2, 3)
        ),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.sampled_from([0.0, 0.5, 1.0]))
def test_invariants_hold_under_any_sequence(
    seq: list[tuple[str, str, bool, int]], p: float
) -> None:
    """Whatever happens: no short positions, fills add up per order, each order's events
    end in one terminal state at most, holds never exceed what exists, every rejection is
    an Alpaca error (never a crash)."""
    ex, clock, rec = make_exchange(start="2026-11-25T20:30:00Z", partial=p,
                                   positions={"SPY": {"qty": "10"}, "AGG": {"qty": "50"}})  # fmt: skip
    for kind, sym, buy, n in seq:
        side = "buy" if buy else "sell"
        try:
            if kind == "market":
                ex.submit_order(order(sym, side=side, qty=str(n)))
            elif kind == "limit":
                bid, ask = ex._bid_ask(sym) or (D(1), D(1))
                px = (ask if buy else bid) * (1 + D(n) / 100)
                ex.submit_order(order(sym, side=side, qty="2", type="limit",
                                      limit_price=str(px.quantize(D("0.01")))))  # fmt: skip
            elif kind == "notional":
                ex.submit_order(order(sym, side=side, qty=None, notional=str(n)))
            elif kind == "wait":
                clock.advance(n * 30)
                ex.step()
            elif kind == "cancel":
                open_orders = ex.list_orders()
                if open_orders:
                    ex.cancel_order(open_orders[n % len(open_orders)]["id"])
            elif kind == "jump":
                ex.jump_price(sym, 1 + n / 100)
            elif kind == "split":
                ex.split(sym, D(n))
        except SimAPIError as e:
            assert e.status in (403, 422) and e.body()["message"]
        for s, h in ex.ledger.positions.items():
            assert h.qty > 0
            assert ex.held_for_sells(s) <= h.qty + D("0.000001")
        assert ex.buying_power() >= 0
    for o in ex.list_orders(status="all", limit=500):
        if not any(k == "split" for k, *_ in seq):  # a split rescales open orders' fills
            fills = rec.fills(o["id"])
            assert sum((d(f["qty"]) for f in fills), D(0)) == d(o["filled_qty"])
        events = rec.events(o["id"])
        terminal = [
            e for e in events if e in ("fill", "canceled", "expired", "rejected", "replaced")
        ]
        assert len(terminal) <= 1
        if o["status"] == "filled":
            assert events[-1] == "fill" and d(o["filled_qty"]) > 0
        if o["qty"] is not None and o["status"] == "filled":
            assert d(o["filled_qty"]) == d(o["qty"])


def test_a_notional_sell_never_goes_short() -> None:
    ex, clock, _rec = make_exchange(start="2026-11-28T16:00:00Z", positions={"AGG": {"qty": "10"}})
    o = ex.submit_order(order("AGG", side="sell", qty=None, notional="900"))  # ~9.18 sh at 98
    assert o["status"] == "accepted"
    ex.jump_price("AGG", 0.5)  # the weekend gap halves the price: $900 is now ~18 shares
    clock.set(utc("2026-11-30T14:31:00Z"))
    ex.step()
    done = ex.get_order(o["id"])
    assert done["status"] == "filled" and done["filled_qty"] == "10"
    assert ex.positions() == []


def test_extended_hours_orders_trade_after_the_close_and_expire_at_20_et() -> None:
    ex, clock, rec = make_exchange(start="2026-11-23T22:00:00Z")  # Monday 17:00 ET
    ask = ex.latest_quotes(["SPY"])["quotes"]["SPY"]["ap"]
    regular = ex.submit_order(order(qty="1", type="limit", limit_price=f"{ask + 1:.2f}"))
    assert regular["status"] == "accepted"
    ext = ex.submit_order(
        order(qty="1", type="limit", limit_price=f"{ask + 1:.2f}", extended_hours=True)
    )
    assert rec.events(ext["id"]) == ["new", "fill"]
    rest = ex.submit_order(order(qty="1", type="limit", limit_price="300", extended_hours=True))
    assert rest["status"] == "new" and rest["expires_at"] == "2026-11-24T01:00:00.000000Z"
    clock.set(utc("2026-11-24T14:45:00Z"))  # through 20:00 ET and into Tuesday's session
    ex.step()
    gone = ex.get_order(rest["id"])
    assert gone["status"] == "expired" and gone["expired_at"] == "2026-11-24T01:00:00.000000Z"
    assert ex.get_order(regular["id"])["status"] == "filled"  # queued, filled at the open
