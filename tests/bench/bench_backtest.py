"""Backtest speed against bt (not part of the test run). Prints figures; asserts nothing.

    .venv/bin/python -m tests.bench.bench_backtest [--years 20] [--assets 20] [--repeat 3]
        [--every-row]

The shipped daily data (examples/data/sp500.csv, 20 stocks), the last ``--years`` years,
monthly calendar rebalancing to equal weights without costs: the same rule in bt
(``RunMonthly(run_on_end_of_period=True)``, ``Rebalance``) and in ``rebalanced backtest``'s
feeder (the config of ``tests/adapters/backtest/series.to_target_config``). The figure is
rows × assets per second (best of ``--repeat``), loading excluded for both; the final values
are printed too, to show both ran the same strategy. CPU time (``time.process_time``, best of
``--repeat``) is printed beside the wall clock: on a shared machine it moves far less.
The rows handed to the engine are printed too: the others are quiet
(``adapters/backtest/quiet_rows``); ``--every-row`` hands it every row, for comparison.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from adapters.backtest.feeder import Feeder
from adapters.backtest.prices import load_prices
from tests.adapters.backtest.series import to_target_config

DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "sp500.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--assets", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--every-row", action="store_true", help="hand every row to the engine")
    args = ap.parse_args()
    df = pd.read_csv(DATA, index_col="date", parse_dates=True)
    df = df.iloc[:, : args.assets]
    start = df.index[-1] - pd.DateOffset(years=args.years)
    df = df[df.index > start]
    syms = list(df.columns)
    weight = round(100 / len(syms), 6)
    targets = {s: weight for s in syms}
    targets[syms[-1]] = round(100 - weight * (len(syms) - 1), 6)
    config = to_target_config(targets, "monthly", 31)
    series = load_prices(DATA, syms).window(date.fromisoformat(str(df.index[0])[:10]), None)
    cells = len(series.dates) * len(syms)
    print(f"{len(series.dates)} rows x {len(syms)} assets = {cells:,} cells, monthly to target")

    best_ours = cpu_ours = float("inf")
    final_ours = 0.0
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        run = Feeder(
            config, series, Decimal(1_000_000), spread_bps=0, every_row=args.every_row
        ).run()
        best_ours = min(best_ours, time.perf_counter() - t0)
        cpu_ours = min(cpu_ours, time.process_time() - c0)
        final_ours = float(run.records.value_after[-1])

    import bt

    weights = {s: w / 100 for s, w in targets.items()}
    best_bt = cpu_bt = float("inf")
    final_bt = 0.0
    for _ in range(args.repeat):
        strategy = bt.Strategy(
            "s",
            [
                bt.algos.RunMonthly(run_on_end_of_period=True),
                bt.algos.SelectAll(),
                bt.algos.WeighSpecified(**weights),
                bt.algos.Rebalance(),
            ],
        )
        test = bt.Backtest(
            strategy,
            df,
            initial_capital=1_000_000,
            integer_positions=False,
            commissions=lambda q, p: 0.0,
            progress_bar=False,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        bt.run(test)
        best_bt = min(best_bt, time.perf_counter() - t0)
        cpu_bt = min(cpu_bt, time.process_time() - c0)
        final_bt = float(test.strategy.values.iloc[-1])

    ours, theirs = cells / best_ours, cells / best_bt
    print(
        f"rows handed to the engine: {run.rows_fed:,} of {len(series.dates):,} "
        f"({run.rebalances} rebalances, {run.trades:,} fills)"
    )
    print(
        f"rebalanced backtest: {best_ours:.3f} s (CPU {cpu_ours:.3f} s), {ours:,.0f} rows x assets/s, "
        f"final {final_ours:,.2f}"
    )
    print(
        f"bt {bt.__version__}:          {best_bt:.3f} s (CPU {cpu_bt:.3f} s), {theirs:,.0f} rows x assets/s, "
        f"final {final_bt:,.2f}"
    )
    print(f"speed ratio ours/bt: {ours / theirs:.2f}x wall, {cpu_bt / cpu_ours:.2f}x CPU (aim >= 20x)")


if __name__ == "__main__":
    main()
