"""Each fill journaled exactly once: a catch-up repeats what the stream delivered under a
synthetic ``sync:`` execution id, and only what is missing (by cumulative quantity) may be
added. The schema enforces one row per (order, cumulative quantity); journals written before
that (v1) are migrated: repeats move to ``fills_superseded`` and each kept row's qty becomes
what it adds."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store import schema
from adapters.store.journal import SqliteJournal
from daemon.core.events import OrderFilled
from tests.clocks import StepClock

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def fill(cid: str, exec_id: str, qty: str, cum: str, s: float = 5) -> OrderFilled:
    return OrderFilled(T0 + timedelta(seconds=s), cid, exec_id, Decimal(qty), Decimal("400"),
                       Decimal(cum))


def rows(path: Path, table: str = "fills") -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            f"SELECT execution_id, qty, cum_qty FROM {table} ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


async def test_a_catch_up_repeat_is_not_journaled_and_a_gap_adds_only_what_is_missing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    j.record_event(fill("c1", "e1", "10", "10"))
    j.record_event(fill("c1", "sync:b1:10", "10", "10"))  # catch-up after a restart: repeat
    j.record_event(fill("c1", "sync:b1:25", "25", "25"))  # catch-up: e2 (15) was lost
    j.record_event(fill("c1", "e2", "15", "25"))  # the lost one turns up after all
    j.record_event(fill("c1", "e3", "5", "30"))
    await j.flush()
    assert [(f.execution_id, f.qty, f.cum_qty) for f in j.fills("c1")] == [
        ("e1", Decimal(10), Decimal(10)),
        ("sync:b1:25", Decimal(15), Decimal(25)),
        ("e3", Decimal(5), Decimal(30)),
    ]
    assert sum(f.qty for f in j.fills("c1")) == Decimal(30)
    assert j.duplicate_fills == 2
    await j.close()


async def test_the_schema_refuses_a_second_row_for_the_same_step(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    j = await SqliteJournal.open(path, clock=StepClock())
    j.record_event(fill("c1", "e1", "10", "10"))
    await j.flush()
    await j.close()
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO fills(execution_id, client_order_id, at, recorded_at, qty, price, "
            "cum_qty, broker_order_id, body) VALUES ('sync:x', 'c1', '', '', '10', '400', '10', "
            "'', '{}')"
        )
    conn.close()


async def test_a_v1_journal_with_doubled_fills_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema._statements(schema.MIGRATIONS[0]):  # type: ignore[arg-type]
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    v1 = [  # what v1 wrote in a crash loop: each fill twice, a sync row's qty = cum
        ("e1", "c1", "10", "10"),
        ("sync:b1:10", "c1", "10", "10"),
        ("sync:b1:25", "c1", "25", "25"),
        ("e9", "c2", "3", "3"),
        ("sync:b2:3", "c2", "3", "3"),
    ]
    for exec_id, cid, qty, cum in v1:
        conn.execute(
            "INSERT INTO fills(execution_id, client_order_id, at, recorded_at, qty, price, "
            "cum_qty, broker_order_id, body) VALUES (?, ?, '', '', ?, '400', ?, '', ?)",
            (exec_id, cid, qty, cum, f'{{"execution_id": "{exec_id}"}}'),
        )
    conn.close()
    j = await SqliteJournal.open(path, clock=StepClock())
    await j.close()
    assert rows(path) == [("e1", "10", "10"), ("sync:b1:25", "15", "25"), ("e9", "3", "3")]
    assert rows(path, "fills_superseded") == [("sync:b1:10", "10", "10"), ("sync:b2:3", "3", "3")]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 2
    conn.close()


async def test_journal_files_are_private(tmp_path: Path) -> None:
    import stat

    state = tmp_path / "state"
    j = await SqliteJournal.open(state, clock=StepClock())
    j.record_event(fill("c1", "e1", "1", "1"))
    await j.flush()
    files = sorted(state.glob("journal.sqlite3*"))
    assert {f.name for f in files} >= {"journal.sqlite3", "journal.sqlite3-wal"}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    await j.close()
