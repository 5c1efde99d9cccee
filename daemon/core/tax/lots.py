"""Tax lots and disposals: the values the lot ledger holds, and the holding-period rule.

A :class:`Lot` is shares of one symbol bought together: its quantity, its total cost basis
(price × quantity plus fees, plus any wash-sale loss added to it) and the dates that decide
its term. ``acquired`` is the trade date; ``holding_from`` is the date the holding period
is counted from, which is ``acquired`` unless a wash sale carried an older holding period
over (then it is earlier). Either may be ``None``: a lot opened from a broker position
whose purchase date we do not know (``date_unknown``); reports flag such lots.

A :class:`Disposal` is one lot's share of a sale: proceeds, basis, the wash-sale
adjustment (Form 8949 code W) and the term.

The holding period (IRS Pub. 550, "Holding Period"; Rev. Rul. 66-7): counting starts the
day *after* acquisition and the sale day counts, so shares are long-term only when held
*more than* one year: bought 2024-02-05, sold 2025-02-05 is short-term; sold 2025-02-06 is
long-term. Counting by calendar months from the day after acquisition, a lot bought on
2024-02-29 turns long-term on 2025-03-01, and one bought on 2023-02-28 (its holding period
starts 2023-03-01) on 2024-03-01, not on 2024-02-29. :func:`first_long_term_day` is
that rule in one place.

Everything is ``Decimal`` and exact; nothing here reads a clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal(0)


class Term(enum.StrEnum):
    SHORT = "short"
    LONG = "long"
    UNKNOWN = "unknown"  # the lot's acquisition date is unknown


class ReliefMethod(enum.StrEnum):
    """Which lots a sale relieves first."""

    FIFO = "fifo"  # first in, first out: the US broker default and Alpaca's
    LIFO = "lifo"  # last in, first out
    HIFO = "hifo"  # highest cost per share first
    LOWEST_COST = "lowest_cost"  # lowest cost per share first
    MIN_TAX = "min_tax"  # ST losses, then LT losses, then LT gains, then ST gains
    SPECIFIC_ID = "specific_id"  # the seller names the lots


BROKER_METHOD = ReliefMethod.FIFO
"""What Alpaca applies to its confirmations and 1099-B (its API takes no lot instruction)."""


class LotSource(enum.StrEnum):
    FILL = "fill"  # a buy fill from the journal
    IMPORT = "import"  # a row of an imported broker export
    POSITION = "position"  # a broker position at its average entry price, date unknown
    DIVIDEND = "dividend"  # a reinvested dividend
    WASH = "wash"  # the part of a lot that replaced washed shares (split off)


def first_long_term_day(holding_from: date) -> date:
    """The first sale date on which shares held from ``holding_from`` are long-term."""
    start = holding_from + timedelta(days=1)  # the holding period starts the day after
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # start was Feb 29: a year later there is none, so March 1
        return date(start.year + 1, 3, 1)


def term_on(holding_from: date | None, sold: date) -> Term:
    """Short or long term for shares held from ``holding_from`` and sold on ``sold``."""
    if holding_from is None:
        return Term.UNKNOWN
    return Term.LONG if sold >= first_long_term_day(holding_from) else Term.SHORT


@dataclass(frozen=True, slots=True)
class Lot:
    lot_id: str
    symbol: str
    acquired: date | None
    qty: Decimal
    basis: Decimal  # total, fees and wash-sale adjustments included
    holding_from: date | None = None  # defaults to ``acquired`` (see the module docstring)
    source: LotSource = LotSource.FILL
    wash_adjustment: Decimal = ZERO  # disallowed losses added to ``basis``
    replacement: bool = False  # already stands in for washed shares (once only)
    holding_unknown: bool = False  # replaced washed shares of unknown date: term unknown

    def __post_init__(self) -> None:
        if self.holding_from is None and self.acquired is not None:
            object.__setattr__(self, "holding_from", self.acquired)

    @property
    def date_unknown(self) -> bool:
        return self.acquired is None

    @property
    def basis_per_share(self) -> Decimal:
        return self.basis / self.qty if self.qty else ZERO

    def term_on(self, sold: date) -> Term:
        if self.holding_unknown:
            return Term.UNKNOWN
        return term_on(self.holding_from, sold)

    def days_to_long_term(self, day: date) -> int | None:
        """Days from ``day`` until a sale is long-term (0: it already is); ``None`` when
        the holding period is unknown."""
        if self.holding_from is None or self.holding_unknown:
            return None
        return max(0, (first_long_term_day(self.holding_from) - day).days)

    def unrealised(self, price: Decimal) -> Decimal:
        return self.qty * price - self.basis


@dataclass(frozen=True, slots=True)
class Disposal:
    """One lot's part of a sale. ``gain = proceeds - basis + adjustment``: a washed loss
    is (partly) disallowed by ``adjustment`` (positive, Form 8949 column g, code W)."""

    sale_id: str
    lot_id: str
    symbol: str
    qty: Decimal
    acquired: date | None  # the holding period's start (carried over for a replacement)
    sold: date
    proceeds: Decimal  # net of the sale's fees, pro rata
    basis: Decimal
    term: Term
    adjustment: Decimal = ZERO  # disallowed wash-sale loss
    permanent_amount: Decimal = ZERO  # the part of it washed by a linked IRA: lost for good

    @property
    def permanent(self) -> bool:
        return self.permanent_amount > 0

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.basis + self.adjustment

    @property
    def raw_gain(self) -> Decimal:
        return self.proceeds - self.basis

    @property
    def date_unknown(self) -> bool:
        return self.acquired is None

    @property
    def code(self) -> str:
        return "W" if self.adjustment else ""
