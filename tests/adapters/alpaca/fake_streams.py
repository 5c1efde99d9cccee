"""Local websocket servers for the two Alpaca streams that misbehave on demand: refuse the
upgrade with HTTP 429, answer 406/402, go mute, drop the socket, send malformed frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgpack
from websockets.asyncio.server import Request, Response, ServerConnection, serve

from tests.adapters.alpaca.fake_alpaca import KEY, SECRET


async def until(cond: Callable[[], bool], limit: float = 5.0) -> None:
    """Poll ``cond`` (test helper): fail after ``limit`` seconds."""
    async with asyncio.timeout(limit):
        while not cond():  # noqa: ASYNC110 - polling counters owned by the code under test
            await asyncio.sleep(0.005)


def mp(obj: Any) -> bytes:
    return msgpack.packb(obj, datetime=False)


@dataclass
class FakeDataStream:
    """Each connection takes the next mode from ``modes`` (then ``ok``):
    ok | mute | drop | http429 | error406 | auth_failed | no_auth_reply."""

    modes: list[str] = field(default_factory=list)
    frames: list[bytes | str] = field(default_factory=list)  # sent after the subscription ack
    received: list[list[Any]] = field(default_factory=list)  # per connection
    content_types: list[str] = field(default_factory=list)
    connections: int = 0
    http_refusals: int = 0
    _mode_of: dict[int, str] = field(default_factory=dict)

    def _next_mode(self) -> str:
        return self.modes.pop(0) if self.modes else "ok"

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        mode = self._next_mode()
        if mode == "http429":
            self.http_refusals += 1
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        self._mode_of[id(connection)] = mode
        return None

    async def handler(self, ws: ServerConnection) -> None:
        mode = self._mode_of.pop(id(ws), "ok")
        self.connections += 1
        self.content_types.append(ws.request.headers.get("Content-Type", "") if ws.request else "")
        got: list[Any] = []
        self.received.append(got)
        await ws.send(mp([{"T": "success", "msg": "connected"}]))
        auth = msgpack.unpackb(await ws.recv())
        got.append(auth)
        if mode == "no_auth_reply":
            await ws.wait_closed()
            return
        if mode == "error406":
            await ws.send(mp([{"T": "error", "code": 406, "msg": "connection limit exceeded"}]))
            await ws.close()
            return
        if mode == "auth_failed" or (auth.get("key"), auth.get("secret")) != (KEY, SECRET):
            await ws.send(mp([{"T": "error", "code": 402, "msg": "auth failed"}]))
            await ws.close()
            return
        await ws.send(mp([{"T": "success", "msg": "authenticated"}]))
        sub = msgpack.unpackb(await ws.recv())
        got.append(sub)
        await ws.send(
            mp(
                [
                    {
                        "T": "subscription",
                        "trades": [],
                        "quotes": sub.get("quotes", []),
                        "bars": [],
                        "statuses": sub.get("statuses", []),
                    }
                ]
            )
        )
        if mode == "mute":
            await ws.wait_closed()
            return
        for frame in self.frames:
            await ws.send(frame)
        if mode == "drop":
            assert ws.transport is not None
            ws.transport.abort()
            return
        await ws.wait_closed()


@dataclass
class FakeTradeStream:
    """Modes per connection: ok | drop | http429 | http401 | unauthorized. ``updates`` (dicts) are sent
    after ``listening`` as binary frames (``text=True`` for text frames)."""

    modes: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    raw_frames: list[bytes | str] = field(default_factory=list)
    received: list[list[Any]] = field(default_factory=list)
    connections: int = 0
    text: bool = False
    live: set[ServerConnection] = field(default_factory=set)
    _mode_of: dict[int, str] = field(default_factory=dict)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        mode = self.modes.pop(0) if self.modes else "ok"
        if mode == "http429":
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        if mode == "http401":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        self._mode_of[id(connection)] = mode
        return None

    def frame(self, obj: Any) -> bytes | str:
        text = json.dumps(obj)
        return text if self.text else text.encode()

    async def push(self, update: dict[str, Any]) -> None:
        for ws in list(self.live):
            await ws.send(self.frame({"stream": "trade_updates", "data": update}))

    async def handler(self, ws: ServerConnection) -> None:
        mode = self._mode_of.pop(id(ws), "ok")
        self.connections += 1
        got: list[Any] = []
        self.received.append(got)
        auth = json.loads(await ws.recv())
        got.append(auth)
        ok = auth.get("data", {}) == {"key_id": KEY, "secret_key": SECRET}
        if mode == "unauthorized" or not ok:
            await ws.send(
                self.frame(
                    {
                        "stream": "authorization",
                        "data": {"status": "unauthorized", "action": "authenticate"},
                    }
                )
            )
            await ws.close()
            return
        await ws.send(
            self.frame(
                {
                    "stream": "authorization",
                    "data": {"status": "authorized", "action": "authenticate"},
                }
            )
        )
        listen = json.loads(await ws.recv())
        got.append(listen)
        await ws.send(self.frame({"stream": "listening", "data": listen["data"]}))
        for frame in self.raw_frames:
            await ws.send(frame)
        for update in self.updates:
            await ws.send(self.frame({"stream": "trade_updates", "data": update}))
        if mode == "drop":
            assert ws.transport is not None
            ws.transport.abort()
            return
        self.live.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.live.discard(ws)


@asynccontextmanager
async def serving(fake: FakeDataStream | FakeTradeStream) -> AsyncIterator[str]:
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"
