"""The quick builders make the same frozen objects as the dataclass constructors."""

from __future__ import annotations

import dataclasses

import pytest

from daemon.core.planning.plan import WeightRow
from daemon.core.planning.records import LazyWeights, weight_row


def test_weight_row_is_the_constructor() -> None:
    fast, slow = weight_row(0.1, 0.2, 0.15, 0.25), WeightRow(0.1, 0.2, 0.15, 0.25)
    assert fast == slow and repr(fast) == repr(slow) and not fast.in_band
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.current = 0.2  # type: ignore[misc]


def _rows(calls: list[int], n: int) -> dict[str, WeightRow]:
    calls.append(n)
    return {f"S{k}": WeightRow(k / 10, 0.1, 0.05, 0.15) for k in range(n)}


def test_lazy_weights_build_once_on_first_read_and_read_as_the_dict() -> None:
    calls: list[int] = []
    lazy = LazyWeights(_rows, calls, 3)
    assert calls == []  # nothing built until read
    plain = _rows([], 3)
    assert lazy == plain and plain == lazy and not (lazy != plain)
    assert calls == [3]
    assert repr(lazy) == repr(plain) and list(lazy) == list(plain) and len(lazy) == 3
    assert list(lazy.items()) == list(plain.items()) and list(lazy.values()) == list(plain.values())
    assert lazy["S1"] == plain["S1"] and "S2" in lazy and "S9" not in lazy
    assert lazy.get("S9") is None and lazy.get("S0") == plain["S0"]
    with pytest.raises(KeyError):
        lazy["S9"]
    assert lazy == LazyWeights(_rows, [], 3) and lazy != LazyWeights(_rows, [], 2)
    assert lazy != {**plain, "S0": WeightRow(0.5, 0.1, 0.05, 0.15)}
    assert calls == [3]  # built once however often it is read


def test_a_plan_with_lazy_weights_equals_one_with_the_dict_and_round_trips() -> None:
    from adapters.store.codec import dumps, loads
    from daemon.core.planning.plan import Plan
    from tests.core.planner_frozen_cases import random_case

    plan = random_case(3)()
    assert isinstance(plan.weights, LazyWeights)
    plain = dataclasses.replace(plan, weights=dict(plan.weights.items()))
    assert plan == plain and repr(plan) == repr(plain)
    assert dumps(plan) == dumps(plain)
    assert loads("Plan", dumps(plan)) == plan
    assert isinstance(loads("Plan", dumps(plan)), Plan)
