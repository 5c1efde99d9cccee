"""``--sweep``, ``--window`` and ``--walk-forward``: grids of full backtests compared."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.backtest.sweep import SweepError, apply, folds, parse_grid
from daemon.cli_backtest import main
from tests.adapters.backtest.series import TWO_ASSETS_MONTHLY

CONFIG = TWO_ASSETS_MONTHLY


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    dates = pd.bdate_range("2006-01-02", "2010-12-31")
    rng = np.random.default_rng(11)
    px = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (len(dates), 2)), axis=0))
    df = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "AAA": px[:, 0], "BBB": px[:, 1]})
    prices = tmp_path / "p.csv"
    df.to_csv(prices, index=False)
    return cfg, prices


def test_a_grid_is_every_combination_of_typed_values() -> None:
    grid = parse_grid("trigger.mode=calendar,threshold; cost.gate=true,false ;bands.absolute=3")
    assert len(grid) == 4
    assert grid[0] == (("trigger.mode", "calendar"), ("cost.gate", True), ("bands.absolute", 3))
    data = {"trigger": {"mode": "hybrid", "calendar": {"frequency": "monthly"}}}
    assert apply(data, grid[2]) == {
        "trigger": {"mode": "threshold"},
        "cost": {"gate": True},
        "bands": {"absolute": 3},
    }
    assert data["trigger"]["calendar"] == {"frequency": "monthly"}  # not changed in place
    with pytest.raises(SweepError):
        parse_grid("trigger.mode")


def test_walk_forward_folds_roll_by_the_test_window() -> None:
    days = [date(2000, 1, 3), date(2009, 12, 31)]
    f = folds(days, 5, 2)
    assert f[0] == (date(2000, 1, 3), date(2005, 1, 2), date(2005, 1, 3), date(2007, 1, 2))
    assert f[1][0] == date(2002, 1, 3) and f[-1][3] == date(2009, 12, 31)
    with pytest.raises(SweepError):
        folds(days, 20, 1)


def test_a_sweep_runs_each_point_and_sorts_by_the_metric(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    spec = (
        "trigger.mode=calendar,threshold;cost.gate=true,false;planner.target_mode=nonsense,target"
    )
    assert (
        main(
            [
                "--config",
                str(cfg),
                "--prices",
                str(prices),
                "--sweep",
                spec,
                "--sort",
                "max_drawdown",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8
    bad = [r for r in rows if r["result"] is None]
    assert len(bad) == 4 and all("target_mode" in r["problem"] for r in bad)
    good = [r for r in rows if r["result"] is not None]
    # each point is a single backtest with that config: the same figures as running it alone
    one = good[0]
    p = one["parameters"]
    single = cfg.parent / "single.toml"
    mode = p["trigger.mode"]
    cal = '[trigger.calendar]\nfrequency = "monthly"\n' if mode != "threshold" else ""
    single.write_text(
        CONFIG.replace('mode = "hybrid"', f'mode = "{mode}"').replace(
            '[trigger.calendar]\nfrequency = "monthly"\n', ""
        )
        + cal
        + f"[cost]\ngate = {str(p['cost.gate']).lower()}\n"
    )
    assert main(["--config", str(single), "--prices", str(prices), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == one["result"]
    assert (
        main(
            [
                "--config",
                str(cfg),
                "--prices",
                str(prices),
                "--sweep",
                spec,
                "--sort",
                "max_drawdown",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    lines = [ln for ln in table.splitlines() if ln[:3].strip().isdigit()]
    dds = [float(ln.split()[4].rstrip("%")) for ln in lines]
    assert dds == sorted(dds, reverse=True) and len(lines) == 4


def test_a_named_window_picks_its_documented_dates(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = files
    assert (
        main(["--config", str(cfg), "--prices", str(prices), "--window", "gfc-2008", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["start"] == "2007-10-09" and out["end"] == "2009-03-09"
    assert main(["--config", str(cfg), "--prices", str(prices), "--window", "dotcom"]) == 64
    assert (
        main(
            [
                "--config",
                str(cfg),
                "--prices",
                str(prices),
                "--window",
                "gfc-2008",
                "--from",
                "2007-01-01",
            ]
        )
        == 64
    )


def test_walk_forward_reports_the_chosen_point_on_the_next_window(
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
                "--sweep",
                "cost.gate=true,false;trigger.mode=calendar,hybrid",
                "--walk-forward",
                "2:1",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [f["test"][0][:4] for f in out] == ["2008", "2009", "2010"]
    for f in out:
        assert f["train"][1] < f["test"][0]
        assert (
            f["hindsight_sharpe"] is None
            or f["test_sharpe"] is None
            or (f["hindsight_sharpe"] >= f["test_sharpe"])
        )
    assert main(["--config", str(cfg), "--prices", str(prices), "--walk-forward", "2:1"]) == 64
