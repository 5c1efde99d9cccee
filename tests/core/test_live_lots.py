"""The engine keeps the lot ledger live (issue 13 item 1): a snapshot seeds date-unknown
lots at the broker's average entry price, buy fills open lots, sell fills relieve FIFO,
an execution counts once, splits adjust lots once the account shows them, and a seed
rebuilt from the journal is taken as it is."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from daemon.core import events as ev
from daemon.core.commands import Alert
from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side
from daemon.core.tax.ledger import Bought, LotsOpened, replay
from daemon.core.tax.live_lots import LiveLots, SeedLots, lot_fill, split_shows
from daemon.core.tax.lots import Lot, LotSource, Term
from tests.core.engine_scenario import (
    DAY,
    RUN,
    at,
    check,
    clock,
    feed,
    fill_all,
    make_config,
    places,
    quotes,
)


def snap(t_s: float, cash: str, pos: dict[str, str], avg: dict[str, str]) -> ev.AccountSnapshot:
    return ev.AccountSnapshot(at(t_s), D(cash), {s: D(q) for s, q in pos.items()},
                              avg_entry_prices={s: D(p) for s, p in avg.items()})


def started(engine: Engine) -> Engine:
    feed(engine, [snap(0, "0", {"VTI": "70", "BND": "30"}, {"VTI": "80", "BND": "110"}),
                  clock(at(0)), *quotes(at(0), {"VTI": 100.0, "BND": 100.0})])
    return engine


def test_a_snapshot_seeds_one_date_unknown_lot_per_position_once() -> None:
    engine = started(Engine(make_config(), RUN))
    lots = engine.lots.lots()
    assert [(x.symbol, x.qty, x.basis, x.source) for x in lots] == [
        ("BND", D(30), D(3300), LotSource.POSITION), ("VTI", D(70), D(5600), LotSource.POSITION)]
    assert engine.lots.date_unknown == lots
    engine.handle(snap(5, "0", {"VTI": "70", "BND": "30"}, {"VTI": "1", "BND": "1"}))
    assert engine.lots.lots() == lots  # seeded once: later snapshots change nothing


def test_fills_open_and_relieve_lots_fifo_each_execution_once() -> None:
    engine = started(Engine(make_config(), RUN))
    [sell] = places(engine.handle(check(at(1))))  # VTI 70 % → 60 %: sell ~10
    assert sell.side is Side.SELL and sell.symbol == "VTI" and sell.qty is not None
    events = fill_all(sell, at(2), "x1", price="100")
    cmds = feed(engine, [*events, events[1]])  # the execution arrives twice
    assert not [c for c in cmds if isinstance(c, Alert)]
    [d] = [x for x in engine.lots.ledger.disposals if x.symbol == "VTI"]
    assert d.qty == sell.qty and d.basis == sell.qty * 80 and d.term is Term.UNKNOWN
    assert d.proceeds == sell.qty * 100 and d.sold == DAY
    assert engine.lots.ledger.position("VTI") == 70 - sell.qty
    buys = [o for o in places(engine.handle(check(at(3)))) if o.side is Side.BUY]
    for o in buys:
        feed(engine, fill_all(o, at(4), f"b-{o.symbol}", price="100"))
        new = engine.lots.lots(o.symbol)[-1]
        assert (new.acquired, new.qty, new.basis, new.source) == (
            DAY, o.qty, o.qty * 100, LotSource.FILL) if o.qty else True


def test_a_split_applies_once_when_the_account_shows_it() -> None:
    engine = started(Engine(make_config(), RUN))
    before = engine.lots.lots("VTI")[0]
    engine.handle(ev.SplitAnnounced(at(1), "VTI", 2.0))  # the account is not split yet
    assert engine.lots.lots("VTI") == [before] and engine.lots.splits.pending == {"VTI": 2}
    engine.handle(snap(2, "0", {"VTI": "140", "BND": "30"}, {"VTI": "40", "BND": "110"}))
    [after] = engine.lots.lots("VTI")
    assert (after.qty, after.basis) == (D(140), before.basis)
    for t in (3, 4):  # the record is repeated on every poll: the lots are split once
        engine.handle(ev.SplitAnnounced(at(t), "VTI", 2.0))
    assert engine.lots.lots("VTI") == [after] and engine.lots.splits.pending == {}


def test_split_shows_only_a_split_the_position_holds() -> None:
    assert split_shows(D(70), D(140), D(2))
    assert not split_shows(D(140), D(140), D(2))  # already applied
    assert not split_shows(D(70), D(70), D(2))  # not shown yet
    assert split_shows(D(100), D(10), D("0.1"))  # a 1-for-10 reverse split


def test_a_seed_from_the_journal_is_kept_and_its_executions_count_once() -> None:
    lot = Lot("VTI-1", "VTI", DAY, D(70), D(6000))
    ledger = replay([LotsOpened((lot,)), Bought(DAY, "BND", D(30), D(100))])
    engine = started(Engine(make_config(), RUN,
                            lots=SeedLots(ledger, True, frozenset({"x-old"}))))
    assert [x.lot_id for x in engine.lots.lots()] == ["BND-1", "VTI-1"]  # not re-seeded
    assert not engine.lots.on_fill("x-old", "VTI", Side.BUY, D(1), D(1), at(1))
    assert engine.lots.ledger.position("VTI") == 70


def test_a_sale_the_lots_cannot_cover_alerts_once_in_a_taxable_account() -> None:
    engine = started(Engine(make_config(), RUN, lots=SeedLots(replay([]), True)))  # no lots
    [sell] = places(engine.handle(check(at(1))))  # tax-deferred: planned without lots
    accepted, filled = fill_all(sell, at(2), "x1")
    engine.handle(accepted)
    assert isinstance(filled, ev.OrderFilled)
    order = engine.book.get(sell.client_order_id)
    taxable = TaxConfig(account=AccountKind.TAXABLE)
    live = LiveLots(replay([]), True)
    [alert] = lot_fill(live, order, filled, taxable)
    assert isinstance(alert, Alert)
    assert "lot ledger stopped following" in alert.message and "hold only 0" in alert.message
    again = replace(filled, execution_id="x2")
    assert lot_fill(live, order, again, taxable) == []  # once
    assert lot_fill(LiveLots(replay([]), True), order, filled, TaxConfig()) == []  # deferred
    assert engine.handle(filled) == [] or engine.lots.out_of_sync is not None
    assert engine.lots.out_of_sync is not None


def test_fresh_live_lots_use_the_configured_method_and_groups() -> None:
    tax = TaxConfig(wash_sale_groups={"VTI": "total-us", "ITOT": "total-us"})
    live = LiveLots.fresh(tax)
    assert live.ledger.groups.of("ITOT") == live.ledger.groups.of("VTI")


def test_a_catch_up_report_of_fills_already_taken_adds_no_lot() -> None:
    """After a trade-stream reconnect (or a lookup) the broker's state of an order comes
    back as one fill of the cumulative quantity at the average price, under an execution id
    of its own (``sync:<order>:<cum>``): the lots take only what they do not hold yet."""
    engine = started(Engine(make_config(), RUN))
    [order] = places(engine.handle(check(at(1))))  # VTI 70 % → 60 %: sell ~10
    assert order.side is Side.SELL and order.qty is not None and order.qty >= 2
    held = engine.lots.ledger.position(order.symbol)
    half = D(2)
    bid = f"b-{order.client_order_id}"
    feed(engine, [ev.OrderAccepted(at(2), order.client_order_id, bid),
                  ev.OrderFilled(at(2), order.client_order_id, "x1", half, D(100), half, bid),
                  ev.OrderFilled(at(3), order.client_order_id, "x2", order.qty - half, D(110),
                                 order.qty, bid)])
    assert engine.lots.ledger.position(order.symbol) == held - order.qty
    lots, sold = engine.lots.lots(), engine.lots.ledger.disposals
    avg = (half * 100 + (order.qty - half) * 110) / order.qty
    sync = ev.OrderFilled(at(6), order.client_order_id, f"sync:{bid}:{order.qty}", order.qty,
                          avg, order.qty, bid)
    feed(engine, [sync, sync])
    assert engine.lots.lots() == lots  # not order.qty more shares sold
    assert engine.lots.ledger.disposals == sold
    assert engine.lots.out_of_sync is None


def test_a_catch_up_report_adds_the_fills_the_stream_lost_at_their_price() -> None:
    engine = started(Engine(make_config(), RUN))
    lots = LiveLots.fresh(TaxConfig(account=AccountKind.TAXABLE))
    assert lots.on_fill("x1", "VTI", Side.BUY, D(4), D(100), at(1), order_id="o", cum_qty=D(4))
    # x2 (6 at 110) never came; the catch-up says 10 at the average 106
    assert lots.on_fill("sync:o:10", "VTI", Side.BUY, D(10), D(106), at(2), order_id="o",
                        cum_qty=D(10))
    assert [(x.qty, x.basis) for x in lots.lots("VTI")] == [(D(4), D(400)), (D(6), D(660))]
    assert engine is not None
