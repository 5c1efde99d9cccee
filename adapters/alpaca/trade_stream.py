"""TradeUpdatesFeed: Alpaca's ``trade_updates`` websocket (JSON; binary frames on paper).

Authenticate → listen → (after a gap) fetch the orders changed since the last moment we were
in sync over REST and emit their state → ``FeedRestored`` → stream every event. Fills are
deduplicated by ``execution_id`` (bounded LRU); events the core does not act on are counted.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from adapters.alpaca import parse, wire
from adapters.alpaca.credentials import Credentials
from adapters.alpaca.reconnect import (
    MAX_REFUSALS,
    StreamRefused,
    StreamRejected,
    Supervisor,
    ws_connect_options,
)
from adapters.backoff import Backoff
from adapters.ports import Emit, FeedStats
from daemon.core.events import Event, OrderFilled

FEED = "trade_updates"

ChangedOrders = Callable[[datetime], Awaitable[Sequence[wire.Order]]]
BrokerTime = Callable[[], Awaitable[datetime]]


class ExecutionDedupe:
    """The last ``size`` execution ids seen: ``seen(id)`` is True for a repeat."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, execution_id: str) -> bool:
        if execution_id in self._ids:
            self._ids.move_to_end(execution_id)
            return True
        self._ids[execution_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._ids)


