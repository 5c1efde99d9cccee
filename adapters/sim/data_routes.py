"""The historical market-data REST endpoints of the paper exchange, as Alpaca's data host
serves them: ``GET /v2/stocks/bars`` (``timeframe=1Day`` only) and
``GET /v1/corporate-actions`` (the splits and dividends it performed; see
``corporate_actions_json``).

Alpaca's rules kept here: ``symbols`` is a comma list; ``start``/``end`` are inclusive and
RFC 3339 or ``YYYY-MM-DD`` (a date alone means that whole day); ``limit`` (1–10,000,
default 1,000) counts bars over all symbols in one page; results are sorted by symbol,
then time (``sort=asc|desc``); ``next_page_token`` is opaque and ``null`` on the last page;
``adjustment`` is ``raw`` (default), ``split``, ``dividend``, ``spin-off``, ``all`` or a
comma list of them. Symbols without bars in the window are absent from ``bars``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from adapters.sim import corporate_actions_json as ca
from adapters.sim.daily_bars import ADJUSTMENTS, DailyBar, bar_time
from adapters.sim.market_calendar import NEW_YORK, local_day
from adapters.sim.rest_routes import json_response
from adapters.sim.sim_errors import SimAPIError
from adapters.sim.sim_state import state_of

__all__ = ["add_data_routes", "bars_page"]

DAILY_TIMEFRAMES = frozenset({"1Day", "1D"})
HISTORICAL_FEEDS = frozenset({"sip", "iex", "delayed_sip", "boats", "otc"})
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


def _bad(message: str) -> SimAPIError:
    return SimAPIError(400, 40010001, message)


def parse_time(value: str | None, name: str, *, end: bool) -> datetime | None:
    """RFC 3339 (any offset, up to nanoseconds) or a date: a date alone is midnight New
    York time of that day as a start, the last instant of that day as an end."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            t = datetime.combine(d, time(0), NEW_YORK)
            return t + timedelta(days=1, microseconds=-1) if end else t
        head, dot, frac = text.partition(".")
        if dot:  # nanoseconds: keep microseconds, keep the offset after the digits
            digits = frac[: len(frac) - len(frac.lstrip("0123456789"))]
            text = f"{head}.{digits[:6]:0<6}{frac[len(digits):]}"
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"invalid {name} {value!r}: use RFC 3339 or YYYY-MM-DD") from None
    if t.tzinfo is None:
        raise _bad(f"invalid {name} {value!r}: give an offset (e.g. Z)")
    return t.astimezone(UTC)


def _token(symbol: str, day: date) -> str:
    return base64.b64encode(f"{symbol}|{day.isoformat()}".encode()).decode()


def _untoken(token: str) -> tuple[str, date]:
    try:
        symbol, _, day = base64.b64decode(token, validate=True).decode().partition("|")
        return symbol, date.fromisoformat(day)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad("invalid page_token: pass the next_page_token of the previous page") from None


def _bar_json(b: DailyBar) -> dict[str, Any]:
    return {"t": bar_time(b.day).astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "o": b.o, "h": b.h, "l": b.low, "c": b.c, "v": b.v, "n": b.n, "vw": b.vw}  # fmt: skip


def bars_page(
    per_symbol: dict[str, list[DailyBar]], limit: int, token: str | None, descending: bool
) -> dict[str, Any]:
    """One page of bars, symbol by symbol (sorted), from the item the token names."""
    items = [
        (s, b)
        for s in sorted(per_symbol)
        for b in (reversed(per_symbol[s]) if descending else per_symbol[s])
    ]
    first = 0
    if token:
        key = _untoken(token)
        first = next((i for i, (s, b) in enumerate(items) if (s, b.day) == key), len(items))
    page = items[first : first + limit]
    rest = items[first + limit : first + limit + 1]
    bars: dict[str, list[dict[str, Any]]] = {}
    for s, b in page:
        bars.setdefault(s, []).append(_bar_json(b))
    next_token = _token(rest[0][0], rest[0][1].day) if rest else None
    return {"bars": bars, "next_page_token": next_token}




async def stock_bars(request: web.Request) -> web.Response:
    q = request.query
    symbols = [s for s in q.get("symbols", "").split(",") if s]
    if not symbols:
        raise _bad("symbols is missing: pass ?symbols=SPY,AGG")
    timeframe = q.get("timeframe", "")
    if not timeframe:
        raise _bad("timeframe is missing: pass ?timeframe=1Day")
    if timeframe not in DAILY_TIMEFRAMES:
        raise _bad(f"invalid timeframe {timeframe!r}: the simulator serves 1Day bars only")
    adjustment = q.get("adjustment") or "raw"
    if not set(adjustment.split(",")) <= ADJUSTMENTS:
        raise _bad(f"invalid adjustment {adjustment!r}: use {', '.join(sorted(ADJUSTMENTS))}")
    feed = q.get("feed") or "sip"
    if feed not in HISTORICAL_FEEDS:
        raise _bad(f"invalid feed {feed!r}: use {', '.join(sorted(HISTORICAL_FEEDS))}")
    try:
        limit = int(q.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise _bad(f"invalid limit {q.get('limit')!r}: use an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"invalid limit {limit}: must be between 1 and {MAX_LIMIT}")
    sort = q.get("sort") or "asc"
    if sort not in ("asc", "desc"):
        raise _bad(f"invalid sort {sort!r}: use asc or desc")
    state = state_of(request)
    exchange = state.exchange
    exchange.step()
    now = exchange.clock.now()
    start = parse_time(q.get("start"), "start", end=False) or bar_time(local_day(now))
    end = parse_time(q.get("end"), "end", end=True) or now
    if end < start:
        raise _bad("end must not be before start")
    history = exchange.daily
    per_symbol = {s: history.bars(s, start, end, now, adjustment) for s in dict.fromkeys(symbols)}
    per_symbol = {s: b for s, b in per_symbol.items() if b}
    body = bars_page(per_symbol, limit, q.get("page_token") or None, sort == "desc")
    return json_response(body)


async def corporate_actions(request: web.Request) -> web.Response:
    q = request.query
    exchange = state_of(request).exchange
    exchange.step()
    today = local_day(exchange.clock.now())

    def day(name: str) -> date:
        raw = q.get(name)
        if not raw:
            return today
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _bad(f"invalid {name} {raw!r}: use YYYY-MM-DD") from None

    try:
        limit = int(q.get("limit") or ca.DEFAULT_LIMIT)
    except ValueError:
        raise _bad(f"invalid limit {q.get('limit')!r}: use an integer") from None
    symbols = {s for s in q.get("symbols", "").split(",") if s} or None
    types = {t for t in q.get("types", "").split(",") if t} or set(ca.CA_TYPES)
    body = ca.corporate_actions_page(
        exchange.daily.actions, symbols=symbols, types=types, start=day("start"),
        end=day("end"), limit=limit, token=q.get("page_token") or None,
        descending=q.get("sort") == "desc",
    )  # fmt: skip
    return json_response(body)


def add_data_routes(app: web.Application) -> None:
    app.router.add_get("/v2/stocks/bars", stock_bars)
    app.router.add_get("/v1/corporate-actions", corporate_actions)
