"""The token bucket and in-flight cap run on event time: burst first, then the rate."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.orders.throttle import Pacer, TokenBucket

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_burst_then_rate() -> None:
    bucket = TokenBucket(rate_per_sec=2.0, burst=3)
    assert [bucket.try_take(T0) for _ in range(4)] == [True, True, True, False]
    assert bucket.next_token_at(T0) == T0 + timedelta(milliseconds=500)
    assert not bucket.try_take(T0 + timedelta(milliseconds=499))
    assert bucket.try_take(T0 + timedelta(milliseconds=500))
    assert not bucket.try_take(T0 + timedelta(milliseconds=500))
    assert bucket.try_take(T0 + timedelta(milliseconds=1000))


def test_refill_is_capped_at_burst() -> None:
    bucket = TokenBucket(1.0, 2)
    assert bucket.try_take(T0) and bucket.try_take(T0)
    later = T0 + timedelta(hours=1)
    assert bucket.available(later) == 2.0
    assert [bucket.try_take(later) for _ in range(3)] == [True, True, False]


def test_time_running_backwards_refills_nothing() -> None:
    bucket = TokenBucket(1.0, 1)
    assert bucket.try_take(T0 + timedelta(seconds=10))
    assert not bucket.try_take(T0)
    assert not bucket.try_take(T0 + timedelta(seconds=10))
    assert bucket.try_take(T0 + timedelta(seconds=11))


def test_next_token_at_is_now_when_a_token_is_there() -> None:
    bucket = TokenBucket(0.5, 1)
    assert bucket.next_token_at(T0) == T0
    assert bucket.try_take(T0)
    assert bucket.next_token_at(T0) == T0 + timedelta(seconds=2)


@settings(max_examples=100)
@given(
    st.floats(min_value=0.01, max_value=1000.0),
    st.integers(min_value=1, max_value=20),
    st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=60),
)
def test_waking_at_next_token_at_always_yields_a_token(
    rate: float, burst: int, gaps_us: list[int]
) -> None:
    bucket = TokenBucket(rate, burst)
    now = T0
    for gap in gaps_us:
        now += timedelta(microseconds=gap)
        while bucket.try_take(now):
            pass
        wake = bucket.next_token_at(now)
        assert wake > now
        assert bucket.try_take(wake)
        now = wake


@settings(max_examples=100)
@given(
    st.floats(min_value=0.1, max_value=50.0),
    st.integers(min_value=1, max_value=10),
    st.lists(st.integers(min_value=0, max_value=2_000_000), min_size=1, max_size=80),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps_us: list[int]
) -> None:
    bucket = TokenBucket(rate, burst)
    now = T0
    taken = 0
    for gap in gaps_us:
        now += timedelta(microseconds=gap)
        taken += bucket.try_take(now)
        elapsed = (now - T0).total_seconds()
        assert taken <= burst + rate * elapsed + 1e-6


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("nan"), 1), (1.0, 0)])
def test_bad_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="execution"):
        TokenBucket(rate, burst)


def test_pacer_in_flight_cap_binds_before_tokens() -> None:
    pacer = Pacer.per_minute(orders_per_minute=60, burst=5, max_in_flight=2)
    assert pacer.try_send(T0, in_flight=0)
    assert pacer.try_send(T0, in_flight=1)
    assert not pacer.try_send(T0, in_flight=2)
    assert pacer.wake_at(T0, in_flight=2) is None
    assert pacer.bucket.available(T0) == pytest.approx(3.0)  # the cap spent no token
    assert pacer.wake_at(T0, in_flight=1) == T0


def test_pacer_refuses_a_zero_cap() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        Pacer(1.0, 1, 0)


def test_retuned_keeps_spent_tokens() -> None:
    pacer = Pacer.per_minute(60, 3, 5)
    assert pacer.try_send(T0, 0) and pacer.try_send(T0, 0)
    new = pacer.retuned(120, 10, 7)
    assert new.max_in_flight == 7
    assert new.bucket.available(T0) == pytest.approx(1.0)
    assert new.bucket.available(T0 + timedelta(seconds=1)) == pytest.approx(3.0)
