"""The shell's clock. The core never reads time; the shell stamps events with ``now()``.

``now()`` follows the broker's clock: at each reconciliation the offset between the
broker's ``/v2/clock`` timestamp and the local clock is measured, so a paper exchange
running at another date (the demo starts inside a trading session) and a VPS whose clock
drifts both give the engine the broker's time.

The skew bound: between reads (every 30 s) the shell's clock can be off the broker's by
the local clock's drift since the last read plus ``TOLERANCE`` (1 s, below which a new
offset is not adopted, so quote ages do not jitter). Everything the engine compares (quote
age, order timeouts, calendar rules) is in this one clock. The adapters' catch-up windows
never use it: they are in the broker's own time (``AlpacaAccount.broker_time``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

TOLERANCE = 1.0  # seconds: smaller changes of the broker offset are not adopted


class ShellClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = offset_seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, UTC)

    def sync_to(self, broker_now: datetime) -> float | None:
        """Adopt the broker's time (ignores differences under ``TOLERANCE`` to keep quote
        ages steady). Returns the new offset when it changed, else None."""
        offset = broker_now.timestamp() - time.time()
        if abs(offset - self.offset) > TOLERANCE:
            self.offset = offset
            return offset
        return None

    def seconds_until(self, at: datetime) -> float:
        return max(0.0, (at - self.now()).total_seconds())

    def after(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)
