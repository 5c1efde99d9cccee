"""The paper exchange's ``GET /v1/corporate-actions`` (Alpaca's data host, the successor of
``/v2/corporate_actions/announcements``): the splits and cash dividends it performed.

Alpaca's shape: ``{"corporate_actions": {"forward_splits": [...], "reverse_splits": [...],
"cash_dividends": [...]}, "next_page_token": null}``, filtered by ``symbols``, ``types``
and an inclusive ``start``/``end`` on ``process_date`` (default: today, exchange time),
sorted by ``process_date`` (``sort``), ``limit`` (1–1,000, default 100) counting records
over all types. The exchange processes an action on its ex-date, so ``process_date`` =
``ex_date`` = ``record_date`` = ``payable_date``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date
from typing import Any

from adapters.sim.account_json import stable_uuid
from adapters.sim.daily_bars import CorporateAction
from adapters.sim.sim_errors import SimAPIError

__all__ = ["CA_TYPES", "corporate_actions_page", "record_json"]

CA_TYPES = ("forward_split", "reverse_split", "cash_dividend")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _cusip(symbol: str, salt: str = "") -> str:
    return hashlib.sha256(f"cusip:{symbol}{salt}".encode()).hexdigest()[:9].upper()


def kind_of(a: CorporateAction) -> str:
    if a.kind == "dividend":
        return "cash_dividend"
    return "forward_split" if a.ratio >= 1 else "reverse_split"


def record_json(a: CorporateAction, n: int) -> dict[str, Any]:
    d = a.ex_date.isoformat()
    base: dict[str, Any] = {"id": stable_uuid(f"ca:{a.symbol}:{a.kind}:{d}:{n}"),
                            "symbol": a.symbol, "process_date": d, "ex_date": d,
                            "record_date": d, "payable_date": d}  # fmt: skip
    kind = kind_of(a)
    if kind == "cash_dividend":
        return {**base, "cusip": _cusip(a.symbol), "rate": a.cash, "special": False,
                "foreign": False}  # fmt: skip
    if kind == "forward_split":
        return {**base, "cusip": _cusip(a.symbol), "new_rate": a.ratio, "old_rate": 1.0}
    return {**base, "old_cusip": _cusip(a.symbol), "new_cusip": _cusip(a.symbol, d),
            "new_rate": 1.0, "old_rate": round(1.0 / a.ratio, 9)}  # fmt: skip


def corporate_actions_page(
    actions: list[CorporateAction],
    *,
    symbols: set[str] | None,
    types: set[str],
    start: date,
    end: date,
    limit: int,
    token: str | None,
    descending: bool,
) -> dict[str, Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise SimAPIError(400, 40010001, f"invalid limit {limit}: must be between 1 and {MAX_LIMIT}")
    unknown = types - set(CA_TYPES)
    if unknown:
        raise SimAPIError(400, 40010001, f"invalid types {sorted(unknown)}: the simulator "
                          f"knows {', '.join(CA_TYPES)}")  # fmt: skip
    numbered = list(enumerate(actions))
    chosen = [
        (n, a) for n, a in numbered
        if (symbols is None or a.symbol in symbols) and kind_of(a) in types
        and start <= a.ex_date <= end
    ]  # fmt: skip
    chosen.sort(key=lambda na: (na[1].ex_date, na[0]), reverse=descending)
    first = 0
    if token:
        try:
            first = int(base64.b64decode(token, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SimAPIError(400, 40010001, "invalid page_token") from None
    page = chosen[first : first + limit]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for n, a in page:
        grouped.setdefault(kind_of(a) + "s", []).append(record_json(a, n))
    more = first + limit < len(chosen)
    next_token = base64.b64encode(str(first + limit).encode()).decode() if more else None
    return {"corporate_actions": grouped, "next_page_token": next_token}
