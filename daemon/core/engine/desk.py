"""The Engine's order desk: the order book, the queue of planned orders and the pacer.

It turns planned orders into ``PlaceOrder`` commands as fast as the token bucket and the
in-flight cap allow (sells first: the queue keeps the plan's order), assigns client order ids
from ``(run_id, sequence)``, cancels, and sums what open orders still hold (reserved cash,
pending shares) for the planner. It decides nothing about *whether* to trade: the Engine
passes in the blockers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from daemon.core.commands import (
    Alert,
    CancelOrder,
    Command,
    LookupOrder,
    PlaceOrder,
    ScheduleWakeup,
)
from daemon.core.config.values import Config
from daemon.core.events import AccountSnapshot, BrokerOrder
from daemon.core.model import Side, order_terms
from daemon.core.orders.ids import client_order_id, is_ours, parse_client_order_id
from daemon.core.orders.lifecycle import OrderBook, OrderEventKind, OrderState, TrackedOrder
from daemon.core.orders.reconcile import Unsynced, reconcile_open_orders
from daemon.core.orders.throttle import Pacer
from daemon.core.planning.plan import PlannedOrder

THROTTLE = "throttle"
TIMEOUT = "order-timeout:"
RESOLVE = "order-resolve:"
_MAX_RESOLVE_BACKOFF = 32
CANCELABLE = frozenset({OrderState.OPEN, OrderState.PARTIAL})

PriceOf = Callable[[str], Decimal | None]


class OrderDesk:
    __slots__ = ("_throttle_at", "book", "dropped", "foreign", "pacer", "queue", "run_id", "seq")

    def __init__(self, config: Config, run_id: str) -> None:
        x = config.execution
        self.run_id = run_id
        self.seq = 0
        self.book = OrderBook()
        self.pacer = Pacer.per_minute(x.orders_per_minute, x.burst, x.max_in_flight)
        self.queue: deque[tuple[PlannedOrder, str]] = deque()
        self.foreign: tuple[BrokerOrder, ...] = ()
        self.dropped = 0
        self._throttle_at: datetime | None = None

    def retune(self, config: Config) -> None:
        x = config.execution
        self.pacer = self.pacer.retuned(x.orders_per_minute, x.burst, x.max_in_flight)

    def reserve_ids_of(self, coid: str) -> None:
        """Never reuse an id of ours that the broker already knows (same run id)."""
        parsed = parse_client_order_id(coid)
        if parsed is not None and parsed[0] == self.run_id:
            self.seq = max(self.seq, parsed[1] + 1)

    def reconcile(
        self, snap: AccountSnapshot, timeout: timedelta
    ) -> tuple[list[Command], tuple[Unsynced, ...]]:
        """Bring the book in line with a snapshot's open orders (see ``orders_reconcile``):
        look up our orders the broker no longer lists, adopt ours from earlier runs (with an
        order timeout), note foreign ones (an Alert when that set changes). Returns the
        commands and the fills the snapshot predates (to re-apply to its holdings)."""
        result = reconcile_open_orders(self.book, snap.open_orders, is_ours, snap.at)
        cmds: list[Command] = []
        old_foreign = {o.client_order_id for o in self.foreign}
        self.foreign = result.foreign
        new_foreign = sorted(o.client_order_id for o in result.foreign)
        if new_foreign and set(new_foreign) != old_foreign:
            listed = ", ".join(new_foreign[:5])
            cmds.append(
                Alert(
                    "info",
                    f"{len(new_foreign)} open order(s) not placed by "
                    f"rebalanced ({listed}): counted as pending, never canceled",
                )
            )
        for coid in result.adopted:
            self.reserve_ids_of(coid)
            cmds.append(ScheduleWakeup(snap.at + timeout, TIMEOUT + coid))
        cmds.extend(LookupOrder(coid, "snapshot") for coid in result.lookups)
        return cmds, result.unsynced

    def enqueue(self, orders: Sequence[PlannedOrder], decision_id: str) -> None:
        self.queue.extend((o, decision_id) for o in orders)

    def drop_queue(self, why: str) -> list[Command]:
        n = len(self.queue)
        if n == 0:
            return []
        self.queue.clear()
        self.dropped += n
        return [Alert("warning", f"dropped {n} queued order(s): {why}")]

    def throttle_fired(self) -> None:
        self._throttle_at = None

    def pump(
        self,
        now: datetime,
        *,
        halted: set[str],
        reducing: bool,
        timeout: timedelta,
        sent: list[str],
    ) -> list[Command]:
        """Send what the pacer allows now; ``sent`` receives the new client order ids."""
        queue = self.queue
        cmds: list[Command] = []
        while queue:
            po, did = queue[0]
            if po.symbol in halted or (reducing and po.side is Side.BUY):
                queue.popleft()
                self.dropped += 1
                why = "halted by the venue" if po.symbol in halted else "REDUCING: sells only"
                cmds.append(Alert("info", f"dropped queued {po.side.value} {po.symbol}: {why}"))
                continue
            if not self.pacer.try_send(now, self.book.in_flight):
                break
            queue.popleft()
            coid = self._send(po, did, now)
            sent.append(coid)
            cmds.append(_place(po, coid, did))
            cmds.append(ScheduleWakeup(now + timeout, TIMEOUT + coid))
        if queue:
            wake = self.pacer.wake_at(now, self.book.in_flight)
            if wake is not None and wake != self._throttle_at:
                self._throttle_at = wake
                cmds.append(ScheduleWakeup(wake, THROTTLE))
        return cmds

    def _send(self, po: PlannedOrder, did: str, now: datetime) -> str:
        coid = client_order_id(self.run_id, self.seq)
        self.seq += 1
        self.book.add(
            TrackedOrder(
                client_order_id=coid,
                **order_terms(po),
                placed_at=now,
                decision_id=did,
            )
        )
        return coid

    def cancel(self, order: TrackedOrder) -> list[Command]:
        order.cancel_wanted = False
        self.book.transition(order.client_order_id, OrderEventKind.CANCEL_SENT)
        return [CancelOrder(order.client_order_id, order.broker_order_id or None)]

    def cancel_all(self) -> list[Command]:
        """Cancel every order of ours that can be; the rest as soon as the broker acks it."""
        cmds: list[Command] = []
        for order in self.book.live():
            if order.state in CANCELABLE:
                cmds.extend(self.cancel(order))
            elif order.state in (OrderState.SUBMITTING, OrderState.UNKNOWN):
                order.cancel_wanted = True
        return cmds

    # -- self-healing: every order reaches a known state over REST, whatever the streams say

    def timed_out(self, order: TrackedOrder, now: datetime, grace: timedelta) -> list[Command]:
        """The order timeout fired: cancel it (or as soon as the broker acks it), and set its
        deadline: still not terminal ``grace`` later → looked up over REST."""
        if order.state.terminal:
            return []
        cmds: list[Command] = []
        if order.state in CANCELABLE:
            cmds.extend(self.cancel(order))
        elif order.state is not OrderState.CANCELING:
            order.cancel_wanted = True
        cmds.append(ScheduleWakeup(now + grace, RESOLVE + order.client_order_id))
        return cmds

    def deadline_passed(
        self, order: TrackedOrder, now: datetime, grace: timedelta
    ) -> list[Command]:
        """Timeout plus grace and still not terminal (a fill or cancel the trade stream never
        delivered, a cancel that was lost): overdue until resolved. Look it up, cancel again
        if it is still meant to be canceling (DELETE is idempotent), and ask again later."""
        if order.state.terminal:
            return []
        order.overdue = True
        order.resolves += 1
        cmds: list[Command] = [LookupOrder(order.client_order_id, "deadline")]
        if order.state is OrderState.CANCELING:
            cmds.append(CancelOrder(order.client_order_id, order.broker_order_id or None))
        factor = min(2**order.resolves, _MAX_RESOLVE_BACKOFF)
        cmds.append(ScheduleWakeup(now + grace * factor, RESOLVE + order.client_order_id))
        return cmds

    def cancel_failed(self, order: TrackedOrder) -> list[Command]:
        """A cancel the broker refused (422: usually already filled) or that kept failing:
        only a lookup can say what became of the order."""
        if order.state.terminal:
            return []
        return [LookupOrder(order.client_order_id, "cancel_failed")]

    @property
    def overdue(self) -> int:
        return sum(1 for o in self.book.live() if o.overdue)

    def pending(self, price_of: PriceOf) -> tuple[Decimal, dict[str, Decimal]]:
        """(cash reserved by open buys, signed shares still pending per symbol), ours and
        foreign alike."""
        reserved = Decimal(0)
        pending: dict[str, Decimal] = {}
        for o in self.book.live():
            px = price_of(o.symbol)
            reserved += o.reserved_cash(px)
            pending[o.symbol] = pending.get(o.symbol, Decimal(0)) + o.signed_remaining_qty(px)
        for b in self.foreign:
            px = b.limit_price if b.limit_price is not None else price_of(b.symbol)
            if b.qty is not None:
                rem = max(Decimal(0), b.qty - b.filled_qty)
            elif b.notional is not None and px:
                rem = max(Decimal(0), b.notional / px - b.filled_qty)
            else:
                continue
            pending[b.symbol] = pending.get(b.symbol, Decimal(0)) + (
                rem if b.side is Side.BUY else -rem
            )
            if b.side is Side.BUY and px is not None:
                reserved += rem * px
        return reserved, pending


def _place(po: PlannedOrder, coid: str, did: str) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=coid,
        **order_terms(po),
        est_cost=po.est_cost,
        reason=po.reason,
        decision_id=did,
    )


__all__ = ["CANCELABLE", "RESOLVE", "THROTTLE", "TIMEOUT", "OrderDesk"]
