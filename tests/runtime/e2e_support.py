"""End-to-end harness: the paper exchange (``adapters/sim``) and the real daemon
(``run_daemon``: journal + venue + HTTP API + service) in one event loop, over real sockets
on 127.0.0.1.

    async with live_daemon(tmp_path, sim_cfg=drifted_sim()) as d:
        await d.wait_until(lambda: d.snapshot().open_order_count == 0 and d.snapshot().decisions)
        await d.assert_matches_sim()

The sim's clock is accelerated at speed 1 (real time) from a moment inside a session, so the
daemon's clock (which follows the broker's ``/v2/clock``) agrees with the quotes' timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from adapters.alpaca.credentials import Credentials, Secret
from adapters.sim.testing import RunningSim, default_sim_config, running_sim
from adapters.store.journal import SqliteJournal
from daemon.core.config.reader import parse_config_text
from daemon.core.config.values import Config
from daemon.core.engine.view import EngineSnapshot
from daemon.core.events import ShutdownRequested
from daemon.runtime.assemble import DaemonHandle, run_daemon

IN_SESSION = "2026-11-23T15:00:00Z"  # Monday 10:00 New York: the market is open
WEEKEND = "2026-11-22T15:00:00Z"  # Sunday: closed all day

# Fast everything: lookups, reconnect backoff, the server's reap window.
VENUE_OPTIONS: dict[str, Any] = {"reap_window": 0.2, "backoff_base": 0.05, "backoff_cap": 0.5}

# Two ETFs and cash: VTI 60 %, BND 38 %, cash 2 %; bands ±2 pp (the narrower of 2 pp and 10 %
# of target), so VTI lives in [58 %, 62 %] and BND in [36 %, 40 %].
SYMBOLS: dict[str, dict[str, Any]] = {
    "VTI": {"price": 300.0, "volatility": 0.02, "spread_bps": 2.0, "quote_rate": 5.0},
    "BND": {"price": 72.0, "volatility": 0.01, "spread_bps": 2.0, "quote_rate": 5.0},
}
# VTI ~75 %, BND ~23 %: both out of their bands.
DRIFTED = {
    "VTI": {"qty": "250", "avg_entry_price": "290"},
    "BND": {"qty": "320", "avg_entry_price": "70"},
}
# VTI ~60 %, BND ~38 %, cash 2 %: inside every band.
BALANCED = {
    "VTI": {"qty": "200", "avg_entry_price": "290"},
    "BND": {"qty": "528", "avg_entry_price": "70"},
}


def sim_cfg(
    *,
    start: str = IN_SESSION,
    positions: Mapping[str, Any] | None = None,
    cash: str = "2000",
    partial: float = 0.0,
    symbols: Mapping[str, Mapping[str, Any]] | None = None,
    **overrides: Any,
) -> Any:
    """A simulator config: accelerated clock at real speed from ``start``."""
    return default_sim_config(
        clock={"mode": "accelerated", "start": start, "speed": 1.0},
        symbols={k: dict(v) for k, v in (symbols or SYMBOLS).items()},
        positions=dict(DRIFTED if positions is None else positions),
        starting_cash=cash,
        partial_fill_probability=partial,
        **overrides,
    )


def daemon_toml(
    rest: str,
    data_ws: str,
    trade_ws: str,
    state_dir: Path | str,
    *,
    http_port: int = 9108,
    targets: Mapping[str, float] | None = None,
    cash_target: float = 2,
    cooldown: float = 2,
    extra: str = "",
    reconcile_seconds: float = 1.0,
    log_format: str = "console",
    order_timeout: float = 10,
    resolve_grace: float = 30,
    max_quote_age: float = 3,
) -> str:
    """A daemon config for the sim at those URLs: threshold trigger, short intervals, no
    cost gate. ``extra`` is appended (TOML tables not already present)."""
    targets = dict(targets or {"VTI": 60, "BND": 38})
    lines = "\n".join(f"{k} = {v}" for k, v in targets.items())
    return f"""\
