"""The engine's commands to the shell's actions, by command type (a table, like the
engine's own table of events). Nothing here awaits venue I/O: order I/O runs as tracked
tasks (``OrderTasks``) whose outcomes come back as events; the rest (timers, the journal,
metrics, the decision's log line) is done at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import structlog

from adapters.ports import Journal
from daemon.core import commands as cmds
from daemon.core import events as ev
from daemon.core.commands import Command
from daemon.runtime.metrics import Metrics
from daemon.runtime.observe import Observer
from daemon.runtime.order_tasks import OrderTasks, TaskKind
from daemon.runtime.timers import Timers
from daemon.runtime.venue_calls import VenueCalls, rank_by_size

log = structlog.get_logger("rebalanced")


class Batch(NamedTuple):
    """What the commands of one ``Engine.handle`` call share."""

    trigger: ev.QuoteUpdated | ev.QuoteBatch | None  # the quotes that led to them (latency)
    ranks: dict[str, int]  # rate-limiter rank per client order id, largest order first
    intents: dict[str, Any]  # group commit: each order's durable intent (``_place``)
    uncommitted: list[cmds.PlaceOrder]  # the orders whose group commit the first one starts


Handler = Callable[[Any, Batch], None]


class Dispatcher:
    def __init__(self, *, calls: VenueCalls, tasks: OrderTasks, timers: Timers,
                 observer: Observer, metrics: Metrics, journal: Journal,
                 now: Callable[[], datetime], dry_run: bool) -> None:
        self._calls = calls
        self._tasks = tasks
        self._timers = timers
        self._observer = observer
        self._metrics = metrics
        self._journal = journal
        self._now = now
        self._dry_run = dry_run
        self.engine_quote: Callable[[str], ev.QuoteUpdated | None] = lambda symbol: None
        self.orders_spawned = 0  # submit tasks started (the consumer yields to new ones)
        self.handlers: dict[type, Handler] = {
            cmds.PlaceOrder: self._place,
            cmds.CancelOrder: self._cancel,
            cmds.LookupOrder: self._lookup,
            cmds.ScheduleWakeup: self._wake_up,
            cmds.RequestReconcile: self._reconcile,
            cmds.RecordDecision: self._decision,
            cmds.TradingStateChanged: self._trading_state,
            cmds.Halt: self._halt,
            cmds.Alert: self._alert,
        }

    def dispatch(self, commands: list[Command],
                 trigger: ev.QuoteUpdated | ev.QuoteBatch | None) -> None:
        """Act on one ``Engine.handle`` call's commands, in order."""
        placed = [c for c in commands if type(c) is cmds.PlaceOrder]
        batch = Batch(trigger, rank_by_size(placed), {}, placed)
        handlers = self.handlers
        for cmd in commands:
            handler = handlers.get(type(cmd))
            if handler is None:
                raise TypeError(f"no shell action for the command {type(cmd).__name__}: "
                                "add it to Dispatcher.handlers")
            handler(cmd, batch)

    def record(self, cmd: Command) -> None:
        """Journal a command; a failed write is counted and logged, never fatal."""
        try:
            self._journal.record_command(cmd)
        except Exception:
            self._metrics.journal_errors.inc()
            log.exception("journal write failed")

    # -- the handlers ---------------------------------------------------------------------

    def _place(self, cmd: cmds.PlaceOrder, batch: Batch) -> None:
        if batch.uncommitted:
            # group commit: one fsync for all the orders' intents, before the first POST;
            # started here, at the first order, so the decision before it (journaled by
            # ``_decision``) is put before the barrier and made durable with them
            batch.intents.update(self._calls.intents(batch.uncommitted))
            batch.uncommitted.clear()
        quote = self.engine_quote(cmd.symbol)
        if quote is not None:
            self._observer.last_mid[cmd.symbol] = (quote.bid + quote.ask) * 0.5
        self._observer.placed(cmd, self._dry_run)
        coid = cmd.client_order_id
        self._tasks.spawn(self._calls.submit(cmd, batch.ranks[coid], batch.intents.get(coid)),
                          TaskKind.SUBMIT, coid)
        self.orders_spawned += 1

    def _cancel(self, cmd: cmds.CancelOrder, batch: Batch) -> None:
        self._tasks.spawn(self._calls.cancel(cmd), TaskKind.CANCEL, cmd.client_order_id)

    def _lookup(self, cmd: cmds.LookupOrder, batch: Batch) -> None:
        self._metrics.order_lookups.labels(cmd.reason).inc()
        self._tasks.spawn(self._calls.lookup(cmd.client_order_id), TaskKind.LOOKUP,
                          cmd.client_order_id)

    def _wake_up(self, cmd: cmds.ScheduleWakeup, batch: Batch) -> None:
        self._timers.schedule(cmd.at, cmd.key)

    def _reconcile(self, cmd: cmds.RequestReconcile, batch: Batch) -> None:
        self._tasks.spawn(self._calls.reconcile(cmd.reason, cmd.symbols), TaskKind.RECONCILE)

    def _decision(self, cmd: cmds.RecordDecision, batch: Batch) -> None:
        self.record(cmd)  # journaled now: before its orders' intents
        latency = None
        if batch.trigger is not None:
            latency = max(0.0, (self._now() - batch.trigger.at).total_seconds())
        # the canonical log line (~0.2 ms to render and write) waits until the submit
        # tasks spawned after it have taken their first step (the POST): two hops
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self._observer.decision, cmd, latency)

    def _trading_state(self, cmd: cmds.TradingStateChanged, batch: Batch) -> None:
        self._metrics.set_trading_state(cmd.state.value)
        log.warning("trading state changed", state=cmd.state.value, reason=cmd.reason)
        self._tasks.spawn(self._calls.persist_state(cmd), TaskKind.PERSIST)

    def _halt(self, cmd: cmds.Halt, batch: Batch) -> None:
        log.error("engine halted trading", reason=cmd.reason)
        self.record(cmd)

    def _alert(self, cmd: cmds.Alert, batch: Batch) -> None:
        self._observer.alert(cmd)
        self.record(cmd)


__all__ = ["Batch", "Dispatcher"]
