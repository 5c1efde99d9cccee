"""The paper exchange's clock: real time, accelerated, or stepped by tests.

``SimClock.now()`` is the exchange's only notion of time. The wall-clock reader is injected
(default ``time.time``) so accelerated mode is testable without sleeping.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class ClockMode(enum.StrEnum):
    REAL = "real"  # now() is the wall clock
    ACCELERATED = "accelerated"  # start + (wall elapsed) × speed
    STEPPED = "stepped"  # moves only on advance()/set()


class SimClock:
    """A clock that the exchange reads and the control plane (or a test) may move."""

    def __init__(
        self,
        mode: ClockMode | str = ClockMode.STEPPED,
        start: datetime | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.mode = ClockMode(mode)
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        if start is not None and start.tzinfo is None:
            raise ValueError(f"clock start {start!r} is naive: give a timezone (e.g. Z)")
        self._wall = wall
        self.speed = speed if self.mode is ClockMode.ACCELERATED else 1.0
        if start is None:
            if self.mode is ClockMode.STEPPED:
                raise ValueError("a stepped clock needs a start time")
            start = datetime.fromtimestamp(wall(), UTC)
        if self.mode is ClockMode.REAL:
            start = datetime.fromtimestamp(wall(), UTC)
        self._base = start.astimezone(UTC)
        self._wall0 = wall()

    def now(self) -> datetime:
        """The simulated time, aware UTC."""
        if self.mode is ClockMode.STEPPED:
            return self._base
        elapsed = (self._wall() - self._wall0) * self.speed
        return self._base + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` of simulated time (any mode but real)."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; got advance({seconds})")
        self._require_movable()
        self._base += timedelta(seconds=seconds)
        return self.now()

    def set(self, t: datetime) -> datetime:
        """Jump to ``t`` (aware; never backwards). Accelerated mode continues from there."""
        if t.tzinfo is None:
            raise ValueError(f"clock.set({t!r}): pass an aware datetime")
        self._require_movable()
        t = t.astimezone(UTC)
        if t < self.now():
            raise ValueError(
                f"the clock only moves forward: {t.isoformat()} < {self.now().isoformat()}"
            )
        self._base = t
        self._wall0 = self._wall()
        return self.now()

    def _require_movable(self) -> None:
        if self.mode is ClockMode.REAL:
            raise ValueError(
                "a real-time clock cannot be moved; use mode 'stepped' or 'accelerated'"
            )
