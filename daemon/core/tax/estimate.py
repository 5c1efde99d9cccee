"""What a sale would cost in tax, and when a buy would wash a loss: ledger queries for the
tax-aware planner and harvester to come (issue 13 items 2 and 3). Pure; nothing mutates
the ledger (a preview runs on a copy).

- :func:`preview_sale`: the disposals a sale of ``qty`` at ``price`` on ``day`` would make,
  by the ledger's relief method, wash sales with earlier buys included.
- :func:`estimate_tax`: their tax at the ``[tax]`` rates: short-term gain × ``st_rate`` plus
  long-term gain × ``lt_rate`` (a net loss in a term gives a negative figure, a saving). A
  term that is unknown is taxed as short-term (the cautious guess). Disallowed losses
  save nothing.
- :func:`buy_washes_until`: the first day a buy of a wash-sale group no longer washes a
  loss already realised (``None`` when none is pending): "no buy of a group within 30 days
  of its loss sale".
- :func:`days_to_long_term`: how long until a lot's gain would be taxed as long-term.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.config.tax import TaxConfig
from daemon.core.tax.ledger import LotLedger, Sold
from daemon.core.tax.lots import ZERO, Disposal, Lot, Term
from daemon.core.tax.wash_sales import WASH_WINDOW_DAYS

__all__ = ["TaxEstimate", "buy_washes_until", "days_to_long_term", "estimate_tax",
           "preview_sale"]


@dataclass(frozen=True, slots=True)
class TaxEstimate:
    short_term_gain: Decimal  # net, after wash-sale adjustments
    long_term_gain: Decimal
    tax: Decimal  # negative: the sale saves tax

    @property
    def realises_short_term_gain(self) -> bool:
        return self.short_term_gain > 0


def preview_sale(
    ledger: LotLedger, symbol: str, qty: Decimal, price: Decimal, day: date
) -> list[Disposal]:
    """The disposals the sale would make (the ledger itself is left as it is)."""
    trial = ledger.copy()
    before = len(trial.disposals)
    trial.apply(Sold(day, symbol, qty, price, ref="preview"))
    return trial.disposals[before:]


def estimate_tax(disposals: Iterable[Disposal], tax: TaxConfig) -> TaxEstimate:
    st = lt = ZERO
    for d in disposals:
        if d.term is Term.LONG:
            lt += d.gain
        else:
            st += d.gain
    amount = st * Decimal(str(tax.st_rate)) + lt * Decimal(str(tax.lt_rate))
    return TaxEstimate(st, lt, amount)


def buy_washes_until(ledger: LotLedger, symbol: str, day: date) -> date | None:
    """The first day from ``day`` on when buying ``symbol`` (or anything in its wash-sale
    group) washes no realised loss; ``None`` when a buy on ``day`` washes nothing."""
    group = ledger.groups.of(symbol)
    last: date | None = None
    for d in ledger.disposals:
        if ledger.groups.of(d.symbol) != group or d.raw_gain >= 0:
            continue
        washed = d.adjustment >= -d.raw_gain
        if washed or not (d.sold <= day <= d.sold + timedelta(days=WASH_WINDOW_DAYS)):
            continue
        last = d.sold if last is None else max(last, d.sold)
    return None if last is None else last + timedelta(days=WASH_WINDOW_DAYS + 1)


def days_to_long_term(lot: Lot, day: date) -> int | None:
    """Days from ``day`` until a sale of ``lot`` is long-term (0: it already is); ``None``
    when its holding period is unknown."""
    return lot.days_to_long_term(day)
