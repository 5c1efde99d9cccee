"""How many quotes per second the paper exchange can publish on one market-data
websocket as msgpack batches, received and fully decoded by a client in another process.

    .venv/bin/python -m tests.bench.bench_sim_stream [--quotes 1000000] [--batch 500]

The server runs in this process (the real aiohttp app, ``DataStreamHub.publish`` as the
exchange calls it: per-connection subscription filter + msgspec msgpack encoding with
Timestamp ext values + the per-connection outbox). The client, in a child process,
connects, authenticates, subscribes to ``quotes: ["*"]`` and decodes every frame with
``msgpack.unpackb`` (what alpaca-py does), counting quotes. Also prints the publish-side
cost alone (filter + encode, no socket).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from datetime import UTC, datetime, timedelta
from typing import Any

KEY, SECRET = "bench-key", "bench-secret"
SYMBOLS = [f"S{i:03d}" for i in range(100)]


def make_batches(batch: int, n_batches: int = 20) -> list[list[dict[str, Any]]]:
    t0 = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)
    out = []
    k = 0
    for _ in range(n_batches):
        b = []
        for _ in range(batch):
            px = 100.0 + (k % 100) * 0.01
            b.append({"T": "q", "S": SYMBOLS[k % len(SYMBOLS)], "bx": "V", "bp": px, "bs": 3,
                      "ax": "V", "ap": px + 0.02, "as": 4, "c": ["R"], "z": "A",
                      "t": t0 + timedelta(microseconds=k)})  # fmt: skip
            k += 1
        out.append(b)
    return out


def client_main(url: str, total: int, result: Any, compression: str | None) -> None:
    import msgpack
    from websockets.sync.client import connect

    with connect(
        url,
        additional_headers={"Content-Type": "application/msgpack"},
        max_size=None,
        compression=compression,
    ) as ws:
        ws.recv()
        ws.send(msgpack.packb({"action": "auth", "key": KEY, "secret": SECRET}))
        ws.recv()
        ws.send(msgpack.packb({"action": "subscribe", "quotes": ["*"]}))
        ws.recv()
        result.put(("ready", 0.0, 0))
        got = 0
        start = None
        last_ts = None
        while got < total:
            msgs = msgpack.unpackb(ws.recv())
            if start is None:
                start = time.perf_counter()
            for m in msgs:
                last_ts = m["t"]  # a msgpack.Timestamp, as alpaca-py needs
            got += len(msgs)
        elapsed = time.perf_counter() - (start or time.perf_counter())
        assert last_ts is not None and last_ts.to_datetime().year == 2026
        result.put(("done", elapsed, got))


class _Quiet:
    """The server needs an exchange; the benchmark feeds the hub directly."""

    def step(self) -> None:
        pass


async def run(total: int, batch: int, compression: str | None) -> None:
    from adapters.sim.server import SimServerOptions, create_app, start

    opts = SimServerOptions(key_id=KEY, secret=SECRET, data_symbol_cap=0, max_queued_frames=100_000)
    app = create_app(_Quiet(), options=opts, run_ticker=False)
    server = await start(app, "127.0.0.1", 0)
    from adapters.sim.server import SIM_STATE

    hub = app[SIM_STATE].data_hub
    batches = make_batches(batch)
    ctx = mp.get_context("spawn")
    result = ctx.Queue()
    url = f"ws://127.0.0.1:{server.port}/v2/sip"
    proc = ctx.Process(target=client_main, args=(url, total, result, compression))
    proc.start()
    loop = asyncio.get_running_loop()
    kind, _, _ = await loop.run_in_executor(None, result.get)
    assert kind == "ready"
    (conn,) = hub.connections
    sent = 0
    t0 = time.perf_counter()
    i = 0
    while sent < total:
        await conn.outbox.wait_below(64)  # keep a short queue: measure throughput, not drops
        hub.publish(batches[i % len(batches)])
        sent += batch
        i += 1
        if i % 8 == 0:
            await asyncio.sleep(0)
    publish_done = time.perf_counter() - t0
    kind, elapsed, got = await loop.run_in_executor(None, result.get)
    proc.join(10)
    await server.close()

    # the publish side alone: filter + encode per batch, no socket
    from adapters.sim.data_stream import encode_batch

    n = 0
    t1 = time.perf_counter()
    while n < 500_000:
        encode_batch(conn.select(batches[(n // batch) % len(batches)]), True)
        n += batch
    encode_rate = n / (time.perf_counter() - t1)

    print(
        f"bench_sim_stream: {total:,} quotes in msgpack batches of {batch}, one websocket, 127.0.0.1"
    )
    print(f"  received+decoded by client: {got / elapsed:,.0f} quotes/s ({elapsed:.2f} s)")
    print(f"  server publish loop:        {sent / publish_done:,.0f} quotes/s")
    print(f"  filter+encode only:         {encode_rate:,.0f} quotes/s")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m tests.bench.bench_sim_stream")
    p.add_argument("--quotes", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--no-deflate", action="store_true", help="client refuses permessage-deflate")
    a = p.parse_args()
    asyncio.run(run(a.quotes, a.batch, None if a.no_deflate else "deflate"))


if __name__ == "__main__":
    main()
