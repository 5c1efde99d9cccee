"""Exact decimal ticks from floats, without building a ``Decimal`` on the common path.

The planner sizes in floats and the venue wants decimals. The reference conversion is
``Decimal(repr(x))`` (the float's shortest repr, see ``rounding.to_decimal``) followed by a
rounding to a tick (1e-9 share, 1 share, a cent, 1e-4 dollar). These functions return the
same tick count as that reference, as an ``int``, or ``None`` when a float alone cannot decide
(the caller then takes the ``Decimal`` path). Why it is exact, for ``x ≥ 0`` and a power-of-ten
``per_unit`` (``y = x × per_unit`` in floats, ``D = Decimal(repr(x))``):

- ``|y − D × per_unit| < 4.5e-16 × y`` (``D`` is within half an ulp of ``x``, the product
  within half an ulp of the truth); so when ``y`` is farther than that from every integer,
  ``floor(y)``/``ceil(y)`` is the answer;
- near an integer ``k`` (and ``k < 10¹⁵``), the answer is ``k`` or its neighbour, decided by
  comparing ``D`` with ``c = k / per_unit`` exactly: ``c`` has at most 15 significant digits,
  so ``c`` and ``D`` are the same number exactly when they round to the same float
  (``x == k / per_unit``, Python's int division being correctly rounded), and otherwise they
  are ordered as their floats are (rounding is monotonic).

``tests/core/test_exact_ticks.py`` checks every function against the ``Decimal`` reference.
"""

from __future__ import annotations

import math
from decimal import Decimal

_LIMIT = 1e15  # k < 10**15: at most 15 significant digits, and 2 × margin < 1
_REL = 4.5e-16  # twice the worst relative error of y (float product of a float's neighbour)
_ABS = 1e-9


def floor_ticks(x: float, per_unit: int) -> int | None:
    """``floor(Decimal(repr(x)) × per_unit)`` for ``x ≥ 0``; None when undecided."""
    y = x * per_unit
    if not 0.0 <= y < _LIMIT:  # also NaN
        return None
    k = round(y)
    if abs(y - k) > y * _REL + _ABS:
        return math.floor(y)
    f = k / per_unit
    return k if x >= f else k - 1


def ceil_ticks(x: float, per_unit: int) -> int | None:
    """``ceil(Decimal(repr(x)) × per_unit)`` for ``x > 0``; None when undecided."""
    y = x * per_unit
    if not 0.0 < y < _LIMIT:
        return None
    k = round(y)
    if abs(y - k) > y * _REL + _ABS:
        return math.ceil(y)
    f = k / per_unit
    return k + 1 if x > f else k


def scaled_floor(ticks: int, scale: float) -> int | None:
    """``floor(ticks × s)`` for a ``Decimal`` scale ``s`` whose float is ``scale``, when the
    float product is clearly away from an integer (None otherwise: decide in ``Decimal``).
    The margin covers the float's error and the 28-digit rounding of the ``Decimal`` product."""
    y = ticks * scale
    if not 0.0 <= y < _LIMIT:
        return None
    k = round(y)
    if abs(y - k) <= y * 1e-14 + _ABS:
        return None
    return math.floor(y)


def product_ticks(x: float, factor: float, per_unit: int, *, up: bool) -> int | None:
    """``ceil``/``floor`` of ``(D × F) × per_unit`` where ``D``, ``F`` are the shortest-repr
    decimals of ``x`` and ``factor`` (a marketable limit: ask × (1 + offset)); None when the
    float product is within 1e-14 (relative) of an integer."""
    y = x * factor * per_unit
    if not 0.0 < y < _LIMIT:
        return None
    k = round(y)
    if abs(y - k) <= y * 1e-14 + _ABS:
        return None
    return math.ceil(y) if up else math.floor(y)


def ticks_decimal(ticks: int, exponent: int) -> Decimal:
    """``ticks × 10**exponent`` as a Decimal with exactly that exponent (what ``quantize``
    to a tick of ``10**exponent`` returns): ``ticks_decimal(1250, -2) == Decimal('12.50')``."""
    return Decimal(ticks).scaleb(exponent)
