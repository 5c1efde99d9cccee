"""Reconnect policy shared by both websockets: full-jitter exponential backoff, and the
longer wait Alpaca needs after a 406 / HTTP 429 (it reaps half-dead sessions after ~90 s)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

import websockets.exceptions

WS_LOGGER = logging.getLogger("adapters.alpaca.websocket")
"""The websockets library logs every frame at DEBUG, auth frames (with the keys) included:
both streams log through this logger, pinned at INFO so a global DEBUG never leaks a key."""
WS_LOGGER.setLevel(logging.INFO)


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    reap_window: float = 90.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, *, refused: bool = False) -> float:
        """Full jitter: uniform(0, min(cap, base·2^attempt)); ``refused`` (406 or HTTP 429 at
        the upgrade) waits at least the reap window."""
        delay = self.rng.uniform(0.0, min(self.cap, self.base * 2**self.attempt))
        self.attempt = min(self.attempt + 1, 32)
        if refused:
            delay = max(delay, self.reap_window)
        return delay

    def reset(self) -> None:
        self.attempt = 0


class StreamRefused(Exception):
    """The server refused the session (406 connection limit, HTTP 429 at the upgrade):
    reconnect only after the reap window."""


class StreamRejected(Exception):
    """A permanent refusal (bad keys, feed not in the plan, symbol limit): reconnecting
    cannot help; the message says what to fix."""


class StreamUnavailable(Exception):
    """The server kept refusing the session (406 / 429) past the retry budget: give up
    for now; a restart later may succeed (exit 69, which systemd restarts)."""


class StreamStale(Exception):
    """No message within the staleness window: the socket is connected but mute."""


AUTH_STATUSES = frozenset({401, 403})
"""HTTP statuses at the upgrade that mean the keys are refused (never retried)."""
REFUSED_STATUSES = frozenset({406, 429})
"""Statuses that mean "not now": the connection limit, the server's rate limit."""

MAX_REFUSALS = 20
"""Consecutive refusals before a stream gives up (``StreamUnavailable``): at the ~90 s reap
window each, about half an hour of another session holding the slot."""


def classify_upgrade(exc: BaseException) -> str:
    """``"auth"``, ``"refused"`` or ``"retry"`` for a failed websocket connect."""
    status = http_status_of(exc)
    if status in AUTH_STATUSES:
        return "auth"
    if status in REFUSED_STATUSES:
        return "refused"
    return "retry"


def http_status_of(exc: BaseException) -> int | None:
    """The HTTP status of a refused websocket upgrade, if that is what ``exc`` is."""
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        return exc.response.status_code
    return None


def ws_connect_options(handshake_timeout: float, extra: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """The websockets ``connect()`` options both streams use: our INFO-pinned logger (so
    auth frames never reach a DEBUG log), pings to catch dead sockets, bounded queues."""
    return {
        "logger": WS_LOGGER,
        "ping_interval": 10.0,
        "ping_timeout": 20.0,
        "max_queue": 1024,
        "open_timeout": handshake_timeout,
        "close_timeout": 2.0,
        **(extra or {}),
    }
