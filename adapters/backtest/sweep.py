"""Comparisons: a parameter grid (``--sweep``), named market regimes (``--window``) and
walk-forward evaluation (``--walk-forward``). Each point of a grid is a full backtest of the
engine with one config; points run in parallel worker processes (``--jobs``, default 2).

A grid is written ``key=v1,v2;key=v1,v2``, each key a dotted path in the config file
(``trigger.mode``, ``trigger.calendar.frequency``, ``bands.absolute``, ``bands.relative``,
``planner.target_mode``, ``cost.gate`` …); values are TOML (``true``, ``5``, ``2.5``) or
bare words (``calendar``). Setting ``trigger.mode=threshold`` drops ``[trigger.calendar]``
(that mode has no calendar). A combination the config checker rejects is listed with its
problem instead of figures. The same grid can live in the config file as a
``[backtest.sweep]`` table (``daemon.core.config.backtest``; ``--sweep`` without a SPEC).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from adapters.backtest.feeder import Feeder
from adapters.backtest.metrics import summary
from adapters.backtest.prices import PriceSeries
from daemon.core.config.backtest import apply_point
from daemon.core.config.reader import ConfigError, parse_config

# name → (first day, last day, what it is); S&P 500 closing highs and lows
WINDOWS: dict[str, tuple[date, date, str]] = {
    "gfc-2008": (date(2007, 10, 9), date(2009, 3, 9), "S&P 500 peak to trough, the 2008 crisis"),
    "covid-2020": (
        date(2020, 2, 19),
        date(2020, 8, 18),
        "S&P 500 peak, the crash, and back to a new high",
    ),
    "inflation-2022": (date(2022, 1, 3), date(2022, 10, 12), "S&P 500 peak to the 2022 low"),
}

METRICS = ("sharpe", "annual_return", "annual_volatility", "max_drawdown", "turnover", "costs")
LOWER_IS_BETTER = frozenset({"annual_volatility", "turnover", "costs"})


class SweepError(ValueError):
    """A bad ``--sweep`` / ``--walk-forward`` argument."""


Point = tuple[tuple[str, Any], ...]


def parse_grid(spec: str) -> list[Point]:
    """``"a.b=1,2;c=x"`` → every combination, as ((key, value), …) tuples."""
    axes: list[list[tuple[str, Any]]] = []
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        key, eq, values = part.partition("=")
        key = key.strip()
        if not eq or not key or not values.strip():
            raise SweepError(
                f"--sweep: {part!r} is not key=value[,value…] (e.g. bands.absolute=3,5)"
            )
        axes.append([(key, _value(v.strip())) for v in values.split(",") if v.strip()])
    if not axes:
        raise SweepError(
            "--sweep: empty grid (e.g. 'trigger.mode=calendar,threshold;cost.gate=true,false')"
        )
    return [tuple(c) for c in itertools.product(*axes)]


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def grid(axes: Sequence[tuple[str, Sequence[Any]]]) -> list[Point]:
    """Every combination of a config's ``[backtest.sweep]`` axes (``Config.backtest.sweep``)."""
    return [tuple(c) for c in itertools.product(*([(k, v) for v in vs] for k, vs in axes))]


def apply(data: dict[str, Any], point: Point) -> dict[str, Any]:
    try:
        return apply_point(data, point)
    except ValueError as exc:
        raise SweepError(f"--sweep: {exc}") from None


def label(point: Point) -> str:
    return " ".join(f"{k}={v}" for k, v in point)


@dataclass(frozen=True, slots=True)
class Job:
    data: dict[str, Any]
    point: Point
    series: PriceSeries
    initial: Decimal
    spread_bps: float | None
    flows: tuple[tuple[date, Decimal], ...]
    history: PriceSeries | None = None  # the whole file (σ and ADV before the window)


def run_point(job: Job) -> tuple[Point, dict[str, Any] | None, str]:
    """One backtest: (point, summary or None, problem)."""
    try:
        config = parse_config(apply(job.data, job.point))
    except (ConfigError, SweepError) as exc:
        return job.point, None, str(exc).replace("\n", "; ")
    if config.targets_model.kind != "static":  # model targets: walk-forward
        from adapters.backtest.models import run_model

        m = run_model(config, job.history or job.series, job.series, job.initial,
                      cash_flows=job.flows, spread_bps=job.spread_bps)  # fmt: skip
        return job.point, m.result, ""
    run = Feeder(
        config,
        job.series,
        job.initial,
        cash_flows=job.flows,
        spread_bps=job.spread_bps,
        history=job.history,
    ).run()
    return job.point, summary(run, float(job.initial)), ""


def run_grid(jobs: Sequence[Job], workers: int) -> list[tuple[Point, dict[str, Any] | None, str]]:
    if workers <= 1 or len(jobs) <= 1:
        return [run_point(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_point, jobs))


def score(result: dict[str, Any], metric: str) -> float:
    """Bigger is better (lower-is-better metrics negated; None sorts last)."""
    v = sum(result["costs"].values()) if metric == "costs" else result.get(metric)
    if v is None:
        return float("-inf")
    return -float(v) if metric in LOWER_IS_BETTER else float(v)


def sweep_table(rows: Sequence[tuple[Point, dict[str, Any] | None, str]], metric: str) -> str:
    good = sorted((r for r in rows if r[1] is not None), key=lambda r: -score(r[1], metric))  # type: ignore[arg-type]
    lines = [
        f"{'#':>3}  {'sharpe':>7} {'CAGR':>8} {'vol':>7} {'maxDD':>8} {'turnover':>8} "
        f"{'costs $':>10} {'rebal':>5}  parameters (sorted by {metric})"
    ]
    for k, (point, r, _) in enumerate(good, 1):
        assert r is not None
        lines.append(
            f"{k:>3}  {_num(r['sharpe'], 2):>7} {_pct(r['annual_return']):>8} "
            f"{_pct(r['annual_volatility']):>7} {_pct(r['max_drawdown']):>8} "
            f"{_pct(r['turnover']):>8} {sum(r['costs'].values()):>10,.0f} "
            f"{r['rebalances']:>5}  {label(point)}"
        )
    for point, r, problem in rows:
        if r is None:
            lines.append(f"  -  invalid: {label(point)}: {problem}")
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


def _num(x: float | None, digits: int) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def folds(
    dates: Sequence[date], train_years: int, test_years: int
) -> list[tuple[date, date, date, date]]:
    """Rolling (train first, train last, test first, test last) days: each test window is
    the ``test_years`` after its ``train_years`` of training; the next fold starts one test
    window later. The last test window may be cut short by the end of the series."""
    if train_years < 1 or test_years < 1:
        raise SweepError("--walk-forward: give whole years TRAIN:TEST, each ≥ 1 (e.g. 5:1)")
    out: list[tuple[date, date, date, date]] = []
    start, last = dates[0], dates[-1]
    while True:
        train_end = _add_years(start, train_years)
        test_end = _add_years(train_end, test_years)
        if train_end >= last:
            break
        out.append(
            (
                start,
                train_end - timedelta(days=1),
                train_end,
                min(test_end - timedelta(days=1), last),
            )
        )
        if test_end > last:
            break
        start = _add_years(start, test_years)
    if not out:
        raise SweepError(
            f"--walk-forward {train_years}:{test_years}: the series ({dates[0]} … {last}) is too "
            "short for one training and one test window"
        )
    return out


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


__all__ = [
    "METRICS",
    "WINDOWS",
    "Job",
    "SweepError",
    "apply",
    "folds",
    "grid",
    "label",
    "parse_grid",
    "run_grid",
    "score",
    "sweep_table",
]
