"""Wash-sale rules (IRC §1091, IRS Pub. 550 "Wash Sales") as ledger arithmetic.

A loss on a sale is disallowed when shares of the same *wash-sale group* ("substantially
identical" securities; a user map, each symbol its own group by default) are bought
within 30 days before or after the sale: a 61-day window around the sale date.

- Partial wash sales: when fewer replacement shares are bought than were sold, only the
  loss on as many shares as were bought is disallowed, in proportion.
- Replacement shares are matched in the order they were bought, each share once. Shares
  from the same purchase as the sold ones (the rest of a partly sold lot) do not replace
  them, as brokers report it.
- The disallowed loss is added to the replacement lot's basis, and the sold shares'
  holding period is added to the replacement's (its ``holding_from`` moves earlier by
  the days the sold shares were held).
- A replacement bought in a linked IRA (or other tax-advantaged account) disallows the
  loss for good, with no basis adjustment anywhere (Rev. Rul. 2008-5).

This module holds the small pieces; :mod:`daemon.core.tax.ledger` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.tax.lots import ZERO

__all__ = [
    "WASH_WINDOW_DAYS",
    "LinkedBuy",
    "PendingLoss",
    "WashSaleGroups",
    "carried_holding_from",
    "in_window",
]

WASH_WINDOW_DAYS = 30
"""Days before and after a loss sale in which a purchase makes it a wash sale."""


class WashSaleGroups:
    """Which symbols are substantially identical: ``{symbol: group}``; a symbol not in
    the map is its own group."""

    __slots__ = ("_map",)

    def __init__(self, groups: Mapping[str, str] | None = None) -> None:
        cleaned: dict[str, str] = {}
        for symbol, group in (groups or {}).items():
            if not symbol or not group:
                raise ValueError(
                    f"wash-sale group map entry {symbol!r} = {group!r}: symbol and group "
                    "must both be non-empty"
                )
            cleaned[symbol] = group
        self._map = cleaned

    def of(self, symbol: str) -> str:
        return self._map.get(symbol, symbol)

    def as_dict(self) -> dict[str, str]:
        return dict(self._map)


def in_window(sold: date, bought: date) -> bool:
    """Whether a purchase on ``bought`` falls in the 61-day window around ``sold``."""
    return abs((bought - sold).days) <= WASH_WINDOW_DAYS


def carried_holding_from(
    replacement_acquired: date, sold: date, sold_holding_from: date | None
) -> date | None:
    """The replacement's new holding-period start: its own acquisition date moved back by
    the days the sold shares were held (``None`` when their start is unknown)."""
    if sold_holding_from is None:
        return None
    held = sold - sold_holding_from
    return replacement_acquired - timedelta(days=max(held.days, 0))


@dataclass(slots=True)
class PendingLoss:
    """The not-yet-washed part of one loss disposal (ledger-internal, mutable)."""

    disposal_index: int
    group: str
    sold: date
    qty: Decimal  # shares whose loss is still allowed
    loss: Decimal  # the loss on those shares, positive
    holding_from: date | None  # the sold shares' holding-period start
    lot_id: str = ""  # the sold lot: what is left of it never replaces its own shares

    def take(self, qty: Decimal) -> Decimal:
        """Wash ``qty`` of the shares: return their loss (now disallowed)."""
        if qty >= self.qty:
            part, self.qty, self.loss = self.loss, ZERO, ZERO
            return part
        part = self.loss * qty / self.qty
        self.qty -= qty
        self.loss -= part
        return part


@dataclass(slots=True)
class LinkedBuy:
    """A purchase in a linked account (an IRA): a replacement that opens no lot here."""

    day: date
    symbol: str
    group: str
    account: str
    qty: Decimal  # shares not yet used as a replacement
