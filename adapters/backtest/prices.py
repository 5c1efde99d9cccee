"""Price history for a backtest: a wide table read from CSV or Parquet, checked strictly.

The table has a ``date`` column (``YYYY-MM-DD``, one row per trading day of the series, in
increasing order) and one column per symbol holding its **total-return** (dividend-adjusted)
close. Optional columns per symbol, named ``<SYMBOL>:<field>`` (a colon never occurs in a
ticker, so ``BRK.B:volume`` is unambiguous):

- ``<SYMBOL>:volume``: shares traded that day (ADV for the cost model and the fill model's
  participation cap);
- ``<SYMBOL>:spread_bps``: the full quoted bid-ask spread in basis points (the quotes are the
  close ± half of it);
- ``<SYMBOL>:dividend``: for a **price-only** close column (not dividend-adjusted), the cash
  dividend per share whose ex-date is that row (0 or empty on other rows). The shares held at
  the previous row's close earn it; the feeder credits it as cash on the ex-date row.

Only the config's symbols (and their optional columns) are read and checked; other columns
are ignored. Every problem is a ``DataError`` naming the file, the row (the line number in a
CSV file, header = line 1; the 1-based data row in Parquet) and the column.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

VOLUME = "volume"
SPREAD = "spread_bps"
DIVIDEND = "dividend"
FIELDS = (VOLUME, SPREAD, DIVIDEND)
BLANK_IS_ZERO = frozenset({DIVIDEND})  # an empty dividend cell: no dividend that row
SEP = ":"


class DataError(ValueError):
    """Bad input data: ``where`` is ``file[, row N][, column C]``; the text says what and how
    to fix it."""

    def __init__(
        self, path: str | Path, problem: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.row, self.column, self.problem = str(path), row, column, problem
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Closes (rows × symbols), with optional volume and spread per symbol (None: absent).
    ``row_numbers[i]`` is where row ``i`` came from in the file (for messages)."""

    path: str
    dates: tuple[date, ...]
    symbols: tuple[str, ...]
    closes: np.ndarray
    volume: tuple[np.ndarray | None, ...]
    spread_bps: tuple[np.ndarray | None, ...]
    row_numbers: tuple[int, ...]
    dividend: tuple[np.ndarray | None, ...] = ()  # per share on its ex-date row; () none

    def dividend_of(self, j: int) -> np.ndarray | None:
        """Symbol ``j``'s dividend column (None: absent, the close is total-return)."""
        return self.dividend[j] if self.dividend else None

    def window(self, start: date | None, end: date | None) -> PriceSeries:
        """The rows with ``start ≤ date ≤ end``."""
        lo = 0 if start is None else int(np.searchsorted(_ordinals(self.dates), start.toordinal()))
        hi = (
            len(self.dates)
            if end is None
            else int(np.searchsorted(_ordinals(self.dates), end.toordinal(), side="right"))
        )
        return PriceSeries(
            self.path,
            self.dates[lo:hi],
            self.symbols,
            self.closes[lo:hi],
            tuple(None if v is None else v[lo:hi] for v in self.volume),
            tuple(None if s is None else s[lo:hi] for s in self.spread_bps),
            self.row_numbers[lo:hi],
            tuple(None if v is None else v[lo:hi] for v in self.dividend),
        )

    @property
    def rows_per_year(self) -> float:
        """Rows per calendar year of the span (252-ish daily, 12 monthly); needs ≥ 2 rows."""
        days = (self.dates[-1] - self.dates[0]).days
        return (len(self.dates) - 1) * 365.25 / days if days > 0 else 0.0


def _ordinals(dates: Sequence[date]) -> np.ndarray:
    return np.fromiter((d.toordinal() for d in dates), dtype=np.int64, count=len(dates))


