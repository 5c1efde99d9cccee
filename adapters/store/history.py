"""Read-side queries over the journal, for ``rebalanced history`` and ``SqliteJournal.recent``.

Everything here takes a plain ``sqlite3.Connection`` and only reads, so it runs on the
daemon's read connection or on the operator's read-only one (:func:`open_readonly`),
while the daemon keeps writing (WAL readers never block the writer). Rows come back
newest first as JSON-ready dicts: Decimals stay exact strings, times ISO 8601 strings.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from adapters.store import integrity, schema

_AVG_PLACES = Decimal("0.000001")

KINDS = (
    "decisions",
    "orders",
    "fills",
    "events",
    "commands",
    "records",
    "trading_states",
    "configs",
)


class HistoryError(RuntimeError):
    """The journal cannot be read; the message says why and what to do."""


class HistoryDamaged(HistoryError):
    """The journal file is damaged; the message names the recovery commands."""


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open the journal for reading only, never creating or changing anything.

    Works while the daemon runs (``mode=ro`` over WAL) and on a state directory owned by
    the service: if SQLite cannot open read-only because nobody has the WAL index open
    and we may not create it, and there is no ``-wal`` file (so the daemon is stopped
    and everything is checkpointed), it falls back to ``immutable=1``."""
    p = Path(path)
    try:
        if p.is_dir():
            p = p / schema.JOURNAL_FILENAME
        if not p.exists():
            raise HistoryError(
                f"no journal at {p}: check --state-dir (the daemon creates the journal on "
                "its first start)"
            )
        with p.open("rb"):
            pass
    except PermissionError as e:
        raise HistoryError(
            f"permission denied reading {e.filename or p}: run history as the service user "
            "(e.g. sudo -u rebalanced rebalanced history …) or give your user read access "
            "to the state directory"
        ) from e
    base = "file:" + quote(str(p.resolve()))
    try:
        conn = _connect(base + "?mode=ro")
    except sqlite3.OperationalError as first:
        wal = p.with_name(p.name + "-wal")
        if wal.exists():
            raise HistoryError(
                f"cannot read {p} while the daemon is writing it ({first}): run history as "
                "the service user (e.g. sudo -u rebalanced rebalanced history …) or give "
                "your user read access to the state directory and its -wal/-shm files"
            ) from first
        try:
            conn = _connect(base + "?immutable=1")
        except sqlite3.Error as e:
            if integrity.is_damage(e):
                raise HistoryDamaged(str(integrity.damaged(p, str(e)))) from None
            raise HistoryError(f"cannot read {p}: {e}; check its permissions") from e
    except sqlite3.DatabaseError as e:  # malformed, not a database
        raise HistoryDamaged(str(integrity.damaged(p, str(e)))) from None
    try:
        schema.check_readable(conn, str(p))
    except schema.SchemaError as e:
        conn.close()
        raise HistoryError(str(e)) from e
    except sqlite3.DatabaseError as e:
        conn.close()
        raise HistoryDamaged(str(integrity.damaged(p, str(e)))) from None
    return conn


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def recent(conn: sqlite3.Connection, kind: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest rows of one kind (see :data:`KINDS`), newest first."""
    if kind not in KINDS:
        raise HistoryError(f"unknown history kind {kind!r}: use one of {', '.join(KINDS)}")
    if limit < 1:
        raise HistoryError(f"limit must be at least 1, got {limit}")
    fetch: dict[str, Any] = {
        "decisions": _decisions,
        "orders": _orders,
        "fills": _fills,
        "events": _events,
        "commands": _commands,
        "records": _records,
        "trading_states": _trading_states,
        "configs": _configs,
    }
    rows: list[dict[str, Any]] = fetch[kind](conn, limit)
    return rows


def current_trading_state(conn: sqlite3.Connection) -> dict[str, Any] | None:
    rows = _trading_states(conn, 1)
    return rows[0] if rows else None


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _decisions(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = _dicts(
        conn.execute(
            "SELECT seq, decision_id, at, recorded_at, triggered, reasons, portfolio_value, "
            "portfolio_drift, order_count, est_cost, est_benefit, plan FROM decisions "
            "ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    )
    for row in rows:
        row["triggered"] = bool(row["triggered"])
        row["reasons"] = json.loads(row["reasons"])
        plan = json.loads(row.pop("plan"))
        row["weights"] = plan.get("weights", {})  # the drift snapshot at decision time
        row["orders"] = plan.get("orders", [])
        row["skipped"] = plan.get("skipped", [])
    return rows


def _orders(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = _dicts(
        conn.execute(
            "SELECT i.seq, i.client_order_id, i.recorded_at, i.decision_id, i.symbol, i.side, "
            "i.qty, i.notional, i.limit_price, i.time_in_force, "
            "s.state, s.recorded_at AS state_at, coalesce(s.terminal, 0) AS terminal "
            "FROM intents AS i LEFT JOIN order_states AS s ON s.seq = ("
            "  SELECT max(seq) FROM order_states WHERE client_order_id = i.client_order_id) "
            "ORDER BY i.seq DESC LIMIT ?",
            (limit,),
        )
    )
    for row in rows:
        row["state"] = row["state"] or "INTENT"
        row["terminal"] = bool(row["terminal"])
        fills = conn.execute(
            "SELECT qty, price, cum_qty FROM fills WHERE client_order_id = ?",
            (row["client_order_id"],),
        ).fetchall()
        filled = max((Decimal(c) for _, _, c in fills), default=Decimal(0))
        value = sum((Decimal(q) * Decimal(p) for q, p, _ in fills), Decimal(0))
        row["filled_qty"] = str(filled)
        row["fill_count"] = len(fills)
        summed = sum((Decimal(q) for q, _, _ in fills), Decimal(0))
        row["avg_price"] = (
            format((value / summed).quantize(_AVG_PLACES).normalize(), "f") if summed else None
        )
    return rows


def _fills(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return _dicts(
        conn.execute(
            "SELECT f.seq, f.at, f.client_order_id, i.symbol, i.side, f.qty, f.price, "
            "f.cum_qty, f.execution_id, f.broker_order_id FROM fills AS f "
            "LEFT JOIN intents AS i ON i.client_order_id = f.client_order_id "
            "ORDER BY f.seq DESC LIMIT ?",
            (limit,),
        )
    )


def _events(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = _dicts(
        conn.execute("SELECT seq, at, kind, body FROM events ORDER BY seq DESC LIMIT ?", (limit,))
    )
    for row in rows:
        row["body"] = json.loads(row["body"])
    return rows


def _commands(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = _dicts(
        conn.execute(
            "SELECT seq, event_seq, recorded_at, kind, body FROM commands "
            "ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    )
    for row in rows:
        row["body"] = json.loads(row["body"])
    return rows


def _records(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = _dicts(
        conn.execute(
            "SELECT seq, recorded_at, kind, payload FROM records ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def _trading_states(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return _dicts(
        conn.execute(
            "SELECT seq, recorded_at, state, reason FROM trading_states ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    )


def _configs(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return _dicts(
        conn.execute(
            "SELECT seq, recorded_at, digest, text FROM config_versions ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    )
