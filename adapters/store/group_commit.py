"""Group commit of order intents (``SqliteJournal.record_intents``): the intents of orders
released together are made durable with one ``fdatasync`` of the intent log
(``intent_log.py``), on the calling (event loop) thread, before the call returns; each
order's awaitable is then already complete, so its POST goes out without waiting for the
journal's writer thread. The same intents are queued for SQLite with one fsync'd barrier
behind them; once that barrier is durable (and no group was logged meanwhile) the log
starts again at its beginning. An intent whose client order id is already journaled with
other contents fails alone (its awaitable raises) and is not logged.

That check reads SQLite only for ids it could find there: the first time a run's ids come
(``rb-<run_id>-…``, fresh per process start), one indexed read asks whether SQLite holds
any intent of that run; if not, an id of it that this journal never recorded cannot be
there, and the breach's orders go out without a read (a SQLite read on the order path cost
~0.1 ms of the loop's CPU and let another thread take the GIL). Every intent this journal
writes (``record_intent`` too, see ``note``) is remembered by id for that.
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
from daemon.core.orders.ids import ID_PREFIX, parse_client_order_id

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
        self._written: set[str] = set()  # every intent id this journal wrote (one per order)
        self._fresh_runs: dict[str, bool] = {}  # run prefix → SQLite held none of it at first
        self.resets = 0
        self.reads = 0  # SQLite reads made to check ids (tests)

    def note(self, client_order_id: str) -> None:
        """An intent this journal writes outside a group (``record_intent``, recovery)."""
        self._written.add(client_order_id)

    def _cannot_be_committed(self, client_order_id: str) -> bool:
        """True when SQLite cannot hold ``client_order_id``: its run had no intent there
        when first seen here, and this journal never wrote this id since. Conservative: a
        foreign id, or a run prefix another run's ids extend (``rb-a-`` of ``rb-a-b-1``),
        is read from SQLite as before."""
        parsed = parse_client_order_id(client_order_id)
        if parsed is None:
            return False
        prefix = f"{ID_PREFIX}{parsed[0]}-"
        fresh = self._fresh_runs.get(prefix)
        if fresh is None:
            self.reads += 1
            fresh = not self._read(
                "SELECT 1 FROM intents WHERE client_order_id >= ? AND client_order_id < ? "
                "LIMIT 1", (prefix, prefix[:-1] + chr(ord("-") + 1)))
            self._fresh_runs[prefix] = fresh
        return fresh and client_order_id not in self._written

    def record(self, orders: Sequence[PlaceOrder], recorded_at: str) -> Sequence[Awaitable[None]]:
        loop = asyncio.get_running_loop()
        bodies = [codec.dumps(o) for o in orders]
        known = dict(self._committed([
            o.client_order_id for o in orders if o.client_order_id not in self._logged
            and not self._cannot_be_committed(o.client_order_id)]))
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
            self._written.add(order.client_order_id)
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
        if ids:
            self.reads += 1
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
