"""SqliteJournal against a real SQLite file: order, durability, recovery reads, idempotency."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store import codec, schema
from adapters.store.journal import JournalError, SqliteJournal, journal_path
from daemon.core.commands import PlaceOrder, RecordDecision, ScheduleWakeup
from daemon.core.events import OrderFilled, QuoteBatch, QuoteUpdated, TimerFired
from daemon.core.model import Side, TradingState
from daemon.core.planning.plan import Plan, WeightRow
from tests.clocks import StepClock

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def order(cid: str, qty: str = "1.5", symbol: str = "SPY") -> PlaceOrder:
    return PlaceOrder(
        cid,
        symbol,
        Side.BUY,
        Decimal(qty),
        None,
        Decimal("400.01"),
        decision_id="d-1",
        reason="underweight",
    )


def fill(cid: str, exec_id: str, qty: str = "1", cum: str = "1") -> OrderFilled:
    return OrderFilled(at(5), cid, exec_id, Decimal(qty), Decimal("400.00"), Decimal(cum))


@pytest.fixture
async def journal(tmp_path: Path):  # type: ignore[no-untyped-def]
    j = await SqliteJournal.open(tmp_path / "state" / "journal.sqlite3", clock=StepClock())
    yield j
    await j.close()


def other_connection(path: Path) -> sqlite3.Connection:
    """A connection the journal does not own, like another process."""
    return sqlite3.connect(path)


async def test_open_creates_directories_schema_and_wal(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "a" / "state", clock=StepClock())  # a state directory, made
    await j.close()
    assert j.path == journal_path(tmp_path / "a" / "state") == tmp_path / "a/state/journal.sqlite3"
    conn = other_connection(j.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # a name with a database suffix is the file itself
    j2 = await SqliteJournal.open(tmp_path / "b" / "audit.db", clock=StepClock())
    assert j2.path == tmp_path / "b" / "audit.db"
    await j2.close()


async def test_events_and_commands_keep_call_order(journal: SqliteJournal) -> None:
    events = [TimerFired(at(i), f"k{i}") for i in range(50)]
    for i, e in enumerate(events):
        journal.record_event(e)
        if i % 10 == 0:
            journal.record_command(ScheduleWakeup(at(i + 60), f"w{i}"))
    await journal.flush()
    got = list(journal.events(chunk=7))  # several chunks
    assert [e for _, e in got] == events
    assert [s for s, _ in got] == list(range(1, 51))
    cmds = list(journal.commands())
    # each command points at the event journaled just before it
    assert [(ev_seq, c.key) for _, ev_seq, c in cmds] == [
        (i + 1, f"w{i}") for i in range(0, 50, 10)
    ]
    assert [s for s, _ in journal.events(since_seq=48)] == [49, 50]


async def test_quotes_are_conflated_to_the_latest_per_symbol(journal: SqliteJournal) -> None:
    journal.record_event(QuoteUpdated(at(0), "SPY", 1.0, 1.1))
    journal.record_event(QuoteUpdated(at(1), "BND", 2.0, 2.1))
    journal.record_event(QuoteUpdated(at(2), "SPY", 3.0, 3.1))
    journal.record_event(TimerFired(at(3), "check"))
    journal.record_event(QuoteUpdated(at(4), "BND", 4.0, 4.1))
    journal.record_command(ScheduleWakeup(at(9), "w"))  # a command flushes the pending quote
    await journal.flush()
    got = [e for _, e in journal.events()]
    assert got == [
        QuoteUpdated(at(1), "BND", 2.0, 2.1),
        QuoteUpdated(at(2), "SPY", 3.0, 3.1),
        TimerFired(at(3), "check"),
        QuoteUpdated(at(4), "BND", 4.0, 4.1),
    ]
    assert journal.quotes_conflated == 1
    ((_, event_seq, _),) = journal.commands()
    assert event_seq == 4  # the quote that produced the command precedes it


async def test_batches_are_conflated_and_journaled_as_one_batch(journal: SqliteJournal) -> None:
    q = QuoteUpdated
    journal.record_event(QuoteBatch(at(1), (q(at(0), "SPY", 1.0, 1.1), q(at(1), "BND", 2.0, 2.1))))
    journal.record_event(QuoteBatch(at(3), (q(at(2), "SPY", 3.0, 3.1), q(at(3), "SPY", 5.0, 5.1))))
    journal.record_event(q(at(4), "VTI", 6.0, 6.1))  # a single quote: the batch goes first
    journal.record_event(QuoteBatch(at(5), (q(at(5), "BND", 7.0, 7.1),)))
    journal.record_command(ScheduleWakeup(at(9), "w"))
    await journal.flush()
    assert [e for _, e in journal.events()] == [
        QuoteBatch(at(3), (q(at(3), "SPY", 5.0, 5.1), q(at(1), "BND", 2.0, 2.1))),
        q(at(4), "VTI", 6.0, 6.1),
        QuoteBatch(at(5), (q(at(5), "BND", 7.0, 7.1),)),
    ]
    assert journal.quotes_conflated == 2


@pytest.mark.parametrize(("policy", "expected"), [("all", 3), ("none", 0)])
async def test_quote_policies(tmp_path: Path, policy: str, expected: int) -> None:
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", quotes=policy, clock=StepClock())  # type: ignore[arg-type]
    for i in range(3):
        j.record_event(QuoteUpdated(at(i), "SPY", 1.0 + i, 2.0))
    await j.flush()
    assert len(list(j.events())) == expected
    await j.close()


async def test_intent_is_committed_with_fsync_before_record_intent_returns(
    tmp_path: Path,
) -> None:
    statements: list[str] = []
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, trace=statements.append, clock=StepClock())
    j.record_event(TimerFired(at(0), "before"))
    statements.clear()
    await j.record_intent(order("c1"))
    # visible to another connection the moment the await returns (no flush, no close)
    conn = other_connection(path)
    assert conn.execute("SELECT client_order_id FROM intents").fetchall() == [("c1",)]
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)  # order kept
    # and the commit that carried it ran with synchronous=FULL (the WAL is fsync'd)
    norm = [s.strip().upper() for s in statements]
    insert = next(i for i, s in enumerate(norm) if s.startswith("INSERT INTO INTENTS"))
    commit = next(i for i, s in enumerate(norm) if i > insert and s == "COMMIT")
    full = max(i for i, s in enumerate(norm[:insert]) if s.startswith("PRAGMA SYNCHRONOUS"))
    assert norm[full] == "PRAGMA SYNCHRONOUS = FULL"
    assert not any(s.startswith("PRAGMA SYNCHRONOUS") for s in norm[full + 1 : commit])
    await j.close()


async def test_ordinary_writes_do_not_pay_for_fsync(tmp_path: Path) -> None:
    statements: list[str] = []
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", trace=statements.append, clock=StepClock())
    statements.clear()
    j.record_event(TimerFired(at(0), "t"))
    j.record_fill(fill("c1", "e1"))
    for _ in range(100):  # let the writer commit without a durable barrier
        await asyncio.sleep(0.01)
        if "COMMIT" in statements:
            break
    assert "COMMIT" in statements
    assert not any("SYNCHRONOUS = FULL" in s.upper() for s in statements)
    await j.close()


async def test_same_intent_twice_is_a_no_op_but_a_reused_id_is_refused(
    journal: SqliteJournal,
) -> None:
    await journal.record_intent(order("c1"))
    await journal.record_intent(order("c1"))  # a retry after a crash: harmless
    journal.record_event(TimerFired(at(0), "same-batch-before"))
    with pytest.raises(JournalError, match="client_order_id must never be reused"):
        await journal.record_intent(order("c1", qty="2"))
    journal.record_event(TimerFired(at(1), "same-batch-after"))
    await journal.flush()
    assert [p.qty for p in journal.unresolved_intents()] == [Decimal("1.5")]
    assert journal.write_errors == 1
    # the writes around the failed one were kept
    assert [e.key for _, e in journal.events()] == ["same-batch-before", "same-batch-after"]


async def test_a_bad_write_is_counted_and_costs_only_itself(journal: SqliteJournal) -> None:
    journal.record_event(TimerFired(at(0), "a"))
    journal.record_command(PlaceOrder("c9", "SPY", Side.BUY, 1.5, None, None))  # type: ignore[arg-type]
    journal.record_event(TimerFired(at(1), "b"))
    await journal.flush()
    assert journal.write_errors == 1
    assert [e.key for _, e in journal.events()] == ["a", "b"]
    assert list(journal.commands()) == []


async def test_unresolved_intents_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    crashed = await SqliteJournal.open(path, clock=StepClock())
    for cid in ("a", "b", "c", "d", "e"):
        await crashed.record_intent(order(cid))
    crashed.record_order_state("a", "FILLED", {"filled_qty": Decimal("1.5")})
    crashed.record_order_state("b", "OPEN", {"broker_order_id": "x"})
    crashed.record_order_state("c", "canceled", {})  # case does not matter
    crashed.record_order_state("d", "UNKNOWN", {})
    crashed.record_order_state("e", "GAVE_UP", {}, terminal=True)
    await crashed.flush()
    # no close(): the process "dies" here; a new process opens the same file
    recovered = await SqliteJournal.open(path, clock=StepClock())
    assert [p.client_order_id for p in recovered.unresolved_intents()] == ["b", "d"]
    assert recovered.intent("b") == order("b")
    assert recovered.order_states("a") == [("FILLED", {"filled_qty": "1.5"})]
    await recovered.close()
    await crashed.close()


async def test_fills_are_idempotent_on_execution_id(journal: SqliteJournal) -> None:
    journal.record_fill(fill("c1", "e1", "1", "1"))
    journal.record_fill(fill("c1", "e1", "1", "1"))  # the stream repeats itself
    journal.record_fill(fill("c1", "e2", "0.5", "1.5"))
    await journal.flush()
    assert [f.execution_id for f in journal.fills("c1")] == ["e1", "e2"]
    assert journal.duplicate_fills == 1
    assert journal.write_errors == 0


async def test_trading_state_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    assert j.trading_state() is None
    await j.set_trading_state(TradingState.REDUCING, "drawdown")
    await j.set_trading_state("halted", "operator: kill switch")
    assert j.trading_state() == (TradingState.HALTED, "operator: kill switch")  # no flush
    with pytest.raises(JournalError, match="unknown trading state 'paused'"):
        await j.set_trading_state("paused", "x")
    await j.close()
    j2 = await SqliteJournal.open(path, clock=StepClock())
    assert j2.trading_state() == (TradingState.HALTED, "operator: kill switch")
    await j2.close()


async def test_config_versions_dedupe_and_redact(journal: SqliteJournal) -> None:
    text = '[broker]\nkind = "alpaca"\napi_key_id = "PKSECRET"\nsecret_key = "hunter2"\n'
    journal.record_config(text, "d1")
    journal.record_config(text, "d1")
    journal.record_config(text + "# edited\n", "d2")
    await journal.flush()
    rows = journal.recent("configs", 10)
    assert [r["digest"] for r in rows] == ["d2", "d1"]
    assert "PKSECRET" not in rows[0]["text"] and "hunter2" not in rows[0]["text"]
    assert 'kind = "alpaca"' in rows[0]["text"]
    assert journal.latest_config() == ("d2", rows[0]["text"])


async def test_decisions_keep_reasons_and_drift_snapshot(journal: SqliteJournal) -> None:
    plan = Plan(
        at=at(0),
        triggered=True,
        reasons=("SPY 31.2% > 30.0%",),
        portfolio_value=Decimal("100000.00"),
        weights={"SPY": WeightRow(0.312, 0.3, 0.25, 0.35)},
        portfolio_drift=0.012,
        est_cost=Decimal("1.20"),
        est_benefit=Decimal("5.00"),
    )
    journal.record_command(RecordDecision("d-1", plan))
    await journal.flush()
    (row,) = journal.recent("decisions", 5)
    assert row["decision_id"] == "d-1" and row["reasons"] == ["SPY 31.2% > 30.0%"]
    assert row["weights"]["SPY"]["current"] == 0.312
    assert (row["est_cost"], row["portfolio_drift"]) == ("1.20", 0.012)
    ((_, _, cmd),) = journal.commands()
    assert cmd == RecordDecision("d-1", plan)


async def test_generic_records(journal: SqliteJournal) -> None:
    journal.record("reconcile", {"diff": Decimal("0.5"), "at": at(0), "side": Side.SELL})
    await journal.flush()
    (row,) = journal.recent("records", 1)
    assert row["kind"] == "reconcile"
    assert row["payload"] == {"diff": "0.5", "at": at(0).isoformat(), "side": "sell"}


async def test_closed_journal_refuses_writes_clearly(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", clock=StepClock())
    await j.close()
    await j.close()  # idempotent
    with pytest.raises(JournalError, match="closed"):
        j.record_event(TimerFired(at(0), "late"))
    with pytest.raises(JournalError, match="closed"):
        await j.record_intent(order("c1"))


async def test_close_flushes_pending_writes(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    for i in range(500):
        j.record_event(TimerFired(at(i), f"k{i}"))
    j.record_event(QuoteUpdated(at(600), "SPY", 1.0, 2.0))  # pending in memory
    await j.close()
    conn = other_connection(path)
    assert conn.execute("SELECT count(*), max(kind) FROM events").fetchone() == (501, "TimerFired")
    kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY seq DESC LIMIT 1")]
    assert kinds == ["QuoteUpdated"]


async def test_rows_decode_back_to_events(journal: SqliteJournal) -> None:
    journal.record_event(fill("c1", "e1"))
    await journal.flush()
    conn = other_connection(journal.path)
    kind, body = conn.execute("SELECT kind, body FROM events").fetchone()
    assert codec.loads(kind, body) == fill("c1", "e1")


async def test_newer_or_foreign_databases_are_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(schema.SchemaError, match="upgrade rebalanced"):
        await SqliteJournal.open(newer, clock=StepClock())
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(schema.SchemaError, match="not a rebalanced journal"):
        await SqliteJournal.open(foreign, clock=StepClock())


async def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot create the state directory"):
        await SqliteJournal.open(blocker / "sub" / "j.sqlite3", clock=StepClock())


async def test_a_full_disk_fails_the_intent_loudly_and_the_journal_recovers(
    journal: SqliteJournal,
) -> None:
    """SQLite's max_page_count stands in for a full disk (SQLITE_FULL on growth)."""
    from adapters.store.writer import Op, apply_sql

    def set_limit(pages: str) -> None:
        journal._writer.put(Op("limit", apply_sql(f"PRAGMA max_page_count = {pages}", ())))

    await journal.flush()
    (pages,) = sqlite3.connect(journal.path).execute("PRAGMA page_count").fetchone()
    set_limit(str(pages))
    for i in range(200):  # fill whatever free pages are left
        journal.record_event(TimerFired(at(i), "x" * 2000))
    big = PlaceOrder("c-full", "SPY", Side.BUY, Decimal(1), None, None, reason="r" * 5000)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        await journal.record_intent(big)  # the shell must not POST this order
    assert journal.write_errors > 1
    set_limit("1073741823")
    await journal.record_intent(order("c-after"))
    assert [p.client_order_id for p in journal.unresolved_intents()] == ["c-after"]


