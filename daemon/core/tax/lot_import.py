"""Reading a broker's lot export (CSV text) into lots, strictly. Pure: text in, lots out.

One row per lot, a header row first. Header names are matched without regard to case,
spaces, underscores or hyphens; these are accepted (see docs/tax.md):

=============  ============================================================================
column         header names accepted
=============  ============================================================================
symbol         ``symbol``, ``ticker``
acquired date  ``acquired``, ``date acquired``, ``acquired date``, ``open date``,
               ``trade date``, ``purchase date``
quantity       ``quantity``, ``qty``, ``shares``
cost basis     ``cost basis``, ``basis``, ``total cost``, ``cost`` (the lot's total, fees
               included, not per share)
=============  ============================================================================

Other columns are ignored. Dates are ``YYYY-MM-DD`` or ``MM/DD/YYYY``; numbers may carry a
leading ``$`` and ``,`` thousands separators (``$1,234.56``). A file is refused, every
problem named with its row (the header is row 1) and column, when a date is after the
``as_of`` day, a quantity is not a positive number, a basis is negative, a number does not
parse or is NaN/infinite, two rows are identical, or (when the broker's positions are
known) a symbol's lots do not add up to the position.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from daemon.core.tax.ledger import LinkedPurchase
from daemon.core.tax.lots import Lot, LotSource

__all__ = [
    "COLUMNS",
    "LINKED_COLUMNS",
    "LotFileError",
    "Problem",
    "parse_linked_buys_csv",
    "parse_lots_csv",
]

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker"),
    "acquired": ("acquired", "dateacquired", "acquireddate", "opendate", "tradedate",
                 "purchasedate"),
    "quantity": ("quantity", "qty", "shares"),
    "cost_basis": ("costbasis", "basis", "totalcost", "cost"),
}
"""Our column → the normalised header names accepted for it."""

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,11}$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d*)?$")


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # None: the file as a whole (a symbol's total, the header)
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " if where else "") + self.message


class LotFileError(ValueError):
    """The file was refused; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]", "", header.strip().lower().lstrip("\ufeff"))


def _number(text: str) -> Decimal | None:
    t = text.strip()
    if t.startswith("$"):
        t = t[1:]
    elif t.startswith("-$"):
        t = "-" + t[2:]
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def _date(text: str) -> date | None:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None


