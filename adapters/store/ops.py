"""The journal's write operations: what each ``record_*`` call does inside the writer's
transaction. Encoding runs here, on the writer thread, so the event loop only enqueues.

Order states are also *derived from the order events* the consumer journals, so the
journal knows which intents are resolved even if the shell never calls
``record_order_state``: accepted → OPEN, a fill → PARTIAL or FILLED (by cumulative
quantity for qty orders, by filled notional within a cent for notional orders, as the
core's order book does), canceled → CANCELED, rejected → REJECTED, submit failed → FAILED
(NOT_SENT) or UNKNOWN, not found → NOT_FOUND. Derived rows carry ``{"source": "event"}``.
A fill seen twice (same ``execution_id``) is stored and derived once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import is_dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from adapters.store import codec, schema
from adapters.store.schema import state_name
from adapters.store.writer import Op, WriterState
from daemon.core import events as ev
from daemon.core.commands import Command, PlaceOrder, RecordDecision
from daemon.core.events import Event, OrderFilled
from daemon.core.model import OrderState as S
from daemon.core.model import TradingState

NOTIONAL_TOLERANCE = Decimal("0.01")


class JournalError(RuntimeError):
    """A journal operation was refused (closed journal, conflicting intent, bad input)."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return codec.to_data(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable; pass str/number/Decimal")


def dumps_payload(payload: dict[str, Any]) -> str:
    """JSON for free-form payloads: Decimal as strings, datetimes ISO, enums by value."""
    return json.dumps(payload, default=_json_default, separators=(",", ":"), allow_nan=False)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# -- events, and the order states they imply ----------------------------------------------


def event_op(event: Event, recorded_at: str) -> Op:
    def apply(state: WriterState, conn: sqlite3.Connection) -> None:
        cur = conn.execute(
            "INSERT INTO events(at, kind, body) VALUES (?, ?, ?)",
            (event.at.isoformat(), codec.kind_of(event), codec.dumps(event)),
        )
        state.last_event_seq = int(cur.lastrowid or 0)
        if isinstance(event, OrderFilled):
            insert_fill(state, conn, event, recorded_at, from_event=True)
            return
        derived = _derived_state(event)
        if derived is not None:
            cid, order_state, detail = derived
            if order_state.upper() in schema.TERMINAL_STATES or not _is_final(conn, cid):
                # a replayed "new" after the order ended (the trade stream's catch-up after
                # a restart) is kept as an event but does not reopen the order's state
                insert_order_state(conn, cid, recorded_at, order_state, None, detail)

    return Op("event", apply)


def _is_final(conn: sqlite3.Connection, client_order_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM order_states WHERE client_order_id = ? AND terminal = 1 LIMIT 1",
        (client_order_id,),
    ).fetchone()
    return row is not None


def _derived_state(event: Event) -> tuple[str, str, dict[str, Any]] | None:
    if isinstance(event, ev.OrderAccepted):
        detail = {"source": "event", "broker_order_id": event.broker_order_id}
        return event.client_order_id, state_name(S.OPEN), detail
    if isinstance(event, ev.OrderCanceled):
        detail = {"source": "event", "reason": event.reason}
        return event.client_order_id, state_name(S.CANCELED), detail
    if isinstance(event, ev.OrderRejected):
        detail = {"source": "event", "reason": event.reason}
        return event.client_order_id, state_name(S.REJECTED), detail
    if isinstance(event, ev.OrderSubmitFailed):
        failed = event.outcome is ev.SubmitOutcome.NOT_SENT
        detail = {"source": "event", "reason": event.reason}
        return event.client_order_id, state_name(S.FAILED if failed else S.UNKNOWN), detail
    if isinstance(event, ev.OrderNotFound):
        return event.client_order_id, schema.NOT_FOUND, {"source": "event"}
    return None


