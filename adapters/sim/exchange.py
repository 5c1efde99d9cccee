"""The paper exchange: Alpaca's trading REST surface over a ledger, price paths and the
fill model. Pure: no I/O, no asyncio, no wall clock (time comes from the ``SimClock`` it
is handed), randomness only from ``random.Random(config.seed)``. Same seed, same inputs →
the same JSON out.

Every return value is the JSON-ready dict/list Alpaca would send. Stream output goes to
listeners registered by the server, called synchronously.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from adapters.sim import account_json as aj
from adapters.sim.fill_model import Execution, is_marketable, match
from adapters.sim.ledger import ZERO, Holding, Ledger, buy_hold, dstr, sell_hold
from adapters.sim.market_calendar import MarketCalendar, to_new_york
from adapters.sim.order_validation import (
    OrderRequest,
    check_asset,
    check_buying_power,
    check_min_cost_basis,
    check_qty_available,
    cost_basis,
    parse_order_request,
    parse_replace_request,
)
from adapters.sim.orders_json import SimOrder
from adapters.sim.prices import PricePath, Tick, make_path, rng_from_state, rng_state
from adapters.sim.sim_clock import SimClock
from adapters.sim.sim_config import ExchangeFaults, SimConfig, SymbolConfig
from adapters.sim.sim_errors import SimAPIError

TradeListener = Callable[[dict[str, Any]], None]
MarketListener = Callable[[list[dict[str, Any]]], None]

MATCHABLE = frozenset({"new", "partially_filled"})
NOT_REPLACEABLE = frozenset({"accepted", "pending_new", "pending_cancel", "pending_replace"})
ONCE_TIFS = frozenset({"ioc", "fok", "opg", "cls"})  # one matching attempt, then canceled
SHARE_STEP = Decimal("1e-9")


class SimExchange:
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
        self._trade_listeners: list[TradeListener] = []
        self._market_listeners: list[MarketListener] = []

    # -- listeners ---------------------------------------------------------------------
    def add_trade_listener(self, fn: TradeListener) -> None:
        self._trade_listeners.append(fn)

    def add_market_listener(self, fn: MarketListener) -> None:
        self._market_listeners.append(fn)

    def _emit_trade(self, event: str, order: SimOrder, now: datetime, **extra: Any) -> None:
        data: dict[str, Any] = {
            "event": event,
            "order": order.to_json(),
            "timestamp": aj.rfc3339(now),
        }
        data.update(extra)
        for fn in self._trade_listeners:
            fn(dict(data))

    def _emit_market(self, batch: list[dict[str, Any]]) -> None:
        if batch:
            for fn in self._market_listeners:
                fn(list(batch))

    # -- money and quotes --------------------------------------------------------------
    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _tick(self, symbol: str) -> Tick | None:
        return self.paths[symbol].quote()

    def _bid_ask(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        t = self._tick(symbol)
        if t is None:
            return None
        return Decimal(str(t.bid)), Decimal(str(t.ask))

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

    def buy_holds(self) -> Decimal:
        total = ZERO
        for o in self._open.values():
            if o.side == "buy":
                ba = self._bid_ask(o.symbol)
                ask = ba[1] if ba else ZERO
                total += buy_hold(
                    o.qty, o.notional, o.filled_qty, o.filled_notional, o.limit_price, ask
                )
        return total

    def buying_power(self) -> Decimal:
        """Cash less what open buys hold (a cash account: multiplier 1)."""
        return max(self.ledger.cash - self.buy_holds(), ZERO)

    def held_for_sells(self, symbol: str) -> Decimal:
        return sum(
            (
                sell_hold(o.qty, o.filled_qty, o.est_qty)
                for o in self._open.values()
                if o.side == "sell" and o.symbol == symbol
            ),
            ZERO,
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
    def submit_order(self, body: dict[str, Any]) -> dict[str, Any]:
        self.step()
        now = self.clock.now()
        req = parse_order_request(body)
        cfg = self.symbols.get(req.symbol)
        if cfg is None:
            raise SimAPIError(422, 40010001, f'asset "{req.symbol}" not found')
        check_asset(req, cfg.fractionable, cfg.tradable)
        self._check_tif_window(req.time_in_force, now)
        if req.client_order_id is not None and req.client_order_id in self.by_client:
            raise SimAPIError(422, 40010001, "client_order_id must be unique")
        est_qty = self._check_account(req)
        order = self._new_order(req, now, est_qty)
        if self.faults.reject_next > 0 or req.symbol in self.faults.reject_symbols:
            if req.symbol not in self.faults.reject_symbols:
                self.faults.reject_next -= 1
            order.status, order.failed_at = "rejected", now
            self._emit_trade("rejected", order, now)
            return order.to_json()
        self._open[order.id] = order
        return self._activate(order, now)

    def _check_tif_window(self, tif: str, now: datetime) -> None:
        local = to_new_york(now).time()
        if tif == "opg" and time(9, 28) <= local < time(19, 0):
            raise SimAPIError(
                422, 40010001, "opg orders are not accepted between 9:28 and 19:00 ET"
            )
        if tif == "cls" and time(15, 50) <= local < time(19, 0):
            raise SimAPIError(
                422, 40010001, "cls orders are not accepted between 15:50 and 19:00 ET"
            )

    def _check_account(self, req: OrderRequest, released: Decimal = ZERO) -> Decimal | None:
        """Cost basis minimum, buying power (buys) or qty_available (sells). ``released``
        is the hold a replaced order gives back. Returns a notional sell's share estimate."""
        ba = self._bid_ask(req.symbol)
        if (
            ba is None
            and req.limit_price is None
            and req.stop_price is None
            and req.notional is None
        ):
            raise SimAPIError(422, 40010001, f"no quote for {req.symbol} yet; send a limit order")
        bid, ask = ba or (ZERO, ZERO)
        basis = cost_basis(req, bid, ask)
        check_min_cost_basis(basis)
        if req.side == "buy":
            check_buying_power(basis, self.buying_power() + released)
            return None
        est: Decimal | None = None
        if req.qty is not None:
            requested = req.qty
        else:
            assert req.notional is not None
            if bid <= 0:
                raise SimAPIError(
                    422, 40010001, f"no bid for {req.symbol}; cannot size a notional sell"
                )
            est = requested = (req.notional / bid).quantize(SHARE_STEP)
        check_qty_available(
            req.symbol,
            requested,
            self.ledger.qty(req.symbol),
            self.held_for_sells(req.symbol) - released,
        )
        return est

    def _new_order(self, req: OrderRequest, now: datetime, est_qty: Decimal | None) -> SimOrder:
        self._seq += 1
        order_id = self._new_uuid()
        cid = req.client_order_id or self._new_uuid()
        order = SimOrder(
            id=order_id,
            client_order_id=cid,
            seq=self._seq,
            symbol=req.symbol,
            asset_id=aj.stable_uuid(f"asset:{req.symbol}"),
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force,
            status="pending_new",
            created_at=now,
            updated_at=now,
            submitted_at=now,
            qty=req.qty,
            notional=req.notional,
            limit_price=req.limit_price,
            stop_price=req.stop_price,
            extended_hours=req.extended_hours,
            position_intent=req.position_intent,
            est_qty=est_qty,
        )
        if req.time_in_force in ("day", "opg", "cls"):
            order.expires_at = self.calendar.next_close(now)
        self.orders[order.id] = order
        self.by_client[cid] = order.id
        return order

    def _activate(self, order: SimOrder, now: datetime) -> dict[str, Any]:
        """Route a fresh order: queue (closed), stick (fault) or go live and match."""
        if not self.calendar.is_open(now) or order.time_in_force in ("opg", "cls"):
            order.status = "accepted"
            self._emit_trade("accepted", order, now)
            return order.to_json()
        if self.faults.stuck_pending_new:
            order.status = "pending_new"
            self._emit_trade("pending_new", order, now)
            return order.to_json()
        order.status = "new"
        self._emit_trade("new", order, now)
        answer = order.to_json()
        self._match_once(order, now)
        return answer

    def _match_once(self, order: SimOrder, now: datetime) -> None:
        """Match ``order`` against the current quote; a one-shot TIF cancels the rest."""
        ba = self._bid_ask(order.symbol)
        if (
            ba is not None
            and order.status in MATCHABLE
            and order.symbol not in self.halted
            and self.calendar.is_open(now)
        ):
            ex = match(order, ba[0], ba[1], self.rng, self.faults.partial_fill_probability)
            if ex is not None:
                self._execute(order, ex, now)
        if order.is_open and order.time_in_force in ONCE_TIFS and order.status in MATCHABLE:
            self._finish(order, "canceled", now)

    def _execute(self, order: SimOrder, ex: Execution, now: datetime) -> None:
        position = self.ledger.apply_fill(order.symbol, order.side, ex.qty, ex.price)
        order.filled_qty += ex.qty
        order.filled_notional += ex.qty * ex.price
        order.updated_at = now
        done = ex.final or (order.qty is not None and order.filled_qty >= order.qty)
        if done:
            order.status, order.filled_at = "filled", now
            self._open.pop(order.id, None)
        else:
            order.status = "partially_filled"
        extra = {
            "price": dstr(ex.price),
            "qty": dstr(ex.qty),
            "position_qty": dstr(position),
            "execution_id": self._new_uuid(),
        }
        event = "fill" if done else "partial_fill"
        self._emit_trade(event, order, now, **extra)
        if self.faults.duplicate_fills:
            self._emit_trade(event, order, now, **extra)
        tape = aj.TAPES.get(self.symbols[order.symbol].exchange, "A")
        self._emit_market(
            [{"T": "t", "S": order.symbol, "i": self._seq, "x": "V", "p": float(ex.price),
              "s": float(ex.qty), "c": ["@"], "z": tape, "t": now}]
        )  # fmt: skip

    def _finish(self, order: SimOrder, status: str, now: datetime) -> None:
        """Move an open order to a terminal state and tell the stream."""
        order.status, order.updated_at = status, now
        if status == "canceled":
            order.canceled_at = now
        elif status == "expired":
            order.expired_at = now
        self._open.pop(order.id, None)
        self._emit_trade(status, order, now)

    def list_orders(
        self,
        status: str = "open",
        limit: int = 50,
        after: str | datetime | None = None,
        until: str | datetime | None = None,
        direction: str = "desc",
        symbols: list[str] | str | None = None,
        nested: bool = False,
    ) -> list[dict[str, Any]]:
        self.step()
        if status not in ("open", "closed", "all"):
            raise SimAPIError(422, 40010001, f"invalid status {status!r}: use open, closed or all")
        if isinstance(symbols, str):
            symbols = [s for s in symbols.split(",") if s]
        lo, hi = _time_arg(after, "after"), _time_arg(until, "until")
        picked = [
            o
            for o in self.orders.values()
            if (status == "all" or (status == "open") == o.is_open)
            and (not symbols or o.symbol in symbols)
            and (lo is None or o.submitted_at > lo)
            and (hi is None or o.submitted_at < hi)
        ]
        picked.sort(key=lambda o: (o.submitted_at, o.seq), reverse=direction == "desc")
        return [o.to_json() for o in picked[: max(1, min(int(limit), 500))]]

    def _get(self, order_id: str) -> SimOrder:
        try:
            uuid.UUID(order_id)
        except (ValueError, TypeError):
            raise SimAPIError(422, 40010001, "order_id is missing") from None
        order = self.orders.get(order_id)
        if order is None:
            raise SimAPIError(404, 40410000, "order not found")
        return order

    def get_order(self, order_id: str) -> dict[str, Any]:
        self.step()
        return self._get(order_id).to_json()

    def get_order_by_client_id(self, client_order_id: str) -> dict[str, Any]:
        self.step()
        order_id = self.by_client.get(client_order_id)
        if order_id is None:
            raise SimAPIError(404, 40410000, "order not found")
        return self.orders[order_id].to_json()

    def cancel_order(self, order_id: str) -> None:
        """Accept a cancel (204). The outcome arrives on the stream: ``pending_cancel`` then
        ``canceled``; with the cancel-race fault a fillable order fills first and the cancel
        is ``order_cancel_rejected``."""
        self.step()
        order = self._get(order_id)
        now = self.clock.now()
        if not order.is_open:
            raise SimAPIError(422, 42210000, f'order is already in "{order.status}" state')
        if self.faults.cancel_races_fill and self._fill_all_now(order, now):
            self._emit_trade("order_cancel_rejected", order, now)
            return
        order.status, order.updated_at = "pending_cancel", now
        self._emit_trade("pending_cancel", order, now)
        self._finish(order, "canceled", now)

    def _fill_all_now(self, order: SimOrder, now: datetime) -> bool:
        """Fill what is left of ``order`` at the touch, if it could trade now."""
        ba = self._bid_ask(order.symbol)
        if (
            ba is None
            or order.status not in MATCHABLE
            or order.symbol in self.halted
            or not self.calendar.is_open(now)
            or not is_marketable(order, ba[0], ba[1])
        ):
            return False
        ex = match(order, ba[0], ba[1], self.rng, 0.0)
        if ex is None:
            return False
        self._execute(order, ex, now)
        return True

    def cancel_all_orders(self) -> list[dict[str, Any]]:
        self.step()
        out: list[dict[str, Any]] = []
        for order in list(self._open.values()):
            try:
                self.cancel_order(order.id)
                out.append({"id": order.id, "status": 200, "body": order.to_json()})
            except SimAPIError as e:
                out.append({"id": order.id, "status": e.status, "body": e.body()})
        return out

    def replace_order(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH: a new order that ``replaces`` the old one, which becomes ``replaced``.
        Without ``qty`` the new order takes the old one's unfilled quantity. With the
        cancel-race fault a fillable old order fills first and the new one is rejected."""
        self.step()
        old = self._get(order_id)
        now = self.clock.now()
        rep = parse_replace_request(body)
        if not old.is_open:
            raise SimAPIError(422, 42210000, f'order is already in "{old.status}" state')
        if old.status in NOT_REPLACEABLE:
            raise SimAPIError(
                422, 42210000, f'order is in "{old.status}" state and cannot be replaced yet'
            )
        if old.notional is not None:
            raise SimAPIError(
                422, 40010001, "notional orders cannot be replaced; cancel and submit a new order"
            )
        assert old.qty is not None
        if old.qty != old.qty.to_integral_value():
            raise SimAPIError(
                422, 40010001, "fractional orders cannot be replaced; cancel and submit a new order"
            )
        if rep.limit_price is not None and old.type not in ("limit", "stop_limit"):
            raise SimAPIError(422, 40010001, f"limit_price cannot be set on a {old.type} order")
        if rep.stop_price is not None and old.type not in ("stop", "stop_limit"):
            raise SimAPIError(422, 40010001, f"stop_price cannot be set on a {old.type} order")
        if rep.client_order_id is not None and rep.client_order_id in self.by_client:
            raise SimAPIError(422, 40010001, "client_order_id must be unique")
        req = OrderRequest(
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            time_in_force=rep.time_in_force or old.time_in_force,
            qty=rep.qty if rep.qty is not None else old.qty - old.filled_qty,
            notional=None,
            limit_price=rep.limit_price if rep.limit_price is not None else old.limit_price,
            stop_price=rep.stop_price if rep.stop_price is not None else old.stop_price,
            extended_hours=old.extended_hours,
            client_order_id=rep.client_order_id,
            position_intent=old.position_intent,
        )
        ba = self._bid_ask(old.symbol)
        released = (
            buy_hold(
                old.qty,
                None,
                old.filled_qty,
                old.filled_notional,
                old.limit_price,
                ba[1] if ba else ZERO,
            )
            if old.side == "buy"
            else sell_hold(old.qty, old.filled_qty)
        )
        self._check_account(req, released)
        if self.faults.cancel_races_fill and self._fill_all_now(old, now):
            new = self._new_order(req, now, None)
            new.replaces = old.id
            new.status, new.failed_at = "rejected", now
            self._emit_trade("rejected", new, now)
            return new.to_json()
        new = self._new_order(req, now, None)
        new.replaces = old.id
        old.replaced_by, old.replaced_at = new.id, now
        self._finish(old, "replaced", now)
        self._open[new.id] = new
        return self._activate(new, now)

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
        for t, kind in sorted(marks):
            self._advance_prices(prev, t)
            prev = self.last_step = t
            if kind == 0:
                self._on_open(t)
            else:
                self._on_close(t)
        self._advance_prices(prev, now)
        self.last_step = now
        self._release_pending(now)

    def _advance_prices(self, start: datetime, end: datetime) -> None:
        if end <= start:
            return
        seconds = self.calendar.open_seconds_between(start, end)
        batch: list[dict[str, Any]] = []
        for sym, path in self.paths.items():
            ticks = path.advance(start, end, seconds)
            if not ticks:
                continue
            tape = aj.TAPES.get(self.symbols[sym].exchange, "A")
            batch.extend(aj.quote_message(t, tape) for t in ticks)
            for t in ticks:
                self._match_symbol(sym, t)
        self._emit_market(batch)

    def _match_symbol(self, symbol: str, tick: Tick) -> None:
        if symbol in self.halted or not self.calendar.is_open(tick.at):
            return
        bid, ask = Decimal(str(tick.bid)), Decimal(str(tick.ask))
        for order in [o for o in self._open.values() if o.symbol == symbol]:
            if order.status in MATCHABLE and order.time_in_force not in ONCE_TIFS:
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
        for order in list(self._open.values()):
            if order.expires_at is not None and order.expires_at <= t:
                self._finish(order, "expired", t)
        for sym in self.paths:
            self.lastday[sym] = self._mark(sym)
        self.last_equity = self.equity()

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
            "rng": rng_state(self.rng),
            "paths": {s: p.state() for s, p in self.paths.items()},
            "halted": sorted(self.halted),
            "faults": self.faults.to_json(),
            "last_step": self.last_step.isoformat(),
            "lastday": {s: str(p) for s, p in self.lastday.items()},
            "last_equity": str(self.last_equity),
            "equity": str(self.equity()),
            "buying_power": str(self.buying_power()),
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


def _time_arg(raw: str | datetime | None, key: str) -> datetime | None:
    if raw is None or isinstance(raw, datetime):
        return raw
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        try:
            t = datetime.fromisoformat(raw + "T00:00:00+00:00")
        except ValueError:
            raise SimAPIError(422, 40010001, f"invalid {key} {raw!r}: use RFC 3339") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
