"""Wash sales: IRS Pub. 550's worked example, partial wash sales, Rev. Rul. 2008-5, the
61-day window's edges, groups of substantially identical symbols, and carried holding
periods. The expected amounts are the IRS's (or worked by hand in the test)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from daemon.core.tax.ledger import (
    Bought,
    DividendReinvested,
    LinkedPurchase,
    Sold,
    replay,
)
from daemon.core.tax.lots import Term
from daemon.core.tax.wash_sales import carried_holding_from, in_window

SALE = date(2025, 6, 16)


def test_pub_550_worked_example() -> None:
    # "You buy 100 shares of X stock for $1,000. You sell these shares for $750 and within
    # 30 days from the sale you buy 100 shares of the same stock for $800. Because you
    # bought substantially identical stock, you cannot deduct your loss of $250 on the sale.
    # However, you add the disallowed loss of $250 to the cost of the new stock, $800, to
    # obtain your basis in the new stock, which is $1,050."
    led = replay([
        Bought(date(2025, 3, 3), "X", D(100), D(10)),
        Sold(SALE, "X", D(100), D("7.50")),
        Bought(SALE + timedelta(days=20), "X", D(100), D(8)),
    ])
    (sale,) = led.disposals
    assert sale.raw_gain == D(-250)
    assert (sale.code, sale.adjustment, sale.gain) == ("W", D(250), D(0))
    (new,) = led.lots("X")
    assert new.basis == D(1050)
    assert new.wash_adjustment == D(250)
    # the old shares' holding period (2025-03-03 → 2025-06-16, 105 days) carries over
    assert new.acquired == SALE + timedelta(days=20)
    assert new.holding_from == new.acquired - timedelta(days=(SALE - date(2025, 3, 3)).days)


def test_partial_wash_sale_disallows_in_proportion() -> None:
    # sell 100 at a loss of $5/sh ($500), buy back only 40 within 30 days: the loss on 40
    # shares ($200) is disallowed and added to the 40 new shares; $300 stays deductible
    led = replay([
        Bought(date(2025, 1, 6), "VTI", D(100), D(20)),
        Sold(SALE, "VTI", D(100), D(15)),
        Bought(SALE + timedelta(days=10), "VTI", D(40), D(16)),
    ])
    (sale,) = led.disposals
    assert sale.adjustment == D(500) * 40 / 100
    assert sale.gain == D(-500) + D(200)
    (new,) = led.lots("VTI")
    assert new.basis == D(40) * D(16) + D(200)


def test_replacement_larger_than_the_sale_splits_the_new_lot() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "VTI", D(10), D(20)),
        Sold(SALE, "VTI", D(10), D(15)),  # a $50 loss
        Bought(SALE + timedelta(days=3), "VTI", D(25), D(16)),
    ])
    assert led.disposals[0].adjustment == D(50)
    washed, rest = led.lots("VTI")
    assert (washed.qty, washed.basis, washed.replacement) == (D(10), D(160) + D(50), True)
    assert (rest.qty, rest.basis, rest.replacement) == (D(15), D(240), False)
    assert rest.holding_from == rest.acquired  # only the replacement shares carry it over
    assert washed.holding_from is not None and washed.holding_from < washed.acquired  # type: ignore[operator]


def test_purchase_in_the_30_days_before_the_sale_washes_it() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "VTI", D(100), D(10)),
        Bought(SALE - timedelta(days=30), "VTI", D(50), D(8)),
        Sold(SALE, "VTI", D(100), D(7)),  # FIFO: the January lot, a $300 loss
    ])
    (sale,) = led.disposals
    assert sale.adjustment == D(300) * 50 / 100
    (replacement,) = led.lots("VTI")
    assert replacement.basis == D(400) + D(150)


def test_shares_sold_in_the_same_sale_do_not_replace_each_other() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "VTI", D(10), D(10)),
        Bought(SALE - timedelta(days=5), "VTI", D(10), D(9)),
        Sold(SALE, "VTI", D(20), D(7)),
    ])
    assert [d.adjustment for d in led.disposals] == [D(0), D(0)]
    assert led.lots("VTI") == []


@pytest.mark.parametrize(("offset", "washed"), [(30, True), (31, False), (-30, True), (-31, False)])
def test_window_edges(offset: int, washed: bool) -> None:
    entries = [Bought(SALE - timedelta(days=200), "VTI", D(10), D(10))]
    rebuy = Bought(SALE + timedelta(days=offset), "VTI", D(10), D(8))
    sale = Sold(SALE, "VTI", D(10), D(7))
    entries += [rebuy, sale] if offset < 0 else [sale, rebuy]
    led = replay(entries)
    loss = next(d for d in led.disposals)
    assert (loss.adjustment == D(30)) is washed
    assert in_window(SALE, SALE + timedelta(days=offset)) is washed


def test_a_gain_is_never_washed() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "VTI", D(10), D(10)),
        Sold(SALE, "VTI", D(10), D(12)),
        Bought(SALE + timedelta(days=1), "VTI", D(10), D(12)),
    ])
    assert led.disposals[0].adjustment == 0
    assert led.lots("VTI")[0].basis == D(120)


def test_groups_make_substitutes_substantially_identical() -> None:
    entries = [
        Bought(date(2025, 1, 6), "VTI", D(10), D(10)),
        Sold(SALE, "VTI", D(10), D(8)),
        Bought(SALE + timedelta(days=2), "ITOT", D(10), D(9)),
    ]
    assert replay(entries).disposals[0].adjustment == 0  # no map: distinct securities
    grouped = replay(entries, groups={"VTI": "us-total", "ITOT": "us-total"})
    assert grouped.disposals[0].adjustment == D(20)
    assert grouped.lots("ITOT")[0].basis == D(90) + D(20)


def test_reinvested_dividend_is_a_replacement() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "BND", D(100), D(75)),
        Sold(SALE, "BND", D(100), D(70)),  # a $500 loss
        DividendReinvested(SALE + timedelta(days=14), "BND", D(2), D(140)),
    ])
    assert led.disposals[0].adjustment == D(500) * 2 / 100
    assert led.lots("BND")[0].basis == D(140) + D(10)


def test_rev_rul_2008_5_ira_repurchase_disallows_the_loss_for_good() -> None:
    # sold at a $250 loss in the taxable account, bought back in the IRA within 30 days:
    # the loss is disallowed and no basis anywhere is increased
    led = replay([
        Bought(date(2025, 3, 3), "X", D(100), D(10)),
        Sold(SALE, "X", D(100), D("7.50")),
        LinkedPurchase(SALE + timedelta(days=5), "X", D(100), account="ira"),
        Bought(SALE + timedelta(days=6), "X", D(100), D(8)),  # too late: already washed
    ])
    (sale,) = led.disposals
    assert (sale.adjustment, sale.permanent, sale.gain) == (D(250), True, D(0))
    (lot,) = led.lots("X")
    assert (lot.basis, lot.wash_adjustment) == (D(800), D(0))


def test_ira_purchase_before_the_sale_and_a_partial_one() -> None:
    led = replay([
        Bought(date(2025, 3, 3), "X", D(100), D(10)),
        LinkedPurchase(SALE - timedelta(days=10), "X", D(30)),
        Sold(SALE, "X", D(100), D(8)),  # $200 loss
        Bought(SALE + timedelta(days=1), "X", D(20), D(8)),
    ])
    (sale,) = led.disposals
    # 30 shares washed by the IRA (permanent, $60), 20 by the taxable rebuy ($40 to basis)
    assert sale.adjustment == D(60) + D(40)
    assert sale.permanent and sale.permanent_amount == D(60)
    assert led.lots("X")[0].basis == D(160) + D(40)


def test_each_replacement_share_counts_once() -> None:
    led = replay([
        Bought(date(2025, 1, 6), "X", D(10), D(10)),
        Bought(date(2025, 1, 7), "X", D(10), D(10)),
        Sold(SALE, "X", D(10), D(9)),  # -$10
        Bought(SALE + timedelta(days=1), "X", D(10), D(9)),
        Sold(SALE + timedelta(days=2), "X", D(10), D(8)),  # FIFO: the Jan 7 lot, -$20
    ])
    first, second = led.disposals
    assert first.adjustment == D(10)
    # the replacement lot already stood in for the first sale: the second loss finds none
    assert second.adjustment == D(0)


def test_holding_period_carries_over_to_make_long_term() -> None:
    # held 11 months, sold at a loss, bought back: after 2 more months the replacement is
    # long-term, which its own purchase date alone would not make it
    bought = date(2024, 7, 1)
    led = replay([
        Bought(bought, "X", D(10), D(10)),
        Sold(date(2025, 6, 2), "X", D(10), D(9)),
        Bought(date(2025, 6, 3), "X", D(10), D(9)),
        Sold(date(2025, 8, 4), "X", D(10), D(12)),
    ])
    last = led.disposals[-1]
    assert last.term is Term.LONG
    assert last.basis == D(90) + D(10)
    assert carried_holding_from(date(2025, 6, 3), date(2025, 6, 2), bought) == date(2024, 7, 2)


def test_the_rest_of_a_partly_sold_lot_does_not_replace_its_own_shares() -> None:
    led = replay([
        Bought(SALE - timedelta(days=10), "X", D(100), D(10)),
        Sold(SALE, "X", D(40), D(9)),  # a $40 loss on 40 of the 100 bought 10 days ago
    ])
    assert led.disposals[0].adjustment == 0
    (rest,) = led.lots("X")
    assert (rest.qty, rest.basis, rest.replacement) == (D(60), D(600), False)
    # a buy after the sale still washes it
    led.apply(Bought(SALE + timedelta(days=3), "X", D(10), D(9)))
    assert led.disposals[0].adjustment == D(40) * 10 / 40


def test_replacing_date_unknown_shares_makes_the_holding_period_unknown() -> None:
    from daemon.core.tax.ledger import LotsOpened
    from daemon.core.tax.lots import Lot, LotSource
    from daemon.core.tax.report import unrealised

    led = replay([
        LotsOpened((Lot("position-X", "X", None, D(10), D(100), source=LotSource.POSITION),)),
        Sold(SALE, "X", D(10), D(8)),  # a $20 loss on shares of unknown date
        Bought(SALE + timedelta(days=2), "X", D(10), D(8)),
    ])
    (lot,) = led.lots("X")
    assert (lot.acquired, lot.basis, lot.holding_unknown) == (
        SALE + timedelta(days=2), D(100), True)
    assert lot.term_on(SALE + timedelta(days=400)) is Term.UNKNOWN
    (row,) = unrealised(led.lots(), {"X": D(9)}, SALE + timedelta(days=3))
    assert "holding_unknown" in row.flags and row.gain == D(-10)
    led.apply(Sold(SALE + timedelta(days=400), "X", D(10), D(11)))
    from daemon.core.tax.report import realised

    last = realised(led.disposals, (SALE + timedelta(days=400)).year)[-1]
    assert (last.term, last.flags, last.acquired) == (Term.UNKNOWN, ("holding_unknown",),
                                                      SALE + timedelta(days=2))
