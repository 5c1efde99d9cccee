"""Quotes per second through the real websocket path, ours against alpaca-py's, same feed.

    .venv/bin/python -m tests.bench.bench_ws_path [--quotes 1000000] [--batch 500]
                                                  [--symbols 500] [--deflate] [--cpu 0]

ONE feed process (``tests.bench.ws_feed``, pinned to the other core) replays the same
pre-generated stream — ``--quotes`` in-band quotes for ``--symbols`` symbols in msgpack
frames of ``--batch`` — to each connection, as fast as the client reads. This process,
pinned to ``--cpu``, then runs one client after the other:

1. rebalanced: ``AlpacaMarketData`` → ``Service.emit`` → the bounded queue → the single
   consumer → ``Engine.handle`` (drift updated on every quote; quotes journaled conflated;
   the real Service with a real Engine, SQLite journal and metrics). Counted from the
   service's consumed-quote counter.
2. alpaca-py 0.44 ``StockDataStream`` (``url_override`` to the feed, ``_run_forever()`` in
   this loop), with a handler doing what a user keeping drift current would: keep the
   latest quote per symbol and update the same ``DriftTracker`` the engine uses.
3. the same with ``raw_data=True`` (dicts instead of pydantic models): alpaca-py's fastest.
4. the bare limit: ``websockets`` + msgspec decode into the same Structs + a price update
   per quote (a dict store of the mid), nothing else: what any Python client of this feed
   must spend at least.

Ratios (ours ÷ each) are printed, and as ``RESULT`` lines with the aims of issue 14
(≥ 10× alpaca-py default, ≥ 4× ``raw_data``, ≥ 40 % of the bare limit) for ``run_all``.

Each rate is quotes handled ÷ time between two polls of the counter (every 2 ms), the first
taken once the client is streaming, the last once all quotes are in; quotes dropped by a full
queue are counted and printed, never counted as handled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.core.model import Holdings
from daemon.core.triggers.drift import DriftTracker
from tests.bench.daemon_harness import (
    MemoryAccount,
    bench_config,
    load_average,
    pin_to_cpu,
    quiet_logging,
    running_daemon,
)
from tests.bench.summary import result
from tests.bench.ws_feed import KEY, SECRET, FeedSpec, base_prices, start_feed

POLL = 0.002


@dataclass
class Rate:
    name: str
    quotes: int
    seconds: float
    dropped: int = 0
    conflated: int = 0

    @property
    def per_second(self) -> float:
        return self.quotes / self.seconds if self.seconds > 0 else 0.0


async def _measure(
    progress: Callable[[], int], handled: Callable[[], int], total: int, limit: float
) -> tuple[int, float]:
    """Poll until ``progress()`` (quotes handled or dropped) reaches ``total``; returns the
    quotes ``handled()`` and the seconds between the first poll that saw the stream moving
    and the one that saw it complete."""
    deadline = time.monotonic() + limit
    first: tuple[int, float] | None = None
    last_p = progress()
    while True:
        await asyncio.sleep(POLL)
        p = progress()
        now = time.perf_counter()
        if first is None and p > last_p:
            first = (handled(), now)
        last_p = p
        if p >= total:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {p:,} of {total:,} quotes after {limit:g} s")
    assert first is not None
    return handled() - first[0], now - first[1]


async def ours(url: str, args: argparse.Namespace, tmp: Path) -> Rate:
    config = bench_config(args.symbols, str(tmp / "state"), queue_size=args.queue_size)
    opts = {"compression": "deflate" if args.deflate else None}
    async with running_daemon(url, config, args.symbols, connect_options=opts) as d:

        def progress() -> int:
            return d.quotes_seen + d.quotes_dropped

        n, seconds = await _measure(progress, lambda: d.quotes_seen, args.quotes, 120.0)
        return Rate("rebalanced: AlpacaMarketData → Service → Engine", n, seconds,
                    d.quotes_dropped, d.quotes_conflated)  # fmt: skip


def _tracker(n_symbols: int) -> DriftTracker:
    account = MemoryAccount(n_symbols)
    config = bench_config(n_symbols, "unused")
    return DriftTracker(config, Holdings(account.cash, dict(account.positions)),
                        base_prices(n_symbols))  # fmt: skip


async def alpaca_py(url: str, args: argparse.Namespace, raw: bool) -> Rate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from alpaca.data.live.stock import StockDataStream
    logging.getLogger("alpaca").setLevel(logging.WARNING)
    tracker = _tracker(args.symbols)
    update = tracker.update_quote
    last: dict[str, Any] = {}
    seen = [0]
    params = {"ping_interval": 10, "ping_timeout": 180, "max_queue": 1024, "max_size": None,
              "compression": "deflate" if args.deflate else None}  # fmt: skip
    stream = StockDataStream(KEY, SECRET, raw_data=raw, url_override=url, websocket_params=params)

    if raw:

        async def on_quote(q: Any) -> None:
            last[q["S"]] = q
            update(q["S"], q["bp"], q["ap"])
            seen[0] += 1
    else:

        async def on_quote(q: Any) -> None:
            last[q.symbol] = q
            update(q.symbol, q.bid_price, q.ask_price)
            seen[0] += 1

    stream.subscribe_quotes(on_quote, *base_prices(args.symbols))
    task = asyncio.create_task(stream._run_forever())
    try:
        n, seconds = await _measure(lambda: seen[0], lambda: seen[0], args.quotes, 600.0)
    finally:
        await stream.stop_ws()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            async with asyncio.timeout(5):
                await task
        if not task.done():
            task.cancel()
    label = "raw_data=True, dicts" if raw else "Quote models (default)"
    return Rate(f"alpaca-py StockDataStream, {label}", n, seconds)


async def bare(url: str, args: argparse.Namespace) -> Rate:
    """websockets + msgspec + a price update: the floor under any client of this feed."""
    from websockets.asyncio.client import connect

    from adapters.alpaca import wire

    decode = wire.STREAM_BATCH_MSGPACK.decode
    quote_t = wire.StreamQuote
    mids: dict[str, float] = {}
    seen = [0]

    async def client() -> None:
        async with connect(url, max_size=None, compression=None) as ws:
            await ws.recv()
            await ws.send(wire.MSGPACK_ENCODER.encode({"action": "auth", "key": KEY,
                                                       "secret": SECRET}))  # fmt: skip
            await ws.recv()
            await ws.send(wire.MSGPACK_ENCODER.encode(
                {"action": "subscribe", "quotes": list(base_prices(args.symbols))}))
            await ws.recv()
            n = 0
            while True:
                for m in decode(await ws.recv()):
                    if type(m) is quote_t:
                        mids[m.S] = (m.bp + m.ap) * 0.5
                        n += 1
                seen[0] = n

    task = asyncio.create_task(client())
    try:
        n, seconds = await _measure(lambda: seen[0], lambda: seen[0], args.quotes, 120.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    return Rate("bare: websockets + msgspec + a price update", n, seconds)


async def run(args: argparse.Namespace) -> list[Rate]:
    pinned = pin_to_cpu(args.cpu)
    spec = FeedSpec(mode="replay", symbols=args.symbols, batch=args.batch, quotes=args.quotes,
                    deflate=args.deflate, cpu=1 - args.cpu)  # fmt: skip
    rates: list[Rate] = []
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp, start_feed(spec) as feed:
        logf = quiet_logging(Path(tmp) / "daemon.log")
        print(f"bench_ws_path: {args.quotes:,} quotes, {args.symbols} symbols, msgpack frames "
              f"of {args.batch}{', permessage-deflate' if args.deflate else ''}; one feed "
              f"process on cpu {1 - args.cpu}; clients {pinned}; load average "
              f"{load_average()}", flush=True)  # fmt: skip
        rates.append(await ours(feed.url, args, Path(tmp)))
        _print(rates[-1])
        rates.append(await alpaca_py(feed.url, args, raw=False))
        _print(rates[-1])
        if not args.skip_raw:
            rates.append(await alpaca_py(feed.url, args, raw=True))
            _print(rates[-1])
        rates.append(await bare(feed.url, args))
        _print(rates[-1])
        logf.close()
    ours_r = rates[0]
    for r in rates[1:]:
        print(f"  ratio rebalanced / {r.name}: {ours_r.per_second / r.per_second:.2f}×")
    load = load_average()
    print(f"  load average at end {load}")
    _results(rates, load)
    return rates


def _results(rates: list[Rate], load: str) -> None:
    ours_r, *others = rates
    note = f"{ours_r.per_second / 1e3:,.0f} k/s"
    if ours_r.conflated:
        note += f", {ours_r.conflated / max(ours_r.quotes, 1):.0%} conflated"
    for r in others:
        ratio = ours_r.per_second / r.per_second
        if r.name.startswith("bare"):
            result("ingest vs the bare limit", f"{ratio:.0%} ({note} vs {r.per_second / 1e3:,.0f} k/s)",
                   "≥ 40 %", ratio >= 0.40)  # fmt: skip
        elif "raw_data" in r.name:
            result("ingest vs alpaca-py raw_data", f"{ratio:.1f}× ({note} vs {r.per_second / 1e3:,.0f} k/s)",
                   "≥ 4×", ratio >= 4.0)  # fmt: skip
        else:
            result("ingest vs alpaca-py default", f"{ratio:.1f}× ({note} vs {r.per_second / 1e3:,.0f} k/s)",
                   "≥ 10×", ratio >= 10.0)  # fmt: skip


def _print(r: Rate) -> None:
    drop = f", {r.dropped:,} dropped" if r.dropped else ""
    if r.conflated:
        drop += f", {r.conflated:,} conflated under backlog"
    print(f"  {r.name:<58} {r.per_second:>11,.0f} quotes/s ({r.quotes:,} in {r.seconds:.2f} s"
          f"{drop})", flush=True)  # fmt: skip


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.bench.bench_ws_path")
    p.add_argument("--quotes", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=500, help="quotes per msgpack frame")
    p.add_argument("--symbols", type=int, default=500)
    p.add_argument("--deflate", action="store_true", help="permessage-deflate on the socket")
    p.add_argument("--cpu", type=int, default=0, choices=(0, 1),
                   help="core for the clients (the feed gets the other one)")  # fmt: skip
    p.add_argument("--queue-size", type=int, default=10_000, help="[daemon] queue_size")
    p.add_argument("--skip-raw", action="store_true", help="skip alpaca-py raw_data=True")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    main()
