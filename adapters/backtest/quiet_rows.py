"""Quiet rows: the rows of a backtest the engine provably cannot act on, and their records.

This is a conservative pre-screen, **not a decider**: it never decides to trade or not to
trade. It only picks rows the feeder need not hand the engine, and it may only err towards
handing one over. Every row it lets through is decided by ``Engine.handle`` exactly as
before, and a skipped row leaves the engine where the full stream would have left it.

**Why a row can be skipped.** While the engine is at rest (``Engine.at_rest``: no run, no
follow-up round due, nothing queued) and no order is open, the holdings do not change
between rows, and a row hands the engine only state that the next row overwrites: the
latest quote and statistics per symbol, the market clock and its sessions. What the engine
does on a row is then what its check (``TimerFired("check")``, firing on every row: the
check interval is at most the gap between rows) decides from that row's state. It can act
only on these rows, which are always handed over:

- the first row (the initial allocation), rows with a cash flow, rows with a dividend on a
  held share (each changes the account: a snapshot);
- every scheduled day of the calendar rule over the whole series (calendar, hybrid and
  look-interval modes): the engine's check, seeing the sessions around a row, finds at most
  these (a target date rolls back to the same trading day in the window as in the whole
  series, and the window only leaves targets out);
- threshold and hybrid modes: every row on which some weight (cash included) lies within
  ``MARGIN`` of a band edge or outside it (the band narrowed by ``MARGIN``: the engine
  values at the mid, this at the close; they differ by a few ulps). Between calendar days
  nothing else can make those modes act;
- the row on which a wakeup other than the check falls due, unless it is the timeout,
  deadline or lookup of an order already terminal in the engine's book (the engine ignores
  those wherever they fire);
- while the engine is not at rest or an order is open: every row.

The feeder falls back to handing over every row (``fast_path`` False) when that argument
does not hold or was not made: a taxable account (the lots, harvests and the tax policy
read dates and prices), model targets, a check interval longer than the gap between rows,
the ``every_row`` option (the tests compare both paths), and from the first decision that
reports a minimum trade that can never be met (the engine's "reported once" memory is
cleared by a later check, which a skipped row would not run).

A skipped row's records are what the row-by-row path writes for a row without trading:
value = positions × closes + cash, weights = each value / the total, from the same numpy
operations (``tests/adapters/backtest/test_quiet_rows.py`` compares every record of both
paths over a grid of configs).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

import numpy as np

from adapters.backtest.records import RowRecord
from daemon.core.config.values import Config, TriggerMode
from daemon.core.engine.desk import RESOLVE, TIMEOUT
from daemon.core.engine.kernel import CHECK, LOOKUP
from daemon.core.model import TradingSession
from daemon.core.orders.lifecycle import OrderBook
from daemon.core.triggers.calendar import scheduled_day_tuple

MARGIN = 1e-7  # a weight this close to a band edge hands the row over (mid vs close: ulps)
BLOCK = 256  # rows valued at once while looking for the next row to hand over
_ORDER_TIMERS = (TIMEOUT, RESOLVE, LOOKUP)


def fast_path_holds(config: Config, moments: Sequence[datetime], model_targets: bool) -> bool:
    """Whether quiet rows may be skipped at all (see the module docstring)."""
    if config.tax.taxable or model_targets:
        return False
    gaps = [(b - a).total_seconds() for a, b in pairwise(moments)]
    return not gaps or config.trigger.check_interval_seconds <= min(gaps)


def wake_rows(
    config: Config, sessions: Sequence[TradingSession], always: Iterable[int]
) -> list[int]:
    """The rows always handed over: ``always`` (first row, flows, …) and, unless the trigger
    is pure threshold, every scheduled calendar day of the whole series."""
    rows = set(always)
    if config.trigger.mode is not TriggerMode.THRESHOLD:
        index = {s.day: k for k, s in enumerate(sessions)}
        days = scheduled_day_tuple(config.trigger.calendar, tuple(sessions))
        rows.update(index[d] for d in days if d in index)
    return sorted(rows)


def timer_row(
    timers: dict[str, datetime], moments: Sequence[datetime], book: OrderBook
) -> int:
    """The first row on which a wakeup that may matter falls due (``len(moments)``: none).
    The ``ignored`` ones are dropped from ``timers`` on the way (they would be when due)."""
    at: datetime | None = None
    for key, when in list(timers.items()):
        if key == CHECK:
            continue
        if ignored(key, book):
            del timers[key]  # its heap entry is stale now: never fired
            continue
        if at is None or when < at:
            at = when
    return len(moments) if at is None else bisect_left(moments, at)


def ignored(key: str, book: OrderBook) -> bool:
    """A wakeup the engine answers with nothing, wherever it fires: the timeout, deadline or
    lookup of an order that is terminal (or gone) in its book (``OrderDesk.timed_out`` and
    ``deadline_passed`` return nothing for it, a lookup only asks about an UNKNOWN order).
    The feeder drops these instead of firing them: an order's timeout for every fill."""
    if not key.startswith(_ORDER_TIMERS):
        return False
    order = book.get(key.split(":", 1)[1])
    return order is None or order.state.terminal


