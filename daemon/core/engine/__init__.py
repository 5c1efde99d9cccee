"""The Engine: the single mutator of the decision core, and its parts.

- ``kernel``: ``Engine.handle(event) -> list[Command]``, the event handlers and timers;
- ``deciding``: triggers → plan → a run of rounds, one cost gate per run;
- ``quotes``: quotes and quote batches into prices and drift, split suspicion;
- ``harvesting``: the tax-loss harvests it runs (a base of ``Deciding``);
- ``rounds``: the Engine's one call of the planner;
- ``desk``: the order book, the queue of planned orders and the pacer;
- ``market_data``: the latest quotes, sessions and connection states (the "no order now" rules);
- ``holds``: the split hold and what is reported once;
- ``view``: ``EngineSnapshot``, the read-only view for metrics, health and status;
- ``target_swap``: swapping in a model's targets.

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.core.engine.kernel import Engine
    from daemon.core.engine.view import EngineSnapshot

_WHERE = {
    "Engine": "daemon.core.engine.kernel",
    "EngineSnapshot": "daemon.core.engine.view",
}

__all__ = ["Engine", "EngineSnapshot"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
