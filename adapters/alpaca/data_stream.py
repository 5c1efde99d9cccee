"""MarketDataFeed: one msgpack websocket to Alpaca's stock data stream.

Connect (``Content-Type: application/msgpack``) → ``auth`` → subscribe quotes (+ statuses)
→ fetch latest quotes over REST and emit them → ``FeedRestored`` → stream. A mute socket
(no message for ``stale_after`` seconds) is reconnected; every disconnect emits ``FeedLost``
and reconnects with full-jitter backoff (at least the reap window after 406 / HTTP 429).
Malformed messages are counted and dropped, never fatal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from adapters.alpaca import parse, wire
from adapters.alpaca.backoff import (
    MAX_REFUSALS,
    Backoff,
    StreamRefused,
    StreamRejected,
    StreamStale,
    StreamUnavailable,
    classify_upgrade,
    ws_connect_options,
)
from adapters.alpaca.credentials import Credentials
from adapters.ports import Emit
from daemon.core.events import FeedLost, FeedRestored, QuoteUpdated, TradingStatusChanged

FEED = "market_data"
PERMANENT_CODES = {
    402: "auth failed: check the API keys",
    405: "symbol limit exceeded: subscribe fewer symbols or upgrade the data plan",
    409: 'insufficient subscription: the feed is not in your data plan (use feed = "iex")',
    410: "invalid subscribe action for this feed",
}

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
        self.backoff = backoff or Backoff()
        self.handshake_timeout = handshake_timeout
        self.statuses = statuses
        self._now = now
        self.connect_options = ws_connect_options(handshake_timeout, connect_options)
        # state and counters for health and metrics
        self.connected = False  # True between FeedRestored and FeedLost
        self.last_message_monotonic = 0.0  # time.monotonic() of the last frame received
        self.connects = 0
        self.disconnects = 0
        self.stale_reconnects = 0
        self.refusals = 0  # 406 connection limit or HTTP 429: backed off, retried
        self.refusals_in_a_row = 0
        self.max_refusals = max_refusals
        self.malformed = 0
        self.messages = 0
        self.quotes = 0
        self.catchup_failures = 0
        self.errors: dict[int, int] = {}
        self.failures = 0
        self.last_error = ""
        self.last_delay = 0.0

    # --- public ----------------------------------------------------------------------------

    async def run(self, symbols: Sequence[str], emit: Emit) -> None:
        """Stream until cancelled. Raises ``StreamRejected`` only for permanent refusals
        (bad keys, feed or symbol limits); a 406 or 429 backs off and retries, and more than
        ``max_refusals`` in a row raise ``StreamUnavailable``."""
        symbols = list(dict.fromkeys(symbols))
        while True:
            up = False
            refused = False
            try:
                async with connect(
                    self.url,
                    additional_headers={"Content-Type": "application/msgpack"},
                    **self.connect_options,
                ) as ws:
                    early = await self._handshake(ws, symbols)
                    self.connects += 1
                    await self._catch_up(symbols, emit)
                    self.connected = up = True
                    self.refusals_in_a_row = 0
                    emit(FeedRestored(self._now(), FEED))
                    for frame in early:
                        self._handle(frame, emit)
                    await self._consume(ws, emit)
            except (asyncio.CancelledError, StreamRejected):
                self.connected = False
                raise
            except StreamRefused as exc:
                refused = True
                self.last_error = str(exc)[:300]
            except StreamStale:
                self.stale_reconnects += 1
            except Exception as exc:  # connection errors of every kind: reconnect
                self.failures += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                kind = classify_upgrade(exc)
                if kind == "auth":
                    self.connected = False
                    raise StreamRejected(
                        f"market data stream: the broker refused the API keys "
                        f"({self.last_error}); check them and broker.feed"
                    ) from None
                refused = kind == "refused"
            if refused:
                self.refusals += 1
                self.refusals_in_a_row += 1
                if self.refusals_in_a_row > self.max_refusals:
                    self.connected = False
                    raise StreamUnavailable(
                        f"market data stream: refused {self.refusals_in_a_row} times in a row "
                        f"({self.last_error}): another session holds the connection, or the "
                        "broker is rate limiting; giving up for now"
                    )
            if up:
                self.connected = False
                self.disconnects += 1
                emit(FeedLost(self._now(), FEED))
            self.last_delay = self.backoff.next_delay(refused=refused)
            await asyncio.sleep(self.last_delay)

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
        for q in quotes:
            emit(q)

    async def _consume(self, ws: ClientConnection, emit: Emit) -> None:
        while True:
            frame = await self._recv(ws, self.stale_after)
            self._handle(frame, emit)
            # recv() returns buffered frames without yielding: let the consumer take this
            # batch off the queue before the next one, or a burst overfills it (drops)
            await asyncio.sleep(0)

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

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    def _handle(self, frame: bytes | str, emit: Emit) -> None:
        self.last_message_monotonic = time.monotonic()
        messages = self._decode(frame)
        self.messages += len(messages)
        quotes = 0
        others = 0
        make = parse.make_quote
        for m in messages:
            if type(m) is wire.StreamQuote:
                emit(make(m.t, m.S, m.bp, m.ap, m.bs, m.as_))
                quotes += 1
            elif type(m) is wire.StreamStatus:
                ev: TradingStatusChanged | None = parse.status_event(m)
                if ev is not None:
                    emit(ev)
                others += 1
            elif type(m) is wire.StreamError:
                self._error(m)
        if quotes or others:
            self.quotes += quotes
            self.backoff.reset()
