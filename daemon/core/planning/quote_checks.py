"""Is a quote good enough to trade on, and what price values a position?

A symbol is traded only on a fresh two-sided quote: present, bid > 0 and ask > 0, not crossed
(bid ≤ ask; a locked quote bid == ask is accepted), no wider than ``planner.max_spread_bps``
(or the asset's ``max_spread_bps``: ``(ask − bid) / mid``) and no older than
``planner.max_quote_age_seconds`` relative to the ``now`` handed in. Anything else is skipped
with a reason a person can read. A skipped symbol still counts in the portfolio's value at
its last known mid (or the one positive side), so one bad quote does not make the rest of the
portfolio look over- or underweight.
"""

from __future__ import annotations

from datetime import datetime

from daemon.core.model import Quote


def quote_problem(
    quote: Quote | None, now: datetime, max_age_seconds: float, max_spread: float | None = None
) -> str | None:
    """Why ``quote`` cannot be traded on, or None when it is fresh, two-sided and no wider
    than ``max_spread`` (a fraction of the mid; None: no limit)."""
    if quote is None:
        return "no quote"
    if not (quote.bid > 0 and quote.ask > 0):
        return f"no two-sided quote (bid {quote.bid:g}, ask {quote.ask:g})"
    if quote.bid > quote.ask:
        return f"crossed quote (bid {quote.bid:g} > ask {quote.ask:g})"
    problem = spread_problem(quote.bid, quote.ask, max_spread)
    if problem is not None:
        return problem
    age = (now - quote.at).total_seconds()
    if age > max_age_seconds:
        return f"stale quote ({age:.1f} s old > {max_age_seconds:g} s)"
    return None


def spread_problem(bid: float, ask: float, max_spread: float | None) -> str | None:
    """Why a two-sided, uncrossed quote is too wide to trade on, or None."""
    if max_spread is None:
        return None
    mid = (bid + ask) / 2.0
    if ask - bid > max_spread * mid:
        wide = (ask - bid) / mid * 10_000
        return (
            f"spread too wide ({wide:.0f} bp > {max_spread * 10_000:g} bp: bid {bid:g}, "
            f"ask {ask:g})"
        )
    return None


def valuation_price(quote: Quote | None) -> float | None:
    """The price that values a position: the mid when both sides are positive, else the one
    positive side, else None (the value is uncertain)."""
    if quote is None:
        return None
    if quote.bid > 0 and quote.ask > 0:
        return quote.mid
    if quote.ask > 0:
        return quote.ask
    if quote.bid > 0:
        return quote.bid
    return None
