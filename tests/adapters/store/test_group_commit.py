"""Group commit: the intents of orders released together are made durable with one fsync
of the intent log (``SqliteJournal.record_intents``) before the call returns, so before any
POST; SQLite journals them behind, and a crash in between loses none (the next open
records them). The writer's SQL trace is the record of what SQLite was asked to do."""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.intent_log import IntentLog, decode_all, encode, log_path
from adapters.store.journal import JournalError, SqliteJournal
from daemon.core.commands import PlaceOrder
from daemon.core.model import Side
from tests.clocks import StepClock

FULL = "PRAGMA synchronous = FULL"


def order(i: int, qty: str = "1") -> PlaceOrder:
    return PlaceOrder(f"rb-run-{i:08d}", "VTI", Side.BUY, Decimal(qty), None, None, decision_id="d")


async def test_a_group_of_intents_costs_one_sync_and_is_durable_when_the_call_returns(
    tmp_path: Path,
) -> None:
    """One ``fdatasync`` of the intent log for the group, made before ``record_intents``
    returns (so before any POST), with every intent of the group in the file at that moment;
    each awaitable is then complete. SQLite gets them too, behind one fsync'd barrier."""
    path = tmp_path / "j.sqlite3"
    synced: list[list[str]] = []  # per sync: the client order ids the log file held

    def sync(fd: int) -> None:
        os.fdatasync(fd)
        data = log_path(path).read_bytes()
        synced.append([o.client_order_id for o, _ in decode_all(data)])

    sql: list[str] = []
    j = await SqliteJournal.open(path, trace=sql.append, clock=StepClock(), intent_sync=sync)
    start = len(sql)
    waits = j.record_intents([order(i) for i in range(5)])
    assert synced == [[order(i).client_order_id for i in range(5)]]
    assert all(isinstance(w, asyncio.Future) and w.done() and w.exception() is None
               for w in waits)
    await j.flush()
    trace = sql[start:]
    inserts = [s for s in trace if "INSERT" in s and "intents" in s]
    assert len(inserts) == 5 and 1 <= sum(s == FULL for s in trace) <= 2  # barrier (+ flush)
    assert {i.client_order_id for i in j.unresolved_intents()} == {
        order(i).client_order_id for i in range(5)
    }
    assert decode_all(log_path(path).read_bytes()) == []  # durable in SQLite: log reset
    assert j._group.resets == 1
    await j.close()


async def test_intents_only_the_log_holds_are_journaled_on_open(tmp_path: Path) -> None:
    """A crash after the log's sync, before the writer's commit: the next open records the
    logged intents in SQLite (recovery then resolves them), without writing the log (another
    process may be appending to it); the next group overwrites it from offset 0. A torn
    record at the log's end (a write that never finished: its order was never sent) ends
    the read."""
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    await j.record_intent(order(0))
    await j.close()
    log, before = IntentLog.open(path)
    assert before == []
    torn = encode(order(3), "2026-01-02T15:00:00+00:00")[:-2] + b"xx"
    log.append([encode(order(1), "2026-01-02T15:00:00+00:00"),
                encode(order(0), "2026-01-02T14:00:00+00:00"),  # journaled already: no-op
                encode(order(2), "2026-01-02T15:00:00+00:00"), torn])
    log.close()
    for _ in range(2):  # opened again: the records left in the log change nothing
        j = await SqliteJournal.open(path, clock=StepClock())
        assert [i.client_order_id for i in j.unresolved_intents()] == [
            order(k).client_order_id for k in (0, 1, 2)
        ]
        await j.close()
    j = await SqliteJournal.open(path, clock=StepClock())
    await asyncio.gather(*j.record_intents([order(4)]))  # a new group starts at offset 0
    assert decode_all(log_path(path).read_bytes())[0][0] == order(4)
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
    """The same id with other contents, journaled (committed) or only logged so far: that
    order's awaitable raises (no POST), it is not logged, and the others go ahead."""
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    await j.record_intent(order(1))
    waits = j.record_intents([order(0), order(1, qty="2"), order(2)])
    results = await asyncio.gather(*waits, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], JournalError)
    assert [o.client_order_id for o, _ in decode_all(log_path(path).read_bytes())] == [
        order(0).client_order_id, order(2).client_order_id]
    again = j.record_intents([order(2, qty="3"), order(0)])  # logged, maybe not committed
    assert isinstance((await asyncio.gather(*again, return_exceptions=True))[0], JournalError)
    await j.flush()
    assert j.intent(order(2).client_order_id) == order(2)
    assert j.intent(order(1).client_order_id) == order(1)
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


