"""``--report DIR``: the HTML page, its charts (opened in headless Chromium when the Debian
package is installed) and its reference curves."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.backtest.feeder import Feeder
from adapters.backtest.metrics import summary
from adapters.backtest.report import reference_curves, write_report
from tests.adapters.backtest.series import random_prices, series_of, to_target_config
from tests.tools import require_tool

DAYS = pd.bdate_range("2019-01-01", periods=300)


@pytest.fixture
def report(tmp_path: Path) -> tuple[Path, object, object]:
    df = random_prices(2, DAYS, seed=4)
    config = to_target_config({"S0": 60, "S1": 40}, "monthly", 31)
    run = Feeder(config, series_of(df), Decimal(100_000), spread_bps=0).run()
    path = write_report(tmp_path / "out", run, summary(run, 100_000.0), config)
    return path, run, config


def test_the_page_holds_a_chart_per_picture_and_the_summary(
    report: tuple[Path, object, object],
) -> None:
    path, _, _ = report
    page = path.read_text()
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == 2 + 2 + 1  # equity, drawdown, a weight per asset, turnover
    for p in pngs:
        assert base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "annual_return" in page and "2019-01-01" in page
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temporary left


def test_reference_curves_are_buy_and_hold_and_always_at_target(
    report: tuple[Path, object, object],
) -> None:
    _, run, config = report
    curves = reference_curves(run, config, 100_000.0)  # type: ignore[arg-type]
    closes = run.series.closes  # type: ignore[attr-defined]
    w = np.array([0.6, 0.4])
    assert curves["buy and hold"][-1] == pytest.approx(100_000 * (w * closes[-1] / closes[0]).sum())
    daily = pd.DataFrame(closes).pct_change().fillna(0.0).to_numpy() @ w
    assert curves["always at target"][-1] == pytest.approx(100_000 * np.prod(1 + daily))


def test_the_charts_render_in_headless_chromium(report: tuple[Path, object, object]) -> None:
    chromium = require_tool("chromium", "chromium")  # Debian's; installed here when missing
    path, _, _ = report
    out = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    m = re.search(r'data-rendered="(\d+)"', out.stdout)
    assert m is not None, out.stderr[-2000:]
    assert int(m.group(1)) == 5


def test_the_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli_backtest import main

    cfg = tmp_path / "c.toml"
    cfg.write_text("[portfolio.targets]\nS0 = 60\nS1 = 40\n[cost]\ngate = false\n")
    df = random_prices(2, DAYS, seed=5)
    df.index.name = "date"
    df.to_csv(tmp_path / "p.csv")
    code = main(
        [
            "--config",
            str(cfg),
            "--prices",
            str(tmp_path / "p.csv"),
            "--report",
            str(tmp_path / "r"),
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 300
    assert (tmp_path / "r" / "report.html").stat().st_size > 10_000
