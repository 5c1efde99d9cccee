"""The consumer's side of the batch path: conflation under backlog.

Each websocket frame is one ``QuoteBatch`` on the queue. When the consumer takes a batch
while more items wait behind it (it is behind the feed), it merges the batches queued right
behind into one, keeping each symbol's newest quote: only the newest matters for drift, and
the engine then updates and decides once for all of them. The first item that is not a
batch (a trade update, a trading status, a timer, a snapshot …) ends the merge and is handed
back to be consumed right after, in its place: those are never conflated or reordered.
The quotes left out are counted (``rebalanced_quotes_conflated_total``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from daemon.core.events import QuoteBatch, QuoteUpdated

MAX_FRAMES = 64
"""Most frames merged into one batch: bounds the merge when the queue holds a long run."""
MAX_QUOTES = 2000
"""A merge stops once it holds this many symbols: bounds one engine call (and so the loop
lag) when many symbols are quoted (SIP: thousands)."""


def merge_backlog(
    first: QuoteBatch, queue: asyncio.Queue[Any]
) -> tuple[QuoteBatch, int, Any | None]:
    """``first`` and the batches queued right behind it (at most ``MAX_FRAMES`` in all,
    stopping once ``MAX_QUOTES`` symbols are held) as
    one batch of each symbol's newest quote, at the newest batch's time. Returns the batch,
    how many quotes the merge left out (the batch's ``conflated`` adds those the adapter
    left out before), and the non-batch item taken off the queue (None: none)."""
    latest: dict[str, QuoteUpdated] | None = None
    total = len(first.quotes)
    before = first.conflated
    at = first.at
    after: Any | None = None
    frames = 1
    get = queue.get_nowait
    while frames < MAX_FRAMES and (latest is None or len(latest) < MAX_QUOTES):
        try:
            item = get()
        except asyncio.QueueEmpty:
            break
        if type(item) is not QuoteBatch:
            after = item
            break
        if latest is None:
            latest = {q.symbol: q for q in first.quotes}
        # a dict of the frame, then one update: both run in C (a Python loop of stores
        # per quote costs about twice as much); the last quote of a symbol wins
        latest.update({q.symbol: q for q in item.quotes})
        total += len(item.quotes)
        before += item.conflated
        if item.at > at:
            at = item.at
        frames += 1
    if latest is None:  # nothing behind it to merge: the frame as it came
        return first, 0, after
    conflated = total - len(latest)
    return QuoteBatch(at, tuple(latest.values()), before + conflated), conflated, after


__all__ = ["MAX_FRAMES", "MAX_QUOTES", "merge_backlog"]
