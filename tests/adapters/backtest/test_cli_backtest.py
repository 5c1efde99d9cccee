"""``rebalanced backtest`` end to end: the JSON summary, the table, and bad input (exit 65,
the file, row and column named, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daemon.cli_backtest import main
from tests.adapters.backtest.series import TWO_ASSETS_MONTHLY

CONFIG = TWO_ASSETS_MONTHLY + """\
day = 31
[cost]
gate = false
"""

KEYS = {
    "start",
    "end",
    "rows",
    "final_value",
    "annual_return",
    "annual_volatility",
    "sharpe",
    "max_drawdown",
    "rebalances",
    "trades",
    "turnover",
    "costs",
    "average_weights",
    "max_drift",
    "time_outside_bands",
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    dates = pd.bdate_range("2018-01-01", periods=500)
    rng = np.random.default_rng(3)
    px = 50 * np.exp(np.cumsum(rng.normal(0.0004, 0.015, (500, 2)), axis=0))
    df = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "AAA": px[:, 0],
            "BBB": px[:, 1],
            "AAA:volume": 1e6,
            "AAA:spread_bps": 4.0,
            "UNUSED": "x",
        }
    )
    prices = tmp_path / "p.csv"
    df.to_csv(prices, index=False)
    return cfg, prices


def test_json_has_every_key_and_figures_agree_with_numpy(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    assert (
        main(["--config", str(cfg), "--prices", str(prices), "--json", "--initial-value", "250000"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= out.keys()
    assert out["rows"] == 500 and out["start"] == "2018-01-01"
    assert set(out["costs"]) == {"spread", "impact", "commission"}
    assert out["costs"]["spread"] > 0 and out["costs"]["impact"] > 0
    assert set(out["average_weights"]) == {"AAA", "BBB", "CASH"}
    assert abs(sum(out["average_weights"].values()) - 1) < 1e-6
    assert out["rebalances"] >= 10  # monthly over ~2 years
    assert -1 < out["max_drawdown"] < 0 and 0 <= out["time_outside_bands"] <= 1
    assert 0 < out["max_drift"] < 0.2


def test_the_figures_match_an_independent_computation(files: tuple[Path, Path]) -> None:
    from adapters.backtest.feeder import Feeder
    from adapters.backtest.metrics import summary
    from adapters.backtest.prices import load_prices
    from daemon.config_file import load_config

    cfg, prices = files
    config = load_config(cfg)
    from decimal import Decimal

    run = Feeder(config, load_prices(prices, config.symbols), Decimal(250_000)).run()
    res = summary(run, 250_000.0)
    v = pd.Series(run.records.value_after)
    r = v.pct_change().dropna()
    days = (pd.Timestamp(res["end"]) - pd.Timestamp(res["start"])).days
    ppy = (len(v) - 1) / (days / 365.25)
    assert res["annual_volatility"] == pytest.approx(r.std() * np.sqrt(ppy), rel=1e-8)
    assert res["sharpe"] == pytest.approx(r.mean() / r.std() * np.sqrt(ppy), rel=1e-8)
    cagr = (v.iloc[-1] / 250_000) ** (365.25 / days) - 1
    assert res["annual_return"] == pytest.approx(cagr, rel=1e-8)
    assert res["max_drawdown"] == pytest.approx(
        min(0.0, (v / v.cummax() - 1).min(), v.iloc[0] / 250_000 - 1), rel=1e-8
    )
    assert res["final_value"] == pytest.approx(v.iloc[-1], abs=0.01)


def test_the_table_is_readable(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    assert (
        main(
            [
                "--config",
                str(cfg),
                "--prices",
                str(prices),
                "--from",
                "2018-06-01",
                "--to",
                "2019-01-31",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "annual return (CAGR)" in out and "2018-06-01" in out and "2019-01-31" in out
    assert "CASH" in out


def _bad(
    tmp_path: Path, cfg: Path, text: str, capsys: pytest.CaptureFixture[str], name: str = "bad.csv"
) -> str:
    p = tmp_path / name
    p.write_text(text)
    report = tmp_path / "report"
    code = main(["--config", str(cfg), "--prices", str(p), "--json", "--report", str(report)])
    captured = capsys.readouterr()
    assert code == 65, captured.err
    assert captured.out == "" and not report.exists()  # nothing half-written
    return captured.err


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("date,AAA,BBB\n2020-01-02,1,2\n,1,2\n", ["row 3", "column 'date'", "missing date"]),
        ("date,AAA,BBB\n2020-01-02,1,2\n2020-01-02,1,2\n", ["row 3", "duplicate date", "row 2"]),
        ("date,AAA,BBB\n2020-01-03,1,2\n2020-01-02,1,2\n", ["row 3", "sort the rows"]),
        ("date,AAA,BBB\n2020-01-02,1,2\n2020-01-03,nan,2\n", ["row 3", "column 'AAA'", "finite"]),
        (
            "date,AAA,BBB\n2020-01-02,1,2\n2020-01-03,1,\n",
            ["row 3", "column 'BBB'", "missing value"],
        ),
        ("date,AAA,BBB\n2020-01-02,0,2\n", ["row 2", "column 'AAA'", "not positive"]),
        ("date,AAA,BBB\n2020-01-02,1,-2\n", ["row 2", "column 'BBB'", "not positive"]),
        ("date,AAA\n2020-01-02,1\n", ["column 'BBB'", "BBB", "[portfolio.targets]"]),
        ("date,AAA,BBB\n2020-13-02,1,2\n", ["row 2", "not a date"]),
        ("date,AAA,BBB,BBB:volume\n2020-01-02,1,2,-5\n", ["row 2", "BBB:volume", "negative"]),
        ("AAA,BBB\n1,2\n", ["no 'date' column"]),
        ("", ["is empty"]),
    ],
)
def test_bad_prices_exit_65_naming_file_row_and_column(
    tmp_path: Path,
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    text: str,
    expect: list[str],
) -> None:
    cfg, _ = files
    err = _bad(tmp_path, cfg, text, capsys)
    assert "bad.csv" in err
    for e in expect:
        assert e in err, err


def test_unreadable_files_exit_65(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = files
    assert main(["--config", str(cfg), "--prices", str(tmp_path / "nope.csv")]) == 65
    assert "nope.csv: file not found" in capsys.readouterr().err
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert main(["--config", str(cfg), "--prices", str(tmp_path / "bin.csv")]) == 65
    assert "not UTF-8" in capsys.readouterr().err
    (tmp_path / "x.parquet").write_text("not parquet")
    assert main(["--config", str(cfg), "--prices", str(tmp_path / "x.parquet")]) == 65
    assert "x.parquet: is not a readable Parquet file" in capsys.readouterr().err


def test_parquet_input_gives_the_same_result_as_csv(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    df = pd.read_csv(prices)
    pq = tmp_path / "p.parquet"
    df.assign(date=pd.to_datetime(df["date"])).to_parquet(pq)
    assert main(["--config", str(cfg), "--prices", str(prices), "--json"]) == 0
    from_csv = json.loads(capsys.readouterr().out)
    assert main(["--config", str(cfg), "--prices", str(pq), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == from_csv


def test_bad_cash_flows_exit_65(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    flows = tmp_path / "flows.csv"
    flows.write_text("date,amount\n2018-03-01,1000\n2018-04-01,lots\n")
    assert main(["--config", str(cfg), "--prices", str(prices), "--cash-flows", str(flows)]) == 65
    err = capsys.readouterr().err
    assert "flows.csv, row 3, column 'amount'" in err


def test_a_bad_config_exits_78(tmp_path: Path, files: tuple[Path, Path]) -> None:
    _, prices = files
    bad = tmp_path / "bad.toml"
    bad.write_text("[portfolio.targets]\nAAA = 50\n")
    assert main(["--config", str(bad), "--prices", str(prices)]) == 78


def test_the_readme_example_runs_on_the_shipped_data(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[3]
    code = main(
        [
            "--config",
            str(root / "examples" / "backtest.toml"),
            "--prices",
            str(root / "examples" / "data" / "sp500.csv"),
            "--from",
            "2018-01-01",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["start"] == "2018-01-02" and out["end"] == "2022-12-28" and out["rebalances"] > 0
