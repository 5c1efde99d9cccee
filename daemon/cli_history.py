"""``rebalanced history``: recent decisions, orders and fills from the journal.

Reads the journal read-only (it never creates, migrates or locks it for writing), so it
works while the daemon runs and on a state directory owned by the service user.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from adapters.store import history
from adapters.store.integrity import damaged
from adapters.store.journal import resolve_path

EX_OK = 0
EX_USAGE = 64
EX_NOINPUT = 66
EX_IOERR = 74  # the journal is damaged: recover it (rebalanced journal)

SECTIONS = ("decisions", "orders", "fills")
ENV_STATE_DIR = "REBALANCED_STATE_DIR"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebalanced history",
        description="List recent decisions, orders and fills from the journal (newest first).",
    )
    p.add_argument(
        "--state-dir",
        default=os.environ.get(ENV_STATE_DIR),
        help=f"the daemon's state directory (holds journal.sqlite3); default ${ENV_STATE_DIR}",
    )
    p.add_argument("--limit", type=int, default=20, help="rows per section (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--kind", choices=SECTIONS, help="only this section (default: all three)")
    return p


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    stdout = sys.stdout if out is None else out
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # argparse already printed the problem (or --help)
        return EX_OK if e.code in (0, None) else EX_USAGE
    if not args.state_dir:
        print(
            "rebalanced history: --state-dir is required (or set $REBALANCED_STATE_DIR): "
            "the directory named by [daemon] state_dir in the config",
            file=sys.stderr,
        )
        return EX_USAGE
    if args.limit < 1:
        print(f"rebalanced history: --limit must be at least 1, got {args.limit}", file=sys.stderr)
        return EX_USAGE
    kinds: Sequence[str] = (args.kind,) if args.kind else SECTIONS
    try:
        conn = history.open_readonly(args.state_dir)
    except history.HistoryDamaged as e:
        print(f"rebalanced history: {e}", file=sys.stderr)
        return EX_IOERR
    except history.HistoryError as e:
        print(f"rebalanced history: {e}", file=sys.stderr)
        return EX_NOINPUT
    try:
        state = history.current_trading_state(conn)
        data = {kind: history.recent(conn, kind, args.limit) for kind in kinds}
    except sqlite3.DatabaseError as e:  # damage past the first page
        print(f"rebalanced history: {damaged(resolve_path(Path(args.state_dir)), str(e))}",
              file=sys.stderr)
        return EX_IOERR
    finally:
        conn.close()
    if args.json:
        doc = {"trading_state": state, **data}
        json.dump(doc, stdout, indent=2, ensure_ascii=False)
        stdout.write("\n")
    else:
        stdout.write(render(state, data))
    return EX_OK


# -- tables -------------------------------------------------------------------------------


def render(state: dict[str, Any] | None, data: dict[str, list[dict[str, Any]]]) -> str:
    """The readable form: the trading state, then one table per section."""
    lines = [_state_line(state), ""]
    for kind, rows in data.items():
        columns = _COLUMNS[kind]
        lines.append(f"{kind.upper()} (newest first)")
        if rows:
            lines.extend(
                _table([c[0] for c in columns], [[c[1](r) for c in columns] for r in rows])
            )
        else:
            lines.append("  (none)")
        lines.append("")
    return "\n".join(lines)


def _state_line(state: dict[str, Any] | None) -> str:
    if state is None:
        return "trading state: active (never changed)"
    reason = f" — {state['reason']}" if state["reason"] else ""
    return f"trading state: {state['state']}{reason} (since {_time(state['recorded_at'])})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _time(value: str | None) -> str:
    if not value:
        return "-"
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return value
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M:%SZ")


def _text(value: Any, width: int = 0) -> str:
    if value is None or value == "":
        return "-"
    text = " ".join(str(value).split())  # one line per row, whatever the reason says
    if width and len(text) > width:
        return text[: width - 1] + "…"
    return text


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


Column = tuple[str, Callable[[dict[str, Any]], str]]

_COLUMNS: dict[str, list[Column]] = {
    "decisions": [
        ("TIME", lambda r: _time(r["at"])),
        ("DECISION", lambda r: _text(r["decision_id"])),
        ("TRIGGERED", lambda r: "yes" if r["triggered"] else "no"),
        ("DRIFT", lambda r: _percent(r["portfolio_drift"])),
        ("ORDERS", lambda r: str(r["order_count"])),
        ("VALUE", lambda r: _text(r["portfolio_value"])),
        ("EST COST", lambda r: _text(r["est_cost"])),
        ("EST BENEFIT", lambda r: _text(r["est_benefit"])),
        ("REASONS", lambda r: _text("; ".join(r["reasons"]), 70)),
    ],
    "orders": [
        ("TIME", lambda r: _time(r["recorded_at"])),
        ("CLIENT ORDER ID", lambda r: _text(r["client_order_id"])),
        ("SYMBOL", lambda r: _text(r["symbol"])),
        ("SIDE", lambda r: _text(r["side"])),
        ("QTY", lambda r: _text(r["qty"])),
        ("NOTIONAL", lambda r: _text(r["notional"])),
        ("LIMIT", lambda r: _text(r["limit_price"] or "market")),
        ("STATE", lambda r: _text(r["state"])),
        ("FILLED", lambda r: _text(r["filled_qty"])),
        ("AVG PRICE", lambda r: _text(r["avg_price"], 14)),
        ("DECISION", lambda r: _text(r["decision_id"])),
    ],
    "fills": [
        ("TIME", lambda r: _time(r["at"])),
        ("CLIENT ORDER ID", lambda r: _text(r["client_order_id"])),
        ("SYMBOL", lambda r: _text(r["symbol"])),
        ("SIDE", lambda r: _text(r["side"])),
        ("QTY", lambda r: _text(r["qty"])),
        ("PRICE", lambda r: _text(r["price"])),
        ("CUM QTY", lambda r: _text(r["cum_qty"])),
        ("EXECUTION ID", lambda r: _text(r["execution_id"])),
    ],
}


if __name__ == "__main__":
    sys.exit(main())
