"""Resident memory of the daemon under a steady quote load, sampled over time.

    .venv/bin/python -m tests.bench.bench_memory_soak [--seconds 3600] [--rate 20000]
    .venv/bin/python -m tests.bench.bench_memory_soak --seconds 300      # short form
    .venv/bin/python -m tests.bench.bench_memory_soak --sip --minutes 10  # issue 14's soak

``--sip``: SIP scale, 5,000 subscribed symbols at a sustained 200,000 quotes/s in frames of
500 (the aims: 0 dropped, resident memory flat, the consumer's loop lag p99 under 10 ms).
The loop lag is sampled all along by a task in the daemon's loop that sleeps 5 ms and
records how late it woke (the consumer, the websocket reader and the journal's loop side
all run on that loop, so a consumer that hogs it shows here).

The real ``Service`` (engine, SQLite journal, metrics, ``AlpacaMarketData`` websocket) runs
in this process against the paced local feed (``tests.bench.ws_feed``, another process):
``--rate`` in-band quotes/s for ``--symbols`` symbols in frames of ``--batch``, plus one
breaching quote every ``--breach-every`` seconds (each one a decision, an order intent
journaled, an ``OrderRejected``, an alert), so the order path's bounded structures are
exercised too. VmRSS (from /proc/self/status) is sampled every ``--sample`` seconds and
printed as it goes; the summary gives start (first sample after the daemon is ready), min,
max, end and the least-squares slope in MB/hour (whole run and second half).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.daemon_harness import (
    bench_config,
    load_average,
    pin_to_cpu,
    quiet_logging,
    rss_mb,
    running_daemon,
)
from tests.bench.lag_profile import LagProfiler
from tests.bench.summary import result
from tests.bench.ws_feed import FeedSpec, start_feed


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mm = sum(m for _, m in samples) / n
    num = sum((t - mt) * (m - mm) for t, m in samples)
    den = sum((t - mt) ** 2 for t, _ in samples)
    return num / den * 3600.0 if den else 0.0


async def soak(args: argparse.Namespace) -> None:
    pinned = pin_to_cpu(0) if args.pin else "not pinned"
    spec = FeedSpec(
        mode="paced",
        symbols=args.symbols,
        batch=args.batch,
        rate=args.rate,
        breach_every=args.breach_every,
        cpu=1 if args.pin else None,
    )
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp, start_feed(spec) as feed:
        logf = quiet_logging(Path(tmp) / "daemon.log")
        config = bench_config(args.symbols, str(Path(tmp) / "state"))
        print(
            f"bench_memory_soak: {args.rate:,.0f} quotes/s, {args.symbols} symbols, "
            f"frames of {args.batch}, a breach every {args.breach_every:g} s, "
            f"{args.seconds:g} s; daemon {pinned}; load average {load_average()}",
            flush=True,
        )
        async with running_daemon(feed.url, config, args.symbols) as d:
            # per collection: (wall, CPU of the loop thread) seconds; under load the wall
            # clock includes the time other processes had the core
            gc_pauses: dict[int, list[tuple[float, float]]] = {0: [], 1: [], 2: []}
            gc_started = [0.0, 0.0]

            def gc_timer(phase: str, info: dict[str, int]) -> None:
                if phase == "start":
                    gc_started[:] = [time.perf_counter(), time.thread_time()]
                else:
                    gc_pauses[info["generation"]].append(
                        (time.perf_counter() - gc_started[0], time.thread_time() - gc_started[1]))
                    if info["generation"] == 2:
                        full.append((time.monotonic() - t0, time.thread_time() - gc_started[1],
                                     gc.get_freeze_count()))

            full: list[tuple[float, float, int]] = []  # (s into the run, CPU s, frozen)

            lags: list[float] = []
            lag_task = asyncio.create_task(_loop_lag(lags))
            profiler = LagProfiler() if args.profile_lag else None
            prof_task = asyncio.create_task(profiler.run()) if profiler else None
            t0 = time.monotonic()
            gc.callbacks.append(gc_timer)
            cpu0 = time.process_time()
            q0 = d.quotes_seen
            samples: list[tuple[float, float]] = []
            while True:
                elapsed = time.monotonic() - t0
                mb = rss_mb()
                samples.append((elapsed, mb))
                print(
                    f"  t={elapsed:7.0f} s  rss={mb:7.1f} MB  quotes={d.quotes_seen - q0:,}  "
                    f"dropped={d.quotes_dropped:,}  orders={len(d.gateway.submitted):,}  "
                    f"queue={d.service.queue.qsize()}  waiting: frames={d.feed.buffered()[0]} "
                    f"held={d.feed.buffered()[1]} tail={len(d.service.events.tail or ())} "
                    f"journal={d.journal.backlog}  load={load_average()}",
                    flush=True,
                )
                if elapsed >= args.seconds:
                    break
                await asyncio.sleep(min(args.sample, args.seconds - elapsed + 0.01))
            lag_task.cancel()
            gc.callbacks.remove(gc_timer)
            if prof_task is not None:
                prof_task.cancel()
            quotes = d.quotes_seen - q0
            cpu = time.process_time() - cpu0
            dropped = d.quotes_dropped
            conflated = d.quotes_conflated
            orders = len(d.gateway.submitted)
            decisions = d.service.engine.snapshot().decisions if d.service.engine else 0
        logf.close()
        stats = feed.stats()
    mbs = [m for _, m in samples]
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    print(f"bench_memory_soak summary over {samples[-1][0]:.0f} s ({len(samples)} samples):")
    print(
        f"  RSS MB: start {mbs[0]:.1f}  min {min(mbs):.1f}  max {max(mbs):.1f}  end {mbs[-1]:.1f}"
    )
    print(
        f"  slope: {slope_per_hour(samples):+.2f} MB/hour (whole run), "
        f"{slope_per_hour(half):+.2f} MB/hour (second half)"
    )
    print(
        f"  quotes consumed {quotes:,} ({quotes / max(samples[-1][0], 1e-9):,.0f}/s), "
        f"dropped {dropped:,}; feed sent {stats['quotes']:,} quotes, "
        f"{stats['breaches']:,} breaches; decisions {decisions:,}, orders {orders:,}"
    )
    print(f"  daemon CPU {cpu:.1f} s of {samples[-1][0]:.0f} s (all threads): "
          f"{cpu / max(quotes, 1) * 1e6:.2f} µs per quote consumed")
    lag_p99 = _quantile(lags, 0.99) * 1e3
    print(f"  loop lag ms: p50 {_quantile(lags, 0.5) * 1e3:.2f}  p99 {lag_p99:.2f}  "
          f"max {max(lags, default=0.0) * 1e3:.2f} ({len(lags):,} samples); "
          f"{conflated:,} quotes conflated under backlog")  # fmt: skip
    worst = sorted(full, key=lambda f: -f[1])[:3]
    print("  longest full collections: " + ", ".join(
        f"{c * 1e3:.1f} ms CPU at {t:.0f} s ({n:,} objects frozen)" for t, c, n in worst))
    print("  gc pauses (wall / CPU): " + ", ".join(
        f"gen{g} {len(v):,}× max {max((w for w, _ in v), default=0.0) * 1e3:.1f} / "
        f"{max((c for _, c in v), default=0.0) * 1e3:.1f} ms, total CPU "
        f"{sum(c for _, c in v):.2f} s" for g, v in gc_pauses.items()))
    if profiler is not None:
        print("\n".join(profiler.report()))
    load = load_average()
    print(f"  gc counts {gc.get_count()}; load average at end {load}")
    figure = (f"{args.symbols:,} symbols at {args.rate / 1e3:,.0f} k/s for {samples[-1][0]:.0f} s: "
              f"{dropped:,} dropped, RSS {mbs[0]:.0f} → {mbs[-1]:.0f} MB, loop lag p99 "
              f"{lag_p99:.1f} ms, feed sent {stats['quotes'] / max(samples[-1][0], 1e-9) / 1e3:,.0f} k/s, "
              f"consumed {quotes / max(samples[-1][0], 1e-9) / 1e3:,.0f} k/s")  # fmt: skip
    result("SIP-scale soak" if args.sip else "memory soak", figure,
           "0 dropped, RSS flat, loop lag p99 < 10 ms", dropped == 0 and lag_p99 < 10.0)


async def _loop_lag(out: list[float], period: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    while True:
        t = loop.time()
        await asyncio.sleep(period)
        out.append(max(0.0, loop.time() - t - period))


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.bench.bench_memory_soak")
    p.add_argument("--seconds", type=float, default=3600.0)
    p.add_argument("--minutes", type=float, default=None, help="the same in minutes")
    p.add_argument("--sip", action="store_true",
                   help="SIP scale: 5,000 symbols, 200,000 quotes/s, frames of 500")  # fmt: skip
    p.add_argument("--rate", type=float, default=20_000.0, help="quotes per second")
    p.add_argument("--symbols", type=int, default=500)
    p.add_argument("--batch", type=int, default=100, help="quotes per frame")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument(
        "--breach-every",
        type=float,
        default=10.0,
        help="seconds between breaching quotes (0: none)",
    )
    p.add_argument("--profile-lag", action="store_true",
                   help="sample where the loop thread is whenever the loop is held > 5 ms")
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the daemon to cpu 0 and the feed to cpu 1",
    )
    args = p.parse_args(argv)
    if args.minutes is not None:
        args.seconds = args.minutes * 60.0
    if args.sip:
        args.symbols, args.rate, args.batch = 5000, 200_000.0, 500
        args.sample = min(args.sample, max(args.seconds / 10, 1.0))
    asyncio.run(soak(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
