"""Error classification: an exception, HTTP status or error body → what we know about an
order submit.

- ``NOT_SENT``: provably never reached the broker (connect refused, DNS, connect timeout).
- ``UNKNOWN``: it may have reached the broker (timeout or reset after sending, 5xx, 429, a
  422 ``client_order_id must be unique``): resolve with ``orders:by_client_order_id``.
- ``REJECTED``: a definite no (4xx validation, buying power, 401/403/404/422 …).
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import aiohttp
import msgspec

from adapters.alpaca import wire
from daemon.core.events import SubmitOutcome

DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"


class Verdict(enum.StrEnum):
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"
    REJECTED = "rejected"

    @property
    def outcome(self) -> SubmitOutcome:
        if self is Verdict.REJECTED:
            raise ValueError("a rejection is not a submit failure outcome")
        return SubmitOutcome(self.value)


class AlpacaError(Exception):
    """Base class of what the REST client raises."""


@dataclass(eq=False)
class AlpacaHTTPError(AlpacaError):
    """A non-2xx answer. ``code`` and ``message`` come from Alpaca's ``{code, message}``
    body when there is one (the raw body is kept short and never holds secrets)."""

    status: int
    code: int | None
    message: str
    method: str = ""
    path: str = ""

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.method} {self.path}: HTTP {self.status}{code}: {self.message}"

    @property
    def is_duplicate_client_order_id(self) -> bool:
        return self.status == 422 and DUPLICATE_CLIENT_ORDER_ID in self.message


class AlpacaTransportError(AlpacaError):
    """No HTTP answer: the request timed out, the connection failed or dropped.
    ``sent`` is False only when the request provably never left (connect failed)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


def parse_error_body(status: int, body: bytes) -> tuple[int | None, str]:
    """``{"code":…, "message":…}`` → (code, message); a non-JSON body → its first 200 chars."""
    try:
        err = wire.ERROR_BODY.decode(body)
        return err.code, err.message or f"HTTP {status}"
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = body[:200].decode("utf-8", "replace").strip()
        return None, text or f"HTTP {status}"


def classify_status(status: int, message: str = "") -> Verdict:
    """HTTP status (+ message) of an answer to ``POST /v2/orders``."""
    if status == 429 or status >= 500:
        return Verdict.UNKNOWN
    if status == 422 and DUPLICATE_CLIENT_ORDER_ID in message:
        return Verdict.UNKNOWN  # the id is already there: look it up, never resend
    if 400 <= status < 500:
        return Verdict.REJECTED
    return Verdict.UNKNOWN  # 1xx/3xx on an order POST: we cannot say


def is_connect_failure(exc: BaseException) -> bool:
    """The request never left: connection refused, DNS, TLS or connect timeout."""
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def classify_exception(exc: BaseException) -> Verdict:
    """An exception raised while submitting an order."""
    if isinstance(exc, AlpacaHTTPError):
        return classify_status(exc.status, exc.message)
    if isinstance(exc, AlpacaTransportError):
        return Verdict.UNKNOWN if exc.sent else Verdict.NOT_SENT
    if is_connect_failure(exc):
        return Verdict.NOT_SENT
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | TimeoutError | OSError):
        return Verdict.UNKNOWN  # reset, server disconnected, read timeout, bad payload
    return Verdict.UNKNOWN


def describe(exc: BaseException) -> str:
    """A short reason for an event or log line (no headers, no keys)."""
    if isinstance(exc, AlpacaError):
        return str(exc)
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
