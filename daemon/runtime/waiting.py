"""Say what start-up is waiting for: a line at least every few seconds while a step is slow.

A restart that takes a minute with nothing logged looks hung. ``reporting(what, detail)``
wraps one awaited step (the broker's clock, the account snapshot, a journaled intent's
lookup, the first quotes) and logs ``still waiting`` every ``every`` seconds until it ends
(every 30 s once it has waited two minutes: a weekend without quotes must not flood the log),
with ``detail()``: the client rate limiter's tokens and waits, which streams are down, which
prices are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

log = structlog.get_logger("rebalanced")

EVERY_SECONDS = 5.0
SLOWER_AFTER_SECONDS = 120.0  # a step still waiting after this is reported every 30 s
SLOWER_EVERY_SECONDS = 30.0


@contextlib.asynccontextmanager
async def reporting(
    what: str,
    detail: Callable[[], dict[str, Any]] | None = None,
    every: float = EVERY_SECONDS,
    say: Callable[..., Any] | None = None,
) -> AsyncIterator[None]:
    """``say`` (default: the daemon's logger at info) gets ``("still waiting", **fields)``."""
    started = time.monotonic()
    emit = say or log.info

    async def report() -> None:
        while True:
            waited = time.monotonic() - started
            await asyncio.sleep(every if waited < SLOWER_AFTER_SECONDS
                                else max(every, SLOWER_EVERY_SECONDS))
            extra: dict[str, Any] = {}
            if detail is not None:
                try:
                    extra = detail()
                except Exception as exc:  # a report must never break start-up
                    extra = {"detail_error": type(exc).__name__}
            emit("still waiting", step=what,
                 waited_seconds=round(time.monotonic() - started, 1), **extra)

    task = asyncio.get_running_loop().create_task(report(), name=f"waiting: {what}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["EVERY_SECONDS", "reporting"]
