"""Group commit: the intents of orders released together are made durable with one fsync
(``SqliteJournal.record_intents``), and no order's awaitable completes before that fsync'd
commit. The writer's SQL trace is the record of what SQLite was asked to do, in order."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.journal import JournalError, SqliteJournal
from daemon.core.commands import PlaceOrder
from daemon.core.model import Side
from tests.clocks import StepClock

FULL = "PRAGMA synchronous = FULL"


def order(i: int, qty: str = "1") -> PlaceOrder:
    return PlaceOrder(f"rb-run-{i:08d}", "VTI", Side.BUY, Decimal(qty), None, None, decision_id="d")


async def test_a_group_of_intents_costs_one_fsync_and_completes_after_it(tmp_path: Path) -> None:
    sql: list[str] = []
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", trace=sql.append, clock=StepClock())
    start = len(sql)
    done_at: dict[str, int] = {}
    waits = j.record_intents([order(i) for i in range(5)])
    tasks = [asyncio.ensure_future(w) for w in waits]
    for i, t in enumerate(tasks):
        t.add_done_callback(lambda _t, i=i: done_at.setdefault(order(i).client_order_id, len(sql)))
    await asyncio.gather(*tasks)
    trace = sql[start:]
    assert sum(s == FULL for s in trace) == 1, trace
    full = sql.index(FULL, start)
    commit = sql.index("COMMIT", full)  # the fsync'd commit: synchronous=FULL, then COMMIT
    inserts = [k for k, s in enumerate(sql) if "INSERT" in s and "intents" in s]
    assert len(inserts) == 5 and max(inserts) < commit
    assert all(at > commit for at in done_at.values()), (done_at, commit)
    assert {i.client_order_id for i in j.unresolved_intents()} == {
        order(i).client_order_id for i in range(5)
    }
    await j.close()


async def test_one_intent_each_costs_an_fsync_each(tmp_path: Path) -> None:
    """Guard for the test above: awaited one at a time, record_intent fsyncs per order."""
    sql: list[str] = []
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", trace=sql.append, clock=StepClock())
    start = len(sql)
    for i in range(5):
        await j.record_intent(order(i))
    assert sum(s == FULL for s in sql[start:]) == 5
    await j.close()


async def test_a_conflicting_intent_fails_only_itself(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", clock=StepClock())
    await j.record_intent(order(1))
    waits = j.record_intents([order(0), order(1, qty="2"), order(2)])
    results = await asyncio.gather(*waits, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Exception)
    assert j.intent(order(2).client_order_id) is not None
    await j.close()


async def test_a_closed_journal_refuses_the_group_at_once(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", clock=StepClock())
    await j.close()
    with pytest.raises(JournalError, match="closed"):
        j.record_intents([order(0)])


async def test_the_barrier_syncs_intents_a_batch_before_it_committed(tmp_path: Path) -> None:
    """The writer may take a group's intents in one batch (committed with
    synchronous=NORMAL: no fsync) and the barrier alone in the next. SQLite syncs the WAL
    only when a commit writes a frame, so an empty barrier would be no fsync at all and the
    POST would go out before its intent is durable: the barrier must write (the WAL grows)."""
    from adapters.store import ops

    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    op = ops.intent_op(order(0), "2026-01-02T15:00:00+00:00")
    op.durable = False  # as in record_intents
    op.waiter = asyncio.get_running_loop().create_future()
    j._put(op)
    await op.waiter  # committed in a batch of its own, not fsync'd
    wal = path.with_name(path.name + "-wal")
    before = wal.stat().st_size
    await j.flush()  # the group's barrier, alone in its batch
    assert wal.stat().st_size > before, "the barrier wrote no WAL frame: no fsync"
    await j.close()
