"""Wake-ups requested by the core (``ScheduleWakeup``) on the event loop's timers.
The same key replaces an earlier wake-up; firing puts ``TimerFired`` on the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from daemon.core.events import Event, TimerFired
from daemon.runtime.clock import ShellClock


class Timers:
    def __init__(self, clock: ShellClock, emit: Callable[[Event], None]) -> None:
        self._clock = clock
        self._emit = emit
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def schedule(self, at: datetime, key: str) -> None:
        loop = asyncio.get_running_loop()
        old = self._handles.pop(key, None)
        if old is not None:
            old.cancel()
        self._handles[key] = loop.call_later(self._clock.seconds_until(at), self._fire, key, at)

    def _fire(self, key: str, at: datetime) -> None:
        self._handles.pop(key, None)
        now = self._clock.now()
        self._emit(TimerFired(at=max(now, at), key=key))

    @property
    def pending(self) -> int:
        return len(self._handles)

    def cancel_all(self) -> None:
        for h in self._handles.values():
            h.cancel()
        self._handles.clear()
