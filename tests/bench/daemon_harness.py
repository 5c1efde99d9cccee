"""The real daemon shell for the benchmarks: ``Service`` with a real ``Engine``, a real
``SqliteJournal`` (quotes conflated, as in production), real Prometheus metrics and the real
``AlpacaMarketData`` websocket adapter pointed at the local feed (``tests.bench.ws_feed``).

Only the account and the order gateway are in memory: the account answers one snapshot (each
symbol at its target weight at ``base_prices``) and a market clock that says "open"; the
gateway records when each ``PlaceOrder`` reaches it and answers ``OrderRejected`` at once,
which ends the run so the next breach starts a new decision. The trade-updates stream is
idle. These benchmarks measure the decision path, not a broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.data_stream import AlpacaMarketData
from adapters.ports import Emit, FeedStats
from adapters.store.journal import SqliteJournal
from daemon.core import events as ev
from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    CostConfig,
    DaemonConfig,
    ExecutionConfig,
    PlannerConfig,
    PortfolioConfig,
    Scope,
    TriggerConfig,
    TriggerMode,
)
from daemon.core.model import TradingSession
from daemon.host_clock import utc_now
from daemon.runtime.assemble import new_run_id
from daemon.runtime.clock import ShellClock
from daemon.runtime.logs import configure_logging
from daemon.runtime.metrics import Metrics
from daemon.runtime.service import Service
from daemon.runtime.venue import Venue
from tests.bench.ws_feed import KEY, SECRET, base_prices

PORTFOLIO_VALUE = 1_000_000.0
CASH_TARGET = 0.02


def bench_config(
    n_symbols: int, state_dir: str, *, scope: Scope = Scope.OUT_OF_BAND, queue_size: int = 10_000
) -> Config:
    """Equal weights, the 5/25 band, threshold trigger with no cooldown and no cost gate, a
    pacer that never throttles: every breach is decided and sent at once."""
    prices = base_prices(n_symbols)
    band = Band(absolute=0.05, relative=0.25, rule=BandRule.EITHER)
    weight = (1.0 - CASH_TARGET) / n_symbols
    return Config(
        portfolio=PortfolioConfig(
            assets=tuple(AssetConfig(s, weight, band) for s in prices),
            cash_target=CASH_TARGET,
            cash_band=Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
        ),
        bands=band,
        trigger=TriggerConfig(
            mode=TriggerMode.THRESHOLD,
            cooldown_seconds=0.0,
            max_runs_per_day=1_000_000,
            check_interval_seconds=60.0,
            window_start=dtime(0, 0),
            window_end=dtime(23, 59, 59),
            timezone="UTC",
        ),
        cost=CostConfig(gate=False),
        planner=PlannerConfig(scope=scope, max_quote_age_seconds=5.0),
        execution=ExecutionConfig(orders_per_minute=1e9, burst=1_000_000, max_in_flight=1_000_000),
        daemon=DaemonConfig(
            state_dir=state_dir, queue_size=queue_size, reconcile_interval_seconds=3600.0
        ),
    )


class MemoryAccount:
    """Every symbol at its target weight; the market open."""

    def __init__(self, n_symbols: int) -> None:
        weight = (1.0 - CASH_TARGET) / n_symbols
        self.positions = {
            s: Decimal(str(round(PORTFOLIO_VALUE * weight / p, 4)))
            for s, p in base_prices(n_symbols).items()
        }
        self.cash = Decimal(str(PORTFOLIO_VALUE * CASH_TARGET))

    async def snapshot(self) -> ev.AccountSnapshot:
        return ev.AccountSnapshot(at=utc_now(), cash=self.cash, positions=dict(self.positions))

    async def clock(self) -> ev.MarketClock:
        """Open now; a whole-day UTC session today and for the next two days (the trigger's
        window is 00:00–23:59:59 UTC), so the benchmark runs on any day at any hour."""
        now = utc_now()
        days = [now.date() + timedelta(days=k) for k in range(3)]
        sessions = tuple(
            TradingSession(
                d,
                datetime.combine(d, dtime(0, 0), UTC),
                datetime.combine(d, dtime(23, 59, 59), UTC),
            )
            for d in days
        )
        return ev.MarketClock(now, True, now + timedelta(days=2), now + timedelta(days=2), sessions)

    async def orders_since(self, after: datetime) -> Sequence[ev.BrokerOrder]:
        return ()

    async def latest_quotes(self, symbols: Any) -> Sequence[ev.QuoteUpdated]:
        return ()


@dataclass
class RecordingGateway:
    """Records ``(time.time(), order)`` per submit and rejects the order at once."""

    submitted: list[tuple[float, PlaceOrder]] = field(default_factory=list)

    async def submit(self, order: PlaceOrder, *, rank: int = 0) -> ev.Event:
        self.submitted.append((time.time(), order))
        return ev.OrderRejected(utc_now(), order.client_order_id, "benchmark gateway")

    async def cancel(self, cancel: CancelOrder) -> ev.Event | None:
        return None

    async def lookup(self, client_order_id: str) -> list[ev.Event]:
        return [ev.OrderNotFound(utc_now(), client_order_id)]


class IdleTradeUpdates:
    def stats(self) -> FeedStats:
        return FeedStats(connected=True, reconnects=0, last_message_age_seconds=0.0,
                         messages=0, malformed=0)

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()


@dataclass
class RunningDaemon:
    service: Service
    feed: AlpacaMarketData
    gateway: RecordingGateway
    journal: SqliteJournal

    @property
    def quotes_seen(self) -> int:
        return self.service.consumer.quotes_seen

    @property
    def quotes_dropped(self) -> int:
        return self.service.events.quotes_dropped

    @property
    def quotes_conflated(self) -> int:
        """Quotes taken off the queue but left out of the engine's batch under backlog
        (counted in ``quotes_seen`` too: a newer quote of the symbol was handled)."""
        return self.service.consumer.quotes_conflated


def pin_to_cpu(cpu: int) -> str:
    """Pin this process to one core; says what happened (for the printed figures)."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        return f"not pinned ({exc})"
    return f"pinned to cpu {cpu}"