def _read_table(
    text: str, columns: Mapping[str, tuple[str, ...]], optional: tuple[str, ...] = ()
) -> tuple[dict[str, int], list[str], list[tuple[int, list[str]]]]:
    """The header's column index per our column name, the header, and the non-blank rows
    with their row numbers (the header is row 1). Raises for a bad header."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise LotFileError([Problem(None, None, "the file is empty: it needs a header row "
                                    "and one row per line item")]) from None
    except csv.Error as e:
        raise LotFileError([Problem(1, None, f"not readable as CSV: {e}")]) from None
    problems: list[Problem] = []
    index: dict[str, int] = {}
    names = [_norm(h) for h in header]
    for ours, accepted in columns.items():
        found = [i for i, n in enumerate(names) if n in accepted]
        if not found:
            if ours in optional:
                continue
            problems.append(Problem(1, ours, f"no {ours} column: name one of "
                                    + ", ".join(repr(a) for a in accepted)
                                    + " (case, spaces and underscores do not matter)"))
        elif len(found) > 1:
            problems.append(Problem(1, ours, "more than one column could be the "
                                    f"{ours}: {', '.join(repr(header[i]) for i in found)}; "
                                    "keep one"))
        else:
            index[ours] = found[0]
    if problems:
        raise LotFileError(problems)
    try:
        rows = [(n, cells) for n, cells in enumerate(reader, start=2)
                if any(c.strip() for c in cells)]
    except csv.Error as e:
        raise LotFileError([Problem(reader.line_num, None, f"not readable as CSV: {e}")]) from None
    return index, header, rows


def parse_lots_csv(
    text: str,
    *,
    as_of: date,
    positions: Mapping[str, Decimal] | None = None,
) -> list[Lot]:
    """The file's lots, in file order (ids ``import-<row>``), or :class:`LotFileError`.

    ``as_of``: no lot may be acquired after it. ``positions`` (when known): each symbol's
    lots must add up to it exactly, and every held symbol must have lots."""
    index, header, rows = _read_table(text, COLUMNS)
    problems: list[Problem] = []
    lots: list[Lot] = []
    seen: dict[tuple[str, ...], int] = {}
    for n, cells in rows:
        if len(cells) < len(header):
            problems.append(Problem(n, None, f"{len(cells)} cells, the header has "
                                    f"{len(header)}: fill in or quote the missing cells"))
            continue
        lot = _row(n, cells, index, header, as_of, problems)
        key = tuple(cells[index[c]].strip() for c in COLUMNS)
        if key in seen:
            problems.append(Problem(n, None, f"the same lot as row {seen[key]} (identical "
                                    "symbol, date, quantity and basis): remove one, or merge "
                                    "them into one row with the summed quantity and basis"))
            continue
        seen[key] = n
        if lot is not None:
            lots.append(lot)
    if not lots and not problems:
        problems.append(Problem(None, None, "no lots in the file (only a header)"))
    if positions is not None and not problems:
        problems.extend(_check_totals(lots, positions))
    if problems:
        raise LotFileError(problems)
    return lots


def _row(
    n: int,
    cells: list[str],
    index: Mapping[str, int],
    header: list[str],
    as_of: date,
    problems: list[Problem],
) -> Lot | None:
    before = len(problems)

    def cell(col: str) -> str:
        return cells[index[col]].strip()

    def name(col: str) -> str:
        return header[index[col]].strip()

    symbol = cell("symbol").upper()
    if not _SYMBOL.match(symbol):
        problems.append(Problem(n, name("symbol"), f"{cell('symbol')!r} is not a ticker symbol"))
    acquired = _date(cell("acquired"))
    if acquired is None:
        problems.append(Problem(n, name("acquired"), f"{cell('acquired')!r} is not a date: "
                                "write YYYY-MM-DD or MM/DD/YYYY (one row per purchase date)"))
    elif acquired > as_of:
        problems.append(Problem(n, name("acquired"), f"{acquired} is after {as_of}, the day "
                                "the lots are as of: a lot cannot be bought in the future "
                                "(check the date, or pass --as-of)"))
    qty = _number(cell("quantity"))
    if qty is None or not qty.is_finite():
        problems.append(Problem(n, name("quantity"), f"{cell('quantity')!r} is not a number"))
    elif qty <= 0:
        problems.append(Problem(n, name("quantity"), f"{qty} is not a positive quantity "
                                "(short lots are not supported; remove the row)"))
    basis = _number(cell("cost_basis"))
    if basis is None or not basis.is_finite():
        problems.append(Problem(n, name("cost_basis"), f"{cell('cost_basis')!r} is not a "
                                "number"))
    elif basis < 0:
        problems.append(Problem(n, name("cost_basis"), f"{basis} is negative: the cost basis "
                                "is the lot's total cost, fees included"))
    if len(problems) > before or acquired is None or qty is None or basis is None:
        return None
    return Lot(f"import-{n}", symbol, acquired, qty, basis, source=LotSource.IMPORT)


def _check_totals(lots: list[Lot], positions: Mapping[str, Decimal]) -> list[Problem]:
    totals: dict[str, Decimal] = {}
    for lot in lots:
        totals[lot.symbol] = totals.get(lot.symbol, Decimal(0)) + lot.qty
    out = []
    for symbol in sorted(set(totals) | {s for s, q in positions.items() if q}):
        have, want = totals.get(symbol, Decimal(0)), positions.get(symbol, Decimal(0))
        if have != want:
            out.append(Problem(None, "quantity", f"{symbol}: the lots add up to {have} shares "
                               f"but the broker holds {want} (the journal's latest snapshot "
                               "and the fills after it): export the lots again, or add the "
                               "missing rows"))
    return out


LINKED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker"),
    "date": ("date", "tradedate", "purchasedate", "acquired", "dateacquired"),
    "quantity": ("quantity", "qty", "shares"),
    "account": ("account",),  # optional: a name for the linked account, default "ira"
}


def parse_linked_buys_csv(text: str, *, as_of: date) -> list[LinkedPurchase]:
    """Purchases in linked tax-advantaged accounts (an IRA), for the wash-sale rule:
    symbol, date, quantity and optionally account. Same strictness as the lot file."""
    index, header, rows = _read_table(text, LINKED_COLUMNS, optional=("account",))
    problems: list[Problem] = []
    out: list[LinkedPurchase] = []
    for n, cells in rows:
        if len(cells) < len(header):
            problems.append(Problem(n, None, f"{len(cells)} cells, the header has "
                                    f"{len(header)}: fill in or quote the missing cells"))
            continue
        before = len(problems)
        symbol = cells[index["symbol"]].strip().upper()
        if not _SYMBOL.match(symbol):
            problems.append(Problem(n, header[index["symbol"]].strip(),
                                    f"{symbol!r} is not a ticker symbol"))
        day = _date(cells[index["date"]])
        if day is None:
            problems.append(Problem(n, header[index["date"]].strip(),
                                    f"{cells[index['date']].strip()!r} is not a date: write "
                                    "YYYY-MM-DD or MM/DD/YYYY"))
        elif day > as_of:
            problems.append(Problem(n, header[index["date"]].strip(),
                                    f"{day} is after {as_of}, the journal's last day"))
        qty = _number(cells[index["quantity"]])
        if qty is None or not qty.is_finite() or qty <= 0:
            problems.append(Problem(n, header[index["quantity"]].strip(),
                                    f"{cells[index['quantity']].strip()!r} is not a positive "
                                    "quantity"))
        account = cells[index["account"]].strip() if "account" in index else ""
        if len(problems) == before and day is not None and qty is not None:
            out.append(LinkedPurchase(day, symbol, qty, account or "ira"))
    if problems:
        raise LotFileError(problems)
    return out
