"""Per-symbol price paths for the paper exchange: seeded geometric Brownian motion, or a
replay of a CSV file of bars or quotes.

A path produces ``Tick`` quotes when the exchange advances it. Time inside a GBM path is
*trading* time: the exchange hands it the seconds of regular hours that passed, so prices
do not drift over weekends. Long jumps (a test that skips a day) are folded into one exact
GBM step plus the last ``MAX_TICKS_PER_ADVANCE`` quotes, so a jump costs O(1).
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from adapters.sim.symbol_config import SymbolConfig

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
MAX_TICKS_PER_ADVANCE = 20


@dataclass(frozen=True, slots=True)
class Tick:
    """One quote: best bid/ask and sizes (shares) at ``at``."""

    symbol: str
    bid: float
    ask: float
    at: datetime
    bid_size: int = 100
    ask_size: int = 100

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


class PricePath(Protocol):
    symbol: str

    def quote(self) -> Tick | None: ...

    def advance(self, start: datetime, end: datetime, open_seconds: float) -> list[Tick]: ...

    def set_quote(self, bid: float, ask: float, at: datetime) -> Tick: ...

    def scale(self, factor: float, at: datetime) -> Tick | None: ...

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...


def round_price(p: float) -> float:
    """Exchange price increments: cents at or above $1, 4 decimals below."""
    return round(p, 2) if p >= 1.0 else round(p, 4)


def quote_around(mid: float, spread_bps: float) -> tuple[float, float]:
    """Bid and ask around ``mid`` with a full spread of ``spread_bps``; never crossed."""
    half = mid * spread_bps / 20000.0
    bid, ask = round_price(max(mid - half, 0.0001)), round_price(mid + half)
    if ask <= bid:
        ask = round_price(bid + (0.01 if bid >= 1.0 else 0.0001))
    return bid, ask


class GbmPath:
    """Geometric Brownian motion with annualised ``drift`` and ``volatility``; one quote
    every ``1/quote_rate`` seconds of trading time."""

    def __init__(self, cfg: SymbolConfig, rng: random.Random, start: datetime) -> None:
        self.symbol = cfg.symbol
        self.cfg = cfg
        self.rng = rng
        self.mid = cfg.price
        self.carry = 0.0  # trading seconds not yet turned into a quote
        self._last = self._tick(start)

    def quote(self) -> Tick | None:
        return self._last

    def _step(self, years: float) -> None:
        mu, sigma = self.cfg.drift, self.cfg.volatility
        z = self.rng.gauss(0.0, 1.0)
        self.mid *= math.exp((mu - 0.5 * sigma * sigma) * years + sigma * math.sqrt(years) * z)

    def _tick(self, at: datetime) -> Tick:
        bid, ask = quote_around(self.mid, self.cfg.spread_bps)
        return Tick(
            self.symbol, bid, ask, at, self.rng.randint(1, 10) * 100, self.rng.randint(1, 10) * 100
        )

    def advance(self, start: datetime, end: datetime, open_seconds: float) -> list[Tick]:
        """Move the path by ``open_seconds`` of trading time ending at ``end``."""
        if open_seconds <= 0:
            return []
        rate = self.cfg.quote_rate
        total = self.carry + open_seconds
        n = math.floor(total * rate)
        self.carry = total - n / rate
        if n == 0:
            return []
        dt = 1.0 / (rate * TRADING_SECONDS_PER_YEAR)
        emitted = min(n, MAX_TICKS_PER_ADVANCE)
        if n > emitted:
            self._step((n - emitted) * dt)  # GBM steps compose exactly
        out: list[Tick] = []
        spacing = timedelta(seconds=1.0 / rate)
        for k in range(emitted, 0, -1):
            self._step(dt)
            at = max(end - spacing * (k - 1), start)
            out.append(self._tick(at))
        self._last = out[-1]
        return out

    def set_quote(self, bid: float, ask: float, at: datetime) -> Tick:
        self.mid = (bid + ask) / 2.0
        self._last = Tick(self.symbol, bid, ask, at)
        return self._last

    def scale(self, factor: float, at: datetime) -> Tick | None:
        self.mid *= factor
        self._last = self._tick(at)
        return self._last

    def state(self) -> dict[str, Any]:
        return {
            "kind": "gbm",
            "mid": self.mid,
            "carry": self.carry,
            "rng": rng_state(self.rng),
            "last": _tick_json(self._last),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.mid = float(state["mid"])
        self.carry = float(state["carry"])
        self.rng.setstate(rng_from_state(state["rng"]))
        self._last = _tick_from(self.symbol, state["last"])


class CsvReplay:
    """Replays a CSV of quotes (``timestamp,bid,ask[,bid_size,ask_size]``) or bars
    (``timestamp,open,high,low,close[,volume]``; quoted around the close with the
    symbol's spread). Timestamps are RFC 3339 with an offset, or Unix seconds. Rows are
    released when the simulated clock passes them; after the last row the price stays."""

    def __init__(self, cfg: SymbolConfig, rows: list[Tick] | None = None) -> None:
        self.symbol = cfg.symbol
        self.cfg = cfg
        self.rows = rows if rows is not None else load_csv(cfg)
        self.index = 0  # rows[:index] have been released
        self.factor = 1.0  # cumulative split/jump adjustment applied to later rows
        self._last: Tick | None = None

    def quote(self) -> Tick | None:
        return self._last

    def advance(self, start: datetime, end: datetime, open_seconds: float) -> list[Tick]:
        out: list[Tick] = []
        while self.index < len(self.rows) and self.rows[self.index].at <= end:
            out.append(self._scaled(self.rows[self.index]))
            self.index += 1
        if out:
            self._last = out[-1]
        return out[-MAX_TICKS_PER_ADVANCE:]

    def _scaled(self, t: Tick) -> Tick:
        if self.factor == 1.0:
            return t
        return Tick(
            t.symbol,
            round_price(t.bid * self.factor),
            round_price(t.ask * self.factor),
            t.at,
            t.bid_size,
            t.ask_size,
        )

    def set_quote(self, bid: float, ask: float, at: datetime) -> Tick:
        self._last = Tick(self.symbol, bid, ask, at)
        return self._last

    def scale(self, factor: float, at: datetime) -> Tick | None:
        self.factor *= factor
        if self._last is not None:
            t = self._last
            self._last = Tick(
                t.symbol,
                round_price(t.bid * factor),
                round_price(t.ask * factor),
                at,
                t.bid_size,
                t.ask_size,
            )
        return self._last

    def state(self) -> dict[str, Any]:
        return {
            "kind": "csv",
            "index": self.index,
            "factor": self.factor,
            "last": _tick_json(self._last),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.index = int(state["index"])
        self.factor = float(state["factor"])
        self._last = _tick_from(self.symbol, state["last"]) if state["last"] else None


def make_path(cfg: SymbolConfig, seed: int, start: datetime) -> PricePath:
    """The path a symbol's config asks for; GBM randomness is seeded per (seed, symbol)."""
    if cfg.csv:
        return CsvReplay(cfg)
    return GbmPath(cfg, random.Random(f"{seed}:{cfg.symbol}"), start)


def load_csv(cfg: SymbolConfig) -> list[Tick]:
    path = Path(cfg.csv or "")
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            fields = {h.strip().lower() for h in reader.fieldnames or []}
            rows = [
                {k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader
            ]
    except FileNotFoundError:
        raise ValueError(f"symbols.{cfg.symbol}.csv: {path} does not exist") from None
    ts_key = next((k for k in ("timestamp", "t", "time") if k in fields), None)
    if ts_key is None:
        raise ValueError(
            f"{path}: no timestamp column; name it 'timestamp' (RFC 3339 or Unix seconds)"
        )
    is_quotes = {"bid", "ask"} <= fields
    if not is_quotes and "close" not in fields:
        raise ValueError(f"{path}: need columns bid,ask (quotes) or close (bars)")
    out: list[Tick] = []
    for n, r in enumerate(rows, start=2):
        try:
            at = _parse_time(r[ts_key])
            if is_quotes:
                bid, ask = float(r["bid"]), float(r["ask"])
                bs = int(float(r.get("bid_size") or 100))
                asz = int(float(r.get("ask_size") or 100))
            else:
                bid, ask = quote_around(float(r["close"]), cfg.spread_bps)
                bs = asz = 100
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path} line {n}: {e}; fix or remove the row") from None
        if out and at < out[-1].at:
            raise ValueError(f"{path} line {n}: timestamps must not go backwards")
        out.append(Tick(cfg.symbol, bid, ask, at, bs, asz))
    if not out:
        raise ValueError(f"{path}: no rows")
    return out


def _parse_time(s: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(s), UTC)
    except ValueError:
        pass
    t = datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise ValueError(f"timestamp {s!r} has no offset; add Z or +00:00")
    return t.astimezone(UTC)


def rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_state(state: list[Any]) -> tuple[Any, ...]:
    return (state[0], tuple(state[1]), state[2])


def _tick_json(t: Tick | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"bid": t.bid, "ask": t.ask, "at": t.at.isoformat(), "bs": t.bid_size, "as": t.ask_size}


def _tick_from(symbol: str, d: dict[str, Any]) -> Tick:
    return Tick(
        symbol,
        float(d["bid"]),
        float(d["ask"]),
        datetime.fromisoformat(d["at"]),
        int(d["bs"]),
        int(d["as"]),
    )
