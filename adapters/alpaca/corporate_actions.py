"""Recent splits from Alpaca's corporate-actions API (``GET /v1/corporate-actions``, the
successor of ``/v2/corporate_actions/announcements``) as plain records, for the split hold:
a suspected split is cleared by a broker record of it (issue 9, item 8).

A ``SplitRecord`` says: from ``ex_date`` on, every ``old_rate`` shares of ``symbol`` are
``new_rate`` shares (``ratio = new_rate / old_rate``: 2.0 for a 2-for-1, 0.1 for 1-for-10);
prices divide by ``ratio``. Alpaca gives no guarantee how soon a record appears, so an
absent record proves nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from adapters.alpaca import parse
from adapters.alpaca.rest import AlpacaRest
from daemon.core.events import SplitAnnounced

__all__ = ["SplitRecord", "SplitsSource", "recent_splits"]


@dataclass(frozen=True, slots=True)
class SplitRecord:
    id: str  # the broker's corporate-action id (stable: dedupe by it)
    symbol: str
    ex_date: date  # the first session in post-split shares and prices
    process_date: date
    old_rate: float
    new_rate: float

    @property
    def ratio(self) -> float:
        return self.new_rate / self.old_rate


async def recent_splits(
    rest: AlpacaRest, symbols: Sequence[str], *, today: date, days: int = 7
) -> list[SplitRecord]:
    """Splits of ``symbols`` processed in the ``days`` before ``today`` (the broker's date)
    and up to today, oldest first. Raises as any read does."""
    if not symbols:
        return []
    actions = await rest.split_actions(symbols, start=today - timedelta(days=days), end=today)
    return [
        SplitRecord(a.id, a.symbol, a.ex_date, a.process_date, a.old_rate, a.new_rate)
        for a in actions
        if a.old_rate > 0 and a.new_rate > 0
    ]


class SplitsSource:
    """The split hold's port: ``await splits(symbols)`` → one ``SplitAnnounced`` per split
    record of those symbols in the last ``days`` (the broker's date, from its ``/v2/clock``),
    stamped with ``now``."""

    def __init__(
        self,
        rest: AlpacaRest,
        broker_time: Callable[[], Awaitable[datetime]],
        now: Callable[[], datetime],
        days: int = 7,
    ) -> None:
        self._rest = rest
        self._broker_time = broker_time
        self._now = now
        self.days = days

    async def __call__(self, symbols: Sequence[str]) -> list[SplitAnnounced]:
        broker_now = await self._broker_time()
        today = broker_now.astimezone(parse.NEW_YORK).date()
        records = await recent_splits(self._rest, symbols, today=today, days=self.days)
        at = self._now()
        return [SplitAnnounced(at, r.symbol, r.ratio) for r in records]
