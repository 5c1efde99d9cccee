"""The order path's I/O with the venue: submit, cancel, lookup, reconcile, persist the
trading state. The shell runs each as a tracked task; every outcome comes back as an event
through ``emit`` — nothing here decides anything.

Reads may retry with backoff; an order POST never does (an unclear outcome is reported as
UNKNOWN and resolved by a lookup). A cancel is idempotent, so it is retried too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import structlog

from adapters.backoff import doubling, retry
from adapters.ports import Journal
from daemon.core import events as ev
from daemon.core.commands import CancelOrder, PlaceOrder, TradingStateChanged
from daemon.runtime.metrics import Metrics
from daemon.runtime.venue import Venue

log = structlog.get_logger("rebalanced")

CANCEL_ATTEMPTS = 6
# (first wait, longest wait) in seconds of the plain doubling backoffs (adapters.backoff)
CANCEL_BACKOFF = (0.5, 30.0)
RECONCILE_BACKOFF = (1.0, 30.0)  # for ever: the engine may wait for this snapshot
READ_BACKOFF = (0.5, 10.0)

T = TypeVar("T")


class VenueCalls:
    def __init__(self, venue: Venue, journal: Journal, metrics: Metrics,
                 emit: Callable[[Any], None], now: Callable[[], datetime], *,
                 dry_run: bool = False) -> None:
        self._venue = venue
        self._journal = journal
        self._metrics = metrics
        self._emit = emit
        self._now = now
        self._dry_run = dry_run

    def intents(self, orders: Sequence[PlaceOrder]) -> dict[str, Awaitable[None]]:
        """Group commit: the intents of orders dispatched together, made durable with one
        fsync; pass each order's awaitable to ``submit``. Empty when the journal takes no
        writes now (each ``submit`` then journals its own intent, and fails NOT_SENT)."""
        if not orders:
            return {}
        try:
            durable = self._journal.record_intents(orders)
        except Exception:
            return {}
        return {o.client_order_id: d for o, d in zip(orders, durable, strict=True)}

    async def submit(
        self, cmd: PlaceOrder, rank: int = 0, intent: Awaitable[None] | None = None
    ) -> None:
        """``intent``: this order's part of a group commit (``intents``); None: journal the
        intent alone. Either way no POST before the intent is durable."""
        now = self._now
        try:
            await (self._journal.record_intent(cmd) if intent is None else intent)
        except Exception as exc:  # not durable → not sent: safe to say NOT_SENT
            self._metrics.journal_errors.inc()
            self._emit(ev.OrderSubmitFailed(now(), cmd.client_order_id, ev.SubmitOutcome.NOT_SENT,
                                           f"journal write failed before sending: {exc!r}"))
            return
        if self._dry_run:
            self._emit(ev.OrderSubmitFailed(now(), cmd.client_order_id, ev.SubmitOutcome.NOT_SENT,
                                           "dry run: not sent"))
            return
        try:
            result = await self._venue.gateway.submit(cmd, rank=rank)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # anything unexpected after we may have sent: UNKNOWN
            result = ev.OrderSubmitFailed(now(), cmd.client_order_id, ev.SubmitOutcome.UNKNOWN,
                                          f"submit raised {type(exc).__name__}")
        self._emit(result)

    async def cancel(self, cmd: CancelOrder) -> None:
        """DELETE is idempotent: a failed cancel is tried again with backoff (the engine
        keeps the order CANCELING and waits), then reported as ``OrderCancelFailed``: the
        engine looks the order up."""
        def failed(exc: Exception, attempt: int, delay: float) -> None:
            log.warning("cancel failed; trying again", client_order_id=cmd.client_order_id,
                        error=type(exc).__name__, attempt=attempt)

        try:
            result = await retry(lambda: self._venue.gateway.cancel(cmd),
                                 doubling(*CANCEL_BACKOFF), attempts=CANCEL_ATTEMPTS,
                                 on_failure=failed)
        except Exception as exc:
            log.error("cancel kept failing; looking the order up",
                      client_order_id=cmd.client_order_id, error=type(exc).__name__)
            self._emit(ev.OrderCancelFailed(self._now(), cmd.client_order_id,
                                            f"cancel failed {CANCEL_ATTEMPTS} times"))
            return
        if result is not None:
            self._emit(result)

    async def lookup(self, client_order_id: str) -> None:
        events = await retry_read(lambda: self._venue.gateway.lookup(client_order_id),
                                   attempts=8)
        for e in events:
            self._emit(e)

    async def reconcile(self, reason: str, symbols: Sequence[str] = ()) -> None:
        """Until it succeeds: the engine may be waiting for this snapshot before it trades
        again (after a trade-stream gap), so giving up would pause trading for good. With
        ``symbols`` (a suspected split) the broker's split records of those come first."""
        if symbols:
            await self.splits(symbols)
        def failed(exc: Exception, attempt: int, delay: float) -> None:
            self._metrics.reconciliations.labels("failed").inc()
            log.warning("reconciliation failed; retrying", reason=reason,
                        error=type(exc).__name__, retry_in=delay)

        snapshot = await retry(lambda: retry_read(self._venue.account.snapshot, attempts=3),
                               doubling(*RECONCILE_BACKOFF), on_failure=failed)
        self._metrics.reconciliations.labels("ok").inc()
        self._emit(snapshot)

    async def splits(self, symbols: Sequence[str]) -> None:
        """The broker's split records, as ``SplitAnnounced`` events. Best effort: a record
        may not be published yet, and a failed read leaves the hold to the snapshot or the
        operator (logged, counted)."""
        source = self._venue.splits
        if source is None:
            return
        try:
            events = await retry_read(lambda: source(symbols), attempts=3)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._metrics.reconciliations.labels("splits_failed").inc()
            log.warning("split records could not be read", symbols=list(symbols),
                        error=type(exc).__name__)
            return
        log.info("split records", symbols=list(symbols), found=len(events))
        for e in events:
            self._emit(e)

    async def persist_state(self, cmd: TradingStateChanged) -> None:
        await self._journal.set_trading_state(cmd.state, cmd.reason)


def rank_by_size(orders: list[PlaceOrder]) -> dict[str, int]:
    """Rate-limiter rank per client order id: 0 for the largest dollar size (ties keep the
    engine's order), capped below the lookups' priority band."""
    ordered = sorted(orders, key=lambda c: -c.dollar_size)  # stable
    return {c.client_order_id: min(i, 999) for i, c in enumerate(ordered)}


async def retry_read(fn: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """Reads may retry with backoff (orders are never retried); the last error is raised."""
    return await retry(fn, doubling(*READ_BACKOFF), attempts=attempts)
