"""Client order ids and decision ids: deterministic, short, safe characters, run id checked."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.orders.ids import (
    MAX_CLIENT_ORDER_ID_LENGTH,
    MAX_RUN_ID_LENGTH,
    client_order_id,
    decision_id,
    is_ours,
    parse_client_order_id,
    validate_run_id,
)

run_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=MAX_RUN_ID_LENGTH,
)


def test_format_is_prefix_run_and_padded_sequence() -> None:
    assert client_order_id("r1", 0) == "rb-r1-00000000"
    assert client_order_id("r1", 42) == "rb-r1-00000042"
    assert client_order_id("r1", 123456789) == "rb-r1-123456789"
    assert decision_id("r1", 3) == "r1-d000003"


@settings(max_examples=200)
@given(run_ids, st.integers(min_value=0, max_value=10**12))
def test_ids_are_short_safe_deterministic_and_parse_back(run_id: str, seq: int) -> None:
    coid = client_order_id(run_id, seq)
    assert len(coid) <= MAX_CLIENT_ORDER_ID_LENGTH
    assert re.fullmatch(r"[A-Za-z0-9_-]+", coid)
    assert coid == client_order_id(run_id, seq)
    assert parse_client_order_id(coid) == (run_id, seq)
    assert is_ours(coid)


@given(run_ids, st.integers(0, 10**6), st.integers(0, 10**6))
def test_distinct_sequences_give_distinct_ids(run_id: str, a: int, b: int) -> None:
    assert (client_order_id(run_id, a) == client_order_id(run_id, b)) == (a == b)


def test_sequence_order_is_lexicographic_order_within_a_run() -> None:
    ids = [client_order_id("run", i) for i in range(0, 2000, 7)]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("run_id", "needle"),
    [
        ("", "empty"),
        ("a b", "' '"),
        ("x/y", "'/'"),
        ("é", "'é'"),
        ("x" * (MAX_RUN_ID_LENGTH + 1), "at most"),
    ],
)
def test_bad_run_ids_are_refused_with_the_fix(run_id: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        validate_run_id(run_id)
    with pytest.raises(ValueError):
        client_order_id(run_id, 1)


def test_negative_sequence_is_refused() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        client_order_id("r", -1)
    with pytest.raises(ValueError, match="≥ 0"):
        decision_id("r", -1)


@pytest.mark.parametrize(
    "coid", ["", "rb-", "rb-run", "rb-run-", "manual-123", "RB-run-1", "rb-run-12a", "xrb-r-1"]
)
def test_foreign_ids_are_not_ours(coid: str) -> None:
    assert not is_ours(coid)
    assert parse_client_order_id(coid) is None
