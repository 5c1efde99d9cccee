"""Alpaca's REST metering: a token bucket of N requests per minute per API key.

Every response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (Unix seconds when the bucket is full again); an empty bucket
answers 429. Time is handed in (``monotonic`` for refills, ``wall`` for the Reset
header) so tests can drive it without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` requests per key; the bucket refills continuously."""

    def __init__(
        self,
        per_minute: int = 200,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(
                f"rate limit must be a positive number of requests per minute, got {per_minute}"
            )
        self.per_minute = per_minute
        self._rate = per_minute / 60.0  # tokens per second
        self._monotonic = monotonic
        self._wall = wall
        self._buckets: dict[str, _Bucket] = {}

    def _refill(self, key: str) -> _Bucket:
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.per_minute), now)
        else:
            bucket.tokens = min(
                float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate
            )
            bucket.updated = now
        return bucket

    def _decision(self, bucket: _Bucket, allowed: bool) -> RateDecision:
        missing = self.per_minute - bucket.tokens
        reset = self._wall() + missing / self._rate
        return RateDecision(
            allowed=allowed,
            limit=self.per_minute,
            remaining=max(0, math.floor(bucket.tokens)),
            reset_epoch=math.ceil(reset),
        )

    def take(self, key: str) -> RateDecision:
        """Spend one token for ``key`` if there is one."""
        bucket = self._refill(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return self._decision(bucket, True)
        return self._decision(bucket, False)

    def peek(self, key: str) -> RateDecision:
        """The headers for ``key`` without spending a token."""
        bucket = self._refill(key)
        return self._decision(bucket, bucket.tokens >= 1.0)

    def reset(self) -> None:
        self._buckets.clear()
