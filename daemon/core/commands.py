"""Commands: intents, in the imperative, returned by ``Engine.handle``. The shell carries
them out and reports back with events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from daemon.core.model import Side, TradingState
from daemon.core.planning.plan import Plan


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Submit one order. The shell journals the intent before the POST; ``client_order_id``
    is deterministic (run id + sequence) so a retry after a crash cannot duplicate it."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None  # None → market order
    time_in_force: str = "day"
    est_cost: Decimal = Decimal(0)
    reason: str = ""
    decision_id: str = ""

    @property
    def order_type(self) -> str:
        return "market" if self.limit_price is None else "limit"

    @property
    def dollar_size(self) -> Decimal:
        """Notional, or qty at the limit price; 0 for a qty market order (size unknown).
        Used to serve the largest deviations first when the request budget is short."""
        if self.notional is not None:
            return abs(self.notional)
        if self.qty is not None and self.limit_price is not None:
            return abs(self.qty * self.limit_price)
        return Decimal(0)


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str
    broker_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class LookupOrder:
    """Resolve an UNKNOWN outcome by asking the broker (GET orders:by_client_order_id).
    The answer comes back as OrderAccepted / OrderFilled / OrderCanceled / OrderRejected /
    OrderNotFound. ``reason`` says why we ask (for the metric): ``unknown_outcome`` (a
    submit's outcome is unknown), ``cancel_failed`` (a cancel was refused or kept failing),
    ``deadline`` (still open past its timeout plus grace), ``reconcile`` (periodic
    reconciliation while orders are open), ``snapshot`` (the broker no longer lists it)."""

    client_order_id: str
    reason: str = "unknown_outcome"


@dataclass(frozen=True, slots=True)
class ScheduleWakeup:
    """Answer with ``TimerFired(at=…, key=key)`` at (or after) ``at``. Same key replaces."""

    at: datetime
    key: str


@dataclass(frozen=True, slots=True)
class RequestReconcile:
    """Take a fresh account snapshot. ``symbols``: also fetch the broker's corporate-action
    records of these (a suspected split), answered as ``SplitAnnounced`` events."""

    reason: str
    symbols: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordDecision:
    """Journal and log one rebalance decision (one canonical log line per decision)."""

    decision_id: str
    plan: Plan


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    """Persist the new trading state."""

    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True)
class Halt:
    reason: str


@dataclass(frozen=True, slots=True)
class Alert:
    severity: str  # "info" | "warning" | "critical"
    message: str


Command = (
    PlaceOrder
    | CancelOrder
    | LookupOrder
    | ScheduleWakeup
    | RequestReconcile
    | RecordDecision
    | TradingStateChanged
    | Halt
    | Alert
)

__all__ = [
    "Alert",
    "CancelOrder",
    "Command",
    "Halt",
    "LookupOrder",
    "PlaceOrder",
    "RecordDecision",
    "RequestReconcile",
    "ScheduleWakeup",
    "TradingStateChanged",
]

