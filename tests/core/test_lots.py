"""The lot ledger: opening, relief methods, holding periods, splits, dividends, fees.

Expected figures are worked by hand in each test from the trades themselves (or from the
IRS's published examples), never read back from the ledger.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from daemon.core.tax.ledger import (
    Bought,
    DividendReinvested,
    LedgerError,
    LotLedger,
    LotsOpened,
    Sold,
    Split,
    replay,
)
from daemon.core.tax.lots import Lot, LotSource, ReliefMethod, Term, first_long_term_day, term_on


def day(text: str) -> date:
    return date.fromisoformat(text)


# -- holding period ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acquired", "sold", "term"),
    [
        # IRS Pub. 550's own example: bought Feb 5, sold Feb 5 a year later is short-term;
        # sold Feb 6 it is long-term
        ("2024-02-05", "2025-02-05", Term.SHORT),
        ("2024-02-05", "2025-02-06", Term.LONG),
        ("2025-06-30", "2026-06-30", Term.SHORT),
        ("2025-06-30", "2026-07-01", Term.LONG),
        # a Feb 29 acquisition: its holding period starts Mar 1, so Mar 1 next year is the
        # first day it has been held more than one year
        ("2024-02-29", "2025-02-28", Term.SHORT),
        ("2024-02-29", "2025-03-01", Term.LONG),
        # bought on the last day of Feb in a common year: counting starts Mar 1, so the
        # following leap day is still short-term
        ("2023-02-28", "2024-02-29", Term.SHORT),
        ("2023-02-28", "2024-03-01", Term.LONG),
        # bought Feb 28 of a leap year: the holding period starts Feb 29
        ("2024-02-28", "2025-02-28", Term.SHORT),
        ("2024-02-28", "2025-03-01", Term.LONG),
        ("2024-12-31", "2025-12-31", Term.SHORT),
        ("2024-12-31", "2026-01-01", Term.LONG),
        ("2024-01-01", "2024-01-01", Term.SHORT),
    ],
)
def test_term_boundaries(acquired: str, sold: str, term: Term) -> None:
    assert term_on(day(acquired), day(sold)) is term


def test_first_long_term_day_is_the_day_after_the_anniversary() -> None:
    assert first_long_term_day(day("2024-02-05")) == day("2025-02-06")
    assert term_on(None, day("2025-01-01")) is Term.UNKNOWN


def test_disposal_term_exactly_one_year_is_short() -> None:
    led = replay([
        Bought(day("2024-03-15"), "VTI", D(10), D(100)),
        Bought(day("2024-03-15"), "BND", D(10), D(100)),
        Sold(day("2025-03-15"), "VTI", D(10), D(120)),
        Sold(day("2025-03-16"), "BND", D(10), D(120)),
    ])
    terms = {d.symbol: d.term for d in led.disposals}
    assert terms == {"VTI": Term.SHORT, "BND": Term.LONG}


# -- opening and FIFO ---------------------------------------------------------------------------


def test_buys_open_lots_with_fees_in_basis_and_sales_net_of_fees() -> None:
    led = replay([
        Bought(day("2025-01-02"), "VTI", D(10), D("250.00"), fee=D("1.00")),
        Sold(day("2025-03-03"), "VTI", D(4), D("260.00"), fee=D("0.40")),
    ])
    (lot,) = led.lots("VTI")
    assert lot.qty == D(6)
    assert lot.basis == D("2501.00") * 6 / 10  # 1,500.60
    (d,) = led.disposals
    assert d.proceeds == D("1040.00") - D("0.40")
    assert d.basis == D("2501.00") * 4 / 10  # 1,000.40
    assert d.gain == D("1039.60") - D("1000.40")
    assert d.term is Term.SHORT


def test_fifo_relieves_oldest_first_across_lots() -> None:
    led = replay([
        Bought(day("2025-01-02"), "VTI", D(10), D(100)),
        Bought(day("2025-02-03"), "VTI", D(10), D(110)),
        Bought(day("2025-03-03"), "VTI", D(10), D(120)),
        Sold(day("2025-04-01"), "VTI", D(15), D(130)),
    ])
    got = [(d.acquired, d.qty, d.basis) for d in led.disposals]
    assert got == [(day("2025-01-02"), D(10), D(1000)), (day("2025-02-03"), D(5), D(550))]
    assert [(x.acquired, x.qty) for x in led.lots("VTI")] == [
        (day("2025-02-03"), D(5)), (day("2025-03-03"), D(10))]


def _three_lots() -> list[Bought]:
    # a: old and cheap (LT gain at 100), b: old and dear (LT loss), c: new and dear (ST loss),
    # d: new and cheap (ST gain); none within 30 days of the sales, so no wash sale
    return [
        Bought(day("2023-01-03"), "VTI", D(10), D(50)),   # a
        Bought(day("2023-06-01"), "VTI", D(10), D(150)),  # b
        Bought(day("2025-05-01"), "VTI", D(10), D(140)),  # c
        Bought(day("2025-05-15"), "VTI", D(10), D(90)),   # d
    ]


@pytest.mark.parametrize(
    ("method", "order"),
    [
        (ReliefMethod.FIFO, ["2023-01-03", "2023-06-01", "2025-05-01", "2025-05-15"]),
        (ReliefMethod.LIFO, ["2025-05-15", "2025-05-01", "2023-06-01", "2023-01-03"]),
        (ReliefMethod.HIFO, ["2023-06-01", "2025-05-01", "2025-05-15", "2023-01-03"]),
        (ReliefMethod.LOWEST_COST, ["2023-01-03", "2025-05-15", "2025-05-01", "2023-06-01"]),
        # at 100 on 2025-07-01: c is a ST loss (-40/sh), b a LT loss (-50/sh), a a LT gain
        # (+50/sh), d a ST gain (+10/sh): ST losses, LT losses, LT gains, ST gains
        (ReliefMethod.MIN_TAX, ["2025-05-01", "2023-06-01", "2023-01-03", "2025-05-15"]),
    ],
)
def test_relief_methods_order(method: ReliefMethod, order: list[str]) -> None:
    entries = [*_three_lots()]
    sells = [Sold(day("2025-07-01"), "VTI", D(10), D(100)) for _ in range(4)]
    led = replay([*entries, *sells], method=method)
    assert [d.acquired for d in led.disposals] == [day(x) for x in order]
    assert led.position("VTI") == 0


def test_min_tax_realises_less_tax_than_fifo_on_a_partial_sale() -> None:
    fifo = replay([*_three_lots(), Sold(day("2025-07-01"), "VTI", D(10), D(100))])
    mint = replay([*_three_lots(), Sold(day("2025-07-01"), "VTI", D(10), D(100))],
                  method=ReliefMethod.MIN_TAX)
    assert fifo.disposals[0].gain == D(1000) - D(500)  # lot a: a LT gain of $500
    assert mint.disposals[0].gain == D(1000) - D(1400)  # lot c: a ST loss of $400


def test_specific_id_sells_the_named_lots() -> None:
    led = replay([*_three_lots()], method=ReliefMethod.SPECIFIC_ID)
    ids = [lot.lot_id for lot in led.lots("VTI")]
    led.apply(Sold(day("2025-07-01"), "VTI", D(7), D(100), lots=((ids[2], D(3)), (ids[0], D(4)))))
    assert [(d.lot_id, d.qty, d.basis) for d in led.disposals] == [
        (ids[2], D(3), D(420)), (ids[0], D(4), D(200))]
    with pytest.raises(LedgerError, match="needs the lots named"):
        led.apply(Sold(day("2025-07-02"), "VTI", D(1), D(100)))
    with pytest.raises(LedgerError, match="do not add up"):
        led.apply(Sold(day("2025-07-02"), "VTI", D(2), D(100), lots=((ids[1], D(1)),)))
    with pytest.raises(LedgerError, match="no open VTI lot"):
        led.apply(Sold(day("2025-07-02"), "VTI", D(1), D(100), lots=(("nope", D(1)),)))


def test_selling_more_than_the_lots_hold_is_refused_naming_the_fix() -> None:
    led = replay([Bought(day("2025-01-02"), "VTI", D(5), D(100))])
    with pytest.raises(LedgerError, match=r"hold only 5 shares.*lots import"):
        led.apply(Sold(day("2025-02-03"), "VTI", D(6), D(100), ref="exec-9"))
    assert led.position("VTI") == 5


@pytest.mark.parametrize("qty", [D(0), D(-1), D("NaN")])
def test_bad_quantities_are_refused(qty: D) -> None:
    with pytest.raises(LedgerError, match="must be a positive number"):
        LotLedger().apply(Bought(day("2025-01-02"), "VTI", qty, D(100)))


# -- imported lots, splits, dividends --------------------------------------------------------------


def test_imported_and_date_unknown_lots() -> None:
    led = replay([
        LotsOpened((
            Lot("imp-1", "VTI", day("2020-05-01"), D(10), D(1500), source=LotSource.IMPORT),
            Lot("pos-VTI", "VTI", None, D(5), D(1000), source=LotSource.POSITION),
        )),
        Bought(day("2025-01-02"), "VTI", D(1), D(300)),
        Sold(day("2025-02-03"), "VTI", D(6), D(310)),
    ])
    # the unknown-date lot came from a position held before anything we saw: FIFO takes it
    # first, and its term is unknown
    first, second = led.disposals
    assert (first.lot_id, first.qty, first.term, first.date_unknown) == (
        "pos-VTI", D(5), Term.UNKNOWN, True)
    assert (second.lot_id, second.qty, second.term) == ("imp-1", D(1), Term.LONG)
    assert second.basis == D(150)


def test_split_multiplies_quantity_and_keeps_basis() -> None:
    led = replay([
        Bought(day("2025-01-02"), "GLD", D(7), D("301.5")),
        Split(day("2025-02-03"), "GLD", D(3)),
    ])
    (lot,) = led.lots("GLD")
    assert (lot.qty, lot.basis, lot.acquired) == (D(21), D(7) * D("301.5"), day("2025-01-02"))
    led.apply(Sold(day("2025-03-03"), "GLD", D(21), D("100.5")))
    assert led.disposals[0].gain == D(21) * D("100.5") - D(7) * D("301.5")


def test_reverse_split() -> None:
    led = replay([Bought(day("2025-01-02"), "X", D(100), D(2)), Split(day("2025-02-03"), "X", D("0.1"))])
    assert [(x.qty, x.basis) for x in led.lots("X")] == [(D(10), D(200))]


def test_reinvested_dividend_opens_a_lot() -> None:
    led = replay([
        Bought(day("2025-01-02"), "BND", D(100), D(70)),
        DividendReinvested(day("2025-02-03"), "BND", D("0.75"), D("52.50")),
    ])
    lots = led.lots("BND")
    assert [(x.qty, x.basis, x.source) for x in lots] == [
        (D(100), D(7000), LotSource.FILL), (D("0.75"), D("52.50"), LotSource.DIVIDEND)]
    assert led.position("BND") == D("100.75")


def test_a_negative_fee_is_refused() -> None:
    with pytest.raises(LedgerError, match="fee must be zero or more"):
        LotLedger().apply(Bought(day("2025-01-02"), "VTI", D(1), D(100), fee=D(-1)))
