"""``[targets.model]``: target weights from a model (mean-variance, risk-based), estimated in
an adapter (``adapters/models``) and handed to the engine as ``TargetsChanged``.

Kept in its own module (dataclass + section reader) so the other config sections can change
without touching it. The file speaks percent for weights and rates; ``TargetModelConfig``
holds fractions, like the rest of ``Config``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from daemon.core.config.fields import Reader, fmt_num, type_name

__all__ = [
    "MODEL_KEYS",
    "TARGETS_KEYS",
    "CovarianceEstimator",
    "ModelKind",
    "ReturnsEstimator",
    "Schedule",
    "TargetModelConfig",
    "WeightLimits",
    "targets_section",
]


class ModelKind(enum.StrEnum):
    STATIC = "static"  # the [portfolio.targets] weights, never re-estimated (today's behaviour)
    MEAN_VARIANCE = "mean_variance"  # max rᵀw − ½·λ·wᵀΣw (PyPortfolioOpt max_quadratic_utility)
    MAX_SHARPE = "max_sharpe"  # tangency portfolio (PyPortfolioOpt)
    MIN_VOLATILITY = "min_volatility"  # global minimum variance (PyPortfolioOpt)
    INVERSE_VOLATILITY = "inverse_volatility"  # w ∝ 1/σ (skfolio InverseVolatility)
    RISK_PARITY = "risk_parity"  # equal risk contributions (skfolio RiskBudgeting)
    HRP = "hrp"  # hierarchical risk parity (PyPortfolioOpt HRPOpt)


class CovarianceEstimator(enum.StrEnum):
    LEDOIT_WOLF = "ledoit_wolf"  # shrunk towards constant variance (PyPortfolioOpt)
    ORACLE_APPROXIMATING = "oracle_approximating"
    SAMPLE = "sample"


class ReturnsEstimator(enum.StrEnum):
    MEAN_HISTORICAL = "mean_historical"
    EMA = "ema"  # exponentially weighted mean, span ema_span_days
    CAPM = "capm"  # β to the equal-weighted market of the assets


class Schedule(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


# Kinds that solve a constrained problem: bounds and the turnover penalty apply to them.
BOUNDED_KINDS = frozenset(
    {ModelKind.MEAN_VARIANCE, ModelKind.MAX_SHARPE, ModelKind.MIN_VOLATILITY, ModelKind.RISK_PARITY}
)
# skfolio's RiskBudgeting takes transaction_costs but they only enter its expected return,
# which the budgeting problem does not optimise: measured, they change no weight, so
# risk_parity refuses a penalty rather than ignore it.
PENALISED_KINDS = frozenset({ModelKind.MEAN_VARIANCE, ModelKind.MIN_VOLATILITY})


@dataclass(frozen=True, slots=True)
class WeightLimits:
    """Bounds on an asset's weight, fractions of the portfolio's value."""

    min_weight: float = 0.0
    max_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class TargetModelConfig:
    kind: ModelKind = ModelKind.STATIC
    risk_aversion: float = 1.0  # λ on annualised returns and covariance (mean_variance)
    window_days: int = 252  # trailing daily returns behind an estimate
    min_history_days: int = 126  # fewer returns → no estimate, the old targets stay
    covariance: CovarianceEstimator = CovarianceEstimator.LEDOIT_WOLF
    returns: ReturnsEstimator = ReturnsEstimator.MEAN_HISTORICAL
    ema_span_days: int = 63
    risk_free_rate: float = 0.0  # fraction per year (max_sharpe, capm)
    min_weight: float = 0.0  # fraction of portfolio value, every asset
    max_weight: float = 1.0
    limits: Mapping[str, WeightLimits] = field(default_factory=dict)  # per asset
    turnover_penalty: float = 0.0  # k in k·Σ|w − w_current| (annualised utility units)
    schedule: Schedule = Schedule.MONTHLY

    def bounds(self, symbol: str) -> WeightLimits:
        """The symbol's bounds: its own ``limits`` entry, else the global ones."""
        return self.limits.get(symbol, WeightLimits(self.min_weight, self.max_weight))


TARGETS_KEYS = ("model",)
MODEL_KEYS = (*(f.name for f in fields(TargetModelConfig)),)
LIMIT_KEYS = ("min_weight", "max_weight")


