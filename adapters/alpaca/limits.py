"""The REST rate limiter: one async token bucket per API key, shared by every caller
(orders, polling, reconciliation).

- Sized from config: ``requests_per_minute × (1 − headroom)`` tokens, refilled evenly.
- Corrected by the server: ``X-RateLimit-Remaining`` lowers our tokens (never raises them),
  and when the remaining budget falls into the headroom we wait for ``X-RateLimit-Reset``.
- After a 429 every caller waits until ``Reset`` (or ``penalty_seconds`` if absent).
- Waiters are served by ``priority`` (lower first), FIFO within a priority: orders sort by
  deviation size so the largest go first when the budget is short.

Counters (``acquired``, ``waits``, ``rate_limited``, ``server_throttles``) are plain
attributes for the shell's metrics.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable, Mapping

PRIORITY_ORDER = 0  # order submits and cancels (ties broken by the gateway's rank)
PRIORITY_LOOKUP = 1000  # resolving unknown outcomes
PRIORITY_READ = 2000  # snapshots, clock, polling, reconciliation


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: int = 200,
        headroom: float = 0.1,
        *,
        penalty_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError(
                f"requests_per_minute must be > 0 (got {requests_per_minute}); "
                "Alpaca allows 200/min per key"
            )
        if not 0.0 <= headroom < 1.0:
            raise ValueError(f"rate_headroom must be in [0, 1) (got {headroom}); e.g. 0.1")
        self.limit = requests_per_minute
        self.headroom = headroom
        self.capacity = max(1.0, math.floor(requests_per_minute * (1.0 - headroom)))
        self.rate = self.capacity / 60.0  # tokens per second
        self.penalty_seconds = penalty_seconds
        self._mono = monotonic
        self._wall = wall
        self._tokens = self.capacity
        self._stamp = monotonic()
        self._blocked_until = 0.0  # monotonic
        self._heap: list[tuple[int, int]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        # counters for metrics
        self.acquired = 0
        self.waits = 0  # acquisitions that had to wait
        self.rate_limited = 0  # 429 answers seen
        self.server_throttles = 0  # times the server's Remaining pushed us into a wait

    # --- state ---------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def delay(self) -> float:
        """Seconds until one token is free (0 → now)."""
        now = self._mono()
        self._refill(now)
        if now < self._blocked_until:
            return self._blocked_until - now
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate

    @property
    def tokens(self) -> float:
        self._refill(self._mono())
        return self._tokens

    @property
    def queued(self) -> int:
        return len(self._heap)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # --- acquire -------------------------------------------------------------------------

    async def acquire(self, priority: int = PRIORITY_READ) -> None:
        """Wait for a token; lower ``priority`` values are served first."""
        entry = (priority, next(self._seq))
        heapq.heappush(self._heap, entry)
        waited = False
        try:
            while True:
                timeout: float | None = None
                if self._heap[0] == entry:
                    timeout = self.delay()
                    if timeout <= 0.0:
                        heapq.heappop(self._heap)
                        self._tokens -= 1.0
                        self.acquired += 1
                        if waited:
                            self.waits += 1
                        self._notify()
                        return
                waited = True
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), timeout)
                except TimeoutError:
                    pass
        except BaseException:
            if entry in self._heap:
                self._heap.remove(entry)
                heapq.heapify(self._heap)
                self._notify()
            raise

    # --- server feedback -----------------------------------------------------------------

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Update from one response's status and ``X-RateLimit-*`` headers."""
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        reset = _float(headers.get("X-RateLimit-Reset"))
        limit = _int(headers.get("X-RateLimit-Limit"))
        now = self._mono()
        self._refill(now)
        until_reset = max(0.0, reset - self._wall()) if reset is not None else None
        if limit is not None and 0 < limit < self.limit:
            # the server allows less than configured: shrink to its limit (keep headroom)
            self.limit = limit
            self.capacity = max(1.0, math.floor(limit * (1.0 - self.headroom)))
            self.rate = self.capacity / 60.0
            self._tokens = min(self._tokens, self.capacity)
        if status == 429:
            self.rate_limited += 1
            self._tokens = 0.0
            wait = until_reset if until_reset else self.penalty_seconds
            self._blocked_until = max(self._blocked_until, now + wait)
            self._notify()
            return
        if remaining is None:
            self._notify()
            return
        reserve = math.ceil((limit or self.limit) * self.headroom)
        usable = remaining - reserve
        if usable < self._tokens:
            self._tokens = max(0.0, float(usable))
        if usable < 1 and until_reset is not None:
            self.server_throttles += 1
            self._blocked_until = max(self._blocked_until, now + until_reset)
        self._notify()


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
