"""adapters/backoff.py: the one backoff policy (jitter, cap, reap window) and retry loop."""

from __future__ import annotations

import asyncio
import random

import pytest

from adapters.backoff import MAX_DOUBLINGS, Backoff, doubling, retry


def test_full_jitter_stays_within_the_doubling_bound_and_follows_the_rng() -> None:
    b = Backoff(base=0.5, cap=6.0, reap_window=90.0, rng=random.Random(7))
    reference = random.Random(7)  # the same draws, bounds computed here independently
    for attempt in range(10):
        bound = min(6.0, 0.5 * 2.0**attempt)
        expected = reference.uniform(0.0, bound)
        got = b.next_delay()
        assert 0.0 <= got <= bound
        assert got == expected


def test_without_an_rng_the_waits_double_up_to_the_cap() -> None:
    b = doubling(0.5, 10.0)
    assert [b.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    b.reset()
    assert b.next_delay() == 0.5


def test_a_refusal_waits_at_least_the_reap_window() -> None:
    b = Backoff(base=0.01, cap=0.05, reap_window=0.3, rng=random.Random(1))
    assert b.next_delay(refused=True) >= 0.3
    assert b.next_delay() <= 0.05  # the floor applies to refusals only


def test_the_attempt_counter_stops_so_long_outages_never_overflow() -> None:
    b = Backoff(base=1.0, cap=60.0, rng=None)
    delays = [b.next_delay() for _ in range(5000)]
    assert delays[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert set(delays[6:]) == {60.0}
    assert b.attempt == MAX_DOUBLINGS


def test_bad_settings_are_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match="base=0"):
        doubling(0, 1.0)
    with pytest.raises(ValueError, match="attempts >= 1"):
        asyncio.run(retry(_never_called, doubling(0.001, 0.001), attempts=0))


async def _never_called() -> None:
    raise AssertionError("not called")


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"failure {self.calls}")
        return f"ok after {self.calls}"


async def test_retry_returns_once_the_call_works_and_reports_each_failure() -> None:
    call = Flaky(failures=3)
    seen: list[tuple[str, int, float]] = []
    result = await retry(call, doubling(0.001, 0.002), attempts=5,
                         on_failure=lambda e, n, d: seen.append((str(e), n, d)))
    assert result == "ok after 4"
    assert seen == [("failure 1", 1, 0.001), ("failure 2", 2, 0.002), ("failure 3", 3, 0.002)]


async def test_retry_raises_the_last_error_past_its_attempts() -> None:
    call = Flaky(failures=10)
    with pytest.raises(ConnectionError, match="failure 3"):
        await retry(call, doubling(0.001, 0.001), attempts=3)
    assert call.calls == 3


async def test_retry_without_a_budget_keeps_going() -> None:
    call = Flaky(failures=25)
    assert await retry(call, doubling(0.0001, 0.0001)) == "ok after 26"


async def test_cancellation_goes_through_the_retry() -> None:
    started = asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(retry(hangs, doubling(0.001, 0.001)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
