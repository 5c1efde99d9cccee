"""Target weights from a model, estimated on trailing daily closes.

The libraries do the work (no optimiser is written here):

=====================  ==========================================================
kind                   library call
=====================  ==========================================================
``mean_variance``      PyPortfolioOpt ``EfficientFrontier.max_quadratic_utility(λ)``
``max_sharpe``         PyPortfolioOpt ``EfficientFrontier.max_sharpe(risk_free_rate)``
``min_volatility``     PyPortfolioOpt ``EfficientFrontier.min_volatility()``
``hrp``                PyPortfolioOpt ``HRPOpt(cov_matrix=Σ).optimize()``
``inverse_volatility`` skfolio ``InverseVolatility`` (PyPortfolioOpt has none)
``risk_parity``        skfolio ``RiskBudgeting`` (variance, equal budgets; PyPortfolioOpt
                       has none)
=====================  ==========================================================

Inputs: the closes of the rows dated strictly before ``before``, the last ``window_days + 1``
of them (``window_days`` simple returns). Σ is PyPortfolioOpt's ``sample_cov`` or
``CovarianceShrinkage(...).ledoit_wolf()`` / ``.oracle_approximating()`` (annualised, 252
rows a year); for skfolio's kinds the same estimator is skfolio's ``EmpiricalCovariance``,
``LedoitWolf`` or ``OAS`` on the returns (weights do not depend on the annualisation). μ is
``mean_historical_return``, ``ema_historical_return(span)`` or ``capm_return`` (against the
equal-weighted market of the assets).

A model allocates the part of the portfolio that is not the cash target: its weights ``w``
sum to 1, each in ``[min/(1−c), max/(1−c)]`` for the configured bounds (fractions of the
portfolio), and the returned targets are ``w·(1−c)``. The turnover penalty is PyPortfolioOpt's
``objective_functions.transaction_cost`` (``k·‖w − w_current‖₁``) toward the current
targets, for ``mean_variance`` and ``min_volatility`` (the config refuses it elsewhere).

Every way an estimate can go wrong raises ``ModelFailure(reason, message)``; the caller
keeps the old targets. Reasons (the metric's label): ``too_little_history``,
``nan_returns``, ``singular_covariance``, ``infeasible``, ``optimizer_failed``.
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from adapters.models.failure import FAILURE_REASONS, ModelFailure
from daemon.core.config.model_targets import (
    CovarianceEstimator,
    ModelKind,
    ReturnsEstimator,
    TargetModelConfig,
)
from daemon.core.events import TargetsChanged

__all__ = [
    "FAILURE_REASONS",
    "ModelFailure",
    "ModelInputs",
    "ModelResult",
    "covariance",
    "expected_returns",
    "inputs_before",
    "model_weights",
]

FREQUENCY = 252  # rows a year (daily sessions)
SINGULAR_RCOND = 1e-10  # λ_min / λ_max below this: singular
SOLVER_TOLERANCE = 1e-4  # a weight this far outside its bounds is a failure, not noise


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """The closes an estimate is made from (rows ascending, columns ``symbols``)."""

    symbols: tuple[str, ...]
    dates: tuple[date, ...]
    closes: np.ndarray

    @property
    def observations(self) -> int:
        return max(len(self.dates) - 1, 0)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.closes, index=pd.DatetimeIndex(list(self.dates)), columns=list(self.symbols)
        )


@dataclass(frozen=True, slots=True)
class ModelResult:
    targets: tuple[tuple[str, float], ...]  # fractions of portfolio value; + cash = 1
    source: str
    inputs: ModelInputs

    def event(self, at: datetime) -> TargetsChanged:
        d = self.inputs.dates
        return TargetsChanged(at, self.targets, self.source, d[0], d[-1], self.inputs.observations)


def inputs_before(
    symbols: Sequence[str],
    dates: Sequence[date],
    closes: np.ndarray,
    before: date,
    window_days: int,
) -> ModelInputs:
    """The last ``window_days + 1`` rows dated strictly before ``before`` (no look-ahead)."""
    end = bisect.bisect_left(list(dates), before)
    start = max(0, end - window_days - 1)
    return ModelInputs(tuple(symbols), tuple(dates[start:end]), np.asarray(closes[start:end]))


def source_name(cfg: TargetModelConfig) -> str:
    return f"model:{cfg.kind}:{cfg.covariance}:{cfg.returns}:{cfg.window_days}d"


def _check_inputs(cfg: TargetModelConfig, x: ModelInputs) -> None:
    n = x.observations
    if n < cfg.min_history_days:
        span = f" ({x.dates[0]}…{x.dates[-1]})" if x.dates else ""
        raise ModelFailure(
            "too_little_history",
            f"{n} daily returns{span}, fewer than min_history_days = {cfg.min_history_days}: "
            "wait for more history or lower [targets.model] min_history_days",
        )
    bad = ~np.isfinite(x.closes) | (x.closes <= 0)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ModelFailure(
            "nan_returns",
            f"{x.symbols[j]} has close {x.closes[i, j]!r} on {x.dates[i]}, so its returns "
            "are not numbers: fix the price data (every close finite and > 0)",
        )


def covariance(cfg: TargetModelConfig, prices: pd.DataFrame) -> pd.DataFrame:
    """Σ of daily returns, annualised (PyPortfolioOpt), checked for singularity."""
    from pypfopt import risk_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not PSD" repairs are checked below instead
        if cfg.covariance is CovarianceEstimator.SAMPLE:
            s = risk_models.sample_cov(prices, frequency=FREQUENCY)
        else:
            shrink = risk_models.CovarianceShrinkage(prices, frequency=FREQUENCY)
            if cfg.covariance is CovarianceEstimator.LEDOIT_WOLF:
                s = shrink.ledoit_wolf()
            else:
                s = shrink.oracle_approximating()
    m = s.to_numpy(dtype=float)
    if not np.isfinite(m).all():
        raise ModelFailure("nan_returns", "the covariance has non-finite entries")
    eig = np.linalg.eigvalsh((m + m.T) / 2)
    if eig[-1] <= 0 or eig[0] <= SINGULAR_RCOND * eig[-1]:
        raise ModelFailure(
            "singular_covariance",
            f"the {cfg.covariance} covariance is singular (eigenvalues "
            f"{eig[0]:.3g} … {eig[-1]:.3g}): an asset is constant or a copy of others; use "
            'covariance = "ledoit_wolf", a longer window_days, or drop the duplicate',
        )
    return s


def expected_returns(cfg: TargetModelConfig, prices: pd.DataFrame) -> pd.Series:
    """μ, annualised (PyPortfolioOpt)."""
    from pypfopt import expected_returns as er

    if cfg.returns is ReturnsEstimator.EMA:
        mu = er.ema_historical_return(prices, span=cfg.ema_span_days, frequency=FREQUENCY)
    elif cfg.returns is ReturnsEstimator.CAPM:
        mu = er.capm_return(prices, risk_free_rate=cfg.risk_free_rate, frequency=FREQUENCY)
    else:
        mu = er.mean_historical_return(prices, frequency=FREQUENCY)
    if not np.isfinite(mu.to_numpy(dtype=float)).all():
        raise ModelFailure("nan_returns", "the expected returns are not finite numbers")
    return mu


def _bounds(cfg: TargetModelConfig, symbols: Sequence[str], invest: float) -> np.ndarray:
    """rows (lo, hi) per symbol in the model's space (the invested part sums to 1)."""
    out = np.array(
        [
            (cfg.bounds(s).min_weight / invest, min(cfg.bounds(s).max_weight / invest, 1.0))
            for s in symbols
        ],
        dtype=float,
    )
    if out[:, 0].sum() > 1 + 1e-9 or out[:, 1].sum() < 1 - 1e-9 or (out[:, 0] > out[:, 1]).any():
        raise ModelFailure(
            "infeasible",
            f"no weights meet the bounds: minimums sum to {out[:, 0].sum() * invest:.4%} and "
            f"maximums to {out[:, 1].sum() * invest:.4%} of the {invest:.4%} to invest: "
            "loosen [targets.model] min_weight / max_weight / limits",
        )
    return out


