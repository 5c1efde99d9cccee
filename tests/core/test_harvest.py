"""Tax-loss harvesting in the engine (issue 13 item 3): a position all at a loss past both
thresholds is sold and its substitute bought with the proceeds, keeping the allocation;
no buy of the group inside the 30-day window; back to the primary after it when the
substitute's gain is small; swaps re-derived from positions after a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from daemon.core import events as ev
from daemon.core.commands import PlaceOrder, RecordDecision
from daemon.core.config.tax import AccountKind, HarvestConfig, TaxConfig
from daemon.core.config.values import Config
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side, TradingSession
from daemon.core.tax.harvest import derive_swaps, find_harvest, find_return, swapped
from daemon.core.tax.ledger import Bought, LinkedPurchase, LotLedger, LotsOpened, Sold, replay
from daemon.core.tax.live_lots import SeedLots
from daemon.core.tax.lots import Lot
from tests.core.engine_scenario import RUN, at, check, clock, feed, fill_all, make_config, quotes

BOUGHT = date(2026, 3, 2)
HARVEST = HarvestConfig(enabled=True, min_loss_fraction=0.05, min_loss_dollars=D(500),
                        substitutes={"VTI": ("ITOT",)})


def config(**harvest: object) -> Config:
    tax = TaxConfig(account=AccountKind.TAXABLE, wash_sale_groups={"VTI": "us", "ITOT": "us2"},
                    harvest=replace(HARVEST, **harvest))  # type: ignore[arg-type]
    return replace(make_config(), tax=tax)


def seed(vti_basis: str) -> SeedLots:
    lots = (Lot("VTI-a", "VTI", BOUGHT, D(60), D(vti_basis)),
            Lot("BND-a", "BND", BOUGHT, D(38), D(3800)))
    return SeedLots(replay([LotsOpened(lots)]), True)


def started(cfg: Config, vti_basis: str, vti: float = 100.0) -> Engine:
    engine = Engine(cfg, RUN, lots=seed(vti_basis))
    feed(engine, [ev.AccountSnapshot(at(0), D(200), {"VTI": D(60), "BND": D(38)}), clock(at(0)),
                  *quotes(at(0), {"VTI": vti, "BND": 100.0, "ITOT": 50.0})])
    return engine


def run_all(engine: Engine, t: float, cmds: list, prices: dict[str, str]) -> list[PlaceOrder]:  # type: ignore[type-arg]
    """Fill every order a decision places, and the follow-up rounds'; the orders."""
    placed: list[PlaceOrder] = []
    todo = [c for c in cmds if isinstance(c, PlaceOrder)]
    n = 0
    while todo:
        o = todo.pop(0)
        placed.append(o)
        n += 1
        px = prices[o.symbol]
        if o.qty is None:
            assert o.notional is not None
            o = replace(o, qty=(o.notional / D(px)).quantize(D("1e-9")))
        out = feed(engine, fill_all(o, at(t + n), f"x{t}-{n}", price=px))
        todo.extend(c for c in out if isinstance(c, PlaceOrder))
    return placed


def test_a_loss_past_both_thresholds_is_harvested_into_the_substitute() -> None:
    engine = started(config(), "7200")  # $120 a share, now $100: $1,200, 16.7 % loss
    cmds = engine.handle(check(at(1)))
    [d] = [c for c in cmds if isinstance(c, RecordDecision)]
    assert d.plan.reasons[0].startswith("tax-loss harvest: sell 60 VTI (loss $1,200.00; lot "
                                        "VTI-a $1,200.00, 16.7% of its basis) and hold ITOT")
    placed = run_all(engine, 2, cmds, {"VTI": "100", "ITOT": "50", "BND": "100"})
    sells = {o.symbol: o.qty for o in placed if o.side is Side.SELL}
    assert sells["VTI"] == 60 and sells.get("BND", D(0)) < 1  # (BND: a cent of rounding)
    itot = sum((o.qty or o.notional / 50) for o in placed if o.symbol == "ITOT")  # type: ignore[operator]
    assert 118 < itot <= 120  # ~$6,000 of ITOT at $50 (less costs and the cash target)
    [loss] = [x for x in engine.lots.ledger.disposals if x.symbol == "VTI"]
    assert loss.gain == D(-1200) and loss.adjustment == 0  # not washed
    assert engine.config.symbols == ("VTI", "ITOT", "BND")  # ITOT holds VTI's 60 %
    assert [a.target for a in engine.config.portfolio.assets] == [0.0, 0.6, 0.38]


def test_small_losses_and_positions_with_a_gain_lot_are_not_harvested() -> None:
    assert find_harvest(config(), seed("6400").ledger, {"VTI": D(100), "ITOT": D(50)},
                        BOUGHT, {}) is None  # $400 < $500
    assert find_harvest(config(min_loss_dollars=D(100)), seed("6200").ledger,
                        {"VTI": D(100), "ITOT": D(50)}, BOUGHT, {}) is None  # 3.2 % < 5 %
    ledger = replay([LotsOpened((Lot("VTI-0", "VTI", BOUGHT, D(1), D(50)),
                                 Lot("VTI-a", "VTI", BOUGHT, D(60), D(7200))))])
    assert find_harvest(config(), ledger, {"VTI": D(100), "ITOT": D(50)}, BOUGHT, {}) is None
    assert find_harvest(config(enabled=False), seed("7200").ledger,
                        {"VTI": D(100), "ITOT": D(50)}, BOUGHT, {}) is None


