"""A local market-data feed for the benchmarks: a separate process speaking Alpaca's stock
data-stream protocol (msgpack frames, ``t`` as a msgpack Timestamp ext) on 127.0.0.1.

Two modes, chosen by ``FeedSpec.mode``:

- ``replay``: every connection gets the same pre-generated stream (``quotes`` quotes for
  ``symbols`` symbols in frames of ``batch``), sent as fast as the client reads it. The
  frames are encoded once, before the port is handed back, so the feed costs the clients
  nothing but the socket.
- ``paced``: a steady ``rate`` quotes/s in frames of ``batch`` quotes, each frame stamped
  with the wall-clock time it is sent (``t``); every ``breach_every`` seconds one extra
  frame carries a single quote ``BREACH_FACTOR`` × its symbol's base price (out of the
  relative 25 % band the benchmarks configure, yet below the engine's split-suspect jump). Both processes read the same clock (CLOCK_REALTIME), so a
  quote's ``t`` is its send time as the daemon sees it.

All in-band quotes stay within ±0.2 % of ``base_prices()``: the daemon's drift is updated
on every quote, but no band is breached by them.

Use ``start_feed(spec)`` (a context manager): it spawns the process, pinned to ``cpu`` if
given, and yields a ``FeedHandle`` with the URL and ``stats()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any, Literal

import msgspec

KEY, SECRET = "bench-key", "bench-secret"
T0 = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)
_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder().decode
BREACH_FACTOR = 1.3


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def base_prices(n: int) -> dict[str, float]:
    """The price every symbol's quotes wander around (±0.2 %), 20 … 519.5 dollars."""
    return {s: 20.0 + (i * 37 % 500) for i, s in enumerate(symbols(n))}


@dataclass(frozen=True)
class FeedSpec:
    mode: Literal["replay", "paced"] = "replay"
    symbols: int = 500
    batch: int = 500
    quotes: int = 1_000_000  # replay: quotes per connection
    rate: float = 100_000.0  # paced: quotes per second
    breach_every: float = 0.0  # paced: seconds between breach frames (0: none)
    deflate: bool = False  # permessage-deflate (Alpaca supports it; both clients offer it)
    cpu: int | None = None
    seed: int = 7


def _quote(sym: str, mid: float, t: datetime, k: int) -> dict[str, Any]:
    return {"T": "q", "S": sym, "bx": "V", "bp": round(mid - 0.01, 2), "bs": 1 + k % 9,
            "ax": "V", "ap": round(mid + 0.01, 2), "as": 1 + k % 7, "c": ["R"], "z": "C",
            "t": t}  # fmt: skip


def replay_frames(spec: FeedSpec) -> list[bytes]:
    """The pre-generated stream: random symbols, mids within ±0.2 % of base, t rising 1 µs."""
    rng = random.Random(spec.seed)
    prices = list(base_prices(spec.symbols).items())
    frames: list[bytes] = []
    k = 0
    while k < spec.quotes:
        n = min(spec.batch, spec.quotes - k)
        batch = []
        for _ in range(n):
            sym, base = prices[rng.randrange(len(prices))]
            mid = base * (1.0 + rng.uniform(-0.002, 0.002))
            batch.append(_quote(sym, mid, T0 + timedelta(microseconds=k), k))
            k += 1
        frames.append(_ENCODE(batch))
    return frames


