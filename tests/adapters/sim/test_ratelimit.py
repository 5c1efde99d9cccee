"""The per-key token bucket and its headers, driven by a hand-moved clock."""

from __future__ import annotations

import pytest

from adapters.sim.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.mono = 0.0
        self.wall = 1_700_000_000.0


def test_limit_then_429_then_refill() -> None:
    t = FakeTime()
    rl = RateLimiter(200, monotonic=lambda: t.mono, wall=lambda: t.wall)
    decisions = [rl.take("k") for _ in range(200)]
    assert all(d.allowed for d in decisions)
    assert decisions[0].remaining == 199 and decisions[-1].remaining == 0
    blocked = rl.take("k")
    assert not blocked.allowed and blocked.remaining == 0
    # empty bucket: full again after 60 s
    assert blocked.reset_epoch == int(t.wall) + 60
    t.mono += 0.3  # 200/min = one token every 0.3 s
    t.wall += 0.3
    assert rl.take("k").allowed
    assert not rl.take("k").allowed


def test_keys_are_independent_and_headers_shape() -> None:
    t = FakeTime()
    rl = RateLimiter(2, monotonic=lambda: t.mono, wall=lambda: t.wall)
    assert rl.take("a").allowed and rl.take("a").allowed and not rl.take("a").allowed
    d = rl.take("b")
    assert d.allowed
    assert d.headers() == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset": str(int(t.wall) + 30),
    }


def test_refill_caps_at_limit() -> None:
    t = FakeTime()
    rl = RateLimiter(10, monotonic=lambda: t.mono, wall=lambda: t.wall)
    rl.take("k")
    t.mono += 3600
    assert rl.peek("k").remaining == 10


def test_bad_limit_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="positive number of requests per minute"):
        RateLimiter(0)