def later(engine: Engine, days: int, prices: dict[str, float]) -> datetime:
    """Move the engine ``days`` on, to a session's 10:00 New York."""
    t = datetime(2026, 11, 20, 15, 0, tzinfo=UTC) + timedelta(days=days)
    while t.weekday() >= 5:
        t += timedelta(days=1)
    d = t.date()
    s = TradingSession(d, datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC),
                       datetime(d.year, d.month, d.day, 21, 0, tzinfo=UTC))
    feed(engine, [ev.MarketClock(t, True, t, s.close, (s,)),
                  *[ev.QuoteUpdated(t, k, p - 0.01, p + 0.01, 100.0, 100.0)
                    for k, p in prices.items()]])
    return t


def test_inside_the_window_nothing_of_the_group_is_bought_then_the_swap_returns() -> None:
    engine = started(config(), "7200")
    run_all(engine, 2, engine.handle(check(at(1))), {"VTI": "100", "ITOT": "50", "BND": "100"})
    # day 20: VTI cheap again, a forced rebalance: VTI has target 0 in the view, and a
    # config without harvesting (the base targets) is refused the buy by the wash guard
    t = later(engine, 20, {"VTI": 90.0, "ITOT": 50.0, "BND": 100.0})
    assert not any(isinstance(c, RecordDecision) and "harvest over" in c.plan.reasons[0]
                   for c in engine.handle(check(t)))  # no return inside the window
    off = replace(config(), tax=replace(config().tax, harvest=replace(HARVEST, enabled=False)))
    engine.handle(ev.ConfigReloaded(t, off))
    cmds = engine.handle(ev.RebalanceRequested(t, force=True))
    [d] = [c for c in cmds if isinstance(c, RecordDecision)]
    assert not [o for o in d.plan.all_orders if o.symbol == "VTI" and o.side is Side.BUY]
    assert any(s.symbol == "VTI" and "no buy before 2026-12-21" in s.reason
               for s in d.plan.skipped), d.plan.skipped
    run_all(engine, 30, cmds, {"VTI": "90", "ITOT": "50", "BND": "100"})
    engine.handle(ev.ConfigReloaded(t, config()))
    # day 31 (2026-12-21): the window is over and ITOT is at no gain: back to VTI
    t = later(engine, 31, {"VTI": 90.0, "ITOT": 50.0, "BND": 100.0})
    cmds = engine.handle(check(t))
    [d] = [c for c in cmds if isinstance(c, RecordDecision)]
    assert d.plan.reasons[0].startswith("harvest over: the wash-sale window of VTI has passed")
    sells = {o.symbol: o.qty for o in d.plan.all_orders if o.side is Side.SELL}
    assert sells["ITOT"] == engine.lots.ledger.position("ITOT")  # all of it, at no gain
    assert sells.get("BND", D(0)) < 1


def test_a_substitute_at_a_large_gain_is_kept() -> None:
    engine = started(config(return_max_gain_dollars=D(100)), "7200")
    run_all(engine, 2, engine.handle(check(at(1))), {"VTI": "100", "ITOT": "50", "BND": "100"})
    t = later(engine, 31, {"VTI": 100.0, "ITOT": 60.0, "BND": 100.0})  # ITOT +$10 a share
    cmds = engine.handle(check(t))
    assert not any(isinstance(c, RecordDecision) and c.plan.reasons[0].startswith("harvest over")
                   for c in cmds)


def test_swaps_are_derived_from_positions_after_a_restart() -> None:
    cfg = config()
    assert derive_swaps(cfg, {"ITOT": D(120), "BND": D(38)}) == {"VTI": "ITOT"}
    assert derive_swaps(cfg, {"VTI": D(1), "ITOT": D(120)}) == {}
    view = swapped(cfg, {"VTI": "ITOT"})
    assert [(a.symbol, a.target) for a in view.portfolio.assets] == [
        ("VTI", 0.0), ("ITOT", 0.6), ("BND", 0.38)]
    engine = Engine(cfg, RUN, lots=SeedLots(replay([]), True))
    engine.handle(ev.AccountSnapshot(at(0), D(200), {"ITOT": D(120), "BND": D(38)}))
    assert engine.config.symbols == ("VTI", "ITOT", "BND")


def test_a_harvest_whose_sale_is_rejected_is_dropped_at_the_next_snapshot() -> None:
    engine = started(config(), "7200")
    cmds = engine.handle(check(at(1)))
    [sell] = [c for c in cmds if isinstance(c, PlaceOrder) and c.symbol == "VTI"]
    others = [c for c in cmds if isinstance(c, PlaceOrder) and c is not sell]
    for o in others:
        engine.handle(ev.OrderRejected(at(2), o.client_order_id, "test"))
    engine.handle(ev.OrderRejected(at(2), sell.client_order_id, "insufficient qty"))
    assert engine.config.symbols == ("VTI", "ITOT", "BND")  # still swapped: no snapshot yet
    engine.handle(ev.AccountSnapshot(at(3), D(200), {"VTI": D(60), "BND": D(38)}))
    assert engine.config.symbols == ("VTI", "BND")  # back to the base targets