def _previous(symbols: Sequence[str], current: Mapping[str, float] | None) -> np.ndarray | None:
    if not current:
        return None
    w = np.array([float(current.get(s, 0.0)) for s in symbols])
    total = w.sum()
    return w / total if total > 0 else None


def _skfolio_covariance(cfg: TargetModelConfig):  # type: ignore[no-untyped-def]
    from skfolio.moments import OAS, EmpiricalCovariance, LedoitWolf

    if cfg.covariance is CovarianceEstimator.SAMPLE:
        return EmpiricalCovariance()
    if cfg.covariance is CovarianceEstimator.LEDOIT_WOLF:
        return LedoitWolf()
    return OAS()


def _raw_weights(
    cfg: TargetModelConfig,
    prices: pd.DataFrame,
    bounds: np.ndarray,
    prev: np.ndarray | None,
) -> np.ndarray:
    """The library's weights for the invested part (sum 1), in ``prices``' column order."""
    from pypfopt import EfficientFrontier, HRPOpt, objective_functions

    symbols = list(prices.columns)
    kind = cfg.kind
    sigma = covariance(cfg, prices)
    if kind is ModelKind.HRP:
        w = HRPOpt(cov_matrix=sigma).optimize()
        return np.array([float(w[s]) for s in symbols])
    if kind in (ModelKind.INVERSE_VOLATILITY, ModelKind.RISK_PARITY):
        from skfolio.optimization import InverseVolatility, RiskBudgeting
        from skfolio.prior import EmpiricalPrior

        returns = prices.pct_change().iloc[1:]
        prior = EmpiricalPrior(covariance_estimator=_skfolio_covariance(cfg))
        if kind is ModelKind.INVERSE_VOLATILITY:
            model = InverseVolatility(prior_estimator=prior)
        else:
            model = RiskBudgeting(
                prior_estimator=prior, min_weights=bounds[:, 0], max_weights=bounds[:, 1]
            )
        model.fit(returns.to_numpy())
        return np.asarray(model.weights_, dtype=float)
    mu = None if kind is ModelKind.MIN_VOLATILITY else expected_returns(cfg, prices)
    ef = EfficientFrontier(mu, sigma, weight_bounds=[(lo, hi) for lo, hi in bounds])
    if prev is not None and cfg.turnover_penalty > 0 and kind is not ModelKind.MAX_SHARPE:
        ef.add_objective(objective_functions.transaction_cost, w_prev=prev, k=cfg.turnover_penalty)
    if kind is ModelKind.MEAN_VARIANCE:
        w = ef.max_quadratic_utility(risk_aversion=cfg.risk_aversion)
    elif kind is ModelKind.MAX_SHARPE:
        w = ef.max_sharpe(risk_free_rate=cfg.risk_free_rate)
    else:
        w = ef.min_volatility()
    return np.array([float(w[s]) for s in symbols])