def insert_order_state(
    conn: sqlite3.Connection,
    client_order_id: str,
    recorded_at: str,
    state: str,
    terminal: bool | None,
    detail: dict[str, Any],
) -> None:
    is_terminal = state.upper() in schema.TERMINAL_STATES if terminal is None else terminal
    conn.execute(
        "INSERT INTO order_states(client_order_id, recorded_at, state, terminal, detail) "
        "VALUES (?, ?, ?, ?, ?)",
        (client_order_id, recorded_at, state, int(is_terminal), dumps_payload(detail)),
    )


def order_state_op(
    client_order_id: str, state: str, detail: dict[str, Any], terminal: bool | None, at: str
) -> Op:
    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        insert_order_state(conn, client_order_id, at, state, terminal, detail)

    return Op("order_state", apply)


def insert_fill(
    state: WriterState,
    conn: sqlite3.Connection,
    fill: OrderFilled,
    recorded_at: str,
    *,
    from_event: bool,
) -> None:
    """Store each fill once and derive the order's state from it.

    A fill is new when its execution id is new *and* its cumulative quantity is above every
    fill journaled for the order so far (a catch-up after a gap or restart repeats what the
    stream delivered, under a synthetic ``sync:`` id). The row's ``qty`` is what it adds to
    the order (``cum_qty`` minus the previous high), so an order's rows sum to its filled
    quantity; the event's own body is kept as received. ``UNIQUE (client_order_id, cum_qty)``
    backs this up in the schema."""
    paired = not from_event and state.last_fill_from_event == fill.execution_id
    state.last_fill_from_event = fill.execution_id if from_event else ""
    known = conn.execute(
        "SELECT 1 FROM fills WHERE execution_id = ?", (fill.execution_id,)
    ).fetchone()
    before, _ = _filled_so_far(conn, fill.client_order_id)
    if known is not None or fill.cum_qty <= before:
        # the consumer journals a fill event and then record_fill()s it: not a repeat
        if not paired:
            state.duplicate_fills += 1
        return
    cur = conn.execute(
        "INSERT INTO fills(execution_id, client_order_id, at, recorded_at, qty, price, cum_qty, "
        "broker_order_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (
            fill.execution_id,
            fill.client_order_id,
            fill.at.isoformat(),
            recorded_at,
            str(fill.cum_qty - before),
            str(fill.price),
            str(fill.cum_qty),
            fill.broker_order_id,
            codec.dumps(fill),
        ),
    )
    if cur.rowcount == 0:  # pragma: no cover - the checks above make this unreachable
        state.duplicate_fills += 1
        return
    filled, notional = _filled_so_far(conn, fill.client_order_id)
    complete = _complete(conn, fill.client_order_id, filled, notional)
    detail = {"source": "event", "execution_id": fill.execution_id, "cum_qty": str(filled)}
    insert_order_state(
        conn, fill.client_order_id, recorded_at, state_name(S.FILLED if complete else S.PARTIAL), None, detail
    )


def _filled_so_far(conn: sqlite3.Connection, client_order_id: str) -> tuple[Decimal, Decimal]:
    rows = conn.execute(
        "SELECT qty, price, cum_qty FROM fills WHERE client_order_id = ?", (client_order_id,)
    ).fetchall()
    cum = max((Decimal(c) for _, _, c in rows), default=Decimal(0))
    notional = sum((Decimal(q) * Decimal(p) for q, p, _ in rows), Decimal(0))
    return cum, notional


def _complete(
    conn: sqlite3.Connection, client_order_id: str, cum: Decimal, notional: Decimal
) -> bool:
    row = conn.execute(
        "SELECT qty, notional FROM intents WHERE client_order_id = ?", (client_order_id,)
    ).fetchone()
    if row is None:
        return False  # not our intent: nothing to resolve, and we cannot tell
    qty, target = row
    if qty is not None:
        return cum >= Decimal(qty)
    if target is not None:
        return notional >= Decimal(target) - NOTIONAL_TOLERANCE
    return False


