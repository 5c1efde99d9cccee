"""AccountSource: account + positions + open orders as one snapshot, the market clock with
its sessions, orders changed since a time, and latest quotes over the data REST host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from adapters.alpaca import parse, wire
from adapters.alpaca.rest import AlpacaRest
from daemon.core.events import AccountSnapshot, BrokerOrder, MarketClock, QuoteUpdated

QUOTE_CHUNK = 200  # symbols per latest-quotes request


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlpacaAccount:
    """``feed`` is the data feed for latest quotes (``iex``/``sip``; ``test`` maps to
    ``iex``). ``calendar_days`` sets how far ahead ``clock()`` lists sessions.
    ``orders_lookback`` widens the REST query of ``orders_since`` (Alpaca filters ``after``
    by submission time; we filter by ``updated_at`` ourselves)."""

    def __init__(
        self,
        rest: AlpacaRest,
        *,
        feed: str = "iex",
        calendar_days: int = 14,
        orders_lookback: timedelta = timedelta(days=3),
        max_pages: int = 10,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.rest = rest
        self.feed = "iex" if feed == "test" else feed
        self.calendar_days = calendar_days
        self.orders_lookback = orders_lookback
        self.max_pages = max_pages
        self._now = now
        self.last_snapshot_at: datetime | None = None  # the trade stream resumes from here

    async def snapshot(self) -> AccountSnapshot:
        at = self._now()  # taken before the reads: anything later is caught up by the stream
        account, positions, orders = await asyncio.gather(
            self.rest.account(), self.rest.positions(), self.rest.orders(status="open")
        )
        self.last_snapshot_at = at
        return parse.account_snapshot(at, account, positions, orders)

    async def clock(self) -> MarketClock:
        clock = await self.rest.clock()
        today = clock.timestamp.astimezone(parse.NEW_YORK).date()
        days = await self.rest.calendar(today, today + timedelta(days=self.calendar_days))
        return parse.market_clock(clock, days)

    async def changed_orders(self, after: datetime) -> list[wire.Order]:
        """Every order updated at or after ``after`` (newest first), paging back by
        submission time over ``orders_lookback``."""
        found: dict[str, wire.Order] = {}
        until: datetime | None = None
        floor = after - self.orders_lookback
        for _ in range(self.max_pages):
            page = await self.rest.orders(status="all", after=floor, until=until)
            for o in page:
                t = parse.order_time(o)
                if t is None or t >= after:
                    found.setdefault(o.id, o)
            if len(page) < 500:
                break
            oldest = [o.submitted_at or o.created_at for o in page]
            stamps = [t for t in oldest if t is not None]
            if not stamps:
                break
            until = min(stamps)
        return list(found.values())

    async def orders_since(self, after: datetime) -> Sequence[BrokerOrder]:
        return [parse.broker_order(o) for o in await self.changed_orders(after)]

    async def latest_quotes(self, symbols: Iterable[str]) -> Sequence[QuoteUpdated]:
        wanted = list(dict.fromkeys(symbols))
        quotes: list[QuoteUpdated] = []
        for i in range(0, len(wanted), QUOTE_CHUNK):
            body = await self.rest.latest_quotes(wanted[i : i + QUOTE_CHUNK], self.feed)
            quotes.extend(parse.latest_quote_events(body))
        return quotes
