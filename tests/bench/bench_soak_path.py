"""The SIP soak's quote path stage by stage, in one process, on the soak's own frames.

    .venv/bin/python -m tests.bench.bench_soak_path          # CPU µs per quote, best of 3
    .venv/bin/python -m tests.bench.bench_soak_path --count  # instructions per quote

The frames are ``tests.bench.ws_feed``'s paced templates (5,000 symbols, frames of 500,
mids within ±0.2 %), re-stamped. Stages: (1) ``AlpacaMarketData._handle`` + ``_flush``
(msgspec decode, each symbol's newest held, the quote events built), (2) the journal's
``PendingQuotes.add`` (quotes conflated in memory), (3) ``Engine.handle(QuoteBatch)``
(prices, drift, the breach test) for a 5,000-asset portfolio at its targets. No socket,
no loop, the collector off: what the soak's CPU per quote is made of, minus the
websocket's framing and the loop. ``--count`` runs each stage under valgrind's callgrind
(needs ``valgrind``, about a minute) twice, with and without the counted frames after
the same set-up, and prints the difference per quote: a figure load does not move. To
compare with another tree: ``PYTHONPATH=<tree> python <this file> --count``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.data_stream import AlpacaMarketData
from adapters.store.pending_quotes import PendingQuotes
from daemon.core.engine.kernel import Engine
from daemon.core.events import QuoteBatch
from tests.bench.daemon_harness import MemoryAccount, bench_config
from tests.bench.ws_feed import _ENCODE, FeedSpec, _Feed

N_SYMBOLS = 5000
STAGES = ("ingest", "journal", "engine")


def _frames(n: int) -> list[bytes]:
    feed = _Feed(FeedSpec(mode="paced", symbols=N_SYMBOLS, batch=500, rate=200_000.0))
    out = []
    for i, template in enumerate(feed.templates[:n]):
        at = datetime.fromtimestamp(1.7e9 + i * 0.0025, UTC)
        for q in template:
            q["t"] = at
        out.append(_ENCODE(template))
    return out


def _setup(n_frames: int) -> tuple[list[bytes], dict[str, Callable[[int], int]]]:
    """The frames, and per stage a function that runs it ``reps`` times over them (after
    one warm-up pass here) and returns the quotes it handled."""
    frames = _frames(n_frames)
    account = MemoryAccount(N_SYMBOLS)
    engine = Engine(bench_config(N_SYMBOLS, "unused"), "bench")
    engine.handle(asyncio.run(account.snapshot()))
    engine.handle(asyncio.run(account.clock()))
    feed = AlpacaMarketData("ws://unused", Credentials(Secret("k"), Secret("s")),
                            now=lambda: datetime.now(UTC))
    batches: list[Any] = []

    def read() -> list[QuoteBatch]:
        out: list[Any] = []
        for f in frames:
            feed._flush_soon = True  # flushed here, not by the loop (there is none)
            feed._handle(f, out.append)
            feed._flush()
        return out

    batches = read()
    for b in batches:  # every symbol quoted once: the steady state
        engine.handle(b)
    pending = PendingQuotes()

    def ingest(reps: int) -> int:
        return sum(len(b.quotes) for _ in range(reps) for b in read())

    def journal(reps: int) -> int:
        for _ in range(reps):
            for b in batches:
                pending.add(b)
            pending.take()
        return reps * sum(len(b.quotes) for b in batches)

    def engine_stage(reps: int) -> int:
        handle = engine.handle
        for _ in range(reps):
            for b in batches:
                handle(b)
        return reps * sum(len(b.quotes) for b in batches)

    return frames, {"ingest": ingest, "journal": journal, "engine": engine_stage}


def bench_cpu(n_frames: int = 64, reps: int = 10) -> dict[str, float]:
    _, stages = _setup(n_frames)
    gc.disable()
    out: dict[str, float] = {}
    for name, run in stages.items():
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            quotes = run(reps)
            best = min(best, (time.process_time() - start) / quotes)
        out[name] = best * 1e6
    gc.enable()
    print("soak path, CPU µs per quote (best of 3): " + ", ".join(
        f"{k} {v:.3f}" for k, v in out.items()) + f"; total {sum(out.values()):.3f}")
    return out


def _inner(stage: str, reps: int) -> None:
    _, stages = _setup(16)
    gc.disable()
    stages[stage](reps)


def count(reps: int = 4) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())}
    out: dict[str, float] = {}
    for stage in STAGES:
        totals = []
        for r in (0, reps):
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                   sys.executable, __file__, "--inner", stage, str(r)]  # fmt: skip
            run = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            found = re.search(r"Collected : (\d+)", run.stderr)
            if found is None:
                raise SystemExit(f"no instruction count in valgrind's output:\n{run.stderr[-2000:]}")
            totals.append(int(found.group(1)))
        quotes = reps * 16 * 500
        out[stage] = (totals[1] - totals[0]) / quotes
    print("soak path, instructions per quote: " + ", ".join(
        f"{k} {v:,.0f}" for k, v in out.items()) + f"; total {sum(out.values()):,.0f}")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.bench.bench_soak_path")
    p.add_argument("--count", action="store_true", help="instructions per quote (callgrind)")
    p.add_argument("--inner", nargs=2, metavar=("STAGE", "REPS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.inner:
        _inner(args.inner[0], int(args.inner[1]))
    elif args.count:
        count()
    else:
        bench_cpu()


if __name__ == "__main__":
    main()
