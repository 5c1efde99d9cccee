"""Our orders: the lifecycle table and the book that applies it (``lifecycle``), reconciliation
with the broker's open orders (``reconcile``), event-time pacing (``throttle``) and
deterministic ids (``ids``).

Inside the core, import the modules themselves; the names below are for the outside,
loaded on first use (``daemon.core.reexport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.core.reexport import lazy

if TYPE_CHECKING:
    from daemon.core.orders.lifecycle import OrderBook, TrackedOrder, next_state

_WHERE = {
    "OrderBook": "daemon.core.orders.lifecycle",
    "TrackedOrder": "daemon.core.orders.lifecycle",
    "next_state": "daemon.core.orders.lifecycle",
}

__all__ = ["OrderBook", "TrackedOrder", "next_state"]

__getattr__ = lazy(__name__, _WHERE)
