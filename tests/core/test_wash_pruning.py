"""The lot ledger prunes pending losses whose 30-day window closed before a buy: a buy scans
only the losses of its window, and every lot and disposal equals the unpruned ledger's
(which scans every pending loss on every buy), in date order and out of it."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.core.tax.ledger import Bought, LedgerEntry, LinkedPurchase, LotLedger, Sold
from daemon.core.tax.lots import ReliefMethod
from daemon.core.tax.wash_sales import PendingLoss
from tests.core.test_lot_properties import AUTO_METHODS, trades

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = date(2024, 1, 2)


class Unpruned(LotLedger):
    """The reference: every buy goes over every pending loss, as before the pruning."""

    def _open_losses(self, day: date) -> list[PendingLoss]:
        return [*self._expired, *self._pending]


class Counting(LotLedger):
    """Counts the pending losses each buy is offered."""

    scanned: list[int]

    def _open_losses(self, day: date) -> list[PendingLoss]:
        got = super()._open_losses(day)
        self.__dict__.setdefault("scanned", []).append(len(got))
        return got


def run(cls: type[LotLedger], entries: list[LedgerEntry], method: ReliefMethod,
        grouped: bool) -> LotLedger:  # fmt: skip
    led = cls(method, {"VTI": "us", "ITOT": "us"} if grouped else None)
    for e in entries:
        led.apply(e)
    return led


def same(a: LotLedger, b: LotLedger) -> None:
    assert a.lots() == b.lots()
    assert a.disposals == b.disposals


@FAST
@given(trades(), st.sampled_from(AUTO_METHODS), st.booleans())
def test_pruning_changes_no_lot_and_no_disposal(
    entries: list[LedgerEntry], method: ReliefMethod, grouped: bool
) -> None:
    same(run(LotLedger, entries, method, grouped), run(Unpruned, entries, method, grouped))


@FAST
@given(trades(), st.sampled_from(AUTO_METHODS), st.integers(0, 2**32 - 1))
def test_buys_out_of_date_order_match_as_unpruned(
    entries: list[LedgerEntry], method: ReliefMethod, seed: int
) -> None:
    # move some buys earlier in the stream (a buy dated before the latest one seen)
    order = list(entries)
    rng = random.Random(seed)
    for _ in range(3):
        if len(order) < 2:
            break
        i = rng.randrange(1, len(order))
        if isinstance(order[i], Bought | LinkedPurchase):
            order.insert(rng.randrange(0, i), order.pop(i))
    try:
        want = run(Unpruned, order, method, True)
    except Exception as exc:  # a sale before its buy: both must refuse it alike
        try:
            run(LotLedger, order, method, True)
        except Exception as mine:
            assert type(mine) is type(exc) and str(mine) == str(exc)
            return
        raise AssertionError("the pruned ledger accepted what the reference refused") from exc
    same(run(LotLedger, order, method, True), want)


def test_a_buy_scans_only_the_losses_of_its_window() -> None:
    # a loss every week for a year (each sale at $1 below its buy), then one buy
    entries: list[LedgerEntry] = []
    for k in range(52):
        day = START + timedelta(days=7 * k)
        entries += [Bought(day, "X", D(1), D(10)), Sold(day, "X", D(1), D(9))]
    # a buy re-opens each loss's window only for 30 days: a year's losses stay pending
    # unless pruned; a buy a week after the last loss can wash only the last 5 weeks'
    last = START + timedelta(days=7 * 51)
    entries.append(Bought(last + timedelta(days=7), "Y", D(1), D(10)))
    led = run(Counting, entries, ReliefMethod.FIFO, False)
    assert isinstance(led, Counting)
    # each X buy washed the previous week's loss; what is pending is always ≤ 5 losses
    assert max(led.scanned) <= 5
    assert all((last + timedelta(days=7) - p.sold).days <= 30 for p in led._pending)
    ref = run(Unpruned, entries, ReliefMethod.FIFO, False)
    same(led, ref)


def test_a_pruned_loss_is_still_washed_by_an_earlier_dated_buy() -> None:
    sale = START + timedelta(days=10)
    entries: list[LedgerEntry] = [
        Bought(START, "X", D(10), D(20)),
        Sold(sale, "X", D(10), D(15)),  # a $50 loss
        Bought(sale + timedelta(days=45), "Z", D(1), D(5)),  # prunes it (window over)
        Bought(sale + timedelta(days=5), "X", D(10), D(16)),  # dated inside it: washes it
    ]
    led = run(LotLedger, entries, ReliefMethod.FIFO, False)
    (disposal,) = led.disposals
    assert (disposal.code, disposal.adjustment) == ("W", D(50))
    (lot,) = led.lots("X")
    assert lot.basis == D(160) + D(50)
    same(led, run(Unpruned, entries, ReliefMethod.FIFO, False))


def test_a_copy_keeps_the_pruned_losses() -> None:
    """``LotLedger.copy`` (previews) is the ledger: a pruned loss still washes an
    earlier-dated buy applied to the copy."""
    sale = START + timedelta(days=10)
    led = LotLedger()
    for e in (Bought(START, "X", D(10), D(20)), Sold(sale, "X", D(10), D(15)),
              Bought(sale + timedelta(days=45), "Z", D(1), D(5))):  # prunes the loss
        led.apply(e)
    copy = led.copy()
    for ledger in (led, copy):
        ledger.apply(Bought(sale + timedelta(days=5), "X", D(10), D(16)))
    assert [d.adjustment for d in copy.disposals] == [d.adjustment for d in led.disposals]
    assert copy.lots("X") == led.lots("X")
