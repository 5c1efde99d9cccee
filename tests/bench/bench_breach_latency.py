"""Quote-to-order latency when a band breach arrives under a steady quote load.

    .venv/bin/python -m tests.bench.bench_breach_latency [--rate 100000] [--breaches 300]
                                                         [--breach-every 0.04] [--cpu 0]

The paced local feed (``tests.bench.ws_feed``, another process, pinned to the other core)
sends ``--rate`` in-band quotes/s for ``--symbols`` symbols in frames of ``--batch``, and
every ``--breach-every`` seconds one frame with a single quote 30 % above its symbol's base
price (out of its relative band), stamped with the wall-clock time it is sent. The real
``Service`` in this process (``AlpacaMarketData`` → queue → consumer → ``Engine.handle``
→ decision, plan → dispatch; SQLite journal; pinned to ``--cpu``) decides on each breach
and places a sell; the benchmark gateway records when each order reaches it and rejects it,
which ends the run so the next breach is a new decision.

Printed per stage, over every breach after the first 5 (warm-up): p50/p90/p99/max in ms

- frame read → PlaceOrder dispatched: the decision path in this process (decode, queue,
  engine: drift, trigger, plan, commands; dispatch spawns the submit task);
- quote sent → PlaceOrder dispatched: the same plus the feed's send, the kernel and any
  wait behind background frames (the quote's own ``t`` is the send time; one clock);
- PlaceOrder dispatched → gateway called: the submit task journals the intent durably
  (SQLite, fsync) before it may send;
- quote sent → gateway called: everything up to the moment the order would leave.

Then the intent log's ``fdatasync`` alone, and how much of it the loop thread spent runnable
but not running (Linux schedstat): on a CPU shared with other processes the thread the disk
woke may wait its turn for several ms after the disk answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.alpaca import wire
from daemon.core import events as ev
from daemon.core.commands import PlaceOrder
from tests.bench.daemon_harness import (
    bench_config,
    load_average,
    pin_to_cpu,
    quiet_logging,
    running_daemon,
)
from tests.bench.summary import result
from tests.bench.ws_feed import FeedSpec, start_feed

WARMUP = 5


class RunDelay:
    """The calling thread's time spent runnable but not running so far (s; the kernel's
    schedstat, Linux), nan elsewhere. A blocking call's wall time minus its increase is the
    call itself: on a shared CPU the thread it woke may wait for the CPU long after the
    disk answered (a file kept open: one pread per reading)."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open(
                f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def __call__(self) -> float:
        if self._fd is None:
            return float("nan")
        return int(os.pread(self._fd, 64, 0).split()[1]) / 1e9


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    v = sorted(values)

    def q(p: float) -> float:
        return v[min(len(v) - 1, round(p * (len(v) - 1)))]

    return (
        f"p50 {q(0.50) * 1e3:7.3f}  p90 {q(0.90) * 1e3:7.3f}  p99 {q(0.99) * 1e3:7.3f}  "
        f"max {v[-1] * 1e3:7.3f} ms"
    )


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    pinned = pin_to_cpu(args.cpu)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    spec = FeedSpec(
        mode="paced",
        symbols=args.symbols,
        batch=args.batch,
        rate=args.rate,
        breach_every=args.breach_every,
        cpu=1 - args.cpu,
    )
    read_at: dict[datetime, float] = {}  # breach quote's t → when its frame was read
    queued_at: dict[datetime, float] = {}  # … → when the batch holding it was queued
    taken_at: dict[datetime, float] = {}  # … → when the consumer took that batch
    durable_at: dict[str, float] = {}  # client order id → when its intent was durable
    decided_at: dict[str, float] = {}  # … → when the engine returned its commands
    dispatched: dict[str, tuple[datetime, float]] = {}  # client order id → (quote t, time)
    with tempfile.TemporaryDirectory(prefix="bench-breach-") as tmp, start_feed(spec) as feed:
        logf = quiet_logging(Path(tmp) / "daemon.log")
        print(
            f"bench_breach_latency: {args.rate:,.0f} in-band quotes/s, {args.symbols} symbols, "
            f"frames of {args.batch}, a breach every {args.breach_every * 1e3:g} ms; GIL switch "
            f"interval {sys.getswitchinterval() * 1e3:g} ms; daemon "
            f"{pinned}, feed on cpu {1 - args.cpu}; journal in {tmp}; load average "
            f"{load_average()}",
            flush=True,
        )
        config = bench_config(args.symbols, str(Path(tmp) / "state"))
        async with running_daemon(feed.url, config, args.symbols) as d:
            svc = d.service
            handle_frame = d.feed._handle
            decode = wire.STREAM_BATCH_MSGPACK.decode

            def breach_in(item: Any) -> datetime | None:
                if type(item) is ev.QuoteBatch and read_at:
                    for q in item.quotes:
                        if q.at in read_at:
                            return q.at
                return None

            emit_to_queue = svc.emit

            def timed_emit(item: Any) -> None:
                t = breach_in(item)
                if t is not None and t not in queued_at:
                    queued_at[t] = time.time()
                emit_to_queue(item)

            def timed_handle(frame: bytes | str, emit: Any) -> None:
                now = time.time()
                if len(frame) < 200:  # a single-quote frame: a breach
                    for m in decode(frame) if isinstance(frame, bytes) else ():
                        if type(m) is wire.StreamQuote:
                            read_at[m.t] = now
                handle_frame(frame, timed_emit)

            consume = svc.consumer.handle

            def timed_consume(item: Any) -> None:
                t = breach_in(item)
                if t is not None and t not in taken_at:
                    taken_at[t] = time.time()
                consume(item)

            record_intents = d.journal.record_intents

            async def timed_durable(durable: Any, coid: str) -> None:
                await durable
                durable_at[coid] = time.time()

            def timed_intents(orders: Any) -> list[Any]:
                out = record_intents(orders)
                return [timed_durable(a, o.client_order_id)
                        for a, o in zip(out, orders, strict=True)]

            dispatch = svc.dispatcher.dispatch

            def timed_dispatch(commands: list[Any], trigger: Any) -> None:
                decided = time.time()
                dispatch(commands, trigger)
                now = time.time()
                if trigger is not None:
                    # a batch (a frame, or a conflated run of them) decides at its newest
                    # quote's time: the breach is the quote of it that came in a breach frame
                    quote_t = trigger.at
                    for q in getattr(trigger, "quotes", ()):
                        if q.at in read_at:
                            quote_t = q.at
                    for c in commands:
                        if isinstance(c, PlaceOrder):
                            dispatched[c.client_order_id] = (quote_t, now)
                            decided_at[c.client_order_id] = decided

            d.feed._handle = timed_handle  # type: ignore[method-assign]
            svc.consumer.handle = timed_consume  # type: ignore[method-assign]
            d.journal.record_intents = timed_intents  # type: ignore[method-assign]
            log = d.journal._group.log
            sync = log._sync
            syncs: list[float] = []
            waited: list[float] = []  # of each sync: the loop thread runnable, not running
            run_delay = RunDelay()

            def timed_sync(fd: int) -> None:
                w = run_delay()
                t = time.perf_counter()
                sync(fd)
                syncs.append(time.perf_counter() - t)
                waited.append(run_delay() - w)

            log._sync = timed_sync
            svc.dispatcher.dispatch = timed_dispatch  # type: ignore[method-assign]
            q0 = d.quotes_seen
            t0 = time.monotonic()
            target = args.breaches + WARMUP
            deadline = t0 + (target + 10) * args.breach_every + 30
            while len(d.gateway.submitted) < target and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)
            elapsed = time.monotonic() - t0
            quotes = d.quotes_seen - q0
            dropped = d.quotes_dropped
            submitted = list(d.gateway.submitted)
        logf.close()
        stats = feed.stats()

    stages: dict[str, list[float]] = {
        "frame read → batch queued": [],
        "batch queued → consumer took it": [],
        "consumer took it → engine decided": [],
        "engine decided → PlaceOrder dispatched": [],
        "frame read → PlaceOrder dispatched": [],
        "quote sent → PlaceOrder dispatched": [],
        "PlaceOrder dispatched → intent durable": [],
        "intent durable → gateway called": [],
        "PlaceOrder dispatched → gateway called": [],
        "quote sent → gateway called": [],
    }
    # one (dispatch, gateway, order id) per breach
    firsts: dict[datetime, tuple[float, float, str]] = {}
    for at_gateway, order in submitted:
        seen = dispatched.get(order.client_order_id)
        if seen is None:
            continue
        quote_t, at_dispatch = seen
        if quote_t not in firsts or at_dispatch < firsts[quote_t][0]:
            firsts[quote_t] = (at_dispatch, at_gateway, order.client_order_id)
    for i, (quote_t, (at_dispatch, at_gateway, coid)) in enumerate(sorted(firsts.items())):
        if i < WARMUP:
            continue
        sent = quote_t.timestamp()
        read = read_at.get(quote_t)
        queued, taken = queued_at.get(quote_t), taken_at.get(quote_t)
        if read is not None and queued is not None and taken is not None:
            stages["frame read → batch queued"].append(queued - read)
            stages["batch queued → consumer took it"].append(taken - queued)
            stages["consumer took it → engine decided"].append(decided_at[coid] - taken)
            stages["engine decided → PlaceOrder dispatched"].append(
                at_dispatch - decided_at[coid])
        if read is not None:
            stages["frame read → PlaceOrder dispatched"].append(at_dispatch - read)
        durable = durable_at.get(coid)
        if durable is not None:
            stages["PlaceOrder dispatched → intent durable"].append(durable - at_dispatch)
            stages["intent durable → gateway called"].append(at_gateway - durable)
        stages["quote sent → PlaceOrder dispatched"].append(at_dispatch - sent)
        stages["PlaceOrder dispatched → gateway called"].append(at_gateway - at_dispatch)
        stages["quote sent → gateway called"].append(at_gateway - sent)
    n = len(stages["quote sent → PlaceOrder dispatched"])
    print(
        f"  {n} breaches measured (of {stats['breaches']} sent; first {WARMUP} skipped); "
        f"background {quotes / elapsed:,.0f} quotes/s consumed, {dropped:,} dropped"
    )
    for name, values in stages.items():
        print(f"  {name:<42} {percentiles(values)}")
    print(f"  {'intent log fdatasync':<42} {percentiles(syncs[WARMUP:])}")
    if waited and waited[-1] == waited[-1]:  # nan: no schedstat here
        print(f"  {'… of it waiting for the CPU (run queue)':<42} {percentiles(waited[WARMUP:])}")
    print(f"  load average at end {load_average()}")
    total = sorted(stages["quote sent → gateway called"])
    if total:
        p99 = total[min(len(total) - 1, round(0.99 * (len(total) - 1)))] * 1e3
        aimed = args.symbols == 20  # issue 14's aim is for 20 symbols at 100 k quotes/s
        result(f"breach → broker call, {args.symbols} symbols at {args.rate / 1e3:,.0f} k quotes/s",
               f"p99 {p99:.2f} ms ({n} breaches, {dropped:,} dropped)",
               "p99 < 2 ms" if aimed else "", (p99 < 2.0) if aimed else None)  # fmt: skip
    return stages


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench.bench_breach_latency")
    p.add_argument("--rate", type=float, default=100_000.0, help="background quotes/s")
    p.add_argument("--symbols", type=int, default=500)
    p.add_argument("--batch", type=int, default=200, help="quotes per background frame")
    p.add_argument("--breaches", type=int, default=300, help="breaches to measure (≥ 200)")
    p.add_argument("--breach-every", type=float, default=0.04, help="seconds between breaches")
    p.add_argument("--cpu", type=int, default=0, choices=(0, 1))
    p.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="sys.setswitchinterval for this run, seconds (default: Python's 0.005)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    main()
