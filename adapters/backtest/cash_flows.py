"""Dated deposits and withdrawals for a backtest, from a CSV file.

Two columns, ``date`` (``YYYY-MM-DD``) and ``amount`` (dollars: positive a deposit, negative
a withdrawal); several flows on one date add up. A flow dated on a day that is not a row of
the price series arrives on the next row (money cannot reach the past); flows after the last
row are reported as ignored. The engine sees a flow as the broker's truth: an account
snapshot with the new cash, and plans it as live (cash first).
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from adapters.backtest.prices import DataError


def load_cash_flows(path: str | Path) -> list[tuple[date, Decimal]]:
    """The flows in file order (sorted by date on the way out); raise ``DataError``."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError(p, "file not found: check the path") from None
    except UnicodeDecodeError:
        raise DataError(p, "is not UTF-8 text: save it as UTF-8 CSV") from None
    except (OSError, csv.Error) as exc:
        raise DataError(p, f"cannot be read ({exc})") from None
    if not rows:
        raise DataError(p, "is empty: expected a header 'date,amount' and rows")
    header = [h.strip().lower() for h in rows[0]]
    if "date" not in header or "amount" not in header:
        raise DataError(p, f"header {','.join(rows[0])!r} must name the columns date and amount")
    di, ai = header.index("date"), header.index("amount")
    out: list[tuple[date, Decimal]] = []
    for k, raw in enumerate(rows[1:]):
        line = k + 2
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            raise DataError(p, f"has {len(raw)} fields, the header {len(header)}", row=line)
        try:
            d = date.fromisoformat(raw[di].strip())
        except ValueError:
            raise DataError(
                p, f"{raw[di]!r} is not a date: write YYYY-MM-DD", row=line, column="date"
            ) from None
        try:
            amount = Decimal(raw[ai].strip())
        except InvalidOperation:
            raise DataError(p, f"{raw[ai]!r} is not a number", row=line, column="amount") from None
        if not amount.is_finite():
            raise DataError(p, f"{raw[ai]} is not a finite amount", row=line, column="amount")
        out.append((d, amount))
    out.sort(key=lambda f: f[0])
    return out


__all__ = ["load_cash_flows"]
