"""The shared token bucket: sizing, server feedback, 429 blocking, priority order."""

from __future__ import annotations

import asyncio

import pytest

from adapters.alpaca.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_700_000_000.0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def limiter(rpm: int = 200, headroom: float = 0.1) -> tuple[RateLimiter, Clock]:
    c = Clock()
    return RateLimiter(rpm, headroom, monotonic=lambda: c.mono, wall=lambda: c.wall), c


def test_sized_from_config_with_headroom() -> None:
    lim, _ = limiter(200, 0.1)
    assert lim.capacity == 180 and lim.rate == pytest.approx(3.0)
    assert lim.delay() == 0.0


def test_bad_sizes_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="requests_per_minute must be > 0"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="rate_headroom must be in"):
        RateLimiter(200, 1.5)


async def test_empty_bucket_waits_for_refill() -> None:
    lim, clock = limiter(60, 0.0)  # 1 token per second
    for _ in range(60):
        await lim.acquire()
    assert lim.delay() == pytest.approx(1.0)
    clock.advance(0.5)
    assert lim.delay() == pytest.approx(0.5)
    clock.advance(0.5)
    assert lim.delay() == 0.0


def test_server_remaining_lowers_tokens_and_blocks_until_reset() -> None:
    lim, clock = limiter(200, 0.1)
    lim.observe(
        200,
        {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "50",
            "X-RateLimit-Reset": str(int(clock.wall) + 30),
        },
    )
    assert lim.tokens == pytest.approx(30)  # 50 − 20 held back as headroom
    lim.observe(200, {"X-RateLimit-Remaining": "150"})
    assert lim.tokens == pytest.approx(30)  # never raised by the server
    lim.observe(
        200,
        {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "20",
            "X-RateLimit-Reset": str(int(clock.wall) + 12),
        },
    )
    assert lim.tokens == 0 and lim.server_throttles == 1
    assert lim.delay() == pytest.approx(12)


def test_429_blocks_until_reset_and_counts() -> None:
    lim, clock = limiter()
    lim.observe(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.wall) + 7)})
    assert lim.rate_limited == 1
    assert lim.delay() == pytest.approx(7)
    clock.advance(7)
    # blocked time is over; tokens refilled meanwhile at 3/s
    assert lim.delay() == 0.0


def test_429_without_reset_uses_the_penalty() -> None:
    lim, _ = limiter()
    lim.observe(429, {})
    assert lim.delay() == pytest.approx(1.0)


def test_lower_server_limit_shrinks_the_bucket() -> None:
    lim, _ = limiter(200, 0.1)
    lim.observe(200, {"X-RateLimit-Limit": "100"})
    assert lim.capacity == 90 and lim.tokens <= 90


def test_garbage_headers_are_ignored() -> None:
    lim, _ = limiter()
    lim.observe(200, {"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "soon"})
    assert lim.tokens == 180


async def test_waiters_are_served_by_priority_then_fifo() -> None:
    lim = RateLimiter(1200, 0.0)  # 20/s, real clock
    for _ in range(1200):
        await lim.acquire()
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await lim.acquire(priority)
        order.append(name)

    tasks = [
        asyncio.create_task(take(n, p))
        for n, p in [("read", 2000), ("big", 0), ("small", 2), ("mid", 1), ("read2", 2000)]
    ]
    await asyncio.gather(*tasks)
    assert order == ["big", "mid", "small", "read", "read2"]
    assert lim.waits == 5 and lim.queued == 0


async def test_cancelled_waiter_leaves_the_queue() -> None:
    lim = RateLimiter(1200, 0.0)
    for _ in range(1200):
        await lim.acquire()
    first = asyncio.create_task(lim.acquire(0))
    second = asyncio.create_task(lim.acquire(1))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 2)
    assert lim.queued == 0


async def test_concurrent_callers_never_exceed_the_budget() -> None:
    lim, clock = limiter(60, 0.0)
    for _ in range(60):
        await lim.acquire()
    done = 0

    async def one() -> None:
        nonlocal done
        await lim.acquire()
        done += 1

    tasks = [asyncio.create_task(one()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert done == 0  # the fake clock has not moved: no token may appear
    clock.advance(2.0)  # two tokens' worth
    lim.observe(200, {})  # any server answer wakes the waiters to re-check
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert done == 2
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
