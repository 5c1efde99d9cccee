"""Plain value types shared by the core: sides, quotes, holdings, trading sessions, the
terms every order record carries (``OrderTerms``).

Money and quantities that reach the broker or the ledger are ``Decimal``; prices on the
quote hot path are floats (converted to ``Decimal`` only when an order is planned).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypedDict

CASH = "CASH"
"""The symbol under which cash appears in weights and plans."""


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class TradingState(enum.StrEnum):
    """What the daemon may do: everything, only reduce risk (sells/cancels), or nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid/ask for one symbol at ``at``. ``adv`` (shares/day) and ``sigma`` (daily
    return volatility) are optional market statistics used by the cost model."""

    symbol: str
    bid: float
    ask: float
    at: datetime
    bid_size: float = 0.0
    ask_size: float = 0.0
    adv: float | None = None
    sigma: float | None = None

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


@dataclass(frozen=True, slots=True)
class Holdings:
    """Cash and signed share quantities (negative would be short; the core never goes short)."""

    cash: Decimal
    positions: Mapping[str, Decimal] = field(default_factory=dict)


class OrderTerms(TypedDict):
    """What an order asks for: the fields every order record carries along (a planned
    order, the command, the tracked order, its view, the broker's order). One record is
    made from another with ``**order_terms(other)``, so no copy can miss or swap one."""

    symbol: str
    side: Side
    qty: Decimal | None  # shares; None for a notional order
    notional: Decimal | None  # dollars; None for a qty order
    limit_price: Decimal | None  # None for a market order


class HasOrderTerms(Protocol):
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def qty(self) -> Decimal | None: ...
    @property
    def notional(self) -> Decimal | None: ...
    @property
    def limit_price(self) -> Decimal | None: ...


def order_terms(o: HasOrderTerms) -> OrderTerms:
    """The terms of any order record, to build another from."""
    return OrderTerms(symbol=o.symbol, side=o.side, qty=o.qty, notional=o.notional,
                      limit_price=o.limit_price)


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One trading day in exchange time: its date and its open/close as aware datetimes."""

    day: date
    open: datetime
    close: datetime


class OrderState(enum.StrEnum):
    """The one vocabulary of order state (the lifecycle table in ``orders`` moves between
    them). Adapters map a broker's statuses into it; the store and metrics derive theirs."""

    SUBMITTING = "submitting"  # PlaceOrder emitted, no answer yet
    UNKNOWN = "unknown"  # the submit's outcome is unknown: look it up, never resend
    OPEN = "open"
    PARTIAL = "partial"
    CANCELING = "canceling"  # CancelOrder emitted
    FILLED = "filled"
    CANCELED = "canceled"  # canceled, expired or done for the day
    REJECTED = "rejected"
    FAILED = "failed"  # never reached the broker

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.FAILED}
)
