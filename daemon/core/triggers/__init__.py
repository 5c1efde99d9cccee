"""When to rebalance: the trigger rules (``rules``: calendar, threshold, hybrid, look-interval,
cooldown, runs per day), calendar dates (``calendar``), exchange-local time
(``market_hours``), band edges (``bands``) and O(1) drift tracking (``drift``).

Import from the modules themselves inside the core; this package re-exports the public names.
"""

from daemon.core.triggers.drift import DriftTracker
from daemon.core.triggers.rules import TriggerDecision, TriggerState, evaluate

__all__ = ["DriftTracker", "TriggerDecision", "TriggerState", "evaluate"]
