"""Engine benchmarks (not part of the test run). Prints figures; asserts nothing about speed.

    .venv/bin/python -m tests.bench.bench_engine

1. quotes/s through ``Engine.handle(QuoteUpdated)`` for a 500-asset portfolio inside its
   bands (the hot path: a Quote kept per symbol plus the O(1) drift update, no planning);
2. quotes/s through ``Engine.handle(QuoteBatch)``, frames of 50 quotes at 5,000 symbols
   (what the daemon's ingest hands the engine: one batch per websocket frame), every quote
   moving its mid and with 60 % of them repeating it (size-only quotes, common on SIP);
3. ms per decision (trigger evaluation + plan + PlaceOrder commands) for 100 assets out of
   band;
4. events/s replaying a recorded two-round scenario into a fresh engine.

Times are CPU time (``time.process_time``): on a shared machine wall time counts the other
processes too. ``--count`` prints instead the instructions per quote of figure 2 under
valgrind's callgrind (needs ``valgrind``; about a minute), a figure load does not move:
two runs, with and without the timed frames after the same set-up and warm-up, differenced.
To compare with another tree, run this file against it:
``PYTHONPATH=<tree> python <this file> --count`` (figures 1 and 2 run there too).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from datetime import timedelta

from daemon.core import events as ev
from daemon.core.config.values import Band, BandRule
from daemon.core.engine.kernel import Engine
from tests.core.engine_scenario import RUN, T0, clock, make_config, quotes, snapshot


def _portfolio(n: int) -> tuple[dict[str, float], dict[str, str], dict[str, float]]:
    targets = {f"S{i:04d}": 0.98 / n for i in range(n)}
    prices = {s: 50.0 + (i % 50) for i, s in enumerate(targets)}
    # value 1,000,000: each asset at its target
    positions = {s: str(round(0.98 / n * 1_000_000 / prices[s], 6)) for s in targets}
    return targets, positions, prices


def _ready(n: int) -> tuple[Engine, dict[str, float], dict[str, float]]:
    targets, positions, prices = _portfolio(n)
    engine = Engine(make_config(targets), RUN)
    for e in [snapshot(T0, "20000", positions), clock(T0), *quotes(T0, prices)]:
        engine.handle(e)
    return engine, targets, prices


def bench_quotes(n: int = 500, count: int = 300_000) -> float:
    engine, targets, prices = _ready(n)
    rnd = random.Random(1)
    syms = list(targets)
    evs = []
    for i in range(count):
        s = syms[rnd.randrange(n)]
        mid = prices[s] * (1 + rnd.uniform(-0.001, 0.001))
        evs.append(ev.QuoteUpdated(T0 + timedelta(microseconds=i), s, mid - 0.01, mid + 0.01))
    handle = engine.handle
    start = time.process_time()
    produced = 0
    for e in evs:
        produced += len(handle(e))
    elapsed = time.process_time() - start
    print(
        f"quotes through Engine.handle ({n} assets, in band): {count / elapsed:,.0f}/s "
        f"({elapsed / count * 1e6:.2f} µs each; {produced} commands)"
    )
    return count / elapsed


def _frames(
    targets: dict[str, float], prices: dict[str, float], count: int, size: int, same: float
) -> list[ev.QuoteBatch]:
    rnd = random.Random(1)
    syms = list(targets)
    px = dict(prices)
    out: list[ev.QuoteBatch] = []
    frame: list[ev.QuoteUpdated] = []
    for i in range(count):
        s = syms[rnd.randrange(len(syms))]
        if rnd.random() >= same:  # else the same mid again, other sizes
            px[s] = prices[s] * (1 + rnd.uniform(-0.001, 0.001))
        size_now = float(rnd.randrange(1, 10) * 100)
        t = T0 + timedelta(microseconds=i)
        frame.append(ev.QuoteUpdated(t, s, px[s] - 0.01, px[s] + 0.01, size_now, size_now))
        if len(frame) == size:
            out.append(ev.QuoteBatch(t, tuple(frame)))
            frame = []
    return out


def bench_batches(n: int = 5000, size: int = 50, count: int = 300_000) -> list[float]:
    rates = []
    for same in (0.0, 0.6):
        best = 0.0
        produced = 0
        for _ in range(3):  # best of 3, each from the same start
            engine, targets, prices = _ready(n)
            frames = _frames(targets, prices, count, size, same)
            handle = engine.handle
            start = time.process_time()
            produced = sum(len(handle(f)) for f in frames)
            best = max(best, count / (time.process_time() - start))
        print(
            f"quotes through Engine.handle(QuoteBatch), frames of {size}, {n:,} assets in "
            f"band, {same:.0%} repeating their mid: best of 3 {best:,.0f}/s "
            f"({1e6 / best:.2f} µs each; {produced} commands)"
        )
        rates.append(best)
    return rates


def bench_decision(n: int = 100, rounds: int = 30) -> float:
    targets, positions, prices = _portfolio(n)
    skewed = {
        s: str(float(q) * (1.6 if i % 2 else 0.4)) for i, (s, q) in enumerate(positions.items())
    }
    total = 0.0
    orders = 0
    for r in range(rounds):
        band = Band(absolute=None, relative=0.25, rule=BandRule.RELATIVE)
        config = make_config(targets, band=band, burst=1000, max_in_flight=1000)
        engine = Engine(config, RUN)
        for e in [snapshot(T0, "20000", skewed), clock(T0), *quotes(T0, prices)]:
            engine.handle(e)
        start = time.process_time()
        cmds = engine.handle(ev.TimerFired(T0 + timedelta(seconds=1 + r * 1e-3), "check"))
        total += time.process_time() - start
        orders = sum(1 for c in cmds if type(c).__name__ == "PlaceOrder")
    ms = total / rounds * 1e3
    print(f"one decision ({n} assets, {orders} orders): {ms:.2f} ms")
    return ms


def bench_replay() -> float:
    from tests.core.test_engine_replay import TARGETS, drive

    recorded, _ = drive(3, 400.0)
    config = make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3)
    start = time.process_time()
    reps = 5
    for _ in range(reps):
        engine = Engine(config, RUN)
        for e in recorded:
            engine.handle(e)
    elapsed = time.process_time() - start
    rate = len(recorded) * reps / elapsed
    print(f"replay of a recorded scenario ({len(recorded)} events): {rate:,.0f} events/s")
    return rate


def _count_inner(n: int, size: int, count: int, same: float, run: bool) -> None:
    engine, targets, prices = _ready(n)
    frames = _frames(targets, prices, count, size, same)
    warm = len(frames) // 4
    for f in frames[:warm] if not run else frames:
        engine.handle(f)


def count_batches(n: int = 5000, size: int = 50, count: int = 40_000) -> None:
    for same in (0.0, 0.6):
        totals = []
        for run in (False, True):
            cmd = [
                "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                sys.executable, __file__, "--inner",
                str(n), str(size), str(count), str(same), str(int(run)),
            ]  # fmt: skip
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            found = re.search(r"Collected : (\d+)", out.stderr)
            if found is None:
                raise SystemExit(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
            totals.append(int(found.group(1)))
        timed = count - count // size // 4 * size
        print(
            f"instructions per quote through Engine.handle(QuoteBatch), frames of {size}, "
            f"{n:,} assets, {same:.0%} repeating their mid: {(totals[1] - totals[0]) / timed:,.0f}"
        )


if __name__ == "__main__" and sys.argv[1:2] == ["--inner"]:
    a = sys.argv[2:]
    _count_inner(int(a[0]), int(a[1]), int(a[2]), float(a[3]), a[4] == "1")
elif __name__ == "__main__" and sys.argv[1:2] == ["--count"]:
    count_batches()
elif __name__ == "__main__":
    bench_quotes()
    bench_batches()
    bench_decision()
    bench_replay()
