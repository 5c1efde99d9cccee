"""Model targets in a backtest: walk-forward estimates fed to the engine, and the comparison
of several models with static targets on the same rows.

At the window's first row and at the first row of each schedule period the model is
estimated from the history rows strictly before that row (``walk_forward``: no row on or
after the schedule date is read) and its ``TargetsChanged`` goes into the engine on that
row, before the row's decisions. The engine swaps the targets; the bands and the calendar
decide what trades, as live. A failed estimate keeps the targets in force (the configured
ones before the first success) and is counted by its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.backtest import market
from adapters.backtest.feeder import BacktestRun, Feeder
from adapters.backtest.metrics import summary
from adapters.backtest.prices import PriceSeries
from adapters.models.schedule import Scheduled, walk_forward
from daemon.core.config.model_targets import BOUNDED_KINDS, PENALISED_KINDS, ModelKind
from daemon.core.config.values import Config

__all__ = ["ModelRun", "compare_models", "comparison_table", "for_kind", "run_model"]


@dataclass(slots=True)
class ModelRun:
    kind: str
    run: BacktestRun
    schedule: list[Scheduled]
    result: dict[str, Any]


def for_kind(config: Config, kind: ModelKind) -> Config:
    """``config`` with its model switched to ``kind``; bounds and the turnover penalty are
    dropped for a kind that cannot take them (as the config checker would demand)."""
    m = replace(config.targets_model, kind=kind)
    if kind not in BOUNDED_KINDS:
        m = replace(m, min_weight=0.0, max_weight=1.0, limits={})
    if kind not in PENALISED_KINDS:
        m = replace(m, turnover_penalty=0.0)
    return replace(config, targets_model=m)


def run_model(
    config: Config,
    history: PriceSeries,
    series: PriceSeries,
    initial_value: Decimal,
    *,
    cash_flows: Sequence[tuple[date, Decimal]] = (),
    spread_bps: float | None = None,
) -> ModelRun:
    """One backtest of ``config``'s model (static: the plain backtest)."""
    schedule: list[Scheduled] = []
    targets_at = {}
    if config.targets_model.kind is not ModelKind.STATIC:
        schedule = walk_forward(
            config, history.symbols, history.dates, history.closes, series.dates
        )
        for s in schedule:
            if s.result is not None:
                moment = market.row_moment(config, series.dates[s.row])
                targets_at[s.row] = s.result.event(moment)
    run = Feeder(
        config,
        series,
        initial_value,
        cash_flows=cash_flows,
        spread_bps=spread_bps,
        history=history,
        targets_at=targets_at,
    ).run()
    result = summary(run, float(initial_value))
    result["model"] = model_summary(config, schedule)
    return ModelRun(str(config.targets_model.kind), run, schedule, result)


def model_summary(config: Config, schedule: list[Scheduled]) -> dict[str, Any]:
    m = config.targets_model
    failures = Counter(s.failure.reason for s in schedule if s.failure is not None)
    return {
        "kind": str(m.kind),
        "schedule": str(m.schedule),
        "estimates": sum(1 for s in schedule if s.result is not None),
        "failures": dict(sorted(failures.items())),
        "window_days": m.window_days,
        "covariance": str(m.covariance),
        "returns": str(m.returns),
    }


def compare_models(
    config: Config,
    kinds: Sequence[ModelKind],
    history: PriceSeries,
    series: PriceSeries,
    initial_value: Decimal,
    *,
    cash_flows: Sequence[tuple[date, Decimal]] = (),
    spread_bps: float | None = None,
) -> list[ModelRun]:
    """Static first, then each kind, on the same rows, flows and costs."""
    order = [ModelKind.STATIC, *(k for k in kinds if k is not ModelKind.STATIC)]
    return [
        run_model(
            for_kind(config, k),
            history,
            series,
            initial_value,
            cash_flows=cash_flows,
            spread_bps=spread_bps,
        )
        for k in order
    ]


def comparison_table(runs: Sequence[ModelRun]) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x * 100:.2f}"

    head = (
        f"{'model':<20}{'CAGR %':>8}{'vol %':>8}{'Sharpe':>8}{'max DD %':>10}"
        f"{'turnover %':>12}{'cash %':>8}{'rebal.':>8}{'costs $':>12}{'estimates':>11}"
        "  failures"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        x = r.result
        m = x["model"]
        costs = sum(x["costs"].values())
        est = "-" if r.kind == "static" else str(m["estimates"])
        fails = ", ".join(f"{k} {v}" for k, v in m["failures"].items()) or "-"
        sharpe = "n/a" if x["sharpe"] is None else f"{x['sharpe']:.2f}"
        lines.append(
            f"{r.kind:<20}{pct(x['annual_return']):>8}{pct(x['annual_volatility']):>8}"
            f"{sharpe:>8}{pct(x['max_drawdown']):>10}{pct(x['turnover']):>12}"
            f"{pct(x['average_weights'].get('CASH')):>8}{x['rebalances']:>8}{costs:>12,.0f}{est:>11}  {fails}"
        )
    first, last = runs[0].result["start"], runs[0].result["end"]
    lines.append(
        f"period {first} … {last}; every model walk-forward, from rows before each date; "
        "cash % is the average cash weight"
    )
    return "\n".join(lines)
