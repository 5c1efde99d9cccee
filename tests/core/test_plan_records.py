"""The quick builders make the same frozen objects as the dataclass constructors."""

from __future__ import annotations

import dataclasses

import pytest

from daemon.core.planning.plan import WeightRow
from daemon.core.planning.records import weight_row


def test_weight_row_is_the_constructor() -> None:
    fast, slow = weight_row(0.1, 0.2, 0.15, 0.25), WeightRow(0.1, 0.2, 0.15, 0.25)
    assert fast == slow and repr(fast) == repr(slow) and not fast.in_band
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.current = 0.2  # type: ignore[misc]
