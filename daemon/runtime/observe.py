"""Turns consumed events and dispatched commands into metrics and log lines.

It remembers, per client order id, the side, the submit time and the mid at decision, so
acknowledgement/fill latencies and realised cost (slippage against that mid) can be
measured. Bounded: entries are dropped when their order is final.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from daemon.core import events as ev
from daemon.core.commands import Alert, PlaceOrder, RecordDecision
from daemon.runtime.metrics import Metrics

log = structlog.get_logger("rebalanced")


@dataclass(slots=True)
class _Sent:
    side: str
    submitted: float  # time.monotonic()
    mid: float | None
    qty: Decimal | None
    acked: bool = False


def trigger_of(reasons: tuple[str, ...], triggered: bool) -> str:
    """The trigger label of a decision: calendar | threshold | look_interval | follow_up |
    manual | none."""
    for r in reasons:
        if r.startswith("follow-up"):
            return "follow_up"
        head = r.split(":", 1)[0].strip().lower()
        if head in ("calendar", "threshold", "manual", "look_interval"):
            return head
    return "manual" if triggered else "none"


class Observer:
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics
        self._sent: dict[str, _Sent] = {}
        self.last_mid: dict[str, float] = {}
        self.recent: deque[str] = deque(maxlen=12)  # human-readable activity, newest last
        self._cum: dict[str, Decimal] = {}  # filled qty counted so far, per order
        self._finished: deque[str] = deque(maxlen=4096)  # final already counted (bounded)
        self._finished_set: set[str] = set()

    # -- commands ---------------------------------------------------------------------------
    def placed(self, cmd: PlaceOrder, dry_run: bool) -> None:
        self._sent[cmd.client_order_id] = _Sent(cmd.side.value, time.monotonic(),
                                                self.last_mid.get(cmd.symbol), cmd.qty)
        self.m.orders.labels(cmd.side.value, "dry_run" if dry_run else "submitted").inc()
        self.m.est_cost.inc(float(cmd.est_cost))

    def decision(self, cmd: RecordDecision, latency: float | None) -> None:
        plan = cmd.plan
        outcome = "orders" if plan.orders else ("no_orders" if plan.triggered else "not_triggered")
        trigger = trigger_of(tuple(plan.reasons), plan.triggered)
        self.m.decisions.labels(trigger, outcome).inc()
        if latency is not None and plan.orders:
            self.m.decision_latency.observe(latency)
        self.recent.append(f"decision {cmd.decision_id[-7:]}: {trigger}, {len(plan.orders)} orders"
                           + (f" ({plan.reasons[0][:70]})" if plan.reasons else ""))
        log.info(
            "decision",
            decision_id=cmd.decision_id,
            triggered=plan.triggered,
            trigger=trigger,
            reasons=list(plan.reasons),
            orders=[f"{o.side.value} {o.qty if o.qty is not None else '$' + str(o.notional)} "
                    f"{o.symbol} @ {o.limit_price or 'mkt'}" for o in plan.orders],
            skipped={s.symbol: s.reason for s in plan.skipped},
            portfolio_value=str(plan.portfolio_value),
            drift=round(plan.portfolio_drift, 6),
            gate="on" if plan.gate_on else "off",
            est_cost=str(plan.est_cost),
            est_benefit=str(plan.est_benefit),
            benefit_risk=str(plan.benefit_risk),
            benefit_cash=str(plan.benefit_cash),
            run_orders=len(plan.all_orders),
            blocked=list(plan.blocked),
        )

    def alert(self, cmd: Alert) -> None:
        level = {"critical": "error", "warning": "warning"}.get(cmd.severity, "info")
        getattr(log, level)("alert", message=cmd.message, severity=cmd.severity)

    # -- events -----------------------------------------------------------------------------
    def event(self, e: Any) -> None:
        kind = type(e).__name__
        if kind != "QuoteUpdated":
            self.m.events.labels(kind).inc()
        if isinstance(e, ev.OrderAccepted):
            s = self._sent.get(e.client_order_id)
            if s is not None and not s.acked:
                s.acked = True
                self.m.ack_latency.observe(time.monotonic() - s.submitted)
                self.m.orders.labels(s.side, "accepted").inc()
        elif isinstance(e, ev.OrderFilled):
            self._fill(e)
        elif isinstance(e, ev.OrderCanceled):
            self._final(e.client_order_id, e.reason if e.reason in ("expired",) else "canceled")
        elif isinstance(e, ev.OrderRejected):
            if self._final(e.client_order_id, "rejected"):
                self.recent.append(f"rejected {e.client_order_id[-4:]}: {e.reason[:70]}")
                log.warning("order rejected", client_order_id=e.client_order_id, reason=e.reason)
        elif isinstance(e, ev.OrderSubmitFailed):
            outcome = "unknown" if e.outcome is ev.SubmitOutcome.UNKNOWN else "failed"
            s = self._sent.get(e.client_order_id)
            self.m.orders.labels(s.side if s else "unknown", outcome).inc()
            log.warning("order submit failed", client_order_id=e.client_order_id,
                        outcome=e.outcome.value, reason=e.reason)
            if outcome == "failed":
                self._sent.pop(e.client_order_id, None)
        elif isinstance(e, ev.OrderNotFound):
            self._final(e.client_order_id, "not_found")

    def _fill(self, e: ev.OrderFilled) -> None:
        # count by cumulative quantity, as the engine applies fills: a duplicate, or the
        # catch-up after a reconnect (a synthetic execution id), adds nothing
        seen = self._cum.get(e.client_order_id, Decimal(0))
        qty = e.cum_qty - seen
        if qty <= 0:
            return
        self._cum[e.client_order_id] = e.cum_qty
        s = self._sent.get(e.client_order_id)
        side = s.side if s else "unknown"
        self.m.fills.labels(side).inc()
        self.m.filled_notional.labels(side).inc(float(qty * e.price))
        if s is not None and s.mid is not None:
            mid = Decimal(str(s.mid))
            slip = (e.price - mid) if side == "buy" else (mid - e.price)
            self.m.realized_cost.inc(max(0.0, float(slip * qty)))
        if s is not None and s.qty is not None and e.cum_qty >= s.qty:
            self.order_done(e.client_order_id, filled=True)
        self.recent.append(f"fill {side} {qty.normalize()} @ {e.price} ({e.client_order_id[-4:]})")
        log.info("fill", client_order_id=e.client_order_id, execution_id=e.execution_id,
                 qty=str(e.qty), price=str(e.price), cum_qty=str(e.cum_qty))

    def order_done(self, client_order_id: str, filled: bool) -> None:
        """Called when the engine reports an order final (filled), for the fill latency."""
        s = self._sent.get(client_order_id)
        if s is not None and filled:
            self.m.fill_latency.observe(time.monotonic() - s.submitted)
            self._final(client_order_id, "filled")

    def _final(self, client_order_id: str, outcome: str) -> bool:
        """Count an order's final outcome once; False when it was counted already."""
        if client_order_id in self._finished_set:
            return False
        if len(self._finished) == self._finished.maxlen:
            self._finished_set.discard(self._finished[0])
        self._finished.append(client_order_id)
        self._finished_set.add(client_order_id)
        self._cum.pop(client_order_id, None)
        s = self._sent.pop(client_order_id, None)
        self.m.orders.labels(s.side if s else "unknown", outcome).inc()
        return True
