"""The order in which a sale relieves lots, per :class:`~daemon.core.tax.lots.ReliefMethod`.

``lots`` come in the ledger's opening order (which breaks every tie, so the result is
deterministic). Lots with an unknown acquisition date were opened from the broker's
positions before anything the journal saw, so they count as the oldest.

- FIFO / LIFO: by acquisition date (the trade date, not a carried-over holding period,
  as brokers do).
- HIFO / lowest cost: by cost per share, highest / lowest first.
- min-tax: short-term losses (largest loss per share first), then long-term losses (the
  same), then long-term gains (smallest gain per share first), then short-term gains (the
  same). A lot whose date is unknown counts as long-term here. ``price`` is the sale's
  price per share (net of fees) and ``sold`` its date.

Specific identification is not an order: the seller names the lots (see the ledger).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from daemon.core.tax.lots import Lot, ReliefMethod, Term

__all__ = ["relief_order"]


def relief_order(
    lots: Sequence[Lot], method: ReliefMethod, *, price: Decimal, sold: date
) -> list[Lot]:
    indexed = list(enumerate(lots))
    if method in (ReliefMethod.FIFO, ReliefMethod.LIFO):
        ranks = [(_day_rank(lot), i) for i, lot in indexed]
        if ranks != sorted(ranks):  # lots are usually already in date order
            ranks.sort()
        if method is ReliefMethod.LIFO:
            ranks.reverse()
        return [lots[i] for _, i in ranks]
    if method is ReliefMethod.HIFO:
        indexed.sort(key=lambda p: (-p[1].basis_per_share, p[0]))
    elif method is ReliefMethod.LOWEST_COST:
        indexed.sort(key=lambda p: (p[1].basis_per_share, p[0]))
    elif method is ReliefMethod.MIN_TAX:
        indexed.sort(key=lambda p: (*_min_tax_rank(p[1], price, sold), p[0]))
    else:
        raise ValueError(
            f"relief method {method.value!r} has no automatic order: name the lots to sell "
            "(specific identification)"
        )
    return [lot for _, lot in indexed]


def _day_rank(lot: Lot) -> int:
    return -1 if lot.acquired is None else lot.acquired.toordinal()


def _min_tax_rank(lot: Lot, price: Decimal, sold: date) -> tuple[int, Decimal]:
    per_share = price - lot.basis_per_share  # gain (+) or loss (-) per share
    long_term = lot.term_on(sold) is not Term.SHORT
    if per_share < 0:
        return (1 if long_term else 0), per_share  # the largest loss first
    return (2 if long_term else 3), per_share  # the smallest gain first
