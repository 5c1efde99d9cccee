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