# -- reading ---------------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[list[str], Iterator[list[str]], int, Callable[[], None]]:
    """Header, the data rows as strings (read as they are consumed, so the file's text is
    never all in memory), the line number of the first data row, and what closes the file."""
    try:
        f = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DataError(path, "file not found: check the path") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory: give the CSV or Parquet file") from None
    except PermissionError:
        raise DataError(path, "permission denied: make the file readable") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from None
    reader = csv.reader(f)
    try:
        header = next(_csv_rows(path, reader), None)
    except DataError:
        f.close()
        raise
    if header is None:
        f.close()
        raise DataError(path, "is empty: expected a header row 'date,SYMBOL,…' and data rows")

    return [h.strip() for h in header], _csv_rows(path, reader), 2, f.close


def _csv_rows(path: Path, reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise DataError(
            path, f"is not UTF-8 text (bad byte at offset {exc.start}): save it as UTF-8 CSV"
        ) from None
    except csv.Error as exc:
        raise DataError(path, f"is not valid CSV ({exc})") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from None


def _read_parquet(path: Path) -> tuple[list[str], Iterator[list[str]], int, Callable[[], None]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise DataError(
            path, "reading Parquet needs pyarrow: pip install pyarrow (or give a CSV file)"
        ) from None
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise DataError(path, "file not found: check the path") from None
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(path, f"is not a readable Parquet file ({exc})") from None
    header = [str(n) for n in table.column_names]
    cols = []
    for name in header:
        values = table.column(name).to_pylist()
        cols.append([_cell(v) for v in values])
    rows = (list(r) for r in zip(*cols, strict=True)) if cols else iter(())
    return header, rows, 1, lambda: None


def _cell(v: object) -> str:
    """A Parquet value as the text a CSV cell would hold."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    iso = getattr(v, "isoformat", None)
    if iso is not None:
        return str(iso())[:10]
    return repr(v)


def load_prices(path: str | Path, symbols: Sequence[str]) -> PriceSeries:
    """Read and check the price table at ``path`` for ``symbols``; raise ``DataError``."""
    p = Path(path)
    parquet = p.suffix.lower() in (".parquet", ".pq")
    header, rows, first, close = _read_parquet(p) if parquet else _read_csv(p)
    try:
        return _table(p, symbols, header, rows, first)
    finally:
        close()


def _table(
    p: Path, symbols: Sequence[str], header: list[str], rows: Iterator[list[str]], first: int
) -> PriceSeries:
    index = _header_index(p, header, symbols)
    dates: list[date] = []
    numbers: list[int] = []
    seen: dict[date, int] = {}
    n = len(symbols)
    closes_flat = array("d")  # row after row: the table grows without knowing its length
    extra_flat = {f: [array("d") if (s, f) in index else None for s in symbols] for f in FIELDS}
    date_col = index[("", "date")]
    # every cell a row holds, in the order they are checked: (column, positive, blank is 0,
    # where it goes, its name); closes row after row, each optional column its own array
    cells: list[tuple[int, bool, bool, array[float], str]] = []
    for j, s in enumerate(symbols):
        cells.append((index[(s, "")], True, False, closes_flat, s))
        for f in FIELDS:
            arr = extra_flat[f][j]
            if arr is not None:
                cells.append((index[(s, f)], False, f in BLANK_IS_ZERO, arr, s + SEP + f))
    for k, raw in enumerate(rows):
        line = first + k
        if len(raw) != len(header):
            raise DataError(
                p, f"has {len(raw)} fields, the header has {len(header)}: fix the row", row=line
            )
        d = _date(p, raw[date_col].strip(), line)
        if d in seen:
            raise DataError(
                p,
                f"duplicate date {d.isoformat()} (also on row {seen[d]}): keep one row per day",
                row=line,
                column="date",
            )
        if dates and d < dates[-1]:
            raise DataError(
                p,
                f"date {d.isoformat()} is before the previous row's {dates[-1].isoformat()}: "
                "sort the rows by date",
                row=line,
                column="date",
            )
        seen[d] = line
        dates.append(d)
        numbers.append(line)
        fast = _fast_row(raw, cells)
        if fast is not None:
            for cell, x in zip(cells, fast, strict=True):
                cell[3].append(x)
            continue
        for col, positive, blank_zero, arr, name in cells:  # a problem: name it exactly
            text = raw[col]
            arr.append(
                0.0
                if blank_zero and not text.strip()
                else _number(p, text, line, name, positive=positive)
            )
    if not dates:
        raise DataError(p, "has a header but no data rows")
    closes = np.frombuffer(closes_flat, dtype=np.float64).reshape(len(dates), n).copy()
    extra = {
        f: [None if a is None else np.frombuffer(a, dtype=np.float64).copy() for a in cols]
        for f, cols in extra_flat.items()
    }
    return PriceSeries(
        str(p),
        tuple(dates),
        tuple(symbols),
        closes,
        tuple(extra[VOLUME]),
        tuple(extra[SPREAD]),
        tuple(numbers),
        tuple(extra[DIVIDEND]) if any(v is not None for v in extra[DIVIDEND]) else (),
    )


def _fast_row(
    raw: list[str], cells: list[tuple[int, bool, bool, array[float], str]]
) -> list[float] | None:
    """The row's numbers when every cell is good (the common case), else None: the caller
    then checks cell by cell (``_number``) for the exact message."""
    out: list[float] = []
    for col, positive, blank_zero, _, _ in cells:
        text = raw[col]
        try:
            x = float(text)  # float() ignores surrounding whitespace, as _number's strip
        except ValueError:
            if blank_zero and not text.strip():
                x = 0.0
            else:
                return None
        if not x < math.inf or (x <= 0.0 if positive else x < 0.0):  # NaN fails x < inf
            return None
        out.append(x)
    return out


def _header_index(
    path: Path, header: list[str], symbols: Sequence[str]
) -> dict[tuple[str, str], int]:
    index: dict[tuple[str, str], int] = {}
    for i, name in enumerate(header):
        if name.lower() == "date":
            if ("", "date") in index:
                raise DataError(path, "has two date columns: keep one", column=name)
            index[("", "date")] = i
            continue
        sym, _, field = name.partition(SEP)
        key = (sym, field)
        if key in index:
            raise DataError(path, f"column {name!r} appears twice: keep one", column=name)
        index[key] = i
    if ("", "date") not in index:
        raise DataError(
            path,
            f"has no 'date' column (header: {', '.join(header[:6])}…): name the first column date",
        )
    wanted = set(symbols)
    for (sym, field), i in index.items():
        if sym in wanted and field and field not in FIELDS:
            raise DataError(
                path,
                f"unknown field {field!r} for config symbol {sym}: the optional columns are "
                + ", ".join(f"{sym}{SEP}{f}" for f in FIELDS),
                column=header[i],
            )
    missing = [s for s in symbols if (s, "") not in index]
    if missing:
        raise DataError(
            path,
            f"has no price column for config symbol(s) {', '.join(missing)}: add the column(s) "
            "or remove the symbol(s) from [portfolio.targets]",
            column=missing[0],
        )
    return index


def _date(path: Path, text: str, line: int) -> date:
    if not text:
        raise DataError(
            path, "missing date: every row needs one (YYYY-MM-DD)", row=line, column="date"
        )
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise DataError(
            path, f"{text!r} is not a date: write YYYY-MM-DD", row=line, column="date"
        ) from None


def _number(path: Path, text: str, line: int, column: str, *, positive: bool) -> float:
    t = text.strip()
    if not t:
        raise DataError(
            path,
            "missing value: fill it in, or start the backtest later with --from",
            row=line,
            column=column,
        )
    try:
        x = float(t)
    except ValueError:
        raise DataError(path, f"{t!r} is not a number", row=line, column=column) from None
    if math.isnan(x) or math.isinf(x):
        raise DataError(
            path,
            f"{t} is not a finite number: fill in the value, or start later with --from",
            row=line,
            column=column,
        )
    if positive and x <= 0:
        raise DataError(
            path, f"price {t} is not positive: a close must be > 0", row=line, column=column
        )
    if not positive and x < 0:
        raise DataError(path, f"{t} is negative: must be ≥ 0", row=line, column=column)
    return x


__all__ = [
    "DIVIDEND",
    "FIELDS",
    "SEP",
    "SPREAD",
    "VOLUME",
    "DataError",
    "PriceSeries",
    "load_prices",
]
