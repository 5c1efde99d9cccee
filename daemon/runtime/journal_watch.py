"""Disk full or a read-only state directory: no decision may be made without its journal.

While writes fail the engine sees the ``journal`` feed as lost (no orders, /readyz not
ready) and a probe record is tried every ``PROBE_SECONDS``; trading resumes by itself once a
write succeeds again. The shell calls ``check`` from its ticker.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from adapters.ports import Journal
from daemon.core import events as ev

log = structlog.get_logger("rebalanced")

JOURNAL_FEED = "journal"  # a lost "feed" while journal writes fail: the engine places nothing
PROBE_SECONDS = 5.0


class JournalWatch:
    def __init__(self) -> None:
        self.down = False
        self._probe_at = 0.0

    def check(self, journal: Journal, emit: Callable[[Any], None],
              now: Callable[[], datetime]) -> None:
        failing = journal.writes_failing
        t = time.monotonic()
        if failing and not self.down:
            self.down = True
            self._probe_at = t
            log.error("journal writes failing: no new decisions until they succeed",
                      write_errors=journal.write_errors)
            emit(ev.FeedLost(at=now(), feed=JOURNAL_FEED))
        elif failing and t - self._probe_at >= PROBE_SECONDS:
            self._probe_at = t
            with contextlib.suppress(Exception):
                journal.record("journal_probe", {"write_errors": journal.write_errors})
        elif not failing and self.down:
            self.down = False
            log.warning("journal writes succeed again: trading resumes",
                        write_errors=journal.write_errors)
            emit(ev.FeedRestored(at=now(), feed=JOURNAL_FEED))


__all__ = ["JOURNAL_FEED", "PROBE_SECONDS", "JournalWatch"]
