"""The SQLite journal: codec cost, event throughput, quote conflation, intent latency.

Run: ``.venv/bin/python -m tests.bench.bench_journal [n_events]``. Prints figures; asserts
nothing about speed. Uses a fresh journal in a temporary directory (on the disk that holds
/tmp, so the fsync figures are that disk's).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from adapters.store import codec
from adapters.store.journal import SqliteJournal
from daemon.core.commands import PlaceOrder
from daemon.core.events import OrderFilled, QuoteUpdated, TimerFired
from daemon.core.model import Side
from tests.clocks import StepClock

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def bench_codec(n: int) -> None:
    fill = OrderFilled(T0, "run-1", "exec-1", Decimal("1.25"), Decimal("401.17"), Decimal("3"))
    t = time.perf_counter()
    for _ in range(n):
        text = codec.dumps(fill)
    enc = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        codec.loads("OrderFilled", text)
    dec = (time.perf_counter() - t) / n
    print(f"codec OrderFilled: encode {enc * 1e6:.1f} µs, decode {dec * 1e6:.1f} µs")


async def bench_events(directory: Path, n: int) -> None:
    journal = await SqliteJournal.open(directory / "events.sqlite3", clock=StepClock())
    events = [TimerFired(T0 + timedelta(milliseconds=i), f"k{i}") for i in range(n)]
    t = time.perf_counter()
    for e in events:
        journal.record_event(e)
    enqueue = time.perf_counter() - t
    await journal.flush()
    total = time.perf_counter() - t
    print(
        f"record_event x{n}: enqueue {enqueue / n * 1e6:.2f} µs/event on the loop; "
        f"committed {n / total:,.0f} events/s (writer thread, batched)"
    )
    await journal.close()


async def bench_quotes(directory: Path, n: int) -> None:
    journal = await SqliteJournal.open(directory / "quotes.sqlite3", clock=StepClock())
    symbols = [f"S{i:03d}" for i in range(100)]
    quotes = [QuoteUpdated(T0, symbols[i % 100], 100.0, 100.1) for i in range(n)]
    t = time.perf_counter()
    for q in quotes:
        journal.record_event(q)
    per = (time.perf_counter() - t) / n
    await journal.flush()
    print(
        f"record_event(QuoteUpdated) conflated x{n}: {per * 1e9:.0f} ns/quote "
        f"({1 / per:,.0f} quotes/s of one core); {journal.quotes_conflated} superseded"
    )
    await journal.close()


async def bench_intents(directory: Path, n: int) -> None:
    journal = await SqliteJournal.open(directory / "intents.sqlite3", clock=StepClock())
    latencies = []
    for i in range(n):
        order = PlaceOrder(f"o{i}", "SPY", Side.BUY, Decimal("1"), None, Decimal("401.25"))
        t = time.perf_counter()
        await journal.record_intent(order)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"record_intent x{n} (fsync'd commit each): p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"
    )
    await journal.close()


async def bench_group_commit(directory: Path, n: int) -> None:
    """The loop thread's CPU in ``record_intents`` for one order (the breach path's group
    commit), its sync left out (a no-op: the disk is another figure): each round first lets
    the writer commit other writes, as between two breaches in the daemon."""
    journal = await SqliteJournal.open(directory / "group.sqlite3", clock=StepClock(),
                                       intent_sync=lambda fd: None)
    cpu = []
    for i in range(n):
        journal.record_event(TimerFired(T0 + timedelta(seconds=i), f"k{i}"))
        await journal.flush()  # the WAL changed since the last read, as in the daemon
        order = PlaceOrder(f"rb-20260302T143000-a1b2c3-{i:08d}", "SPY", Side.BUY, Decimal("1"),
                           None, Decimal("401.25"), decision_id=f"d{i}")
        t = time.thread_time()
        journal.record_intents([order])
        cpu.append(time.thread_time() - t)
    cpu.sort()
    print(f"record_intents x{n}, one order each, sync left out: loop thread CPU "
          f"p50 {statistics.median(cpu) * 1e6:.0f} µs, p90 {cpu[int(n * 0.9)] * 1e6:.0f} µs")
    await journal.close()


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
        directory = Path(tmp)
        bench_codec(20_000)
        await bench_events(directory, n)
        await bench_quotes(directory, n * 10)
        await bench_intents(directory, 200)
        await bench_group_commit(directory, 2000)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
