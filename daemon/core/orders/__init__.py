"""Our orders: the lifecycle table and the book that applies it (``lifecycle``), reconciliation
with the broker's open orders (``reconcile``), event-time pacing (``throttle``) and
deterministic ids (``ids``).

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.core.orders.lifecycle import OrderBook, TrackedOrder, next_state

_WHERE = {
    "OrderBook": "daemon.core.orders.lifecycle",
    "TrackedOrder": "daemon.core.orders.lifecycle",
    "next_state": "daemon.core.orders.lifecycle",
}

__all__ = ["OrderBook", "TrackedOrder", "next_state"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
