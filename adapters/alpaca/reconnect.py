"""The reconnect supervisor both websockets share, and what it knows about refusals.

``Supervisor.run(session, emit)`` calls ``session()`` again and again, like websockets'
``connect`` iterator with its backoff generator: the session connects, authenticates,
catches up, says ``restored`` and streams until something breaks; the supervisor sorts the
failure, keeps the counters, emits ``FeedLost`` after a session that was up, and waits
(``adapters.backoff.Backoff``: full jitter, at least the reap window after a 406 / HTTP 429)
before the next one. Keys refused (HTTP 401/403, ``StreamRejected``) end it; so do more than
``max_refusals`` refusals in a row (``StreamUnavailable``: exit 69, systemd restarts later).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NoReturn

import websockets.exceptions

from adapters.backoff import Backoff
from adapters.ports import Emit, FeedStats
from daemon.core.events import FeedLost, FeedRestored

WS_LOGGER = logging.getLogger("adapters.alpaca.websocket")
"""The websockets library logs every frame at DEBUG, auth frames (with the keys) included:
both streams log through this logger, pinned at INFO so a global DEBUG never leaks a key."""
WS_LOGGER.setLevel(logging.INFO)


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


def _short(text: str) -> str:
    return text[:300]


class Supervisor:
    """One stream's reconnect loop and every reconnect counter of it.

    ``label`` names the stream in errors ("market data stream"); ``auth_hint`` says what to
    check when the keys are refused. ``now`` stamps ``FeedLost``/``FeedRestored``."""

    def __init__(self, feed: str, label: str, auth_hint: str, *, backoff: Backoff | None,
                 max_refusals: int, now: Callable[[], datetime]) -> None:
        self.feed = feed
        self.label = label
        self.auth_hint = auth_hint
        self.backoff = backoff or Backoff()
        self.max_refusals = max_refusals
        self._now = now
        self.connected = False  # True between FeedRestored and FeedLost
        self.last_message_monotonic = 0.0  # time.monotonic() of the last frame received
        self.connects = 0  # handshakes that succeeded
        self.disconnects = 0  # sessions that were up and ended
        self.stale_reconnects = 0  # mute sockets given up on
        self.refusals = 0  # 406 connection limit or HTTP 429: backed off, retried
        self.refusals_in_a_row = 0
        self.failures = 0  # every other failed or ended session
        self.last_error = ""
        self.last_delay = 0.0
        self._up = False

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    # --- what a session reports ------------------------------------------------------------

    def handshaken(self) -> None:
        """Connected and authenticated (the catch-up comes next)."""
        self.connects += 1

    def restored(self, emit: Emit) -> None:
        """Caught up: the feed is live from here (``FeedRestored``)."""
        self.connected = self._up = True
        self.refusals_in_a_row = 0
        emit(FeedRestored(self._now(), self.feed))

    def frame(self) -> None:
        """A frame arrived (for the last-message age)."""
        self.last_message_monotonic = time.monotonic()

    def stats(self, messages: int, malformed: int) -> FeedStats:
        last = self.last_message_monotonic
        age = max(0.0, time.monotonic() - last) if last > 0 else 0.0
        return FeedStats(self.connected, self.reconnects, age, messages, malformed,
                         self.refusals)

    # --- the loop ----------------------------------------------------------------------------

    async def run(self, session: Callable[[], Awaitable[object]], emit: Emit) -> NoReturn:
        """Run ``session()`` until cancelled, reconnecting after every failure or close."""
        while True:
            self._up = False
            refused = False
            try:
                await session()
                self.failures += 1
                self.last_error = f"{self.label} closed by the server"
            except (asyncio.CancelledError, StreamRejected):
                self.connected = False
                raise
            except StreamRefused as exc:
                refused = True
                self.last_error = _short(str(exc))
            except StreamStale:
                self.stale_reconnects += 1
            except Exception as exc:  # connection errors of every kind: reconnect
                self.failures += 1
                self.last_error = _short(f"{exc.__class__.__name__}: {exc}")
                kind = classify_upgrade(exc)
                if kind == "auth":
                    self.connected = False
                    raise StreamRejected(
                        f"{self.label}: the broker refused the API keys ({self.last_error}); "
                        f"{self.auth_hint}"
                    ) from None
                refused = kind == "refused"
            if refused:
                self._refused()
            if self._up:
                self.connected = False
                self.disconnects += 1
                emit(FeedLost(self._now(), self.feed))
            self.last_delay = self.backoff.next_delay(refused=refused)
            await asyncio.sleep(self.last_delay)

    def _refused(self) -> None:
        self.refusals += 1
        self.refusals_in_a_row += 1
        if self.refusals_in_a_row > self.max_refusals:
            self.connected = False
            raise StreamUnavailable(
                f"{self.label}: refused {self.refusals_in_a_row} times in a row "
                f"({self.last_error}): another session holds the connection, or the "
                "broker is rate limiting; giving up for now"
            )
