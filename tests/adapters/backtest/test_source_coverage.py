"""``--source alpaca``'s table keeps the sessions every symbol has: what that leaves out (a
later start, dropped sessions) is said, with the symbol, never silent."""

from datetime import date, timedelta
from pathlib import Path

from adapters.backtest.alpaca_source import write_table
from adapters.ports import DailyBar

D0 = date(2024, 1, 2)


def bars(first: int, last: int, skip: tuple[int, ...] = ()) -> list[DailyBar]:
    return [DailyBar(D0 + timedelta(days=i), 100.0 + i, 1e6)
            for i in range(first, last + 1) if i not in skip]


def test_full_coverage_says_nothing(tmp_path: Path) -> None:
    rows, notes = write_table(tmp_path / "t.csv", ["AAA", "BBB"], {"AAA": bars(0, 9), "BBB": bars(0, 9)})
    assert (rows, notes) == (10, [])


def test_a_young_symbol_and_a_gap_are_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows, notes = write_table(path, ["AAA", "BBB", "CCC"],
                              {"AAA": bars(0, 9), "BBB": bars(4, 9), "CCC": bars(2, 9, skip=(6,))})
    assert rows == 5  # days 4, 5, 7, 8, 9
    assert notes[0] == ("the table starts 2024-01-06, not 2024-01-02: BBB's first bar is "
                        "2024-01-06 (also late: CCC)")
    assert notes[1] == "1 session(s) dropped where a symbol has no bar: CCC (1)"
    assert len(path.read_text().splitlines()) == 1 + rows