[portfolio]
cash_target = {cash_target}
cash_buffer = 0.5
[portfolio.targets]
{lines}
[bands]
absolute = 2
relative = 10
rule = "either"
[trigger]
mode = "threshold"
cooldown_seconds = {cooldown}
max_runs_per_day = 1000
window_start = "09:30"
window_end = "16:00"
timezone = "America/New_York"
check_interval_seconds = 0.5
[cost]
gate = false
[planner]
target_mode = "target"
limit_offset_bps = 20
max_quote_age_seconds = {max_quote_age}
[execution]
order_timeout_seconds = {order_timeout}
lookup_delay_seconds = 0.2
resolve_grace_seconds = {resolve_grace}
[broker]
kind = "sim"
paper = true
feed = "iex"
rest_url = "{rest}"
data_url = "{rest}"
stream_url = "{data_ws}"
trade_stream_url = "{trade_ws}"
request_timeout_seconds = 2
stale_after_seconds = 5
[daemon]
state_dir = "{state_dir}"
http_host = "127.0.0.1"
http_port = {http_port}
log_format = "{log_format}"
log_level = "info"
reconcile_interval_seconds = {reconcile_seconds}
drain_deadline_seconds = 3
{extra}
"""


def config_for(sim: RunningSim, state_dir: Path, **toml: Any) -> Config:
    """The config for the in-process daemon: HTTP API on a free port (0, set after parsing:
    the file format wants a real port)."""
    text = daemon_toml(sim.base_url, sim.data_ws_url, sim.trade_ws_url, state_dir, **toml)
    cfg = parse_config_text(text)
    return replace(cfg, daemon=replace(cfg.daemon, http_port=0))


def post_counts(requests: list[dict[str, Any]]) -> Counter[str]:
    """How many times each client_order_id was POSTed to /v2/orders."""
    return Counter(
        r["client_order_id"]
        for r in requests
        if r["method"] == "POST" and r["path"] == "/v2/orders" and r["client_order_id"]
    )


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def metric(
    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


async def wait_until(
    predicate: Callable[[], Any],
    within: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``predicate()`` (sync or async) until truthy; fail with ``what`` after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


def sim_holdings(sim: RunningSim) -> tuple[Decimal, dict[str, Decimal]]:
    ex = sim.exchange
    cash = Decimal(str(ex.account()["cash"]))
    positions = {p["symbol"]: Decimal(str(p["qty"])) for p in ex.positions()}
    return cash, {k: v for k, v in positions.items() if v != 0}


@dataclass
class LiveDaemon:
    sim: RunningSim
    handle: DaemonHandle
    task: asyncio.Task[int]
    registry: CollectorRegistry
    config: Config
    state_dir: Path
    session: aiohttp.ClientSession

    @property
    def service(self) -> Any:
        return self.handle.service

    @property
    def journal(self) -> SqliteJournal:
        return self.handle.journal

    @property
    def url(self) -> str:
        return self.handle.http.url

    def snapshot(self) -> EngineSnapshot:
        engine = self.service.engine
        assert engine is not None, "the engine is not built yet"
        snap: EngineSnapshot = engine.snapshot()
        return snap

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.url + path) as resp:
            if path == "/metrics":
                return resp.status, await resp.text()
            return resp.status, await resp.json()

    async def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Through the real /metrics endpoint (gauges refreshed first, as the ticker does)."""
        self.service.refresh_gauges()
        status, text = await self.get("/metrics")
        assert status == 200, text
        return parse_metrics(text)

    def metrics_sync(self, name: str, **labels: str) -> float:
        """One metric's value straight from the registry (for polling in ``wait_until``)."""
        total = 0.0
        want = set(labels.items())
        for family in self.registry.collect():
            for s in family.samples:
                if s.name == name and want <= set(s.labels.items()):
                    total += s.value
        return total

    async def posts(self) -> Counter[str]:
        return post_counts(await self.sim.requests_log())

    def quiet(self) -> bool:
        """No order open or queued at the engine, and no run in progress."""
        s = self.snapshot()
        return s.open_order_count == 0 and s.queued == 0 and not s.run_active

    def in_bands(self) -> bool:
        s = self.snapshot()
        return not s.out_of_band and all(
            r.low - 1e-9 <= r.current <= r.high + 1e-9 for sym, r in s.rows.items() if sym != "CASH"
        )

    async def settled_in_bands(self, within: float = 15.0) -> None:
        await wait_until(
            lambda: self.snapshot().decisions > 0 and self.quiet() and self.in_bands(),
            within,
            what="a rebalance back inside the bands",
        )

    async def reconcile_now(self) -> None:
        """Ask the broker for a fresh account snapshot and wait until the engine has it."""
        before = self.snapshot().at
        await self.service.calls.reconcile("test")
        await wait_until(
            lambda: self.service.queue.qsize() == 0 and self.snapshot().at != before,
            5,
            what="the snapshot consumed",
        )

    async def assert_matches_sim(self) -> None:
        """The engine's holdings equal the exchange's account (cash and every position)."""
        snap = self.snapshot()
        assert snap.holdings is not None
        cash, positions = sim_holdings(self.sim)
        mine = {k: v for k, v in snap.holdings.positions.items() if v != 0}
        assert mine == positions, f"engine {mine} != sim {positions}"
        assert abs(snap.holdings.cash - cash) < Decimal("0.01"), (snap.holdings.cash, cash)

    async def stop(self, within: float = 10.0) -> int:
        if not self.task.done():
            self.service.emit(ShutdownRequested(at=self.service.clock.now()))
        return await asyncio.wait_for(asyncio.shield(self.task), within)


