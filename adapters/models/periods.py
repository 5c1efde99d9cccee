"""Schedule periods and the no-look-ahead cutoff (pure dates; no numpy, so the daemon can ask
on its event loop). See ``adapters.models.schedule`` for what they mean."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, timedelta

from daemon.core.config.model_targets import Schedule

__all__ = ["cutoff", "period_start", "schedule_rows"]


def period_start(d: date, schedule: Schedule) -> date:
    if schedule is Schedule.WEEKLY:
        return d - timedelta(days=d.weekday())
    if schedule is Schedule.QUARTERLY:
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return d.replace(day=1)


def cutoff(dates: Sequence[date], today: date, schedule: Schedule) -> date:
    """The first day whose rows the estimate for ``today`` must not see: the first row of
    ``today``'s period among ``dates`` (ascending), else ``today`` itself."""
    start = period_start(today, schedule)
    k = bisect.bisect_left(list(dates), start)
    if k < len(dates) and dates[k] < today:
        return dates[k]
    return today


def schedule_rows(dates: Sequence[date], schedule: Schedule) -> list[int]:
    """Row 0 and the first row of every later period."""
    out: list[int] = []
    prev: date | None = None
    for i, d in enumerate(dates):
        p = period_start(d, schedule)
        if p != prev:
            out.append(i)
        prev = p
    return out
