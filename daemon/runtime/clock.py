"""The shell's clock. The core never reads time; the shell stamps events with ``now()``.

``now()`` follows the broker's clock: at each reconciliation the offset between the
broker's ``/v2/clock`` timestamp and the local clock is measured, so a paper exchange
running at another date (the demo starts inside a trading session) and a VPS whose clock
drifts both give the engine the broker's time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class ShellClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = offset_seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, UTC)

    def sync_to(self, broker_now: datetime) -> None:
        """Adopt the broker's time (ignores sub-second differences to keep quotes honest)."""
        offset = broker_now.timestamp() - time.time()
        if abs(offset - self.offset) > 1.0:
            self.offset = offset

    def seconds_until(self, at: datetime) -> float:
        return max(0.0, (at - self.now()).total_seconds())

    def after(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)
