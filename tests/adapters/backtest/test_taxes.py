"""The backtest's taxes (issue 13 item 4), checked against figures worked by hand: netting
of the terms (Schedule D), the $3,000 loss deduction, carry-overs in their own term, and the
after-tax return as the pre-tax index with each year's tax taken out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import numpy as np
import pytest

from adapters.backtest.taxes import after_tax_figures, yearly_taxes
from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.tax.ledger import Bought, Sold, replay
from daemon.core.tax.lots import Disposal, Term

TAX = TaxConfig(account=AccountKind.TAXABLE, st_rate=0.32, lt_rate=0.15)


def sale(day: date, gain: int, term: Term) -> Disposal:
    return Disposal("S", "L", "X", D(1), None, day, D(1000 + gain), D(1000), term)


def test_terms_net_against_each_other_then_the_rates_apply() -> None:
    [y] = yearly_taxes([sale(date(2021, 3, 1), 5000, Term.SHORT),
                        sale(date(2021, 4, 1), -2000, Term.LONG)], TAX)
    assert y.tax == pytest.approx(3000 * 0.32)  # $960: the LT loss offsets ST gains
    [y] = yearly_taxes([sale(date(2021, 3, 1), -1000, Term.SHORT),
                        sale(date(2021, 4, 1), 4000, Term.LONG)], TAX)
    assert y.tax == pytest.approx(3000 * 0.15)  # $450


def test_a_net_loss_deducts_3000_and_carries_the_rest_in_its_term() -> None:
    years = yearly_taxes([sale(date(2021, 3, 1), -10_000, Term.SHORT),
                          sale(date(2023, 4, 1), 10_000, Term.LONG)], TAX)
    assert [y.year for y in years] == [2021, 2022, 2023]
    assert years[0].tax == pytest.approx(-3000 * 0.32)  # −$960: the deduction's saving
    assert (years[0].carry_short, years[0].carry_long) == (-7000, 0)
    assert years[1].tax == pytest.approx(-3000 * 0.32) and years[1].carry_short == -4000
    # 2023: the $4,000 short-term carry-over offsets the $10,000 long-term gain
    assert years[2].tax == pytest.approx(6000 * 0.15) and years[2].carry_short == 0


def test_wash_sale_adjusted_gains_are_what_is_taxed() -> None:
    # IRS Pub. 550: 100 shares for $1,000, sold for $750, 100 bought back for $800 within
    # 30 days; the replacement then sold for $1,100: $250 loss disallowed, basis $1,050
    ledger = replay([Bought(date(2021, 1, 4), "X", D(100), D(10)),
                     Sold(date(2021, 6, 1), "X", D(100), D("7.5")),
                     Bought(date(2021, 6, 15), "X", D(100), D(8)),
                     Sold(date(2021, 9, 1), "X", D(100), D(11))])
    [y] = yearly_taxes(ledger.disposals, TAX)
    assert y.short_term == pytest.approx(0 + 50)  # 750 − 1000 + 250, then 1100 − 1050
    assert y.tax == pytest.approx(50 * 0.32)


def test_after_tax_return_takes_each_years_tax_out_of_the_index() -> None:
    dates = [date(2021, 1, 4), date(2021, 12, 31), date(2022, 12, 30)]
    index = np.array([1.0, 1.1, 1.21])
    values = np.array([100_000.0, 110_000.0, 121_000.0])
    days = (dates[-1] - dates[0]).days
    out = after_tax_figures([sale(date(2021, 6, 1), 5000, Term.LONG)], TAX, dates, index,
                            values, days)
    growth = 1.21 * (1 - 750 / 110_000)  # $750 paid on 2021's last row
    assert out["after_tax_return"] == pytest.approx(growth ** (365.25 / days) - 1, rel=1e-9)
    assert out["taxes"]["total"] == 750 and out["taxes"]["by_year"] == {"2021": 750}
    deferred = after_tax_figures([sale(date(2021, 6, 1), 5000, Term.LONG)], TaxConfig(), dates,
                                 index, values, days)
    assert deferred["taxes"]["total"] == 0
    assert deferred["after_tax_return"] == pytest.approx(1.21 ** (365.25 / days) - 1, rel=1e-9)


def test_the_liquidated_figure_taxes_the_open_lots_on_the_last_row() -> None:
    from daemon.core.tax.lots import Lot

    dates = [date(2021, 1, 4), date(2022, 12, 30)]
    index, values = np.array([1.0, 1.5]), np.array([100_000.0, 150_000.0])
    days = (dates[-1] - dates[0]).days
    lot = Lot("X-1", "X", date(2021, 1, 4), D(1000), D(100_000))  # long-term by the end
    out = after_tax_figures([], TAX, dates, index, values, days, [lot], {"X": 150.0})
    assert out["after_tax_return"] == pytest.approx(1.5 ** (365.25 / days) - 1, rel=1e-9)
    growth = 1.5 * (1 - 50_000 * 0.15 / 150_000)  # $7,500 on the $50,000 gain
    assert out["after_tax_return_liquidated"] == pytest.approx(growth ** (365.25 / days) - 1,
                                                               rel=1e-9)
