"""The order desk of the paper exchange: submit, match, cancel, replace and list orders,
with Alpaca's checks, holds and trade-update events. ``SimExchange`` builds on it; the
state it works on (ledger, price paths, faults, calendar, clock) lives there.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from adapters.sim import account_json as aj
from adapters.sim.bars import MinuteBars
from adapters.sim.fill_model import Execution, is_marketable, match
from adapters.sim.ledger import ZERO, Ledger, buy_hold, dstr, sell_hold
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
from adapters.sim.prices import PricePath, Tick
from adapters.sim.sim_clock import SimClock
from adapters.sim.sim_config import ExchangeFaults
from adapters.sim.sim_errors import SimAPIError
from adapters.sim.symbol_config import SymbolConfig

TradeListener = Callable[[dict[str, Any]], None]
MarketListener = Callable[[list[dict[str, Any]]], None]

MATCHABLE = frozenset({"new", "partially_filled"})
NOT_REPLACEABLE = frozenset({"accepted", "pending_new", "pending_cancel", "pending_replace"})
ONCE_TIFS = frozenset({"ioc", "fok", "opg", "cls"})  # one matching attempt, then canceled
SHARE_STEP = Decimal("1e-9")


class OrderDesk:
    clock: SimClock
    calendar: MarketCalendar
    faults: ExchangeFaults
    rng: random.Random
    ledger: Ledger
    symbols: dict[str, SymbolConfig]
    paths: dict[str, PricePath]
    orders: dict[str, SimOrder]
    by_client: dict[str, str]
    _open: dict[str, SimOrder]  # id → open order, in submission order
    _seq: int
    _trade_seq: int  # ids of the data stream's trade messages
    bars: MinuteBars
    halted: set[str]
    last_step: datetime
    _trade_listeners: list[TradeListener]
    _market_listeners: list[MarketListener]

    def step(self) -> None:
        raise NotImplementedError

    def can_trade(self, order: SimOrder, t: datetime) -> bool:
        """Regular hours, or extended hours for an ``extended_hours`` order."""
        if self.calendar.is_open(t):
            return True
        return order.extended_hours and self.calendar.is_extended_open(t)

    def _emit_market(self, batch: list[dict[str, Any]]) -> None:
        if batch:
            for fn in self._market_listeners:
                fn(list(batch))

    def _emit_trade(self, event: str, order: SimOrder, now: datetime, **extra: Any) -> None:
        data: dict[str, Any] = {
            "event": event,
            "order": order.to_json(),
            "timestamp": aj.rfc3339(now),
        }
        data.update(extra)
        for fn in self._trade_listeners:
            fn(dict(data))

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _tick(self, symbol: str) -> Tick | None:
        return self.paths[symbol].quote()

    def _bid_ask(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        t = self._tick(symbol)
        if t is None:
            return None
        return Decimal(str(t.bid)), Decimal(str(t.ask))

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
            order.expires_at = (
                self.calendar.next_extended_close(now)
                if req.extended_hours
                else self.calendar.next_close(now)
            )
        self.orders[order.id] = order
        self.by_client[cid] = order.id
        return order

    def _activate(self, order: SimOrder, now: datetime) -> dict[str, Any]:
        """Route a fresh order: queue (closed), stick (fault) or go live and match."""
        if not self.can_trade(order, now) or order.time_in_force in ("opg", "cls"):
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
            and self.can_trade(order, now)
        ):
            ex = match(order, ba[0], ba[1], self.rng, self.faults.partial_fill_probability)
            if ex is not None:
                self._execute(order, ex, now)
        if order.is_open and order.time_in_force in ONCE_TIFS and order.status in MATCHABLE:
            self._finish(order, "canceled", now)

    def _execute(self, order: SimOrder, ex: Execution, now: datetime) -> None:
        if order.side == "sell":
            # a cash account never goes short: a notional sell sized at a higher price
            # than it fills at is cut to the shares held (and is then complete)
            held = self.ledger.qty(order.symbol)
            if held <= 0:
                self._finish(order, "canceled", now)
                return
            if ex.qty > held:
                ex = Execution(qty=held, price=ex.price, final=True)
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
        self._trade_seq += 1
        closed = self.bars.add(order.symbol, now, float(ex.price), float(ex.qty))
        self._emit_market(
            [*closed, {"T": "t", "S": order.symbol, "i": self._trade_seq, "x": "V",
              "p": float(ex.price), "s": float(ex.qty), "c": ["@"], "z": tape, "t": now}]
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
            or not self.can_trade(order, now)
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