class AlpacaTradeUpdates:
    """``changed_orders(after)`` (``AlpacaAccount.changed_orders``) fills the gap after every
    reconnect; ``resume_from`` (or, when that is None, ``resume_hint()``: the venue wires the
    account's last snapshot time) makes the first connect catch up too, closing the gap
    between the start-up snapshot and the stream.

    The gap is measured in the **broker's** time only, since ``after`` is compared with the
    broker's order timestamps: ``synced_at`` advances to the broker's ``/v2/clock``
    (``broker_time``) read on each connect, before its catch-up, and to the broker's
    timestamp on each update; never to our clock, which may be minutes (NTP, a VPS) or
    days (a paper exchange at another date) away. ``skew`` (30 s) only covers the order of
    the broker's own reads (a clock read answered just after a fill). Without
    ``broker_time`` (tests of the protocol alone) the watermark stays at the last update's
    broker timestamp, so a quiet stream asks for a longer window, never a shorter one."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        changed_orders: ChangedOrders | None = None,
        broker_time: BrokerTime | None = None,
        resume_from: datetime | None = None,
        resume_hint: Callable[[], datetime | None] | None = None,
        skew: timedelta = timedelta(seconds=30),
        backoff: Backoff | None = None,
        handshake_timeout: float = 10.0,
        dedupe_size: int = 10_000,
        now: Callable[[], datetime],
        connect_options: dict[str, Any] | None = None,
        max_refusals: int = MAX_REFUSALS,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self.changed_orders = changed_orders
        self.broker_time = broker_time
        self.synced_at = resume_from  # broker time
        self.resume_hint = resume_hint
        self.skew = skew
        self.handshake_timeout = handshake_timeout
        self.dedupe = ExecutionDedupe(dedupe_size)
        self._now = now
        self.connect_options = ws_connect_options(handshake_timeout, connect_options)
        self.supervisor = Supervisor(FEED, "trade stream", "check them and the paper/live setting",
                                     backoff=backoff, max_refusals=max_refusals, now=now)
        # decoding and catch-up counters (the reconnect counters are the supervisor's)
        self.malformed = 0
        self.duplicates = 0
        self.ignored = 0  # events with no core meaning (pending_*, *_rejected, …)
        self.events: dict[str, int] = {}
        self.catchup_orders = 0
        self.catchup_failures = 0
        self.clock_failures = 0  # /v2/clock reads that failed on connect
        self.clock_error = ""  # why the last broker clock read failed

    async def run(self, emit: Emit) -> None:
        """Stream until cancelled. Raises ``StreamRejected`` only when the keys are refused
        (unauthorized, HTTP 401/403); a 406 connection limit or a 429 backs off at least the
        reap window and retries, and more than ``max_refusals`` of them in a row raise
        ``StreamUnavailable``."""
        await self.supervisor.run(lambda: self._session(emit), emit)

    def stats(self) -> FeedStats:
        return self.supervisor.stats(sum(self.events.values()), self.malformed)

    async def _session(self, emit: Emit) -> None:
        """One connection: handshake, catch-up since the watermark, ``FeedRestored``, then
        every frame until the server closes it or it breaks."""
        async with connect(self.url, **self.connect_options) as ws:
            await self._handshake(ws)
            self.supervisor.handshaken()
            # the broker's time now: everything it stamps later reaches us live
            connected_at = await self._broker_now()
            await self._catch_up(emit)
            self._advance(connected_at)
            self.supervisor.restored(emit)
            self.supervisor.backoff.reset()
            async for frame in ws:
                self._handle(frame, emit)

    # --- phases ------------------------------------------------------------------------------

    async def _broker_now(self) -> datetime | None:
        """The broker's clock, or None when it cannot be read: then the watermark stays
        where it was and the next catch-up covers a longer window (never a shorter one)."""
        if self.broker_time is None:
            return None
        try:
            return await self.broker_time()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.clock_failures += 1
            self.clock_error = f"broker clock: {exc.__class__.__name__}: {exc}"[:300]
            return None

    def _advance(self, broker_at: datetime | None) -> None:
        """Move the watermark forward (only) to a broker timestamp."""
        if broker_at is not None and (self.synced_at is None or broker_at > self.synced_at):
            self.synced_at = broker_at

    async def _next(self, ws: ClientConnection) -> wire.TradeStreamEnvelope:
        async with asyncio.timeout(self.handshake_timeout):
            while True:
                frame = await ws.recv()
                try:
                    return wire.TRADE_ENVELOPE.decode(frame)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    self.malformed += 1

    async def _handshake(self, ws: ClientConnection) -> None:
        await ws.send(
            msgspec.json.encode(
                {
                    "action": "authenticate",
                    "data": {
                        "key_id": self._credentials.key_id.reveal(),
                        "secret_key": self._credentials.secret_key.reveal(),
                    },
                }
            ).decode()
        )
        while True:
            env = await self._next(ws)
            if env.stream == "authorization":
                auth = wire.TRADE_AUTHORIZATION.decode(env.data)
                if auth.status == "authorized":
                    break
                if auth.code in (406, 429) or "limit" in auth.message.lower():
                    # another session holds the one trade_updates slot (or the server's
                    # reap window after an unclean disconnect): not the keys' fault
                    raise StreamRefused(f"trade stream: {auth.code} {auth.message}".strip())
                raise StreamRejected(
                    "trade stream: unauthorized (check the API keys and paper/live setting)"
                )
        await ws.send(
            msgspec.json.encode({"action": "listen", "data": {"streams": [FEED]}}).decode()
        )
        while True:
            env = await self._next(ws)
            if env.stream == "listening":
                listening = wire.TRADE_LISTENING.decode(env.data)
                if FEED not in listening.streams:
                    raise ConnectionError(f"trade stream: listening to {listening.streams}")
                return

    async def _catch_up(self, emit: Emit) -> None:
        """Before ``FeedRestored``: the state of every order changed during the gap."""
        if self.synced_at is None and self.resume_hint is not None:
            self.synced_at = self.resume_hint()
        if self.changed_orders is None or self.synced_at is None:
            return
        try:
            orders = await self.changed_orders(self.synced_at - self.skew)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.catchup_failures += 1
            raise ConnectionError(f"trade stream catch-up failed: {exc}") from exc
        now = self._now()
        # oldest first, so the core sees them in the order they happened
        for order in sorted(orders, key=lambda o: parse.order_time(o) or now):
            self.catchup_orders += 1
            for ev in parse.order_state_events(order, now):
                self._emit(ev, emit)

    def _emit(self, ev: Event, emit: Emit) -> None:
        if isinstance(ev, OrderFilled) and self.dedupe.seen(ev.execution_id):
            self.duplicates += 1
            return
        emit(ev)

    def _handle(self, frame: bytes | str, emit: Emit) -> None:
        """One frame: decode its trade update and emit the core's event for it (the only
        per-frame dispatch of this stream)."""
        self.supervisor.frame()
        received_at = self._now()
        try:
            env = wire.TRADE_ENVELOPE.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed += 1
            return
        if env.stream != FEED:
            return
        try:
            update = wire.TRADE_UPDATE.decode(env.data)
            ev = parse.trade_update_event(update, received_at)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            self.malformed += 1
            return
        self._advance(update.timestamp or update.at)
        self.events[update.event] = self.events.get(update.event, 0) + 1
        if ev is None:
            self.ignored += 1
            return
        self._emit(ev, emit)
