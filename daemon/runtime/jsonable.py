"""Plain JSON values from the engine's frozen dataclasses (for ``/status``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any


def jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        try:
            return jsonable(asdict(obj))
        except TypeError:
            return str(obj)
    if isinstance(obj, Mapping):  # a dict, or a read-only view (``LazyWeights``)
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (int, float, bool, str)) or obj is None:
        return obj
    return str(obj)
