"""The journal's one writer: a thread that owns the write connection and applies queued
operations in order, batching them into transactions.

Every write the journal accepts becomes an :class:`Op` on one FIFO queue; the thread takes
whatever is queued (up to ``MAX_BATCH``), applies it in a single transaction and commits.
Order is therefore the order of ``put`` calls, and a commit that contains a *durable* op
(an order intent, a trading-state change, a flush barrier) runs with
``PRAGMA synchronous=FULL``: the WAL is fsync'd before the waiter is told, which also makes
every earlier write durable. Other commits use ``synchronous=NORMAL`` (WAL): they survive
``kill -9`` of the process, and only the last few could roll back on a power cut.

A failing batch is rolled back and replayed one op per transaction, so one bad op (a
codec error, a conflicting intent) costs only itself: it is counted in ``write_errors``,
logged without its payload, and its waiter (if any) gets the exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.store import schema

log = logging.getLogger(__name__)

MAX_BATCH = 1000

REPORT_EVERY_SECONDS = 60.0
"""While writes keep failing (disk full, a read-only state directory) the failure is
logged at most this often, with the count so far; recovery is logged once."""
"""Most ops per transaction: bounds how long one commit holds the write lock."""

Apply = Callable[["WriterState", sqlite3.Connection], None]


@dataclass(slots=True)
class Op:
    """One queued write. ``apply`` runs on the writer thread inside a transaction."""

    name: str
    apply: Apply
    durable: bool = False
    waiter: asyncio.Future[None] | None = None


@dataclass(slots=True)
class WriterState:
    """What ops may read or update while they run (only the writer thread touches it)."""

    last_event_seq: int = 0
    last_fill_from_event: str = ""  # execution id of the fill the last event op stored
    duplicate_fills: int = 0


class _Stop:
    pass


_STOP = _Stop()


class WriterThread:
    """Owns the write connection; see the module docstring."""

    def __init__(
        self,
        path: Path,
        trace: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.write_errors = 0
        self.failing = False  # the last write failed (cleared by the next that succeeds)
        self.failure_reports = 0  # log lines written about failures (at most one a minute)
        self._monotonic = monotonic
        self._reported_at: float | None = None
        self._errors_reported = 0
        self._trace = trace
        self._queue: queue.SimpleQueue[Op | _Stop] = queue.SimpleQueue()
        self._ready: Future[None] = Future()
        self._stopped: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._main, name=f"journal-writer:{path.name}", daemon=True
        )
        self._state = WriterState()

    # -- control (any thread) ------------------------------------------------------------

    async def start(self) -> None:
        self._thread.start()
        await asyncio.wrap_future(self._ready)

    def put(self, op: Op) -> None:
        self._queue.put(op)

    def backlog(self) -> int:
        return self._queue.qsize()

    async def stop(self) -> None:
        self._queue.put(_STOP)
        await asyncio.wrap_future(self._stopped)

    @property
    def state(self) -> WriterState:
        """Counters the ops keep (read them from any thread; ints are atomic to read)."""
        return self._state

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------------

    def _main(self) -> None:
        try:
            conn = self._connect()
        except BaseException as e:
            self._ready.set_exception(e)
            self._stopped.set_result(None)
            return
        self._ready.set_result(None)
        try:
            self._loop(conn)
        finally:
            self._fail_leftovers()
            try:
                conn.close()  # checkpoints the WAL when it is the last connection
            except sqlite3.Error:
                log.exception("journal: closing the write connection failed")
            self._stopped.set_result(None)

    def _fail_leftovers(self) -> None:
        """Ops queued after the writer stopped are never written: tell their waiters."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Op):
                self.write_errors += 1
                _resolve(item.waiter, RuntimeError(f"journal writer stopped; {item.name} lost"))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if self._trace is not None:
                conn.set_trace_callback(self._trace)
            conn.execute("PRAGMA busy_timeout = 10000")
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("quick_check: " + "; ".join(problems[:3]))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise schema.SchemaError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); the state "
                    "directory must be on a local filesystem"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            schema.migrate(conn, str(self.path))
            row = conn.execute("SELECT max(seq) FROM events").fetchone()
            self._state.last_event_seq = int(row[0] or 0)
        except BaseException:
            conn.close()
            raise
        return conn

    def _loop(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            batch: list[Op] = []
            stop = isinstance(first, _Stop)
            if not stop:
                assert isinstance(first, Op)
                batch.append(first)
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, _Stop):
                        stop = True
                        break
                    batch.append(item)
            if batch:
                try:
                    self._write(conn, batch)
                except Exception as e:  # the connection itself failed (I/O error, …)
                    self.write_errors += len(batch)
                    self._failed(f"batch of {len(batch)} lost", e)
                    for op in batch:
                        _resolve(op.waiter, e)
            if stop:
                return

    def _write(self, conn: sqlite3.Connection, batch: list[Op]) -> None:
        durable = any(op.durable for op in batch)
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        try:
            saved = dataclasses.replace(self._state)
            try:
                self._transaction(conn, batch)
            except Exception:
                self._state = saved
                self._one_by_one(conn, batch)
                return
            for op in batch:
                _resolve(op.waiter, None)
            self._succeeded()
        finally:
            if durable:
                try:
                    conn.execute("PRAGMA synchronous = NORMAL")
                except sqlite3.Error:
                    log.exception("journal: could not restore synchronous=NORMAL")

    def _transaction(self, conn: sqlite3.Connection, ops: list[Op]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                op.apply(self._state, conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _one_by_one(self, conn: sqlite3.Connection, batch: list[Op]) -> None:
        for op in batch:
            saved = dataclasses.replace(self._state)
            try:
                self._transaction(conn, [op])
            except Exception as e:
                self._state = saved
                self.write_errors += 1
                self._failed(f"write {op.name} failed", e)
                _resolve(op.waiter, e)
            else:
                _resolve(op.waiter, None)
                self._succeeded()

    def _failed(self, what: str, e: Exception) -> None:
        """Count a failed write; log it at most once a minute (the type and message only:
        payloads stay out of logs)."""
        self.failing = True
        now = self._monotonic()
        if self._reported_at is not None and now - self._reported_at < REPORT_EVERY_SECONDS:
            return
        self._reported_at = now
        self.failure_reports += 1
        new = self.write_errors - self._errors_reported
        self._errors_reported = self.write_errors
        log.error("journal: %s: %s: %s (%d failed writes since the last report, %d in all; "
                  "reported at most once a minute)", what, type(e).__name__, e, new,
                  self.write_errors)

    def _succeeded(self) -> None:
        if not self.failing:
            return
        self.failing = False
        self._reported_at = None
        self.failure_reports += 1
        log.warning("journal: writes succeed again (%d failed writes in all)", self.write_errors)


class Outbox:
    """The loop's side of the writer: ops put during a loop step are handed to the thread
    together two steps later (after the tasks that step started, e.g. an order's POST,
    have run): the thread is not woken in the middle of the order path, where it would
    take the GIL back from the loop at every SQLite call of its transaction and write the
    WAL while the intent log syncs. Order is kept. Outside a running loop (a one-shot CLI),
    ops go to the thread at once."""

    __slots__ = ("_ops", "_writer")

    def __init__(self, writer: WriterThread) -> None:
        self._writer = writer
        self._ops: list[Op] = []

    def put(self, op: Op) -> None:
        if not self._ops:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._writer.put(op)
                return
            loop.call_soon(loop.call_soon, self.hand_over)
        self._ops.append(op)

    def hand_over(self) -> None:
        ops, self._ops = self._ops, []
        for op in ops:
            self._writer.put(op)

    def __len__(self) -> int:
        return len(self._ops)


def _resolve(waiter: asyncio.Future[None] | None, error: BaseException | None) -> None:
    if waiter is None:
        return
    loop = waiter.get_loop()

    def settle() -> None:
        if waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


def apply_sql(sql: str, params: tuple[Any, ...]) -> Apply:
    """An op body that runs one statement."""

    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        conn.execute(sql, params)

    return apply
