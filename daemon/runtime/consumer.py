"""The one bounded queue and its single consumer.

Producers (streams, timers, order tasks, the ticker) call ``emit``, which never blocks: a
full queue drops quotes (counted) and parks anything else in a task until there is room, so
no order event is lost. The consumer journals each event, lets the observer count it,
calls ``Engine.handle`` and hands the commands to the dispatcher. Quotes take a lean path:
one ``QuoteBatch`` per websocket frame, no per-quote metric; behind the feed, the frames
merge into the queue's open tail, each symbol's newest quote (``ingest.QuoteBacklog``),
handed to the engine ``ingest.MAX_QUOTES`` at a time; the journal conflates them in
memory and replays exactly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog

from adapters.ports import Journal
from daemon.core import events as ev
from daemon.core.commands import Command
from daemon.core.engine.kernel import Engine
from daemon.runtime.books import book_correction
from daemon.runtime.dispatch import Dispatcher
from daemon.runtime.ingest import QuoteBacklog
from daemon.runtime.metrics import Metrics
from daemon.runtime.observe import Observer
from daemon.runtime.order_tasks import OrderTasks, TaskKind
from daemon.runtime.sd_notify import Notifier

log = structlog.get_logger("rebalanced")


class _Tick:
    """A heartbeat through the queue: when the consumer handles it, the loop is progressing."""

    __slots__ = ()


TICK = _Tick()
SLICE = 0.002  # seconds the consumer works before it yields the loop

ORDER_EVENTS = (ev.OrderAccepted, ev.OrderFilled, ev.OrderCanceled, ev.OrderRejected,
                ev.OrderSubmitFailed, ev.OrderNotFound)
"""Activity on the order path (the periodic reconciliation keeps clear of it)."""


class EventQueue:
    """The producers' side: ``emit`` (see the module docstring) and the quotes it dropped.
    ``tail``: the backlog quote batches merge into while it is the last item queued."""

    def __init__(self, size: int, tasks: OrderTasks) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self._tasks = tasks
        self.quotes_dropped = 0
        self.tail: QuoteBacklog | None = None
        self.on_taken: Callable[[], None] | None = None  # the feed may emit what it held

    def emit(self, event: Any) -> None:
        if type(event) is ev.QuoteBatch:
            tail = self.tail
            if tail is not None:  # behind the feed: conflate into the last item queued
                tail.add(event)
                return
            tail = QuoteBacklog(event)
            try:
                self.queue.put_nowait(tail)
            except asyncio.QueueFull:
                self.quotes_dropped += len(event.quotes)
                return
            self.tail = tail
            return
        self.tail = None  # anything else closes the tail: quotes after it queue behind it
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            if type(event) is ev.QuoteUpdated:
                self.quotes_dropped += 1
                return
            self._tasks.spawn(self.queue.put(event), TaskKind.ENQUEUE)

    def take(self, backlog: QuoteBacklog) -> list[ev.QuoteBatch]:
        """The consumer took ``backlog`` off the queue: it closes, as engine calls."""
        if self.tail is backlog:
            self.tail = None
            if self.on_taken is not None:
                self.on_taken()
        return backlog.batches()


class Consumer:
    """``engine`` is set once start-up has built it; ``reactions`` are the shell's own
    steps for an event type (shutdown, a reloaded config), run before the engine sees it."""

    def __init__(self, events: EventQueue, journal: Journal, dispatcher: Dispatcher,
                 observer: Observer, metrics: Metrics, notifier: Notifier) -> None:
        self.queue = events.queue
        self._events = events
        self.engine: Engine | None = None
        self.dispatcher = dispatcher
        self.reactions: dict[type, Callable[[Any], None]] = {}
        self._journal = journal
        self._journal_quote = journal.record_event  # bound once: the quote path
        self._observer = observer
        self._metrics = metrics
        self._notifier = notifier
        self.quotes_seen = 0  # taken off the queue, conflated ones included
        self.quotes_conflated = 0  # left out under backlog (a newer quote of the symbol won)
        self.last_progress = time.monotonic()
        self.last_order_activity = 0.0
        self._startup_snapshot = True  # the first snapshot builds the books: no correction

    async def run(self, done: Callable[[], bool]) -> None:
        """Consume until ``done()`` (checked at least every 0.25 s), yielding to other tasks
        after ``SLICE`` seconds of work (loop lag stays low) and as soon as orders were
        placed (their POSTs go out now). Quotes come a frame, or a backlog of each symbol's
        newest, per item, so the producers cannot outrun the queue meanwhile."""
        queue = self.queue
        loop = asyncio.get_running_loop()
        dispatcher = self.dispatcher
        while not done():
            try:
                async with asyncio.timeout(0.25):
                    item = await queue.get()
            except TimeoutError:
                self.last_progress = time.monotonic()
                continue
            since = loop.time()
            rest: list[ev.QuoteBatch] = []  # a backlog's further engine calls, last first
            while True:
                if type(item) is QuoteBacklog:
                    rest = self._events.take(item)
                    rest.reverse()
                    item = rest.pop()
                spawned = dispatcher.orders_spawned
                self.handle(item)
                # orders just placed (their intents durable): let their submit tasks POST
                # now, not after the rest of this slice's backlog
                if dispatcher.orders_spawned != spawned or loop.time() - since >= SLICE:
                    await asyncio.sleep(0)
                    since = loop.time()
                    self.last_progress = time.monotonic()
                    if done():  # a backlog may never empty the queue: stop on time,
                        self._rest_but_quotes()  # after the events queued (fills …)
                        return
                if rest:
                    item = rest.pop()
                    continue
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            self.last_progress = time.monotonic()

    def _rest_but_quotes(self) -> None:
        """Stopping behind a backlog: every event still queued but the quotes (an order
        event left in the queue would be lost to the journal)."""
        queue = self.queue
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if type(item) is QuoteBacklog:
                self._events.take(item)
            elif type(item) is not ev.QuoteBatch and type(item) is not ev.QuoteUpdated:
                self.handle(item)

    def handle(self, item: Any) -> None:
        """One item off the queue: a quote (the hot path), the heartbeat, or any event."""
        engine = self.engine
        assert engine is not None
        if type(item) is ev.QuoteBatch:  # the hot path (a frame): no per-quote work here
            self.quotes_seen += len(item.quotes) + item.conflated
            self.quotes_conflated += item.conflated
            self._journal_quote(item)  # conflated in memory: replay stays exact
            commands = engine.handle(item)
            if commands:
                self.dispatcher.dispatch(commands, item)
            return
        if type(item) is QuoteBacklog:  # (run takes these apart: a direct call)
            for batch in self._events.take(item):
                self.handle(batch)
            return
        if type(item) is ev.QuoteUpdated:
            self.quotes_seen += 1
            self._journal_quote(item)
            commands = engine.handle(item)
            if commands:
                self.dispatcher.dispatch(commands, item)
            return
        if item is TICK:
            self.last_progress = time.monotonic()
            if self._notifier.watchdog():
                self._metrics.watchdog_pings.inc()
            return
        self._event(engine, item)

    def _event(self, engine: Engine, item: Any) -> None:
        self.journal_event(item)
        self._observer.event(item)
        if isinstance(item, ORDER_EVENTS):
            self.last_order_activity = time.monotonic()
        reaction = self.reactions.get(type(item))
        if reaction is not None:
            reaction(item)
        if type(item) is ev.AccountSnapshot:
            commands = self._snapshot(engine, item)
        else:
            commands = engine.handle(item)
        if commands:
            self.dispatcher.dispatch(commands, None)

    def _snapshot(self, engine: Engine, snapshot: ev.AccountSnapshot) -> list[Command]:
        """Hand the broker's snapshot to the engine; count and log what it corrected."""
        first = self._startup_snapshot
        self._startup_snapshot = False
        before = None if first else engine.snapshot().holdings
        commands = engine.handle(snapshot)
        if before is None:
            return commands
        fix = book_correction(before, engine.snapshot().holdings)
        if fix:
            if fix.positions:
                self._metrics.book_corrections.labels("position").inc()
            if fix.cash is not None:
                self._metrics.book_corrections.labels("cash").inc()
            log.warning("books corrected by the broker's snapshot", differences=fix.describe())
        return commands

    def journal_event(self, item: Any) -> None:
        """Journal an event; a failed write is counted and logged, never fatal (the journal
        counts its own failures; trading stops on them through the journal watch)."""
        try:
            self._journal.record_event(item)
        except Exception:
            self._metrics.journal_errors.inc()
            log.exception("journal write failed")


__all__ = ["ORDER_EVENTS", "TICK", "Consumer", "EventQueue"]
