"""Alpaca's order checks and their exact error answers (reference §1.4, §1.5, §1.8, §9.1).

``parse_order_request`` checks the shape of a POST /v2/orders body; the account checks
(cost basis minimum, buying power, ``qty_available``) take the numbers they need as
arguments, so all of this is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.sim.ledger import dstr
from adapters.sim.sim_errors import SimAPIError

SIDES = ("buy", "sell")
TYPES = ("market", "limit", "stop", "stop_limit")
TIFS = ("day", "gtc", "opg", "cls", "ioc", "fok")
MAX_CLIENT_ORDER_ID = 128
MAX_DECIMALS = 9
MIN_COST_BASIS = Decimal(1)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    extended_hours: bool
    client_order_id: str | None
    position_intent: str | None

    @property
    def fractional(self) -> bool:
        return self.notional is not None or (
            self.qty is not None and self.qty != self.qty.to_integral_value()
        )


def _err422(message: str, code: int = 40010001) -> SimAPIError:
    return SimAPIError(422, code, message)


def parse_decimal(body: dict[str, Any], key: str) -> Decimal | None:
    """A decimal field sent as a string or a JSON number (alpaca-py sends floats)."""
    raw = body.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _err422(f"invalid {key}: {raw!r} is not a number")
    try:
        d = Decimal(str(raw))
    except InvalidOperation:
        raise _err422(f"invalid {key}: {raw!r} is not a number") from None
    if not d.is_finite():
        raise _err422(f"invalid {key}: {raw!r} is not a number")
    return d


def _decimal_places(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def check_sub_penny(key: str, price: Decimal) -> None:
    """Prices >= $1 take at most 2 decimals, below $1 at most 4 (422 42210000)."""
    allowed = 2 if price >= 1 else 4
    if _decimal_places(price) > allowed:
        raise _err422(
            f"invalid {key} {dstr(price)}. sub-penny increment does not fulfill minimum pricing criteria",
            code=42210000,
        )


def parse_order_request(body: Any) -> OrderRequest:
    """Check a POST /v2/orders body's shape. Raises SimAPIError with Alpaca's answer."""
    if not isinstance(body, dict):
        raise _err422("request body must be a JSON object")
    order_class = body.get("order_class") or "simple"
    if order_class != "simple":
        raise _err422(f"order_class {order_class!r} is not supported by the simulator; use simple")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise _err422("symbol is required")
    side = body.get("side")
    if side not in SIDES:
        raise _err422(f"invalid side {side!r}; use buy or sell" if side else "side is required")
    otype = body.get("type") or body.get("order_type")
    if otype == "trailing_stop":
        raise _err422("trailing_stop orders are not supported by the simulator")
    if otype not in TYPES:
        raise _err422(f"invalid order type {otype!r}" if otype else "type is required")
    tif = body.get("time_in_force")
    if tif not in TIFS:
        raise _err422(f"invalid time_in_force {tif!r}" if tif else "time_in_force is required")
    qty, notional = parse_decimal(body, "qty"), parse_decimal(body, "notional")
    if qty is not None and notional is not None:
        raise SimAPIError(400, 40010000, "qty and notional cannot both be specified; send one")
    if qty is None and notional is None:
        raise _err422("qty or notional is required")
    for key, val in (("qty", qty), ("notional", notional)):
        if val is not None:
            if val <= 0:
                raise _err422(f"{key} must be > 0")
            if _decimal_places(val) > MAX_DECIMALS:
                raise _err422(f"{key} must have at most {MAX_DECIMALS} decimal places")
    limit_price, stop_price = parse_decimal(body, "limit_price"), parse_decimal(body, "stop_price")
    if otype in ("limit", "stop_limit") and limit_price is None:
        raise _err422(f"limit_price is required for {otype} orders")
    if otype in ("stop", "stop_limit") and stop_price is None:
        raise _err422(f"stop_price is required for {otype} orders")
    if otype in ("market", "stop") and limit_price is not None:
        raise _err422(f"limit_price must not be set for {otype} orders")
    if otype in ("market", "limit") and stop_price is not None:
        raise _err422(f"stop_price must not be set for {otype} orders")
    for key, price in (("limit_price", limit_price), ("stop_price", stop_price)):
        if price is not None:
            if price <= 0:
                raise _err422(f"{key} must be > 0")
            check_sub_penny(key, price)
    extended = body.get("extended_hours") or False
    if not isinstance(extended, bool):
        raise _err422("extended_hours must be true or false")
    if extended and not (otype == "limit" and tif in ("day", "gtc")):
        raise _err422("extended hours order must be DAY or GTC limit orders")
    cid = body.get("client_order_id")
    if cid is not None and not isinstance(cid, str):
        raise _err422("client_order_id must be a string")
    if cid is not None and len(cid) > MAX_CLIENT_ORDER_ID:
        raise _err422(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID} characters")
    req = OrderRequest(
        symbol=symbol,
        side=side,
        type=otype,
        time_in_force=tif,
        qty=qty,
        notional=notional,
        limit_price=limit_price,
        stop_price=stop_price,
        extended_hours=extended,
        client_order_id=cid or None,
        position_intent=body.get("position_intent"),
    )
    if notional is not None and otype != "market":
        raise _err422("notional orders must be market orders")
    if req.fractional and tif != "day":
        raise _err422("fractional orders must be DAY orders")
    return req


def check_asset(req: OrderRequest, fractionable: bool, tradable: bool) -> None:
    if not tradable:
        raise _err422(f"asset {req.symbol} is not tradable")
    if req.fractional and not fractionable:
        raise _err422(f"requested asset {req.symbol} is not fractionable")


def cost_basis(req: OrderRequest, bid: Decimal, ask: Decimal) -> Decimal:
    """Alpaca's estimate: the notional, or limit × qty, or ask/bid × qty for market orders."""
    if req.notional is not None:
        return req.notional
    assert req.qty is not None
    if req.limit_price is not None:
        return req.limit_price * req.qty
    if req.stop_price is not None:
        return req.stop_price * req.qty
    return req.qty * (ask if req.side == "buy" else bid)


