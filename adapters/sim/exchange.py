"""The paper exchange: Alpaca's trading REST surface over a ledger, price paths and the
fill model. Pure: no I/O, no asyncio, no wall clock (time comes from the ``SimClock`` it
is handed), randomness only from ``random.Random(config.seed)``. Same seed, same inputs →
the same JSON out.

Every return value is the JSON-ready dict/list Alpaca would send. Stream output goes to
listeners registered by the server, called synchronously.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from adapters.sim import account_json as aj
from adapters.sim.bars import MinuteBars, volume_per_quote
from adapters.sim.daily_bars import DailyHistory
from adapters.sim.fill_model import match
from adapters.sim.ledger import ZERO, Holding, Ledger, dstr
from adapters.sim.market_calendar import MarketCalendar, to_new_york
from adapters.sim.order_desk import (
    MATCHABLE,
    ONCE_TIFS,
    SHARE_STEP,
    MarketListener,
    OrderDesk,
    TradeListener,
)
from adapters.sim.orders_json import SimOrder
from adapters.sim.prices import PricePath, Tick, make_path, rng_from_state, rng_state
from adapters.sim.sim_clock import SimClock
from adapters.sim.sim_config import ExchangeFaults, SimConfig
from adapters.sim.sim_errors import SimAPIError
from adapters.sim.symbol_config import SymbolConfig

__all__ = ["SimAPIError", "SimExchange"]


class SimExchange(OrderDesk):
    def __init__(
        self, config: SimConfig, clock: SimClock, calendar: MarketCalendar | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.calendar = calendar or MarketCalendar.nyse()
        self.faults: ExchangeFaults = config.initial_faults()
        self.rng = random.Random(config.seed)
        now = clock.now()
        self.symbols: dict[str, SymbolConfig] = dict(config.symbols)
        self.ledger = Ledger(
            config.starting_cash,
            {s: Holding(p.qty, p.avg_entry_price) for s, p in config.positions.items() if p.qty},
        )
        self.paths: dict[str, PricePath] = {
            s: make_path(cfg, config.seed, now) for s, cfg in sorted(self.symbols.items())
        }
        for path in self.paths.values():
            path.advance(now, now, 0.0)  # a CSV replay releases the rows already past
        self.orders: dict[str, SimOrder] = {}
        self.by_client: dict[str, str] = {}
        self._open: dict[str, SimOrder] = {}  # id → open order, in submission order
        self._seq = 0
        self.halted: set[str] = set()
        self.last_step = now
        self.account_id = aj.stable_uuid(f"account:{config.seed}")
        self.created_at = now
        self.lastday: dict[str, Decimal] = {
            s: aj.price_of(p.quote()) or Decimal(str(self.symbols[s].price))
            for s, p in self.paths.items()
        }
        self.last_equity = self.equity()
        self.bars = MinuteBars()
        self.daily = DailyHistory(
            self.symbols,
            {s: t.mid for s, p in self.paths.items() if (t := p.quote()) is not None},
            seed=config.seed,
            calendar=self.calendar,
            start=now,
        )
        for s, p in self.paths.items():
            if (t := p.quote()) is not None:
                self.daily.record(s, now, t.mid)  # the start is a price point of today
        self._trade_seq = 0
        self._trade_listeners: list[TradeListener] = []
        self._market_listeners: list[MarketListener] = []

    # -- listeners ---------------------------------------------------------------------
    def add_trade_listener(self, fn: TradeListener) -> None:
        self._trade_listeners.append(fn)

    def add_market_listener(self, fn: MarketListener) -> None:
        self._market_listeners.append(fn)

    # -- money and quotes --------------------------------------------------------------

    def _mark(self, symbol: str) -> Decimal:
        p = aj.price_of(self._tick(symbol))
        if p is not None:
            return p
        h = self.ledger.positions.get(symbol)
        return h.avg_entry_price if h else Decimal(str(self.symbols[symbol].price))

    def equity(self) -> Decimal:
        """Cash plus positions marked at the quote mids."""
        return self.ledger.cash + sum(
            (h.qty * self._mark(s) for s, h in self.ledger.positions.items()), ZERO
        )

    # -- REST: account and positions ---------------------------------------------------
    def account(self) -> dict[str, Any]:
        self.step()
        long_value = sum(
            (h.qty * self._mark(s) for s, h in self.ledger.positions.items() if h.qty > 0), ZERO
        )
        short_value = sum(
            (h.qty * self._mark(s) for s, h in self.ledger.positions.items() if h.qty < 0), ZERO
        )
        return aj.account_json(
            self.account_id,
            self.created_at,
            self.clock.now(),
            self.ledger.cash,
            long_value,
            short_value,
            self.buying_power(),
            self.last_equity,
        )

    def _position_json(self, symbol: str, h: Holding) -> dict[str, Any]:
        return aj.position_json(
            self.symbols[symbol],
            h,
            self._mark(symbol),
            self.lastday.get(symbol, self._mark(symbol)),
            self.held_for_sells(symbol),
        )

    def positions(self) -> list[dict[str, Any]]:
        self.step()
        return [self._position_json(s, h) for s, h in sorted(self.ledger.positions.items())]

    def _symbol_of(self, symbol_or_id: str) -> str | None:
        if symbol_or_id in self.symbols:
            return symbol_or_id
        for s in self.symbols:
            if aj.stable_uuid(f"asset:{s}") == symbol_or_id:
                return s
        return None

    def position(self, symbol: str) -> dict[str, Any]:
        self.step()
        sym = self._symbol_of(symbol)
        h = self.ledger.positions.get(sym) if sym else None
        if sym is None or h is None:
            raise SimAPIError(404, 40410000, "position does not exist")
        return self._position_json(sym, h)

    def close_position(
        self, symbol: str, qty: str | None = None, percentage: str | None = None
    ) -> dict[str, Any]:
        self.step()
        sym = self._symbol_of(symbol)
        h = self.ledger.positions.get(sym) if sym else None
        if sym is None or h is None:
            raise SimAPIError(404, 40410000, "position does not exist")
        if qty is not None and percentage is not None:
            raise SimAPIError(422, 40010001, "only one of qty or percentage may be given")
        held = abs(h.qty)
        if qty is not None:
            amount = _decimal_arg(qty, "qty")
        elif percentage is not None:
            pct = _decimal_arg(percentage, "percentage")
            if not 0 < pct <= 100:
                raise SimAPIError(422, 40010001, "percentage must be between 0 and 100")
            step = SHARE_STEP if self.symbols[sym].fractionable else Decimal(1)
            amount = (held * pct / 100).quantize(step, rounding=ROUND_DOWN)
        else:
            amount = held
        if amount <= 0:
            raise SimAPIError(422, 40010001, "qty must be > 0")
        side = "sell" if h.qty > 0 else "buy"
        return self.submit_order(
            {
                "symbol": sym,
                "qty": dstr(amount),
                "side": side,
                "type": "market",
                "time_in_force": "day",
            }
        )

    def close_all_positions(self, cancel_orders: bool) -> list[dict[str, Any]]:
        self.step()
        if cancel_orders:
            self.cancel_all_orders()
        out: list[dict[str, Any]] = []
        for sym in sorted(self.ledger.positions):
            try:
                out.append({"symbol": sym, "status": 200, "body": self.close_position(sym)})
            except SimAPIError as e:
                out.append({"symbol": sym, "status": e.status, "body": {**e.body(), "symbol": sym}})
        return out

    # -- REST: orders ------------------------------------------------------------------

    # -- REST: clock, calendar, assets, quotes -----------------------------------------
    def clock_json(self) -> dict[str, Any]:
        self.step()
        return aj.clock_json(self.calendar, self.clock.now())

    def calendar_json(
        self, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        today = to_new_york(self.clock.now()).date()
        start = start or today
        end = end or start + timedelta(days=365)
        return aj.calendar_json(self.calendar, start, end)

    def assets(
        self, status: str | None = None, asset_class: str | None = None
    ) -> list[dict[str, Any]]:
        if status not in (None, "active") or asset_class not in (None, "us_equity"):
            return []
        return [aj.asset_json(cfg) for _, cfg in sorted(self.symbols.items())]

    def asset(self, symbol_or_id: str) -> dict[str, Any]:
        sym = self._symbol_of(symbol_or_id)
        if sym is None:
            raise SimAPIError(404, 40410000, "asset not found")
        return aj.asset_json(self.symbols[sym])

    def latest_quotes(self, symbols: list[str]) -> dict[str, Any]:
        self.step()
        quotes: dict[str, Any] = {}
        for s in symbols:
            t = self._tick(s) if s in self.paths else None
            if t is not None:
                quotes[s] = aj.quote_json(t, aj.TAPES.get(self.symbols[s].exchange, "A"))
        return {"quotes": quotes}

    # -- time, prices, corporate actions -----------------------------------------------
    def step(self) -> None:
        """Catch up to ``clock.now()``: move prices, match, and at each session boundary
        passed release queued orders (open) or run close orders and expire day orders
        (close)."""
        now = self.clock.now()
        if now <= self.last_step:
            self._release_pending(now)
            return
        prev = self.last_step
        marks = [(t, 1) for t in self.calendar.closes_between(prev, now)]
        marks += [(t, 0) for t in self.calendar.opens_between(prev, now)]
        marks += [  # extended-hours day orders end after the close
            (o.expires_at, 2)
            for o in self._open.values()
            if o.expires_at is not None and prev < o.expires_at <= now
        ]
        for t, kind in sorted(set(marks)):
            self._advance_prices(prev, t)
            prev = self.last_step = t
            if kind == 0:
                self._on_open(t)
            elif kind == 1:
                self._on_close(t)
            else:
                self._expire_due(t)
        self._advance_prices(prev, now)
        self.last_step = now
        self._release_pending(now)

    def _advance_prices(self, start: datetime, end: datetime) -> None:
        if end <= start:
            return
        seconds = self.calendar.open_seconds_between(start, end)
        batch: list[dict[str, Any]] = []
        resting: dict[str, list[SimOrder]] = {}
        for o in self._open.values():
            resting.setdefault(o.symbol, []).append(o)
        for sym, path in self.paths.items():
            ticks = path.advance(start, end, seconds)
            if not ticks:
                continue
            tape = aj.TAPES.get(self.symbols[sym].exchange, "A")
            cfg = self.symbols[sym]
            per_quote = volume_per_quote(cfg.adv, cfg.quote_rate)
            for t in ticks:
                batch.append(aj.quote_message(t, tape))
                batch.extend(self.bars.add(sym, t.at, round(t.mid, 4), per_quote))
                self.daily.record(sym, t.at, t.mid)
            if sym in resting:
                for t in ticks:
                    self._match_symbol(sym, t, resting[sym])
        batch.extend(self.bars.flush(end))
        self._emit_market(batch)

    def _match_symbol(self, symbol: str, tick: Tick, orders: list[SimOrder] | None = None) -> None:
        """Match the symbol's resting orders (default: all open ones) against ``tick``."""
        if symbol in self.halted:
            return
        regular = self.calendar.is_open(tick.at)
        if not regular and not self.calendar.is_extended_open(tick.at):
            return
        if orders is None:
            orders = [o for o in self._open.values() if o.symbol == symbol]
        bid, ask = Decimal(str(tick.bid)), Decimal(str(tick.ask))
        for order in orders:
            if (
                order.status in MATCHABLE
                and order.time_in_force not in ONCE_TIFS
                and (regular or order.extended_hours)
            ):
                ex = match(order, bid, ask, self.rng, self.faults.partial_fill_probability)
                if ex is not None:
                    self._execute(order, ex, max(tick.at, self.last_step))

    def _on_open(self, t: datetime) -> None:
        for order in list(self._open.values()):
            if order.status == "accepted" and order.time_in_force != "cls":
                if self.faults.stuck_pending_new:
                    order.status, order.updated_at = "pending_new", t
                    self._emit_trade("pending_new", order, t)
                    continue
                order.status, order.updated_at = "new", t
                self._emit_trade("new", order, t)
                self._match_once(order, t)

    def _on_close(self, t: datetime) -> None:
        just_before = t - timedelta(microseconds=1)
        for order in list(self._open.values()):
            if order.time_in_force == "cls" and order.status == "accepted":
                order.status, order.updated_at = "new", just_before
                self._emit_trade("new", order, just_before)
                self._match_once(order, just_before)
        self._expire_due(t)
        for sym in self.paths:
            self.lastday[sym] = self._mark(sym)
        self.last_equity = self.equity()

    def _expire_due(self, t: datetime) -> None:
        for order in list(self._open.values()):
            if order.expires_at is not None and order.expires_at <= t:
                self._finish(order, "expired", t)

    def _release_pending(self, now: datetime) -> None:
        """When the stuck-pending_new fault is off, stuck orders go live."""
        if self.faults.stuck_pending_new:
            return
        for order in list(self._open.values()):
            if order.status == "pending_new":
                order.status, order.updated_at = "new", now
                self._emit_trade("new", order, now)
                self._match_once(order, now)

    def _require_symbol(self, symbol: str) -> str:
        if symbol not in self.symbols:
            raise SimAPIError(
                404, 40410000, f"unknown symbol {symbol!r}; configure it under [symbols]"
            )
        return symbol

    def _quote_changed(self, symbol: str, tick: Tick | None, now: datetime) -> None:
        if tick is None:
            return
        self.daily.record(symbol, tick.at, tick.mid)
        self._emit_market(
            [aj.quote_message(tick, aj.TAPES.get(self.symbols[symbol].exchange, "A"))]
        )
        self._match_symbol(symbol, tick)

    def set_quote(self, symbol: str, bid: float, ask: float) -> None:
        self.step()
        now = self.clock.now()
        tick = self.paths[self._require_symbol(symbol)].set_quote(bid, ask, now)
        self._quote_changed(symbol, tick, now)

    def jump_price(self, symbol: str, factor: float) -> None:
        self.step()
        now = self.clock.now()
        tick = self.paths[self._require_symbol(symbol)].scale(factor, now)
        self._quote_changed(symbol, tick, now)

    def halt(self, symbol: str, halted: bool) -> None:
        self.step()
        self._require_symbol(symbol)
        if halted:
            self.halted.add(symbol)
        else:
            self.halted.discard(symbol)
        code, msg = ("H", "Trading Halt") if halted else ("T", "Resume")
        self._emit_market(
            [{"T": "s", "S": symbol, "sc": code, "sm": msg, "rc": "T12" if halted else "",
              "rm": "Halt Further Info Requested By NASDAQ" if halted else "",
              "z": aj.TAPES.get(self.symbols[symbol].exchange, "A"), "t": self.clock.now()}]
        )  # fmt: skip

    def dividend(self, symbol: str, per_share: Decimal) -> None:
        """Credit ``per_share × qty`` to cash. No trade update (Alpaca has none); the
        credit shows in ``snapshot_state()["ledger"]["cash_events"]``."""
        self.step()
        self.ledger.dividend(
            self._require_symbol(symbol), Decimal(per_share), aj.rfc3339(self.clock.now())
        )
        self.daily.dividend(symbol, float(per_share), self.clock.now())

    def split(self, symbol: str, ratio: Decimal) -> None:
        """A ``ratio``-for-1 split: position qty × ratio, avg entry ÷ ratio, the price path
        ÷ ratio, and open orders' qty × ratio and limit/stop ÷ ratio."""
        self.step()
        ratio = Decimal(ratio)
        if ratio <= 0:
            raise SimAPIError(422, 40010001, "split ratio must be > 0 (2 = two-for-one)")
        self._require_symbol(symbol)
        now = self.clock.now()
        self.ledger.split(symbol, ratio)
        for o in self._open.values():
            if o.symbol != symbol:
                continue
            o.filled_qty *= ratio
            if o.qty is not None:
                o.qty *= ratio
            if o.est_qty is not None:
                o.est_qty *= ratio
            o.limit_price = _split_price(o.limit_price, ratio)
            o.stop_price = _split_price(o.stop_price, ratio)
            o.updated_at = now
        self.lastday[symbol] = self.lastday[symbol] / ratio
        self.daily.split(symbol, float(ratio), now)
        tick = self.paths[symbol].scale(float(1 / ratio), now)
        self._quote_changed(symbol, tick, now)

    # -- state -------------------------------------------------------------------------
    def snapshot_state(self) -> dict[str, Any]:
        """Everything needed to resume (JSON-ready); the clock is not part of it."""
        return {
            "ledger": self.ledger.state(),
            "orders": [o.state() for o in self.orders.values()],
            "open": list(self._open),
            "seq": self._seq,
            "trade_seq": self._trade_seq,
            "rng": rng_state(self.rng),
            "paths": {s: p.state() for s, p in self.paths.items()},
            "halted": sorted(self.halted),
            "faults": self.faults.to_json(),
            "last_step": self.last_step.isoformat(),
            "lastday": {s: str(p) for s, p in self.lastday.items()},
            "last_equity": str(self.last_equity),
            "equity": str(self.equity()),
            "buying_power": str(self.buying_power()),
            "daily": self.daily.state(),
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        self.ledger = Ledger.from_state(state["ledger"])
        self.orders = {}
        self.by_client = {}
        for d in state["orders"]:
            o = SimOrder.from_state(d)
            self.orders[o.id] = o
            self.by_client[o.client_order_id] = o.id
        self._open = {i: self.orders[i] for i in state["open"]}
        self._seq = int(state["seq"])
        self._trade_seq = int(state.get("trade_seq", 0))
        self.rng.setstate(rng_from_state(state["rng"]))
        for s, ps in state["paths"].items():
            if s in self.paths:
                self.paths[s].load_state(ps)
        self.halted = set(state["halted"])
        self.faults = ExchangeFaults()
        self.faults.update(state["faults"])
        self.last_step = datetime.fromisoformat(state["last_step"])
        self.lastday = {s: Decimal(p) for s, p in state["lastday"].items()}
        self.last_equity = Decimal(state["last_equity"])
        if "daily" in state:
            self.daily.load_state(state["daily"])


def _split_price(p: Decimal | None, ratio: Decimal) -> Decimal | None:
    if p is None:
        return None
    q = p / ratio
    return q.quantize(Decimal("0.01") if q >= 1 else Decimal("0.0001"))


def _decimal_arg(raw: str, key: str) -> Decimal:
    try:
        d = Decimal(str(raw))
    except ArithmeticError:
        raise SimAPIError(422, 40010001, f"invalid {key} {raw!r}: not a number") from None
    if not d.is_finite():
        raise SimAPIError(422, 40010001, f"invalid {key} {raw!r}: not a number")
    return d
