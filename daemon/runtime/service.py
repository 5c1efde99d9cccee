"""The asyncio shell around the Engine: start-up as recovery, one bounded queue with a single
consumer, order commands as tracked tasks, timers, periodic reconciliation, signals, drain.

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
import signal
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from adapters.ports import Journal
from adapters.store.lot_journal import LotJournalError
from daemon.core import events as ev
from daemon.core.commands import (
    Alert,
    CancelOrder,
    Command,
    Halt,
    LookupOrder,
    PlaceOrder,
    RecordDecision,
    RequestReconcile,
    ScheduleWakeup,
    TradingStateChanged,
)
from daemon.core.config import Config
from daemon.core.engine import Engine
from daemon.core.live_lots import SeedLots, trade_day
from daemon.core.lot_import import LotFileError, parse_linked_buys_csv
from daemon.core.lot_ledger import LinkedPurchase
from daemon.core.model import TradingState
from daemon.runtime.books import book_correction
from daemon.runtime.clock import ShellClock
from daemon.runtime.journal_watch import JournalWatch
from daemon.runtime.jsonable import jsonable
from daemon.runtime.market_stats_task import MarketStatsTask
from daemon.runtime.metrics import Metrics
from daemon.runtime.model_targets_task import ModelTargetsTask
from daemon.runtime.observe import Observer
from daemon.runtime.sd_notify import Notifier
from daemon.runtime.timers import Timers
from daemon.runtime.venue import Venue
from daemon.runtime.venue_calls import VenueCalls, rank_by_size, retry_read
from daemon.runtime.waiting import reporting

log = structlog.get_logger("rebalanced")

EXIT_OK = 0
EXIT_DRAIN_TIMEOUT = 1
EXIT_FORCED = 130

# /readyz says not ready when a reconciliation the engine waits for (after a trade-stream gap,
# a suspected split) has not landed within this long: the books may be wrong meanwhile.
BOOKS_UNCONFIRMED_SECONDS = 30.0



class _Tick:
    """A heartbeat through the queue: when the consumer handles it, the loop is progressing."""

    __slots__ = ()


TICK = _Tick()


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
        self.calls = VenueCalls(venue, journal, metrics, self.emit, self.clock.now,
                                dry_run=dry_run)
        self.install_signals = install_signals
        self.observer = Observer(metrics)
        self.engine: Engine | None = None
        self.market_stats: MarketStatsTask | None = None
        self.model_targets: ModelTargetsTask | None = None
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=config.daemon.queue_size)
        self.timers = Timers(self.clock, self.emit)
        self._order_tasks: set[asyncio.Task[None]] = set()
        self._last_progress = time.monotonic()
        self._last_order_activity = 0.0
        self._quotes_seen = 0
        self._quotes_dropped = 0
        self._quotes_reported = 0  # what refresh_gauges already added to the counters
        self._dropped_reported = 0
        self._ready = False
        self._stopping = False
        self._stop_deadline: float | None = None
        self._signals = 0
        self._forced = False
        self._started = time.monotonic()
        self._held_at_start: dict[str, Decimal] = {}
        self._startup_snapshot = True  # the first snapshot builds the books: no correction
        self._await_reconcile_since: float | None = None
        self._looked_up_open: set[str] = set()  # open at the last deferred reconciliation
        self.journal_watch = JournalWatch()  # disk full / read-only: no decisions meanwhile
        self._journal_quote = journal.record_event  # bound once: the quote path

    # -- producers ------------------------------------------------------------------------
    def emit(self, event: Any) -> None:
        """Put an event on the queue without blocking. A full queue drops quotes (counted);
        anything else waits for room in a task, so no order event is ever lost."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            if type(event) is ev.QuoteUpdated:
                self._quotes_dropped += 1
                return
            task = asyncio.get_running_loop().create_task(self.queue.put(event))
            self._order_tasks.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._order_tasks.discard)  # type: ignore[arg-type]

    # -- HTTP status provider ---------------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, Any]]:
        age = time.monotonic() - self._last_progress
        return age < 30.0, {"consumer_idle_seconds": round(age, 3)}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        reasons: list[str] = []
        if self._stopping:
            reasons.append("stopping")
        if not self._ready:
            reasons.append("not yet reconciled or no fresh quotes")
        for name, s in self.venue.stream_stats().items():
            if not s.connected:
                reasons.append(f"{name} stream disconnected")
        if self.journal_watch.down:
            reasons.append("journal writes failing (disk full or read-only state directory): "
                           "no new decisions")
        snap = self.engine.snapshot() if self.engine is not None else None
        detail: dict[str, Any] = {"reasons": reasons}
        if snap is not None:
            detail["market_open"] = snap.market_open
            detail["trading_state"] = snap.trading_state.value
            if not snap.feeds_ok:
                reasons.append("feeds lost: " + ", ".join(snap.feeds_lost))
            if snap.overdue_count:
                reasons.append(f"{snap.overdue_count} order(s) unresolved past their deadline "
                               "(being looked up over REST)")
            since = self._await_reconcile_since
            if since is not None and time.monotonic() - since > BOOKS_UNCONFIRMED_SECONDS:
                reasons.append("books unconfirmed: a reconciliation with the broker is overdue")
        return not reasons, detail

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"run_id": self.run_id, "ready": self._ready,
                               "dry_run": self.dry_run, "stopping": self._stopping,
                               "queue_depth": self.queue.qsize(),
                               "quotes_received": self._quotes_seen}
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
                producers = [
                    tg.create_task(self.venue.market_data.run(self._quoted_symbols(), self.emit),
                                   name="market-data"),
                    tg.create_task(self.venue.trade_updates.run(self.emit), name="trade-updates"),
                    tg.create_task(self._ticker(), name="ticker"),
                    tg.create_task(self._clock_refresher(), name="clock"),
                    tg.create_task(self._reconciler(), name="reconciler"),
                    tg.create_task(self._await_ready(), name="ready"),
                ]
                if (stats := self._market_stats_task()) is not None:  # never gates readiness
                    producers.append(tg.create_task(stats.run(), name="market-stats"))
                if self.config.targets_model.kind != "static" and self.venue.daily_bars:
                    self.model_targets = ModelTargetsTask(
                        lambda: self.config, self.venue.daily_bars, self.emit, self.metrics,
                        self.clock.now)
                    producers.append(tg.create_task(self.model_targets.run(), name="model"))
                await self._consume()
                for t in producers:
                    t.cancel()
                for t in list(self._order_tasks):
                    t.cancel()
        finally:
            self.timers.cancel_all()
            if self.install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
            with contextlib.suppress(Exception):
                await self.journal.flush()
        if self._forced:
            return EXIT_FORCED
        return EXIT_OK if self._drained() else EXIT_DRAIN_TIMEOUT

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
        self.engine = Engine(self.config, self.run_id, trading_state=state,
                             lots=await self._seed_lots())
        log.info("recovered", run_id=self.run_id, trading_state=state.value,
                 cash=str(snapshot.cash), positions={k: str(v) for k, v in snapshot.positions.items()},
                 open_orders=len(snapshot.open_orders), market_open=clock_event.is_open)
        self.metrics.reconciliations.labels("startup").inc()
        for event in (snapshot, clock_event):
            self._consume_one(event)

    async def _seed_lots(self) -> SeedLots | None:
        """The lots rebuilt from the journal (the intents' lookups above included); None
        (the engine seeds from the broker's positions) when the journal's fills do not fit."""
        await self.journal.flush()
        try:
            seed = self.journal.seed_lots(self.config.tax, self._linked_buys())
        except LotJournalError as e:
            log.warning("lot ledger not rebuilt", reason=str(e))
            return None
        for note in seed.notes:
            log.info("lot ledger", note=note)
        return seed

    def _linked_buys(self) -> list[LinkedPurchase]:
        """``[tax] linked_buys_file``: a linked account's buys, for the wash-sale guard. A
        file that cannot be used is logged (named, with its problems) and left out."""
        path = self.config.tax.linked_buys_file
        if not path:
            return []
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
            return parse_linked_buys_csv(text, as_of=trade_day(self.clock.now()))
        except (OSError, UnicodeDecodeError) as e:
            log.error("linked buys not read: the wash-sale guard does not see them",
                      file=path, reason=str(e))
        except LotFileError as e:
            log.error("linked buys not read: the wash-sale guard does not see them; fix the "
                      "rows and restart", file=path, problems=[str(p) for p in e.problems[:10]])
        return []

    def _market_stats_task(self) -> MarketStatsTask | None:
        """ADV, σ and covariance from daily bars, for every quoted (held or targeted) symbol."""
        if not self.config.market_stats.enabled or self.venue.daily_bars is None:
            return None
        self.market_stats = MarketStatsTask(
            lambda: self.config.market_stats, self.venue.daily_bars, self._quoted_symbols,
            self.emit, self.metrics, self.clock.now, timezone=self.config.trigger.timezone,
            overrides=lambda: {a.symbol: (a.adv, a.sigma) for a in self.config.portfolio.assets})
        return self.market_stats

    def _broker_wait_detail(self) -> dict[str, Any]:
        """What a slow start-up step is waiting behind: the client rate limiter."""
        limiter = self.venue.limiter_stats()
        if limiter is None:
            return {}
        # (no "token" in the key names: the log scrubber would mask the value)
        return {"ratelimit_available": round(limiter.tokens, 2),
                "ratelimit_wait_seconds": round(limiter.wait_seconds, 1),
                "ratelimit_waits": limiter.waits, "broker_429s": limiter.throttled_429}

    def _ready_wait_detail(self) -> dict[str, Any]:
        snap = self.engine.snapshot() if self.engine is not None else None
        down = [n for n, s in self.venue.stream_stats().items() if not s.connected]
        out: dict[str, Any] = {"streams_down": down}
        if snap is not None:
            out["missing_prices"] = list(snap.missing_prices)
        return out

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

    async def _resolve_intent(self, intent: PlaceOrder) -> None:
        """An order intent from an earlier run with no known outcome: ask, never resend."""
        events = await retry_read(lambda: self.venue.gateway.lookup(intent.client_order_id))
        for e in events:  # the journal derives the order's state from these events
            self._journal_event(e)
        log.info("resolved journaled intent", client_order_id=intent.client_order_id,
                 outcome=[type(e).__name__ for e in events])

    async def _await_ready(self) -> None:
        async with reporting("streams up and a quote for every symbol", self._ready_wait_detail):
            await self._await_ready_loop()

    async def _await_ready_loop(self) -> None:
        while not self._stopping:
            snap = self.engine.snapshot() if self.engine is not None else None
            streams_ok = all(s.connected for s in self.venue.stream_stats().values())
            if snap is not None and snap.ready and streams_ok:
                self._ready = True
                self.metrics.up_ready.set(1)
                self.notifier.ready("ready: reconciled, streams up")
                log.info("ready", seconds_since_start=round(time.monotonic() - self._started, 3))
                return
            await asyncio.sleep(0.05)

    # -- the single consumer ----------------------------------------------------------------
    async def _consume(self) -> None:
        queue = self.queue
        # Yield to other tasks every 256 events, but not while the queue is above this mark:
        # a burst is drained before the producers may add to it (else quotes drop).
        high = queue.maxsize // 8
        while True:
            if self._stopping and (self._drained() or self._past_deadline()):
                return
            try:
                async with asyncio.timeout(0.25):
                    item = await queue.get()
            except TimeoutError:
                self._last_progress = time.monotonic()
                continue
            n = 0
            while True:
                self._consume_one(item)
                n += 1
                if n & 255 == 0 and queue.qsize() <= high:
                    await asyncio.sleep(0)
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            self._last_progress = time.monotonic()

    def _consume_one(self, item: Any) -> None:
        engine = self.engine
        assert engine is not None
        if type(item) is ev.QuoteUpdated:  # the hot path: no per-quote metrics
            self._quotes_seen += 1
            self._journal_quote(item)  # conflated in memory (~0.3 µs): replay stays exact
            self.observer.last_mid[item.symbol] = (item.bid + item.ask) * 0.5
            commands = engine.handle(item)
            if commands:
                self._dispatch(commands, trigger=item)
            return
        if item is TICK:
            self._last_progress = time.monotonic()
            if self.notifier.watchdog():
                self.metrics.watchdog_pings.inc()
            return
        self._journal_event(item)
        self.observer.event(item)
        if isinstance(item, (ev.OrderAccepted, ev.OrderFilled, ev.OrderCanceled,
                             ev.OrderRejected, ev.OrderSubmitFailed, ev.OrderNotFound)):
            self._last_order_activity = time.monotonic()
        if isinstance(item, ev.ShutdownRequested) and not self._stopping:
            self._stopping = True
            self._stop_deadline = time.monotonic() + self.config.daemon.drain_deadline_seconds
            self.notifier.stopping()
            self.metrics.up_ready.set(0)
        if isinstance(item, ev.ConfigReloaded):
            self.config = item.config
        if isinstance(item, ev.AccountSnapshot):
            commands = self._reconcile_books(engine, item)
        else:
            commands = engine.handle(item)
        if commands:
            self._dispatch(commands, trigger=None)

    def _reconcile_books(self, engine: Engine, snapshot: ev.AccountSnapshot) -> list[Command]:
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
                self.metrics.book_corrections.labels("position").inc()
            if fix.cash is not None:
                self.metrics.book_corrections.labels("cash").inc()
            log.warning("books corrected by the broker's snapshot", differences=fix.describe())
        return commands

    def _journal_event(self, item: Any) -> None:
        try:
            self.journal.record_event(item)
        except Exception:  # the journal counts its own failures; never stop trading on it
            self.metrics.journal_errors.inc()
            log.exception("journal write failed")

    # -- dispatch: commands never await venue I/O inline --------------------------------------
    def _dispatch(self, commands: list[Command], trigger: ev.QuoteUpdated | None) -> None:
        rank = rank_by_size([c for c in commands if isinstance(c, PlaceOrder)])
        for cmd in commands:
            if isinstance(cmd, PlaceOrder):
                self.observer.placed(cmd, self.dry_run)
                self._spawn(self.calls.submit(cmd, rank[cmd.client_order_id]),
                            f"submit {cmd.client_order_id}")
            elif isinstance(cmd, CancelOrder):
                self._spawn(self.calls.cancel(cmd), f"cancel {cmd.client_order_id}")
            elif isinstance(cmd, LookupOrder):
                self.metrics.order_lookups.labels(cmd.reason).inc()
                self._spawn(self.calls.lookup(cmd.client_order_id), f"lookup {cmd.client_order_id}")
            elif isinstance(cmd, ScheduleWakeup):
                self.timers.schedule(cmd.at, cmd.key)
            elif isinstance(cmd, RequestReconcile):
                self._spawn(self.calls.reconcile(cmd.reason, cmd.symbols), "reconcile")
            elif isinstance(cmd, RecordDecision):
                self._record_command(cmd)  # journaled now: before its orders' intents
                latency = None
                if trigger is not None:
                    latency = max(0.0, (self.clock.now() - trigger.at).total_seconds())
                # the canonical log line (~0.2 ms to render and write) waits until the
                # submit tasks spawned here have taken their first step
                asyncio.get_running_loop().call_soon(self.observer.decision, cmd, latency)
            elif isinstance(cmd, TradingStateChanged):
                self.metrics.set_trading_state(cmd.state.value)
                log.warning("trading state changed", state=cmd.state.value, reason=cmd.reason)
                self._spawn(self.calls.persist_state(cmd), "persist trading state")
            elif isinstance(cmd, Halt):
                log.error("engine halted trading", reason=cmd.reason)
                self._record_command(cmd)
            elif isinstance(cmd, Alert):
                self.observer.alert(cmd)
                self._record_command(cmd)

    def _record_command(self, cmd: Command) -> None:
        try:
            self.journal.record_command(cmd)
        except Exception:
            self.metrics.journal_errors.inc()
            log.exception("journal write failed")

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self._order_tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._order_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", task=task.get_name(), error=repr(task.exception()))

    # -- periodic work ----------------------------------------------------------------------
    async def _ticker(self) -> None:
        """Every half watchdog interval (≤ 1 s): heartbeat through the queue, loop lag and
        the gauges that come from snapshots."""
        period = min(1.0, self.notifier.watchdog_interval or 1.0)
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(period)
            self.metrics.loop_lag.set(max(0.0, loop.time() - t0 - period))
            self.emit(TICK)
            self.refresh_gauges()
            self.journal_watch.check(self.journal, self.emit, self.clock.now)

    def refresh_gauges(self) -> None:
        m = self.metrics
        m.queue_depth.set(self.queue.qsize())
        if self._quotes_seen:
            m.quotes.inc(self._quotes_seen - self._quotes_reported)
            self._quotes_reported = self._quotes_seen
        if self._quotes_dropped:
            m.quotes_dropped.labels("queue_full").inc(
                self._quotes_dropped - self._dropped_reported)
            self._dropped_reported = self._quotes_dropped
        m.observe_streams(self.venue.stream_stats())
        m.observe_journal(self.journal.write_errors)
        limiter = self.venue.limiter_stats()
        if limiter is not None:
            m.observe_limiter(limiter)
        if self.engine is None:
            return
        snap = self.engine.snapshot()
        m.observe_weights({s: (r.current, r.target, r.low, r.high) for s, r in snap.rows.items()})
        m.out_of_band.set(len(snap.out_of_band))
        m.drift.set(snap.portfolio_drift)
        m.value.set(snap.portfolio_value)
        m.cash.set(float(snap.cash))
        m.open_orders.set(snap.open_order_count)
        m.unknown_orders.set(snap.unknown_count)
        m.overdue_orders.set(snap.overdue_count)
        if not snap.awaiting_reconcile:
            self._await_reconcile_since = None
        elif self._await_reconcile_since is None:
            self._await_reconcile_since = time.monotonic()
        m.market_open.set(1 if snap.market_open else 0)
        m.set_trading_state(snap.trading_state.value)

    def _sync_clock(self, broker_now: datetime) -> None:
        """Follow the broker's clock; log and publish the measured offset when it moves."""
        changed = self.clock.sync_to(broker_now)
        self.metrics.clock_offset.set(self.clock.offset)
        if changed is not None:
            log.info("clock follows the broker", offset_seconds=round(changed, 3),
                     broker_now=broker_now.isoformat())

    async def _clock_refresher(self) -> None:
        while True:
            await asyncio.sleep(30.0)
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
            snap = self.engine.snapshot() if self.engine is not None else None
            open_now = {o.client_order_id for o in snap.open_orders} if snap is not None else set()
            for coid in sorted(open_now & self._looked_up_open):
                self.metrics.order_lookups.labels("reconcile").inc()
                self._spawn(self.calls.lookup(coid), f"lookup {coid}")
            self._looked_up_open = open_now
            busy = bool(open_now) or any(
                not t.get_name().startswith("lookup") for t in self._order_tasks)
            quiet = time.monotonic() - self._last_order_activity > 10.0
            if busy or not quiet:
                self.metrics.reconciliations.labels("deferred").inc()
                continue
            await self.calls.reconcile("periodic")

    # -- signals and shutdown -----------------------------------------------------------------
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

    def _drained(self) -> bool:
        if any(not t.done() for t in self._order_tasks
               if t.get_name().startswith(("submit", "cancel"))):
            return False
        # "a known state": nothing still waiting for the broker's answer (resting OPEN orders
        # are known; they are canceled first when cancel_open_on_shutdown is set)
        return self.engine is None or self.engine.snapshot().awaiting_answer == 0

    def _past_deadline(self) -> bool:
        return self._stop_deadline is not None and time.monotonic() >= self._stop_deadline
