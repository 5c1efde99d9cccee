"""What ``/healthz``, ``/readyz`` and the start-up wait say, from values the shell passes in
(pure: no I/O, no clock of its own).

- live: the consumer made progress within ``CONSUMER_STALL_SECONDS``;
- ready: reconciled with quotes for every symbol, both streams up, journal writes working,
  feeds not lost, no order unresolved past its deadline, and no reconciliation the engine
  waits for overdue by more than ``BOOKS_UNCONFIRMED_SECONDS`` (the books may be wrong).

A taxable account's lots that tax decisions do not trust are named in the detail
(``lot_ledger``) but leave it ready: the daemon still rebalances, without tax-aware cuts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.ports import FeedStats
from daemon.core.engine.view import EngineSnapshot
from daemon.runtime.metrics import LimiterStats

CONSUMER_STALL_SECONDS = 30.0
BOOKS_UNCONFIRMED_SECONDS = 30.0


def liveness(idle_seconds: float) -> tuple[bool, dict[str, Any]]:
    return idle_seconds < CONSUMER_STALL_SECONDS, {"consumer_idle_seconds": round(idle_seconds, 3)}


def readiness(*, stopping: bool, ready: bool, streams: Mapping[str, FeedStats],
              journal_down: bool, snap: EngineSnapshot | None,
              reconcile_waited_seconds: float | None) -> tuple[bool, dict[str, Any]]:
    """``reconcile_waited_seconds``: how long the engine has waited for a reconciliation
    (None when it waits for none)."""
    reasons: list[str] = []
    if stopping:
        reasons.append("stopping")
    if not ready:
        reasons.append("not yet reconciled or no fresh quotes")
    reasons.extend(f"{name} stream disconnected" for name, s in streams.items()
                   if not s.connected)
    if journal_down:
        reasons.append("journal writes failing (disk full or read-only state directory): "
                       "no new decisions")
    detail: dict[str, Any] = {"reasons": reasons}
    if snap is not None:
        detail["market_open"] = snap.market_open
        detail["trading_state"] = snap.trading_state.value
        if snap.lots_untrusted is not None:  # trading goes on (not a reason), tax-blind
            detail["lot_ledger"] = snap.lots_untrusted
        if not snap.feeds_ok:
            reasons.append("feeds lost: " + ", ".join(snap.feeds_lost))
        if snap.overdue_count:
            reasons.append(f"{snap.overdue_count} order(s) unresolved past their deadline "
                           "(being looked up over REST)")
        waited = reconcile_waited_seconds
        if waited is not None and waited > BOOKS_UNCONFIRMED_SECONDS:
            reasons.append("books unconfirmed: a reconciliation with the broker is overdue")
    return not reasons, detail


def ready_to_trade(snap: EngineSnapshot | None, streams: Mapping[str, FeedStats]) -> bool:
    """Start-up is over: the engine is ready (snapshot, clock, prices) and the streams up."""
    return snap is not None and snap.ready and all(s.connected for s in streams.values())


def ready_wait_detail(snap: EngineSnapshot | None,
                      streams: Mapping[str, FeedStats]) -> dict[str, Any]:
    """What the start-up wait for readiness is waiting for."""
    out: dict[str, Any] = {"streams_down": [n for n, s in streams.items() if not s.connected]}
    if snap is not None:
        out["missing_prices"] = list(snap.missing_prices)
    return out


def broker_wait_detail(limiter: LimiterStats | None) -> dict[str, Any]:
    """What a slow start-up step is waiting behind: the client rate limiter."""
    if limiter is None:
        return {}
    # (no "token" in the key names: the log scrubber would mask the value)
    return {"ratelimit_available": round(limiter.tokens, 2),
            "ratelimit_wait_seconds": round(limiter.wait_seconds, 1),
            "ratelimit_waits": limiter.waits, "broker_429s": limiter.throttled_429}




class Waiting:
    """How long a condition has held, as seen at each ``note`` (monotonic seconds in)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def note(self, holds: bool, now: float) -> None:
        if not holds:
            self.since = None
        elif self.since is None:
            self.since = now

    def seconds(self, now: float) -> float | None:
        return None if self.since is None else now - self.since


__all__ = [
    "BOOKS_UNCONFIRMED_SECONDS",
    "CONSUMER_STALL_SECONDS",
    "Waiting",
    "broker_wait_detail",
    "liveness",
    "readiness",
    "ready_to_trade",
    "ready_wait_detail",
]
