"""The [targets.model] section: defaults, every key settable and documented, strict checks."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from daemon.core.config.fields import ConfigError
from daemon.core.config.model_targets import (
    CovarianceEstimator,
    ModelKind,
    ReturnsEstimator,
    Schedule,
    TargetModelConfig,
    WeightLimits,
)
from daemon.core.config.reader import parse_config

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = {"portfolio": {"cash_target": 10, "targets": {"VTI": 50, "BND": 40}}}


def parse(model: dict[str, Any]) -> TargetModelConfig:
    return parse_config({**BASE, "targets": {"model": model}}).targets_model


def problems(model: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(model)
    return [str(p) for p in info.value.problems]


def test_default_is_static() -> None:
    assert parse_config(BASE).targets_model == TargetModelConfig()
    assert TargetModelConfig().kind is ModelKind.STATIC
    assert TargetModelConfig().schedule is Schedule.MONTHLY


def test_every_key_is_settable() -> None:
    got = parse({"kind": "mean_variance", "risk_aversion": 3, "window_days": 500,
                 "min_history_days": 300, "covariance": "sample", "returns": "ema",
                 "ema_span_days": 30, "risk_free_rate": 2, "min_weight": 5, "max_weight": 70,
                 "turnover_penalty": 0.01, "schedule": "quarterly",
                 "limits": {"BND": {"min_weight": 20}}})  # fmt: skip
    assert got == TargetModelConfig(
        ModelKind.MEAN_VARIANCE, 3.0, 500, 300, CovarianceEstimator.SAMPLE,
        ReturnsEstimator.EMA, 30, 0.02, 0.05, 0.70, {"BND": WeightLimits(0.20, 0.70)},
        0.01, Schedule.QUARTERLY,
    )  # fmt: skip


def test_every_key_is_documented_in_the_example() -> None:
    example = tomllib.loads((ROOT / "deploy" / "rebalanced.example.toml").read_text())
    model = example["targets"]["model"]
    assert {f.name for f in fields(TargetModelConfig)} == set(model)
    assert set(model["limits"]["BND"]) == {"min_weight", "max_weight"}


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        ({"kind": "markowitz"}, "targets.model.kind: 'markowitz' is not valid"),
        ({"kinds": "hrp"}, "targets.model.kinds: unknown key 'kinds': did you mean 'kind'"),
        ({"risk_aversion": 0}, "targets.model.risk_aversion: is 0; it must be > 0"),
        ({"window_days": 10}, "targets.model.window_days: is 10; it must be ≥ 20"),
        ({"window_days": 100, "min_history_days": 200}, "lower min_history_days"),
        ({"min_weight": 60, "max_weight": 50}, "targets.model.min_weight: 60 % is above"),
        ({"covariance": "shrunk"}, "use one of ledoit_wolf | oracle_approximating | sample"),
        ({"schedule": "daily"}, "use one of weekly | monthly | quarterly"),
        ({"limits": {"GLD": {"max_weight": 5}}}, "targets.model.limits.GLD: 'GLD' is not a target"),
        ({"limits": {"BND": {"max": 5}}}, "targets.model.limits.BND.max: unknown key"),
        ({"kind": "hrp", "max_weight": 50}, 'kind "hrp" takes no weight bounds'),
        ({"kind": "max_sharpe", "turnover_penalty": 1}, "cannot take a turnover penalty"),
        ({"kind": "min_volatility", "min_weight": 50}, "add up to 100 %, more than the 90 %"),
        ({"kind": "min_volatility", "max_weight": 40}, "add up to 80 %, less than the 90 %"),
        ({"kind": "risk_parity", "limits": {"VTI": {"max_weight": 10}}, "max_weight": 70},
         "add up to 80 %, less than the 90 %"),
    ],
)  # fmt: skip
def test_bad_values_name_the_key_and_the_fix(model: dict[str, Any], fragment: str) -> None:
    found = problems(model)
    assert any(fragment in p for p in found), found


def test_static_ignores_the_model_keys() -> None:
    got = parse({"kind": "static", "max_weight": 40, "turnover_penalty": 1})
    assert got.kind is ModelKind.STATIC and got.max_weight == 0.4


def test_a_whole_cash_portfolio_has_nothing_to_model() -> None:
    data = {"portfolio": {"cash_target": 100, "targets": {"VTI": 0}},
            "targets": {"model": {"kind": "hrp"}}}  # fmt: skip
    with pytest.raises(ConfigError, match='use kind = "static"'):
        parse_config(data)
