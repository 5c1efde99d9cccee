"""What a reconciliation corrected: positions exactly, cash beyond a dollar (fees and
dividends the engine does not model are not "wrong books")."""

from __future__ import annotations

from decimal import Decimal

from daemon.core.model import Holdings
from daemon.runtime.books import book_correction

D = Decimal


def test_equal_books_are_no_correction() -> None:
    h = Holdings(D("1000.00"), {"VTI": D("10")})
    assert not book_correction(h, Holdings(D("1000.40"), {"VTI": D("10.0")}))
    assert not book_correction(None, h)


def test_a_position_or_cash_difference_is_named() -> None:
    before = Holdings(D("1000"), {"VTI": D("250"), "BND": D("320")})
    after = Holdings(D("16000"), {"VTI": D("199.94"), "BND": D("527.79"), "GLD": D("1")})
    fix = book_correction(before, after)
    assert fix
    assert fix.positions == {"VTI": (D("250"), D("199.94")), "BND": (D("320"), D("527.79")),
                             "GLD": (D(0), D("1"))}
    assert fix.cash == (D("1000"), D("16000"))
    assert fix.describe()["VTI"] == "250 -> 199.94"
    gone = book_correction(Holdings(D(0), {"VTI": D(5)}), Holdings(D(0), {}))
    assert gone.positions == {"VTI": (D(5), D(0))} and gone.cash is None