def targets_section(
    r: Reader, tbl: Mapping[str, Any], symbols: Collection[str], cash_target: float
) -> TargetModelConfig:
    """``[targets]`` (only ``[targets.model]`` so far) → ``TargetModelConfig``.
    ``symbols`` are the portfolio's targets, ``cash_target`` a fraction."""
    p, d = "targets.model", TargetModelConfig()
    m = r.table(tbl, "model", p, MODEL_KEYS)
    before = len(r.problems)
    kind = r.member(m, "kind", p, d.kind)
    window = r.integer(m, "window_days", p, d.window_days, minimum=20, maximum=5000)
    history = r.integer(m, "min_history_days", p, min(d.min_history_days, window), minimum=2)
    if history > window:
        r.problem(
            f"{p}.min_history_days",
            f"is {history} but window_days is {window}: an estimate never uses more than "
            "window_days returns; lower min_history_days or raise window_days",
        )
    lo = r.number(m, "min_weight", p, 0.0, minimum=0.0, maximum=100.0, unit="%") / 100.0
    hi = r.number(m, "max_weight", p, 100.0, minimum=0.0, maximum=100.0, unit="%") / 100.0
    if lo > hi:
        r.problem(f"{p}.min_weight", f"{fmt_num(lo * 100)} % is above max_weight: lower it")
    limits = _limits(r, m.get("limits", {}), symbols, lo, hi)
    penalty = r.number(m, "turnover_penalty", p, d.turnover_penalty, minimum=0.0, maximum=100.0)
    cfg = TargetModelConfig(
        kind=kind,
        risk_aversion=r.number(
            m, "risk_aversion", p, d.risk_aversion, minimum=0.0, maximum=1000.0, exclusive_min=True
        ),
        window_days=window,
        min_history_days=history,
        covariance=r.member(m, "covariance", p, d.covariance),
        returns=r.member(m, "returns", p, d.returns),
        ema_span_days=r.integer(m, "ema_span_days", p, d.ema_span_days, minimum=2, maximum=5000),
        risk_free_rate=r.number(
            m, "risk_free_rate", p, 0.0, minimum=-10.0, maximum=50.0, unit="%/year"
        )
        / 100.0,
        min_weight=lo,
        max_weight=hi,
        limits=limits,
        turnover_penalty=penalty,
        schedule=r.member(m, "schedule", p, d.schedule),
    )
    if len(r.problems) == before and m:
        _check_kind(r, m, cfg, symbols, cash_target)
    return cfg


def _limits(
    r: Reader, raw: object, symbols: Collection[str], lo: float, hi: float
) -> dict[str, WeightLimits]:
    p = "targets.model.limits"
    if not isinstance(raw, Mapping):
        r.problem(p, f"expected a table of [{p}.SYMBOL] sections, got {type_name(raw)}")
        return {}
    out: dict[str, WeightLimits] = {}
    for sym, value in raw.items():
        path = f"{p}.{sym}"
        if sym not in symbols:
            r.problem(
                path,
                f"{sym!r} is not a target: limits apply only to symbols in "
                "[portfolio.targets]: add it as a target or remove this entry",
            )
            continue
        t = r.check_table(value, path, LIMIT_KEYS)
        a = r.number(t, "min_weight", path, lo * 100, minimum=0.0, maximum=100.0, unit="%") / 100
        b = r.number(t, "max_weight", path, hi * 100, minimum=0.0, maximum=100.0, unit="%") / 100
        if a > b:
            r.problem(f"{path}.min_weight", f"{fmt_num(a * 100)} % is above max_weight: lower it")
        out[sym] = WeightLimits(a, b)
    return out


def _check_kind(
    r: Reader,
    m: Mapping[str, Any],
    cfg: TargetModelConfig,
    symbols: Collection[str],
    cash_target: float,
) -> None:
    """Keys that the kind would ignore, and bounds that no weights can meet."""
    p = "targets.model"
    if cfg.kind is ModelKind.STATIC:
        return  # the model is off: its other keys wait for a kind that uses them
    bounded = [k for k in ("min_weight", "max_weight", "limits") if k in m]
    if bounded and cfg.kind not in BOUNDED_KINDS:
        r.problem(
            f"{p}.{bounded[0]}",
            f'kind "{cfg.kind}" takes no weight bounds (its library has none): remove '
            f"{', '.join(bounded)} or use one of "
            + ", ".join(sorted(k.value for k in BOUNDED_KINDS)),
        )
        return
    if cfg.turnover_penalty > 0 and cfg.kind not in PENALISED_KINDS:
        r.problem(
            f"{p}.turnover_penalty",
            f'kind "{cfg.kind}" cannot take a turnover penalty: set it to 0 or use one of '
            + ", ".join(sorted(k.value for k in PENALISED_KINDS)),
        )
    if not symbols:
        return
    invest = 1.0 - cash_target
    if invest <= 0:
        r.problem(
            f"{p}.kind",
            'cash_target is 100 %, so a model has nothing to allocate: use kind = "static"',
        )
        return
    mins = sum(cfg.bounds(s).min_weight for s in symbols)
    maxs = sum(cfg.bounds(s).max_weight for s in symbols)
    if mins > invest + 1e-9:
        r.problem(
            f"{p}.min_weight",
            f"the minimum weights add up to {fmt_num(mins * 100)} %, more than the "
            f"{fmt_num(invest * 100)} % left after cash_target: lower them",
        )
    if maxs < invest - 1e-9:
        r.problem(
            f"{p}.max_weight",
            f"the maximum weights add up to {fmt_num(maxs * 100)} %, less than the "
            f"{fmt_num(invest * 100)} % to invest after cash_target: raise them",
        )
