"""``[tax] linked_buys_file`` at start-up: read into linked purchases, or refused with the
file and the fix named (never silently left out of the wash-sale guard)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.runtime.startup_lots import LinkedBuysError, linked_buys

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_no_file_means_no_linked_buys() -> None:
    assert linked_buys(None, NOW) == []


def test_a_good_file_gives_its_buys(tmp_path: Path) -> None:
    f = tmp_path / "ira.csv"
    f.write_text("symbol,date,quantity\nVTI,2026-11-02,10\n")
    [buy] = linked_buys(str(f), NOW)
    assert (buy.symbol, buy.day, buy.qty) == ("VTI", date(2026, 11, 2), Decimal(10))


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(LinkedBuysError, match=r"nope\.csv.*cannot be read.*fix the path"):
        linked_buys(str(tmp_path / "nope.csv"), NOW)


def test_a_bad_row_is_refused_naming_the_row(tmp_path: Path) -> None:
    f = tmp_path / "ira.csv"
    f.write_text("symbol,date,quantity\nVTI,2026-11-02,10\nBND,2099-01-01,5\n")
    with pytest.raises(LinkedBuysError, match=r"ira\.csv.*refused") as info:
        linked_buys(str(f), NOW)
    assert "row 3" in str(info.value)


async def test_a_journal_that_does_not_fit_keeps_the_linked_buys(tmp_path: Path) -> None:
    """When the journal's fills do not fit its lots the engine seeds from the broker's
    positions, but the linked account's buys must stay in the wash-sale guard."""
    from adapters.store.lot_journal import LotJournalError
    from daemon.core.config.tax import AccountKind, TaxConfig
    from daemon.core.tax.estimate import preview_sale
    from daemon.core.tax.live_lots import LiveLots
    from daemon.core.tax.lots import Lot
    from daemon.runtime.startup_lots import seed_lots

    f = tmp_path / "ira.csv"
    f.write_text("symbol,date,quantity\nVTI,2026-11-02,10\n")
    tax = TaxConfig(account=AccountKind.TAXABLE, linked_buys_file=str(f))

    class Journal:
        async def flush(self) -> None:
            pass

        def seed_lots(self, tax: TaxConfig, linked: object) -> object:
            raise LotJournalError("the journal's fills do not fit the lots")

    seed = await seed_lots(Journal(), tax, NOW)  # type: ignore[arg-type]
    lots = LiveLots.from_seed(seed)  # as Engine does
    assert not lots.seeded  # the first snapshot opens the positions' lots
    assert lots.rebuild_failed == "the journal's fills do not fit the lots"
    from daemon.core.tax.ledger import LotsOpened

    lots.ledger.apply(LotsOpened((Lot("p", "VTI", date(2026, 10, 1), Decimal(10),
                                      Decimal(2000)),)))
    [d] = preview_sale(lots.ledger, "VTI", Decimal(10), Decimal(150), date(2026, 11, 20))
    assert d.raw_gain == Decimal(-500) and d.adjustment == Decimal(500) and d.permanent


class _UnfitJournal:
    async def flush(self) -> None:
        pass

    def seed_lots(self, tax: object, linked: object) -> object:
        from adapters.store.lot_journal import LotJournalError

        raise LotJournalError("the journal's fills do not fit the lots: a sale of 10 VTI "
                              "has no lots to relieve")


async def test_lots_seeded_from_positions_after_a_failed_rebuild_are_shown_and_not_trusted(
) -> None:
    """The fallback used to be one log line: the engine then took the positions' average
    cost for real lots and had forgotten the journal's realised sales (this year's gains,
    the losses the wash-sale guard waits on). Now the operator sees it (an Alert, the
    gauge, /readyz's detail, every plan's notes) and tax decisions do not trust the lots."""
    from dataclasses import replace

    from prometheus_client import CollectorRegistry

    from daemon.core import events as ev
    from daemon.core.commands import Alert, RecordDecision
    from daemon.core.config.tax import AccountKind, TaxConfig
    from daemon.core.engine.kernel import Engine
    from daemon.runtime.gauges import Gauges
    from daemon.runtime.health import readiness
    from daemon.runtime.metrics import Metrics
    from daemon.runtime.startup_lots import seed_lots
    from tests.core.engine_scenario import RUN, at, clock, feed, make_config, quotes

    tax = TaxConfig(account=AccountKind.TAXABLE)
    seed = await seed_lots(_UnfitJournal(), tax, NOW)  # type: ignore[arg-type]
    assert seed.rebuild_failed is not None and not seed.seeded
    engine = Engine(replace(make_config(), tax=tax), RUN, lots=seed)
    cmds = feed(engine, [ev.AccountSnapshot(at(0), Decimal(0), {"VTI": Decimal(70),
                                                                 "BND": Decimal(30)},
                                            avg_entry_prices={"VTI": Decimal(80),
                                                              "BND": Decimal(100)}),
                         clock(at(0)), *quotes(at(0), {"VTI": 100.0, "BND": 100.0})])
    [alert] = [c for c in cmds if isinstance(c, Alert)]
    assert alert.severity == "warning" and alert.message.startswith(
        "tax decisions do not trust the lots: the lots were seeded from the broker's positions "
        "at start-up")
    assert "a sale of 10 VTI has no lots to relieve" in alert.message
    assert engine.lots.ledger.position("VTI") == 70  # seeded, as before

    snap = engine.snapshot()
    assert snap.lots_state == "seeded_from_positions"
    metrics = Metrics(CollectorRegistry())
    Gauges(metrics).refresh(queue_depth=0, quotes_seen=0, quotes_dropped=0, quotes_conflated=0,
                            streams={}, journal_write_errors=0, limiter=None, snap=snap)
    value = metrics.registry.get_sample_value
    assert value("rebalanced_lot_ledger_state", {"state": "seeded_from_positions"}) == 1
    assert value("rebalanced_lot_ledger_state", {"state": "ok"}) == 0
    ready, detail = readiness(stopping=False, ready=True, streams={}, journal_down=False,
                              snap=snap, reconcile_waited_seconds=None)
    assert ready and detail["lot_ledger"] == snap.lots_untrusted  # named, still trading

    [d] = [c for c in engine.handle(ev.RebalanceRequested(at(1), force=True))
           if isinstance(c, RecordDecision)]
    assert any(r.startswith("tax: sells planned without tax-aware cuts or estimated tax: the "
                            "lots were seeded from the broker's positions") for r in d.plan.reasons)


async def test_a_rebuilt_ledger_is_ok_and_raises_no_alert() -> None:
    from dataclasses import replace

    from daemon.core import events as ev
    from daemon.core.commands import Alert
    from daemon.core.config.tax import AccountKind, TaxConfig
    from daemon.core.engine.kernel import Engine
    from tests.core.engine_scenario import RUN, at, feed, make_config

    engine = Engine(replace(make_config(), tax=TaxConfig(account=AccountKind.TAXABLE)), RUN)
    cmds = feed(engine, [ev.AccountSnapshot(at(0), Decimal(0), {"VTI": Decimal(70)},
                                            avg_entry_prices={"VTI": Decimal(80)})])
    assert not [c for c in cmds if isinstance(c, Alert)]
    snap = engine.snapshot()
    assert snap.lots_state == "ok" and snap.lots_untrusted is None