def model_weights(
    cfg: TargetModelConfig,
    cash_target: float,
    inputs: ModelInputs,
    *,
    current: Mapping[str, float] | None = None,
) -> ModelResult:
    """The model's targets on ``inputs`` (see the module docstring); ``current`` are the
    targets in force (the turnover penalty pulls toward them). Raises ``ModelFailure``."""
    if cfg.kind is ModelKind.STATIC:
        raise ValueError('kind "static" has no model: keep the configured targets')
    _check_inputs(cfg, inputs)
    invest = 1.0 - cash_target
    symbols = inputs.symbols
    bounds = _bounds(cfg, symbols, invest)
    prev = _previous(symbols, current)
    try:
        raw = _raw_weights(cfg, inputs.frame(), bounds, prev)
    except ModelFailure:
        raise
    except Exception as exc:  # the libraries' OptimizationError, SolverError, ValueError …
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        low = text.lower()
        reason = "infeasible" if ("infeasible" in low or "exceeding" in low) else "optimizer_failed"
        raise ModelFailure(
            reason, f"{cfg.kind} found no weights ({type(exc).__name__}: {text})"
        ) from None
    if raw.shape != (len(symbols),) or not np.isfinite(raw).all():
        raise ModelFailure("optimizer_failed", f"{cfg.kind} returned non-finite weights")
    w = np.clip(raw, bounds[:, 0], bounds[:, 1])  # solver tolerance (−1e-10 and the like)
    total = w.sum()
    if not total > 0 or np.max(np.abs(w - raw)) > SOLVER_TOLERANCE:
        raise ModelFailure(
            "infeasible", f"{cfg.kind} returned weights outside the bounds: {raw.round(6)}"
        )
    w = w / total
    targets = tuple((s, float(x) * invest) for s, x in zip(symbols, w, strict=True))
    _final_check(targets, cash_target)
    return ModelResult(targets, source_name(cfg), inputs)


def _final_check(targets: tuple[tuple[str, float], ...], cash_target: float) -> None:
    total = math.fsum(w for _, w in targets) + cash_target
    if abs(total - 1.0) > 1e-9:  # pragma: no cover - the normalisation above
        raise ModelFailure("optimizer_failed", f"weights sum to {total}, not 1")
