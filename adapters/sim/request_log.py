"""The simulator's record of every order-path request, so tests can prove that no
duplicate order was ever sent (``GET /_sim/requests``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    seq: int
    at: str  # simulated time, RFC 3339
    method: str
    path: str
    client_order_id: str | None
    status: int
    # "accepted" | "rejected" | "duplicate" | "rate-limited" | "unauthorized"
    # | "fault-429" | "fault-500" | "fault-504" | "fault-timeout"
    # | "fault-500-after-accept" | "fault-504-after-accept" | "fault-timeout-after-accept"
    # | "ok" | "error" (non-order requests)
    outcome: str
    order_id: str | None = None
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Append-only, bounded (oldest entries fall off past ``max_entries``)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: list[RequestRecord] = []
        self._seq = 0
        self._max = max_entries

    def add(
        self,
        *,
        at: str,
        method: str,
        path: str,
        client_order_id: str | None,
        status: int,
        outcome: str,
        order_id: str | None = None,
        error_code: int | None = None,
    ) -> RequestRecord:
        self._seq += 1
        record = RequestRecord(
            self._seq, at, method, path, client_order_id, status, outcome, order_id, error_code
        )
        self._entries.append(record)
        if len(self._entries) > self._max:
            del self._entries[: len(self._entries) - self._max]
        return record

    def entries(self, *, since_seq: int = 0, orders_only: bool = False) -> list[RequestRecord]:
        out = [e for e in self._entries if e.seq > since_seq]
        if orders_only:
            out = [e for e in out if e.path.startswith("/v2/orders")]
        return out

    def accepted_client_order_ids(self) -> list[str]:
        """Client order ids whose POST created an order (a fault after accept counts:
        the order exists). A duplicate in this list would be a bug in the exchange."""
        return [
            e.client_order_id
            for e in self._entries
            if e.method == "POST"
            and e.path == "/v2/orders"
            and e.order_id is not None
            and e.client_order_id is not None
        ]

    def clear(self) -> None:
        self._entries.clear()
