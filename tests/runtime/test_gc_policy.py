"""Once started the daemon freezes its start-up heap and runs the collector less often
(``service.GC_THRESHOLDS``); when it stops, the process's own thresholds come back."""

from __future__ import annotations

import gc
from pathlib import Path

from daemon.runtime.service import GC_THRESHOLDS
from tests.runtime.e2e_support import live_daemon, wait_until


async def test_the_collector_runs_less_often_while_the_daemon_runs(tmp_path: Path) -> None:
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS  # (else this test could not tell)
    async with live_daemon(tmp_path) as d:
        await wait_until(lambda: d.service._gc_frozen >= 1, what="the heap frozen")
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
