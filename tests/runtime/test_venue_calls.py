"""VenueCalls' retries (adapters/backoff.py's one loop): a cancel is retried then handed to a
lookup, a reconciliation is retried until the snapshot arrives, a read gives up with its
last error. The venue here fails on purpose; the journal is a real SQLite one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from adapters.ports import Emit, FeedStats
from adapters.store.journal import SqliteJournal
from daemon.core import events as ev
from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.runtime import venue_calls
from daemon.runtime.metrics import Metrics
from daemon.runtime.venue import Venue
from daemon.runtime.venue_calls import CANCEL_ATTEMPTS, VenueCalls, retry_read

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # an anchor, never today


class FailingVenue:
    """Gateway and account whose calls fail ``failures`` times, then answer."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.cancels = 0
        self.snapshots = 0

    def _maybe_fail(self, calls: int) -> None:
        if calls <= self.failures:
            raise ConnectionError(f"venue down (call {calls})")

    async def cancel(self, cancel: CancelOrder) -> ev.Event | None:
        self.cancels += 1
        self._maybe_fail(self.cancels)
        return ev.OrderCanceled(AT, cancel.client_order_id)

    async def snapshot(self) -> ev.AccountSnapshot:
        self.snapshots += 1
        self._maybe_fail(self.snapshots)
        return ev.AccountSnapshot(AT, Decimal("100"), {})

    async def submit(self, order: PlaceOrder, *, rank: int = 0) -> ev.Event:
        raise AssertionError("not used")

    async def lookup(self, client_order_id: str) -> list[ev.Event]:
        raise AssertionError("not used")

    async def clock(self) -> ev.MarketClock:
        raise AssertionError("not used")

    async def orders_since(self, after: datetime) -> Sequence[ev.BrokerOrder]:
        return ()

    async def latest_quotes(self, symbols: Iterable[str]) -> Sequence[ev.QuoteUpdated]:
        return ()

    def stats(self) -> FeedStats:
        return FeedStats(True, 0, 0.0, 0, 0)

    async def run(self, *args: Any) -> None:
        raise AssertionError("not used")


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CANCEL_BACKOFF", "RECONCILE_BACKOFF", "READ_BACKOFF"):
        monkeypatch.setattr(venue_calls, name, (0.001, 0.002))


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    async with await SqliteJournal.open(tmp_path, clock=lambda: AT) as j:
        yield j


def _calls(fake: FailingVenue, journal: SqliteJournal, out: list[Any]) -> tuple[VenueCalls, Metrics]:
    venue = Venue(account=fake, gateway=fake, market_data=fake, trade_updates=fake)
    metrics = Metrics(CollectorRegistry())
    emit: Emit = out.append
    return VenueCalls(venue, journal, metrics, emit, lambda: AT), metrics


async def test_a_failing_cancel_is_tried_again_then_answers(journal: SqliteJournal) -> None:
    fake, out = FailingVenue(failures=CANCEL_ATTEMPTS - 1), []
    calls, _ = _calls(fake, journal, out)
    await calls.cancel(CancelOrder("c-1"))
    assert fake.cancels == CANCEL_ATTEMPTS
    assert out == [ev.OrderCanceled(AT, "c-1")]


async def test_a_cancel_failing_every_time_is_handed_to_a_lookup(journal: SqliteJournal) -> None:
    fake, out = FailingVenue(failures=100), []
    calls, _ = _calls(fake, journal, out)
    await calls.cancel(CancelOrder("c-2"))
    assert fake.cancels == CANCEL_ATTEMPTS
    assert out == [ev.OrderCancelFailed(AT, "c-2", f"cancel failed {CANCEL_ATTEMPTS} times")]


async def test_reconcile_keeps_trying_until_the_snapshot_arrives(journal: SqliteJournal) -> None:
    fake, out = FailingVenue(failures=7), []
    calls, metrics = _calls(fake, journal, out)
    await calls.reconcile("test")
    assert out == [ev.AccountSnapshot(AT, Decimal("100"), {})]
    assert fake.snapshots == 8
    # each reconciliation attempt is one read retried 3 times: 7 failures → 2 failed rounds
    failed = metrics.reconciliations.labels("failed")._value.get()  # type: ignore[attr-defined]
    assert failed == 2


async def test_a_read_gives_up_with_its_last_error() -> None:
    fake = FailingVenue(failures=100)
    with pytest.raises(ConnectionError, match=r"call 4\)"):
        await retry_read(fake.snapshot, attempts=4)
    assert fake.snapshots == 4
