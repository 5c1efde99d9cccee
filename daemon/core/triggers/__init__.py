"""When to rebalance: the trigger rules (``rules``: calendar, threshold, hybrid, look-interval,
cooldown, runs per day), calendar dates (``calendar``), exchange-local time
(``market_hours``), band edges (``bands``) and O(1) drift tracking (``drift``).

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
