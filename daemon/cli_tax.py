"""``rebalanced tax --year Y --state-dir D [--csv] [--method M]``: realised and unrealised
gains from the lot ledger, rebuilt from the journal (read-only, like ``history``).

Realised: one Form 8949-like row per lot sold in the year (description, date acquired,
date sold, proceeds, cost basis, adjustment code W and amount, gain or loss, term), then
totals per term. Unrealised: every open lot at the journal's last known price (a quote's
mid, else the last fill), with the term it would have if sold on the journal's last day.
Lots whose date is unknown are flagged ``date_unknown`` in every row.

``--linked-buys FILE.csv`` adds purchases made in a linked IRA (symbol, date, quantity and
optionally account): a loss they wash is disallowed for good, with no basis adjustment
(Rev. Rul. 2008-5). ``--config`` takes the relief method and the wash-sale groups from ``[tax]`` (and the state
directory from ``[daemon]``). ``--method`` replays with another relief method, a what-if:
Alpaca relieves FIFO, so only FIFO matches its 1099-B. ``--csv`` prints one CSV (a
``section`` column says realised or unrealised). Exit codes: 0 ok; 64 bad usage; 65 the
journal's fills do not fit the lots (e.g. a sale of shares bought before the journal began
and never imported); 66 no journal; 78 a bad ``--config``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from adapters.store import history, lot_journal
from daemon.config_file import EX_CONFIG, ConfigError, load_config
from daemon.core.config.tax import TaxConfig
from daemon.core.config.values import Config
from daemon.core.tax.ledger import LedgerError, LinkedPurchase, LotLedger, merge_by_day, replay
from daemon.core.tax.lot_import import LotFileError, parse_linked_buys_csv
from daemon.core.tax.lots import BROKER_METHOD, ReliefMethod
from daemon.core.tax.report import (
    RealisedRow,
    UnrealisedRow,
    cents,
    realised,
    totals,
    unrealised,
)

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
ENV_STATE_DIR = "REBALANCED_STATE_DIR"
PROG = "rebalanced tax"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Realised and unrealised gains by lot.")
    p.add_argument("--year", type=int, required=True, help="the tax year (sale dates)")
    p.add_argument("--state-dir", default=os.environ.get(ENV_STATE_DIR),
                   help=f"the daemon's state directory; default ${ENV_STATE_DIR}")
    p.add_argument("--csv", action="store_true", help="print CSV instead of tables")
    p.add_argument("--method", choices=[m.value for m in ReliefMethod if
                                        m is not ReliefMethod.SPECIFIC_ID],
                   help="relief method to replay with (default: [tax] relief_method, else "
                   "fifo, Alpaca's)")
    p.add_argument("--linked-buys", metavar="FILE.csv",
                   help="purchases in a linked IRA (symbol, date, quantity[, account]): a loss "
                   "they wash is disallowed for good (Rev. Rul. 2008-5)")
    p.add_argument("--config", help="the daemon's config: [tax] gives the relief method and "
                   "the wash-sale groups, [daemon] state_dir the default --state-dir")
    return p


def _err(message: str, prog: str = PROG) -> None:
    print(f"{prog}: {message}", file=sys.stderr)


class _Failed(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _build(state_dir: str, method: ReliefMethod, prog: str,
           groups: Mapping[str, str] | None = None, linked: Path | None = None) -> tuple[
        LotLedger, lot_journal.LedgerInputs]:
    try:
        conn = history.open_readonly(state_dir)
    except history.HistoryError as e:
        _err(str(e), prog)
        raise _Failed(EX_NOINPUT) from e
    try:
        inputs = lot_journal.read_inputs(conn)
    except lot_journal.LotJournalError as e:
        _err(str(e), prog)
        raise _Failed(EX_DATAERR) from e
    finally:
        conn.close()
    entries = inputs.entries
    if linked is not None:
        entries = merge_by_day(entries, _linked_buys(linked, _last_day(inputs), prog))
    try:
        ledger = replay(entries, method, groups)
    except LedgerError as e:
        _err(f"the journal's fills do not fit the lots: {e}", prog)
        raise _Failed(EX_DATAERR) from e
    return ledger, inputs


def read_config(path: str, prog: str) -> Config | None:
    """The config at ``path``, or None after printing every problem."""
    try:
        return load_config(path)
    except ConfigError as e:
        _err(f"{path} is not a valid config:", prog)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _linked_buys(path: Path, as_of: date | None, prog: str) -> list[LinkedPurchase]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        _err(f"cannot read {path}: {e.strerror or e}", prog)
        raise _Failed(EX_NOINPUT) from e
    except UnicodeDecodeError as e:
        _err(f"{path} is not UTF-8 text: export it as CSV (UTF-8)", prog)
        raise _Failed(EX_DATAERR) from e
    try:
        return parse_linked_buys_csv(text, as_of=as_of or date.max)
    except LotFileError as e:
        _err(f"{path} was not used ({len(e.problems)} problem(s)):", prog)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        raise _Failed(EX_DATAERR) from e


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    stdout = sys.stdout if out is None else out
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return EX_OK if e.code in (0, None) else EX_USAGE
    tax = TaxConfig()
    if args.config:
        loaded = read_config(args.config, PROG)
        if loaded is None:
            return EX_CONFIG
        tax = loaded.tax
        args.state_dir = args.state_dir or loaded.daemon.state_dir
    if not args.state_dir:
        _err("--state-dir is required (or set $REBALANCED_STATE_DIR, or pass --config)")
        return EX_USAGE
    if not 1900 <= args.year <= 9999:
        _err(f"--year {args.year} is not a tax year")
        return EX_USAGE
    method = ReliefMethod(args.method) if args.method else tax.relief_method
    args.method = method.value
    try:
        linked = Path(args.linked_buys) if args.linked_buys else None
        ledger, inputs = _build(args.state_dir, method, PROG, tax.wash_sale_groups, linked)
    except _Failed as f:
        return f.code
    on = _last_day(inputs)
    rows = realised(ledger.disposals, args.year)
    open_rows = unrealised(ledger.lots(), inputs.prices, on) if on else []
    if args.csv:
        _write_csv(stdout, rows, open_rows)
        return EX_OK
    lines = [f"TAX YEAR {args.year} — relief method {args.method}"
             + ("" if args.method == BROKER_METHOD.value else
                " (a what-if: Alpaca reports FIFO)")]
    lines += [f"note: {n}" for n in inputs.notes]
    lines += ["", "REALISED (Form 8949-like; gain = proceeds - basis + adjustment)"]
    lines += _table(_REALISED, rows) if rows else ["  (no sales in the year)"]
    lines += ["", "TOTALS"]
    lines += _table(_TOTALS, totals(rows))
    lines += ["", f"UNREALISED by lot (last known prices; term if sold on {on or '-'})"]
    lines += _table(_UNREALISED, open_rows) if open_rows else ["  (no open lots)"]
    stdout.write("\n".join(lines) + "\n")
    return EX_OK


def show_lots(state_dir: str, out: TextIO, tax: TaxConfig | None = None) -> int:
    """``rebalanced lots show``: with ``tax`` (from ``--config``) its method and groups."""
    tax = tax or TaxConfig()
    try:
        ledger, inputs = _build(state_dir, tax.relief_method, "rebalanced lots",
                                tax.wash_sale_groups)
    except _Failed as f:
        return f.code
    on = _last_day(inputs)
    lines = [f"note: {n}" for n in inputs.notes]
    rows = unrealised(ledger.lots(), inputs.prices, on) if on else []
    lines += _table(_UNREALISED, rows) if rows else ["(no open lots)"]
    out.write("\n".join(lines) + "\n")
    return EX_OK


def _last_day(inputs: lot_journal.LedgerInputs) -> date | None:
    if inputs.latest_event_at is None:
        return inputs.import_as_of
    return lot_journal.trade_date(inputs.latest_event_at)


# -- rendering ------------------------------------------------------------------------------


def _d(value: date | None) -> str:
    return "unknown" if value is None else value.isoformat()


def _m(value: Decimal | None) -> str:
    return "-" if value is None else f"{cents(value):,.2f}"


def _q(value: Decimal) -> str:
    return format(value.normalize(), "f")


Column = tuple[str, Callable[[Any], str]]

_REALISED: list[Column] = [
    ("DESCRIPTION", lambda r: r.description),
    ("ACQUIRED", lambda r: _d(r.acquired)),
    ("SOLD", lambda r: _d(r.sold)),
    ("PROCEEDS", lambda r: _m(r.proceeds)),
    ("COST BASIS", lambda r: _m(r.basis)),
    ("CODE", lambda r: r.code or "-"),
    ("ADJUSTMENT", lambda r: _m(r.adjustment) if r.adjustment else "-"),
    ("GAIN/LOSS", lambda r: _m(r.gain)),
    ("TERM", lambda r: r.term.value),
    ("FLAGS", lambda r: ",".join(r.flags) or "-"),
]
_TOTALS: list[Column] = [
    ("TERM", lambda t: t.term.value),
    ("PROCEEDS", lambda t: _m(t.proceeds)),
    ("COST BASIS", lambda t: _m(t.basis)),
    ("GAINS", lambda t: _m(t.gains)),
    ("LOSSES", lambda t: _m(t.losses)),
    ("DISALLOWED (W)", lambda t: _m(t.disallowed)),
    ("NET", lambda t: _m(t.net)),
]
_UNREALISED: list[Column] = [
    ("SYMBOL", lambda r: r.symbol),
    ("LOT", lambda r: r.lot_id),
    ("QTY", lambda r: _q(r.qty)),
    ("ACQUIRED", lambda r: _d(r.acquired)),
    ("HOLDING FROM", lambda r: _d(r.holding_from)),
    ("COST BASIS", lambda r: _m(r.basis)),
    ("PRICE", lambda r: "-" if r.price is None else _q(r.price)),
    ("VALUE", lambda r: _m(r.value)),
    ("GAIN/LOSS", lambda r: _m(r.gain)),
    ("TERM", lambda r: r.term.value),
    ("LT IN", lambda r: "-" if r.days_to_long_term is None else
     ("now" if r.days_to_long_term == 0 else f"{r.days_to_long_term} d")),
    ("FLAGS", lambda r: ",".join(r.flags) or "-"),
]


def _table(columns: list[Column], rows: Sequence[Any]) -> list[str]:
    cells = [[c[1](r) for c in columns] for r in rows]
    header = [c[0] for c in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]

    def line(items: list[str]) -> str:
        return "  ".join(x.ljust(w) for x, w in zip(items, widths, strict=True)).rstrip()

    return [line(header), *(line(r) for r in cells)]


CSV_COLUMNS = ("section", "description", "symbol", "lot_id", "quantity", "date_acquired",
               "date_sold", "proceeds", "cost_basis", "adjustment_code", "adjustment",
               "gain_loss", "term", "price", "value", "flags", "disallowed_for_good",
               "days_to_long_term")


def _write_csv(out: TextIO, rows: list[RealisedRow], open_rows: list[UnrealisedRow]) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(["realised", r.description, r.symbol, r.lot_id, _q(r.qty), _d(r.acquired),
                    _d(r.sold), r.proceeds, r.basis, r.code, r.adjustment, r.gain,
                    r.term.value, "", "", ";".join(r.flags),
                    r.permanent if r.permanent else "", ""])
    for u in open_rows:
        w.writerow(["unrealised", f"{_q(u.qty)} sh. {u.symbol}", u.symbol, u.lot_id, _q(u.qty),
                    _d(u.holding_from), "", "", u.basis, "W" if u.wash_adjustment else "",
                    u.wash_adjustment if u.wash_adjustment else "",
                    "" if u.gain is None else u.gain, u.term.value,
                    "" if u.price is None else _q(u.price),
                    "" if u.value is None else u.value, ";".join(u.flags), "",
                    "" if u.days_to_long_term is None else u.days_to_long_term])


if __name__ == "__main__":
    sys.exit(main())
