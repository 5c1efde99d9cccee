"""Quote hot path: msgpack batches of 100 quotes → QuoteUpdated, quotes/s.

Ours: ``AlpacaMarketData._handle`` (msgspec decodes the batch straight into tagged Structs,
then one positional ``QuoteUpdated`` per quote). Reference: alpaca-py's own path on the same
bytes (``msgpack.unpackb`` into dicts, then ``DataStream._cast`` into its ``Quote`` model),
alone and followed by building the same ``QuoteUpdated``.

    .venv/bin/python -m tests.bench.bench_quote_decode
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgpack

from adapters.alpaca import wire
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.data_stream import AlpacaMarketData
from daemon.core.events import Event, QuoteBatch, QuoteUpdated

STAMP = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)  # feed events' stamp (none are made here)

BATCH = 100
BATCHES = 200
ROUNDS = 5


def make_frames(seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    symbols = [f"SYM{i:02d}" for i in range(30)]
    frames = []
    t0 = 1_721_807_813
    for b in range(BATCHES):
        batch = []
        for i in range(BATCH):
            mid = 100 + rng.random() * 50
            batch.append(
                {
                    "T": "q",
                    "S": rng.choice(symbols),
                    "bx": "V",
                    "bp": round(mid - 0.01, 2),
                    "bs": rng.randint(1, 9),
                    "ax": "V",
                    "ap": round(mid + 0.01, 2),
                    "as": rng.randint(1, 9),
                    "c": ["R"],
                    "z": "C",
                    "t": msgpack.Timestamp(t0 + b, i * 1_000_000 + 123),
                }
            )
        frames.append(msgpack.packb(batch, datetime=False))
    return frames


def measure(name: str, fn: Callable[[list[bytes]], int], frames: list[bytes]) -> float:
    fn(frames[:10])  # warm up
    best = float("inf")
    count = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        count = fn(frames)
        best = min(best, time.perf_counter() - start)
    rate = count / best
    print(f"{name:<52} {rate:>12,.0f} quotes/s   ({best / len(frames) * 1e6:8.1f} µs/batch)")
    return rate


def ours(frames: list[bytes]) -> int:
    creds = Credentials(Secret("k"), Secret("s"))
    md = AlpacaMarketData("ws://unused", creds, now=lambda: STAMP)
    out: list[Event] = []
    for frame in frames:
        md._flush_soon = True  # no loop here: flush by hand below, as the loop would
        md._handle(frame, out.append)
        md._flush()  # each frame its own QuoteBatch (as when the consumer keeps up)
    assert md.malformed == 0
    assert sum(len(b.quotes) + b.conflated for b in out if isinstance(b, QuoteBatch)) == md.quotes
    return md.quotes  # every quote read (a symbol's older quotes in one frame are conflated)


def ours_decode_only(frames: list[bytes]) -> int:
    n = 0
    for frame in frames:
        n += len(wire.STREAM_BATCH_MSGPACK.decode(frame))
    return n


def alpaca_py(to_events: bool) -> Callable[[list[bytes]], int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from alpaca.data.live.stock import StockDataStream
    stream = StockDataStream("k", "s")

    def run(frames: list[bytes]) -> int:
        out: list[Any] = []
        for frame in frames:
            for msg in msgpack.unpackb(frame):
                q = stream._cast(msg)
                if to_events:
                    out.append(
                        QuoteUpdated(
                            q.timestamp, q.symbol, q.bid_price, q.ask_price, q.bid_size, q.ask_size
                        )
                    )
                else:
                    out.append(q)
        return len(out)

    return run


def main() -> None:
    frames = make_frames()
    print(f"{BATCHES} msgpack batches × {BATCH} quotes, best of {ROUNDS}")
    fast = measure("rebalanced: msgspec Structs → QuoteUpdated", ours, frames)
    measure("rebalanced: msgspec decode only", ours_decode_only, frames)
    ref = measure("alpaca-py: unpackb + _cast → Quote model", alpaca_py(False), frames)
    ref2 = measure("alpaca-py: unpackb + _cast + QuoteUpdated", alpaca_py(True), frames)
    print(
        f"speed-up vs alpaca-py models: {fast / ref:.1f}×; vs models + events: {fast / ref2:.1f}×"
    )


if __name__ == "__main__":
    main()
