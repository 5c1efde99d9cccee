"""Venue rounding rules as pure functions: share quantities, notionals and limit prices.

- Quantities: at most 9 decimal places (Alpaca's smallest share fraction is 1e-9), or whole
  shares for assets that are not fractional. Always rounded **down**, so an order never buys
  more than the cash allows nor sells more than is held.
- Notionals: cents, rounded down.
- Float fast paths (``round_qty_ticks``, ``marketable_limit_ticks``) give the same results as
  integer tick counts (see ``exact_ticks``), falling back to ``Decimal`` when a float cannot
  decide.
- Limit prices, the sub-penny rule: a price ≥ $1 may have at most 2 decimals, a price below
  $1 at most 4. Buy limits round **up** to the tick (they stay marketable), sell limits round
  **down**. A marketable limit is ``ask × (1 + offset)`` for a buy and ``bid × (1 − offset)``
  for a sell, ``offset`` a fraction (0.001 = 10 bp).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from daemon.core.model import Side
from daemon.core.planning.exact_ticks import ceil_ticks, floor_ticks, product_ticks

QTY_STEP = Decimal("0.000000001")
WHOLE = Decimal(1)
CENT = Decimal("0.01")
_WIDE = Context(prec=340)  # digits for any finite float at 9 decimals (1.8e308 → 309 + 9)
SUB_PENNY = Decimal("0.0001")
ONE = Decimal(1)
ZERO = Decimal(0)


def to_decimal(x: float | int | str | Decimal) -> Decimal:
    """A float as the Decimal of its shortest repr (0.1 → Decimal('0.1'), not 0.1000…555)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    return Decimal(x)


def round_qty(qty: Decimal, *, whole: bool) -> Decimal:
    """Round a share quantity down to whole shares or to 9 decimals; never negative."""
    if qty <= 0:
        return ZERO
    step = WHOLE if whole else QTY_STEP
    # wide enough for any float's quantity at 9 decimals (the default 28 digits are not:
    # 1e20 shares to 1e-9 is 30 digits, and quantize refuses rather than rounds)
    return qty.quantize(step, rounding=ROUND_FLOOR, context=_WIDE)


def round_notional(notional: Decimal) -> Decimal:
    """Dollars rounded down to the cent; never negative."""
    if notional <= 0:
        return ZERO
    return notional.quantize(CENT, rounding=ROUND_FLOOR)


def tick_for(price: Decimal) -> Decimal:
    """The price increment allowed at ``price``: $0.01 at or above $1, $0.0001 below."""
    return CENT if price >= ONE else SUB_PENNY


def round_price(price: Decimal, side: Side) -> Decimal:
    """Round a limit price to the sub-penny rule: buys up, sells down.

    A buy just under $1 can round up to exactly $1, which is then written with 2 decimals.
    A sell price below $0.0001 rounds to 0, which callers must treat as untradable.
    """
    if price <= 0:
        return ZERO
    rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    rounded = price.quantize(tick_for(price), rounding=rounding)
    if rounded >= ONE:
        # ≥ $1 must carry at most 2 decimals (e.g. 0.99999 → 1.0000 → 1.00)
        rounded = rounded.quantize(CENT, rounding=rounding)
    return rounded


def is_valid_price(price: Decimal) -> bool:
    """True when ``price`` is positive and obeys the sub-penny rule."""
    return price > 0 and price == price.quantize(tick_for(price))


def marketable_limit(side: Side, bid: Decimal, ask: Decimal, offset: Decimal) -> Decimal:
    """ask × (1 + offset) for a buy, bid × (1 − offset) for a sell, rounded to the tick."""
    if side is Side.BUY:
        return round_price(ask * (ONE + offset), Side.BUY)
    return round_price(bid * (ONE - offset), Side.SELL)


def decimal_str(x: Decimal) -> str:
    """A Decimal as a plain string (no exponent): Decimal('1E+2') → '100'."""
    return format(x, "f")


QTY_TICKS = 1_000_000_000  # ticks per share at 9 decimals


def round_qty_ticks(qty: float, *, whole: bool) -> int:
    """``round_qty(to_decimal(qty), whole=whole)`` as a tick count (whole shares, or
    1e-9 shares): mostly in floats, exact."""
    if not qty > 0:
        return 0
    k = floor_ticks(qty, 1 if whole else QTY_TICKS)
    if k is not None:
        return k
    return qty_ticks(round_qty(to_decimal(qty), whole=whole), whole=whole)


def qty_ticks(qty: Decimal, *, whole: bool) -> int:
    """A quantity already rounded by ``round_qty`` as its tick count."""
    return int(qty) if whole else int(qty.scaleb(9))


def qty_decimal(ticks: int, *, whole: bool) -> Decimal:
    """Ticks back to the Decimal ``round_qty`` returns (exponent 0 or −9)."""
    if ticks <= 0:
        return ZERO
    return Decimal(ticks) if whole else Decimal(ticks).scaleb(-9)


_TICKS_PER_DOLLAR = {-2: 100, -4: 10_000, 0: 1}


def marketable_limit_ticks(
    side: Side, bid: float, ask: float, offset: float, offset_dec: Decimal
) -> tuple[int, int]:
    """``marketable_limit(side, to_decimal(bid), to_decimal(ask), offset_dec)`` as
    ``(ticks, exponent)`` (the price is ``ticks × 10**exponent``; exponent −2 or −4, or 0 for
    a zero price). ``offset`` is the float whose shortest repr is ``offset_dec``."""
    buy = side is Side.BUY
    px = ask if buy else bid
    if px > 0:
        if offset == 0.0:  # the price itself, rounded to its tick
            if px >= 1.0:
                k = ceil_ticks(px, 100) if buy else floor_ticks(px, 100)
                if k is not None:
                    return k, -2
            else:
                k = ceil_ticks(px, 10_000) if buy else floor_ticks(px, 10_000)
                if k is not None:
                    return (100, -2) if k >= 10_000 else (k, -4)
        else:
            factor = 1.0 + offset if buy else 1.0 - offset
            x = px * factor
            if x >= 1.0 + 1e-9:
                k = product_ticks(px, factor, 100, up=buy)
                if k is not None:
                    return k, -2
            elif 0.0 < x < 1.0 - 1e-9:
                k = product_ticks(px, factor, 10_000, up=buy)
                if k is not None:
                    return (100, -2) if k >= 10_000 else (k, -4)
    limit = marketable_limit(side, to_decimal(bid), to_decimal(ask), offset_dec)
    exponent = int(limit.as_tuple().exponent)
    return int(limit.scaleb(-exponent)), exponent


def ticks_price(ticks: int, exponent: int) -> float:
    """The float of a tick price (equal to ``float()`` of its Decimal)."""
    return ticks / _TICKS_PER_DOLLAR[exponent]
