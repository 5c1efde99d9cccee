"""Alpaca JSON for the account, positions, assets, clock, calendar and quotes (reference
§1.2, §1.3, §1.9, §1.10, §1.12). Pure builders over values the exchange hands in."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from adapters.sim.ledger import Holding, dstr
from adapters.sim.market_calendar import MarketCalendar, to_new_york
from adapters.sim.prices import Tick
from adapters.sim.symbol_config import SymbolConfig

TAPES = {"NYSE": "A", "ARCA": "B", "NYSEARCA": "B", "AMEX": "B", "BATS": "B", "NASDAQ": "C"}
CENT = Decimal("0.01")


def stable_uuid(name: str) -> str:
    """A UUID v4 derived from ``name`` (asset and account ids: stable across runs)."""
    return str(uuid.UUID(int=random.Random(name).getrandbits(128), version=4))


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def et_iso(t: datetime) -> str:
    """RFC 3339 in exchange time with its offset, e.g. 2026-11-27T13:00:00-05:00."""
    return to_new_york(t).isoformat()


def money(d: Decimal) -> str:
    return dstr(d.quantize(CENT))


def price_of(t: Tick | None) -> Decimal | None:
    """The mark-to-market price: the quote's mid (the bid or ask alone if one side is 0)."""
    if t is None:
        return None
    if t.bid > 0 and t.ask > 0:
        return Decimal(str(round(t.mid, 6)))
    side = t.bid or t.ask
    return Decimal(str(side)) if side > 0 else None


def asset_json(cfg: SymbolConfig) -> dict[str, Any]:
    attributes = ["fractional_eh_enabled"] if cfg.fractionable else []
    return {
        "id": stable_uuid(f"asset:{cfg.symbol}"),
        "class": "us_equity",
        "exchange": cfg.exchange,
        "symbol": cfg.symbol,
        "name": f"{cfg.symbol} (simulated)",
        "status": "active",
        "tradable": cfg.tradable,
        "marginable": True,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": cfg.fractionable,
        "maintenance_margin_requirement": 30,
        "margin_requirement_long": "30",
        "margin_requirement_short": "100",
        "attributes": attributes,
    }


def position_json(
    cfg: SymbolConfig, h: Holding, price: Decimal, lastday: Decimal, held_for_sells: Decimal
) -> dict[str, Any]:
    qty = h.qty
    market_value = qty * price
    cost_basis = qty * h.avg_entry_price
    pl = market_value - cost_basis
    intraday = (price - lastday) * qty
    lastday_value = lastday * qty
    return {
        "asset_id": stable_uuid(f"asset:{cfg.symbol}"),
        "symbol": cfg.symbol,
        "exchange": cfg.exchange,
        "asset_class": "us_equity",
        "asset_marginable": True,
        "avg_entry_price": dstr(h.avg_entry_price.quantize(Decimal("1e-9"))),
        "qty": dstr(qty),
        "qty_available": dstr(qty - held_for_sells),
        "side": "long" if qty >= 0 else "short",
        "market_value": money(market_value),
        "cost_basis": money(cost_basis),
        "unrealized_pl": money(pl),
        "unrealized_plpc": _ratio(pl, cost_basis),
        "unrealized_intraday_pl": money(intraday),
        "unrealized_intraday_plpc": _ratio(intraday, lastday_value),
        "current_price": dstr(price),
        "lastday_price": dstr(lastday),
        "change_today": _ratio(price - lastday, lastday),
    }


def _ratio(num: Decimal, den: Decimal) -> str:
    if den == 0:
        return "0"
    return dstr((num / den).quantize(Decimal("1e-10")))


def account_json(
    account_id: str,
    created_at: datetime,
    now: datetime,
    cash: Decimal,
    long_value: Decimal,
    short_value: Decimal,
    buying_power: Decimal,
    last_equity: Decimal,
) -> dict[str, Any]:
    equity = cash + long_value + short_value
    return {
        "id": account_id,
        "account_number": "PA" + account_id.replace("-", "")[:10].upper(),
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "cash": money(cash),
        "buying_power": money(buying_power),
        "regt_buying_power": money(buying_power),
        "non_marginable_buying_power": money(buying_power),
        "options_buying_power": money(buying_power),
        "equity": money(equity),
        "last_equity": money(last_equity),
        "portfolio_value": money(equity),
        "long_market_value": money(long_value),
        "short_market_value": money(short_value),
        "position_market_value": money(long_value + short_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "pending_reg_taf_fees": "0",
        "intraday_adjustments": "0",
        "trading_blocked": False,
        "trade_suspended_by_user": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "shorting_enabled": False,
        "created_at": rfc3339(created_at),
        "balance_asof": to_new_york(now).date().isoformat(),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


def clock_json(cal: MarketCalendar, now: datetime) -> dict[str, Any]:
    return {
        "timestamp": et_iso(now),
        "is_open": cal.is_open(now),
        "next_open": et_iso(cal.next_open(now)),
        "next_close": et_iso(cal.next_close(now)),
    }


def calendar_json(cal: MarketCalendar, start: date, end: date) -> list[dict[str, Any]]:
    sessions = cal.sessions(start, end)
    out: list[dict[str, Any]] = []
    for s in sessions:
        following = cal.sessions(
            date.fromordinal(s.day.toordinal() + 1), date.fromordinal(s.day.toordinal() + 10)
        )
        out.append(
            {
                "date": s.day.isoformat(),
                "open": to_new_york(s.open).strftime("%H:%M"),
                "close": to_new_york(s.close).strftime("%H:%M"),
                "session_open": "0400",
                "session_close": "2000",
                "settlement_date": (following[0].day if following else s.day).isoformat(),
            }
        )
    return out


def quote_json(t: Tick, tape: str) -> dict[str, Any]:
    return {
        "t": rfc3339(t.at),
        "ax": "V",
        "ap": t.ask,
        "as": t.ask_size,
        "bx": "V",
        "bp": t.bid,
        "bs": t.bid_size,
        "c": ["R"],
        "z": tape,
    }


def quote_message(t: Tick, tape: str) -> dict[str, Any]:
    """A data-stream ``q`` message; ``t`` stays an aware datetime (the server encodes it)."""
    return {
        "T": "q",
        "S": t.symbol,
        "bx": "V",
        "bp": t.bid,
        "bs": t.bid_size,
        "ax": "V",
        "ap": t.ask,
        "as": t.ask_size,
        "c": ["R"],
        "z": tape,
        "t": t.at,
    }
