"""One websocket connection's send side: a bounded queue of ready-encoded frames and the
single task that writes them, so a slow client never blocks the publisher or the others.

When the queue of data frames is full the connection is a "slow client": the queue is
dropped, a last frame (the stream's 407 message) is sent if it can be, and the socket is
closed; if even that stalls, the transport is aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from aiohttp import web

__all__ = ["Outbox"]

Frame = bytes | str


class Outbox:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        *,
        max_frames: int = 2000,
        slow_frame: Frame | None = None,
    ) -> None:
        self.ws = ws
        self.request = request
        self.max_frames = max_frames
        self.slow_frame = slow_frame
        self.slow = False
        self.closed = False
        self.sent_frames = 0
        self._frames: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._close_after = False
        self._task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room_below = 0

    @property
    def queued(self) -> int:
        return len(self._frames)

    async def wait_below(self, n: int) -> None:
        """Wait until fewer than ``n`` frames are queued (for publishers that pace
        themselves, like the benchmark, instead of tripping the slow-client path)."""
        while len(self._frames) >= n and not self.closed:
            self._room_below = n
            self._room.clear()
            await self._room.wait()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def push_control(self, frame: Frame) -> None:
        """Queue a control frame: never dropped, never counts as slow."""
        if self.closed:
            return
        self._frames.append(frame)
        self._wake.set()

    def push_data(self, frame: Frame) -> bool:
        """Queue a data frame; False (and the slow-client path) when the client lags."""
        if self.closed or self.slow:
            return False
        if len(self._frames) >= self.max_frames:
            self._go_slow()
            return False
        self._frames.append(frame)
        self._wake.set()
        return True

    def close_after_flush(self) -> None:
        self._close_after = True
        self._wake.set()

    def _go_slow(self) -> None:
        self.slow = True
        self._frames.clear()
        if self.slow_frame is not None:
            self._frames.append(self.slow_frame)
        self._close_after = True
        self._wake.set()
        # if the peer does not read even the 407, cut it off
        asyncio.get_running_loop().call_later(2.0, self.abort)

    def abort(self) -> None:
        """Drop the connection without a close frame (what a dying network does)."""
        if self.closed:
            return
        self.closed = True
        self._room.set()
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        self._wake.set()

    async def _run(self) -> None:
        ws = self.ws
        try:
            while not self.closed:
                if not self._frames:
                    if self._close_after:
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                frame = self._frames.popleft()
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
                self.sent_frames += 1
                if self._room_below and len(self._frames) < self._room_below:
                    self._room.set()
        except (ConnectionError, RuntimeError):
            self.closed = True
            self._room.set()
            return
        if self._close_after and not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                await ws.close(code=1008 if self.slow else 1000)

    async def finish(self, wait_seconds: float = 1.0) -> None:
        """Flush what is queued, close, and wait (at most ``wait_seconds``) for the writer."""
        self.close_after_flush()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), wait_seconds)

    async def stop(self) -> None:
        self.closed = True
        self._room.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class Hub:
    """What both stream hubs share: their connections, each with an ``outbox``."""

    connections: set[Any]

    def drop_all(self) -> int:
        """Abort every connection without a close frame (the "dropped" fault)."""
        n = 0
        for conn in list(self.connections):
            if not conn.outbox.closed:
                conn.outbox.abort()
                n += 1
        return n

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.outbox.stop()
            await conn.outbox.ws.close()
