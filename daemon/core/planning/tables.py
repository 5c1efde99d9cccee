"""What the planner derives from a ``Config`` alone, built once per config and cached.

``Config`` is frozen, so everything here is a pure function of it: the target assets by
symbol with their band limits (and those limits already formatted for reasons), the cash
band, and the cost and limit-price constants in the form the hot loops use. The cache is
keyed on the config's identity and holds the config itself (so an id is never reused while
its entry lives); a handful of entries covers a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from daemon.core.config.values import AssetConfig, Config, Scope, TargetMode
from daemon.core.planning.benefit import mean_return
from daemon.core.planning.rounding import to_decimal
from daemon.core.triggers.bands import asset_limits, cash_limits

_CACHE_SIZE = 8


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """One target asset: its config, target and band limits (fractions)."""

    asset: AssetConfig
    target: float
    low: float
    high: float
    target_pct: str  # f"{target:.1%}", for reasons
    low_pct: str
    high_pct: str
    max_spread: float  # the widest quote traded on, (ask − bid) / mid
    whole: bool  # whole shares only (not ``asset.fractional``)
    sigma: float | None  # the asset's own σ (``asset.sigma``), None when not set
    adv: float | None  # the asset's own ADV when positive, else None


@dataclass(frozen=True, slots=True)
class PlanTables:
    assets: dict[str, AssetInfo]  # target assets in config order
    cash_low: float
    cash_high: float
    all_to_target: bool  # target mode with scope "all": every tradable asset to target
    offset: float  # planner.limit_offset
    offset_dec: Decimal
    up: float  # 1 + offset: a buy limit's multiple of the ask
    down: float  # 1 − offset: a sell limit's multiple of the bid
    commission: float  # cost.commission_per_order, dollars
    bps: float  # cost.commission_bps / 10 000
    impact: float  # cost.impact_coefficient
    default_sigma: float
    default_adv: float | None  # None when not positive
    default_half_spread: float  # fraction
    mean_return: float  # μ̄, the target-weighted expected return (``benefit.mean_return``)


_cache: dict[int, tuple[Config, PlanTables]] = {}


def tables_for(config: Config) -> PlanTables:
    """The tables for ``config`` (built on first use, then cached by identity)."""
    hit = _cache.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    tables = _build(config)
    if len(_cache) >= _CACHE_SIZE:
        del _cache[next(iter(_cache))]
    _cache[id(config)] = (config, tables)
    return tables


def _build(config: Config) -> PlanTables:
    by_symbol = {a.symbol: a for a in config.portfolio.assets}
    assets: dict[str, AssetInfo] = {}
    for sym, a in by_symbol.items():
        low, high = asset_limits(a)
        spread = a.max_spread if a.max_spread is not None else config.planner.max_spread
        adv = a.adv if a.adv is not None and a.adv > 0 else None
        assets[sym] = AssetInfo(
            a, a.target, low, high, f"{a.target:.1%}", f"{low:.1%}", f"{high:.1%}", spread,
            not a.fractional, a.sigma, adv,
        )  # fmt: skip
    cash_low, cash_high = cash_limits(config)
    cost, planner = config.cost, config.planner
    default_adv = cost.default_adv
    return PlanTables(
        assets=assets,
        cash_low=cash_low,
        cash_high=cash_high,
        all_to_target=planner.target_mode is TargetMode.TARGET and planner.scope is Scope.ALL,
        offset=planner.limit_offset,
        offset_dec=to_decimal(planner.limit_offset),
        up=1.0 + planner.limit_offset,
        down=1.0 - planner.limit_offset,
        commission=float(cost.commission_per_order),
        bps=cost.commission_bps / 10_000.0,
        impact=cost.impact_coefficient,
        default_sigma=cost.default_sigma,
        default_adv=default_adv if default_adv is not None and default_adv > 0 else None,
        default_half_spread=cost.default_half_spread_bps / 10_000.0,
        mean_return=mean_return(config),
    )
