"""Captured payloads (tests/adapters/alpaca/payloads/*.json, written from the examples in
shared/reference/alpaca.md) and their msgpack form as Alpaca's data stream sends it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack

HERE = Path(__file__).parent / "payloads"
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def load(name: str) -> Any:
    return json.loads((HERE / f"{name}.json").read_text())


def raw(name: str) -> bytes:
    return (HERE / f"{name}.json").read_bytes()


def timestamp(text: str) -> msgpack.Timestamp:
    """RFC 3339 (nanoseconds kept) → msgpack Timestamp ext, as Alpaca sends ``t``."""
    m = _RFC3339.match(text)
    assert m, text
    base, frac, zone = m.groups()
    whole = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    nanos = int((frac or "0").ljust(9, "0"))
    return msgpack.Timestamp(int(whole.timestamp()), nanos)


def to_msgpack(batch: list[dict[str, Any]]) -> bytes:
    out = []
    for m in batch:
        m = dict(m)
        if isinstance(m.get("t"), str):
            m["t"] = timestamp(m["t"])
        out.append(m)
    return msgpack.packb(out, datetime=False)
