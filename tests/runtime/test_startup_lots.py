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
    lots = LiveLots.from_seed(seed) if seed else LiveLots.fresh(tax)  # as Engine does
    assert not lots.seeded  # the first snapshot opens the positions' lots
    from daemon.core.tax.ledger import LotsOpened

    lots.ledger.apply(LotsOpened((Lot("p", "VTI", date(2026, 10, 1), Decimal(10),
                                      Decimal(2000)),)))
    [d] = preview_sale(lots.ledger, "VTI", Decimal(10), Decimal(150), date(2026, 11, 20))
    assert d.raw_gain == Decimal(-500) and d.adjustment == Decimal(500) and d.permanent
