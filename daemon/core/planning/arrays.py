"""The numpy types of the planner's columns, and the one sum they may use.

Why numpy in the core: at 1,000 assets the planner walks every row in a dozen float passes
(sizing, friction, drafts, orders, weights after, benefit); in numpy each pass is a few
ufunc calls instead of a thousand interpreted steps. numpy is a pure library (no IO: the
purity test still holds) already a dependency of the daemon.

Exactness: an element-wise float64 ufunc rounds exactly as the same Python float operation
(IEEE 754 double, round to nearest; ``np.sqrt`` is correctly rounded like ``math.sqrt``;
numpy does not fuse a multiply and an add). A sum is not element-wise: ``np.sum`` adds
pairwise, ``+=`` one by one from 0, so the planner sums a column with ``seq_sum`` (a
cumulative sum from 0: the same additions in the same order) and a list of floats with
``seq_add``, never with the built-in ``sum``: Python 3.12 made ``sum`` of floats compensated
(Neumaier), so a plan would depend on the interpreter's version.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import add

import numpy as np
from numpy.typing import NDArray

COLUMNS_FROM = 64
"""Rows (or orders) from which a pass runs in numpy: below it numpy's per-call overhead
(a microsecond or two per ufunc) outweighs the loop, and the pass runs its per-row
evaluation of the same formula (each pair tested equal in ``tests/core/test_planner_numpy.py``)."""

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


def seq_add(xs: Iterable[float]) -> float:
    """Floats added from 0.0 one at a time, in order, on every Python (``sum`` of floats is
    compensated from 3.12 on; it was this up to 3.11)."""
    return float(reduce(add, xs, 0.0))


def seq_sum(x: Floats) -> float:
    """``seq_add(x.tolist())``: from 0, one element at a time, in order."""
    if x.size == 0:
        return 0.0
    # the additions from x[0] on, then + 0.0: from 0.0, x[0] is the first partial sum
    # exactly except for −0.0, and a sum that ends at zero from +0.0 is +0.0 (x + −x is +0.0
    # in round to nearest), which the final + 0.0 gives (−0.0 + 0.0 is +0.0)
    return float(np.cumsum(x)[-1]) + 0.0
