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


async def test_source_sim_reads_the_brokers_bars_and_clock(tmp_path: Path) -> None:
    """--source sim against the paper exchange on 127.0.0.1, in a child process (the CLI
    runs its own event loop); its weights are HRP's on the sim's bars before the month."""
    import asyncio
    import sys
    from zoneinfo import ZoneInfo

    from pypfopt import HRPOpt

    from adapters.alpaca.bars import AlpacaDailyBars
    from adapters.alpaca.credentials import Credentials, Secret
    from adapters.alpaca.limits import RateLimiter
    from adapters.alpaca.rest import AlpacaRest
    from adapters.models.schedule import cutoff
    from adapters.sim.testing import running_sim
    from daemon.core.config.model_targets import Schedule

    async with running_sim(run_ticker=False) as sim:
        cfg = tmp_path / "sim.toml"
        cfg.write_text(
            "[portfolio]\ncash_target = 2\n[portfolio.targets]\nSPY = 49\nAGG = 49\n"
            '[targets.model]\nkind = "hrp"\nwindow_days = 100\nmin_history_days = 50\n'
            f'[broker]\nkind = "sim"\nrest_url = "{sim.base_url}"\ndata_url = "{sim.base_url}"\n'
        )
        env = {"APCA_API_KEY_ID": sim.key_id, "APCA_API_SECRET_KEY": sim.secret,
               "PATH": "/usr/bin:/bin"}  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "daemon.cli", "targets", "--config", str(cfg),
            "--source", "sim", "--json", env=env, cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        got = json.loads(out)
        today = sim.clock.now().astimezone(ZoneInfo("America/New_York"))
        assert got["as_of"] == today.date().isoformat()  # the broker's day, not the wall's
        rest = AlpacaRest(Credentials(Secret(sim.key_id), Secret(sim.secret)),
                          base_url=sim.base_url, data_url=sim.base_url,
                          limiter=RateLimiter(200), timeout_seconds=2.0)  # fmt: skip
        try:
            bars = await AlpacaDailyBars(rest, "iex").daily_bars(["SPY", "AGG"], today.date(), 300)
        finally:
            await rest.close()
    df = pd.DataFrame({s: {b.day: b.close for b in bars[s]} for s in ("SPY", "AGG")}).dropna()
    before = cutoff(list(df.index), today.date(), Schedule.MONTHLY)
    px = df[[d < before for d in df.index]].iloc[-101:]
    px.index = pd.to_datetime(px.index)
    assert got["inputs_to"] == px.index[-1].date().isoformat()
    ref = HRPOpt(cov_matrix=risk_models.CovarianceShrinkage(px).ledoit_wolf()).optimize()
    for s in ("SPY", "AGG"):
        assert abs(got["targets"][s] - ref[s] * 0.98) < 1e-12


def test_check_config_names_the_model() -> None:
    from daemon.cli_config import summary
    from daemon.config_file import load_config

    line = summary(load_config(ROOT / "examples" / "models.toml"))
    assert line.endswith("targets from mean_variance (monthly, 252 days)")
