"""The summary figures of a backtest, from what the feeder recorded per row.

Definitions (fractions, not percent; dollars where it says so):

- row return ``r_i = (value_after_i − flow_i) / value_after_{i−1} − 1``: time-weighted, so
  deposits and withdrawals are not returns (a flow is booked on its row before trading);
- ``annual_return``: CAGR of the time-weighted index over the calendar span,
  ``(Π(1 + r))^(365.25 / days) − 1``;
- ``annual_volatility``: the sample standard deviation of the row returns × √(rows per year)
  (the series' own frequency: ~252 daily, 12 monthly);
- ``sharpe``: mean row return / its standard deviation × √(rows per year), risk-free 0;
- ``max_drawdown``: the deepest fall of the index from its running peak, a negative fraction
  (−0.25 = a 25 % fall);
- ``rebalances``: decisions that opened a run with orders (follow-up rounds not counted);
  ``trades``: fills;
- ``turnover``: half the traded notional (buys + sells) per year, as a fraction of the
  average value; the first row's initial allocation is left out;
- ``costs``: dollars paid to the spread, to impact and in commissions (all rows);
- ``average_weights``: the mean over rows of each weight after the row's trading (``CASH``
  for cash);
- ``max_drift``: the largest ``|weight − target|`` of any asset or cash at any row's close,
  before that row's trading (the first row, all cash before investing, left out);
- ``time_outside_bands``: the fraction of those rows on which some weight was outside its
  band;
- ``after_tax_return`` and ``taxes``: at the configured ``[tax]`` rates, from the engine's
  lots (``adapters.backtest.taxes``; a tax-deferred account pays none).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adapters.backtest.feeder import BacktestRun
from adapters.backtest.taxes import after_tax_figures
from daemon.core.model import CASH


def summary(run: BacktestRun, initial_value: float) -> dict[str, Any]:
    s = run.series
    rec = run.records
    after = rec.value_after
    n_rows = len(after)
    prev = np.concatenate([[initial_value], after[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.where(prev > 0, (after - rec.flows) / prev - 1.0, 0.0)
    rets = rets[1:]  # row 0 is the initial allocation (its costs are in the first value)
    first = (after[0] - rec.flows[0]) / initial_value if initial_value > 0 else 1.0
    index = np.concatenate([[first], first * np.cumprod(1 + rets)])
    days = (s.dates[-1] - s.dates[0]).days
    growth = float(index[-1])
    cagr = growth ** (365.25 / days) - 1.0 if days > 0 and growth > 0 else float("nan")
    ppy = s.rows_per_year
    if len(rets) >= 2:
        sd = float(np.std(rets, ddof=1))
        vol = sd * math.sqrt(ppy)
        sharpe = float(np.mean(rets)) / sd * math.sqrt(ppy) if sd > 0 else float("nan")
    else:
        vol, sharpe = float("nan"), float("nan")
    peak = np.maximum.accumulate(index)
    mdd = float(np.min(index / peak - 1.0))
    years = days / 365.25 if days > 0 else float("nan")
    traded_later = float(rec.traded[1:].sum())
    turnover = traded_later / 2.0 / float(np.mean(after)) / years if days > 0 else float("nan")
    names = [*s.symbols, CASH]
    avg = rec.weights_after.mean(axis=0)
    later = slice(1, n_rows) if n_rows > 1 else slice(0, n_rows)
    return {
        "start": s.dates[0].isoformat(),
        "end": s.dates[-1].isoformat(),
        "rows": n_rows,
        "final_value": round(float(after[-1]), 2),
        "annual_return": _f(cagr),
        "annual_volatility": _f(vol),
        "sharpe": _f(sharpe),
        "max_drawdown": _f(mdd),
        "rebalances": run.rebalances,
        "trades": run.trades,
        "turnover": _f(turnover),
        "costs": {k: round(v, 2) for k, v in run.costs.as_dict().items()},
        "average_weights": {n: _f(float(w)) for n, w in zip(names, avg, strict=True)},
        "max_drift": _f(float(rec.max_drift[later].max())),
        "time_outside_bands": _f(float(rec.outside[later].mean())),
        "rows_per_year": _f(ppy),
        "initial_value": round(initial_value, 2),
        "deposits": round(float(rec.flows[rec.flows > 0].sum()), 2),
        "withdrawals": round(float(-rec.flows[rec.flows < 0].sum()), 2) + 0.0,
        "dividends": 0.0 if rec.dividends is None else round(float(rec.dividends.sum()), 2),
        "ignored_cash_flows": len(run.ignored_flows),
        "warnings": len(run.alerts),
        **after_tax_figures(run.disposals, run.tax, s.dates, index, after, days, run.open_lots,
                            dict(zip(s.symbols, map(float, s.closes[-1]), strict=True))),
    }


def _f(x: float) -> float | None:
    """A figure for JSON: rounded to 10 significant digits; None when undefined."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.10g}")


def table(result: dict[str, Any]) -> str:
    """The summary as a readable table."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x * 100:.2f} %"

    rows = [
        ("period", f"{result['start']} … {result['end']} ({result['rows']} rows)"),
        ("final value", f"${result['final_value']:,.2f}"),
        ("annual return (CAGR)", pct(result["annual_return"])),
        ("annual volatility", pct(result["annual_volatility"])),
        ("Sharpe (rf 0)", "n/a" if result["sharpe"] is None else f"{result['sharpe']:.2f}"),
        ("max drawdown", pct(result["max_drawdown"])),
        ("rebalances", str(result["rebalances"])),
        ("trades (fills)", str(result["trades"])),
        ("turnover (annual, one-sided)", pct(result["turnover"])),
        ("costs: spread", f"${result['costs']['spread']:,.2f}"),
        ("costs: impact", f"${result['costs']['impact']:,.2f}"),
        ("costs: commission", f"${result['costs']['commission']:,.2f}"),
        ("dividends credited", f"${result['dividends']:,.2f}"),
        ("max drift", pct(result["max_drift"])),
        ("time outside bands", pct(result["time_outside_bands"])),
        ("after-tax return (CAGR)", pct(result["after_tax_return"])),
        ("  … all sold at the end", pct(result["after_tax_return_liquidated"])),
        ("taxes", f"${result['taxes']['total']:,.2f} ({result['taxes']['account']})"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("")
    lines.append("average weights:")
    for sym, w in result["average_weights"].items():
        lines.append(f"  {sym.ljust(8)} {pct(w)}")
    return "\n".join(lines)


__all__ = ["summary", "table"]
