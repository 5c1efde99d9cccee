"""Daily bars for the paper exchange's ``GET /v2/stocks/bars`` (``timeframe=1Day``).

Two parts per symbol, both deterministic:

- **history**: the sessions that closed before the exchange started, generated backwards
  from the start price by the symbol's own GBM parameters (drift, volatility) with a
  generator seeded by ``(seed, symbol)``. Day ``k`` before the start depends only on the
  seed, the symbol and ``k``, so every request window sees the same bars. A symbol's
  ``correlation`` ρ mixes in one market factor per day (seeded by ``(seed, day)``), so
  history returns of two symbols correlate by ρᵢρⱼ (live quotes stay independent);
- **live**: the sessions the exchange ran itself, built from its own quotes (mid prices).

Volume on every day is the symbol's ``adv`` times a seeded log-normal factor with mean 1
(live days: scaled by the part of the session already over), so a mean of many days
approaches ``adv``. Each bar is labelled with midnight New York time of its session day,
as Alpaca labels daily bars. Splits and cash dividends the exchange performed are kept
as corporate actions and applied to earlier bars on request (``adjustment``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from adapters.sim.market_calendar import NEW_YORK, MarketCalendar, local_day
from adapters.sim.symbol_config import SymbolConfig

__all__ = ["ADJUSTMENTS", "CorporateAction", "DailyBar", "DailyHistory", "bar_time"]

HISTORY_YEARS = 6  # synthetic sessions before the start (≈ 1,500 per symbol)
VOLUME_SIGMA = 0.3  # log-normal spread of daily volume around adv
ADJUSTMENTS = frozenset({"raw", "split", "dividend", "spin-off", "all"})
TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True, slots=True)
class DailyBar:
    day: date
    o: float
    h: float
    low: float
    c: float
    v: int
    n: int
    vw: float


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """A split (``ratio`` new shares per old share) or a cash dividend (``cash`` per share)
    effective from ``ex_date``: bars before it are the ones adjusted."""

    kind: str  # "split" | "dividend"
    symbol: str
    ex_date: date
    ratio: float = 1.0
    cash: float = 0.0
    at: datetime | None = None  # when the exchange performed it


def bar_time(day: date) -> datetime:
    """Alpaca's label of a daily bar: midnight New York time of the session day."""
    return datetime.combine(day, time(0), NEW_YORK)


def _cents(p: float) -> float:
    return round(p, 2) if p >= 1.0 else round(p, 4)


@dataclass(slots=True)
class _LiveBar:
    day: date
    o: float
    h: float
    low: float
    c: float
    pv: float = 0.0
    n: int = 0


@dataclass(slots=True)
class _Symbol:
    cfg: SymbolConfig
    anchor: float  # the start price: the last historical close
    history: list[DailyBar] | None = None  # built on first use
    live: dict[date, _LiveBar] = field(default_factory=dict)


