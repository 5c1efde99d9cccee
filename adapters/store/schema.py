"""The journal's SQLite schema, versioned by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1`` (an SQL script, or a
function of the connection when rows must be rewritten); :func:`migrate` runs the missing
ones in one transaction, so a crash mid-migration leaves the old version.
Never edit a shipped migration: append a new one.

Conventions: every table has ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` (the journal's
write order; never reused, even after deletes); times are ISO 8601 text in UTC; money and
quantities are Decimal text (exact, as sent to the broker); ``body``/``detail`` columns
hold the codec's JSON (``adapters/store/codec.py``), so a row always rebuilds its object.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal

from daemon.core.model import TERMINAL, OrderState

JOURNAL_FILENAME = "journal.sqlite3"

NOT_FOUND = "NOT_FOUND"  # an UNKNOWN outcome the broker has never heard of


def state_name(state: OrderState) -> str:
    """The journal's name of a core order state (the core's vocabulary, upper-case)."""
    return state.value.upper()


TERMINAL_STATES = frozenset({state_name(s) for s in TERMINAL} | {NOT_FOUND})
"""Order states after which an intent needs no resolution: the core's terminal states, and a
lookup that found nothing (compared upper-case)."""

_V1 = """
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,             -- the event's own time
    kind      TEXT NOT NULL,             -- class name, e.g. 'OrderFilled'
    body      TEXT NOT NULL              -- codec JSON
);
CREATE INDEX events_by_kind ON events(kind, seq);

CREATE TABLE commands (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq   INTEGER NOT NULL,        -- last event journaled before it (0: none yet)
    recorded_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX commands_by_event ON commands(event_seq, seq);

CREATE TABLE decisions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id     TEXT NOT NULL UNIQUE,
    at              TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    triggered       INTEGER NOT NULL,
    reasons         TEXT NOT NULL,       -- JSON array of strings
    portfolio_value TEXT NOT NULL,
    portfolio_drift REAL NOT NULL,       -- fraction
    order_count     INTEGER NOT NULL,
    est_cost        TEXT NOT NULL,
    est_benefit     TEXT NOT NULL,
    plan            TEXT NOT NULL        -- codec JSON of the Plan: weights = drift snapshot
);

CREATE TABLE intents (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL UNIQUE,
    recorded_at     TEXT NOT NULL,
    decision_id     TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL,
    qty             TEXT,
    notional        TEXT,
    limit_price     TEXT,
    time_in_force   TEXT NOT NULL,
    body            TEXT NOT NULL        -- codec JSON of the PlaceOrder
);

CREATE TABLE order_states (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    state           TEXT NOT NULL,
    terminal        INTEGER NOT NULL CHECK (terminal IN (0, 1)),
    detail          TEXT NOT NULL        -- JSON object
);
CREATE INDEX order_states_by_order ON order_states(client_order_id, seq);

CREATE TABLE fills (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id    TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL,
    at              TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    qty             TEXT NOT NULL,
    price           TEXT NOT NULL,
    cum_qty         TEXT NOT NULL,
    broker_order_id TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX fills_by_order ON fills(client_order_id, seq);
-- v2 adds UNIQUE (client_order_id, cum_qty): one row per step of an order's fills

CREATE TABLE config_versions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    digest      TEXT NOT NULL,
    text        TEXT NOT NULL
);

CREATE TABLE trading_states (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'reducing', 'halted')),
    reason      TEXT NOT NULL
);

CREATE TABLE records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL            -- JSON object
);
CREATE INDEX records_by_kind ON records(kind, seq);
"""

# v3: imported tax lots (``rebalanced lots import``). Additive: two new tables and an index,
# each its own statement; nothing existing changes. The newest import is the ledger's
# starting point: its lots, then every fill journaled after ``after_event_seq``.
_V3_LOTS = """
CREATE TABLE lot_imports (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at     TEXT NOT NULL,
    as_of           TEXT NOT NULL,       -- ISO date the lots are as of
    after_event_seq INTEGER NOT NULL,    -- fills journaled after this event replay on top
    source          TEXT NOT NULL,       -- the file's path, or 'positions'
    digest          TEXT NOT NULL,       -- sha256 of the file ('' for positions)
    lot_count       INTEGER NOT NULL
);

