"""``rebalanced targets``: the weights it prints are PyPortfolioOpt's on the closes before the
period's first session; bad input and bad config exit 65 and 78 with the problem named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, expected_returns, risk_models

from daemon.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "sp500.csv"
CONFIG = """
[portfolio]
cash_target = 2
[portfolio.targets]
AAPL = 24.5
JNJ = 24.5
KO = 24.5
XOM = 24.5
[targets.model]
kind = "mean_variance"
risk_aversion = 4
max_weight = 40
"""


def write(tmp_path: Path, text: str = CONFIG) -> str:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return str(p)


def test_json_weights_are_pypfopts_on_the_rows_before_the_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["targets", "--config", write(tmp_path), "--prices", str(DATA),
                 "--as-of", "2015-03-10", "--json"])  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    # mid-March: the estimate of March's first session, from February's close back
    assert out["inputs_to"] == "2015-02-27" and out["observations"] == 252
    df = pd.read_csv(DATA, parse_dates=["date"], index_col="date")[["AAPL", "JNJ", "KO", "XOM"]]
    px = df[df.index < pd.Timestamp("2015-03-02")].iloc[-253:]
    ef = EfficientFrontier(
        expected_returns.mean_historical_return(px),
        risk_models.CovarianceShrinkage(px).ledoit_wolf(),
        weight_bounds=(0, 0.40 / 0.98),
    )
    ref = ef.max_quadratic_utility(risk_aversion=4)
    got = np.array([out["targets"][s] for s in px.columns])
    assert np.max(np.abs(got - np.array([ref[s] for s in px.columns]) * 0.98)) < 1e-4
    assert out["inputs_from"] == px.index[0].date().isoformat()


def test_table_names_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--config", write(tmp_path), "--prices", str(DATA)]) == 0
    text = capsys.readouterr().out
    assert "252 daily returns 2021-11-30 … 2022-11-30" in text
    assert "covariance ledoit_wolf, returns mean_historical" in text and "CASH" in text


def test_too_little_history_exits_65(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["targets", "--config", write(tmp_path), "--prices", str(DATA),
                 "--as-of", "1990-03-10"])  # fmt: skip
    assert code == 65
    err = capsys.readouterr().err
    assert "too_little_history" in err and "min_history_days" in err and "Traceback" not in err


def test_bad_prices_and_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.csv"
    bad.write_text("date,AAPL,JNJ,KO\n2020-01-02,1,2,3\n")
    assert main(["targets", "--config", write(tmp_path), "--prices", str(bad)]) == 65
    assert "XOM" in capsys.readouterr().err
    cfg = write(tmp_path, CONFIG.replace('"mean_variance"', '"markowitz"'))
    assert main(["targets", "--config", cfg, "--prices", str(DATA)]) == 78
    assert "targets.model.kind" in capsys.readouterr().err
    assert main(["targets", "--config", write(tmp_path)]) == 64


def test_static_prints_the_configured_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(tmp_path, CONFIG.replace('"mean_variance"', '"static"'))
    assert main(["targets", "--config", cfg, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "static" and out["targets"]["AAPL"] == 0.245