@contextlib.asynccontextmanager
async def live_daemon(
    tmp_path: Path,
    *,
    sim_config: Any = None,
    config: Config | None = None,
    state_dir: Path | None = None,
    ready: bool = True,
    sim: RunningSim | None = None,
    faults: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    **toml: Any,
) -> AsyncIterator[LiveDaemon]:
    """Start the sim (unless given), apply ``faults`` (the body of ``POST /_sim/faults``),
    start the daemon in this loop and wait until it is ready; on exit
    shut the daemon down (a clean drain) and close the sim."""
    async with contextlib.AsyncExitStack() as stack:
        if sim is None:
            sim = await stack.enter_async_context(running_sim(sim_config or sim_cfg()))
        if faults:  # in place before the daemon's first request
            await sim.control("POST", "/_sim/faults", dict(faults))
        state_dir = state_dir or tmp_path / "state"
        cfg = config or config_for(sim, state_dir, **toml)
        if config is not None:
            cfg = replace(cfg, daemon=replace(cfg.daemon, state_dir=str(state_dir), http_port=0))
        registry = CollectorRegistry()
        started: list[DaemonHandle] = []
        task = asyncio.create_task(
            run_daemon(
                cfg,
                Credentials(Secret(sim.key_id), Secret(sim.secret)),
                install_signals=False,
                dry_run=dry_run,
                registry=registry,
                on_started=started.append,
                venue_options=VENUE_OPTIONS,
                config_text="# e2e test\n",
            )
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def _teardown() -> None:
            if task.done():
                return
            if started:
                started[0].service.emit(ShutdownRequested(at=started[0].service.clock.now()))
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        stack.push_async_callback(_teardown)
        await wait_until(lambda: started or task.done(), 10, what="the daemon to start")
        if task.done():
            task.result()  # raises what the daemon raised
            raise AssertionError(f"the daemon exited at start-up with {task.result()}")
        d = LiveDaemon(sim, started[0], task, registry, cfg, state_dir, session)
        if ready:
            await wait_until(
                lambda: d.service.status()["ready"] or task.done(),
                10,
                what="the daemon to report ready",
            )
            assert not task.done(), f"the daemon exited with {task.result()}"
        yield d
