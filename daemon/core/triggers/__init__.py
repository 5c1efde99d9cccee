"""When to rebalance: the trigger rules (``rules``: calendar, threshold, hybrid, look-interval,
cooldown, runs per day), calendar dates (``calendar``), exchange-local time
(``market_hours``), band edges (``bands``) and O(1) drift tracking (``drift``).

Inside the core, import the modules themselves; the names below are for the outside,
loaded on first use (``daemon.core.reexport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.core.reexport import lazy

if TYPE_CHECKING:
    from daemon.core.triggers.drift import DriftTracker
    from daemon.core.triggers.rules import TriggerDecision, TriggerState, evaluate

_WHERE = {
    "DriftTracker": "daemon.core.triggers.drift",
    "TriggerDecision": "daemon.core.triggers.rules",
    "TriggerState": "daemon.core.triggers.rules",
    "evaluate": "daemon.core.triggers.rules",
}

__all__ = ["DriftTracker", "TriggerDecision", "TriggerState", "evaluate"]

__getattr__ = lazy(__name__, _WHERE)