async def test_order_states_are_derived_from_journaled_order_events(
    journal: SqliteJournal,
) -> None:
    """The shell may journal only events: intents still resolve from them."""
    from daemon.core.events import (
        OrderAccepted,
        OrderCanceled,
        OrderNotFound,
        OrderRejected,
        OrderSubmitFailed,
        SubmitOutcome,
    )

    qty_order = order("q", qty="3")
    notional_order = PlaceOrder("n", "BND", Side.BUY, None, Decimal("100.00"), None)
    for o in (
        qty_order,
        notional_order,
        order("c"),
        order("r"),
        order("f"),
        order("u"),
        order("x"),
    ):
        await journal.record_intent(o)
    journal.record_event(OrderAccepted(at(1), "q", "b-q"))
    journal.record_event(fill("q", "q1", qty="1", cum="1"))
    journal.record_event(fill("q", "q1", qty="1", cum="1"))  # the stream repeats a fill
    journal.record_event(
        OrderFilled(at(2), "n", "n1", Decimal("0.5"), Decimal("100"), Decimal("0.5"))
    )
    journal.record_event(OrderCanceled(at(3), "c", "expired"))
    journal.record_event(OrderRejected(at(3), "r", "insufficient buying power"))
    journal.record_event(OrderSubmitFailed(at(3), "f", SubmitOutcome.NOT_SENT, "refused"))
    journal.record_event(OrderSubmitFailed(at(3), "u", SubmitOutcome.UNKNOWN, "timeout"))
    journal.record_event(OrderNotFound(at(4), "x"))
    await journal.flush()
    assert [p.client_order_id for p in journal.unresolved_intents()] == ["q", "n", "u"]
    assert [s for s, _ in journal.order_states("q")] == ["OPEN", "PARTIAL"]
    assert journal.duplicate_fills == 1

    f2 = fill("q", "q2", qty="2", cum="3")
    journal.record_event(f2)
    journal.record_fill(f2)  # the consumer does both: not a repeat
    # notional: 0.5×100 + 0.4995×100.1 = 99.99995 ≥ 100.00 − 0.01 → complete
    journal.record_event(
        OrderFilled(at(5), "n", "n2", Decimal("0.4995"), Decimal("100.1"), Decimal("0.9995"))
    )
    journal.record_event(OrderSubmitFailed(at(3), "u", SubmitOutcome.UNKNOWN, "timeout"))
    await journal.flush()
    assert [p.client_order_id for p in journal.unresolved_intents()] == ["u"]
    assert journal.order_states("q")[-1] == (
        "FILLED",
        {"source": "event", "execution_id": "q2", "cum_qty": "3"},
    )
    assert journal.duplicate_fills == 1
    assert [f.execution_id for f in journal.fills("q")] == ["q1", "q2"]

    # the trade stream's catch-up after a restart replays "new" for an order that ended:
    # kept as an event, but it does not reopen the order's state
    journal.record_event(OrderAccepted(at(6), "q", "b-q"))
    await journal.flush()
    assert journal.order_states("q")[-1][0] == "FILLED"
    assert [e.at for _, e in journal.events() if isinstance(e, OrderAccepted)][-1] == at(6)


async def test_recorded_at_comes_from_the_clock_it_is_given(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="clock"):
        await SqliteJournal.open(tmp_path / "none.sqlite3")  # type: ignore[call-arg]
    start = datetime(2031, 7, 1, 12, 0, tzinfo=UTC)  # any time: the journal never reads its own
    j = await SqliteJournal.open(tmp_path / "j.sqlite3", clock=StepClock(start, timedelta(seconds=1)))
    j.record("note", {"n": 1})
    await j.set_trading_state(TradingState.HALTED, "test")
    await j.close()
    conn = other_connection(j.path)
    stamps = [r[0] for r in conn.execute("SELECT recorded_at FROM records")]
    stamps += [r[0] for r in conn.execute("SELECT recorded_at FROM trading_states")]
    assert stamps == [start.isoformat(), (start + timedelta(seconds=1)).isoformat()]
