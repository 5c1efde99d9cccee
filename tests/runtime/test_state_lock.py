"""One daemon per state directory: the second exits at once (73) with a clear message, while
``history`` keeps working; the lock dies with its process (kill -9 included)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.store.journal import SqliteJournal
from daemon.runtime.assemble import run_daemon
from daemon.runtime.state_lock import LOCK_FILENAME, StateDirLock, StateDirLocked
from tests.clocks import StepClock
from tests.runtime.e2e_support import live_daemon
from tests.runtime.test_cli_run_refusals import BIN, ROOT, _config

ENV = {k: v for k, v in os.environ.items() if not k.startswith("APCA_")}


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with StateDirLock(tmp_path / "state") as first:
        assert first.held
        with pytest.raises(StateDirLocked, match=rf"pid {os.getpid()}.*--state-dir"):
            StateDirLock(tmp_path / "state").acquire()
    with StateDirLock(tmp_path / "state"):  # released: free again
        pass
    mode = stat.S_IMODE((tmp_path / "state").stat().st_mode)
    assert mode == 0o700, oct(mode)
    assert stat.S_IMODE((tmp_path / "state" / LOCK_FILENAME).stat().st_mode) == 0o600


def test_the_lock_dies_with_a_killed_process(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code = (
        "import os,sys,time; from daemon.runtime.state_lock import StateDirLock;"
        f"StateDirLock({str(state)!r}).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(StateDirLocked):
            StateDirLock(state).acquire()
        child.kill()
        child.wait(10)
        with StateDirLock(state):
            pass
    finally:
        child.kill()


async def test_a_second_daemon_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    async with live_daemon(tmp_path) as d:
        with pytest.raises(StateDirLocked):
            await run_daemon(d.config, _creds(d), install_signals=False)
        assert d.service.status()["ready"], "the first daemon is untouched"


def _creds(d):  # type: ignore[no-untyped-def]
    from adapters.alpaca.credentials import Credentials, Secret

    return Credentials(Secret(d.sim.key_id), Secret(d.sim.secret))


def test_cli_run_exits_73_at_once_and_history_still_works(tmp_path: Path) -> None:
    import asyncio

    config = _config(tmp_path, 'kind = "sim"\nrest_url = "http://127.0.0.1:9"')

    async def make_journal() -> None:
        journal = await SqliteJournal.open(tmp_path / "state", clock=StepClock())
        await journal.close()

    asyncio.run(make_journal())
    with StateDirLock(tmp_path / "state"):
        out = subprocess.run([str(BIN), "run", "--config", str(config)], capture_output=True,
                             text=True, timeout=60, env=ENV, cwd=ROOT)
        assert out.returncode == 73, out.stderr[-2000:]
        assert "another rebalanced daemon" in out.stderr and "--state-dir" in out.stderr
        assert "Traceback" not in out.stderr
        hist = subprocess.run([str(BIN), "history", "--state-dir", str(tmp_path / "state")],
                              capture_output=True, text=True, timeout=60, env=ENV, cwd=ROOT)
        assert "Traceback" not in hist.stderr, hist.stderr
        assert hist.returncode == 0, hist.stderr  # read-only: never locked out
