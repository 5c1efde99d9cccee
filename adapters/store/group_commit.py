"""Group commit of order intents (``SqliteJournal.record_intents``): the intents of orders
released together are made durable with one ``fdatasync`` of the intent log
(``intent_log.py``), on the calling (event loop) thread, before the call returns; each
order's awaitable is then already complete, so its POST goes out without waiting for the
journal's writer thread. The same intents are queued for SQLite with one fsync'd barrier
behind them; once that barrier is durable (and no group was logged meanwhile) the log
starts again at its beginning. An intent whose client order id is already journaled with
other contents fails alone (its awaitable raises) and is not logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.store import codec, ops
from adapters.store.intent_log import IntentLog, encode
from adapters.store.ops import JournalError
from adapters.store.writer import Op
from daemon.core.commands import PlaceOrder

Read = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # a failed write is counted by the writer; never "never retrieved"


class GroupCommit:
    def __init__(self, log: IntentLog, put: Callable[[Op], None], read: Read) -> None:
        self.log = log
        self._put = put
        self._read = read  # a query on the journal's read connection (committed rows)
        self._logged: dict[str, str] = {}  # logged since the last reset: id → body
        self._lost = 0  # intent writes to SQLite that failed: the log keeps them (no reset)
        self.resets = 0

    def record(self, orders: Sequence[PlaceOrder], recorded_at: str) -> Sequence[Awaitable[None]]:
        loop = asyncio.get_running_loop()
        bodies = [codec.dumps(o) for o in orders]
        known = dict(self._committed([o.client_order_id for o in orders
                                      if o.client_order_id not in self._logged]))
        known.update(self._logged)
        results: list[asyncio.Future[None]] = []
        fresh: list[tuple[PlaceOrder, str]] = []
        for order, body in zip(orders, bodies, strict=True):
            done = loop.create_future()
            results.append(done)
            prior = known.get(order.client_order_id)
            if prior is not None and prior != body:
                done.set_exception(JournalError(
                    f"intent {order.client_order_id} is already journaled with different "
                    "contents: a client_order_id must never be reused"))
                done.add_done_callback(_retrieve)
                continue
            known[order.client_order_id] = body
            if prior is None:
                fresh.append((order, body))
        if fresh:
            try:
                self.log.append([encode(o, recorded_at, body) for o, body in fresh])
            except OSError as exc:
                raise JournalError(f"intent log {self.log.path}: {exc}") from exc
        appends = self.log.appends
        for order, body in fresh:
            self._logged[order.client_order_id] = body
            op = ops.intent_op(order, recorded_at)
            op.durable = False  # made durable by the barrier below (the log already is)
            op.waiter = loop.create_future()
            op.waiter.add_done_callback(self._intent_written)
            self._put(op)
        barrier = ops.flush_op()
        barrier.waiter = loop.create_future()
        barrier.waiter.add_done_callback(lambda f: self._barrier_done(f, appends))
        self._put(barrier)
        for done in results:
            if not done.done():
                done.set_result(None)  # durable: in the log, or journaled before
        return results

    def _committed(self, ids: Sequence[str]) -> dict[str, str]:
        """Client order id → body, of those of ``ids`` SQLite holds (committed)."""
        out: dict[str, str] = {}
        for k in range(0, len(ids), 500):
            chunk = tuple(ids[k:k + 500])
            marks = ",".join("?" * len(chunk))
            out.update(self._read(
                f"SELECT client_order_id, body FROM intents WHERE client_order_id IN ({marks})",
                chunk))
        return out

    def _intent_written(self, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._lost += 1

    def _barrier_done(self, future: asyncio.Future[None], appends: int) -> None:
        """The intents logged up to ``appends`` are durable in SQLite: if nothing was
        logged since (and no intent write failed), the log may start again."""
        if future.cancelled() or future.exception() is not None:
            return
        if self._lost or self.log.appends != appends:
            return
        try:
            self.log.reset()
        except OSError:
            return  # the next barrier tries again
        self._logged.clear()
        self.resets += 1


__all__ = ["GroupCommit"]
