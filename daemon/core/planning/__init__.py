"""Planning one rebalance: holdings, quotes and the config in, a ``Plan`` of orders out.

- ``planner``: ``plan_rebalance``, the recipe;
- ``valuation``, ``targets``, ``sizing``, ``market_rows``: the portfolio's rows, the dollar trade
  per symbol, shares and funding, and each row's market as floats for the hot loops;
- ``costs`` and ``benefit``: what an order costs, and what a move is worth;
- ``rounding``, ``exact_ticks``, ``quote_checks``: the venue's grid and usable quotes;
- ``plan``, ``records``, ``tables``: the plan's values, built at the planner's rate, and what is
  derived from a config once.

Import from the modules themselves inside the core; this package re-exports the public names.
``plan_rebalance`` is loaded on first use: ``commands`` imports ``plan``, which runs this
file, and the planner imports (through ``tax.policy``) ``commands`` back.
"""

from typing import TYPE_CHECKING, Any

from daemon.core.planning.plan import Plan, PlannedOrder, SkippedSymbol, WeightRow

if TYPE_CHECKING:
    from daemon.core.planning.planner import plan_rebalance


def __getattr__(name: str) -> Any:
    if name == "plan_rebalance":
        from daemon.core.planning.planner import plan_rebalance

        return plan_rebalance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Plan", "PlannedOrder", "SkippedSymbol", "WeightRow", "plan_rebalance"]
