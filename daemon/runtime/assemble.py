"""Wire one daemon from a config: journal, HTTP API, venue, service — opened in order and
closed in reverse (an AsyncExitStack). Shared by ``rebalanced run`` and ``rebalanced demo``."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from adapters.alpaca.bars import AlpacaDailyBars
from adapters.alpaca.credentials import Credentials
from adapters.alpaca.venue import AlpacaVenue, build_venue
from adapters.store.journal import SqliteJournal, journal_path
from daemon.core.config.values import Config
from daemon.runtime.assets import apply_assets, fetch_assets
from daemon.runtime.clock import ShellClock
from daemon.runtime.control_token import write_token
from daemon.runtime.http_api import HttpApi
from daemon.runtime.logs import SCRUBBER
from daemon.runtime.metrics import LimiterStats, Metrics
from daemon.runtime.sd_notify import Notifier
from daemon.runtime.service import Service
from daemon.runtime.state_lock import StateDirLock
from daemon.runtime.venue import Venue
from daemon.runtime.waiting import reporting

log = structlog.get_logger("rebalanced")


def new_run_id() -> str:
    """Fresh per process start (client order ids must never repeat at the broker)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def as_venue(alpaca: AlpacaVenue, feed: str = "iex") -> Venue:
    """The shell's view of an Alpaca(-compatible) venue, with stats for metrics and daily
    bars (historical ``feed``) for the market statistics."""
    def limiter() -> LimiterStats:
        lim = alpaca.limiter
        return LimiterStats(
            tokens=float(lim.tokens),
            limit_per_minute=float(lim.capacity),
            waits=int(lim.waits),
            throttled_429=int(lim.rate_limited),
            wait_seconds=float(lim.delay()),
        )

    return Venue(account=alpaca.account, gateway=alpaca.gateway, market_data=alpaca.market_data,
                 trade_updates=alpaca.trade_updates,
                 limiter_stats=limiter, close=alpaca.close,
                 daily_bars=AlpacaDailyBars(alpaca.rest, feed),
                 splits=alpaca.splits)


@dataclass
class DaemonHandle:
    """What a running daemon exposes to its composition root (the demo shows status)."""

    service: Service
    http: HttpApi
    metrics: Metrics
    journal: SqliteJournal


async def run_daemon(
    config: Config,
    credentials: Credentials,
    *,
    config_text: str = "",
    reload_config: Callable[[], Config] | None = None,
    dry_run: bool = False,
    install_signals: bool = True,
    notifier: Notifier | None = None,
    registry: CollectorRegistry | None = None,
    on_started: Callable[[DaemonHandle], None] | None = None,
    venue_options: dict[str, Any] | None = None,
    new_journal: bool = False,
) -> int:
    SCRUBBER.register([credentials.key_id.reveal(), credentials.secret_key.reveal()])
    state_dir = Path(config.daemon.state_dir)
    registry = registry or CollectorRegistry()
    metrics = Metrics(registry)
    async with AsyncExitStack() as stack:
        # one daemon per state directory, held until the process exits (StateDirLocked)
        stack.callback(StateDirLock(state_dir).acquire().release)
        clock = ShellClock()  # the daemon's one clock: events, venue stamps, recorded_at
        journal = await SqliteJournal.open(journal_path(state_dir), new_journal=new_journal,
                                           clock=clock.now)
        stack.push_async_callback(journal.close)
        if config_text:
            journal.record_config(config_text, hashlib.sha256(config_text.encode()).hexdigest())
        token = write_token(state_dir)
        alpaca = build_venue(config.broker, credentials, now=clock.now, **(venue_options or {}))
        stack.push_async_callback(alpaca.close)

        async def fetch(path: str) -> tuple[int, bytes]:
            return await alpaca.rest.request("GET", path, ok=(404,))

        async with reporting("the broker: asset facts", lambda: {
                "ratelimit_available": round(float(alpaca.limiter.tokens), 2),
                "ratelimit_wait_seconds": round(float(alpaca.limiter.delay()), 1),
                "ratelimit_waits": int(alpaca.limiter.waits)}):
            assets = await fetch_assets(config.symbols, fetch)
        config, notes = apply_assets(config, assets)
        for note in notes:
            log.warning("asset restriction", note=note)
        if reload_config is not None:
            load_new = reload_config

            def reload_config() -> Config:
                return apply_assets(load_new(), assets)[0]
        venue = as_venue(alpaca, config.broker.feed)
        service = Service(config, venue, journal, metrics, run_id=new_run_id(),
                          notifier=notifier or Notifier(), clock=clock,
                          reload_config=reload_config, dry_run=dry_run or config.daemon.dry_run,
                          install_signals=install_signals)
        http = HttpApi(service, registry, token, config.daemon.http_host, config.daemon.http_port)
        await http.start()
        stack.push_async_callback(http.stop)
        log.info("daemon starting", run_id=service.run_id, broker=config.broker.kind,
                 paper=config.broker.paper, http=http.url, state_dir=str(state_dir),
                 dry_run=service.dry_run)
        if on_started is not None:
            on_started(DaemonHandle(service, http, metrics, journal))
        code = await service.run()
        log.info("daemon stopped", exit_code=code)
        return code
    raise AssertionError("unreachable")