class _Feed:
    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.frames = replay_frames(spec) if spec.mode == "replay" else []
        self.stats: dict[str, int] = {"connections": 0, "quotes": 0, "frames": 0, "breaches": 0}
        rng = random.Random(spec.seed)
        prices = list(base_prices(spec.symbols).items())
        # paced mode: 64 frame templates, re-stamped with the send time
        self.templates: list[list[dict[str, Any]]] = []
        if spec.mode == "paced":
            for f in range(64):
                batch = []
                for j in range(spec.batch):
                    sym, base = prices[(f * spec.batch + j) % len(prices)]
                    mid = base * (1.0 + rng.uniform(-0.002, 0.002))
                    batch.append(_quote(sym, mid, T0, j))
                self.templates.append(batch)
        self.prices = prices

    async def handler(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        self.stats["connections"] += 1
        with contextlib.suppress(ConnectionClosed):  # the client leaving ends the stream
            await self._serve_one(ws)

    async def _serve_one(self, ws: Any) -> None:
        await ws.send(_ENCODE([{"T": "success", "msg": "connected"}]))
        auth = _DECODE(await ws.recv())
        if auth.get("key") != KEY or auth.get("secret") != SECRET:
            await ws.send(_ENCODE([{"T": "error", "code": 402, "msg": "auth failed"}]))
            return
        await ws.send(_ENCODE([{"T": "success", "msg": "authenticated"}]))
        sub = _DECODE(await ws.recv())
        await ws.send(_ENCODE([{"T": "subscription", "trades": [], "bars": [],
                                "quotes": sub.get("quotes", []),
                                "statuses": sub.get("statuses", [])}]))  # fmt: skip
        if self.spec.mode == "replay":
            for frame in self.frames:
                await ws.send(frame)
                self.stats["frames"] += 1
            self.stats["quotes"] += self.spec.quotes
            await ws.wait_closed()
        else:
            await self._paced(ws)

    async def _paced(self, ws: Any) -> None:
        spec = self.spec
        loop = asyncio.get_running_loop()
        interval = spec.batch / spec.rate
        start = loop.time()
        next_breach = start + spec.breach_every if spec.breach_every > 0 else float("inf")
        k = 0
        b = 0
        stats = self.stats
        while True:
            due = start + k * interval
            now = loop.time()
            if now >= next_breach:
                sym, base = self.prices[(b * 7) % len(self.prices)]
                at = datetime.fromtimestamp(time.time(), UTC)
                await ws.send(_ENCODE([_quote(sym, base * BREACH_FACTOR, at, b)]))
                b += 1
                stats["breaches"] += 1
                next_breach += spec.breach_every
                continue
            if due > now:
                await asyncio.sleep(min(due, next_breach) - now)
                continue
            batch = self.templates[k % len(self.templates)]
            at = datetime.fromtimestamp(time.time(), UTC)
            for q in batch:
                q["t"] = at
            await ws.send(_ENCODE(batch))
            k += 1
            stats["frames"] += 1
            stats["quotes"] += len(batch)


def _serve(spec: FeedSpec, conn: Connection) -> None:
    if spec.cpu is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {spec.cpu})
    from websockets.asyncio.server import serve

    feed = _Feed(spec)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def watch() -> None:  # the parent's commands, on a thread
            while True:
                try:
                    cmd = conn.recv()
                except (EOFError, OSError):
                    cmd = "stop"
                if cmd == "stats":
                    loop.call_soon_threadsafe(lambda: conn.send(dict(feed.stats)))
                    continue
                loop.call_soon_threadsafe(stop.set)
                return

        async with serve(
            feed.handler,
            "127.0.0.1",
            0,
            compression="deflate" if spec.deflate else None,
            ping_interval=None,
            max_size=None,
            write_limit=2**20,
        ) as srv:
            port = srv.sockets[0].getsockname()[1]
            threading.Thread(target=watch, daemon=True).start()
            conn.send(port)
            await stop.wait()

    asyncio.run(main())


@dataclass
class FeedHandle:
    url: str
    process: Any
    _conn: Connection

    def stats(self) -> dict[str, int]:
        self._conn.send("stats")
        result: dict[str, int] = self._conn.recv()
        return result


@contextlib.contextmanager
def start_feed(spec: FeedSpec, timeout: float = 120.0) -> Iterator[FeedHandle]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(spec, child), name="bench-feed", daemon=True)
    proc.start()
    try:
        if not parent.poll(timeout):
            raise RuntimeError(f"the benchmark feed did not start within {timeout:g} s")
        port = parent.recv()
        yield FeedHandle(f"ws://127.0.0.1:{port}/v2/sip", proc, parent)
    finally:
        with contextlib.suppress(OSError, BrokenPipeError):
            parent.send("stop")
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
