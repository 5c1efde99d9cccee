"""The lot ledger's journal side: what the ledger is rebuilt from, and imports of lots.

The ledger is never stored, only rebuilt (the design's "journaled and rebuilt by replay"):

1. its starting lots: the newest ``lot_imports`` row's ``imported_lots`` (``rebalanced
   lots import``). Without any import, the journal's *first* ``AccountSnapshot``'s
   positions, one lot each at the broker's average entry price, date unknown;
2. then every ``OrderFilled`` event journaled after that point (``after_event_seq``), in
   journal order, once per execution id. A fill's symbol and side come from its order's
   intent; a fill of an order rebalanced did not place is skipped and reported.

Trade dates are New York dates of the fills' times. Everything here only reads, except
:func:`write_import`, which writes one import in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapters.store import codec
from daemon.core.config.tax import TaxConfig
from daemon.core.events import AccountSnapshot, OrderFilled, SplitAnnounced
from daemon.core.model import Side
from daemon.core.tax.ledger import (
    Bought,
    LedgerEntry,
    LedgerError,
    LinkedPurchase,
    LotsOpened,
    Sold,
    Split,
    merge_by_day,
    replay,
)
from daemon.core.tax.live_lots import SeedLots, SplitGuard, fill_delta
from daemon.core.tax.live_lots import position_lots as live_position_lots
from daemon.core.tax.lots import Lot, LotSource

NEW_YORK = ZoneInfo("America/New_York")

__all__ = [
    "LedgerInputs",
    "LotJournalError",
    "expected_positions",
    "latest_event",
    "latest_snapshot",
    "position_lots",
    "read_inputs",
    "seed_lots",
    "trade_date",
    "write_import",
]


class LotJournalError(RuntimeError):
    """The journal cannot give the ledger what it needs; the message says what to do."""


@dataclass
class LedgerInputs:
    entries: list[LedgerEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a reader of a report must know
    latest_event_at: datetime | None = None
    latest_snapshot: AccountSnapshot | None = None
    prices: dict[str, Decimal] = field(default_factory=dict)  # last known, per symbol
    import_as_of: date | None = None
    seeded: bool = False  # lots were opened (an import, or the journal's first snapshot)
    execution_ids: set[str] = field(default_factory=set)  # the fills in ``entries``
    # order → (shares, notional) the entries took from its fills (``live_lots.fill_delta``)
    order_fills: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)


def trade_date(at: datetime) -> date:
    return at.astimezone(NEW_YORK).date()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def latest_event(conn: sqlite3.Connection) -> tuple[int, datetime | None]:
    row = conn.execute("SELECT seq, at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, None) if row is None else (int(row[0]), datetime.fromisoformat(row[1]))


def _snapshot(conn: sqlite3.Connection, newest: bool) -> tuple[int, AccountSnapshot] | None:
    order = "DESC" if newest else "ASC"
    row = conn.execute(
        f"SELECT seq, body FROM events WHERE kind = 'AccountSnapshot' ORDER BY seq {order} "
        "LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), codec.loads("AccountSnapshot", row[1]))


def latest_snapshot(conn: sqlite3.Connection) -> tuple[int, AccountSnapshot] | None:
    """The newest journaled account snapshot and its event seq."""
    return _snapshot(conn, newest=True)


def _fills_after(
    conn: sqlite3.Connection, after_seq: int, notes: list[str]
) -> list[tuple[int, OrderFilled, str, Side, Decimal]]:
    sides = {
        cid: (symbol, Side(side))
        for cid, symbol, side in conn.execute("SELECT client_order_id, symbol, side FROM intents")
    }
    seen: set[str] = set()
    filled: dict[str, tuple[Decimal, Decimal]] = {}
    out = []
    skipped = 0
    for seq, body in conn.execute(
        "SELECT seq, body FROM events WHERE kind = 'OrderFilled' AND seq > ? ORDER BY seq",
        (after_seq,),
    ):
        fill: OrderFilled = codec.loads("OrderFilled", body)
        if fill.execution_id in seen:
            continue
        seen.add(fill.execution_id)
        known = sides.get(fill.client_order_id)
        if known is None:
            skipped += 1
            continue
        got = fill_delta(filled, fill.client_order_id, fill.qty, fill.price, fill.cum_qty)
        if got is not None:  # a catch-up's report of fills already counted adds nothing
            out.append((int(seq), fill, known[0], known[1], got[0]))
    if skipped:
        notes.append(
            f"{skipped} fill(s) of orders rebalanced did not place were skipped (no intent "
            "says their symbol and side): import the lots again after trading by hand"
        )
    return out


def expected_positions(conn: sqlite3.Connection) -> dict[str, Decimal] | None:
    """The broker's positions as the journal knows them now: the latest snapshot's, moved
    by the fills journaled after it. ``None`` when no snapshot was ever journaled."""
    snap = _snapshot(conn, newest=True)
    if snap is None:
        return None
    seq, snapshot = snap
    pos = {s: q for s, q in snapshot.positions.items()}
    for _, _fill, symbol, side, qty in _fills_after(conn, seq, []):
        delta = qty if side is Side.BUY else -qty
        pos[symbol] = pos.get(symbol, Decimal(0)) + delta
    return {s: q for s, q in pos.items() if q}


def position_lots(snapshot: AccountSnapshot) -> tuple[list[Lot], list[str]]:
    """One date-unknown lot per long position at its average entry price, and the symbols
    that have no price (their basis is unknown): ``live_lots.position_lots``."""
    return live_position_lots(snapshot.positions, snapshot.avg_entry_prices)


def read_inputs(conn: sqlite3.Connection) -> LedgerInputs:
    """Everything the ledger and the reports need from a journal (read-only)."""
    out = LedgerInputs()
    _, out.latest_event_at = latest_event(conn)
    latest = _snapshot(conn, newest=True)
    out.latest_snapshot = latest[1] if latest else None
    start: tuple[int, list[Lot]] | None = None
    if _has_table(conn, "lot_imports"):
        row = conn.execute(
            "SELECT seq, after_event_seq, as_of, source FROM lot_imports ORDER BY seq DESC "
            "LIMIT 1"
        ).fetchone()
        if row is not None:
            import_seq, after, as_of, source = row
            out.import_as_of = date.fromisoformat(as_of)
            lots = [
                Lot(lot_id, symbol, None if acq is None else date.fromisoformat(acq),
                    Decimal(qty), Decimal(basis), source=LotSource(src))
                for lot_id, symbol, acq, qty, basis, src in conn.execute(
                    "SELECT lot_id, symbol, acquired, qty, cost_basis, source FROM "
                    "imported_lots WHERE import_seq = ? ORDER BY seq", (import_seq,))
            ]
            start = (int(after), lots)
            out.seeded = True
            if source == "positions":
                out.notes.append("lots were opened from the broker's positions at their "
                                 "average entry price: dates unknown, terms unknown")
    if start is None:
        first = _snapshot(conn, newest=False)
        if first is None:
            start = (0, [])
        else:
            out.seeded = True
            lots, missing = position_lots(first[1])
            if missing:
                raise LotJournalError(
                    "no lots were imported and the journal's first account snapshot has no "
                    f"average entry price for {', '.join(missing)}: run 'rebalanced lots "
                    "import FILE.csv' with your broker's lot export"
                )
            start = (first[0], lots)
            if lots:
                out.notes.append(
                    "no lots were imported: the positions at the journal's start are one lot "
                    "each at the broker's average entry price, dates unknown (run 'rebalanced "
                    "lots import FILE.csv' for real dates and terms)"
                )
    after, lots = start
    out.entries.append(LotsOpened(tuple(lots)))
    _walk(conn, after, lots, out)
    out.prices.update(_last_quotes(conn))
    return out


def _walk(conn: sqlite3.Connection, after: int, lots: list[Lot], out: LedgerInputs) -> None:
    """The fills and the splits after ``after``, in journal order, as the live engine
    applies them (``daemon.core.tax.live_lots``): a split only once the account shows it."""
    sides = {
        cid: (symbol, Side(side))
        for cid, symbol, side in conn.execute("SELECT client_order_id, symbol, side FROM intents")
    }
    held: dict[str, Decimal] = {}
    for lot in lots:
        held[lot.symbol] = held.get(lot.symbol, Decimal(0)) + lot.qty
    positions: dict[str, Decimal] = dict(held)
    guard = SplitGuard()
    skipped = 0
    for kind, body in conn.execute(
        "SELECT kind, body FROM events WHERE kind IN ('OrderFilled', 'AccountSnapshot', "
        "'SplitAnnounced') AND seq > ? ORDER BY seq", (after,),
    ):
        if kind == "AccountSnapshot":
            snap: AccountSnapshot = codec.loads(kind, body)
            positions = {s: Decimal(q) for s, q in snap.positions.items()}
            for symbol, ratio in guard.shown(held, positions, snap.at):
                out.entries.append(Split(trade_date(snap.at), symbol, ratio))
                held[symbol] *= ratio
        elif kind == "SplitAnnounced":
            split: SplitAnnounced = codec.loads(kind, body)
            ratio = Decimal(repr(split.ratio))
            have = held.get(split.symbol, Decimal(0))
            if guard.announced(split.symbol, ratio, have,
                               positions.get(split.symbol, Decimal(0)), split.at):
                out.entries.append(Split(trade_date(split.at), split.symbol, ratio))
                held[split.symbol] = have * ratio
        else:
            fill: OrderFilled = codec.loads(kind, body)
            if fill.execution_id in out.execution_ids:
                continue
            known = sides.get(fill.client_order_id)
            if known is None:
                skipped += 1
                continue
            out.execution_ids.add(fill.execution_id)
            got = fill_delta(out.order_fills, fill.client_order_id, fill.qty, fill.price,
                             fill.cum_qty)
            if got is None:  # a catch-up's report of fills already taken (as live)
                continue
            qty, price = got
            symbol, side = known
            signed = qty if side is Side.BUY else -qty
            held[symbol] = held.get(symbol, Decimal(0)) + signed
            positions[symbol] = positions.get(symbol, Decimal(0)) + signed
            entry = Bought if side is Side.BUY else Sold
            out.entries.append(entry(trade_date(fill.at), symbol, qty, price,
                                     ref=f"execution {fill.execution_id}"))
            out.prices[symbol] = fill.price
    if skipped:
        out.notes.append(
            f"{skipped} fill(s) of orders rebalanced did not place were skipped (no intent "
            "says their symbol and side): import the lots again after trading by hand"
        )


def seed_lots(
    conn: sqlite3.Connection, tax: TaxConfig, linked: Sequence[LinkedPurchase] = ()
) -> SeedLots:
    """The engine's starting ledger, rebuilt from the journal (``Engine(lots=…)``), with a
    linked account's buys (``[tax] linked_buys_file``) placed by day: the lots before a
    restart are the lots after it. Raises ``LotJournalError`` when the journal's fills do
    not fit its lots (trades made outside rebalanced)."""
    inputs = read_inputs(conn)
    try:
        entries = merge_by_day(inputs.entries, linked)
        ledger = replay(entries, tax.relief_method, dict(tax.wash_sale_groups))
    except LedgerError as e:
        raise LotJournalError(f"the journal's fills do not fit the lots: {e}; run "
                              "'rebalanced lots import FILE.csv' with the broker's lots") from e
    return SeedLots(ledger, inputs.seeded, frozenset(inputs.execution_ids), tuple(inputs.notes),
                    dict(inputs.order_fills))


def _last_quotes(conn: sqlite3.Connection) -> dict[str, Decimal]:
    """The mid of each symbol's last journaled quote."""
    out: dict[str, Decimal] = {}
    for (body,) in conn.execute(
        "SELECT body FROM events WHERE seq IN (SELECT max(seq) FROM events WHERE kind = "
        "'QuoteUpdated' GROUP BY json_extract(body, '$.symbol'))"
    ):
        q = codec.loads("QuoteUpdated", body)
        if q.bid > 0 and q.ask > 0:
            out[q.symbol] = (Decimal(repr(q.bid)) + Decimal(repr(q.ask))) / 2
    return out


def write_import(
    conn: sqlite3.Connection,
    lots: list[Lot],
    *,
    recorded_at: datetime,
    as_of: date,
    after_event_seq: int,
    source: str,
    digest: str,
    rows: list[int | None],
) -> int:
    """Store one import (all of it or nothing); returns its seq. ``conn`` in autocommit."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO lot_imports(recorded_at, as_of, after_event_seq, source, digest, "
            "lot_count) VALUES (?, ?, ?, ?, ?, ?)",
            (recorded_at.isoformat(), as_of.isoformat(), after_event_seq, source, digest,
             len(lots)),
        )
        import_seq = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO imported_lots(import_seq, lot_id, symbol, acquired, qty, cost_basis, "
            "source, file_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (import_seq, lot.lot_id, lot.symbol,
                 None if lot.acquired is None else lot.acquired.isoformat(),
                 str(lot.qty), str(lot.basis), lot.source.value, row)
                for lot, row in zip(lots, rows, strict=True)
            ],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return import_seq
