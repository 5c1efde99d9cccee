"""Taxes of a backtest at the configured ``[tax]`` rates, and the after-tax return.

The engine's live lot ledger (``Engine.lots``) records every lot the backtest sold
(``BacktestRun.disposals``: FIFO on Alpaca, wash sales applied). Per calendar year:

1. net short-term gains (a lot of unknown date counts as short-term) and net long-term
   gains, each with the loss carried over from earlier years in its own term;
2. a net loss in one term offsets a net gain in the other (Schedule D);
3. tax = short-term × ``st_rate`` + long-term × ``lt_rate`` on what is left positive;
4. a net loss for the year deducts up to $3,000 from ordinary income (saving
   3,000 × ``st_rate``, the marginal rate), short-term losses first; the rest carries over.

A tax-deferred account pays none. ``after_tax_return`` is the CAGR of the time-weighted
index with each year's tax taken out of the portfolio on that year's last row (the final
year's on the last row): the index is multiplied by ``1 − tax / value`` there, so taxes
stop compounding (pre-liquidation: unrealised gains are not taxed). The backtest itself
does not withdraw them, so later figures are the pre-tax run's.
``after_tax_return_liquidated`` also sells every open lot at the last close on the last
row (its gain taxed as a sale that day would be, added to that year's figures): the fair
comparison when one run defers more gains than another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from daemon.core.config.tax import TaxConfig
from daemon.core.tax.lots import Disposal, Lot, Term

LOSS_LIMIT = 3000.0  # a year's net capital loss deductible against ordinary income

__all__ = ["LOSS_LIMIT", "YearTax", "after_tax_figures", "liquidation", "yearly_taxes"]


def _f(x: float) -> float | None:
    return float(f"{x:.10g}") if np.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class YearTax:
    year: int
    short_term: float  # net realised this year (before carry-overs)
    long_term: float
    tax: float  # negative: the loss deduction saved tax
    carry_short: float  # ≤ 0, into next year
    carry_long: float


def yearly_taxes(disposals: Sequence[Disposal], tax: TaxConfig) -> list[YearTax]:
    """Each year from the first sale to the last, with its tax (rules: module docstring)."""
    if not disposals:
        return []
    st_rate, lt_rate = tax.st_rate, tax.lt_rate
    by: dict[int, list[float]] = {}
    for d in disposals:
        row = by.setdefault(d.sold.year, [0.0, 0.0])
        row[1 if d.term is Term.LONG else 0] += float(d.gain)
    out = []
    carry_st = carry_lt = 0.0
    for year in range(min(by), max(by) + 1):
        st0, lt0 = by.get(year, [0.0, 0.0])
        st, lt = st0 + carry_st, lt0 + carry_lt
        if st < 0 < lt:
            off = min(-st, lt)
            st, lt = st + off, lt - off
        elif lt < 0 < st:
            off = min(-lt, st)
            st, lt = st - off, lt + off
        owed = max(st, 0.0) * st_rate + max(lt, 0.0) * lt_rate
        st_neg, lt_neg = min(st, 0.0), min(lt, 0.0)
        deduction = min(LOSS_LIMIT, -(st_neg + lt_neg))
        used = min(deduction, -st_neg)
        st_neg += used
        lt_neg += deduction - used
        owed -= deduction * st_rate
        carry_st, carry_lt = st_neg, lt_neg
        out.append(YearTax(year, st0, lt0, owed, carry_st, carry_lt))
    return out


def liquidation(lots: Sequence[Lot], prices: Mapping[str, float], day: date) -> list[Disposal]:
    """Every open lot sold at ``prices`` on ``day`` (no costs, no wash sales)."""
    out = []
    for lot in lots:
        price = prices.get(lot.symbol)
        if price is None:
            continue
        proceeds = lot.qty * Decimal(repr(price))
        out.append(Disposal("end", lot.lot_id, lot.symbol, lot.qty, lot.holding_from, day,
                            proceeds, lot.basis, lot.term_on(day)))
    return out


def _cagr(
    disposals: Sequence[Disposal], tax: TaxConfig, dates: Sequence[date], index: np.ndarray,
    values: np.ndarray, days: int,
) -> tuple[float, list[YearTax]]:
    years = yearly_taxes(disposals, tax) if tax.taxable else []
    last_row: dict[int, int] = {}
    for k, d in enumerate(dates):
        last_row[d.year] = k
    factor = 1.0
    for y in years:
        k = last_row.get(y.year, len(dates) - 1)
        if values[k] > 0:
            factor *= 1.0 - y.tax / float(values[k])
    growth = float(index[-1]) * factor
    cagr = growth ** (365.25 / days) - 1.0 if days > 0 and growth > 0 else float("nan")
    return cagr, years


def after_tax_figures(
    disposals: Sequence[Disposal], tax: TaxConfig, dates: Sequence[date],
    index: np.ndarray, values: np.ndarray, days: int,
    open_lots: Sequence[Lot] = (), last_prices: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """``{"after_tax_return": …, "after_tax_return_liquidated": …, "taxes": {…}}``."""
    cagr, years = _cagr(disposals, tax, dates, index, values, days)
    end = liquidation(open_lots, last_prices or {}, dates[-1])
    liquidated, _ = _cagr([*disposals, *end], tax, dates, index, values, days)
    st = sum(y.short_term for y in years)
    lt = sum(y.long_term for y in years)
    return {
        "after_tax_return": _f(cagr),
        "after_tax_return_liquidated": _f(liquidated),
        "taxes": {
            "account": tax.account.value,
            "st_rate": tax.st_rate,
            "lt_rate": tax.lt_rate,
            "total": round(sum(y.tax for y in years), 2),
            "short_term_gains": round(st, 2),
            "long_term_gains": round(lt, 2),
            "wash_sale_disallowed": round(float(sum(d.adjustment for d in disposals)), 2)
            if tax.taxable else 0.0,
            "loss_carried_forward": round(-(years[-1].carry_short + years[-1].carry_long), 2)
            if years else 0.0,
            "by_year": {str(y.year): round(y.tax, 2) for y in years},
        },
    }
