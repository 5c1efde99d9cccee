"""The valuation's memo of ``float(Decimal)`` gives ``float`` itself, zeros' signs included."""

import math
from decimal import Decimal

from daemon.core.planning import valuation
from daemon.core.planning.valuation import _float_of


def test_the_memo_gives_float_and_keeps_no_zero() -> None:
    for text in ("12.5", "1E+3", "0.000000001", "-7", "123456789.123456789"):
        x = Decimal(text)
        assert _float_of(x) == float(x)
        assert valuation._floats[x] == float(x)
    for zero in (Decimal("0"), Decimal("-0"), Decimal("0.000")):
        assert math.copysign(1.0, _float_of(zero)) == math.copysign(1.0, float(zero))
        assert zero not in valuation._floats


def test_the_memo_starts_over_when_full() -> None:
    valuation._floats.clear()
    kept = valuation._FLOATS_KEPT
    try:
        valuation._FLOATS_KEPT = 3  # type: ignore[misc]
        for k in range(1, 8):
            _float_of(Decimal(k))
            assert len(valuation._floats) <= 3
    finally:
        valuation._FLOATS_KEPT = kept  # type: ignore[misc]
        valuation._floats.clear()
