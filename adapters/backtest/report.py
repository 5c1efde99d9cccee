"""``--report DIR``: one HTML page with the backtest's pictures (matplotlib, PNG embedded).

Charts: the equity curve against buy-and-hold (the first row's target weights, never
traded) and always-at-target (rebalanced every row, no costs), both computed here from the
closes with numpy, independently of the engine; the drawdown; each asset's weight with its
band and the rows where a run started; traded notional and cumulative costs.

The page is written to a temporary file and renamed into place, so a failed run leaves no
half-written report. matplotlib is needed only for this (``pip install matplotlib``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from adapters.backtest.feeder import BacktestRun
from daemon.core.config.values import Config
from daemon.core.triggers.bands import asset_limits


def reference_curves(run: BacktestRun, config: Config, initial: float) -> dict[str, np.ndarray]:
    """Buy-and-hold and always-at-target values per row, from the closes alone."""
    s = run.series
    closes = s.closes
    w = np.zeros(len(s.symbols))
    for a in config.portfolio.assets:
        w[s.symbols.index(a.symbol)] = a.target
    cash_w = config.portfolio.cash_target
    shares = w * initial / closes[0]
    hold = shares @ closes.T + cash_w * initial
    rets = np.vstack([np.zeros((1, closes.shape[1])), closes[1:] / closes[:-1] - 1.0])
    target = initial * np.cumprod(1.0 + rets @ w)  # cash earns 0
    return {"buy and hold": hold, "always at target": target}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def charts(run: BacktestRun, config: Config, initial: float) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = run.series
    rec = run.records
    x = np.array(s.dates, dtype="datetime64[D]")
    out: list[tuple[str, str]] = []

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(x, rec.value_after, label="rebalanced (with costs)", lw=1.4)
    for name, curve in reference_curves(run, config, initial).items():
        ax.plot(x, curve, label=name, lw=0.9, alpha=0.8)
    ax.set_yscale("log")
    ax.set_title("Portfolio value")
    ax.legend()
    out.append(("Equity curve", _png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 2.5))
    v = rec.value_after
    ax.fill_between(x, v / np.maximum.accumulate(v) - 1.0, 0, color="tab:red", alpha=0.5)
    ax.set_title("Drawdown")
    out.append(("Drawdown", _png(fig)))
    plt.close(fig)

    starts = np.array(sorted(set(run.rebalance_rows)), dtype=int)
    for a in config.portfolio.assets:
        j = s.symbols.index(a.symbol)
        lo, hi = asset_limits(a)
        fig, ax = plt.subplots(figsize=(10, 2.2))
        ax.plot(x, rec.weights_after[:, j], lw=0.9)
        ax.axhline(a.target, color="k", lw=0.6)
        ax.axhspan(lo, hi, color="tab:green", alpha=0.12)
        if len(starts):
            ax.plot(x[starts], rec.weights_after[starts, j], "v", ms=4, color="tab:orange")
        ax.set_title(f"{a.symbol}: weight, band [{lo:.1%}, {hi:.1%}], runs ▼")
        out.append((f"Weight of {a.symbol}", _png(fig)))
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 2.5))
    ax.bar(x, rec.traded, width=3, color="tab:blue")
    ax.set_title(
        f"Traded notional per row; costs: spread ${run.costs.spread:,.0f}, impact "
        f"${run.costs.impact:,.0f}, commission ${run.costs.commission:,.0f}"
    )
    out.append(("Turnover and costs", _png(fig)))
    plt.close(fig)
    return out


# marks the page once loaded with how many charts decoded (a test reads it in a browser)
_RENDERED = (
    "<script>addEventListener('load',()=>{document.body.dataset.rendered="
    "[...document.images].filter(i=>i.complete&&i.naturalWidth>0).length})</script>"
)


def write_report(
    directory: str | Path, run: BacktestRun, result: dict[str, Any], config: Config
) -> Path:
    """Write ``directory/report.html`` atomically; return its path."""
    d = Path(directory)
    initial = float(result.get("initial_value", run.records.value_before[0]))
    pictures = charts(run, config, initial)
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in result.items()
    )
    body = "".join(
        f'<h2>{html.escape(t)}</h2><img class="chart" alt="{html.escape(t)}" '
        f'src="data:image/png;base64,{png}">'
        for t, png in pictures
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>rebalanced backtest</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:auto}"
        "td,th{text-align:left;padding:2px 8px}img{max-width:100%}</style></head><body>"
        f"<h1>rebalanced backtest: {html.escape(result['start'])} … "
        f"{html.escape(result['end'])}</h1><table>{rows}</table>{body}{_RENDERED}</body></html>"
    )
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".report-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        target = d / "report.html"
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


__all__ = ["charts", "reference_curves", "write_report"]
