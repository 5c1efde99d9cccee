"""MarketDataFeed: one msgpack websocket to Alpaca's stock data stream.

Connect (``Content-Type: application/msgpack``) → ``auth`` → subscribe quotes (+ statuses)
→ fetch latest quotes over REST and emit them (one ``QuoteBatch``) → ``FeedRestored`` →
stream: each frame's quotes as one ``QuoteBatch`` (one queue item per frame), statuses as
``TradingStatusChanged`` in their place. Under backlog (frames already buffered in the
socket, read back to back) the frames read before the reader yields go out as one batch of
each symbol's newest quote, the others counted (``QuoteBatch.conflated``). A mute socket
(no message for ``stale_after`` seconds) is reconnected; every disconnect emits ``FeedLost``
and reconnects with full-jitter backoff (at least the reap window after 406 / HTTP 429).
Malformed messages are counted and dropped, never fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from adapters.alpaca import parse, wire
from adapters.alpaca.credentials import Credentials
from adapters.alpaca.reconnect import (
    MAX_REFUSALS,
    StreamRefused,
    StreamRejected,
    StreamStale,
    Supervisor,
    ws_connect_options,
)
from adapters.backoff import Backoff
from adapters.ports import Emit, FeedStats
from daemon.core.events import QuoteBatch, QuoteUpdated, TradingStatusChanged

FEED = "market_data"
PERMANENT_CODES = {
    402: "auth failed: check the API keys",
    405: "symbol limit exceeded: subscribe fewer symbols or upgrade the data plan",
    409: 'insufficient subscription: the feed is not in your data plan (use feed = "iex")',
    410: "invalid subscribe action for this feed",
}

SLICE = 0.002
"""Seconds of frames read back to back before the reader yields the loop."""
MAX_HELD = 1000
"""Symbols held at most before the held quotes go out as a batch."""


def _no_emit(event: object) -> None:
    raise RuntimeError("held quotes flushed before any frame was handled")


QuoteSource = Callable[[Sequence[str]], Awaitable[Sequence[QuoteUpdated]]]


class AlpacaMarketData:
    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        latest_quotes: QuoteSource | None = None,
        stale_after: float = 30.0,
        backoff: Backoff | None = None,
        handshake_timeout: float = 10.0,
        statuses: bool = True,
        now: Callable[[], datetime],
        connect_options: dict[str, Any] | None = None,
        max_refusals: int = MAX_REFUSALS,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self.latest_quotes = latest_quotes
        self.stale_after = stale_after
        self.handshake_timeout = handshake_timeout
        self.statuses = statuses
        self.connect_options = ws_connect_options(handshake_timeout, connect_options)
        self.supervisor = Supervisor(FEED, "market data stream", "check them and broker.feed",
                                     backoff=backoff, max_refusals=max_refusals, now=now)
        # decoding counters (the reconnect counters are the supervisor's)
        self.malformed = 0
        self.messages = 0
        self.quotes = 0
        self.catchup_failures = 0
        self.conflated = 0  # quotes a newer one of the same symbol replaced before emitting
        self._held: dict[str, wire.StreamQuote] = {}  # read, not yet emitted: newest per symbol
        self._held_count = 0  # quotes read since the held ones were last all emitted
        self._held_out = 0  # … of which emitted (a flush of many symbols goes out in parts)
        self._flush_soon = False
        self._ws: ClientConnection | None = None
        self._busy: Callable[[], bool] | None = None  # the consumer has quotes still to take
        self._emit: Emit = _no_emit
        self.errors: dict[int, int] = {}

    # --- public ----------------------------------------------------------------------------

    async def run(self, symbols: Sequence[str], emit: Emit) -> None:
        """Stream until cancelled. Raises ``StreamRejected`` only for permanent refusals
        (bad keys, feed or symbol limits); a 406 or 429 backs off and retries, and more than
        ``max_refusals`` in a row raise ``StreamUnavailable``."""
        symbols = list(dict.fromkeys(symbols))
        await self.supervisor.run(lambda: self._session(symbols, emit), emit)

    def hold_quotes_while(self, busy: Callable[[], bool]) -> Callable[[], None]:
        """Backpressure from the consumer: while ``busy()`` (the quotes it was handed last
        are not taken yet) the quotes read stay held here, each symbol's newest, as decoded
        structs (cheaper than building events to conflate downstream); a trading status
        or a disconnect still emits them at once, in order. Call the returned function
        when the consumer takes its quotes: what is held goes out then."""
        self._busy = busy
        return self._resume

    def _resume(self) -> None:
        if self._held and not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    def buffered(self) -> tuple[int, int]:
        """(frames received, not yet read; quotes held): what waits in the reader."""
        messages = getattr(self._ws, "recv_messages", None)
        frames = getattr(messages, "frames", ())
        return len(frames), len(self._held)

    def stats(self) -> FeedStats:
        return self.supervisor.stats(self.messages, self.malformed)

    async def _session(self, symbols: Sequence[str], emit: Emit) -> None:
        """One connection: handshake, catch-up, ``FeedRestored``, then frames until it breaks."""
        async with connect(
            self.url,
            additional_headers={"Content-Type": "application/msgpack"},
            **self.connect_options,
        ) as ws:
            self._ws = ws
            early = await self._handshake(ws, symbols)
            self.supervisor.handshaken()
            await self._catch_up(symbols, emit)
            self.supervisor.restored(emit)
            for frame in early:
                self._handle(frame, emit)
            await self._consume(ws, emit)

    # --- connection phases -------------------------------------------------------------------

    async def _recv(self, ws: ClientConnection, seconds: float) -> bytes | str:
        try:
            async with asyncio.timeout(seconds):
                return await ws.recv()
        except TimeoutError:
            raise StreamStale(f"no message for {seconds:g} s") from None

    async def _handshake(self, ws: ClientConnection, symbols: Sequence[str]) -> list[bytes | str]:
        """Auth and subscribe; returns data frames that arrived before the subscription ack."""
        early: list[bytes | str] = []
        await self._expect(ws, "connected", early)
        await ws.send(
            wire.MSGPACK_ENCODER.encode(
                {
                    "action": "auth",
                    "key": self._credentials.key_id.reveal(),
                    "secret": self._credentials.secret_key.reveal(),
                }
            )
        )
        await self._expect(ws, "authenticated", early)
        sub: dict[str, Any] = {"action": "subscribe", "quotes": list(symbols)}
        if self.statuses:
            sub["statuses"] = list(symbols)
        await ws.send(wire.MSGPACK_ENCODER.encode(sub))
        await self._expect(ws, "subscription", early)
        return early

    async def _expect(self, ws: ClientConnection, what: str, early: list[bytes | str]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.handshake_timeout
        while True:
            frame = await self._recv(ws, max(0.0, deadline - loop.time()))
            for m in self._decode(frame):
                if isinstance(m, wire.StreamError):
                    self._error(m)
                elif isinstance(m, wire.StreamSuccess) and m.msg == what:
                    return
                elif isinstance(m, wire.StreamSubscription) and what == "subscription":
                    return
                elif not isinstance(m, wire.StreamSuccess | wire.StreamSubscription):
                    early.append(frame)
                    break

    def _error(self, m: wire.StreamError) -> None:
        self.errors[m.code] = self.errors.get(m.code, 0) + 1
        if m.code in PERMANENT_CODES:
            raise StreamRejected(
                f"market data stream: {m.code} {m.msg} ({PERMANENT_CODES[m.code]})"
            )
        if m.code == 406:
            raise StreamRefused(f"{m.code} {m.msg}")
        if m.code in (401, 404):  # not authenticated / auth timeout: start over
            raise ConnectionError(f"market data stream: {m.code} {m.msg}")

    async def _catch_up(self, symbols: Sequence[str], emit: Emit) -> None:
        if self.latest_quotes is None or not symbols:
            return
        try:
            async with asyncio.timeout(self.handshake_timeout):
                quotes = await self.latest_quotes(symbols)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.catchup_failures += 1
            return
        if quotes:
            emit(QuoteBatch(_newest(quotes), tuple(quotes)))  # one queue item

    async def _consume(self, ws: ClientConnection, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        since = loop.time()
        try:
            while True:
                frame = await self._recv(ws, self.stale_after)
                self._handle(frame, emit)
                # recv() returns frames already buffered without yielding: give the loop
                # back every SLICE seconds (loop lag stays low, the consumer runs); what
                # was read meanwhile goes out as one conflated batch (``_flush``)
                if loop.time() - since >= SLICE:
                    await asyncio.sleep(0)
                    since = loop.time()
        finally:
            self._flush(force=True)  # the newest quotes read before the socket broke

    # --- decoding ----------------------------------------------------------------------------

    def _decode(self, frame: bytes | str) -> list[wire.StreamMessage]:
        """A batch: the fast path decodes the whole array straight into Structs; if any item
        is malformed or of an unknown type, fall back to item by item and drop the bad ones."""
        binary = isinstance(frame, bytes)
        try:
            if isinstance(frame, bytes):
                return wire.STREAM_BATCH_MSGPACK.decode(frame)
            return wire.STREAM_BATCH_JSON.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
        try:
            if isinstance(frame, bytes):
                raws = wire.STREAM_RAW_MSGPACK.decode(frame)
            else:
                raws = wire.STREAM_RAW_JSON.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed += 1
            return []
        one = wire.STREAM_ONE_MSGPACK if binary else wire.STREAM_ONE_JSON
        out: list[wire.StreamMessage] = []
        for raw in raws:
            try:
                out.append(one.decode(raw))
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.malformed += 1
        return out

    def _handle(self, frame: bytes | str, emit: Emit) -> None:
        """One frame: decode it; hold its quotes (the newest per symbol) for ``_flush``,
        which runs as soon as this task yields, and emit each trading status in its place
        (the quotes held before it go out first). The only per-frame dispatch."""
        self.supervisor.frame()
        self._emit = emit
        messages = self._decode(frame)
        self.messages += len(messages)
        held = self._held
        n_quotes = 0
        others = 0
        quote_t = wire.StreamQuote
        for m in messages:
            if type(m) is quote_t:
                held[m.S] = m  # a newer quote of the symbol replaces the one held
                n_quotes += 1
            elif type(m) is wire.StreamStatus:
                self._held_count += n_quotes
                self.quotes += n_quotes
                n_quotes = 0
                self._flush(force=True)
                held = self._held
                ev: TradingStatusChanged | None = parse.status_event(m)
                if ev is not None:
                    emit(ev)
                others += 1
            elif type(m) is wire.StreamError:
                if n_quotes:  # _error may raise: the quotes held so far are counted first
                    self._held_count += n_quotes
                    self.quotes += n_quotes
                    n_quotes = 0
                self._error(m)
        if n_quotes:
            self._held_count += n_quotes
            self.quotes += n_quotes
        if held:  # (quotes before an error that did not end the session too)
            if len(held) >= MAX_HELD:  # bounds one batch's engine call (and the loop lag)
                self._flush()
            elif not self._flush_soon:
                self._flush_soon = True
                asyncio.get_running_loop().call_soon(self._flush)
        if n_quotes or others:
            self.supervisor.backoff.reset()

    def _flush(self, force: bool = False) -> None:
        """The quotes held, as one ``QuoteBatch``: one frame's when the consumer keeps up;
        under backlog (frames read back to back without yielding, or the consumer still
        busy: ``hold_quotes_while``) the newest quote per symbol of all of them, the rest
        counted in ``conflated``. Quote events are built for the quotes kept only."""
        self._flush_soon = False
        held = self._held
        if not held:
            return
        if not force and self._busy is not None and self._busy():
            return  # held until the consumer takes its quotes (``_resume``)
        kept = list(held.values())
        if len(kept) > MAX_HELD and not force:
            # at most MAX_HELD events built per step (~1.5 µs each: 5,000 SIP symbols
            # would hold the loop ~8 ms); the rest stays held, conflating, for the next
            rest = kept[MAX_HELD:]
            kept = kept[:MAX_HELD]
            self._held = {m.S: m for m in rest}
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            self._held = {}
        quotes = parse.quote_events(kept)
        if self._held:  # more parts to come: what was left out is counted with the last
            self._held_out += len(quotes)
            conflated = 0
        else:
            conflated = self._held_count - self._held_out - len(quotes)
            self._held_count = self._held_out = 0
        self.conflated += conflated
        self._emit(QuoteBatch(_newest(quotes), quotes, conflated))


def _newest(quotes: Sequence[QuoteUpdated]) -> datetime:
    """A batch is as late as its newest quote (the engine's "now" when it decides)."""
    newest = quotes[-1].at
    for q in quotes:
        if q.at > newest:
            newest = q.at
    return newest
