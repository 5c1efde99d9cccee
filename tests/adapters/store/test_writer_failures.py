"""The writer while writes fail (disk full, read-only file system): every failure is
counted, but logged at most once a minute, and the recovery once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from adapters.store.writer import Op, WriterThread, apply_sql


def _full(_state, _conn) -> None:  # type: ignore[no-untyped-def]
    raise sqlite3.OperationalError("database or disk is full")


async def _settle(w: WriterThread) -> None:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    w.put(Op("barrier", apply_sql("SELECT 1", ()), waiter=done))
    await done


async def test_failures_are_reported_once_a_minute_and_recovery_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    w = WriterThread(tmp_path / "j.sqlite3", monotonic=lambda: now[0])
    await w.start()
    caplog.set_level(logging.WARNING, logger="adapters.store.writer")
    try:
        for _ in range(50):
            w.put(Op("event", _full))
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        w.put(Op("intent", _full, waiter=failed))
        with pytest.raises(sqlite3.OperationalError):
            await failed
        assert w.failing and w.write_errors == 51
        assert w.failure_reports == 1  # 51 failures, one line
        now[0] += 61.0
        w.put(Op("event", _full))
        w.put(Op("event", _full))
        ok: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        w.put(Op("probe", apply_sql("SELECT 1", ()), waiter=ok))
        await ok
        await _settle(w)  # the writer counts after it answers the waiter
        assert w.failure_reports == 3  # a minute later one more line, then the recovery
        assert not w.failing and w.write_errors == 53
    finally:
        await w.stop()
    texts = [r.getMessage() for r in caplog.records]
    assert len(texts) == 3, texts
    assert "database or disk is full" in texts[0] and "1 in all" in texts[0]
    # the 50 after it in the same minute: counted, not logged; the next minute's first names them
    assert "51 failed writes since the last report, 52 in all" in texts[1]
    assert "writes succeed again (53 failed writes in all)" in texts[2]
