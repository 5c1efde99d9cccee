"""Start-up says what it waits for: ``still waiting`` at least every few seconds."""

from __future__ import annotations

import asyncio
from typing import Any

from daemon.runtime.waiting import reporting


class Said:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


async def test_a_slow_step_is_reported_until_it_ends() -> None:
    said = Said()
    async with reporting("the broker: account snapshot", lambda: {"ratelimit_available": 0},
                         every=0.05, say=said):
        await asyncio.sleep(0.18)
    await asyncio.sleep(0.12)  # nothing more once the step is done
    lines = said.lines
    assert 2 <= len(lines) <= 4, lines
    assert all(x["event"] == "still waiting" for x in lines)
    assert all(x["step"] == "the broker: account snapshot" for x in lines)
    assert lines[0]["ratelimit_available"] == 0 and lines[-1]["waited_seconds"] >= 0.1


async def test_a_broken_detail_does_not_break_start_up() -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    said = Said()
    async with reporting("x", broken, every=0.02, say=said):
        await asyncio.sleep(0.05)
    assert said.lines and said.lines[0]["detail_error"] == "RuntimeError"


async def test_a_fast_step_logs_nothing() -> None:
    said = Said()
    async with reporting("x", every=0.5, say=said):
        await asyncio.sleep(0)
    assert said.lines == []


def test_a_slow_broker_at_start_up_is_logged_every_5_s(tmp_path: Any) -> None:
    """The real daemon process: the broker sits on account reads (each times out after 2 s
    and is retried), so the start-up snapshot takes well over 5 s; the log says so."""
    import json

    from tests.runtime.e2e_process import sim_and_daemon_processes

    hang = {"http": [{"action": "timeout", "path": "/v2/account", "method": "GET",
                      "count": 4, "hang_seconds": 3}]}
    with sim_and_daemon_processes(tmp_path, faults=hang) as (_sim, daemon):
        daemon.wait_ready(60)
        lines = [json.loads(x) for x in daemon.log().splitlines() if x.startswith("{")]
        waits = [x for x in lines if x.get("event") == "still waiting"]
        assert waits, daemon.log()[-2000:]
        assert waits[0]["step"] == "the broker: account snapshot"
        assert "ratelimit_wait_seconds" in waits[0]
        assert daemon.terminate() == 0
