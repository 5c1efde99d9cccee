"""The paper exchange's order record and its Alpaca JSON (every field of §1.6; the ones
alpaca-py requires are never null)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.sim.ledger import ZERO, dstr

OPEN_STATUSES = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "partially_filled",
        "pending_cancel",
        "pending_replace",
        "held",
        "accepted_for_bidding",
    }
)
TERMINAL_STATUSES = frozenset(
    {"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"}
)

_DECIMALS = (
    "notional",
    "qty",
    "filled_qty",
    "filled_notional",
    "limit_price",
    "stop_price",
    "est_qty",
)
_TIMES = (
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "expired_at",
    "expires_at",
    "canceled_at",
    "failed_at",
    "replaced_at",
)


@dataclass(slots=True)
class SimOrder:
    id: str
    client_order_id: str
    seq: int  # submission order, for stable listing
    symbol: str
    asset_id: str
    side: str
    type: str
    time_in_force: str
    status: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    extended_hours: bool = False
    position_intent: str | None = None
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO  # Σ qty × price over executions
    est_qty: Decimal | None = None  # a notional sell's share estimate at submission (its hold)
    stop_triggered: bool = False
    filled_at: datetime | None = None
    expired_at: datetime | None = None
    expires_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    cancel_requested: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def filled_avg_price(self) -> Decimal | None:
        if self.filled_qty == 0:
            return None
        return (self.filled_notional / self.filled_qty).quantize(Decimal("1e-9")).normalize()

    def to_json(self) -> dict[str, Any]:
        avg = self.filled_avg_price
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": _t(self.created_at),
            "updated_at": _t(self.updated_at),
            "submitted_at": _t(self.submitted_at),
            "filled_at": _t(self.filled_at),
            "expired_at": _t(self.expired_at),
            "expires_at": _t(self.expires_at),
            "canceled_at": _t(self.canceled_at),
            "failed_at": _t(self.failed_at),
            "replaced_at": _t(self.replaced_at),
            "replaced_by": self.replaced_by,
            "replaces": self.replaces,
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "asset_class": "us_equity",
            "notional": _d(self.notional),
            "qty": _d(self.qty),
            "filled_qty": dstr(self.filled_qty),
            "filled_avg_price": None if avg is None else dstr(avg),
            "order_class": "simple",
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "position_intent": self.position_intent,
            "time_in_force": self.time_in_force,
            "limit_price": _d(self.limit_price),
            "stop_price": _d(self.stop_price),
            "status": self.status,
            "extended_hours": self.extended_hours,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "ratio_qty": None,
        }

    def state(self) -> dict[str, Any]:
        out = asdict(self)
        for k in _DECIMALS:
            out[k] = None if out[k] is None else str(out[k])
        for k in _TIMES:
            out[k] = None if out[k] is None else out[k].isoformat()
        return out

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> SimOrder:
        values = dict(d)
        for k in _DECIMALS:
            values[k] = None if values[k] is None else Decimal(values[k])
        for k in _TIMES:
            values[k] = None if values[k] is None else datetime.fromisoformat(values[k])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def _d(x: Decimal | None) -> str | None:
    return None if x is None else dstr(x)


def _t(t: datetime | None) -> str | None:
    """RFC 3339 with offset and microseconds (UTC, ``Z``)."""
    if t is None:
        return None
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
