"""Quote updates per second through ``DriftTracker.update_quote`` (one call per quote) and
``update_quotes`` (a frame of ``FRAME`` quotes per call, as the engine takes a websocket
frame), 500 assets by default.

Run: ``.venv/bin/python -m tests.bench.bench_drift [n_assets] [n_quotes]``. Prints figures;
asserts nothing about speed. Quotes are pre-generated random walks (seeded) so the loop
measures the tracker, not the generator. Times are CPU time (``time.process_time``): on a
shared machine wall time counts the other processes too. On a tree without
``update_quotes`` (an older release, to compare back to back) the frame figure is one
``update_quote`` call per quote of the frame.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from daemon.core.config.values import AssetConfig, Config, PortfolioConfig
from daemon.core.events import QuoteUpdated
from daemon.core.model import Holdings
from daemon.core.triggers.drift import DriftTracker

FRAME = 50  # quotes per websocket frame

AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def build(n: int) -> tuple[DriftTracker, list[str]]:
    symbols = [f"S{k:04d}" for k in range(n)]
    target = 0.98 / n
    config = Config(
        portfolio=PortfolioConfig(
            assets=tuple(AssetConfig(s, target) for s in symbols), cash_target=0.02
        )
    )
    prices = {s: 100.0 for s in symbols}
    qty = {s: Decimal(round(1_000_000 * target / 100.0, 4)) for s in symbols}
    tracker = DriftTracker(config, Holdings(cash=Decimal(20_000), positions=qty), prices)
    return tracker, symbols


def quotes(
    symbols: list[str], count: int, sigma: float, seed: int = 7
) -> list[tuple[str, float, float]]:
    rng = random.Random(seed)
    px = dict.fromkeys(symbols, 100.0)
    out = []
    for _ in range(count):
        s = rng.choice(symbols)
        p = max(1.0, px[s] * (1.0 + rng.gauss(0.0, sigma)))
        px[s] = p
        out.append((s, p - 0.01, p + 0.01))
    return out


def run(n: int, count: int, sigma: float) -> float:
    tracker, symbols = build(n)
    feed = quotes(symbols, count, sigma)
    update = tracker.update_quote
    best = 0.0
    for _ in range(3):
        breaches = 0
        t0 = time.process_time()
        for s, b, a in feed:
            if update(s, b, a):
                breaches += 1
        dt = time.process_time() - t0
        best = max(best, count / dt)
        tracker, _ = build(n)  # same start for every repetition
        update = tracker.update_quote
    for s, b, a in feed:
        update(s, b, a)
    print(
        f"{n} assets, {count:,} quotes, per-quote sigma {sigma:.1%}: best of 3 "
        f"{best:,.0f} updates/s; breach signals {breaches}; out of band at the end "
        f"{len(tracker.out_of_band())}; portfolio drift {tracker.portfolio_drift():.2%}"
    )
    return best


def frames_of(tracker: DriftTracker) -> Callable[[Sequence[QuoteUpdated]], bool]:
    batch = getattr(tracker, "update_quotes", None)
    if batch is not None:
        return batch  # type: ignore[no-any-return]
    update = tracker.update_quote

    def one_by_one(quotes: Sequence[QuoteUpdated]) -> bool:  # an older tree
        hit = False
        for q in quotes:
            if update(q.symbol, q.bid, q.ask):
                hit = True
        return hit

    return one_by_one


def run_frames(n: int, count: int, sigma: float) -> float:
    count = min(count, 300_000)  # a QuoteUpdated per quote: keep the memory modest
    feed = quotes([f"S{k:04d}" for k in range(n)], count, sigma)
    frames = [
        tuple(QuoteUpdated(AT, *q) for q in feed[k : k + FRAME]) for k in range(0, count, FRAME)
    ]
    best = 0.0
    for _ in range(3):
        tracker, _ = build(n)  # same start for every repetition
        update = frames_of(tracker)
        breaches = 0
        t0 = time.process_time()
        for frame in frames:
            if update(frame):
                breaches += 1
        best = max(best, count / (time.process_time() - t0))
    print(
        f"{n} assets, {count:,} quotes in frames of {FRAME}, per-quote sigma {sigma:.1%}: "
        f"best of 3 {best:,.0f} quote updates/s; frames with a breach signal {breaches}"
    )
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    run(n, count, 0.002)  # calm: random walk, nothing leaves its band
    run(n, count, 0.03)  # volatile: assets cross bands, extremes move (rescans)
    run_frames(n, count, 0.002)
    run_frames(n, count, 0.03)
    feed = quotes([f"S{k:04d}" for k in range(n)], count, 0.002)
    t0 = time.process_time()
    for _s, _b, _a in feed:
        pass
    loop = time.process_time() - t0
    print(f"the bare loop over the feed alone: {count / loop:,.0f} iterations/s")


if __name__ == "__main__":
    main()
