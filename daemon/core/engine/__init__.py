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

Inside the core, import the modules themselves; the names below are for the outside,
loaded on first use (``daemon.core.reexport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.core.reexport import lazy

if TYPE_CHECKING:
    from daemon.core.engine.kernel import Engine
    from daemon.core.engine.view import EngineSnapshot

_WHERE = {
    "Engine": "daemon.core.engine.kernel",
    "EngineSnapshot": "daemon.core.engine.view",
}

__all__ = ["Engine", "EngineSnapshot"]

__getattr__ = lazy(__name__, _WHERE)
