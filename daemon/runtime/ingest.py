"""The batch path's conflation under backlog: the queue's open tail.

Each websocket frame is one ``QuoteBatch``. ``EventQueue.emit`` puts the first one on the
queue as a ``QuoteBacklog`` and, while that item is still the last one queued (nothing
else emitted behind it, the consumer has not taken it), merges every later batch into it:
each symbol's newest quote wins, the rest is counted. So a consumer behind the feed never
lets the queue (or memory) grow with quotes: what waits is at most one quote per symbol,
and the engine updates drift once per symbol, however many quotes came. Anything else
emitted (a trade update, a trading status, a timer, a snapshot, a lone ``QuoteUpdated``)
closes the tail: the quotes after it go into a new backlog behind it, so those events are
never conflated or reordered against the quotes around them.

When the consumer takes a backlog it hands the engine at most ``MAX_QUOTES`` quotes per
call (``batches``): one engine call, and so the loop's lag, stays bounded with thousands
of symbols (SIP). The quotes left out are counted (``rebalanced_quotes_conflated_total``).
"""

from __future__ import annotations

from datetime import datetime

from daemon.core.events import QuoteBatch, QuoteUpdated

MAX_QUOTES = 1000
"""Most quotes per engine call when a backlog is consumed (the loop's lag stays low)."""


class QuoteBacklog:
    """The quotes emitted since the tail opened; see the module docstring."""

    __slots__ = ("_first", "_quotes", "at", "conflated", "received")

    def __init__(self, first: QuoteBatch) -> None:
        self._first: QuoteBatch | None = first  # alone so far: handed on as it came
        self._quotes: dict[str, QuoteUpdated] = {}
        self.at: datetime = first.at
        self.received = len(first.quotes)  # quotes merged in (not those the adapter left out)
        self.conflated = first.conflated  # left out before (the adapter, under backlog)

    def add(self, batch: QuoteBatch) -> None:
        first = self._first
        if first is not None:
            self._first = None
            self._quotes = {q.symbol: q for q in first.quotes}
        # a dict of the frame, then one update: both in C (a Python loop of stores per
        # quote costs about twice as much); a symbol keeps its first place
        self._quotes.update({q.symbol: q for q in batch.quotes})
        self.received += len(batch.quotes)
        self.conflated += batch.conflated
        if batch.at > self.at:
            self.at = batch.at

    def batches(self, most: int = MAX_QUOTES) -> list[QuoteBatch]:
        """The backlog as engine calls: each symbol's newest quote, at most ``most`` a
        batch, all at the newest quote's time; the first carries the conflated count."""
        if self._first is not None:
            first = self._first
            if len(first.quotes) <= most:
                return [first]
            quotes = first.quotes
        else:
            quotes = tuple(self._quotes.values())
        left_out = self.conflated + self.received - len(quotes)
        return [QuoteBatch(self.at, quotes[k:k + most], left_out if k == 0 else 0)
                for k in range(0, len(quotes), most)]

    def __len__(self) -> int:
        return len(self._first.quotes) if self._first is not None else len(self._quotes)


__all__ = ["MAX_QUOTES", "QuoteBacklog"]
