"""What the paper exchange's handlers share: the server's options, the key pair, and the
``SimState`` stored on the aiohttp app under ``SIM_STATE`` (``state_of(request)`` reads it).

Its own module so that the server and its route modules (REST, data, control) all import
it, and none of them imports the server: the server wires the routes, never the reverse.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.sim.data_stream import DataStreamHub
from adapters.sim.faults import HttpFaultRule, HttpFaults, StreamFaults
from adapters.sim.ratelimit import RateLimiter
from adapters.sim.request_log import RequestLog
from adapters.sim.trade_stream import TradeStreamHub

__all__ = [
    "SIM_STATE",
    "Credentials",
    "SimServerOptions",
    "SimState",
    "options_from_config",
    "state_of",
]

log = logging.getLogger("adapters.sim.server")


@dataclass(slots=True)
class SimServerOptions:
    """The server's own knobs (the exchange's live in ``SimConfig``)."""

    key_id: str | None = None  # None: any non-empty pair is accepted (the demo)
    secret: str | None = None
    rate_limit_per_minute: int = 200
    data_symbol_cap: int = 30  # "iex" only; 0 disables
    auth_timeout: float = 10.0  # data stream: seconds to authenticate after connect
    tick_seconds: float = 0.05  # how often (real seconds) the exchange is stepped
    max_queued_frames: int = 2000  # per data connection before "407 slow client"
    ws_compress: bool = True  # accept permessage-deflate when a client offers it (as Alpaca does)
    http_faults: list[HttpFaultRule] = field(default_factory=list)


def options_from_config(sim_config: Any, **overrides: Any) -> SimServerOptions:
    """Server options from a ``SimConfig`` (key pair via ``api_keys()``: the config's, else
    ``APCA_API_KEY_ID``/``APCA_API_SECRET_KEY``, else any pair), then ``overrides``."""
    opts = SimServerOptions()
    keys = sim_config.api_keys() if hasattr(sim_config, "api_keys") else None
    if keys is None and os.environ.get("APCA_API_KEY_ID") and os.environ.get("APCA_API_SECRET_KEY"):
        keys = (os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"])
    if keys is not None:
        opts.key_id, opts.secret = keys
    opts.rate_limit_per_minute = int(getattr(sim_config, "rate_limit_per_minute", 200))
    opts.data_symbol_cap = int(getattr(sim_config, "data_symbol_cap", 30))
    for name, value in overrides.items():
        if not hasattr(opts, name):
            raise TypeError(f"unknown server option {name!r}")
        setattr(opts, name, value)
    return opts


class Credentials:
    """The key pair clients must present; with none configured any non-empty pair works."""

    def __init__(self, key_id: str | None, secret: str | None) -> None:
        if (key_id is None) != (secret is None):
            raise ValueError("give both the API key id and the secret, or neither")
        self.key_id = key_id
        self._secret = secret

    @property
    def open_demo(self) -> bool:
        return self.key_id is None

    def check(self, key: str, secret: str) -> bool:
        if not key or not secret:
            return False
        if self.key_id is None or self._secret is None:
            return True
        ok_key = hmac.compare_digest(key.encode(), self.key_id.encode())
        ok_secret = hmac.compare_digest(secret.encode(), self._secret.encode())
        return ok_key and ok_secret

    def __repr__(self) -> str:  # never show the secret
        return f"Credentials(key_id={self.key_id!r}, secret=***)"


class SimState:
    """Everything the handlers share; stored on the app under ``SIM_STATE``."""

    def __init__(self, exchange: Any, clock: Any, options: SimServerOptions) -> None:
        self.exchange = exchange
        self.clock = clock
        self.options = options
        self.credentials = Credentials(options.key_id, options.secret)
        self.limiter = RateLimiter(options.rate_limit_per_minute)
        self.http_faults = HttpFaults()
        for rule in options.http_faults:
            self.http_faults.add(rule)
        self.stream_faults = StreamFaults()
        self.request_log = RequestLog()
        self.data_hub = DataStreamHub(
            check_credentials=self.credentials.check,
            faults=self.stream_faults,
            symbol_cap=options.data_symbol_cap,
            auth_timeout=options.auth_timeout,
            max_queued_frames=options.max_queued_frames,
            compress=options.ws_compress,
        )
        self.trade_hub = TradeStreamHub(
            check_credentials=self.credentials.check, faults=self.stream_faults
        )
        self.closing = asyncio.Event()
        self.step_errors = 0

    def now_iso(self) -> str:
        now = self.clock.now() if self.clock is not None else None
        return now.isoformat() if now is not None else ""

    def step(self) -> None:
        """Advance the exchange to the clock's now (prices, matching, streams)."""
        try:
            self.exchange.step()
        except Exception:
            self.step_errors += 1
            log.exception("exchange.step() failed")


SIM_STATE = web.AppKey("sim_state", SimState)


def state_of(request: web.Request) -> SimState:
    """The simulator's shared state, from any handler."""
    return request.app[SIM_STATE]
