"""Clocks for what tests record (the journal's ``recorded_at``): explicit, never today's date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

RECORDED_FROM = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # an anchor, a Monday


class StepClock:
    """``start``, then one ``step`` later at every call: deterministic, and strictly
    increasing, so rows recorded one after another keep their order by time too."""

    def __init__(self, start: datetime = RECORDED_FROM,
                 step: timedelta = timedelta(milliseconds=1)) -> None:
        if start.tzinfo is None:
            raise ValueError(f"StepClock needs an aware start time, got {start!r}")
        self._next = start
        self._step = step

    def __call__(self) -> datetime:
        now = self._next
        self._next = now + self._step
        return now
