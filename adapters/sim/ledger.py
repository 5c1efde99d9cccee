"""The paper account's books: cash, positions and average entry prices.

Every execution moves cash by exactly ``qty × price`` (paper has no fees), so after each
one ``cash + Σ qty × fill price`` equals the equity before it. Corporate actions: a
dividend credits cash; a split multiplies quantity and divides the average entry price.
Holds (buying power and ``qty_available``) are computed from open orders by the exchange
with ``buy_hold``/``sell_hold`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def dstr(d: Decimal) -> str:
    """A Decimal as Alpaca writes it: plain digits, no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


@dataclass(slots=True)
class Holding:
    qty: Decimal
    avg_entry_price: Decimal


@dataclass(frozen=True, slots=True)
class CashEvent:
    """A non-trade cash movement (dividends), kept for the /_sim/ snapshot."""

    kind: str
    symbol: str
    amount: Decimal
    per_share: Decimal
    qty: Decimal
    at: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "symbol": self.symbol,
            "amount": dstr(self.amount),
            "per_share": dstr(self.per_share),
            "qty": dstr(self.qty),
            "at": self.at,
        }


class Ledger:
    def __init__(self, cash: Decimal, positions: dict[str, Holding] | None = None) -> None:
        self.cash = cash
        self.positions: dict[str, Holding] = dict(positions or {})
        self.cash_events: list[CashEvent] = []

    def qty(self, symbol: str) -> Decimal:
        h = self.positions.get(symbol)
        return h.qty if h else ZERO

    def apply_fill(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> Decimal:
        """Book one execution; returns the signed position quantity after it."""
        if qty <= 0 or price <= 0:
            raise ValueError(f"an execution needs qty > 0 and price > 0, got {qty} @ {price}")
        signed = qty if side == "buy" else -qty
        self.cash -= signed * price
        h = self.positions.get(symbol)
        old = h.qty if h else ZERO
        new = old + signed
        if new == 0:
            self.positions.pop(symbol, None)
            return ZERO
        if h is None or old == 0 or (old > 0) != (new > 0):
            # opening, or flipping through zero: the new position's basis is this price
            self.positions[symbol] = Holding(new, price)
        elif abs(new) > abs(old):
            # adding to the position: quantity-weighted average
            h.avg_entry_price = (abs(old) * h.avg_entry_price + qty * price) / abs(new)
            h.qty = new
        else:
            h.qty = new  # reducing: the average entry price stays
        return new

    def dividend(self, symbol: str, per_share: Decimal, at: str) -> Decimal:
        """Credit ``per_share × qty`` to cash (debit for a short). Returns the amount."""
        q = self.qty(symbol)
        amount = per_share * q
        self.cash += amount
        self.cash_events.append(CashEvent("dividend", symbol, amount, per_share, q, at))
        return amount

    def split(self, symbol: str, ratio: Decimal) -> None:
        """A ``ratio``-for-1 split (2 → twice the shares at half the price)."""
        h = self.positions.get(symbol)
        if h is not None:
            h.qty *= ratio
            h.avg_entry_price /= ratio

    def state(self) -> dict[str, Any]:
        return {
            "cash": str(self.cash),
            "positions": {
                s: {"qty": str(h.qty), "avg_entry_price": str(h.avg_entry_price)}
                for s, h in sorted(self.positions.items())
            },
            "cash_events": [e.to_json() for e in self.cash_events],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Ledger:
        led = cls(
            Decimal(state["cash"]),
            {
                s: Holding(Decimal(p["qty"]), Decimal(p["avg_entry_price"]))
                for s, p in state["positions"].items()
            },
        )
        led.cash_events = [
            CashEvent(
                e["kind"],
                e["symbol"],
                Decimal(e["amount"]),
                Decimal(e["per_share"]),
                Decimal(e["qty"]),
                e["at"],
            )
            for e in state.get("cash_events", [])
        ]
        return led


def buy_hold(
    qty: Decimal | None,
    notional: Decimal | None,
    filled_qty: Decimal,
    filled_notional: Decimal,
    limit_price: Decimal | None,
    ask: Decimal,
) -> Decimal:
    """Cash an open buy order holds: limit × remaining qty, or ask × remaining qty, or the
    unfilled notional."""
    if notional is not None:
        return max(notional - filled_notional, ZERO)
    remaining = (qty or ZERO) - filled_qty
    return max(remaining, ZERO) * (limit_price if limit_price is not None else ask)


def sell_hold(qty: Decimal | None, filled_qty: Decimal, est_qty: Decimal | None = None) -> Decimal:
    """Shares an open sell order holds: its unfilled quantity (for a notional sell, the
    estimate at submission)."""
    total = qty if qty is not None else (est_qty or ZERO)
    return max(total - filled_qty, ZERO)
