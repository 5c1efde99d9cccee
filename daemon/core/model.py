"""Plain value types shared by the core: sides, quotes, holdings, trading sessions.

Money and quantities that reach the broker or the ledger are ``Decimal``; prices on the
quote hot path are floats (converted to ``Decimal`` only when an order is planned).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

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
