"""The journal's quote conflation (``quotes="conflate"``): the newest quote per symbol,
held in memory until the next non-quote write journals it (see ``journal.py``).

Quotes from single ``QuoteUpdated`` events come out as they went in (each symbol's newest,
in the order of last update); quotes from ``QuoteBatch`` events come out as one
``QuoteBatch`` of each symbol's newest (in the order of first appearance) at the newest
batch's time, so a replay decides where the live engine did
(once, after the batch). The two are never mixed: adding one kind while the other is
pending hands back what is pending first.
"""

from __future__ import annotations

from datetime import datetime

from daemon.core.events import QuoteBatch, QuoteUpdated


class PendingQuotes:
    __slots__ = ("_batch_at", "_quotes", "conflated")

    def __init__(self) -> None:
        self._quotes: dict[str, QuoteUpdated] = {}
        self._batch_at: datetime | None = None  # pending quotes came in batches
        self.conflated = 0  # quotes superseded in memory

    def __bool__(self) -> bool:
        return bool(self._quotes)

    def add(self, event: QuoteUpdated | QuoteBatch) -> list[QuoteUpdated | QuoteBatch]:
        """Hold ``event``'s quotes; returns what must be journaled first (the other kind)."""
        first: list[QuoteUpdated | QuoteBatch] = []
        if type(event) is QuoteUpdated:
            if self._batch_at is not None:
                first = self.take()
            pending = self._quotes
            if pending.pop(event.symbol, None) is not None:
                self.conflated += 1
            pending[event.symbol] = event
            return first
        assert type(event) is QuoteBatch
        if self._quotes and self._batch_at is None:
            first = self.take()
        pending = self._quotes
        before = len(pending)
        # one dict of the batch, one update, both in C (a pop and a store per quote in
        # Python costs about three times as much); a symbol keeps its first place
        pending.update({q.symbol: q for q in event.quotes})
        self.conflated += before + len(event.quotes) - len(pending)
        self._batch_at = event.at
        return first

    def take(self) -> list[QuoteUpdated | QuoteBatch]:
        """What is pending, as events to journal (and empty the buffer)."""
        pending, self._quotes = self._quotes, {}
        batch_at, self._batch_at = self._batch_at, None
        if not pending:
            return []
        if batch_at is not None:
            return [QuoteBatch(batch_at, tuple(pending.values()))]
        return list(pending.values())


__all__ = ["PendingQuotes"]
