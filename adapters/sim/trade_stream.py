"""The trade-updates websocket (``/stream``), §4 and §9.3 of the reference.

Paper behaviour: every server message is a single JSON object sent in a **binary** frame
(msgpack instead when the handshake says ``Content-Type: application/msgpack``). Client
messages may be text or binary JSON.

Connection limit (our decision, Alpaca does not document one): one authenticated
``/stream`` connection per key. A second one is answered
``{"stream":"authorization","data":{"status":"unauthorized","action":"authenticate",
"code":406,"message":"connection limit exceeded"}}`` and closed, so alpaca-py's
``TradingStream`` backs off and retries until the first one is gone, as it does for the
data stream's 406.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from adapters.sim.faults import StreamFaults
from adapters.sim.ws_outbox import Hub, Outbox

__all__ = ["TradeConnection", "TradeStreamHub"]

_json_encode = msgspec.json.Encoder().encode
_msgpack_encode = msgspec.msgpack.Encoder().encode
KNOWN_STREAMS = ("trade_updates",)


class TradeConnection:
    def __init__(self, msgpack: bool, outbox: Outbox) -> None:
        self.msgpack = msgpack
        self.outbox = outbox
        self.key: str | None = None
        self.streams: set[str] = set()

    def encode(self, message: dict[str, Any]) -> bytes:
        return _msgpack_encode(message) if self.msgpack else _json_encode(message)

    def control(self, message: dict[str, Any]) -> None:
        self.outbox.push_control(self.encode(message))


class TradeStreamHub(Hub):
    """All ``/stream`` connections; ``publish`` is the exchange's trade listener."""

    def __init__(
        self,
        *,
        check_credentials: Callable[[str, str], bool],
        faults: StreamFaults,
        max_queued_frames: int = 10_000,
    ) -> None:
        self.check_credentials = check_credentials
        self.faults = faults
        self.max_queued_frames = max_queued_frames
        self.connections: set[TradeConnection] = set()
        self._slots: dict[str, TradeConnection] = {}
        self.published_events = 0
        faults.register_dropper("trade", self.drop_all)

    def publish(self, data: dict[str, Any]) -> None:
        """Send one trade update (the ``data`` object) to every listening connection."""
        if self.faults.muted["trade"]:
            return
        message = {"stream": "trade_updates", "data": data}
        encoded: dict[bool, bytes] = {}
        for conn in list(self.connections):
            if conn.key is None or "trade_updates" not in conn.streams:
                continue
            frame = encoded.get(conn.msgpack)
            if frame is None:
                frame = encoded[conn.msgpack] = conn.encode(message)
            if conn.outbox.push_data(frame):
                self.published_events += 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refusing("trade"):
            return web.json_response({"message": "too many requests"}, status=429)
        msgpack = "msgpack" in request.headers.get("Content-Type", "")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        outbox = Outbox(ws, request, max_frames=self.max_queued_frames)
        conn = TradeConnection(msgpack, outbox)
        outbox.start()
        self.connections.add(conn)
        try:
            while not outbox.closed:
                msg = await ws.receive()
                if msg.type in (
                    WSMsgType.CLOSE,
                    WSMsgType.CLOSING,
                    WSMsgType.CLOSED,
                    WSMsgType.ERROR,
                ):
                    break
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                body = _decode(msg.data, msgpack and msg.type == WSMsgType.BINARY)
                if not self._on_message(conn, body):
                    await outbox.finish()
                    break
        finally:
            self.connections.discard(conn)
            if conn.key is not None and self._slots.get(conn.key) is conn:
                del self._slots[conn.key]
            await outbox.stop()
        return ws

    def _on_message(self, conn: TradeConnection, body: Any) -> bool:
        if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict):
            conn.control({"stream": "error", "data": {"error_message": "invalid syntax"}})
            return True
        action = body.get("action")
        data = body.get("data") or {}
        if action in ("authenticate", "auth"):
            key, secret = data.get("key_id"), data.get("secret_key")
            if not (isinstance(key, str) and isinstance(secret, str)) or not self.check_credentials(
                key, secret
            ):
                conn.control(_authorization("unauthorized"))
                return False
            holder = self._slots.get(key)
            if holder is not None and holder is not conn and not holder.outbox.closed:
                conn.control(
                    _authorization("unauthorized", code=406, message="connection limit exceeded")
                )
                return False
            self._slots[key] = conn
            conn.key = key
            conn.control(_authorization("authorized"))
            return True
        if action == "listen":
            if conn.key is None:
                conn.control(
                    {
                        "stream": "authorization",
                        "data": {"status": "unauthorized", "action": "listen"},
                    }
                )
                return True
            streams = data.get("streams", [])
            if not isinstance(streams, list):
                conn.control({"stream": "error", "data": {"error_message": "invalid syntax"}})
                return True
            conn.streams = {s for s in streams if s in KNOWN_STREAMS}
            conn.control({"stream": "listening", "data": {"streams": sorted(conn.streams)}})
            return True
        conn.control({"stream": "error", "data": {"error_message": "unrecognized action"}})
        return True


def _authorization(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "stream": "authorization",
        "data": {"status": status, "action": "authenticate", **extra},
    }


def _decode(data: str | bytes, msgpack: bool) -> Any:
    try:
        if msgpack:
            return msgspec.msgpack.decode(data.encode() if isinstance(data, str) else data)
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
