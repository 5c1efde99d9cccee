"""OrderGateway: submit (once, never blindly retried), cancel and lookup → core events. The
shell submits each order as its own task with a rank (largest first: ``rank_by_size``), and
the shared limiter serves the ranks in order when the budget is short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from adapters.alpaca import parse
from adapters.alpaca.errors import (
    AlpacaHTTPError,
    Verdict,
    classify_exception,
    describe,
)
from adapters.alpaca.limits import PRIORITY_ORDER
from adapters.alpaca.rest import AlpacaRest, order_body
from daemon.core.commands import CancelOrder, PlaceOrder
from daemon.core.events import (
    Event,
    OrderAccepted,
    OrderCancelFailed,
    OrderNotFound,
    OrderRejected,
    OrderSubmitFailed,
    SubmitOutcome,
)


class AlpacaGateway:
    def __init__(
        self,
        rest: AlpacaRest,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self.rest = rest
        self._now = now
        # counters for metrics
        self.submitted = 0
        self.rejected = 0
        self.unknown = 0
        self.not_sent = 0
        self.cancel_refused = 0

    async def submit(self, order: PlaceOrder, *, rank: int = 0) -> Event:
        """POST once. ``rank`` orders waiters at the limiter (0 first)."""
        try:
            order_body(order)  # validate before spending a token
        except ValueError as exc:
            self.not_sent += 1
            return OrderSubmitFailed(
                self._now(), order.client_order_id, SubmitOutcome.NOT_SENT, str(exc)
            )
        try:
            placed = await self.rest.submit_order(order, priority=PRIORITY_ORDER + rank)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            verdict = classify_exception(exc)
            reason = describe(exc)
            if verdict is Verdict.REJECTED:
                self.rejected += 1
                return OrderRejected(self._now(), order.client_order_id, reason)
            if isinstance(exc, AlpacaHTTPError) and exc.is_duplicate_client_order_id:
                reason = f"already at the broker, resolve by lookup ({reason})"
            if verdict is Verdict.NOT_SENT:
                self.not_sent += 1
            else:
                self.unknown += 1
            return OrderSubmitFailed(self._now(), order.client_order_id, verdict.outcome, reason)
        self.submitted += 1
        if placed.status == "rejected":
            self.rejected += 1
            return OrderRejected(self._now(), order.client_order_id, "rejected by the broker")
        return OrderAccepted(self._now(), order.client_order_id, placed.id)

    async def cancel(self, cancel: CancelOrder) -> Event | None:
        """DELETE the order. 204 → None (the result arrives on the trade stream); 422 (not
        cancelable: already filled, canceled or expired) → ``OrderCancelFailed``, so the
        engine looks the order up (a fill the trade stream lost would otherwise leave it
        canceling forever); unknown at the broker → ``OrderNotFound``."""
        broker_id = cancel.broker_order_id
        if not broker_id:
            found = await self.rest.order_by_client_id(cancel.client_order_id)
            if found is None:
                return OrderNotFound(self._now(), cancel.client_order_id)
            broker_id = found.id
        status = await self.rest.cancel_order(broker_id)
        if status == 404:
            return OrderNotFound(self._now(), cancel.client_order_id)
        if status == 422:
            self.cancel_refused += 1
            return OrderCancelFailed(
                self._now(), cancel.client_order_id, "not cancelable (422): already final"
            )
        return None

    async def lookup(self, client_order_id: str) -> list[Event]:
        found = await self.rest.order_by_client_id(client_order_id)
        if found is None:
            return [OrderNotFound(self._now(), client_order_id)]
        return parse.order_state_events(found, self._now())
