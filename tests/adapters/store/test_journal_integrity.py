"""A damaged, missing or emptied journal is refused with a message naming the recovery
commands (never a traceback); ``rebalanced journal check|recover|new`` repair it; the
kill-switch state survives all of it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.store.integrity import JournalDamaged, JournalMissing
from adapters.store.journal import SqliteJournal
from daemon.core.model import TradingState
from tests.clocks import StepClock

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent / "rebalanced"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("APCA_")}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60,
                          env=ENV, cwd=ROOT)


async def _journal_with_rows(state: Path, rows: int = 3000, halted: bool = True) -> Path:
    j = await SqliteJournal.open(state, clock=StepClock())
    for i in range(rows):
        j.record("note", {"i": i, "pad": "x" * 200})
    if halted:
        await j.set_trading_state(TradingState.HALTED, "operator: kill switch")
    await j.flush()
    await j.close()
    return state / "journal.sqlite3"


def _scribble(path: Path, at: int, n: int = 8000) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        f.write(os.urandom(n))


def _run_config(tmp_path: Path, state: Path) -> Path:
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"""
[portfolio]
cash_target = 2
[portfolio.targets]
VTI = 60
BND = 38
[broker]
kind = "sim"
rest_url = "http://127.0.0.1:9"
data_url = "http://127.0.0.1:9"
[daemon]
state_dir = "{state}"
http_port = 19557
log_format = "json"
""")
    return cfg


async def test_garbage_journal_is_refused_at_open_naming_the_recovery(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "journal.sqlite3").write_bytes(os.urandom(4096))
    with pytest.raises(JournalDamaged, match="rebalanced journal recover --state-dir"):
        await SqliteJournal.open(state, clock=StepClock())


async def test_quick_check_finds_damage_inside_the_file(tmp_path: Path) -> None:
    path = await _journal_with_rows(tmp_path / "state")
    _scribble(path, path.stat().st_size // 2)
    with pytest.raises(JournalDamaged, match="damaged"):
        await SqliteJournal.open(tmp_path / "state", clock=StepClock())


async def test_an_emptied_or_missing_journal_is_refused_unless_a_new_one_is_asked_for(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    path = await _journal_with_rows(state, rows=1)
    path.write_bytes(b"")  # zero bytes: SQLite would silently make a fresh journal
    with pytest.raises(JournalMissing, match="is empty"):
        await SqliteJournal.open(state, clock=StepClock())
    path.unlink()
    with pytest.raises(JournalMissing, match=r"is missing.*--new-journal"):
        await SqliteJournal.open(state, clock=StepClock())
    j = await SqliteJournal.open(state, new_journal=True, clock=StepClock())
    # the kill switch survives: the new journal has no state of its own, the copy has it
    assert j.trading_state() == (TradingState.HALTED, "operator: kill switch")
    await j.close()


async def test_a_fresh_state_dir_needs_no_flag(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "fresh", clock=StepClock())
    assert j.trading_state() is None
    await j.close()
    assert (tmp_path / "fresh" / "journal.sqlite3.marker").exists()


def test_cli_run_and_history_on_a_damaged_journal_exit_74_without_a_traceback(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    path = asyncio.run(_journal_with_rows(state))
    shutil.copy(path, tmp_path / "good.sqlite3")
    path.write_bytes(os.urandom(8192))
    run = cli("run", "--config", str(_run_config(tmp_path, state)))
    assert run.returncode == 74, run.stderr[-2000:]
    assert "Traceback" not in run.stderr + run.stdout
    assert "rebalanced journal recover" in run.stderr
    hist = cli("history", "--state-dir", str(state))
    assert hist.returncode == 74 and "Traceback" not in hist.stderr, hist.stderr
    assert "is damaged" in hist.stderr
    check = cli("journal", "check", "--state-dir", str(state))
    assert check.returncode == 74, check.stderr


def test_cli_run_on_an_emptied_journal_exits_74_and_new_journal_gets_past_it(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    path = asyncio.run(_journal_with_rows(state, rows=1))
    path.write_bytes(b"")
    cfg = _run_config(tmp_path, state)
    run = cli("run", "--config", str(cfg))
    assert run.returncode == 74 and "is empty" in run.stderr, run.stderr[-2000:]
    run = cli("run", "--config", str(cfg), "--new-journal")
    # past the journal; the broker at port 9 is unreachable: 69, one line
    assert run.returncode == 69, run.stderr[-2000:]


def test_journal_recover_salvages_rows_and_keeps_the_kill_switch(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = asyncio.run(_journal_with_rows(state))
    _scribble(path, path.stat().st_size // 2)
    out = cli("journal", "recover", "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    assert "moved the old journal to" in out.stdout and "trading state kept: halted" in out.stdout
    assert list(state.glob("journal.damaged-*.sqlite3")), "the damaged file is kept"
    assert cli("journal", "check", "--state-dir", str(state)).returncode == 0

    async def reopen() -> tuple[object, int]:
        j = await SqliteJournal.open(state, clock=StepClock())
        try:
            return j.trading_state(), len(j.recent("records", 5000))
        finally:
            await j.close()

    ts, notes = asyncio.run(reopen())
    assert ts == (TradingState.HALTED, "operator: kill switch")
    assert 0 < notes < 3000, notes  # what was readable before the damage


def test_journal_new_starts_empty_and_keeps_the_kill_switch(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = asyncio.run(_journal_with_rows(state, rows=10))
    path.write_bytes(os.urandom(4096))
    out = cli("journal", "new", "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    assert "started a new journal" in out.stdout

    async def reopen() -> tuple[object, int]:
        j = await SqliteJournal.open(state, clock=StepClock())
        try:
            return j.trading_state(), len(j.recent("records", 100))
        finally:
            await j.close()

    assert asyncio.run(reopen()) == ((TradingState.HALTED, "operator: kill switch"), 0)


async def test_two_journals_in_one_directory_keep_their_own_kill_switch(tmp_path: Path) -> None:
    a = await SqliteJournal.open(tmp_path / "a.sqlite3", clock=StepClock())
    await a.set_trading_state(TradingState.HALTED, "a halted")
    await a.close()
    b = await SqliteJournal.open(tmp_path / "b.sqlite3", clock=StepClock())
    assert b.trading_state() is None
    await b.close()