def quiet_logging(path: Path) -> Any:
    """JSON log lines at info, as in production, into a file instead of the terminal."""
    out = path.open("w")
    configure_logging("json", "info", stream=out)
    return out


@contextlib.asynccontextmanager
async def running_daemon(
    url: str,
    config: Config,
    n_symbols: int,
    connect_options: dict[str, Any] | None = None,
) -> AsyncIterator[RunningDaemon]:
    """Start the Service (recovery, engine, streams) and wait until every symbol has a quote
    and the engine is ready; on exit, shut it down cleanly."""
    clock = ShellClock()
    journal = await SqliteJournal.open(config.daemon.state_dir, clock=clock.now)
    feed = AlpacaMarketData(
        url,
        Credentials(Secret(KEY), Secret(SECRET)),
        connect_options=connect_options,
        now=clock.now,
    )
    gateway = RecordingGateway()

    venue = Venue(
        account=MemoryAccount(n_symbols),
        gateway=gateway,
        market_data=feed,
        trade_updates=IdleTradeUpdates(),
    )
    service = Service(
        config,
        venue,
        journal,
        Metrics(CollectorRegistry()),
        run_id=new_run_id(),
        clock=clock,
        install_signals=False,
    )
    task = asyncio.create_task(service.run(), name="service")
    try:
        deadline = time.monotonic() + 60.0
        while not service._ready:
            if task.done():
                task.result()
                raise RuntimeError("the service stopped before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon was not ready within 60 s: is the feed up?")
            await asyncio.sleep(0.01)
        yield RunningDaemon(service, feed, gateway, journal)
    finally:
        if not task.done():
            service.emit(ev.ShutdownRequested(at=service.clock.now()))
            try:
                async with asyncio.timeout(10):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await journal.close()


def rss_mb() -> float:
    """Resident set size of this process, MB (VmRSS from /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
