"""Prices for a backtest from Alpaca's market-data REST (``--source alpaca``), cached on disk.

The config's symbols' daily bars from ``first`` to ``last`` (``GET /v2/stocks/bars``,
``timeframe=1Day``, ``adjustment=all`` so the closes are split- and dividend-adjusted, every
page through ``next_page_token``: ``adapters.alpaca.bars.bars_between``) become the wide
price table ``adapters.backtest.prices`` reads: ``date``, one close column per symbol and a
``SYMBOL:volume`` column each. The rows are the sessions on which every symbol has a bar.

The table is written once per request (data host, feed, symbols, dates) as CSV under the
cache directory, atomically (a temporary file renamed into place), and read back through
``load_prices``, so a fetched series is checked exactly like a file. A later run with the
same request reads the cached file and sends nothing. Adjusted history changes after each
new split or dividend: ``refresh=True`` (``--refresh``) fetches again.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

from adapters.ports import DailyBar

__all__ = ["SourceError", "cache_file", "default_cache_dir", "prices_from_bars", "write_table"]


class SourceError(RuntimeError):
    """The bars could not be had (no keys, the host failed, a symbol has no bars)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/rebalanced/bars``, else ``~/.cache/rebalanced/bars``."""
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", ".")) / ".cache")
    return Path(base) / "rebalanced" / "bars"


def cache_file(
    cache_dir: Path, data_url: str, feed: str, symbols: Sequence[str], first: date, last: date
) -> Path:
    """The cached table's path for one request (symbols in any order name the same file)."""
    key = "|".join(
        [data_url.rstrip("/"), feed, ",".join(sorted(symbols)), first.isoformat(),
         last.isoformat(), "adjustment=all"]
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"bars-{first.isoformat()}-{last.isoformat()}-{digest}.csv"


def write_table(
    path: Path, symbols: Sequence[str], bars: Mapping[str, Sequence[DailyBar]]
) -> tuple[int, list[str]]:
    """Write the wide table of the sessions every symbol has; return its row count and what
    the intersection left out (the history starts at the youngest symbol's first bar; a
    session one symbol lacks is dropped), so the user is told, not surprised.
    Raise ``SourceError`` (65) when a symbol has no bars at all or no session is common."""
    absent = [s for s in symbols if not bars.get(s)]
    if absent:
        raise SourceError(
            f"the data host has no daily bars for {', '.join(absent)} in the window: check "
            "the symbol(s) in [portfolio.targets] and --from/--to",
            65,
        )
    by_symbol = {s: {b.day: b for b in bars[s]} for s in symbols}
    days = sorted(set.intersection(*(set(v) for v in by_symbol.values())))
    if not days:
        raise SourceError("the symbols' bars share no session in the window: widen it", 65)
    notes = _coverage_notes(by_symbol, days)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bars-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(["date", *symbols, *(f"{s}:volume" for s in symbols)])
            for d in days:
                row = [by_symbol[s][d] for s in symbols]
                out.writerow(
                    [d.isoformat(), *(repr(b.close) for b in row), *(repr(b.volume) for b in row)]
                )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(days), notes


def _coverage_notes(by_symbol: Mapping[str, Mapping[date, DailyBar]], days: list[date]) -> list[str]:
    notes = []
    every = set().union(*(set(v) for v in by_symbol.values()))
    first = min(every)
    if days[0] > first:
        late = sorted((min(v), s) for s, v in by_symbol.items() if min(v) > first)
        youngest = late[-1]
        notes.append(
            f"the table starts {days[0].isoformat()}, not {first.isoformat()}: "
            f"{youngest[1]}'s first bar is {youngest[0].isoformat()}"
            + (f" (also late: {', '.join(s for _, s in late[:-1])})" if len(late) > 1 else "")
        )
    gaps = {s: sum(1 for d in every if days[0] <= d <= days[-1] and d not in v)
            for s, v in by_symbol.items()}
    dropped = sum(1 for d in every if days[0] <= d <= days[-1]) - len(days)
    if dropped:
        missing = ", ".join(f"{s} ({n})" for s, n in sorted(gaps.items()) if n)
        notes.append(f"{dropped} session(s) dropped where a symbol has no bar: {missing}")
    return notes


async def prices_from_bars(
    fetch: Callable[[], Awaitable[Mapping[str, Sequence[DailyBar]]]],
    path: Path,
    symbols: Sequence[str],
    *,
    refresh: bool = False,
) -> tuple[Path, bool, list[str]]:
    """``(path, fetched, notes)``: the cached table at ``path``, fetching it first
    (``fetch``) when it is absent or ``refresh`` is set; ``notes`` say what the table left
    out (see ``write_table``; none for a cached table)."""
    if not refresh and await asyncio.to_thread(path.is_file):
        return path, False, []
    bars = await fetch()
    _, notes = await asyncio.to_thread(write_table, path, symbols, bars)
    return path, True, notes
