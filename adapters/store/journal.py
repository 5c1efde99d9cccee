"""``SqliteJournal``: the audit journal and the recovery source, on SQLite in WAL mode.

What it keeps (schema in ``schema.py``): the events the consumer handled (the replay
source), the commands the engine returned, decisions with their reasons and drift
snapshot, order intents (written *before* the POST), every order state change, fills
(each once: unique by execution id and by the order's cumulative quantity, so a catch-up
adds only what is missing), config versions, the trading state (the kill switch survives
restarts) and free-form records. Order states and fills are also derived from the order
events passed to ``record_event`` (see ``ops.py``), so ``unresolved_intents`` is right even
when the shell journals only events.

Writes never block the event loop: each call enqueues an op for the one writer thread
(``writer.py``), which commits them in call order. Two writes wait for durability:
``await record_intent`` and ``await set_trading_state`` return only after an fsync'd
commit (``synchronous=FULL``), and ``await flush()`` returns once everything before it
is durable. ``record_intents`` (the order path's group commit) is the one write made on
the loop's thread: one ``fdatasync`` of the intent log beside the journal
(``group_commit.py``, ``intent_log.py``; ~0.2 ms), which ``open`` replays into SQLite. Everything else is committed within a batch or two (``synchronous=NORMAL``):
it survives ``kill -9``; a power cut may lose the last moments of it.

Quotes. Journaling every quote (300k/s at peak) is neither possible nor useful, so by
default (``quotes="conflate"``) ``record_event(QuoteUpdated)`` only remembers the latest
quote per symbol, in memory, in O(1). Just before the next non-quote write (an event, a
command, an intent…) those pending quotes are journaled, each symbol's latest once, in the
order of their last update. The replay therefore sees, before every journaled event and
before every command, exactly the latest prices the live engine saw; it is exact for an
engine whose quote handling depends only on each symbol's latest quote unless it returns
commands, which is the core's contract (ticks update prices and drift; deciding runs on a
timer or a breach, and a breach returns commands, which flush the quote that caused it).
``tests/adapters/store/test_replay.py`` checks this on the core's driven scenario (and
that dropping quotes altogether breaks the replay). ``quotes="all"`` journals every quote
(backtests, tests); ``quotes="none"`` drops them.
``QuoteBatch`` (one frame; the engine decides once, after its last quote) is conflated the
same way and journaled as one ``QuoteBatch`` (``pending_quotes.py``), so the replay decides
where the live engine did. ``quotes_conflated`` counts the quotes superseded in memory.

Reads run synchronously on a separate read connection and see committed writes only:
``await flush()`` first to read your own recent writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from adapters.store import codec, history, integrity, lot_journal, ops
from adapters.store.group_commit import GroupCommit
from adapters.store.integrity import JournalDamaged, JournalMissing
from adapters.store.intent_log import IntentLog
from adapters.store.journal_paths import (
    DB_SUFFIXES,
    journal_path,
    prepare_path,
    redact_config,
    resolve_path,
)
from adapters.store.ops import JournalError
from adapters.store.pending_quotes import PendingQuotes
from adapters.store.writer import Op, Outbox, WriterThread
from daemon.core.commands import Command, PlaceOrder
from daemon.core.config.tax import TaxConfig
from daemon.core.events import Event, OrderFilled, QuoteBatch, QuoteUpdated
from daemon.core.model import TradingState
from daemon.core.tax.ledger import LinkedPurchase
from daemon.core.tax.live_lots import SeedLots

__all__ = [
    "DB_SUFFIXES",
    "JournalDamaged",
    "JournalError",
    "JournalMissing",
    "SqliteJournal",
    "journal_path",
    "redact_config",
    "resolve_path",
]

log = logging.getLogger(__name__)

QuotePolicy = Literal["conflate", "all", "none"]
Clock = Callable[[], datetime]

class SqliteJournal:
    """See the module docstring. Build with ``await SqliteJournal.open(path, clock=now)``."""

    def __init__(
        self,
        path: Path,
        writer: WriterThread,
        reader: sqlite3.Connection,
        *,
        quotes: QuotePolicy,
        clock: Clock,
        intent_log: IntentLog,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._read_lock = threading.Lock()
        self._quotes = quotes
        self._clock = clock
        self._pending_quotes = PendingQuotes()
        self._outbox = Outbox(writer)
        self._group = GroupCommit(intent_log, self._put, self._read)
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        clock: Clock,
        quotes: QuotePolicy = "conflate",
        trace: Callable[[str], None] | None = None,
        new_journal: bool = False,
        intent_sync: Callable[[int], None] = os.fdatasync,
    ) -> SqliteJournal:
        """Open (creating directories, file and schema as needed) and start the writer.

        ``path`` is a state directory (the journal is ``journal.sqlite3`` inside it), or
        the journal file itself when that exists or ends in ``.sqlite3``/``.sqlite``/``.db``.
        ``clock`` (required: a library never picks the wall clock; the daemon passes its
        broker-synced clock, a one-shot CLI the host's) stamps ``recorded_at``; ``trace`` sees every SQL statement the writer
        runs (tests, debugging); ``intent_sync`` syncs the intent log (tests watch it)."""
        if quotes not in ("conflate", "all", "none"):
            raise JournalError(f"quotes={quotes!r}: use 'conflate', 'all' or 'none'")
        p = prepare_path(path, new_journal=new_journal)
        writer = WriterThread(p, trace=trace)
        try:
            await writer.start()  # runs PRAGMA quick_check before anything else
        except sqlite3.Error as e:
            if integrity.is_damage(e):
                raise integrity.damaged(p, str(e)) from None
            raise JournalError(f"cannot open the journal {p}: {e}") from e
        integrity.write_marker(p)
        reader = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA busy_timeout = 10000")
        reader.execute("PRAGMA query_only = ON")
        log, logged = IntentLog.open(p, sync=intent_sync)
        journal = cls(p, writer, reader, quotes=quotes, clock=clock, intent_log=log)
        await journal._recover_logged(logged)
        return journal

    async def _recover_logged(self, logged: list[tuple[PlaceOrder, str]]) -> None:
        """Intents the log made durable that SQLite may not hold yet (a crash or power cut
        before the writer's commit): journal them, durably (a no-op for those it holds).
        The file is not written here (another process may be appending to it: a CLI
        opening a running daemon's journal): this journal's first group overwrites it
        from offset 0, and records left behind are re-recorded, as no-ops, by later opens."""
        for order, recorded_at in logged:
            self._group.note(order.client_order_id)
            try:
                await self._put_and_wait(ops.intent_op(order, recorded_at))
            except JournalError as exc:  # the same id journaled with other contents
                log.error("journal: an intent from the intent log was not recorded: %s", exc)

    async def close(self) -> None:
        """Flush everything, stop the writer and close both connections. Idempotent."""
        if self._closed:
            return
        self._drain_quotes()
        self._closed = True
        self._outbox.hand_over()
        with self._read_lock:
            self._reader.close()
        await self._writer.stop()
        self._group.log.close()

    async def __aenter__(self) -> SqliteJournal:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- counters for metrics -------------------------------------------------------------

    @property
    def write_errors(self) -> int:
        """Writes that failed (each logged, without its payload)."""
        return self._writer.write_errors

    @property
    def writes_failing(self) -> bool:
        """True while the last write failed (disk full, read-only file system, I/O error)."""
        return self._writer.failing or not self._writer.alive

    @property
    def duplicate_fills(self) -> int:
        """Fills already journaled (a repeating stream, or a catch-up whose cumulative
        quantity adds nothing)."""
        return self._writer.state.duplicate_fills

    @property
    def backlog(self) -> int:
        """Ops queued for the writer and not yet taken."""
        return self._writer.backlog() + len(self._outbox)

    # -- writes ---------------------------------------------------------------------------

    def _put(self, op: Op) -> None:
        if self._closed:
            raise JournalError(f"journal {self.path} is closed; {op.name} was not recorded")
        if not self._writer.alive:
            raise JournalError(f"journal {self.path}: the writer thread has stopped")
        if self._pending_quotes:
            self._drain_quotes()
        self._outbox.put(op)

    async def _put_and_wait(self, op: Op) -> None:
        op.waiter = asyncio.get_running_loop().create_future()
        self._put(op)
        await op.waiter

    def _now(self) -> str:
        return self._clock().isoformat()

    @property
    def quotes_conflated(self) -> int:
        return self._pending_quotes.conflated

    def _drain_quotes(self) -> None:
        events = self._pending_quotes.take()
        if events:
            recorded_at = self._now()
            for e in events:
                self._outbox.put(ops.event_op(e, recorded_at))

    def record_event(self, event: Event) -> None:
        """Journal one consumed event (non-blocking). Quotes follow the ``quotes`` policy."""
        kind = type(event)
        if kind is QuoteUpdated or kind is QuoteBatch:
            if self._quotes == "conflate":
                if self._closed:
                    raise JournalError(f"journal {self.path} is closed")
                first = self._pending_quotes.add(event)  # type: ignore[arg-type]
                if first:
                    recorded_at = self._now()
                    for e in first:
                        self._outbox.put(ops.event_op(e, recorded_at))
                return
            if self._quotes == "none":
                return
        self._put(ops.event_op(event, self._now()))

    def record_command(self, command: Command) -> None:
        """Journal one command the engine returned (non-blocking). A ``RecordDecision``
        also fills the ``decisions`` table."""
        recorded_at = self._now()
        self._put(ops.command_op(command, recorded_at))

    def record(self, kind: str, payload: dict[str, Any]) -> None:
        """A free-form record (reconcile results, alerts, notes). Non-blocking."""
        if not kind:
            raise JournalError("record(kind, …) needs a non-empty kind")
        self._put(ops.record_op(kind, payload, self._now()))

    async def record_intent(self, order: PlaceOrder) -> None:
        """Journal an order intent; returns once it is durable (fsync'd). Call it before
        the POST and do not send the order if it raises. Re-recording the same intent is
        a no-op; the same id with different contents raises ``JournalError``."""
        if not isinstance(order, PlaceOrder):
            raise JournalError(f"record_intent takes a PlaceOrder, not {type(order).__name__}")
        self._group.note(order.client_order_id)
        await self._put_and_wait(ops.intent_op(order, self._now()))

    def record_intents(self, orders: Sequence[PlaceOrder]) -> Sequence[Awaitable[None]]:
        """Group commit (``group_commit.py``): the intents of orders released together (a
        round's first orders, a throttle release) made durable with one ``fdatasync`` of
        the intent log before this returns, then queued for SQLite. Returns, per order, an
        awaitable that is already complete, or raises if that intent conflicts with one
        journaled (the same id, other contents): await it before that order's POST.
        Raises ``JournalError`` at once when the journal takes no writes."""
        for order in orders:
            if not isinstance(order, PlaceOrder):
                raise JournalError(f"record_intents takes PlaceOrders, not {type(order).__name__}")
        if self._closed:
            raise JournalError(f"journal {self.path} is closed; the intents were not recorded")
        if not self._writer.alive:
            raise JournalError(f"journal {self.path}: the writer thread has stopped")
        return self._group.record(orders, self._now())

    def record_order_state(
        self,
        client_order_id: str,
        state: str,
        detail: dict[str, Any] | None = None,
        *,
        terminal: bool | None = None,
    ) -> None:
        """Journal an order's state change (non-blocking). ``terminal`` defaults to
        ``state.upper() in schema.TERMINAL_STATES``; a terminal state resolves the intent."""
        if not client_order_id or not state:
            raise JournalError("record_order_state needs a client_order_id and a state")
        self._put(
            ops.order_state_op(client_order_id, str(state), detail or {}, terminal, self._now())
        )

    def record_fill(self, fill: OrderFilled) -> None:
        """Journal one execution; a repeated ``execution_id`` is ignored (and counted in
        ``duplicate_fills``). ``record_event(fill)`` already does this: calling both is fine."""
        self._put(ops.fill_op(fill, self._now()))

    def record_config(self, text: str, digest: str) -> None:
        """Journal a loaded config (secret-looking values redacted); skipped when its
        digest equals the latest one journaled."""
        self._put(ops.config_op(redact_config(text), digest, self._now()))

    async def set_trading_state(self, state: TradingState | str, reason: str) -> None:
        """Persist the trading state durably (the kill switch must survive restarts)."""
        try:
            value = TradingState(state)
        except ValueError:
            raise JournalError(
                f"unknown trading state {state!r}: use one of {[s.value for s in TradingState]}"
            ) from None
        await self._put_and_wait(ops.trading_state_op(value, reason, self._now()))
        try:  # the survival copy: a journal recovered or replaced keeps the kill switch
            integrity.save_trading_state(self.path, value.value, reason)
        except OSError as exc:
            raise JournalError(f"cannot write the trading state beside {self.path}: {exc}") from exc

    async def flush(self) -> None:
        """Return once every write made before this call is committed and durable."""
        self._drain_quotes()
        await self._put_and_wait(ops.flush_op())

    # -- reads (committed data, on the read connection) -----------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            if self._closed:
                raise JournalError(f"journal {self.path} is closed")
            return self._reader.execute(sql, params).fetchall()

    def unresolved_intents(self) -> list[PlaceOrder]:
        """Intents with no terminal state recorded, oldest first (recovery resolves them)."""
        rows = self._read(
            "SELECT body FROM intents AS i WHERE NOT EXISTS (SELECT 1 FROM order_states AS s "
            "WHERE s.client_order_id = i.client_order_id AND s.terminal = 1) ORDER BY i.seq"
        )
        return [codec.loads("PlaceOrder", body) for (body,) in rows]

    def intent(self, client_order_id: str) -> PlaceOrder | None:
        rows = self._read("SELECT body FROM intents WHERE client_order_id = ?", (client_order_id,))
        return codec.loads("PlaceOrder", rows[0][0]) if rows else None

    def order_states(self, client_order_id: str) -> list[tuple[str, dict[str, Any]]]:
        """An order's recorded states, oldest first: ``(state, detail)``."""
        rows = self._read(
            "SELECT state, detail FROM order_states WHERE client_order_id = ? ORDER BY seq",
            (client_order_id,),
        )
        return [(state, json.loads(detail)) for state, detail in rows]

    def fills(self, client_order_id: str) -> list[OrderFilled]:
        """An order's journaled fills, oldest first, each once; ``qty`` is what the fill
        added to the order (a catch-up fill carries its cumulative quantity as received)."""
        rows = self._read(
            "SELECT qty, body FROM fills WHERE client_order_id = ? ORDER BY seq",
            (client_order_id,),
        )
        return [
            dataclasses.replace(codec.loads("OrderFilled", body), qty=Decimal(qty))
            for qty, body in rows
        ]

    def seed_lots(self, tax: TaxConfig, linked: Sequence[LinkedPurchase] = ()) -> SeedLots:
        """The lot ledger rebuilt from the journal, for the engine at start-up."""
        with self._read_lock:
            if self._closed:
                raise JournalError(f"journal {self.path} is closed")
            return lot_journal.seed_lots(self._reader, tax, linked)

    def trading_state(self) -> tuple[TradingState, str] | None:
        """The last persisted trading state and its reason, or None if never set."""
        rows = self._read("SELECT state, reason FROM trading_states ORDER BY seq DESC LIMIT 1")
        if rows:
            return TradingState(rows[0][0]), rows[0][1]
        saved = integrity.load_trading_state(self.path)  # a new or recovered journal
        return (TradingState(saved[0]), saved[1]) if saved is not None else None

    def latest_config(self) -> tuple[str, str] | None:
        """(digest, text) of the last journaled config."""
        rows = self._read("SELECT digest, text FROM config_versions ORDER BY seq DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else None

    def events(self, since_seq: int = 0, *, chunk: int = 1000) -> Iterator[tuple[int, Event]]:
        """Journaled events with ``seq > since_seq``, in order: the replay source."""
        last = since_seq
        while True:
            rows = self._read(
                "SELECT seq, kind, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (last, chunk),
            )
            for seq, kind, body in rows:
                yield seq, codec.loads(kind, body)
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def commands(
        self, since_seq: int = 0, *, chunk: int = 1000
    ) -> Iterator[tuple[int, int, Command]]:
        """Journaled commands as ``(seq, event_seq, command)``; ``event_seq`` is the last
        event journaled before the command (the one that produced it)."""
        last = since_seq
        while True:
            rows = self._read(
                "SELECT seq, event_seq, kind, body FROM commands WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (last, chunk),
            )
            for seq, event_seq, kind, body in rows:
                yield seq, event_seq, codec.loads(kind, body)
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        """Newest-first rows for ``history``: kind is one of ``history.KINDS``."""
        with self._read_lock:
            if self._closed:
                raise JournalError(f"journal {self.path} is closed")
            return history.recent(self._reader, kind, limit)