async def test_writes_reach_the_writer_thread_two_loop_steps_later_in_order(
    tmp_path: Path,
) -> None:
    """The outbox: ops made in one loop step go to the writer thread together two steps
    later (after the tasks that step started, e.g. a POST), never reordered; ``flush``
    and ``close`` still see them."""
    sql: list[str] = []
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", trace=sql.append, clock=StepClock())
    j.record("note", {"k": 1})
    j.record("note", {"k": 2})
    assert len(j._outbox) == 2
    await asyncio.sleep(0)
    assert len(j._outbox) == 2  # the first hop
    await asyncio.sleep(0)
    assert len(j._outbox) == 0  # handed over
    j.record("note", {"k": 3})
    await j.flush()
    rows = j._read("SELECT payload FROM records WHERE kind = 'note' ORDER BY seq")
    assert [json.loads(p)["k"] for (p,) in rows] == [1, 2, 3]
    await j.close()


async def test_a_fresh_runs_orders_go_out_without_reading_sqlite(tmp_path: Path) -> None:
    """The id check reads SQLite once per run (is any intent of it there?), not per group:
    the daemon's run id is fresh, so its later groups are checked in memory; an id this
    journal wrote (in a group or alone) is read as before, and so is every id of a run
    SQLite already held."""
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    await asyncio.gather(*j.record_intents([order(0)]))
    reads = j._group.reads
    assert reads == 1  # the run's first group: is any intent of run "run" journaled?
    for i in range(1, 6):
        await asyncio.gather(*j.record_intents([order(i)]))
        await j.flush()  # committed, and the intent log reset: only memory knows them now
    assert j._group.reads == reads
    await j.record_intent(order(6))  # alone, committed
    again = j.record_intents([order(6, qty="2"), order(2, qty="2"), order(7)])
    results = await asyncio.gather(*again, return_exceptions=True)
    assert [type(r) for r in results] == [JournalError, JournalError, type(None)]
    assert j._group.reads == reads + 1  # ids 6 and 2 read from SQLite; 7 not
    await j.close()
    j = await SqliteJournal.open(path, clock=StepClock())  # the same run seen again
    results = await asyncio.gather(*j.record_intents([order(3, qty="2"), order(8)]),
                                   return_exceptions=True)
    assert isinstance(results[0], JournalError) and results[1] is None
    assert j._group.reads == 2  # the run's check (it has intents), then the ids
    await j.close()


async def test_a_run_prefix_that_another_runs_ids_extend_is_read_as_before(
    tmp_path: Path,
) -> None:
    """Run "run-2" journaled; run "run"'s check sees rb-run-2-… under its prefix and reads
    each id from SQLite (conservative), so a reused id still fails."""
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    other = PlaceOrder("rb-run-2-00000001", "VTI", Side.BUY, Decimal("1"), None, None,
                       decision_id="d")
    await j.record_intent(other)
    await j.close()
    j = await SqliteJournal.open(path, clock=StepClock())
    await asyncio.gather(*j.record_intents([order(0)]))
    assert j._group.reads == 2  # the prefix check found rows, then the id itself
    clash = PlaceOrder("rb-run-2-00000001", "VTI", Side.BUY, Decimal("2"), None, None,
                       decision_id="d")
    (result,) = await asyncio.gather(*j.record_intents([clash]), return_exceptions=True)
    assert isinstance(result, JournalError)
    await j.close()
