"""Minute bars for the paper exchange's data stream (``T: b``), built from its quotes.

Each quote's mid is a price point; volume is synthetic (the symbol's average daily volume
spread evenly over the session's quotes) plus the exchange's own executions. A bar is
released once its minute is over, labelled with the minute's start, as Alpaca does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SESSION_SECONDS = 6.5 * 3600


@dataclass(slots=True)
class _Bar:
    start: datetime
    o: float
    h: float
    low: float
    c: float
    v: float = 0.0
    n: int = 0
    pv: float = 0.0  # Σ price × volume, for the VWAP

    def add(self, price: float, volume: float) -> None:
        self.h, self.low, self.c = max(self.h, price), min(self.low, price), price
        self.v += volume
        self.n += 1
        self.pv += price * volume

    def message(self, symbol: str) -> dict[str, Any]:
        return {
            "T": "b",
            "S": symbol,
            "o": self.o,
            "h": self.h,
            "l": self.low,
            "c": self.c,
            "v": round(self.v),
            "n": self.n,
            "vw": round(self.pv / self.v, 4) if self.v else self.c,
            "t": self.start,
        }


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


class MinuteBars:
    def __init__(self) -> None:
        self._open: dict[str, _Bar] = {}

    def add(self, symbol: str, at: datetime, price: float, volume: float) -> list[dict[str, Any]]:
        """Record a price point; returns the bar it closed, if it began a new minute."""
        out: list[dict[str, Any]] = []
        start = minute_of(at)
        bar = self._open.get(symbol)
        if bar is not None and bar.start != start:
            if start > bar.start:
                out.append(bar.message(symbol))
                bar = None
            else:
                start = bar.start  # a late point joins the open bar
        if bar is None:
            bar = self._open[symbol] = _Bar(start, price, price, price, price)
        bar.add(price, volume)
        return out

    def flush(self, now: datetime) -> list[dict[str, Any]]:
        """Release every bar whose minute ended at or before ``now``."""
        out: list[dict[str, Any]] = []
        for symbol, bar in list(self._open.items()):
            if bar.start + timedelta(minutes=1) <= now:
                out.append(bar.message(symbol))
                del self._open[symbol]
        return out


def volume_per_quote(adv: float, quote_rate: float) -> float:
    return adv / (SESSION_SECONDS * quote_rate)
