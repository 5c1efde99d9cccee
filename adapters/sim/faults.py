"""HTTP and websocket fault switches (the exchange holds the order-level ones).

HTTP rules match ``method`` and an ``fnmatch`` path pattern and fire for the next
``count`` matching requests:

- ``429`` / ``500`` / ``504``: answer that status instead of handling the request;
- ``timeout``: hang for ``hang_seconds`` (the client's timeout fires first), then 504;
- with ``after_accept=True`` the request is handled first (a POST /v2/orders creates the
  order!) and only then answered with the fault: the ambiguous outcome a client must
  resolve by ``client_order_id``.

Stream switches act per stream ("data" or "trade"): ``drop`` aborts every open
connection's transport without a close frame; ``mute`` keeps sockets open but sends
nothing; ``refuse_reconnect`` answers HTTP 429 at the upgrade for N seconds (the
server-side reap window after an unclean disconnect).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "HTTP_FAULT_ACTIONS",
    "STREAMS",
    "FaultError",
    "HttpFaultRule",
    "HttpFaults",
    "StreamFaults",
]

HTTP_FAULT_ACTIONS = ("429", "500", "504", "timeout")
STREAMS = ("data", "trade")


class FaultError(ValueError):
    """A fault description that cannot be applied; the message says how to fix it."""


@dataclass(slots=True)
class HttpFaultRule:
    action: str
    path: str = "*"
    method: str = "*"
    count: int = 1
    after_accept: bool = False
    hang_seconds: float = 30.0

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HttpFaultRule:
        known = {"action", "path", "method", "count", "after_accept", "hang_seconds"}
        unknown = set(raw) - known
        if unknown:
            raise FaultError(f"unknown http fault field(s) {sorted(unknown)}; use {sorted(known)}")
        action = str(raw.get("action", ""))
        if action not in HTTP_FAULT_ACTIONS:
            raise FaultError(
                f"http fault action {action!r} is not one of {list(HTTP_FAULT_ACTIONS)}"
            )
        count = raw.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FaultError(f"http fault count must be an integer >= 1, got {count!r}")
        hang = raw.get("hang_seconds", 30.0)
        if not isinstance(hang, int | float) or hang < 0:
            raise FaultError(f"hang_seconds must be a number >= 0, got {hang!r}")
        path = str(raw.get("path", "*"))
        if not path.startswith("/") and path != "*":
            raise FaultError(f"http fault path {path!r} must start with '/' (or be '*')")
        return cls(
            action=action,
            path=path,
            method=str(raw.get("method", "*")).upper(),
            count=count,
            after_accept=bool(raw.get("after_accept", False)),
            hang_seconds=float(hang),
        )

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class HttpFaults:
    def __init__(self) -> None:
        self.rules: list[HttpFaultRule] = []

    def add(self, rule: HttpFaultRule) -> None:
        self.rules.append(rule)

    def take(self, method: str, path: str) -> HttpFaultRule | None:
        """The first rule matching this request, spending one of its ``count``."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()


class StreamFaults:
    """Websocket switches. ``drop`` is carried out by the stream servers, which register
    a callback per stream; the rest are flags they consult."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.muted: dict[str, bool] = dict.fromkeys(STREAMS, False)
        self._refuse_until: dict[str, float] = dict.fromkeys(STREAMS, 0.0)
        self._droppers: dict[str, Callable[[], int]] = {}

    @staticmethod
    def check_stream(stream: str) -> list[str]:
        if stream == "both":
            return list(STREAMS)
        if stream not in STREAMS:
            raise FaultError(f"stream {stream!r} is not one of 'data', 'trade', 'both'")
        return [stream]

    def register_dropper(self, stream: str, drop: Callable[[], int]) -> None:
        self._droppers[stream] = drop

    def drop(self, stream: str) -> int:
        """Abort every connection of ``stream`` without a close frame; returns how many."""
        return sum(self._droppers[s]() for s in self.check_stream(stream) if s in self._droppers)

    def mute(self, stream: str, muted: bool = True) -> None:
        for s in self.check_stream(stream):
            self.muted[s] = muted

    def refuse_reconnects(self, stream: str, seconds: float) -> None:
        if seconds < 0:
            raise FaultError(f"refuse seconds must be >= 0, got {seconds}")
        until = self._monotonic() + seconds
        for s in self.check_stream(stream):
            self._refuse_until[s] = until

    def refusing(self, stream: str) -> bool:
        return self._monotonic() < self._refuse_until[stream]

    def state(self) -> dict[str, Any]:
        now = self._monotonic()
        return {
            "muted": dict(self.muted),
            "refusing_seconds_left": {
                s: max(0.0, round(u - now, 3)) for s, u in self._refuse_until.items()
            },
        }

    def clear(self) -> None:
        self.muted = dict.fromkeys(STREAMS, False)
        self._refuse_until = dict.fromkeys(STREAMS, 0.0)
