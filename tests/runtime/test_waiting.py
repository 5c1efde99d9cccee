"""Start-up says what it waits for: ``still waiting`` at least every few seconds."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from daemon.runtime.waiting import reporting


@pytest.fixture(autouse=True)
def default_structlog() -> object:
    """capture_logs keeps the configured wrapper class: an earlier test's logging set up at
    'warning' would filter these info lines out. Start from structlog's defaults."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


async def test_a_slow_step_is_reported_until_it_ends() -> None:
    with structlog.testing.capture_logs() as logs:
        async with reporting("the broker: account snapshot", lambda: {"ratelimit_available": 0},
                             every=0.05):
            await asyncio.sleep(0.18)
        await asyncio.sleep(0.12)  # nothing more once the step is done
    lines = [x for x in logs if x["event"] == "still waiting"]
    assert 2 <= len(lines) <= 4, lines
    assert all(x["step"] == "the broker: account snapshot" for x in lines)
    assert lines[0]["ratelimit_available"] == 0 and lines[-1]["waited_seconds"] >= 0.1


async def test_a_broken_detail_does_not_break_start_up() -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    with structlog.testing.capture_logs() as logs:
        async with reporting("x", broken, every=0.02):
            await asyncio.sleep(0.05)
    assert logs and logs[0]["detail_error"] == "RuntimeError"


async def test_a_fast_step_logs_nothing() -> None:
    with structlog.testing.capture_logs() as logs:
        async with reporting("x", every=0.5):
            await asyncio.sleep(0)
    assert logs == []
