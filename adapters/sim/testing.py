"""Helpers for tests and other engineers: the paper exchange on 127.0.0.1, in this loop
(``running_sim``) or in a child process (``SimProcess``).

    async with running_sim() as sim:
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        await sim.advance(60)            # a stepped clock moves only when told to
        await sim.control("POST", "/_sim/faults", {"http": [{"action": "500", ...}]})

The default config: a stepped clock at 2026-11-23 14:35 UTC (Monday, 09:35 ET, market
open), $100,000 cash, SPY/AGG/VTI/BND/GLD with GBM prices, seed 7.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.sim.server import RunningServer, SimServerOptions, SimState, create_app, start

__all__ = [
    "DEFAULT_KEY_ID",
    "DEFAULT_SECRET",
    "RunningSim",
    "SimProcess",
    "default_sim_config",
    "running_sim",
]

DEFAULT_KEY_ID = "PKTESTKEY000000000001"
DEFAULT_SECRET = "test-secret-0000000000000000000000000001"
DEFAULT_START = "2026-11-23T14:35:00Z"

DEFAULT_SIM_TOML = {
    "seed": 7,
    "starting_cash": "100000",
    "clock": {"mode": "stepped", "start": DEFAULT_START},
    "symbols": {
        "SPY": {"price": 600.0, "volatility": 0.15, "spread_bps": 1.0, "quote_rate": 2.0},
        "AGG": {"price": 98.0, "volatility": 0.05, "spread_bps": 2.0},
        "VTI": {"price": 300.0, "volatility": 0.16, "spread_bps": 1.5},
        "BND": {"price": 72.0, "volatility": 0.05, "spread_bps": 2.0},
        "GLD": {"price": 240.0, "volatility": 0.14, "spread_bps": 2.0, "fractionable": False},
    },
}


def default_sim_config(**overrides: Any) -> Any:
    """A ``SimConfig`` for tests; top-level TOML keys in ``overrides`` replace the
    defaults (e.g. ``clock={"mode": "accelerated", "start": …, "speed": 60}``)."""
    from adapters.sim.sim_config import parse_sim_config

    raw = {**DEFAULT_SIM_TOML, **overrides}
    return parse_sim_config(raw)


@dataclass
class RunningSim:
    server: RunningServer
    state: SimState
    key_id: str
    secret: str
    _session: aiohttp.ClientSession

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ws_base(self) -> str:
        return f"ws://{self.server.host}:{self.server.port}"

    @property
    def data_ws_url(self) -> str:
        return self.ws_base + "/v2/iex"

    @property
    def trade_ws_url(self) -> str:
        return self.ws_base + "/stream"

    @property
    def exchange(self) -> Any:
        return self.state.exchange

    @property
    def clock(self) -> Any:
        return self.state.clock

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret}

    async def control(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call the ``/_sim/`` API; raises on a non-2xx answer."""
        async with self._session.request(method, self.base_url + path, json=body) as resp:
            data = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {data}")
            return data

    async def advance(self, seconds: float) -> Any:
        return await self.control("POST", "/_sim/clock", {"advance": seconds})

    async def requests_log(self, orders_only: bool = True) -> list[dict[str, Any]]:
        data = await self.control("GET", f"/_sim/requests?orders_only={int(orders_only)}")
        result: list[dict[str, Any]] = data["requests"]
        return result


@contextlib.asynccontextmanager
async def running_sim(
    config: Any = None,
    *,
    exchange: Any = None,
    clock: Any = None,
    options: SimServerOptions | None = None,
    key_id: str = DEFAULT_KEY_ID,
    secret: str = DEFAULT_SECRET,
    run_ticker: bool = True,
    **option_overrides: Any,
) -> AsyncIterator[RunningSim]:
    """The simulator on 127.0.0.1 (a free port) in the running loop. Pass ``exchange``
    (and ``clock``) to serve one you built; otherwise one is built from ``config``
    (default ``default_sim_config()``). The key pair is fixed to ``key_id``/``secret``."""
    if exchange is None:
        from adapters.sim.exchange import SimExchange
        from adapters.sim.sim_clock import SimClock

        config = config if config is not None else default_sim_config()
        if clock is None:
            clock = SimClock(config.clock.mode, config.clock.start, config.clock.speed)
        exchange = SimExchange(config, clock)
    if options is None:
        options = SimServerOptions(
            rate_limit_per_minute=int(getattr(config, "rate_limit_per_minute", 200)),
            data_symbol_cap=int(getattr(config, "data_symbol_cap", 30)),
            tick_seconds=0.02,
        )
    options.key_id, options.secret = key_id, secret
    for name, value in option_overrides.items():
        if not hasattr(options, name):
            raise TypeError(f"unknown server option {name!r}")
        setattr(options, name, value)
    app = create_app(exchange, config, clock=clock, options=options, run_ticker=run_ticker)
    server = await start(app, "127.0.0.1", 0)
    from adapters.sim.server import SIM_STATE

    session = aiohttp.ClientSession()
    try:
        yield RunningSim(server, app[SIM_STATE], key_id, secret, session)
    finally:
        await session.close()
        await server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SimProcess:
    """``rebalanced sim`` in a child process (for kill -9 / restart tests).

    with SimProcess(config_path) as sim:
        TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
    """

    def __init__(
        self,
        config_path: str | Path,
        *,
        port: int | None = None,
        key_id: str = DEFAULT_KEY_ID,
        secret: str = DEFAULT_SECRET,
        startup_timeout: float = 20.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.config_path = str(config_path)
        self.port = port or free_port()
        self.key_id = key_id
        self.secret = secret
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self.proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    @property
    def trade_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    def start(self) -> SimProcess:
        env = dict(os.environ, APCA_API_KEY_ID=self.key_id, APCA_API_SECRET_KEY=self.secret)
        cmd = [sys.executable, "-m", "daemon.cli_sim", "--host", "127.0.0.1",
               "--port", str(self.port), "--config", self.config_path, *self.extra_args]  # fmt: skip
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise RuntimeError(f"rebalanced sim exited with {self.proc.returncode}: {out}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rebalanced sim did not listen on port {self.port} in time")

    def stop(self, sig_kill: bool = False) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if sig_kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def wait_for(predicate: Any, within: float = 5.0, interval: float = 0.01) -> None:
    """Poll ``predicate()`` until true; raise TimeoutError after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
