"""Ledger queries for the tax-aware planner to come: previews, tax at the configured
rates, the wash-sale blackout for buys, and days to long-term. Figures worked by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.tax.estimate import (
    buy_washes_until,
    days_to_long_term,
    estimate_tax,
    preview_sale,
)
from daemon.core.tax.ledger import Bought, Sold, replay
from daemon.core.tax.lots import ReliefMethod

TAX = TaxConfig(account=AccountKind.TAXABLE, st_rate=0.35, lt_rate=0.15)
DAY = date(2026, 6, 15)


def ledger(method: ReliefMethod = ReliefMethod.FIFO):  # type: ignore[no-untyped-def]
    return replay([
        Bought(date(2024, 1, 10), "VTI", D(10), D(100)),   # LT, $100/sh
        Bought(date(2026, 3, 2), "VTI", D(10), D(150)),    # ST, $150/sh
    ], method)


def test_preview_does_not_touch_the_ledger_and_fifo_realises_lt_gain_first() -> None:
    led = ledger()
    before = (led.lots(), led.disposals)
    sale = preview_sale(led, "VTI", D(15), D(130), DAY)
    assert (led.lots(), led.disposals) == before
    est = estimate_tax(sale, TAX)
    # FIFO: 10 LT shares gain $30 each ($300), 5 ST shares lose $20 each (-$100)
    assert (est.long_term_gain, est.short_term_gain) == (D(300), D(-100))
    assert est.tax == D(300) * D("0.15") + D(-100) * D("0.35")
    assert not est.realises_short_term_gain


def test_min_tax_preview_saves_tax_where_fifo_owes_it() -> None:
    fifo = estimate_tax(preview_sale(ledger(), "VTI", D(10), D(130), DAY), TAX)
    mint = estimate_tax(preview_sale(ledger(ReliefMethod.MIN_TAX), "VTI", D(10), D(130), DAY),
                        TAX)
    assert fifo.tax == D(300) * D("0.15")  # the LT lot: +$300
    assert mint.tax == D(-200) * D("0.35")  # the ST lot at a loss: -$200


def test_buy_blackout_after_a_loss_sale() -> None:
    led = replay([Bought(date(2026, 1, 5), "VTI", D(10), D(100)),
                  Sold(DAY, "VTI", D(10), D(90))], groups={"VTI": "us", "ITOT": "us"})
    assert buy_washes_until(led, "ITOT", DAY + timedelta(days=3)) == DAY + timedelta(days=31)
    assert buy_washes_until(led, "VTI", DAY + timedelta(days=30)) == DAY + timedelta(days=31)
    assert buy_washes_until(led, "VTI", DAY + timedelta(days=31)) is None
    assert buy_washes_until(led, "BND", DAY) is None
    # once washed in full (by a rebuy), a further buy washes nothing
    led.apply(Bought(DAY + timedelta(days=2), "VTI", D(10), D(91)))
    assert buy_washes_until(led, "VTI", DAY + timedelta(days=3)) is None


def test_days_to_long_term() -> None:
    lt, st = ledger().lots("VTI")
    assert days_to_long_term(lt, DAY) == 0
    # bought 2026-03-02: long-term from 2027-03-03
    assert days_to_long_term(st, DAY) == (date(2027, 3, 3) - DAY).days
