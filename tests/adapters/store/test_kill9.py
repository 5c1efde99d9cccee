"""``kill -9`` at random moments: the journal stays intact and keeps every acknowledged intent.

A child process journals a steady stream (``kill9_child.py``); we SIGKILL it several times
at random moments (once even before it finished opening), reopen, and check: SQLite's
integrity check passes; every intent the child acknowledged is there; the writes that
preceded an acknowledged intent are there too (order); every row decodes (no partial
rows); sequence numbers have no holes; recovery sees the right unresolved intents.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from adapters.store import codec
from adapters.store.journal import SqliteJournal
from daemon.core.events import TimerFired
from tests.clocks import StepClock

ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 5
STEP = 1_000_000  # each round's k range starts at round * STEP


def _run_and_kill(db: Path, first: int, rng: random.Random, before_ready: bool,
                  mode: tuple[str, ...] = ()) -> list[int]:
    """Start the child, SIGKILL it at a random moment, return the k it acknowledged."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.store.kill9_child", str(db), str(first), *mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("ready"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if before_ready:
        time.sleep(rng.uniform(0.25, 0.6))  # around the open and schema migration
    else:
        assert ready.wait(20), f"child never got ready: {child.stderr and child.stderr.read()}"
        time.sleep(rng.uniform(0.02, 0.3))
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    reader.join(10)
    assert child.returncode == -signal.SIGKILL
    return [int(m.group(1)) for m in map(re.compile(r"acked o(\d+)$").match, lines) if m]


async def test_kill_9_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = tmp_path / "journal.sqlite3"
    acked: list[int] = []
    for r in range(ROUNDS):
        acked += _run_and_kill(db, r * STEP, rng, before_ready=(r == 0))
    assert len(acked) > 0, f"seed {seed}: the child never acknowledged an intent"

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"seed {seed}"
    present = {cid for (cid,) in conn.execute("SELECT client_order_id FROM intents")}
    missing = [k for k in acked if f"o{k}" not in present]
    assert missing == [], f"seed {seed}: acknowledged intents lost: {missing[:5]}"

    # no partial rows: every body decodes to what its columns say
    for cid, body in conn.execute("SELECT client_order_id, body FROM intents"):
        assert codec.loads("PlaceOrder", body).client_order_id == cid
    for table in ("events", "commands"):
        seqs = []
        for seq, kind, body in conn.execute(f"SELECT seq, kind, body FROM {table} ORDER BY seq"):
            codec.loads(kind, body)
            seqs.append(seq)
        assert seqs == list(range(1, len(seqs) + 1)), f"seed {seed}: holes in {table}.seq"

    # order: the event and command written before an acknowledged intent are durable too
    keys = {
        body
        for (body,) in conn.execute(
            "SELECT json_extract(body, '$.key') FROM events WHERE kind = 'TimerFired'"
        )
    }
    wakeups = {body for (body,) in conn.execute("SELECT json_extract(body, '$.key') FROM commands")}
    for k in acked:
        assert f"k{k}" in keys and f"w{k}" in wakeups, f"seed {seed}: writes before o{k} lost"
    # …and so is the FILLED state + fill journaled after intent k when intent k+1 was acked
    filled = {
        cid
        for (cid,) in conn.execute("SELECT client_order_id FROM order_states WHERE terminal = 1")
    }
    fills = {cid for (cid,) in conn.execute("SELECT client_order_id FROM fills")}
    acked_set = set(acked)
    for k in acked:
        if k % 3 == 0 and k + 1 in acked_set:
            assert f"o{k}" in filled and f"o{k}" in fills, f"seed {seed}: state of o{k} lost"
    dup = conn.execute("SELECT count(*) - count(DISTINCT execution_id) FROM fills").fetchone()[0]
    assert dup == 0
    conn.close()

    # recovery: unresolved = intents without a terminal state; the journal still appends
    journal = await SqliteJournal.open(db, clock=StepClock())
    unresolved = {p.client_order_id for p in journal.unresolved_intents()}
    assert unresolved == present - filled, f"seed {seed}"
    after = TimerFired(datetime(2026, 3, 2, 15, tzinfo=UTC), "after")
    journal.record_event(after)
    await journal.flush()
    last_seq, last = list(journal.events())[-1]
    assert last == after
    assert last_seq == len(list(journal.events()))
    await journal.close()


async def test_kill_9_keeps_every_intent_the_group_commit_acknowledged(tmp_path: Path) -> None:
    """``record_intents`` acknowledges once the intent log is synced, before SQLite has the
    intent: killed at random moments, every acknowledged intent is journaled after the
    next open (which replays the log), and the journal is intact."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = tmp_path / "journal.sqlite3"
    acked: list[int] = []
    for r in range(3):
        acked += _run_and_kill(db, r * STEP, rng, before_ready=False, mode=("group",))
        journal = await SqliteJournal.open(db, clock=StepClock())  # replays the log
        await journal.close()
    assert len(acked) > 0, f"seed {seed}: the child never acknowledged an intent"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"seed {seed}"
    present = {cid for (cid,) in conn.execute("SELECT client_order_id FROM intents")}
    conn.close()
    missing = [k for k in acked if f"o{k}" not in present]
    assert missing == [], f"seed {seed}: acknowledged intents lost: {missing[:5]}"