def check_min_cost_basis(basis: Decimal) -> None:
    if basis < MIN_COST_BASIS:
        raise SimAPIError(403, 40310000, "cost basis must be >= minimal amount of order 1")


def check_buying_power(basis: Decimal, buying_power: Decimal) -> None:
    if basis > buying_power:
        raise SimAPIError(
            403,
            40310000,
            "insufficient buying power",
            buying_power=dstr(buying_power.quantize(Decimal("0.01"))),
            cost_basis=dstr(basis.quantize(Decimal("0.01"))),
        )


def check_qty_available(symbol: str, requested: Decimal, existing: Decimal, held: Decimal) -> None:
    available = existing - held
    if requested > available:
        raise SimAPIError(
            403,
            40310000,
            f"insufficient qty available for order (requested: {dstr(requested)}, available: {dstr(max(available, Decimal(0)))})",
            available=dstr(max(available, Decimal(0))),
            existing_qty=dstr(existing),
            held_for_orders=dstr(held),
            symbol=symbol,
        )


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    qty: Decimal | None
    time_in_force: str | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None


def parse_replace_request(body: Any) -> ReplaceRequest:
    if not isinstance(body, dict):
        raise _err422("request body must be a JSON object")
    qty = parse_decimal(body, "qty")
    if qty is not None and (qty <= 0 or qty != qty.to_integral_value()):
        raise _err422("qty must be a positive whole number of shares when replacing")
    tif = body.get("time_in_force")
    if tif is not None and tif not in TIFS:
        raise _err422(f"invalid time_in_force {tif!r}")
    limit_price, stop_price = parse_decimal(body, "limit_price"), parse_decimal(body, "stop_price")
    for key, price in (("limit_price", limit_price), ("stop_price", stop_price)):
        if price is not None:
            if price <= 0:
                raise _err422(f"{key} must be > 0")
            check_sub_penny(key, price)
    cid = body.get("client_order_id")
    if cid is not None and (not isinstance(cid, str) or len(cid) > MAX_CLIENT_ORDER_ID):
        raise _err422(
            f"client_order_id must be a string of at most {MAX_CLIENT_ORDER_ID} characters"
        )
    return ReplaceRequest(qty, tif, limit_price, stop_price, cid or None)
