"""The configuration as frozen values. One TOML file maps onto ``Config``
(see ``deploy/rebalanced.example.toml``); ``daemon.core.config.reader`` validates and builds it.

Units: the TOML file speaks in percent (5 = 5 %) where a person would; these dataclasses
hold **fractions** (0.05) so the core never converts twice. Money is ``Decimal``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal

from daemon.core.config.backtest import BacktestConfig

# re-exported: the journal codec resolves Config's type hints in this module's namespace
from daemon.core.config.model_targets import CovarianceEstimator as CovarianceEstimator
from daemon.core.config.model_targets import ModelKind as ModelKind
from daemon.core.config.model_targets import ReturnsEstimator as ReturnsEstimator
from daemon.core.config.model_targets import Schedule as Schedule
from daemon.core.config.model_targets import TargetModelConfig
from daemon.core.config.model_targets import WeightLimits as WeightLimits

# re-exported so the journal codec resolves the [tax] section's annotations from here
from daemon.core.config.tax import AccountKind as AccountKind
from daemon.core.config.tax import HarvestConfig as HarvestConfig
from daemon.core.config.tax import TaxConfig
from daemon.core.tax.lots import ReliefMethod as ReliefMethod


class BandRule(enum.StrEnum):
    EITHER = "either"  # whichever band is breached first (the narrower): the "5/25 rule"
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class TriggerMode(enum.StrEnum):
    CALENDAR = "calendar"  # only on calendar dates
    THRESHOLD = "threshold"  # whenever an asset leaves its band
    HYBRID = "hybrid"  # calendar OR threshold
    LOOK_INTERVAL = "look_interval"  # check bands only on calendar dates


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUALLY = "annually"


class TargetMode(enum.StrEnum):
    TARGET = "target"  # trade all the way back to target
    BAND_EDGE = "band_edge"  # trade back just inside the band
    HALFWAY = "halfway"  # halfway between band edge and target (Daryanani)


class Scope(enum.StrEnum):
    ALL = "all"  # trade every asset off target
    OUT_OF_BAND = "out_of_band"  # trade only assets outside their bands (plus cash flows)


class Leftover(enum.StrEnum):
    CASH = "cash"  # the target weight of an asset too dear to buy in whole shares stays cash
    SPREAD = "spread"  # … is spread over the other targets, pro rata


class NotInTargets(enum.StrEnum):
    HOLD = "hold"  # count in value, never trade (as if excluded)
    LIQUIDATE = "liquidate"  # sell holdings that have no target


@dataclass(frozen=True, slots=True)
class Band:
    """Half-widths around a target, as fractions. ``absolute`` is in weight points
    (0.05 = ±5 pp); ``relative`` is a fraction of the target (0.25 = ±25 % of target)."""

    absolute: float | None = 0.05
    relative: float | None = 0.25
    rule: BandRule = BandRule.EITHER


@dataclass(frozen=True, slots=True)
class AssetConfig:
    symbol: str
    target: float  # fraction of portfolio value
    band: Band = field(default_factory=Band)
    fractional: bool = True  # may trade fractional shares (else whole shares only)
    sigma: float | None = None  # daily return volatility override
    adv: float | None = None  # average daily volume (shares) override
    expected_return: float | None = None  # a year, fraction; None → cost.expected_return
    max_spread: float | None = None  # (ask − bid) / mid, fraction; None → planner.max_spread


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    assets: tuple[AssetConfig, ...]
    cash_target: float = 0.0  # fraction
    cash_band: Band = field(default_factory=Band)
    cash_buffer: float = 0.0  # fraction: cash above target + buffer is deployed into buys
    excluded: frozenset[str] = frozenset()  # counted in value, never traded
    not_in_targets: NotInTargets = NotInTargets.HOLD


@dataclass(frozen=True, slots=True)
class CalendarRule:
    frequency: Frequency = Frequency.MONTHLY
    # weekly: 0=Monday … 4=Friday; monthly/quarterly: day of month 1–31 (clamped to month
    # length); annually: (month, day). A non-trading day rolls to the previous trading day.
    weekday: int = 0
    day_of_month: int = 1
    month_day: tuple[int, int] = (1, 2)
    at: time = time(10, 0)  # exchange local time


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    mode: TriggerMode = TriggerMode.HYBRID
    calendar: CalendarRule = field(default_factory=CalendarRule)
    cooldown_seconds: float = 3600.0  # after a rebalance run, before another may start
    max_runs_per_day: int = 1
    window_start: time = time(9, 35)  # exchange local time
    window_end: time = time(15, 45)
    timezone: str = "America/New_York"
    check_interval_seconds: float = 60.0  # how often bands are evaluated on a timer


@dataclass(frozen=True, slots=True)
class CostConfig:
    gate: bool = True  # act only when estimated benefit ≥ estimated cost
    commission_per_order: Decimal = Decimal(0)
    commission_bps: float = 0.0
    impact_coefficient: float = 0.5  # Y in Y·σ·√(Q/ADV)
    default_sigma: float = 0.015  # daily volatility when none is known
    default_adv: float | None = None  # shares/day; None → no impact term when unknown
    default_half_spread_bps: float = 5.0  # when a quote has no usable spread
    risk_aversion: float = 2.0  # λ
    # the time a drift would otherwise persist, trading days (252 = a year; see benefit)
    horizon_days: float = 252.0
    covariance: Mapping[tuple[str, str], float] = field(default_factory=dict)  # daily
    expected_return: float = 0.05  # a year, fraction, for an asset without its own
    cash_return: float = 0.0  # a year, fraction: what cash earns
    min_trade_dollars: Decimal = Decimal(0)  # skip a rebalance whose total is smaller
    min_trade_percent: float = 0.0  # fraction of portfolio value


@dataclass(frozen=True, slots=True)
class PlannerConfig:
    target_mode: TargetMode = TargetMode.TARGET
    scope: Scope = Scope.ALL
    min_order_notional: Decimal = Decimal(1)
    limit_offset: float = 0.001  # marketable limit: ask×(1+offset) / bid×(1−offset)
    market_orders: bool = False  # True → market orders instead of marketable limits
    participation_cap: float = 0.05  # fraction of ADV per order; the rest is deferred
    top_k: int | None = None  # only the k largest deviations, when set
    max_quote_age_seconds: float = 5.0
    max_spread: float = 0.005  # (ask − bid) / mid, fraction: a wider quote is not traded on
    whole_share_leftover: Leftover = Leftover.CASH  # see Leftover
    # a held symbol's mid moving by this factor (either way) in one quote is a suspected split:
    # no decision until the account, a split record or the operator confirms; 0: never
    split_suspect_ratio: float = 1.4


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    orders_per_minute: float = 120.0  # core token bucket (the adapter keeps a backstop)
    burst: int = 10
    max_in_flight: int = 10
    order_timeout_seconds: float = 120.0  # cancel an unfilled limit order after this
    lookup_delay_seconds: float = 2.0  # wait before resolving an UNKNOWN outcome
    resolve_grace_seconds: float = 30.0  # after the timeout: look the order up over REST
    cancel_open_on_shutdown: bool = False
    max_rounds: int = 3  # follow-up plans within one run (sells fill → buys)


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    kind: str = "sim"  # "sim" | "alpaca"
    paper: bool = True
    feed: str = "iex"  # "iex" | "sip" | "test"
    rest_url: str | None = None  # override (the sim); else Alpaca's paper/live host
    data_url: str | None = None  # market-data REST host override
    stream_url: str | None = None  # market-data websocket URL override
    trade_stream_url: str | None = None  # trade-updates websocket URL override
    requests_per_minute: int = 200
    rate_headroom: float = 0.1  # keep 10 % of the budget unused
    request_timeout_seconds: float = 10.0
    stale_after_seconds: float = 30.0  # a mute data socket is reconnected after this


@dataclass(frozen=True, slots=True)
class MarketStatsConfig:
    """ADV, σ and covariance estimated from daily bars by the shell (an adapter), fed to
    the engine as events. Config values (``[assets.SYM]``, ``[cost]``) stay the fallback."""

    enabled: bool = True
    lookback_days: int = 252  # sessions of daily returns behind σ and the covariance
    adv_days: int = 20  # sessions behind the average daily volume
    min_observations: int = 60  # fewer daily returns → no σ, left out of the covariance
    refresh_interval_seconds: float = 86400.0  # after a success
    retry_seconds: float = 300.0  # after a failure (doubling, at most the refresh interval)


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    state_dir: str = "./state"
    http_host: str = "127.0.0.1"
    http_port: int = 9108
    log_format: str = "auto"  # "json" | "console" | "auto" (console on a TTY)
    log_level: str = "info"
    reconcile_interval_seconds: float = 300.0
    drain_deadline_seconds: float = 20.0
    queue_size: int = 10000
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    portfolio: PortfolioConfig
    bands: Band = field(default_factory=Band)  # the default band; assets may override
    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    market_stats: MarketStatsConfig = field(default_factory=MarketStatsConfig)
    tax: TaxConfig = field(default_factory=TaxConfig)  # parsed and validated; not used yet
    targets_model: TargetModelConfig = field(default_factory=TargetModelConfig)  # [targets.model]
    backtest: BacktestConfig = field(default_factory=BacktestConfig)  # [backtest]: the backtester's

    def asset(self, symbol: str) -> AssetConfig | None:
        for a in self.portfolio.assets:
            if a.symbol == symbol:
                return a
        return None

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(a.symbol for a in self.portfolio.assets)
