"""Helpers for backtest tests: synthetic price series and configs (no files, no clock)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from adapters.backtest.prices import PriceSeries
from daemon.core.config.reader import parse_config
from daemon.core.config.values import Config

# The two-asset, monthly hybrid config the CLI and sweep tests start from (TOML text).
TWO_ASSETS_MONTHLY = """
[portfolio]
cash_target = 2
[portfolio.targets]
AAA = 58
BBB = 40
[trigger]
mode = "hybrid"
[trigger.calendar]
frequency = "monthly"
"""

def random_prices(
    n_assets: int, dates: pd.DatetimeIndex, seed: int, *, cents: bool = True
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0003, 0.012, (len(dates), n_assets))
    px = 100.0 * np.exp(np.cumsum(steps, axis=0)) * rng.uniform(0.3, 3.0, n_assets)
    if cents:
        px = np.round(px, 2)
    return pd.DataFrame(px, index=dates, columns=[f"S{k}" for k in range(n_assets)])


def random_targets(symbols: Sequence[str], seed: int) -> dict[str, float]:
    """Percent targets summing to exactly 100 (6 decimals)."""
    rng = np.random.default_rng(seed)
    w = np.round(rng.dirichlet(np.ones(len(symbols))) * 100, 6)
    w[-1] = round(100 - float(w[:-1].sum()), 6)
    return {s: float(x) for s, x in zip(symbols, w, strict=True)}


def series_of(df: pd.DataFrame, volume: Mapping[str, np.ndarray] | None = None) -> PriceSeries:
    syms = tuple(str(c) for c in df.columns)
    vol = tuple(None if volume is None else volume.get(s) for s in syms)
    return PriceSeries(
        "<memory>",
        tuple(date(d.year, d.month, d.day) for d in df.index),
        syms,
        df.to_numpy(dtype=float),
        vol,
        tuple(None for _ in syms),
        tuple(range(2, len(df) + 2)),
    )


def to_target_config(
    targets: Mapping[str, float], frequency: str, day: int, **overrides: Any
) -> Config:
    """Calendar rebalancing all the way to target, nothing holding it back: no cash target,
    no cost gate, no minimum trade or order, zero spread assumed, market orders (notional
    buys spend exactly what was sold), and pacing wide enough for every order at once."""
    data: dict[str, Any] = {
        "portfolio": {"cash_target": 0, "targets": dict(targets)},
        "trigger": {
            "mode": "calendar",
            "cooldown_seconds": 0,
            "max_runs_per_day": 1,
            "calendar": {"frequency": frequency, "day": day, "time": "10:00"},
        },
        "cost": {"gate": False, "default_half_spread_bps": 0, "min_trade_dollars": 0},
        "planner": {
            "min_order_notional": 0,
            "limit_offset_bps": 0,
            "participation_cap": 100,
            "market_orders": True,
        },
        "execution": {"burst": 1000, "max_in_flight": 1000, "orders_per_minute": 100000},
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data)
