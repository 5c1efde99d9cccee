"""Backtest memory: 30 years × 500 assets of daily synthetic prices (not part of the test
run). Prints the peak resident memory of ``rebalanced backtest`` over them; asserts nothing.

    .venv/bin/python -m tests.bench.bench_backtest_memory [--years 30] [--assets 500]

It writes a wide CSV (``date`` + one close and one ``SYMBOL:volume`` column per asset,
seeded GBM prices on weekdays) and an equal-weight config (2 % cash, monthly calendar,
default costs, the gate off so every month trades) to a temporary directory, then runs ``rebalanced backtest
--json`` on them as a child process, so the figure is the backtest's alone: loading the
file, the engine, the fill model and the summary. The peak RSS is the child's
``ru_maxrss`` (``getrusage(RUSAGE_CHILDREN)``). The aim: under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def write_inputs(folder: Path, years: int, assets: int, seed: int) -> tuple[Path, Path, int]:
    dates = pd.bdate_range("1995-01-02", periods=years * 252)
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0003, 0.015, (len(dates), assets))
    px = np.round(20 * np.exp(np.cumsum(steps, axis=0)) * rng.uniform(1, 10, assets), 2)
    px = np.maximum(px, 0.01)
    volume = np.round(rng.lognormal(13, 0.5, (len(dates), assets)))
    syms = [f"S{k:03d}" for k in range(assets)]
    frame = pd.DataFrame(px, columns=syms)
    volumes = pd.DataFrame(volume, columns=[f"{s}:volume" for s in syms])
    frame = pd.concat([frame, volumes], axis=1)
    frame.insert(0, "date", dates.strftime("%Y-%m-%d"))
    prices = folder / "prices.csv"
    frame.to_csv(prices, index=False)
    weight = 98 / assets
    lines = ["[portfolio]", "cash_target = 2", "[portfolio.targets]"]
    lines += [f"{s} = {weight:.10g}" for s in syms[:-1]]
    lines.append(f"{syms[-1]} = {98 - weight * (assets - 1):.10g}")
    lines += ["[trigger]", 'mode = "calendar"', "[trigger.calendar]", 'frequency = "monthly"']
    # the gate off: every month trades (hundreds of thousands of orders, the worst case
    # for the order book's memory); with it on most monthly runs are declined
    lines += ["[cost]", "gate = false", "[execution]", "burst = 1000", "max_in_flight = 1000"]
    config = folder / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return prices, config, len(dates)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_backtest_memory")
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bt-mem-") as tmp:
        prices, config, rows = write_inputs(Path(tmp), args.years, args.assets, args.seed)
        size = prices.stat().st_size / 1e6
        print(f"{rows} rows x {args.assets} assets = {rows * args.assets:,} cells "
              f"({size:.0f} MB CSV), monthly calendar, default costs, gate off")  # fmt: skip
        cmd = [sys.executable, "-m", "daemon.cli", "backtest", "--config", str(config),
               "--prices", str(prices), "--json", "--initial-value", "10000000"]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"rebalanced backtest exited {proc.returncode}")
    result = json.loads(proc.stdout)
    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"final value {result['final_value']:,.2f}, {result['rebalances']} rebalances, "
          f"{result['trades']:,} trades")  # fmt: skip
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s ({rows * args.assets / cpu:,.0f} rows x assets/s)")
    print(f"peak RSS {peak_mb:,.0f} MB (aim < 1024 MB)")


if __name__ == "__main__":
    main()
