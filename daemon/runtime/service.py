"""The asyncio shell around the Engine: start-up as recovery, the periodic work (heartbeat,
clock refresh, reconciliation), signals and the drain. Its parts say what they hold: the
queue and its single consumer (``consumer``), commands to actions (``dispatch``), order
I/O as tracked tasks (``order_tasks``, ``venue_calls``), ``health`` and ``gauges``.

Start-up order (DESIGN.md): the caller has loaded the config and configured logging; here we
open nothing ourselves — the journal, HTTP API and venue are handed in — and we
1. read the persisted trading state; resolve every journaled intent without a known outcome
   by asking the broker (never by sending again);
2. take one account snapshot and the market clock and hand them to a fresh engine;
3. start the streams, wait for quotes, then report ready (``/readyz``, ``READY=1``);
4. consume events until shutdown, then drain in-flight orders up to a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from adapters.ports import Journal
from daemon.core import events as ev
from daemon.core.commands import PlaceOrder
from daemon.core.config.values import Config
from daemon.core.engine.kernel import Engine
from daemon.core.engine.view import EngineSnapshot
from daemon.core.model import TradingState
from daemon.runtime import health
from daemon.runtime.clock import ShellClock
from daemon.runtime.consumer import TICK, Consumer, EventQueue
from daemon.runtime.dispatch import Dispatcher
from daemon.runtime.gauges import Gauges, heartbeat
from daemon.runtime.journal_watch import JournalWatch
from daemon.runtime.jsonable import jsonable
from daemon.runtime.market_stats_task import MarketStatsTask
from daemon.runtime.metrics import Metrics
from daemon.runtime.model_targets_task import ModelTargetsTask
from daemon.runtime.observe import Observer
from daemon.runtime.order_tasks import ALL_BUT_LOOKUPS, SENDING, OrderTasks, TaskKind
from daemon.runtime.sd_notify import Notifier
from daemon.runtime.startup_lots import seed_lots
from daemon.runtime.timers import Timers
from daemon.runtime.venue import Venue
from daemon.runtime.venue_calls import VenueCalls, retry_read
from daemon.runtime.waiting import reporting

log = structlog.get_logger("rebalanced")

EXIT_OK = 0
EXIT_DRAIN_TIMEOUT = 1
EXIT_FORCED = 130

ORDER_PATH_QUIET_SECONDS = 10.0  # the periodic reconciliation waits this long after activity
CLOCK_REFRESH_SECONDS = 30.0
GC_THRESHOLDS = (5_000, 10, 100)
"""The collector's thresholds once started (Python's: 700, 10, 10). Quote events live until
their symbol's next quote (~25 ms at SIP scale), long enough that at 700 young objects many
were promoted and a full collection (11–16 ms CPU, the loop held) ran every ~1.5 s; they
die by reference counting, so 5,000 young objects are rarely reached: in a 30 s SIP soak
collections fell from 2,265 / 205 / 17 (young / middle / full, 0.71 s CPU) to 12 / 1 / 0.
Cyclic garbage still counts towards the 5,000, so it is still collected."""


class Service:
    def __init__(
        self,
        config: Config,
        venue: Venue,
        journal: Journal,
        metrics: Metrics,
        *,
        run_id: str,
        notifier: Notifier | None = None,
        clock: ShellClock | None = None,
        reload_config: Callable[[], Config] | None = None,
        dry_run: bool = False,
        install_signals: bool = True,
    ) -> None:
        self.config = config
        self.venue = venue
        self.journal = journal
        self.metrics = metrics
        self.run_id = run_id
        self.notifier = notifier or Notifier(address="")
        self.clock = clock or ShellClock()
        self.reload_config = reload_config
        self.dry_run = dry_run
        self.install_signals = install_signals
        self.observer = Observer(metrics)
        self.tasks = OrderTasks()
        self.events = EventQueue(config.daemon.queue_size, self.tasks)
        self.queue = self.events.queue
        self.emit = self.events.emit
        self.calls = VenueCalls(venue, journal, metrics, self.emit, self.clock.now,
                                dry_run=dry_run)
        self.timers = Timers(self.clock, self.emit)
        self.dispatcher = Dispatcher(calls=self.calls, tasks=self.tasks, timers=self.timers,
                                     observer=self.observer, metrics=metrics, journal=journal,
                                     now=self.clock.now, dry_run=dry_run)
        self.consumer = Consumer(self.events, journal, self.dispatcher, self.observer,
                                 metrics, self.notifier)
        hold = getattr(venue.market_data, "hold_quotes_while", None)
        if hold is not None:  # backpressure: a feed that can conflate while the consumer is busy
            self.events.on_taken = hold(lambda: self.events.tail is not None)
        self.consumer.reactions.update({ev.ShutdownRequested: self._begin_drain,
                                        ev.ConfigReloaded: self._adopt_config})
        self.gauges = Gauges(metrics)
        self.journal_watch = JournalWatch()  # disk full / read-only: no decisions meanwhile
        self.market_stats: MarketStatsTask | None = None
        self.model_targets: ModelTargetsTask | None = None
        self._ready = False
        self._gc_frozen = 0  # times the start-up heap was frozen (at ready, first beat)
        self._gc_thresholds: tuple[int, ...] | None = None  # the process's, while ours apply
        self._stopping = False
        self._stop_deadline: float | None = None
        self._signals = 0
        self._forced = False
        self._started = time.monotonic()
        self._held_at_start: dict[str, Decimal] = {}
        self._reconcile_wait = health.Waiting()  # the engine waits for a reconciliation
        self._looked_up_open: set[str] = set()  # open at the last deferred reconciliation

    @property
    def engine(self) -> Engine | None:
        return self.consumer.engine

    def _snapshot(self) -> EngineSnapshot | None:
        return self.engine.snapshot() if self.engine is not None else None

    # -- HTTP status provider ---------------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, Any]]:
        return health.liveness(time.monotonic() - self.consumer.last_progress)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        return health.readiness(
            stopping=self._stopping, ready=self._ready, streams=self.venue.stream_stats(),
            journal_down=self.journal_watch.down, snap=self._snapshot(),
            reconcile_waited_seconds=self._reconcile_wait.seconds(time.monotonic()))

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"run_id": self.run_id, "ready": self._ready,
                               "dry_run": self.dry_run, "stopping": self._stopping,
                               "queue_depth": self.queue.qsize(),
                               "quotes_received": self.consumer.quotes_seen}
        if self.engine is not None:
            out["engine"] = jsonable(self.engine.snapshot())
        if self.market_stats is not None:
            out["market_stats"] = self.market_stats.status()
        if self.model_targets is not None:
            out["model_targets"] = self.model_targets.status()
        return out

    def request_trading_state(self, state: TradingState, reason: str) -> None:
        self.emit(ev.TradingStateRequested(at=self.clock.now(), state=state, reason=reason))

    # -- the main coroutine -----------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        if self.install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_stop_signal)
            loop.add_signal_handler(signal.SIGHUP, self._on_reload_signal)
        self.metrics.start_time.set(time.time())
        self.notifier.status("recovering: reconciling with the broker")
        try:
            await self._recover()
            async with asyncio.TaskGroup() as tg:
                producers = [tg.create_task(coro, name=name) for name, coro in self._producers()]
                await self.consumer.run(self._consumed_enough)
                for t in producers:
                    t.cancel()
                await self.tasks.aclose()
        finally:
            self.timers.cancel_all()
            await self.tasks.aclose()
            if self.install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
            with contextlib.suppress(Exception):
                await self.journal.flush()
            if self._gc_frozen:  # what the daemon held may be collected again
                gc.unfreeze()
            if self._gc_thresholds is not None:
                gc.set_threshold(*self._gc_thresholds)
        if self._forced:
            return EXIT_FORCED
        return EXIT_OK if self._drained() else EXIT_DRAIN_TIMEOUT

    def _producers(self) -> list[tuple[str, Any]]:
        period = min(1.0, self.notifier.watchdog_interval or 1.0)  # half the watchdog's
        out: list[tuple[str, Any]] = [
            ("market-data", self.venue.market_data.run(self._quoted_symbols(), self.emit)),
            ("trade-updates", self.venue.trade_updates.run(self.emit)),
            ("ticker", heartbeat(period, self.metrics, self._beat)),
            ("clock", self._clock_refresher()),
            ("reconciler", self._reconciler()),
            ("ready", self._await_ready()),
        ]
        if (stats := self._market_stats_task()) is not None:  # never gates readiness
            out.append(("market-stats", stats.run()))
        if self.config.targets_model.kind != "static" and self.venue.daily_bars:
            self.model_targets = ModelTargetsTask(
                lambda: self.config, self.venue.daily_bars, self.emit, self.metrics,
                self.clock.now)
            out.append(("model", self.model_targets.run()))
        return out

    # -- start-up ---------------------------------------------------------------------------
    async def _recover(self) -> None:
        state = TradingState.ACTIVE
        persisted = self.journal.trading_state()
        if persisted is not None:
            state = persisted[0]
        self.metrics.set_trading_state(state.value)
        for intent in self.journal.unresolved_intents():
            async with reporting(f"the broker: look up {intent.client_order_id}",
                                 self._broker_wait_detail):
                await self._resolve_intent(intent)
        async with reporting("the broker: market clock", self._broker_wait_detail):
            clock_event = await retry_read(self.venue.account.clock)
        self._sync_clock(clock_event.at)
        async with reporting("the broker: account snapshot", self._broker_wait_detail):
            snapshot = await retry_read(self.venue.account.snapshot)
        self._held_at_start = dict(snapshot.positions)
        lots = await seed_lots(self.journal, self.config.tax, self.clock.now())
        self.consumer.engine = Engine(self.config, self.run_id, trading_state=state, lots=lots)
        self.dispatcher.engine_quote = self.consumer.engine.quote  # an order's mid, to log
        log.info("recovered", run_id=self.run_id, trading_state=state.value,
                 cash=str(snapshot.cash), positions={k: str(v) for k, v in snapshot.positions.items()},
                 open_orders=len(snapshot.open_orders), market_open=clock_event.is_open)
        self.metrics.reconciliations.labels("startup").inc()
        for event in (snapshot, clock_event):
            self.consumer.handle(event)

    async def _resolve_intent(self, intent: PlaceOrder) -> None:
        """An order intent from an earlier run with no known outcome: ask, never resend."""
        events = await retry_read(lambda: self.venue.gateway.lookup(intent.client_order_id))
        for e in events:  # the journal derives the order's state from these events
            self.consumer.journal_event(e)
        log.info("resolved journaled intent", client_order_id=intent.client_order_id,
                 outcome=[type(e).__name__ for e in events])

    def _broker_wait_detail(self) -> dict[str, Any]:
        return health.broker_wait_detail(self.venue.limiter_stats())

    def _market_stats_task(self) -> MarketStatsTask | None:
        """ADV, σ and covariance from daily bars, for every quoted (held or targeted) symbol."""
        if not self.config.market_stats.enabled or self.venue.daily_bars is None:
            return None
        self.market_stats = MarketStatsTask(
            lambda: self.config.market_stats, self.venue.daily_bars, self._quoted_symbols,
            self.emit, self.metrics, self.clock.now, timezone=self.config.trigger.timezone,
            overrides=lambda: {a.symbol: (a.adv, a.sigma) for a in self.config.portfolio.assets})
        return self.market_stats

    def _quoted_symbols(self) -> list[str]:
        """Targets, excluded symbols and whatever the account held at start-up: a holding
        that is never traded still counts in the portfolio's value, so it needs prices."""
        held = {s for s, q in self._held_at_start.items() if q != 0}
        tax = self.config.tax
        subs = ({s for ss in tax.harvest.substitutes.values() for s in ss}
                if tax.taxable and tax.harvest.enabled else set())  # a harvest buys them
        extra = sorted((held | subs | set(self.config.portfolio.excluded))
                       - set(self.config.symbols))
        return [*self.config.symbols, *extra]

    async def _await_ready(self) -> None:
        def detail() -> dict[str, Any]:
            return health.ready_wait_detail(self._snapshot(), self.venue.stream_stats())

        async with reporting("streams up and a quote for every symbol", detail):
            while not self._stopping:
                if health.ready_to_trade(self._snapshot(), self.venue.stream_stats()):
                    self._ready = True
                    self._freeze_heap()
                    self.metrics.up_ready.set(1)
                    self.notifier.ready("ready: reconciled, streams up")
                    log.info("ready",
                             seconds_since_start=round(time.monotonic() - self._started, 3))
                    return
                await asyncio.sleep(0.05)

    # -- periodic work ----------------------------------------------------------------------
    def _beat(self) -> None:
        """The heartbeat's work: a tick through the queue, the gauges, the journal watch."""
        self.emit(TICK)
        self.refresh_gauges()
        self.journal_watch.check(self.journal, self.emit, self.clock.now)
        if self._ready and self._gc_frozen < 2:
            self._freeze_heap()  # again after the first beat: its gauge children too

    def _freeze_heap(self) -> None:
        """Once started (engine, books, a gauge per symbol built) what exists lives as long
        as the daemon, and a full collection walking it took ~80 ms of CPU at SIP scale
        (5,000 symbols); frozen, collections walk only what came after (~7–10 ms). Then
        the collector runs less often (``GC_THRESHOLDS``), until the service ends."""
        gc.freeze()
        self._gc_frozen += 1
        if self._gc_thresholds is None:
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)

    def refresh_gauges(self) -> None:
        snap = self._snapshot()
        self.gauges.refresh(
            queue_depth=self.queue.qsize(), quotes_seen=self.consumer.quotes_seen,
            quotes_dropped=self.events.quotes_dropped,
            quotes_conflated=self.consumer.quotes_conflated, streams=self.venue.stream_stats(),
            journal_write_errors=self.journal.write_errors,
            limiter=self.venue.limiter_stats(), snap=snap,
            weights=self.engine.weight_columns() if self.engine is not None else None)
        if snap is not None:
            self._reconcile_wait.note(snap.awaiting_reconcile, time.monotonic())

    def _sync_clock(self, broker_now: datetime) -> None:
        """Follow the broker's clock; log and publish the measured offset when it moves."""
        changed = self.clock.sync_to(broker_now)
        self.metrics.clock_offset.set(self.clock.offset)
        if changed is not None:
            log.info("clock follows the broker", offset_seconds=round(changed, 3),
                     broker_now=broker_now.isoformat())

    async def _clock_refresher(self) -> None:
        while True:
            await asyncio.sleep(CLOCK_REFRESH_SECONDS)
            try:
                clock_event = await self.venue.account.clock()
            except Exception as exc:
                log.warning("clock refresh failed", error=type(exc).__name__)
                continue
            self._sync_clock(clock_event.at)
            self.emit(clock_event)

    async def _reconciler(self) -> None:
        """Periodic reconciliation that does not race recent activity: an account snapshot
        only when no order is open and nothing happened on the order path for a while. It
        never waits behind open orders: one still open a whole interval later is looked up
        over REST (a fill or cancel the trade stream lost is learned that way)."""
        interval = self.config.daemon.reconcile_interval_seconds
        while True:
            await asyncio.sleep(interval)
            snap = self._snapshot()
            open_now = {o.client_order_id for o in snap.open_orders} if snap is not None else set()
            for coid in sorted(open_now & self._looked_up_open):
                self.metrics.order_lookups.labels("reconcile").inc()
                self.tasks.spawn(self.calls.lookup(coid), TaskKind.LOOKUP, coid)
            self._looked_up_open = open_now
            busy = bool(open_now) or self.tasks.running(ALL_BUT_LOOKUPS) > 0
            idle = time.monotonic() - self.consumer.last_order_activity
            if busy or idle <= ORDER_PATH_QUIET_SECONDS:
                self.metrics.reconciliations.labels("deferred").inc()
                continue
            await self.calls.reconcile("periodic")

    # -- signals, reload and the drain --------------------------------------------------------
    def _on_stop_signal(self) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("stop requested: draining")
            self.emit(ev.ShutdownRequested(at=self.clock.now()))
        else:
            log.warning("second stop signal: exiting now; the next start reconciles")
            self._forced = True
            self._stopping = True
            self._stop_deadline = time.monotonic()
            self.emit(TICK)

    def _on_reload_signal(self) -> None:
        self.notifier.reloading()
        try:
            if self.reload_config is None:
                raise RuntimeError("no configuration file to reload")
            config = self.reload_config()
        except Exception as exc:
            log.error("config reload rejected; keeping the running config", error=str(exc))
            self.notifier.notify("READY=1", "STATUS=reload rejected: old config kept")
            return
        log.info("config reloaded")
        self.emit(ev.ConfigReloaded(at=self.clock.now(), config=config))
        if self.model_targets is not None:
            self.model_targets.after_reload()
        self.notifier.notify("READY=1", "STATUS=config reloaded")

    def _adopt_config(self, event: ev.ConfigReloaded) -> None:
        self.config = event.config

    def _begin_drain(self, event: ev.ShutdownRequested) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._stop_deadline = time.monotonic() + self.config.daemon.drain_deadline_seconds
        self.notifier.stopping()
        self.metrics.up_ready.set(0)

    def _consumed_enough(self) -> bool:
        """The consumer stops once stopping and drained, or past the drain's deadline."""
        return self._stopping and (self._drained() or self._past_deadline())

    def _drained(self) -> bool:
        if self.tasks.running(SENDING):
            return False
        # "a known state": nothing still waiting for the broker's answer (resting OPEN orders
        # are known; they are canceled first when cancel_open_on_shutdown is set)
        return self.engine is None or self.engine.snapshot().awaiting_answer == 0

    def _past_deadline(self) -> bool:
        return self._stop_deadline is not None and time.monotonic() >= self._stop_deadline
