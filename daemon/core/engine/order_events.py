"""The order half of the Engine: what each order event does to the books and the run.

An accepted order may be canceled at once (a cancel was wanted first); a fill moves the
holdings, the drift tracker's V and the live lots (``follow_lots``), and a terminal order
pumps the queue and settles the run (``_after_terminal``); a rejection or a NOT_SENT submit
alerts and ends the order; an UNKNOWN submit outcome schedules a lookup (doubling its wait,
at most ×32), never a second send.

``OrderEvents`` is a base of ``Engine``; the attributes it reads are the engine's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from daemon.core import events as ev
from daemon.core.commands import Alert, Command, ScheduleWakeup
from daemon.core.engine.desk import CANCELABLE
from daemon.core.engine.quotes import Quoting
from daemon.core.model import Side
from daemon.core.orders.lifecycle import OrderEventKind, TrackedOrder
from daemon.core.tax.live_lots import lot_fill

LOOKUP = "lookup:"
_MAX_LOOKUP_BACKOFF = 32


class OrderEvents(Quoting):
    # the Engine's (set in Engine.__init__)
    _follow_lots: bool

    def _apply_to_holdings(self, order: TrackedOrder, qty: Decimal, price: Decimal) -> None:
        if self._cash is None:
            return
        signed = qty if order.side is Side.BUY else -qty
        cash_delta = -signed * price
        self._positions[order.symbol] = self._positions.get(order.symbol, Decimal(0)) + signed
        self._cash += cash_delta
        self._drift.apply_fill(order.symbol, signed, cash_delta)

    def _on_accepted(self, e: ev.OrderAccepted) -> list[Command]:
        order = self._book.transition(e.client_order_id, OrderEventKind.ACCEPTED)
        if order is None:
            return []
        if e.broker_order_id:
            order.broker_order_id = e.broker_order_id
        if order.cancel_wanted and order.state in CANCELABLE:
            return self._desk.cancel(order)
        return []

    def _on_filled(self, e: ev.OrderFilled) -> list[Command]:
        applied = self._book.apply_fill(e)
        lot_alert = (
            lot_fill(self._lots, self._book.get(e.client_order_id), e, self._config.tax)
            if self._follow_lots
            else []
        )
        if applied is None:
            return lot_alert
        if applied.to_holdings:
            self._apply_to_holdings(applied.order, applied.qty, applied.price)
        run = self._run
        if run is not None and e.client_order_id in run.members:
            run.had_fills = True
        cmds: list[Command] = lot_alert
        if applied.order.cancel_wanted and applied.order.state in CANCELABLE:
            cmds.extend(self._desk.cancel(applied.order))
        if applied.order.state.terminal:
            cmds.extend(self._after_terminal(e.at))
        return cmds

    def _on_canceled(self, e: ev.OrderCanceled) -> list[Command]:
        if self._book.transition(e.client_order_id, OrderEventKind.CANCELED) is None:
            return []
        return self._after_terminal(e.at)

    def _on_rejected(self, e: ev.OrderRejected) -> list[Command]:
        order = self._book.transition(e.client_order_id, OrderEventKind.REJECTED)
        if order is None:
            return []
        if self._run is not None and e.client_order_id in self._run.members:
            self._run.rejected.add(order.symbol)
        alert = Alert(
            "warning",
            f"order {order.client_order_id} ({order.side.value} "
            f"{order.symbol}) rejected: {e.reason}; not retried in this run",
        )
        return [alert, *self._after_terminal(e.at)]

    def _on_submit_failed(self, e: ev.OrderSubmitFailed) -> list[Command]:
        if e.outcome is ev.SubmitOutcome.NOT_SENT:
            order = self._book.transition(e.client_order_id, OrderEventKind.SUBMIT_NOT_SENT)
            if order is None:
                return []
            alert = Alert(
                "warning",
                f"order {order.client_order_id} ({order.side.value} "
                f"{order.symbol}) was not sent: {e.reason}",
            )
            return [alert, *self._after_terminal(e.at)]
        order = self._book.transition(e.client_order_id, OrderEventKind.SUBMIT_UNKNOWN)
        if order is None:
            return []
        return [self._lookup_wakeup(order, e.at)]

    def _lookup_wakeup(self, order: TrackedOrder, now: datetime) -> ScheduleWakeup:
        factor = min(2**order.lookups, _MAX_LOOKUP_BACKOFF)
        delay = timedelta(seconds=self._config.execution.lookup_delay_seconds * factor)
        return ScheduleWakeup(now + delay, LOOKUP + order.client_order_id)

    def _on_not_found(self, e: ev.OrderNotFound) -> list[Command]:
        order = self._book.transition(e.client_order_id, OrderEventKind.NOT_FOUND)
        if order is None:
            return []
        alert = Alert(
            "info",
            f"order {order.client_order_id} never reached the broker "
            "(lookup found nothing): marked failed",
        )
        return [alert, *self._after_terminal(e.at)]

    def _on_cancel_failed(self, e: ev.OrderCancelFailed) -> list[Command]:
        order = self._book.get(e.client_order_id)
        return [] if order is None else self._desk.cancel_failed(order)

    def _after_terminal(self, now: datetime) -> list[Command]:
        return [*self._pump(now), *self._settle_run(now)]

