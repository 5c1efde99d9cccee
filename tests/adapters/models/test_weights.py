"""The model's weights are the libraries' on the same inputs, computed here independently
(the CSV read with pandas, the window cut by date, PyPortfolioOpt / skfolio called directly),
and every bad estimate is a ``ModelFailure`` with its reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, objective_functions, risk_models

from adapters.models.weights import ModelFailure, inputs_before, model_weights
from daemon.core.config.model_targets import (
    CovarianceEstimator,
    ModelKind,
    ReturnsEstimator,
    TargetModelConfig,
    WeightLimits,
)

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "sp500.csv"
SYMBOLS = ("AAPL", "BAC", "CVX", "JNJ", "KO", "XOM")
BEFORE = date(2012, 1, 1)
CASH = 0.02


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv(DATA, parse_dates=["date"], index_col="date")
    return df[list(SYMBOLS)]


def window(frame: pd.DataFrame, before: date = BEFORE, days: int = 252) -> pd.DataFrame:
    """The reference cut: the rows strictly before ``before``, the last days + 1 of them."""
    return frame[frame.index < pd.Timestamp(before)].iloc[-(days + 1) :]


def ours(frame: pd.DataFrame, cfg: TargetModelConfig, current=None, cash: float = CASH):  # type: ignore[no-untyped-def]
    dates = tuple(d.date() for d in frame.index)
    x = inputs_before(SYMBOLS, dates, frame.to_numpy(), BEFORE, cfg.window_days)
    return model_weights(cfg, cash, x, current=current)


def vector(targets: tuple[tuple[str, float], ...]) -> np.ndarray:
    d = dict(targets)
    return np.array([d[s] for s in SYMBOLS])


def reference(w: dict[str, float], invest: float = 1 - CASH) -> np.ndarray:
    return np.array([float(w[s]) for s in SYMBOLS]) * invest


def test_mean_variance_is_pypfopts_max_quadratic_utility(frame: pd.DataFrame) -> None:
    cfg = TargetModelConfig(kind=ModelKind.MEAN_VARIANCE, risk_aversion=3.0, max_weight=0.35)
    px = window(frame)
    mu = expected_returns.mean_historical_return(px)
    s = risk_models.CovarianceShrinkage(px).ledoit_wolf()
    bound = 0.35 / (1 - CASH)  # 35 % of the portfolio = 35/98 of the invested part
    ef = EfficientFrontier(mu, s, weight_bounds=(0, bound))
    ref = reference(ef.max_quadratic_utility(risk_aversion=3.0))
    got = ours(frame, cfg)
    assert got.inputs.dates[-1] < BEFORE and len(got.inputs.dates) == 253
    assert np.max(np.abs(vector(got.targets) - ref)) < 1e-4
    assert abs(sum(vector(got.targets)) + CASH - 1) < 1e-12
    assert max(vector(got.targets)) <= 0.35 + 1e-12
    assert got.source == "model:mean_variance:ledoit_wolf:mean_historical:252d"


@pytest.mark.parametrize("kind", [ModelKind.MAX_SHARPE, ModelKind.MIN_VOLATILITY])
def test_max_sharpe_and_min_volatility_are_pypfopts(frame: pd.DataFrame, kind: ModelKind) -> None:
    cfg = TargetModelConfig(kind=kind, covariance=CovarianceEstimator.SAMPLE, window_days=500)
    px = window(frame, days=500)
    s = risk_models.sample_cov(px)
    if kind is ModelKind.MAX_SHARPE:
        w = EfficientFrontier(expected_returns.mean_historical_return(px), s).max_sharpe(
            risk_free_rate=0.0
        )
    else:
        w = EfficientFrontier(None, s).min_volatility()
    assert np.max(np.abs(vector(ours(frame, cfg).targets) - reference(w))) < 1e-4


def test_ema_and_capm_returns_are_pypfopts(frame: pd.DataFrame) -> None:
    px = window(frame)
    s = risk_models.CovarianceShrinkage(px).ledoit_wolf()
    for est, mu in (
        (ReturnsEstimator.EMA, expected_returns.ema_historical_return(px, span=40)),
        (ReturnsEstimator.CAPM, expected_returns.capm_return(px, risk_free_rate=0.02)),
    ):
        cfg = TargetModelConfig(
            kind=ModelKind.MEAN_VARIANCE, returns=est, ema_span_days=40, risk_free_rate=0.02
        )
        ref = reference(EfficientFrontier(mu, s).max_quadratic_utility(risk_aversion=1.0))
        assert np.max(np.abs(vector(ours(frame, cfg).targets) - ref)) < 1e-4, est


def test_hrp_is_pypfopts_on_the_configured_covariance(frame: pd.DataFrame) -> None:
    cfg = TargetModelConfig(kind=ModelKind.HRP, covariance=CovarianceEstimator.ORACLE_APPROXIMATING)
    px = window(frame)
    s = risk_models.CovarianceShrinkage(px).oracle_approximating()
    ref = reference(HRPOpt(cov_matrix=s).optimize())
    assert np.max(np.abs(vector(ours(frame, cfg).targets) - ref)) < 1e-12


def test_risk_parity_and_inverse_volatility_are_skfolios(frame: pd.DataFrame) -> None:
    from skfolio.moments import LedoitWolf
    from skfolio.optimization import InverseVolatility, RiskBudgeting
    from skfolio.prior import EmpiricalPrior

    returns = window(frame).pct_change().iloc[1:].to_numpy()
    rb = RiskBudgeting(
        prior_estimator=EmpiricalPrior(covariance_estimator=LedoitWolf()), max_weights=0.3 / 0.98
    ).fit(returns)
    cfg = TargetModelConfig(kind=ModelKind.RISK_PARITY, max_weight=0.3)
    got = vector(ours(frame, cfg).targets)
    assert np.max(np.abs(got - np.asarray(rb.weights_) * 0.98)) < 1e-4
    iv = InverseVolatility(prior_estimator=EmpiricalPrior(covariance_estimator=LedoitWolf()))
    iv.fit(returns)
    got = vector(ours(frame, TargetModelConfig(kind=ModelKind.INVERSE_VOLATILITY)).targets)
    assert np.max(np.abs(got - np.asarray(iv.weights_) * 0.98)) < 1e-12
    # and inverse volatility is what its name says: w ∝ 1/σ of the shrunk covariance
    sigma = np.sqrt(np.diag(LedoitWolf().fit(returns).covariance_))
    assert np.max(np.abs(got - (1 / sigma) / (1 / sigma).sum() * 0.98)) < 1e-9


def test_skfolios_risk_budgeting_ignores_transaction_costs_so_risk_parity_has_no_penalty(
    frame: pd.DataFrame,
) -> None:
    """Why the config refuses turnover_penalty for risk_parity: skfolio's costs enter only
    its expected return, which risk budgeting does not optimise."""
    from skfolio.moments import LedoitWolf
    from skfolio.optimization import RiskBudgeting
    from skfolio.prior import EmpiricalPrior

    returns = window(frame).pct_change().iloc[1:].to_numpy()
    prev = np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    prior = EmpiricalPrior(covariance_estimator=LedoitWolf())
    with_costs = RiskBudgeting(prior_estimator=prior, transaction_costs=0.05,
                               previous_weights=prev).fit(returns)  # fmt: skip
    without = RiskBudgeting(prior_estimator=prior).fit(returns)
    assert np.max(np.abs(np.asarray(with_costs.weights_) - without.weights_)) < 1e-6
    from daemon.core.config.model_targets import PENALISED_KINDS

    assert ModelKind.RISK_PARITY not in PENALISED_KINDS


def test_turnover_penalty_is_pypfopts_transaction_cost_and_pulls_toward_current(
    frame: pd.DataFrame,
) -> None:
    current = {s: 0.98 / len(SYMBOLS) for s in SYMBOLS}
    px = window(frame)
    mu = expected_returns.mean_historical_return(px)
    s = risk_models.CovarianceShrinkage(px).ledoit_wolf()
    prev = np.full(len(SYMBOLS), 1 / len(SYMBOLS))
    distances = []
    for k in (0.0, 0.01, 0.05, 1.0):
        cfg = TargetModelConfig(kind=ModelKind.MEAN_VARIANCE, risk_aversion=5.0, turnover_penalty=k)
        got = vector(ours(frame, cfg, current=current).targets)
        ef = EfficientFrontier(mu, s)
        if k:
            ef.add_objective(objective_functions.transaction_cost, w_prev=prev, k=k)
        ref = reference(ef.max_quadratic_utility(risk_aversion=5.0))
        assert np.max(np.abs(got - ref)) < 1e-4, k
        distances.append(float(np.abs(got - prev * 0.98).sum()))
    assert distances == sorted(distances, reverse=True)
    assert distances[-1] < 1e-4 < distances[0]  # a large penalty keeps the current targets


def test_per_asset_limits_and_cash(frame: pd.DataFrame) -> None:
    cfg = TargetModelConfig(
        kind=ModelKind.MIN_VOLATILITY,
        max_weight=0.3,
        limits={"AAPL": WeightLimits(0.10, 0.12), "KO": WeightLimits(0.0, 0.05)},
    )
    got = dict(ours(frame, cfg, cash=0.10).targets)
    assert 0.10 - 1e-9 <= got["AAPL"] <= 0.12 + 1e-9
    assert got["KO"] <= 0.05 + 1e-9
    assert max(got.values()) <= 0.3 + 1e-9
    assert abs(sum(got.values()) - 0.90) < 1e-12


# --- bad estimates ---------------------------------------------------------------------


def failure(frame: pd.DataFrame, cfg: TargetModelConfig, cash: float = CASH) -> ModelFailure:
    with pytest.raises(ModelFailure) as info:
        ours(frame, cfg, cash=cash)
    return info.value


def test_too_little_history(frame: pd.DataFrame) -> None:
    short = frame[frame.index >= pd.Timestamp("2011-10-01")]
    f = failure(short, TargetModelConfig(kind=ModelKind.MIN_VOLATILITY))
    assert f.reason == "too_little_history" and "min_history_days = 126" in f.message


def test_nan_returns(frame: pd.DataFrame) -> None:
    bad = frame.copy()
    bad.loc[pd.Timestamp("2011-06-01"), "CVX"] = np.nan
    f = failure(bad, TargetModelConfig(kind=ModelKind.HRP))
    assert f.reason == "nan_returns" and "CVX" in f.message and "2011-06-01" in f.message


def test_singular_covariance(frame: pd.DataFrame) -> None:
    twin = frame.copy()
    twin["XOM"] = twin["CVX"] * 2.0  # a copy: perfectly collinear returns
    cfg = TargetModelConfig(kind=ModelKind.MIN_VOLATILITY, covariance=CovarianceEstimator.SAMPLE)
    f = failure(twin, cfg)
    assert f.reason == "singular_covariance" and "ledoit_wolf" in f.message
    flat = frame.copy()
    flat["KO"] = 50.0  # constant: zero variance
    assert failure(flat, cfg).reason == "singular_covariance"


def test_infeasible_bounds_and_unreachable_sharpe(frame: pd.DataFrame) -> None:
    cfg = TargetModelConfig(kind=ModelKind.MEAN_VARIANCE, min_weight=0.2)  # 6 × 20 % > 98 %
    assert failure(frame, cfg).reason == "infeasible"
    cfg = TargetModelConfig(kind=ModelKind.MAX_SHARPE, risk_free_rate=5.0)  # 500 %/year
    f = failure(frame, cfg)
    assert f.reason == "infeasible" and "max_sharpe" in f.message


def test_static_has_no_model(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="static"):
        ours(frame, replace(TargetModelConfig(), kind=ModelKind.STATIC))
