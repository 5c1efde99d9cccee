"""The engine's starting lots from the journal (``lot_journal.seed_lots``): journaled split
records are applied once the account shows them, as the live engine does; a linked
account's buys join the ledger so the wash-sale guard sees them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from adapters.store import lot_journal, schema
from adapters.store.journal import SqliteJournal
from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.engine.kernel import Engine
from daemon.core.events import AccountSnapshot, SplitAnnounced
from daemon.core.tax.estimate import preview_sale
from daemon.core.tax.ledger import LinkedPurchase
from tests.core.engine_scenario import RUN, make_config

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TAX = TaxConfig(account=AccountKind.TAXABLE)


def snap(t: datetime, vti: str) -> AccountSnapshot:
    return AccountSnapshot(t, D(1000), {"VTI": D(vti)}, avg_entry_prices={"VTI": D(200)})


async def journal(state: Path, events: list) -> None:  # type: ignore[type-arg]
    j = await SqliteJournal.open(state, quotes="all", clock=lambda: T0)
    for e in events:
        j.record_event(e)
    await j.close()


def seed(state: Path, linked: tuple[LinkedPurchase, ...] = ()) -> lot_journal.SeedLots:
    conn = sqlite3.connect(state / schema.JOURNAL_FILENAME)
    try:
        return lot_journal.seed_lots(conn, TAX, linked)
    finally:
        conn.close()


async def test_a_repeated_split_record_is_applied_once_as_in_the_engine(tmp_path: Path) -> None:
    events = [snap(T0, "10"), SplitAnnounced(T0 + timedelta(hours=1), "VTI", 2.0),
              snap(T0 + timedelta(hours=2), "20"),
              SplitAnnounced(T0 + timedelta(days=1), "VTI", 2.0),
              snap(T0 + timedelta(days=1, hours=1), "20")]
    await journal(tmp_path, events)
    s = seed(tmp_path)
    [lot] = s.ledger.lots("VTI")
    assert s.seeded and (lot.qty, lot.basis) == (D(20), D(2000))
    live = Engine(make_config(), RUN)  # the same events live
    for e in events:
        live.handle(e)
    assert live.lots.lots() == s.ledger.lots()


async def test_a_linked_ira_buy_washes_a_loss_for_good(tmp_path: Path) -> None:
    await journal(tmp_path, [snap(T0, "10")])
    ira = LinkedPurchase(date(2026, 3, 5), "VTI", D(10))
    s = seed(tmp_path, (ira,))
    [d] = preview_sale(s.ledger, "VTI", D(10), D(150), date(2026, 3, 20))  # $500 loss
    assert d.raw_gain == D(-500) and d.adjustment == D(500) and d.permanent
    [d] = preview_sale(seed(tmp_path).ledger, "VTI", D(10), D(150), date(2026, 3, 20))
    assert d.adjustment == 0


async def test_a_catch_up_report_of_a_fill_is_not_a_second_buy_after_a_restart(
    tmp_path: Path,
) -> None:
    from daemon.core.commands import PlaceOrder
    from daemon.core.events import OrderFilled
    from daemon.core.model import Side

    order = PlaceOrder(f"rb-{RUN}-00000001", "VTI", Side.BUY, D(5), D(201), None,
                       decision_id="d")
    j = await SqliteJournal.open(tmp_path, quotes="all", clock=lambda: T0)
    j.record_event(snap(T0, "10"))
    await j.record_intent(order)
    fill = OrderFilled(T0 + timedelta(minutes=1), order.client_order_id, "x1", D(5), D(201),
                       D(5), "b1")
    sync = OrderFilled(T0 + timedelta(minutes=1), order.client_order_id, "sync:b1:5", D(5),
                       D(201), D(5), "b1")
    j.record_event(fill)
    j.record_event(sync)
    await j.close()
    s = seed(tmp_path)
    assert s.ledger.position("VTI") == D(15)
    assert [(x.qty, x.basis) for x in s.ledger.lots("VTI")] == [(D(10), D(2000)), (D(5), D(1005))]
