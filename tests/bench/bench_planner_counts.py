"""Instructions per ``plan_rebalance`` under valgrind's callgrind: a figure the machine's load
does not move (wall-clock figures on a shared machine swing by ±40 %).

Run: ``.venv/bin/python -m tests.bench.bench_planner_counts [n_assets] [scenario ...]``
(needs ``valgrind``; about a minute per scenario). Each scenario runs the planner twice under
callgrind, with 0 and with ``REPS`` plans after a warm-up, and prints the difference per plan.
Scenarios are ``bench_planner``'s: drifted, out_of_band, engine_round, not_triggered,
covariance. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

from daemon.core.config.values import Scope
from daemon.core.planning.planner import plan_rebalance
from tests.bench.bench_planner import NOW, build, covariance

REPS = int(os.environ.get("PLANNER_COUNT_REPS", "3"))  # more: less start-up noise per plan
SCENARIOS = ("drifted", "out_of_band", "engine_round", "not_triggered", "covariance")


def _inner(n: int, reps: int, scenario: str) -> None:
    config, holdings, quotes = build(n)
    kw: dict[str, object] = {}
    if scenario == "out_of_band":
        config = replace(config, planner=replace(config.planner, scope=Scope.OUT_OF_BAND))
    elif scenario == "engine_round":
        kw = {"fund_from_sells": False}
    elif scenario == "not_triggered":
        kw = {"triggered": False}
    elif scenario == "covariance":
        kw = {"fund_from_sells": False, "covariance": covariance(quotes)}
    for _ in range(reps + 1):  # the first is the warm-up
        plan_rebalance(config, holdings, quotes, NOW, **kw)  # type: ignore[arg-type]


def _count(n: int, reps: int, scenario: str) -> int:
    cmd = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "tests.bench.bench_planner_counts", "--inner",
        str(n), str(reps), scenario,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--inner"]:
        _inner(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    scenarios = sys.argv[2:] or ["drifted", "engine_round"]
    for s in scenarios:
        if s not in SCENARIOS:
            raise SystemExit(f"unknown scenario {s!r}: pick from {', '.join(SCENARIOS)}")
        per_plan = (_count(n, REPS, s) - _count(n, 0, s)) / REPS
        print(f"{s:<14} {n} assets: {per_plan / 1e6:7.1f} M instructions per plan")


if __name__ == "__main__":
    main()