def test_no_harvest_while_the_lots_do_not_follow_the_account() -> None:
    """A ledger that refused an entry (a sale made by hand, say) is stale: its losses may not
    exist, so nothing is harvested until the lots follow the account again."""
    engine = started(config(), "7200")  # the loss of the first test, past both thresholds
    engine.lots.out_of_sync = "a sale of 10 VTI has no lots to relieve"
    cmds = engine.handle(check(at(1)))
    reasons = [r for c in cmds if isinstance(c, RecordDecision) for r in c.plan.reasons]
    assert not any(r.startswith("tax-loss harvest") for r in reasons)
    assert not any(isinstance(c, PlaceOrder) and c.symbol == "ITOT" for c in cmds)


def _swapped_ledger(*more: object) -> LotLedger:
    """VTI harvested on 2026-10-01 (a $1,200 loss, not washed) into 120 ITOT at $50; the
    entries in ``more`` follow."""
    groups = {"VTI": "us", "ITOT": "us2", "SCHB": "us2"}
    entries: list[object] = [
        LotsOpened((Lot("VTI-a", "VTI", BOUGHT, D(60), D(7200)),)),
        Sold(date(2026, 10, 1), "VTI", D(60), D(100)),
        Bought(date(2026, 10, 1), "ITOT", D(120), D(50)),
        *more,
    ]
    return replay(entries, groups=groups)  # type: ignore[arg-type]


def test_the_return_waits_while_the_substitutes_loss_would_be_washed() -> None:
    """IRS Pub. 550: a loss is disallowed when substantially identical stock is bought
    within 30 days before or after the sale. The return sells the substitute: at a loss,
    a buy of *its* group in the 30 days before (another account's, here a linked IRA's,
    which disallows it for good; or another symbol of the group) washes that loss, so the
    return waits until that buy is 31 days old, even though the primary's window is over."""
    day = date(2026, 11, 20)  # 50 days after the harvest: VTI's window is long over
    prices = {"VTI": D(90), "ITOT": D(45)}  # ITOT at a $600 loss: within any gain limit
    swaps = {"VTI": "ITOT"}
    assert find_return(config(), _swapped_ledger(), prices, day, swaps) == ("VTI", "ITOT")
    ira = _swapped_ledger(LinkedPurchase(date(2026, 11, 5), "ITOT", D(10)))
    assert find_return(config(), ira, prices, day, swaps) is None
    assert find_return(config(), ira, prices, date(2026, 12, 6), swaps) == ("VTI", "ITOT")
    schb = _swapped_ledger(Bought(date(2026, 11, 10), "SCHB", D(5), D(40)))  # same group
    assert find_return(config(), schb, prices, day, swaps) is None
    assert find_return(config(), schb, prices, date(2026, 12, 11), swaps) == ("VTI", "ITOT")
    # at a gain the substitute's sale has no loss to wash: the return goes ahead
    assert find_return(config(), ira, {"VTI": D(90), "ITOT": D("50.5")}, day, swaps) == (
        "VTI", "ITOT")


def test_no_return_while_the_lots_were_seeded_from_positions() -> None:
    """After a restart whose journal did not rebuild the lots, the ledger is seeded from the
    positions and has forgotten VTI's loss sale: the return's window check would see no
    loss and buy VTI back at once, inside the window (washing the harvested loss)."""
    engine = Engine(config(), RUN, lots=SeedLots(replay([]), False, rebuild_failed="unfit"))
    feed(engine, [ev.AccountSnapshot(at(0), D(200), {"ITOT": D(120), "BND": D(38)},
                                     avg_entry_prices={"ITOT": D(50), "BND": D(100)}),
                  clock(at(0)), *quotes(at(0), {"VTI": 100.0, "BND": 100.0, "ITOT": 50.0})])
    assert engine.config.symbols == ("VTI", "ITOT", "BND")  # the swap, derived
    assert engine.lots.untrusted is not None
    cmds = engine.handle(check(at(1)))
    assert not any(isinstance(c, RecordDecision) and "harvest over" in c.plan.reasons[0]
                   for c in cmds)
    assert not any(isinstance(c, PlaceOrder) and c.symbol == "VTI" and c.side is Side.BUY
                   for c in cmds)
    trusted = Engine(config(), RUN, lots=SeedLots(replay([]), False))  # the same, trusted:
    feed(trusted, [ev.AccountSnapshot(at(0), D(200), {"ITOT": D(120), "BND": D(38)},
                                      avg_entry_prices={"ITOT": D(50), "BND": D(100)}),
                   clock(at(0)), *quotes(at(0), {"VTI": 100.0, "BND": 100.0, "ITOT": 50.0})])
    assert any(isinstance(c, RecordDecision) and "harvest over" in c.plan.reasons[0]
               for c in trusted.handle(check(at(1))))  # (what the fallback would have done)
