"""The one backoff policy and the one retry loop of the project.

``Backoff`` yields the waits between attempts: ``base·2^attempt`` capped at ``cap``, with full
jitter (uniform in [0, that]) when it has an ``rng`` and plainly doubling without one, and at
least ``reap_window`` after a refusal (Alpaca reaps half-dead websocket sessions after
~90 s). The streams' reconnect supervisor (``adapters.alpaca.reconnect``) and the shell's
REST retries (``daemon.runtime.venue_calls``: reads, cancels, reconciliations) both use it;
``retry`` is the loop around one call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

MAX_DOUBLINGS = 32
"""The attempt counter stops here (2^32 · base is past any cap): no float overflow."""


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    reap_window: float = 90.0
    rng: random.Random | None = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, *, refused: bool = False) -> float:
        """The wait before the next attempt: uniform(0, min(cap, base·2^attempt)) with an
        ``rng`` (full jitter), that bound itself without one. ``refused`` (a 406 or an
        HTTP 429 at a websocket upgrade) waits at least the reap window."""
        bound = min(self.cap, self.base * 2**self.attempt)
        delay = self.rng.uniform(0.0, bound) if self.rng is not None else bound
        self.attempt = min(self.attempt + 1, MAX_DOUBLINGS)
        if refused:
            delay = max(delay, self.reap_window)
        return delay

    def reset(self) -> None:
        self.attempt = 0


def doubling(base: float, cap: float) -> Backoff:
    """A plain doubling backoff (no jitter): the shell's REST retries."""
    if base <= 0 or cap < base:
        raise ValueError(f"backoff needs 0 < base <= cap, got base={base} cap={cap}")
    return Backoff(base, cap, reap_window=0.0, rng=None)


OnFailure = Callable[[Exception, int, float], None]
"""Called after a failed attempt with (the error, failures so far, the wait before the next)."""


async def retry(call: Callable[[], Awaitable[T]], backoff: Backoff, *,
                attempts: int | None = None, on_failure: OnFailure | None = None) -> T:
    """Await ``call()`` until it returns, waiting ``backoff.next_delay()`` after each failure
    (any ``Exception``; cancellation goes through). After ``attempts`` failures the last
    error is raised; ``attempts=None`` tries for ever."""
    if attempts is not None and attempts < 1:
        raise ValueError(f"retry needs attempts >= 1 (or None for ever), got {attempts}")
    failures = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            failures += 1
            if attempts is not None and failures >= attempts:
                raise
            delay = backoff.next_delay()
            if on_failure is not None:
                on_failure(exc, failures, delay)
            await asyncio.sleep(delay)
