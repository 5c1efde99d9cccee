"""AccountSource: account + positions + open orders as one snapshot, the market clock with
its sessions, orders changed since a time, and latest quotes over the data REST host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from adapters.alpaca import parse, wire
from adapters.alpaca.rest import AlpacaRest
from daemon.core.events import AccountSnapshot, BrokerOrder, MarketClock, QuoteUpdated

QUOTE_CHUNK = 200  # symbols per latest-quotes request


class AlpacaAccount:
    """``feed`` is the data feed for latest quotes (``iex``/``sip``; ``test`` maps to
    ``iex``). ``calendar_days`` sets how far ahead ``clock()`` lists sessions.
    ``orders_lookback`` widens the REST query of ``orders_since`` (Alpaca filters ``after``
    by submission time; we filter by ``updated_at`` ourselves).

    Two clocks, never mixed: ``now`` (required: the shell passes its clock) stamps the
    events this adapter makes; every window compared with the broker's order timestamps is
    in the broker's own time, read from ``/v2/clock`` (``broker_time``). So a broker clock
    days away from ours neither hides a fill from catch-up nor widens it without bound;
    ``clock_offset`` (broker − ours, seconds, at the last read) says how far apart they are."""

    def __init__(
        self,
        rest: AlpacaRest,
        *,
        feed: str = "iex",
        calendar_days: int = 14,
        orders_lookback: timedelta = timedelta(days=3),
        max_pages: int = 10,
        now: Callable[[], datetime],
    ) -> None:
        self.rest = rest
        self.feed = "iex" if feed == "test" else feed
        self.calendar_days = calendar_days
        self.orders_lookback = orders_lookback
        self.max_pages = max_pages
        self._now = now
        # broker time of the last snapshot: the trade stream's first catch-up starts here
        self.last_snapshot_at: datetime | None = None
        self.clock_offset: float | None = None  # broker − ours (s) at the last /v2/clock

    async def broker_time(self) -> datetime:
        """The broker's current time (``/v2/clock``), noting its offset from ours."""
        return self._observe(await self.rest.clock())

    def _observe(self, clock: wire.Clock) -> datetime:
        self.clock_offset = (clock.timestamp - self._now()).total_seconds()
        return clock.timestamp

    async def snapshot(self) -> AccountSnapshot:
        at = self._now()
        # the broker's time read alongside: fills stamped after it (by the broker) are the
        # trade stream's to catch up, whatever our own clock says
        clock, account, positions, orders = await asyncio.gather(
            self.rest.clock(),
            self.rest.account(),
            self.rest.positions(),
            self.rest.orders(status="open"),
        )
        self.last_snapshot_at = self._observe(clock)
        return parse.account_snapshot(at, account, positions, orders)

    async def clock(self) -> MarketClock:
        clock = await self.rest.clock()
        self._observe(clock)
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
