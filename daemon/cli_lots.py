"""``rebalanced lots``: the tax lots the ledger starts from.

``rebalanced lots import [FILE.csv] --state-dir D [--as-of YYYY-MM-DD]``

With a file (a broker's lot export: symbol, acquired date, quantity, cost basis; header
names in ``daemon/core/tax/lot_import.py`` and docs/tax.md) the lots are checked and stored
in the journal in one transaction: all of them or none. They stand for the holdings as
the journal knows them now, so every fill journaled after this replays on top of them.

Without a file, the journal's latest account snapshot gives one lot per position at the
broker's average entry price, dates unknown (flagged in every report); fills after that
snapshot replay on top.

``rebalanced lots show --state-dir D [--config C]``: the open lots, rebuilt from the journal
(with ``--config``, by its ``[tax]`` relief method and wash-sale groups).

Exit codes: 0 imported; 64 bad usage; 65 bad file (every problem named with its row and
column; nothing imported); 66 no journal, or the file cannot be read; 78 a bad --config.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from adapters.store import lot_journal, schema
from daemon.core.tax.lot_import import LotFileError, parse_lots_csv
from daemon.host_clock import utc_now

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_CONFIG = 78
ENV_STATE_DIR = "REBALANCED_STATE_DIR"
PROG = "rebalanced lots"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Import or show the ledger's tax lots.")
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="import lots from a broker's CSV export (or positions)")
    imp.add_argument("file", nargs="?", help="the CSV (symbol, acquired date, quantity, cost "
                     "basis); without it: one lot per position at its average entry price")
    imp.add_argument("--as-of", help="the day the lots are as of (YYYY-MM-DD); no lot may be "
                     "acquired after it. Default: the day of the journal's latest event")
    show = sub.add_parser("show", help="the open lots, rebuilt from the journal")
    show.add_argument("--config", help="the daemon's config: [tax] gives the relief method "
                      "and wash-sale groups, [daemon] state_dir the default --state-dir")
    for q in (imp, show):
        q.add_argument("--state-dir", default=os.environ.get(ENV_STATE_DIR),
                       help=f"the daemon's state directory; default ${ENV_STATE_DIR}")
    return p


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    stdout = sys.stdout if out is None else out
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return EX_OK if e.code in (0, None) else EX_USAGE
    tax = None
    if args.action == "show" and args.config:
        from daemon import cli_tax

        loaded = cli_tax.read_config(args.config, PROG)
        if loaded is None:
            return EX_CONFIG
        tax = loaded.tax
        args.state_dir = args.state_dir or loaded.daemon.state_dir
    if not args.state_dir:
        _err("--state-dir is required (or set $REBALANCED_STATE_DIR): the directory named by "
             "[daemon] state_dir in the config")
        return EX_USAGE
    if args.action == "show":
        from daemon import cli_tax

        return cli_tax.show_lots(args.state_dir, stdout, tax)
    as_of: date | None = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            _err(f"--as-of {args.as_of!r} is not a date: write YYYY-MM-DD")
            return EX_USAGE
    path = Path(args.state_dir)
    if path.is_dir():
        path = path / schema.JOURNAL_FILENAME
    if not path.exists():
        _err(f"no journal at {path}: check --state-dir (start the daemon once, e.g. "
             "'rebalanced run --dry-run', so it records the broker's positions, then import)")
        return EX_NOINPUT
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        schema.migrate(conn, str(path))
    except (sqlite3.Error, schema.SchemaError) as e:
        _err(f"cannot open the journal {path}: {e}")
        return EX_NOINPUT
    try:
        if args.file:
            return _import_file(conn, Path(args.file), as_of, stdout)
        return _import_positions(conn, as_of, stdout)
    finally:
        conn.close()


def _import_file(conn: sqlite3.Connection, file: Path, as_of: date | None, out: TextIO) -> int:
    try:
        raw = file.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as e:
        _err(f"cannot read {file}: {e.strerror or e}")
        return EX_NOINPUT
    except UnicodeDecodeError as e:
        _err(f"{file} is not UTF-8 text (byte {e.start}): export it as CSV (UTF-8)")
        return EX_DATAERR
    last_seq, last_at = lot_journal.latest_event(conn)
    if as_of is None:
        if last_at is None:
            _err("the journal has no events to date the lots by: pass --as-of YYYY-MM-DD")
            return EX_USAGE
        as_of = lot_journal.trade_date(last_at)
    positions = lot_journal.expected_positions(conn)
    try:
        lots = parse_lots_csv(text, as_of=as_of, positions=positions)
    except LotFileError as e:
        _err(f"{file} was not imported ({len(e.problems)} problem(s); nothing changed):")
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EX_DATAERR
    rows: list[int | None] = [int(lot.lot_id.rsplit("-", 1)[1]) for lot in lots]
    lot_journal.write_import(
        conn, lots, recorded_at=utc_now(), as_of=as_of, after_event_seq=last_seq,
        source=str(file), digest=hashlib.sha256(raw).hexdigest(), rows=rows,
    )
    symbols = sorted({lot.symbol for lot in lots})
    checked = ("checked against the broker's positions" if positions is not None
               else "not checked against positions (the journal has no account snapshot)")
    out.write(f"imported {len(lots)} lot(s) of {', '.join(symbols)} as of {as_of}, {checked}; "
              f"fills journaled after event #{last_seq} replay on top\n")
    return EX_OK


def _import_positions(conn: sqlite3.Connection, as_of: date | None, out: TextIO) -> int:
    snap = lot_journal.latest_snapshot(conn)
    if snap is None:
        _err("the journal has no account snapshot to take positions from: start the daemon "
             "once, or import your broker's lot export (rebalanced lots import FILE.csv)")
        return EX_NOINPUT
    seq, snapshot = snap
    lots, missing = lot_journal.position_lots(snapshot)
    if missing:
        _err(f"the latest snapshot has no average entry price for {', '.join(missing)} "
             "(journal written by an older rebalanced): restart the daemon so it takes a new "
             "snapshot, or import your broker's lot export")
        return EX_DATAERR
    day = as_of or lot_journal.trade_date(snapshot.at)
    lot_journal.write_import(
        conn, lots, recorded_at=utc_now(), as_of=day, after_event_seq=seq,
        source="positions", digest="", rows=[None] * len(lots),
    )
    out.write(f"opened {len(lots)} lot(s) from the broker's positions at their average entry "
              f"price (dates unknown: flagged in every report); fills after event #{seq} "
              "replay on top\n")
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())