@dataclass(slots=True)
class Bands:
    """Targets and band edges per column (symbols, then cash), as the records use them,
    and the band less ``MARGIN`` on each side (``near_low``, ``near_high``: a zero lower
    edge stays 0, a weight being below it only when negative, exactly as the engine sees)."""

    target: np.ndarray
    low: np.ndarray
    high: np.ndarray
    near_low: np.ndarray = field(init=False)
    near_high: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.near_low = np.where(self.low > 0, self.low + MARGIN, self.low)
        self.near_high = self.high - MARGIN


def record_quiet(
    rec: RowRecord, closes: np.ndarray, i: int, stop: int, qty: np.ndarray, cash: float,
    bands: Bands, *, watch_bands: bool, dividends: np.ndarray | None,
) -> int:  # fmt: skip
    """Write the records of rows ``i`` … up to the first that may matter (a weight near or
    outside its band when ``watch_bands``, a dividend in ``dividends``: rows × the held
    symbols' columns), at most ``stop``; returns that row (``stop`` when none)."""
    low, high = bands.near_low, bands.near_high
    j = i
    while j < stop:
        b = min(stop, j + BLOCK)
        w, total = value_rows(closes[j:b], qty, cash)
        end = b
        if watch_bands or dividends is not None:
            flag = np.zeros(b - j, dtype=bool)
            if watch_bands:
                flag |= np.any((w < low) | (w > high), axis=1)
            if dividends is not None:
                flag |= np.any(dividends[j:b] > 0, axis=1)
            if flag.any():
                end = j + int(np.argmax(flag))
        k = end - j
        if k:
            w, total = w[:k], total[:k]
            rec.value_before[j:end] = total
            rec.value_after[j:end] = total
            rec.weights_after[j:end] = w
            # as the row-by-row path computes them (Feeder._one_row)
            rec.max_drift[j:end] = np.max(np.abs(w - bands.target), axis=1)
            rec.outside[j:end] = np.any(
                (w < bands.low - 1e-12) | (w > bands.high + 1e-12), axis=1
            )
        if end < b:
            return end
        j = b
    return stop


def value_rows(
    closes: np.ndarray, qty: np.ndarray, cash: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (rows × (symbols + cash)) and totals of ``closes`` rows holding ``qty`` and
    ``cash``: the feeder's per-row arithmetic (``Feeder._weights``), row by row the same
    floats."""
    n_rows, n = closes.shape
    w = np.empty((n_rows, n + 1))
    np.multiply(closes, qty, out=w[:, :n])
    total = w[:, :n].sum(axis=1) + cash
    w[:, n] = cash
    pos = total > 0
    if pos.all():
        w /= total[:, None]
    else:
        w[pos] /= total[pos][:, None]
        w[~pos] = 0.0
    return w, total


__all__ = ["BLOCK", "MARGIN", "Bands", "fast_path_holds", "ignored", "record_quiet", "timer_row", "value_rows", "wake_rows"]
