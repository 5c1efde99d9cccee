"""Every configuration number has a range: the sane operating range of each key, and one
bound for every number the file may hold at all.

Any number (a weight, a band, money, a covariance, a duration) must be 0 or between
``SMALLEST`` and ``LARGEST`` in size: 1e308 or 1e-300 is a typo, and would only turn into
an overflow or a zero deep inside the planner. ``RANGES`` narrows the keys where a value far
outside normal use is a mistake (a check every 1e-300 s, a queue of 2^63 events). Both are
documented in ``deploy/rebalanced.example.toml`` (``Range:`` lines); a test keeps the table
and the file in step.
"""

from __future__ import annotations

SMALLEST = 1e-9
LARGEST = 1e12

RANGES: dict[str, tuple[float, float]] = {
    "trigger.cooldown_seconds": (0, 31_536_000),
    "trigger.cooldown_minutes": (0, 525_600),
    "trigger.max_runs_per_day": (1, 10_000),
    "trigger.check_interval_seconds": (0.01, 86_400),
    "cost.commission_bps": (0, 1_000),
    "cost.impact_coefficient": (0, 100),
    "cost.default_sigma": (1e-6, 1),
    "cost.default_adv": (1, 1e12),
    "cost.default_half_spread_bps": (0, 1_000),
    "cost.risk_aversion": (0, 1e6),
    "cost.horizon_days": (0.001, 3_650),
    "planner.top_k": (1, 10_000),
    "planner.max_quote_age_seconds": (0.001, 86_400),
    "execution.orders_per_minute": (0.01, 100_000),
    "execution.burst": (1, 10_000),
    "execution.max_in_flight": (1, 10_000),
    "execution.order_timeout_seconds": (0.1, 86_400),
    "execution.lookup_delay_seconds": (0, 3_600),
    "execution.resolve_grace_seconds": (0.1, 86_400),
    "execution.max_rounds": (1, 100),
    "broker.requests_per_minute": (1, 100_000),
    "broker.request_timeout_seconds": (0.1, 600),
    "broker.stale_after_seconds": (0.1, 3_600),
    "daemon.reconcile_interval_seconds": (0.1, 86_400),
    "daemon.drain_deadline_seconds": (0, 3_600),
    "daemon.queue_size": (1, 10_000_000),
}
"""Dotted key path → (lowest, highest), both inclusive."""


def magnitude_problem(value: float) -> str | None:
    """Why ``value`` is no usable number at all (None when it is)."""
    size = abs(value)
    if size > LARGEST:
        return f"is {value:.6g}, larger than any sane setting ({LARGEST:g} at most): fix the typo"
    if 0 < size < SMALLEST:
        return (
            f"is {value:.6g}, too small to mean anything (use 0, or at least {SMALLEST:g})"
        )
    return None


def range_problem(path: str, value: float, unit: str = "") -> str | None:
    """Why ``value`` is outside the range of ``path`` (None when inside or unranged)."""
    bounds = RANGES.get(path)
    if bounds is None:
        return None
    lo, hi = bounds
    if lo <= value <= hi:
        return None
    u = f" {unit}" if unit else ""
    return f"is {value:.10g}{u}; it must be between {lo:g} and {hi:g}{u}"


__all__ = ["LARGEST", "RANGES", "SMALLEST", "magnitude_problem", "range_problem"]