CREATE TABLE imported_lots (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    import_seq  INTEGER NOT NULL REFERENCES lot_imports(seq),
    lot_id      TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    acquired    TEXT,                    -- ISO date; NULL: unknown (a broker position)
    qty         TEXT NOT NULL,
    cost_basis  TEXT NOT NULL,           -- total, Decimal text
    source      TEXT NOT NULL,           -- 'import' | 'position'
    file_row    INTEGER                  -- the row in the imported file (header = 1)
);

CREATE INDEX imported_lots_by_import ON imported_lots(import_seq, seq);
"""



def _v2_one_row_per_fill(conn: sqlite3.Connection) -> None:
    """v1 → v2: each fill journaled once. Journals written before v2 hold a catch-up row
    (``sync:<order>:<cum>``) beside the real execution it repeats, and catch-up rows that
    carry the whole cumulative quantity as their ``qty``. Per order, in journal order, a row
    that adds nothing (its cumulative quantity is not above the ones before it) moves to
    ``fills_superseded`` (kept for audit, never counted), and every kept row's ``qty``
    becomes what it adds. Then ``UNIQUE (client_order_id, cum_qty)`` enforces it."""
    conn.execute(
        "CREATE TABLE fills_superseded ("
        " seq INTEGER PRIMARY KEY, execution_id TEXT NOT NULL, client_order_id TEXT NOT NULL,"
        " at TEXT NOT NULL, recorded_at TEXT NOT NULL, qty TEXT NOT NULL, price TEXT NOT NULL,"
        " cum_qty TEXT NOT NULL, broker_order_id TEXT NOT NULL, body TEXT NOT NULL)"
    )
    rows = conn.execute(
        "SELECT seq, client_order_id, qty, cum_qty FROM fills ORDER BY client_order_id, seq"
    ).fetchall()
    high: dict[str, Decimal] = {}
    for seq, coid, qty, cum_text in rows:
        cum = Decimal(cum_text)
        before = high.get(coid, Decimal(0))
        if cum <= before:
            conn.execute("INSERT INTO fills_superseded SELECT * FROM fills WHERE seq = ?", (seq,))
            conn.execute("DELETE FROM fills WHERE seq = ?", (seq,))
            continue
        high[coid] = cum
        if Decimal(qty) != cum - before:
            conn.execute("UPDATE fills SET qty = ? WHERE seq = ?", (str(cum - before), seq))
    conn.execute("CREATE UNIQUE INDEX fills_once_per_step ON fills(client_order_id, cum_qty)")


Migration = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: tuple[Migration, ...] = (_V1, _v2_one_row_per_fill, _V3_LOTS)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The journal file's schema cannot be used by this version of rebalanced."""


def version_of(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def check_readable(conn: sqlite3.Connection, path: str) -> int:
    """For read-only users (``history``): the version, or a clear error if unusable."""
    version = version_of(conn)
    if version == 0:
        raise SchemaError(f"{path} is not a rebalanced journal (no schema); check --state-dir")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{path} has journal schema v{version}, newer than this rebalanced knows "
            f"(v{SCHEMA_VERSION}): upgrade rebalanced"
        )
    return version


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; returns the version found before.

    ``conn`` must be in autocommit mode (``isolation_level=None``)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version_of(conn)
        if found > SCHEMA_VERSION:
            raise SchemaError(
                f"{path} has journal schema v{found}, newer than this rebalanced knows "
                f"(v{SCHEMA_VERSION}): upgrade rebalanced, or point --state-dir elsewhere"
            )
        if found == 0:
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            if tables:
                raise SchemaError(
                    f"{path} is an SQLite database but not a rebalanced journal; "
                    "point the state directory elsewhere"
                )
        for version in range(found, SCHEMA_VERSION):
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
                continue
            for statement in _statements(step):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would COMMIT for us)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        code = line.split("--", 1)[0]
        buf += code
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
