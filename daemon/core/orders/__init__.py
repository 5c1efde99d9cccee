"""Our orders: the lifecycle table and the book that applies it (``lifecycle``), reconciliation
with the broker's open orders (``reconcile``), event-time pacing (``throttle``) and
deterministic ids (``ids``).

Import from the modules themselves inside the core; this package re-exports the public names.
"""

from daemon.core.orders.lifecycle import OrderBook, TrackedOrder, next_state

__all__ = ["OrderBook", "TrackedOrder", "next_state"]
