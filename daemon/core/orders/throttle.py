"""Order pacing in event time: a token bucket plus an in-flight cap.

Time is whatever the caller says it is (the event's ``at``), so a backtest or a replay
reproduces the throttling exactly. The bucket starts full (``burst`` tokens) and refills at
``rate_per_sec``; time that runs backwards (a late event) refills nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

_EPS = 1e-9


class TokenBucket:
    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate_per_sec: float, burst: int) -> None:
        if not rate_per_sec > 0 or math.isinf(rate_per_sec):
            raise ValueError(
                f"token rate must be a positive number of tokens per second, got "
                f"{rate_per_sec!r}: set execution.orders_per_minute above 0"
            )
        if burst < 1:
            raise ValueError(f"burst must be ≥ 1, got {burst}: set execution.burst to 1 or more")
        self.rate = float(rate_per_sec)
        self.burst = int(burst)
        self._tokens = float(burst)
        self._last: datetime | None = None

    def _refill(self, now: datetime) -> None:
        if self._last is None:
            self._last = now
            return
        if now > self._last:
            elapsed = (now - self._last).total_seconds()
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._last = now

    def available(self, now: datetime) -> float:
        """Tokens available at ``now`` (fractional). A pure peek: changes nothing."""
        if self._last is None or now <= self._last:
            return self._tokens
        elapsed = (now - self._last).total_seconds()
        return min(float(self.burst), self._tokens + elapsed * self.rate)

    def try_take(self, now: datetime) -> bool:
        """Take one token if one is available at ``now``."""
        self._refill(now)
        if self._tokens + _EPS >= 1.0:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    def next_token_at(self, now: datetime) -> datetime:
        """The earliest time (≥ ``now``, rounded up to the microsecond) a token is available."""
        self._refill(now)
        missing = 1.0 - self._tokens
        if missing <= _EPS:
            return now
        micros = math.ceil(missing / self.rate * 1_000_000)
        return now + timedelta(microseconds=micros)

    def retuned(self, rate_per_sec: float, burst: int) -> TokenBucket:
        """A bucket with a new rate and burst that keeps the tokens left (capped at ``burst``)."""
        bucket = TokenBucket(rate_per_sec, burst)
        bucket._tokens = min(float(burst), self._tokens)
        bucket._last = self._last
        return bucket


class Pacer:
    """The token bucket plus the cap on orders in flight (sent and not yet terminal)."""

    __slots__ = ("bucket", "max_in_flight")

    def __init__(self, rate_per_sec: float, burst: int, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(
                f"max_in_flight must be ≥ 1, got {max_in_flight}: set execution.max_in_flight"
            )
        self.bucket = TokenBucket(rate_per_sec, burst)
        self.max_in_flight = int(max_in_flight)

    @classmethod
    def per_minute(cls, orders_per_minute: float, burst: int, max_in_flight: int) -> Pacer:
        return cls(orders_per_minute / 60.0, burst, max_in_flight)

    def try_send(self, now: datetime, in_flight: int) -> bool:
        """True (and a token spent) when one more order may go out at ``now``."""
        if in_flight >= self.max_in_flight:
            return False
        return self.bucket.try_take(now)

    def wake_at(self, now: datetime, in_flight: int) -> datetime | None:
        """When to try again: the next token time, or None while the in-flight cap binds
        (a terminal order event frees a slot)."""
        if in_flight >= self.max_in_flight:
            return None
        return self.bucket.next_token_at(now)

    def retuned(self, orders_per_minute: float, burst: int, max_in_flight: int) -> Pacer:
        pacer = Pacer.per_minute(orders_per_minute, burst, max_in_flight)
        pacer.bucket = self.bucket.retuned(orders_per_minute / 60.0, burst)
        return pacer


__all__ = ["Pacer", "TokenBucket"]