def fill_op(fill: OrderFilled, recorded_at: str) -> Op:
    def apply(state: WriterState, conn: sqlite3.Connection) -> None:
        insert_fill(state, conn, fill, recorded_at, from_event=False)

    return Op("fill", apply)


# -- commands, decisions, intents -----------------------------------------------------------


def command_op(command: Command, recorded_at: str) -> Op:
    def apply(state: WriterState, conn: sqlite3.Connection) -> None:
        body = codec.dumps(command)
        conn.execute(
            "INSERT INTO commands(event_seq, recorded_at, kind, body) VALUES (?, ?, ?, ?)",
            (state.last_event_seq, recorded_at, codec.kind_of(command), body),
        )
        if isinstance(command, RecordDecision):
            plan = command.plan
            conn.execute(
                "INSERT INTO decisions(decision_id, at, recorded_at, triggered, reasons, "
                "portfolio_value, portfolio_drift, order_count, est_cost, est_benefit, plan) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    command.decision_id,
                    plan.at.isoformat(),
                    recorded_at,
                    int(plan.triggered),
                    json.dumps(list(plan.reasons), ensure_ascii=False),
                    str(plan.portfolio_value),
                    float(plan.portfolio_drift),
                    len(plan.orders),
                    str(plan.est_cost),
                    str(plan.est_benefit),
                    codec.dumps(plan),
                ),
            )

    return Op(f"command:{type(command).__name__}", apply)


def intent_op(order: PlaceOrder, recorded_at: str) -> Op:
    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        body = codec.dumps(order)
        cur = conn.execute(
            "INSERT INTO intents(client_order_id, recorded_at, decision_id, symbol, side, qty, "
            "notional, limit_price, time_in_force, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(client_order_id) DO NOTHING",
            (
                order.client_order_id,
                recorded_at,
                order.decision_id,
                order.symbol,
                order.side.value,
                _dec(order.qty),
                _dec(order.notional),
                _dec(order.limit_price),
                order.time_in_force,
                body,
            ),
        )
        if cur.rowcount == 0:
            (existing,) = conn.execute(
                "SELECT body FROM intents WHERE client_order_id = ?", (order.client_order_id,)
            ).fetchone()
            if existing != body:
                raise JournalError(
                    f"intent {order.client_order_id} is already journaled with different "
                    "contents: a client_order_id must never be reused"
                )

    return Op("intent", apply, durable=True)


# -- the rest -----------------------------------------------------------------------------


def record_op(kind: str, payload: dict[str, Any], recorded_at: str) -> Op:
    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO records(recorded_at, kind, payload) VALUES (?, ?, ?)",
            (recorded_at, kind, dumps_payload(payload)),
        )

    return Op(f"record:{kind}", apply)


def config_op(text: str, digest: str, recorded_at: str) -> Op:
    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        row = conn.execute(
            "SELECT digest FROM config_versions ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None or row[0] != digest:
            conn.execute(
                "INSERT INTO config_versions(recorded_at, digest, text) VALUES (?, ?, ?)",
                (recorded_at, digest, text),
            )

    return Op("config", apply)


def trading_state_op(state: TradingState, reason: str, recorded_at: str) -> Op:
    def apply(_state: WriterState, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO trading_states(recorded_at, state, reason) VALUES (?, ?, ?)",
            (recorded_at, state.value, reason),
        )

    return Op("trading_state", apply, durable=True)


def _rewrite_header(_state: WriterState, conn: sqlite3.Connection) -> None:
    # SQLite syncs the WAL only when a commit writes a frame: an empty barrier (the writes
    # before it committed in an earlier batch, synchronous=NORMAL) would fsync nothing, and
    # a group's POSTs would go out before their intents are durable. Rewriting the header's
    # user_version (same value) dirties page 1: one frame, so the commit fsyncs the WAL.
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute(f"PRAGMA user_version = {int(version)}")


def flush_op() -> Op:
    return Op("flush", _rewrite_header, durable=True)
