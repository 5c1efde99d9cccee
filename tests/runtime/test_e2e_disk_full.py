"""End to end: the journal's disk fills up (SQLite's own "database or disk is full", made
real with ``PRAGMA max_page_count``). No decision may be made without its journal: /readyz
goes not ready, a band breach places no order, the failure is logged at most once a minute
with a counter, and trading resumes by itself once writes succeed again."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.store.writer import Op
from tests.runtime.e2e_support import BALANCED, live_daemon, metric, sim_cfg, wait_until


def _set_max_pages(journal, pages: int | None) -> None:  # type: ignore[no-untyped-def]
    """Cap the journal file at its current size (None: lift the cap), on the writer."""

    def apply(_state, conn: sqlite3.Connection) -> None:  # type: ignore[no-untyped-def]
        count = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {count if pages is None else pages}")

    journal._writer.put(Op("test: disk size", apply))


async def test_disk_full_stops_decisions_and_trading_resumes_when_writes_work(
    tmp_path: Path,
) -> None:
    async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED)) as d:
        assert d.in_bands()
        _set_max_pages(d.journal, None)  # the cap: exactly the pages it has now

        async def not_ready() -> bool:
            status, body = await d.get("/readyz")
            return status == 503 and any("journal" in r for r in body["reasons"])

        # quotes keep arriving and are journaled: the file needs a new page soon
        await wait_until(not_ready, 20, what="/readyz to report the failing journal")
        posts_before = sum((await d.posts()).values())
        await d.sim.control("POST", "/_sim/price", {"symbol": "VTI", "factor": 1.25})
        await wait_until(lambda: not d.in_bands(), 10, what="VTI out of its band")
        await asyncio.sleep(3)  # several check intervals: a healthy daemon would have traded
        assert sum((await d.posts()).values()) == posts_before, "an order without its journal"
        assert d.snapshot().decisions == 0
        assert "journal" in d.snapshot().feeds_lost
        m = await d.metrics()
        assert metric(m, "rebalanced_journal_write_errors_total") > 0
        writer = d.journal._writer
        # logged per episode, not per failed write: a capped file may still take a small
        # write now and then (a page with room), which ends an episode and starts another
        assert writer.write_errors >= 3
        assert writer.failure_reports < writer.write_errors / 2, "one log line per failed write"
        episodes = writer.failure_reports

        _set_max_pages(d.journal, 1_000_000)  # space again
        await wait_until(lambda: not d.journal.writes_failing, 15, what="writes to succeed")
        await d.settled_in_bands(within=30)  # trades by itself, no restart
        await d.assert_matches_sim()
        status, body = await d.get("/readyz")
        assert status == 200, body
        # every episode's failure was followed by its recovery, and the last report is one
        assert writer.failure_reports >= episodes and writer.failure_reports % 2 == 0
        assert await d.stop() == 0


@contextlib.contextmanager
def _small_disk(path: Path, size: str = "8m") -> Iterator[Path]:
    """A real file system that fills up: a tmpfs of ``size`` (needs root and mount rights;
    the test is skipped without them)."""
    path.mkdir(parents=True)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()[:100]}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(path: Path) -> Path:
    """Write a filler file until the file system is full (ENOSPC)."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


async def test_a_real_full_disk_stops_decisions_until_space_returns(tmp_path: Path) -> None:
    with _small_disk(tmp_path / "disk") as disk:
        state = disk / "state"
        async with live_daemon(tmp_path, sim_config=sim_cfg(positions=BALANCED),
                               state_dir=state) as d:
            _fill(disk)

            async def not_ready() -> bool:
                status, body = await d.get("/readyz")
                return status == 503 and any("journal" in r for r in body["reasons"])

            await wait_until(not_ready, 30, what="/readyz to report the full disk")
            posts_before = sum((await d.posts()).values())
            await d.sim.control("POST", "/_sim/price", {"symbol": "VTI", "factor": 1.25})
            await asyncio.sleep(3)
            assert sum((await d.posts()).values()) == posts_before, "an order without its journal"
            (disk / "filler").unlink()
            await wait_until(lambda: not d.journal.writes_failing, 15, what="writes to succeed")
            await d.settled_in_bands(within=30)
            await d.assert_matches_sim()
            assert await d.stop() == 0
