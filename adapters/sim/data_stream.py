"""The market-data websocket (``/v2/iex``, ``/v2/sip``, ``/v2/test``), §3 and §9.4 of the
reference.

Encoding follows the handshake's ``Content-Type``: ``application/msgpack`` gets binary
msgpack frames with ``t`` as a Timestamp extension (what alpaca-py needs), anything else
gets JSON text frames with ``t`` as an RFC 3339 string. Every server message is an array;
control messages one per array, data batched. Subscriptions are additive and acknowledged
with the full set. One connection per key per feed (406); the symbol cap (405) applies to
``iex`` only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from adapters.sim.faults import StreamFaults
from adapters.sim.ws_outbox import Frame, Hub, Outbox

__all__ = ["CHANNELS", "DataConnection", "DataStreamHub", "encode_batch"]

# channel names in subscribe messages, and which message type `T` each one carries
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
_TYPES_OF_CHANNEL: dict[str, tuple[str, ...]] = {
    "trades": ("t", "c", "x"),  # corrections and cancelErrors follow trades
    "quotes": ("q",),
    "bars": ("b",),
    "updatedBars": ("u",),
    "dailyBars": ("d",),
    "statuses": ("s",),
    "lulds": ("l",),
}
_SYMBOL = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9.\-/:]{0,31})$")
FEEDS = ("iex", "sip", "test")

_msgpack_encode = msgspec.msgpack.Encoder().encode
_json_encode = msgspec.json.Encoder().encode


def encode_batch(messages: list[dict[str, Any]], msgpack: bool) -> Frame:
    """One frame holding ``messages`` as an array (aware datetimes: msgpack Timestamp ext
    or RFC 3339 string)."""
    if msgpack:
        return _msgpack_encode(messages)
    return _json_encode(messages).decode()


class DataConnection:
    """One client's state: encoding, auth, subscription set, outbox."""

    def __init__(self, feed: str, msgpack: bool, outbox: Outbox) -> None:
        self.feed = feed
        self.msgpack = msgpack
        self.outbox = outbox
        self.key: str | None = None
        self.subs: dict[str, set[str]] = {c: set() for c in CHANNELS}
        self._select: dict[str, frozenset[str] | None] = {}

    @property
    def authenticated(self) -> bool:
        return self.key is not None

    def control(self, message: dict[str, Any]) -> None:
        self.outbox.push_control(encode_batch([message], self.msgpack))

    def error(self, code: int, msg: str) -> None:
        self.control({"T": "error", "code": code, "msg": msg})

    def subscription_message(self) -> dict[str, Any]:
        out: dict[str, Any] = {"T": "subscription"}
        for c in CHANNELS:
            out[c] = sorted(self.subs[c])
        out["corrections"] = sorted(self.subs["trades"])
        out["cancelErrors"] = sorted(self.subs["trades"])
        return out

    def rebuild_selector(self) -> None:
        select: dict[str, frozenset[str] | None] = {}
        for channel, symbols in self.subs.items():
            if not symbols:
                continue
            for t in _TYPES_OF_CHANNEL[channel]:
                select[t] = None if "*" in symbols else frozenset(symbols)
        self._select = select

    def select(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages of ``batch`` this connection subscribed to, in order."""
        select = self._select
        if not select:
            return []
        out = []
        for m in batch:
            t = m["T"]
            if t in select:
                symbols = select[t]
                if symbols is None or m.get("S") in symbols:
                    out.append(m)
        return out


class DataStreamHub(Hub):
    """All data-stream connections; ``publish`` is the exchange's market listener."""

    def __init__(
        self,
        *,
        check_credentials: Callable[[str, str], bool],
        faults: StreamFaults,
        symbol_cap: int = 30,
        auth_timeout: float = 10.0,
        max_queued_frames: int = 2000,
        compress: bool = True,
    ) -> None:
        self.check_credentials = check_credentials
        self.faults = faults
        self.symbol_cap = symbol_cap
        self.auth_timeout = auth_timeout
        self.max_queued_frames = max_queued_frames
        self.compress = compress
        self.connections: set[DataConnection] = set()
        self._slots: dict[tuple[str, str], DataConnection] = {}
        self.published_messages = 0
        faults.register_dropper("data", self.drop_all)

    # -- output -------------------------------------------------------------------

    def publish(self, batch: list[dict[str, Any]]) -> None:
        """Send a batch of market messages to every subscribed connection."""
        if not batch or self.faults.muted["data"]:
            return
        for conn in list(self.connections):
            if not conn.authenticated:
                continue
            chosen = conn.select(batch)
            if chosen:
                if conn.outbox.push_data(encode_batch(chosen, conn.msgpack)):
                    self.published_messages += len(chosen)

    # -- the websocket handler ------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        feed = request.match_info.get("feed", "iex")
        if feed not in FEEDS:
            raise web.HTTPNotFound(text=f"unknown feed {feed!r}; use one of {list(FEEDS)}")
        if self.faults.refusing("data"):
            return web.json_response({"message": "too many requests"}, status=429)
        msgpack = "msgpack" in request.headers.get("Content-Type", "")
        ws = web.WebSocketResponse(
            autoping=True, heartbeat=None, max_msg_size=4 * 1024 * 1024, compress=self.compress
        )
        await ws.prepare(request)
        slow = encode_batch([{"T": "error", "code": 407, "msg": "slow client"}], msgpack)
        outbox = Outbox(ws, request, max_frames=self.max_queued_frames, slow_frame=slow)
        conn = DataConnection(feed, msgpack, outbox)
        outbox.start()
        self.connections.add(conn)
        try:
            conn.control({"T": "success", "msg": "connected"})
            key = request.headers.get("APCA-API-KEY-ID")
            secret = request.headers.get("APCA-API-SECRET-KEY")
            if key is not None or secret is not None:
                if not self._authenticate(conn, key or "", secret or ""):
                    outbox.close_after_flush()
            await self._receive_loop(conn, ws)
        finally:
            self.connections.discard(conn)
            if conn.key is not None and self._slots.get((feed, conn.key)) is conn:
                del self._slots[(feed, conn.key)]
            await outbox.stop()
        return ws

    async def _receive_loop(self, conn: DataConnection, ws: web.WebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.auth_timeout
        while not conn.outbox.closed:
            timeout = None if conn.authenticated else max(0.0, deadline - loop.time())
            try:
                msg = await ws.receive(timeout=timeout)
            except TimeoutError:
                conn.error(404, "auth timeout")
                await conn.outbox.finish()
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            try:
                if msg.type == WSMsgType.BINARY:
                    body = msgspec.msgpack.decode(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    body = msgspec.json.decode(msg.data)
                else:
                    continue
            except msgspec.DecodeError:
                conn.error(400, "invalid syntax")
                continue
            if not self._on_message(conn, body):
                await conn.outbox.finish()
                return

    def _on_message(self, conn: DataConnection, body: Any) -> bool:
        """Handle one client message; False closes the connection."""
        if not isinstance(body, dict):
            conn.error(400, "invalid syntax")
            return True
        action = body.get("action")
        if action == "auth":
            if conn.authenticated:
                conn.error(403, "already authenticated")
                return True
            key, secret = body.get("key"), body.get("secret")
            if not isinstance(key, str) or not isinstance(secret, str):
                conn.error(400, "invalid syntax")
                return True
            return self._authenticate(conn, key, secret)
        if action in ("subscribe", "unsubscribe"):
            if not conn.authenticated:
                conn.error(401, "not authenticated")
                return True
            self._change_subscription(conn, body, action == "subscribe")
            return True
        conn.error(400, "invalid syntax")
        return True

    def _authenticate(self, conn: DataConnection, key: str, secret: str) -> bool:
        if not self.check_credentials(key, secret):
            conn.error(402, "auth failed")
            return False
        slot = (conn.feed, key)
        holder = self._slots.get(slot)
        if holder is not None and holder is not conn and not holder.outbox.closed:
            conn.error(406, "connection limit exceeded")
            return False
        self._slots[slot] = conn
        conn.key = key
        conn.control({"T": "success", "msg": "authenticated"})
        return True

    def _change_subscription(self, conn: DataConnection, body: dict[str, Any], add: bool) -> None:
        wanted: dict[str, list[str]] = {}
        for channel, value in body.items():
            if channel == "action":
                continue
            if channel in ("corrections", "cancelErrors"):
                continue  # they follow trades
            if channel not in CHANNELS:
                conn.error(400, "invalid syntax")
                return
            if not isinstance(value, list) or not all(
                isinstance(s, str) and _SYMBOL.match(s) for s in value
            ):
                conn.error(400, "invalid syntax")
                return
            wanted[channel] = value
        new = {c: set(s) for c, s in conn.subs.items()}
        for channel, symbols in wanted.items():
            if add:
                new[channel].update(symbols)
            else:
                new[channel].difference_update(symbols)
        if (
            self.symbol_cap
            and conn.feed == "iex"
            and _count(new, ("trades", "quotes")) > self.symbol_cap
        ):
            conn.error(405, "symbol limit exceeded")
            return
        conn.subs = new
        conn.rebuild_selector()
        conn.control(conn.subscription_message())


def _count(subs: dict[str, set[str]], channels: Iterable[str]) -> int:
    symbols: set[str] = set()
    for c in channels:
        symbols.update(s for s in subs[c] if s != "*")
    return len(symbols)
