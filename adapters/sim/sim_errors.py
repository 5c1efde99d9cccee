"""The one exception the paper exchange raises for every Alpaca-style error.

The server turns it into an HTTP response: status ``status``, JSON body
``{"code": code, "message": message, **extra}`` (``code`` omitted when ``None``, as in
Alpaca's ``{"message": "unauthorized"}``).
"""

from __future__ import annotations

from typing import Any


class SimAPIError(Exception):
    """An Alpaca error answer: HTTP ``status`` and the JSON body from ``body()``."""

    def __init__(self, status: int, code: int | None, message: str, **extra: Any) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra: dict[str, Any] = dict(extra)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.code is not None:
            out["code"] = self.code
        out["message"] = self.message
        out.update(self.extra)
        return out


def not_found(what: str) -> SimAPIError:
    return SimAPIError(404, 40410000, f"{what} not found")


def unprocessable(message: str, code: int = 40010001) -> SimAPIError:
    return SimAPIError(422, code, message)


def forbidden(message: str, **extra: Any) -> SimAPIError:
    return SimAPIError(403, 40310000, message, **extra)


def bad_request(message: str) -> SimAPIError:
    return SimAPIError(400, 40010000, message)
