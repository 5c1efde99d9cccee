"""Deterministic identifiers: client order ids and decision ids from ``(run_id, sequence)``.

A client order id is ``rb-<run_id>-<seq>`` with ``seq`` zero-padded to 8 digits (wider when
it outgrows them), so the same run id and the same event stream always give the same ids,
and ids sort in the order they were issued. Alpaca allows ≤ 128 characters and keeps an id
unique forever (a reused id is rejected with 422), so ``run_id`` must be fresh for every
process start: the shell picks it (e.g. the start time plus a few random characters) and
hands it in. The ``rb-`` prefix marks our orders: after a restart, open orders whose id
starts with it are adopted as ours; any other open order is foreign and left alone.
"""

from __future__ import annotations

import re

ID_PREFIX = "rb-"
MAX_CLIENT_ORDER_ID_LENGTH = 128
MAX_RUN_ID_LENGTH = 64
_SEQ_WIDTH = 8
_RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_COID_RE = re.compile(r"rb-([A-Za-z0-9_-]+)-([0-9]+)")


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` unchanged, or raise ``ValueError`` saying what is wrong and how to fix it."""
    if not isinstance(run_id, str) or not run_id:
        raise ValueError(
            "run_id is empty: pass a fresh id per process start, e.g. '20261121T151300-a1b2'"
        )
    if len(run_id) > MAX_RUN_ID_LENGTH:
        raise ValueError(
            f"run_id is {len(run_id)} characters long; at most {MAX_RUN_ID_LENGTH} fit in a "
            f"{MAX_CLIENT_ORDER_ID_LENGTH}-character client_order_id: use a shorter id"
        )
    if _RUN_ID_RE.fullmatch(run_id) is None:
        bad = next(c for c in run_id if _RUN_ID_RE.fullmatch(c) is None)
        raise ValueError(
            f"run_id {run_id!r} contains {bad!r}; only letters, digits, '-' and '_' are "
            "allowed: e.g. '20261121T151300-a1b2'"
        )
    return run_id


def client_order_id(run_id: str, seq: int) -> str:
    """The ``seq``-th client order id of run ``run_id`` (``seq`` ≥ 0)."""
    validate_run_id(run_id)
    if seq < 0:
        raise ValueError(f"order sequence must be ≥ 0, got {seq}")
    coid = f"{ID_PREFIX}{run_id}-{seq:0{_SEQ_WIDTH}d}"
    if len(coid) > MAX_CLIENT_ORDER_ID_LENGTH:  # pragma: no cover - needs a 10**56 sequence
        raise ValueError(f"client_order_id would exceed {MAX_CLIENT_ORDER_ID_LENGTH} chars")
    return coid


def decision_id(run_id: str, seq: int) -> str:
    """The ``seq``-th decision id of run ``run_id``: ``<run_id>-d<seq>``."""
    validate_run_id(run_id)
    if seq < 0:
        raise ValueError(f"decision sequence must be ≥ 0, got {seq}")
    return f"{run_id}-d{seq:06d}"


def parse_client_order_id(coid: str) -> tuple[str, int] | None:
    """``(run_id, seq)`` for one of our ids, else None (a foreign order)."""
    m = _COID_RE.fullmatch(coid)
    if m is None:
        return None
    return m.group(1), int(m.group(2))


def is_ours(coid: str) -> bool:
    """True when ``coid`` was issued by this daemon (any run)."""
    return _COID_RE.fullmatch(coid) is not None


__all__ = [
    "ID_PREFIX",
    "MAX_CLIENT_ORDER_ID_LENGTH",
    "MAX_RUN_ID_LENGTH",
    "client_order_id",
    "decision_id",
    "is_ours",
    "parse_client_order_id",
    "validate_run_id",
]