class DailyHistory:
    def __init__(
        self,
        symbols: Mapping[str, SymbolConfig],
        start_prices: Mapping[str, float],
        *,
        seed: int,
        calendar: MarketCalendar,
        start: datetime,
    ) -> None:
        self.seed = seed
        self.calendar = calendar
        self.start = start
        self._symbols = {
            s: _Symbol(cfg, start_prices.get(s) or cfg.price) for s, cfg in symbols.items()
        }
        self.actions: list[CorporateAction] = []

    # -- what the exchange tells us ------------------------------------------------------
    def record(self, symbol: str, at: datetime, price: float) -> None:
        """One quote mid at ``at``; only regular-hours prices make a live bar."""
        sym = self._symbols.get(symbol)
        if sym is None or price <= 0 or not self.calendar.is_open(at):
            return
        day = local_day(at)
        bar = sym.live.get(day)
        if bar is None:
            sym.live[day] = bar = _LiveBar(day, price, price, price, price)
        bar.h, bar.low, bar.c = max(bar.h, price), min(bar.low, price), price
        bar.pv += price
        bar.n += 1

    def split(self, symbol: str, ratio: float, at: datetime) -> CorporateAction:
        """A split now: it takes effect from today's session (or the next one when the
        market is closed); today's bar so far is restated in post-split prices."""
        ex = local_day(self.calendar.next_close(at))
        sym = self._symbols[symbol]
        bar = sym.live.get(ex)
        if bar is not None:
            bar.o, bar.h, bar.low, bar.c = (x / ratio for x in (bar.o, bar.h, bar.low, bar.c))
            bar.pv /= ratio
        action = CorporateAction("split", symbol, ex, ratio=ratio, at=at)
        self.actions.append(action)
        return action

    def dividend(self, symbol: str, cash: float, at: datetime) -> CorporateAction:
        ex = local_day(self.calendar.next_close(at))
        action = CorporateAction("dividend", symbol, ex, cash=cash, at=at)
        self.actions.append(action)
        return action

    # -- state (the exchange's snapshot/restore) -------------------------------------------
    def state(self) -> dict[str, object]:
        return {
            "live": {
                sym: [[b.day.isoformat(), b.o, b.h, b.low, b.c, b.pv, b.n] for b in s.live.values()]
                for sym, s in self._symbols.items()
            },
            "actions": [
                [a.kind, a.symbol, a.ex_date.isoformat(), a.ratio, a.cash,
                 a.at.isoformat() if a.at else None]
                for a in self.actions
            ],
        }  # fmt: skip

    def load_state(self, state: Mapping[str, object]) -> None:
        live = state.get("live", {})
        assert isinstance(live, Mapping)
        for sym, rows in live.items():
            if sym in self._symbols:
                self._symbols[sym].live = {
                    date.fromisoformat(r[0]): _LiveBar(date.fromisoformat(r[0]), *r[1:])
                    for r in rows
                }
        actions = state.get("actions", [])
        assert isinstance(actions, list)
        self.actions = [
            CorporateAction(k, sym, date.fromisoformat(ex), ratio=r, cash=c,
                            at=datetime.fromisoformat(at) if at else None)
            for k, sym, ex, r, c, at in actions
        ]  # fmt: skip

    # -- bars ----------------------------------------------------------------------------
    def bars(
        self, symbol: str, start: datetime, end: datetime, now: datetime, adjustment: str
    ) -> list[DailyBar]:
        """Bars labelled within ``[start, end]`` (inclusive), for sessions that opened at or
        before ``now``, ascending; adjusted per ``adjustment`` (comma-separated)."""
        sym = self._symbols.get(symbol)
        if sym is None:
            return []
        kinds = set(adjustment.split(","))
        out = [
            b
            for b in self._all(symbol, sym, now)
            if start <= bar_time(b.day) <= end
        ]
        return self._adjusted(symbol, out, kinds, now)

    def _all(self, symbol: str, sym: _Symbol, now: datetime) -> Iterable[DailyBar]:
        if sym.history is None:
            sym.history = self._history(symbol, sym)
        yield from sym.history
        for day in sorted(sym.live):
            session = self.calendar.session(day)
            if session is None or session.open > now:
                continue
            bar = sym.live[day]
            elapsed = (min(now, session.close) - session.open).total_seconds()
            part = max(0.0, min(1.0, elapsed / (session.close - session.open).total_seconds()))
            volume = round(sym.cfg.adv * self._volume_factor(symbol, day) * part)
            yield DailyBar(
                day,
                _cents(bar.o),
                _cents(bar.h),
                _cents(bar.low),
                _cents(bar.c),
                volume,
                max(bar.n, 1),
                round(bar.pv / bar.n, 4) if bar.n else bar.c,
            )

    def _volume_factor(self, symbol: str, day: date) -> float:
        z = random.Random(f"{self.seed}:{symbol}:volume:{day.isoformat()}").gauss(0.0, 1.0)
        return math.exp(VOLUME_SIGMA * z - 0.5 * VOLUME_SIGMA**2)

    def _market_z(self, day: date) -> float:
        return random.Random(f"{self.seed}:market:{day.isoformat()}").gauss(0.0, 1.0)

    def _history(self, symbol: str, sym: _Symbol) -> list[DailyBar]:
        """Sessions closed at the start, generated backwards from the start price."""
        first = self.start.date() - timedelta(days=366 * HISTORY_YEARS)
        sessions = [
            s for s in self.calendar.sessions(first, local_day(self.start)) if s.close <= self.start
        ]
        rng = random.Random(f"{self.seed}:{symbol}:daily")
        cfg = sym.cfg
        dt = 1.0 / TRADING_DAYS_PER_YEAR
        mu = (cfg.drift - 0.5 * cfg.volatility**2) * dt
        sd = cfg.volatility * math.sqrt(dt)
        close = sym.anchor
        out: list[DailyBar] = []
        rho = cfg.correlation
        for s in reversed(sessions):
            z = rng.gauss(0.0, 1.0)
            if rho:  # one market factor per day, shared by every symbol: corr(i, j) = ρᵢρⱼ
                z = rho * self._market_z(s.day) + math.sqrt(1.0 - rho * rho) * z
            r = mu + sd * z
            prev = close * math.exp(-r)
            o = prev * math.exp(0.25 * sd * rng.gauss(0.0, 1.0))
            h = max(o, close) * math.exp(0.5 * sd * abs(rng.gauss(0.0, 1.0)))
            low = min(o, close) * math.exp(-0.5 * sd * abs(rng.gauss(0.0, 1.0)))
            volume = round(cfg.adv * self._volume_factor(symbol, s.day))
            vw = (h + low + close) / 3.0
            out.append(
                DailyBar(
                    s.day,
                    _cents(o),
                    _cents(h),
                    _cents(low),
                    _cents(close),
                    volume,
                    max(1, volume // 100),
                    round(vw, 4),
                )
            )
            close = prev
        out.reverse()
        return out

    def _adjusted(
        self, symbol: str, bars: list[DailyBar], kinds: set[str], now: datetime
    ) -> list[DailyBar]:
        split = bool(kinds & {"split", "all"})
        dividend = bool(kinds & {"dividend", "all"})
        actions = [
            a
            for a in self.actions
            if a.symbol == symbol
            and ((a.kind == "split" and split) or (a.kind == "dividend" and dividend))
        ]
        if not actions or not bars:
            return bars
        prior = {
            i: self._close_before(symbol, a.ex_date, now)
            for i, a in enumerate(actions)
            if a.kind == "dividend"
        }
        out: list[DailyBar] = []
        for b in bars:
            price, volume = 1.0, 1.0
            for i, a in enumerate(actions):
                if b.day >= a.ex_date:
                    continue
                if a.kind == "split":
                    price /= a.ratio
                    volume *= a.ratio
                elif close := prior[i]:
                    price *= max(0.0, 1.0 - a.cash / close)
            if price == 1.0 and volume == 1.0:
                out.append(b)
                continue
            out.append(
                DailyBar(
                    b.day,
                    round(b.o * price, 4),
                    round(b.h * price, 4),
                    round(b.low * price, 4),
                    round(b.c * price, 4),
                    round(b.v * volume),
                    b.n,
                    round(b.vw * price, 4),
                )
            )
        return out

    def _close_before(self, symbol: str, day: date, now: datetime) -> float | None:
        """The raw close of the last session before ``day`` (the dividend's reference)."""
        sym = self._symbols[symbol]
        last: float | None = None
        for b in self._all(symbol, sym, now):
            if b.day >= day:
                break
            last = b.c
        return last
