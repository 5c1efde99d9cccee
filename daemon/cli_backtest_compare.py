"""``rebalanced backtest --sweep / --walk-forward``: many backtests of one data set, compared.

``--sweep SPEC`` (or ``--sweep`` alone: the config's ``[backtest.sweep]``) runs every point
of the grid over the chosen rows and prints them sorted by
``--sort`` (best first). ``--walk-forward TRAIN:TEST`` (years, with ``--sweep``) rolls a
training window over the series: the best point on each training window (by ``--sort``) is
reported on the test window that follows, next to the grid's best point *in hindsight* on
that test window, so the gap shows what choosing on the past costs (over-fitting).
Points run in ``--jobs`` worker processes (default 2: the machine's cores).
"""

from __future__ import annotations

import json
import sys
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.backtest.prices import PriceSeries
from adapters.backtest.sweep import Job, Point, folds, label, run_grid, score, sweep_table


def raw_config(path: str) -> dict[str, Any]:
    """The config file as a TOML document (already validated by ``load_config``), without
    its ``[backtest]`` (the grid is not part of each point's config)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    data.pop("backtest", None)
    return data


def _jobs(
    history: PriceSeries,
    data: dict[str, Any],
    grid: list[Point],
    series: PriceSeries,
    initial: Decimal,
    spread: float | None,
    flows: tuple[tuple[date, Decimal], ...],
) -> list[Job]:
    return [Job(data, p, series, initial, spread, flows, history) for p in grid]


def sweep(
    args: Any, history: PriceSeries, series: PriceSeries, flows: tuple[tuple[date, Decimal], ...]
) -> int:
    data = raw_config(args.config)
    jobs = _jobs(history, data, args.grid, series, args.initial_value, args.spread_bps, flows)
    rows = run_grid(jobs, args.jobs)
    if args.json:
        print(
            json.dumps(
                [
                    {"parameters": dict(p), "result": r, "problem": problem or None}
                    for p, r, problem in rows
                ],
                indent=2,
            )
        )
    else:
        print(f"{len(rows)} backtests, {series.dates[0]} … {series.dates[-1]}")
        print(sweep_table(rows, args.sort))
    return 0


def walk_forward(
    args: Any, history: PriceSeries, series: PriceSeries, flows: tuple[tuple[date, Decimal], ...]
) -> int:
    train, _, test = args.walk_forward.partition(":")
    try:
        train_years, test_years = int(train), int(test)
    except ValueError:
        print(
            "rebalanced backtest: --walk-forward wants TRAIN:TEST in whole years, e.g. 5:1",
            file=sys.stderr,
        )
        return 64
    data = raw_config(args.config)
    out: list[dict[str, Any]] = []
    for t0, t1, s0, s1 in folds(series.dates, train_years, test_years):
        train_rows, test_rows = series.window(t0, t1), series.window(s0, s1)
        if len(train_rows.dates) < 2 or len(test_rows.dates) < 2:
            continue
        fit = run_grid(
            _jobs(history, data, args.grid, train_rows, args.initial_value, args.spread_bps, flows),
            args.jobs,
        )
        fit_ok = [(p, r) for p, r, _ in fit if r is not None]
        if not fit_ok:
            continue
        chosen, chosen_train = max(fit_ok, key=lambda pr: score(pr[1], args.sort))
        tested = run_grid(
            _jobs(history, data, args.grid, test_rows, args.initial_value, args.spread_bps, flows),
            args.jobs,
        )
        test_ok = {p: r for p, r, _ in tested if r is not None}
        best_p, best_r = max(test_ok.items(), key=lambda pr: score(pr[1], args.sort))
        out.append(
            {
                "train": [train_rows.dates[0].isoformat(), train_rows.dates[-1].isoformat()],
                "test": [test_rows.dates[0].isoformat(), test_rows.dates[-1].isoformat()],
                "chosen": dict(chosen),
                "train_" + args.sort: _metric(chosen_train, args.sort),
                "test_" + args.sort: _metric(test_ok[chosen], args.sort),
                "hindsight": dict(best_p),
                "hindsight_" + args.sort: _metric(best_r, args.sort),
            }
        )
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"walk-forward {train_years}:{test_years} years, choosing by {args.sort}")
    for f in out:
        print(
            f"train {f['train'][0]} … {f['train'][1]}  test {f['test'][0]} … {f['test'][1]}: "
            f"chosen {label(tuple(f['chosen'].items()))}: train {f['train_' + args.sort]}, "
            f"test {f['test_' + args.sort]} (hindsight best {f['hindsight_' + args.sort]}: "
            f"{label(tuple(f['hindsight'].items()))})"
        )
    return 0


def _metric(result: dict[str, Any], metric: str) -> float | None:
    if metric == "costs":
        costs: dict[str, float] = result["costs"]
        return round(sum(costs.values()), 2)
    v = result.get(metric)
    return None if v is None else round(float(v), 6)
