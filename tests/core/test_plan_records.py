"""The quick builders make the same frozen objects as the dataclass constructors."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from daemon.core.model import Side
from daemon.core.planning.plan import PlannedOrder, WeightRow
from daemon.core.planning.records import planned_order, weight_row


def test_planned_order_is_the_constructor() -> None:
    args = ("VTI", Side.BUY, D("1.500000000"), None, D("245.12"), D("0.35"), "why", D("367.68"))
    fast, slow = planned_order(*args), PlannedOrder(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.astuple(fast) == args
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.qty = D(2)  # type: ignore[misc]


def test_weight_row_is_the_constructor() -> None:
    fast, slow = weight_row(0.1, 0.2, 0.15, 0.25), WeightRow(0.1, 0.2, 0.15, 0.25)
    assert fast == slow and repr(fast) == repr(slow) and not fast.in_band
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.current = 0.2  # type: ignore[misc]
