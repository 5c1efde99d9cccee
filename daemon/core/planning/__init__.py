"""Planning one rebalance: holdings, quotes and the config in, a ``Plan`` of orders out.

- ``planner``: ``plan_rebalance``, the recipe;
- ``valuation``, ``targets``, ``sizing``, ``market_rows``: the portfolio's rows, the dollar trade
  per symbol, shares and funding, and each row's market as floats for the hot loops;
- ``costs`` and ``benefit``: what an order costs, and what a move is worth;
- ``rounding``, ``exact_ticks``, ``quote_checks``: the venue's grid and usable quotes;
- ``plan``, ``records``, ``tables``: the plan's values, built at the planner's rate, and what is
  derived from a config once.

Import from the modules themselves inside the core; this package re-exports the public names.
"""

from daemon.core.planning.plan import Plan, PlannedOrder, SkippedSymbol, WeightRow
from daemon.core.planning.planner import plan_rebalance

__all__ = ["Plan", "PlannedOrder", "SkippedSymbol", "WeightRow", "plan_rebalance"]
