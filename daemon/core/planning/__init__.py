"""Planning one rebalance: holdings, quotes and the config in, a ``Plan`` of orders out.

- ``planner``: ``plan_rebalance``, the recipe;
- ``valuation``, ``targets``, ``sizing``, ``market_rows``: the portfolio's rows, the dollar trade
  per symbol, shares and funding, and each row's market as floats for the hot loops;
- ``costs`` and ``benefit``: what an order costs, and what a move is worth;
- ``rounding``, ``exact_ticks``, ``quote_checks``: the venue's grid and usable quotes;
- ``plan``, ``records``, ``tables``: the plan's values, built at the planner's rate, and what is
  derived from a config once.

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.core.planning.plan import Plan, PlannedOrder, SkippedSymbol, WeightRow
    from daemon.core.planning.planner import plan_rebalance

_WHERE = {
    "Plan": "daemon.core.planning.plan",
    "PlannedOrder": "daemon.core.planning.plan",
    "SkippedSymbol": "daemon.core.planning.plan",
    "WeightRow": "daemon.core.planning.plan",
    "plan_rebalance": "daemon.core.planning.planner",
}

__all__ = ["Plan", "PlannedOrder", "SkippedSymbol", "WeightRow", "plan_rebalance"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
