"""Alpaca REST on aiohttp: auth headers, a timeout on every call, the shared rate limiter,
jittered retries for reads and idempotent deletes, and never a retried ``POST /v2/orders``.

Quantities and prices leave as Decimal strings rounded to Alpaca's rules (``order_body``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

import aiohttp
import msgspec

from adapters.alpaca import wire
from adapters.alpaca.credentials import Credentials
from adapters.alpaca.errors import (
    AlpacaHTTPError,
    AlpacaTransportError,
    is_connect_failure,
    parse_error_body,
)
from adapters.alpaca.limits import PRIORITY_LOOKUP, PRIORITY_ORDER, PRIORITY_READ, RateLimiter
from daemon.core.commands import PlaceOrder
from daemon.core.model import Side

QTY_STEP = Decimal("0.000000001")  # 9 dp
CENT = Decimal("0.01")
SUB_PENNY = Decimal("0.0001")
ONE = Decimal(1)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# --- Decimal strings out ---------------------------------------------------------------------


def decimal_str(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros: Decimal('1.500') → '1.5'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def round_qty(qty: Decimal) -> Decimal:
    """Shares to at most 9 dp, rounded toward zero (never more than planned or held)."""
    return qty.quantize(QTY_STEP, rounding=ROUND_DOWN)


def round_notional(notional: Decimal) -> Decimal:
    """Dollars to cents, rounded down (never spend more than planned)."""
    return notional.quantize(CENT, rounding=ROUND_DOWN)


def round_limit_price(price: Decimal, side: Side) -> Decimal:
    """Sub-penny rule: ≥ $1 → 2 dp, < $1 → 4 dp. A buy rounds up and a sell down, so a
    marketable limit stays marketable."""
    step = CENT if price >= ONE else SUB_PENNY
    return price.quantize(step, rounding=ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)


def order_body(order: PlaceOrder) -> dict[str, Any]:
    """The ``POST /v2/orders`` body for one ``PlaceOrder``; raises ``ValueError`` with the
    fix when the order cannot be sent as given."""
    if (order.qty is None) == (order.notional is None):
        raise ValueError(
            f"order {order.client_order_id}: give exactly one of qty or notional "
            f"(got qty={order.qty}, notional={order.notional})"
        )
    if not order.client_order_id or len(order.client_order_id) > 128:
        raise ValueError(
            f"client_order_id must be 1–128 characters (got {len(order.client_order_id)})"
        )
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.order_type,
        "time_in_force": order.time_in_force,
        "client_order_id": order.client_order_id,
    }
    if order.qty is not None:
        qty = round_qty(order.qty)
        if qty <= 0:
            raise ValueError(f"order {order.client_order_id}: qty {order.qty} rounds to ≤ 0")
        body["qty"] = decimal_str(qty)
    else:
        assert order.notional is not None
        notional = round_notional(order.notional)
        if notional <= 0:
            raise ValueError(
                f"order {order.client_order_id}: notional {order.notional} rounds to ≤ 0"
            )
        body["notional"] = decimal_str(notional)
    if order.limit_price is not None:
        if order.limit_price <= 0:
            raise ValueError(
                f"order {order.client_order_id}: limit_price must be > 0 (got {order.limit_price})"
            )
        body["limit_price"] = decimal_str(round_limit_price(order.limit_price, order.side))
    return body


# --- client ----------------------------------------------------------------------------------


class AlpacaRest:
    """One per API key. ``base_url`` is the trading host, ``data_url`` the market-data host
    (each without ``/v2``). Trading calls share ``limiter``; data calls use ``data_limiter``
    (Alpaca meters the two APIs separately)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str,
        data_url: str,
        limiter: RateLimiter,
        data_limiter: RateLimiter | None = None,
        timeout_seconds: float = 10.0,
        read_attempts: int = 3,
        backoff_base: float = 0.25,
        backoff_cap: float = 4.0,
        session: aiohttp.ClientSession | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"request_timeout_seconds must be > 0 (got {timeout_seconds})")
        self.base_url = base_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self.limiter = limiter
        self.data_limiter = data_limiter or RateLimiter(200, limiter.headroom)
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.read_attempts = max(1, read_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._headers = credentials.headers()
        self._session = session
        self._owns_session = session is None
        self._rng = rng or random.Random()
        self.retries = 0  # counter: read retries made

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    # --- one request ----------------------------------------------------------------------

    async def _once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        body: bytes | None,
        data_host: bool,
        priority: int,
    ) -> tuple[int, bytes]:
        limiter = self.data_limiter if data_host else self.limiter
        await limiter.acquire(priority)
        url = (self.data_url if data_host else self.base_url) + path
        headers = self._headers
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self.session.request(
                method, url, params=params, data=body, headers=headers, timeout=self.timeout
            ) as resp:
                payload = await resp.read()
                limiter.observe(resp.status, resp.headers)
                return resp.status, payload
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            if not isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
                raise
            what = "timed out" if isinstance(exc, TimeoutError) else exc.__class__.__name__
            raise AlpacaTransportError(
                f"{method} {path}: {what}", sent=not is_connect_failure(exc)
            ) from exc

    def _backoff(self, attempt: int) -> float:
        return self._rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        data_host: bool = False,
        priority: int = PRIORITY_READ,
        retry: bool = True,
        ok: Iterable[int] = (),
    ) -> tuple[int, bytes]:
        """Send; 2xx and statuses in ``ok`` return, other statuses raise ``AlpacaHTTPError``.
        With ``retry`` (reads and idempotent deletes only) transport errors, 429 and 5xx are
        retried with full-jitter backoff."""
        allowed = frozenset(ok)
        attempts = self.read_attempts if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                status, payload = await self._once(
                    method,
                    path,
                    params=params,
                    body=body,
                    data_host=data_host,
                    priority=priority,
                )
            except AlpacaTransportError:
                if last:
                    raise
                self.retries += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            if 200 <= status < 300 or status in allowed:
                return status, payload
            if status in RETRY_STATUSES and not last:
                self.retries += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            code, message = parse_error_body(status, payload)
            raise AlpacaHTTPError(status, code, message, method, path)
        raise AssertionError("unreachable")

    async def _get(
        self,
        path: str,
        decoder: msgspec.json.Decoder[Any],
        *,
        params: Mapping[str, str] | None = None,
        data_host: bool = False,
        priority: int = PRIORITY_READ,
    ) -> Any:
        _, payload = await self.request(
            "GET", path, params=params, data_host=data_host, priority=priority
        )
        return decoder.decode(payload)

    # --- endpoints ------------------------------------------------------------------------

    async def submit_order(
        self, order: PlaceOrder, *, priority: int = PRIORITY_ORDER
    ) -> wire.Order:
        """POST once. Raises ``AlpacaHTTPError`` / ``AlpacaTransportError`` (classify with
        ``errors.classify_exception``), ``ValueError`` for an order that cannot be sent."""
        body = msgspec.json.encode(order_body(order))
        _, payload = await self.request(
            "POST", "/v2/orders", body=body, priority=priority, retry=False
        )
        return wire.ORDER.decode(payload)

    async def cancel_order(self, broker_order_id: str) -> int:
        """DELETE (idempotent, so retried): 204 accepted, 422 not cancelable, 404 unknown."""
        status, _ = await self.request(
            "DELETE", f"/v2/orders/{broker_order_id}", priority=PRIORITY_ORDER, ok=(404, 422)
        )
        return status

    async def order_by_client_id(self, client_order_id: str) -> wire.Order | None:
        status, payload = await self.request(
            "GET",
            "/v2/orders:by_client_order_id",
            params={"client_order_id": client_order_id},
            priority=PRIORITY_LOOKUP,
            ok=(404,),
        )
        return None if status == 404 else wire.ORDER.decode(payload)

    async def orders(
        self,
        *,
        status: str = "open",
        limit: int = 500,
        after: datetime | None = None,
        until: datetime | None = None,
        direction: str = "desc",
    ) -> list[wire.Order]:
        params = {"status": status, "limit": str(limit), "direction": direction, "nested": "true"}
        if after is not None:
            params["after"] = after.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        result: list[wire.Order] = await self._get("/v2/orders", wire.ORDERS, params=params)
        return result

    async def account(self) -> wire.Account:
        result: wire.Account = await self._get("/v2/account", wire.ACCOUNT)
        return result

    async def positions(self) -> list[wire.Position]:
        result: list[wire.Position] = await self._get("/v2/positions", wire.POSITIONS)
        return result

    async def clock(self) -> wire.Clock:
        result: wire.Clock = await self._get("/v2/clock", wire.CLOCK)
        return result

    async def calendar(self, start: date, end: date) -> list[wire.CalendarDay]:
        result: list[wire.CalendarDay] = await self._get(
            "/v2/calendar",
            wire.CALENDAR,
            params={"start": start.isoformat(), "end": end.isoformat()},
        )
        return result

    async def latest_quotes(self, symbols: Iterable[str], feed: str) -> wire.LatestQuotes:
        result: wire.LatestQuotes = await self._get(
            "/v2/stocks/quotes/latest",
            wire.LATEST_QUOTES,
            params={"symbols": ",".join(symbols), "feed": feed},
            data_host=True,
        )
        return result

    async def stock_bars(
        self,
        symbols: Iterable[str],
        *,
        start: datetime,
        end: datetime,
        feed: str,
        timeframe: str = "1Day",
        adjustment: str = "all",
        page_limit: int = 10_000,
        max_pages: int | None = None,
    ) -> dict[str, list[wire.RestBar]]:
        """Historical bars for ``symbols`` in ``[start, end]`` (inclusive), every page
        (``next_page_token``, until it is null) through the data host's rate limiter at read
        priority. A page limit counts bars over all symbols, so a long window of many
        symbols takes many pages (20 years × 500 symbols at 10,000 a page: ~250); there is
        no cap unless ``max_pages`` asks for one. Raises ``AlpacaHTTPError`` /
        ``AlpacaTransportError`` as any read; ``RuntimeError`` past ``max_pages``, or when
        the host hands back a token it gave before (it would page for ever)."""
        params = {
            "symbols": ",".join(symbols),
            "timeframe": timeframe,
            "start": _rfc3339(start),
            "end": _rfc3339(end),
            "adjustment": adjustment,
            "feed": feed,
            "limit": str(page_limit),
        }
        out: dict[str, list[wire.RestBar]] = {}
        seen: set[str] = set()
        pages = 0
        while True:
            page: wire.BarsPage = await self._get(
                "/v2/stocks/bars", wire.BARS_PAGE, params=params, data_host=True
            )
            pages += 1
            for symbol, bars in (page.bars or {}).items():
                out.setdefault(symbol, []).extend(bars)
            token = page.next_page_token
            if not token:
                return out
            if token in seen:
                raise RuntimeError(
                    f"GET /v2/stocks/bars: page {pages} repeats the next_page_token of an "
                    "earlier page; stopped rather than page for ever"
                )
            if max_pages is not None and pages >= max_pages:
                raise RuntimeError(
                    f"GET /v2/stocks/bars: still more pages after {max_pages}; "
                    "ask for fewer symbols or a shorter window"
                )
            seen.add(token)
            params = {**params, "page_token": token}

    async def split_actions(
        self,
        symbols: Iterable[str],
        *,
        start: date,
        end: date,
        page_limit: int = 1000,
        max_pages: int = 50,
    ) -> list[wire.SplitAction]:
        """Forward and reverse splits of ``symbols`` processed in ``[start, end]``
        (``GET /v1/corporate-actions`` on the data host, every page), by process date."""
        params = {
            "symbols": ",".join(symbols),
            "types": "forward_split,reverse_split",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": str(page_limit),
        }
        out: list[wire.SplitAction] = []
        for _ in range(max_pages):
            page: wire.CorporateActionsPage = await self._get(
                "/v1/corporate-actions", wire.CORPORATE_ACTIONS_PAGE, params=params,
                data_host=True,
            )  # fmt: skip
            if page.corporate_actions is not None:
                out += page.corporate_actions.forward_splits
                out += page.corporate_actions.reverse_splits
            if not page.next_page_token:
                return sorted(out, key=lambda a: (a.process_date, a.symbol, a.id))
            params = {**params, "page_token": page.next_page_token}
        raise RuntimeError(f"GET /v1/corporate-actions: still more pages after {max_pages}")


def _rfc3339(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: pass an aware datetime")
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
